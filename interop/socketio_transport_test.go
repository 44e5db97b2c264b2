package interop

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/sio-go/socketio/interop/internal/nodeproc"
)

// TestSIOTransports connects socket.io-client on each transport, then
// exchanges events both ways, with and without acknowledgement.
func TestSIOTransports(t *testing.T) {
	for _, tc := range []struct {
		name       string
		transports []string
		first      string // the transport of the connection
		final      string // the transport after the upgrade, if any
	}{
		{"polling", []string{"polling"}, "polling", "polling"},
		{"websocket", []string{"websocket"}, "websocket", "websocket"},
		{"upgrade", []string{"polling", "websocket"}, "polling", "websocket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startSIO(t, nil, nil)
			c := startClient(t)
			conn := c.dial("s", s.URL(), "/", nodeproc.M{"transports": tc.transports})
			// With the upgrade, the client may have switched before the
			// namespace connection completes.
			if tr := conn.Str("transport"); tr != tc.first && tr != tc.final {
				t.Errorf("connected over %q, want %q", tr, tc.first)
			}
			sock := s.connected(t, "/")
			if sock.ID() != conn.Str("id") {
				t.Errorf("client id %q, server id %q", conn.Str("id"), sock.ID())
			}
			if q := sock.Handshake().Query; q.Get("transport") != tc.first || q.Get("EIO") != "4" {
				t.Errorf("handshake query %v", q)
			}
			if tc.final != tc.first {
				if up := c.wait("s", "upgrade"); up.Str("transport") != tc.final {
					t.Fatalf("upgraded to %q, want %q", up.Str("transport"), tc.final)
				}
			}

			// client → server with acknowledgement, binary included
			args := []any{"héllo ✓", 42.5, nil, []any{1, "two"}, nodeproc.M{"k": true}, binOf("\x00\x01\xff")}
			c.emitAck("s", "a1", 0, "echo", args...)
			jsonEqual(t, "ack", c.ack("a1").Field("args"), args)
			if ev := s.log.wait(t, sEvent("echo")); ev.ID != sock.ID() || ev.Args.Len() != len(args) {
				t.Errorf("server saw %s", ev)
			}

			// client → server, server → client
			c.emit("s", "echo", "plain", binOf("b"))
			jsonEqual(t, "echo event", c.event("s", "echo").Field("args"), []any{"plain", binOf("b")})

			// a stream of server events arrives in order
			const n = 50
			for i := range n {
				if err := sock.Emit("tick", i); err != nil {
					t.Fatal(err)
				}
			}
			for i, ev := range c.events("s", "tick", n) {
				jsonEqual(t, fmt.Sprint("tick ", i), ev.Field("args"), []any{i})
			}

			if st := c.call("state", "s"); st.Str("transport") != tc.final || !st.Bool("connected") {
				t.Errorf("client state %s, want connected over %s", st, tc.final)
			}
			if n := s.srv.Engine().ClientsCount(); n != 1 {
				t.Errorf("Engine().ClientsCount() = %d, want 1", n)
			}

			c.call("disconnect", "s")
			if r := s.log.wait(t, sType("disconnect")).Reason; r != "client namespace disconnect" {
				t.Errorf("server disconnect reason %q, want client namespace disconnect", r)
			}
			if r := c.wait("s", "disconnect").Str("reason"); r != "io client disconnect" {
				t.Errorf("client disconnect reason %q, want io client disconnect", r)
			}
		})
	}
}

// TestSIOUpgradeUnderTraffic emits events both ways from the start, and
// holds the client's WebSocket request until part of them went over polling,
// so that the polling → WebSocket upgrade happens while they flow; every
// event must arrive once and in order.
func TestSIOUpgradeUnderTraffic(t *testing.T) {
	const n, held = 200, 40
	release := make(chan struct{})
	var once sync.Once
	open := func() { once.Do(func() { close(release) }) }
	s := startSIOWrapped(t, nil, nil, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("transport") == "websocket" {
				select {
				case <-release:
				case <-r.Context().Done():
				case <-time.After(wait):
				}
			}
			h.ServeHTTP(w, r)
		})
	})
	t.Cleanup(open) // before the server's cleanup, which waits for handlers
	c := startClient(t)
	// Emitted before the connection: the client buffers them.
	c.open("s", s.URL(), "/", nil)
	c.p.Send(nodeproc.M{"cmd": "eval", "code": fmt.Sprintf(`
		const s = ctx.sockets.get("s").socket;
		let i = 0;
		const tick = () => { if (i < %d) { s.emit("seq", i++); setTimeout(tick, 2); } };
		tick();`, n)})
	sock := s.connected(t, "/")
	var wg sync.WaitGroup
	wg.Add(1)
	t.Cleanup(wg.Wait)
	go func() {
		defer wg.Done()
		for i := range n {
			if sock.Emit("seq", i) != nil {
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	got := s.log.waitN(t, held, wait, sEvent("seq"))
	c.p.WaitN(held, wait, nodeproc.On("event", "name", "seq"))
	open()
	got = append(got, s.log.waitN(t, n-held, wait, sEvent("seq"))...)
	for i, ev := range got {
		if ev.Args.String() != fmt.Sprintf("[%d]", i) {
			t.Fatalf("server event %d: %s", i, ev)
		}
	}
	c.p.WaitN(n-held, wait, nodeproc.On("event", "name", "seq"))
	c.wait("s", "upgrade")
	var before, after []nodeproc.Event
	upgraded := false
	for _, ev := range c.p.Events(nil) {
		switch {
		case ev.Type == "upgrade":
			upgraded = true
		case ev.Type == "event" && upgraded:
			after = append(after, ev)
		case ev.Type == "event":
			before = append(before, ev)
		}
	}
	for i, ev := range append(before, after...) {
		jsonEqual(t, fmt.Sprint("client event ", i), ev.Field("args"), []any{i})
	}
	if len(before)+len(after) != n {
		t.Errorf("client received %d events, want %d", len(before)+len(after), n)
	}
	if len(after) == 0 {
		t.Error("the server's stream ended before the upgrade")
	}
	if st := c.call("state", "s"); st.Str("transport") != "websocket" {
		t.Errorf("transport after the stream: %s", st)
	}
}
