package interop

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/interop/internal/nodeproc"
)

// TestSIOAuthAndMiddleware checks the auth payload and query the server
// receives, and the refusal of a connection by a middleware: the client sees
// the message and the data of the CONNECT_ERROR.
func TestSIOAuthAndMiddleware(t *testing.T) {
	s := startSIO(t, nil, func(srv *socketio.Server, log *srvLog) {
		srv.Use(func(_ context.Context, sock *socketio.Socket) error {
			var auth struct {
				Token string `json:"token"`
			}
			if err := json.Unmarshal(sock.Handshake().Auth, &auth); err != nil {
				return err
			}
			switch auth.Token {
			case "secret":
				sock.SetData("admitted by the middleware")
				// sent before the CONNECT: the client delivers it after
				return sock.Emit("welcome", "early")
			case "plain":
				return errors.New("plain refusal")
			}
			return &socketio.ConnectError{Message: "unauthorized",
				Data: map[string]any{"reason": "bad token", "code": 401, "list": []int{1, 2}}}
		})
	})
	c := startClient(t)

	auth := nodeproc.M{"token": "secret", "user": nodeproc.M{"name": "ana", "tags": []any{"a", "b"}}, "n": 3}
	conn := c.dial("ok", s.URL(), "/", nodeproc.M{"auth": auth, "query": nodeproc.M{"room": "blue"}})
	sock := s.connected(t, "/")
	jsonEqual(t, "handshake auth", sock.Handshake().Auth, auth)
	if q := sock.Handshake().Query.Get("room"); q != "blue" {
		t.Errorf("handshake query room=%q, want blue", q)
	}
	if d, err := socketio.DataAs[string](sock.Data()); err != nil || d != "admitted by the middleware" {
		t.Errorf("Data() = %v after the middleware", d)
	}
	// socket.io-client buffers it until the CONNECT, then delivers it.
	jsonEqual(t, "welcome args", c.event("ok", "welcome").Field("args"), []any{"early"})
	if conn.Str("id") != sock.ID() {
		t.Errorf("client id %q, server id %q", conn.Str("id"), sock.ID())
	}

	type connectErr struct {
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	}
	c.open("bad", s.URL(), "/", nodeproc.M{"auth": nodeproc.M{"token": "nope"}})
	var ce connectErr
	if ev := c.wait("bad", "connect_error"); !ev.Decode("error", &ce) || ce.Message != "unauthorized" {
		t.Fatalf("connect_error %s, want message unauthorized", ev)
	}
	jsonEqual(t, "connect_error data", ce.Data, map[string]any{"reason": "bad token", "code": 401, "list": []int{1, 2}})

	c.open("plain", s.URL(), "/", nodeproc.M{"auth": nodeproc.M{"token": "plain"}})
	ce = connectErr{}
	if ev := c.wait("plain", "connect_error"); !ev.Decode("error", &ce) || ce.Message != "plain refusal" || len(ce.Data) != 0 {
		t.Errorf("connect_error %s, want message plain refusal without data", ev)
	}
	// A refused socket does not reconnect by itself…
	if st := c.call("state", "bad"); st.Bool("connected") || st.Bool("active") {
		t.Errorf("refused socket state %s", st)
	}
	// …but connects when asked again with a valid token.
	c.p.Call(nodeproc.M{"cmd": "eval", "code": `
		const s = ctx.sockets.get("bad").socket;
		s.auth = { token: "secret" };
		s.connect();`})
	again := c.wait("bad", "connect")
	if sock2 := s.connected(t, "/"); sock2.ID() != again.Str("id") {
		t.Errorf("server socket %s, client %s", sock2.ID(), again.Str("id"))
	}

	// Only the admitted sockets reached the server.
	if n := len(s.srv.Of("/").Sockets()); n != 2 {
		t.Errorf("%d sockets connected, want 2", n)
	}
	if evs := s.log.all(sType("connect")); len(evs) != 2 {
		t.Errorf("%d connect handlers ran, want 2", len(evs))
	}
}
