package engineio

import "net/http"

// responseHeaders adds the headers of the InitialHeaders (for a handshake)
// and Headers hooks to h, made when nil and needed, and returns it.
func (c *Config) responseHeaders(h http.Header, r *http.Request, handshake bool) http.Header {
	if c.Headers == nil && (!handshake || c.InitialHeaders == nil) {
		return h
	}
	if h == nil {
		h = http.Header{}
	}
	if handshake && c.InitialHeaders != nil {
		c.InitialHeaders(h, r)
	}
	if c.Headers != nil {
		c.Headers(h, r)
	}
	return h
}

// OnUpgrade registers f, called when the session moves from polling to
// WebSocket with the new transport (Node's socket.on("upgrade")), on the
// goroutine that completed the upgrade. Several functions may be
// registered; they must not block.
func (c *Conn) OnUpgrade(f func(Transport)) {
	c.mu.Lock()
	c.onUpgrade = append(c.onUpgrade, f)
	c.mu.Unlock()
}

// upgradeDone calls the OnUpgrade functions.
func (c *Conn) upgradeDone() {
	c.mu.Lock()
	fs := c.onUpgrade
	c.mu.Unlock()
	for _, f := range fs {
		f(WebSocket)
	}
}
