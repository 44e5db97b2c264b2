package socketio

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sio-go/socketio/engineio"
)

// liveServer serves srv over HTTP for the test.
func liveServer(t *testing.T, cfg *Config) (*Server, *httptest.Server) {
	t.Helper()
	srv := NewServer(cfg)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		hs.Close()
	})
	return srv, hs
}

// wsClient speaks raw Engine.IO/Socket.IO over a WebSocket and answers pings.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
}

func dialWS(t *testing.T, hs *httptest.Server) *wsClient {
	t.Helper()
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
	conn, _, err := websocket.DefaultDialer.Dial(url, nil)
	noErr(t, err)
	t.Cleanup(func() { conn.Close() })
	c := &wsClient{t: t, conn: conn}
	open := c.read()
	if !strings.HasPrefix(string(open.Data), `0{"sid":"`) {
		t.Fatalf("open packet %q", open.Data)
	}
	return c
}

// joinWS dials and joins the main namespace.
func joinWS(t *testing.T, hs *httptest.Server) *wsClient {
	t.Helper()
	c := dialWS(t, hs)
	c.write("40")
	c.expectPrefix(`40{"sid":"`)
	return c
}

func (c *wsClient) write(frame string) {
	c.t.Helper()
	noErr(c.t, c.conn.WriteMessage(websocket.TextMessage, []byte(frame)))
}

func (c *wsClient) writeBinary(b []byte) {
	c.t.Helper()
	noErr(c.t, c.conn.WriteMessage(websocket.BinaryMessage, b))
}

// read returns the next frame that is not a ping.
func (c *wsClient) read() engineio.Message {
	c.t.Helper()
	for {
		_ = c.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		typ, b, err := c.conn.ReadMessage()
		noErr(c.t, err)
		if typ == websocket.TextMessage && string(b) == "2" {
			c.write("3")
			continue
		}
		return engineio.Message{Data: b, Binary: typ == websocket.BinaryMessage}
	}
}

func (c *wsClient) expect(want string) {
	c.t.Helper()
	if m := c.read(); m.Binary || string(m.Data) != want {
		c.t.Fatalf("got %q (binary %v), want %q", m.Data, m.Binary, want)
	}
}

func (c *wsClient) expectPrefix(prefix string) string {
	c.t.Helper()
	m := c.read()
	if m.Binary || !strings.HasPrefix(string(m.Data), prefix) {
		c.t.Fatalf("got %q (binary %v), want prefix %q", m.Data, m.Binary, prefix)
	}
	return string(m.Data)
}

func (c *wsClient) expectClosed() {
	c.t.Helper()
	for {
		_ = c.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		_, _, err := c.conn.ReadMessage()
		if err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				c.t.Fatal("connection still open")
			}
			return
		}
	}
}

func TestLiveWebSocket(t *testing.T) {
	srv, hs := liveServer(t, &Config{Engine: engineio.Config{PingInterval: 50 * time.Millisecond}})
	srv.OnConnect(func(s *Socket) {
		s.Join("all")
		OnAck(s, "echo", func(ctx context.Context, v any) (any, error) { return v, nil })
		s.OnRaw("bin", func(ctx context.Context, args Args, ack AckFunc) {
			_ = ack(args.Values()...)
		})
	})
	a := joinWS(t, hs)
	b := joinWS(t, hs)

	a.write(`421["echo",{"x":[1,2]}]`)
	a.expect(`431[{"x":[1,2]}]`)

	a.write(`451-2["bin",{"_placeholder":true,"num":0}]`)
	a.writeBinary([]byte{1, 2, 3})
	a.expect(`461-2[{"_placeholder":true,"num":0}]`)
	if m := a.read(); !m.Binary || string(m.Data) != "\x01\x02\x03" {
		t.Fatalf("attachment %v", m)
	}

	// Survives several heartbeats, then broadcasts reach both.
	time.Sleep(200 * time.Millisecond)
	noErr(t, srv.To("all").Emit(context.Background(), "news", "x"))
	a.expect(`42["news","x"]`)
	b.expect(`42["news","x"]`)

	// A protocol error closes only the offender.
	a.write("4abc")
	a.expectClosed()
	noErr(t, srv.To("all").Emit(context.Background(), "news", "y"))
	b.expect(`42["news","y"]`)
}

// pollClient speaks raw Engine.IO/Socket.IO over HTTP long-polling.
type pollClient struct {
	t   *testing.T
	url string
}

func dialPolling(t *testing.T, hs *httptest.Server) *pollClient {
	t.Helper()
	base := hs.URL + "/socket.io/?EIO=4&transport=polling"
	body := httpDo(t, "GET", base, "")
	if !strings.HasPrefix(body, `0{"sid":"`) {
		t.Fatalf("handshake %q", body)
	}
	sid := strings.SplitN(strings.TrimPrefix(body, `0{"sid":"`), `"`, 2)[0]
	return &pollClient{t: t, url: base + "&sid=" + sid}
}

