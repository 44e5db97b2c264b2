// Package siotest is a minimal Socket.IO v5 client over Engine.IO v4 for the
// tests of the examples and of the metrics module: main namespace only, JSON
// events, acknowledgements and heartbeats, on a WebSocket opened directly or upgraded from long-polling.
package siotest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Event is an event received from the server.
type Event struct {
	Name string
	Args []json.RawMessage
}

// Client is a connection to the main namespace of a Socket.IO server.
type Client struct {
	ws     *websocket.Conn
	wmu    sync.Mutex
	events chan Event
	done   chan struct{}
	// SID is the Socket.IO socket id the server gave.
	SID string

	mu     sync.Mutex
	nextID int
	acks   map[int]chan []json.RawMessage
}

// Options tells how to connect.
type Options struct {
	// Path is the server's path, "/socket.io/" when empty.
	Path string
	// Upgrade opens the session with long-polling and upgrades it to
	// WebSocket, as browsers do; otherwise the WebSocket is opened directly.
	Upgrade bool
	// Auth is sent in the CONNECT packet when not nil.
	Auth any
}

// Dial connects to the server at base (such as "http://127.0.0.1:8080")
// and joins the main namespace.
func Dial(ctx context.Context, base string, opts *Options) (*Client, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Path == "" {
		o.Path = "/socket.io/"
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	u.Path = o.Path
	q := url.Values{"EIO": {"4"}}
	var ws *websocket.Conn
	if o.Upgrade {
		q.Set("transport", "polling")
		u.RawQuery = q.Encode()
		body, err := httpDo(ctx, "GET", u.String(), nil)
		if err != nil {
			return nil, err
		}
		sid, err := openSID(body)
		if err != nil {
			return nil, err
		}
		q.Set("transport", "websocket")
		q.Set("sid", sid)
		ws, err = dialWS(ctx, u, q)
		if err != nil {
			return nil, err
		}
		if err := ws.WriteMessage(websocket.TextMessage, []byte("2probe")); err != nil {
			ws.Close()
			return nil, err
		}
		if _, msg, err := ws.ReadMessage(); err != nil || string(msg) != "3probe" {
			ws.Close()
			return nil, fmt.Errorf("siotest: probe answered %q, %v", msg, err)
		}
		if err := ws.WriteMessage(websocket.TextMessage, []byte("5")); err != nil {
			ws.Close()
			return nil, err
		}
	} else {
		q.Set("transport", "websocket")
		ws, err = dialWS(ctx, u, q)
		if err != nil {
			return nil, err
		}
		_, msg, err := ws.ReadMessage()
		if err == nil {
			_, err = openSID(msg)
		}
		if err != nil {
			ws.Close()
			return nil, err
		}
	}
	connect := "40"
	if o.Auth != nil {
		b, err := json.Marshal(o.Auth)
		if err != nil {
			ws.Close()
			return nil, err
		}
		connect += string(b)
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte(connect)); err != nil {
		ws.Close()
		return nil, err
	}
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			ws.Close()
			return nil, err
		}
		s := string(msg)
		if s == "2" {
			_ = ws.WriteMessage(websocket.TextMessage, []byte("3"))
			continue
		}
		if s == "6" { // noop sent to close a pending poll
			continue
		}
		if strings.HasPrefix(s, "44") {
			ws.Close()
			return nil, fmt.Errorf("siotest: connection refused: %s", s[2:])
		}
		if !strings.HasPrefix(s, "40") {
			ws.Close()
			return nil, fmt.Errorf("siotest: unexpected packet %q before CONNECT", s)
		}
		var reply struct{ SID string }
		if err := json.Unmarshal(msg[2:], &reply); err != nil {
			ws.Close()
			return nil, err
		}
		c := &Client{ws: ws, SID: reply.SID, events: make(chan Event, 256),
			done: make(chan struct{}), acks: map[int]chan []json.RawMessage{}}
		go c.read()
		return c, nil
	}
}

func dialWS(ctx context.Context, u *url.URL, q url.Values) (*websocket.Conn, error) {
	wu := *u
	wu.Scheme = strings.Replace(wu.Scheme, "http", "ws", 1)
	wu.RawQuery = q.Encode()
	ws, resp, err := websocket.DefaultDialer.DialContext(ctx, wu.String(), nil)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	return ws, err
}

