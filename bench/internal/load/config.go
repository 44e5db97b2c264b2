// Package load runs the benchmark scenarios against a Socket.IO server on
// this machine: idle connections, echo with acks, broadcast, broadcast
// across the servers of a cluster, and churn. Every
// reply is checked byte for byte, and the server's CPU time and memory are
// read from /proc when its pid is known.
package load

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sio-go/socketio/bench/internal/wire"
)

// Scenario names.
const (
	Conns     = "conns"
	Echo      = "echo"
	Broadcast = "broadcast"
	Churn     = "churn"
	// ClusterBroadcast is broadcast over the servers of a cluster (URL and
	// Peers, sharing an adapter such as Redis): the receivers are spread
	// evenly over the servers and the sender is on the first.
	ClusterBroadcast = "cluster-broadcast"
	// ScaleRecv is one load generator process of a run spread over several
	// processes (see ScaleReceive): it holds receivers spread over URL and
	// Peers and checks the broadcasts that another process sends.
	ScaleRecv = "scale-recv"
)

// Limits that keep a run inside the machine's file descriptor limit (20,000
// per process, for the load generator and the server alike) and bounded in
// time.
const (
	MaxConnections = 19_000
	MaxDuration    = time.Hour
	MaxConnectRate = 20_000
	MaxSourceIPs   = 1000
)

// Config describes one run. The zero value of a field takes the default
// noted beside it.
type Config struct {
	URL       string         // server, e.g. http://127.0.0.1:3000
	Scenario  string         // conns, echo, broadcast, cluster-broadcast or churn
	Transport wire.Transport // websocket (default) or polling
	Label     string         // free text copied to the result, e.g. "go" or "node"

	Conns     int // conns: connections to open and hold (default 1000)
	Clients   int // echo: closed-loop clients; churn: concurrent workers (default 50 / 20)
	Receivers int // broadcast: receivers beside the one sender (default 1000)

	// Rate is the offered load: echo acks/s over all clients (0: closed
	// loops at saturation); broadcast messages/s from the sender (0: as fast
	// as the window allows); churn cycles/s (0: unbounded).
	Rate float64
	// ConnectRate bounds connection attempts per second in every scenario's
	// set-up and in conns (default 2000).
	ConnectRate float64
	// ConnectConcurrency bounds handshakes in flight (default 256).
	ConnectConcurrency int
	// Window bounds, for broadcast, the messages not yet delivered to every
	// receiver, and for echo at a fixed rate, the acks outstanding per client
	// (default 64 and 512).
	Window int
	// PayloadSize is the length of the string argument (default 32).
	PayloadSize int
	// Typed makes echo emit "echo-typed" with an object argument,
	// {"text":"<PayloadSize characters>","n":7}, which the Go server
	// decodes into a struct and acknowledges with it (a typed handler),
	// instead of "echo" with a string.
	Typed bool
	// Msgpack makes echo speak socket.io-msgpack-parser's format, over
	// WebSocket: the server must use that parser too.
	Msgpack bool

	Duration time.Duration // measured window; for conns the hold time (default 10s)
	Warmup   time.Duration // before the measured window (default 2s; churn: the warm-up cycles)
	Settle   time.Duration // churn: how long to wait for the server to return to baseline (default 15s)

	// Peers are, for cluster-broadcast, the URLs of the cluster's other
	// servers; receiver i connects to server i mod (1+len(Peers)), URL
	// being server 0, which also has the sender.
	Peers []string

	PID       int    // server pid for /proc readings (0: none)
	PeerPIDs  []int  // pids of the Peers' servers; their CPU and RSS are added to PID's
	RedisPID  int    // pid of the cluster's Redis, whose CPU is reported on its own (0: none)
	StatsURL  string // optional URL answering the server's goroutine count
	SourceIPs int    // rotate over this many 127.x source addresses (default 32)
	// SourceIPFirst skips this many addresses of the rotation, so that
	// several load generator processes use distinct source addresses.
	SourceIPFirst int

	Progress      io.Writer     // progress lines (nil: none)
	ProgressEvery time.Duration // default 2s
}

