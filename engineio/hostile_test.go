package engineio

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The hostile-client suite: healthy clients (canaries, over WebSocket and
// polling) receive a broadcast every few milliseconds while attack clients
// misbehave; no attack may delay a canary's delivery by more than
// canaryBound.

// canaryBound bounds the 99th percentile of a canary's wait for a
// broadcast, and canaryMax the longest wait: far above what it takes
// without attack (a few milliseconds with the race detector) and below
// what the attacks used to cost (a second and more per attacker). The
// maximum is looser: a test binary shares the machine's two cores with
// others.
const (
	canaryBound = 250 * time.Millisecond
	canaryMax   = time.Second
)

// attackFor is how long each attack runs.
const attackFor = 2 * time.Second

// rig broadcasts timestamped messages to every session of ts and records
// the canaries' delivery latencies.
type rig struct {
	t   *testing.T
	ts  *testServer
	pad string

	mu    sync.Mutex
	lats  []time.Duration
	conns []*Conn // the sessions opened so far
}

func newRig(t *testing.T, cfg *Config) *rig {
	if cfg == nil {
		cfg = &Config{}
	}
	r := &rig{t: t, ts: newTestServer(t, cfg, false), pad: strings.Repeat("x", 8<<10)}
	// The sessions are collected from the connect callback, once their
	// open packet is queued.
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		for {
			select {
			case c := <-r.ts.conns:
				r.mu.Lock()
				r.conns = append(r.conns, c)
				r.mu.Unlock()
			case <-stop:
				return
			}
		}
	}()
	return r
}

// broadcast sends a message to every session every 5ms until ctx ends.
// Each is stamped with the time it was due on that schedule, not the time
// it was sent: a broadcaster held back by one session makes every later
// delivery late.
func (r *rig) broadcast(ctx context.Context) {
	const period = 5 * time.Millisecond
	start := time.Now()
	t := time.NewTimer(period)
	defer t.Stop()
	for i := 1; ; i++ {
		due := start.Add(time.Duration(i) * period)
		t.Reset(time.Until(due))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		msg := Message{Data: []byte("t" + strconv.FormatInt(due.UnixNano(), 10) + ":" + r.pad)}
		r.mu.Lock()
		conns := slices.Clone(r.conns)
		r.mu.Unlock()
		for _, c := range conns {
			_ = c.Send(msg)
		}
	}
}

func (r *rig) record(msg string) {
	msg = strings.TrimPrefix(msg, "4")
	stamp, _, ok := strings.Cut(strings.TrimPrefix(msg, "t"), ":")
	if !ok {
		return
	}
	ns, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil {
		return
	}
	r.mu.Lock()
	r.lats = append(r.lats, time.Since(time.Unix(0, ns)))
	r.mu.Unlock()
}

// wsCanary reads a WebSocket session until ctx ends.
func (r *rig) wsCanary(ctx context.Context) {
	ws := r.ts.dial(r.t, "")
	readText(r.t, ws)
	go func() {
		<-ctx.Done()
		ws.Close()
	}()
	go func() {
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if string(b) == "2" {
				_ = ws.WriteMessage(websocket.TextMessage, []byte("3"))
				continue
			}
			r.record(string(b))
		}
	}()
}

// pollCanary polls a session until ctx ends.
func (r *rig) pollCanary(ctx context.Context) {
	sid := r.ts.handshake(r.t)
	go func() {
		for ctx.Err() == nil {
			req, _ := http.NewRequestWithContext(ctx, "GET", r.ts.url+"?EIO=4&transport=polling&sid="+sid, nil)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			for _, m := range strings.Split(string(b), "\x1e") {
				if m == "2" {
					go func() {
						req, _ := http.NewRequestWithContext(ctx, "POST", r.ts.url+"?EIO=4&transport=polling&sid="+sid, strings.NewReader("3"))
						if res, err := http.DefaultClient.Do(req); err == nil {
							res.Body.Close()
						}
					}()
					continue
				}
				r.record(m)
			}
		}
	}()
}

