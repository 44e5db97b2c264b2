package sioclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	socketio "github.com/sio-go/socketio"
	"github.com/sio-go/socketio/engineio"
)

type point struct {
	X, Y int
}

func TestTransportsAndAcksBothWays(t *testing.T) {
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
			got := newRecv[string]()
			_, url := goServer(t, nil, func(srv *socketio.Server) {
				srv.OnConnect(func(s *socketio.Socket) {
					socketio.OnAck(s, "add", func(ctx context.Context, p point) (int, error) { return p.X + p.Y, nil })
					socketio.On(s, "ask", func(ctx context.Context, q string) error {
						go func() {
							r, err := socketio.Call[string](context.Background(), s, "question", q)
							if err != nil {
								r = "error: " + err.Error()
							}
							got.put(r)
						}()
						return nil
					})
				})
			})
			s := dialT(t, url, &Config{Engine: engineio.DialConfig{Transports: tc.transports}})
			OnAck(s, "question", func(ctx context.Context, q string) (string, error) { return strings.ToUpper(q), nil })
			sum, err := Call[int](ctxT(t, 5*time.Second), s, "add", point{2, 3})
			if err != nil || sum != 5 {
				t.Fatalf("add: %v %v", sum, err)
			}
			if err := s.Emit("ask", "hello"); err != nil {
				t.Fatal(err)
			}
			if r := got.get(t); r != "HELLO" {
				t.Fatalf("server got %q", r)
			}
			waitFor(t, 5*time.Second, "transport "+string(tc.final), func() bool { return s.Manager().Transport() == tc.final })
			if s.ID() == "" || !s.Connected() || s.Recovered() {
				t.Fatalf("state: id %q connected %v recovered %v", s.ID(), s.Connected(), s.Recovered())
			}
		})
	}
}

func TestAuthAndMiddlewareRejection(t *testing.T) {
	_, url := goServer(t, nil, func(srv *socketio.Server) {
		srv.Of("/").Use(func(ctx context.Context, s *socketio.Socket) error {
			var auth struct{ Token string }
			_ = json.Unmarshal(s.Handshake().Auth, &auth)
			if auth.Token != "good" {
				return &socketio.ConnectError{Message: "unauthorized", Data: map[string]any{"code": 42}}
			}
			return nil
		})
	})
	_, err := Dial(ctxT(t, 5*time.Second), url, &Config{Socket: SocketConfig{Auth: map[string]string{"token": "bad"}}})
	var ce *ConnectError
	if !errors.As(err, &ce) || ce.Message != "unauthorized" || string(ce.Data) != `{"code":42}` {
		t.Fatalf("got %v", err)
	}
	// AuthFunc is called at every connection.
	var calls atomic.Int32
	s := dialT(t, url, &Config{Socket: SocketConfig{AuthFunc: func(ctx context.Context) (any, error) {
		calls.Add(1)
		return map[string]string{"token": "good"}, nil
	}}})
	if !s.Connected() || calls.Load() != 1 {
		t.Fatalf("connected %v, calls %d", s.Connected(), calls.Load())
	}
	// Unknown namespace.
	_, err = Dial(ctxT(t, 5*time.Second), url+"/nope", nil)
	if !errors.As(err, &ce) || ce.Message != "Invalid namespace" {
		t.Fatalf("got %v", err)
	}
}

