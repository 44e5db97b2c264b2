package engineio

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

var (
	// errWouldBlock reports a non-blocking read that found nothing to read.
	errWouldBlock = errors.New("engineio: read would block")
	errCloseSent  = errors.New("engineio: websocket: close sent")
	errWriteBusy  = errors.New("engineio: websocket: a write is under way")
)

// closeWait bounds sending a close frame through the WebSocket library,
// waiting for a write under way included: the goroutine closing a session
// may be one that broadcasts to others.
const closeWait = 5 * time.Millisecond

// pollWS is a WebSocket read through the Server's poller. A worker serves
// it when data arrives on its socket: it reads the socket dry, handles the
// complete frames and keeps the rest in fr. Frames to the client are
// written straight to the connection: small replies by the goroutine that
// sends them (writeNow), the queue by the session's writer.
type pollWS struct {
	c   *Conn
	nc  net.Conn
	raw syscall.RawConn // nc's
	p   *poller
	fl  *flusher // writes the session's queue when no writer runs

	mu  sync.Mutex  // held by the worker serving the WebSocket
	fr  frameReader // (mu)
	wmu sync.Mutex  // held while writing

	token uint64 // (p.mu)

	reader atomic.Pointer[afterList] // the serving worker's, while it reads

	sched     atomic.Int32           // idle, serving or again (see schedule)
	done      atomic.Bool            // removed from the poller: stop reading
	probe     bool                   // being probed for an upgrade (mu)
	closeSent bool                   // (wmu)
	tail      []byte                 // written by writeNow, not yet taken by the socket (wmu)
	pongDue   atomic.Pointer[[]byte] // the payload of a pong left for the next write
	added     bool                   // (p.mu)
	removed   bool                   // (p.mu)
}

// Scheduling states of a pollWS.
const (
	schedIdle    = iota // waits for its socket to be readable
	schedServing        // a worker reads it
	schedAgain          // a worker reads it, and more arrived meanwhile
)

// schedule records that w's socket became readable. It reports whether w
// must be handed to a worker: not if one is serving it already, which
// then reads again (see unschedule).
func (w *pollWS) schedule() bool {
	for {
		switch w.sched.Load() {
		case schedIdle:
			if w.sched.CompareAndSwap(schedIdle, schedServing) {
				return true
			}
		case schedServing:
			if w.sched.CompareAndSwap(schedServing, schedAgain) {
				return false
			}
		default:
			return false
		}
	}
}

// unschedule ends a worker's turn on w after it read the socket dry. It
// reports whether the worker must read again: data arrived meanwhile, and
// its readiness was reported while the worker was still on w.
func (w *pollWS) unschedule() bool {
	if w.sched.CompareAndSwap(schedServing, schedIdle) {
		return false
	}
	w.sched.Store(schedServing)
	return true
}

