package engineio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func dialT(t *testing.T, rawURL string, cfg *DialConfig) *ClientConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, rawURL, cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func readT(t *testing.T, c *ClientConn) Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return m
}

// readErr reads until the connection ends and returns the error.
func readErr(t *testing.T, c *ClientConn, within time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for {
		_, err := c.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("connection still open after %v", within)
			}
			return err
		}
	}
}

func waitTransport(t *testing.T, c *ClientConn, want Transport) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.Transport() != want {
		if time.Now().After(deadline) {
			t.Fatalf("transport %s, want %s", c.Transport(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestClientTransports(t *testing.T) {
	for _, tc := range []struct {
		name       string
		transports []Transport
		final      Transport
	}{
		{"polling", []Transport{Polling}, Polling},
		{"websocket", []Transport{WebSocket}, WebSocket},
		{"upgrade", nil, WebSocket},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, nil, true)
			c := dialT(t, ts.http.URL, &DialConfig{Transports: tc.transports})
			if c.ID() == "" {
				t.Fatal("no session id")
			}
			// Send while the upgrade may be under way: order must hold.
			const n = 200
			for i := range n {
				msg := Message{Data: []byte(fmt.Sprint(i))}
				if i%3 == 0 {
					msg = Message{Data: []byte{byte(i), 0xff}, Binary: true}
				}
				if err := c.Send(msg); err != nil {
					t.Fatalf("Send %d: %v", i, err)
				}
			}
			for i := range n {
				m := readT(t, c)
				want := Message{Data: []byte(fmt.Sprint(i))}
				if i%3 == 0 {
					want = Message{Data: []byte{byte(i), 0xff}, Binary: true}
				}
				if string(m.Data) != string(want.Data) || m.Binary != want.Binary {
					t.Fatalf("message %d: got %q binary=%v, want %q binary=%v", i, m.Data, m.Binary, want.Data, want.Binary)
				}
			}
			waitTransport(t, c, tc.final)
			sc := ts.nextConn(t)
			deadline := time.Now().Add(5 * time.Second)
			for sc.Transport() != tc.final {
				if time.Now().After(deadline) {
					t.Fatalf("server sees %s, want %s", sc.Transport(), tc.final)
				}
				time.Sleep(5 * time.Millisecond)
			}
			if err := c.Send(Message{Data: []byte("after")}); err != nil {
				t.Fatal(err)
			}
			if m := readT(t, c); string(m.Data) != "after" {
				t.Fatalf("got %q", m.Data)
			}
		})
	}
}

func TestClientSplitsPostsUnderMaxPayload(t *testing.T) {
	ts := newTestServer(t, &Config{MaxBufferSize: 500}, true)
	c := dialT(t, ts.http.URL, &DialConfig{Transports: []Transport{Polling}})
	if c.maxPayload != 500 {
		t.Fatalf("maxPayload %d", c.maxPayload)
	}
	payload := strings.Repeat("x", 90)
	msgs := make([]Message, 40)
	for i := range msgs {
		msgs[i] = Message{Data: []byte(payload)}
	}
	if err := c.Send(msgs...); err != nil {
		t.Fatal(err)
	}
	for range msgs {
		if m := readT(t, c); string(m.Data) != payload {
			t.Fatalf("got %q", m.Data)
		}
	}
	if len(ts.connErrors()) != 0 || len(ts.closeReasons()) != 0 {
		t.Fatalf("server refused: %v %v", ts.connErrors(), ts.closeReasons())
	}
}

func TestClientHeadersQueryCookies(t *testing.T) {
	var mu sync.Mutex
	var seen []*http.Request
	ts := newTestServer(t, &Config{
		Cookie: &Cookie{Name: "sticky"},
		AllowRequest: func(r *http.Request) error {
			if r.Header.Get("X-Token") != "secret" || r.URL.Query().Get("room") != "blue" {
				return errors.New("no token")
			}
			return nil
		},
	}, true)
	inner := ts.http.Config.Handler
	ts.http.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Clone(context.Background()))
		mu.Unlock()
		inner.ServeHTTP(w, r)
	})
	jar, _ := cookiejar.New(nil)
	c := dialT(t, ts.http.URL+"?room=blue", &DialConfig{
		Header: http.Header{"X-Token": {"secret"}},
		Query:  url.Values{"extra": {"1"}},
		Jar:    jar,
	})
	waitTransport(t, c, WebSocket)
	if err := c.Send(Message{Data: []byte("hi")}); err != nil {
		t.Fatal(err)
	}
	readT(t, c)
	u, _ := url.Parse(ts.http.URL)
	if cs := jar.Cookies(u); len(cs) != 1 || cs[0].Name != "sticky" || cs[0].Value != c.ID() {
		t.Fatalf("jar: %v", cs)
	}
	mu.Lock()
	reqs := append([]*http.Request(nil), seen...)
	mu.Unlock()
	if len(reqs) < 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	for i, r := range reqs[1:] {
		if ck, err := r.Cookie("sticky"); err != nil || ck.Value != c.ID() {
			t.Fatalf("request %d (%s %s) without the cookie", i+1, r.Method, r.URL)
		}
		if r.Header.Get("X-Token") != "secret" || r.URL.Query().Get("extra") != "1" || r.URL.Query().Get("room") != "blue" {
			t.Fatalf("request %d lacks header or query: %s", i+1, r.URL)
		}
	}

	// Refused handshake: the server's code and message.
	_, err := Dial(context.Background(), ts.http.URL, &DialConfig{})
	var he *HandshakeError
	if !errors.As(err, &he) || !errors.Is(err, ErrHandshake) || he.StatusCode != 403 || he.Code != ErrForbidden || he.Message != "no token" {
		t.Fatalf("got %v", err)
	}
	_, err = Dial(context.Background(), ts.http.URL, &DialConfig{Transports: []Transport{WebSocket}})
	if !errors.As(err, &he) || he.StatusCode != 400 || he.Transport != WebSocket {
		t.Fatalf("websocket: got %v", err)
	}
}

