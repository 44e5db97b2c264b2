package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
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