// run starts the canaries and the broadcast, runs attack for attackFor, and
// checks the canaries' latencies.
func (r *rig) run(attack func(ctx context.Context)) {
	t := r.t
	ctx, cancel := context.WithCancel(context.Background())
	r.wsCanary(ctx)
	r.wsCanary(ctx)
	r.pollCanary(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); r.broadcast(ctx) }()
	actx, acancel := context.WithTimeout(ctx, attackFor)
	go func() { defer wg.Done(); attack(actx) }()
	<-actx.Done()
	acancel()
	cancel()
	wg.Wait()
	r.mu.Lock()
	lats := slices.Clone(r.lats)
	r.mu.Unlock()
	// Every broadcast is due on a schedule: one held back past the attack
	// is never sent, which the count catches.
	if want := 3 * int(attackFor/(5*time.Millisecond)); len(lats) < want*8/10 {
		t.Fatalf("the canaries received %d of the %d broadcasts due", len(lats), want)
	}
	slices.Sort(lats)
	p50, p99, worst := lats[len(lats)/2], lats[len(lats)*99/100], lats[len(lats)-1]
	t.Logf("canary delivery over %d messages: p50 %v, p99 %v, max %v", len(lats), p50, p99, worst)
	if p99 > canaryBound || worst > canaryMax {
		t.Errorf("canary waits p99 %v, max %v; want at most %v and %v", p99, worst, canaryBound, canaryMax)
	}
}

// smallReadBuffer dials with a 4 KiB receive buffer, so that a client that
// does not read fills the server's socket soon.
var smallReadBuffer = &websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4 << 10)
	}
	return c, err
}}

func (r *rig) dialAttacker(ctx context.Context) *websocket.Conn {
	u := "ws" + strings.TrimPrefix(r.ts.url, "http") + "?EIO=4&transport=websocket"
	ws, _, err := smallReadBuffer.DialContext(ctx, u, nil)
	if err != nil {
		// A dial that the attack's end interrupts fails at its deadline,
		// sometimes before ctx reports it.
		var ne net.Error
		if ctx.Err() == nil && !(errors.As(err, &ne) && ne.Timeout()) {
			r.t.Errorf("attacker dial: %v", err)
		}
		return nil
	}
	context.AfterFunc(ctx, func() { ws.Close() })
	return ws
}

// serverConn returns the session of the client whose local address is
// addr.
func (r *rig) serverConn(addr net.Addr) *Conn {
	r.t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		for _, c := range r.ts.snapshot() {
			if c.RemoteAddr() == addr.String() {
				return c
			}
		}
	}
	r.t.Fatalf("no session from %v", addr)
	return nil
}

// TestHostileNeverReading: clients that never read fill their queues until
// the broadcast cuts them as slow consumers, while their writers are stuck
// in writes; cutting one never makes the broadcaster wait for its writer.
func TestHostileNeverReading(t *testing.T) {
	const limit = 256 << 10
	r := newRig(t, &Config{MaxQueueBytes: limit})
	r.run(func(ctx context.Context) {
		big := Message{Data: make([]byte, 64<<10)}
		var conns []*Conn
		for range 5 {
			ws := r.dialAttacker(ctx)
			if ws == nil {
				return
			}
			conns = append(conns, r.serverConn(ws.LocalAddr()))
		}
		// Fill the sockets, then the queues, up to where the next
		// broadcasts go over the bound: the broadcaster cuts them.
		for ctx.Err() == nil && len(r.ts.closeReasons()) == 0 {
			for _, c := range conns {
				c.mu.Lock()
				room := c.state == stateOpen && c.queueBytes+len(big.Data)+1 <= limit-(16<<10)
				c.mu.Unlock()
				if room {
					_ = c.Send(big)
				}
			}
			time.Sleep(time.Millisecond)
		}
		r.ts.waitReason(t, ReasonSlowConsumer)
		<-ctx.Done()
	})
}

