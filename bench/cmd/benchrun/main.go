// Command benchrun runs the side-by-side benchmark: our Go server and the
// Node reference (official socket.io), a fresh server process per run pinned
// to one core, the load generator pinned to the other, alternating servers,
// three repetitions per scenario. It writes medians, paired ratios and a
// chart to docs/benchmarks.md.
//
// Run it from the bench directory:
//
//	go run ./cmd/benchrun                  # full run, both servers (about 25 minutes)
//	go run ./cmd/benchrun -servers node    # the Node reference only
//	go run ./cmd/benchrun -quick           # smoke run, report to stdout
//
// The cross-node scenarios (cluster-broadcast, cluster-broadcast-rate) run
// three servers of one kind on a private redis-server. They can be run on
// their own and merged into an earlier report:
//
//	go run ./cmd/benchrun -scenarios cluster-broadcast,cluster-broadcast-rate -merge ../docs/benchmarks.md
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
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sio-go/socketio/bench/internal/host"
	"github.com/sio-go/socketio/bench/internal/load"
	"github.com/sio-go/socketio/bench/internal/pagefmt"
	"github.com/sio-go/socketio/bench/internal/pagesection"
)

type options struct {
	servers     []string
	reps        int
	quick       bool
	out         string
	only        []string
	goBuild     string
	goCmd       string
	goStats     string
	nodeCmd     string
	serverCPU   string
	loadgenCPU  string
	resultsOut  string
	from        []string
	merge       string
	redisServer string
	hold        time.Duration
	echoRate    int
	noTaskset   bool
	nice        int
	svg         string
	loadgenPath string
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		os.Exit(1)
	}
}

