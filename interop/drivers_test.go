package interop

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/sio-go/socketio/interop/internal/nodeproc"
)

// The Socket.IO driver is proven here against the official socket.io server,
// so that later failures against our server point at our server.

func startSIOServer(t *testing.T, cfg nodeproc.M) (*nodeproc.Proc, string) {
	t.Helper()
	arg, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := nodeproc.Start(t, "sio-server.mjs", string(arg))
	return p, p.Wait(nodeproc.Type("listening")).Str("url")
}

// jsonEqual compares a JSON value with v marshalled.
func jsonEqual(t *testing.T, what string, raw json.RawMessage, v any) {
	t.Helper()
	var got, want any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%s: %v in %s", what, err, raw)
	}
	b, _ := json.Marshal(v)
	_ = json.Unmarshal(b, &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: %s, want %s", what, raw, b)
	}
}

func TestSIODriverAgainstNode(t *testing.T) {
	srv, url := startSIOServer(t, nodeproc.M{
		"namespaces": []string{"/", "/admin"},
		"reject":     nodeproc.M{"message": "unauthorized", "data": nodeproc.M{"reason": "bad token"}, "unlessToken": "secret"},
	})
	c := nodeproc.Start(t, "sio-client.mjs")
	on := func(typ, socket string) func(nodeproc.Event) bool { return nodeproc.On(typ, "socket", socket) }

	c.Call(nodeproc.M{"cmd": "open", "socket": "s1", "url": url, "opts": nodeproc.M{"auth": nodeproc.M{"token": "secret"}}})
	conn := c.Wait(on("connect", "s1"))
	id := conn.Str("id")
	sconn := srv.Wait(nodeproc.Type("connection"))
	if sconn.Str("id") != id || sconn.Str("nsp") != "/" {
		t.Fatalf("server saw %s, client %s", sconn, conn)
	}
	jsonEqual(t, "handshake auth", sconn.Field("auth"), nodeproc.M{"token": "secret"})

	// emit with ack, binary at several depths
	args := []any{"a", 1.5, nodeproc.Bin([]byte{0, 1, 2}), nodeproc.M{"nested": []any{nodeproc.Bin([]byte("xyz")), true, nil}}}
	c.Send(nodeproc.M{"cmd": "emit", "socket": "s1", "event": "echo", "args": args, "ack": true, "ackId": "e1"})
	jsonEqual(t, "echo ack", c.Wait(nodeproc.On("ack", "ackId", "e1")).Field("args"), args)
	ev := srv.Wait(func(e nodeproc.Event) bool { return e.Type == "event" && e.Str("name") == "echo" })
	jsonEqual(t, "server args", ev.Field("args"), args)

	// emit without ack: the server answers with an event
	c.Send(nodeproc.M{"cmd": "emit", "socket": "s1", "event": "echo", "args": []any{"plain"}, "volatile": true})
	ev = c.Wait(on("event", "s1"))
	if ev.Str("name") != "echo" || ev.Has("ackRef") {
		t.Errorf("echo event %s", ev)
	}
	jsonEqual(t, "echo event args", ev.Field("args"), []any{"plain"})

	// an ack the server never sends times out; one it sends arrives
	c.Send(nodeproc.M{"cmd": "emit", "socket": "s1", "event": "ignored", "args": []any{1}, "ack": true, "ackId": "t1", "timeout": 200})
	c.Send(nodeproc.M{"cmd": "emit", "socket": "s1", "event": "answered", "args": []any{2}, "ack": true, "ackId": "t2", "timeout": 5000})
	if e := c.Wait(nodeproc.On("ack", "ackId", "t1")); e.Has("args") || !e.Has("error") {
		t.Errorf("ack t1 %s, want a timeout error", e)
	}
	ans := srv.Wait(func(e nodeproc.Event) bool { return e.Type == "event" && e.Str("name") == "answered" })
	srv.Call(nodeproc.M{"cmd": "reply", "ackRef": ans.Int("ackRef"), "args": []any{"ok", nodeproc.Bin([]byte{9})}})
	jsonEqual(t, "ack t2", c.Wait(nodeproc.On("ack", "ackId", "t2")).Field("args"), []any{"ok", nodeproc.Bin([]byte{9})})

	// server to client with ack, answered by autoAck and by reply
	c.Call(nodeproc.M{"cmd": "autoAck", "socket": "s1", "event": "q", "echo": true})
	srv.Call(nodeproc.M{"cmd": "emit", "id": id, "event": "q", "args": []any{"x", nodeproc.Bin([]byte{1})}, "ack": true, "ackId": "sq", "timeout": 5000})
	jsonEqual(t, "server ack", srv.Wait(nodeproc.On("ack", "ackId", "sq")).Field("args"), []any{"x", nodeproc.Bin([]byte{1})})
	srv.Call(nodeproc.M{"cmd": "emit", "id": id, "event": "r", "args": []any{}, "ack": true, "ackId": "sr"})
	req := c.Wait(func(e nodeproc.Event) bool { return e.Type == "event" && e.Str("name") == "r" })
	c.Call(nodeproc.M{"cmd": "reply", "socket": "s1", "ackRef": req.Int("ackRef"), "args": []any{"fine"}})
	jsonEqual(t, "server ack r", srv.Wait(nodeproc.On("ack", "ackId", "sr")).Field("args"), []any{"fine"})

	// a refused namespace connection carries message and data
	c.Call(nodeproc.M{"cmd": "open", "socket": "s2", "url": url, "nsp": "/admin", "opts": nodeproc.M{"auth": nodeproc.M{"token": "wrong"}}})
	ce := c.Wait(on("connect_error", "s2"))
	var cerr struct {
		Message string         `json:"message"`
		Data    map[string]any `json:"data"`
	}
	if !ce.Decode("error", &cerr) || cerr.Message != "unauthorized" || cerr.Data["reason"] != "bad token" {
		t.Errorf("connect_error %s", ce)
	}

	// a lost transport reconnects
	c.Call(nodeproc.M{"cmd": "closeEngine", "socket": "s1"})
	if r := c.Wait(on("disconnect", "s1")).Str("reason"); r != "transport close" {
		t.Errorf("disconnect reason %q, want transport close", r)
	}
	c.Wait(on("reconnect", "s1"))
	id = c.Wait(on("connect", "s1")).Str("id")

	// the server disconnects the socket
	srv.Call(nodeproc.M{"cmd": "disconnect", "id": id})
	if r := c.Wait(on("disconnect", "s1")).Str("reason"); r != "io server disconnect" {
		t.Errorf("disconnect reason %q, want io server disconnect", r)
	}
	st := c.Call(nodeproc.M{"cmd": "state", "socket": "s1"})
	if st.Bool("connected") || st.Bool("active") {
		t.Errorf("state after server disconnect: %s", st)
	}
}

