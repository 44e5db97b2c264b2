package socketio

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sio-go/socketio/engineio"
)

// lastArg returns the last argument of an EVENT frame: the offset.
func lastArg(t *testing.T, frame string) string {
	t.Helper()
	i := strings.LastIndex(frame, `,"`)
	if i < 0 || !strings.HasSuffix(frame, `"]`) {
		t.Fatalf("no offset in %q", frame)
	}
	return frame[i+2 : len(frame)-2]
}

func dropConn(c *client) {
	c.f.mu.Lock()
	c.f.closed = true
	c.f.mu.Unlock()
	c.f.c.onClose(engineio.ReasonTransportClose, nil)
}

func TestConnectionStateRecovery(t *testing.T) {
	srv := newTestServer(t, &Config{ConnectionStateRecovery: &RecoveryConfig{}})
	var middlewareRuns atomic.Int32
	srv.Use(func(ctx context.Context, s *Socket) error {
		middlewareRuns.Add(1)
		return nil
	})
	sockets := connected(srv.Of("/"))
	ctx := context.Background()

	c := dial(t, srv)
	c.send("40")
	reply := c.expectPrefix(`40{"sid":"`)
	var sid, pid string
	{
		rest := strings.TrimPrefix(reply, `40{"sid":"`)
		sid, rest, _ = strings.Cut(rest, `","pid":"`)
		pid = strings.TrimSuffix(rest, `"}`)
	}
	s := recv(t, sockets)
	equal(t, "sid", s.ID(), sid)
	s.Join("room1")
	s.SetData("state")

	noErr(t, srv.Emit(ctx, "before", 1))
	offset := lastArg(t, c.expectPrefix(`42["before",1,"`))
	// Socket emits are stored too.
	noErr(t, s.Emit("direct"))
	offset = lastArg(t, c.expectPrefix(`42["direct","`))
	// Volatile and acknowledged packets carry no offset.
	noErr(t, s.Volatile().Emit("volatile"))
	c.expect(`42["volatile"]`)

	dropConn(c)
	noErr(t, srv.Emit(ctx, "missed", 2))
	noErr(t, srv.To("room1").Emit(ctx, "missed-room"))
	noErr(t, srv.To("other").Emit(ctx, "not-for-us"))
	noErr(t, srv.Except("room1").Emit(ctx, "excluded"))
	noErr(t, srv.Volatile().Emit(ctx, "volatile-missed"))

	c2 := dial(t, srv)
	c2.send(`40{"pid":"` + pid + `","offset":"` + offset + `"}`)
	c2.expectPrefix(`42["missed",2,"`)
	offset = lastArg(t, c2.expectPrefix(`42["missed-room","`))
	c2.expect(`40{"sid":"` + sid + `","pid":"` + pid + `"}`)
	s2 := recv(t, sockets)
	equal(t, "recovered", s2.Recovered(), true)
	equal(t, "id", s2.ID(), sid)
	equal(t, "rooms", s2.Rooms(), []string{sid, "room1"})
	equal(t, "data", mustData[string](t, s2.Data()), "state")
	equal(t, "middleware runs", middlewareRuns.Load(), int32(1))

	// A session is consumed by its recovery.
	dropConn(c2)
	c3 := dial(t, srv)
	c3.send(`40{"pid":"` + pid + `","offset":"` + offset + `"}`)
	// Persisted again by the second drop: recovered once more, nothing missed.
	c3.expect(`40{"sid":"` + sid + `","pid":"` + pid + `"}`)
	recv(t, sockets)

	// An unknown offset is not recovered.
	dropConn(c3)
	c4 := dial(t, srv)
	c4.send(`40{"pid":"` + pid + `","offset":"nope"}`)
	r := c4.expectPrefix(`40{"sid":"`)
	if strings.Contains(r, sid) {
		t.Fatalf("recovered with a bad offset: %s", r)
	}
	equal(t, "recovered", recv(t, sockets).Recovered(), false)
}

func TestRecoveryNotForClientDisconnect(t *testing.T) {
	srv := newTestServer(t, &Config{ConnectionStateRecovery: &RecoveryConfig{}})
	sockets := connected(srv.Of("/"))
	c := dial(t, srv)
	c.send("40")
	reply := c.expectPrefix(`40{"sid":"`)
	pid := strings.TrimSuffix(reply[strings.Index(reply, `"pid":"`)+7:], `"}`)
	recv(t, sockets)
	noErr(t, srv.Emit(context.Background(), "e"))
	offset := lastArg(t, c.expectPrefix(`42["e","`))
	c.send("41") // client namespace disconnect: not recoverable
	time.Sleep(10 * time.Millisecond)
	c.send(`40{"pid":"` + pid + `","offset":"` + offset + `"}`)
	c.expectPrefix(`40{"sid":"`)
	equal(t, "recovered", recv(t, sockets).Recovered(), false)
}