func httpDo(t *testing.T, method, url, body string) string {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	noErr(t, err)
	res, err := http.DefaultClient.Do(req)
	noErr(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	noErr(t, err)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s: status %d: %s", method, res.StatusCode, b)
	}
	return string(b)
}

func (c *pollClient) post(packets ...string) {
	c.t.Helper()
	if got := httpDo(c.t, "POST", c.url, strings.Join(packets, "\x1e")); got != "ok" {
		c.t.Fatalf("POST answered %q", got)
	}
}

func (c *pollClient) get() []string {
	c.t.Helper()
	return strings.Split(httpDo(c.t, "GET", c.url, ""), "\x1e")
}

func TestLivePolling(t *testing.T) {
	srv, hs := liveServer(t, nil)
	srv.OnConnect(func(s *Socket) {
		OnAck(s, "sum", func(ctx context.Context, xs []int) (int, error) { return xs[0] + xs[1], nil })
		s.OnRaw("bin", func(ctx context.Context, args Args, ack AckFunc) {
			_ = s.Emit("bin-back", args.Values()...)
		})
	})
	c := dialPolling(t, hs)
	c.post("40")
	got := c.get()
	if len(got) != 1 || !strings.HasPrefix(got[0], `40{"sid":"`) {
		t.Fatalf("connect reply %q", got)
	}
	c.post(`423["sum",[2,3]]`)
	equal(t, "ack", c.get(), []string{`433[5]`})

	c.post(`451-["bin",{"_placeholder":true,"num":0}]`, "b"+base64.StdEncoding.EncodeToString([]byte{7, 8}))
	equal(t, "binary", c.get(), []string{
		`451-["bin-back",{"_placeholder":true,"num":0}]`,
		"b" + base64.StdEncoding.EncodeToString([]byte{7, 8}),
	})
}

func TestLiveSlowConsumer(t *testing.T) {
	srv, hs := liveServer(t, &Config{Engine: engineio.Config{MaxQueueBytes: 4096}})
	sockets := connected(srv.Of("/"))
	disc := make(chan DisconnectReason, 1)
	srv.OnConnect(func(s *Socket) {
		s.OnDisconnect(func(ev DisconnectEvent) { disc <- ev.Reason })
	})
	c := dialPolling(t, hs)
	c.post("40")
	c.get()
	s := recv(t, sockets)
	big := strings.Repeat("x", 1000)
	var err error
	for range 10 { // nobody polls: the queue fills
		if err = s.Emit("big", big); err != nil {
			break
		}
	}
	if !errors.Is(err, engineio.ErrSlowConsumer) {
		t.Fatalf("err = %v, want ErrSlowConsumer", err)
	}
	equal(t, "reason", recv(t, disc), ReasonSlowConsumer)
}

func TestLiveShutdown(t *testing.T) {
	srv := NewServer(nil)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	disc := make(chan DisconnectReason, 1)
	srv.OnConnect(func(s *Socket) {
		s.OnDisconnect(func(ev DisconnectEvent) { disc <- ev.Reason })
	})
	c := joinWS(t, hs)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	noErr(t, srv.Shutdown(ctx))
	equal(t, "reason", recv(t, disc), ReasonServerShuttingDown)
	c.expectClosed()
}

// On Linux a socket's queue runs on the goroutine that read its message,
// once that goroutine has stopped reading the connection. A handler may
// still wait for its own client, and one socket's blocked handler holds
// neither its later events out of order nor the other sockets.
func TestLiveBlockingHandlers(t *testing.T) {
	srv, hs := liveServer(t, nil)
	release := make(chan struct{})
	srv.OnConnect(func(s *Socket) {
		s.OnRaw("ask", func(ctx context.Context, args Args, ack AckFunc) {
			ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			res, err := s.EmitWithAck(ctx, "question")
			if err != nil {
				_ = ack("error: " + err.Error())
				return
			}
			_ = ack(res.Values()...)
		})
		s.OnRaw("hold", func(ctx context.Context, args Args, ack AckFunc) {
			<-release
			_ = ack("held")
		})
		s.OnRaw("seq", func(ctx context.Context, args Args, ack AckFunc) {
			_ = ack(args.Values()...)
		})
	})
	a := joinWS(t, hs)
	b := joinWS(t, hs)

	// The handler waits for an answer that only a goroutine reading the
	// same connection can deliver.
	a.write(`421["ask"]`)
	a.expect(`420["question"]`)
	a.write(`430["answer"]`)
	a.expect(`431["answer"]`)

	// While a's handler is blocked, a's next events wait for it and b is
	// served.
	a.write(`422["hold"]`)
	for i := 3; i < 8; i++ {
		a.write(fmt.Sprintf(`42%d["seq",%d]`, i, i))
	}
	for i := range 5 {
		b.write(fmt.Sprintf(`42%d["seq","b%d"]`, i, i))
		b.expect(fmt.Sprintf(`43%d["b%d"]`, i, i))
	}
	close(release)
	a.expect(`432["held"]`)
	for i := 3; i < 8; i++ {
		a.expect(fmt.Sprintf(`43%d[%d]`, i, i))
	}
}
