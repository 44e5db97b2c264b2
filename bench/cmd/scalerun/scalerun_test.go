package main

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A small run of each kind goes through every phase: every client
// connected, every broadcast delivered to every client in order, the
// figures filled in.
func TestRunOnce(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server is not installed: run scripts/setup.sh")
	}
	if _, err := os.Stat("../../node/node_modules/socket.io/package.json"); err != nil {
		t.Fatalf("the Node reference is not installed: run `npm ci` in bench/node (%v)", err)
	}
	dir := t.TempDir()
	o := options{nodes: 2, conns: 300, loadgens: 2, hold: 2 * time.Second, rate: 5, connectRate: 2000,
		sourceIPs: 4, reps: 1, transport: "websocket", redisServer: "redis-server",
		nodeCmd: "node ../../node/server.mjs", goServer: filepath.Join(dir, "benchserver"), loadgen: filepath.Join(dir, "loadgen")}
	if err := o.check(); err != nil {
		t.Fatal(err)
	}
	for bin, pkg := range map[string]string{o.loadgen: "../loadgen", o.goServer: "../benchserver"} {
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	for _, kind := range []string{"go", "node"} {
		t.Run(kind, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			res, err := runOnce(ctx, o, kind)
			if err != nil {
				t.Fatal(err)
			}
			if !res.ok() {
				t.Fatalf("run not ok: %+v", res)
			}
			if res.Sent != 10 || res.Delivered != 10*300 {
				t.Errorf("sent %d, delivered %d; want 10 and 3000", res.Sent, res.Delivered)
			}
			if res.P50ms <= 0 || res.P99ms < res.P50ms || res.RSSPerConnB <= 0 || res.ServerCPUS <= 0 {
				t.Errorf("figures missing: %+v", res)
			}
		})
	}
}

func TestCheckLimits(t *testing.T) {
	o := options{nodes: 6, conns: 100_000, loadgens: 6, hold: time.Minute, rate: 1, reps: 3, sourceIPs: 16, transport: "websocket"}
	if err := o.check(); err != nil {
		t.Fatalf("the documented run is refused: %v", err)
	}
	o.nodes = 4
	if err := o.check(); err == nil {
		t.Error("25,000 connections per node accepted")
	}
	o.nodes, o.loadgens = 6, 4
	if err := o.check(); err == nil {
		t.Error("25,000 connections per load generator accepted")
	}
}

// The page section carries the medians, the targets and the raw runs, and
// replaces its earlier self in the page.
func TestSection(t *testing.T) {
	o := options{servers: []string{"go", "node"}, nodes: 2, conns: 10, loadgens: 1, hold: time.Second, rate: 1, connectRate: 100, transport: "websocket", reps: 2}
	mk := func(kind string, rep int, alive int, p99, cpu float64) result {
		return result{Kind: kind, Rep: rep, Nodes: 2, Conns: 10, Connected: 10, Alive: alive, Complete: alive,
			Sent: 1, Expected: 10, Delivered: int64(alive), P99ms: p99, CPUusPerDel: cpu, RSSHeldPerConnB: 6000}
	}
	all := []result{mk("go", 1, 10, 900, 3), mk("node", 1, 10, 2000, 10), mk("go", 2, 10, 700, 2), mk("node", 2, 8, 3000, 12)}
	all[3].FirstError = "load: receivers without every message"
	sec := section(o, all, "test machine")
	for _, want := range []string{
		"## Cluster at 10 clients (2 nodes, Redis)",
		"| Broadcast delivery p99 | ms | 800 | 2,500 | 0.32 | ≤ 1,000 | yes |",
		"| Server CPU per delivery (nodes summed) | µs | 2.50 | 11.00 | 0.23 | ≤ 1/3 × Node | yes |",
		"| Clients still connected after the hold | clients | 10 | 9 | 1.11 | all, every run | yes |",
		"Go: 2 of 2 runs complete",
		"Node: 1 of 2 runs complete (every client held, every broadcast delivered to every client in order). Run 2: load: receivers without every message.",
		`"kind":"node","rep":2`,
	} {
		if !strings.Contains(sec, want) {
			t.Errorf("section lacks %q:\n%s", want, sec)
		}
	}
	all[2].Alive = 9
	if sec := section(o, all, "m"); !strings.Contains(sec, "| Clients still connected after the hold | clients | 10 | 9 | 1.06 | all, every run | no |") {
		t.Errorf("a Go run that lost a client still meets the target:\n%s", sec)
	}

	page := filepath.Join(t.TempDir(), "page.md")
	if err := os.WriteFile(page, []byte("# Benchmarks\n\n## Summary\n\n## Chart\n\nchart\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := writeSection(page, sec); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(page)
	got := string(b)
	if strings.Count(got, "## Cluster at 10 clients") != 1 || strings.Index(got, "## Cluster") > strings.Index(got, "## Chart") {
		t.Errorf("page after two writes:\n%s", got)
	}
}

// -from reads back what -results wrote, and refuses files that are not
// runs of the layout its flags describe.
func TestReadResults(t *testing.T) {
	o := options{nodes: 6, conns: 100}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.jsonl")
	for _, r := range []result{{Kind: "go", Rep: 1, Nodes: 6, Conns: 100, Delivered: 600}, {Kind: "node", Rep: 1, Nodes: 6, Conns: 100, Err: "exited"}} {
		line, _ := json.Marshal(r)
		if err := appendLine(good, line); err != nil {
			t.Fatal(err)
		}
	}
	all, err := readResults(good, o)
	if err != nil || len(all) != 2 || all[0].Delivered != 600 || all[1].Err != "exited" {
		t.Fatalf("read back %+v, %v", all, err)
	}
	for name, content := range map[string]string{
		"broken": `{"kind":"go","nodes":6,"conns":100}` + "\n{\"kind\":",
		"other":  `{"kind":"go","nodes":3,"conns":100}` + "\n",
		"empty":  "",
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := readResults(path, o); err == nil {
			t.Errorf("%s file accepted", name)
		}
	}
	if _, err := readResults(filepath.Join(dir, "missing"), o); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
