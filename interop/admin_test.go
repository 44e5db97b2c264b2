package interop

import (
	"context"
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/admin"
	"github.com/sio-go/socketio/interop/internal/nodeproc"
)

// The Admin UI tests: our admin package against the official
// instrument() of @socket.io/admin-ui, seen by the official client as the
// UI sees them (node/admin.mjs).

const adminPassword = "s3cret"

func adminHash(t testing.TB) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(adminPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// startAdminGo runs our server instrumented as node/admin.mjs instruments
// its own: the same user, the same "hello" handler. adapter may be nil.
func startAdminGo(t testing.TB, hash, serverID string, adapter socketio.AdapterFactory) (*socketio.Server, string) {
	t.Helper()
	srv := socketio.NewServer(&socketio.Config{Adapter: adapter})
	if _, err := admin.Instrument(srv, admin.Config{
		Auth:     &admin.BasicAuth{Username: "admin", PasswordHash: hash},
		ServerID: serverID,
	}); err != nil {
		t.Fatal(err)
	}
	srv.OnConnect(func(s *socketio.Socket) {
		s.OnRaw("hello", func(context.Context, socketio.Args, socketio.AckFunc) {
			s.Join("lobby")
			_ = s.Emit("welcome", "lobby")
		})
	})
	return srv, serveGo(t, srv, srv, nil).URL
}

// uiEvent is an event a UI of node/admin.mjs received.
type uiEvent struct {
	Event string            `json:"event"`
	Args  []json.RawMessage `json:"args"`
}

func uiEvents(p *nodeproc.Proc, name string) func(nodeproc.Event) bool {
	return func(e nodeproc.Event) bool { return e.Type == "ui" && e.Str("name") == name }
}

func decodeUI(t testing.TB, e nodeproc.Event) uiEvent {
	t.Helper()
	var ev uiEvent
	if err := json.Unmarshal(e.Raw, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// waitUI returns the next event called event that UI name received and
// match accepts (nil: any).
func waitUI(t testing.TB, p *nodeproc.Proc, name, event string, match func(uiEvent) bool) uiEvent {
	t.Helper()
	var ev uiEvent
	p.Wait(func(e nodeproc.Event) bool {
		if !uiEvents(p, name)(e) {
			return false
		}
		ev = decodeUI(t, e)
		return ev.Event == event && (match == nil || match(ev))
	})
	return ev
}

// argIs matches events whose argument i is the JSON of v.
func argIs(i int, v any) func(uiEvent) bool {
	want, _ := json.Marshal(v)
	return func(ev uiEvent) bool { return i < len(ev.Args) && string(ev.Args[i]) == string(want) }
}

// keys returns the sorted keys of a JSON object.
func keys(t testing.TB, raw json.RawMessage) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return slices.Sorted(maps.Keys(m))
}

func field(t testing.TB, raw json.RawMessage, name string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return m[name]
}

var jsDateJSON = regexp.MustCompile(`^"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"$`)

// adminSession is what a UI saw of one session: a client connecting to the
// main namespace, saying hello, and leaving.
type adminSession struct {
	events map[string]uiEvent // the first of each name about the client
	names  []string           // names of the events about the client, in order
}

// runAdminSession logs a UI in at url (after a refused login), then
// connects a client, which says hello and leaves; it returns what the UI
// received.
func runAdminSession(t *testing.T, p *nodeproc.Proc, url, tag string) adminSession {
	t.Helper()
	bad := p.Call(nodeproc.M{"cmd": "ui", "name": tag + "-bad", "url": url,
		"auth": nodeproc.M{"username": "admin", "password": "wrong"}})
	if bad.Str("error") != "invalid credentials" {
		t.Fatalf("%s: wrong password: %s", tag, bad)
	}
	ui := tag + "-ui"
	if r := p.Call(nodeproc.M{"cmd": "ui", "name": ui, "url": url,
		"auth": nodeproc.M{"username": "admin", "password": adminPassword}}); r.Str("error") != "" {
		t.Fatalf("%s: login: %s", tag, r)
	}
	got := adminSession{events: map[string]uiEvent{}}
	keep := func(ev uiEvent) {
		if _, ok := got.events[ev.Event]; !ok {
			got.events[ev.Event] = ev
		}
		got.names = append(got.names, ev.Event)
	}
	for _, name := range []string{"session", "config", "all_sockets", "server_stats"} {
		keep(waitUI(t, p, ui, name, nil))
	}
	client := tag + "-client"
	id := p.Call(nodeproc.M{"cmd": "client", "name": client, "url": url}).Str("id")
	keep(waitUI(t, p, ui, "socket_connected", func(ev uiEvent) bool { return string(field(t, ev.Args[0], "id")) == `"`+id+`"` }))
	p.Call(nodeproc.M{"cmd": "emit", "name": client, "event": "hello", "args": []any{1, "two"}})
	keep(waitUI(t, p, ui, "event_received", argIs(1, id)))
	keep(waitUI(t, p, ui, "room_joined", argIs(1, "lobby")))
	keep(waitUI(t, p, ui, "event_sent", argIs(1, id)))
	p.Call(nodeproc.M{"cmd": "close", "name": client})
	keep(waitUI(t, p, ui, "socket_disconnected", argIs(1, id)))
	keep(waitUI(t, p, ui, "room_left", argIs(1, "lobby")))
	return got
}

// TestAdminEventsMatchNode compares what the official client, logged in as
// the Admin UI, receives from our server and from a Node server
// instrumented by instrument(): the same events, with the same arguments
// and fields.
func TestAdminEventsMatchNode(t *testing.T) {
	hash := adminHash(t)
	p := nodeproc.Start(t, "admin.mjs")
	nodeURL := p.Call(nodeproc.M{"cmd": "startServer", "hash": hash, "serverId": "node-1"}).Str("url")
	_, goURL := startAdminGo(t, hash, "go-1", nil)

	want := runAdminSession(t, p, nodeURL, "node")
	got := runAdminSession(t, p, goURL, "go")

	for name, w := range want.events {
		g := got.events[name]
		if len(g.Args) != len(w.Args) {
			t.Errorf("%s: %d arguments, Node sends %d: %s", name, len(g.Args), len(w.Args), g.Args)
			continue
		}
		for i := range w.Args {
			if jsDateJSON.Match(w.Args[i]) && !jsDateJSON.Match(g.Args[i]) {
				t.Errorf("%s argument %d: %s, want a date as Node writes it", name, i, g.Args[i])
			}
		}
	}
	equalJSON := func(what string, g, w json.RawMessage) {
		t.Helper()
		if string(g) != string(w) {
			t.Errorf("%s: %s, Node: %s", what, g, w)
		}
	}
	equalKeys := func(what string, g, w json.RawMessage) {
		t.Helper()
		if gk, wk := keys(t, g), keys(t, w); !slices.Equal(gk, wk) {
			t.Errorf("%s fields %v, Node: %v", what, gk, wk)
		}
	}
	equalJSON("config", got.events["config"].Args[0], want.events["config"].Args[0])
	equalKeys("server_stats", got.events["server_stats"].Args[0], want.events["server_stats"].Args[0])
	var gns, wns []json.RawMessage
	_ = json.Unmarshal(field(t, got.events["server_stats"].Args[0], "namespaces"), &gns)
	_ = json.Unmarshal(field(t, want.events["server_stats"].Args[0], "namespaces"), &wns)
	if len(gns) == 0 || len(wns) == 0 {
		t.Fatalf("namespaces %s / Node %s", gns, wns)
	}
	equalKeys("server_stats namespace", gns[0], wns[0])

	gs, ws := got.events["socket_connected"].Args[0], want.events["socket_connected"].Args[0]
	equalKeys("socket_connected socket", gs, ws)
	equalKeys("socket_connected handshake", field(t, gs, "handshake"), field(t, ws, "handshake"))
	for _, f := range []string{"nsp", "data", "transport"} {
		equalJSON("socket_connected "+f, field(t, gs, f), field(t, ws, f))
	}
	var gClientID string
	_ = json.Unmarshal(field(t, gs, "clientId"), &gClientID)
	if len(gClientID) != 12 {
		t.Errorf("clientId %q, want the engine id's first 12 characters", gClientID)
	}
	var gAll, wAll []json.RawMessage
	_ = json.Unmarshal(got.events["all_sockets"].Args[0], &gAll)
	_ = json.Unmarshal(want.events["all_sockets"].Args[0], &wAll)
	if len(gAll) != 1 || len(wAll) != 1 { // the UI itself
		t.Fatalf("all_sockets %s, Node: %s", gAll, wAll)
	}
	equalKeys("all_sockets socket", gAll[0], wAll[0])
	equalJSON("all_sockets nsp", field(t, gAll[0], "nsp"), field(t, wAll[0], "nsp"))

	for _, name := range []string{"event_received", "event_sent"} {
		equalJSON(name+" nsp", got.events[name].Args[0], want.events[name].Args[0])
		equalJSON(name+" args", got.events[name].Args[2], want.events[name].Args[2])
	}
	equalJSON("socket_disconnected reason", got.events["socket_disconnected"].Args[2], want.events["socket_disconnected"].Args[2])
}
