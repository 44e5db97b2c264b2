package socketio_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/sioclient"
)

// testCORS lets the page origin of the routing tests in.
var testCORS = &engineio.CORS{AllowOrigins: []string{testOrigin}}

const testOrigin = "http://app.test"

// failingDirectory is a directory whose lookups fail.
type failingDirectory struct{}

func (failingDirectory) Announce(context.Context, string, string, time.Duration) error { return nil }
func (failingDirectory) Lookup(context.Context, string) (string, error) {
	return "", errors.New("directory down")
}

// routedNode is one server of a routed cluster on a loopback listener.
type routedNode struct {
	srv *socketio.Server
	hs  *httptest.Server
	id  string
}

// startRouted starts len(ids) servers that know each other through a
// static directory; each answers "echo" by ack and re-emits "ping" as
// "pong".
func startRouted(t testing.TB, ids ...string) []*routedNode {
	t.Helper()
	dir := socketio.StaticDirectory{}
	lns := make([]net.Listener, len(ids))
	for i, id := range ids {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[i] = ln
		dir[id] = ln.Addr().String()
	}
	nodes := make([]*routedNode, len(ids))
	for i, id := range ids {
		srv := socketio.NewServer(&socketio.Config{
			Engine: engineio.Config{CORS: testCORS},
			Route:  &socketio.RouteConfig{Addr: dir[id], Directory: dir, NodeID: id}})
		srv.OnConnect(func(s *socketio.Socket) {
			s.OnRaw("echo", func(_ context.Context, a socketio.Args, ack socketio.AckFunc) {
				if ack != nil {
					_ = ack(a.Values()...)
				}
			})
			s.OnRaw("ping", func(_ context.Context, a socketio.Args, _ socketio.AckFunc) {
				_ = s.Emit("pong", a.Values()...)
			})
		})
		hs := httptest.NewUnstartedServer(srv)
		hs.Listener.Close()
		hs.Listener = lns[i]
		hs.Start()
		nodes[i] = &routedNode{srv: srv, hs: hs, id: id}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(ctx)
			hs.Close()
		})
	}
	return nodes
}

// roundRobin is a balancer that sends each request (and each WebSocket
// connection) to the next node in turn, with no stickiness.
func roundRobin(t *testing.T, nodes []*routedNode) (string, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	proxies := make([]http.Handler, len(nodes))
	for i, nd := range nodes {
		u, _ := url.Parse(nd.hs.URL)
		proxies[i] = newProxy(u)
	}
	lb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxies[int(n.Add(1))%len(proxies)].ServeHTTP(w, r)
	}))
	t.Cleanup(lb.Close)
	return lb.URL, &n
}

