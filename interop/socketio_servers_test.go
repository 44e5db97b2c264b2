package interop

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/interop/internal/nodeproc"
)

// Some Socket.IO scenarios run against our server ("go") and the official
// one ("node", node/sio-server.mjs), so that the behaviour expected from ours
// is the one the official server shows to the same client.

// sioOpts configures both servers.
type sioOpts struct {
	// Recovery enables connection state recovery with this
	// MaxDisconnectionDuration.
	Recovery time.Duration
	// RejectEvents are refused by a socket middleware.
	RejectEvents []string
	// ConnectTimeout is Config.ConnectTimeout (connectTimeout).
	ConnectTimeout time.Duration
}

// sioTarget is a Socket.IO server under test, acting on sockets by
// namespace and id.
type sioTarget interface {
	URL() string
	// Next waits for the next socket admitted to nsp.
	Next(t testing.TB, nsp string) (id string, recovered bool)
	Emit(t testing.TB, nsp, id string, volatile bool, ev string, args ...any)
	// EmitStale emits on the socket object of a socket that may have
	// disconnected since.
	EmitStale(t testing.TB, nsp, id string, ev string, args ...any)
	ToRoom(t testing.TB, nsp, room string, ev string, args ...any)
	Join(t testing.TB, nsp, id, room string)
	// Disconnect is socket.disconnect(close): Socket.Disconnect or
	// Socket.CloseConn on ours.
	Disconnect(t testing.TB, nsp, id string, close bool)
	// WaitDisconnect returns the server-side reason of the socket's end.
	WaitDisconnect(t testing.TB, nsp, id string) string
	// CatchAll waits for the event last of socket id and returns the names
	// of the events the catch-all listener saw so far for that socket.
	CatchAll(t testing.TB, nsp, id, last string) []string
	// EngineCount returns the number of Engine.IO sessions.
	EngineCount(t testing.TB) int
}

// forEachSIOServer runs f against our server and the official one; see
// forEachServer for INTEROP_SERVERS.
func forEachSIOServer(t *testing.T, o sioOpts, f func(t *testing.T, s sioTarget)) {
	t.Helper()
	t.Run("go", func(t *testing.T) {
		selectServer(t, "go")
		f(t, startGoTarget(t, o))
	})
	t.Run("node", func(t *testing.T) {
		selectServer(t, "node")
		f(t, startNodeTarget(t, o))
	})
}

// --- our server ---

type goTarget struct {
	*sioServer
	mu      sync.Mutex
	sockets map[string]*socketio.Socket // by nsp+" "+id, the last one
}

func startGoTarget(t testing.TB, o sioOpts) *goTarget {
	cfg := &socketio.Config{ConnectTimeout: o.ConnectTimeout}
	if o.Recovery > 0 {
		cfg.ConnectionStateRecovery = &socketio.RecoveryConfig{MaxDisconnectionDuration: o.Recovery}
	}
	g := &goTarget{sockets: map[string]*socketio.Socket{}}
	g.sioServer = startSIO(t, cfg, func(srv *socketio.Server, log *srvLog) {
		if len(o.RejectEvents) == 0 {
			return
		}
		srv.OnConnect(func(s *socketio.Socket) {
			s.Use(func(_ context.Context, ev string, _ socketio.Args) error {
				for _, r := range o.RejectEvents {
					if ev == r {
						return &socketio.Error{Code: "refused", Message: "refused " + ev}
					}
				}
				return nil
			})
		})
	})
	return g
}

func (g *goTarget) socket(t testing.TB, nsp, id string) *socketio.Socket {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.sockets[nsp+" "+id]
	if s == nil {
		t.Fatalf("no socket %s in %s", id, nsp)
	}
	return s
}

func (g *goTarget) Next(t testing.TB, nsp string) (string, bool) {
	t.Helper()
	s := g.connected(t, nsp)
	g.mu.Lock()
	g.sockets[nsp+" "+s.ID()] = s
	g.mu.Unlock()
	return s.ID(), s.Recovered()
}

func (g *goTarget) Emit(t testing.TB, nsp, id string, volatile bool, ev string, args ...any) {
	t.Helper()
	s := g.socket(t, nsp, id)
	e := s.Emit
	if volatile {
		e = s.Volatile().Emit
	}
	if err := e(ev, args...); err != nil {
		t.Fatalf("Emit %s: %v", ev, err)
	}
}

func (g *goTarget) EmitStale(t testing.TB, nsp, id string, ev string, args ...any) {
	t.Helper()
	if err := g.socket(t, nsp, id).Emit(ev, args...); err != nil {
		t.Logf("Emit %s on a disconnected socket: %v", ev, err)
	}
}

func (g *goTarget) ToRoom(t testing.TB, nsp, room string, ev string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := g.srv.Of(nsp).To(room).Emit(ctx, ev, args...); err != nil {
		t.Fatalf("To(%s).Emit %s: %v", room, ev, err)
	}
}

