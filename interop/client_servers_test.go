package interop

import (
	"context"
	"encoding/base64"
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
	// Call sends an event to the one socket of a namespace with an
	// acknowledgement and returns the first argument of its reply, as
	// Node's broadcast acknowledgements give it, binary values as
	// {"$bin": base64}.
	Call(t testing.TB, nsp, ev string, args ...any) json.RawMessage
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

func (n *nodeSio) Call(t testing.TB, nsp, ev string, args ...any) json.RawMessage {
	t.Helper()
	if args == nil {
		args = []any{}
	}
	var replies []json.RawMessage
	if ev := n.p.Call(nodeproc.M{"cmd": "call", "nsp": nsp, "event": ev, "args": args}); !ev.Decode("replies", &replies) || len(replies) != 1 {
		t.Fatalf("%s: replies %s", ev, ev.Field("replies"))
	}
	return replies[0]
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

func startGoSio(t testing.TB) *goSio { return startGoSioWith(t, nil) }

// startGoSioWith is startGoSio with a configuration.
func startGoSioWith(t testing.TB, cfg *socketio.Config) *goSio {
	g := &goSio{srv: socketio.NewServer(cfg), jobs: map[string]int{}}
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
			s.OnRaw("types", func(ctx context.Context, a socketio.Args, ack socketio.AckFunc) {
				_ = ack(shapeOf(a.Values()))
			})
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

func (g *goSio) Call(t testing.TB, nsp, ev string, args ...any) json.RawMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i, a := range args {
		args[i] = fromBinJSON(a)
	}
	replies, err := g.srv.Of(nsp).EmitWithAck(ctx, ev, args...)
	if err != nil || len(replies) != 1 || replies[0].Len() == 0 {
		t.Fatalf("%s: %d replies, %v", ev, len(replies), err)
	}
	b, err := json.Marshal(binJSON(replies[0].Values()[0]))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// binJSON turns generic values into what the drivers print: []byte as
// {"$bin": base64}, raw JSON decoded.
func binJSON(v any) any {
	return transform(v, func(v any) (any, bool) {
		switch x := v.(type) {
		case []byte:
			return nodeproc.Bin(x), true
		case json.RawMessage:
			var d any
			_ = json.Unmarshal(x, &d)
			return d, true
		}
		return nil, false
	})
}

// fromBinJSON is the reverse of binJSON, for arguments written for the
// drivers: {"$bin": base64} becomes []byte.
func fromBinJSON(v any) any {
	return transform(v, func(v any) (any, bool) {
		if m, ok := v.(map[string]any); ok && len(m) == 1 {
			if b, ok := m["$bin"].(string); ok {
				d, _ := base64.StdEncoding.DecodeString(b)
				return d, true
			}
		}
		return nil, false
	})
}

// transform rebuilds generic values, replacing what f replaces, at any
// depth of []any and map[string]any.
func transform(v any, f func(any) (any, bool)) any {
	if r, ok := f(v); ok {
		return r
	}
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = transform(e, f)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = transform(e, f)
		}
		return out
	}
	return v
}

// shapeOf replaces every leaf of generic values by its type, as the
// "types" event of client-server.mjs does.
func shapeOf(v any) any {
	switch x := binJSON(v).(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64, json.Number:
		return "number"
	case []any:
		for i, e := range x {
			x[i] = shapeOf(e)
		}
		return x
	case map[string]any:
		if _, ok := x["$bin"]; ok && len(x) == 1 {
			return "Buffer"
		}
		for k, e := range x {
			x[k] = shapeOf(e)
		}
		return x
	}
	return "?"
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
