package engineio

import (
	"strings"
	"sync"
	"testing"
	"time"
)

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
			ts := newTestServer(t, &Config{PingInterval: 30 * time.Millisecond, PingTimeout: 30 * time.Millisecond}, false)
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
			time.Sleep(300 * time.Millisecond)
			if m := got(); len(m) != 1 {
				t.Fatalf("read %q during the stall", m)
			}
			if r := ts.closeReasons(); len(r) > 0 {
				t.Fatalf("closed during the stall: %v", r)
			}
			close(release)
			waitFor(t, func() bool { return len(got()) == 2 })
			for range 3 {
				<-pings
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
	ts := newTestServer(t, &Config{PingInterval: 30 * time.Millisecond, PingTimeout: 30 * time.Millisecond}, false)
	sid := ts.handshake(t)
	conn := ts.nextConn(t)
	release := make(chan struct{})
	got := stallOn(conn, release)

	posted := make(chan response, 1)
	go func() { posted <- do(t, "POST", ts.url+"?EIO=4&transport=polling&sid="+sid, "4stall\x1e4after", nil) }()
	waitFor(t, func() bool { return len(got()) == 1 })
	// The client polls a ping; it cannot send its pong meanwhile. Several
	// ping periods pass.
	if res := ts.poll(t, sid); res.status != 200 || !strings.Contains(res.body, "2") {
		t.Fatalf("poll during the stall: %d %q", res.status, res.body)
	}
	time.Sleep(300 * time.Millisecond)
	select {
	case res := <-posted:
		t.Fatalf("POST answered during the stall: %d %q", res.status, res.body)
	default:
	}
	close(release)
	if res := <-posted; res.status != 200 || res.body != "ok" {
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