func TestClientHeartbeat(t *testing.T) {
	ts := newTestServer(t, &Config{PingInterval: 30 * time.Millisecond, PingTimeout: 100 * time.Millisecond}, true)
	for _, tr := range []Transport{Polling, WebSocket} {
		c := dialT(t, ts.http.URL, &DialConfig{Transports: []Transport{tr}})
		time.Sleep(300 * time.Millisecond) // many heartbeats: pongs flow
		if err := c.Send(Message{Data: []byte("alive")}); err != nil {
			t.Fatal(err)
		}
		if m := readT(t, c); string(m.Data) != "alive" {
			t.Fatalf("%s: got %q", tr, m.Data)
		}
		for _, r := range ts.closeReasons() {
			if r == ReasonPingTimeout {
				t.Fatalf("%s: server closed with %v", tr, r)
			}
		}
		c.Close()
	}
}

func TestClientServerCloses(t *testing.T) {
	for _, tr := range []Transport{Polling, WebSocket} {
		t.Run(string(tr), func(t *testing.T) {
			ts := newTestServer(t, nil, true)
			c := dialT(t, ts.http.URL, &DialConfig{Transports: []Transport{tr}})
			ts.nextConn(t).Close()
			err := readErr(t, c, 5*time.Second)
			var ce *CloseError
			if !errors.As(err, &ce) || ce.Reason != ReasonTransportClose {
				t.Fatalf("got %v", err)
			}
			if !errors.Is(c.Send(Message{}), ErrClosed) {
				t.Fatal("Send after close")
			}
		})
	}
}

func TestClientClose(t *testing.T) {
	for _, tr := range []Transport{Polling, WebSocket} {
		t.Run(string(tr), func(t *testing.T) {
			ts := newTestServer(t, nil, false)
			c := dialT(t, ts.http.URL, &DialConfig{Transports: []Transport{tr}})
			got := make(chan string, 1)
			conn := ts.nextConn(t)
			conn.OnMessage(func(data []byte, _ bool) { got <- string(data) })
			if err := c.Send(Message{Data: []byte("last words")}); err != nil {
				t.Fatal(err)
			}
			c.Close()
			select {
			case s := <-got:
				if s != "last words" {
					t.Fatalf("got %q", s)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("queued message not written before close")
			}
			ts.waitReason(t, ReasonTransportClose)
			_, err := c.Read(context.Background())
			var ce *CloseError
			if !errors.As(err, &ce) || ce.Reason != ReasonForcedClose || !errors.Is(err, ErrClosed) {
				t.Fatalf("got %v", err)
			}
		})
	}
}

func TestClientDialContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ts := newTestServer(t, nil, true)
	for _, tr := range []Transport{Polling, WebSocket} {
		if _, err := Dial(ctx, ts.http.URL, &DialConfig{Transports: []Transport{tr}}); !errors.Is(err, context.Canceled) {
			t.Fatalf("%s: got %v", tr, err)
		}
	}
	for _, bad := range []string{"ftp://x", "http://", "::"} {
		if _, err := Dial(context.Background(), bad, nil); err == nil {
			t.Fatalf("%q: no error", bad)
		}
	}
}

