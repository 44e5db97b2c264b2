package interop

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/interop/internal/nodeproc"
)

const wait = nodeproc.DefaultTimeout

// exchange sends a mix of messages both ways over an echo server and checks
// that each side receives them once, in order.
func exchange(t *testing.T, s server, c *eioClient) session {
	t.Helper()
	sess := s.Next(t)
	r := rand.New(rand.NewPCG(1, 2))
	big := make([]byte, 100_000)
	for i := range big {
		big[i] = byte(r.IntN(256))
	}
	want := []msg{
		text("hello"),
		text("héllo wörld ✓ 😀"),
		text(`{"json":["with","quotes\"",1]}`),
		// "\x1e" separates polling payloads and the official client does not
		// escape it, so it cannot be part of a message.
		text("line\nbreak\ttab"),
		bin([]byte{0, 1, 2, 255}),
		text(strings.Repeat("x", 50_000)),
		bin(big),
		text("last"),
	}
	for _, m := range want {
		c.Send(t, m)
	}
	checkMsgs(t, "server", sess.Recv(t, len(want), wait), want)
	checkMsgs(t, "client (echo)", c.Recv(t, len(want), wait), want)

	pushed := []msg{text("from server"), bin([]byte("raw\x00bytes")), text("ü")}
	for _, m := range pushed {
		sess.Send(t, m)
	}
	checkMsgs(t, "client", c.Recv(t, len(pushed), wait), pushed)
	return sess
}

// checkTransport checks what our server reports about a session's transport.
func checkTransport(t *testing.T, sess session, want engineio.Transport, upgraded bool) {
	t.Helper()
	if gs, ok := sess.(*goSession); ok {
		if gs.c.Transport() != want || gs.c.Upgraded() != upgraded {
			t.Errorf("Transport() = %q, Upgraded() = %v; want %q, %v", gs.c.Transport(), gs.c.Upgraded(), want, upgraded)
		}
	}
}

func TestPollingOnly(t *testing.T) {
	forEachServer(t, srvOpts{Echo: true}, func(t *testing.T, s server) {
		c, open := dialEIO(t, s.URL(), nodeproc.M{"transports": []string{"polling"}})
		if tr := open.Str("transport"); tr != "polling" {
			t.Fatalf("transport %q, want polling", tr)
		}
		var upgrades []string
		open.Decode("upgrades", &upgrades)
		if !slices.Equal(upgrades, []string{"websocket"}) {
			t.Errorf("handshake upgrades %v, want [websocket]", upgrades)
		}
		if open.Int("pingInterval") != 25000 || open.Int("pingTimeout") != 20000 || open.Int("maxPayload") != 1e6 {
			t.Errorf("handshake %s, want pingInterval 25000, pingTimeout 20000, maxPayload 1000000", open)
		}
		if len(open.Str("sid")) != 20 {
			t.Errorf("sid %q, want 20 characters", open.Str("sid"))
		}
		checkTransport(t, exchange(t, s, c), engineio.Polling, false)
		waitCount(t, s, 1, wait)
		c.p.Call(nodeproc.M{"cmd": "close", "socket": sock})
		if r := c.WaitClose(t, wait).Str("reason"); r != "forced close" {
			t.Errorf("client close reason %q, want forced close", r)
		}
		waitCount(t, s, 0, wait)
	})
}

func TestWebSocketOnly(t *testing.T) {
	forEachServer(t, srvOpts{Echo: true}, func(t *testing.T, s server) {
		c, open := dialEIO(t, s.URL(), nodeproc.M{"transports": []string{"websocket"}})
		if tr := open.Str("transport"); tr != "websocket" {
			t.Fatalf("transport %q, want websocket", tr)
		}
		var upgrades []string
		if !open.Decode("upgrades", &upgrades) || len(upgrades) != 0 {
			t.Errorf("handshake upgrades %s, want []", open.Field("upgrades"))
		}
		checkTransport(t, exchange(t, s, c), engineio.WebSocket, false)
		c.p.Call(nodeproc.M{"cmd": "close", "socket": sock})
		c.WaitClose(t, wait)
		waitCount(t, s, 0, wait)
	})
}

// TestClientCloseReason checks the reason the server gives a session the
// client closed, on each transport.
func TestClientCloseReason(t *testing.T) {
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			forEachServer(t, srvOpts{}, func(t *testing.T, s server) {
				c, _ := dialEIO(t, s.URL(), nodeproc.M{"transports": []string{tr}})
				sess := s.Next(t)
				c.p.Call(nodeproc.M{"cmd": "close", "socket": sock})
				if r := sess.WaitClosed(t, wait); r != "transport close" {
					t.Errorf("server close reason %q, want transport close", r)
				}
				waitCount(t, s, 0, wait)
			})
		})
	}
}

