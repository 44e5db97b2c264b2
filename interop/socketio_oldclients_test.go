package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/interop/internal/nodeproc"
)

// The official socket.io-client 2.x and 3.x against our server.
//
// What each speaks (read from the packages installed in node_modules):
//
//   - socket.io-client 2.5.0: engine.io-client 3.5 (Engine.IO v3: EIO=3,
//     length-prefixed polling payloads, client pings) and socket.io-parser
//     3.3 (Socket.IO v4: no CONNECT for "/", namespace query instead of
//     auth). In Node.js its XMLHttpRequest has no responseType, so it asks
//     for base64 binary on polling (b64=1); over WebSocket (ws) it sends
//     binary frames led by the type byte 4. Needs AllowEIO3.
//   - socket.io-client 3.1.3: engine.io-client 4.1 and socket.io-parser 4.0:
//     Engine.IO v4 and Socket.IO v5, as the 4.x client. No AllowEIO3 needed.

type oldClient struct {
	name   string
	script string
	args   []string
	eio3   bool // speaks Engine.IO v3: needs AllowEIO3
}

var oldClients = []oldClient{
	{"v2", "sio2-client.mjs", nil, true},
	{"v3", "sio-client.mjs", []string{"socket.io-client-v3"}, false},
}

func (o oldClient) start(t testing.TB) *sioClient {
	t.Helper()
	return &sioClient{p: nodeproc.Start(t, o.script, o.args...)}
}

// config returns cfg (nil for the defaults) with AllowEIO3 set for a v2
// client.
func (o oldClient) config(cfg *socketio.Config) *socketio.Config {
	if cfg == nil {
		cfg = &socketio.Config{}
	}
	cfg.Engine.AllowEIO3 = o.eio3
	return cfg
}

// eio is the EIO query parameter the client sends.
func (o oldClient) eio() string {
	if o.eio3 {
		return "3"
	}
	return "4"
}

// forOldClients runs f as a subtest for each old client.
func forOldClients(t *testing.T, f func(t *testing.T, o oldClient)) {
	for _, o := range oldClients {
		t.Run(o.name, func(t *testing.T) { f(t, o) })
	}
}

func TestOldClientTransports(t *testing.T) {
	forOldClients(t, func(t *testing.T, o oldClient) {
		for _, tc := range []struct {
			name       string
			transports []string
			first      string
			final      string
			base64     bool // forceBase64: binary as base64 text
		}{
			{"polling", []string{"polling"}, "polling", "polling", false},
			{"websocket", []string{"websocket"}, "websocket", "websocket", false},
			{"upgrade", []string{"polling", "websocket"}, "polling", "websocket", false},
			{"websocket-base64", []string{"websocket"}, "websocket", "websocket", true},
			{"upgrade-base64", []string{"polling", "websocket"}, "polling", "websocket", true},
		} {
			if tc.base64 && !o.eio3 {
				// Not served yet: an Engine.IO v4 client with forceBase64
				// sends binary over WebSocket as "b<base64>" text frames.
				continue
			}
			t.Run(tc.name, func(t *testing.T) {
				s := startSIO(t, o.config(nil), nil)
				c := o.start(t)
				conn := c.dial("s", s.URL(), "/", nodeproc.M{"transports": tc.transports, "forceBase64": tc.base64})
				sock := s.connected(t, "/")
				if sock.ID() != conn.Str("id") {
					t.Errorf("client id %q, server id %q", conn.Str("id"), sock.ID())
				}
				if q := sock.Handshake().Query; q.Get("transport") != tc.first || q.Get("EIO") != o.eio() {
					t.Errorf("handshake query %v", q)
				}
				if tc.final != tc.first {
					if up := c.wait("s", "upgrade"); up.Str("transport") != tc.final {
						t.Fatalf("upgraded to %q, want %q", up.Str("transport"), tc.final)
					}
				}

				// client → server with acknowledgement; non-ASCII text
				// (a surrogate pair included) and binary both ways
				args := []any{"héllo ✓ 😀", 42.5, nil, []any{1, "two"}, nodeproc.M{"k": true, "b": binOf("\x00\xff")}, binOf("\x00\x01\xff")}
				c.emitAck("s", "a1", 0, "echo", args...)
				jsonEqual(t, "ack", c.ack("a1").Field("args"), args)
				if ev := s.log.wait(t, sEvent("echo")); ev.ID != sock.ID() || ev.Args.Len() != len(args) {
					t.Errorf("server saw %s", ev)
				} else if b, ok := ev.Args.Binary(5); !ok || string(b) != "\x00\x01\xff" {
					t.Errorf("binary argument %q", b)
				}

				// client → server, server → client
				c.emit("s", "echo", "plain", binOf("b"))
				jsonEqual(t, "echo event", c.event("s", "echo").Field("args"), []any{"plain", binOf("b")})

				// server → client with acknowledgement, binary both ways
				c.p.Call(nodeproc.M{"cmd": "autoAck", "socket": "s", "event": "q", "echo": true})
				reply, err := sock.EmitWithAck(testCtx(t, wait), "q", "x", []byte{1, 2})
				if err != nil {
					t.Fatal(err)
				}
				if b, ok := reply.Binary(1); reply.Len() != 2 || !ok || string(b) != "\x01\x02" {
					t.Errorf("ack from the client %s", reply)
				}

				// a stream of server events arrives in order
				const n = 50
				for i := range n {
					if err := sock.Emit("tick", i, strings.Repeat("é", i)); err != nil {
						t.Fatal(err)
					}
				}
				for i, ev := range c.events("s", "tick", n) {
					jsonEqual(t, fmt.Sprint("tick ", i), ev.Field("args"), []any{i, strings.Repeat("é", i)})
				}
				if st := c.call("state", "s"); st.Str("transport") != tc.final || !st.Bool("connected") {
					t.Errorf("client state %s, want connected over %s", st, tc.final)
				}

				c.call("disconnect", "s")
				if r := s.log.wait(t, sType("disconnect")).Reason; r != socketio.ReasonClientNamespaceDisconnect {
					t.Errorf("server disconnect reason %q", r)
				}
				if r := c.wait("s", "disconnect").Str("reason"); r != "io client disconnect" {
					t.Errorf("client disconnect reason %q", r)
				}
			})
		}
	})
}