func (c *Config) setDefaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Conns, 1000)
	if c.Scenario == Churn {
		def(&c.Clients, 20)
	} else {
		def(&c.Clients, 50)
	}
	def(&c.Receivers, 1000)
	if c.ConnectRate <= 0 {
		c.ConnectRate = 2000
	}
	def(&c.ConnectConcurrency, 256)
	if c.Scenario == Echo {
		def(&c.Window, 512)
	} else {
		def(&c.Window, 64)
	}
	def(&c.PayloadSize, 32)
	def(&c.SourceIPs, 32)
	defDur(&c.Duration, 10*time.Second)
	if c.Warmup < 0 {
		c.Warmup = 0
	} else if c.Warmup == 0 {
		c.Warmup = 2 * time.Second
	}
	defDur(&c.Settle, 15*time.Second)
	defDur(&c.ProgressEvery, 2*time.Second)
}

// connections returns how many connections the scenario holds at once and
// how many TCP connections each needs.
func (c *Config) connections() int {
	n := 0
	switch c.Scenario {
	case Conns:
		n = c.Conns
	case Echo, Churn:
		n = c.Clients
	case Broadcast, ClusterBroadcast:
		n = c.Receivers + 1
	case ScaleRecv:
		n = c.Receivers
	}
	if c.Transport == wire.Polling {
		n *= 2 // a pending GET and a POST per connection
	}
	return n
}

func (c *Config) validate() error {
	switch c.Scenario {
	case Conns, Echo, Broadcast, ClusterBroadcast, Churn, ScaleRecv:
	default:
		return fmt.Errorf("load: unknown scenario %q (want conns, echo, broadcast, cluster-broadcast or churn)", c.Scenario)
	}
	if c.URL == "" {
		return errors.New("load: no server url")
	}
	switch {
	case c.Msgpack && (c.Scenario != Echo || c.Transport == wire.Polling):
		return errors.New("load: msgpack is implemented for echo over WebSocket only")
	case c.Scenario == ClusterBroadcast && len(c.Peers) == 0:
		return errors.New("load: cluster-broadcast needs the URLs of the other servers (peers)")
	case c.Scenario != ClusterBroadcast && c.Scenario != ScaleRecv && (len(c.Peers) > 0 || len(c.PeerPIDs) > 0):
		return fmt.Errorf("load: peers are for cluster-broadcast, not %s", c.Scenario)
	case len(c.PeerPIDs) > 0 && (len(c.PeerPIDs) != len(c.Peers) || c.PID <= 0):
		return fmt.Errorf("load: %d peer pids for %d peers (and the first server's pid %d)", len(c.PeerPIDs), len(c.Peers), c.PID)
	}
	if n := c.connections(); n > MaxConnections {
		return fmt.Errorf("load: %d TCP connections asked, the limit is %d", n, MaxConnections)
	}
	if c.Duration > MaxDuration || c.Warmup > MaxDuration || c.Settle > MaxDuration {
		return fmt.Errorf("load: durations are limited to %v", MaxDuration)
	}
	if c.ConnectRate > MaxConnectRate {
		return fmt.Errorf("load: connect rate is limited to %d/s", MaxConnectRate)
	}
	if c.Scenario == Churn && c.Rate > MaxConnectRate {
		return fmt.Errorf("load: churn rate is limited to %d/s", MaxConnectRate)
	}
	if c.SourceIPs > MaxSourceIPs {
		return fmt.Errorf("load: at most %d source addresses", MaxSourceIPs)
	}
	if c.SourceIPFirst < 0 || c.SourceIPFirst+c.SourceIPs > 250*250 {
		return fmt.Errorf("load: source addresses %d to %d are out of 127.0.0.0/8's range", c.SourceIPFirst, c.SourceIPFirst+c.SourceIPs)
	}
	return nil
}