// TestUpgradeUnderTraffic sends a stream of messages both ways while the
// client upgrades from polling to WebSocket; every message must arrive once
// and in order.
func TestUpgradeUnderTraffic(t *testing.T) {
	const n = 300
	const every = 3 * time.Millisecond
	forEachServer(t, srvOpts{}, func(t *testing.T, s server) {
		c := startEIO(t, s.URL(), nil)
		// The client starts sending before the handshake completes, so its
		// stream covers the whole upgrade.
		c.p.Send(nodeproc.M{"cmd": "sendMany", "socket": sock, "prefix": "c", "count": n, "intervalMs": every.Milliseconds()})
		sess := s.Next(t)
		sess.SendMany(t, "s", n, every)

		checkMsgs(t, "server", sess.Recv(t, n, 30*time.Second), numbered("c", n))
		checkMsgs(t, "client", c.Recv(t, n, 30*time.Second), numbered("s", n))
		c.p.Wait(nodeproc.Type("sent"))
		up := c.p.Wait(nodeproc.Type("upgrade"))
		if tr := up.Str("transport"); tr != "websocket" {
			t.Fatalf("upgraded to %q, want websocket", tr)
		}

		// The upgrade must have happened inside the client's receive stream,
		// or the test proved nothing about it.
		var before, after int
		upgraded := false
		for _, ev := range c.p.Events(nil) {
			switch ev.Type {
			case "upgrade":
				upgraded = true
			case "message":
				if upgraded {
					after++
				} else {
					before++
				}
			}
		}
		if before == 0 || after == 0 {
			t.Errorf("upgrade not under traffic: %d messages before it, %d after", before, after)
		}
		checkTransport(t, sess, engineio.WebSocket, true)
		// No message is duplicated after the counted ones.
		if extra, ok := c.p.Poll(200*time.Millisecond, nodeproc.Type("message")); ok {
			t.Errorf("client received an extra message: %s", extra)
		}
	})
}

// TestBinary sends binary messages of several sizes both ways on each
// transport, interleaved with text.
func TestBinary(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var want []msg
	for _, size := range []int{1, 2, 3, 125, 126, 127, 65535, 65536, 200_000} {
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		want = append(want, bin(b), text("after "+string(rune('a'+len(want)%26))))
	}
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			forEachServer(t, srvOpts{}, func(t *testing.T, s server) {
				c, _ := dialEIO(t, s.URL(), nodeproc.M{"transports": []string{tr}})
				sess := s.Next(t)
				for _, m := range want {
					c.Send(t, m)
					sess.Send(t, m)
				}
				checkMsgs(t, "server", sess.Recv(t, len(want), wait), want)
				checkMsgs(t, "client", c.Recv(t, len(want), wait), want)
			})
		})
	}
}

// TestMaxBufferSize sends messages whose encoding is exactly the limit and
// one byte over it. At the limit they arrive; over it the session ends.
func TestMaxBufferSize(t *testing.T) {
	const limit = 1000
	cases := []struct {
		name      string
		transport string
		m         msg
		fits      bool
	}{
		// a polling body and a WebSocket text frame carry the packet type
		// "4" before the text
		{"polling/text-at-limit", "polling", text(strings.Repeat("p", limit-1)), true},
		{"polling/text-over-limit", "polling", text(strings.Repeat("p", limit)), false},
		// binary over polling is "b" + base64: 747 bytes make 997 bytes
		{"polling/binary-under-limit", "polling", bin(bytes.Repeat([]byte{7}, 747)), true},
		{"polling/binary-over-limit", "polling", bin(bytes.Repeat([]byte{7}, 750)), false},
		{"websocket/text-at-limit", "websocket", text(strings.Repeat("w", limit-1)), true},
		{"websocket/text-over-limit", "websocket", text(strings.Repeat("w", limit)), false},
		// a WebSocket binary frame is the bare data
		{"websocket/binary-at-limit", "websocket", bin(bytes.Repeat([]byte{9}, limit)), true},
		{"websocket/binary-over-limit", "websocket", bin(bytes.Repeat([]byte{9}, limit+1)), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachServer(t, srvOpts{MaxBufferSize: limit}, func(t *testing.T, s server) {
				c, open := dialEIO(t, s.URL(), nodeproc.M{"transports": []string{tc.transport}})
				if got := open.Int("maxPayload"); got != limit {
					t.Errorf("handshake maxPayload %d, want %d", got, limit)
				}
				sess := s.Next(t)
				c.Send(t, tc.m)
				if tc.fits {
					checkMsgs(t, "server", sess.Recv(t, 1, wait), []msg{tc.m})
					c.Send(t, text("still open"))
					checkMsgs(t, "server", sess.Recv(t, 1, wait), []msg{text("still open")})
					return
				}
				reason := sess.WaitClosed(t, wait)
				cl := c.WaitClose(t, wait)
				t.Logf("server reason %q; client close %s", reason, cl)
				if reason != "transport error" {
					t.Errorf("server close reason %q, want transport error", reason)
				}
				// Over polling the POST gets 413 while the pending GET gets
				// the close packet; the client reports whichever comes first.
				if r := cl.Str("reason"); r != "transport close" && !(tc.transport == "polling" && r == "transport error") {
					t.Errorf("client close reason %q, want transport close", r)
				}
				waitCount(t, s, 0, wait)
			})
		})
	}
}

