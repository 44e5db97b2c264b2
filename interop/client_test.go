package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/interop/internal/nodeproc"
	"github.com/sio-go/socketio/sioclient"
)

func cctx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func sioDial(t *testing.T, url string, cfg *sioclient.Config) *sioclient.Socket {
	t.Helper()
	s, err := sioclient.Dial(cctx(t, 20*time.Second), url, cfg)
	if err != nil {
		t.Fatalf("Dial %s: %v", url, err)
	}
	t.Cleanup(func() { s.Manager().Close() })
	return s
}

// inbox collects values from handlers.
type inbox[T any] chan T

func (c inbox[T]) get(t *testing.T) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(20 * time.Second):
		t.Fatal("nothing received")
		var zero T
		return zero
	}
}

// askAndAnswer emits "ask": the server (client-server.mjs, or startGoSio)
// asks "question" with an ack, which s answers with binary, then emits the
// answer back as "answer".
func askAndAnswer(t *testing.T, s *sioclient.Socket) {
	t.Helper()
	answers := make(inbox[sioclient.Args], 1)
	s.OnRaw("answer", func(ctx context.Context, a sioclient.Args, _ sioclient.AckFunc) { answers <- a })
	sioclient.OnAck(s, "question", func(ctx context.Context, q string) (map[string]any, error) {
		return map[string]any{"upper": strings.ToUpper(q), "raw": []byte(q)}, nil
	})
	if err := s.Emit("ask", "hi"); err != nil {
		t.Fatal(err)
	}
	ans := answers.get(t)
	var r struct {
		Upper string
		Raw   []byte
	}
	if err := ans.Decode(0, &r); err != nil || r.Upper != "HI" || string(r.Raw) != "hi" {
		t.Fatalf("answer %s: %+v %v", ans, r, err)
	}
}

func fast() *sioclient.Config {
	return &sioclient.Config{ReconnectionDelay: 100 * time.Millisecond, ReconnectionDelayMax: 500 * time.Millisecond, Timeout: 2 * time.Second}
}

func TestClientTransportsAcksBinary(t *testing.T) {
	forEachSioServer(t, func(t *testing.T, srv clientTarget) {
		for _, tc := range []struct {
			name       string
			transports []engineio.Transport
			final      engineio.Transport
		}{
			{"polling", []engineio.Transport{engineio.Polling}, engineio.Polling},
			{"websocket", []engineio.Transport{engineio.WebSocket}, engineio.WebSocket},
			{"upgrade", nil, engineio.WebSocket},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := sioDial(t, srv.URL(), &sioclient.Config{Engine: engineio.DialConfig{Transports: tc.transports}})
				// Ack from the server, binary nested both ways.
				blob := []byte{0, 1, 2, 250}
				a, err := s.EmitWithAck(cctx(t, 10*time.Second), "echo", map[string]any{"n": 1, "deep": []any{[]byte("x"), blob}}, blob)
				if err != nil {
					t.Fatal(err)
				}
				var v struct {
					N    int
					Deep [][]byte
				}
				if err := a.Decode(0, &v); err != nil || v.N != 1 || len(v.Deep) != 2 || !bytes.Equal(v.Deep[1], blob) {
					t.Fatalf("echo: %+v %v (%s)", v, err, a)
				}
				if b, ok := a.Binary(1); !ok || !bytes.Equal(b, blob) {
					t.Fatalf("top-level binary: %v %v", b, ok)
				}
				// Ack to the server: it asks "question", we answer with binary.
				askAndAnswer(t, s)
				// Server-side events, without ack.
				echoes := make(inbox[string], 1)
				sioclient.On(s, "echo", func(ctx context.Context, v string) error { echoes <- v; return nil })
				_ = s.Emit("echo", "back")
				if v := echoes.get(t); v != "back" {
					t.Fatalf("echo event %q", v)
				}
				deadline := time.Now().Add(10 * time.Second)
				for s.Manager().Transport() != tc.final {
					if time.Now().After(deadline) {
						t.Fatalf("transport %s, want %s", s.Manager().Transport(), tc.final)
					}
					time.Sleep(10 * time.Millisecond)
				}
			})
		}
	})
}

