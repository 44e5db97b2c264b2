package socketio

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/sio-go/socketio/engineio"
)

// RouteConfig lets the servers of a cluster serve each other's sessions,
// so that a load balancer needs no sticky sessions. Each server names
// itself in the session ids it issues and announces an address in a
// Directory shared by the cluster; a request for a session that another
// server owns (a long-polling GET or POST, or the WebSocket upgrade) is
// forwarded there over HTTP, and its answer relayed. Without it, as with
// the official server, such a request is refused with "Session ID unknown"
// and the client starts over.
//
// Forwarding costs one more HTTP exchange per forwarded polling request,
// and for a forwarded WebSocket two connections and a relay of every frame
// on the server that forwards it for the life of the session. A balancer
// that keeps WebSocket connections where they land (all do) forwards only
// the upgrade's handshake-time polling requests; see docs/deploy.md.
type RouteConfig struct {
	// Addr is the host:port at which the other servers reach this one's
	// HTTP handler (the same handler the clients reach, without TLS), such
	// as "10.0.0.7:3000". Required.
	Addr string

	// Directory is where the servers announce their address and look up
	// each other's. Required: redisadapter.NewDirectory shares the Redis of
	// the adapters; StaticDirectory suits a fixed set of servers.
	Directory Directory

	// NodeID names this server in its session ids: RouteNodeIDLen
	// characters from the base64url alphabet (letters, digits, '-' and
	// '_'). Defaults to a random one.
	NodeID string

	// TTL is how long an announcement lasts; the server renews it every
	// TTL/3 until Shutdown. Defaults to 30s.
	TTL time.Duration

	// Transport carries the forwarded requests. Defaults to an
	// http.Transport keeping up to 256 idle connections per server.
	Transport http.RoundTripper
}

// RouteNodeIDLen is the length of a node id, the prefix of the session ids
// of a server with a RouteConfig.
const RouteNodeIDLen = 8

// ForwardedHeader marks a request that a server of the cluster forwarded
// to another: it is never forwarded again, so that a session no server
// knows any more ends in "Session ID unknown" rather than a loop.
const ForwardedHeader = "X-Socketio-Forwarded-By"

// A Directory maps the node ids of a cluster's servers to their addresses.
type Directory interface {
	// Announce records addr as the address of node id for ttl.
	Announce(ctx context.Context, id, addr string, ttl time.Duration) error
	// Lookup returns the address of node id, or "" when none is recorded.
	Lookup(ctx context.Context, id string) (string, error)
}

// StaticDirectory is a Directory of fixed addresses by node id; Announce
// accepts only the address it already holds.
type StaticDirectory map[string]string

// Announce checks that d records addr for id.
func (d StaticDirectory) Announce(_ context.Context, id, addr string, _ time.Duration) error {
	if d[id] != addr {
		return fmt.Errorf("socketio: static directory has %q for node %q, not %q", d[id], id, addr)
	}
	return nil
}

// Lookup returns d[id].
func (d StaticDirectory) Lookup(_ context.Context, id string) (string, error) { return d[id], nil }

// errRouteConfig reports an unusable RouteConfig.
var errRouteConfig = errors.New("socketio: RouteConfig needs Addr and Directory")

// router forwards requests for other servers' sessions.
type router struct {
	srv    *Server
	cfg    RouteConfig
	proxy  *httputil.ReverseProxy
	lookup time.Duration // how long a looked-up address is trusted

	mu    sync.Mutex
	cache map[string]routeEntry
}

type routeEntry struct {
	addr    string // "" when the directory had none
	expires time.Time
}

// forwarding is what the proxy's hooks know of a forwarded request,
// under the context key forwardKey.
type forwarding struct {
	node   string
	target *url.URL
	preset http.Header // the headers this server already set (CORS)
}

type forwardKey struct{}

