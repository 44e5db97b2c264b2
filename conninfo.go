package socketio

import (
	"net/http"

	"github.com/sio-go/socketio/engineio"
)

// Conn describes the Engine.IO connection under a socket (Node's
// socket.conn): its transport, its upgrade, the client's address and the
// handshake request. The sockets of one connection, one per namespace,
// share it. It is a small value; its methods are safe for concurrent use.
type Conn struct{ c *conn }

// Conn returns the socket's Engine.IO connection.
func (s *Socket) Conn() Conn { return Conn{s.conn} }

// transportInfo is what *engineio.Conn tells of its transport.
type transportInfo interface {
	Transport() engineio.Transport
	Upgraded() bool
	OnUpgrade(func(engineio.Transport))
}

// Transport returns the transport carrying the connection now (Node's
// socket.conn.transport.name): engineio.Polling until an upgrade, then
// engineio.WebSocket.
func (c Conn) Transport() engineio.Transport {
	if t, ok := c.c.ec.(transportInfo); ok {
		return t.Transport()
	}
	return ""
}

// Upgraded reports whether the connection moved from polling to
// WebSocket.
func (c Conn) Upgraded() bool {
	if t, ok := c.c.ec.(transportInfo); ok {
		return t.Upgraded()
	}
	return false
}

// OnUpgrade registers f, called with the new transport when the
// connection moves from polling to WebSocket (Node's
// socket.conn.on("upgrade")). It runs on the goroutine that completed the
// upgrade and must not block.
func (c Conn) OnUpgrade(f func(engineio.Transport)) {
	if t, ok := c.c.ec.(transportInfo); ok {
		t.OnUpgrade(f)
	}
}

// RemoteAddr returns the network address of the client (Node's
// socket.conn.remoteAddress), as host:port. Behind a proxy it is the
// proxy's: read the forwarding headers of Request instead.
func (c Conn) RemoteAddr() string { return c.c.ec.RemoteAddr() }

// Request returns a copy of the request that opened the connection, with
// its headers, URL and TLS state (Node's socket.conn.request).
func (c Conn) Request() *http.Request { return c.c.ec.Request() }

// ID returns the Engine.IO session id of the connection (Node's
// socket.conn.id), which every socket of the connection shares.
func (c Conn) ID() string { return c.c.ec.ID() }

// OnClose registers f, called once when the connection ends, after its
// sockets were disconnected, with the reason they were given (Node's
// socket.conn.on("close")). Registered on a connection already closed, f is
// not called. f runs on the goroutine that closed the connection and must
// not block.
func (c Conn) OnClose(f func(reason DisconnectReason)) {
	c.c.addHook(func(h *connHooks) { h.onClose = append(h.onClose, f) })
}

// OnRead registers f, called with the size in bytes of every Engine.IO
// message the client sends on the connection (Node's socket.conn.on("packet")
// for packets that carry data), before the message is handled. f runs on
// the goroutine reading the connection and must not block.
func (c Conn) OnRead(f func(size int)) {
	c.c.addHook(func(h *connHooks) { h.onRead = append(h.onRead, f) })
}

// OnWrite registers f, called with the size in bytes of every Engine.IO
// message the server hands to the connection (Node's
// socket.conn.on("packetCreate") for packets that carry data): a packet's
// binary attachments are messages of their own. Messages dropped unsent
// (volatile ones on a busy connection) are not counted. f runs on the
// goroutine that emitted and must not block.
func (c Conn) OnWrite(f func(size int)) {
	c.c.addHook(func(h *connHooks) { h.onWrite = append(h.onWrite, f) })
}
