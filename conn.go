package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/protocol"
)

// engineConn is the part of *engineio.Conn the server uses.
type engineConn interface {
	ID() string
	Request() *http.Request
	RemoteAddr() string
	Send(msgs ...engineio.Message) error
	SendVolatile(msgs ...engineio.Message) error
	SendNow(msgs ...engineio.Message) error
	AfterRead(f func()) bool
	Stall(ready <-chan struct{})
	Close() error
}

// conn is one Engine.IO connection and the sockets multiplexed over it
// (Node's Client).
type conn struct {
	srv  *Server
	ec   engineConn
	dec  protocol.Decoder       // used by the read goroutine only
	pdec protocol.PacketDecoder // replaces dec when the server has another parser

	mu      sync.Mutex
	sockets nspSockets // by namespace, connected
	pending nspSockets // by namespace, connecting (nil while resolving)
	closed  bool
	eio3    bool        // a Socket.IO v2 client (see v2clients.go)
	timer   *time.Timer // until the first socket connects
	stall   *gate       // opened to end the reader's stall (see overflow)

	stalled atomic.Bool // the reader waits for a socket's handlers

	hooks atomic.Pointer[connHooks] // Conn.OnClose, OnRead, OnWrite; nil when none
}

// connHooks are the observers of a connection, replaced (never modified)
// under conn.mu when one is added.
type connHooks struct {
	onClose []func(DisconnectReason)
	onRead  []func(size int)
	onWrite []func(size int)
}

// addHook adds an observer with add, which changes a copy of the current
// hooks.
func (c *conn) addHook(add func(h *connHooks)) {
	c.mu.Lock()
	var h connHooks
	if old := c.hooks.Load(); old != nil {
		h = connHooks{
			onClose: slices.Clip(old.onClose),
			onRead:  slices.Clip(old.onRead),
			onWrite: slices.Clip(old.onWrite),
		}
	}
	add(&h)
	c.hooks.Store(&h)
	c.mu.Unlock()
}

// wrote tells the OnWrite observers of messages handed to the engine.
func (c *conn) wrote(msgs []engineio.Message) {
	h := c.hooks.Load()
	if h == nil {
		return
	}
	for _, f := range h.onWrite {
		for _, m := range msgs {
			f(len(m.Data))
		}
	}
}

func newConn(srv *Server, ec engineConn) *conn {
	c := &conn{
		srv:  srv,
		ec:   ec,
		dec:  protocol.Decoder{MaxAttachments: 10},
		eio3: isEIO3(ec),
	}
	if srv.cfg.Parser != protocol.JSON {
		c.pdec = srv.cfg.Parser.NewDecoder(c.dec.MaxAttachments)
	}
	if c.eio3 {
		return c // connected to "/" at once, as in Node (see connectMainV2)
	}
	c.mu.Lock()
	c.timer = time.AfterFunc(srv.cfg.ConnectTimeout, c.connectTimeout)
	c.mu.Unlock()
	return c
}

func (c *conn) connectTimeout() {
	c.mu.Lock()
	idle := c.sockets.len() == 0 && !c.closed
	c.mu.Unlock()
	if idle {
		c.srv.cfg.Logger.Debug("socketio: no namespace joined in time, closing", "sid", c.ec.ID())
		c.close(ReasonForcedServerClose, nil)
	}
}

// send hands encoded packets to the engine.
func (c *conn) send(msgs []engineio.Message, volatile bool) error {
	if volatile {
		err := c.ec.SendVolatile(msgs...)
		if errors.Is(err, engineio.ErrDropped) {
			return nil
		}
		if err == nil {
			c.wrote(msgs)
		}
		return err
	}
	err := c.ec.Send(msgs...)
	if err == nil {
		c.wrote(msgs)
	}
	return err
}

// sendPacket sends a packet of the connection itself (CONNECT replies).
func (c *conn) sendPacket(p *protocol.Packet) error {
	msgs, err := c.srv.encode(p)
	if err != nil {
		return err
	}
	return c.sendNow(msgs)
}

// sendNow hands a packet for this connection alone to the engine, which
// may write it at once from the calling goroutine (broadcasts use send:
// queued, they go out in fewer writes). A new connection's CONNECT reply
// then starts no writer goroutine, which would linger after it.
func (c *conn) sendNow(msgs []engineio.Message) error {
	err := c.ec.SendNow(msgs...)
	if err == nil {
		c.wrote(msgs)
	}
	return err
}

