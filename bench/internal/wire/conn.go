package wire

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Handler receives every Engine.IO message packet (type '4', the whole frame
// including the type byte) from the connection's read goroutine. The frame is
// only valid during the call. Pings, noops and the open packet are handled by
// the connection itself.
type Handler func(c *Conn, frame []byte)

// DialOptions configures one connection.
type DialOptions struct {
	// Endpoint is the server to reach; see ParseEndpoint.
	Endpoint *Endpoint
	// Transport selects WebSocket (default) or long-polling.
	Transport Transport
	// LocalIP, when valid, is the source address of the connection's TCP
	// connections (another 127.x address stretches the ephemeral ports).
	LocalIP netip.Addr
	// Handler receives the message packets after the namespace is joined.
	Handler Handler
	// Msgpack makes the connection speak socket.io-msgpack-parser's
	// format (WebSocket only): the namespace is joined with MessagePack
	// packets, and the binary messages that follow go to BinaryHandler.
	Msgpack bool
	// BinaryHandler receives binary messages (the whole message; with
	// Msgpack, one packet each). Without one, a binary message ends the
	// connection.
	BinaryHandler Handler
	// Pings, when not nil, counts the server pings answered.
	Pings *atomic.Int64
	// ReadBufferSize is the WebSocket read buffer (default 1024).
	ReadBufferSize int
	// Timeout bounds the handshake and the namespace connect (default 10s).
	Timeout time.Duration
}

// ErrClosedByServer reports an Engine.IO close packet or a socket that the
// server ended.
var ErrClosedByServer = errors.New("wire: connection closed by server")

// Conn is one Engine.IO connection joined to the main namespace.
// Send and Close are safe for concurrent use.
type Conn struct {
	SID    string // Engine.IO session id
	Socket string // Socket.IO socket id

	handler Handler
	binary  Handler
	pings   *atomic.Int64

	ws   *wsConn
	poll *pollConn

	closing atomic.Bool
	done    chan struct{}
	errMu   sync.Mutex
	err     error
}

// Dial opens a connection, checks the open packet byte for byte, joins the
// main namespace and starts reading. ctx bounds the dial only.
func Dial(ctx context.Context, o DialOptions) (*Conn, error) {
	if o.Endpoint == nil {
		return nil, errors.New("wire: no endpoint")
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.ReadBufferSize <= 0 {
		o.ReadBufferSize = 1024
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	c := &Conn{handler: o.Handler, binary: o.BinaryHandler, pings: o.Pings, done: make(chan struct{})}
	var err error
	if o.Transport == Polling {
		if o.Msgpack {
			return nil, errors.New("wire: msgpack is implemented over WebSocket only")
		}
		err = c.dialPolling(ctx, o)
	} else {
		err = c.dialWS(ctx, o)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Send writes one Engine.IO packet (a whole frame such as `42["ev"]`).
// The frame may be reused once Send returns.
func (c *Conn) Send(frame []byte) error {
	if c.ws != nil {
		return c.ws.send(frame)
	}
	return c.poll.send(frame)
}

// SendBinary writes one binary message (WebSocket only).
func (c *Conn) SendBinary(msg []byte) error {
	if c.ws == nil {
		return errors.New("wire: binary messages need WebSocket")
	}
	return c.ws.writeBinary(msg)
}

// Done is closed when the connection has stopped reading.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection stopped, or nil if it was closed by Close
// or is still open.
func (c *Conn) Err() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

// Alive reports whether the connection is still reading.
func (c *Conn) Alive() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// Close leaves the namespace, closes the Engine.IO connection and waits for
// the read goroutine to end.
func (c *Conn) Close() error {
	if !c.closing.CompareAndSwap(false, true) {
		<-c.done
		return nil
	}
	if c.ws != nil {
		c.ws.close()
	} else {
		c.poll.close()
	}
	<-c.done
	return nil
}

// fail records the first error unless the connection is being closed.
func (c *Conn) fail(err error) {
	if c.closing.Load() {
		return
	}
	c.errMu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.errMu.Unlock()
}

// dispatch handles one Engine.IO packet received after the handshake. It
// returns an error that ends the connection.
func (c *Conn) dispatch(p []byte) error {
	if len(p) == 0 {
		return errors.New("wire: empty packet")
	}
	switch p[0] {
	case EIOMessage:
		if c.handler != nil {
			c.handler(c, p)
		}
		return nil
	case EIOPing:
		if len(p) != 1 {
			return fmt.Errorf("wire: unexpected ping %s", Quote(p))
		}
		if c.ws != nil {
			c.ws.extendDeadline()
		}
		if c.pings != nil {
			c.pings.Add(1)
		}
		return c.Send(framePong)
	case EIONoop:
		return nil
	case EIOClose:
		return ErrClosedByServer
	}
	return fmt.Errorf("wire: unexpected packet %s", Quote(p))
}

// Endpoint is a parsed server address restricted to the loopback network.
type Endpoint struct {
	host string // host:port
	path string // Engine.IO path, e.g. /socket.io/
	v4   bool   // the host is an IPv4 loopback address
}

// ParseEndpoint reads a server URL such as http://127.0.0.1:3000 (the path
// defaults to /socket.io/). Only loopback hosts are accepted.
func ParseEndpoint(raw string) (*Endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("wire: bad url: %w", err)
	}
	switch u.Scheme {
	case "http", "ws":
	default:
		return nil, fmt.Errorf("wire: url scheme %q not supported (use http or ws)", u.Scheme)
	}
	host := u.Hostname()
	e := &Endpoint{host: u.Host, path: u.Path}
	if host == "localhost" {
		e.v4 = true
		e.host = net.JoinHostPort("127.0.0.1", u.Port())
	} else {
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("wire: %q is not a loopback address; the load generator only targets this machine", host)
		}
		e.v4 = ip.Is4()
	}
	if u.Port() == "" {
		return nil, errors.New("wire: url needs a port")
	}
	if e.path == "" || e.path == "/" {
		e.path = "/socket.io/"
	}
	return e, nil
}

// SupportsSourceIPs reports whether connections may use other 127.x source
// addresses.
func (e *Endpoint) SupportsSourceIPs() bool { return e.v4 }

// Host returns host:port.
func (e *Endpoint) Host() string { return e.host }

func (e *Endpoint) url(scheme string, t Transport, sid string) string {
	q := "EIO=4&transport=" + t.String()
	if sid != "" {
		q += "&sid=" + url.QueryEscape(sid)
	}
	return scheme + "://" + e.host + e.path + "?" + q
}

// ipBindAddressNoPort is IP_BIND_ADDRESS_NO_PORT: the source port is then
// chosen at connect time, per destination, rather than at bind time.
const ipBindAddressNoPort = 24

func netDialer(local netip.Addr) *net.Dialer {
	d := &net.Dialer{Timeout: 10 * time.Second}
	if local.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: local.AsSlice()}
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
			})
			if err != nil {
				return err
			}
			return serr
		}
	}
	return d
}

// SourceIP returns the i-th source address of a rotation over n addresses
// starting at 127.0.0.1 (n <= 1 always gives 127.0.0.1).
func SourceIP(i, n int) netip.Addr {
	if n <= 1 {
		return netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	k := i % n
	return netip.AddrFrom4([4]byte{127, 0, byte(k / 250), byte(1 + k%250)})
}