func newRouter(srv *Server, rc *RouteConfig) (*router, error) {
	cfg := *rc
	if cfg.Addr == "" || cfg.Directory == nil {
		return nil, errRouteConfig
	}
	if cfg.NodeID == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		cfg.NodeID = base64.RawURLEncoding.EncodeToString(b[:])
	}
	if _, err := base64.RawURLEncoding.DecodeString(cfg.NodeID); len(cfg.NodeID) != RouteNodeIDLen || err != nil {
		return nil, fmt.Errorf("socketio: RouteConfig.NodeID %q: want %d characters of the base64url alphabet", cfg.NodeID, RouteNodeIDLen)
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 30 * time.Second
	}
	if cfg.Transport == nil {
		cfg.Transport = &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     90 * time.Second,
		}
	}
	rt := &router{srv: srv, cfg: cfg, lookup: min(cfg.TTL/3, 5*time.Second), cache: map[string]routeEntry{}}
	rt.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(pr.In.Context().Value(forwardKey{}).(*forwarding).target)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
			pr.Out.Header.Set(ForwardedHeader, cfg.NodeID)
		},
		Transport:     cfg.Transport,
		FlushInterval: -1, // long-polling answers go out as they come
		// The headers this server set already (CORS, from the same
		// configuration as the owner's) are not added a second time.
		ModifyResponse: func(res *http.Response) error {
			for k := range res.Request.Context().Value(forwardKey{}).(*forwarding).preset {
				res.Header.Del(k)
			}
			return nil
		},
		ErrorHandler: rt.proxyError,
	}
	return rt, nil
}

// install sets the engine's hooks: session ids that name this node, and
// forwarding of the requests for other nodes' sessions.
func (rt *router) install(ecfg *engineio.Config) {
	gen := ecfg.GenerateID
	if gen == nil {
		gen = engineio.GenerateID
	}
	ecfg.GenerateID = func(r *http.Request) (string, error) {
		id, err := gen(r)
		return rt.cfg.NodeID + id, err
	}
	ecfg.UnknownSession = rt.forward
}

// announce keeps this node's address in the directory until ctx ends.
func (rt *router) announce(ctx context.Context) {
	every := rt.cfg.TTL / 3
	for {
		actx, cancel := context.WithTimeout(ctx, every)
		err := rt.cfg.Directory.Announce(actx, rt.cfg.NodeID, rt.cfg.Addr, rt.cfg.TTL)
		cancel()
		if err != nil && ctx.Err() == nil {
			rt.srv.cfg.Logger.Warn("socketio: announcing the route failed", "node", rt.cfg.NodeID, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// forward serves a request for a session this server does not have, when
// another server of the cluster owns it.
func (rt *router) forward(w http.ResponseWriter, r *http.Request, sid string) bool {
	if len(sid) <= RouteNodeIDLen || r.Header.Get(ForwardedHeader) != "" {
		return false
	}
	node := sid[:RouteNodeIDLen]
	if node == rt.cfg.NodeID {
		return false
	}
	addr := rt.resolve(r.Context(), node)
	if addr == "" {
		return false
	}
	f := &forwarding{node: node, target: &url.URL{Scheme: "http", Host: addr}, preset: w.Header().Clone()}
	rt.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), forwardKey{}, f)))
	return true
}

// resolve returns the address of node, from the cache or the directory.
func (rt *router) resolve(ctx context.Context, node string) string {
	now := time.Now()
	rt.mu.Lock()
	e, ok := rt.cache[node]
	rt.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.addr
	}
	lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	addr, err := rt.cfg.Directory.Lookup(lctx, node)
	cancel()
	if err != nil {
		rt.srv.cfg.Logger.Warn("socketio: route lookup failed", "node", node, "err", err)
		return ""
	}
	ttl := rt.lookup
	if addr == "" {
		ttl = time.Second // unknown ids, real or forged, cost one lookup a second each
	}
	rt.mu.Lock()
	if len(rt.cache) >= 4096 {
		clear(rt.cache) // forged ids cannot grow it without bound
	}
	rt.cache[node] = routeEntry{addr: addr, expires: now.Add(ttl)}
	rt.mu.Unlock()
	return addr
}

// proxyError answers a forwarded request whose owner could not be reached:
// the session is as good as gone, as Engine.IO says of an unknown one.
func (rt *router) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	rt.srv.cfg.Logger.Debug("socketio: forwarding failed", "err", err)
	rt.mu.Lock()
	delete(rt.cache, r.Context().Value(forwardKey{}).(*forwarding).node) // look it up again next time
	rt.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write([]byte(`{"code":1,"message":"Session ID unknown"}`))
}
