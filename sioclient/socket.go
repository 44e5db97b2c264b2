package sioclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/protocol"
)

// Socket is the client end of a connection to one namespace. Sockets of one
// Manager share its Engine.IO connection. Create one with Manager.Socket or
// Dial. Every method is safe for concurrent use.
type Socket struct {
	m   *Manager
	nsp string
	cfg SocketConfig

	active atomic.Bool // wants to be connected (the official client's "active")
	closed atomic.Bool // Close was called; set under mu
	owner  bool        // made by Dial: Close closes the manager
	queue  taskQueue   // runs the handlers

	mu         sync.Mutex
	conn       *engineio.ClientConn // the connection the CONNECT went over
	connGen    uint64               // its generation, 0 when none
	connected  bool
	id         string
	pid        string // recovery session id, when the server has recovery on
	lastOffset string
	recovered  bool
	sessCtx    context.Context // handlers' context, ends at disconnection
	sessCancel context.CancelFunc

	sendBuf  []buffered // events emitted while disconnected
	bufBytes int
	recvBuf  []received // events received before CONNECT
	acks     map[uint64]*pendingAck
	nextID   uint64
	retryQ   []*retryItem
	retryLen int // bytes in retryQ
	waiters  []chan error

	handlers     map[string]RawHandler
	anyHandlers  []func(ctx context.Context, event string, args Args)
	anyOutgoing  []func(event string, args Args)
	connectHooks []func()
	onConnectErr []func(error)
	onDisconnect []func(DisconnectEvent)
	onError      []func(error)
}

type buffered struct {
	p    *protocol.Packet
	size int
}

type received struct {
	name string
	args Args
	ack  AckFunc
}

type pendingAck struct {
	fn    func(Args, error)
	timer *time.Timer
}

func newSocket(m *Manager, nsp string, cfg SocketConfig) *Socket {
	s := &Socket{m: m, nsp: nsp, cfg: cfg.withDefaults(), acks: map[uint64]*pendingAck{}, handlers: map[string]RawHandler{}}
	s.queue.taken = m.wakeReader
	s.sessCtx, s.sessCancel = context.WithCancel(context.Background())
	s.sessCancel()
	return s
}

// Namespace returns the namespace, such as "/" or "/admin".
func (s *Socket) Namespace() string { return s.nsp }

// Manager returns the manager whose connection the socket uses.
func (s *Socket) Manager() *Manager { return s.m }

// ID returns the socket id the server assigned, "" while disconnected.
func (s *Socket) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// Connected reports whether the socket is connected to its namespace.
func (s *Socket) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connected
}

// Active reports whether the socket is connected or trying to connect:
// from Connect until Close, a refusal by the server (a CONNECT_ERROR or a
// disconnection by the server), or the manager giving up reconnecting. Like
// socket.active of the official client, it tells in an OnDisconnect handler
// whether the client reconnects by itself.
func (s *Socket) Active() bool { return s.active.Load() }

// Recovered reports whether the last connection restored the previous
// session (connection state recovery): same id, and the events missed in
// between delivered.
func (s *Socket) Recovered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recovered
}

// Connect connects the socket to its namespace, opening the manager's
// connection when needed, and waits until the server accepted it. It returns
// a *ConnectError when the server refused, ErrReconnectFailed when the
// reconnection policy gave up, and ctx.Err() when ctx ended first; in that
// last case the socket keeps trying in the background until Close.
func (s *Socket) Connect(ctx context.Context) error {
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.connected {
		s.mu.Unlock()
		return nil
	}
	w := make(chan error, 1)
	s.waiters = append(s.waiters, w)
	s.active.Store(true)
	s.mu.Unlock()
	defer s.m.awaitServer()()
	s.m.activate(s)
	select {
	case err := <-w:
		return err
	case <-ctx.Done():
		s.mu.Lock()
		for i, x := range s.waiters {
			if x == w {
				s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
				break
			}
		}
		s.mu.Unlock()
		return ctx.Err()
	}
}

// resolveLocked answers the Connect calls waiting.
func (s *Socket) resolveLocked(err error) {
	for _, w := range s.waiters {
		w <- err
	}
	s.waiters = nil
}