func (g *goTarget) Join(t testing.TB, nsp, id, room string) {
	t.Helper()
	g.socket(t, nsp, id).Join(room)
}

func (g *goTarget) Disconnect(t testing.TB, nsp, id string, close bool) {
	t.Helper()
	if close {
		g.socket(t, nsp, id).CloseConn()
	} else {
		g.socket(t, nsp, id).Disconnect()
	}
}

func (g *goTarget) WaitDisconnect(t testing.TB, nsp, id string) string {
	t.Helper()
	return string(g.log.wait(t, func(e srvEvent) bool {
		return e.Type == "disconnect" && e.Nsp == nsp && e.ID == id
	}).Reason)
}

func (g *goTarget) CatchAll(t testing.TB, nsp, id, last string) []string {
	t.Helper()
	of := func(e srvEvent) bool { return e.Type == "event" && e.Nsp == nsp && e.ID == id }
	g.log.wait(t, func(e srvEvent) bool { return of(e) && e.Name == last })
	var names []string
	for _, e := range g.log.all(of) {
		names = append(names, e.Name)
	}
	return names
}

func (g *goTarget) EngineCount(testing.TB) int { return g.srv.Engine().ClientsCount() }

// --- the official server ---

type nodeTarget struct {
	p   *nodeproc.Proc
	url string
}

func startNodeTarget(t testing.TB, o sioOpts) *nodeTarget {
	t.Helper()
	cfg := nodeproc.M{}
	opts := nodeproc.M{}
	if o.Recovery > 0 {
		opts["connectionStateRecovery"] = nodeproc.M{"maxDisconnectionDuration": o.Recovery.Milliseconds()}
	}
	if o.ConnectTimeout > 0 {
		opts["connectTimeout"] = o.ConnectTimeout.Milliseconds()
	}
	cfg["opts"] = opts
	if len(o.RejectEvents) > 0 {
		cfg["rejectEvents"] = o.RejectEvents
	}
	arg, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := nodeproc.Start(t, "sio-server.mjs", string(arg))
	return &nodeTarget{p: p, url: p.Wait(nodeproc.Type("listening")).Str("url")}
}

func (n *nodeTarget) URL() string { return n.url }

func (n *nodeTarget) Next(t testing.TB, nsp string) (string, bool) {
	t.Helper()
	ev := n.p.Wait(nodeproc.On("connection", "nsp", nsp))
	return ev.Str("id"), ev.Bool("recovered")
}

func (n *nodeTarget) Emit(t testing.TB, nsp, id string, volatile bool, ev string, args ...any) {
	t.Helper()
	n.p.Call(nodeproc.M{"cmd": "emit", "nsp": nsp, "id": id, "event": ev, "args": nonNil(args), "volatile": volatile})
}

func (n *nodeTarget) EmitStale(t testing.TB, nsp, id string, ev string, args ...any) {
	t.Helper()
	n.p.Call(nodeproc.M{"cmd": "emit", "nsp": nsp, "id": id, "event": ev, "args": nonNil(args), "stale": true})
}

func (n *nodeTarget) ToRoom(t testing.TB, nsp, room string, ev string, args ...any) {
	t.Helper()
	n.p.Call(nodeproc.M{"cmd": "broadcast", "nsp": nsp, "rooms": []string{room}, "event": ev, "args": nonNil(args)})
}

func (n *nodeTarget) Join(t testing.TB, nsp, id, room string) {
	t.Helper()
	n.p.Call(nodeproc.M{"cmd": "join", "nsp": nsp, "id": id, "room": room})
}

func (n *nodeTarget) Disconnect(t testing.TB, nsp, id string, close bool) {
	t.Helper()
	n.p.Call(nodeproc.M{"cmd": "disconnect", "nsp": nsp, "id": id, "close": close})
}

func (n *nodeTarget) WaitDisconnect(t testing.TB, nsp, id string) string {
	t.Helper()
	return n.p.Wait(func(e nodeproc.Event) bool {
		return e.Type == "disconnect" && e.Str("nsp") == nsp && e.Str("id") == id
	}).Str("reason")
}

func (n *nodeTarget) CatchAll(t testing.TB, nsp, id, last string) []string {
	t.Helper()
	of := func(e nodeproc.Event) bool { return e.Type == "event" && e.Str("nsp") == nsp && e.Str("id") == id }
	n.p.Wait(func(e nodeproc.Event) bool { return of(e) && e.Str("name") == last })
	var names []string
	for _, e := range n.p.Events(of) {
		names = append(names, e.Str("name"))
	}
	return names
}

func (n *nodeTarget) EngineCount(t testing.TB) int {
	t.Helper()
	return n.p.Call(nodeproc.M{"cmd": "count"}).Int("engine")
}

// waitEngineCount polls until the server counts want Engine.IO sessions.
func waitEngineCount(t testing.TB, s sioTarget, want int) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		n := s.EngineCount(t)
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d Engine.IO sessions after %v, want %d", n, wait, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
