package socketio

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sio-go/socketio/protocol"
)

// Middleware runs when a client connects to a namespace, before the socket is
// admitted, in the order of registration. A non-nil error refuses the
// connection: the client receives a CONNECT_ERROR with the error's text as
// message, or with the Message and Data of a *ConnectError. ctx is the
// socket's context.
type Middleware func(ctx context.Context, s *Socket) error

// Namespace is a communication channel multiplexed over the connections, with
// its own sockets, middlewares, handlers and rooms. Get one with Server.Of.
type Namespace struct {
	name    string
	srv     *Server
	parent  *ParentNamespace
	adapter Adapter
	ackIDs  atomic.Uint64
	events  *taskQueue // handlers of server-side emits
	hooked  atomic.Bool

	mu          sync.RWMutex
	sockets     map[string]*Socket // connected
	pending     map[string]*Socket // running middlewares
	middlewares []Middleware
	onConnect   []func(*Socket)
	serverSide  map[string]RawHandler
	roomHooks   []func(RoomEvent)
	resolving   int  // connections resolved to this namespace, not yet added
	removed     bool // removed from the server (empty dynamic child)
}

func newNamespace(srv *Server, name string, parent *ParentNamespace) *Namespace {
	n := &Namespace{
		name:       name,
		srv:        srv,
		parent:     parent,
		events:     newTaskQueue(srv.track, srv.cfg.MaxPendingEvents, false),
		sockets:    map[string]*Socket{},
		pending:    map[string]*Socket{},
		serverSide: map[string]RawHandler{},
	}
	n.adapter = srv.cfg.Adapter(n)
	if _, ok := n.adapter.(SessionStore); !ok && srv.cfg.ConnectionStateRecovery != nil {
		srv.cfg.Logger.Warn("socketio: the adapter cannot store sessions: no connection state recovery",
			"nsp", name)
	}
	return n
}

// Name returns the namespace's name, such as "/" or "/chat".
func (n *Namespace) Name() string { return n.name }

// Adapter returns the namespace's adapter.
func (n *Namespace) Adapter() Adapter { return n.adapter }

// Server returns the server the namespace belongs to.
func (n *Namespace) Server() *Server { return n.srv }

// Use adds a middleware run for every connection to the namespace.
func (n *Namespace) Use(m Middleware) {
	n.mu.Lock()
	n.middlewares = append(n.middlewares, m)
	n.mu.Unlock()
}

// OnConnect registers h to run for every socket admitted to the namespace,
// after the client was told it is connected. It runs on the socket's handler
// queue, before the handlers of any event of that socket: register event
// handlers there.
func (n *Namespace) OnConnect(h func(s *Socket)) {
	n.mu.Lock()
	n.onConnect = append(n.onConnect, h)
	n.mu.Unlock()
}

// OnRoomEvent registers h to be told of every room created, deleted, joined
// or left in the namespace, for metrics and admin tools. h runs on the
// goroutine that changed the room, after the change; it must not block.
func (n *Namespace) OnRoomEvent(h func(RoomEvent)) {
	n.mu.Lock()
	n.roomHooks = append(n.roomHooks, h)
	n.mu.Unlock()
	n.hooked.Store(true)
}

func (n *Namespace) roomEvents(evs []RoomEvent) {
	if len(evs) == 0 {
		return
	}
	n.mu.RLock()
	hooks := n.roomHooks
	n.mu.RUnlock()
	for _, ev := range evs {
		for _, h := range hooks {
			h(ev)
		}
	}
}

// Sockets returns the sockets connected to the namespace on this server.
func (n *Namespace) Sockets() []*Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make([]*Socket, 0, len(n.sockets))
	for _, s := range n.sockets {
		out = append(out, s)
	}
	return out
}

// Socket returns the socket of this server with the given id, or nil.
func (n *Namespace) Socket(id string) *Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.sockets[id]
}

// lookup finds a socket of the namespace, connected or still running the
// middlewares.
func (n *Namespace) lookup(id string) *Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	if s := n.sockets[id]; s != nil {
		return s
	}
	return n.pending[id]
}

func (n *Namespace) forEachSocket(f func(*Socket)) {
	for _, s := range n.Sockets() {
		f(s)
	}
}

func (n *Namespace) nextAckID() uint64 { return n.ackIDs.Add(1) - 1 }

