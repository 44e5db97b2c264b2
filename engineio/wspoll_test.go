package engineio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sio-go/socketio/internal/testutil"
)

// goroutineReaders makes newTestServer's servers read every WebSocket on a
// goroutine of its own, as on systems without a poller.
var goroutineReaders bool

// TestGoroutineReaders runs the WebSocket tests with goroutine readers.
func TestGoroutineReaders(t *testing.T) {
	goroutineReaders = true
	defer func() { goroutineReaders = false }()
	t.Run("WebSocket", TestWebSocket)
	t.Run("WebSocketBadInput", TestWebSocketBadInput)
	t.Run("Upgrade", TestUpgrade)
	t.Run("UpgradeAbort", TestUpgradeAbort)
	t.Run("Heartbeat", TestHeartbeat)
	t.Run("ServerClose", TestServerClose)
	t.Run("Shutdown", TestShutdown)
	t.Run("Fragments", TestWebSocketFragments)
	t.Run("Ping", TestWebSocketPing)
	t.Run("ClientClose", TestWebSocketClientClose)
	t.Run("LargeMessages", TestWebSocketLargeMessages)
	t.Run("MessageOrder", TestWebSocketMessageOrder)
	t.Run("SendNow", TestSendNow)
}

// TestPolledReaders checks that the tests above use the poller where there
// is one.
func TestPolledReaders(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("no poller on " + runtime.GOOS)
	}
	ts := newTestServer(t, nil, true)
	ts.dial(t, "")
	conn := ts.nextConn(t)
	conn.mu.Lock()
	ws := conn.ws
	conn.mu.Unlock()
	if _, ok := ws.(*pollWS); !ok {
		t.Fatalf("the WebSocket is a %T", ws)
	}
}

// sendRaw writes bytes to the server as they are, bypassing the client's
// frame writer.
func sendRaw(t *testing.T, ws *websocket.Conn, b []byte) {
	t.Helper()
	if _, err := ws.NetConn().Write(b); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// readClose reads until the server's close frame and returns its code.
func readClose(t *testing.T, ws *websocket.Conn) int {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := ws.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
	}
}

func TestWebSocketFragments(t *testing.T) {
	ts := newTestServer(t, nil, true)
	ws := ts.dial(t, "")
	readText(t, ws)
	sendRaw(t, ws, frames(
		clientFrame(opText, []byte("4hel"), false),
		clientFrame(opContinuation, []byte("lo "), false),
		clientFrame(finBit|opContinuation, []byte("world"), false),
		clientFrame(opBinary, []byte{1, 2}, false),
		clientFrame(finBit|opContinuation, []byte{3}, false),
	))
	if got := readText(t, ws); got != "4hello world" {
		t.Errorf("text %q", got)
	}
	if mt, b, err := ws.ReadMessage(); err != nil || mt != websocket.BinaryMessage || !bytes.Equal(b, []byte{1, 2, 3}) {
		t.Errorf("binary %v %v %v", mt, b, err)
	}
	// a frame arriving a few bytes at a time
	f := clientFrame(finBit|opText, []byte("4"+strings.Repeat("slow ", 40)), false)
	for i := 0; i < len(f); i += 7 {
		sendRaw(t, ws, f[i:min(i+7, len(f))])
		time.Sleep(time.Millisecond)
	}
	if got := readText(t, ws); got != "4"+strings.Repeat("slow ", 40) {
		t.Errorf("trickled message %q", got)
	}
}

