package interop

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/interop/internal/nodeproc"
)

// shutdownRounds is how many times each shutdown scenario runs: an event
// emitted right before Shutdown must arrive every time, not most times.
const shutdownRounds = 10

// startBare starts our server without the harness's cleanup Shutdown, for
// tests that shut it down themselves; connected receives each socket of the
// main namespace.
func startBare(t *testing.T, cfg *socketio.Config) (srv *socketio.Server, url string, connected chan *socketio.Socket) {
	t.Helper()
	srv = socketio.NewServer(cfg)
	connected = make(chan *socketio.Socket, 16)
	srv.OnConnect(func(s *socketio.Socket) { connected <- s })
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx) // a second Shutdown only reports ErrServerClosed
		hs.Close()
	})
	return srv, hs.URL, connected
}

// TestSIOShutdownDelivers emits 100 events to a socket and broadcasts one
// more right before Shutdown: socket.io-client receives them all, then sees
// its connection close, over polling and over WebSocket, every time.
func TestSIOShutdownDelivers(t *testing.T) {
	for _, transport := range []string{"polling", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			c := startClient(t)
			for round := range shutdownRounds {
				srv, url, connected := startBare(t, nil)
				name := fmt.Sprint("s", round)
				c.dial(name, url, "/", nodeproc.M{"transports": []string{transport}, "reconnection": false})
				s := recvSocket(t, connected)
				for i := range 100 {
					if err := s.Emit("n", i); err != nil {
						t.Fatal(err)
					}
				}
				if err := srv.Emit(context.Background(), "bye", round); err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := srv.Shutdown(ctx)
				cancel()
				if err != nil {
					t.Fatalf("round %d: Shutdown: %v", round, err)
				}
				for i, ev := range c.events(name, "n", 100) {
					jsonEqual(t, "n", ev.Field("args"), []any{i})
				}
				jsonEqual(t, "bye", c.event(name, "bye").Field("args"), []any{round})
				checkClosedByServer(t, transport, c.wait(name, "disconnect").Str("reason"))
			}
		})
	}
}

// TestSIODrain drains a server: the client receives what was emitted, its
// connection closes as for a network failure, so it tries to reconnect,
// and the server refuses it while it drains.
func TestSIODrain(t *testing.T) {
	for _, transport := range []string{"polling", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			srv, url, connected := startBare(t, &socketio.Config{
				ConnectionStateRecovery: &socketio.RecoveryConfig{},
			})
			c := startClient(t)
			c.dial("s", url, "/", nodeproc.M{"transports": []string{transport},
				"reconnectionDelay": 50, "reconnectionDelayMax": 50})
			s := recvSocket(t, connected)
			disc := make(chan socketio.DisconnectEvent, 1)
			s.OnDisconnect(func(ev socketio.DisconnectEvent) { disc <- ev })
			if err := s.Emit("bye"); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := srv.Drain(ctx, 0); err != nil {
				t.Fatalf("Drain: %v", err)
			}
			c.event("s", "bye")
			checkClosedByServer(t, transport, c.wait("s", "disconnect").Str("reason"))
			select {
			case ev := <-disc:
				if ev.Reason != socketio.ReasonServerShuttingDown {
					t.Errorf("server disconnect reason %q, want %q", ev.Reason, socketio.ReasonServerShuttingDown)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no disconnect on the server")
			}
			// The client keeps trying; the draining server refuses it.
			c.wait("s", "reconnect_attempt")
			c.wait("s", "reconnect_error")
			select {
			case s := <-connected:
				t.Fatalf("socket %s admitted during the drain", s.ID())
			default:
			}
		})
	}
}

// checkClosedByServer checks the reason socket.io-client gives for a
// connection the server closed: "transport close". Over polling, a client
// caught between two polls (nothing queued for it) gets "Session ID
// unknown" on its next poll, a "transport error", as from Node's io.close().
func checkClosedByServer(t *testing.T, transport, reason string) {
	t.Helper()
	if reason != "transport close" && (transport != "polling" || reason != "transport error") {
		t.Errorf("client disconnect reason %q, want transport close", reason)
	}
}

func recvSocket(t *testing.T, ch chan *socketio.Socket) *socketio.Socket {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(nodeproc.DefaultTimeout):
		t.Fatal("no socket connected")
		return nil
	}
}
