package engineio

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

type connState uint8

const (
	stateOpen    connState = iota
	stateClosing           // Close called: flushing the queue, then closing
	stateClosed
)

// Conn is one Engine.IO session. It survives the upgrade from polling to
// WebSocket: callers see one connection whatever carries it.
type Conn struct {
	srv *Server
	id  string
	req handshakeReq

	onMessage func(data []byte, binary bool)
	onClose   func(reason CloseReason, err error)
	onUpgrade []func(Transport) // guarded by mu

	mu    sync.Mutex
	state connState
	// eio3: the session speaks Engine.IO v3 (see eio3.go); b64Poll: its
	// polling client asked for binary as base64. Both are set once, before
	// the session is shared.
	eio3, b64Poll bool
	b64WS         bool // the v3 session's WebSocket asked for base64 (mu)
	b64Probe      bool // so did the WebSocket being probed (mu)
	transport     Transport
	queue         []packet
	queueBytes    int
	// backlogSince is when the queue grew past backlogBytes, on the
	// Server's clock; 0 while it is not (see backlog.go).
	backlogSince time.Duration

	poll    *pollWaiter // the pending GET, if any
	posting bool        // a POST is being read
	// answered is the last GET's answer, kept until a GET with another
	// cache buster shows that the client got it (see servePoll).
	answered *pollAnswer
	// graceNoop: the client closed the session over polling with no GET
	// pending; one GET arriving shortly after is answered with a noop.
	graceNoop bool

	ws         wsConn                 // the WebSocket carrying the session, if any
	pws        atomic.Pointer[pollWS] // the session's WebSocket read by the poller, if any
	writing    bool                   // a writer goroutine runs for ws
	writerIdle bool                   // it waits for work (see writeWebSocket)
	writerWake chan struct{}          // wakes it, capacity 1; nil without a writer
	direct     bool                   // SendNow or a flusher is writing to ws (see SendNow)
	flushing   bool                   // the queue waits for the poller's flusher (see flusher)
	tailQueued bool                   // ws holds bytes SendNow could not write yet

	upgrading  bool
	probeWS    wsConn      // the WebSocket being probed during an upgrade
	probeTimer *time.Timer // ends the upgrade after UpgradeTimeout
	probed     bool        // "3probe" sent during an upgrade
	upgraded   bool

	hbTimer      *time.Timer
	hbDeadline   time.Duration // on the Server's clock (see Server.now)
	awaitingPong bool
	stalls       int // readers stopped by Stall: the heartbeat does not expire
	closeTimer   *time.Timer
	closeErr     error // the error a closing session ends with

	done chan struct{} // made by Done
}

// pollAnswer is a poll response with packets, and the cache buster ("t")
// of the request it answered.
type pollAnswer struct {
	t           string
	payload     []byte
	contentType string
}

type pollWaiter struct {
	wake       chan struct{} // capacity 1
	afterProbe bool          // the poll arrived after the upgrade probe
	delayed    bool          // noopDelay has passed (guarded by Conn.mu)
}

func (w *pollWaiter) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func newConn(s *Server, id string, r *http.Request, t Transport) *Conn {
	return &Conn{
		srv:       s,
		id:        id,
		req:       keepRequest(r),
		transport: t,
	}
}

// handshakeReq is what a session keeps of its handshake request, from which
// Request builds a copy, so that the server can release the request, its
// context and its buffers once the handshake is answered. The URL and the
// header values are shared: the server does not change them after the
// handler returns. The header is kept as a flat list of name and value
// pairs, a third of the size of its map, which Request rebuilds. A
// handshake's method is always GET.
type handshakeReq struct {
	url        *url.URL // nil when parsing requestURI gives it back
	header     []string // name, value, name, value…; a name repeats for each of its values
	host       string
	remoteAddr string
	requestURI string
	tls        *tls.ConnectionState
	protoMajor uint8
	protoMinor uint8
}