func TestWebSocketPing(t *testing.T) {
	ts := newTestServer(t, nil, true)
	ws := ts.dial(t, "")
	readText(t, ws)
	pong := make(chan string, 1)
	ws.SetPongHandler(func(data string) error { pong <- data; return nil })
	if err := ws.WriteControl(websocket.PingMessage, []byte("hey"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	write(t, ws, "4after") // the pong comes first, then the echo
	if got := readText(t, ws); got != "4after" {
		t.Errorf("echo %q", got)
	}
	select {
	case got := <-pong:
		if got != "hey" {
			t.Errorf("pong %q", got)
		}
	default:
		t.Error("no pong")
	}
	// a pong from the client is ignored
	if err := ws.WriteControl(websocket.PongMessage, []byte("x"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	write(t, ws, "4still")
	if got := readText(t, ws); got != "4still" {
		t.Errorf("echo %q", got)
	}
}

func TestWebSocketClientClose(t *testing.T) {
	ts := newTestServer(t, nil, true)
	ws := ts.dial(t, "")
	readText(t, ws)
	if err := ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4001, "done"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if code := readClose(t, ws); code != 4001 {
		t.Errorf("close answered with %d", code)
	}
	ts.waitReason(t, ReasonTransportClose)

	// the connection dropped without a close frame
	ws = ts.dial(t, "")
	readText(t, ws)
	ws.NetConn().Close()
	deadline := time.Now().Add(5 * time.Second)
	for len(ts.closeReasons()) < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if r := ts.closeReasons(); len(r) != 2 || r[1] != ReasonTransportClose {
		t.Errorf("reasons %v", r)
	}
}

// TestWebSocketProtocolErrors checks the close code answering each
// violation of RFC 6455 and the reason the session ends with.
func TestWebSocketProtocolErrors(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the WebSocket library's reader answers differently")
	}
	tests := []struct {
		name string
		in   []byte
		code int
	}{
		{"unmasked", clientFrame(finBit|opText, []byte("4x"), true), websocket.CloseProtocolError},
		{"reserved bit", clientFrame(finBit|0x40|opText, []byte("4x"), false), websocket.CloseProtocolError},
		{"unknown opcode", clientFrame(finBit|0x5, []byte("4x"), false), websocket.CloseProtocolError},
		{"long ping", clientFrame(finBit|opPing, make([]byte, 126), false), websocket.CloseProtocolError},
		{"fragmented ping", clientFrame(opPing, nil, false), websocket.CloseProtocolError},
		{"lone continuation", clientFrame(finBit|opContinuation, []byte("4x"), false), websocket.CloseProtocolError},
		{"too big", clientFrame(finBit|opText, []byte("4"+strings.Repeat("x", 10)), false), websocket.CloseMessageTooBig},
		{"too big in fragments", frames(
			clientFrame(opBinary, make([]byte, 8), false),
			clientFrame(finBit|opContinuation, make([]byte, 8), false)), websocket.CloseMessageTooBig},
		{"invalid UTF-8", clientFrame(finBit|opText, []byte("4\xff\xfe"), false), websocket.CloseInvalidFramePayloadData},
		{"bad close code", clientFrame(finBit|opClose, []byte{0x03, 0xed}, false), websocket.CloseProtocolError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, &Config{MaxBufferSize: 10}, true)
			ws := ts.dial(t, "")
			readText(t, ws)
			sendRaw(t, ws, tt.in)
			if code := readClose(t, ws); code != tt.code {
				t.Errorf("closed with %d, want %d", code, tt.code)
			}
			ts.waitReason(t, ReasonTransportError)
		})
	}
}

func TestWebSocketLargeMessages(t *testing.T) {
	ts := newTestServer(t, &Config{MaxBufferSize: 1 << 20}, true)
	ws := ts.dial(t, "")
	readText(t, ws)
	for _, n := range []int{readBufSize - 20, readBufSize + 1, 3*readBufSize + 5, 1 << 20} {
		msg := make([]byte, n)
		for i := range msg {
			msg[i] = byte(i * 7)
		}
		if err := ws.WriteMessage(websocket.BinaryMessage, msg); err != nil {
			t.Fatal(err)
		}
		_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		mt, b, err := ws.ReadMessage()
		if err != nil || mt != websocket.BinaryMessage || !bytes.Equal(b, msg) {
			t.Fatalf("%d bytes: echo of %d bytes, %v", n, len(b), err)
		}
	}
}

// TestWebSocketMessageOrder sends many messages at once, some split across
// reads, and checks they arrive whole and in order.
func TestWebSocketMessageOrder(t *testing.T) {
	ts := newTestServer(t, nil, false)
	ws := ts.dial(t, "")
	readText(t, ws)
	conn := ts.nextConn(t)
	const n = 2000
	got := make(chan string, n)
	conn.OnMessage(func(data []byte, binary bool) { got <- string(data) })
	var all []byte
	for i := 0; i < n; i++ {
		all = append(all, clientFrame(finBit|opText, []byte(fmt.Sprintf("4message %d %s", i, strings.Repeat("x", i%300))), false)...)
	}
	for len(all) > 0 {
		k := min(len(all), 5000)
		sendRaw(t, ws, all[:k])
		all = all[k:]
	}
	for i := 0; i < n; i++ {
		select {
		case m := <-got:
			if want := fmt.Sprintf("message %d %s", i, strings.Repeat("x", i%300)); m != want {
				t.Fatalf("message %d: %.40q", i, m)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("received %d messages", i)
		}
	}
}

// TestWebSocketSlowHandler checks that a session whose message callback
// blocks does not hold up the others.
func TestWebSocketSlowHandler(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var slowGot []string
	ts := newTestServer(t, nil, false)
	slow := ts.dial(t, "")
	readText(t, slow)
	slowConn := ts.nextConn(t)
	slowConn.OnMessage(func(data []byte, binary bool) {
		<-release
		mu.Lock()
		slowGot = append(slowGot, string(data))
		mu.Unlock()
	})
	write(t, slow, "4first")
	write(t, slow, "4second")
	time.Sleep(20 * time.Millisecond)

	for i := 0; i < 5; i++ {
		ws := ts.dial(t, "")
		readText(t, ws)
		conn := ts.nextConn(t)
		conn.OnMessage(func(data []byte, binary bool) { _ = conn.Send(Message{Data: data}) })
		write(t, ws, "4fast")
		if got := readText(t, ws); got != "4fast" {
			t.Fatalf("echo %q", got)
		}
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(slowGot)
		mu.Unlock()
		if n == 2 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(slowGot, ",") != "first,second" {
		t.Errorf("slow session got %v", slowGot)
	}
}

// TestWebSocketIdleGoroutines checks that idle WebSocket sessions hold no
// goroutine where there is a poller, and that the poller holds none when
// there are no sessions.
func TestWebSocketIdleGoroutines(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("no poller on " + runtime.GOOS)
	}
	ts := newTestServer(t, nil, true)
	base := runtime.NumGoroutine()
	const n = 40
	var conns []*websocket.Conn
	for i := 0; i < n; i++ {
		ws := ts.dial(t, "")
		readText(t, ws)
		write(t, ws, "4hi")
		if got := readText(t, ws); got != "4hi" {
			t.Fatalf("echo %q", got)
		}
		conns = append(conns, ws)
	}
	// writers and workers linger a second, then exit; one goroutine waits
	// on the poller
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base+1 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > base+1 {
		t.Fatalf("%d goroutines for %d idle sessions", g-base, n)
	}
	for _, ws := range conns {
		write(t, ws, "4again")
		if got := readText(t, ws); got != "4again" {
			t.Fatalf("echo %q", got)
		}
	}
	// with no session left, no goroutine is left either
	for _, ws := range conns {
		ws.Close()
	}
	deadline = time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > base {
		t.Fatalf("%d goroutines left without sessions", g-base)
	}
	// and the next session is read again
	ws := ts.dial(t, "")
	readText(t, ws)
	write(t, ws, "4back")
	if got := readText(t, ws); got != "4back" {
		t.Fatalf("echo %q", got)
	}
}

// TestUpgradeAbort checks that a probe that fails leaves the session on
// polling, and that one that times out is closed.
func TestUpgradeAbort(t *testing.T) {
	ts := newTestServer(t, &Config{UpgradeTimeout: 200 * time.Millisecond}, true)
	sid := ts.handshake(t)
	conn := ts.nextConn(t)

	ws := ts.dial(t, "&sid="+sid)
	write(t, ws, "4not a probe")
	if _, _, err := ws.ReadMessage(); err == nil {
		t.Error("probe WebSocket stayed open after a bad packet")
	}
	ws = ts.dial(t, "&sid="+sid)
	write(t, ws, "2probe")
	if got := readText(t, ws); got != "3probe" {
		t.Fatalf("probe answer %q", got)
	}
	start := time.Now()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := ws.ReadMessage(); err == nil {
		t.Error("probe WebSocket stayed open past UpgradeTimeout")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("closed after %v", d)
	}
	if conn.Transport() != Polling || conn.Upgraded() {
		t.Errorf("transport %s", conn.Transport())
	}
	ts.post(t, sid, "4still polling")
	if res := ts.poll(t, sid); res.body != "4still polling" {
		t.Errorf("poll %q", res.body)
	}
	// a third attempt succeeds
	ws = ts.dial(t, "&sid="+sid)
	write(t, ws, "2probe")
	if got := readText(t, ws); got != "3probe" {
		t.Fatalf("probe answer %q", got)
	}
	write(t, ws, "5")
	write(t, ws, "4over ws")
	if got := readText(t, ws); got != "4over ws" {
		t.Errorf("echo %q", got)
	}
	if conn.Transport() != WebSocket {
		t.Errorf("transport %s", conn.Transport())
	}
}

// wrappedConn stands for a connection wrapper, which may transform or
// buffer the bytes of the descriptor it embeds.
type wrappedConn struct{ *net.TCPConn }

type wrappingListener struct{ net.Listener }

func (l wrappingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return wrappedConn{c.(*net.TCPConn)}, nil
}

// TestWrappedConnReadByLibrary checks that only plain connections are read
// through their descriptor.
func TestWrappedConnReadByLibrary(t *testing.T) {
	srv := NewServer(nil, func(c *Conn) {
		c.OnMessage(func(data []byte, binary bool) { _ = c.Send(Message{Data: data, Binary: binary}) })
	})
	hs := httptest.NewUnstartedServer(srv)
	hs.Listener = wrappingListener{hs.Listener}
	hs.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
	})
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http")+"/engine.io/?EIO=4&transport=websocket", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	readText(t, ws)
	srv.mu.Lock()
	var conn *Conn
	for _, c := range srv.sessions {
		conn = c
	}
	srv.mu.Unlock()
	conn.mu.Lock()
	_, polled := conn.ws.(*pollWS)
	conn.mu.Unlock()
	if polled {
		t.Error("a wrapped connection is read by the poller")
	}
	write(t, ws, "4over a wrapper")
	if got := readText(t, ws); got != "4over a wrapper" {
		t.Errorf("echo %q", got)
	}
}