// Close disconnects the socket from its namespace for good: the server sees
// "client namespace disconnect", and the socket never reconnects. From then
// on Emit, EmitWithAck, Call and Connect return ErrClosed at once; events
// buffered or queued for retries are dropped, every EmitWithAck waiting
// returns ErrClosed, and the handlers run no more, except the OnDisconnect
// handlers, with ReasonClientDisconnect. Manager.Socket makes a new socket
// for the namespace.
//
// A socket made by Dial closes its manager too. Otherwise, when it was the
// manager's last active socket, the manager's connection is closed, and
// reopened when a socket connects again.
//
// Close returns once the goroutines it ended are gone, the handlers'
// included, with one exception: a handler that was running when Close was
// called and still runs (as when Close is called from a handler) is not
// waited for; its context is cancelled, and its goroutine ends once it
// returns. Close returns nil; later calls do nothing.
func (s *Socket) Close() error {
	running := s.queue.current()
	if !s.close() {
		return nil
	}
	s.m.forget(s)
	if s.owner {
		_ = s.m.Close()
	} else {
		s.m.release(true)
	}
	s.queue.wait(running)
	return nil
}

// close ends the socket and reports whether it was open. The manager is
// left to the caller.
func (s *Socket) close() bool {
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return false
	}
	s.closed.Store(true)
	wasConnected := s.connected
	if s.connected && s.conn != nil {
		if msgs, err := s.m.encode(&protocol.Packet{Type: protocol.Disconnect, Namespace: s.nsp}); err == nil {
			_ = s.conn.Send(msgs...)
		}
	}
	s.active.Store(false)
	fail := s.resetLocked()
	s.sendBuf, s.bufBytes = nil, 0
	s.retryQ, s.retryLen = nil, 0
	for id, a := range s.acks {
		delete(s.acks, id)
		stopAck(a)
		fail = append(fail, a)
	}
	s.resolveLocked(ErrClosed)
	s.mu.Unlock()
	for _, a := range fail {
		a.fn(Args{}, ErrClosed)
	}
	if wasConnected {
		s.pushDisconnect(DisconnectEvent{Reason: ReasonClientDisconnect})
	}
	return true
}

func stopAck(a *pendingAck) {
	if a.timer != nil {
		a.timer.Stop()
	}
}

// resetLocked ends the current session and returns the acknowledgements to
// fail: those of events sent, not of events still buffered.
func (s *Socket) resetLocked() []*pendingAck {
	s.connected = false
	s.id = ""
	s.conn, s.connGen = nil, 0
	s.recvBuf = nil
	s.sessCancel()
	var fail []*pendingAck
	for id, a := range s.acks {
		if !s.bufferedLocked(id) {
			delete(s.acks, id)
			stopAck(a)
			fail = append(fail, a)
		}
	}
	return fail
}

func (s *Socket) bufferedLocked(id uint64) bool {
	for _, b := range s.sendBuf {
		if b.p.HasID && b.p.ID == id {
			return true
		}
	}
	return false
}

// onOpen sends the CONNECT packet over a new connection.
func (s *Socket) onOpen(conn *engineio.ClientConn, gen uint64) {
	s.mu.Lock()
	if !s.active.Load() || s.connGen == gen {
		s.mu.Unlock()
		return
	}
	s.conn, s.connGen = conn, gen
	auth, authFn := s.cfg.Auth, s.cfg.AuthFunc
	s.mu.Unlock()
	if authFn == nil {
		s.sendConnect(conn, gen, auth)
		return
	}
	// The function may block: keep it off the connection's read loop.
	s.m.wg.Add(1)
	go func() {
		defer s.m.wg.Done()
		ctx, cancel := context.WithTimeout(s.m.ctx, s.m.cfg.Timeout)
		defer cancel()
		v, err := authFn(ctx)
		if err != nil {
			s.refuse(gen, fmt.Errorf("sioclient: auth: %w", err))
			return
		}
		s.sendConnect(conn, gen, v)
	}()
}

