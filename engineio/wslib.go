package engineio

import (
	"errors"
	"time"

	"github.com/gorilla/websocket"
)

// libWS is a WebSocket read by a goroutine of its own and written through
// the WebSocket library, for systems without a poller and for WebSockets
// the poller cannot read (TLS, permessage-deflate).
type libWS struct {
	ws      *websocket.Conn
	cork    *corkConn // ws's network connection
	deflate *PerMessageDeflate
}

// typeBytes holds the one-byte prefix of each text packet type, and of
// Engine.IO v3's base64 binary packets ('b').
var typeBytes = func() (t [256][1]byte) {
	for i := range t {
		t[i][0] = byte(i)
	}
	return t
}()

func (l *libWS) writePackets(q []packet, deadline time.Time) error {
	_ = l.ws.SetWriteDeadline(deadline)
	batch := len(q) > 1 && l.cork != nil
	if batch {
		l.cork.cork()
	}
	var err error
	for i := range q {
		if err = l.writeFrame(&q[i]); err != nil {
			break
		}
	}
	if batch {
		if ferr := l.cork.uncork(); err == nil {
			err = ferr
		}
	}
	return err
}

func (l *libWS) writeFrame(p *packet) error {
	mt := websocket.TextMessage
	if p.binary {
		mt = websocket.BinaryMessage
	}
	if l.deflate != nil {
		l.ws.EnableWriteCompression(len(p.data) >= l.deflate.Threshold)
	}
	w, err := l.ws.NextWriter(mt)
	if err != nil {
		return err
	}
	if !p.binary {
		if _, err := w.Write(typeBytes[p.typ][:]); err != nil {
			return err
		}
	}
	if _, err := w.Write(p.data); err != nil {
		return err
	}
	return w.Close()
}

func (l *libWS) close() {
	_ = l.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(closeWait))
	_ = l.ws.Close()
}

// readWebSocket reads packets from l until it fails, then ends the session.
func (c *Conn) readWebSocket(l *libWS) {
	for {
		mt, data, err := l.ws.ReadMessage()
		if err != nil {
			c.finish(wsCloseReason(err), err)
			return
		}
		if mt == websocket.BinaryMessage {
			c.onPacket(packet{typ: packetMessage, data: data, binary: true})
			continue
		}
		p, err := decodeText(data)
		if err != nil && c.eio3 {
			p, err = decodeTextV3(data) // base64 binary
		}
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

// probe reads l, the WebSocket being probed, on a goroutine: "2probe" is
// answered with "3probe", and "5" switches the session to l, which the
// goroutine then reads.
func (c *Conn) probe(l *libWS) {
	for {
		mt, data, err := l.ws.ReadMessage()
		if err != nil || mt != websocket.TextMessage {
			c.abortProbe(l)
			return
		}
		p, err := decodeText(data)
		if err != nil {
			c.abortProbe(l)
			return
		}
		switch {
		case p.typ == packetPing && string(p.data) == "probe":
			_ = l.ws.SetWriteDeadline(time.Now().Add(c.srv.cfg.UpgradeTimeout))
			if err := l.ws.WriteMessage(websocket.TextMessage, []byte("3probe")); err != nil {
				c.abortProbe(l)
				return
			}
			c.probeAnswered()
		case p.typ == packetUpgrade:
			if c.switchTo(l) {
				c.readWebSocket(l)
			}
			return
		default:
			c.abortProbe(l)
			return
		}
	}
}