// onMessage handles an Engine.IO message, on the engine's read goroutine.
func (c *conn) onMessage(data []byte, binary bool) {
	if h := c.hooks.Load(); h != nil {
		for _, f := range h.onRead {
			f(len(data))
		}
	}
	var p *protocol.Packet
	var err error
	if c.pdec != nil {
		p, err = c.pdec.Decode(data, binary)
	} else {
		p, err = c.dec.Decode(data, binary)
	}
	if err != nil {
		c.fail(ReasonParseError, err)
		return
	}
	if p == nil {
		return // waiting for attachments
	}
	if p.Type == protocol.Connect && c.eio3 {
		p.Namespace, p.Data = splitNamespaceV2(p.Namespace)
	}
	name := p.Namespace
	if name == "" {
		name = "/"
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	s, _ := c.sockets.get(name)
	_, connecting := c.pending.get(name)
	if p.Type == protocol.Connect {
		if s != nil || connecting {
			c.mu.Unlock()
			c.fail(ReasonForcedServerClose, errors.New("socketio: CONNECT to a namespace already joined"))
			return
		}
		c.pending.put(name, nil)
		c.srv.closing.Add() // under c.mu: Shutdown waits for it (see shut)
		c.mu.Unlock()
		auth := p.Data
		// Middlewares are user code: they run once the reading goroutine
		// has stopped reading the connection, or on a goroutine of their own.
		c.srv.track.Add()
		connect := func() {
			defer c.srv.track.Done()
			defer c.srv.closing.Done()
			c.connect(name, auth)
		}
		if !c.ec.AfterRead(connect) {
			go connect()
		}
		return
	}
	c.mu.Unlock()
	if s == nil || p.Type == protocol.ConnectError {
		c.fail(ReasonForcedServerClose, errors.New("socketio: packet for a namespace not joined"))
		return
	}
	s.onPacket(p)
}

// ackSlack is how far past Config.MaxPendingEvents a socket's queue may
// grow while its client owes acknowledgements: they may be behind the
// events in the stream, and a handler may be waiting for one.
const ackSlack = 8

// overflow handles an event that found its socket's queue full, on the
// goroutine reading the connection: unless the server disconnects such
// sockets (OverflowDisconnect), the reader stops reading the connection
// until the handlers have caught up, then queues the event. Reading goes
// on, up to ackSlack times the bound, while a socket of the connection
// awaits an acknowledgement from the client: the acknowledgement may be
// behind the events.
func (c *conn) overflow(s *Socket, task func()) {
	cfg := c.srv.cfg
	for cfg.Overflow == OverflowBackpressure {
		g := newGate()
		c.mu.Lock()
		c.stall = g
		c.mu.Unlock()
		c.stalled.Store(true)
		acks := c.awaitingAcks()
		if !acks && s.queue.waitRoom(g) {
			c.ec.Stall(g.ch)
		}
		c.stalled.Store(false)
		c.mu.Lock()
		c.stall = nil
		c.mu.Unlock()
		if s.state.Load() != stateConnected {
			return // gone meanwhile: like any packet for a closed socket
		}
		if s.queue.push(task, c.ec) {
			return
		}
		if acks || c.awaitingAcks() {
			if s.queue.pushUpTo(task, c.ec, cfg.MaxPendingEvents*ackSlack) {
				return
			}
			break
		}
	}
	c.srv.cfg.Logger.Warn("socketio: handler queue full, disconnecting",
		"nsp", s.nsp.name, "socket", s.id)
	s.kick(ReasonHandlerQueueFull, nil)
}

// awaitingAcks reports whether a socket of the connection waits for an
// acknowledgement from the client.
func (c *conn) awaitingAcks() bool {
	for _, s := range c.snapshot() {
		s.mu.Lock()
		n := len(s.acks)
		s.mu.Unlock()
		if n > 0 {
			return true
		}
	}
	return false
}

// ackAwaited ends the reader's stall, if it is stalled: a socket now waits
// for an acknowledgement, which may be among what is not read.
func (c *conn) ackAwaited() {
	if !c.stalled.Load() {
		return
	}
	c.mu.Lock()
	if c.stall != nil {
		c.stall.open()
	}
	c.mu.Unlock()
}

// connect admits a socket to a namespace. It runs off the connection's
// reading (see onMessage): resolving dynamic namespaces and running
// middlewares is user code, which may block.
func (c *conn) connect(name string, auth json.RawMessage) {
	srv := c.srv
	nsp := srv.resolve(name, auth)
	if nsp == nil {
		c.endConnect(name)
		_ = c.sendPacket(&protocol.Packet{Type: protocol.ConnectError, Namespace: name,
			Data: json.RawMessage(`{"message":"Invalid namespace"}`)})
		return
	}
	if c.isClosed() {
		c.endConnect(name)
		return // before a session is taken out of the store for nothing
	}
	prev, offset := c.restore(nsp, auth)
	s := newSocket(nsp, c, auth, prev)
	if c.eio3 && prev == nil {
		s.id = socketIDV2(name, c.ec.ID())
	}
	nsp.addPending(s)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		s.cancel(ErrDisconnected)
		nsp.remove(s)
		c.giveBack(nsp, prev)
		return
	}
	c.pending.put(name, s)
	c.mu.Unlock()

	mws, onConnect := nsp.handlersForConnect()
	rc := srv.cfg.ConnectionStateRecovery
	var err error
	if !s.recovered || rc == nil || rc.RunMiddlewares {
		err = runMiddlewares(s, mws)
	}

	if err != nil || !s.state.CompareAndSwap(statePending, stateConnected) {
		c.endConnect(name)
		s.state.Store(stateClosed)
		nsp.adapter.DelAll(s.id)
		s.cancel(ErrDisconnected)
		nsp.remove(s)
		if err == nil || c.isClosed() {
			c.giveBack(nsp, prev) // not refused: the connection went away
		}
		if err != nil {
			srv.cfg.Logger.Debug("socketio: connection refused by middleware", "nsp", name, "err", err)
			payload := connectErrorPayload
			if c.eio3 {
				payload = connectErrorPayloadV2
			}
			_ = c.sendPacket(&protocol.Packet{Type: protocol.ConnectError, Namespace: name,
				Data: payload(err)})
		}
		return
	}

	// The missed packets go first, before any new broadcast can reach the
	// socket; the client buffers them until the CONNECT reply.
	var seen map[string]bool // offsets sent
	var last string          // the last of them, or the client's
	if prev != nil {
		seen, last = map[string]bool{}, offset
		for _, p := range prev.MissedPackets {
			if off := packetOffset(p); off != "" {
				seen[off], last = true, off
			}
			q := *p
			q.Namespace = nsp.name
			_ = c.sendPacket(&q)
		}
	}
	// A store fed by a log catches up after the join (see CatchUpStore);
	// broadcasts wait for it.
	var restoring *restoreState
	if cu, ok := nsp.adapter.(CatchUpStore); ok && prev != nil {
		restoring = &restoreState{store: cu, holding: true}
		s.restoring.Store(restoring)
	}
	// Admitted: visible to broadcasts, then to the connection's packets.
	nsp.admit(s)
	rooms := []string{s.id}
	if prev != nil {
		rooms = append(rooms, prev.Rooms...)
	}
	nsp.adapter.AddAll(s.id, rooms)
	if restoring != nil {
		c.catchUp(s, restoring, rooms, last, seen)
	}
	c.mu.Lock()
	c.pending.del(name)
	closed := c.closed
	if !closed {
		c.sockets.put(name, s)
		c.stopTimer()
	}
	c.mu.Unlock()
	if closed {
		s.close(ReasonTransportClose, nil)
		s.queue.release()
		return
	}
	var reply json.RawMessage // none for a v2 client
	if !c.eio3 {
		reply = connectReply(s)
	}
	_ = c.sendPacket(&protocol.Packet{Type: protocol.Connect, Namespace: name, Data: reply})
	srv.cfg.Logger.Debug("socketio: socket connected", "nsp", name, "socket", s.id, "recovered", s.recovered)

	// This goroutine is the first runner of the socket's queue: the connect
	// handlers run before the events that arrive meanwhile, and before the
	// disconnect handlers even if the socket is already gone.
	for _, h := range onConnect {
		runConnectHandler(s, h)
	}
	s.queue.release()
}

