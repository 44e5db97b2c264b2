package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/admin"
	"github.com/sio-go/socketio/internal/testutil"
	"github.com/sio-go/socketio/sioclient"
)

func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }

// event is an event the UI received, its arguments as JSON.
type event struct {
	name string
	args []json.RawMessage
}

func (e event) arg(t testing.TB, i int, v any) {
	t.Helper()
	if i >= len(e.args) {
		t.Fatalf("%s has %d arguments, want argument %d", e.name, len(e.args), i)
	}
	if err := json.Unmarshal(e.args[i], v); err != nil {
		t.Fatalf("%s argument %d: %v", e.name, i, err)
	}
}

// ui is a client connected to the admin namespace, as the Admin UI.
type ui struct {
	t      testing.TB
	s      *sioclient.Socket
	events chan event
}

// env is an instrumented server behind an HTTP test server.
type env struct {
	t   testing.TB
	srv *socketio.Server
	in  *admin.Instrumentation
	url string
}

func newEnv(t testing.TB, cfg admin.Config) *env {
	t.Helper()
	srv := socketio.NewServer(nil)
	if cfg.StatsInterval == 0 {
		cfg.StatsInterval = time.Hour // the first statistics only, unless asked
	}
	in, err := admin.Instrument(srv, cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		hs.Close()
		select {
		case <-in.Done():
		case <-ctx.Done():
			t.Error("the instrumentation did not stop with the server")
		}
	})
	return &env{t: t, srv: srv, in: in, url: hs.URL}
}

// connectUI connects to the admin namespace with auth, recording every
// event from the first one.
func (e *env) connectUI(auth any) (*ui, error) {
	m, err := sioclient.NewManager(e.url, &sioclient.Config{DisableReconnection: true})
	if err != nil {
		return nil, err
	}
	s := m.Socket("/admin", &sioclient.SocketConfig{Auth: auth})
	u := &ui{t: e.t, s: s, events: make(chan event, 1024)}
	s.OnAny(func(_ context.Context, name string, args sioclient.Args) {
		ev := event{name: name}
		for i := range args.Len() {
			ev.args = append(ev.args, args.Raw(i))
		}
		u.events <- ev
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Connect(ctx); err != nil {
		m.Close()
		return nil, err
	}
	e.t.Cleanup(func() { m.Close() })
	return u, nil
}

func (e *env) mustConnectUI(auth any) *ui {
	e.t.Helper()
	u, err := e.connectUI(auth)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// client connects a plain client to namespace nsp.
func (e *env) client(nsp string) *sioclient.Socket {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := sioclient.Dial(ctx, e.url+nsp, &sioclient.Config{DisableReconnection: true})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { s.Close() })
	return s
}

// handleSync acknowledges the UI's "sync" events: the UI's events are
// handled in order, so once one is acknowledged those sent before it were
// handled.
func (e *env) handleSync() {
	e.in.Namespace().OnConnect(func(s *socketio.Socket) {
		s.OnRaw("sync", func(_ context.Context, _ socketio.Args, ack socketio.AckFunc) {
			if ack != nil {
				_ = ack()
			}
		})
	})
}

func (u *ui) sync() {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := u.s.EmitWithAck(ctx, "sync"); err != nil {
		u.t.Fatalf("sync: %v", err)
	}
}

// next waits for the next event called name (any name when empty),
// skipping others (statistics arrive at any time) and those match rejects.
func (u *ui) next(name string, match func(event) bool) event {
	u.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-u.events:
			if (name == "" || ev.name == name) && (match == nil || match(ev)) {
				return ev
			}
		case <-timeout:
			u.t.Fatalf("no %s event", name)
			return event{}
		}
	}
}

// about matches events whose argument i is the JSON string s.
func about(i int, s string) func(event) bool {
	want, _ := json.Marshal(s)
	return func(ev event) bool { return i < len(ev.args) && string(ev.args[i]) == string(want) }
}