// pollerFor returns the poller that will read the WebSocket requested by r,
// or nil if the WebSocket needs a goroutine of its own.
func (s *Server) pollerFor(r *http.Request) *poller {
	if s.noPoller || r.TLS != nil || (s.cfg.PerMessageDeflate != nil && offersDeflate(r.Header)) {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.pollerFailed {
		return nil
	}
	if s.poller == nil {
		p, err := newPoller(&s.wg)
		if err != nil {
			s.pollerFailed = true
			s.cfg.Logger.Debug("WebSockets read by goroutines", "component", "engine", "error", err)
			return nil
		}
		s.poller = p
	}
	return s.poller
}

// offersDeflate reports whether a handshake may negotiate permessage-deflate.
// It errs on the side of yes: such WebSockets are read by the WebSocket
// library, which decompresses.
func offersDeflate(h http.Header) bool {
	for _, v := range h.Values("Sec-Websocket-Extensions") {
		if strings.Contains(strings.ToLower(v), "permessage-deflate") {
			return true
		}
	}
	return false
}

// newPollWS returns a WebSocket for c over nc read by p, or nil if nc is
// not a plain TCP or Unix connection: a wrapper (TLS, a proxy protocol
// reader) may transform or buffer what its descriptor holds.
func newPollWS(p *poller, c *Conn, nc net.Conn) *pollWS {
	var sc syscall.Conn
	switch nc := nc.(type) {
	case *net.TCPConn:
		sc = nc
	case *net.UnixConn:
		sc = nc
	default:
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	w := &pollWS{c: c, nc: nc, raw: raw, p: p, fl: p.flusher(), fr: frameReader{limit: c.srv.cfg.MaxBufferSize}}
	c.pws.Store(w)
	return w
}

// afterList collects, for the worker that owns it, what the messages it
// reads leave to run once it has stopped reading (Conn.AfterRead).
type afterList struct {
	mu sync.Mutex
	fs []func()
}

// beginRead starts a worker's turn: AfterRead collects into l until
// endRead.
func (w *pollWS) beginRead(l *afterList) { w.reader.Store(l) }

// endRead ends a worker's turn and returns what AfterRead collected. Nothing
// is added to l until the worker's next beginRead.
func (w *pollWS) endRead(l *afterList) []func() {
	l.mu.Lock()
	w.reader.Store(nil)
	fs := l.fs
	l.mu.Unlock()
	return fs
}

// runAfter runs fs in order and clears them.
func runAfter(fs []func()) {
	for i, f := range fs {
		fs[i] = nil
		f()
	}
}

// serve reads what the socket holds and handles the frames in it. It
// reports whether reading goes on (false once the session ended).
func (w *pollWS) serve(rb *rawReader) bool {
	for !w.done.Load() {
		buf := w.fr.direct(readBufSize)
		direct := buf != nil
		if !direct {
			buf = rb.buf
		}
		n, err := rb.readNow(w.raw, buf)
		if n > 0 {
			in := buf[:n]
			if direct {
				w.fr.advance(n)
				in = nil
			}
			if !w.handle(in) {
				return false
			}
		}
		switch {
		case err == errWouldBlock:
			return true
		case err != nil:
			w.fail(err)
			return false
		case n == 0:
			w.fail(io.EOF)
			return false
		case n < len(buf):
			// All there was: data arriving later is a new edge, reported
			// to the poller (see schedule).
			return true
		}
	}
	return false
}

// handle parses p and handles the complete frames. It reports whether
// reading goes on.
func (w *pollWS) handle(p []byte) bool {
	for {
		n, ev, err := w.fr.next(p)
		p = p[n:]
		if err != nil {
			code := websocket.CloseProtocolError
			if fe, ok := err.(*frameError); ok {
				code = fe.code
			}
			_, _ = w.writeControl(opClose, closeFramePayload(code))
			w.end(ReasonTransportError, err)
			return false
		}
		if ev.kind == frameNone {
			return true
		}
		if !w.event(ev) || w.done.Load() {
			return false
		}
	}
}

// event handles a message or control frame. It reports whether reading
// goes on.
func (w *pollWS) event(ev frameEvent) bool {
	c := w.c
	switch ev.kind {
	case framePing:
		w.pong(ev.data)
		return true
	case framePong:
		return true
	case frameClose:
		_, _ = w.writeControl(opClose, closeFramePayload(ev.code))
		w.end(ReasonTransportClose, &websocket.CloseError{Code: ev.code, Text: string(ev.data)})
		return false
	case frameBinary:
		if w.probe {
			c.abortProbe(w)
			return false
		}
		c.onPacket(packet{typ: packetMessage, data: ev.data, binary: true})
		return true
	}
	p, err := decodeText(ev.data)
	if w.probe {
		return w.probeText(p, err)
	}
	if err != nil {
		if c.eio3 {
			p, err = decodeTextV3(ev.data) // base64 binary
		}
		if err != nil {
			c.finish(ReasonParseError, err)
			return false
		}
	}
	if p.typ == packetClose {
		c.finish(ReasonTransportClose, errClientClose)
		return false
	}
	c.onPacket(p)
	return true
}

// fail ends reading after a read error or the end of the stream.
func (w *pollWS) fail(err error) {
	if w.done.Load() {
		return // closed on this side
	}
	if err == io.EOF {
		w.end(ReasonTransportClose, &websocket.CloseError{Code: websocket.CloseAbnormalClosure, Text: io.ErrUnexpectedEOF.Error()})
		return
	}
	w.end(ReasonTransportError, err)
}

// end ends the session, or only the upgrade while probing.
func (w *pollWS) end(reason CloseReason, err error) {
	if w.probe {
		w.c.abortProbe(w)
		return
	}
	w.c.finish(reason, err)
}

var probeAnswer = []packet{{typ: packetPong, data: []byte("probe")}}

// probeText handles a text packet on a WebSocket being probed: "2probe" is
// answered with "3probe", and "5" switches the session to the WebSocket.
func (w *pollWS) probeText(p packet, err error) bool {
	c := w.c
	switch {
	case err != nil:
	case p.typ == packetPing && string(p.data) == "probe":
		if w.writePackets(probeAnswer, time.Now().Add(c.srv.cfg.UpgradeTimeout)) != nil {
			break
		}
		c.probeAnswered()
		return true
	case p.typ == packetUpgrade:
		if !c.switchTo(w) {
			return false
		}
		w.probe = false
		return true
	}
	c.abortProbe(w)
	return false
}

// Writing.

// largePayload is the size from which a payload is written as it is rather
// than copied after its frame header.
const largePayload = 32 << 10

var frameBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// appendFrameHeader appends the header of a server frame (final, unmasked)
// with opcode op and a payload of n bytes.
func appendFrameHeader(b []byte, op byte, n int) []byte {
	b = append(b, 0x80|op)
	switch {
	case n <= 125:
		return append(b, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, 126), uint16(n))
	}
	return binary.BigEndian.AppendUint64(append(b, 127), uint64(n))
}

// appendPacketHeader appends the frame header of p, and the packet type of
// a text packet.
func appendPacketHeader(b []byte, p *packet) []byte {
	if p.binary {
		return appendFrameHeader(b, opBinary, len(p.data))
	}
	return append(appendFrameHeader(b, opText, len(p.data)+1), byte(p.typ))
}

func (w *pollWS) writePackets(q []packet, deadline time.Time) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if w.closeSent {
		return errCloseSent
	}
	if err := w.flushTail(deadline); err != nil {
		return err
	}
	bp := frameBufs.Get().(*[]byte)
	b := (*bp)[:0]
	var err error
	for i := range q {
		p := &q[i]
		b = appendPacketHeader(b, p)
		if len(p.data) >= largePayload {
			if err = w.write(b, deadline); err != nil {
				break
			}
			b = b[:0]
			if err = w.write(p.data, deadline); err != nil {
				break
			}
			continue
		}
		b = append(b, p.data...)
		if len(b) >= maxCork {
			if err = w.write(b, deadline); err != nil {
				break
			}
			b = b[:0]
		}
	}
	if err == nil && len(b) > 0 {
		err = w.write(b, deadline)
	}
	if cap(b) <= 2*maxCork {
		*bp = b[:0]
		frameBufs.Put(bp)
	}
	return err
}

