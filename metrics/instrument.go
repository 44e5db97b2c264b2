package metrics

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
)

// Instrument wraps the server's handler (or a handler that passes the
// server's requests through, such as the one of Server.ServeClient) to
// measure its transports: the bytes of the long-polling request and response
// bodies, the bytes read and written on WebSocket connections (frames and
// their headers), the sessions on each transport and the upgrades. Requests
// that are not Engine.IO requests (no transport query parameter) pass
// through unmeasured.
func (c *Collector) Instrument(next http.Handler) http.Handler {
	c.instrumented.Store(true)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("transport") {
		case "polling":
			if r.Body != nil && r.Body != http.NoBody {
				r.Body = &countingBody{ReadCloser: r.Body, n: c.traffic[transportPolling][dirIn]}
			}
			next.ServeHTTP(&pollingWriter{ResponseWriter: w, n: c.traffic[transportPolling][dirOut]}, r)
		case "websocket":
			next.ServeHTTP(&hijackWriter{ResponseWriter: w, c: c, upgrade: r.URL.Query().Get("sid") != ""}, r)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

type adder interface{ Add(float64) }

type countingBody struct {
	io.ReadCloser
	n adder
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.n.Add(float64(n))
	}
	return n, err
}

// pollingWriter counts the bytes of a polling response body.
type pollingWriter struct {
	http.ResponseWriter
	n adder
}

func (w *pollingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	if n > 0 {
		w.n.Add(float64(n))
	}
	return n, err
}

func (w *pollingWriter) Flush() { http.NewResponseController(w.ResponseWriter).Flush() }

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *pollingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// hijackWriter hands out a counting connection when the request is hijacked
// for a WebSocket.
type hijackWriter struct {
	http.ResponseWriter
	c       *Collector
	upgrade bool
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *hijackWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return conn, brw, err
	}
	if brw.Reader.Buffered() > 0 || brw.Writer.Buffered() > 0 {
		return conn, brw, nil // cannot rebase the buffers: left unmeasured
	}
	c := w.c
	cc := &countingConn{Conn: conn,
		in: c.traffic[transportWebSocket][dirIn], out: c.traffic[transportWebSocket][dirOut]}
	cc.onClose = func() { c.wsOpen.Add(-1) }
	c.wsOpen.Add(1)
	if w.upgrade {
		c.upgrades.Inc()
	}
	brw.Reader.Reset(cc)
	brw.Writer.Reset(cc)
	return cc, brw, nil
}

// countingConn counts the bytes of a hijacked connection.
type countingConn struct {
	net.Conn
	in, out adder
	once    sync.Once
	onClose func()
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.in.Add(float64(n))
	}
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.out.Add(float64(n))
	}
	return n, err
}

func (c *countingConn) Close() error {
	c.once.Do(c.onClose)
	return c.Conn.Close()
}
