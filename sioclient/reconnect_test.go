package sioclient

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	socketio "github.com/sio-go/socketio"
	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/internal/testutil"
)

// hooks records the manager's hooks.
type hooks struct {
	attempts, errors, failed, reconnects atomic.Int32
	lastReconnect                        atomic.Int32
}

func (h *hooks) install(cfg *Config) *Config {
	cfg.OnReconnectAttempt = func(int) { h.attempts.Add(1) }
	cfg.OnReconnectError = func(error) { h.errors.Add(1) }
	cfg.OnReconnectFailed = func() { h.failed.Add(1) }
	cfg.OnReconnect = func(n int) { h.reconnects.Add(1); h.lastReconnect.Store(int32(n)) }
	return cfg
}

func TestServerRestart(t *testing.T) {
	got := newRecv[string]()
	setup := func(srv *socketio.Server) {
		srv.OnConnect(func(s *socketio.Socket) {
			socketio.On(s, "msg", func(ctx context.Context, v string) error { got.put(v); return nil })
		})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	srv1 := socketio.NewServer(nil)
	setup(srv1)
	hs1 := httptest.NewUnstartedServer(srv1)
	hs1.Listener.Close()
	hs1.Listener = ln
	hs1.Start()

	var h hooks
	s := dialT(t, "http://"+addr, h.install(fastReconnect()))
	disc := newRecv[DisconnectEvent]()
	s.OnDisconnect(func(e DisconnectEvent) { disc.put(e) })
	conns := newRecv[bool]()
	s.OnConnect(func() { conns.put(true) })

	hs1.CloseClientConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = srv1.Shutdown(ctx)
	cancel()
	hs1.Close()
	if e := disc.get(t); !e.Reason.WillReconnect() {
		t.Fatalf("disconnect %+v", e)
	}
	if err := s.Emit("msg", "buffered while down"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "failed reconnection attempts", func() bool { return h.errors.Load() >= 2 })

	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv2 := socketio.NewServer(nil)
	setup(srv2)
	hs2 := httptest.NewUnstartedServer(srv2)
	hs2.Listener.Close()
	hs2.Listener = ln2
	hs2.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv2.Shutdown(ctx)
		hs2.Close()
	})
	conns.get(t)
	if v := got.get(t); v != "buffered while down" {
		t.Fatalf("got %q", v)
	}
	if h.reconnects.Load() != 1 || int(h.lastReconnect.Load()) != int(h.attempts.Load()) || h.attempts.Load() < 3 {
		t.Fatalf("hooks: attempts %d errors %d reconnects %d (last %d)", h.attempts.Load(), h.errors.Load(), h.reconnects.Load(), h.lastReconnect.Load())
	}
}

func TestPingTimeoutReconnects(t *testing.T) {
	_, url := goServer(t, &socketio.Config{Engine: engineio.Config{PingInterval: 100 * time.Millisecond, PingTimeout: 100 * time.Millisecond}}, echoSetup("/"))
	p := newProxy(t, strings.TrimPrefix(url, "http://"))
	var h hooks
	s := dialT(t, p.url(), h.install(fastReconnect()))
	disc := newRecv[DisconnectEvent]()
	s.OnDisconnect(func(e DisconnectEvent) { disc.put(e) })
	conns := newRecv[bool]()
	s.OnConnect(func() { conns.put(true) })
	p.freeze()
	start := time.Now()
	e := disc.get(t)
	if e.Reason != ReasonPingTimeout || !errors.Is(e.Err, engineio.ErrPingTimeout) {
		t.Fatalf("got %+v", e)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("ping timeout detected after %v", d)
	}
	conns.get(t)
	if _, err := s.EmitWithAck(ctxT(t, 5*time.Second), "echo", 1); err != nil {
		t.Fatal(err)
	}
	if h.reconnects.Load() != 1 {
		t.Fatalf("reconnects %d", h.reconnects.Load())
	}
}

