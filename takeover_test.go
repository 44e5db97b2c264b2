package socketio

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sio-go/socketio/protocol"
)

// connectRecoverable connects c to "/" and returns the socket's id and
// private id.
func connectRecoverable(t *testing.T, c *client) (sid, pid string) {
	t.Helper()
	c.send("40")
	rest := strings.TrimPrefix(c.expectPrefix(`40{"sid":"`), `40{"sid":"`)
	sid, rest, _ = strings.Cut(rest, `","pid":"`)
	return sid, strings.TrimSuffix(rest, `"}`)
}

// A client that comes back on a new connection before the server noticed
// that its old one is gone gets its session back: the old connection is
// closed (which stores the session) and the session restored, with what
// was broadcast since the client's offset.
func TestRecoveryTakesOverLiveSession(t *testing.T) {
	srv := newTestServer(t, &Config{ConnectionStateRecovery: &RecoveryConfig{}})
	sockets := connected(srv.Of("/"))
	ctx := context.Background()

	old := dial(t, srv)
	sid, pid := connectRecoverable(t, old)
	if !strings.HasPrefix(pid, sid) || len(pid) != 40 {
		t.Fatalf("private id %q does not start with the socket id %q", pid, sid)
	}
	s := recv(t, sockets)
	reasons := make(chan DisconnectReason, 1)
	s.OnDisconnect(func(ev DisconnectEvent) { reasons <- ev.Reason })
	s.Join("room1")
	noErr(t, srv.Emit(ctx, "seen", 1))
	offset := lastArg(t, old.expectPrefix(`42["seen",1,"`))
	// The client stops hearing the old connection; the server does not
	// know yet.
	noErr(t, srv.To("room1").Emit(ctx, "unseen", 2))
	old.expectPrefix(`42["unseen",2,"`)

	c := dial(t, srv)
	c.send(`40{"pid":"` + pid + `","offset":"` + offset + `"}`)
	c.expectPrefix(`42["unseen",2,"`)
	c.expect(`40{"sid":"` + sid + `","pid":"` + pid + `"}`)
	s2 := recv(t, sockets)
	equal(t, "recovered", s2.Recovered(), true)
	equal(t, "rooms", s2.Rooms(), []string{sid, "room1"})
	equal(t, "old socket's disconnect reason", recv(t, reasons), ReasonTransportClose)
	waitFor(t, "old connection closed", old.f.isClosed)
	equal(t, "sockets", len(srv.Of("/").Sockets()), 1)

	// A private id that only shares the socket id takes nothing over.
	c2 := dial(t, srv)
	forged := sid + strings.Repeat("A", 20)
	c2.send(`40{"pid":"` + forged + `","offset":"` + offset + `"}`)
	if r := c2.expectPrefix(`40{"sid":"`); strings.Contains(r, sid) {
		t.Fatalf("forged private id recovered the session: %s", r)
	}
	recv(t, sockets)
	if c.f.isClosed() {
		t.Fatal("a forged private id closed the session's connection")
	}
	c.expectNothing(20 * time.Millisecond)
}

// A session restored for a socket whose connection closes before the
// socket connects is stored again, for the client's next attempt.
func TestRecoveryGivesBackSessionOfClosedConnection(t *testing.T) {
	srv := newTestServer(t, &Config{ConnectionStateRecovery: &RecoveryConfig{RunMiddlewares: true}})
	entered := make(chan struct{}, 1)
	var block atomic.Bool
	srv.Use(func(ctx context.Context, s *Socket) error {
		if block.Load() {
			entered <- struct{}{}
			<-ctx.Done() // a middleware waiting on something, until the connection goes
			return ctx.Err()
		}
		return nil
	})
	sockets := connected(srv.Of("/"))
	c := dial(t, srv)
	sid, pid := connectRecoverable(t, c)
	recv(t, sockets)
	noErr(t, srv.Emit(context.Background(), "e"))
	offset := lastArg(t, c.expectPrefix(`42["e","`))
	dropConn(c)

	block.Store(true)
	c2 := dial(t, srv)
	c2.send(`40{"pid":"` + pid + `","offset":"` + offset + `"}`)
	<-entered // the session is out of the store
	store := srv.Of("/").Adapter().(*MemoryAdapter).store
	stored := func() bool {
		store.mu.Lock()
		defer store.mu.Unlock()
		_, ok := store.sessions[pid]
		return ok
	}
	equal(t, "stored while restored", stored(), false)
	block.Store(false)
	dropConn(c2)
	waitFor(t, "session stored again", stored)

	c3 := dial(t, srv)
	c3.send(`40{"pid":"` + pid + `","offset":"` + offset + `"}`)
	c3.expect(`40{"sid":"` + sid + `","pid":"` + pid + `"}`)
	equal(t, "recovered", recv(t, sockets).Recovered(), true)
}