func TestRouteRoundRobin(t *testing.T) {
	nodes := startRouted(t, "nodeAAAA", "nodeBBBB", "nodeCCCC")
	lb, requests := roundRobin(t, nodes)
	for _, tc := range []struct {
		name       string
		transports []engineio.Transport
	}{
		{"polling", []engineio.Transport{engineio.Polling}},
		{"upgrade", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := requests.Load()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s, err := sioclient.Dial(ctx, lb, &sioclient.Config{DisableReconnection: true,
				Engine: engineio.DialConfig{Transports: tc.transports}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			const n = 500
			got := make(chan int, n)
			sioclient.On(s, "pong", func(_ context.Context, i int) error { got <- i; return nil })
			for i := range n {
				if err := s.Emit("ping", i); err != nil {
					t.Fatal(err)
				}
			}
			for want := range n {
				select {
				case i := <-got:
					if i != want {
						t.Fatalf("pong %d, want %d", i, want)
					}
				case <-ctx.Done():
					t.Fatalf("pong %d never came", want)
				}
			}
			v, err := sioclient.Call[string](ctx, s, "echo", "through the balancer")
			if err != nil || v != "through the balancer" {
				t.Fatalf("echo %q, %v", v, err)
			}
			if d := requests.Load() - before; d < 4 {
				t.Fatalf("only %d requests went through the balancer", d)
			}
			if !s.Connected() {
				t.Fatal("disconnected")
			}
		})
	}
}

func TestRouteRefusals(t *testing.T) {
	nodes := startRouted(t, "nodeAAAA", "nodeBBBB")
	a, b := nodes[0], nodes[1]
	base := "/socket.io/?EIO=4&transport=polling"
	// get sends a GET from the test's page origin and checks that the
	// answer carries its CORS header once, forwarded or not.
	get := func(t *testing.T, u string, h http.Header) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Origin", testOrigin)
		for k, v := range h {
			req.Header[k] = v
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if v := res.Header.Values("Access-Control-Allow-Origin"); len(v) != 1 || v[0] != testOrigin {
			t.Errorf("GET %s: Access-Control-Allow-Origin %q, want it once", u, v)
		}
		return res.StatusCode, string(body)
	}
	code, body := get(t, a.hs.URL+base, nil)
	if code != 200 || !strings.Contains(body, `"sid":"nodeAAAA`) {
		t.Fatalf("handshake on A: %d %s", code, body)
	}
	sid := body[strings.Index(body, `"sid":"`)+7:]
	sid = sid[:strings.IndexByte(sid, '"')]

	// B forwards a poll for A's session: A answers (the CONNECT is missing,
	// so the poll waits; a POST of a CONNECT goes through B as well).
	req, _ := http.NewRequest(http.MethodPost, b.hs.URL+base+"&sid="+sid, strings.NewReader("40"))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("POST through B: %d", res.StatusCode)
	}
	if code, body := get(t, b.hs.URL+base+"&sid="+sid, nil); code != 200 || !strings.HasPrefix(body, "40{") {
		t.Fatalf("poll through B: %d %q", code, body)
	}

	unknown := `{"code":1,"message":"Session ID unknown"}`
	for _, tc := range []struct {
		name, sid string
		h         http.Header
	}{
		{"already forwarded", sid, http.Header{socketio.ForwardedHeader: {"nodeCCCC"}}},
		{"unknown node", "nodeZZZZ" + sid[8:], nil},
		{"short sid", "abc", nil},
		{"own node, no session", "nodeBBBB" + sid[8:], nil},
		{"owner has no such session", "nodeAAAA" + strings.Repeat("x", 20), nil},
	} {
		if code, body := get(t, b.hs.URL+base+"&sid="+tc.sid, tc.h); code != 400 || body != unknown {
			t.Errorf("%s: %d %q", tc.name, code, body)
		}
	}

	// An owner that is gone: the request fails like an unknown session.
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close()
	dir := socketio.StaticDirectory{"nodeDDDD": deadAddr, "nodeEEEE": ""}
	for _, tc := range []struct {
		name string
		dir  socketio.Directory
	}{{"dead owner", dir}, {"directory failing", failingDirectory{}}} {
		srv := socketio.NewServer(&socketio.Config{Engine: engineio.Config{CORS: testCORS},
			Route: &socketio.RouteConfig{Addr: "127.0.0.1:1", Directory: tc.dir, NodeID: "nodeEEEE"}})
		hs := httptest.NewServer(srv)
		if code, body := get(t, hs.URL+base+"&sid=nodeDDDD"+sid[8:], nil); code != 400 || body != unknown {
			t.Errorf("%s: %d %q", tc.name, code, body)
		}
		hs.Close()
		_ = srv.Shutdown(context.Background())
	}
}

func TestRouteConfigChecked(t *testing.T) {
	for _, rc := range []*socketio.RouteConfig{
		{Directory: socketio.StaticDirectory{}},
		{Addr: "127.0.0.1:1"},
		{Addr: "127.0.0.1:1", Directory: socketio.StaticDirectory{}, NodeID: "short"},
		{Addr: "127.0.0.1:1", Directory: socketio.StaticDirectory{}, NodeID: "bad/char"},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewServer accepted %+v", rc)
				}
			}()
			srv := socketio.NewServer(&socketio.Config{Route: rc})
			_ = srv.Shutdown(context.Background())
		}()
	}
}

func newProxy(u *url.URL) http.Handler {
	p := httputil.NewSingleHostReverseProxy(u)
	p.FlushInterval = -1
	return p
}

// BenchmarkRoutePost compares a polling POST sent to the server that owns
// the session with the same POST sent to another server, which forwards it.
func BenchmarkRoutePost(b *testing.B) {
	for _, via := range []string{"owner", "forwarded"} {
		b.Run(via, func(b *testing.B) {
			nodes := startRouted(b, "nodeAAAA", "nodeBBBB")
			base := "/socket.io/?EIO=4&transport=polling"
			res, err := http.Get(nodes[0].hs.URL + base)
			if err != nil {
				b.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			sid := string(body)[strings.Index(string(body), `"sid":"`)+7:]
			sid = sid[:strings.IndexByte(sid, '"')]
			target := nodes[0].hs.URL
			if via == "forwarded" {
				target = nodes[1].hs.URL
			}
			u := target + base + "&sid=" + sid
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			for b.Loop() {
				res, err := client.Post(u, "text/plain", strings.NewReader("6")) // a noop packet
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					b.Fatalf("status %d", res.StatusCode)
				}
			}
		})
	}
}
