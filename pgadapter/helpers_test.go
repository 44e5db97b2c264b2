package pgadapter

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/internal/nodepeer"
	"github.com/sio-go/socketio/internal/testutil"
	"github.com/sio-go/socketio/pgadapter/internal/pgtest"
)

func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }

const wait = 5 * time.Second

// goServer is a Go Socket.IO server with the Postgres adapter, listening
// on a loopback port.
type goServer struct {
	srv *socketio.Server
	url string
}

// startGo starts a Go server on database db whose sockets join the rooms
// listed in their auth payload ({"rooms": [...]}), answer "rooms" with
// their rooms, and whose "hello" server-side handler answers
// {"from": name, "args": [...]}.
func startGo(t *testing.T, db *pgtest.DB, name string, cfg *Config) *goServer {
	t.Helper()
	srv := socketio.NewServer(&socketio.Config{Adapter: New(db.Pool(t), cfg)})
	setup := func(nsp *socketio.Namespace) { nodepeer.Serve(nsp, name) }
	setup(srv.Of("/"))
	setup(srv.Of("/chat"))
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
	})
	g := &goServer{srv: srv, url: hs.URL}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for _, nsp := range []string{"/", "/chat"} {
		if err := g.adapter(nsp).Ready(ctx); err != nil {
			t.Fatalf("adapter of %s not listening: %v", nsp, err)
		}
	}
	return g
}

func (g *goServer) adapter(nsp string) *Adapter {
	return g.srv.Of(nsp).Adapter().(*Adapter)
}

// startNode starts a Node peer whose server uses @socket.io/postgres-adapter
// 0.5 on db.
func startNode(t *testing.T, db *pgtest.DB) *nodepeer.Peer {
	t.Helper()
	return nodepeer.Start(t, "ADAPTER=postgres", "PG_URL="+db.URL)
}

// newDB returns a database of its own with the attachment table.
func newDB(t *testing.T) *pgtest.DB {
	t.Helper()
	db := pgtest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := EnsureTable(ctx, db.Pool(t), ""); err != nil {
		t.Fatal(err)
	}
	return db
}

// waitFor polls cond until it returns nil, and fails the test with its
// last error after wait.
func waitFor(t *testing.T, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitServerCount waits until every adapter counts want servers.
func waitServerCount(t *testing.T, want int, adapters ...*Adapter) {
	t.Helper()
	for i, a := range adapters {
		waitFor(t, func() error {
			if n, _ := a.ServerCount(context.Background()); n != want {
				return fmt.Errorf("adapter %d counts %d servers, want %d", i, n, want)
			}
			return nil
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// jsonEqual compares two JSON texts as values.
func jsonEqual(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %s: %v", what, got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s:\n got %s\nwant %s", what, got, want)
	}
}

// event waits for client (on peer p) to receive event name, and returns its
// arguments.
func event(t *testing.T, p *nodepeer.Peer, client, name string) json.RawMessage {
	t.Helper()
	ev, err := p.ClientEvent(client, name, wait)
	if err != nil {
		t.Fatalf("%s did not receive %s: %v", client, name, err)
	}
	return ev.Args
}

// noEvent checks that client did not receive event name.
func noEvent(t *testing.T, p *nodepeer.Peer, client, name string) {
	t.Helper()
	for _, ev := range p.Events() {
		if ev.Event == "client" && ev.Client == client && ev.Name == name {
			t.Errorf("%s unexpectedly received %s %s", client, name, ev.Args)
		}
	}
}