// write writes b, waiting until deadline at most; wmu is held. As long as
// the socket takes the bytes at once no deadline is set (setting one costs
// as much as a small write): the socket has a write deadline only while a
// write waits.
func (w *pollWS) write(b []byte, deadline time.Time) error {
	n, err := writeNonblock(w.raw, b)
	if err != nil || n == len(b) {
		return err
	}
	_ = w.nc.SetWriteDeadline(deadline)
	_, err = w.nc.Write(b[n:])
	_ = w.nc.SetWriteDeadline(time.Time{})
	return err
}

// flushTail writes what writeNow and writeControl left, and a pong due;
// wmu is held.
func (w *pollWS) flushTail(deadline time.Time) error {
	if len(w.tail) > 0 {
		err := w.write(w.tail, deadline)
		w.tail = nil
		if err != nil {
			return err
		}
	}
	if w.pongDue.Load() == nil {
		return nil
	}
	var buf [4 + maxControlFrame]byte
	return w.write(w.appendPongDue(buf[:0]), deadline)
}

// writeNow writes q (small packets) without waiting for the socket. What
// the socket does not take at once is kept, to go first in the next write:
// it reports whether some was.
func (w *pollWS) writeNow(q []packet) (tail bool, err error) {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if w.closeSent {
		return false, errCloseSent
	}
	bp := frameBufs.Get().(*[]byte)
	b := (*bp)[:0]
	if len(w.tail) == 0 {
		b = w.appendPongDue(b)
	}
	for i := range q {
		b = append(appendPacketHeader(b, &q[i]), q[i].data...)
	}
	if len(w.tail) > 0 {
		w.tail = append(w.tail, b...)
	} else {
		var n int
		if n, err = writeNonblock(w.raw, b); err == nil && n < len(b) {
			w.tail = append([]byte(nil), b[n:]...)
		}
	}
	if cap(b) <= 2*maxCork {
		*bp = b[:0]
		frameBufs.Put(bp)
	}
	return len(w.tail) > 0, err
}