func keepRequest(r *http.Request) handshakeReq {
	u := r.URL
	if r.RequestURI != "" && u.RequestURI() == r.RequestURI && u.Host == "" && u.Scheme == "" {
		u = nil // rebuilt by request: an idle session keeps one string less
	}
	return handshakeReq{
		url:        u,
		header:     flattenHeader(r.Header),
		host:       r.Host,
		remoteAddr: r.RemoteAddr,
		requestURI: r.RequestURI,
		tls:        r.TLS,
		protoMajor: uint8(r.ProtoMajor),
		protoMinor: uint8(r.ProtoMinor),
	}
}

// flattenHeader lists h's names and values in pairs.
func flattenHeader(h http.Header) []string {
	n := 0
	for _, vs := range h {
		n += len(vs)
	}
	flat := make([]string, 0, 2*n)
	for k, vs := range h {
		for _, v := range vs {
			flat = append(flat, k, v)
		}
	}
	return flat
}

// header rebuilds the map of a flat header, its values in one allocation.
func (h *handshakeReq) headerMap() http.Header {
	m := make(http.Header, len(h.header)/2)
	vals := make([]string, 0, len(h.header)/2)
	for i := 0; i < len(h.header); i += 2 {
		k, v := h.header[i], h.header[i+1]
		if vs, ok := m[k]; ok {
			m[k] = append(vs, v) // a name with several values: rare, copied
			continue
		}
		vals = append(vals, v)
		m[k] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	return m
}

func (h *handshakeReq) request() *http.Request {
	proto := "HTTP/" + strconv.Itoa(int(h.protoMajor)) + "." + strconv.Itoa(int(h.protoMinor))
	switch {
	case h.protoMajor == 1 && h.protoMinor == 1:
		proto = "HTTP/1.1"
	case h.protoMajor == 2 && h.protoMinor == 0:
		proto = "HTTP/2.0"
	}
	u := h.url
	if u == nil {
		var err error
		if u, err = url.ParseRequestURI(h.requestURI); err != nil {
			u = &url.URL{} // not reached: keepRequest checked it parses
		}
	}
	return &http.Request{
		Method:     http.MethodGet,
		URL:        u,
		Proto:      proto,
		ProtoMajor: int(h.protoMajor),
		ProtoMinor: int(h.protoMinor),
		Header:     h.headerMap(),
		Body:       http.NoBody,
		Host:       h.host,
		RemoteAddr: h.remoteAddr,
		RequestURI: h.requestURI,
		TLS:        h.tls,
	}
}

// debug logs at debug level with the session's attributes, building them
// only when the logger wants them.
func (c *Conn) debug(msg string, args ...any) {
	l := c.srv.cfg.Logger
	if !l.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	l.Debug(msg, append([]any{"component", "engine", "sid", c.id, "transport", string(c.Transport())}, args...)...)
}

// ID returns the session id.
func (c *Conn) ID() string { return c.id }

// Request returns a copy of the handshake request, made on each call: its
// body is empty and its context is the background context; its header is a
// copy, its URL the request's own, which must not be changed.
func (c *Conn) Request() *http.Request { return c.req.request() }

// RemoteAddr returns the network address of the client that made the
// handshake request.
func (c *Conn) RemoteAddr() string { return c.req.remoteAddr }

// Transport returns the transport currently carrying the session.
func (c *Conn) Transport() Transport {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.transport
}

// Upgraded reports whether the session moved from polling to WebSocket.
func (c *Conn) Upgraded() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.upgraded
}

// OnMessage sets the function called with every message the client sends.
// Calls are sequential, in arrival order, on a goroutine reading the
// transport; a slow call delays only this session's messages. The function
// may keep data. Set it from the Server's connect callback.
func (c *Conn) OnMessage(f func(data []byte, binary bool)) {
	if c.eio3 {
		f = c.wrapOnMessageV3(f)
	}
	c.mu.Lock()
	c.onMessage = f
	c.mu.Unlock()
}