func TestOldClientNamespaces(t *testing.T) {
	forOldClients(t, func(t *testing.T, o oldClient) {
		s := startSIO(t, o.config(nil), func(srv *socketio.Server, log *srvLog) {
			admin := srv.Of("/admin")
			admin.Use(func(ctx context.Context, s *socketio.Socket) error {
				var auth struct{ Token string }
				_ = json.Unmarshal(s.Handshake().Auth, &auth)
				switch auth.Token {
				case "secret":
					return nil
				case "data":
					return &socketio.ConnectError{Message: "unauthorized", Data: map[string]string{"reason": "bad token"}}
				}
				return &socketio.ConnectError{Message: "unauthorized"}
			})
			instrument(admin, log)
		})
		// v2 puts the namespace's query in the URL; v3 has auth.
		withToken := func(tok string) (string, nodeproc.M) {
			if o.eio3 {
				return "/admin?token=" + tok, nodeproc.M{}
			}
			return "/admin", nodeproc.M{"auth": nodeproc.M{"token": tok}}
		}
		c := o.start(t)
		nsp, opts := withToken("secret")
		conn := c.dial("a", s.URL(), nsp, opts)
		sock := s.connected(t, "/admin")
		if sock.ID() != conn.Str("id") {
			t.Errorf("client id %q, server id %q", conn.Str("id"), sock.ID())
		}
		jsonEqual(t, "auth", sock.Handshake().Auth, nodeproc.M{"token": "secret"})
		if o.eio3 {
			// the v2 client is in "/" too, without having asked
			s.connected(t, "/")
		}
		c.emitAck("a", "k", 0, "echo", "in admin")
		jsonEqual(t, "ack in /admin", c.ack("k").Field("args"), []any{"in admin"})
		if ev := s.log.wait(t, sEvent("echo")); ev.Nsp != "/admin" {
			t.Errorf("event in %s", ev.Nsp)
		}

		// refused by the middleware: v2 gets the data, else the message;
		// v3 gets both
		for _, tc := range []struct {
			tok     string
			message string
			data    any
		}{{"wrong", "unauthorized", nil}, {"data", "unauthorized", map[string]any{"reason": "bad token"}}} {
			name := "r" + tc.tok
			nsp, opts := withToken(tc.tok)
			opts["forceNew"] = true
			c.open(name, s.URL(), nsp, opts)
			if o.eio3 {
				var want any = tc.message
				if tc.data != nil {
					want = tc.data
				}
				jsonEqual(t, "refusal", c.wait(name, "error").Field("error"), want)
				continue
			}
			var cerr struct {
				Message string `json:"message"`
				Data    any    `json:"data"`
			}
			if ev := c.wait(name, "connect_error"); !ev.Decode("error", &cerr) || cerr.Message != tc.message {
				t.Errorf("connect_error %s", ev)
			} else if tc.data != nil {
				jsonEqual(t, "refusal data", mustMarshal(t, cerr.Data), tc.data)
			}
		}

		// a namespace that does not exist
		c.open("x", s.URL(), "/nope", nodeproc.M{"forceNew": true})
		if o.eio3 {
			jsonEqual(t, "invalid namespace", c.wait("x", "error").Field("error"), nodeproc.M{"message": "Invalid namespace"})
		} else if ev := c.wait("x", "connect_error"); !strings.Contains(ev.String(), "Invalid namespace") {
			t.Errorf("connect_error %s", ev)
		}

		// leaving /admin keeps the connection
		c.call("disconnect", "a")
		if ev := s.log.wait(t, sOn("disconnect", "/admin")); ev.Reason != socketio.ReasonClientNamespaceDisconnect {
			t.Errorf("disconnect %s", ev)
		}
	})
}