// closeOrderStore is a MemoryAdapter that records whether a session is
// persisted after the adapter is closed; when armed, its next SocketRooms
// (a closing socket's first step) waits for release.
type closeOrderStore struct {
	*MemoryAdapter
	armed            atomic.Bool
	entered, release chan struct{}

	mu                      sync.Mutex
	closed, persistedClosed bool
	persisted               int
}

func (a *closeOrderStore) SocketRooms(id string) []string {
	if a.armed.CompareAndSwap(true, false) {
		close(a.entered)
		<-a.release
	}
	return a.MemoryAdapter.SocketRooms(id)
}

func (a *closeOrderStore) PersistSession(s *Session) {
	a.mu.Lock()
	a.persisted++
	a.persistedClosed = a.persistedClosed || a.closed
	a.mu.Unlock()
	a.MemoryAdapter.PersistSession(s)
}

func (a *closeOrderStore) Close() error {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	return a.MemoryAdapter.Close()
}

// Shutdown closes the adapters only after the connections that were
// closing on their own have stored their sessions.
func TestShutdownWaitsForClosingConnections(t *testing.T) {
	store := &closeOrderStore{entered: make(chan struct{}), release: make(chan struct{})}
	srv := newTestServer(t, &Config{
		ConnectionStateRecovery: &RecoveryConfig{},
		Adapter: func(nsp *Namespace) Adapter {
			store.MemoryAdapter = NewMemoryAdapter(nsp)
			return store
		},
	})
	sockets := connected(srv.Of("/"))
	c := dial(t, srv)
	connectRecoverable(t, c)
	recv(t, sockets)

	store.armed.Store(true)
	go dropConn(c) // the engine reports the connection closed
	<-store.entered
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	time.Sleep(20 * time.Millisecond) // Shutdown would close the adapter now
	close(store.release)
	noErr(t, recv(t, shut))
	store.mu.Lock()
	defer store.mu.Unlock()
	equal(t, "sessions persisted", store.persisted, 1)
	equal(t, "persisted after the adapter closed", store.persistedClosed, false)
}

// The takeover event is the server's own: users cannot send it, their
// handlers never get it, and every request is answered, a malformed one
// with no.
func TestTakeoverEventReserved(t *testing.T) {
	srv := newTestServer(t, &Config{ConnectionStateRecovery: &RecoveryConfig{}})
	nsp := srv.Of("/")
	if err := nsp.ServerSideEmit(context.Background(), takeoverEvent, "x"); !errors.Is(err, ErrReservedEvent) {
		t.Fatalf("ServerSideEmit(%q): %v, want ErrReservedEvent", takeoverEvent, err)
	}
	var userCalls atomic.Int32
	nsp.OnServerSideEmit(takeoverEvent, func(context.Context, Args, AckFunc) { userCalls.Add(1) })

	sockets := connected(nsp)
	c := dial(t, srv)
	_, pid := connectRecoverable(t, c)
	recv(t, sockets)
	ask := func(args string) bool {
		t.Helper()
		a, err := protocol.ArgsFromArray([]byte(args), nil)
		noErr(t, err)
		replies := make(chan Args, 1)
		nsp.HandleServerSideEmit(takeoverEvent, a, func(r Args) { replies <- r })
		var yes bool
		noErr(t, recv(t, replies).Decode(0, &yes))
		return yes
	}
	equal(t, "malformed request", ask(`[42]`), false)
	equal(t, "no argument", ask(`[]`), false)
	equal(t, "unknown session", ask(`["`+strings.Repeat("x", 40)+`"]`), false)
	if c.f.isClosed() {
		t.Fatal("a request for another session closed the connection")
	}
	equal(t, "live session", ask(`["`+pid+`"]`), true)
	waitFor(t, "the session's connection closed", c.f.isClosed)
	equal(t, "user handler calls", userCalls.Load(), int32(0))
}