func (c *conn) endConnect(name string) {
	c.mu.Lock()
	c.pending.del(name)
	c.mu.Unlock()
}

// stopTimer stops and drops the connect timeout; c.mu is held.
func (c *conn) stopTimer() {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
}

func runMiddlewares(s *Socket, mws []Middleware) (err error) {
	defer func() {
		if v := recover(); v != nil {
			s.nsp.srv.cfg.Logger.Error("socketio: middleware panicked", "nsp", s.nsp.name, "panic", v)
			err = &ConnectError{Message: "Internal error"}
		}
	}()
	for _, m := range mws {
		if err := m(s.ctx, s); err != nil {
			return err
		}
	}
	return nil
}

func runConnectHandler(s *Socket, h func(*Socket)) {
	defer s.recoverHandler("connection")
	h(s)
}

func connectReply(s *Socket) json.RawMessage {
	b := make([]byte, 0, 64)
	b = append(b, `{"sid":"`...)
	b = append(b, s.id...)
	if s.pid != "" {
		b = append(b, `","pid":"`...)
		b = append(b, s.pid...)
	}
	return append(b, `"}`...)
}

// restore returns the recovered session the CONNECT payload asks for, if
// recovery is enabled and the session can be restored, and the offset the
// client sent with it.
func (c *conn) restore(nsp *Namespace, auth json.RawMessage) (*Session, string) {
	if c.srv.cfg.ConnectionStateRecovery == nil || len(auth) == 0 {
		return nil, ""
	}
	store, ok := nsp.adapter.(SessionStore)
	if !ok {
		return nil, ""
	}
	var req struct {
		PID    any `json:"pid"`
		Offset any `json:"offset"`
	}
	if json.Unmarshal(auth, &req) != nil {
		return nil, ""
	}
	pid, ok1 := req.PID.(string)
	offset, ok2 := req.Offset.(string)
	if !ok1 || !ok2 {
		return nil, ""
	}
	ctx, cancel := context.WithTimeout(c.srv.ctx, c.srv.cfg.ConnectionStateRecovery.RestoreTimeout)
	defer cancel()
	sess, err := store.RestoreSession(ctx, pid, offset)
	if err == nil && sess == nil && c.takeOver(ctx, nsp, pid) {
		sess, err = restoreTakenOver(ctx, store, pid, offset)
	}
	if err != nil {
		c.srv.cfg.Logger.Debug("socketio: restoring session failed", "err", err)
		return nil, ""
	}
	return sess, offset
}

