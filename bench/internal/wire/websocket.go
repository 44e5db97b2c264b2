package wire

import (
	"context"
	"fmt"
	"io"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// heartbeatSlack is added to pingInterval+pingTimeout before a silent server
// is given up.
const heartbeatSlack = 5 * time.Second

// writeBuffers lends write buffers to connections only while they write, so
// idle connections hold none.
var writeBuffers = &bufferPool{}

type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() any  { return b.p.Get() }
func (b *bufferPool) Put(v any) { b.p.Put(v) }

type wsConn struct {
	c    *Conn
	conn *websocket.Conn
	wmu  sync.Mutex
	pong *websocket.PreparedMessage
}

var (
	pongOnce     sync.Once
	preparedPong *websocket.PreparedMessage
)

func pongMessage() *websocket.PreparedMessage {
	pongOnce.Do(func() {
		pm, err := websocket.NewPreparedMessage(websocket.TextMessage, framePong)
		if err != nil {
			panic(err)
		}
		preparedPong = pm
	})
	return preparedPong
}

func (c *Conn) dialWS(ctx context.Context, o DialOptions) error {
	d := websocket.Dialer{
		NetDialContext:   netDialer(o.LocalIP).DialContext,
		HandshakeTimeout: o.Timeout,
		ReadBufferSize:   o.ReadBufferSize,
		WriteBufferSize:  1024,
		WriteBufferPool:  writeBuffers,
	}
	conn, resp, err := d.DialContext(ctx, o.Endpoint.url("ws", WebSocket, ""), nil)
	if err != nil {
		if resp != nil {
			return fmt.Errorf("wire: websocket dial: %w (HTTP %s)", err, resp.Status)
		}
		return fmt.Errorf("wire: websocket dial: %w", err)
	}
	w := &wsConn{c: c, conn: conn, pong: pongMessage()}
	c.ws = w
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetReadDeadline(dl)
	}
	var buf []byte
	if buf, err = w.readMessage(buf, false); err != nil {
		conn.Close()
		return fmt.Errorf("wire: reading open packet: %w", err)
	}
	hs, err := ParseOpen(buf, WebSocket)
	if err != nil {
		conn.Close()
		return err
	}
	c.SID = hs.SID
	if o.Msgpack {
		err = w.write(websocket.BinaryMessage, msgpackConnect)
	} else {
		err = w.send(FrameConnect)
	}
	if err != nil {
		conn.Close()
		return err
	}
	if buf, err = w.readMessage(buf, o.Msgpack); err != nil {
		conn.Close()
		return fmt.Errorf("wire: reading connect reply: %w", err)
	}
	if o.Msgpack {
		c.Socket, err = parseMsgpackConnect(buf)
	} else {
		c.Socket, err = ParseConnect(buf)
	}
	if err != nil {
		conn.Close()
		return err
	}
	w.extendDeadline()
	// From here on, nothing is buffered in the WebSocket library: the
	// server sends nothing unasked after the connect reply, so the socket
	// can be read directly.
	rc, err := rawConnOf(conn)
	if err != nil {
		conn.Close()
		return err
	}
	go w.readLoop(rc)
	return nil
}

// readMessage reads one whole message, text or with binary set binary,
// into buf[:0].
func (w *wsConn) readMessage(buf []byte, binary bool) ([]byte, error) {
	mt, r, err := w.conn.NextReader()
	if err != nil {
		return buf, err
	}
	want := websocket.TextMessage
	if binary {
		want = websocket.BinaryMessage
	}
	if mt != want {
		return buf, fmt.Errorf("wire: unexpected message type %d", mt)
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

func (w *wsConn) readLoop(rc syscall.RawConn) {
	defer close(w.c.done)
	pong := func(p []byte) error {
		return w.conn.WriteControl(websocket.PongMessage, p, time.Now().Add(time.Second))
	}
	rr := newRawReader()
	if h := w.c.binary; h != nil {
		rr.onBinary = func(msg []byte) error { h(w.c, msg); return nil }
	}
	if err := rr.run(rc, w.c.dispatch, pong); err != nil {
		w.c.fail(err)
	}
	w.conn.Close()
}

// extendDeadline gives the server one heartbeat period to ping again.
func (w *wsConn) extendDeadline() {
	d := (DefaultPingInterval+DefaultPingTimeout)*time.Millisecond + heartbeatSlack
	_ = w.conn.SetReadDeadline(time.Now().Add(d))
}

func (w *wsConn) send(frame []byte) error {
	if len(frame) == 1 && frame[0] == EIOPong {
		w.wmu.Lock()
		defer w.wmu.Unlock()
		if err := w.conn.WritePreparedMessage(w.pong); err != nil {
			return fmt.Errorf("wire: write: %w", err)
		}
		return nil
	}
	return w.write(websocket.TextMessage, frame)
}

func (w *wsConn) writeBinary(msg []byte) error { return w.write(websocket.BinaryMessage, msg) }

// write writes one message of type mt.
func (w *wsConn) write(mt int, msg []byte) error {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if err := w.conn.WriteMessage(mt, msg); err != nil {
		return fmt.Errorf("wire: write: %w", err)
	}
	return nil
}

func (w *wsConn) close() {
	_ = w.send(FrameDisconnect)
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	_ = w.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	w.conn.Close()
}
