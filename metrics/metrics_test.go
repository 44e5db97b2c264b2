package metrics_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/internal/siotest"
	"github.com/sio-go/socketio/metrics"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := checkLeaks(5 * time.Second); err != nil {
			fmt.Fprintln(os.Stderr, "leak check:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// checkLeaks waits for the goroutines the tests started to end.
func checkLeaks(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var left []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if !strings.Contains(g, "testing.") && !strings.Contains(g, "checkLeaks") &&
				!strings.Contains(g, "signal.") && g != "" {
				left = append(left, g)
			}
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d goroutine(s) leaked:\n\n%s", len(left), strings.Join(left, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// env is a server with a collector and a /metrics endpoint.
type env struct {
	srv     *socketio.Server
	col     *metrics.Collector
	http    *httptest.Server
	scrapes int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	col := metrics.New(&metrics.Options{Buckets: []float64{0.001, 0.01, 0.1, 1}})
	cfg := &socketio.Config{}
	cfg.Engine.OnConnectionError = col.ConnectionError
	srv := socketio.NewServer(cfg)
	col.Attach(srv)
	reg := prometheus.NewRegistry()
	reg.MustRegister(col)

	srv.OnConnect(func(s *socketio.Socket) {
		socketio.OnAck(s, "join", func(_ context.Context, room string) (int, error) {
			s.Join(room)
			return len(s.Rooms()), nil
		})
		socketio.On(s, "say", func(ctx context.Context, text string) error {
			return s.To("r1").Emit(ctx, "said", text)
		})
		socketio.OnAck(s, "echo", metrics.ObserveAck(col, "echo",
			func(_ context.Context, v string) (string, error) { return v, nil }))
		socketio.On(s, "fail", metrics.Observe(col, "fail",
			func(context.Context, string) error { return errors.New("no") }))
		socketio.On(s, "leave", func(_ context.Context, _ string) error {
			s.Disconnect()
			return nil
		})
	})

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", col.Instrument(srv))
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	hs := httptest.NewServer(mux)
	e := &env{srv: srv, col: col, http: hs}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
		http.DefaultClient.CloseIdleConnections()
	})
	return e
}

// scrape fetches /metrics and returns every sample by its series text, such
// as `socketio_sockets{namespace="/"}`.
func (e *env) scrape(t *testing.T) map[string]float64 {
	t.Helper()
	e.scrapes++
	resp, err := http.Get(e.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// waitMetric scrapes until series has value want, or fails after 3s.
func (e *env) waitMetric(t *testing.T, series string, want float64) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		m := e.scrape(t)
		if m[series] == want {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want %v", series, m[series], want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func want(t *testing.T, m map[string]float64, series string, v float64) {
	t.Helper()
	got, ok := m[series]
	if !ok {
		t.Fatalf("%s missing from the scrape", series)
	}
	if got != v {
		t.Fatalf("%s = %v, want %v", series, got, v)
	}
}

func positive(t *testing.T, m map[string]float64, series string) {
	t.Helper()
	if m[series] <= 0 {
		t.Fatalf("%s = %v, want > 0", series, m[series])
	}
}

func TestMetricsAfterKnownTraffic(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Before any client.
	m := e.scrape(t)
	want(t, m, `socketio_namespaces`, 1)
	want(t, m, `socketio_sockets{namespace="/"}`, 0)
	want(t, m, `socketio_clients{transport="polling"}`, 0)
	want(t, m, `socketio_clients{transport="websocket"}`, 0)

	// A namespace created after Attach is counted.
	e.srv.Of("/admin")

	a, err := siotest.Dial(ctx, e.http.URL, &siotest.Options{Upgrade: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := siotest.Dial(ctx, e.http.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	var n int
	for _, c := range []struct {
		cl   *siotest.Client
		room string
	}{{a, "r1"}, {b, "r1"}, {b, "r2"}} {
		if err := c.cl.Call(ctx, &n, "join", c.room); err != nil {
			t.Fatal(err)
		}
	}
	if n != 3 { // its own room, r1, r2
		t.Fatalf("b is in %d rooms, want 3", n)
	}
	for i := range 3 {
		var s string
		if err := a.Call(ctx, &s, "echo", fmt.Sprint(i)); err != nil || s != fmt.Sprint(i) {
			t.Fatalf("echo = %q, %v", s, err)
		}
	}
	if err := a.Emit("fail", "x"); err != nil {
		t.Fatal(err)
	}
	if err := a.Emit("say", "hello"); err != nil {
		t.Fatal(err)
	}
	if ev, err := b.Next(ctx, "said"); err != nil || string(ev.Args[0]) != `"hello"` {
		t.Fatalf("b got %+v, %v", ev, err)
	}
	// A handshake with an unsupported protocol version is refused (code 5).
	resp, err := http.Get(e.http.URL + "/socket.io/?EIO=3&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	// In: 3 joins, 3 echoes, fail, say. Out: the broadcast to b.
	m = e.waitMetric(t, `socketio_events_total{direction="in",namespace="/"}`, 8)
	want(t, m, `socketio_events_total{direction="out",namespace="/"}`, 1)
	want(t, m, `socketio_namespaces`, 2)
	want(t, m, `socketio_sockets{namespace="/"}`, 2)
	want(t, m, `socketio_sockets{namespace="/admin"}`, 0)
	want(t, m, `socketio_rooms{namespace="/"}`, 2)
	want(t, m, `socketio_connects_total{namespace="/"}`, 2)
	want(t, m, `socketio_clients{transport="websocket"}`, 2)
	want(t, m, `socketio_clients{transport="polling"}`, 0)
	want(t, m, `socketio_upgrades_total`, 1)
	want(t, m, `socketio_connection_errors_total{code="5"}`, 1)
	want(t, m, `socketio_handler_duration_seconds_count{event="echo"}`, 3)
	want(t, m, `socketio_handler_duration_seconds_count{event="fail"}`, 1)
	want(t, m, `socketio_handler_duration_seconds_bucket{event="echo",le="+Inf"}`, 3)
	positive(t, m, `socketio_bytes_total{direction="out",transport="polling"}`) // the handshake
	positive(t, m, `socketio_bytes_total{direction="in",transport="websocket"}`)
	positive(t, m, `socketio_bytes_total{direction="out",transport="websocket"}`)
	wsIn := m[`socketio_bytes_total{direction="in",transport="websocket"}`]

	// More traffic, more bytes: a 1000-byte echo adds at least that much
	// each way.
	var s string
	if err := a.Call(ctx, &s, "echo", strings.Repeat("x", 1000)); err != nil {
		t.Fatal(err)
	}
	m = e.scrape(t)
	if got := m[`socketio_bytes_total{direction="in",transport="websocket"}`]; got < wsIn+1000 {
		t.Fatalf("websocket bytes in went from %v to %v after a 1000-byte event", wsIn, got)
	}

	// Room left when the socket goes: b's rooms remain (r1, r2).
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	m = e.waitMetric(t, `socketio_disconnects_total{namespace="/",reason="transport close"}`, 1)
	m = e.waitMetric(t, `socketio_clients{transport="websocket"}`, 1)
	want(t, m, `socketio_sockets{namespace="/"}`, 1)
	want(t, m, `socketio_rooms{namespace="/"}`, 2)

	// The server disconnects b from the namespace.
	if err := b.Emit("leave", ""); err != nil {
		t.Fatal(err)
	}
	m = e.waitMetric(t, `socketio_disconnects_total{namespace="/",reason="server namespace disconnect"}`, 1)
	want(t, m, `socketio_sockets{namespace="/"}`, 0)
	want(t, m, `socketio_rooms{namespace="/"}`, 0)
}

func TestMetricsWithoutInstrument(t *testing.T) {
	col := metrics.New(nil)
	srv := socketio.NewServer(nil)
	defer func() { _ = srv.Shutdown(context.Background()) }()
	col.Attach(srv)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := siotest.Dial(ctx, hs.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(col)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		if mf.GetName() != "socketio_clients" {
			continue
		}
		for _, m := range mf.GetMetric() {
			lp := m.GetLabel()
			if len(lp) == 1 && lp[0].GetValue() == "unknown" && m.GetGauge().GetValue() == 1 {
				found = true
			}
		}
	}
	if !found {
		t.Fatal(`socketio_clients{transport="unknown"} 1 not gathered`)
	}
}

func TestAttachTwicePanics(t *testing.T) {
	col := metrics.New(nil)
	srv := socketio.NewServer(nil)
	defer func() { _ = srv.Shutdown(context.Background()) }()
	col.Attach(srv)
	defer func() {
		if recover() == nil {
			t.Fatal("second Attach did not panic")
		}
	}()
	col.Attach(srv)
}
