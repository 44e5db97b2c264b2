package wire

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// maxBatch bounds the packets sent in one POST.
const maxBatch = 256

type pollConn struct {
	c      *Conn
	client *http.Client
	tr     *http.Transport
	url    string

	ctx    context.Context
	cancel context.CancelFunc
	sendq  chan []byte
	quit   chan struct{} // asks the writer to flush, say goodbye and stop
	wdone  chan struct{}
}

func (c *Conn) dialPolling(ctx context.Context, o DialOptions) error {
	tr := &http.Transport{
		DialContext:         netDialer(o.LocalIP).DialContext,
		MaxIdleConnsPerHost: 4,
		DisableCompression:  true,
		IdleConnTimeout:     time.Minute,
	}
	p := &pollConn{
		c:      c,
		tr:     tr,
		client: &http.Client{Transport: tr},
		sendq:  make(chan []byte, 1024),
		quit:   make(chan struct{}),
		wdone:  make(chan struct{}),
	}
	body, err := p.get(ctx, o.Endpoint.url("http", Polling, ""))
	if err != nil {
		tr.CloseIdleConnections()
		return fmt.Errorf("wire: polling handshake: %w", err)
	}
	hs, err := ParseOpen(body, Polling)
	if err != nil {
		tr.CloseIdleConnections()
		return err
	}
	c.SID = hs.SID
	p.url = o.Endpoint.url("http", Polling, hs.SID)
	if err := p.post(ctx, FrameConnect); err != nil {
		tr.CloseIdleConnections()
		return err
	}
	body, err = p.get(ctx, p.url)
	if err != nil {
		tr.CloseIdleConnections()
		return fmt.Errorf("wire: reading connect reply: %w", err)
	}
	// The reply comes first; anything after it is handled as usual once
	// the connection runs.
	first, rest, _ := bytes.Cut(body, []byte{Separator})
	if c.Socket, err = ParseConnect(first); err != nil {
		tr.CloseIdleConnections()
		return err
	}
	c.poll = p
	p.ctx, p.cancel = context.WithCancel(context.Background())
	go p.writeLoop()
	go p.readLoop(bytes.Clone(rest))
	return nil
}

func (p *pollConn) get(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET answered %s: %s", resp.Status, Quote(body))
	}
	return body, nil
}

func (p *pollConn) post(ctx context.Context, payload []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("wire: POST: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if err != nil {
		return fmt.Errorf("wire: POST: %w", err)
	}
	if resp.StatusCode != http.StatusOK || string(body) != "ok" {
		return fmt.Errorf("wire: POST answered %s: %s (want 200 ok)", resp.Status, Quote(body))
	}
	return nil
}

func (p *pollConn) readLoop(pending []byte) {
	defer close(p.c.done)
	defer p.cancel()
	if len(pending) > 0 {
		if err := SplitPayload(pending, p.c.dispatch); err != nil {
			p.c.fail(err)
			return
		}
	}
	for {
		body, err := p.get(p.ctx, p.url)
		if err == nil {
			err = SplitPayload(body, p.c.dispatch)
		}
		if err != nil {
			p.c.fail(err)
			return
		}
	}
}

func (p *pollConn) writeLoop() {
	defer close(p.wdone)
	var payload []byte
	for {
		payload = payload[:0]
		select {
		case f := <-p.sendq:
			payload = AppendPayload(payload, f)
		case <-p.quit:
			p.drain(payload)
			return
		case <-p.ctx.Done():
			return
		}
	batch:
		for n := 1; n < maxBatch; n++ {
			select {
			case f := <-p.sendq:
				payload = AppendPayload(payload, f)
			default:
				break batch
			}
		}
		if err := p.post(p.ctx, payload); err != nil {
			p.c.fail(err)
			p.cancel()
			return
		}
	}
}

// drain sends what is queued followed by a namespace disconnect and an
// Engine.IO close, then stops the reader.
func (p *pollConn) drain(payload []byte) {
	for {
		select {
		case f := <-p.sendq:
			payload = AppendPayload(payload, f)
			continue
		default:
		}
		break
	}
	payload = AppendPayload(payload, FrameDisconnect)
	payload = AppendPayload(payload, frameClose)
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	_ = p.post(ctx, payload)
	cancel()
	p.cancel()
}

func (p *pollConn) send(frame []byte) error {
	f := bytes.Clone(frame)
	select {
	case p.sendq <- f:
		return nil
	case <-p.ctx.Done():
		return fmt.Errorf("wire: send on closed connection")
	}
}

func (p *pollConn) close() {
	close(p.quit)
	<-p.wdone
	<-p.c.done
	p.tr.CloseIdleConnections()
}
