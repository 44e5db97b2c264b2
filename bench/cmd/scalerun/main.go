// Command scalerun measures a cluster at the scale of the product: N server
// nodes on one Redis (Go nodes on redisadapter, or Node nodes on
// @socket.io/redis-adapter), and up to 100,000 clients spread over them by
// several load generator processes, each on its own source addresses and
// below the per-process file descriptor limit.
//
//	go run ./cmd/scalerun -servers go,node -nodes 6 -conns 100000 -loadgens 6
//
// Each run starts a private redis-server and the nodes, connects every
// client, then broadcasts from one more client on the first node at -rate
// messages/s for -hold while the clients are held: every client checks
// every message, in order. It reports the time to connect everyone, the
// nodes' RSS per connection, delivery p50/p99 from the sender's clock, the
// server CPU per delivery summed over the nodes, and the Redis CPU. The
// runs of both kinds alternate, -reps times; the summary gives medians.
// One JSON line per run goes to -results.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sio-go/socketio/bench/internal/load"
	"github.com/sio-go/socketio/bench/internal/procs"
	"github.com/sio-go/socketio/bench/internal/procstat"
	"github.com/sio-go/socketio/bench/internal/stats"
	"github.com/sio-go/socketio/bench/internal/wire"
)

type options struct {
	servers     []string
	nodes       int
	conns       int
	loadgens    int
	hold        time.Duration
	rate        float64
	connectRate float64
	sourceIPs   int
	reps        int
	transport   string
	redisServer string
	nodeCmd     string
	goServer    string // built binary
	loadgen     string // built binary
	results     string
	out         string // page to write the section into
	from        string // results to render instead of running
	verbose     bool
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "scalerun:", err)
		os.Exit(2)
	}
}

func run() error {
	var o options
	var servers string
	flag.StringVar(&servers, "servers", "go,node", "kinds of cluster to measure, in order: go, node")
	flag.IntVar(&o.nodes, "nodes", 6, "server nodes per cluster")
	flag.IntVar(&o.conns, "conns", 100_000, "clients, spread evenly over the nodes")
	flag.IntVar(&o.loadgens, "loadgens", 6, "load generator processes, the clients spread evenly over them")
	flag.DurationVar(&o.hold, "hold", 60*time.Second, "how long the clients are held while the broadcasts go out")
	flag.Float64Var(&o.rate, "rate", 1, "broadcasts per second during the hold")
	flag.Float64Var(&o.connectRate, "connect-rate", 3000, "connection attempts per second over all load generators")
	flag.IntVar(&o.sourceIPs, "source-ips", 16, "127.0.x.y source addresses per load generator (each its own)")
	flag.IntVar(&o.reps, "reps", 3, "runs of each kind")
	flag.StringVar(&o.transport, "transport", "websocket", "websocket or polling")
	flag.StringVar(&o.redisServer, "redis-server", "redis-server", "redis-server binary")
	flag.StringVar(&o.nodeCmd, "node-cmd", "node node/server.mjs", "command that starts a Node node")
	flag.StringVar(&o.results, "results", "", "append one JSON line per run to this file")
	flag.StringVar(&o.out, "out", "", "write the results as a section of this markdown page (../docs/benchmarks.md), replacing the one there")
	flag.StringVar(&o.from, "from", "", "render the runs of this -results file instead of running (with the flags they ran with)")
	flag.BoolVar(&o.verbose, "v", false, "show the load generators' progress")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	for s := range strings.SplitSeq(servers, ",") {
		if s = strings.TrimSpace(s); s != "go" && s != "node" {
			return fmt.Errorf("-servers: unknown kind %q", s)
		}
		o.servers = append(o.servers, s)
	}
	if err := o.check(); err != nil {
		return err
	}
	if o.from != "" {
		all, err := readResults(o.from, o)
		if err != nil {
			return err
		}
		return report(o, all, machineLine())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	machine := machineLine()

	tmp, err := os.MkdirTemp("", "scalerun")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	o.loadgen = filepath.Join(tmp, "loadgen")
	o.goServer = filepath.Join(tmp, "benchserver")
	for bin, pkg := range map[string]string{o.loadgen: "./cmd/loadgen", o.goServer: "./cmd/benchserver"} {
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
		}
	}

	var all []result
	for rep := range o.reps {
		for _, kind := range o.servers {
			fmt.Fprintf(os.Stderr, "== %s, run %d of %d: %d nodes, %d clients, %d load generators\n", kind, rep+1, o.reps, o.nodes, o.conns, o.loadgens)
			res, err := runOnce(ctx, o, kind)
			if err != nil {
				if ctx.Err() != nil {
					return err
				}
				res.Err = err.Error()
			}
			res.Kind, res.Rep = kind, rep+1
			all = append(all, res)
			line, _ := json.Marshal(res)
			fmt.Fprintln(os.Stderr, string(line))
			if o.results != "" {
				if err := appendLine(o.results, line); err != nil {
					return err
				}
			}
		}
	}
	return report(o, all, machine)
}