// TestHostilePingFlood: clients that send pings as fast as they can and
// never read; the pongs they do not read must not hold anyone else's
// writes.
func TestHostilePingFlood(t *testing.T) {
	r := newRig(t, nil)
	// Small broadcasts: the attackers' sockets fill with pongs, not with
	// broadcasts, and the broadcasts reach them through the flushers.
	r.pad = "small"
	r.run(func(ctx context.Context) {
		var wg sync.WaitGroup
		for range 4 {
			ws := r.dialAttacker(ctx)
			if ws == nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				payload := []byte(strings.Repeat("p", 125))
				for i := 0; ctx.Err() == nil; i++ {
					if ws.WriteControl(websocket.PingMessage, payload, time.Now().Add(time.Second)) != nil {
						return
					}
					if i%50 == 0 {
						time.Sleep(2 * time.Millisecond) // a flood, not a CPU hog
					}
				}
			}()
		}
		wg.Wait()
	})
}

// rawWebSocket opens a WebSocket to the server over a raw TCP connection,
// for attacks that write frames byte by byte.
func (r *rig) rawWebSocket(ctx context.Context) net.Conn {
	c, err := net.Dial("tcp", strings.TrimPrefix(r.ts.http.URL, "http://"))
	if err != nil {
		r.t.Errorf("dial: %v", err)
		return nil
	}
	context.AfterFunc(ctx, func() { c.Close() })
	if ctx.Err() != nil {
		return nil
	}
	var key [16]byte
	_, _ = rand.Read(key[:])
	fmt.Fprintf(c, "GET %s?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", r.ts.cfg.Path, base64.StdEncoding.EncodeToString(key[:]))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
		if ctx.Err() == nil {
			r.t.Errorf("upgrade: %v %v", res, err)
		}
		return nil
	}
	return c
}

// TestHostileTrickledFrames: clients that send a frame one byte at a time.
func TestHostileTrickledFrames(t *testing.T) {
	r := newRig(t, nil)
	r.run(func(ctx context.Context) {
		var wg sync.WaitGroup
		for range 4 {
			c := r.rawWebSocket(ctx)
			if c == nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				// A masked text frame of 1,000 bytes, announced and then
				// trickled.
				frame := append([]byte{0x81, 0x80 | 126, 0x03, 0xe8, 1, 2, 3, 4}, make([]byte, 1000)...)
				for _, b := range frame {
					if ctx.Err() != nil || c.SetWriteDeadline(time.Now().Add(time.Second)) != nil {
						return
					}
					if _, err := c.Write([]byte{b}); err != nil {
						return
					}
					time.Sleep(5 * time.Millisecond)
				}
			}()
		}
		wg.Wait()
	})
}

// TestHostileHalfOpen: connections that send half a handshake request and
// stop, and handshakes whose response is never read.
func TestHostileHalfOpen(t *testing.T) {
	r := newRig(t, nil)
	r.run(func(ctx context.Context) {
		for range 50 {
			c, err := net.Dial("tcp", strings.TrimPrefix(r.ts.http.URL, "http://"))
			if err != nil {
				t.Errorf("dial: %v", err)
				return
			}
			context.AfterFunc(ctx, func() { c.Close() })
			fmt.Fprintf(c, "GET %s?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgr", r.ts.cfg.Path)
		}
		<-ctx.Done()
	})
}

// TestHostileSlowPost: polling clients that trickle the body of a POST.
func TestHostileSlowPost(t *testing.T) {
	r := newRig(t, nil)
	r.run(func(ctx context.Context) {
		var wg sync.WaitGroup
		for range 4 {
			sid := r.ts.handshake(t)
			c, err := net.Dial("tcp", strings.TrimPrefix(r.ts.http.URL, "http://"))
			if err != nil {
				t.Errorf("dial: %v", err)
				return
			}
			context.AfterFunc(ctx, func() { c.Close() })
			fmt.Fprintf(c, "POST %s?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n",
				r.ts.cfg.Path, sid)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					if _, err := c.Write([]byte("4")); err != nil {
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
			}()
		}
		wg.Wait()
	})
}