// handlersForConnect returns the middlewares and connect handlers that apply to
// the namespace: its parent's first, then its own.
func (n *Namespace) handlersForConnect() ([]Middleware, []func(*Socket)) {
	var mws []Middleware
	var hs []func(*Socket)
	if n.parent != nil {
		n.parent.mu.RLock()
		mws = append(mws, n.parent.middlewares...)
		hs = append(hs, n.parent.onConnect...)
		n.parent.mu.RUnlock()
	}
	n.mu.RLock()
	mws = append(mws, n.middlewares...)
	hs = append(hs, n.onConnect...)
	n.mu.RUnlock()
	return mws, hs
}

func (n *Namespace) addPending(s *Socket) {
	n.mu.Lock()
	n.pending[s.id] = s
	n.resolving--
	n.mu.Unlock()
}

func (n *Namespace) admit(s *Socket) {
	n.mu.Lock()
	delete(n.pending, s.id)
	n.sockets[s.id] = s
	n.mu.Unlock()
}

func (n *Namespace) remove(s *Socket) {
	n.mu.Lock()
	if n.sockets[s.id] == s {
		delete(n.sockets, s.id)
	}
	if n.pending[s.id] == s {
		delete(n.pending, s.id)
	}
	n.mu.Unlock()
	n.srv.cleanupChild(n)
}

// To returns an operator that broadcasts to the sockets in rooms.
func (n *Namespace) To(rooms ...string) BroadcastOperator { return n.operator().To(rooms...) }

// In is an alias of To.
func (n *Namespace) In(rooms ...string) BroadcastOperator { return n.To(rooms...) }

// Except returns an operator that broadcasts to every socket except those in
// rooms.
func (n *Namespace) Except(rooms ...string) BroadcastOperator { return n.operator().Except(rooms...) }

// Local returns an operator that reaches only the sockets of this server.
func (n *Namespace) Local() BroadcastOperator { return n.operator().Local() }

// Volatile returns an operator whose packets are dropped for clients whose
// connection is busy.
func (n *Namespace) Volatile() BroadcastOperator { return n.operator().Volatile() }

// Compress returns an operator with the compress flag set to compress.
func (n *Namespace) Compress(compress bool) BroadcastOperator {
	return n.operator().Compress(compress)
}

// Emit sends an event to every socket of the namespace.
func (n *Namespace) Emit(ctx context.Context, ev string, args ...any) error {
	return n.operator().Emit(ctx, ev, args...)
}

// EmitWithAck sends an event to every socket of the namespace and returns
// their acknowledgements; see BroadcastOperator.EmitWithAck.
func (n *Namespace) EmitWithAck(ctx context.Context, ev string, args ...any) ([]Args, error) {
	return n.operator().EmitWithAck(ctx, ev, args...)
}

// FetchSockets returns every socket of the namespace, on every server.
func (n *Namespace) FetchSockets(ctx context.Context) ([]*RemoteSocket, error) {
	return n.operator().FetchSockets(ctx)
}

// SocketsJoin makes every socket of the namespace join rooms.
func (n *Namespace) SocketsJoin(ctx context.Context, rooms ...string) error {
	return n.operator().SocketsJoin(ctx, rooms...)
}

// SocketsLeave makes every socket of the namespace leave rooms.
func (n *Namespace) SocketsLeave(ctx context.Context, rooms ...string) error {
	return n.operator().SocketsLeave(ctx, rooms...)
}

// DisconnectSockets disconnects every socket of the namespace.
func (n *Namespace) DisconnectSockets(ctx context.Context) error {
	return n.operator().DisconnectSockets(ctx)
}

// CloseConns closes the connections of every socket of the namespace, like
// Socket.CloseConn (Node's disconnectSockets(true)).
func (n *Namespace) CloseConns(ctx context.Context) error {
	return n.operator().CloseConns(ctx)
}

func (n *Namespace) operator() BroadcastOperator { return BroadcastOperator{nsp: n} }

// OnServerSideEmit registers h for event ev sent by other servers of the
// cluster with ServerSideEmit. h runs on a queue of the namespace, one event
// at a time; ack is nil when the sender expects no reply. Registering a
// handler again for ev replaces it. It panics if ev is reserved.
func (n *Namespace) OnServerSideEmit(ev string, h RawHandler) {
	if reserved(ev) || ev == "connection" || ev == "new_namespace" {
		panic(fmt.Sprintf("socketio: %q is a reserved event name", ev))
	}
	n.mu.Lock()
	n.serverSide[ev] = h
	n.mu.Unlock()
}