func run() error {
	var o options
	var servers, only, from string
	flag.StringVar(&servers, "servers", "go,node", "servers to compare, in order: go, node or both")
	flag.IntVar(&o.reps, "reps", 3, "repetitions of each scenario per server")
	flag.BoolVar(&o.quick, "quick", false, "short smoke run (small sizes, one repetition, report to stdout unless -out)")
	flag.StringVar(&o.out, "out", "", "markdown report (default ../docs/benchmarks.md; with -quick, stdout)")
	flag.StringVar(&only, "scenarios", "", "comma-separated subset of scenarios (conns, echo, echo-typed, echo-msgpack, echo-rate, echo-polling, broadcast, broadcast-rate, cluster-broadcast, cluster-broadcast-rate, churn)")
	flag.StringVar(&o.goBuild, "go-build", "go build -o {bin} ./cmd/benchserver", "command that builds the Go server ({bin}: its path); empty to skip")
	flag.StringVar(&o.goCmd, "go-cmd", "{bin}", "command that starts the Go server; it must exec the server itself so its pid is the server's")
	flag.StringVar(&o.goStats, "go-stats-path", "/debug/stats", `path on the Go server answering {"goroutines":N}, e.g. /debug/stats (empty: none)`)
	flag.StringVar(&o.nodeCmd, "node-cmd", "node node/server.mjs", "command that starts the Node reference")
	flag.StringVar(&o.serverCPU, "server-cpu", "0", "taskset CPU list for the server")
	flag.StringVar(&o.loadgenCPU, "loadgen-cpu", "1", "taskset CPU list for the load generator")
	flag.BoolVar(&o.noTaskset, "no-taskset", false, "do not pin processes (for machines without taskset)")
	flag.StringVar(&o.svg, "svg", "", "write the chart to this file and link it from the page instead of inlining it (GitHub does not render inline SVG)")
	flag.IntVar(&o.nice, "nice", 0, "run the server and the load generator at this nice value (negative needs root; for a shared machine)")
	flag.StringVar(&o.resultsOut, "results", "", "raw results (JSONL), rewritten after every run (default: a file in the temp directory)")
	flag.StringVar(&from, "from", "", "make the report from earlier results instead of running: a JSONL file or a generated page, or several separated by commas, merged in order (a later file's scenarios replace an earlier one's)")
	flag.StringVar(&o.merge, "merge", "", "merge this run's results into the results of an earlier run (a JSONL file or a generated page, e.g. ../docs/benchmarks.md): its other scenarios are kept")
	flag.StringVar(&o.redisServer, "redis-server", "redis-server", "redis-server binary for the cluster scenarios")
	flag.DurationVar(&o.hold, "hold", 0, "hold time of the idle connections (default 30s, quick 3s)")
	flag.IntVar(&o.echoRate, "echo-rate", 0, "offered load of echo-rate in acks/s (default 10000, quick 2000)")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	for s := range strings.SplitSeq(servers, ",") {
		s = strings.TrimSpace(s)
		switch s {
		case "go", "node":
			if !slices.Contains(o.servers, s) {
				o.servers = append(o.servers, s)
			}
		case "":
		default:
			return fmt.Errorf("unknown server %q (want go or node)", s)
		}
	}
	if len(o.servers) == 0 {
		return errors.New("no server to run")
	}
	if o.reps < 1 || o.reps > 9 {
		return errors.New("-reps must be between 1 and 9")
	}
	if only != "" {
		o.only = strings.Split(only, ",")
		for _, name := range o.only {
			if !slices.ContainsFunc(scenarios(fullSizes()), func(sc scenario) bool { return sc.Name == name }) {
				return fmt.Errorf("unknown scenario %q", name)
			}
		}
	}
	if from != "" {
		o.from = strings.Split(from, ",")
		if o.merge != "" {
			return errors.New("-from and -merge do not go together: list every file in -from")
		}
	}
	sz := fullSizes()
	if o.quick {
		sz = quickSizes()
		if !flagSet("reps") {
			o.reps = 1
		}
	}
	if o.hold > 0 {
		sz.Hold = o.hold
	}
	if o.echoRate > 0 {
		sz.EchoRate = o.echoRate
	}
	if o.out == "" && !o.quick {
		o.out = filepath.Join("..", "docs", "benchmarks.md")
	}
	// The section another generator (scalerun) put in the page is kept;
	// a page it cannot be taken from is refused before anything runs.
	var kept string
	if o.out != "" {
		if old, err := os.ReadFile(o.out); err == nil {
			if kept, err = pagesection.Extract(string(old), pagesection.Scale); err != nil {
				return fmt.Errorf("%s: %w", o.out, err)
			}
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var recs []record
	var mach machine
	var parts []part
	if len(o.from) > 0 {
		f, err := readAll(o.from)
		if err != nil {
			return err
		}
		recs, mach, sz, parts = f.Records, f.Machine, f.Sizes, f.Parts
		o.servers, o.reps = f.Servers, f.Reps
	} else {
		var earlier resultsFile
		if o.merge != "" {
			// Read it first: a run is not started only to fail at the end.
			var err error
			if earlier, err = readRecords(o.merge); err != nil {
				return err
			}
			if err := compatible(earlier, resultsFile{Sizes: sz, Reps: o.reps}); err != nil {
				return fmt.Errorf("-merge %s: %w", o.merge, err)
			}
		}
		var err error
		mach = describeMachine()
		mach.Pinning = "not pinned"
		if !o.noTaskset {
			mach.Pinning = fmt.Sprintf("the server is pinned to CPU %s and the load generator to CPU %s with `taskset`", o.serverCPU, o.loadgenCPU)
		}
		if o.nice != 0 {
			mach.Pinning += fmt.Sprintf(", both at nice %d", o.nice)
		}
		if o.selectsCluster(sz) {
			mach.Redis = redisVersion(o.redisServer)
			mach.ClusterPinning = "not pinned"
			if !o.noTaskset {
				mach.ClusterPinning = fmt.Sprintf("the %s servers and `redis-server` are pinned to CPU %s and the load generator to CPU %s with `taskset`", pagefmt.NumberWord(clusterNodes), o.serverCPU, o.loadgenCPU)
			}
		}
		if o.resultsOut == "" {
			o.resultsOut = filepath.Join(os.TempDir(), "benchrun-"+mach.Date.Format("20060102-150405")+".jsonl")
		}
		fmt.Fprintf(os.Stderr, "benchrun: raw results go to %s\n", o.resultsOut)
		save := func(recs []record) error {
			return writeRecords(o.resultsOut, resultsFile{Machine: mach, Sizes: sz, Servers: o.servers, Reps: o.reps, Records: recs})
		}
		recs, err = runAll(ctx, o, sz, save)
		if err != nil {
			return err
		}
		mach.LoadEnd = host.LoadAvg()
		mach.PressureEnd = host.CPUPressure()
		if err := writeRecords(o.resultsOut, resultsFile{Machine: mach, Sizes: sz, Servers: o.servers, Reps: o.reps, Records: recs}); err != nil {
			return err
		}
		if o.merge != "" {
			f, err := merge([]resultsFile{earlier, {Machine: mach, Sizes: sz, Servers: o.servers, Reps: o.reps, Records: recs}})
			if err != nil {
				return fmt.Errorf("%w (this run's results are in %s)", err, o.resultsOut)
			}
			recs, mach, sz, parts = f.Records, f.Machine, f.Sizes, f.Parts
			o.servers, o.reps = f.Servers, f.Reps
		}
	}
	rep := buildReport(recs, o.servers, o.reps, sz, mach)
	rep.parts = parts
	if o.svg != "" {
		if err := os.WriteFile(o.svg, []byte(rep.svg()+"\n"), 0o644); err != nil {
			return err
		}
		rep.svgPath = o.svg
		if o.out != "" {
			if rel, err := filepath.Rel(filepath.Dir(o.out), o.svg); err == nil {
				rep.svgPath = filepath.ToSlash(rel)
			}
		}
	}
	rep.kept = kept
	md := rep.markdown()
	if o.out == "" {
		_, err := os.Stdout.WriteString(md)
		return err
	}
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(o.out, []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "benchrun: wrote %s\n", o.out)
	return nil
}

// selectsCluster reports whether the run includes a cluster scenario.
func (o options) selectsCluster(sz sizes) bool {
	for _, sc := range scenarios(sz) {
		if sc.Nodes > 1 && (len(o.only) == 0 || slices.Contains(o.only, sc.Name)) {
			return true
		}
	}
	return false
}

func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// record is one run of one scenario on one server.
type record struct {
	Scenario string       `json:"scenario"`
	Server   string       `json:"server"`
	Rep      int          `json:"rep"`
	Result   *load.Result `json:"result,omitempty"`
	Err      string       `json:"error,omitempty"`
}

func (r record) ok() bool { return r.Err == "" && r.Result != nil && r.Result.OK }

// runAll builds what is needed and runs every scenario.
func runAll(ctx context.Context, o options, sz sizes, save func([]record) error) ([]record, error) {
	if _, err := os.Stat(filepath.Join("node", "server.mjs")); err != nil {
		return nil, errors.New("run benchrun from the bench directory (node/server.mjs not found)")
	}
	if slices.Contains(o.servers, "node") {
		if _, err := os.Stat(filepath.Join("node", "node_modules", "socket.io")); err != nil {
			return nil, errors.New("node/node_modules is missing: run (cd node && npm ci)")
		}
	}
	if o.selectsCluster(sz) {
		if _, err := exec.LookPath(o.redisServer); err != nil {
			return nil, fmt.Errorf("the cluster scenarios need %s (Debian package redis-server; or -redis-server PATH, or leave them out with -scenarios)", o.redisServer)
		}
		if slices.Contains(o.servers, "node") {
			if _, err := os.Stat(filepath.Join("node", "node_modules", "@socket.io", "redis-adapter")); err != nil {
				return nil, errors.New("node/node_modules lacks @socket.io/redis-adapter: run (cd node && npm ci)")
			}
		}
	}
	if !o.noTaskset {
		if _, err := exec.LookPath("taskset"); err != nil {
			return nil, errors.New("taskset not found (util-linux); install it or pass -no-taskset")
		}
	}
	tmp, err := os.MkdirTemp("", "benchrun-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	loadgen := filepath.Join(tmp, "loadgen")
	if err := runQuiet(ctx, "go", "build", "-o", loadgen, "./cmd/loadgen"); err != nil {
		return nil, fmt.Errorf("building the load generator: %w", err)
	}
	bin := filepath.Join(tmp, "benchserver")
	cmds := map[string][]string{"node": strings.Fields(o.nodeCmd)}
	if slices.Contains(o.servers, "go") {
		if o.goBuild != "" {
			if strings.Contains(o.goBuild, "./cmd/benchserver") {
				if _, err := os.Stat(filepath.Join("cmd", "benchserver")); err != nil {
					return nil, errors.New("cmd/benchserver does not exist yet: pass -servers node, or -go-build/-go-cmd")
				}
			}
			args := strings.Fields(strings.ReplaceAll(o.goBuild, "{bin}", bin))
			if err := runQuiet(ctx, args[0], args[1:]...); err != nil {
				return nil, fmt.Errorf("building the Go server: %w", err)
			}
		}
		cmds["go"] = strings.Fields(strings.ReplaceAll(o.goCmd, "{bin}", bin))
	}

	var recs []record
	// one runs sc (with args) on server srv, recorded under label.
	one := func(sc scenario, srv, label string, rep int, args []string) error {
		fmt.Fprintf(os.Stderr, "== %s  %s  run %d/%d\n", sc.Name, label, rep, o.reps)
		stats := ""
		if srv == "go" {
			stats = o.goStats
		}
		sc.Args = args
		res, err := runOne(ctx, o, loadgen, cmds[srv], srv, stats, sc)
		rec := record{Scenario: sc.Name, Server: label, Rep: rep, Result: res}
		if err != nil {
			rec.Err = err.Error()
			fmt.Fprintf(os.Stderr, "   failed: %v\n", err)
		} else if !res.OK {
			fmt.Fprintf(os.Stderr, "   checks failed: errors=%d mismatches=%d %s\n", res.Errors, res.Mismatches, res.FirstError)
		}
		recs = append(recs, rec)
		if err := save(recs); err != nil {
			return err
		}
		return ctx.Err()
	}
	list := scenarios(sz)
	for _, sc := range list {
		if len(o.only) > 0 && !slices.Contains(o.only, sc.Name) {
			continue
		}
		if len(sc.Variants) > 0 && !slices.Contains(o.servers, "go") {
			continue // the variants are runs of the Go server
		}
		for rep := 1; rep <= o.reps; rep++ {
			if len(sc.Variants) > 0 {
				order := slices.Clone(sc.Variants)
				if rep%2 == 0 {
					slices.Reverse(order) // alternate which variant goes first
				}
				for _, v := range order {
					if err := one(sc, "go", v.Label, rep, v.Args); err != nil {
						return nil, err
					}
				}
				continue
			}
			order := slices.Clone(o.servers)
			if rep%2 == 0 {
				slices.Reverse(order) // alternate which server goes first
			}
			for _, srv := range order {
				if err := one(sc, srv, srv, rep, sc.Args); err != nil {
					return nil, err
				}
			}
		}
	}
	return recs, nil
}

func runQuiet(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// runOne starts a fresh server (or cluster), runs the load generator
// against it and stops it.
func runOne(ctx context.Context, o options, loadgen string, serverCmd []string, label, statsPath string, sc scenario) (*load.Result, error) {
	d, err := deploy(ctx, o, serverCmd, sc.Nodes, sc.Env...)
	if err != nil {
		return nil, err
	}
	defer d.stop()

	lgArgs := append(d.loadgenArgs(label, statsPath), sc.Args...)
	name, args := wrap(o, o.loadgenCPU, loadgen, lgArgs)
	rctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(rctx, name, args...)
	cmd.WaitDelay = 5 * time.Second
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	var stdout strings.Builder
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	copyPrefixed(os.Stderr, stderr, "   ")
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("load generator: %w%s", err, d.tail())
	}
	if s := d.exited(); s != nil {
		return nil, fmt.Errorf("the %s exited during the run%s", s.Name, d.tail())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var res load.Result
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		return nil, fmt.Errorf("reading the result line: %w", err)
	}
	return &res, nil
}

func copyPrefixed(w io.Writer, r io.Reader, prefix string) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fmt.Fprintln(w, prefix+sc.Text())
	}
}

// wrap prefixes a command with taskset and nice as configured. Both exec
// the command, so the pid stays the command's own.
func wrap(o options, cpus, name string, args []string) (string, []string) {
	if !o.noTaskset {
		args = append([]string{"-c", cpus, name}, args...)
		name = "taskset"
	}
	if o.nice != 0 {
		args = append([]string{"-n", strconv.Itoa(o.nice), name}, args...)
		name = "nice"
	}
	return name, args
}
