package engineio

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// stallFor is how long the stall tests stall a session: several times
// PingInterval + PingTimeout.
const stallFor = time.Second

// stallOn makes conn stall on the message "stall" until release is closed,
// and records every message.
func stallOn(conn *Conn, release chan struct{}) (got func() []string) {
	var mu sync.Mutex
	var msgs []string
	conn.OnMessage(func(data []byte, binary bool) {
		mu.Lock()
		msgs = append(msgs, string(data))
		mu.Unlock()
		if string(data) == "stall" {
			conn.Stall(release)
		}
	})
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), msgs...)
	}
}

// TestStallWebSocket checks that a stalled session is not read, and that
// the pongs it does not read meanwhile do not time it out.
func TestStallWebSocket(t *testing.T) {
	for _, goroutines := range []bool{false, true} {
		name := "poller"
		if goroutines {
			name = "goroutine"
		}
		t.Run(name, func(t *testing.T) {
			goroutineReaders = goroutines
			defer func() { goroutineReaders = false }()
			ts := newTestServer(t, &Config{PingInterval: 50 * time.Millisecond, PingTimeout: 300 * time.Millisecond}, false)
			ws := ts.dial(t, "")
			readText(t, ws) // open
			conn := ts.nextConn(t)
			release := make(chan struct{})
			got := stallOn(conn, release)

			// The client answers every ping.
			var wmu sync.Mutex
			send := func(s string) error {
				wmu.Lock()
				defer wmu.Unlock()
				return ws.WriteMessage(1, []byte(s))
			}
			pings := make(chan struct{}, 100)
			go func() {
				for {
					_, b, err := ws.ReadMessage()
					if err != nil {
						return
					}
					if string(b) == "2" {
						pings <- struct{}{}
						if send("3") != nil {
							return
						}
					}
				}
			}()
			if send("4stall") != nil || send("4after") != nil {
				t.Fatal("write failed")
			}
			// The server pings, and does not read the pong: several ping
			// periods pass.
			select {
			case <-pings:
			case <-time.After(5 * time.Second):
				t.Fatal("no ping during the stall")
			}
			time.Sleep(stallFor)
			if m := got(); len(m) != 1 {
				t.Fatalf("read %q during the stall", m)
			}
			if r := ts.closeReasons(); len(r) > 0 {
				t.Fatalf("closed during the stall: %v", r)
			}
			close(release)
			waitFor(t, func() bool { return len(got()) == 2 })
			for range 3 {
				select {
				case <-pings:
				case <-time.After(5 * time.Second):
					t.Fatalf("no ping after the stall; closed: %v", ts.closeReasons())
				}
			}
			if r := ts.closeReasons(); len(r) > 0 {
				t.Fatalf("closed after the stall: %v", r)
			}
		})
	}
}

