package load

import (
	"context"
	"fmt"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sio-go/socketio/bench/internal/procstat"
	"github.com/sio-go/socketio/bench/internal/stats"
	"github.com/sio-go/socketio/bench/internal/wire"
)

// Run executes one scenario. It returns an error only when the run could
// not take place; failed checks are counted in the result, whose OK field
// tells whether every check passed.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	var eps []*wire.Endpoint
	for _, u := range append([]string{cfg.URL}, cfg.Peers...) {
		ep, err := wire.ParseEndpoint(u)
		if err != nil {
			return nil, err
		}
		if !ep.SupportsSourceIPs() {
			cfg.SourceIPs = 0
		}
		eps = append(eps, ep)
	}
	r := &runner{
		cfg: cfg,
		eps: eps,
		res: &Result{
			Label:     cfg.Label,
			Scenario:  cfg.Scenario,
			Transport: cfg.Transport.String(),
			Rate:      cfg.Rate,
			Payload:   cfg.PayloadSize,
			Started:   time.Now().UTC().Truncate(time.Second),
		},
		base: time.Now(),
	}
	r.freshHistogram()
	stop := r.startProgress()
	var err error
	switch cfg.Scenario {
	case Conns:
		err = r.conns(ctx)
	case Echo:
		err = r.echo(ctx)
	case Broadcast, ClusterBroadcast:
		err = r.broadcast(ctx)
	case Churn:
		err = r.churn(ctx)
	}
	stop()
	if err != nil {
		return nil, err
	}
	r.finish()
	return r.res, nil
}

type runner struct {
	cfg  Config
	eps  []*wire.Endpoint // the server, or the servers of a cluster (the first has the sender)
	res  *Result
	base time.Time // origin of the nanosecond clock below

	hist       atomic.Pointer[stats.Histogram]
	lag        atomic.Pointer[stats.Histogram] // pacing lag at a fixed rate
	errors     atomic.Int64
	mismatches atomic.Int64
	pings      atomic.Int64
	firstMu    sync.Mutex
	first      string

	self0  procstat.Sample // the load generator itself at the start of the window
	redis0 procstat.Sample // the cluster's Redis at the start of the window

	statusMu sync.Mutex
	status   func() string
	ipSeq    atomic.Int64
}

// now returns nanoseconds since the run started (monotonic).
func (r *runner) now() int64 { return int64(time.Since(r.base)) }

func (r *runner) record(d int64) { r.hist.Load().Record(time.Duration(d)) }

// recordLag records how late a paced send went out after its intended time.
func (r *runner) recordLag(d int64) { r.lag.Load().Record(time.Duration(max(d, 0))) }

// freshHistogram starts a new latency window.
func (r *runner) freshHistogram() {
	r.hist.Store(new(stats.Histogram))
	r.lag.Store(new(stats.Histogram))
}

// keepWindow returns a function that puts back the histograms of the
// window measured so far: replies that arrive after the window are still
// checked, into fresh histograms, but not reported.
func (r *runner) keepWindow() (restore func()) {
	h, l := r.hist.Load(), r.lag.Load()
	r.freshHistogram()
	return func() { r.hist.Store(h); r.lag.Store(l) }
}

func (r *runner) noteFirst(s string) {
	r.firstMu.Lock()
	if r.first == "" {
		r.first = s
	}
	r.firstMu.Unlock()
}

func (r *runner) fail(err error) {
	r.errors.Add(1)
	r.noteFirst(err.Error())
}

func (r *runner) mismatch(what string, got, want []byte) {
	r.mismatches.Add(1)
	if want == nil {
		r.noteFirst(fmt.Sprintf("%s: got %s", what, wire.Quote(got)))
		return
	}
	r.noteFirst(fmt.Sprintf("%s: got %s, want %s", what, wire.Quote(got), wire.Quote(want)))
}

