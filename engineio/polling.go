package engineio

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Message is one Engine.IO message packet: text, or binary when Binary is set.
type Message struct {
	Data   []byte
	Binary bool
}

// noopDelay is how long a poll that arrives during an upgrade, after the
// probe, waits before it is answered with a noop.
const noopDelay = 100 * time.Millisecond

var (
	noopPayload  = []byte{byte(packetNoop)}
	closePayload = []byte{byte(packetClose)}
)

// servePoll answers a polling GET with the queued packets, waiting for some
// if the queue is empty.
func (c *Conn) servePoll(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	if c.state == stateClosed {
		noop := c.graceNoop
		c.graceNoop = false
		c.mu.Unlock()
		if noop {
			payload := noopPayload
			if c.eio3 {
				payload = noopPayloadV3
			}
			c.writePoll(w, r, payload, textPayload)
			return
		}
		c.srv.refuse(w, r, false, &ConnectionError{Code: ErrUnknownSID})
		return
	}
	// An HTTP client sends a GET again, unseen by its caller, when the
	// connection that carried it closes before any byte of the answer
	// (Go's Transport and browsers do, for idempotent requests on a reused
	// connection): a proxy between them, a load balancer or a forwarding
	// server, that dies after this server wrote the answer loses it. The
	// retry has the same cache buster: answer it with the same packets.
	// Any other GET shows that the client got the last answer.
	t := cacheBusterOf(r.URL.RawQuery)
	if a := c.answered; a != nil && a.t != "" {
		if t == a.t && c.poll == nil {
			payload, ctype := a.payload, a.contentType
			c.mu.Unlock()
			c.writePoll(w, r, payload, ctype)
			return
		}
		*a = pollAnswer{} // the client got it; the struct serves again
	}
	if c.poll != nil {
		c.mu.Unlock()
		c.finish(ReasonTransportError, errors.New("engineio: overlapping poll from client"))
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if c.expiredLocked() {
		c.mu.Unlock()
		c.finish(ReasonPingTimeout, nil)
		c.srv.refuse(w, r, false, &ConnectionError{Code: ErrUnknownSID})
		return
	}
	waiter := &pollWaiter{wake: make(chan struct{}, 1), afterProbe: c.upgrading}
	c.poll = waiter
	if waiter.afterProbe {
		// A poll sent while an upgrade is under way: answer it with a
		// noop shortly after the probe, unless the upgrade completes first
		// (see below).
		t := time.AfterFunc(noopDelay, func() {
			c.mu.Lock()
			waiter.delayed = true
			c.mu.Unlock()
			waiter.signal()
		})
		defer t.Stop()
	}
	c.srv.wg.Add()
	defer c.srv.wg.Done()
	for {
		var payload []byte
		ctype := textPayload
		closing := false
		switch {
		case c.state == stateClosed:
			payload = closePayload
			if c.graceNoop {
				payload = noopPayload
				c.graceNoop = false
			}
		case c.transport != Polling && waiter.afterProbe:
			// The client sent the upgrade packet while this poll, sent
			// during the upgrade, was waiting: a client that pauses
			// polling before upgrading never does that.
			c.poll = nil
			c.mu.Unlock()
			c.srv.refuse(w, r, false, &ConnectionError{Code: ErrBadRequest, Context: "TRANSPORT_MISMATCH"})
			return
		case c.transport != Polling:
			payload = noopPayload
		case c.upgrading && c.probed && len(c.queue) == 0 && (!waiter.afterProbe || waiter.delayed):
			payload = noopPayload
		case len(c.queue) > 0:
			q := c.takeLocked()
			if c.eio3 {
				payload, ctype = encodePayloadV3(q, c.b64Poll)
			} else {
				payload = appendPayload(make([]byte, 0, payloadSize(q)), q)
			}
			if t != "" {
				if c.answered == nil {
					c.answered = new(pollAnswer)
				}
				*c.answered = pollAnswer{t: t, payload: payload, contentType: ctype}
			}
		case c.state == stateClosing:
			payload, closing = closePayload, true
		}
		if payload != nil {
			c.poll = nil
			err := c.closeErr
			if c.eio3 && len(payload) == 1 {
				payload = fixedPayloadV3(payload) // noop or close
			}
			c.mu.Unlock()
			c.writePoll(w, r, payload, ctype)
			if closing {
				c.finish(ReasonForcedClose, err)
			}
			return
		}
		c.mu.Unlock()
		select {
		case <-waiter.wake:
		case <-r.Context().Done():
			c.mu.Lock()
			if c.poll == waiter {
				c.poll = nil
			}
			c.mu.Unlock()
			c.finish(ReasonTransportError, errors.New("engineio: poll connection closed prematurely"))
			return
		}
		c.mu.Lock()
	}
}

// cacheBusterOf returns the "t" parameter of a raw query, or "".
func cacheBusterOf(rawQuery string) string {
	for rawQuery != "" {
		var kv string
		kv, rawQuery, _ = strings.Cut(rawQuery, "&")
		if v, ok := strings.CutPrefix(kv, "t="); ok {
			return v
		}
	}
	return ""
}

func payloadSize(q []packet) int {
	n := len(q)
	for i := range q {
		if q[i].binary {
			n += (len(q[i].data)+2)/3*4 + 1
		} else {
			n += len(q[i].data) + 1
		}
	}
	return n
}

// textPayload is the content type of a text poll response.
const textPayload = "text/plain; charset=UTF-8"

// writePoll writes a poll response, compressed when large enough and the
// client accepts it.
func (c *Conn) writePoll(w http.ResponseWriter, r *http.Request, payload []byte, contentType string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	cfg := c.srv.cfg
	if !cfg.DisableHTTPCompression && len(payload) >= cfg.HTTPCompressionThreshold {
		if enc := acceptedEncoding(r.Header.Get("Accept-Encoding")); enc != "" {
			if z, err := compress(payload, enc); err == nil {
				h.Set("Content-Encoding", enc)
				payload = z
			}
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(payload)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(payload)
}

// acceptedEncoding picks gzip or deflate from an Accept-Encoding header.
func acceptedEncoding(accept string) string {
	gz, df := false, false
	for _, part := range strings.Split(accept, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.Contains(strings.ReplaceAll(params, " ", ""), "q=0") && !strings.Contains(params, "q=0.") {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "gzip", "*":
			gz = true
		case "deflate":
			df = true
		}
	}
	switch {
	case gz:
		return "gzip"
	case df:
		return "deflate"
	}
	return ""
}

// compress encodes b for Content-Encoding enc: "gzip", or "deflate", which
// HTTP defines as the zlib format.
func compress(b []byte, enc string) ([]byte, error) {
	var buf bytes.Buffer
	var zw io.WriteCloser
	if enc == "gzip" {
		zw = gzip.NewWriter(&buf)
	} else {
		zw = zlib.NewWriter(&buf)
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// serveData reads a polling POST and handles its packets in order.
func (c *Conn) serveData(w http.ResponseWriter, r *http.Request) {
	binary := r.Header.Get("Content-Type") == "application/octet-stream"
	if binary && !c.eio3 {
		c.finish(ReasonTransportError, errors.New("engineio: invalid content type"))
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	if c.state == stateClosed {
		c.mu.Unlock()
		c.srv.refuse(w, r, false, &ConnectionError{Code: ErrUnknownSID})
		return
	}
	if c.posting {
		c.mu.Unlock()
		c.finish(ReasonTransportError, errors.New("engineio: overlapping data request from client"))
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	c.posting = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.posting = false
		c.mu.Unlock()
	}()

	limit := int64(c.srv.cfg.MaxBufferSize)
	if r.ContentLength > limit {
		c.tooLarge(w)
		return
	}
	// A body trickled slower than a heartbeat does not keep its connection
	// and goroutine: the session would have timed out meanwhile anyway.
	// (net/http resets the deadline for the connection's next request.)
	cfg := c.srv.cfg
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(cfg.PingInterval + cfg.PingTimeout))
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		c.finish(ReasonTransportError, err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if int64(len(body)) > limit {
		c.tooLarge(w)
		return
	}
	handle := func(p packet) bool {
		c.onPacket(p)
		return !c.isClosed()
	}
	if c.eio3 {
		err = decodePayloadV3(body, binary, handle)
	} else {
		err = decodePayload(body, handle)
	}
	if err != nil {
		c.finish(ReasonParseError, err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", "2")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("ok"))
}

// tooLarge answers a POST over MaxBufferSize with 413 and ends the session,
// as the official server does.
func (c *Conn) tooLarge(w http.ResponseWriter) {
	w.WriteHeader(http.StatusRequestEntityTooLarge)
	c.finish(ReasonTransportError, errPayloadTooLarge)
}