// sendConnect sends the CONNECT packet with the auth payload, plus the
// recovery session and offset when there is one.
func (s *Socket) sendConnect(conn *engineio.ClientConn, gen uint64, auth any) {
	var payload []byte
	if auth != nil {
		b, err := json.Marshal(auth)
		if err != nil || len(b) == 0 || (b[0] != '{' && string(b) != "null") {
			s.refuse(gen, fmt.Errorf("sioclient: auth must marshal to a JSON object: %s", b))
			return
		}
		if b[0] == '{' {
			payload = b
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.connGen != gen || !s.active.Load() {
		return
	}
	if s.pid != "" {
		head := []byte(`{"pid":`)
		head, _ = appendJSONString(head, s.pid)
		if s.lastOffset != "" {
			head = append(head, `,"offset":`...)
			head, _ = appendJSONString(head, s.lastOffset)
		}
		if len(payload) > 2 {
			head = append(append(head, ','), payload[1:]...)
		} else {
			head = append(head, '}')
		}
		payload = head
	}
	p := &protocol.Packet{Type: protocol.Connect, Namespace: s.nsp, Data: payload}
	if msgs, err := s.m.encode(p); err == nil {
		_ = conn.Send(msgs...)
	}
}

func appendJSONString(dst []byte, str string) ([]byte, error) {
	b, err := json.Marshal(str)
	return append(dst, b...), err
}

// refuse ends a connection attempt that cannot be made (auth failure) like
// a CONNECT_ERROR.
func (s *Socket) refuse(gen uint64, err error) {
	s.mu.Lock()
	if s.connGen != gen {
		s.mu.Unlock()
		return
	}
	s.conn, s.connGen = nil, 0
	s.active.Store(false)
	s.resolveLocked(err)
	s.mu.Unlock()
	s.pushConnectError(err)
	s.m.release(false)
}

// onPacket handles a packet for this namespace from connection gen. It
// returns an error wrapping ErrHandlerQueueFull when the connection must be
// closed.
func (s *Socket) onPacket(p *protocol.Packet, conn *engineio.ClientConn, gen uint64) error {
	switch p.Type {
	case protocol.Connect:
		var d struct {
			SID string `json:"sid"`
			PID string `json:"pid"`
		}
		if json.Unmarshal(p.Data, &d) != nil || d.SID == "" {
			s.pushConnectError(errors.New("sioclient: CONNECT reply without sid: the server is not a Socket.IO v3 or later server"))
			return nil
		}
		s.onConnect(d.SID, d.PID, gen)
	case protocol.Event, protocol.BinaryEvent:
		return s.onEvent(p, conn)
	case protocol.Ack, protocol.BinaryAck:
		s.onAck(p)
	case protocol.Disconnect:
		s.onServerDisconnect(gen)
	case protocol.ConnectError:
		s.refuse(gen, parseConnectError(p.Data))
	}
	return nil
}

func (s *Socket) onConnect(sid, pid string, gen uint64) {
	s.mu.Lock()
	if s.connGen != gen || s.connected {
		s.mu.Unlock()
		return
	}
	s.id = sid
	s.recovered = pid != "" && pid == s.pid
	s.pid = pid
	s.connected = true
	s.sessCtx, s.sessCancel = context.WithCancel(s.m.ctx)
	for _, r := range s.recvBuf {
		s.dispatchLocked(r.name, r.args, r.ack)
	}
	s.recvBuf = nil
	for _, b := range s.sendBuf {
		_ = s.writeLocked(b.p, false)
	}
	s.sendBuf, s.bufBytes = nil, 0
	s.drainRetryLocked(true)
	s.resolveLocked(nil)
	hooks := s.connectHooks
	s.mu.Unlock()
	s.schedule(func() {
		for _, h := range hooks {
			s.safely("connect", h)
		}
	})
}

// onEvent queues the handlers of an event, once there is room for it (see
// Manager.admit).
func (s *Socket) onEvent(p *protocol.Packet, conn *engineio.ClientConn) error {
	name, elems, err := protocol.EventName(p.Data)
	if err != nil {
		return nil // a numeric event name: no handler can match
	}
	args := protocol.NewArgs(elems, p.Attachments)
	var ack AckFunc
	if p.HasID {
		ack = s.ackFunc(p.ID)
	}
	s.mu.Lock()
	if !s.connected {
		err := s.keepLocked(received{name, args, ack})
		s.mu.Unlock()
		return err
	}
	session := s.sessCtx
	s.mu.Unlock()
	switch err := s.m.admit(s, conn, session); {
	case errors.Is(err, errEventDropped):
		return nil
	case err != nil:
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessCtx == session {
		s.dispatchLocked(name, args, ack)
	}
	return nil
}

// keepLocked keeps an event that arrived before the CONNECT reply, to be
// handled once it comes. The reply may be behind the events, so reading does
// not pause for these, up to HardMaxPendingEvents.
func (s *Socket) keepLocked(r received) error {
	if s.closed.Load() {
		return nil
	}
	if len(s.recvBuf) >= s.m.cfg.HardMaxPendingEvents {
		return fmt.Errorf("%w: %d events received before the connection to namespace %q", ErrHandlerQueueFull, len(s.recvBuf), s.nsp)
	}
	s.recvBuf = append(s.recvBuf, r)
	return nil
}

// dispatchLocked queues the handlers of an event and records its offset.
// Like the official client, it takes the offset only from events without an
// acknowledgement: the server adds none to those (they are not kept for
// recovery), so their last string argument is the application's.
func (s *Socket) dispatchLocked(name string, args Args, ack AckFunc) {
	if s.pid != "" && ack == nil && args.Len() > 0 {
		var off string
		if last := args.Raw(args.Len() - 1); len(last) > 0 && last[0] == '"' && json.Unmarshal(last, &off) == nil {
			s.lastOffset = off
		}
	}
	ctx := s.sessCtx
	h := s.handlers[name]
	anys := s.anyHandlers
	if h == nil && len(anys) == 0 {
		return
	}
	s.queue.push(func() {
		if s.closed.Load() {
			return // as schedule does, without a second closure per event
		}
		defer func() {
			if v := recover(); v != nil {
				s.reportError(&HandlerPanicError{Event: name, Value: v})
			}
		}()
		for _, a := range anys {
			a(ctx, name, args)
		}
		if h != nil {
			h(ctx, args, ack)
		}
	})
}

// ackFunc returns the function that acknowledges event id.
func (s *Socket) ackFunc(id uint64) AckFunc {
	var sent atomic.Bool
	return func(args ...any) error {
		if !sent.CompareAndSwap(false, true) {
			return ErrAckSent
		}
		data, atts, err := protocol.MarshalArgs(args)
		if err != nil {
			return fmt.Errorf("sioclient: %w", err)
		}
		p := &protocol.Packet{Type: protocol.Ack, Namespace: s.nsp, ID: id, HasID: true, Data: data, Attachments: atts}
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.connected {
			return ErrDisconnected
		}
		msgs, err := s.m.encode(p)
		if err != nil {
			return err
		}
		return s.conn.Send(msgs...)
	}
}

func (s *Socket) onAck(p *protocol.Packet) {
	elems, err := protocol.SplitArray(p.Data)
	if err != nil {
		return
	}
	s.mu.Lock()
	a := s.acks[p.ID]
	delete(s.acks, p.ID)
	s.mu.Unlock()
	if a != nil {
		stopAck(a)
		a.fn(protocol.NewArgs(elems, p.Attachments), nil)
	}
}

func (s *Socket) onServerDisconnect(gen uint64) {
	s.mu.Lock()
	if s.connGen != gen {
		s.mu.Unlock()
		return
	}
	s.active.Store(false)
	fail := s.resetLocked()
	s.mu.Unlock()
	for _, a := range fail {
		a.fn(Args{}, ErrDisconnected)
	}
	s.pushDisconnect(DisconnectEvent{Reason: ReasonServerDisconnect})
	s.m.release(false)
}

// onClose ends the session on connection gen, which closed.
func (s *Socket) onClose(gen uint64, reason DisconnectReason, err error) {
	s.mu.Lock()
	if s.connGen != gen {
		s.mu.Unlock()
		return
	}
	wasConnected := s.connected
	fail := s.resetLocked()
	if s.m.cfg.DisableReconnection {
		s.active.Store(false)
	}
	s.mu.Unlock()
	for _, a := range fail {
		a.fn(Args{}, ErrDisconnected)
	}
	if wasConnected {
		s.pushDisconnect(DisconnectEvent{Reason: reason, Err: err})
	}
}

// onReconnectFailed answers the Connect calls waiting when the manager gives
// up.
func (s *Socket) onReconnectFailed(err error) {
	s.mu.Lock()
	s.active.Store(false)
	s.resolveLocked(err)
	s.mu.Unlock()
}

// notifyError reports a failed connection attempt of the manager.
func (s *Socket) notifyError(err error) {
	if !s.active.Load() {
		return
	}
	s.pushConnectError(err)
}

func (s *Socket) pushConnectError(err error) {
	s.mu.Lock()
	hooks := s.onConnectErr
	s.mu.Unlock()
	if len(hooks) == 0 {
		return
	}
	s.schedule(func() {
		for _, h := range hooks {
			s.safely("connect_error", func() { h(err) })
		}
	})
}

func (s *Socket) pushDisconnect(ev DisconnectEvent) {
	s.mu.Lock()
	hooks := s.onDisconnect
	s.mu.Unlock()
	if len(hooks) == 0 {
		return
	}
	s.queue.push(func() {
		for _, h := range hooks {
			s.safely("disconnect", func() { h(ev) })
		}
	})
}

func (s *Socket) reportError(err error) {
	s.mu.Lock()
	hooks := s.onError
	s.mu.Unlock()
	for _, h := range hooks {
		h(err)
	}
	if len(hooks) == 0 {
		s.m.cfg.Logger.Warn("sioclient: handler error", "nsp", s.nsp, "err", err)
	}
}

// schedule queues a task for the handlers' goroutine, which skips it once
// the socket is closed.
func (s *Socket) schedule(task func()) {
	s.queue.push(func() {
		if !s.closed.Load() {
			task()
		}
	})
}

// safely runs a handler, turning a panic into an OnError report.
func (s *Socket) safely(event string, f func()) {
	defer func() {
		if v := recover(); v != nil {
			s.reportError(&HandlerPanicError{Event: event, Value: v})
		}
	}()
	f()
}

// OnRaw registers h for event ev, replacing any previous handler of ev.
// Handlers of one socket run one at a time, in arrival order, on a goroutine
// apart from the connection's, so they may block and call EmitWithAck.
func (s *Socket) OnRaw(ev string, h RawHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[ev] = h
}

// Off removes the handler of event ev.
func (s *Socket) Off(ev string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.handlers, ev)
}

// OnAny registers h for every event, called before the event's own handler.
func (s *Socket) OnAny(h func(ctx context.Context, event string, args Args)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.anyHandlers = append(s.anyHandlers[:len(s.anyHandlers):len(s.anyHandlers)], h)
}

// OnAnyOutgoing registers h for every event the socket sends, called on the
// handlers' goroutine when the event is written.
func (s *Socket) OnAnyOutgoing(h func(event string, args Args)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.anyOutgoing = append(s.anyOutgoing[:len(s.anyOutgoing):len(s.anyOutgoing)], h)
}

// OnConnect registers h, called at every connection to the namespace,
// reconnections included, after the events that arrived before it.
func (s *Socket) OnConnect(h func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.connectHooks = append(s.connectHooks[:len(s.connectHooks):len(s.connectHooks)], h)
}

// OnConnectError registers h, called when a connection attempt fails: with a
// *ConnectError when the server refused the namespace, otherwise with the
// error of the Engine.IO connection (the manager then retries by itself).
func (s *Socket) OnConnectError(h func(error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onConnectErr = append(s.onConnectErr[:len(s.onConnectErr):len(s.onConnectErr)], h)
}

// OnDisconnect registers h, called when a connected socket is disconnected.
// Reason.WillReconnect tells whether the client reconnects by itself.
func (s *Socket) OnDisconnect(h func(DisconnectEvent)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onDisconnect = append(s.onDisconnect[:len(s.onDisconnect):len(s.onDisconnect)], h)
}

// OnError registers h, called with the errors of handlers (failed typed
// handlers without acknowledgement, panics).
func (s *Socket) OnError(h func(error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onError = append(s.onError[:len(s.onError):len(s.onError)], h)
}