// writeControl writes a control frame. A pong never waits: not for another
// write holding the socket, nor for the socket to take it; when it cannot
// go out at once behind what is already written, it is left for the next
// write to send (pongDue; only the latest one, as RFC 6455 allows), and
// writeControl reports that bytes are left for the session's writer. A
// close frame, which RFC 6455 requires before the connection closes, waits
// closeWait at most for a write under way and for the socket to take it
// with what is left before it; past that it is dropped: the connection is
// closed anyway.
func (w *pollWS) writeControl(op byte, data []byte) (left bool, err error) {
	var locked bool
	if op == opPong {
		locked = w.wmu.TryLock()
	} else {
		locked = w.lockWithin(closeWait)
	}
	if !locked {
		if op == opPong {
			w.setPongDue(data)
			return true, nil
		}
		return false, errWriteBusy
	}
	defer w.wmu.Unlock()
	if w.closeSent {
		return false, errCloseSent
	}
	var buf [4 + maxControlFrame]byte
	b := append(appendFrameHeader(buf[:0], op, len(data)), data...)
	if op == opClose {
		w.closeSent = true
		if err := w.flushTail(time.Now().Add(closeWait)); err != nil {
			return false, err
		}
		return false, w.write(b, time.Now().Add(closeWait))
	}
	if len(w.tail) > 0 {
		w.setPongDue(data)
		return true, nil
	}
	n, err := writeNonblock(w.raw, b)
	if err == nil && n < len(b) {
		w.tail = append([]byte(nil), b[n:]...)
		return true, nil
	}
	return false, err
}

// lockWithin takes wmu, waiting d at most.
func (w *pollWS) lockWithin(d time.Duration) bool {
	if w.wmu.TryLock() {
		return true
	}
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Microsecond)
		if w.wmu.TryLock() {
			return true
		}
	}
	return false
}

// setPongDue records a pong to send with the next write, replacing one
// recorded before.
func (w *pollWS) setPongDue(data []byte) {
	p := append([]byte(nil), data...)
	w.pongDue.Store(&p)
}

// appendPongDue appends the pong due, if any, to b; wmu is held.
func (w *pollWS) appendPongDue(b []byte) []byte {
	p := w.pongDue.Swap(nil)
	if p == nil {
		return b
	}
	return append(appendFrameHeader(b, opPong, len(*p)), *p...)
}

// pong answers a ping from the reader, which must not wait: what cannot be
// written at once is left to the session's writer goroutine.
func (w *pollWS) pong(data []byte) {
	left, err := w.writeControl(opPong, data)
	if err != nil || !left || w.probe {
		return
	}
	c := w.c
	c.mu.Lock()
	if c.ws == wsConn(w) {
		c.tailQueued = true
		if !c.direct {
			c.wakeWriterLocked()
		}
	}
	c.mu.Unlock()
}

// closeFramePayload returns the payload of a close frame with code.
func closeFramePayload(code int) []byte {
	if code == websocket.CloseNoStatusReceived {
		return nil
	}
	return binary.BigEndian.AppendUint16(nil, uint16(code))
}

var normalClosure = closeFramePayload(websocket.CloseNormalClosure)

// close stops reading, sends a close frame if the socket takes it within
// closeWait, and closes the connection. A writer stuck in a write to a
// client that does not read fails when the connection closes.
func (w *pollWS) close() {
	w.p.remove(w)
	_, _ = w.writeControl(opClose, normalClosure)
	_ = w.nc.Close()
}
