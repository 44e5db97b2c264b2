package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/protocol"
)

// Socket states.
const (
	statePending   int32 = iota // middlewares running
	stateConnected              // admitted
	stateClosed                 // gone
)

// PacketMiddleware runs for every event a socket receives, before its
// handlers, in the order of registration. A non-nil error drops the event:
// when the client asked for an acknowledgement, it carries the error in
// the shape of Config.ErrorReply (return an *Error, such as one with
// CodeRateLimited, to tell the client why); otherwise, and for errors that
// are not an *Error, the error goes to the socket's OnError handlers.
type PacketMiddleware func(ctx context.Context, event string, args Args) error

// Socket is one client connected to one namespace. All its methods are safe
// for concurrent use.
type Socket struct {
	id        string
	pid       string // private session id, for recovery
	nsp       *Namespace
	conn      *conn
	auth      json.RawMessage // the CONNECT payload, for Handshake
	created   int64           // Unix nanoseconds, for Handshake
	handshake atomic.Pointer[Handshake]
	recovered bool
	ctx       context.Context
	cancel    context.CancelCauseFunc
	queue     *taskQueue
	state     atomic.Int32
	hasAnyOut atomic.Bool
	// restoring is set while a restored socket of a CatchUpStore catches
	// up, and until its log reader has caught up with it (see deliver).
	restoring atomic.Pointer[restoreState]

	mu           sync.Mutex
	data         Data
	handlers     handlerSet
	onDisconnect []func(DisconnectEvent)
	hooks        *socketHooks // made by the first of its registrations
	acks         map[uint64]func(Args)
}

// socketHooks are the handlers fewer sockets have: a socket without them
// does not carry their empty slices.
type socketHooks struct {
	anyIn           []*AnyHandler // replaced, never modified in place
	anyOut          []*OutgoingHandler
	middlewares     []PacketMiddleware
	onDisconnecting []func(DisconnectEvent)
	onError         []func(error)
}

// hooksLocked returns the socket's hooks, making them; s.mu is held.
func (s *Socket) hooksLocked() *socketHooks {
	if s.hooks == nil {
		s.hooks = new(socketHooks)
	}
	return s.hooks
}

func newSocket(nsp *Namespace, c *conn, auth json.RawMessage, prev *Session) *Socket {
	s := &Socket{
		nsp:     nsp,
		conn:    c,
		auth:    auth,
		created: time.Now().UnixNano(),
		// The connecting goroutine runs the queue first (see conn.connect).
		queue: newTaskQueue(nsp.srv.track, nsp.srv.cfg.MaxPendingEvents, true),
	}
	// Not derived from the server's context: Shutdown ends every socket
	// itself, and a child of one shared context would register in its
	// children map, under its lock, for every socket.
	s.ctx, s.cancel = context.WithCancelCause(context.Background())
	if prev != nil {
		s.id, s.pid, s.data, s.recovered = prev.SID, prev.PID, prev.Data, true
	} else {
		if nsp.srv.cfg.ConnectionStateRecovery != nil {
			s.pid, s.id = newPrivateID()
		} else {
			s.id = newID()
		}
	}
	return s
}

// ID returns the socket's id. It is random and differs from the Engine.IO
// session id, which stays private; a recovered socket keeps its former id.
// A Socket.IO v2 client's socket is the exception: its id is the one the
// client computes, the Engine.IO id ("/nsp#" and the id outside "/").
func (s *Socket) ID() string { return s.id }

// Namespace returns the socket's namespace.
func (s *Socket) Namespace() *Namespace { return s.nsp }

// Handshake returns the details of the connection's first request. It is
// built on the first call and kept: a socket whose handshake nobody reads
// holds none of it but its CONNECT payload.
func (s *Socket) Handshake() *Handshake {
	if h := s.handshake.Load(); h != nil {
		return h
	}
	h := newHandshake(s.conn.ec.Request(), s.conn.ec.RemoteAddr(), s.auth, time.Unix(0, s.created))
	if s.handshake.CompareAndSwap(nil, h) {
		return h
	}
	return s.handshake.Load()
}

// Context returns a context canceled when the socket disconnects. Handlers
// receive it (or one derived from it).
func (s *Socket) Context() context.Context { return s.ctx }

// Recovered reports whether the socket recovered the state of a former one
// (connection state recovery).
func (s *Socket) Recovered() bool { return s.recovered }