// TestSendNow writes with SendNow while the client does not read, until
// the socket is full and the writer goroutine waits on it (writeNow's tail
// itself is checked by TestWriteNowPeerReset), then mixes SendNow and Send
// from several goroutines, and checks every message arrives whole, once,
// and in each sender's order.
func TestSendNow(t *testing.T) {
	ts := newTestServer(t, &Config{MaxQueueBytes: 256 << 20}, false)
	ws := ts.dial(t, "")
	readText(t, ws)
	conn := ts.nextConn(t)
	conn.mu.Lock()
	_, polled := conn.ws.(*pollWS)
	conn.mu.Unlock()

	payload := strings.Repeat("y", 2000)
	msg := func(g, i int) Message { return Message{Data: fmt.Appendf(nil, "%d %d %s", g, i, payload)} }
	const senders = 4
	sent := make([]int, senders)

	// Phase 1: sender 0 alone, SendNow only, the client not reading. Until
	// a write is cut short, no writer goroutine runs; the first tail starts
	// one, which then waits on the full socket.
	writerBusy := func() bool {
		conn.mu.Lock()
		defer conn.mu.Unlock()
		return conn.writing && !conn.writerIdle
	}
	limit := 50000
	if !polled {
		limit = 1000 // SendNow is Send there
	}
	for sent[0] < limit && (!polled || !writerBusy()) {
		if err := conn.SendNow(msg(0, sent[0])); err != nil {
			t.Fatal(err)
		}
		sent[0]++
	}
	if polled && !writerBusy() {
		t.Fatalf("%d messages written and none cut short by a full socket", sent[0])
	}

	// Phase 2: every sender, Send and SendNow mixed.
	const perSender = 2000
	total := sent[0] + senders*perSender
	var wg sync.WaitGroup
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perSender {
				m := msg(g, sent[g])
				var err error
				if sent[g]%3 == 0 {
					err = conn.Send(m)
				} else {
					err = conn.SendNow(m)
				}
				if err != nil {
					t.Errorf("sender %d, message %d: %v", g, sent[g], err)
					return
				}
				sent[g]++
			}
		}()
	}
	next := make([]int, senders)
	for n := 0; n < total; n++ {
		got := readText(t, ws)
		var g, i int
		if _, err := fmt.Sscanf(got, "4%d %d ", &g, &i); err != nil || g < 0 || g >= senders {
			t.Fatalf("message %d: %.40q", n, got)
		}
		if i != next[g] || !strings.HasSuffix(got, payload) {
			t.Fatalf("sender %d: got message %d (%d bytes), want %d", g, i, len(got), next[g])
		}
		next[g]++
	}
	wg.Wait()
}

