package engineio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// wsWriteBuffers is shared by the WebSocket connections of all clients, so
// that an idle connection holds no write buffer.
var wsWriteBuffers = &syncBufferPool{}

type syncBufferPool struct{ p sync.Pool }

func (b *syncBufferPool) Get() any  { return b.p.Get() }
func (b *syncBufferPool) Put(v any) { b.p.Put(v) }

// dialWebSocket opens the WebSocket transport, with the sid when known.
func (c *ClientConn) dialWebSocket(ctx context.Context) (*websocket.Conn, error) {
	q := make(url.Values, len(c.query)+1)
	for k, v := range c.query {
		q[k] = v
	}
	q.Set("transport", string(WebSocket))
	u := *c.url
	u.RawQuery = q.Encode()
	if u.Scheme == "https" {
		u.Scheme = "wss"
	} else {
		u.Scheme = "ws"
	}
	// The WebSocket library heeds ctx's deadline but not its cancellation
	// once connected: close the connection when ctx ends during the
	// handshake.
	var mu sync.Mutex
	var conns []net.Conn
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		for _, nc := range conns {
			_ = nc.Close()
		}
	})
	defer stop()
	d := websocket.Dialer{
		Proxy:           c.cfg.Proxy,
		TLSClientConfig: c.cfg.TLSConfig,
		Jar:             c.cfg.Jar,
		WriteBufferPool: wsWriteBuffers,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				mu.Lock()
				conns = append(conns, nc)
				mu.Unlock()
			}
			return nc, err
		},
	}
	header := http.Header{}
	for k, v := range c.cfg.Header {
		header[k] = v
	}
	ws, resp, err := d.DialContext(ctx, u.String(), header)
	if err != nil {
		if resp != nil && errors.Is(err, websocket.ErrBadHandshake) {
			defer resp.Body.Close()
			return nil, refusal(WebSocket, resp)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	ws.SetReadLimit(c.cfg.MaxMessageBytes)
	return ws, nil
}

// openWebSocket performs the handshake over WebSocket.
func (c *ClientConn) openWebSocket(ctx context.Context) (*handshake, error) {
	c.transport = WebSocket
	ws, err := c.dialWebSocket(ctx)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = ws.Close() })
	mt, data, err := ws.ReadMessage()
	if !stop() {
		return nil, ctx.Err()
	}
	if err != nil {
		_ = ws.Close()
		if _, reason := wsClientError(err); reason == ErrMessageTooBig {
			return nil, fmt.Errorf("%w: %w", ErrHandshake, reason)
		}
		return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	var h *handshake
	if mt != websocket.TextMessage {
		err = fmt.Errorf("%w: binary frame instead of the open packet", ErrHandshake)
	} else if p, perr := decodeText(data); perr != nil {
		err = fmt.Errorf("%w: malformed open packet", ErrHandshake)
	} else {
		h, err = parseOpen(p)
	}
	if err != nil {
		_ = ws.Close()
		return nil, err
	}
	c.ws = ws
	return h, nil
}

// wsClientError maps a read error to a close reason and cause.
func wsClientError(err error) (CloseReason, error) {
	var ce *websocket.CloseError
	switch {
	case errors.Is(err, websocket.ErrReadLimit):
		return ReasonTransportError, ErrMessageTooBig
	case errors.As(err, &ce):
		return ReasonTransportClose, err
	}
	return ReasonTransportError, err
}

// readWebSocketClient reads packets from ws until the connection ends.
func (c *ClientConn) readWebSocketClient(ws *websocket.Conn) {
	defer c.wg.Done()
	for {
		mt, data, err := ws.ReadMessage()
		if err != nil {
			c.fail(wsClientError(err))
			return
		}
		data = trim(data)
		if mt == websocket.BinaryMessage {
			if !c.deliver(Message{Data: data, Binary: true}) {
				return
			}
			continue
		}
		p, err := decodeText(data)
		if err != nil {
			c.fail(ReasonParseError, err)
			return
		}
		if !c.onPacket(p) {
			return
		}
	}
}

