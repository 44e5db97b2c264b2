package engineio

import (
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

// typeBytes holds the one-byte prefix of each text packet type.
var typeBytes = [...][]byte{{'0'}, {'1'}, {'2'}, {'3'}, {'4'}, {'5'}, {'6'}}

// attachWebSocket makes ws the transport of a session opened over WebSocket,
// read by rd, or by a goroutine if rd is nil. It reports false, closing ws,
// if the session has ended meanwhile.
func (c *Conn) attachWebSocket(ws *websocket.Conn, cork *corkConn, rd *wsReader) bool {
	ws.SetReadLimit(int64(c.srv.cfg.MaxBufferSize))
	c.mu.Lock()
	if c.state == stateClosed {
		c.mu.Unlock()
		closeWebSocket(ws, websocket.CloseNormalClosure)
		return false
	}
	c.ws, c.cork, c.rd = ws, cork, rd
	c.mu.Unlock()
	return true
}

// startReading starts reading the session's WebSocket, once the connect
// callback has run.
func (c *Conn) startReading(ws *websocket.Conn, rd *wsReader) {
	if rd == nil {
		// a goroutine of its own, so that the request's goroutine returns
		// and net/http releases the request and its buffers
		c.srv.wg.Add(1)
		go func() {
			defer c.srv.wg.Done()
			c.readWebSocket(ws)
		}()
		return
	}
	if err := rd.p.add(rd); err != nil {
		c.finish(ReasonTransportError, err)
	}
}

// readWebSocket reads packets from ws until it fails, then ends the session.
func (c *Conn) readWebSocket(ws *websocket.Conn) {
	for {
		mt, data, err := ws.ReadMessage()
		if err != nil {
			c.finish(wsCloseReason(err), err)
			return
		}
		if mt == websocket.BinaryMessage {
			c.onPacket(packet{typ: packetMessage, data: data, binary: true})
			continue
		}
		p, err := decodeText(data)
		if err != nil {
			c.finish(ReasonParseError, err)
			return
		}
		if p.typ == packetClose {
			c.finish(ReasonTransportClose, errClientClose)
			return
		}
		c.onPacket(p)
		if c.isClosed() {
			return
		}
	}
}

func wsCloseReason(err error) CloseReason {
	var ce *websocket.CloseError
	if errors.As(err, &ce) && ce.Code != websocket.CloseMessageTooBig {
		return ReasonTransportClose
	}
	return ReasonTransportError
}

// writerLinger is how long a WebSocket writer goroutine waits for more work
// before it exits. Active sessions keep theirs (starting a goroutine costs
// stack growth on every write); idle sessions have none.
const writerLinger = time.Second

// writeWebSocket writes the queue to ws until it has been empty for
// writerLinger. One runs at a time per session, started by kickLocked.
// Several queued packets go out in one write to the network.
func (c *Conn) writeWebSocket(ws *websocket.Conn, cork *corkConn) {
	defer c.srv.wg.Done()
	cfg := c.srv.cfg
	var idle *time.Timer
	defer func() {
		if idle != nil {
			idle.Stop()
		}
	}()
	for {
		c.mu.Lock()
		if c.state == stateClosed || c.ws != ws {
			c.writing, c.writerIdle = false, false
			c.mu.Unlock()
			return
		}
		if len(c.queue) == 0 {
			if c.state == stateClosing {
				c.writing = false
				c.mu.Unlock()
				c.finish(ReasonForcedClose, nil)
				return
			}
			c.writerIdle = true
			c.mu.Unlock()
			if idle == nil {
				idle = time.NewTimer(writerLinger)
			} else {
				idle.Reset(writerLinger)
			}
			select {
			case <-c.writerWake:
				continue
			case <-idle.C:
			}
			c.mu.Lock()
			if c.writerIdle { // nobody woke it: exit
				c.writing, c.writerIdle = false, false
				c.mu.Unlock()
				return
			}
			c.mu.Unlock()
			<-c.writerWake // woken while the timer fired
			continue
		}
		q := c.takeLocked()
		c.mu.Unlock()

		_ = ws.SetWriteDeadline(time.Now().Add(cfg.PingInterval + cfg.PingTimeout))
		batch := len(q) > 1 && cork != nil
		if batch {
			cork.cork()
		}
		var err error
		for i := range q {
			if err = writeFrame(ws, &q[i], cfg.PerMessageDeflate); err != nil {
				break
			}
		}
		if batch {
			if ferr := cork.uncork(); err == nil {
				err = ferr
			}
		}
		if err != nil {
			c.mu.Lock()
			c.writing, c.writerIdle = false, false
			c.mu.Unlock()
			c.finish(ReasonTransportError, err)
			return
		}
	}
}

func writeFrame(ws *websocket.Conn, p *packet, deflate *PerMessageDeflate) error {
	mt := websocket.TextMessage
	if p.binary {
		mt = websocket.BinaryMessage
	}
	if deflate != nil {
		ws.EnableWriteCompression(len(p.data) >= deflate.Threshold)
	}
	w, err := ws.NextWriter(mt)
	if err != nil {
		return err
	}
	if !p.binary {
		if _, err := w.Write(typeBytes[p.typ-'0']); err != nil {
			return err
		}
	}
	if _, err := w.Write(p.data); err != nil {
		return err
	}
	return w.Close()
}

// closeWebSocket sends a close frame and closes the connection.
func closeWebSocket(ws *websocket.Conn, code int) {
	_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(time.Second))
	_ = ws.Close()
}

