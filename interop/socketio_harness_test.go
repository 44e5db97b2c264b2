package interop

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/interop/internal/nodeproc"
)

// The Socket.IO tests drive socket.io-client (node/sio-client.mjs) against
// our server, mounted on an httptest server. What our server sees is kept in
// a log of srvEvents, waited for like the events of a script.

// srvEvent is one thing our server saw.
type srvEvent struct {
	// Type is "connect", "event" (OnAny), "out" (OnAnyOutgoing) or
	// "disconnect".
	Type   string
	Nsp    string
	ID     string
	Name   string // event name
	Args   socketio.Args
	Reason socketio.DisconnectReason
	Rooms  []string // rooms left, for "disconnect"
	Socket *socketio.Socket
}

func (e srvEvent) String() string {
	s := fmt.Sprintf("%s nsp=%s id=%s", e.Type, e.Nsp, e.ID)
	if e.Name != "" {
		s += fmt.Sprintf(" name=%s args=%.200s", e.Name, e.Args.String())
	}
	if e.Reason != "" {
		s += fmt.Sprintf(" reason=%q", e.Reason)
	}
	return s
}

// srvLog collects srvEvents; each is returned once by wait.
type srvLog struct {
	mu       sync.Mutex
	events   []srvEvent
	consumed []bool
	changed  chan struct{}
}

func newSrvLog() *srvLog { return &srvLog{changed: make(chan struct{})} }

func (l *srvLog) add(e srvEvent) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.consumed = append(l.consumed, false)
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

// waitN returns the first n not yet returned events matching pred, in
// arrival order, or fails the test after d.
func (l *srvLog) waitN(t testing.TB, n int, d time.Duration, pred func(srvEvent) bool) []srvEvent {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		var idx []int
		for i, e := range l.events {
			if !l.consumed[i] && pred(e) {
				idx = append(idx, i)
				if len(idx) == n {
					break
				}
			}
		}
		if len(idx) == n {
			out := make([]srvEvent, n)
			for j, i := range idx {
				l.consumed[i] = true
				out[j] = l.events[i]
			}
			l.mu.Unlock()
			return out
		}
		changed := l.changed
		l.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("our server saw %d of %d matching events within %v\n%s", len(idx), n, d, l.dump())
		}
	}
}

func (l *srvLog) wait(t testing.TB, pred func(srvEvent) bool) srvEvent {
	t.Helper()
	return l.waitN(t, 1, wait, pred)[0]
}

// all returns every event matching pred, consumed or not.
func (l *srvLog) all(pred func(srvEvent) bool) []srvEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []srvEvent
	for _, e := range l.events {
		if pred(e) {
			out = append(out, e)
		}
	}
	return out
}

func (l *srvLog) dump() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	b.WriteString("--- events of our server:\n")
	for i, e := range l.events {
		mark := " "
		if l.consumed[i] {
			mark = "*"
		}
		fmt.Fprintf(&b, "%s %s\n", mark, e)
	}
	return b.String()
}

// Predicates on srvEvents.
func sType(typ string) func(srvEvent) bool {
	return func(e srvEvent) bool { return e.Type == typ }
}

func sOn(typ, nsp string) func(srvEvent) bool {
	return func(e srvEvent) bool { return e.Type == typ && e.Nsp == nsp }
}

func sEvent(name string) func(srvEvent) bool {
	return func(e srvEvent) bool { return e.Type == "event" && e.Name == name }
}

// sioServer is our Socket.IO server on a loopback httptest server.
type sioServer struct {
	srv *socketio.Server
	hs  *httptest.Server
	log *srvLog
}

// startSIO starts our server with cfg (nil for the defaults). Its main
// namespace is instrumented (see instrument); setup may add namespaces and
// handlers before the first client connects.
func startSIO(t testing.TB, cfg *socketio.Config, setup func(*socketio.Server, *srvLog)) *sioServer {
	t.Helper()
	return startSIOWrapped(t, cfg, setup, nil)
}

// startSIOWrapped is startSIO with the server's handler wrapped by wrap.
func startSIOWrapped(t testing.TB, cfg *socketio.Config, setup func(*socketio.Server, *srvLog),
	wrap func(http.Handler) http.Handler) *sioServer {
	t.Helper()
	s := &sioServer{srv: socketio.NewServer(cfg), log: newSrvLog()}
	instrument(s.srv.Of("/"), s.log)
	if setup != nil {
		setup(s.srv, s.log)
	}
	var h http.Handler = s.srv
	if wrap != nil {
		h = wrap(h)
	}
	s.hs = httptest.NewServer(h)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			t.Errorf("socketio Shutdown: %v", err)
		}
		s.hs.Close()
	})
	return s
}

func (s *sioServer) URL() string { return s.hs.URL }