// Connected reports whether the socket is connected.
func (s *Socket) Connected() bool { return s.state.Load() == stateConnected }

// Data returns the socket's application data; read it with DataAs. A
// socket recovered through a cluster adapter holds the JSON of what its
// former server stored, which DataAs decodes into the same type.
func (s *Socket) Data() Data {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data
}

// SetData stores an application value with the socket (Node's
// socket.data). It is kept by connection state recovery and visible to
// every server of a cluster through FetchSockets, as JSON beyond this
// server.
func (s *Socket) SetData(v any) {
	s.mu.Lock()
	s.data = Data{v: v}
	s.mu.Unlock()
}

// Rooms returns the rooms the socket is in, its own id included.
func (s *Socket) Rooms() []string { return s.nsp.adapter.SocketRooms(s.id) }

// Join adds the socket to rooms.
func (s *Socket) Join(rooms ...string) {
	if s.state.Load() == stateClosed || len(rooms) == 0 {
		return
	}
	s.nsp.adapter.AddAll(s.id, rooms)
}

// Leave removes the socket from room.
func (s *Socket) Leave(room string) {
	if s.state.Load() == stateClosed {
		return
	}
	s.nsp.adapter.Del(s.id, room)
}

// OnRaw registers h for the event ev, replacing any handler registered for
// ev. Handlers of one socket run one at a time in arrival order. It panics
// if ev is a reserved name ("connect", "connect_error", "disconnect",
// "disconnecting", "newListener", "removeListener"): the client cannot send
// those, and lifecycle has its own methods (OnDisconnect…).
func (s *Socket) OnRaw(ev string, h RawHandler) {
	if reserved(ev) {
		panic(fmt.Sprintf("socketio: %q is a reserved event name", ev))
	}
	s.mu.Lock()
	s.handlers.set(ev, h)
	s.mu.Unlock()
}

// Off removes the handler of ev (Node's socket.off(ev)).
func (s *Socket) Off(ev string) {
	s.mu.Lock()
	s.handlers.del(ev)
	s.mu.Unlock()
}

// Handler returns the handler registered for ev, nil if none (Node's
// socket.listeners(ev); a Go socket has one handler per event). Typed
// handlers are returned as the RawHandler that decodes for them.
func (s *Socket) Handler(ev string) RawHandler {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.handlers.get(ev)
}

// AnyHandler receives every event a socket receives (see Socket.OnAny).
type AnyHandler func(ctx context.Context, event string, args Args)

// OutgoingHandler receives every event sent to a socket (see
// Socket.OnAnyOutgoing).
type OutgoingHandler func(event string, args Args)

// OnAny registers h to run for every event received, before the packet
// middlewares (Use) and the event's own handler, after the catch-all
// handlers registered before. The returned function removes h (Node's
// socket.offAny(h)); calling it again does nothing.
func (s *Socket) OnAny(h AnyHandler) (remove func()) {
	return addHook(s, &h, false, func(hk *socketHooks) *[]*AnyHandler { return &hk.anyIn })
}

// PrependAny is OnAny with h running before the catch-all handlers
// registered so far.
func (s *Socket) PrependAny(h AnyHandler) (remove func()) {
	return addHook(s, &h, true, func(hk *socketHooks) *[]*AnyHandler { return &hk.anyIn })
}

// OffAny removes every catch-all handler.
func (s *Socket) OffAny() {
	s.mu.Lock()
	if s.hooks != nil {
		s.hooks.anyIn = nil
	}
	s.mu.Unlock()
}

// AnyHandlers returns the catch-all handlers, in the order they run
// (Node's socket.listenersAny()).
func (s *Socket) AnyHandlers() []AnyHandler {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hooks == nil {
		return nil
	}
	return derefAll(s.hooks.anyIn)
}

// OnAnyOutgoing registers h to run for every event sent to the socket, on the
// goroutine that emits it (possibly concurrently): it must be fast and safe
// for concurrent use. The returned function removes h (Node's
// socket.offAnyOutgoing(h)).
func (s *Socket) OnAnyOutgoing(h OutgoingHandler) (remove func()) {
	s.hasAnyOut.Store(true)
	return addHook(s, &h, false, func(hk *socketHooks) *[]*OutgoingHandler { return &hk.anyOut })
}

