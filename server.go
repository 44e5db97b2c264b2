package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/internal/track"
)

// Server is a Socket.IO server. It is an http.Handler: mount it under its
// path prefix.
//
//	srv := socketio.NewServer(nil)
//	srv.OnConnect(func(s *socketio.Socket) { … })
//	mux.Handle("/socket.io/", srv)
type Server struct {
	cfg   *Config
	eio   *engineio.Server
	track *track.Group
	// closing counts the connections being shut and the sockets being
	// connected, which may store sessions: Shutdown waits for them before
	// it closes the adapters.
	closing track.Group
	ctx     context.Context // canceled by Shutdown
	cancel  context.CancelFunc

	mu          sync.RWMutex
	nsps        map[string]*Namespace
	parents     []*ParentNamespace
	conns       map[*conn]struct{}
	onNamespace []func(*Namespace)
	onConn      []func(Conn)
	closed      bool

	draining atomic.Bool // Drain was called
}

// NewServer returns a server configured by cfg (nil means all defaults). The
// main namespace "/" exists from the start.
//
// It panics on an invalid Route (no Addr or Directory, a malformed NodeID),
// a programming error.
func NewServer(cfg *Config) *Server {
	s := newServer(cfg)
	ecfg := s.cfg.Engine
	if s.cfg.Route != nil {
		rt, err := newRouter(s, s.cfg.Route)
		if err != nil {
			panic(err)
		}
		rt.install(&ecfg)
		s.track.Add() // Shutdown waits for it
		go func() {
			defer s.track.Done()
			rt.announce(s.ctx)
		}()
	}
	s.eio = engineio.NewServer(&ecfg, s.onEngineConn)
	return s
}