func TestConnectionStateRecovery(t *testing.T) {
	serverGone := newRecv[string]()
	srv, url := goServer(t, &socketio.Config{ConnectionStateRecovery: &socketio.RecoveryConfig{}}, func(srv *socketio.Server) {
		srv.OnConnect(func(s *socketio.Socket) {
			s.OnDisconnect(func(e socketio.DisconnectEvent) { serverGone.put(string(e.Reason)) })
		})
	})
	p := newProxy(t, strings.TrimPrefix(url, "http://"))
	cfg := fastReconnect()
	cfg.ReconnectionDelayFunc = func(int) time.Duration { return 300 * time.Millisecond }
	// Over polling the server would notice the loss only by its heartbeat.
	cfg.Engine.Transports = []engineio.Transport{engineio.WebSocket}
	s := dialT(t, p.url(), cfg)
	got := newRecv[int]()
	On(s, "tick", func(ctx context.Context, n int) error { got.put(n); return nil })
	ctx := ctxT(t, 5*time.Second)
	if err := srv.Emit(ctx, "tick", 1); err != nil {
		t.Fatal(err)
	}
	if n := got.get(t); n != 1 {
		t.Fatal(n)
	}
	id := s.ID()
	p.sever()
	if r := serverGone.get(t); r != "transport close" && r != "transport error" {
		t.Fatalf("server saw %q", r)
	}
	for _, n := range []int{2, 3} {
		if err := srv.Emit(ctx, "tick", n); err != nil {
			t.Fatal(err)
		}
	}
	if a, b := got.get(t), got.get(t); a != 2 || b != 3 {
		t.Fatalf("missed events %d %d", a, b)
	}
	if !s.Recovered() || s.ID() != id {
		t.Fatalf("recovered %v, id %q then %q", s.Recovered(), id, s.ID())
	}
}

func TestRetries(t *testing.T) {
	var deliveries atomic.Int32
	_, url := goServer(t, nil, func(srv *socketio.Server) {
		srv.OnConnect(func(s *socketio.Socket) {
			s.OnRaw("job", func(ctx context.Context, a socketio.Args, ack socketio.AckFunc) {
				if deliveries.Add(1) >= 3 && ack != nil {
					_ = ack("done")
				}
			})
		})
	})
	s := dialT(t, url, &Config{Socket: SocketConfig{Retries: 3, AckTimeout: 100 * time.Millisecond}})
	r, err := Call[string](ctxT(t, 5*time.Second), s, "job", "payload")
	if err != nil || r != "done" || deliveries.Load() != 3 {
		t.Fatalf("got %q %v after %d deliveries", r, err, deliveries.Load())
	}
	// Too few retries: the error of the last try.
	deliveries.Store(-10)
	s2 := dialT(t, url, &Config{Socket: SocketConfig{Retries: 1, AckTimeout: 50 * time.Millisecond}})
	if _, err := s2.EmitWithAck(ctxT(t, 5*time.Second), "job"); !errors.Is(err, ErrAckTimeout) {
		t.Fatalf("got %v", err)
	}
	waitFor(t, 5*time.Second, "2 deliveries", func() bool { return deliveries.Load() == -8 })
	time.Sleep(100 * time.Millisecond)
	if n := deliveries.Load(); n != -8 {
		t.Fatalf("%d deliveries, want 2", n+10)
	}
	// Plain emits go through the queue too, in order.
	deliveries.Store(0)
	for range 3 {
		if err := s.Emit("job"); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "5 deliveries", func() bool { return deliveries.Load() >= 5 })
}

func deadURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String()
	ln.Close()
	return u
}

