package interop

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/interop/internal/nodeproc"
)

// awayAndBack connects socket "s" without automatic reconnection, gives it
// an offset (a received event) and a room, then breaks its connection. It
// returns the socket's id once the server has seen it leave.
func awayAndBack(t *testing.T, s sioTarget, c *sioClient) string {
	t.Helper()
	conn := c.dial("s", s.URL(), "/", nodeproc.M{"reconnection": false})
	if conn.Bool("recovered") {
		t.Errorf("first connection recovered: %s", conn)
	}
	id, recovered := s.Next(t, "/")
	if recovered || id != conn.Str("id") {
		t.Fatalf("server socket %q (recovered %v), client %s", id, recovered, conn)
	}
	s.Join(t, "/", id, "room1")
	if g, ok := s.(*goTarget); ok {
		g.socket(t, "/", id).SetData("kept")
	}
	// Recovery needs the offset of a received event.
	s.Emit(t, "/", id, false, "before", 0)
	c.event("s", "before")
	c.call("closeEngine", "s")
	if r := c.wait("s", "disconnect").Str("reason"); r != "transport close" {
		t.Errorf("client disconnect reason %q, want transport close", r)
	}
	if r := s.WaitDisconnect(t, "/", id); r != "transport close" {
		t.Errorf("server disconnect reason %q, want transport close", r)
	}
	return id
}

// withoutOffset returns the arguments of an event received with connection
// state recovery, after checking that the last one is the offset the server
// appends (socket.io-client keeps it in the arguments).
func withoutOffset(t *testing.T, ev nodeproc.Event) json.RawMessage {
	t.Helper()
	var args []json.RawMessage
	var offset string
	if !ev.Decode("args", &args) || len(args) == 0 || json.Unmarshal(args[len(args)-1], &offset) != nil || offset == "" {
		t.Errorf("event %s without an offset", ev)
		return ev.Field("args")
	}
	b, _ := json.Marshal(args[:len(args)-1])
	return b
}

// TestSIORecovery breaks a connection, emits to the socket and its room
// while the client is away, and checks that the client recovers its id, its
// rooms and the missed events when it connects again.
func TestSIORecovery(t *testing.T) {
	forEachSIOServer(t, sioOpts{Recovery: time.Minute}, func(t *testing.T, s sioTarget) {
		c := startClient(t)
		id := awayAndBack(t, s, c)

		s.ToRoom(t, "/", "room1", "missed-room", 1)
		s.ToRoom(t, "/", id, "missed-direct", 2, binOf("bin"))
		s.ToRoom(t, "/", "other-room", "not-for-me", 3)
		s.ToRoom(t, "/", "room1", "missed-room", 4)

		c.call("connect", "s")
		again := c.wait("s", "connect")
		if !again.Bool("recovered") || again.Str("id") != id {
			t.Errorf("reconnection %s, want recovered with id %s", again, id)
		}
		if id2, recovered := s.Next(t, "/"); id2 != id || !recovered {
			t.Errorf("server socket %q (recovered %v), want %q recovered", id2, recovered, id)
		}
		if st := c.call("state", "s"); !st.Bool("recovered") || !st.Bool("connected") {
			t.Errorf("state %s, want connected and recovered", st)
		}
		if g, ok := s.(*goTarget); ok {
			sock := g.socket(t, "/", id)
			if rooms := sock.Rooms(); !slices.Equal(rooms, []string{id, "room1"}) {
				t.Errorf("Rooms() = %v after recovery, want [%s room1]", rooms, id)
			}
			if d, err := socketio.DataAs[string](sock.Data()); err != nil || d != "kept" {
				t.Errorf("Data() = %v after recovery, want kept", d)
			}
			if !sock.Recovered() {
				t.Error("Recovered() = false")
			}
		}

		// The socket is back in its room: the event after the missed ones
		// proves they are all there.
		s.ToRoom(t, "/", "room1", "after", 5)
		c.event("s", "after")
		var got []string
		for _, e := range c.p.Events(nodeproc.On("event", "socket", "s")) {
			got = append(got, e.Str("name"))
		}
		want := []string{"before", "missed-room", "missed-direct", "missed-room", "after"}
		if !slices.Equal(got, want) {
			t.Errorf("client received %v, want %v", got, want)
		}
		jsonEqual(t, "missed-direct args", withoutOffset(t, c.event("s", "missed-direct")), []any{2, binOf("bin")})

		// Acknowledgements work on the recovered socket.
		c.emitAck("s", "e", 0, "echo", "still here")
		jsonEqual(t, "echo after recovery", c.ack("e").Field("args"), []any{"still here"})

		// A recovered socket can be recovered again.
		c.call("closeEngine", "s")
		c.wait("s", "disconnect")
		s.WaitDisconnect(t, "/", id)
		s.ToRoom(t, "/", id, "missed-again", 6)
		c.call("connect", "s")
		if again := c.wait("s", "connect"); !again.Bool("recovered") || again.Str("id") != id {
			t.Errorf("second reconnection %s, want recovered with id %s", again, id)
		}
		s.Next(t, "/")
		jsonEqual(t, "missed-again", withoutOffset(t, c.event("s", "missed-again")), []any{6})
	})
}

