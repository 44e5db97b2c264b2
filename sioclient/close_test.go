package sioclient

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	socketio "github.com/sio-go/socketio"
	"github.com/sio-go/socketio/internal/testutil"
)

// TestCloseRunsDisconnectHandlersFirst: Close returns after the OnDisconnect
// handlers ran, and is final.
func TestCloseRunsDisconnectHandlersFirst(t *testing.T) {
	_, url := goServer(t, nil, echoSetup("/"))
	s := dialT(t, url, nil)
	var reason atomic.Value
	s.OnDisconnect(func(e DisconnectEvent) {
		time.Sleep(20 * time.Millisecond)
		reason.Store(e.Reason)
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if r := reason.Load(); r != ReasonClientDisconnect {
		t.Fatalf("OnDisconnect saw %v by the time Close returned", r)
	}
	if s.Connected() || s.ID() != "" {
		t.Fatalf("connected %v, id %q", s.Connected(), s.ID())
	}
	if _, err := Call[int](ctxT(t, 5*time.Second), s, "echo", 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Call after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestCloseFromHandler: a handler may close its own socket; the events
// queued behind it are not handled.
func TestCloseFromHandler(t *testing.T) {
	_, url := goServer(t, nil, func(srv *socketio.Server) {
		srv.OnConnect(func(s *socketio.Socket) {
			for i := range 20 {
				_ = s.Emit("n", i)
			}
		})
	})
	m, err := NewManager(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s := m.Socket("/", nil)
	var handled atomic.Int32
	closed := make(chan error, 1)
	On(s, "n", func(ctx context.Context, i int) error {
		handled.Add(1)
		if i == 0 {
			time.Sleep(20 * time.Millisecond) // the others queue up
			closed <- s.Close()
			if ctx.Err() == nil {
				t.Error("the handler's context is not cancelled")
			}
		}
		return nil
	})
	discs := newRecv[DisconnectEvent]()
	s.OnDisconnect(discs.put)
	if err := s.Connect(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := testutil.Recv(t, closed, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if e := discs.get(t); e.Reason != ReasonClientDisconnect {
		t.Fatalf("disconnected with %+v", e)
	}
	if n := handled.Load(); n != 1 {
		t.Fatalf("%d events handled, want 1: the queued ones run after Close", n)
	}
	if err := s.Emit("x"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Emit after Close: %v", err)
	}
	if s2 := m.Socket("/", nil); s2 == s {
		t.Fatal("Manager.Socket returned the closed socket")
	}
}

// TestManagerCloseIsFinal: after Manager.Close its sockets are closed and
// cannot connect.
func TestManagerCloseIsFinal(t *testing.T) {
	_, url := goServer(t, nil, echoSetup("/", "/admin"))
	m, err := NewManager(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	root := m.Socket("/", nil)
	if err := root.Connect(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	_ = m.Close()
	if err := root.Emit("echo", 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Emit: %v", err)
	}
	if err := root.Connect(ctxT(t, 5*time.Second)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Connect: %v", err)
	}
	if err := m.Socket("/admin", nil).Connect(ctxT(t, 5*time.Second)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Connect of a new socket: %v", err)
	}
}
