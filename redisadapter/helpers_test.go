package redisadapter

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/internal/nodepeer"
	"github.com/sio-go/socketio/internal/testutil"
	"github.com/sio-go/socketio/redisadapter/internal/redistest"
)

func TestMain(m *testing.M) {
	redis.SetLogger(quietLogger{}) // go-redis logs every failed dial of the outage tests
	testutil.VerifyTestMain(m)
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// goServer is a Go Socket.IO server with the Redis adapter, listening on a
// loopback port.
type goServer struct {
	srv *socketio.Server
	rdb redis.UniversalClient
	url string
}

// startGo starts a Go server whose sockets join the rooms listed in their
// auth payload ({"rooms": [...]}), and whose "hello" server-side handler
// answers {"from": name, "args": [...]}.
func startGo(t *testing.T, addr, name string, cfg *Config) *goServer {
	t.Helper()
	return startGoWith(t, newClient(addr), name, func(rdb redis.UniversalClient) socketio.AdapterFactory { return New(rdb, cfg) })
}

// newClient returns a client of the Redis at addr that does not retry.
func newClient(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
}

// startGoWith starts a Go server whose adapter factory uses rdb, which it
// closes when the test ends.
func startGoWith(t *testing.T, rdb redis.UniversalClient, name string, factory func(redis.UniversalClient) socketio.AdapterFactory) *goServer {
	t.Helper()
	return startGoRecovering(t, rdb, name, factory, nil)
}

// startGoRecovering is startGoWith with connection state recovery when rc
// is not nil.
func startGoRecovering(t *testing.T, rdb redis.UniversalClient, name string, factory func(redis.UniversalClient) socketio.AdapterFactory,
	rc *socketio.RecoveryConfig) *goServer {
	t.Helper()
	srv := socketio.NewServer(&socketio.Config{Adapter: factory(rdb), ConnectionStateRecovery: rc})
	setup := func(nsp *socketio.Namespace) { nodepeer.Serve(nsp, name) }
	setup(srv.Of("/"))
	setup(srv.Of("/chat"))
	return &goServer{srv: srv, rdb: rdb, url: serve(t, srv, rdb)}
}

// serve runs srv on a loopback HTTP server and returns its URL; the server
// shuts down, and rdb is closed, when the test ends.
func serve(t *testing.T, srv *socketio.Server, rdb redis.UniversalClient) string {
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
		_ = rdb.Close()
	})
	return hs.URL
}

func (g *goServer) adapter(nsp string) *Adapter {
	return g.srv.Of(nsp).Adapter().(*Adapter)
}

// ready waits until the adapters of "/" and "/chat" are subscribed.
func (g *goServer) ready(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, nsp := range []string{"/", "/chat"} {
		a := g.srv.Of(nsp).Adapter().(interface{ Ready(context.Context) error })
		if err := a.Ready(ctx); err != nil {
			t.Fatalf("adapter of %s not subscribed: %v", nsp, err)
		}
	}
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	return redistest.Context(t, d)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %#v\nwant %#v", what, got, want)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
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

// noEvent checks that client did not receive event.
func noEvent(t *testing.T, p *redistest.Peer, client, event string) {
	t.Helper()
	for _, ev := range p.Events() {
		if ev.Event == "client" && ev.Client == client && ev.Name == event {
			t.Errorf("%s unexpectedly received %s %s", client, event, ev.Args)
		}
	}
}

const wait = 5 * time.Second

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

// serverCounter is an adapter that counts the servers of its namespace.
type serverCounter interface {
	ServerCount(context.Context) (int, error)
}

// waitServerCount waits until every adapter counts want servers.
func waitServerCount(t *testing.T, want int, adapters ...serverCounter) {
	t.Helper()
	for i, a := range adapters {
		waitFor(t, func() error {
			n, err := a.ServerCount(context.Background())
			if err != nil || n != want {
				return fmt.Errorf("adapter %d counts %d servers (%v), want %d", i, n, err, want)
			}
			return nil
		})
	}
}

// connectClient connects a client of peer p as op says ("client", and
// "url", "nsp", "rooms" when set) and returns its socket id once its server
// ran the connect handler, which joins the rooms: the client hears of its
// connection before that handler runs.
func connectClient(t *testing.T, p *redistest.Peer, op map[string]any) string {
	t.Helper()
	op["op"] = "connect"
	var sid string
	p.MustCall(op, &sid)
	rooms, _ := op["rooms"].([]string)
	waitRooms(t, p, op["client"].(string), sid, rooms...)
	return sid
}

// waitRooms waits until client (on peer p) reports rooms want, besides its
// own id.
func waitRooms(t *testing.T, p *redistest.Peer, client, id string, want ...string) {
	t.Helper()
	want = sorted(append(want, id))
	waitFor(t, func() error {
		var got []string
		p.MustCall(map[string]any{"op": "clientRooms", "client": client}, &got)
		if !slices.Equal(sorted(got), want) {
			return fmt.Errorf("rooms of %s: %v, want %v", client, got, want)
		}
		return nil
	})
}