func hash(t testing.TB, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func TestInstrumentRefusesIncompleteConfig(t *testing.T) {
	for name, cfg := range map[string]admin.Config{
		"no auth chosen": {},
		"both":           {NoAuth: true, Auth: &admin.BasicAuth{Username: "a", PasswordHash: hash(t, "p")}},
		"plain password": {Auth: &admin.BasicAuth{Username: "a", PasswordHash: "p"}},
		"unknown mode":   {NoAuth: true, Mode: "debug"},
	} {
		srv := socketio.NewServer(nil)
		if _, err := admin.Instrument(srv, cfg); err == nil {
			t.Errorf("%s: Instrument accepted %+v", name, cfg)
		}
		_ = srv.Shutdown(context.Background())
	}
}

func TestBasicAuth(t *testing.T) {
	e := newEnv(t, admin.Config{Auth: &admin.BasicAuth{Username: "admin", PasswordHash: hash(t, "secret")}})

	for _, auth := range []any{
		map[string]string{"username": "admin", "password": "wrong"},
		map[string]string{"username": "root", "password": "secret"},
		map[string]string{"sessionId": "0123456789abcdef"},
		map[string]any{"username": 1, "password": []int{2}},
		nil,
	} {
		_, err := e.connectUI(auth)
		var ce *sioclient.ConnectError
		if !errors.As(err, &ce) || ce.Message != "invalid credentials" {
			t.Fatalf("auth %v: err = %v, want connect error \"invalid credentials\"", auth, err)
		}
	}

	u := e.mustConnectUI(map[string]string{"username": "admin", "password": "secret"})
	first := u.next("", func(ev event) bool { return ev.name == "session" || ev.name == "config" })
	if first.name != "session" {
		t.Fatalf("first event %s, want session before config", first.name)
	}
	var session string
	first.arg(t, 0, &session)
	if len(session) != 16 {
		t.Fatalf("session id %q", session)
	}
	u.next("config", nil)

	// the session id stands for the password, and no new one is sent
	again := e.mustConnectUI(map[string]string{"sessionId": session})
	if ev := again.next("", func(ev event) bool { return ev.name == "session" || ev.name == "config" }); ev.name != "config" {
		t.Fatalf("first event after a session login: %s, want config", ev.name)
	}
}

func TestConfigAndAllSockets(t *testing.T) {
	e := newEnv(t, admin.Config{NoAuth: true})
	c := e.client("/")
	e.srv.OnConnect(func(s *socketio.Socket) {})

	u := e.mustConnectUI(nil)
	var cfg struct {
		SupportedFeatures []string `json:"supportedFeatures"`
	}
	u.next("config", nil).arg(t, 0, &cfg)
	want := []string{"EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS", "ALL_EVENTS"}
	if !slices.Equal(cfg.SupportedFeatures, want) {
		t.Fatalf("features %v, want %v", cfg.SupportedFeatures, want)
	}

	var all []struct {
		ID        string         `json:"id"`
		ClientID  string         `json:"clientId"`
		Transport string         `json:"transport"`
		Nsp       string         `json:"nsp"`
		Data      map[string]any `json:"data"`
		Handshake map[string]any `json:"handshake"`
		Rooms     []string       `json:"rooms"`
	}
	u.next("all_sockets", nil).arg(t, 0, &all)
	var found bool
	for _, s := range all {
		if s.ID != c.ID() {
			continue
		}
		found = true
		if s.Nsp != "/" || s.ClientID == "" || len(s.ClientID) > 12 || s.Transport == "" {
			t.Errorf("socket %+v", s)
		}
		if _, ok := s.Data["_admin"]; ok || s.Data == nil {
			t.Errorf("data %v: want an object without _admin", s.Data)
		}
		if _, ok := s.Handshake["auth"]; ok {
			t.Error("the handshake shows the auth")
		}
		for _, k := range []string{"address", "headers", "query", "issued", "secure", "time", "url", "xdomain"} {
			if _, ok := s.Handshake[k]; !ok {
				t.Errorf("handshake without %s", k)
			}
		}
		if !slices.Contains(s.Rooms, c.ID()) {
			t.Errorf("rooms %v without the socket's own", s.Rooms)
		}
	}
	if !found {
		t.Fatalf("all_sockets %+v lacks %s", all, c.ID())
	}
}

func TestDevelopmentEvents(t *testing.T) {
	e := newEnv(t, admin.Config{NoAuth: true})
	e.srv.OnConnect(func(s *socketio.Socket) {
		s.OnRaw("hello", func(ctx context.Context, args socketio.Args, ack socketio.AckFunc) {
			s.Join("lobby")
			_ = s.Emit("welcome", "lobby")
		})
	})
	u := e.mustConnectUI(nil)
	u.next("all_sockets", nil)

	c := e.client("/")
	id := c.ID()
	var sock struct {
		ID  string `json:"id"`
		Nsp string `json:"nsp"`
	}
	var ts string
	ev := u.next("socket_connected", func(ev event) bool { return strings.Contains(string(ev.args[0]), id) })
	ev.arg(t, 0, &sock)
	ev.arg(t, 1, &ts)
	if sock.ID != id || sock.Nsp != "/" {
		t.Fatalf("socket_connected %+v", sock)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", ts); err != nil {
		t.Fatalf("timestamp %q: %v", ts, err)
	}

	if err := c.Emit("hello", 42, map[string]string{"a": "b"}); err != nil {
		t.Fatal(err)
	}
	var args []any
	u.next("event_received", about(1, id)).arg(t, 2, &args)
	if len(args) != 3 || args[0] != "hello" || args[1] != float64(42) {
		t.Fatalf("event_received args %v", args)
	}
	u.next("room_joined", about(1, "lobby"))
	u.next("event_sent", about(1, id)).arg(t, 2, &args)
	if len(args) != 2 || args[0] != "welcome" || args[1] != "lobby" {
		t.Fatalf("event_sent args %v", args)
	}

	c.Close()
	var reason string
	var left bool
	for reason == "" || !left {
		ev := u.next("", nil)
		switch {
		case ev.name == "socket_disconnected" && about(1, id)(ev):
			ev.arg(t, 2, &reason)
		case ev.name == "room_left" && about(1, "lobby")(ev) && about(2, id)(ev):
			left = true
		}
	}
	if reason != "client namespace disconnect" {
		t.Fatalf("reason %q", reason)
	}
}

func TestActions(t *testing.T) {
	e := newEnv(t, admin.Config{NoAuth: true})
	a, b := e.client("/"), e.client("/")
	got := make(chan string, 4)
	b.OnRaw("notice", func(_ context.Context, args sioclient.Args, _ sioclient.AckFunc) {
		var s string
		_ = args.Decode(0, &s)
		got <- s
	})
	u := e.mustConnectUI(nil)
	u.next("all_sockets", nil)
	nsp := e.srv.Of("/")

	_ = u.s.Emit("join", "/", "vip", b.ID())
	u.next("room_joined", about(1, "vip"))
	if r := nsp.Socket(b.ID()).Rooms(); !slices.Contains(r, "vip") {
		t.Fatalf("b's rooms %v", r)
	}
	if slices.Contains(nsp.Socket(a.ID()).Rooms(), "vip") {
		t.Fatal("a joined too")
	}

	_ = u.s.Emit("emit", "/", "vip", "notice", "hello vip")
	if s := testutil.Recv(t, got, 5*time.Second); s != "hello vip" {
		t.Fatalf("b got %q", s)
	}

	_ = u.s.Emit("leave", "/", "vip", b.ID())
	u.next("room_left", about(1, "vip"))

	aID := a.ID() // the client forgets it once disconnected
	_ = u.s.Emit("_disconnect", "/", false, aID)
	u.next("socket_disconnected", about(1, aID))
	if nsp.Socket(b.ID()) == nil {
		t.Fatal("b was disconnected too")
	}

	_ = u.s.Emit("join", "/", "everyone") // no filter: every socket
	u.next("room_joined", about(2, b.ID()))
}

func TestMalformedActionsAreIgnored(t *testing.T) {
	e := newEnv(t, admin.Config{NoAuth: true})
	e.handleSync()
	c := e.client("/")
	u := e.mustConnectUI(nil)
	u.next("all_sockets", nil)
	bad := [][]any{
		{"join"},
		{"join", 1, "r", c.ID()},
		{"join", "/", 2, c.ID()},
		{"join", "/", "", c.ID()},
		{"join", "/", "r", []int{1}},
		{"join", "/missing", "r", c.ID()},
		{"leave", nil, nil, nil},
		{"_disconnect", "/", "yes", c.ID()},
		{"_disconnect", "/", false, 3},
		{"_disconnect"},
		{"emit", "/", nil},
		{"emit", "/", 5, "ev"},
		{"emit", "/nowhere", nil, "ev"},
	}
	for _, b := range bad {
		if err := u.s.Emit(b[0].(string), b[1:]...); err != nil {
			t.Fatal(err)
		}
	}
	u.sync()
	// a valid action after them is the first one to take effect
	_ = u.s.Emit("join", "/", "ok", c.ID())
	ev := u.next("room_joined", func(ev event) bool {
		return string(ev.args[2]) == `"`+c.ID()+`"` && string(ev.args[1]) != `"`+c.ID()+`"`
	})
	var room string
	ev.arg(t, 1, &room)
	if room != "ok" {
		t.Fatalf("room_joined %q first", room)
	}
	if s := e.srv.Of("/").Socket(c.ID()); s == nil || !slices.Equal(s.Rooms(), []string{c.ID(), "ok"}) {
		t.Fatalf("the socket was affected by the malformed actions")
	}
	for _, n := range e.srv.Namespaces() {
		if n.Name() == "/missing" || n.Name() == "/nowhere" {
			t.Fatalf("an action created namespace %s", n.Name())
		}
	}
	if !u.s.Connected() {
		t.Fatal("the UI was disconnected")
	}
}

func TestReadOnlyRefusesActions(t *testing.T) {
	e := newEnv(t, admin.Config{NoAuth: true, ReadOnly: true})
	e.handleSync()
	c := e.client("/")
	u := e.mustConnectUI(nil)
	var cfg struct {
		SupportedFeatures []string `json:"supportedFeatures"`
	}
	u.next("config", nil).arg(t, 0, &cfg)
	if !slices.Equal(cfg.SupportedFeatures, []string{"AGGREGATED_EVENTS", "ALL_EVENTS"}) {
		t.Fatalf("features %v", cfg.SupportedFeatures)
	}
	_ = u.s.Emit("join", "/", "r", c.ID())
	_ = u.s.Emit("_disconnect", "/", true, c.ID())
	u.sync()
	s := e.srv.Of("/").Socket(c.ID())
	if s == nil || slices.Contains(s.Rooms(), "r") {
		t.Fatal("a read-only UI changed a socket")
	}
}

func TestServerStats(t *testing.T) {
	e := newEnv(t, admin.Config{NoAuth: true, ServerID: "go-1", StatsInterval: 50 * time.Millisecond})
	e.client("/")
	e.srv.Of("/chat")
	u := e.mustConnectUI(nil)
	var st struct {
		ServerID            string  `json:"serverId"`
		Hostname            string  `json:"hostname"`
		PID                 int     `json:"pid"`
		Uptime              float64 `json:"uptime"`
		ClientsCount        *int    `json:"clientsCount"`
		PollingClientsCount *int    `json:"pollingClientsCount"`
		AggregatedEvents    []struct {
			Timestamp int64  `json:"timestamp"`
			Type      string `json:"type"`
			Count     int    `json:"count"`
		} `json:"aggregatedEvents"`
		Namespaces []struct {
			Name         string `json:"name"`
			SocketsCount int    `json:"socketsCount"`
		} `json:"namespaces"`
	}
	counts := map[string]int{}
	for counts["rawConnection"] < 2 || counts["packetsOut"] == 0 {
		u.next("server_stats", nil).arg(t, 0, &st)
		for _, a := range st.AggregatedEvents {
			if a.Timestamp%1000 != 0 {
				t.Fatalf("timestamp %d not on a second", a.Timestamp)
			}
			counts[a.Type] += a.Count
		}
	}
	if st.ServerID != "go-1" || st.PID == 0 || st.Uptime <= 0 || st.ClientsCount == nil || st.PollingClientsCount == nil {
		t.Fatalf("stats %+v", st)
	}
	if *st.ClientsCount != 2 {
		t.Fatalf("clientsCount %d, want 2", *st.ClientsCount)
	}
	ns := map[string]int{}
	for _, n := range st.Namespaces {
		ns[n.Name] = n.SocketsCount
	}
	if ns["/"] != 1 || ns["/admin"] != 1 || ns["/chat"] != 0 || len(ns) != 3 {
		t.Fatalf("namespaces %v", ns)
	}
	if counts["packetsIn"] == 0 || counts["bytesIn"] < counts["packetsIn"] {
		t.Fatalf("counts %v", counts)
	}
}

func TestProductionMode(t *testing.T) {
	e := newEnv(t, admin.Config{NoAuth: true, Mode: admin.Production, StatsInterval: 20 * time.Millisecond})
	u := e.mustConnectUI(nil)
	var cfg struct {
		SupportedFeatures []string `json:"supportedFeatures"`
	}
	u.next("config", nil).arg(t, 0, &cfg)
	if slices.Contains(cfg.SupportedFeatures, "ALL_EVENTS") {
		t.Fatalf("features %v", cfg.SupportedFeatures)
	}
	c := e.client("/")
	if s := e.srv.Of("/").Socket(c.ID()); s == nil || !s.Data().IsZero() {
		t.Fatal("production mode set the socket's data")
	}
	u.next("server_stats", nil)
	deadline := time.After(200 * time.Millisecond)
	for {
		select {
		case ev := <-u.events:
			if ev.name != "server_stats" {
				t.Fatalf("production mode sent %s", ev.name)
			}
		case <-deadline:
			return
		}
	}
}