// trim returns a small message in a slice of its own size: the WebSocket
// library reads every message into a buffer of at least 512 bytes, which a
// message kept for a while (waiting for its handler) would otherwise hold.
func trim(data []byte) []byte {
	if len(data) < 2048 && cap(data) >= 2*len(data) {
		return bytes.Clone(data)
	}
	return data
}

// writeWebSocketPackets writes packets as frames: text packets as
// "<type><data>", binary messages raw.
func writeWebSocketPackets(ws *websocket.Conn, batch []packet) error {
	for i := range batch {
		p := &batch[i]
		if p.binary {
			if err := ws.WriteMessage(websocket.BinaryMessage, p.data); err != nil {
				return err
			}
			continue
		}
		w, err := ws.NextWriter(websocket.TextMessage)
		if err != nil {
			return err
		}
		_, _ = w.Write(typeBytes[p.typ][:])
		_, _ = w.Write(p.data)
		if err := w.Close(); err != nil {
			return err
		}
	}
	return nil
}

// upgrade probes a WebSocket for the polling connection and switches to it:
// "2probe" and "3probe" over the WebSocket, then polling is paused (the
// pending poll answered, the pending POST done), then the upgrade packet is
// sent and the queue flushed over the WebSocket. When the probe fails, the
// connection stays on polling. The goroutine then reads the WebSocket.
func (c *ClientConn) upgrade() {
	ws, err := c.dialWebSocket(c.ctx)
	if err != nil {
		c.cfg.Logger.Debug("engineio: upgrade failed", "sid", c.id, "err", err)
		c.wg.Done()
		return
	}
	c.mu.Lock()
	if c.closed || c.closing {
		c.mu.Unlock()
		_ = ws.Close()
		c.wg.Done()
		return
	}
	c.probe = ws
	c.mu.Unlock()
	if err := c.probeWebSocket(ws); err != nil {
		c.cfg.Logger.Debug("engineio: upgrade probe failed", "sid", c.id, "err", err)
		c.mu.Lock()
		c.probe = nil
		c.mu.Unlock()
		_ = ws.Close()
		c.wg.Done()
		return
	}
	c.mu.Lock()
	c.upgrading, c.pausing = true, true
	for !c.closed && !c.closing && (c.writing || c.polling) {
		c.cond.Wait()
	}
	if c.closing && !c.closed {
		// Give the upgrade up: Close sends its close packet over polling.
		// (Waiting on would wait for a poll that may be waiting for a Read
		// that will not come.)
		c.upgrading, c.pausing, c.probe = false, false, nil
		c.cond.Broadcast()
		c.flushLocked()
		c.mu.Unlock()
		_ = ws.Close()
		c.wg.Done()
		return
	}
	closed := c.closed
	c.mu.Unlock()
	if closed {
		c.wg.Done()
		return
	}
	if err := writeWebSocketPackets(ws, []packet{{typ: packetUpgrade}}); err != nil {
		c.fail(ReasonTransportError, err)
		c.wg.Done()
		return
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.wg.Done()
		return
	}
	c.ws, c.probe, c.transport = ws, nil, WebSocket
	c.upgrading, c.pausing = false, false
	c.cond.Broadcast()
	c.flushLocked()
	c.mu.Unlock()
	c.cfg.Logger.Debug("engineio: upgraded", "sid", c.id)
	c.readWebSocketClient(ws)
}

// probeWebSocket sends the probe ping and waits for the probe pong.
func (c *ClientConn) probeWebSocket(ws *websocket.Conn) error {
	if err := ws.WriteMessage(websocket.TextMessage, []byte("2probe")); err != nil {
		return err
	}
	_ = ws.SetReadDeadline(time.Now().Add(c.heartbeat))
	mt, data, err := ws.ReadMessage()
	if err != nil {
		return err
	}
	_ = ws.SetReadDeadline(time.Time{})
	if mt != websocket.TextMessage || string(data) != "3probe" {
		return fmt.Errorf("engineio: probe answered with %q", data)
	}
	return nil
}