// PrependAnyOutgoing is OnAnyOutgoing with h running before the handlers
// registered so far.
func (s *Socket) PrependAnyOutgoing(h OutgoingHandler) (remove func()) {
	s.hasAnyOut.Store(true)
	return addHook(s, &h, true, func(hk *socketHooks) *[]*OutgoingHandler { return &hk.anyOut })
}

// OffAnyOutgoing removes every handler of outgoing events.
func (s *Socket) OffAnyOutgoing() {
	s.mu.Lock()
	if s.hooks != nil {
		s.hooks.anyOut = nil
	}
	s.mu.Unlock()
}

// AnyOutgoingHandlers returns the handlers of outgoing events, in the
// order they run (Node's socket.listenersAnyOutgoing()).
func (s *Socket) AnyOutgoingHandlers() []OutgoingHandler {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hooks == nil {
		return nil
	}
	return derefAll(s.hooks.anyOut)
}

// addHook adds h to the list of s's hooks that list returns, and returns
// the function that removes it. The list is replaced, never modified in
// place: the dispatcher reads it without the lock.
func addHook[H any](s *Socket, h *H, first bool, list func(*socketHooks) *[]*H) func() {
	s.mu.Lock()
	l := list(s.hooksLocked())
	if first {
		*l = append([]*H{h}, *l...)
	} else {
		*l = append(slices.Clip(*l), h)
	}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		l := list(s.hooks)
		if i := slices.Index(*l, h); i >= 0 {
			*l = slices.Delete(slices.Clone(*l), i, i+1)
		}
		s.mu.Unlock()
	}
}

func derefAll[H any](l []*H) []H {
	out := make([]H, len(l))
	for i, h := range l {
		out[i] = *h
	}
	return out
}

// Use adds a middleware run for every event the socket receives.
func (s *Socket) Use(m PacketMiddleware) {
	s.mu.Lock()
	hk := s.hooksLocked()
	hk.middlewares = append(hk.middlewares, m)
	s.mu.Unlock()
}

// OnDisconnecting registers h to run when the socket disconnects, before
// the OnDisconnect handlers. It runs on the socket's handler queue;
// DisconnectEvent.Rooms holds the rooms the socket was in.
func (s *Socket) OnDisconnecting(h func(DisconnectEvent)) {
	s.mu.Lock()
	hk := s.hooksLocked()
	hk.onDisconnecting = append(hk.onDisconnecting, h)
	s.mu.Unlock()
}

// OnDisconnect registers h to run when the socket disconnects, on the
// socket's handler queue after the handlers of the events received before.
func (s *Socket) OnDisconnect(h func(DisconnectEvent)) {
	s.mu.Lock()
	s.onDisconnect = append(s.onDisconnect, h)
	s.mu.Unlock()
}

// OnError registers h to receive the errors of the socket's packet
// middlewares and typed handlers that the client was not told about: those
// of events sent without an acknowledgement, and every error that is not
// an *Error (the client only learns that something failed). It runs on the
// socket's handler queue (Node's socket.on("error")).
func (s *Socket) OnError(h func(error)) {
	s.mu.Lock()
	hk := s.hooksLocked()
	hk.onError = append(hk.onError, h)
	s.mu.Unlock()
}

// Emit sends an event to the client. Arguments are encoded with
// encoding/json, except []byte values (sent as binary attachments, also
// inside []any and map[string]any) and json.RawMessage values (sent
// verbatim). It never blocks. A middleware may emit before the socket is
// admitted: the client receives the events after the connection.
func (s *Socket) Emit(ev string, args ...any) error { return Emitter{s: s}.Emit(ev, args...) }

// EmitWithAck sends an event and waits for the client's acknowledgement.
// When ctx ends first, the error matches ctx.Err() with errors.Is; when the
// socket disconnects first, it is ErrDisconnected.
func (s *Socket) EmitWithAck(ctx context.Context, ev string, args ...any) (Args, error) {
	return Emitter{s: s}.EmitWithAck(ctx, ev, args...)
}

// Volatile returns an Emitter whose events are dropped when the client's
// connection is busy.
func (s *Socket) Volatile() Emitter { return Emitter{s: s, flags: BroadcastFlags{Volatile: true}} }

// Compress returns an Emitter with the compress flag set to compress.
func (s *Socket) Compress(compress bool) Emitter {
	return Emitter{s: s, flags: BroadcastFlags{NoCompress: !compress}}
}

