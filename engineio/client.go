package engineio

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// closeDrainTimeout bounds how long Close waits for queued messages to be
// written before it tears the connection down.
const closeDrainTimeout = 2 * time.Second

// ClientConn is the client end of an Engine.IO connection, returned by Dial.
//
// Read returns the server's messages in order. The goroutine that reads the
// transport waits for Read before it goes on, so a caller that stops
// calling Read stops the reading (backpressure: over WebSocket the server's
// writes wait on TCP, over polling no new poll is made) and holds at most
// one WebSocket message or one polling response. The server's pings behind
// a message wait as well: stop for longer than its ping timeout and it
// closes the connection. Send queues messages
// without blocking; one writer drains the queue in order, over one polling
// POST at a time (split under the server's maxPayload) or WebSocket frames.
// Every method is safe for concurrent use.
type ClientConn struct {
	cfg   *DialConfig
	url   *url.URL   // scheme http(s), host and path
	query url.Values // EIO, the caller's query; sid once known
	http  *http.Client
	own   *http.Transport // the client's transport when created here

	id         string
	maxPayload int64
	heartbeat  time.Duration

	ctx    context.Context // ends with the connection
	cancel context.CancelFunc
	wg     sync.WaitGroup // the connection's goroutines
	in     chan Message
	done   chan struct{}

	mu         sync.Mutex
	cond       *sync.Cond // signalled when writing, polling or closed change
	transport  Transport
	ws         *websocket.Conn // the WebSocket, once the transport
	probe      *websocket.Conn // the WebSocket being probed
	queue      []packet
	queueBytes int
	writing    bool // a writer goroutine is running
	upgrading  bool // the upgrade paused writes
	pausing    bool // the poll loop must stop after its request
	polling    bool // the poll loop is running
	closing    bool // Close was called
	closed     bool
	closeErr   *CloseError
	pingTimer  *time.Timer
}

func newClientConn(cfg *DialConfig, u *url.URL, q url.Values) *ClientConn {
	c := &ClientConn{cfg: cfg, url: u, query: q, in: make(chan Message), done: make(chan struct{})}
	c.cond = sync.NewCond(&c.mu)
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if cfg.HTTPClient != nil {
		c.http = cfg.HTTPClient
	} else {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.Proxy = cfg.Proxy
		t.TLSClientConfig = cfg.TLSConfig
		c.own = t
		c.http = &http.Client{Transport: t, Jar: cfg.Jar}
	}
	return c
}