// TestSIORecoveryStaleSocket emits on the socket object of a disconnected
// socket: with recovery, the official server stores the event and the
// client receives it on recovery.
func TestSIORecoveryStaleSocket(t *testing.T) {
	forEachSIOServer(t, sioOpts{Recovery: time.Minute}, func(t *testing.T, s sioTarget) {
		c := startClient(t)
		id := awayAndBack(t, s, c)
		s.EmitStale(t, "/", id, "missed-stale", 1)
		c.call("connect", "s")
		if again := c.wait("s", "connect"); !again.Bool("recovered") {
			t.Fatalf("reconnection %s, want recovered", again)
		}
		s.Next(t, "/")
		s.ToRoom(t, "/", id, "after", 2)
		c.event("s", "after")
		if _, ok := c.p.Poll(0, func(e nodeproc.Event) bool { return e.Type == "event" && e.Str("name") == "missed-stale" }); !ok {
			t.Error("the event emitted on the disconnected socket was not delivered on recovery")
		}
	})
}

// TestSIORecoveryExpired reconnects after MaxDisconnectionDuration: the
// session is not recovered.
func TestSIORecoveryExpired(t *testing.T) {
	const d = 300 * time.Millisecond
	forEachSIOServer(t, sioOpts{Recovery: d}, func(t *testing.T, s sioTarget) {
		c := startClient(t)
		id := awayAndBack(t, s, c)
		s.ToRoom(t, "/", id, "missed", 1)
		time.Sleep(3 * d) // past the duration
		c.call("connect", "s")
		again := c.wait("s", "connect")
		if again.Bool("recovered") || again.Str("id") == id {
			t.Errorf("reconnection %s after %v, want a new session (former id %s)", again, 3*d, id)
		}
		if id2, recovered := s.Next(t, "/"); recovered || id2 != again.Str("id") {
			t.Errorf("server socket %q (recovered %v), want %q not recovered", id2, recovered, again.Str("id"))
		}
		s.Emit(t, "/", again.Str("id"), false, "fresh", 2)
		c.event("s", "fresh")
		if ev, ok := c.p.Poll(0, func(e nodeproc.Event) bool { return e.Type == "event" && e.Str("name") == "missed" }); ok {
			t.Errorf("an expired session received %s", ev)
		}
	})
}

// TestSIORecoveryAutoReconnect lets the client reconnect by itself after
// the connection is lost, on each transport: it recovers its session.
func TestSIORecoveryAutoReconnect(t *testing.T) {
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			forEachSIOServer(t, sioOpts{Recovery: time.Minute}, func(t *testing.T, s sioTarget) {
				c := startClient(t)
				first := c.dial("s", s.URL(), "/", nodeproc.M{"transports": []string{tr}, "reconnectionDelay": 50, "reconnectionDelayMax": 100})
				id, _ := s.Next(t, "/")
				s.Emit(t, "/", id, false, "before", 0)
				c.event("s", "before")
				c.call("closeEngine", "s")
				c.wait("s", "reconnect")
				again := c.wait("s", "connect")
				if !again.Bool("recovered") || again.Str("id") != first.Str("id") {
					t.Errorf("reconnection %s, want recovered with id %s", again, first.Str("id"))
				}
				if id2, recovered := s.Next(t, "/"); id2 != id || !recovered {
					t.Errorf("server socket %q (recovered %v), want %q recovered", id2, recovered, id)
				}
				if r := s.WaitDisconnect(t, "/", id); r != "transport close" {
					t.Errorf("server disconnect reason %q, want transport close", r)
				}
				s.Emit(t, "/", id, false, "after", 1)
				jsonEqual(t, "after", withoutOffset(t, c.event("s", "after")), []any{1})
			})
		})
	}
}
