package interop

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sio-go/socketio/interop/internal/nodeproc"
)

// disconnects returns the reasons of the disconnect events of socket name so
// far.
func disconnects(c *sioClient, name string) []string {
	var out []string
	for _, e := range c.p.Events(nodeproc.On("disconnect", "socket", name)) {
		out = append(out, e.Str("reason"))
	}
	return out
}

// TestSIOServerDisconnect checks what the client sees when the server ends a
// socket, with and without closing the connection, and when the connection
// is lost; the same scenario runs against the official server.
func TestSIOServerDisconnect(t *testing.T) {
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			forEachSIOServer(t, sioOpts{}, func(t *testing.T, s sioTarget) {
				c := startClient(t)
				c.dial("s", s.URL(), "/", nodeproc.M{"transports": []string{tr}, "reconnectionDelay": 50, "reconnectionDelayMax": 100})
				id, _ := s.Next(t, "/")

				// Socket.Disconnect: the client does not reconnect by itself.
				s.Disconnect(t, "/", id, false)
				if r := c.wait("s", "disconnect").Str("reason"); r != "io server disconnect" {
					t.Errorf("client disconnect reason %q, want io server disconnect", r)
				}
				if r := s.WaitDisconnect(t, "/", id); r != "server namespace disconnect" {
					t.Errorf("server disconnect reason %q, want server namespace disconnect", r)
				}
				if st := c.call("state", "s"); st.Bool("connected") || st.Bool("active") {
					t.Errorf("state after Disconnect: %s", st)
				}
				// Without sockets left, the client closes its connection.
				waitEngineCount(t, s, 0)

				// It connects again when asked.
				c.call("connect", "s")
				id2 := c.wait("s", "connect").Str("id")
				if got, _ := s.Next(t, "/"); got != id2 || id2 == id {
					t.Fatalf("reconnected as %q (server %q), first id %q", id2, got, id)
				}

				// A lost connection: the client reconnects by itself.
				c.call("closeEngine", "s")
				if r := c.wait("s", "disconnect").Str("reason"); r != "transport close" {
					t.Errorf("client disconnect reason %q, want transport close", r)
				}
				if r := s.WaitDisconnect(t, "/", id2); r != "transport close" {
					t.Errorf("server disconnect reason %q after the connection was lost, want transport close", r)
				}
				c.wait("s", "reconnect")
				id3 := c.wait("s", "connect").Str("id")
				if got, _ := s.Next(t, "/"); got != id3 {
					t.Fatalf("reconnected as %q, server saw %q", id3, got)
				}

				// Socket.CloseConn: the socket is told, then the connection
				// closes; the client does not reconnect by itself.
				before := len(disconnects(c, "s"))
				s.Disconnect(t, "/", id3, true)
				if r := s.WaitDisconnect(t, "/", id3); r != "server namespace disconnect" {
					t.Errorf("server disconnect reason %q after CloseConn, want server namespace disconnect", r)
				}
				c.p.Wait(func(e nodeproc.Event) bool {
					return e.Type == "disconnect" && e.Str("socket") == "s" && e.Str("reason") == "io server disconnect"
				})
				waitEngineCount(t, s, 0)
				if st := c.call("state", "s"); st.Bool("connected") || st.Bool("active") {
					t.Errorf("state after CloseConn: %s", st)
				}
				c.call("connect", "s")
				id4 := c.wait("s", "connect").Str("id")
				if got, _ := s.Next(t, "/"); got != id4 {
					t.Fatalf("reconnected as %q after CloseConn, server saw %q", id4, got)
				}

				// The client saw one disconnection for CloseConn.
				if tr == "polling" {
				}
				if got := disconnects(c, "s")[before:]; !slices.Equal(got, []string{"io server disconnect"}) {
					t.Errorf("disconnect events for CloseConn: %q, want only io server disconnect", got)
				}
			})
		})
	}
}

// TestSIOTooManyAttachments sends an event with more binary attachments
// than the parsers accept (10, as socket.io-parser): the server closes the
// connection and the client reconnects.
func TestSIOTooManyAttachments(t *testing.T) {
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			forEachSIOServer(t, sioOpts{}, func(t *testing.T, s sioTarget) {
				c := startClient(t)
				c.dial("s", s.URL(), "/", nodeproc.M{"transports": []string{tr}, "reconnectionDelay": 50, "reconnectionDelayMax": 100})
				id, _ := s.Next(t, "/")
				ten := make([]any, 10)
				for i := range ten {
					ten[i] = binOf(fmt.Sprint(i))
				}
				c.emitAck("s", "ten", 0, "echo", ten...)
				jsonEqual(t, "ten attachments", c.ack("ten").Field("args"), ten)

				c.emit("s", "echo", append(ten, binOf("10"))...)
				// The official server reports "forced close"; ours tells why.
				want := "forced close"
				if _, ok := s.(*goTarget); ok {
					want = "parse error"
				}
				if r := s.WaitDisconnect(t, "/", id); r != want {
					t.Errorf("server disconnect reason %q, want %q", r, want)
				}
				if r := c.wait("s", "disconnect").Str("reason"); r != "transport close" {
					t.Errorf("client disconnect reason %q, want transport close", r)
				}
				c.wait("s", "connect")
				id2, _ := s.Next(t, "/")
				c.emitAck("s", "again", 0, "echo", "back")
				jsonEqual(t, "echo after reconnection", c.ack("again").Field("args"), []any{"back"})
				if id2 == id {
					t.Errorf("same id %s after reconnection", id)
				}
			})
		})
	}
}

// TestSIOConnectTimeout opens an Engine.IO connection with the client's
// Manager and joins no namespace: the server closes it after
// ConnectTimeout.
func TestSIOConnectTimeout(t *testing.T) {
	forEachSIOServer(t, sioOpts{ConnectTimeout: 300 * time.Millisecond}, func(t *testing.T, s sioTarget) {
		c := startClient(t)
		c.p.Call(nodeproc.M{"cmd": "eval", "code": `
			const { Manager } = await import("socket.io-client");
			const m = new Manager(` + "`" + s.URL() + "`" + `, { reconnection: false, transports: ["websocket"] });
			ctx.manager = m;
			m.on("open", () => ctx.out({ type: "managerOpen" }));
			m.on("close", (reason) => ctx.out({ type: "managerClose", reason }));
			m.open();`})
		c.p.Wait(nodeproc.Type("managerOpen"))
		start := time.Now()
		if r := c.p.Wait(nodeproc.Type("managerClose")).Str("reason"); r != "transport close" {
			t.Errorf("manager close reason %q, want transport close", r)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("closed after %v", d)
		}
		waitEngineCount(t, s, 0)
	})
}