// serveUpgrade runs the probe sequence on a WebSocket opened for a polling
// session, then switches the session to it.
func (c *Conn) serveUpgrade(w http.ResponseWriter, r *http.Request) {
	ws, _, rd, err := c.srv.upgrade(w, r, nil, c)
	if err != nil {
		return
	}
	if rd != nil {
		rd.probe = true
	}
	if !c.startProbe(ws, rd) {
		closeWebSocket(ws, websocket.CloseNormalClosure)
		return
	}
	c.debug("upgrade started")
	if rd != nil {
		if err := rd.p.add(rd); err != nil {
			c.abortProbe(ws)
		}
		return
	}
	c.srv.wg.Add(1)
	go func() {
		defer c.srv.wg.Done()
		c.probe(ws)
	}()
}

// startProbe makes ws, read by rd (or a goroutine if nil), the WebSocket
// being probed, if the session can upgrade.
func (c *Conn) startProbe(ws *websocket.Conn, rd *wsReader) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateOpen || c.upgrading || c.upgraded || c.transport != Polling || c.srv.cfg.DisableUpgrades {
		return false
	}
	c.upgrading = true
	c.probeWS, c.probeRd = ws, rd
	c.probeTimer = time.AfterFunc(c.srv.cfg.UpgradeTimeout, func() { c.abortProbe(ws) })
	return true
}

// abortProbe ends the upgrade to ws, if it is still under way, and closes
// ws. The session goes on over polling.
func (c *Conn) abortProbe(ws *websocket.Conn) {
	c.mu.Lock()
	if c.probeWS != ws {
		c.mu.Unlock()
		return // ended already, by whoever closes ws
	}
	rd := c.probeRd
	c.probeWS, c.probeRd = nil, nil
	c.upgrading, c.probed = false, false
	if c.probeTimer != nil {
		c.probeTimer.Stop()
		c.probeTimer = nil
	}
	c.mu.Unlock()
	closeWS(ws, rd)
}

// switchTo makes ws, read by rd (or a goroutine if nil), the session's
// transport once the client sent "5" over it. It reports false if the
// upgrade had ended meanwhile.
func (c *Conn) switchTo(ws *websocket.Conn, rd *wsReader) bool {
	c.mu.Lock()
	if c.state == stateClosed || c.probeWS != ws {
		c.mu.Unlock()
		return false // ws is closed by whoever ended the upgrade
	}
	if c.probeTimer != nil {
		c.probeTimer.Stop()
		c.probeTimer = nil
	}
	c.probeWS, c.probeRd = nil, nil
	c.upgrading, c.probed, c.upgraded = false, false, true
	c.transport = WebSocket
	if c.poll != nil {
		c.poll.signal()
	}
	c.ws, c.cork, c.rd = ws, corkOf(ws), rd
	c.kickLocked()
	c.mu.Unlock()
	c.debug("upgraded")
	return true
}

// corkOf returns the corked connection under ws.
func corkOf(ws *websocket.Conn) *corkConn {
	cc, _ := ws.NetConn().(*corkConn)
	return cc
}

// probe reads ws, the WebSocket being probed, on a goroutine: "2probe" is
// answered with "3probe", and "5" switches the session to ws, which the
// goroutine then reads.
func (c *Conn) probe(ws *websocket.Conn) {
	ws.SetReadLimit(int64(c.srv.cfg.MaxBufferSize))
	for {
		mt, data, err := ws.ReadMessage()
		if err != nil || mt != websocket.TextMessage {
			c.abortProbe(ws)
			return
		}
		p, err := decodeText(data)
		if err != nil {
			c.abortProbe(ws)
			return
		}
		switch {
		case p.typ == packetPing && string(p.data) == "probe":
			_ = ws.SetWriteDeadline(time.Now().Add(c.srv.cfg.UpgradeTimeout))
			if err := ws.WriteMessage(websocket.TextMessage, []byte("3probe")); err != nil {
				c.abortProbe(ws)
				return
			}
			c.mu.Lock()
			c.probed = true
			c.kickLocked() // a pending poll answers with a noop
			c.mu.Unlock()
		case p.typ == packetUpgrade:
			if c.switchTo(ws, nil) {
				c.readWebSocket(ws)
			}
			return
		default:
			c.abortProbe(ws)
			return
		}
	}
}