func TestOldClientRooms(t *testing.T) {
	forOldClients(t, func(t *testing.T, o oldClient) {
		s := startSIO(t, o.config(nil), func(srv *socketio.Server, _ *srvLog) {
			srv.OnConnect(func(s *socketio.Socket) {
				s.OnRaw("join", func(_ context.Context, args socketio.Args, ack socketio.AckFunc) {
					var room string
					_ = args.Decode(0, &room)
					s.Join(room)
					_ = ack()
				})
				s.OnRaw("shout", func(ctx context.Context, args socketio.Args, _ socketio.AckFunc) {
					_ = s.Broadcast().Emit(ctx, "shout", args.Values()...)
				})
			})
		})
		c := o.start(t)
		names := []string{"a", "b", "c"}
		for _, n := range names {
			c.dial(n, s.URL(), "/", nodeproc.M{"forceNew": true, "transports": []string{"websocket"}})
			s.connected(t, "/")
		}
		for _, n := range names[:2] {
			c.emitAck(n, "j"+n, 0, "join", "r1")
			c.ack("j" + n)
		}
		if err := s.srv.To("r1").Emit(context.Background(), "news", "for r1", []byte{9}); err != nil {
			t.Fatal(err)
		}
		if err := s.srv.Of("/").Emit(context.Background(), "news", "for all"); err != nil {
			t.Fatal(err)
		}
		for _, n := range names[:2] {
			jsonEqual(t, "room news", c.event(n, "news").Field("args"), []any{"for r1", binOf("\x09")})
		}
		for _, n := range names {
			jsonEqual(t, "news for all", c.event(n, "news").Field("args"), []any{"for all"})
		}
		noMore(t, c.p, "c got the room's news", func(e nodeproc.Event) bool {
			return e.Type == "event" && e.Str("socket") == "c" && strings.Contains(e.String(), "for r1")
		})
		// broadcast from a socket: everyone else
		c.emit("a", "shout", "hi")
		for _, n := range names[1:] {
			jsonEqual(t, "shout", c.event(n, "shout").Field("args"), []any{"hi"})
		}
		c.emitAck("a", "marker", 0, "echo")
		c.ack("marker")
		noMore(t, c.p, "the sender got its broadcast", func(e nodeproc.Event) bool {
			return e.Type == "event" && e.Str("socket") == "a" && e.Str("name") == "shout"
		})
	})
}

func TestOldClientDisconnectAndReconnect(t *testing.T) {
	forOldClients(t, func(t *testing.T, o oldClient) {
		for _, transport := range []string{"polling", "websocket"} {
			t.Run(transport, func(t *testing.T) {
				s := startSIO(t, o.config(nil), nil)
				c := o.start(t)
				opts := nodeproc.M{"transports": []string{transport}, "reconnectionDelay": 50, "reconnectionDelayMax": 100}
				id := c.dial("s", s.URL(), "/", opts).Str("id")
				s.connected(t, "/")

				// a lost transport: the client reconnects with a new session
				c.call("closeEngine", "s")
				if r := c.wait("s", "disconnect").Str("reason"); r != "transport close" {
					t.Errorf("client disconnect reason %q", r)
				}
				if r := s.log.wait(t, sType("disconnect")).Reason; r != socketio.ReasonTransportClose {
					t.Errorf("server disconnect reason %q", r)
				}
				c.wait("s", "reconnect")
				id2 := c.wait("s", "connect").Str("id")
				sock := s.connected(t, "/")
				if id2 == id || sock.ID() != id2 {
					t.Errorf("ids: first %q, after reconnecting %q, server %q", id, id2, sock.ID())
				}
				c.emitAck("s", "after", 0, "echo", "again")
				jsonEqual(t, "ack after reconnecting", c.ack("after").Field("args"), []any{"again"})

				// the server disconnects the socket: the client stays away
				// until told to connect
				sock.Disconnect()
				if r := c.wait("s", "disconnect").Str("reason"); r != "io server disconnect" {
					t.Errorf("client reason %q, want io server disconnect", r)
				}
				if r := s.log.wait(t, sType("disconnect")).Reason; r != socketio.ReasonServerNamespaceDisconnect {
					t.Errorf("server reason %q", r)
				}
				if st := c.call("state", "s"); st.Bool("connected") {
					t.Errorf("state after the server's disconnect %s", st)
				}
				c.call("connect", "s")
				id3 := c.wait("s", "connect").Str("id")
				if sock := s.connected(t, "/"); sock.ID() != id3 {
					t.Errorf("client id %q, server id %q", id3, sock.ID())
				}
				c.emitAck("s", "back", 0, "echo", "back")
				jsonEqual(t, "ack after connecting again", c.ack("back").Field("args"), []any{"back"})
			})
		}
	})
}

