package engineio

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// testServer runs a Server on a loopback httptest server.
type testServer struct {
	*Server
	http  *httptest.Server
	url   string // http://127.0.0.1:port/engine.io/
	conns chan *Conn

	mu     sync.Mutex
	closes []CloseReason
	errs   []*ConnectionError
}

// newTestServer starts a server; every session echoes what it receives
// unless echo is false.
func newTestServer(t testing.TB, cfg *Config, echo bool) *testServer {
	t.Helper()
	if cfg == nil {
		cfg = &Config{}
	}
	ts := &testServer{conns: make(chan *Conn, 100)}
	c := *cfg
	c.OnConnectionError = func(e *ConnectionError) {
		ts.mu.Lock()
		ts.errs = append(ts.errs, e)
		ts.mu.Unlock()
	}
	ts.Server = NewServer(&c, func(conn *Conn) {
		conn.OnMessage(func(data []byte, binary bool) {
			if echo {
				_ = conn.Send(Message{Data: data, Binary: binary})
			}
		})
		conn.OnClose(func(reason CloseReason, err error) {
			ts.mu.Lock()
			ts.closes = append(ts.closes, reason)
			ts.mu.Unlock()
		})
		ts.conns <- conn
	})
	ts.Server.noPoller = goroutineReaders
	ts.http = httptest.NewServer(ts.Server)
	ts.url = ts.http.URL + ts.Server.cfg.Path
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := ts.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		ts.http.Close()
	})
	return ts
}

func (ts *testServer) closeReasons() []CloseReason {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]CloseReason(nil), ts.closes...)
}

func (ts *testServer) connErrors() []*ConnectionError {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]*ConnectionError(nil), ts.errs...)
}

// waitReason waits until a session closed with reason.
func (ts *testServer) waitReason(t *testing.T, reason CloseReason) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, r := range ts.closeReasons() {
			if r == reason {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no session closed with %q; got %v", reason, ts.closeReasons())
}

func (ts *testServer) nextConn(t *testing.T) *Conn {
	t.Helper()
	select {
	case c := <-ts.conns:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no session opened")
		return nil
	}
}

type response struct {
	status int
	body   string
	header http.Header
}

func do(t *testing.T, method, url, body string, header http.Header) response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, body: string(b), header: res.Header}
}

// handshake opens a polling session and returns its id.
func (ts *testServer) handshake(t *testing.T) string {
	t.Helper()
	res := do(t, "GET", ts.url+"?EIO=4&transport=polling", "", nil)
	if res.status != 200 || !strings.HasPrefix(res.body, `0{"sid":"`) {
		t.Fatalf("handshake: %d %q", res.status, res.body)
	}
	sid := strings.TrimPrefix(res.body, `0{"sid":"`)
	return sid[:strings.IndexByte(sid, '"')]
}

func (ts *testServer) poll(t *testing.T, sid string) response {
	t.Helper()
	return do(t, "GET", ts.url+"?EIO=4&transport=polling&sid="+sid, "", nil)
}

func (ts *testServer) post(t *testing.T, sid, body string) response {
	t.Helper()
	return do(t, "POST", ts.url+"?EIO=4&transport=polling&sid="+sid, body, http.Header{"Content-Type": {"text/plain;charset=UTF-8"}})
}

func (ts *testServer) dial(t *testing.T, query string) *websocket.Conn {
	t.Helper()
	return ts.dialQuery(t, "?EIO=4&transport=websocket"+query)
}

// dialQuery opens a WebSocket to the server with the query given.
func (ts *testServer) dialQuery(t *testing.T, query string) *websocket.Conn {
	t.Helper()
	u := "ws" + strings.TrimPrefix(ts.url, "http") + query
	ws, _, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

func readText(t *testing.T, ws *websocket.Conn) string {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	mt, b, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if mt != websocket.TextMessage {
		t.Fatalf("got a binary frame %v, want text", b)
	}
	return string(b)
}

func write(t *testing.T, ws *websocket.Conn, s string) {
	t.Helper()
	if err := ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// noErr fails the test on a non-nil error.
func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// equal fails the test when got is not want.
func equal[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}