// newServer builds a server without its Engine.IO layer.
func newServer(cfg *Config) *Server {
	s := &Server{
		cfg:   cfg.withDefaults(),
		track: new(track.Group),
		nsps:  map[string]*Namespace{},
		conns: map[*conn]struct{}{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.Of("/")
	return s
}

func (s *Server) onEngineConn(ec *engineio.Conn) {
	c := s.accept(ec)
	if c == nil {
		return
	}
	ec.OnMessage(c.onMessage)
	ec.OnClose(c.onClose)
	if c.eio3 {
		c.connectMainV2()
	}
}

// accept starts serving an Engine.IO connection.
func (s *Server) accept(ec engineConn) *conn {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ec.Close()
		return nil
	}
	c := newConn(s, ec)
	s.conns[c] = struct{}{}
	hs := s.onConn
	s.mu.Unlock()
	for _, h := range hs {
		h(Conn{c})
	}
	return c
}

// OnConn registers h to run for every new Engine.IO connection (Node's
// io.engine.on("connection")), before any of its packets is handled: the
// place to observe connections with Conn.OnClose, OnRead, OnWrite and
// OnUpgrade. It runs on the goroutine that accepted the connection and
// must not block.
func (s *Server) OnConn(h func(Conn)) {
	s.mu.Lock()
	s.onConn = append(s.onConn, h)
	s.mu.Unlock()
}

// Done returns a channel closed when Shutdown starts, for goroutines that
// live as long as the server.
func (s *Server) Done() <-chan struct{} { return s.ctx.Done() }

func (s *Server) removeConn(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// ServeHTTP answers the Engine.IO requests under the configured path.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.eio.ServeHTTP(w, r)
}

// Engine returns the Engine.IO server under the Socket.IO one.
func (s *Server) Engine() *engineio.Server { return s.eio }

// ConnectionStateRecovery returns a copy of the server's recovery settings,
// with defaults applied, or nil when recovery is off. Adapters that store
// sessions read MaxDisconnectionDuration from it.
func (s *Server) ConnectionStateRecovery() *RecoveryConfig {
	if s.cfg.ConnectionStateRecovery == nil {
		return nil
	}
	r := *s.cfg.ConnectionStateRecovery
	return &r
}

// Of returns the namespace name, creating it if needed. A name without a
// leading slash gets one. A new name that matches a parent namespace
// registered with OfRegexp becomes a child of it.
func (s *Server) Of(name string) *Namespace {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	s.mu.RLock()
	n := s.nsps[name]
	s.mu.RUnlock()
	if n != nil {
		return n
	}
	s.mu.Lock()
	if n = s.nsps[name]; n != nil {
		s.mu.Unlock()
		return n
	}
	var parent *ParentNamespace
	for _, p := range s.parents {
		if p.re != nil && p.re.MatchString(name) {
			parent = p
			break
		}
	}
	n = s.addNamespace(name, parent)
	s.mu.Unlock()
	s.namespaceCreated(n)
	return n
}

// addNamespace creates a namespace; s.mu must be held.
func (s *Server) addNamespace(name string, parent *ParentNamespace) *Namespace {
	n := newNamespace(s, name, parent)
	s.nsps[name] = n
	if parent != nil {
		parent.addChild(n)
	}
	return n
}

func (s *Server) namespaceCreated(n *Namespace) {
	s.mu.RLock()
	hs := s.onNamespace
	s.mu.RUnlock()
	for _, h := range hs {
		h(n)
	}
}

// Namespaces returns the namespaces of the server, dynamic children
// included, in no particular order (Node's io._nsps).
func (s *Server) Namespaces() []*Namespace {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Collect(maps.Values(s.nsps))
}

// OnNamespace registers h to run when a namespace is created, including the
// children of dynamic namespaces (Node's "new_namespace" event). It runs on
// the goroutine that created the namespace.
func (s *Server) OnNamespace(h func(*Namespace)) {
	s.mu.Lock()
	s.onNamespace = append(s.onNamespace, h)
	s.mu.Unlock()
}

// OfRegexp returns a parent namespace whose children, created on demand, are
// the namespaces whose name matches re.
func (s *Server) OfRegexp(re *regexp.Regexp) *ParentNamespace {
	return s.addParent(&ParentNamespace{srv: s, re: re})
}

// OfFunc returns a parent namespace whose children are created on demand for
// the names that allow accepts. allow runs when a client connects to a
// namespace that does not exist yet, with the connection's CONNECT payload;
// it runs on a goroutine of its own and may block.
func (s *Server) OfFunc(allow func(ctx context.Context, name string, auth json.RawMessage) bool) *ParentNamespace {
	return s.addParent(&ParentNamespace{srv: s, allow: allow})
}

func (s *Server) addParent(p *ParentNamespace) *ParentNamespace {
	p.children = map[string]*Namespace{}
	s.mu.Lock()
	s.parents = append(s.parents, p)
	s.mu.Unlock()
	return p
}

// resolve returns the namespace a CONNECT to name joins, creating a dynamic
// child when a parent accepts it, or nil. It counts the connection as
// resolving, so that an empty child is not removed under it.
func (s *Server) resolve(name string, auth json.RawMessage) *Namespace {
	s.mu.RLock()
	n := s.nsps[name]
	parents := s.parents
	s.mu.RUnlock()
	if n == nil {
		for _, p := range parents {
			if p.accepts(s.ctx, name, auth) {
				s.mu.Lock()
				if s.closed {
					s.mu.Unlock()
					return nil
				}
				created := false
				if n = s.nsps[name]; n == nil {
					n = s.addNamespace(name, p)
					created = true
				}
				n.mu.Lock()
				n.resolving++
				n.mu.Unlock()
				s.mu.Unlock()
				if created {
					s.namespaceCreated(n)
				}
				return n
			}
		}
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nsps[name] != n { // removed meanwhile
		return nil
	}
	n.mu.Lock()
	n.resolving++
	n.mu.Unlock()
	return n
}

// cleanupChild removes an empty dynamic child namespace, when configured.
func (s *Server) cleanupChild(n *Namespace) {
	if n.parent == nil || !s.cfg.CleanupEmptyChildNamespaces {
		return
	}
	s.mu.Lock()
	n.mu.Lock()
	empty := len(n.sockets) == 0 && len(n.pending) == 0 && n.resolving == 0 && !n.removed
	if empty {
		n.removed = true
		delete(s.nsps, n.name)
	}
	n.mu.Unlock()
	s.mu.Unlock()
	if empty {
		n.parent.removeChild(n)
		_ = n.adapter.Close()
	}
}

// Use adds a middleware to the main namespace.
func (s *Server) Use(m Middleware) { s.Of("/").Use(m) }

// OnConnect registers a connect handler on the main namespace.
func (s *Server) OnConnect(h func(*Socket)) { s.Of("/").OnConnect(h) }

// To returns an operator of the main namespace that targets rooms.
func (s *Server) To(rooms ...string) BroadcastOperator { return s.Of("/").To(rooms...) }

// In is an alias of To.
func (s *Server) In(rooms ...string) BroadcastOperator { return s.To(rooms...) }

// Except returns an operator of the main namespace that excludes rooms.
func (s *Server) Except(rooms ...string) BroadcastOperator { return s.Of("/").Except(rooms...) }

// Local returns an operator of the main namespace restricted to this server.
func (s *Server) Local() BroadcastOperator { return s.Of("/").Local() }

// Volatile returns a volatile operator of the main namespace.
func (s *Server) Volatile() BroadcastOperator { return s.Of("/").Volatile() }

// Compress returns an operator of the main namespace with the compress
// flag set to compress.
func (s *Server) Compress(compress bool) BroadcastOperator { return s.Of("/").Compress(compress) }

// Emit sends an event to every socket of the main namespace.
func (s *Server) Emit(ctx context.Context, ev string, args ...any) error {
	return s.Of("/").Emit(ctx, ev, args...)
}

// EmitWithAck sends an event to every socket of the main namespace and
// returns their acknowledgements; see BroadcastOperator.EmitWithAck.
func (s *Server) EmitWithAck(ctx context.Context, ev string, args ...any) ([]Args, error) {
	return s.Of("/").EmitWithAck(ctx, ev, args...)
}

// FetchSockets returns every socket of the main namespace, on every server
// (Node's io.fetchSockets()).
func (s *Server) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return s.Of("/").FetchSockets(ctx)
}

// SocketsJoin makes every socket of the main namespace join rooms.
func (s *Server) SocketsJoin(ctx context.Context, rooms ...string) error {
	return s.Of("/").SocketsJoin(ctx, rooms...)
}

// SocketsLeave makes every socket of the main namespace leave rooms.
func (s *Server) SocketsLeave(ctx context.Context, rooms ...string) error {
	return s.Of("/").SocketsLeave(ctx, rooms...)
}

// DisconnectSockets disconnects every socket of the main namespace (Node's
// io.disconnectSockets()).
func (s *Server) DisconnectSockets(ctx context.Context) error {
	return s.Of("/").DisconnectSockets(ctx)
}

// CloseConns closes the connections of every socket of the main namespace
// (Node's io.disconnectSockets(true)).
func (s *Server) CloseConns(ctx context.Context) error {
	return s.Of("/").CloseConns(ctx)
}

// ServerSideEmit sends an event to the other servers of the cluster, on
// the main namespace; see Namespace.ServerSideEmit.
func (s *Server) ServerSideEmit(ctx context.Context, ev string, args ...any) error {
	return s.Of("/").ServerSideEmit(ctx, ev, args...)
}

// ServerSideEmitWithAck is ServerSideEmit waiting for every server's
// acknowledgement; see Namespace.ServerSideEmitWithAck.
func (s *Server) ServerSideEmitWithAck(ctx context.Context, ev string, args ...any) ([]Args, error) {
	return s.Of("/").ServerSideEmitWithAck(ctx, ev, args...)
}

// Shutdown disconnects every socket with ReasonServerShuttingDown, waits
// for the connections that were closing on their own to store their
// sessions, closes the adapters, closes the Engine.IO connections once they have sent what was
// emitted to them (see engineio.Server.Shutdown), then waits for the
// handlers still running. When ctx ends first, what is left is closed at
// once and ctx's error is returned. As with Node's io.close(), clients are
// not told to stay away: they see their connection close and reconnect, to
// another server behind a load balancer. See Drain for rolling restarts.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.closed = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	nsps := make([]*Namespace, 0, len(s.nsps))
	for _, n := range s.nsps {
		nsps = append(nsps, n)
	}
	s.mu.Unlock()

	s.cancel()
	for _, c := range conns {
		c.shut(ReasonServerShuttingDown, nil)
	}
	var errs []error
	if err := s.closing.Wait(ctx); err != nil {
		errs = append(errs, err)
	}
	for _, n := range nsps {
		n.events.close()
		if err := n.adapter.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if s.eio != nil {
		if err := s.eio.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	} else {
		for _, c := range conns {
			_ = c.ec.Close()
		}
	}
	if err := s.track.Wait(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Drain prepares a rolling restart: the server refuses new connections
// (503 Service Unavailable), then closes each connection once it has sent
// what was emitted to it, spreading the closes evenly over spread so that
// the clients do not all reconnect to the other servers at the same moment.
// Their sockets disconnect with ReasonServerShuttingDown and, with
// connection state recovery and a cluster adapter that keeps sessions
// (redisadapter.NewStreams), the server that each client reconnects to
// gives it back its id, rooms and missed events. Drain returns once every
// connection is closed, or with ctx's error. The adapters stay open, so the
// sessions are stored and broadcasts from other servers still flow; call
// Shutdown afterwards.
//
//	ready.Store(false)             // fail the balancer's health check
//	io.Drain(ctx, 5*time.Second)   // clients move to other servers
//	io.Shutdown(ctx)
//	httpServer.Shutdown(ctx)
func (s *Server) Drain(ctx context.Context, spread time.Duration) error {
	s.draining.Store(true)
	if s.eio != nil {
		return s.eio.Drain(ctx, spread)
	}
	s.mu.RLock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.RUnlock()
	for _, c := range conns {
		c.close(ReasonServerShuttingDown, nil)
	}
	return nil
}

// ParentNamespace creates child namespaces on demand, for the names it
// accepts (see Server.OfRegexp and Server.OfFunc). Its middlewares and
// connect handlers apply to every child, before the child's own.
type ParentNamespace struct {
	srv   *Server
	re    *regexp.Regexp
	allow func(ctx context.Context, name string, auth json.RawMessage) bool

	mu          sync.RWMutex
	middlewares []Middleware
	onConnect   []func(*Socket)
	children    map[string]*Namespace
}

func (p *ParentNamespace) accepts(ctx context.Context, name string, auth json.RawMessage) (ok bool) {
	if p.re != nil {
		return p.re.MatchString(name)
	}
	defer func() {
		if v := recover(); v != nil {
			p.srv.cfg.Logger.Error("socketio: namespace matcher panicked", "nsp", name, "panic", v)
			ok = false
		}
	}()
	return p.allow(ctx, name, auth)
}

// Use adds a middleware run for the connections to every child.
func (p *ParentNamespace) Use(m Middleware) {
	p.mu.Lock()
	p.middlewares = append(p.middlewares, m)
	p.mu.Unlock()
}

// OnConnect registers h for the sockets of every child.
func (p *ParentNamespace) OnConnect(h func(*Socket)) {
	p.mu.Lock()
	p.onConnect = append(p.onConnect, h)
	p.mu.Unlock()
}

// Children returns the child namespaces that exist now.
func (p *ParentNamespace) Children() []*Namespace {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return slices.Collect(maps.Values(p.children))
}

func (p *ParentNamespace) addChild(n *Namespace) {
	p.mu.Lock()
	p.children[n.name] = n
	p.mu.Unlock()
}

func (p *ParentNamespace) removeChild(n *Namespace) {
	p.mu.Lock()
	if p.children[n.name] == n {
		delete(p.children, n.name)
	}
	p.mu.Unlock()
}

// Emit sends an event to every socket of every child.
func (p *ParentNamespace) Emit(ctx context.Context, ev string, args ...any) error {
	return BroadcastOperator{parent: p}.Emit(ctx, ev, args...)
}

// To returns an operator that targets rooms in every child. Only Emit is
// supported on it.
func (p *ParentNamespace) To(rooms ...string) BroadcastOperator {
	return BroadcastOperator{parent: p}.To(rooms...)
}