// report prints the section and, with -out, writes it into the page.
func report(o options, all []result, machine string) error {
	sec := section(o, all, machine)
	fmt.Print(sec)
	if o.out == "" {
		return nil
	}
	if err := writeSection(o.out, sec); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "scalerun: wrote %s\n", o.out)
	return nil
}

func (o options) check() error {
	perNode := o.conns/o.nodes + 100
	perLoadgen := (o.conns + o.loadgens - 1) / o.loadgens
	if o.transport == "polling" {
		perNode *= 2
		perLoadgen *= 2
	}
	switch {
	case o.nodes < 1 || o.loadgens < 1 || o.conns < 1 || o.reps < 1:
		return errors.New("-nodes, -loadgens, -conns and -reps must be positive")
	case perNode > load.MaxConnections:
		return fmt.Errorf("%d connections per node is over the per-process limit of %d: add nodes", perNode, load.MaxConnections)
	case perLoadgen > load.MaxConnections:
		return fmt.Errorf("%d connections per load generator is over the per-process limit of %d: add load generators", perLoadgen, load.MaxConnections)
	case o.rate <= 0 || o.hold <= 0:
		return errors.New("-rate and -hold must be positive")
	case o.loadgens*o.sourceIPs > 250*250:
		return errors.New("too many source addresses")
	}
	return nil
}