// TestStallPolling checks that a stalled POST is answered only once the
// stall ends, and that the session lives through it.
func TestStallPolling(t *testing.T) {
	ts := newTestServer(t, &Config{PingInterval: 50 * time.Millisecond, PingTimeout: 300 * time.Millisecond}, false)
	sid := ts.handshake(t)
	conn := ts.nextConn(t)
	release := make(chan struct{})
	got := stallOn(conn, release)

	posted := make(chan response, 1)
	defer func() {
		select {
		case <-release:
		default:
			close(release) // a failed check must not leave the POST stalled
		}
	}()
	go func() { posted <- do(t, "POST", ts.url+"?EIO=4&transport=polling&sid="+sid, "4stall\x1e4after", nil) }()
	waitFor(t, func() bool { return len(got()) == 1 })
	// The client polls a ping; it cannot send its pong meanwhile. Several
	// ping periods pass.
	if res := ts.poll(t, sid); res.status != 200 || !strings.Contains(res.body, "2") {
		t.Fatalf("poll during the stall: %d %q", res.status, res.body)
	}
	time.Sleep(stallFor)
	select {
	case res := <-posted:
		t.Fatalf("POST answered during the stall: %d %q", res.status, res.body)
	default:
	}
	close(release)
	var res response
	select {
	case res = <-posted:
	case <-time.After(10 * time.Second):
		t.Fatal("the POST was not answered after the stall")
	}
	if res.status != 200 || res.body != "ok" {
		t.Fatalf("POST: %d %q", res.status, res.body)
	}
	if m := got(); len(m) != 2 || m[1] != "after" {
		t.Fatalf("messages %q", m)
	}
	if res := ts.post(t, sid, "3"); res.status != 200 {
		t.Fatalf("pong: %d %q", res.status, res.body)
	}
	if r := ts.closeReasons(); len(r) > 0 {
		t.Fatalf("closed: %v", r)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestShutdownFlushes checks that what was sent right before Shutdown
// reaches the client, over WebSocket and over polling.
func TestShutdownFlushes(t *testing.T) {
	const n = 2000
	payload := strings.Repeat("x", 1000)
	t.Run("websocket", func(t *testing.T) {
		ts := newTestServer(t, nil, false)
		ws := ts.dial(t, "")
		readText(t, ws)
		conn := ts.nextConn(t)
		for i := range n {
			if err := conn.Send(Message{Data: []byte(strconv.Itoa(i) + payload)}); err != nil {
				t.Fatal(err)
			}
		}
		shut := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			shut <- ts.Shutdown(ctx)
		}()
		for i := range n {
			if m := readText(t, ws); m != "4"+strconv.Itoa(i)+payload {
				t.Fatalf("message %d: %.20q", i, m)
			}
		}
		if _, _, err := ws.ReadMessage(); err == nil {
			t.Fatal("WebSocket still open")
		}
		if err := <-shut; err != nil {
			t.Fatal(err)
		}
	})
	t.Run("polling", func(t *testing.T) {
		ts := newTestServer(t, nil, false)
		sid := ts.handshake(t)
		conn := ts.nextConn(t)
		for i := range n {
			if err := conn.Send(Message{Data: []byte(strconv.Itoa(i))}); err != nil {
				t.Fatal(err)
			}
		}
		shut := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			shut <- ts.Shutdown(ctx)
		}()
		// The client polls what was queued, then the close packet; or, if
		// Shutdown found it between two polls with nothing queued, an
		// unknown session.
		var got []string
		for {
			res := ts.poll(t, sid)
			if res.status == 400 && len(got) == n {
				break
			}
			if res.status != 200 {
				t.Fatalf("poll after %d messages: %d %q", len(got), res.status, res.body)
			}
			if res.body == "1" {
				break
			}
			got = append(got, strings.Split(res.body, "\x1e")...)
		}
		if len(got) != n || got[0] != "40" || got[n-1] != "4"+strconv.Itoa(n-1) {
			t.Fatalf("polled %d messages, want %d", len(got), n)
		}
		if err := <-shut; err != nil {
			t.Fatal(err)
		}
	})
	t.Run("idle polling", func(t *testing.T) {
		// With nothing queued and no poll pending, Shutdown does not wait
		// for the client.
		ts := newTestServer(t, nil, false)
		ts.handshake(t)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		if err := ts.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("Shutdown took %v", d)
		}
	})
}

// TestShutdownDeadline checks that a client that does not read cannot hold
// Shutdown past its context.
func TestShutdownDeadline(t *testing.T) {
	ts := newTestServer(t, nil, false)
	sid := ts.handshake(t)
	conn := ts.nextConn(t)
	_ = conn.Send(Message{Data: []byte("never polled")})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := ts.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
	if res := ts.poll(t, sid); res.status != 400 {
		t.Fatalf("poll after Shutdown: %d %q", res.status, res.body)
	}
}

// TestDrain checks that Drain refuses handshakes and closes the sessions
// over the spread given, after their queues.
func TestDrain(t *testing.T) {
	ts := newTestServer(t, nil, false)
	const n = 4
	wss := make([]*websocket.Conn, n)
	for i := range wss {
		wss[i] = ts.dial(t, "")
		readText(t, wss[i])
		_ = ts.nextConn(t).Send(Message{Data: []byte("bye")})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	drained := make(chan error, 1)
	start := time.Now()
	go func() { drained <- ts.Drain(ctx, 400*time.Millisecond) }()
	closedAt := make([]time.Duration, n)
	for i, ws := range wss {
		if m := readText(t, ws); m != "4bye" {
			t.Fatalf("got %q", m)
		}
		if _, _, err := ws.ReadMessage(); err == nil {
			t.Fatal("WebSocket still open")
		}
		closedAt[i] = time.Since(start)
	}
	if err := <-drained; err != nil {
		t.Fatal(err)
	}
	// The last close comes three quarters of the spread after the first.
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("drained in %v, want the closes spread over 400ms (%v)", d, closedAt)
	}
	res := do(t, "GET", ts.url+"?EIO=4&transport=polling", "", nil)
	if res.status != 503 {
		t.Fatalf("handshake during the drain: %d %q", res.status, res.body)
	}
}