// isClosed reports whether the connection is shut.
func (c *conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// giveBack stores again the restored session prev, whose socket did not
// connect because its connection closed first: the client tries again.
func (c *conn) giveBack(nsp *Namespace, prev *Session) {
	if prev == nil {
		return
	}
	if store, ok := nsp.adapter.(SessionStore); ok {
		store.PersistSession(&Session{SID: prev.SID, PID: prev.PID, Rooms: prev.Rooms, Data: prev.Data})
	}
}

// remove forgets a socket that left.
func (c *conn) remove(s *Socket) {
	c.mu.Lock()
	if cur, _ := c.sockets.get(s.nsp.name); cur == s {
		c.sockets.del(s.nsp.name)
	}
	c.mu.Unlock()
}

func (c *conn) snapshot() []*Socket {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sockets.appendTo(make([]*Socket, 0, c.sockets.len()))
}

// disconnectAll disconnects every socket, then closes the connection
// (Socket.CloseConn).
func (c *conn) disconnectAll() {
	for _, s := range c.snapshot() {
		s.Disconnect()
	}
	c.close(ReasonForcedServerClose, nil)
}

// fail closes the connection after a protocol violation.
func (c *conn) fail(reason DisconnectReason, err error) {
	c.srv.cfg.Logger.Debug("socketio: closing connection", "sid", c.ec.ID(), "reason", string(reason), "err", err)
	c.close(reason, err)
}

// close closes the connection from the server side.
func (c *conn) close(reason DisconnectReason, err error) {
	if c.shut(reason, err) {
		_ = c.ec.Close()
	}
}

// onClose is called by the engine when the session ends.
func (c *conn) onClose(reason engineio.CloseReason, err error) {
	r := DisconnectReason(reason)
	if reason == engineio.ReasonForcedClose && c.srv.draining.Load() {
		r = ReasonServerShuttingDown
	}
	c.shut(r, err)
}

// shut ends every socket of the connection; it reports whether the
// connection was open.
func (c *conn) shut(reason DisconnectReason, err error) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
	c.closed = true
	c.srv.closing.Add() // under c.mu: Shutdown, which shuts c next, waits for it
	defer c.srv.closing.Done()
	c.stopTimer()
	pending := c.pending.appendTo(nil)
	c.mu.Unlock()
	for _, s := range pending {
		s.cancel(ErrDisconnected) // unblocks middlewares
	}
	for _, s := range c.snapshot() {
		s.close(reason, err)
	}
	c.srv.removeConn(c)
	if h := c.hooks.Load(); h != nil {
		for _, f := range h.onClose {
			f(reason)
		}
	}
	return true
}
