package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/internal/testutil"
	"github.com/sio-go/socketio/interop/internal/nodeproc"
)

// The scenarios below run against two Engine.IO servers: ours ("go") and
// the official Node.js one ("node"). The node runs prove the drivers and
// pin down what the official client observes; the go runs check that our
// server gives the client the same experience.

// msg is one Engine.IO message.
type msg struct {
	data   []byte
	binary bool
}

func (m msg) String() string {
	if m.binary {
		return fmt.Sprintf("bin(%d bytes)", len(m.data))
	}
	if len(m.data) > 60 {
		return fmt.Sprintf("%q...(%d bytes)", m.data[:60], len(m.data))
	}
	return fmt.Sprintf("%q", m.data)
}

func text(s string) msg     { return msg{data: []byte(s)} }
func bin(b []byte) msg      { return msg{data: b, binary: true} }
func sameMsg(a, b msg) bool { return a.binary == b.binary && string(a.data) == string(b.data) }

// srvOpts is the configuration both servers understand.
type srvOpts struct {
	PingInterval    time.Duration
	PingTimeout     time.Duration
	MaxBufferSize   int
	Transports      []string
	DisableUpgrades bool
	// PerMessageDeflate turns on WebSocket compression (threshold 1024).
	PerMessageDeflate bool
	InitialPacket     string
	// Echo sends every message back to its session.
	Echo bool
}

// server is an Engine.IO server under test.
type server interface {
	// URL is the base http://127.0.0.1:port URL; the path is the default.
	URL() string
	// Next waits for the next new session.
	Next(t testing.TB) session
	// ClientsCount returns the number of open sessions.
	ClientsCount(t testing.TB) int
	// Shutdown closes every session.
	Shutdown(t testing.TB)
}

// session is one server-side Engine.IO session.
type session interface {
	ID() string
	Send(t testing.TB, m msg)
	// SendMany sends prefix+i for i in [0,n), one every interval, in the
	// background.
	SendMany(t testing.TB, prefix string, n int, interval time.Duration)
	Close(t testing.TB)
	// Recv waits for the next n messages from the client.
	Recv(t testing.TB, n int, d time.Duration) []msg
	// WaitClosed waits for the end of the session and returns its reason.
	WaitClosed(t testing.TB, d time.Duration) string
}

// forEachServer runs f as a subtest against our server and against the
// official one, both configured by o.
// The environment variable INTEROP_SERVERS (a comma-separated list of "go"
// and "node") restricts the runs; the others are skipped, visibly.
func forEachServer(t *testing.T, o srvOpts, f func(t *testing.T, s server)) {
	t.Helper()
	t.Run("go", func(t *testing.T) {
		selectServer(t, "go")
		f(t, startGoServer(t, o))
	})
	t.Run("node", func(t *testing.T) {
		selectServer(t, "node")
		f(t, startNodeServer(t, o))
	})
}

func selectServer(t *testing.T, name string) {
	only := os.Getenv("INTEROP_SERVERS")
	if only != "" && !slices.Contains(strings.Split(only, ","), name) {
		t.Skipf("INTEROP_SERVERS=%s", only)
	}
}

// --- our server ---

type goServer struct {
	eio      *engineio.Server
	hs       *httptest.Server
	sessions chan *goSession
}

func goConfig(o srvOpts) *engineio.Config {
	cfg := &engineio.Config{
		PingInterval:    o.PingInterval,
		PingTimeout:     o.PingTimeout,
		MaxBufferSize:   o.MaxBufferSize,
		DisableUpgrades: o.DisableUpgrades,
	}
	if o.PerMessageDeflate {
		cfg.PerMessageDeflate = &engineio.PerMessageDeflate{}
	}
	if o.InitialPacket != "" {
		cfg.InitialPacket = []byte(o.InitialPacket)
	}
	for _, tr := range o.Transports {
		cfg.Transports = append(cfg.Transports, engineio.Transport(tr))
	}
	return cfg
}

func startGoServer(t testing.TB, o srvOpts) *goServer {
	return startGoServerConfig(t, goConfig(o), o.Echo)
}

func startGoServerConfig(t testing.TB, cfg *engineio.Config, echo bool) *goServer {
	s := &goServer{sessions: make(chan *goSession, 256)}
	s.eio = engineio.NewServer(cfg, func(c *engineio.Conn) {
		gs := newGoSession(c, echo)
		select {
		case s.sessions <- gs:
		default:
			panic("interop: too many sessions for the test harness")
		}
	})
	s.hs = httptest.NewServer(s.eio)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.eio.Shutdown(ctx); err != nil {
			t.Errorf("engineio Shutdown: %v", err)
		}
		s.hs.Close()
	})
	return s
}

func (s *goServer) URL() string { return s.hs.URL }

func (s *goServer) Next(t testing.TB) session { return s.NextConn(t) }

