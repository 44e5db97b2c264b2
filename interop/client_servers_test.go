package interop

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	socketio "github.com/sio-go/socketio"
	"github.com/sio-go/socketio/interop/internal/nodeproc"
)

// clientTarget is a Socket.IO server with the behaviour of
// node/client-server.mjs, for the tests of our client.
type clientTarget interface {
	URL() string
	// Emit sends an event to every socket of a namespace.
	Emit(t testing.TB, nsp, ev string, args ...any)
	// Jobs returns how many times "job" was delivered to the socket id.
	Jobs(t testing.TB, id string) int
}

// forEachSioServer runs f against the official server and ours.
func forEachSioServer(t *testing.T, f func(t *testing.T, srv clientTarget)) {
	t.Run("node", func(t *testing.T) { f(t, startNodeSio(t, 0, nil)) })
	t.Run("go", func(t *testing.T) { f(t, startGoSio(t)) })
}

type nodeSio struct {
	p   *nodeproc.Proc
	url string
}

func startNodeSio(t testing.TB, port int, opts nodeproc.M) *nodeSio {
	t.Helper()
	arg, _ := json.Marshal(nodeproc.M{"port": port, "opts": opts})
	p := nodeproc.Start(t, "client-server.mjs", string(arg))
	ev := p.Wait(nodeproc.Type("listening"))
	return &nodeSio{p: p, url: ev.Str("url")}
}

func (n *nodeSio) URL() string { return n.url }

func (n *nodeSio) Emit(t testing.TB, nsp, ev string, args ...any) {
	t.Helper()
	if args == nil {
		args = []any{}
	}
	n.p.Call(nodeproc.M{"cmd": "emit", "nsp": nsp, "event": ev, "args": args})
}

func (n *nodeSio) Jobs(t testing.TB, id string) int {
	return len(n.p.Events(func(e nodeproc.Event) bool { return e.Type == "job" && e.Str("id") == id }))
}

// goSio is our server with the behaviour of client-server.mjs.
type goSio struct {
	srv *socketio.Server
	url string

	mu   sync.Mutex
	jobs map[string]int
}

func startGoSio(t testing.TB) *goSio {
	g := &goSio{srv: socketio.NewServer(nil), jobs: map[string]int{}}
	g.srv.Of("/secure").Use(func(ctx context.Context, s *socketio.Socket) error {
		var auth struct {
			Token string `json:"token"`
		}
		_ = json.Unmarshal(s.Handshake().Auth, &auth)
		if auth.Token != "good" {
			return &socketio.ConnectError{Message: "unauthorized", Data: map[string]int{"code": 42}}
		}
		return nil
	})
	for _, name := range []string{"/", "/admin", "/secure"} {
		g.srv.Of(name).OnConnect(func(s *socketio.Socket) {
			s.OnRaw("echo", func(ctx context.Context, a socketio.Args, ack socketio.AckFunc) {
				if ack != nil {
					_ = ack(a.Values()...)
					return
				}
				_ = s.Emit("echo", a.Values()...)
			})
			socketio.On(s, "ask", func(ctx context.Context, q any) error {
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
					defer cancel()
					a, err := s.EmitWithAck(ctx, "question", q)
					if err != nil {
						_ = s.Emit("answer", map[string]string{"error": "operation has timed out"})
						return
					}
					_ = s.Emit("answer", a.Values()...)
				}()
				return nil
			})
			s.OnRaw("job", func(ctx context.Context, a socketio.Args, ack socketio.AckFunc) {
				g.mu.Lock()
				g.jobs[s.ID()]++
				n := g.jobs[s.ID()]
				g.mu.Unlock()
				if n >= 3 && ack != nil {
					_ = ack("done")
				}
			})
			s.OnRaw("silent", func(context.Context, socketio.Args, socketio.AckFunc) {})
		})
	}
	hs := httptest.NewServer(g.srv)
	g.url = hs.URL
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = g.srv.Shutdown(ctx)
		hs.Close()
	})
	return g
}

func (g *goSio) URL() string { return g.url }

func (g *goSio) Emit(t testing.TB, nsp, ev string, args ...any) {
	t.Helper()
	if err := g.srv.Of(nsp).Emit(context.Background(), ev, args...); err != nil {
		t.Fatal(err)
	}
}

func (g *goSio) Jobs(t testing.TB, id string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.jobs[id]
}

func portOf(t testing.TB, url string) int {
	for i := len(url) - 1; i >= 0; i-- {
		if url[i] == ':' {
			p, err := strconv.Atoi(url[i+1:])
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
	}
	t.Fatalf("no port in %s", url)
	return 0
}