// TestHostileBadInput: oversized messages, malformed packets and frames,
// over both transports, as fast as the server refuses them.
func TestHostileBadInput(t *testing.T) {
	r := newRig(t, &Config{MaxBufferSize: 64 << 10})
	r.run(func(ctx context.Context) {
		big := strings.Repeat("x", 100<<10)
		for ctx.Err() == nil {
			if ws := r.dialAttacker(ctx); ws != nil {
				_ = ws.WriteMessage(websocket.TextMessage, []byte("4"+big))
				ws.Close()
			}
			if ws := r.dialAttacker(ctx); ws != nil {
				_ = ws.WriteMessage(websocket.TextMessage, []byte("\x00garbage"))
				ws.Close()
			}
			if c := r.rawWebSocket(ctx); c != nil {
				_, _ = c.Write([]byte{0x8f, 0x80, 0, 0, 0, 0}) // reserved opcode
				c.Close()
			}
			if ctx.Err() != nil {
				return
			}
			sid := r.ts.handshake(t)
			if res := r.ts.post(t, sid, "garbage\x1e"+big); res.status < 400 {
				t.Errorf("malformed POST answered %d", res.status)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// TestSlowPostDeadline checks that a POST body trickled slower than a
// heartbeat does not keep its connection: the server gives up reading it.
func TestSlowPostDeadline(t *testing.T) {
	ts := newTestServer(t, &Config{PingInterval: 100 * time.Millisecond, PingTimeout: 100 * time.Millisecond}, false)
	sid := ts.handshake(t)
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.http.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST %s?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n",
		ts.cfg.Path, sid)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if _, err := c.Write([]byte("4")); err != nil {
				return
			}
		}
	}()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("the server kept reading the trickled body: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400", res.StatusCode)
	}
}

// TestPingFloodHoldsNoOne: a client that sends pings and does not read
// fills its socket with pongs. Answering its pings must neither hold its
// own reader nor, through the lock on its socket, the flusher that writes
// other sessions' queues.
func TestPingFloodHoldsNoOne(t *testing.T) {
	if goroutineReaders {
		t.Skip("the poller's path")
	}
	ts := newTestServer(t, nil, false)
	got := make(chan string, 16)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &rig{t: t, ts: ts}

	attacker := r.dialAttacker(ctx)
	ac := r.serverConn(attacker.LocalAddr())
	ac.OnMessage(func(data []byte, _ bool) { got <- string(data) })
	canary := ts.dial(t, "")
	readText(t, canary)
	cc := r.serverConn(canary.LocalAddr())
	aw, ok1 := ac.ws.(*pollWS)
	cw, ok2 := cc.ws.(*pollWS)
	if !ok1 || !ok2 {
		t.Fatal("not read by the poller")
	}
	cw.fl = aw.fl // the same flusher writes both

	// Fill the attacker's socket as its unread pongs would.
	filler := make([]byte, 64<<10)
	for {
		n, err := writeNonblock(aw.raw, filler)
		if err != nil {
			t.Fatal(err)
		}
		if n < len(filler) {
			break
		}
	}
	// Pings, then a message: the reader reaches the message at once.
	for range 5 {
		if err := attacker.WriteControl(websocket.PingMessage, []byte("p"), time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	write(t, attacker, "4after pings")
	select {
	case m := <-got:
		if m != "after pings" {
			t.Fatalf("got %q", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the message after the pings was not read")
	}
	if d := time.Since(start); d > canaryBound {
		t.Errorf("the reader took %v to get past 5 pings", d)
	}
	// A broadcast through the shared flusher reaches the canary at once.
	for range 3 {
		start := time.Now()
		_ = ac.Send(Message{Data: []byte("x")})
		_ = cc.Send(Message{Data: []byte("to the canary")})
		if m := readText(t, canary); m != "4to the canary" {
			t.Fatalf("canary got %q", m)
		}
		if d := time.Since(start); d > canaryBound {
			t.Errorf("the canary waited %v behind the attacker", d)
		}
		_ = attacker.WriteControl(websocket.PingMessage, []byte("p"), time.Now().Add(time.Second))
	}
}

// TestBurstToReaders sends 10 MB at once to clients that all read, over WebSocket and polling: none of them is cut as a slow
// consumer, every message arrives.
func TestBurstToReaders(t *testing.T) {
	const msgs, size = 250, 40 << 10
	ts := newTestServer(t, nil, false)
	r := &rig{t: t, ts: ts}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	counts := make([]int, 8)
	for i := range 6 {
		ws := ts.dial(t, "")
		readText(t, ws)
		r.serverConn(ws.LocalAddr())
		wg.Add(1)
		go func() {
			defer wg.Done()
			for counts[i] < msgs {
				_ = ws.SetReadDeadline(time.Now().Add(20 * time.Second))
				_, b, err := ws.ReadMessage()
				if err != nil {
					return
				}
				if len(b) == size+1 {
					counts[i]++
				}
			}
		}()
	}
	for i := 6; i < 8; i++ {
		sid := ts.handshake(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for counts[i] < msgs && ctx.Err() == nil {
				res := ts.poll(t, sid)
				if res.status != 200 {
					return
				}
				for _, m := range strings.Split(res.body, "\x1e") {
					if len(m) == size+1 {
						counts[i]++
					}
				}
			}
		}()
	}
	for len(ts.snapshot()) < 8 {
		time.Sleep(time.Millisecond)
	}
	payload := Message{Data: []byte(strings.Repeat("b", size))}
	for range msgs {
		for _, c := range ts.snapshot() {
			if err := c.Send(payload); err != nil {
				t.Fatalf("Send: %v", err)
			}
		}
	}
	wg.Wait()
	if reasons := ts.closeReasons(); len(reasons) > 0 {
		t.Errorf("sessions closed: %v", reasons)
	}
	for i, n := range counts {
		if n != msgs {
			t.Errorf("client %d received %d of %d messages", i, n, msgs)
		}
	}
}

// TestSlowConsumerTimeout: a client that stops reading is cut once its
// queue has waited SlowConsumerTimeout, long before MaxQueueBytes.
func TestSlowConsumerTimeout(t *testing.T) {
	ts := newTestServer(t, &Config{SlowConsumerTimeout: 200 * time.Millisecond}, false)
	r := &rig{t: t, ts: ts}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := r.serverConn(r.dialAttacker(ctx).LocalAddr())
	msg := Message{Data: make([]byte, 64<<10)}
	sent := 0
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if err := c.Send(msg); err != nil {
			if !errors.Is(err, ErrSlowConsumer) {
				t.Fatalf("Send: %v", err)
			}
			t.Logf("cut after %d MiB were sent", sent>>20)
			ts.waitReason(t, ReasonSlowConsumer)
			if q := ts.QueuedBytes(); q != 0 {
				t.Errorf("QueuedBytes = %d after the cut, want 0", q)
			}
			return
		}
		sent += len(msg.Data)
	}
	t.Fatal("a client that does not read was not cut")
}

// TestMaxTotalQueueBytes: past the global bound, the backlogged sessions
// are cut; a client that reads is not.
func TestMaxTotalQueueBytes(t *testing.T) {
	ts := newTestServer(t, &Config{MaxTotalQueueBytes: 1 << 20}, false)
	r := &rig{t: t, ts: ts}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var slow []*Conn
	for range 3 {
		slow = append(slow, r.serverConn(r.dialAttacker(ctx).LocalAddr()))
	}
	reader := ts.dial(t, "")
	readText(t, reader)
	rc := r.serverConn(reader.LocalAddr())
	msg := Message{Data: make([]byte, 64<<10)}
	var cut int
	for i := 0; i < 2000 && cut < len(slow); i++ {
		cut = 0
		for _, c := range slow {
			if c.Send(msg) != nil {
				cut++
			}
		}
		if err := rc.Send(msg); err != nil {
			t.Fatalf("the reader was cut: %v", err)
		}
		if _, _, err := reader.ReadMessage(); err != nil {
			t.Fatal(err)
		}
	}
	if cut < len(slow) {
		t.Fatalf("%d of %d backlogged sessions cut", cut, len(slow))
	}
	if q := ts.QueuedBytes(); q != 0 {
		t.Errorf("QueuedBytes = %d after the cuts, want 0", q)
	}
}
