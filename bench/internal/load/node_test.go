package load

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sio-go/socketio/bench/internal/wire"
)

// nodeServer starts the Node reference server (bench/node/server.mjs) on a
// free loopback port, with env added to its environment, and returns its
// URL and pid.
func nodeServer(t *testing.T, env ...string) (url string, pid int) {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "node"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "socket.io", "package.json")); err != nil {
		t.Fatalf("the Node reference is not installed: run `npm ci` in bench/node (%v)", err)
	}
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is needed to run the reference server: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	cmd := exec.Command(nodeBin, "server.mjs")
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), fmt.Sprintf("PORT=%d", port)), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "listening") {
				ready <- sc.Text()
			}
		}
		close(ready)
	}()
	select {
	case _, ok := <-ready:
		if !ok {
			t.Fatal("the Node reference exited before listening")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the Node reference did not start listening within 30s")
	}
	return fmt.Sprintf("http://127.0.0.1:%d", port), cmd.Process.Pid
}

// TestNodeReference runs every scenario briefly against the official
// socket.io server and checks that the byte-exact checks pass and that the
// counts add up.
func TestNodeReference(t *testing.T) {
	url, pid := nodeServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run := func(t *testing.T, cfg Config) *Result {
		t.Helper()
		cfg.URL, cfg.PID, cfg.Label = url, pid, "node"
		if cfg.Warmup == 0 {
			cfg.Warmup = 300 * time.Millisecond
		}
		if cfg.Duration == 0 {
			cfg.Duration = time.Second
		}
		res, err := Run(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !res.OK || res.Errors != 0 || res.Mismatches != 0 {
			t.Fatalf("checks failed: %+v", res)
		}
		if res.RSSKiB <= 0 && res.RSSBaseKiB <= 0 {
			t.Errorf("no RSS reading: %+v", res)
		}
		return res
	}

	t.Run("conns", func(t *testing.T) {
		res := run(t, Config{Scenario: Conns, Conns: 60, ConnectRate: 500})
		if res.Connected != 60 || res.Alive != 60 || res.Ops != 60 {
			t.Fatalf("connected %d alive %d ops %d, want 60", res.Connected, res.Alive, res.Ops)
		}
		if res.RSSKiB == 0 || res.RSSFreshKiB == 0 {
			t.Fatalf("no RSS figures: %+v", res)
		}
	})
	t.Run("echo", func(t *testing.T) {
		res := run(t, Config{Scenario: Echo, Clients: 5})
		if res.Connected != 5 || res.Ops < 50 || res.P50us <= 0 || res.P99us < res.P50us {
			t.Fatalf("unexpected figures: %+v", res)
		}
		if res.ServerCPUS <= 0 || res.CPUusPerOp <= 0 {
			t.Fatalf("no server CPU reading: %+v", res)
		}
		if res.PacingLagP99us != 0 {
			t.Fatalf("closed loops have no pacer, yet a pacing lag: %+v", res)
		}
	})
	t.Run("echo-typed", func(t *testing.T) {
		res := run(t, Config{Scenario: Echo, Clients: 3, Typed: true})
		if res.Ops < 10 {
			t.Fatalf("unexpected figures: %+v", res)
		}
	})
	t.Run("echo-rate", func(t *testing.T) {
		res := run(t, Config{Scenario: Echo, Clients: 4, Rate: 200})
		if res.Skipped != 0 || res.Ops < 140 || res.Ops > 260 {
			t.Fatalf("%d acks in %.2fs at 200/s offered: %+v", res.Ops, res.DurationS, res)
		}
		// Sends go out on a millisecond ticker, after their scheduled times.
		if res.PacingLagP99us <= 0 || res.PacingLagP99us > 1e6 {
			t.Fatalf("pacing lag p99 %vµs: %+v", res.PacingLagP99us, res)
		}
	})
	t.Run("echo-polling", func(t *testing.T) {
		res := run(t, Config{Scenario: Echo, Clients: 3, Transport: wire.Polling})
		if res.Ops < 10 || res.Transport != "polling" {
			t.Fatalf("unexpected figures: %+v", res)
		}
	})
	t.Run("broadcast", func(t *testing.T) {
		res := run(t, Config{Scenario: Broadcast, Receivers: 20, Window: 8})
		if res.Sent == 0 || res.Delivered != res.Sent*20 || res.Ops <= 0 {
			t.Fatalf("sent %d delivered %d: %+v", res.Sent, res.Delivered, res)
		}
	})
	t.Run("broadcast-rate", func(t *testing.T) {
		res := run(t, Config{Scenario: Broadcast, Receivers: 10, Rate: 50})
		// 1.3s at 50 messages/s, give or take the scheduling.
		if res.Sent < 40 || res.Sent > 80 || res.Delivered != res.Sent*10 {
			t.Fatalf("sent %d delivered %d: %+v", res.Sent, res.Delivered, res)
		}
		if res.PacingLagP99us <= 0 {
			t.Fatalf("no pacing lag recorded: %+v", res)
		}
	})
	t.Run("broadcast-polling", func(t *testing.T) {
		res := run(t, Config{Scenario: Broadcast, Receivers: 4, Rate: 20, Transport: wire.Polling})
		if res.Sent == 0 || res.Delivered != res.Sent*4 {
			t.Fatalf("sent %d delivered %d: %+v", res.Sent, res.Delivered, res)
		}
	})
	t.Run("churn", func(t *testing.T) {
		res := run(t, Config{Scenario: Churn, Clients: 3, Settle: 2 * time.Second})
		if res.Cycles <= res.Ops || res.Ops < 5 || res.Returned == nil {
			t.Fatalf("cycles %d ops %d: %+v", res.Cycles, res.Ops, res)
		}
	})
}