// AfterRead arranges for f to run on the goroutine that is reading the
// session, once it has stopped reading it, and reports whether it could:
// only while the server's poller (Linux, plain WebSocket) is reading the
// session, typically from an OnMessage callback. The session's next
// messages are read by other goroutines meanwhile, so f may block. When
// AfterRead reports false, f will not run: start a goroutine for it
// instead, which is what AfterRead saves.
func (c *Conn) AfterRead(f func()) bool {
	w := c.pws.Load()
	if w == nil {
		return false
	}
	l := w.reader.Load()
	if l == nil {
		return false
	}
	l.mu.Lock()
	ok := w.reader.Load() == l // the worker has not moved on meanwhile
	if ok {
		l.fs = append(l.fs, f)
	}
	l.mu.Unlock()
	return ok
}

// OnClose sets the function called once when the session ends, with the
// reason and, where there is one, the error that caused it.
func (c *Conn) OnClose(f func(reason CloseReason, err error)) {
	c.mu.Lock()
	c.onClose = f
	c.mu.Unlock()
}

// Done returns a channel closed when the session has ended.
func (c *Conn) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		if c.state == stateClosed {
			return closedChan
		}
		c.done = make(chan struct{}) // only when asked for: most sessions never are
	}
	return c.done
}

// closedChan is a closed channel.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

func (c *Conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state == stateClosed
}

// Send queues messages to be sent in order, without other messages between
// them. It never blocks. The caller must not modify the data afterwards; the
// same slice may be given to many sessions. Send returns ErrClosed after the
// session ended, and ErrSlowConsumer, closing the session, when the messages
// would exceed Config.MaxQueueBytes.
func (c *Conn) Send(msgs ...Message) error {
	return c.send(msgs, false)
}

// SendVolatile is Send for messages that may be lost: they are dropped, and
// ErrDropped returned, unless the transport can take them right away.
func (c *Conn) SendVolatile(msgs ...Message) error {
	return c.send(msgs, true)
}

// SendNow is Send for a reply to one client: when nothing is queued ahead
// of the messages and the session's WebSocket is a plain one read by the
// server's poller (Linux), the calling goroutine writes them to the
// socket, as far as the socket takes them without waiting, instead of
// waking a writer goroutine; the rest, and what is queued meanwhile, is
// left to the writer. It never blocks on the network. Use Send for the
// same messages to many sessions: a session's queued messages go out in
// one write.
func (c *Conn) SendNow(msgs ...Message) error {
	c.mu.Lock()
	ws, ok := c.ws.(*pollWS)
	if !ok || c.state != stateOpen || c.transport != WebSocket || c.direct ||
		(c.writing && !c.writerIdle) || len(c.queue) > 0 || c.tailQueued || len(msgs) > len(directBatch{}) || c.eio3 {
		c.mu.Unlock()
		return c.send(msgs, false)
	}
	var batch directBatch
	q := batch[:len(msgs)]
	for i, m := range msgs {
		if len(m.Data) >= largePayload {
			c.mu.Unlock()
			return c.send(msgs, false)
		}
		q[i] = packet{typ: packetMessage, data: m.Data, binary: m.Binary}
	}
	// What is sent meanwhile queues behind these; an idle writer goroutine
	// stays idle.
	c.direct = true
	c.mu.Unlock()

	tail, err := ws.writeNow(q)
	// An error is reported to OnClose, as a queued message's failure is.
	c.afterDirect(tail, err)
	return nil
}

// afterDirect ends a write made by another goroutine than the session's
// writer (SendNow, a flusher): the writer sends what the socket did not
// take, or finishes a session closed meanwhile, and what was queued
// meanwhile is handed on.
func (c *Conn) afterDirect(tail bool, err error) {
	c.mu.Lock()
	c.direct = false
	if err != nil {
		c.mu.Unlock()
		c.finish(ReasonTransportError, err)
		return
	}
	switch {
	case tail || c.tailQueued || c.state == stateClosing:
		// c.tailQueued may have been set meanwhile by a pong (pollWS.pong).
		c.tailQueued = tail || c.tailQueued
		c.wakeWriterLocked()
	default:
		c.kickLocked()
	}
	c.mu.Unlock()
}

// directBatch holds the packets of one SendNow call without allocating.
type directBatch [4]packet

