package interop

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/interop/internal/nodeproc"
)

// TestSIOCatchAll checks the catch-all listeners: the server's OnAny sees
// every event the client sends, OnAnyOutgoing every event sent to the
// socket (acknowledgements are not events), and the client's onAny every
// event of the server.
func TestSIOCatchAll(t *testing.T) {
	type out struct {
		name string
		args string
	}
	var mu sync.Mutex
	var outgoing []out
	var anyOrder []string
	s := startSIO(t, nil, func(srv *socketio.Server, _ *srvLog) {
		srv.OnConnect(func(sock *socketio.Socket) {
			sock.OnAnyOutgoing(func(ev string, args socketio.Args) {
				mu.Lock()
				outgoing = append(outgoing, out{ev, args.String()})
				mu.Unlock()
			})
			sock.OnAny(func(_ context.Context, ev string, _ socketio.Args) {
				mu.Lock()
				anyOrder = append(anyOrder, "any:"+ev)
				mu.Unlock()
			})
			sock.OnRaw("handled", func(_ context.Context, _ socketio.Args, ack socketio.AckFunc) {
				mu.Lock()
				anyOrder = append(anyOrder, "handler:handled")
				mu.Unlock()
				if ack != nil {
					_ = ack("ok")
				}
			})
		})
	})
	c := startClient(t)
	c.dial("s", s.URL(), "/", nil)
	sock := s.connected(t, "/")
	c.p.Call(nodeproc.M{"cmd": "autoAck", "socket": "s", "event": "asked", "args": []any{"yes"}})

	// incoming: with and without handler, ack or binary
	c.emit("s", "unhandled", "a", 1)
	c.emitAck("s", "h", 0, "handled", nodeproc.M{"k": "v"})
	c.emit("s", "bin", binOf("\x01\x02"), []any{binOf("x")})
	c.emit("s", "handled")
	jsonEqual(t, "handled ack", c.ack("h").Field("args"), []any{"ok"})
	seen := s.log.waitN(t, 4, wait, sType("event"))
	want := []struct{ name, args string }{
		{"unhandled", `["a",1]`},
		{"handled", `[{"k":"v"}]`},
		{"bin", `[{"_placeholder":true,"num":0},[{"_placeholder":true,"num":1}]]`},
		{"handled", `[]`},
	}
	for i, w := range want {
		if seen[i].Name != w.name || seen[i].Args.String() != w.args {
			t.Errorf("OnAny event %d: %s, want %s %s", i, seen[i], w.name, w.args)
		}
	}
	if b, ok := seen[2].Args.Binary(0); !ok || string(b) != "\x01\x02" {
		t.Errorf("OnAny binary argument %q, %v", b, ok)
	}

	// outgoing: direct, broadcast, volatile, with ack, and the echo handler
	ctx := testCtx(t, wait)
	if err := sock.Emit("direct", 1); err != nil {
		t.Fatal(err)
	}
	if err := s.srv.Emit(ctx, "bc", "all"); err != nil {
		t.Fatal(err)
	}
	if err := s.srv.Of("/").To(sock.ID()).Emit(ctx, "room", []byte("r")); err != nil {
		t.Fatal(err)
	}
	if _, err := sock.EmitWithAck(ctx, "asked", "q"); err != nil {
		t.Fatal(err)
	}
	c.emit("s", "echo", "back")
	for _, name := range []string{"direct", "bc", "room", "asked", "echo"} {
		c.event("s", name)
	}
	// client onAny: every server event, in order
	var names []string
	for _, e := range c.p.Events(nodeproc.On("event", "socket", "s")) {
		names = append(names, e.Str("name"))
	}
	if wantNames := []string{"direct", "bc", "room", "asked", "echo"}; !slices.Equal(names, wantNames) {
		t.Errorf("client onAny saw %v, want %v", names, wantNames)
	}

	mu.Lock()
	defer mu.Unlock()
	wantOut := []out{
		{"direct", `[1]`},
		{"bc", `["all"]`},
		{"room", `[{"_placeholder":true,"num":0}]`},
		{"asked", `["q"]`},
		{"echo", `["back"]`},
	}
	if !slices.Equal(outgoing, wantOut) {
		t.Errorf("OnAnyOutgoing saw %v, want %v", outgoing, wantOut)
	}
	wantOrder := []string{"any:unhandled", "any:handled", "handler:handled", "any:bin", "any:handled", "handler:handled", "any:echo"}
	if !slices.Equal(anyOrder, wantOrder) {
		t.Errorf("OnAny and handler order %v, want %v", anyOrder, wantOrder)
	}
}

// TestSIOCatchAllBeforeMiddlewares sends an event a socket middleware
// refuses: it is not handled, and the catch-all listener sees it, since it
// runs before the middlewares. The official server never acknowledges it
// (the client's timeout fires); ours tells the client why, in the
// acknowledgement's error shape.
func TestSIOCatchAllBeforeMiddlewares(t *testing.T) {
	forEachSIOServer(t, sioOpts{RejectEvents: []string{"forbidden"}}, func(t *testing.T, s sioTarget) {
		c := startClient(t)
		c.dial("s", s.URL(), "/", nil)
		id, _ := s.Next(t, "/")
		c.emitAck("s", "f", 300*time.Millisecond, "forbidden", 1)
		ev := c.ack("f")
		if _, ours := s.(*goTarget); ours {
			jsonEqual(t, "refusal", ev.Field("args"),
				[]any{map[string]any{"error": map[string]any{"code": "refused", "message": "refused forbidden"}}})
		} else if !ev.Has("error") {
			t.Errorf("refused event acknowledged: %s", ev)
		}
		c.emitAck("s", "e", 0, "echo", "ok")
		jsonEqual(t, "echo", c.ack("e").Field("args"), []any{"ok"})
		names := s.CatchAll(t, "/", id, "echo")
		if !slices.Equal(names, []string{"forbidden", "echo"}) {
			t.Errorf("catch-all saw %v, want [forbidden echo]", names)
		}
	})
}
