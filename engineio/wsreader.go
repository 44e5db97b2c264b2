package engineio

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// A WebSocket is read in one of two ways. Where the Server has a poller
// (Linux), a wsReader parses the client's frames as the poller reports them
// and no goroutine waits on an idle WebSocket. Otherwise, and when the
// WebSocket cannot be polled (TLS, permessage-deflate, a connection that
// does not expose its descriptor), a goroutine per WebSocket reads it with
// the WebSocket library (readWebSocket, probe). Frames are written by the
// WebSocket library in both cases.

// errWouldBlock reports a non-blocking read that found nothing to read.
var errWouldBlock = errors.New("engineio: read would block")

// controlWait bounds writing a pong or a close frame in answer to the client.
const controlWait = time.Second

// wsReader reads a WebSocket for its session, driven by the Server's poller.
// A worker serves it when its socket is readable: it reads what arrived,
// handles the complete frames, keeps the rest in fr and re-arms the socket.
type wsReader struct {
	c   *Conn
	ws  *websocket.Conn
	raw syscall.RawConn
	p   *poller

	mu    sync.Mutex  // held by the worker serving the reader
	probe bool        // the WebSocket is being probed for an upgrade (mu)
	fr    frameReader // (mu)

	done atomic.Bool // the reader was removed from the poller: stop

	// guarded by p.mu
	token   uint64
	added   bool
	removed bool
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

// newWSReader returns a reader of ws for c on p, or nil if ws's connection
// does not give access to its descriptor.
func newWSReader(p *poller, c *Conn, ws *websocket.Conn) *wsReader {
	nc := ws.NetConn()
	if cc, ok := nc.(*corkConn); ok {
		nc = cc.Conn
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return &wsReader{c: c, ws: ws, raw: raw, p: p, fr: frameReader{limit: c.srv.cfg.MaxBufferSize}}
}

// closeWS closes ws, taking its reader, if any, off the poller first.
func closeWS(ws *websocket.Conn, rd *wsReader) {
	if rd != nil {
		rd.p.remove(rd)
	}
	closeWebSocket(ws, websocket.CloseNormalClosure)
}

// serve reads what the socket holds and handles the frames in it. It
// reports whether the socket should be watched again.
func (r *wsReader) serve(rb *rawReader) bool {
	for !r.done.Load() {
		buf := r.fr.direct(readBufSize)
		direct := buf != nil
		if !direct {
			buf = rb.buf
		}
		n, err := rb.readNow(r.raw, buf)
		if n > 0 {
			in := buf[:n]
			if direct {
				r.fr.advance(n)
				in = nil
			}
			if !r.handle(in) {
				return false
			}
		}
		switch {
		case err == errWouldBlock:
			return true
		case err != nil:
			r.fail(err)
			return false
		case n == 0:
			r.fail(io.EOF)
			return false
		case n < len(buf):
			// Most likely all there was. If more came meanwhile, the
			// re-armed socket is reported ready again at once.
			return true
		}
	}
	return false
}

// handle parses p and handles the complete frames. It reports whether
// reading goes on.
func (r *wsReader) handle(p []byte) bool {
	for {
		n, ev, err := r.fr.next(p)
		p = p[n:]
		if err != nil {
			code := websocket.CloseProtocolError
			if fe, ok := err.(*frameError); ok {
				code = fe.code
			}
			_ = r.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(controlWait))
			r.end(ReasonTransportError, err)
			return false
		}
		if ev.kind == frameNone {
			return true
		}
		if !r.event(ev) || r.done.Load() {
			return false
		}
	}
}

// event handles a message or control frame. It reports whether reading
// goes on.
func (r *wsReader) event(ev frameEvent) bool {
	c := r.c
	switch ev.kind {
	case framePing:
		_ = r.ws.WriteControl(websocket.PongMessage, ev.data, time.Now().Add(controlWait))
		return true
	case framePong:
		return true
	case frameClose:
		_ = r.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(ev.code, ""), time.Now().Add(controlWait))
		r.end(ReasonTransportClose, &websocket.CloseError{Code: ev.code, Text: string(ev.data)})
		return false
	case frameBinary:
		if r.probe {
			c.abortProbe(r.ws)
			return false
		}
		c.onPacket(packet{typ: packetMessage, data: ev.data, binary: true})
		return true
	}
	p, err := decodeText(ev.data)
	if r.probe {
		return r.probeText(p, err)
	}
	if err != nil {
		c.finish(ReasonParseError, err)
		return false
	}
	if p.typ == packetClose {
		c.finish(ReasonTransportClose, errClientClose)
		return false
	}
	c.onPacket(p)
	return true
}

// fail ends the reader after a read error or the end of the stream.
func (r *wsReader) fail(err error) {
	if r.done.Load() {
		return // closed on this side
	}
	if err == io.EOF {
		r.end(ReasonTransportClose, &websocket.CloseError{Code: websocket.CloseAbnormalClosure, Text: io.ErrUnexpectedEOF.Error()})
		return
	}
	r.end(ReasonTransportError, err)
}

// end ends the session, or only the upgrade while probing.
func (r *wsReader) end(reason CloseReason, err error) {
	if r.probe {
		r.c.abortProbe(r.ws)
		return
	}
	r.c.finish(reason, err)
}

// probeText handles a text packet on a WebSocket being probed: "2probe" is
// answered with "3probe", and "5" switches the session to the WebSocket.
func (r *wsReader) probeText(p packet, err error) bool {
	c := r.c
	switch {
	case err != nil:
	case p.typ == packetPing && string(p.data) == "probe":
		_ = r.ws.SetWriteDeadline(time.Now().Add(c.srv.cfg.UpgradeTimeout))
		if r.ws.WriteMessage(websocket.TextMessage, []byte("3probe")) != nil {
			break
		}
		c.mu.Lock()
		c.probed = true
		c.kickLocked() // a pending poll answers with a noop
		c.mu.Unlock()
		return true
	case p.typ == packetUpgrade:
		if !c.switchTo(r.ws, r) {
			return false
		}
		r.probe = false
		return true
	}
	c.abortProbe(r.ws)
	return false
}