// ServerSideEmit sends an event to the other servers of the cluster; see
// OnServerSideEmit. With the in-memory adapter there is nobody to receive it.
func (n *Namespace) ServerSideEmit(ctx context.Context, ev string, args ...any) error {
	p, err := n.serverSidePacket(ev, args)
	if err != nil {
		return err
	}
	_, err = n.adapter.ServerSideEmit(ctx, p, nil)
	return err
}

// ServerSideEmitWithAck sends an event to the other servers of the cluster
// and waits for each one's acknowledgement. When ctx ends first it returns the
// replies received so far and an error that matches ctx.Err() with errors.Is.
//
// An adapter may bound its requests itself, as the cluster adapters'
// requestsTimeout does in Node: when it has a method
// RequestsTimeout() time.Duration, the wait ends after that long even if
// ctx has no deadline, with the replies received so far and an error that
// matches context.DeadlineExceeded.
func (n *Namespace) ServerSideEmitWithAck(ctx context.Context, ev string, args ...any) ([]Args, error) {
	p, err := n.serverSidePacket(ev, args)
	if err != nil {
		return nil, err
	}
	if b, ok := n.adapter.(interface{ RequestsTimeout() time.Duration }); ok && b.RequestsTimeout() > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.RequestsTimeout())
		defer cancel()
	}
	replies, expected, err := n.askServers(ctx, p, nil)
	if err != nil {
		return nil, err
	}
	if len(replies) < expected {
		return replies, fmt.Errorf("socketio: server-side emit %q: %d of %d servers answered: %w", ev, len(replies), expected, ctx.Err())
	}
	return replies, nil
}

// askServers sends the server-side event p to the other servers and
// collects their replies until every server has answered, ctx ends, or
// enough, when not nil, accepts a reply. It returns the replies and how
// many were expected.
func (n *Namespace) askServers(ctx context.Context, p *protocol.Packet, enough func(Args) bool) ([]Args, int, error) {
	var mu sync.Mutex
	var replies []Args
	expected := -1
	done := make(chan struct{})
	var closed bool
	finish := func() {
		if !closed {
			closed = true
			close(done)
		}
	}
	n2, err := n.adapter.ServerSideEmit(ctx, p, func(a Args) {
		mu.Lock()
		defer mu.Unlock()
		replies = append(replies, a)
		if enough != nil && enough(a) || expected >= 0 && len(replies) >= expected {
			finish()
		}
	})
	if err != nil {
		return nil, 0, err
	}
	mu.Lock()
	expected = n2
	if len(replies) >= expected {
		finish()
	}
	mu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
	}
	mu.Lock()
	defer mu.Unlock()
	return append([]Args(nil), replies...), expected, nil
}

func (n *Namespace) serverSidePacket(ev string, args []any) (*protocol.Packet, error) {
	if reserved(ev) || ev == "connection" || ev == "new_namespace" || ev == takeoverEvent {
		return nil, ErrReservedEvent
	}
	p, err := eventPacket(ev, args)
	if err != nil {
		return nil, err
	}
	p.Namespace = n.name
	return p, nil
}

// HandleServerSideEmit passes an event received from another server to the
// OnServerSideEmit handler of ev. Adapters call it. reply, when not nil,
// receives the handler's acknowledgement.
func (n *Namespace) HandleServerSideEmit(ev string, args Args, reply func(Args)) {
	if ev == takeoverEvent {
		n.onTakeover(args, reply)
		return
	}
	n.mu.RLock()
	h := n.serverSide[ev]
	n.mu.RUnlock()
	if h == nil {
		return
	}
	var ack AckFunc
	if reply != nil {
		var sent atomic.Bool
		ack = func(vals ...any) error {
			data, atts, err := protocol.MarshalArgs(vals)
			if err != nil {
				return err
			}
			if !sent.CompareAndSwap(false, true) {
				return ErrAckSent
			}
			a, err := protocol.ArgsFromArray(data, atts)
			if err != nil {
				return err
			}
			reply(a)
			return nil
		}
	}
	ok := n.events.push(func() {
		defer func() {
			if v := recover(); v != nil {
				n.srv.cfg.Logger.Error("socketio: server-side emit handler panicked",
					"nsp", n.name, "event", ev, "panic", v)
			}
		}()
		h(n.srv.ctx, args, ack)
	}, nil)
	if !ok {
		n.srv.cfg.Logger.Warn("socketio: server-side emit dropped, queue full", "nsp", n.name, "event", ev)
	}
}
