package main

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/sio-go/socketio/bench/internal/load"
	"github.com/sio-go/socketio/bench/internal/pagefmt"
)

// scenario is one kind of run, as loadgen arguments.
type scenario struct {
	Name  string
	What  string // one line for the method section
	Args  []string
	Nodes int // servers of a cluster on one private Redis (0: a single server)
	// Env is added to the servers' environment (e.g. PARSER=msgpack).
	Env []string
	// Variants, when set, replace the comparison of servers: the Go server
	// runs each variant's arguments in turn, back to back in every
	// repetition (the order flipping every repetition), and the report
	// compares the second with the first.
	Variants []variant
}

// variant is one of the paired runs of a scenario on the Go server.
type variant struct {
	Label string // the record's server label, e.g. "go-typed"
	Title string // the report's column title
	Args  []string
}

// Labels of the typed echo variants.
const (
	labelRaw   = "go-raw"
	labelTyped = "go-typed"
)

// isCluster reports whether the named scenario runs on a cluster.
func isCluster(name string, s sizes) bool {
	for _, sc := range scenarios(s) {
		if sc.Name == name {
			return sc.Nodes > 1
		}
	}
	return false
}

// sizes holds the knobs that differ between a full and a quick run.
type sizes struct {
	Conns        int
	Hold         time.Duration
	Clients      int
	EchoRate     int
	Receivers    int
	BcastRate    int
	ChurnWorkers int
	Duration     time.Duration
	Warmup       time.Duration
	Settle       time.Duration
}

func fullSizes() sizes {
	return sizes{
		Conns: 19_000, Hold: 30 * time.Second,
		Clients: 50, EchoRate: 10_000,
		Receivers: 1000, BcastRate: 20,
		ChurnWorkers: 20,
		Duration:     10 * time.Second, Warmup: 3 * time.Second, Settle: 15 * time.Second,
	}
}

func quickSizes() sizes {
	return sizes{
		Conns: 2000, Hold: 3 * time.Second,
		Clients: 20, EchoRate: 2000,
		Receivers: 200, BcastRate: 20,
		ChurnWorkers: 10,
		Duration:     3 * time.Second, Warmup: time.Second, Settle: 5 * time.Second,
	}
}

func scenarios(s sizes) []scenario {
	d, w := s.Duration.String(), s.Warmup.String()
	itoa := strconv.Itoa
	return []scenario{
		{
			Name: "conns",
			What: fmt.Sprintf("%s WebSocket connections opened at ≤2,000/s, each joined to `/`, held idle for %v answering pings; RSS growth over the fresh process divided by the connections", pagefmt.Num(float64(s.Conns), 0), s.Hold),
			Args: []string{"-scenario", "conns", "-n", itoa(s.Conns), "-connect-rate", "2000", "-duration", s.Hold.String()},
		},
		{
			Name: "echo",
			What: fmt.Sprintf("%d WebSocket clients in closed loops of `echo` with an ack (32-byte string), %v warm-up then %v measured", s.Clients, s.Warmup, s.Duration),
			Args: []string{"-scenario", "echo", "-c", itoa(s.Clients), "-warmup", w, "-duration", d},
		},
		{
			Name: "echo-typed",
			What: fmt.Sprintf("the Go server only, %d WebSocket clients in closed loops, two runs back to back per repetition: `echo` as in `echo` (a raw handler acknowledging `Args.Values()`), and `echo-typed` with an object `{\"text\":<32 characters>,\"n\":7}` that a typed handler (`socketio.OnAck[echoMsg, echoMsg]`) decodes into a struct and acknowledges with it", s.Clients),
			Variants: []variant{
				{Label: labelRaw, Title: "Raw (`OnRaw`, string)", Args: []string{"-scenario", "echo", "-c", itoa(s.Clients), "-warmup", w, "-duration", d}},
				{Label: labelTyped, Title: "Typed (`OnAck`, struct)", Args: []string{"-scenario", "echo", "-typed", "-c", itoa(s.Clients), "-warmup", w, "-duration", d}},
			},
		},
		{
			Name: "echo-msgpack",
			What: fmt.Sprintf("`echo` with both ends on the MessagePack parser (servers started with `PARSER=msgpack`: `msgpackparser` for Go, `socket.io-msgpack-parser` for Node; the load generator speaks it): %d WebSocket clients in closed loops", s.Clients),
			Args: []string{"-scenario", "echo", "-msgpack", "-c", itoa(s.Clients), "-warmup", w, "-duration", d},
			Env:  []string{"PARSER=msgpack"},
		},
		{
			Name: "echo-rate",
			What: fmt.Sprintf("the same %d clients at a fixed offered load of %s acks/s in total (open loop; latency from the intended send time)", s.Clients, pagefmt.Num(float64(s.EchoRate), 0)),
			Args: []string{"-scenario", "echo", "-c", itoa(s.Clients), "-rate", itoa(s.EchoRate), "-warmup", w, "-duration", d},
		},
		{
			Name: "echo-polling",
			What: fmt.Sprintf("%d HTTP long-polling clients in closed loops of `echo` with an ack", s.Clients),
			Args: []string{"-scenario", "echo", "-transport", "polling", "-c", itoa(s.Clients), "-warmup", w, "-duration", d},
		},
		{
			Name: "broadcast",
			What: fmt.Sprintf("%s WebSocket receivers and one sender emitting `bcast` as fast as a window of 64 undelivered messages allows; every receiver checks every message in order", pagefmt.Num(float64(s.Receivers), 0)),
			Args: []string{"-scenario", "broadcast", "-r", itoa(s.Receivers), "-window", "64", "-warmup", w, "-duration", d},
		},
		{
			Name: "broadcast-rate",
			What: fmt.Sprintf("the same %s receivers with the sender at a fixed %d messages/s (%s deliveries/s)", pagefmt.Num(float64(s.Receivers), 0), s.BcastRate, pagefmt.Num(float64(s.BcastRate*s.Receivers), 0)),
			Args: []string{"-scenario", "broadcast", "-r", itoa(s.Receivers), "-rate", itoa(s.BcastRate), "-warmup", w, "-duration", d},
		},
		{
			Name:  "cluster-broadcast",
			Nodes: clusterNodes,
			What: fmt.Sprintf("%d servers of one kind sharing one private `redis-server` (no persistence) through their Redis adapter; %s WebSocket receivers spread evenly over them, the sender on the first, emitting `bcast` as fast as a window of 64 undelivered messages allows; every receiver checks every message in order",
				clusterNodes, pagefmt.Num(float64(s.Receivers), 0)),
			Args: []string{"-scenario", "cluster-broadcast", "-r", itoa(s.Receivers), "-window", "64", "-warmup", w, "-duration", d},
		},
		{
			Name:  "cluster-broadcast-rate",
			Nodes: clusterNodes,
			What:  fmt.Sprintf("the same cluster and receivers with the sender at a fixed %d messages/s (%s deliveries/s)", s.BcastRate, pagefmt.Num(float64(s.BcastRate*s.Receivers), 0)),
			Args:  []string{"-scenario", "cluster-broadcast", "-r", itoa(s.Receivers), "-rate", itoa(s.BcastRate), "-warmup", w, "-duration", d},
		},
		{
			Name: "churn",
			What: fmt.Sprintf("%d workers connecting (joining `/`) and disconnecting in loops for %v after a %v warm-up; then up to %v for the server to return to its baseline", s.ChurnWorkers, s.Duration, s.Warmup, s.Settle),
			Args: []string{"-scenario", "churn", "-c", itoa(s.ChurnWorkers), "-warmup", w, "-duration", d, "-settle", s.Settle.String()},
		},
	}
}