func TestClientAuthAndRefusal(t *testing.T) {
	forEachSioServer(t, func(t *testing.T, srv clientTarget) {
		_, err := sioclient.Dial(cctx(t, 10*time.Second), srv.URL()+"/secure",
			&sioclient.Config{Socket: sioclient.SocketConfig{Auth: map[string]string{"token": "bad"}}})
		var ce *sioclient.ConnectError
		if !errors.As(err, &ce) || ce.Message != "unauthorized" || string(ce.Data) != `{"code":42}` {
			t.Fatalf("got %v", err)
		}
		var calls atomic.Int32
		s := sioDial(t, srv.URL()+"/secure", &sioclient.Config{Socket: sioclient.SocketConfig{
			AuthFunc: func(context.Context) (any, error) { calls.Add(1); return map[string]string{"token": "good"}, nil },
		}})
		if !s.Connected() || calls.Load() != 1 {
			t.Fatalf("connected %v calls %d", s.Connected(), calls.Load())
		}
		_, err = sioclient.Dial(cctx(t, 10*time.Second), srv.URL()+"/nowhere", nil)
		if !errors.As(err, &ce) || ce.Message != "Invalid namespace" {
			t.Fatalf("got %v", err)
		}
	})
}

func TestClientNamespacesAndAckTimeouts(t *testing.T) {
	forEachSioServer(t, func(t *testing.T, srv clientTarget) {
		m, err := sioclient.NewManager(srv.URL(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		root, admin := m.Socket("/", nil), m.Socket("/admin", nil)
		for _, s := range []*sioclient.Socket{root, admin} {
			if err := s.Connect(cctx(t, 10*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		for _, s := range []*sioclient.Socket{root, admin} {
			got, err := sioclient.Call[string](cctx(t, 10*time.Second), s, "echo", s.Namespace())
			if err != nil || got != s.Namespace() {
				t.Fatalf("%s: %q %v", s.Namespace(), got, err)
			}
		}
		// Our wait for an ack, bounded by the context.
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if _, err := admin.EmitWithAck(ctx, "silent"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v", err)
		}
		// The server's wait for our ack, bounded by its 2 s timeout.
		answers := make(inbox[string], 1)
		admin.OnRaw("answer", func(ctx context.Context, a sioclient.Args, _ sioclient.AckFunc) { answers <- a.String() })
		admin.OnRaw("question", func(ctx context.Context, a sioclient.Args, ack sioclient.AckFunc) {
			time.Sleep(2500 * time.Millisecond)
			_ = ack("too late")
		})
		_ = admin.Emit("ask", "slow")
		if a := answers.get(t); a != `[{"error":"operation has timed out"}]` {
			t.Fatalf("answer %s", a)
		}
	})
}

func TestClientRetries(t *testing.T) {
	forEachSioServer(t, func(t *testing.T, srv clientTarget) {
		s := sioDial(t, srv.URL(), &sioclient.Config{Socket: sioclient.SocketConfig{Retries: 4, AckTimeout: 300 * time.Millisecond}})
		got, err := sioclient.Call[string](cctx(t, 10*time.Second), s, "job", map[string]int{"unique": 1})
		if err != nil || got != "done" {
			t.Fatalf("got %q %v", got, err)
		}
		// The driver's report of a delivery may trail the acknowledgement.
		deadline := time.Now().Add(5 * time.Second)
		for srv.Jobs(t, s.ID()) < 3 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := srv.Jobs(t, s.ID()); n != 3 {
			t.Fatalf("%d deliveries, want 3", n)
		}
	})
}

func TestClientNodeRestart(t *testing.T) {
	first := startNodeSio(t, 0, nil)
	port := portOf(t, first.URL())
	var reconnects, attempts atomic.Int32
	cfg := fast()
	cfg.OnReconnect = func(int) { reconnects.Add(1) }
	cfg.OnReconnectAttempt = func(int) { attempts.Add(1) }
	s := sioDial(t, first.URL(), cfg)
	disc := make(inbox[sioclient.DisconnectEvent], 4)
	s.OnDisconnect(func(e sioclient.DisconnectEvent) { disc <- e })
	echoes := make(inbox[string], 4)
	sioclient.On(s, "echo", func(ctx context.Context, v string) error { echoes <- v; return nil })

	first.p.Signal(syscall.SIGKILL)
	if e := disc.get(t); !e.Reason.WillReconnect() {
		t.Fatalf("disconnect %+v", e)
	}
	if err := s.Emit("echo", "buffered"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for attempts.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no reconnection attempts")
		}
		time.Sleep(20 * time.Millisecond)
	}
	second := startNodeSio(t, port, nil)
	second.p.Wait(nodeproc.Type("connection"))
	if v := echoes.get(t); v != "buffered" {
		t.Fatalf("got %q", v)
	}
	if reconnects.Load() != 1 || !s.Connected() {
		t.Fatalf("reconnects %d connected %v", reconnects.Load(), s.Connected())
	}
}

func TestClientNodeSilent(t *testing.T) {
	srv := startNodeSio(t, 0, nodeproc.M{"pingInterval": 300, "pingTimeout": 300})
	s := sioDial(t, srv.URL(), fast())
	disc := make(inbox[sioclient.DisconnectEvent], 4)
	s.OnDisconnect(func(e sioclient.DisconnectEvent) { disc <- e })
	conns := make(inbox[bool], 4)
	s.OnConnect(func() { conns <- true })
	srv.p.Signal(syscall.SIGSTOP)
	start := time.Now()
	e := disc.get(t)
	srv.p.Signal(syscall.SIGCONT)
	if e.Reason != sioclient.ReasonPingTimeout || !errors.Is(e.Err, engineio.ErrPingTimeout) {
		t.Fatalf("got %+v", e)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("detected after %v", d)
	}
	conns.get(t)
	if _, err := s.EmitWithAck(cctx(t, 10*time.Second), "echo", 1); err != nil {
		t.Fatal(err)
	}
}

func TestClientNodeRecovery(t *testing.T) {
	srv := startNodeSio(t, 0, nodeproc.M{"connectionStateRecovery": nodeproc.M{"maxDisconnectionDuration": 60000}})
	cfg := fast()
	cfg.ReconnectionDelayFunc = func(int) time.Duration { return 300 * time.Millisecond }
	s := sioDial(t, srv.URL(), cfg)
	srv.p.Wait(nodeproc.Type("connection"))
	ticks := make(inbox[int], 8)
	sioclient.On(s, "tick", func(ctx context.Context, n int) error { ticks <- n; return nil })
	srv.Emit(t, "/", "tick", 1)
	if n := ticks.get(t); n != 1 {
		t.Fatal(n)
	}
	id := s.ID()
	srv.p.Call(nodeproc.M{"cmd": "drop", "nsp": "/", "id": id})
	srv.p.Wait(nodeproc.On("disconnect", "id", id))
	srv.Emit(t, "/", "tick", 2)
	srv.Emit(t, "/", "tick", 3)
	ev := srv.p.Wait(nodeproc.Type("connection"))
	if a, b := ticks.get(t), ticks.get(t); a != 2 || b != 3 {
		t.Fatalf("got %d %d", a, b)
	}
	if !ev.Bool("recovered") || !s.Recovered() || s.ID() != id {
		var raw json.RawMessage = ev.Raw
		t.Fatalf("recovered: server %s, client %v, id %q then %q", raw, s.Recovered(), id, s.ID())
	}
}