// TestServerClose closes the session on the server: the client must see
// the close at once, with the reason of a transport closed by the server.
func TestServerClose(t *testing.T) {
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			forEachServer(t, srvOpts{}, func(t *testing.T, s server) {
				c, _ := dialEIO(t, s.URL(), nodeproc.M{"transports": []string{tr}})
				sess := s.Next(t)
				sess.Send(t, text("bye"))
				sess.Close(t)
				if r := sess.WaitClosed(t, wait); r != "forced close" {
					t.Errorf("server close reason %q, want forced close", r)
				}
				checkMsgs(t, "client", c.Recv(t, 1, wait), []msg{text("bye")})
				cl := c.WaitClose(t, wait)
				if r := cl.Str("reason"); r != "transport close" {
					t.Errorf("client close reason %q, want transport close (%s)", r, cl)
				}
				waitCount(t, s, 0, wait)
			})
		})
	}
}

// TestHeartbeat checks that a responsive client stays connected across
// several ping intervals.
func TestHeartbeat(t *testing.T) {
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			forEachServer(t, srvOpts{PingInterval: 100 * time.Millisecond, PingTimeout: 1000 * time.Millisecond}, func(t *testing.T, s server) {
				c, open := dialEIO(t, s.URL(), nodeproc.M{"transports": []string{tr}})
				if open.Int("pingInterval") != 100 || open.Int("pingTimeout") != 1000 {
					t.Errorf("handshake %s, want pingInterval 100, pingTimeout 1000", open)
				}
				c.p.WaitN(5, wait, nodeproc.Type("ping"))
				if ev, closed := c.p.Poll(0, nodeproc.Type("close")); closed {
					t.Fatalf("client closed: %s", ev)
				}
				if n := s.ClientsCount(t); n != 1 {
					t.Fatalf("ClientsCount = %d, want 1", n)
				}
			})
		})
	}
}

// TestPingTimeout makes the client go silent, by no longer answering pings
// or by stopping its process, and expects the server to end the session with
// "ping timeout", forget it and (for our server) end its goroutines.
func TestPingTimeout(t *testing.T) {
	// generous enough for a loaded machine, where the client's own timer
	// (interval + timeout) must not expire before the first ping
	const interval, timeout = 300 * time.Millisecond, time.Second
	for _, how := range []string{"no-pong", "sigstop"} {
		for _, tr := range []string{"polling", "websocket"} {
			t.Run(how+"/"+tr, func(t *testing.T) {
				forEachServer(t, srvOpts{PingInterval: interval, PingTimeout: timeout}, func(t *testing.T, s server) {
					c, _ := dialEIO(t, s.URL(), nodeproc.M{"transports": []string{tr}})
					sess := s.Next(t)
					c.p.Wait(nodeproc.Type("ping")) // the heartbeat runs
					if how == "sigstop" {
						c.p.Signal(syscall.SIGSTOP)
						t.Cleanup(func() { c.p.Signal(syscall.SIGCONT) })
					} else {
						c.p.Call(nodeproc.M{"cmd": "pongs", "socket": sock, "enabled": false})
					}
					// at most one ping interval, the ping timeout and some slack
					if r := sess.WaitClosed(t, interval+timeout+2*time.Second); r != "ping timeout" {
						t.Errorf("server close reason %q, want ping timeout", r)
					}
					waitCount(t, s, 0, wait)
					if _, ok := s.(*goServer); ok {
						deadline := time.Now().Add(5 * time.Second)
						for len(engineioGoroutines()) > 0 {
							if time.Now().After(deadline) {
								t.Fatalf("engineio goroutines still running after the ping timeout:\n\n%s",
									strings.Join(engineioGoroutines(), "\n\n"))
							}
							time.Sleep(20 * time.Millisecond)
						}
					}
					if how == "no-pong" {
						cl := c.WaitClose(t, wait)
						t.Logf("client close: %s", cl)
					}
				})
			})
		}
	}
}
