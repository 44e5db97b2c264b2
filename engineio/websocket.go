package engineio

import (
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

// typeBytes holds the one-byte prefix of each text packet type.
var typeBytes = [...][]byte{{'0'}, {'1'}, {'2'}, {'3'}, {'4'}, {'5'}, {'6'}}

// attachWebSocket makes ws the transport of a session opened over WebSocket.
func (c *Conn) attachWebSocket(ws *websocket.Conn) {
	ws.SetReadLimit(int64(c.srv.cfg.MaxBufferSize))
	c.mu.Lock()
	c.ws = ws
	c.mu.Unlock()
}

// goReadWebSocket reads ws on a goroutine of its own, so that the request's
// goroutine returns and net/http releases the request and its buffers.
func (c *Conn) goReadWebSocket(ws *websocket.Conn) {
	c.srv.wg.Add(1)
	go func() {
		defer c.srv.wg.Done()
		c.readWebSocket(ws)
	}()
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

// writeWebSocket writes the queue to ws until it is empty. One runs at a time
// per session, started by kickLocked.
func (c *Conn) writeWebSocket(ws *websocket.Conn) {
	defer c.srv.wg.Done()
	cfg := c.srv.cfg
	for {
		c.mu.Lock()
		if c.state == stateClosed || c.ws != ws {
			c.writing = false
			c.mu.Unlock()
			return
		}
		if len(c.queue) == 0 {
			c.writing = false
			closing := c.state == stateClosing
			c.mu.Unlock()
			if closing {
				c.finish(ReasonForcedClose, nil)
			}
			return
		}
		q := c.takeLocked()
		c.mu.Unlock()

		_ = ws.SetWriteDeadline(time.Now().Add(cfg.PingInterval + cfg.PingTimeout))
		for i := range q {
			if err := writeFrame(ws, &q[i], cfg.PerMessageDeflate); err != nil {
				c.mu.Lock()
				c.writing = false
				c.mu.Unlock()
				c.finish(ReasonTransportError, err)
				return
			}
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
	ws, err := c.srv.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c.srv.wg.Add(1)
	go func() {
		defer c.srv.wg.Done()
		c.probe(ws)
	}()
}

// probe runs the upgrade of the session to ws: "2probe" is answered with
// "3probe", and "5" switches the session to ws.
func (c *Conn) probe(ws *websocket.Conn) {
	c.mu.Lock()
	if c.state != stateOpen || c.upgrading || c.upgraded || c.transport != Polling || c.srv.cfg.DisableUpgrades {
		c.mu.Unlock()
		closeWebSocket(ws, websocket.CloseNormalClosure)
		return
	}
	c.upgrading = true
	c.probeWS = ws
	c.mu.Unlock()
	c.debug("upgrade started")

	ws.SetReadLimit(int64(c.srv.cfg.MaxBufferSize))
	timer := time.AfterFunc(c.srv.cfg.UpgradeTimeout, func() { _ = ws.Close() })
	abort := func() {
		timer.Stop()
		c.mu.Lock()
		if c.probeWS == ws {
			c.probeWS = nil
			c.upgrading = false
			c.probed = false
		}
		c.mu.Unlock()
		closeWebSocket(ws, websocket.CloseNormalClosure)
	}
	for {
		mt, data, err := ws.ReadMessage()
		if err != nil || mt != websocket.TextMessage {
			abort()
			return
		}
		p, err := decodeText(data)
		if err != nil {
			abort()
			return
		}
		switch {
		case p.typ == packetPing && string(p.data) == "probe":
			_ = ws.SetWriteDeadline(time.Now().Add(c.srv.cfg.UpgradeTimeout))
			if err := ws.WriteMessage(websocket.TextMessage, []byte("3probe")); err != nil {
				abort()
				return
			}
			c.mu.Lock()
			c.probed = true
			c.kickLocked() // a pending poll answers with a noop
			c.mu.Unlock()
		case p.typ == packetUpgrade:
			timer.Stop()
			c.mu.Lock()
			if c.state == stateClosed || c.probeWS != ws {
				c.mu.Unlock()
				closeWebSocket(ws, websocket.CloseNormalClosure)
				return
			}
			c.probeWS = nil
			c.upgrading, c.probed, c.upgraded = false, false, true
			c.transport = WebSocket
			if c.poll != nil {
				c.poll.signal()
			}
			c.ws = ws
			c.kickLocked()
			c.mu.Unlock()
			c.debug("upgraded")
			c.readWebSocket(ws)
			return
		default:
			abort()
			return
		}
	}
}
