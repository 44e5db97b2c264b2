package engineio

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"
)

// cacheBuster numbers the requests, like the "t" parameter of the official
// client, so that no cache answers a poll.
var cacheBuster atomic.Uint64

// pollURL returns the URL of a polling request.
func (c *ClientConn) pollURL() string {
	q := make(url.Values, len(c.query)+2)
	for k, v := range c.query {
		q[k] = v
	}
	q["transport"] = []string{string(Polling)}
	q["t"] = []string{strconv.FormatInt(time.Now().UnixMilli(), 36) + "." + strconv.FormatUint(cacheBuster.Add(1), 36)}
	u := *c.url
	u.RawQuery = q.Encode()
	return u.String()
}

// request sends one polling request and returns the response body, or an
// error: a *HandshakeError for a refused handshake, ErrMessageTooBig, or the
// request's error.
func (c *ClientConn) request(ctx context.Context, method string, body []byte, handshake bool) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.pollURL(), rd)
	if err != nil {
		return nil, err
	}
	for k, v := range c.cfg.Header {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		if handshake {
			return nil, refusal(Polling, resp)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("engineio: polling %s: HTTP %d", method, resp.StatusCode)
	}
	if method == http.MethodPost {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxMessageBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > c.cfg.MaxMessageBytes {
		return nil, ErrMessageTooBig
	}
	return data, nil
}

// openPolling performs the handshake over polling.
func (c *ClientConn) openPolling(ctx context.Context) (*handshake, []packet, error) {
	c.transport = Polling
	body, err := c.request(ctx, http.MethodGet, nil, true)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	var (
		h       *handshake
		rest    []packet
		openErr error
	)
	err = decodePayload(body, func(p packet) bool {
		if h == nil {
			h, openErr = parseOpen(p)
			return openErr == nil
		}
		rest = append(rest, p)
		return true
	})
	switch {
	case openErr != nil:
		return nil, nil, openErr
	case err != nil || h == nil:
		return nil, nil, fmt.Errorf("%w: malformed polling payload", ErrHandshake)
	}
	return h, rest, nil
}

// pollLoop handles the packets that came with the handshake, then polls
// until the connection ends or the upgrade pauses it.
func (c *ClientConn) pollLoop(rest []packet) {
	defer c.wg.Done()
	for _, p := range rest {
		if !c.onPacket(p) {
			return
		}
	}
	for {
		c.mu.Lock()
		if c.closed || c.pausing {
			c.polling = false
			c.cond.Broadcast()
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		body, err := c.request(c.ctx, http.MethodGet, nil, false)
		if err != nil {
			c.fail(ReasonTransportError, err)
			return
		}
		open := true
		err = decodePayload(body, func(p packet) bool {
			open = c.onPacket(p)
			return open
		})
		if !open {
			return
		}
		if err != nil {
			c.fail(ReasonParseError, err)
			return
		}
	}
}

// post writes packets in one polling request.
func (c *ClientConn) post(batch []packet) error {
	size := 0
	for i := range batch {
		size += len(batch[i].data)*4/3 + 4
	}
	_, err := c.request(c.ctx, http.MethodPost, appendPayload(make([]byte, 0, size), batch), false)
	return err
}