// Broadcast returns an operator that reaches every socket of the namespace
// but this one.
func (s *Socket) Broadcast() BroadcastOperator {
	return BroadcastOperator{nsp: s.nsp, except: []string{s.id}}
}

// To returns an operator that reaches the sockets in rooms, except this one.
func (s *Socket) To(rooms ...string) BroadcastOperator { return s.Broadcast().To(rooms...) }

// In is an alias of To.
func (s *Socket) In(rooms ...string) BroadcastOperator { return s.To(rooms...) }

// Except returns an operator that reaches every socket of the namespace but
// this one and those in rooms.
func (s *Socket) Except(rooms ...string) BroadcastOperator { return s.Broadcast().Except(rooms...) }

// Disconnect makes the socket leave its namespace: the client is told, the
// connection stays open for its other namespaces.
func (s *Socket) Disconnect() {
	s.kick(ReasonServerNamespaceDisconnect, nil)
}

// kick disconnects the socket by the server's will and tells the client. The
// socket is closed before the DISCONNECT packet is sent, so that the client's
// reaction (often closing the whole connection) cannot be taken for the
// cause.
func (s *Socket) kick(reason DisconnectReason, cause error) {
	if s.close(reason, cause) {
		_ = s.writePacket(&protocol.Packet{Type: protocol.Disconnect, Namespace: s.nsp.name}, false)
	}
}

// CloseConn disconnects every socket of the socket's connection and closes
// the connection.
func (s *Socket) CloseConn() { s.conn.disconnectAll() }

// Emitter sends events to one socket with flags. It is an immutable value:
// Volatile and Compress return modified copies.
type Emitter struct {
	s     *Socket
	flags BroadcastFlags
}

// Volatile returns a copy whose events are dropped when the client's
// connection is busy.
func (e Emitter) Volatile() Emitter { e.flags.Volatile = true; return e }

// Compress returns a copy with the compress flag set to compress.
func (e Emitter) Compress(compress bool) Emitter { e.flags.NoCompress = !compress; return e }

// Emit sends an event; see Socket.Emit.
func (e Emitter) Emit(ev string, args ...any) error {
	if reserved(ev) {
		return ErrReservedEvent
	}
	s := e.s
	state := s.state.Load()
	recovery := s.nsp.srv.cfg.ConnectionStateRecovery != nil
	if state == stateClosed && !recovery {
		return ErrDisconnected
	}
	p, err := eventPacket(ev, args)
	if err != nil {
		return err
	}
	p.Namespace = s.nsp.name
	if recovery && state != statePending {
		// Through the adapter, so that the packet is stored for recovery:
		// a client that recovers this socket's session gets it even when
		// it was emitted while the client was away.
		return s.nsp.adapter.Broadcast(context.Background(), p,
			BroadcastOptions{Rooms: []string{s.id}, Flags: e.flags})
	}
	s.notifyOutgoing(p)
	return s.writePacket(p, e.flags.Volatile)
}

// EmitWithAck sends an event and waits for its acknowledgement; see
// Socket.EmitWithAck.
func (e Emitter) EmitWithAck(ctx context.Context, ev string, args ...any) (Args, error) {
	if reserved(ev) {
		return Args{}, ErrReservedEvent
	}
	s := e.s
	p, err := eventPacket(ev, args)
	if err != nil {
		return Args{}, err
	}
	p.Namespace = s.nsp.name
	p.ID, p.HasID = s.nsp.nextAckID(), true
	reply := make(chan Args, 1)
	if !s.addAck(p.ID, func(a Args) { reply <- a }) {
		return Args{}, ErrDisconnected
	}
	s.notifyOutgoing(p)
	if err := s.writePacket(p, e.flags.Volatile); err != nil {
		s.removeAck(p.ID)
		return Args{}, err
	}
	select {
	case a := <-reply:
		return a, nil
	case <-ctx.Done():
		s.removeAck(p.ID)
		return Args{}, fmt.Errorf("socketio: waiting for the acknowledgement of %q: %w", ev, ctx.Err())
	case <-s.ctx.Done():
		select {
		case a := <-reply:
			return a, nil
		default:
		}
		return Args{}, ErrDisconnected
	}
}

// writePacket sends a packet to the client.
func (s *Socket) writePacket(p *protocol.Packet, volatile bool) error {
	msgs, err := s.conn.srv.encode(p)
	if err != nil {
		return err
	}
	if volatile {
		return s.conn.send(msgs, true)
	}
	return s.conn.sendNow(msgs)
}