// TestSendNowClosed checks SendNow after the session ended.
func TestSendNowClosed(t *testing.T) {
	ts := newTestServer(t, nil, false)
	ws := ts.dial(t, "")
	readText(t, ws)
	conn := ts.nextConn(t)
	if err := conn.SendNow(Message{Data: []byte("hello")}); err != nil {
		t.Fatal(err)
	}
	if got := readText(t, ws); got != "4hello" {
		t.Fatalf("got %q", got)
	}
	_ = conn.Close()
	ts.waitReason(t, ReasonForcedClose)
	if err := conn.SendNow(Message{Data: []byte("late")}); !errors.Is(err, ErrClosed) {
		t.Fatalf("SendNow after Close: %v, want ErrClosed", err)
	}
}

// TestWriteNowPeerReset checks writeNow on a connection the peer reset: it
// fails with the system call's error instead of blocking or keeping bytes,
// and once the socket is full it keeps the rest as a tail instead of waiting.
func TestWriteNowPeerReset(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("no poller on " + runtime.GOOS)
	}
	pair := func() (*pollWS, *net.TCPConn) { return tcpPollPair(t) }
	msg := []packet{{typ: packetMessage, data: bytes.Repeat([]byte("z"), 1000)}}

	// A client that does not read: the socket fills, the rest is kept.
	w, _ := pair()
	tail := false
	for i := 0; i < 100000 && !tail; i++ {
		var err error
		if tail, err = w.writeNow(msg); err != nil {
			t.Fatal(err)
		}
	}
	if !tail || len(w.tail) == 0 || len(w.tail) > len(msg[0].data)+8 {
		t.Fatalf("tail %v, %d bytes kept", tail, len(w.tail))
	}

	// A client that reset the connection: writes fail.
	w, client := pair()
	if err := client.SetLinger(0); err != nil {
		t.Fatal(err)
	}
	client.Close()
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		_, err = w.writeNow(msg)
		time.Sleep(time.Millisecond)
	}
	var se *os.SyscallError
	if !errors.As(err, &se) {
		t.Fatalf("writeNow after a reset: %v, want a system call error", err)
	}
	if len(w.tail) != 0 {
		t.Errorf("%d bytes kept after a failed write", len(w.tail))
	}
}