// httpClient keeps no idle connection, so that none outlives a test.
var httpClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

func httpDo(ctx context.Context, method, target string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("siotest: %s %s: %s %s", method, target, resp.Status, b)
	}
	return b, err
}

func openSID(b []byte) (string, error) {
	if len(b) == 0 || b[0] != '0' {
		return "", fmt.Errorf("siotest: expected an OPEN packet, got %q", b)
	}
	var open struct{ SID string }
	if err := json.Unmarshal(b[1:], &open); err != nil {
		return "", err
	}
	return open.SID, nil
}

func (c *Client) write(s string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.WriteMessage(websocket.TextMessage, []byte(s))
}

func (c *Client) read() {
	defer close(c.done)
	defer close(c.events)
	for {
		_, msg, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		s := string(msg)
		switch {
		case s == "2":
			_ = c.write("3")
		case strings.HasPrefix(s, "42"):
			id, data := splitID(s[2:])
			var arr []json.RawMessage
			if json.Unmarshal([]byte(data), &arr) != nil || len(arr) == 0 {
				continue
			}
			var name string
			_ = json.Unmarshal(arr[0], &name)
			if id >= 0 {
				_ = c.write("43" + strconv.Itoa(id) + "[]")
			}
			select {
			case c.events <- Event{Name: name, Args: arr[1:]}:
			default: // nobody reads: dropped
			}
		case strings.HasPrefix(s, "43"):
			id, data := splitID(s[2:])
			var arr []json.RawMessage
			_ = json.Unmarshal([]byte(data), &arr)
			c.mu.Lock()
			ch := c.acks[id]
			delete(c.acks, id)
			c.mu.Unlock()
			if ch != nil {
				ch <- arr
			}
		}
	}
}

// splitID splits "12[...]" into 12 and "[...]"; id is -1 when absent.
func splitID(s string) (int, string) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return -1, s
	}
	id, _ := strconv.Atoi(s[:i])
	return id, s[i:]
}

func eventJSON(ev string, args []any) (string, error) {
	b, err := json.Marshal(append([]any{ev}, args...))
	return string(b), err
}

// Emit sends an event.
func (c *Client) Emit(ev string, args ...any) error {
	s, err := eventJSON(ev, args)
	if err != nil {
		return err
	}
	return c.write("42" + s)
}

// EmitWithAck sends an event and waits for its acknowledgement's arguments.
func (c *Client) EmitWithAck(ctx context.Context, ev string, args ...any) ([]json.RawMessage, error) {
	s, err := eventJSON(ev, args)
	if err != nil {
		return nil, err
	}
	ch := make(chan []json.RawMessage, 1)
	c.mu.Lock()
	id := c.nextID
	c.nextID++
	c.acks[id] = ch
	c.mu.Unlock()
	if err := c.write("42" + strconv.Itoa(id) + s); err != nil {
		return nil, err
	}
	select {
	case a := <-ch:
		return a, nil
	case <-c.done:
		return nil, errors.New("siotest: connection closed")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Call sends an event and decodes the first argument of its acknowledgement
// into out.
func (c *Client) Call(ctx context.Context, out any, ev string, args ...any) error {
	a, err := c.EmitWithAck(ctx, ev, args...)
	if err != nil {
		return err
	}
	if len(a) == 0 {
		return nil
	}
	return json.Unmarshal(a[0], out)
}

// Next returns the next event named name, skipping others, or an error when
// ctx ends or the connection closes first.
func (c *Client) Next(ctx context.Context, name string) (Event, error) {
	for {
		select {
		case ev, ok := <-c.events:
			if !ok {
				return Event{}, errors.New("siotest: connection closed")
			}
			if ev.Name == name {
				return ev, nil
			}
		case <-ctx.Done():
			return Event{}, fmt.Errorf("siotest: waiting for %q: %w", name, ctx.Err())
		}
	}
}

// Close closes the connection and waits for its reader to end.
func (c *Client) Close() error {
	c.wmu.Lock()
	_ = c.ws.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.wmu.Unlock()
	err := c.ws.Close()
	<-c.done
	return err
}
