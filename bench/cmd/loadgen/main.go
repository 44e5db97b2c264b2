// Command loadgen drives a Socket.IO server on this machine with one of the
// benchmark scenarios and prints one JSON line with the results.
//
//	loadgen -url http://127.0.0.1:3000 -scenario echo -c 50 -duration 10s -pid 1234
//
// Scenarios: conns (open -n connections at -connect-rate, hold them for
// -duration), echo (-c clients emitting with acks, closed loops or -rate acks/s
// in total), broadcast (-r receivers and one sender, as fast as -window allows
// or -rate messages/s), cluster-broadcast (the same over the servers -url and
// -peers of a cluster, receivers spread evenly, the sender on -url), churn (-c
// workers connecting and disconnecting), scale-recv (one of several receiver
// processes of cmd/scalerun, which drives it over stdin). With -pid, the server's CPU time and
// RSS are read from /proc (with -peer-pids, summed over the cluster; with
// -redis-pid, the Redis CPU on its own); with -stats-url, its goroutine
// count. Progress goes to stderr.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sio-go/socketio/bench/internal/load"
	"github.com/sio-go/socketio/bench/internal/wire"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
}

func run() error {
	var cfg load.Config
	var transport string
	var quiet, failExit bool
	var cpuProfile, peers, peerPIDs string
	flag.StringVar(&cfg.URL, "url", "http://127.0.0.1:3000", "server URL (loopback only); path defaults to /socket.io/")
	flag.StringVar(&cfg.Scenario, "scenario", "echo", "conns, echo, broadcast, cluster-broadcast, churn, or scale-recv (driven by scalerun)")
	flag.StringVar(&peers, "peers", "", "cluster-broadcast, scale-recv: comma-separated URLs of the cluster's other servers")
	flag.StringVar(&transport, "transport", "websocket", "websocket or polling")
	flag.StringVar(&cfg.Label, "label", "", "label copied into the result line (e.g. go, node)")
	flag.IntVar(&cfg.Conns, "n", 1000, "conns: connections to open and hold")
	flag.IntVar(&cfg.Clients, "c", 0, "echo: clients (default 50); churn: concurrent workers (default 20)")
	flag.IntVar(&cfg.Receivers, "r", 1000, "broadcast: receivers")
	flag.Float64Var(&cfg.Rate, "rate", 0, "offered load: echo acks/s, broadcast messages/s, churn cycles/s (0: as fast as possible)")
	flag.Float64Var(&cfg.ConnectRate, "connect-rate", 2000, "connection attempts per second")
	flag.IntVar(&cfg.ConnectConcurrency, "connect-concurrency", 256, "handshakes in flight")
	flag.IntVar(&cfg.Window, "window", 0, "broadcast: undelivered messages allowed (default 64); echo at -rate: outstanding acks per client (default 512)")
	flag.IntVar(&cfg.PayloadSize, "size", 32, "length of the string argument")
	flag.BoolVar(&cfg.Msgpack, "msgpack", false, "echo: speak socket.io-msgpack-parser's format (WebSocket only; start the server with PARSER=msgpack)")
	flag.BoolVar(&cfg.Typed, "typed", false, `echo: emit "echo-typed" with {"text":…,"n":7}, acknowledged by a typed handler on the Go server`)
	flag.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measured window (conns: hold time)")
	flag.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "warm-up before the measured window (churn: warm-up cycles)")
	flag.DurationVar(&cfg.Settle, "settle", 15*time.Second, "churn: longest wait for the server to return to baseline")
	flag.IntVar(&cfg.PID, "pid", 0, "server pid, for CPU and RSS from /proc")
	flag.StringVar(&peerPIDs, "peer-pids", "", "cluster-broadcast: comma-separated pids of the -peers servers, added to -pid's CPU and RSS")
	flag.IntVar(&cfg.RedisPID, "redis-pid", 0, "cluster-broadcast: pid of the cluster's Redis, for its CPU on its own")
	flag.StringVar(&cfg.StatsURL, "stats-url", "", `optional server URL answering {"goroutines":N} or N`)
	flag.IntVar(&cfg.SourceIPs, "source-ips", 32, "rotate over this many 127.0.x.y source addresses")
	flag.IntVar(&cfg.SourceIPFirst, "source-ip-first", 0, "skip this many addresses of the rotation (distinct addresses for each of several load generators)")
	flag.DurationVar(&cfg.ProgressEvery, "progress", 2*time.Second, "progress interval on stderr")
	flag.BoolVar(&quiet, "quiet", false, "no progress lines")
	flag.BoolVar(&failExit, "strict", false, "exit with status 1 when a check failed")
	flag.StringVar(&cpuProfile, "cpuprofile", "", "write the load generator's own CPU profile to this file")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	cfg.Peers = splitList(peers)
	for _, p := range splitList(peerPIDs) {
		pid, err := strconv.Atoi(p)
		if err != nil {
			return fmt.Errorf("-peer-pids: %w", err)
		}
		cfg.PeerPIDs = append(cfg.PeerPIDs, pid)
	}
	t, err := wire.ParseTransport(transport)
	if err != nil {
		return err
	}
	cfg.Transport = t
	if !quiet {
		cfg.Progress = os.Stderr
	}
	if cfg.Scenario == load.ScaleRecv {
		// Driven over stdin by cmd/scalerun, which bounds the run.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		ctx, cancel := context.WithTimeout(ctx, load.MaxDuration)
		defer cancel()
		return load.ScaleReceive(ctx, cfg, os.Stdin, os.Stdout)
	}
	// The run is bounded by its own durations; this is a safety net.
	limit := cfg.Warmup + cfg.Duration + cfg.Settle + 5*time.Minute
	if cfg.Scenario == load.Conns && cfg.ConnectRate > 0 {
		limit += time.Duration(float64(cfg.Conns)/cfg.ConnectRate*float64(time.Second)) * 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	res, err := load.Run(ctx, cfg)
	if err != nil {
		return err
	}
	line, err := json.Marshal(res)
	if err != nil {
		return err
	}
	fmt.Println(string(line))
	if failExit && !res.OK {
		os.Exit(1)
	}
	return nil
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