// start runs the connection once the handshake h arrived over the current
// transport; rest are the packets that came with it.
func (c *ClientConn) start(h *handshake, rest []packet) {
	c.id = h.SID
	c.maxPayload = h.MaxPayload
	c.heartbeat = h.heartbeat()
	c.query.Set("sid", h.SID)
	c.mu.Lock()
	c.pingTimer = time.AfterFunc(c.heartbeat, func() { c.fail(ReasonPingTimeout, ErrPingTimeout) })
	transport := c.transport
	c.polling = transport == Polling
	c.mu.Unlock()
	c.cfg.Logger.Debug("engineio: open", "sid", c.id, "transport", transport)
	c.wg.Add(1)
	if transport == WebSocket {
		go c.readWebSocketClient(c.ws)
		return
	}
	go c.pollLoop(rest)
	if !c.cfg.DisableUpgrade && c.cfg.allows(WebSocket) && containsString(h.Upgrades, string(WebSocket)) {
		c.wg.Add(1)
		go c.upgrade()
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ID returns the session id the server assigned.
func (c *ClientConn) ID() string { return c.id }

// Transport returns the transport in use: Polling until the upgrade
// completes, WebSocket after it.
func (c *ClientConn) Transport() Transport {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.transport
}

// Done is closed when the connection has ended.
func (c *ClientConn) Done() <-chan struct{} { return c.done }

// Err returns the *CloseError that ended the connection, nil while it is open.
func (c *ClientConn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closeErr == nil {
		return nil
	}
	return c.closeErr
}

// Read returns the next message from the server. Once the connection has
// ended, and every message received before the end was read, it returns a
// *CloseError. It returns ctx.Err() when ctx ends first.
func (c *ClientConn) Read(ctx context.Context) (Message, error) {
	select {
	case m := <-c.in:
		return m, nil
	case <-c.done:
		return Message{}, c.Err()
	case <-ctx.Done():
		return Message{}, ctx.Err()
	}
}

// deliver hands a message to Read, and reports false if the connection
// ended first.
func (c *ClientConn) deliver(m Message) bool {
	select {
	case c.in <- m:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// Send queues messages, which are written in order and next to each other:
// a Socket.IO packet and its binary attachments stay together. It never
// blocks. It returns ErrClosed once the connection is closing or closed, and
// ErrQueueFull, queueing nothing, when the messages would exceed
// DialConfig.MaxQueueBytes.
func (c *ClientConn) Send(msgs ...Message) error { return c.send(msgs, false) }

// SendVolatile queues messages only when the transport is idle: nothing is
// being written and no upgrade is under way. Otherwise it drops them and
// returns ErrDropped.
func (c *ClientConn) SendVolatile(msgs ...Message) error { return c.send(msgs, true) }

func (c *ClientConn) send(msgs []Message, volatile bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing || c.closed {
		return ErrClosed
	}
	if volatile && (c.writing || c.upgrading || len(c.queue) > 0) {
		return ErrDropped
	}
	n := 0
	for _, m := range msgs {
		n += len(m.Data) + 1
	}
	if c.queueBytes+n > c.cfg.MaxQueueBytes {
		return ErrQueueFull
	}
	for _, m := range msgs {
		c.queue = append(c.queue, packet{typ: packetMessage, data: m.Data, binary: m.Binary})
	}
	c.queueBytes += n
	c.flushLocked()
	return nil
}

// sendPacketLocked queues a control packet.
func (c *ClientConn) sendPacketLocked(t packetType, data []byte) {
	if c.closed {
		return
	}
	c.queue = append(c.queue, packet{typ: t, data: data})
	c.queueBytes += len(data) + 1
	c.flushLocked()
}

// flushLocked starts the writer when there is something to write and the
// transport may be written to.
func (c *ClientConn) flushLocked() {
	if c.writing || c.upgrading || c.closed || len(c.queue) == 0 {
		return
	}
	c.writing = true
	c.wg.Add(1)
	go c.writer()
}

// writer writes the queue in batches until it is empty, then exits.
func (c *ClientConn) writer() {
	defer c.wg.Done()
	for {
		c.mu.Lock()
		if c.closed || c.upgrading || len(c.queue) == 0 {
			c.writing = false
			c.cond.Broadcast()
			c.mu.Unlock()
			return
		}
		t, ws := c.transport, c.ws
		n := len(c.queue)
		if t == Polling {
			n = c.writablePackets()
		}
		batch := make([]packet, n)
		copy(batch, c.queue)
		clear(c.queue[:n])
		c.queue = c.queue[n:]
		for i := range batch {
			c.queueBytes -= batch[i].size()
		}
		if len(c.queue) == 0 {
			c.queue = nil
		}
		c.mu.Unlock()
		var err error
		if t == Polling {
			err = c.post(batch)
		} else {
			err = writeWebSocketPackets(ws, batch)
		}
		if err != nil {
			c.fail(ReasonTransportError, err)
		}
	}
}

// writablePackets returns how many queued packets fit in one POST under the
// server's maxPayload; at least one.
func (c *ClientConn) writablePackets() int {
	if c.maxPayload <= 0 {
		return len(c.queue)
	}
	size := int64(0)
	for i := range c.queue {
		p := &c.queue[i]
		n := int64(len(p.data) + 1)
		if p.binary {
			n = int64((len(p.data)+2)/3*4 + 1)
		}
		if i > 0 {
			n++ // record separator
		}
		if i > 0 && size+n > c.maxPayload {
			return i
		}
		size += n
	}
	return len(c.queue)
}

// onPacket handles a packet from the server and reports whether the
// connection is still open.
func (c *ClientConn) onPacket(p packet) bool {
	switch p.typ {
	case packetMessage:
		return c.deliver(Message{Data: p.data, Binary: p.binary})
	case packetPing:
		c.mu.Lock()
		if !c.closed {
			c.pingTimer.Reset(c.heartbeat)
			c.sendPacketLocked(packetPong, nil)
		}
		c.mu.Unlock()
	case packetClose:
		c.fail(ReasonTransportClose, ErrServerClose)
		return false
	}
	// noop, and open, pong or upgrade out of place, are ignored.
	return true
}

// fail ends the connection. Only the first call has an effect.
func (c *ClientConn) fail(reason CloseReason, err error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	if c.closing {
		// Closed by Close: what fails while the close is under way (a poll
		// answered 400 once the server dropped the session) is its effect.
		reason, err = ReasonForcedClose, ErrClosed
	}
	c.closeErr = &CloseError{Reason: reason, Err: err}
	ws, probe := c.ws, c.probe
	if c.pingTimer != nil {
		c.pingTimer.Stop()
	}
	c.queue, c.queueBytes = nil, 0
	c.cond.Broadcast()
	c.mu.Unlock()
	c.cfg.Logger.Debug("engineio: closed", "sid", c.id, "reason", reason, "err", err)
	c.cancel()
	if ws != nil {
		_ = ws.Close()
	}
	if probe != nil {
		_ = probe.Close()
	}
	close(c.done)
}

// Close writes what is queued (waiting at most a couple of seconds), tells
// the server, closes the connection and waits for its goroutines to end.
// Read then returns a *CloseError with ReasonForcedClose. Close returns nil;
// later calls do nothing.
//
// Over polling, the close packet goes in a request of its own once the
// queue is written, as the official client sends it: a server may handle the
// packets of one payload out of order with a close among them (Node's
// Socket.IO server defers its packets to the next tick, after the close).
func (c *ClientConn) Close() error {
	c.mu.Lock()
	if !c.closing && !c.closed {
		c.closing = true
		c.cond.Broadcast() // an upgrade waiting for the poll gives up
		stop := time.AfterFunc(closeDrainTimeout, func() {
			c.mu.Lock()
			c.cond.Broadcast()
			c.mu.Unlock()
		})
		deadline := time.Now().Add(closeDrainTimeout)
		c.waitDrainedLocked(deadline)
		if c.transport == Polling && !c.closed {
			c.sendPacketLocked(packetClose, nil)
			c.waitDrainedLocked(deadline)
		}
		stop.Stop()
		ws := c.ws
		c.mu.Unlock()
		if ws != nil {
			_ = ws.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		}
		c.fail(ReasonForcedClose, ErrClosed)
	} else {
		c.mu.Unlock()
		// Wait for the Close under way: until the connection is closed it
		// may start a writer, which Wait must not race with.
		<-c.done
	}
	c.wg.Wait()
	c.closeIdle()
	return nil
}

// waitDrainedLocked waits until the queue is written, the connection
// closed, or the deadline passed (someone must wake the waiter then).
func (c *ClientConn) waitDrainedLocked(deadline time.Time) {
	for !c.closed && (c.writing || c.upgrading || len(c.queue) > 0) && time.Now().Before(deadline) {
		c.cond.Wait()
	}
}

// closeIdle closes the idle HTTP connections of the connection's own client.
func (c *ClientConn) closeIdle() {
	if c.own != nil {
		c.own.CloseIdleConnections()
	}
}
