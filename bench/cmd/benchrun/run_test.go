package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunOneAgainstNode drives one short run through the same path as a
// benchmark: a fresh Node reference process, the load generator binary, the
// result line read back.
func TestRunOneAgainstNode(t *testing.T) {
	if _, err := os.Stat(filepath.Join("..", "..", "node", "node_modules", "socket.io")); err != nil {
		t.Fatalf("the Node reference is not installed: run `npm ci` in bench/node (%v)", err)
	}
	loadgen := filepath.Join(t.TempDir(), "loadgen")
	if out, err := exec.Command("go", "build", "-o", loadgen, "../loadgen").CombinedOutput(); err != nil {
		t.Fatalf("building the load generator: %v\n%s", err, out)
	}
	_, err := exec.LookPath("taskset")
	o := options{noTaskset: err != nil, serverCPU: "0", loadgenCPU: "1"}
	sc := scenario{Name: "echo", Args: []string{"-scenario", "echo", "-c", "3", "-warmup", "200ms", "-duration", "1s", "-quiet"}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := runOne(ctx, o, loadgen, []string{"node", "../../node/server.mjs"}, "node", "", sc)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || res.Label != "node" || res.Scenario != "echo" || res.Ops == 0 || res.CPUusPerOp <= 0 || res.RSSKiB <= 0 {
		t.Fatalf("unexpected result: %+v", res)
	}
}

// TestClusterAgainstGo drives a short cross-node run through the same path
// as a benchmark: a private redis-server, three fresh Go servers joined to
// it, the load generator binary, the result line read back.
func TestClusterAgainstGo(t *testing.T) {
	redis, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("the cluster scenarios need redis-server (Debian package redis-server): %v", err)
	}
	dir := t.TempDir()
	loadgen, server := filepath.Join(dir, "loadgen"), filepath.Join(dir, "benchserver")
	for bin, pkg := range map[string]string{loadgen: "../loadgen", server: "../benchserver"} {
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", pkg, err, out)
		}
	}
	_, err = exec.LookPath("taskset")
	o := options{noTaskset: err != nil, serverCPU: "0", loadgenCPU: "1", redisServer: redis}
	sc := scenario{Name: "cluster-broadcast", Nodes: clusterNodes, Args: []string{
		"-scenario", "cluster-broadcast", "-r", "30", "-window", "16", "-warmup", "200ms", "-duration", "1s", "-quiet"}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := runOne(ctx, o, loadgen, []string{server}, "go", "", sc)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || res.Nodes != clusterNodes || res.Connected != 30 || res.Sent == 0 || res.Delivered != res.Sent*30 {
		t.Fatalf("unexpected result: %+v", res)
	}
	if res.ServerCPUS <= 0 || res.RSSKiB <= 0 {
		t.Fatalf("no figures of the three servers: %+v", res)
	}
}

// TestTypedEchoAgainstGo runs both variants of echo-typed against the Go
// server: the typed handler's reply is checked byte for byte like the
// raw one's.
func TestTypedEchoAgainstGo(t *testing.T) {
	dir := t.TempDir()
	loadgen, server := filepath.Join(dir, "loadgen"), filepath.Join(dir, "benchserver")
	for bin, pkg := range map[string]string{loadgen: "../loadgen", server: "../benchserver"} {
		if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", pkg, err, out)
		}
	}
	_, err := exec.LookPath("taskset")
	o := options{noTaskset: err != nil, serverCPU: "0", loadgenCPU: "1"}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, sc := range scenarios(quickSizes()) {
		if sc.Name != "echo-typed" {
			continue
		}
		for _, v := range sc.Variants {
			sc.Args = append(v.Args, "-c", "3", "-warmup", "200ms", "-duration", "1s", "-quiet")
			res, err := runOne(ctx, o, loadgen, []string{server}, "go", "", sc)
			if err != nil {
				t.Fatal(err)
			}
			if !res.OK || res.Ops == 0 || res.CPUusPerOp <= 0 {
				t.Fatalf("%s: unexpected result: %+v", v.Label, res)
			}
		}
		return
	}
	t.Fatal("no echo-typed scenario")
}

func TestStartServerFailsClearly(t *testing.T) {
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	_, err = startServer(context.Background(), options{noTaskset: true}, []string{"node", "-e", "console.error('boom'); process.exit(3)"}, port)
	if err == nil {
		t.Fatal("a server that exits at once was accepted")
	}
	if want := "boom"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not show the server's output", err)
	}
}