// tcpPollPair returns a pollWS on the server side of a loopback TCP
// connection, without a poller, and the client side.
func tcpPollPair(t *testing.T) (*pollWS, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close(); client.Close() })
	raw, err := nc.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	return &pollWS{nc: nc, raw: raw}, client.(*net.TCPConn)
}

// A write that has to wait ends at its deadline, and leaves no deadline
// behind: a later write, once the old deadline has passed, goes through.
func TestWriteDeadlineOnlyWhileWaiting(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("no poller on " + runtime.GOOS)
	}
	w, client := tcpPollPair(t)
	big := bytes.Repeat([]byte("y"), 8<<20) // more than both socket buffers hold
	start := time.Now()
	err := w.write(big, start.Add(100*time.Millisecond))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write to a client that does not read: %v, want a deadline error", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("write gave up after %v, before its deadline", d)
	}
	// Let the client read everything; the old deadline is in the past.
	go func() { _, _ = io.Copy(io.Discard, client) }()
	time.Sleep(20 * time.Millisecond)
	if err := w.write([]byte("after"), time.Now().Add(5*time.Second)); err != nil {
		t.Fatalf("write after a timed-out one: %v", err)
	}
	if err := w.write(big, time.Now().Add(5*time.Second)); err != nil {
		t.Fatalf("write that waits for a reading client: %v", err)
	}
}

