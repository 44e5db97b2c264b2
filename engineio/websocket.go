package engineio

import (
	"net/http"
	"time"

	"github.com/sio-go/socketio/internal/linger"
)

// wsConn is a WebSocket carrying a session, or being probed for one. There
// are two kinds. Where the Server has a poller (Linux), a pollWS reads the
// client's frames as the poller reports them and writes its own frames: an
// idle pollWS holds no goroutine and no buffer. Otherwise, and for
// WebSockets the poller cannot read (TLS, permessage-deflate), a libWS
// reads on a goroutine of its own and writes through the WebSocket library.
type wsConn interface {
	// writePackets writes q in order, one message each, in as few writes
	// to the network as it can, failing past deadline.
	writePackets(q []packet, deadline time.Time) error
	// close stops reading, sends a close frame and closes the connection.
	close()
}

// attachWebSocket makes ws the transport of a session opened over
// WebSocket. It reports false, closing ws, if the session has ended
// meanwhile. The caller then writes what the handshake queues, with
// writeHandshake.
func (c *Conn) attachWebSocket(ws wsConn) bool {
	c.mu.Lock()
	if c.state == stateClosed {
		c.mu.Unlock()
		ws.close()
		return false
	}
	c.ws = ws
	c.writing = true // by the caller
	c.srv.wg.Add()
	c.mu.Unlock()
	return true
}

// writeHandshake writes the packets queued so far to the WebSocket given to
// attachWebSocket, on the request's goroutine: a session that then stays
// idle never starts a writer goroutine.
func (c *Conn) writeHandshake(ws wsConn) {
	c.writeWebSocket(ws, nil)
}

// startReading starts reading the session's WebSocket, once the connect
// callback has run.
func (c *Conn) startReading(ws wsConn) {
	switch ws := ws.(type) {
	case *pollWS:
		if err := ws.p.add(ws); err != nil {
			c.finish(ReasonTransportError, err)
		}
	case *libWS:
		// a goroutine of its own, so that the request's goroutine returns
		// and net/http releases the request and its buffers
		c.srv.wg.Add()
		go func() {
			defer c.srv.wg.Done()
			c.readWebSocket(ws)
		}()
	}
}

// writerLinger is how long a WebSocket writer goroutine waits for more work
// before it exits. Active sessions keep theirs (starting a goroutine costs
// stack growth on every write); idle sessions have none.
const writerLinger = time.Second

// writeWebSocket writes the queue to ws until it has been empty for
// writerLinger, or until it is empty if wake is nil. One runs at a time per
// session, started by kickLocked, which made wake. Several queued packets
// go out in one write to the network.
func (c *Conn) writeWebSocket(ws wsConn, wake chan struct{}) {
	defer c.srv.wg.Done()
	cfg := c.srv.cfg
	var idle linger.Timer
	defer idle.Stop()
	for {
		c.mu.Lock()
		if c.state == stateClosed || c.ws != ws {
			c.stopWriterLocked()
			c.mu.Unlock()
			return
		}
		if len(c.queue) == 0 && !c.tailQueued {
			if c.state == stateClosing {
				c.stopWriterLocked()
				err := c.closeErr
				c.mu.Unlock()
				c.finish(ReasonForcedClose, err)
				return
			}
			if wake == nil {
				c.stopWriterLocked()
				c.mu.Unlock()
				return
			}
			c.writerIdle = true
			c.mu.Unlock()
			if !idle.Wait(writerLinger, wake, nil, c.writerExitIfIdle) {
				return
			}
			continue
		}
		q := c.takeLocked()
		c.tailQueued = false // writePackets sends the tail first
		c.mu.Unlock()

		if err := ws.writePackets(q, time.Now().Add(cfg.PingInterval+cfg.PingTimeout)); err != nil {
			c.mu.Lock()
			c.stopWriterLocked()
			c.mu.Unlock()
			c.finish(ReasonTransportError, err)
			return
		}
	}
}

// writerExitIfIdle reports whether the writer goroutine is still idle,
// with nobody having woken it, and if so records that it exits.
func (c *Conn) writerExitIfIdle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.writerIdle {
		return false
	}
	c.stopWriterLocked()
	return true
}

// stopWriterLocked records that the writer goroutine exits. Its wake
// channel goes with it: an idle session keeps none.
func (c *Conn) stopWriterLocked() {
	c.writing, c.writerIdle = false, false
	c.writerWake = nil
}

// serveUpgrade runs the probe sequence on a WebSocket opened for a polling
// session, then switches the session to it.
func (c *Conn) serveUpgrade(w http.ResponseWriter, r *http.Request) {
	ws, err := c.srv.upgrade(w, r, c.srv.cfg.responseHeaders(nil, r, false), c)
	if err != nil {
		return
	}
	pw, polled := ws.(*pollWS)
	if polled {
		pw.probe = true
	}
	if !c.startProbe(ws, c.eio3 && wantsBase64(r)) {
		ws.close()
		return
	}
	c.debug("upgrade started")
	if polled {
		if err := pw.p.add(pw); err != nil {
			c.abortProbe(ws)
		}
		return
	}
	c.srv.wg.Add()
	go func() {
		defer c.srv.wg.Done()
		c.probe(ws.(*libWS))
	}()
}

// startProbe makes ws the WebSocket being probed, if the session can
// upgrade; b64 tells whether a v3 client asked for binary as base64 on it.
func (c *Conn) startProbe(ws wsConn, b64 bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state != stateOpen || c.upgrading || c.upgraded || c.transport != Polling || c.srv.cfg.DisableUpgrades {
		return false
	}
	c.upgrading = true
	c.probeWS = ws
	c.b64Probe = b64
	c.probeTimer = time.AfterFunc(c.srv.cfg.UpgradeTimeout, func() { c.abortProbe(ws) })
	return true
}

// probeAnswered records that "3probe" was sent over the WebSocket being
// probed.
func (c *Conn) probeAnswered() {
	c.mu.Lock()
	c.probed = true
	c.kickLocked() // a pending poll answers with a noop
	c.mu.Unlock()
}

// abortProbe ends the upgrade to ws, if it is still under way, and closes
// ws. The session goes on over polling.
func (c *Conn) abortProbe(ws wsConn) {
	c.mu.Lock()
	if c.probeWS != ws {
		c.mu.Unlock()
		return // ended already, by whoever closes ws
	}
	c.probeWS = nil
	c.upgrading, c.probed = false, false
	if c.probeTimer != nil {
		c.probeTimer.Stop()
		c.probeTimer = nil
	}
	c.mu.Unlock()
	ws.close()
}

// switchTo makes ws the session's transport once the client sent "5" over
// it. It reports false if the upgrade had ended meanwhile.
func (c *Conn) switchTo(ws wsConn) bool {
	c.mu.Lock()
	if c.state == stateClosed || c.probeWS != ws {
		c.mu.Unlock()
		return false // ws is closed by whoever ended the upgrade
	}
	if c.probeTimer != nil {
		c.probeTimer.Stop()
		c.probeTimer = nil
	}
	c.probeWS = nil
	c.upgrading, c.probed, c.upgraded = false, false, true
	c.answered = nil // no GET follows
	c.transport = WebSocket
	if c.b64Probe {
		c.b64WS = true
		c.switchedToBase64Locked()
	}
	if c.poll != nil {
		c.poll.signal()
	}
	c.ws = ws
	c.kickLocked()
	c.mu.Unlock()
	c.debug("upgraded")
	c.upgradeDone()
	return true
}