func TestReconnectionGivesUp(t *testing.T) {
	var h hooks
	cfg := h.install(fastReconnect())
	cfg.ReconnectionAttempts = 2
	m, _ := NewManager(deadURL(t), cfg)
	defer m.Close()
	s := m.Socket("/", nil)
	var connectErrors atomic.Int32
	s.OnConnectError(func(error) { connectErrors.Add(1) })
	if err := s.Connect(ctxT(t, 10*time.Second)); !errors.Is(err, ErrReconnectFailed) {
		t.Fatalf("got %v", err)
	}
	if s.Active() {
		t.Fatal("still active once the manager gave up")
	}
	waitFor(t, 2*time.Second, "connect errors", func() bool { return connectErrors.Load() == 3 })
	if h.attempts.Load() != 2 || h.errors.Load() != 2 || h.failed.Load() != 1 || h.reconnects.Load() != 0 {
		t.Fatalf("attempts %d errors %d failed %d", h.attempts.Load(), h.errors.Load(), h.failed.Load())
	}

	_, err := Dial(ctxT(t, 5*time.Second), deadURL(t), &Config{DisableReconnection: true})
	if !errors.Is(err, ErrReconnectFailed) {
		t.Fatalf("got %v", err)
	}
}

func TestCloseWhileReconnecting(t *testing.T) {
	m, _ := NewManager(deadURL(t), &Config{ReconnectionDelay: 20 * time.Millisecond})
	s := m.Socket("/", nil)
	if err := s.Connect(ctxT(t, 300*time.Millisecond)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	m.Close()
	if err := testutil.CheckLeaks(3 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

// badServer is an Engine.IO server whose Socket.IO side misbehaves: it
// answers CONNECT with reply, then sends then.
func badServer(t *testing.T, reply string, then ...string) string {
	srv := engineio.NewServer(&engineio.Config{Path: "/socket.io/"}, func(c *engineio.Conn) {
		c.OnMessage(func(data []byte, binary bool) {
			if len(data) > 0 && data[0] == '0' {
				_ = c.Send(engineio.Message{Data: []byte(reply)})
				for _, m := range then {
					_ = c.Send(engineio.Message{Data: []byte(m)})
				}
			}
		})
	})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
	})
	return hs.URL
}

func TestBadServerPackets(t *testing.T) {
	for _, then := range [][]string{
		{"9garbage"},
		{`2["ev"`},
		{`2["connect"]`},
		{`51-["ev",{"_placeholder":true,"num":0}]`, `2["text instead of the attachment"]`},
		{`51-["ev",{"_placeholder":true,"num":7}]`},
	} {
		var h hooks
		s := dialT(t, badServer(t, `0{"sid":"abc"}`, then...), h.install(fastReconnect()))
		disc := newRecv[DisconnectEvent]()
		s.OnDisconnect(func(e DisconnectEvent) { disc.put(e) })
		e := disc.get(t)
		if e.Reason != ReasonParseError || !e.Reason.WillReconnect() {
			t.Fatalf("%q: got %+v", then, e)
		}
		waitFor(t, 5*time.Second, "a reconnection", func() bool { return h.reconnects.Load() >= 1 })
	}
}

func TestBadConnectReplies(t *testing.T) {
	// A CONNECT reply without sid: a connect error, no connection.
	m, _ := NewManager(badServer(t, `0{}`), nil)
	defer m.Close()
	s := m.Socket("/", nil)
	errs := newRecv[error]()
	s.OnConnectError(func(err error) { errs.put(err) })
	if err := s.Connect(ctxT(t, 500*time.Millisecond)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	if err := errs.get(t); !strings.Contains(err.Error(), "without sid") {
		t.Fatalf("got %v", err)
	}
	// A server that is not Engine.IO at all.
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<html>")) }))
	defer hs.Close()
	_, err := Dial(ctxT(t, 5*time.Second), hs.URL, &Config{DisableReconnection: true})
	if !errors.Is(err, engineio.ErrHandshake) || !errors.Is(err, ErrReconnectFailed) {
		t.Fatalf("got %v", err)
	}
	// A server that never answers: the per-attempt timeout.
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hang.Close()
	_, err = Dial(ctxT(t, 5*time.Second), hang.URL, &Config{DisableReconnection: true, Timeout: 200 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrReconnectFailed) {
		t.Fatalf("got %v", err)
	}
}
