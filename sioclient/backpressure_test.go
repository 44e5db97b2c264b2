package sioclient

import (
	"context"
	"errors"
	"testing"
	"time"

	socketio "github.com/sio-go/socketio"
	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/internal/testutil"
)

// burstServer emits n "n" events to every socket when it asks with "go".
func burstServer(t *testing.T, n int) string {
	_, url := goServer(t, nil, func(srv *socketio.Server) {
		srv.OnConnect(func(s *socketio.Socket) {
			socketio.On(s, "go", func(context.Context, any) error {
				for i := range n {
					_ = s.Emit("n", i)
				}
				return nil
			})
			socketio.OnAck(s, "echo", func(ctx context.Context, v int) (int, error) { return v, nil })
		})
	})
	return url
}

// TestBackpressureBoundsTheQueue: the reader stops at MaxPendingEvents
// events waiting, and nothing is lost, over both transports.
func TestBackpressureBoundsTheQueue(t *testing.T) {
	const n, pending = 3000, 16
	for _, tr := range []engineio.Transport{engineio.Polling, engineio.WebSocket} {
		t.Run(string(tr), func(t *testing.T) {
			url := burstServer(t, n)
			s := dialT(t, url, &Config{MaxPendingEvents: pending, Engine: engineio.DialConfig{Transports: []engineio.Transport{tr}}})
			errs := newRecv[error]()
			s.OnError(errs.put)
			done := make(chan struct{})
			next, most := 0, 0 // touched by the handlers only
			On(s, "n", func(ctx context.Context, i int) error {
				if i == 0 {
					time.Sleep(50 * time.Millisecond) // let the reader run ahead
				}
				most = max(most, s.queue.len())
				if i != next {
					t.Errorf("got %d, want %d", i, next)
				}
				next = i + 1
				if i == n-1 {
					close(done)
				}
				return nil
			})
			if err := s.Emit("go", nil); err != nil {
				t.Fatal(err)
			}
			select {
			case <-done:
			case err := <-errs.ch:
				t.Fatal(err)
			case <-time.After(20 * time.Second):
				t.Fatal("the last event was not handled")
			}
			if most > pending {
				t.Fatalf("%d events waited for the handlers, more than %d", most, pending)
			}
			if !s.Connected() {
				t.Fatal("disconnected")
			}
		})
	}
}

// TestBackpressureLetsAcksThrough: a handler that waits for an
// acknowledgement while the reader is paused gets it: reading goes on while
// a caller waits for the server.
func TestBackpressureLetsAcksThrough(t *testing.T) {
	const n = 400 // under HardMaxPendingEvents: 64 × 8
	url := burstServer(t, n)
	s := dialT(t, url, &Config{MaxPendingEvents: 8, Engine: engineio.DialConfig{Transports: []engineio.Transport{engineio.WebSocket}}})
	done := make(chan error, 1)
	On(s, "n", func(ctx context.Context, i int) error {
		if i == 1 {
			time.Sleep(50 * time.Millisecond) // the reader pauses
			ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if v, err := Call[int](ctx, s, "echo", 42); err != nil || v != 42 {
				done <- errors.Join(err, errors.New("wrong acknowledgement"))
			}
		}
		if i == n-1 {
			done <- nil
		}
		return nil
	})
	if err := s.Emit("go", nil); err != nil {
		t.Fatal(err)
	}
	if err := testutil.Recv(t, done, 20*time.Second); err != nil { // times out on a deadlock
		t.Fatal(err)
	}
}

// TestHardMaxPendingEventsDisconnects: at HardMaxPendingEvents the client
// closes the connection with ReasonHandlerQueueFull, and reconnects.
func TestHardMaxPendingEventsDisconnects(t *testing.T) {
	url := burstServer(t, 500)
	closes := newRecv[error]()
	cfg := fastReconnect()
	cfg.MaxPendingEvents, cfg.HardMaxPendingEvents = 8, 8
	cfg.OnClose = func(r DisconnectReason, err error) {
		if r != ReasonHandlerQueueFull {
			err = errors.Join(errors.New(string(r)), err)
		}
		closes.put(err)
	}
	s := dialT(t, url, cfg)
	discs := newRecv[DisconnectEvent]()
	s.OnDisconnect(discs.put)
	conns := newRecv[bool]()
	s.OnConnect(func() { conns.put(true) })
	release := make(chan struct{})
	On(s, "n", func(ctx context.Context, i int) error {
		if i == 0 {
			<-release
		}
		return nil
	})
	if err := s.Emit("go", nil); err != nil {
		t.Fatal(err)
	}
	err := closes.get(t)
	close(release)
	if !errors.Is(err, ErrHandlerQueueFull) {
		t.Fatalf("connection closed with %v", err)
	}
	if e := discs.get(t); e.Reason != ReasonHandlerQueueFull || !e.Reason.WillReconnect() || !errors.Is(e.Err, ErrHandlerQueueFull) {
		t.Fatalf("disconnected with %+v", e)
	}
	conns.get(t)
}