func TestRecoveryExpires(t *testing.T) {
	srv := newTestServer(t, &Config{ConnectionStateRecovery: &RecoveryConfig{
		MaxDisconnectionDuration: 50 * time.Millisecond,
		RunMiddlewares:           true,
	}})
	var runs atomic.Int32
	srv.Use(func(ctx context.Context, s *Socket) error { runs.Add(1); return nil })
	sockets := connected(srv.Of("/"))
	c := dial(t, srv)
	c.send("40")
	reply := c.expectPrefix(`40{"sid":"`)
	pid := strings.TrimSuffix(reply[strings.Index(reply, `"pid":"`)+7:], `"}`)
	recv(t, sockets)
	noErr(t, srv.Emit(context.Background(), "e"))
	offset := lastArg(t, c.expectPrefix(`42["e","`))
	dropConn(c)
	time.Sleep(80 * time.Millisecond)
	c2 := dial(t, srv)
	c2.send(`40{"pid":"` + pid + `","offset":"` + offset + `"}`)
	c2.expectPrefix(`40{"sid":"`)
	equal(t, "recovered", recv(t, sockets).Recovered(), false)
	equal(t, "middleware runs", runs.Load(), int32(2))
}

func TestSessionStoreExpiresPackets(t *testing.T) {
	now := time.Unix(1000, 0)
	st := newSessionStore(time.Minute)
	st.now = func() time.Time { return now }
	p, err := eventPacket("e", nil)
	noErr(t, err)
	first := st.append(p, BroadcastOptions{})
	for range 9 {
		st.append(p, BroadcastOptions{})
	}
	equal(t, "stored", len(st.packets), 10)
	now = now.Add(2 * time.Minute)
	st.append(p, BroadcastOptions{})
	equal(t, "after expiry", len(st.packets), 1)
	st.persist(&Session{PID: "p", SID: "s"})
	offset := lastArg(t, "42"+string(first.Data))
	if st.restore("p", offset) != nil {
		t.Fatal("restored from an expired offset")
	}
}

func TestIncludes(t *testing.T) {
	for _, tc := range []struct {
		rooms        []string
		target, excl []string
		want         bool
	}{
		{[]string{"id"}, nil, nil, true},
		{[]string{"id", "a"}, []string{"a"}, nil, true},
		{[]string{"id"}, []string{"a"}, nil, false},
		{[]string{"id", "a"}, nil, []string{"a"}, false},
		{[]string{"id", "a", "b"}, []string{"a"}, []string{"b"}, false},
	} {
		got := (&BroadcastOptions{Rooms: tc.target, Except: tc.excl}).Includes(tc.rooms)
		equal(t, strings.Join(tc.rooms, ","), got, tc.want)
	}
}

// slowStore is a MemoryAdapter whose session lookup waits for its context,
// as a remote store that does not answer would.
type slowStore struct {
	*MemoryAdapter
	deadline chan time.Duration // how far the lookup's deadline was
}

func (s *slowStore) RestoreSession(ctx context.Context, pid, offset string) (*Session, error) {
	d, ok := ctx.Deadline()
	if !ok {
		d = time.Time{}
	}
	s.deadline <- time.Until(d)
	<-ctx.Done()
	return nil, ctx.Err()
}

// A session lookup that does not answer ends at RestoreTimeout: the client
// gets a new session instead of waiting.
func TestRecoveryRestoreTimeout(t *testing.T) {
	store := &slowStore{deadline: make(chan time.Duration, 1)}
	srv := newTestServer(t, &Config{
		ConnectionStateRecovery: &RecoveryConfig{RestoreTimeout: 50 * time.Millisecond},
		Adapter: func(nsp *Namespace) Adapter {
			store.MemoryAdapter = NewMemoryAdapter(nsp)
			return store
		},
	})
	sockets := connected(srv.Of("/"))
	c := dial(t, srv)
	c.send(`40{"pid":"unknown","offset":"x.0"}`)
	select {
	case d := <-store.deadline:
		if d <= 0 || d > 50*time.Millisecond {
			t.Fatalf("the lookup's deadline was %v away, want at most RestoreTimeout", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the session store was not asked")
	}
	c.expectPrefix(`40{"sid":"`)
	equal(t, "recovered", recv(t, sockets).Recovered(), false)
}
