package interop

import (
	"encoding/json"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/sio-go/socketio/interop/internal/nodeproc"
)

// volatileArrives emits volatile events to an idle client until one
// arrives. Over polling, "idle" means that the client's next poll request
// has reached the server, which the test cannot see: each attempt leaves it
// a moment more to come.
// On WebSocket, the transport is busy until the server has finished writing
// the previous frame, which a loaded machine can delay past its arrival.
func volatileArrives(t *testing.T, s sioTarget, c *sioClient, id, name string, extra ...any) nodeproc.Event {
	t.Helper()
	for i := range 10 {
		time.Sleep(time.Duration(i+1) * 50 * time.Millisecond)
		ev := fmt.Sprintf("%s-%d", name, i)
		s.Emit(t, "/", id, true, ev, append([]any{i}, extra...)...)
		if e, ok := c.p.Poll(time.Second, nodeproc.On("event", "name", ev)); ok {
			return e
		}
		t.Logf("volatile %s dropped", ev)
	}
	t.Fatalf("no volatile %s event reached an idle client\n%s", name, c.p.Log())
	return nodeproc.Event{}
}

// TestSIOVolatile checks that volatile events reach an idle client, are
// dropped while its transport is busy, and never break the connection.
func TestSIOVolatile(t *testing.T) {
	t.Run("websocket", func(t *testing.T) {
		forEachSIOServer(t, sioOpts{}, func(t *testing.T, s sioTarget) {
			c := startClient(t)
			c.dial("s", s.URL(), "/", nodeproc.M{"transports": []string{"websocket"}})
			id, _ := s.Next(t, "/")
			for i := range 5 {
				ev := volatileArrives(t, s, c, id, fmt.Sprint("v", i), binOf("b"))
				var args []json.RawMessage
				if !ev.Decode("args", &args) || len(args) != 2 {
					t.Fatalf("volatile event %s", ev)
				}
				jsonEqual(t, "volatile binary", args[1], binOf("b"))
			}
			c.emitAck("s", "e", 0, "echo", "ok")
			jsonEqual(t, "echo", c.ack("e").Field("args"), []any{"ok"})
		})
	})
	// The client is stopped: its poll request, if any, takes the first
	// regular event; no other reaches the server until it resumes, so the
	// transport is busy for every volatile event in between.
	t.Run("polling", func(t *testing.T) {
		forEachSIOServer(t, sioOpts{}, func(t *testing.T, s sioTarget) {
			c := startClient(t)
			c.dial("s", s.URL(), "/", nodeproc.M{"transports": []string{"polling"}})
			id, _ := s.Next(t, "/")
			volatileArrives(t, s, c, id, "idle")

			c.p.Signal(syscall.SIGSTOP)
			s.Emit(t, "/", id, false, "a")
			for i := range 10 {
				s.Emit(t, "/", id, true, "busy", i)
			}
			s.Emit(t, "/", id, false, "b")
			c.p.Signal(syscall.SIGCONT)
			c.event("s", "a")
			c.event("s", "b")
			if ev, ok := c.p.Poll(0, nodeproc.On("event", "name", "busy")); ok {
				t.Errorf("a volatile event reached a busy transport: %s", ev)
			}

			volatileArrives(t, s, c, id, "again")
			c.emitAck("s", "e", 0, "echo", "ok")
			jsonEqual(t, "echo", c.ack("e").Field("args"), []any{"ok"})
			if d := disconnects(c, "s"); len(d) != 0 {
				t.Errorf("disconnected: %v", d)
			}
		})
	})
}