// Report sections of a metric.
const (
	sectionSummary = ""        // the summary table
	sectionCluster = "cluster" // the cross-node broadcast table
	sectionTyped   = "typed"   // the typed handler table (variants of the Go server)
)

// metric is one row of a summary table.
type metric struct {
	Scenario string
	Section  string
	Name     string
	Unit     string
	Lower    bool                       // lower is better
	Target   float64                    // go/node ratio to reach (0: none)
	AtLeast  float64                    // absolute value the Go server must reach (0: none)
	Value    func(*load.Result) float64 // NaN when not available
	Chart    bool
	Digits   int
}

func metrics(s sizes) []metric {
	return []metric{
		{Scenario: "conns", Name: "RSS per idle WebSocket connection", Unit: "bytes", Lower: true, Target: 0.5, Chart: true,
			Value: func(r *load.Result) float64 { return nonZero(r.RSSPerConnBytes) }},
		{Scenario: "conns", Name: fmt.Sprintf("Idle connections still open after %v", s.Hold), Unit: "conns", AtLeast: float64(s.Conns),
			Value: func(r *load.Result) float64 { return float64(r.Alive) }},
		{Scenario: "conns", Name: "Connect rate", Unit: "conns/s", Digits: 0,
			Value: func(r *load.Result) float64 { return r.ConnectRate }},
		{Scenario: "conns", Name: "Server CPU per connect", Unit: "µs", Lower: true, Digits: 1,
			Value: func(r *load.Result) float64 { return nonZero(r.CPUusPerOp) }},
		{Scenario: "echo", Name: "Echo acks/s at saturation", Unit: "acks/s", Chart: true,
			Value: func(r *load.Result) float64 { return r.OpsPerSec }},
		{Scenario: "echo", Name: "Server CPU per echo ack", Unit: "µs", Lower: true, Target: 1.0 / 3, Chart: true, Digits: 2,
			Value: func(r *load.Result) float64 { return nonZero(r.CPUusPerOp) }},
		{Scenario: "echo", Name: "Echo p99 at saturation", Unit: "µs", Lower: true,
			Value: func(r *load.Result) float64 { return r.P99us }},
		{Scenario: "echo-msgpack", Name: "Echo acks/s at saturation, msgpack parser", Unit: "acks/s",
			Value: func(r *load.Result) float64 { return r.OpsPerSec }},
		{Scenario: "echo-msgpack", Name: "Server CPU per echo ack, msgpack parser", Unit: "µs", Lower: true, Target: 1.0 / 3, Digits: 2,
			Value: func(r *load.Result) float64 { return nonZero(r.CPUusPerOp) }},
		{Scenario: "echo-typed", Section: sectionTyped, Name: "Server CPU per echo ack", Unit: "µs", Lower: true, Target: 1.15, Digits: 2,
			Value: func(r *load.Result) float64 { return nonZero(r.CPUusPerOp) }},
		{Scenario: "echo-typed", Section: sectionTyped, Name: "Echo acks/s at saturation", Unit: "acks/s",
			Value: func(r *load.Result) float64 { return r.OpsPerSec }},
		{Scenario: "echo-typed", Section: sectionTyped, Name: "Echo p99 at saturation", Unit: "µs", Lower: true,
			Value: func(r *load.Result) float64 { return r.P99us }},
		{Scenario: "echo-rate", Name: fmt.Sprintf("Echo p50 at %s acks/s", pagefmt.Num(float64(s.EchoRate), 0)), Unit: "µs", Lower: true,
			Value: func(r *load.Result) float64 { return r.P50us }},
		{Scenario: "echo-rate", Name: fmt.Sprintf("Echo p99 at %s acks/s", pagefmt.Num(float64(s.EchoRate), 0)), Unit: "µs", Lower: true, Target: 0.5, Chart: true,
			Value: func(r *load.Result) float64 { return r.P99us }},
		{Scenario: "echo-rate", Name: "Load generator's pacing lag p99 (not in the latencies)", Unit: "µs", Lower: true,
			Value: func(r *load.Result) float64 { return r.PacingLagP99us }},
		{Scenario: "echo-polling", Name: "Polling echo acks/s", Unit: "acks/s", Target: 1, Chart: true,
			Value: func(r *load.Result) float64 { return r.OpsPerSec }},
		{Scenario: "echo-polling", Name: "Server CPU per polling ack", Unit: "µs", Lower: true, Digits: 1,
			Value: func(r *load.Result) float64 { return nonZero(r.CPUusPerOp) }},
		{Scenario: "broadcast", Name: fmt.Sprintf("Broadcast deliveries/s (%s receivers)", pagefmt.Num(float64(s.Receivers), 0)), Unit: "deliveries/s", Chart: true,
			Value: func(r *load.Result) float64 { return r.OpsPerSec }},
		{Scenario: "broadcast", Name: "Server CPU per broadcast delivery", Unit: "µs", Lower: true, Target: 1.0 / 3, Chart: true, Digits: 2,
			Value: func(r *load.Result) float64 { return nonZero(r.CPUusPerOp) }},
		{Scenario: "broadcast-rate", Name: fmt.Sprintf("Broadcast delivery p99 at %d msg/s", s.BcastRate), Unit: "µs", Lower: true, Target: 0.5, Chart: true,
			Value: func(r *load.Result) float64 { return r.P99us }},
		{Scenario: "cluster-broadcast", Section: sectionCluster, Name: fmt.Sprintf("Cross-node deliveries/s (%s receivers, %d nodes)", pagefmt.Num(float64(s.Receivers), 0), clusterNodes), Unit: "deliveries/s", Chart: true,
			Value: func(r *load.Result) float64 { return r.OpsPerSec }},
		{Scenario: "cluster-broadcast", Section: sectionCluster, Name: fmt.Sprintf("Server CPU per cross-node delivery (%d servers)", clusterNodes), Unit: "µs", Lower: true, Chart: true, Digits: 2,
			Value: func(r *load.Result) float64 { return nonZero(r.CPUusPerOp) }},
		{Scenario: "cluster-broadcast", Section: sectionCluster, Name: "Redis CPU per cross-node delivery", Unit: "µs", Lower: true, Digits: 2,
			Value: func(r *load.Result) float64 { return nonZero(r.RedisCPUusPerOp) }},
		{Scenario: "cluster-broadcast-rate", Section: sectionCluster, Name: fmt.Sprintf("Cross-node delivery p50 at %d msg/s", s.BcastRate), Unit: "µs", Lower: true,
			Value: func(r *load.Result) float64 { return r.P50us }},
		{Scenario: "cluster-broadcast-rate", Section: sectionCluster, Name: fmt.Sprintf("Cross-node delivery p99 at %d msg/s", s.BcastRate), Unit: "µs", Lower: true, Chart: true,
			Value: func(r *load.Result) float64 { return r.P99us }},
		{Scenario: "churn", Name: "Connect/disconnect cycles/s", Unit: "cycles/s", Chart: true,
			Value: func(r *load.Result) float64 { return r.OpsPerSec }},
		{Scenario: "churn", Name: "Server CPU per cycle", Unit: "µs", Lower: true, Digits: 1,
			Value: func(r *load.Result) float64 { return nonZero(r.CPUusPerOp) }},
		{Scenario: "churn", Name: "RSS after churn over baseline", Unit: "KiB", Lower: true,
			Value: func(r *load.Result) float64 {
				if r.RSSBaseKiB == 0 {
					return math.NaN()
				}
				return float64(r.RSSKiB - r.RSSBaseKiB)
			}},
	}
}

func nonZero(v float64) float64 {
	if v == 0 {
		return math.NaN()
	}
	return v
}
