package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/sio-go/socketio/bench/internal/stats"
)

// summarize prints a markdown table of the medians of each kind's runs and,
// with both kinds, the ratios.
func summarize(w io.Writer, o options, all []result) {
	fmt.Fprintf(w, "\n%d nodes, %d clients (%s) over %d load generators, broadcast at %g/s for %v, %d runs each; medians.\n\n",
		o.nodes, o.conns, o.transport, o.loadgens, o.rate, o.hold, o.reps)
	fmt.Fprintln(w, "| | runs ok | connected | connect s | RSS per conn, connected / held | delivered / expected | complete | p50 ms | p99 ms | server CPU µs/delivery | of which user | Redis CPU µs/delivery |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|")
	cpu, user := map[string]float64{}, map[string]float64{}
	for _, kind := range o.servers {
		var rs []result
		for _, r := range all {
			if r.Kind == kind {
				rs = append(rs, r)
			}
		}
		med := func(f func(result) float64) float64 {
			var v []float64
			for _, r := range rs {
				v = append(v, f(r))
			}
			return stats.Median(v)
		}
		ok := 0
		var errs []string
		for _, r := range rs {
			if r.ok() {
				ok++
			} else if r.Err != "" {
				errs = append(errs, r.Err)
			} else if r.FirstError != "" {
				errs = append(errs, r.FirstError)
			}
		}
		cpu[kind] = med(func(r result) float64 { return r.CPUusPerDel })
		user[kind] = med(func(r result) float64 { return r.UserUsDel })
		fmt.Fprintf(w, "| %s | %d/%d | %.0f | %.1f | %.1f / %.1f KB | %.0f / %.0f | %.0f | %.1f | %.1f | %.2f | %.2f | %.3f |\n",
			kind, ok, len(rs),
			med(func(r result) float64 { return float64(r.Connected) }),
			med(func(r result) float64 { return r.ConnectS }),
			med(func(r result) float64 { return r.RSSPerConnB })/1000,
			med(func(r result) float64 { return r.RSSHeldPerConnB })/1000,
			med(func(r result) float64 { return float64(r.Delivered) }),
			med(func(r result) float64 { return float64(r.Expected) }),
			med(func(r result) float64 { return float64(r.Complete) }),
			med(func(r result) float64 { return r.P50ms }),
			med(func(r result) float64 { return r.P99ms }),
			cpu[kind],
			user[kind],
			med(func(r result) float64 { return r.RedisUsDel }))
		for _, e := range errs {
			if len(e) > 300 {
				e = e[:300] + "…"
			}
			fmt.Fprintf(w, "\n%s: %s\n", kind, strings.ReplaceAll(e, "\n", " "))
		}
	}
	if cpu["go"] > 0 && cpu["node"] > 0 {
		fmt.Fprintf(w, "\nServer CPU per delivery, go/node: %.2f (user time alone: %.2f)\n", cpu["go"]/cpu["node"], user["go"]/user["node"])
	}
}