func TestSIODriverRecovery(t *testing.T) {
	srv, url := startSIOServer(t, nodeproc.M{"opts": nodeproc.M{"connectionStateRecovery": nodeproc.M{}}})
	c := nodeproc.Start(t, "sio-client.mjs")
	c.Call(nodeproc.M{"cmd": "open", "socket": "s", "url": url, "opts": nodeproc.M{"reconnectionDelay": 50}})
	first := c.Wait(nodeproc.Type("connect"))
	if first.Bool("recovered") {
		t.Fatalf("first connection recovered: %s", first)
	}
	srv.Wait(nodeproc.Type("connection"))
	// recovery needs the offset of a received event
	srv.Call(nodeproc.M{"cmd": "broadcast", "event": "before", "args": []any{1}})
	c.Wait(nodeproc.Type("event"))
	c.Call(nodeproc.M{"cmd": "closeEngine", "socket": "s"})
	c.Wait(nodeproc.Type("disconnect"))
	srv.Wait(nodeproc.Type("disconnect"))
	srv.Call(nodeproc.M{"cmd": "broadcast", "event": "missed", "args": []any{2}})
	again := c.Wait(nodeproc.Type("connect"))
	if !again.Bool("recovered") || again.Str("id") != first.Str("id") {
		t.Errorf("reconnection %s, want recovered with id %s", again, first.Str("id"))
	}
	if sc := srv.Wait(nodeproc.Type("connection")); !sc.Bool("recovered") {
		t.Errorf("server connection %s, want recovered", sc)
	}
	if ev := c.Wait(nodeproc.Type("event")); ev.Str("name") != "missed" {
		t.Errorf("after recovery got %s, want the missed event", ev)
	}
}