// restoreState is what a restored socket of a CatchUpStore needs until
// the broadcasts reaching it are all new. Its fields are guarded by s.mu.
type restoreState struct {
	store   CatchUpStore
	holding bool         // catching up: broadcasts go to held
	held    []heldPacket // the broadcasts that arrived while holding
	// floor is the last offset the socket got once it stops holding:
	// broadcasts at or before it (a log reader running late) are dropped,
	// until one comes after it.
	floor string
}

// heldPacket is a broadcast kept while a restored socket catches up.
type heldPacket struct {
	p        *protocol.Packet
	msgs     []engineio.Message
	volatile bool
}

// deliver sends an encoded broadcast to the client, if connected.
func (s *Socket) deliver(p *protocol.Packet, msgs []engineio.Message, volatile bool) {
	if s.state.Load() != stateConnected {
		return
	}
	if r := s.restoring.Load(); r != nil && !s.restoredDeliver(r, p, msgs, volatile) {
		return
	}
	s.notifyOutgoing(p)
	_ = s.conn.send(msgs, volatile)
}

// restoredDeliver decides for a socket in restoring state whether deliver
// sends p now: not while it catches up (p is held), nor when p is one it
// got already.
func (s *Socket) restoredDeliver(r *restoreState, p *protocol.Packet, msgs []engineio.Message, volatile bool) bool {
	s.mu.Lock()
	if r.holding {
		r.held = append(r.held, heldPacket{p, msgs, volatile})
		s.mu.Unlock()
		return false
	}
	floor := r.floor
	s.mu.Unlock()
	off := packetOffset(p)
	if off == "" {
		return true
	}
	if !r.store.OffsetBefore(floor, off) {
		return false // got it already
	}
	s.restoring.CompareAndSwap(r, nil) // the reader has caught up
	return true
}

func (s *Socket) notifyOutgoing(p *protocol.Packet) {
	if !s.hasAnyOut.Load() {
		return
	}
	name, elems, err := protocol.EventName(p.Data)
	if err != nil {
		return
	}
	s.mu.Lock()
	var hs []*OutgoingHandler
	if s.hooks != nil {
		hs = s.hooks.anyOut
	}
	s.mu.Unlock()
	args := protocol.NewArgs(elems, p.Attachments)
	for _, h := range hs {
		(*h)(name, args)
	}
}

func (s *Socket) addAck(id uint64, f func(Args)) bool {
	s.mu.Lock()
	if s.state.Load() == stateClosed {
		s.mu.Unlock()
		return false
	}
	if s.acks == nil {
		s.acks = map[uint64]func(Args){} // most sockets never wait for an ack
	}
	s.acks[id] = f
	s.mu.Unlock()
	s.conn.ackAwaited()
	return true
}

func (s *Socket) removeAck(id uint64) {
	s.mu.Lock()
	delete(s.acks, id)
	s.mu.Unlock()
}

// onPacket handles a packet for this socket, on the connection's read
// goroutine: events are queued for the handlers, acknowledgements are
// delivered at once.
func (s *Socket) onPacket(p *protocol.Packet) {
	switch p.Type {
	case protocol.Event, protocol.BinaryEvent:
		// The decoder has checked the payload (an array starting with a
		// name that is not reserved).
		name, elems, err := protocol.EventName(p.Data)
		if err != nil {
			s.conn.fail(ReasonParseError, err)
			return
		}
		var ack AckFunc
		if p.HasID {
			ack = s.ackFunc(p.ID)
		}
		args := protocol.NewArgs(elems, p.Attachments)
		task := func() { s.dispatch(name, args, ack) }
		if !s.queue.push(task, s.conn.ec) {
			s.conn.overflow(s, task)
		}
	case protocol.Ack, protocol.BinaryAck:
		s.mu.Lock()
		f := s.acks[p.ID]
		delete(s.acks, p.ID)
		s.mu.Unlock()
		if f == nil {
			return // unknown or expired: ignored, as by the official server
		}
		args, err := protocol.ArgsFromArray(p.Data, p.Attachments)
		if err != nil {
			s.conn.fail(ReasonParseError, err)
			return
		}
		f(args)
	case protocol.Disconnect:
		s.close(ReasonClientNamespaceDisconnect, nil)
	}
}