// TestOldClientHeartbeat runs several heartbeats with a short interval,
// over each transport: the v2 client pings and our server answers; the v3
// client answers our pings. Then a client that stops pinging (v2) times
// out on our server.
func TestOldClientHeartbeat(t *testing.T) {
	forOldClients(t, func(t *testing.T, o oldClient) {
		for _, transport := range []string{"polling", "websocket"} {
			t.Run(transport, func(t *testing.T) {
				cfg := o.config(&socketio.Config{Engine: engineio.Config{
					PingInterval: 100 * time.Millisecond, PingTimeout: 200 * time.Millisecond}})
				s := startSIO(t, cfg, nil)
				c := o.start(t)
				c.dial("s", s.URL(), "/", nodeproc.M{"transports": []string{transport}, "reconnection": false})
				s.connected(t, "/")
				// the Engine.IO packets the client receives
				c.p.Call(nodeproc.M{"cmd": "eval", "code": `
					ctx.sockets.get("s").socket.io.engine.on("packet", (p) =>
						ctx.out({ type: "packet", socket: "s", packet: p.type }));`})
				received := func(typ string) func(nodeproc.Event) bool {
					return func(e nodeproc.Event) bool { return e.Type == "packet" && e.Str("packet") == typ }
				}
				const cycles = 5
				if o.eio3 {
					// our pongs answer the client's pings; we never ping
					c.p.WaitN(cycles, wait, received("pong"))
					if ev, ok := c.p.Poll(0, received("ping")); ok {
						t.Errorf("the server pinged a v3 client: %s", ev)
					}
				} else {
					c.p.WaitN(cycles, wait, received("ping"))
				}
				c.emitAck("s", "alive", 0, "echo", 1)
				c.ack("alive")
				noMore(t, c.p, "disconnected", nodeproc.On("disconnect", "socket", "s"))
				if !o.eio3 {
					return
				}

				// the client stops pinging: our server closes the session
				// PingInterval+PingTimeout after its last ping
				c.p.Call(nodeproc.M{"cmd": "eval", "code": `
					const e = ctx.sockets.get("s").socket.io.engine;
					e.ping = () => {};
					e.setPing = () => {};
					e.onHeartbeat = () => {};
					clearTimeout(e.pingIntervalTimer);
					clearTimeout(e.pingTimeoutTimer);`})
				if r := s.log.wait(t, sType("disconnect")).Reason; r != socketio.ReasonPingTimeout {
					t.Errorf("server reason %q, want ping timeout", r)
				}
			})
		}
	})
}

// TestEIO3RefusedByDefault: without AllowEIO3, a v2 client is refused with
// the official error, on both transports, and never connects.
func TestEIO3RefusedByDefault(t *testing.T) {
	for _, transport := range []string{"polling", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			errs := make(chan *engineio.ConnectionError, 16)
			s := startSIO(t, &socketio.Config{Engine: engineio.Config{
				OnConnectionError: func(e *engineio.ConnectionError) { errs <- e }}}, nil)
			c := oldClients[0].start(t)
			c.open("s", s.URL(), "/", nodeproc.M{"transports": []string{transport}, "reconnection": false})
			c.wait("s", "connect_error")
			select {
			case e := <-errs:
				if e.Code != engineio.ErrUnsupportedProtocol || e.Message != "Unsupported protocol version" ||
					e.Request.URL.Query().Get("EIO") != "3" {
					t.Errorf("connection error %+v", e)
				}
			case <-time.After(wait):
				t.Fatal("no connection error reported")
			}
			if st := c.call("state", "s"); st.Bool("connected") {
				t.Errorf("state %s", st)
			}
			if n := s.srv.Engine().ClientsCount(); n != 0 {
				t.Errorf("%d sessions", n)
			}
		})
	}
	// the body Node sends
	s := startSIO(t, nil, nil)
	res := do(t, "GET", s.URL()+"/socket.io/?EIO=3&transport=polling", nil, "")
	if res.status != 400 || res.body != `{"code":5,"message":"Unsupported protocol version"}` {
		t.Errorf("EIO=3: %d %q", res.status, res.body)
	}
}

func mustMarshal(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