// NextConn is Next with the concrete type, for checks only our server allows.
func (s *goServer) NextConn(t testing.TB) *goSession {
	t.Helper()
	select {
	case gs := <-s.sessions:
		return gs
	case <-time.After(nodeproc.DefaultTimeout):
		t.Fatal("no new session on our server")
		return nil
	}
}

func (s *goServer) ClientsCount(testing.TB) int { return s.eio.ClientsCount() }

func (s *goServer) Shutdown(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.eio.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

type goSession struct {
	c       *engineio.Conn
	senders sync.WaitGroup

	mu      sync.Mutex
	msgs    []msg
	next    int // first message not yet returned by Recv
	changed chan struct{}
	closed  chan struct{}
	reason  engineio.CloseReason
	err     error
}

func newGoSession(c *engineio.Conn, echo bool) *goSession {
	gs := &goSession{c: c, changed: make(chan struct{}), closed: make(chan struct{})}
	c.OnMessage(func(data []byte, binary bool) {
		m := msg{data: append([]byte(nil), data...), binary: binary}
		gs.mu.Lock()
		gs.msgs = append(gs.msgs, m)
		close(gs.changed)
		gs.changed = make(chan struct{})
		gs.mu.Unlock()
		if echo {
			_ = c.Send(engineio.Message{Data: m.data, Binary: m.binary})
		}
	})
	c.OnClose(func(reason engineio.CloseReason, err error) {
		gs.mu.Lock()
		gs.reason, gs.err = reason, err
		gs.mu.Unlock()
		close(gs.closed)
	})
	return gs
}

func (gs *goSession) ID() string { return gs.c.ID() }

func (gs *goSession) Send(t testing.TB, m msg) {
	t.Helper()
	if err := gs.c.Send(engineio.Message{Data: m.data, Binary: m.binary}); err != nil {
		t.Fatalf("Send: %v", err)
	}
}

func (gs *goSession) SendMany(t testing.TB, prefix string, n int, interval time.Duration) {
	gs.senders.Add(1)
	t.Cleanup(gs.senders.Wait)
	go func() {
		defer gs.senders.Done()
		for i := range n {
			if err := gs.c.Send(engineio.Message{Data: fmt.Appendf(nil, "%s%d", prefix, i)}); err != nil {
				t.Errorf("Send %s%d: %v", prefix, i, err)
				return
			}
			if interval > 0 {
				time.Sleep(interval)
			}
		}
	}()
}

func (gs *goSession) Close(t testing.TB) {
	t.Helper()
	if err := gs.c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func (gs *goSession) Recv(t testing.TB, n int, d time.Duration) []msg {
	t.Helper()
	deadline := time.After(d)
	for {
		gs.mu.Lock()
		if len(gs.msgs)-gs.next >= n {
			out := gs.msgs[gs.next : gs.next+n]
			gs.next += n
			gs.mu.Unlock()
			return out
		}
		got, changed := gs.msgs[gs.next:], gs.changed
		gs.mu.Unlock()
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("our server received %d of %d messages within %v: %v", len(got), n, d, got)
		}
	}
}

func (gs *goSession) WaitClosed(t testing.TB, d time.Duration) string {
	t.Helper()
	select {
	case <-gs.closed:
	case <-time.After(d):
		t.Fatalf("session %s not closed within %v", gs.ID(), d)
	}
	select {
	case <-gs.c.Done():
	case <-time.After(d):
		t.Fatalf("session %s: OnClose ran but Done is not closed", gs.ID())
	}
	gs.mu.Lock()
	defer gs.mu.Unlock()
	return string(gs.reason)
}

// --- the official server ---

type nodeServer struct {
	p   *nodeproc.Proc
	url string
}

func startNodeServer(t testing.TB, o srvOpts) *nodeServer {
	opts := nodeproc.M{}
	if o.PingInterval > 0 {
		opts["pingInterval"] = o.PingInterval.Milliseconds()
	}
	if o.PingTimeout > 0 {
		opts["pingTimeout"] = o.PingTimeout.Milliseconds()
	}
	if o.MaxBufferSize > 0 {
		opts["maxHttpBufferSize"] = o.MaxBufferSize
	}
	if len(o.Transports) > 0 {
		opts["transports"] = o.Transports
	}
	if o.DisableUpgrades {
		opts["allowUpgrades"] = false
	}
	if o.PerMessageDeflate {
		opts["perMessageDeflate"] = nodeproc.M{"threshold": 1024}
	}
	if o.InitialPacket != "" {
		opts["initialPacket"] = o.InitialPacket
	}
	return startNodeServerOpts(t, opts, o.Echo)
}

func startNodeServerOpts(t testing.TB, opts nodeproc.M, echo bool) *nodeServer {
	t.Helper()
	arg, err := json.Marshal(nodeproc.M{"opts": opts, "echo": echo})
	if err != nil {
		t.Fatal(err)
	}
	p := nodeproc.Start(t, "eio-server.mjs", string(arg))
	l := p.Wait(nodeproc.Type("listening"))
	return &nodeServer{p: p, url: l.Str("url")}
}

func (s *nodeServer) URL() string { return s.url }

func (s *nodeServer) Next(t testing.TB) session {
	t.Helper()
	ev := s.p.Wait(nodeproc.Type("connection"))
	return &nodeSession{p: s.p, sid: ev.Str("sid")}
}

func (s *nodeServer) ClientsCount(t testing.TB) int {
	t.Helper()
	return s.p.Call(nodeproc.M{"cmd": "clientsCount"}).Int("count")
}

func (s *nodeServer) Shutdown(t testing.TB) {
	t.Helper()
	s.p.Call(nodeproc.M{"cmd": "eval", "code": "ctx.engine.close()"})
}

type nodeSession struct {
	p   *nodeproc.Proc
	sid string
}

func (ns *nodeSession) ID() string { return ns.sid }

func encodeMsg(m msg) any {
	if m.binary {
		return nodeproc.Bin(m.data)
	}
	return string(m.data)
}

func (ns *nodeSession) Send(t testing.TB, m msg) {
	t.Helper()
	ns.p.Call(nodeproc.M{"cmd": "send", "sid": ns.sid, "data": encodeMsg(m)})
}

func (ns *nodeSession) SendMany(t testing.TB, prefix string, n int, interval time.Duration) {
	t.Helper()
	ns.p.Call(nodeproc.M{"cmd": "sendMany", "sid": ns.sid, "prefix": prefix, "count": n,
		"intervalMs": interval.Milliseconds()})
}

func (ns *nodeSession) Close(t testing.TB) {
	t.Helper()
	ns.p.Call(nodeproc.M{"cmd": "close", "sid": ns.sid})
}

func (ns *nodeSession) Recv(t testing.TB, n int, d time.Duration) []msg {
	t.Helper()
	return eventMsgs(ns.p.WaitN(n, d, nodeproc.On("message", "sid", ns.sid)))
}

func (ns *nodeSession) WaitClosed(t testing.TB, d time.Duration) string {
	t.Helper()
	return ns.p.WaitTimeout(d, nodeproc.On("close", "sid", ns.sid)).Str("reason")
}

func eventMsgs(evs []nodeproc.Event) []msg {
	out := make([]msg, len(evs))
	for i, ev := range evs {
		out[i].data, out[i].binary = ev.Data("data")
	}
	return out
}

// --- the official client ---

// eioClient is one engine.io-client socket in its own node process (so that
// it can be stopped with SIGSTOP without stopping others).
type eioClient struct {
	p *nodeproc.Proc
}

const sock = "c"

// dialEIO opens an engine.io-client socket to url with the given options
// (engine.io-client option names) and waits for its "open" event.
func dialEIO(t testing.TB, url string, opts nodeproc.M) (*eioClient, nodeproc.Event) {
	t.Helper()
	c := startEIO(t, url, opts)
	return c, c.p.Wait(nodeproc.Type("open"))
}

// startEIO opens the socket without waiting.
func startEIO(t testing.TB, url string, opts nodeproc.M) *eioClient {
	t.Helper()
	c := &eioClient{p: nodeproc.Start(t, "eio-client.mjs")}
	if opts == nil {
		opts = nodeproc.M{}
	}
	c.p.Call(nodeproc.M{"cmd": "open", "socket": sock, "url": url, "opts": opts})
	return c
}

func (c *eioClient) Send(t testing.TB, m msg) {
	t.Helper()
	c.p.Send(nodeproc.M{"cmd": "send", "socket": sock, "data": encodeMsg(m)})
}

func (c *eioClient) Recv(t testing.TB, n int, d time.Duration) []msg {
	t.Helper()
	return eventMsgs(c.p.WaitN(n, d, nodeproc.Type("message")))
}

func (c *eioClient) WaitClose(t testing.TB, d time.Duration) nodeproc.Event {
	t.Helper()
	return c.p.WaitTimeout(d, nodeproc.Type("close"))
}

// checkMsgs compares received messages with the expected ones, in order.
func checkMsgs(t testing.TB, who string, got, want []msg) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s received %d messages, want %d", who, len(got), len(want))
	}
	for i := range want {
		if !sameMsg(got[i], want[i]) {
			t.Fatalf("%s: message %d is %v, want %v", who, i, got[i], want[i])
		}
	}
}

// numbered returns prefix+i for i in [0,n) as text messages.
func numbered(prefix string, n int) []msg {
	out := make([]msg, n)
	for i := range out {
		out[i] = text(fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

// waitCount polls the server until it counts want sessions.
func waitCount(t testing.TB, s server, want int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		n := s.ClientsCount(t)
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ClientsCount = %d after %v, want %d", n, d, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// engineioGoroutines returns the stacks of goroutines running code of the
// engineio package.
func engineioGoroutines() []string {
	var out []string
	for _, g := range testutil.Goroutines() {
		if strings.Contains(g, "github.com/sio-go/socketio/engineio.") {
			out = append(out, g)
		}
	}
	return out
}