func (s *Socket) ackFunc(id uint64) AckFunc {
	var sent atomic.Bool
	return func(args ...any) error {
		p, err := ackPacket(s.nsp.name, id, args)
		if err != nil {
			return err
		}
		if !sent.CompareAndSwap(false, true) {
			return ErrAckSent
		}
		if s.state.Load() != stateConnected {
			return ErrDisconnected
		}
		return s.writePacket(p, false)
	}
}

// dispatch runs the middlewares and handlers of one event. It runs on the
// socket's queue.
func (s *Socket) dispatch(name string, args Args, ack AckFunc) {
	if s.state.Load() != stateConnected {
		return // received before the disconnection, handled after: ignored
	}
	defer s.recoverHandler(name)
	s.mu.Lock()
	h := s.handlers.get(name)
	var mws []PacketMiddleware
	var anys []*AnyHandler
	if s.hooks != nil {
		mws, anys = s.hooks.middlewares, s.hooks.anyIn
	}
	s.mu.Unlock()
	// As in the official server, catch-all listeners see every event, also
	// those a middleware then refuses.
	for _, f := range anys {
		(*f)(s.ctx, name, args)
	}
	for _, m := range mws {
		if err := m(s.ctx, name, args); err != nil {
			env := s.env()
			env.Fail(name, ack, err)
			return
		}
	}
	if h != nil {
		h(s.ctx, args, ack)
	}
}

// recoverHandler ends the socket when a handler panicked.
func (s *Socket) recoverHandler(event string) {
	v := recover()
	if v == nil {
		return
	}
	perr := &HandlerPanicError{Event: event, Value: v, Stack: debug.Stack()}
	s.nsp.srv.cfg.Logger.Error("socketio: handler panicked", "nsp", s.nsp.name,
		"socket", s.id, "event", event, "panic", v)
	s.kick(ReasonHandlerPanic, perr)
}

func (s *Socket) reportError(err error) {
	s.mu.Lock()
	var hs []func(error)
	if s.hooks != nil {
		hs = s.hooks.onError
	}
	s.mu.Unlock()
	if len(hs) == 0 {
		s.nsp.srv.cfg.Logger.Debug("socketio: handler error", "nsp", s.nsp.name, "socket", s.id, "err", err)
	}
	for _, h := range hs {
		h(err)
	}
}

// close ends the socket: it leaves its rooms and namespace at once, its
// context is canceled, and the disconnect handlers are queued. It reports
// whether this call closed it (false for a socket not connected).
func (s *Socket) close(reason DisconnectReason, cause error) bool {
	if s.state.Swap(stateClosed) != stateConnected {
		return false // pending sockets are cleaned up by conn.connect
	}
	rooms := s.nsp.adapter.SocketRooms(s.id)
	s.nsp.adapter.DelAll(s.id)
	s.conn.remove(s)
	s.nsp.remove(s)
	if s.nsp.srv.cfg.ConnectionStateRecovery != nil && reason.recoverable() {
		if store, ok := s.nsp.adapter.(SessionStore); ok {
			store.PersistSession(&Session{SID: s.id, PID: s.pid, Rooms: rooms, Data: s.Data()})
		}
	}
	s.mu.Lock()
	clear(s.acks)
	s.mu.Unlock()
	ctxErr := cause
	if ctxErr == nil {
		ctxErr = errors.New("socketio: disconnected: " + string(reason))
	}
	s.cancel(ctxErr)
	s.nsp.srv.cfg.Logger.Debug("socketio: socket disconnected", "nsp", s.nsp.name,
		"socket", s.id, "reason", string(reason))
	ev := DisconnectEvent{Reason: reason, Err: cause, Rooms: rooms}
	s.queue.pushFinal(func() {
		s.mu.Lock()
		var hs []func(DisconnectEvent)
		if s.hooks != nil {
			hs = s.hooks.onDisconnecting
		}
		hs = slices.Concat(hs, s.onDisconnect)
		s.mu.Unlock()
		for _, h := range hs {
			s.runLifecycle(h, ev)
		}
	})
	return true
}

func (s *Socket) runLifecycle(h func(DisconnectEvent), ev DisconnectEvent) {
	defer func() {
		if v := recover(); v != nil {
			s.nsp.srv.cfg.Logger.Error("socketio: disconnect handler panicked",
				"nsp", s.nsp.name, "socket", s.id, "panic", v)
		}
	}()
	h(ev)
}