// instrument makes the sockets of nsp report to log and answer "echo" with
// their arguments: by acknowledgement when one is asked for, by emitting
// "echo" otherwise, as node/sio-server.mjs does.
func instrument(nsp interface{ OnConnect(func(*socketio.Socket)) }, log *srvLog) {
	nsp.OnConnect(func(s *socketio.Socket) {
		name, id := s.Namespace().Name(), s.ID()
		log.add(srvEvent{Type: "connect", Nsp: name, ID: id, Socket: s})
		s.OnAny(func(_ context.Context, ev string, args socketio.Args) {
			log.add(srvEvent{Type: "event", Nsp: name, ID: id, Name: ev, Args: args, Socket: s})
		})
		s.OnDisconnect(func(ev socketio.DisconnectEvent) {
			log.add(srvEvent{Type: "disconnect", Nsp: name, ID: id, Reason: ev.Reason, Rooms: ev.Rooms, Socket: s})
		})
		s.OnRaw("echo", func(_ context.Context, args socketio.Args, ack socketio.AckFunc) {
			if ack != nil {
				_ = ack(args.Values()...)
			} else {
				_ = s.Emit("echo", args.Values()...)
			}
		})
	})
}

// connected waits for the next socket of nsp on our server.
func (s *sioServer) connected(t testing.TB, nsp string) *socketio.Socket {
	t.Helper()
	return s.log.wait(t, sOn("connect", nsp)).Socket
}

// sioClient is one node process running socket.io-client sockets.
type sioClient struct {
	p *nodeproc.Proc
}

func startClient(t testing.TB) *sioClient {
	t.Helper()
	return &sioClient{p: nodeproc.Start(t, "sio-client.mjs")}
}

// open creates socket name on url+nsp with the given socket.io-client
// options; it does not wait for the connection.
func (c *sioClient) open(name, url, nsp string, opts nodeproc.M) {
	if opts == nil {
		opts = nodeproc.M{}
	}
	c.p.Call(nodeproc.M{"cmd": "open", "socket": name, "url": url, "nsp": nsp, "opts": opts})
}

// dial opens socket name and waits for its connection.
func (c *sioClient) dial(name, url, nsp string, opts nodeproc.M) nodeproc.Event {
	c.open(name, url, nsp, opts)
	return c.wait(name, "connect")
}

// wait waits for the next event of type typ of socket name.
func (c *sioClient) wait(name, typ string) nodeproc.Event {
	return c.p.Wait(nodeproc.On(typ, "socket", name))
}

// event waits for the next server event ev received by socket name.
func (c *sioClient) event(name, ev string) nodeproc.Event {
	return c.p.Wait(func(e nodeproc.Event) bool {
		return e.Type == "event" && e.Str("socket") == name && e.Str("name") == ev
	})
}

// events waits for the next n server events ev received by socket name.
func (c *sioClient) events(name, ev string, n int) []nodeproc.Event {
	return c.p.WaitN(n, wait, func(e nodeproc.Event) bool {
		return e.Type == "event" && e.Str("socket") == name && e.Str("name") == ev
	})
}

// emit sends an event without acknowledgement.
func (c *sioClient) emit(name, ev string, args ...any) {
	c.p.Send(nodeproc.M{"cmd": "emit", "socket": name, "event": ev, "args": nonNil(args)})
}

// emitAck sends an event asking for an acknowledgement, reported as an "ack"
// event with ackID; timeout > 0 goes through socket.timeout().
func (c *sioClient) emitAck(name, ackID string, timeout time.Duration, ev string, args ...any) {
	c.p.Send(nodeproc.M{"cmd": "emit", "socket": name, "event": ev, "args": nonNil(args),
		"ack": true, "ackId": ackID, "timeout": timeout.Milliseconds()})
}

// ack waits for the acknowledgement reported with ackID.
func (c *sioClient) ack(ackID string) nodeproc.Event {
	return c.p.Wait(nodeproc.On("ack", "ackId", ackID))
}

// call runs a command and waits for its answer.
func (c *sioClient) call(cmd string, name string) nodeproc.Event {
	return c.p.Call(nodeproc.M{"cmd": cmd, "socket": name})
}

func nonNil(args []any) []any {
	if args == nil {
		return []any{}
	}
	return args
}

// noMore checks that no further event matching pred has arrived, once a
// later event (the marker, already waited for) proves the earlier ones were
// delivered: events of one socket arrive in order.
func noMore(t testing.TB, p *nodeproc.Proc, what string, pred func(nodeproc.Event) bool) {
	t.Helper()
	if ev, ok := p.Poll(0, pred); ok {
		t.Errorf("%s: unexpected %s", what, ev)
	}
}

// binOf returns s as a binary value for the driver: {"$bin":...}.
func binOf(s string) nodeproc.M { return nodeproc.Bin([]byte(s)) }

// testCtx returns a context that ends after d, canceled with the test.
func testCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