func (c *Conn) send(msgs []Message, volatile bool) error {
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return ErrClosed
	}
	if volatile && !c.writableLocked() {
		c.mu.Unlock()
		return ErrDropped
	}
	n := 0
	for i := range msgs {
		n += len(msgs[i].Data) + 1
	}
	if c.overLimitLocked(n) {
		c.mu.Unlock()
		c.finish(ReasonSlowConsumer, ErrSlowConsumer)
		return ErrSlowConsumer
	}
	if c.eio3 {
		c.enqueueV3Locked(msgs)
	} else {
		for _, m := range msgs {
			c.enqueueLocked(packet{typ: packetMessage, data: m.Data, binary: m.Binary})
		}
	}
	c.mu.Unlock()
	return nil
}

// writableLocked reports whether the transport can take a packet now.
func (c *Conn) writableLocked() bool {
	if c.transport == WebSocket {
		return c.ws != nil && (!c.writing || c.writerIdle) && !c.direct && !c.tailQueued && len(c.queue) == 0
	}
	return c.poll != nil && len(c.queue) == 0
}

// enqueueLocked appends p to the queue and wakes the writer.
func (c *Conn) enqueueLocked(p packet) {
	c.queue = append(c.queue, p)
	c.resizeLocked(c.queueBytes + p.size())
	c.kickLocked()
}

// kickLocked makes the current transport write the queue.
func (c *Conn) kickLocked() {
	if c.transport == WebSocket {
		// During a SendNow write, the queue waits for it to end.
		if c.ws == nil || len(c.queue) == 0 || c.direct {
			return
		}
		c.wakeWriterLocked()
		return
	}
	if c.poll != nil {
		c.poll.signal()
	}
}

// wakeWriterLocked has the queue written to the WebSocket: by the writer
// goroutine if it runs, by the poller's flusher if the session is an open
// poller-read WebSocket with nothing left over from a direct write, or by
// a writer goroutine it starts.
func (c *Conn) wakeWriterLocked() {
	if c.ws == nil || c.state == stateClosed {
		return
	}
	if c.writing {
		if c.writerIdle {
			c.writerIdle = false
			c.writerWake <- struct{}{} // cannot block: only the idle writer receives
		}
		return
	}
	if c.flushing {
		return // the flusher writes it
	}
	if pw, ok := c.ws.(*pollWS); ok && pw.fl != nil && c.state == stateOpen && !c.tailQueued {
		c.flushing = true
		if pw.fl.add(c) {
			return
		}
		c.flushing = false
	}
	c.startWriterLocked()
}

// startWriterLocked starts the goroutine that writes the queue to the
// WebSocket.
func (c *Conn) startWriterLocked() {
	c.writing, c.writerIdle = true, false
	c.writerWake = make(chan struct{}, 1)
	c.srv.wg.Add()
	go c.writeWebSocket(c.ws, c.writerWake)
}

// takeLocked removes and returns the queued packets.
func (c *Conn) takeLocked() []packet {
	q := c.queue
	c.queue = nil
	c.resizeLocked(0)
	return q
}

// Close ends the session after the queued messages are sent, with reason
// ReasonForcedClose. Over polling the client receives the queued messages,
// then a close packet in a poll of its own (or the session ends 30 seconds
// later without it).
func (c *Conn) Close() error {
	c.closeWith(nil, false)
	return nil
}

// shutdownPollWait is how long a server that shuts down waits for a polling
// client to collect what is queued for it and the close packet. A client
// that is alive polls again as soon as a poll is answered.
const shutdownPollWait = 2 * time.Second

// closeGracefully is Close for a server that shuts down: the session ends
// with err; a polling session with nothing queued and no poll pending ends
// at once rather than wait for the client's next poll, and one that has
// data waits for it shutdownPollWait at most.
func (c *Conn) closeGracefully(err error) { c.closeWith(err, true) }