func TestMultiplexedNamespaces(t *testing.T) {
	_, url := goServer(t, nil, echoSetup("/", "/admin"))
	m, err := NewManager(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	root, admin := m.Socket("/", nil), m.Socket("admin", nil)
	for _, s := range []*Socket{root, admin} {
		if err := s.Connect(ctxT(t, 5*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []*Socket{root, admin} {
		a, err := s.EmitWithAck(ctxT(t, 5*time.Second), "echo", s.Namespace())
		var got string
		if err != nil || a.Decode(0, &got) != nil || got != s.Namespace() {
			t.Fatalf("%s: %v %v", s.Namespace(), got, err)
		}
	}
	if m.Socket("/admin", nil) != admin {
		t.Fatal("Socket does not return the existing socket")
	}
	// Closing one namespace keeps the connection for the other.
	admin.Close()
	if _, err := root.EmitWithAck(ctxT(t, 5*time.Second), "echo", 1); err != nil {
		t.Fatal(err)
	}
}

func TestBinaryBothWays(t *testing.T) {
	_, url := goServer(t, nil, echoSetup("/"))
	s := dialT(t, url, nil)
	blob := []byte{0, 1, 2, 255}
	a, err := s.EmitWithAck(ctxT(t, 5*time.Second), "echo", map[string]any{"file": blob, "list": []any{"x", []byte("yz")}}, []byte("top"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		File []byte
		List []json.RawMessage
	}
	if err := a.Decode(0, &v); err != nil || !bytes.Equal(v.File, blob) || len(v.List) != 2 {
		t.Fatalf("decode: %+v %v (%s)", v, err, a)
	}
	if b, ok := a.Binary(1); !ok || string(b) != "top" {
		t.Fatalf("binary arg: %q %v", b, ok)
	}
	if len(a.Attachments()) != 3 {
		t.Fatalf("%d attachments", len(a.Attachments()))
	}
}

func TestAckTimeoutAndContext(t *testing.T) {
	_, url := goServer(t, nil, func(srv *socketio.Server) {
		srv.OnConnect(func(s *socketio.Socket) {
			s.OnRaw("silent", func(context.Context, socketio.Args, socketio.AckFunc) {})
		})
	})
	s := dialT(t, url, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := s.EmitWithAck(ctx, "silent"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	s2 := dialT(t, url, &Config{Socket: SocketConfig{AckTimeout: 100 * time.Millisecond}})
	if _, err := s2.EmitWithAck(context.Background(), "silent"); !errors.Is(err, ErrAckTimeout) {
		t.Fatalf("got %v", err)
	}
	if _, err := s2.EmitWithAck(context.Background(), "connect"); !errors.Is(err, ErrReservedEvent) {
		t.Fatalf("got %v", err)
	}
}

func TestBufferedWhileDisconnected(t *testing.T) {
	got := newRecv[string]()
	_, url := goServer(t, nil, func(srv *socketio.Server) {
		srv.OnConnect(func(s *socketio.Socket) {
			socketio.On(s, "msg", func(ctx context.Context, v string) error { got.put(v); return nil })
		})
	})
	m, _ := NewManager(url, nil)
	defer m.Close()
	s := m.Socket("/", &SocketConfig{MaxBufferBytes: 100})
	for _, v := range []string{"one", "two"} {
		if err := s.Emit("msg", v); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Volatile().Emit("msg", "volatile"); err != nil {
		t.Fatal(err)
	}
	if err := s.Emit("msg", strings.Repeat("x", 100)); !errors.Is(err, ErrBufferFull) {
		t.Fatalf("got %v", err)
	}
	if err := s.Connect(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if a, b := got.get(t), got.get(t); a != "one" || b != "two" {
		t.Fatalf("got %q %q", a, b)
	}
	got.none(t, 200*time.Millisecond)
}

func TestHandlersOrderedAndCatchAll(t *testing.T) {
	_, url := goServer(t, nil, func(srv *socketio.Server) {
		srv.OnConnect(func(s *socketio.Socket) {
			for i := range 50 {
				_ = s.Emit("n", i)
			}
			_ = s.Emit("other", "x")
		})
	})
	m, _ := NewManager(url, nil)
	defer m.Close()
	s := m.Socket("/", nil)
	nums := newRecv[int]()
	anys := newRecv[string]()
	errs := newRecv[error]()
	On(s, "n", func(ctx context.Context, n int) error {
		nums.put(n)
		if n == 3 {
			return errors.New("three")
		}
		return nil
	})
	s.OnAny(func(ctx context.Context, ev string, a Args) { anys.put(ev) })
	s.OnError(func(err error) { errs.put(err) })
	if err := s.Connect(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if n := nums.get(t); n != i {
			t.Fatalf("got %d, want %d", n, i)
		}
	}
	for range 50 {
		if ev := anys.get(t); ev != "n" {
			t.Fatalf("any got %q", ev)
		}
	}
	if ev := anys.get(t); ev != "other" {
		t.Fatalf("any got %q", ev)
	}
	if err := errs.get(t); !strings.Contains(err.Error(), "three") {
		t.Fatalf("OnError got %v", err)
	}
}

func TestServerDisconnectDoesNotReconnect(t *testing.T) {
	_, url := goServer(t, nil, func(srv *socketio.Server) {
		srv.OnConnect(func(s *socketio.Socket) {
			socketio.On(s, "kick", func(context.Context, any) error { s.Disconnect(); return nil })
		})
	})
	var attempts atomic.Int32
	cfg := fastReconnect()
	cfg.OnReconnectAttempt = func(int) { attempts.Add(1) }
	s := dialT(t, url, cfg)
	ev := newRecv[DisconnectEvent]()
	s.OnDisconnect(func(e DisconnectEvent) { ev.put(e) })
	_ = s.Emit("kick", nil)
	e := ev.get(t)
	if e.Reason != ReasonServerDisconnect || e.Reason.WillReconnect() {
		t.Fatalf("got %+v", e)
	}
	time.Sleep(300 * time.Millisecond)
	if s.Connected() || attempts.Load() != 0 {
		t.Fatalf("connected %v attempts %d", s.Connected(), attempts.Load())
	}
}
