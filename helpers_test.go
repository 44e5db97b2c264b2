package socketio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/internal/testutil"
)

func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }

// ---- assertions ----

func equal[T any](t testing.TB, name string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s = %#v, want %#v", name, got, want)
	}
}

func noErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// waitFor polls cond until it holds or fails the test after 2s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// ---- fake engine connection ----

// fakeConn stands for an Engine.IO session: what the server sends is
// recorded, and the test injects what the client sends.
type fakeConn struct {
	id   string
	req  *http.Request
	c    *conn
	out  chan engineio.Message
	busy bool // SendVolatile drops

	mu     sync.Mutex
	closed bool
}

func (f *fakeConn) ID() string             { return f.id }
func (f *fakeConn) Request() *http.Request { return f.req }
func (f *fakeConn) RemoteAddr() string     { return "127.0.0.1" }

func (f *fakeConn) Send(msgs ...engineio.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return engineio.ErrClosed
	}
	for _, m := range msgs {
		select {
		case f.out <- m:
		default:
			return engineio.ErrSlowConsumer
		}
	}
	return nil
}

func (f *fakeConn) SendNow(msgs ...engineio.Message) error { return f.Send(msgs...) }

// AfterRead declines: the socket's queue starts a goroutine, as it does on
// transports the server's poller does not read.
func (f *fakeConn) AfterRead(func()) bool { return false }

// Stall blocks the sending test until ready is closed or the session ends.
func (f *fakeConn) Stall(ready <-chan struct{}) {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for !f.isClosed() {
		select {
		case <-ready:
			return
		case <-t.C:
		}
	}
}

func (f *fakeConn) SendVolatile(msgs ...engineio.Message) error {
	if f.busy {
		return engineio.ErrDropped
	}
	return f.Send(msgs...)
}

func (f *fakeConn) Close() error {
	f.mu.Lock()
	was := f.closed
	f.closed = true
	f.mu.Unlock()
	if !was && f.c != nil {
		f.c.onClose(engineio.ReasonForcedClose, nil)
	}
	return nil
}

func (f *fakeConn) isClosed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

// client is a raw Socket.IO client over a fakeConn. Packets are written as
// on the wire, with the Engine.IO "4" prefix: "40/chat,".
type client struct {
	t  testing.TB
	f  *fakeConn
	mu sync.Mutex // serializes onMessage like the engine's read loop
}

func newTestServer(t testing.TB, cfg *Config) *Server {
	t.Helper()
	srv := newServer(cfg)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, ErrServerClosed) {
			t.Errorf("shutdown: %v", err)
		}
	})
	return srv
}

var fakeIDs struct {
	sync.Mutex
	n int
}

func dial(t testing.TB, srv *Server) *client {
	t.Helper()
	fakeIDs.Lock()
	fakeIDs.n++
	id := fmt.Sprintf("eio%d", fakeIDs.n)
	fakeIDs.Unlock()
	req := httptest.NewRequest("GET", "/socket.io/?EIO=4&transport=websocket&x=1", nil)
	req.Header.Set("Origin", "http://example.com")
	f := &fakeConn{id: id, req: req, out: make(chan engineio.Message, 4096)}
	f.c = srv.accept(f)
	if f.c == nil {
		t.Fatal("server refused the connection")
	}
	return &client{t: t, f: f}
}

// send injects text packets written with the "4" prefix.
func (c *client) send(frames ...string) {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, fr := range frames {
		if !strings.HasPrefix(fr, "4") {
			c.t.Fatalf("frame %q is not an Engine.IO message", fr)
		}
		c.f.c.onMessage([]byte(fr[1:]), false)
	}
}

func (c *client) sendBinary(b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.f.c.onMessage(b, true)
}

// next returns the next message the server sent, text with its "4" prefix.
func (c *client) next() engineio.Message {
	c.t.Helper()
	select {
	case m := <-c.f.out:
		if !m.Binary {
			m.Data = append([]byte("4"), m.Data...)
		}
		return m
	case <-time.After(2 * time.Second):
		c.t.Fatal("timed out waiting for a packet")
		return engineio.Message{}
	}
}

func (c *client) expect(want string) {
	c.t.Helper()
	m := c.next()
	if m.Binary || string(m.Data) != want {
		c.t.Fatalf("got %q (binary %v), want %q", m.Data, m.Binary, want)
	}
}

func (c *client) expectPrefix(prefix string) string {
	c.t.Helper()
	m := c.next()
	if m.Binary || !strings.HasPrefix(string(m.Data), prefix) {
		c.t.Fatalf("got %q (binary %v), want prefix %q", m.Data, m.Binary, prefix)
	}
	return string(m.Data)
}

func (c *client) expectBinary(want []byte) {
	c.t.Helper()
	m := c.next()
	if !m.Binary || string(m.Data) != string(want) {
		c.t.Fatalf("got %q (binary %v), want binary %v", m.Data, m.Binary, want)
	}
}

// expectNothing fails if the server sends anything within d.
func (c *client) expectNothing(d time.Duration) {
	c.t.Helper()
	select {
	case m := <-c.f.out:
		c.t.Fatalf("unexpected packet %q", m.Data)
	case <-time.After(d):
	}
}

// connect joins nsp ("/" or "/chat") and returns the socket id.
func (c *client) connect(nsp string) string {
	c.t.Helper()
	prefix := "40"
	if nsp != "/" {
		prefix += nsp + ","
	}
	c.send(prefix)
	reply := c.expectPrefix(prefix + `{"sid":"`)
	return strings.TrimSuffix(strings.TrimPrefix(reply, prefix+`{"sid":"`), `"}`)
}

func (c *client) waitClosed() {
	c.t.Helper()
	waitFor(c.t, "connection closed", c.f.isClosed)
}

// connected returns a channel receiving each socket admitted to nsp.
func connected(n *Namespace) <-chan *Socket {
	ch := make(chan *Socket, 64)
	n.OnConnect(func(s *Socket) { ch <- s })
	return ch
}

func recv[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	return testutil.Recv(t, ch, 2*time.Second)
}

func mustData[T any](t *testing.T, d Data) T {
	t.Helper()
	v, err := DataAs[T](d)
	noErr(t, err)
	return v
}