func (c *Conn) closeWith(err error, quick bool) {
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return
	}
	c.state = stateClosing
	c.closeErr = err
	if c.transport == Polling {
		if quick && c.poll == nil && len(c.queue) == 0 {
			c.mu.Unlock()
			c.finish(ReasonForcedClose, err)
			return
		}
		// The close packet goes in a poll of its own, after the queued
		// packets: a client handles it before the packets of the same
		// payload have reached their handlers. A server shutting down
		// waits less for clients that do not poll.
		c.kickLocked()
		wait := 30 * time.Second
		if quick {
			wait = shutdownPollWait
		}
		c.closeTimer = time.AfterFunc(wait, func() {
			c.finish(ReasonForcedClose, err)
		})
		c.mu.Unlock()
		return
	}
	// A queue waiting for the flusher is written by a writer it starts for
	// a closing session, which then finishes it.
	idle := (!c.writing || c.writerIdle) && !c.direct && !c.tailQueued && !c.flushing
	c.mu.Unlock()
	if idle {
		c.finish(ReasonForcedClose, err)
	}
	// otherwise the writer finishes the session once the queue is empty
}

// finish ends the session: it stops the timers, releases the transport,
// answers a pending poll, removes the session and runs the close callback.
func (c *Conn) finish(reason CloseReason, err error) {
	c.mu.Lock()
	if c.state == stateClosed {
		c.mu.Unlock()
		return
	}
	c.state = stateClosed
	if c.hbTimer != nil {
		c.hbTimer.Stop()
	}
	if c.closeTimer != nil {
		c.closeTimer.Stop()
	}
	c.queue = nil
	c.resizeLocked(0)
	if c.poll != nil {
		c.poll.signal() // the pending poll answers with a close packet
	}
	if c.writerIdle {
		c.writerIdle = false
		c.writerWake <- struct{}{} // the idle writer exits
	}
	if c.probeTimer != nil {
		c.probeTimer.Stop()
		c.probeTimer = nil
	}
	ws, probe := c.ws, c.probeWS
	c.ws, c.probeWS = nil, nil
	// A client closing over polling gets its pending poll answered with a
	// noop; with none pending, one poll arriving shortly after is.
	c.graceNoop = err == errClientClose && c.transport == Polling
	keep := c.graceNoop && c.poll == nil
	onClose := c.onClose
	done := c.done
	c.mu.Unlock()

	if ws != nil {
		ws.close()
	}
	if probe != nil {
		probe.close()
	}
	if keep {
		// Tolerate a GET racing with the client's close packet (see
		// servePoll): keep the id for a moment.
		time.AfterFunc(100*time.Millisecond, func() { c.srv.remove(c) })
	} else {
		c.srv.remove(c)
	}
	if done != nil {
		close(done)
	}
	c.debug("session closed", "reason", string(reason))
	if onClose != nil {
		onClose(reason, err)
	}
}

var (
	errClientClose        = errors.New("engineio: closed by the client")
	errPayloadTooLarge    = errors.New("engineio: payload too large")
	errHeartbeatDirection = errors.New("engineio: invalid heartbeat direction")
)

// onPacket handles one packet from the client's current transport.
func (c *Conn) onPacket(p packet) {
	switch p.typ {
	case packetMessage:
		c.mu.Lock()
		f, open := c.onMessage, c.state != stateClosed
		c.mu.Unlock()
		if open && f != nil {
			f(p.data, p.binary)
		}
	case packetPong:
		if c.eio3 {
			c.finish(ReasonTransportError, errHeartbeatDirection)
			return
		}
		c.mu.Lock()
		if c.awaitingPong && c.state != stateClosed {
			c.awaitingPong = false
			c.hbDeadline = c.srv.now() + c.srv.cfg.PingInterval
			c.hbTimer.Reset(c.srv.cfg.PingInterval)
		}
		c.mu.Unlock()
	case packetClose:
		c.finish(ReasonTransportClose, errClientClose)
	case packetPing:
		if c.eio3 {
			c.onPingV3()
			return
		}
		c.finish(ReasonTransportError, errHeartbeatDirection)
	}
	// open, upgrade and noop packets are ignored on an established transport
}

// expiredLocked reports whether the pong awaited is overdue: the session
// has timed out even if its timer has not run yet. It never is while the
// server itself has stopped reading the pong (Stall).
func (c *Conn) expiredLocked() bool {
	return c.awaitingPong && c.stalls == 0 && c.srv.now() >= c.hbDeadline
}