// result is one run of one kind.
type result struct {
	Kind  string    `json:"kind"`
	Rep   int       `json:"rep"`
	Date  time.Time `json:"date"`
	Nodes int       `json:"nodes"`
	Conns int       `json:"conns"`

	Connected   int     `json:"connected"`      // clients connected at the end of the connect phase
	ConnectS    float64 `json:"connect_s"`      // from the first load generator's start to the last one's ready line
	RSSKiB      int64   `json:"rss_kib"`        // nodes, summed, with every client connected
	RSSBaseKiB  int64   `json:"rss_base_kib"`   // nodes, summed, before any client
	RSSPerConnB float64 `json:"rss_per_conn_b"` // (RSSKiB - RSSBaseKiB) / Connected
	// At the end of the hold, a minute later: the steady state, once the
	// garbage of the handshakes is collected and returned.
	RSSHeldKiB      int64   `json:"rss_held_kib"`
	RSSHeldPerConnB float64 `json:"rss_held_per_conn_b"`

	Sent        int64   `json:"sent"`      // broadcasts
	Expected    int64   `json:"expected"`  // Sent × Connected
	Delivered   int64   `json:"delivered"` // deliveries seen by the clients
	Complete    int     `json:"complete"`  // clients that got every broadcast, in order
	Alive       int     `json:"alive"`     // clients still connected after the hold
	OutOfOrder  int64   `json:"out_of_order"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	ServerCPUS  float64 `json:"server_cpu_s"` // over the hold, summed over the nodes
	CPUusPerDel float64 `json:"cpu_us_per_delivery"`
	UserUsDel   float64 `json:"user_cpu_us_per_delivery"` // the same, user time only (no system calls)
	RedisCPUS   float64 `json:"redis_cpu_s"`
	RedisUsDel  float64 `json:"redis_us_per_delivery"`
	Errors      int64   `json:"errors"`
	FirstError  string  `json:"first_error,omitempty"`
	Err         string  `json:"err,omitempty"` // the run could not complete
}

func (r result) ok() bool {
	return r.Err == "" && r.Connected == r.Conns && r.Alive == r.Conns && r.Complete == r.Conns &&
		r.Delivered == r.Expected && r.OutOfOrder == 0
}

type cluster struct {
	redis *procs.Proc
	nodes []*procs.Proc
	urls  []string
}

func (c *cluster) stop() {
	for _, n := range c.nodes {
		n.Stop()
	}
	if c.redis != nil {
		c.redis.Stop()
	}
}

func (c *cluster) pids() []int {
	var p []int
	for _, n := range c.nodes {
		p = append(p, n.PID())
	}
	return p
}

func (c *cluster) dead() error {
	for _, p := range append([]*procs.Proc{c.redis}, c.nodes...) {
		if !p.Alive() {
			return fmt.Errorf("%s exited%s", p.Name, p.Tail())
		}
	}
	return nil
}

func startCluster(ctx context.Context, o options, kind string) (c *cluster, err error) {
	c = &cluster{}
	defer func() {
		if err != nil {
			c.stop()
		}
	}()
	port, err := procs.FreePort()
	if err != nil {
		return nil, err
	}
	if c.redis, err = procs.StartListening(ctx, "redis-server", procs.RedisCommand(o.redisServer, port), port); err != nil {
		return nil, err
	}
	redisURL := fmt.Sprintf("REDIS_URL=redis://127.0.0.1:%d", port)
	argv := []string{o.goServer}
	if kind == "node" {
		argv = strings.Fields(o.nodeCmd)
	}
	for i := range o.nodes {
		port, err := procs.FreePort()
		if err != nil {
			return nil, err
		}
		n, err := procs.StartListening(ctx, fmt.Sprintf("%s node %d", kind, i+1), argv, port,
			fmt.Sprintf("PORT=%d", port), redisURL)
		if err != nil {
			return nil, err
		}
		c.nodes = append(c.nodes, n)
		c.urls = append(c.urls, fmt.Sprintf("http://127.0.0.1:%d", port))
	}
	return c, nil
}

// loadgenProc is one scale-recv process.
type loadgenProc struct {
	p     *procs.Proc
	in    io.WriteCloser
	lines chan []byte
}

func startLoadgen(o options, c *cluster, i, n int) (*loadgenProc, error) {
	args := []string{o.loadgen, "-scenario", load.ScaleRecv, "-transport", o.transport,
		"-url", c.urls[0], "-peers", strings.Join(c.urls[1:], ","),
		"-r", strconv.Itoa(n),
		"-connect-rate", strconv.FormatFloat(o.connectRate/float64(o.loadgens), 'f', 1, 64),
		"-source-ips", strconv.Itoa(o.sourceIPs), "-source-ip-first", strconv.Itoa(i * o.sourceIPs)}
	if !o.verbose {
		args = append(args, "-quiet")
	}
	p, err := procs.Prepare(fmt.Sprintf("load generator %d", i+1), args)
	if err != nil {
		return nil, err
	}
	if o.verbose {
		p.Cmd.Stderr = os.Stderr
	}
	in, err := p.Cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := p.Cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := p.Start(); err != nil {
		return nil, err
	}
	lg := &loadgenProc{p: p, in: in, lines: make(chan []byte, 4)}
	go func() {
		defer close(lg.lines)
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			lg.lines <- append([]byte(nil), sc.Bytes()...)
		}
	}()
	return lg, nil
}

// next decodes the load generator's next line into v.
func (lg *loadgenProc) next(ctx context.Context, timeout time.Duration, v any) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case line, ok := <-lg.lines:
		if !ok {
			return fmt.Errorf("%s ended%s", lg.p.Name, lg.p.Tail())
		}
		return json.Unmarshal(line, v)
	case <-t.C:
		return fmt.Errorf("%s: no answer within %v%s", lg.p.Name, timeout, lg.p.Tail())
	case <-ctx.Done():
		return ctx.Err()
	}
}

func runOnce(ctx context.Context, o options, kind string) (res result, err error) {
	res = result{Date: time.Now().UTC().Truncate(time.Second), Nodes: o.nodes, Conns: o.conns}
	c, err := startCluster(ctx, o, kind)
	if err != nil {
		return res, err
	}
	defer c.stop()
	base, err := procstat.ReadSum(c.pids())
	if err != nil {
		return res, err
	}
	res.RSSBaseKiB = base.RSSKiB

	// Connect everyone.
	start := time.Now()
	var lgs []*loadgenProc
	defer func() {
		for _, lg := range lgs {
			_ = lg.in.Close()
		}
		for _, lg := range lgs {
			select {
			case <-lg.p.Exited():
			case <-time.After(30 * time.Second):
				lg.p.Stop()
			}
		}
	}()
	for i := range o.loadgens {
		n := o.conns / o.loadgens
		if i < o.conns%o.loadgens {
			n++
		}
		lg, err := startLoadgen(o, c, i, n)
		if err != nil {
			return res, err
		}
		lgs = append(lgs, lg)
	}
	connectLimit := time.Duration(float64(o.conns)/o.connectRate*3*float64(time.Second)) + 2*time.Minute
	for _, lg := range lgs {
		var ready load.ScaleReady
		if err := lg.next(ctx, connectLimit, &ready); err != nil {
			return res, err
		}
		res.Connected += ready.Connected
		res.Errors += ready.Errors
		if res.FirstError == "" {
			res.FirstError = ready.FirstError
		}
	}
	res.ConnectS = round(time.Since(start).Seconds(), 1)
	fmt.Fprintf(os.Stderr, "   %d of %d connected in %.1fs\n", res.Connected, o.conns, res.ConnectS)
	if err := c.dead(); err != nil {
		return res, err
	}
	time.Sleep(2 * time.Second) // let the nodes settle before measuring memory
	loaded, err := procstat.ReadSum(c.pids())
	if err != nil {
		return res, err
	}
	res.RSSKiB = loaded.RSSKiB
	if res.Connected > 0 {
		res.RSSPerConnB = round(float64(res.RSSKiB-res.RSSBaseKiB)*1024/float64(res.Connected), 0)
	}

	// Broadcast at the rate while holding.
	ep, err := wire.ParseEndpoint(c.urls[0])
	if err != nil {
		return res, err
	}
	tr, err := wire.ParseTransport(o.transport)
	if err != nil {
		return res, err
	}
	var senderErr error
	sender, err := wire.Dial(ctx, wire.DialOptions{Endpoint: ep, Transport: tr, Handler: func(_ *wire.Conn, f []byte) {
		senderErr = fmt.Errorf("the sender received %s", wire.Quote(f))
	}})
	if err != nil {
		return res, fmt.Errorf("sender: %w", err)
	}
	defer sender.Close()
	cpu0, err := procstat.ReadSum(c.pids())
	if err != nil {
		return res, err
	}
	redis0, err := procstat.Read(c.redis.PID())
	if err != nil {
		return res, err
	}
	frame := wire.NewStampFrame("bcast")
	var buf []byte
	total := int64(o.hold.Seconds() * o.rate)
	t0 := time.Now()
	for seq := range total {
		at := t0.Add(time.Duration(float64(seq) / o.rate * float64(time.Second)))
		select {
		case <-time.After(time.Until(at)):
		case <-ctx.Done():
			return res, ctx.Err()
		}
		buf = frame.Append(buf[:0], seq, time.Now().UnixMicro())
		if err := sender.Send(buf); err != nil {
			return res, fmt.Errorf("sender: %w", err)
		}
		res.Sent++
	}
	// Wait for the deliveries.
	wait := 30 * time.Second
	for _, lg := range lgs {
		line, _ := json.Marshal(load.ScaleExpect{Messages: res.Sent, WaitS: wait.Seconds()})
		if _, err := lg.in.Write(append(line, '\n')); err != nil {
			return res, fmt.Errorf("%s: %w", lg.p.Name, err)
		}
	}
	var hist stats.Histogram
	for _, lg := range lgs {
		var rep load.ScaleReport
		if err := lg.next(ctx, wait+time.Minute, &rep); err != nil {
			return res, err
		}
		res.Delivered += rep.Deliveries
		res.Complete += rep.Complete
		res.Alive += rep.Alive
		res.OutOfOrder += rep.OutOfOrder
		res.Errors += rep.Errors + rep.Mismatches
		if res.FirstError == "" {
			res.FirstError = rep.FirstError
		}
		hist.Merge(rep.Latency)
	}
	cpu1, err := procstat.ReadSum(c.pids())
	if err != nil {
		return res, err
	}
	redis1, err := procstat.Read(c.redis.PID())
	if err != nil {
		return res, err
	}
	if senderErr != nil && res.FirstError == "" {
		res.FirstError = senderErr.Error()
		res.Errors++
	}
	res.Expected = res.Sent * int64(res.Connected)
	ms := func(d time.Duration) float64 { return round(float64(d)/1e6, 1) }
	res.P50ms, res.P99ms, res.MaxMs = ms(hist.Quantile(0.5)), ms(hist.Quantile(0.99)), ms(hist.Max())
	res.RSSHeldKiB = cpu1.RSSKiB
	if res.Connected > 0 {
		res.RSSHeldPerConnB = round(float64(res.RSSHeldKiB-res.RSSBaseKiB)*1024/float64(res.Connected), 0)
	}
	res.ServerCPUS = round((cpu1.CPU - cpu0.CPU).Seconds(), 2)
	res.RedisCPUS = round((redis1.CPU - redis0.CPU).Seconds(), 2)
	if res.Delivered > 0 {
		res.CPUusPerDel = round(res.ServerCPUS*1e6/float64(res.Delivered), 2)
		res.UserUsDel = round((cpu1.User-cpu0.User).Seconds()*1e6/float64(res.Delivered), 2)
		res.RedisUsDel = round(res.RedisCPUS*1e6/float64(res.Delivered), 3)
	}
	return res, c.dead()
}

func appendLine(path string, line []byte) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func round(v float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	return float64(int64(v*p+0.5)) / p
}