func TestClientQueueBound(t *testing.T) {
	ts := newTestServer(t, nil, true)
	c := dialT(t, ts.http.URL, &DialConfig{Transports: []Transport{WebSocket}, MaxQueueBytes: 64})
	if err := c.Send(Message{Data: make([]byte, 100)}); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("Send over the bound: %v, want ErrQueueFull", err)
	}
	// nothing was queued: the connection still works
	if err := c.Send(Message{Data: []byte("ok")}); err != nil {
		t.Fatal(err)
	}
	if m := readT(t, c); string(m.Data) != "ok" {
		t.Errorf("echo %q", m.Data)
	}
	_ = c.Close()
	if err := c.Send(Message{Data: []byte("late")}); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close: %v, want ErrClosed", err)
	}
}

// TestClientCloseAfterDrain: over polling, Close first writes what is
// queued, then sends the close packet in a POST of its own, as the official
// client does: a server that handles a payload's packets in one go (Node
// defers Socket.IO packets to the next tick) would otherwise close the
// session before it handled the packets in front of the close.
func TestClientCloseAfterDrain(t *testing.T) {
	var mu sync.Mutex
	var posts []string
	first := make(chan struct{})
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("sid") == "" {
			_, _ = w.Write([]byte(openPacket))
			return
		}
		if r.Method != http.MethodPost {
			<-r.Context().Done()
			return
		}
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		posts = append(posts, string(body))
		n := len(posts)
		mu.Unlock()
		if n == 1 {
			close(first)
			<-release
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	c := dialT(t, srv.URL, &DialConfig{Transports: []Transport{Polling}})
	if err := c.Send(Message{Data: []byte("a")}); err != nil {
		t.Fatal(err)
	}
	<-first // "a" is being written
	if err := c.Send(Message{Data: []byte("b")}); err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	waitConn(t, c, "Close to start", func() bool { return c.closing })
	close(release)
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"4a", "4b", "1"}; !slices.Equal(posts, want) {
		t.Fatalf("POST bodies %q, want %q", posts, want)
	}
}

// TestClientCloseDuringStalledUpgrade: a connection whose reader stopped
// reading cannot finish its upgrade (the poll waits for Read, the upgrade for
// the poll); Close gives the upgrade up and closes over polling at once.
func TestClientCloseDuringStalledUpgrade(t *testing.T) {
	ts := newTestServer(t, &Config{InitialPacket: []byte("unread")}, false)
	c := dialT(t, ts.url, nil) // polling, then the upgrade
	ts.nextConn(t)
	waitConn(t, c, "the upgrade to wait for the poll", func() bool { return c.upgrading && c.polling })
	start := time.Now()
	c.Close()
	if d := time.Since(start); d >= closeDrainTimeout/2 {
		t.Fatalf("Close took %v", d)
	}
	ts.waitReason(t, ReasonTransportClose)
	if c.Transport() != Polling {
		t.Fatalf("transport %s", c.Transport())
	}
}

// waitConn waits until cond, called with c.mu held, holds.
func waitConn(t *testing.T, c *ClientConn, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		ok := cond()
		c.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestClientConcurrentClose: Close from several goroutines at once; each
// returns once the connection's goroutines are gone.
func TestClientConcurrentClose(t *testing.T) {
	ts := newTestServer(t, nil, true)
	for range 20 {
		c := dialT(t, ts.url, &DialConfig{Transports: []Transport{Polling}})
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.Close()
				select {
				case <-c.Done():
				default:
					t.Error("Close returned before the connection ended")
				}
			}()
		}
		wg.Wait()
	}
}