// Stall stops reading the session until ready is closed or the session
// ends. Call it from the OnMessage callback, on the goroutine reading the
// session, when the application cannot take more messages yet: nothing more
// is read meanwhile, so the client is held back by the transport itself (a
// WebSocket's TCP window fills; over polling, the POST carrying the message
// is not answered and the client sends no other). What AfterRead deferred
// to this goroutine runs on another one first, so it does not wait for the
// stall to end.
//
// A client cannot answer a ping while its messages are not read: the
// heartbeat does not time the session out during a stall, and the pong
// awaited when it ends is given PingTimeout from then.
func (c *Conn) Stall(ready <-chan struct{}) {
	c.handOff()
	c.mu.Lock()
	if c.state == stateClosed {
		c.mu.Unlock()
		return
	}
	c.stalls++
	c.mu.Unlock()
	select {
	case <-ready:
	case <-c.Done():
	}
	c.mu.Lock()
	c.stalls--
	if c.stalls == 0 && c.awaitingPong && c.state != stateClosed {
		if d := c.srv.now() + c.srv.cfg.PingTimeout; d > c.hbDeadline {
			c.hbDeadline = d
		}
	}
	c.mu.Unlock()
}

// handOff runs on a goroutine of its own what AfterRead has deferred to
// the calling worker so far.
func (c *Conn) handOff() {
	w := c.pws.Load()
	if w == nil {
		return
	}
	l := w.reader.Load()
	if l == nil {
		return
	}
	l.mu.Lock()
	var fs []func()
	if w.reader.Load() == l {
		fs = l.fs
		l.fs = nil
	}
	l.mu.Unlock()
	if len(fs) > 0 {
		go runAfter(fs)
	}
}

// startHeartbeat schedules the first ping PingInterval from now.
func (c *Conn) startHeartbeat() {
	if c.eio3 {
		c.startHeartbeatV3()
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateClosed {
		return
	}
	c.hbDeadline = c.srv.now() + c.srv.cfg.PingInterval
	c.hbTimer = time.AfterFunc(c.srv.cfg.PingInterval, c.heartbeat)
}

// heartbeat runs when the heartbeat timer fires: it sends a ping, or closes
// the session if the previous ping got no pong in time.
func (c *Conn) heartbeat() {
	c.mu.Lock()
	if c.state == stateClosed {
		c.mu.Unlock()
		return
	}
	if wait := c.hbDeadline - c.srv.now(); wait > 0 {
		// reset raced with this run: the deadline moved
		c.hbTimer.Reset(wait)
		c.mu.Unlock()
		return
	}
	if c.awaitingPong && c.stalls > 0 {
		// The pong may be among what the server does not read: wait for
		// the stall to end (see Stall).
		c.hbDeadline = c.srv.now() + c.srv.cfg.PingTimeout
		c.hbTimer.Reset(c.srv.cfg.PingTimeout)
		c.mu.Unlock()
		return
	}
	if c.awaitingPong {
		c.mu.Unlock()
		c.finish(ReasonPingTimeout, nil)
		return
	}
	c.awaitingPong = true
	// Deadlines follow the schedule, not the timer's (possibly late) firing.
	c.hbDeadline += c.srv.cfg.PingTimeout
	c.hbTimer.Reset(c.hbDeadline - c.srv.now())
	if c.state != stateOpen {
		c.mu.Unlock()
		return
	}
	if c.transport != WebSocket || c.ws == nil || c.writing || c.direct || c.tailQueued {
		c.enqueueLocked(packet{typ: packetPing})
		c.mu.Unlock()
		return
	}
	// No writer runs: this goroutine writes the ping rather than start one
	// that would linger, so that an idle session's heartbeat costs no
	// goroutine beyond the timer's.
	c.queue = append(c.queue, packet{typ: packetPing})
	c.resizeLocked(c.queueBytes + 1)
	c.writing = true
	c.srv.wg.Add()
	ws := c.ws
	c.mu.Unlock()
	c.writeWebSocket(ws, nil)
}