// Result is the outcome of one run, printed as one JSON line. Fields that
// need the server's pid or stats URL are left out without them.
type Result struct {
	Label     string  `json:"label,omitempty"`
	Scenario  string  `json:"scenario"`
	Transport string  `json:"transport"`
	Conns     int     `json:"conns,omitempty"`
	Clients   int     `json:"clients,omitempty"`
	Receivers int     `json:"receivers,omitempty"`
	Nodes     int     `json:"nodes,omitempty"` // cluster-broadcast: servers in the cluster
	Rate      float64 `json:"rate"`            // offered rate, 0 for saturation
	Window    int     `json:"window,omitempty"`
	Payload   int     `json:"payload_bytes"`

	Started   time.Time `json:"started"`
	DurationS float64   `json:"duration_s"` // measured window
	Op        string    `json:"op"`         // what Ops counts
	Ops       int64     `json:"ops"`        // in the measured window
	OpsPerSec float64   `json:"ops_per_s"`

	// Latency of acks (echo), deliveries (broadcast), connects (conns) or
	// whole cycles (churn), in microseconds.
	P50us float64 `json:"p50_us"`
	P90us float64 `json:"p90_us"`
	P99us float64 `json:"p99_us"`
	MaxUs float64 `json:"max_us"`
	// PacingLagP99us is, at a fixed rate, the p99 of how late the load
	// generator's sends went out after their scheduled times. Latencies
	// count from the actual send, so this lag is the load generator's own
	// and is not in them.
	PacingLagP99us float64 `json:"pacing_lag_p99_us,omitempty"`

	Connected   int     `json:"connected"`           // connections opened in set-up or held (conns)
	ConnectRate float64 `json:"connect_rate"`        // achieved connects/s in set-up
	Alive       int     `json:"alive,omitempty"`     // conns: still open at the end of the hold
	Pings       int64   `json:"pings"`               // server pings answered
	Sent        int64   `json:"sent,omitempty"`      // broadcast: messages sent in total
	Delivered   int64   `json:"delivered,omitempty"` // broadcast: deliveries in total
	Skipped     int64   `json:"skipped,omitempty"`   // echo at a fixed rate: sends dropped for a full window
	Cycles      int64   `json:"cycles,omitempty"`    // churn: cycles in total
	Returned    *bool   `json:"returned,omitempty"`  // churn: server back to baseline
	SettleS     float64 `json:"settle_s,omitempty"`  // churn: time to return to baseline
	ServerCPUS  float64 `json:"server_cpu_s,omitempty"`
	CPUusPerOp  float64 `json:"cpu_us_per_op,omitempty"`
	ServerCPUPc float64 `json:"server_cpu_pct,omitempty"` // of one core, over the window
	// The cluster's Redis over the same window (with RedisPID); the server
	// figures above are summed over every server of the cluster.
	RedisCPUS       float64 `json:"redis_cpu_s,omitempty"`
	RedisCPUusPerOp float64 `json:"redis_cpu_us_per_op,omitempty"`
	RedisCPUPc      float64 `json:"redis_cpu_pct,omitempty"`
	// LoadgenCPUPc is the load generator's own CPU over the window, in % of
	// one core: near 100 with the load generator on one core, the figures
	// are bounded by the load generator rather than the server.
	LoadgenCPUPc float64 `json:"loadgen_cpu_pct"`

	RSSFreshKiB     int64   `json:"rss_fresh_kib,omitempty"` // before any connection of this run
	RSSBaseKiB      int64   `json:"rss_base_kib,omitempty"`  // baseline the scenario compares with
	RSSKiB          int64   `json:"rss_kib,omitempty"`       // loaded (conns: end of hold; churn: after settling)
	RSSPeakKiB      int64   `json:"rss_peak_kib,omitempty"`
	RSSPerConnBytes float64 `json:"rss_per_conn_bytes,omitempty"`
	GoroutinesBase  *int    `json:"goroutines_base,omitempty"`
	GoroutinesPeak  *int    `json:"goroutines_peak,omitempty"`
	GoroutinesAfter *int    `json:"goroutines_after,omitempty"`

	Errors     int64  `json:"errors"`
	Mismatches int64  `json:"mismatches"`
	FirstError string `json:"first_error,omitempty"`
	OK         bool   `json:"ok"`
}