// AfterRead hands work to the goroutine reading the session, run once it
// has stopped reading: the session's next messages are read meanwhile.
func TestAfterRead(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("no poller on " + runtime.GOOS)
	}
	ts := newTestServer(t, nil, false)
	ws := ts.dial(t, "")
	readText(t, ws)
	conn := ts.nextConn(t)
	if conn.AfterRead(func() { t.Error("ran a function AfterRead declined") }) {
		t.Fatal("AfterRead accepted a function outside a read")
	}
	unblock := make(chan struct{})
	got := make(chan string, 10)
	conn.OnMessage(func(data []byte, binary bool) {
		if string(data) != "block" {
			got <- string(data)
			return
		}
		if !conn.AfterRead(func() { <-unblock; got <- "after block" }) {
			got <- "declined"
		}
	})
	if err := ws.WriteMessage(websocket.TextMessage, []byte("4block")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // the first message is read on its own
	if err := ws.WriteMessage(websocket.TextMessage, []byte("4next")); err != nil {
		t.Fatal(err)
	}
	if s := testutil.Recv(t, got, 5*time.Second); s != "next" {
		t.Fatalf("got %q while the function after the first message blocks, want the next message", s)
	}
	close(unblock)
	if s := testutil.Recv(t, got, 5*time.Second); s != "after block" {
		t.Fatalf("got %q, want the function after the first message", s)
	}
}

// Send to sessions without a writer goroutine has the poller's flusher write
// their queues: every message arrives, and no writer is left behind. A
// queue with a large payload goes to a writer, and Close right after Send
// still delivers the message before closing.
func TestFlusher(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("no poller on " + runtime.GOOS)
	}
	ts := newTestServer(t, nil, false)
	const n = 20
	wss := make([]*websocket.Conn, n)
	conns := make([]*Conn, n)
	for i := range wss {
		wss[i] = ts.dial(t, "")
		readText(t, wss[i])
		conns[i] = ts.nextConn(t)
	}
	writing := func(c *Conn) bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.writing
	}
	// The handshake's writer ends once the open packet is out.
	for i, c := range conns {
		deadline := time.Now().Add(5 * time.Second)
		for writing(c) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if writing(c) {
			t.Fatalf("session %d: the handshake's writer still runs", i)
		}
	}
	for round := range 3 {
		for i, c := range conns {
			if err := c.Send(Message{Data: fmt.Appendf(nil, "r%d s%d", round, i)}); err != nil {
				t.Fatal(err)
			}
		}
		for i, ws := range wss {
			if got, want := readText(t, ws), fmt.Sprintf("4r%d s%d", round, i); got != want {
				t.Fatalf("session %d got %q, want %q", i, got, want)
			}
		}
	}
	for i, c := range conns {
		if writing(c) {
			t.Errorf("session %d has a writer goroutine", i)
		}
	}

	big := bytes.Repeat([]byte("b"), largePayload+1)
	if err := conns[0].Send(Message{Data: big}); err != nil {
		t.Fatal(err)
	}
	if got := readText(t, wss[0]); got != "4"+string(big) {
		t.Fatalf("large message: %d bytes, want %d", len(got), len(big)+1)
	}

	if err := conns[1].Send(Message{Data: []byte("last")}); err != nil {
		t.Fatal(err)
	}
	_ = conns[1].Close()
	if got := readText(t, wss[1]); got != "4last" {
		t.Fatalf("got %q before the close, want the message sent before it", got)
	}
	if code := readClose(t, wss[1]); code != websocket.CloseNormalClosure {
		t.Fatalf("close code %d", code)
	}
	ts.waitReason(t, ReasonForcedClose)
}