func (r *runner) setStatus(f func() string) {
	r.statusMu.Lock()
	r.status = f
	r.statusMu.Unlock()
}

func (r *runner) startProgress() (stop func()) {
	if r.cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(r.cfg.ProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			r.statusMu.Lock()
			f := r.status
			r.statusMu.Unlock()
			if f == nil {
				continue
			}
			tag := r.cfg.Scenario
			if r.cfg.Label != "" {
				tag = r.cfg.Label + " " + tag
			}
			fmt.Fprintf(r.cfg.Progress, "[%s %5.1fs] %s errors=%d mismatches=%d\n",
				tag, time.Since(r.base).Seconds(), f(), r.errors.Load(), r.mismatches.Load())
		}
	})
	return func() { close(done); wg.Wait() }
}

// dialOptions returns the options of the next connection to the first
// server.
func (r *runner) dialOptions(h wire.Handler) wire.DialOptions {
	return r.dialOptionsTo(r.eps[0], h)
}

func (r *runner) dialOptionsTo(ep *wire.Endpoint, h wire.Handler) wire.DialOptions {
	o := wire.DialOptions{
		Endpoint:  ep,
		Transport: r.cfg.Transport,
		Handler:   h,
		Pings:     &r.pings,
	}
	if r.cfg.SourceIPs > 0 {
		first := r.cfg.SourceIPFirst
		o.LocalIP = wire.SourceIP(first+int(r.ipSeq.Add(1)-1)%r.cfg.SourceIPs, first+r.cfg.SourceIPs)
	}
	return o
}

