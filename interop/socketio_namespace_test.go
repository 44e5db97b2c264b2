package interop

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/interop/internal/nodeproc"
)

// TestSIONamespaces multiplexes a static namespace and dynamic ones (OfRegexp
// and OfFunc) with the main one on one connection of socket.io-client.
func TestSIONamespaces(t *testing.T) {
	var mu sync.Mutex
	var created []string
	var dyn, fn *socketio.ParentNamespace
	whoami := func(s *socketio.Socket) {
		socketio.OnAck(s, "whoami", func(context.Context, struct{}) (string, error) {
			return s.Namespace().Name(), nil
		})
	}
	s := startSIO(t, nil, func(srv *socketio.Server, log *srvLog) {
		srv.OnNamespace(func(n *socketio.Namespace) {
			mu.Lock()
			created = append(created, n.Name())
			mu.Unlock()
		})
		srv.OnConnect(whoami)
		chat := srv.Of("/chat")
		instrument(chat, log)
		chat.OnConnect(whoami)
		dyn = srv.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`))
		instrument(dyn, log)
		dyn.OnConnect(whoami)
		fn = srv.OfFunc(func(_ context.Context, name string, auth json.RawMessage) bool {
			var a struct {
				Token string `json:"token"`
			}
			_ = json.Unmarshal(auth, &a)
			return strings.HasPrefix(name, "/fn-") && a.Token == "let-me-in"
		})
		instrument(fn, log)
		fn.OnConnect(whoami)
	})
	c := startClient(t)
	sockets := map[string]string{"main": "/", "chat": "/chat", "dyn": "/dyn-42", "fn": "/fn-x"}
	names := []string{"main", "chat", "dyn", "fn"}
	for _, name := range names {
		opts := nodeproc.M{}
		if name == "fn" {
			opts["auth"] = nodeproc.M{"token": "let-me-in"}
		}
		c.open(name, s.URL(), sockets[name], opts)
	}
	ids := map[string]string{}
	for _, name := range names {
		ids[name] = c.wait(name, "connect").Str("id")
		if sock := s.connected(t, sockets[name]); sock.ID() != ids[name] {
			t.Errorf("%s: server socket %s, client %s", name, sock.ID(), ids[name])
		}
	}

	// One Engine.IO connection carries them all.
	if n := s.srv.Engine().ClientsCount(); n != 1 {
		t.Errorf("Engine().ClientsCount() = %d, want 1", n)
	}
	var engineIDs []string
	c.p.Call(nodeproc.M{"cmd": "eval", "code": `
		return [...ctx.sockets.values()].map((s) => s.socket.io.engine.id);`}).Decode("value", &engineIDs)
	if len(engineIDs) != 4 || engineIDs[0] == "" || len(slices.Compact(slices.Clone(engineIDs))) != 1 {
		t.Errorf("engine ids of the client sockets %v, want 4 times the same", engineIDs)
	}

	for _, name := range names {
		c.emitAck(name, "who-"+name, 0, "whoami")
	}
	for _, name := range names {
		jsonEqual(t, name+" whoami", c.ack("who-"+name).Field("args"), []any{sockets[name]})
	}

	// The dynamic children exist, with their parent's handlers.
	mu.Lock()
	gotCreated := slices.Clone(created)
	mu.Unlock()
	for _, nsp := range []string{"/chat", "/dyn-42", "/fn-x"} {
		if !slices.Contains(gotCreated, nsp) {
			t.Errorf("OnNamespace saw %v, want %s among them", gotCreated, nsp)
		}
	}
	if ch := dyn.Children(); len(ch) != 1 || ch[0].Name() != "/dyn-42" {
		t.Errorf("OfRegexp children %v", ch)
	}
	if ch := fn.Children(); len(ch) != 1 || ch[0].Name() != "/fn-x" {
		t.Errorf("OfFunc children %v", ch)
	}

	// Broadcasts stay in their namespace. The packets of one connection
	// arrive in order, so once every socket has its marker, a stray event
	// would have arrived.
	ctx := testCtx(t, wait)
	if err := s.srv.Of("/chat").Emit(ctx, "news", "chat only"); err != nil {
		t.Fatal(err)
	}
	if err := dyn.Emit(ctx, "kids", "dyn children"); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if err := s.srv.Of(sockets[name]).Emit(ctx, "marker"); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range names {
		c.event(name, "marker")
	}
	jsonEqual(t, "chat news", c.event("chat", "news").Field("args"), []any{"chat only"})
	jsonEqual(t, "dyn kids", c.event("dyn", "kids").Field("args"), []any{"dyn children"})
	noMore(t, c.p, "namespaces", func(e nodeproc.Event) bool {
		return e.Type == "event" && (e.Str("name") == "news" || e.Str("name") == "kids")
	})

	// Refused namespaces: unknown, not matching the regexp, refused by the
	// function.
	for name, nsp := range map[string]string{"nope": "/nope", "dynbad": "/dyn-x", "fnbad": "/fn-y"} {
		c.open(name, s.URL(), nsp, nodeproc.M{"auth": nodeproc.M{"token": "wrong"}})
		var ce struct {
			Message string `json:"message"`
		}
		if ev := c.wait(name, "connect_error"); !ev.Decode("error", &ce) || ce.Message != "Invalid namespace" {
			t.Errorf("%s: connect_error %s, want Invalid namespace", nsp, ev)
		}
	}

	// Leaving one namespace keeps the others and the connection.
	c.call("disconnect", "chat")
	if ev := s.log.wait(t, sType("disconnect")); ev.Nsp != "/chat" || ev.Reason != "client namespace disconnect" {
		t.Errorf("server saw %s, want /chat left by the client", ev)
	}
	for _, name := range []string{"main", "dyn", "fn"} {
		c.emitAck(name, "echo-"+name, 0, "echo", name)
		jsonEqual(t, name+" echo after /chat left", c.ack("echo-"+name).Field("args"), []any{name})
	}
	if n := s.srv.Engine().ClientsCount(); n != 1 {
		t.Errorf("Engine().ClientsCount() = %d after leaving /chat, want 1", n)
	}

	// The server ends one namespace's socket: the others stay.
	dynSock := s.srv.Of("/dyn-42").Socket(ids["dyn"])
	if dynSock == nil {
		t.Fatal("no socket in /dyn-42")
	}
	dynSock.Disconnect()
	if r := c.wait("dyn", "disconnect").Str("reason"); r != "io server disconnect" {
		t.Errorf("dyn disconnect reason %q, want io server disconnect", r)
	}
	for _, name := range []string{"main", "fn"} {
		c.emitAck(name, "echo2-"+name, 0, "echo", name)
		jsonEqual(t, name+" echo after /dyn-42 ended", c.ack("echo2-"+name).Field("args"), []any{name})
	}
	if n := s.srv.Engine().ClientsCount(); n != 1 {
		t.Errorf("Engine().ClientsCount() = %d after ending /dyn-42, want 1", n)
	}

	// A connection may join a namespace without the main one.
	solo := c.dial("solo", s.URL(), "/chat", nodeproc.M{"forceNew": true})
	if sock := s.connected(t, "/chat"); sock.ID() != solo.Str("id") {
		t.Errorf("solo: server socket %s, client %s", sock.ID(), solo.Str("id"))
	}
	c.emitAck("solo", "who-solo", 0, "whoami")
	jsonEqual(t, "solo whoami", c.ack("who-solo").Field("args"), []any{"/chat"})
	if n := len(s.srv.Of("/").Sockets()); n != 1 {
		t.Errorf("%d sockets in /, want 1", n)
	}
}
