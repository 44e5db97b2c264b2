package engineio

import (
	"bufio"
	"net"
	"net/http"
	"sync"
)

// corkConn is the network connection under a WebSocket. While corked, it
// gathers what is written and sends it in one write when uncorked, so that
// a batch of frames costs one system call.
type corkConn struct {
	net.Conn
	mu     sync.Mutex
	corked bool
	buf    *[]byte
}

// maxCork bounds the bytes gathered while corked; past it they are flushed.
const maxCork = 64 << 10

var corkBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.corked {
		return c.Conn.Write(p)
	}
	*c.buf = append(*c.buf, p...)
	if len(*c.buf) >= maxCork {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (c *corkConn) cork() {
	c.mu.Lock()
	c.corked = true
	if c.buf == nil {
		c.buf = corkBufs.Get().(*[]byte)
	}
	c.mu.Unlock()
}

func (c *corkConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	err := c.flushLocked()
	if cap(*c.buf) <= maxCork {
		corkBufs.Put(c.buf)
	}
	c.buf = nil
	return err
}

func (c *corkConn) flushLocked() error {
	if len(*c.buf) == 0 {
		return nil
	}
	_, err := c.Conn.Write(*c.buf)
	*c.buf = (*c.buf)[:0]
	return err
}

// hijacker hands the WebSocket library a corkConn in place of the
// connection it hijacks, or the connection itself if plain.
type hijacker struct {
	http.ResponseWriter
	plain bool
	nc    net.Conn
	cork  *corkConn
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.nc = nc
	if h.plain {
		return nc, brw, nil
	}
	h.cork = &corkConn{Conn: nc}
	return h.cork, brw, nil
}

// upgrade answers a WebSocket handshake for session c. The WebSocket is
// read by the Server's poller if it can be, else by the WebSocket library.
func (s *Server) upgrade(w http.ResponseWriter, r *http.Request, header http.Header, c *Conn) (wsConn, error) {
	p := s.pollerFor(r)
	up := &s.upgrader
	if p != nil {
		// Only the handshake goes through the library's connection,
		// which is dropped afterwards.
		up = &s.upgraderPolled
	}
	h := &hijacker{ResponseWriter: w, plain: p != nil}
	ws, err := up.Upgrade(h, r, header)
	if err != nil {
		return nil, err
	}
	if p != nil {
		if pw := newPollWS(p, c, h.nc); pw != nil {
			return pw, nil
		}
	}
	ws.SetReadLimit(int64(s.cfg.MaxBufferSize))
	return &libWS{ws: ws, cork: h.cork, deflate: s.cfg.PerMessageDeflate}, nil
}