// dialMany opens n connections at the configured rate, the i-th to server
// i mod servers; handler(i) gives the handler of the i-th. Failed connections are counted as errors and left
// nil. It returns the connections and the achieved connect rate.
func (r *runner) dialMany(ctx context.Context, n int, handler func(i int) wire.Handler) ([]*wire.Conn, float64) {
	conns := make([]*wire.Conn, n)
	var connected atomic.Int64
	r.setStatus(func() string { return fmt.Sprintf("connecting %d/%d", connected.Load(), n) })
	sem := make(chan struct{}, r.cfg.ConnectConcurrency)
	var wg sync.WaitGroup
	start := time.Now()
	rate := r.cfg.ConnectRate
loop:
	for i := range n {
		if due := start.Add(time.Duration(float64(i) / rate * float64(time.Second))); time.Until(due) > 0 {
			select {
			case <-time.After(time.Until(due)):
			case <-ctx.Done():
				break loop
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break loop
		}
		o := r.dialOptionsTo(r.eps[i%len(r.eps)], handler(i))
		if r.cfg.Msgpack {
			o.Msgpack, o.BinaryHandler = true, o.Handler
		}
		wg.Go(func() {
			defer func() { <-sem }()
			t0 := r.now()
			c, err := wire.Dial(ctx, o)
			if err != nil {
				r.fail(err)
				return
			}
			r.record(r.now() - t0)
			conns[i] = c
			connected.Add(1)
		})
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	return conns, float64(connected.Load()) / elapsed
}

// closeAll closes the connections, a few at a time, and counts those that
// had failed before.
func (r *runner) closeAll(conns []*wire.Conn) {
	r.setStatus(func() string { return "closing" })
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for _, c := range conns {
		if c == nil {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := c.Err(); err != nil {
				r.fail(err)
			}
			_ = c.Close()
		})
	}
	wg.Wait()
}

func countAlive(conns []*wire.Conn) int {
	n := 0
	for _, c := range conns {
		if c != nil && c.Alive() {
			n++
		}
	}
	return n
}

// sample reads the server process, if its pid is known; for a cluster,
// the sum of its servers' CPU time and RSS.
func (r *runner) sample() (procstat.Sample, bool) {
	if r.cfg.PID <= 0 {
		return procstat.Sample{}, false
	}
	s, err := procstat.ReadSum(append([]int{r.cfg.PID}, r.cfg.PeerPIDs...))
	if err != nil {
		r.fail(err)
		return s, false
	}
	return s, true
}

// goroutines reads the server's goroutine count, if a stats URL is set.
func (r *runner) goroutines(ctx context.Context) *int {
	if r.cfg.StatsURL == "" {
		return nil
	}
	n, err := procstat.Goroutines(ctx, r.cfg.StatsURL)
	if err != nil {
		r.fail(err)
		return nil
	}
	return &n
}

// markWindow notes the load generator's own CPU time at the start of the
// measured window.
func (r *runner) markWindow() {
	r.self0, _ = procstat.Read(os.Getpid())
	if r.cfg.RedisPID > 0 {
		var err error
		if r.redis0, err = procstat.Read(r.cfg.RedisPID); err != nil {
			r.fail(err)
		}
	}
}

// window fills the throughput and CPU figures of a measured window.
func (r *runner) window(ops int64, start, end time.Time, s0, s1 procstat.Sample, ok bool) {
	d := end.Sub(start).Seconds()
	r.res.DurationS = round(d, 3)
	r.res.Ops = ops
	if d > 0 {
		r.res.OpsPerSec = round(float64(ops)/d, 1)
	}
	if me, err := procstat.Read(os.Getpid()); err == nil && !r.self0.At.IsZero() {
		if wall := me.At.Sub(r.self0.At).Seconds(); wall > 0 {
			r.res.LoadgenCPUPc = round(100*(me.CPU-r.self0.CPU).Seconds()/wall, 1)
		}
	}
	if ok {
		cpu := (s1.CPU - s0.CPU).Seconds()
		r.res.ServerCPUS = round(cpu, 2)
		if ops > 0 {
			r.res.CPUusPerOp = round(cpu*1e6/float64(ops), 2)
		}
		if wall := s1.At.Sub(s0.At).Seconds(); wall > 0 {
			r.res.ServerCPUPc = round(100*cpu/wall, 1)
		}
	}
	if r.cfg.RedisPID > 0 && !r.redis0.At.IsZero() {
		s, err := procstat.Read(r.cfg.RedisPID)
		if err != nil {
			r.fail(err)
			return
		}
		cpu := (s.CPU - r.redis0.CPU).Seconds()
		r.res.RedisCPUS = round(cpu, 2)
		if ops > 0 {
			r.res.RedisCPUusPerOp = round(cpu*1e6/float64(ops), 2)
		}
		if wall := s.At.Sub(r.redis0.At).Seconds(); wall > 0 {
			r.res.RedisCPUPc = round(100*cpu/wall, 1)
		}
	}
}

// peakTracker follows the server's largest RSS while a phase runs.
func (r *runner) trackPeak(ctx context.Context) (stop func()) {
	if r.cfg.PID <= 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			if s, err := procstat.Read(r.cfg.PID); err == nil && s.RSSKiB > r.res.RSSPeakKiB {
				r.res.RSSPeakKiB = s.RSSKiB
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	return func() { cancel(); wg.Wait() }
}

func (r *runner) finish() {
	h := r.hist.Load()
	us := func(d time.Duration) float64 { return round(float64(d)/1e3, 1) }
	r.res.P50us = us(h.Quantile(0.50))
	r.res.P90us = us(h.Quantile(0.90))
	r.res.P99us = us(h.Quantile(0.99))
	r.res.MaxUs = us(h.Max())
	if l := r.lag.Load(); l.Count() > 0 {
		r.res.PacingLagP99us = us(l.Quantile(0.99))
	}
	r.res.Pings = r.pings.Load()
	r.res.Errors = r.errors.Load()
	r.res.Mismatches = r.mismatches.Load()
	r.res.FirstError = r.first
	r.res.OK = r.res.Errors == 0 && r.res.Mismatches == 0 && r.res.Skipped == 0 && r.res.Ops > 0
}

// sleep waits for d or until ctx ends, reporting whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
