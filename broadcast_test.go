package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/sio-go/socketio/protocol"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"
)

// joined connects n clients to "/" and returns them with their sockets.
func joined(t *testing.T, srv *Server, n int) ([]*client, []*Socket) {
	t.Helper()
	sockets := connected(srv.Of("/"))
	var cs []*client
	var ss []*Socket
	for range n {
		c := dial(t, srv)
		c.connect("/")
		cs = append(cs, c)
		ss = append(ss, recv(t, sockets))
	}
	return cs, ss
}

func TestRoomsAndExcept(t *testing.T) {
	srv := newTestServer(t, nil)
	cs, ss := joined(t, srv, 4)
	ctx := context.Background()
	ss[0].Join("a")
	ss[1].Join("a", "b")
	ss[2].Join("b")
	// ss[3] in no room

	equal(t, "rooms of 1", ss[1].Rooms(), []string{ss[1].ID(), "a", "b"})

	noErr(t, srv.To("a", "b").Emit(ctx, "ab"))
	for i := range 3 {
		cs[i].expect(`42["ab"]`) // once, even for the socket in both rooms
	}
	cs[3].expectNothing(20 * time.Millisecond)

	noErr(t, srv.To("a").Except("b").Emit(ctx, "a-not-b"))
	cs[0].expect(`42["a-not-b"]`)
	for i := 1; i < 4; i++ {
		cs[i].expectNothing(5 * time.Millisecond)
	}

	noErr(t, ss[1].Broadcast().Emit(ctx, "all-but-1"))
	for _, i := range []int{0, 2, 3} {
		cs[i].expect(`42["all-but-1"]`)
	}
	cs[1].expectNothing(10 * time.Millisecond)

	noErr(t, ss[0].To("a").Emit(ctx, "room-but-sender"))
	cs[1].expect(`42["room-but-sender"]`)
	cs[0].expectNothing(10 * time.Millisecond)

	noErr(t, srv.To(ss[3].ID()).Emit(ctx, "private"))
	cs[3].expect(`42["private"]`)

	ss[1].Leave("a")
	noErr(t, srv.To("a").Emit(ctx, "a-again"))
	cs[0].expect(`42["a-again"]`)
	cs[1].expectNothing(10 * time.Millisecond)

	noErr(t, srv.Except("a", "b").Emit(ctx, "outside"))
	cs[3].expect(`42["outside"]`)
	cs[0].expectNothing(5 * time.Millisecond)
}

func TestOperatorIsImmutable(t *testing.T) {
	srv := newTestServer(t, nil)
	base := srv.To("a")
	x := base.To("x")
	y := base.To("y").Except("z").Volatile()
	equal(t, "base", base.rooms, []string{"a"})
	equal(t, "x", x.rooms, []string{"a", "x"})
	equal(t, "y", y.rooms, []string{"a", "y"})
	equal(t, "base except", len(base.except), 0)
	equal(t, "base volatile", base.flags.Volatile, false)

	// Chains derived concurrently from one operator never share arrays.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			op := base.To(string(rune('b' + i)))
			if len(op.rooms) != 2 || op.rooms[0] != "a" {
				t.Errorf("rooms = %v", op.rooms)
			}
		}()
	}
	wg.Wait()
}

func TestNamespacesAreIsolated(t *testing.T) {
	srv := newTestServer(t, nil)
	srv.Of("chat") // the leading slash is added
	c := dial(t, srv)
	c.connect("/")
	c.connect("/chat")
	noErr(t, srv.Of("/chat").Emit(context.Background(), "hi"))
	c.expect(`42/chat,["hi"]`)
	noErr(t, srv.Emit(context.Background(), "hi"))
	c.expect(`42["hi"]`)
}

func TestBroadcastWithAcks(t *testing.T) {
	srv := newTestServer(t, nil)
	cs, _ := joined(t, srv, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	type result struct {
		replies []Args
		err     error
	}
	done := make(chan result, 1)
	go func() {
		r, err := srv.Of("/").EmitWithAck(ctx, "question", 1)
		done <- result{r, err}
	}()
	for i, c := range cs {
		frame := c.expectPrefix(`42`)
		// The same ack id for every recipient.
		equal(t, "frame", frame, `420["question",1]`)
		c.send(`430[` + itoa(i) + `]`)
	}
	r := recv(t, done)
	noErr(t, r.err)
	var got []string
	for _, a := range r.replies {
		got = append(got, a.String())
	}
	sort.Strings(got)
	equal(t, "replies", got, []string{"[0]", "[1]", "[2]"})
}

func TestBroadcastWithAcksTimeout(t *testing.T) {
	srv := newTestServer(t, nil)
	cs, ss := joined(t, srv, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan []Args, 1)
	errc := make(chan error, 1)
	go func() {
		r, err := srv.Of("/").EmitWithAck(ctx, "q")
		done <- r
		errc <- err
	}()
	for _, c := range cs {
		c.expect(`420["q"]`)
	}
	cs[0].send(`430["a"]`)
	cs[2].send(`430["c"]`)
	replies := recv(t, done)
	if err := recv(t, errc); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	equal(t, "replies", len(replies), 2)
	// Pending acknowledgements are forgotten.
	waitFor(t, "acks cleared", func() bool {
		ss[1].mu.Lock()
		defer ss[1].mu.Unlock()
		return len(ss[1].acks) == 0
	})
}

func TestBroadcastWithAcksNoRecipient(t *testing.T) {
	srv := newTestServer(t, nil)
	replies, err := srv.To("empty").EmitWithAck(context.Background(), "q")
	noErr(t, err)
	equal(t, "replies", len(replies), 0)
}

func TestAckIDsSharedBySocketAndBroadcast(t *testing.T) {
	srv := newTestServer(t, nil)
	cs, ss := joined(t, srv, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _, _ = ss[0].EmitWithAck(ctx, "a") }()
	cs[0].expect(`420["a"]`)
	go func() { _, _ = srv.Of("/").EmitWithAck(ctx, "b") }()
	cs[0].expect(`421["b"]`)
	cancel()
}

func TestFetchJoinLeaveDisconnectSockets(t *testing.T) {
	srv := newTestServer(t, nil)
	cs, ss := joined(t, srv, 3)
	ctx := context.Background()
	ss[0].Join("red")
	ss[1].Join("red")
	ss[1].SetData(map[string]int{"score": 7})

	remote, err := srv.Of("/").To("red").FetchSockets(ctx)
	noErr(t, err)
	var ids []string
	for _, r := range remote {
		ids = append(ids, r.ID)
		if r.ID == ss[1].ID() {
			score, err := DataAs[map[string]int](r.Data)
			noErr(t, err)
			equal(t, "data", score, map[string]int{"score": 7})
			equal(t, "rooms", r.Rooms, []string{ss[1].ID(), "red"})
			equal(t, "handshake query", r.Handshake.Query.Get("x"), "1")
		}
	}
	sort.Strings(ids)
	want := []string{ss[0].ID(), ss[1].ID()}
	sort.Strings(want)
	equal(t, "fetched", ids, want)

	noErr(t, srv.To("red").SocketsJoin(ctx, "blue"))
	if !slices.Contains(ss[0].Rooms(), "blue") || slices.Contains(ss[2].Rooms(), "blue") {
		t.Fatalf("rooms after SocketsJoin: %v %v", ss[0].Rooms(), ss[2].Rooms())
	}
	noErr(t, srv.Of("/").SocketsLeave(ctx, "red"))
	if slices.Contains(ss[0].Rooms(), "red") {
		t.Fatal("still in red")
	}

	// RemoteSocket methods act through the adapter.
	for _, r := range remote {
		if r.ID == ss[0].ID() {
			noErr(t, r.Emit(ctx, "direct"))
			cs[0].expect(`42["direct"]`)
			noErr(t, r.Disconnect(ctx))
			cs[0].expect("41")
		}
	}

	noErr(t, srv.To("blue").CloseConns(ctx))
	cs[1].expect("41")
	cs[1].waitClosed()
	noErr(t, srv.Of("/").DisconnectSockets(ctx))
	cs[2].expect("41")
	equal(t, "sockets left", len(srv.Of("/").Sockets()), 0)
}

// TestServerShortcuts covers the Server methods that act on the main
// namespace, as Node's io.fetchSockets() and the like, and
// Namespace.CloseConns.
func TestServerShortcuts(t *testing.T) {
	srv := newTestServer(t, nil)
	cs, ss := joined(t, srv, 3)
	ctx := context.Background()
	type user struct{ Name string }
	ss[0].SetData(user{"ann"})

	socks, err := srv.FetchSockets(ctx)
	noErr(t, err)
	equal(t, "fetched", len(socks), 3)
	for _, r := range socks {
		if r.ID == ss[0].ID() {
			equal(t, "data", mustData[user](t, r.Data), user{"ann"})
		}
	}
	noErr(t, srv.SocketsJoin(ctx, "all"))
	equal(t, "joined", slices.Contains(ss[2].Rooms(), "all"), true)
	noErr(t, srv.SocketsLeave(ctx, "all"))
	equal(t, "left", slices.Contains(ss[2].Rooms(), "all"), false)

	noErr(t, srv.Except(ss[1].ID(), ss[2].ID()).DisconnectSockets(ctx))
	cs[0].expect("41")
	noErr(t, srv.Of("/").Except(ss[2].ID()).CloseConns(ctx))
	cs[1].expect("41")
	cs[1].waitClosed()
	noErr(t, srv.CloseConns(ctx))
	cs[2].expect("41")
	cs[2].waitClosed()

	_, ss = joined(t, srv, 1)
	noErr(t, srv.Of("/").CloseConns(ctx))
	waitFor(t, "the socket gone", func() bool { return !ss[0].Connected() })
	noErr(t, srv.DisconnectSockets(ctx))
	equal(t, "sockets left", len(srv.Of("/").Sockets()), 0)
}

// TestDataAs reads a socket's data as a type, converting through JSON
// when it holds another.
func TestDataAs(t *testing.T) {
	type user struct {
		Name   string `json:"name"`
		Avatar []byte `json:"avatar"`
	}
	var d Data
	equal(t, "zero", d.IsZero(), true)
	u, err := DataAs[user](d)
	equal(t, "empty data", u.Name == "" && err == nil, true)

	_, ss := joined(t, newTestServer(t, nil), 1)
	s := ss[0]
	p := &user{Name: "ann", Avatar: []byte{1}}
	s.SetData(p)
	got, err := DataAs[*user](s.Data())
	noErr(t, err)
	equal(t, "the same pointer", got == p, true)
	byValue, err := DataAs[user](s.Data())
	noErr(t, err)
	equal(t, "through JSON", byValue.Name+string(byValue.Avatar), "ann\x01")
	asMap, err := DataAs[map[string]any](s.Data())
	noErr(t, err)
	equal(t, "as a map", asMap["name"], any("ann"))
	var into user
	noErr(t, s.Data().Decode(&into))
	equal(t, "Decode", into.Name, "ann")
	_, err = DataAs[int](s.Data())
	if err == nil {
		t.Error("an object decoded into an int")
	}

	var fromJSON Data
	noErr(t, json.Unmarshal([]byte(`{"name":"bob","avatar":"AQ=="}`), &fromJSON))
	u, err = DataAs[user](fromJSON)
	noErr(t, err)
	equal(t, "from JSON", u.Name+string(u.Avatar), "bob\x01")
	b, err := json.Marshal(fromJSON)
	noErr(t, err)
	equal(t, "JSON kept", string(b), `{"name":"bob","avatar":"AQ=="}`)
	s.SetData(make(chan int))
	b, err = json.Marshal(s.Data())
	noErr(t, err)
	equal(t, "unencodable data", string(b), "{}")
}

func TestRoomEvents(t *testing.T) {
	srv := newTestServer(t, nil)
	var mu sync.Mutex
	var evs []string
	srv.Of("/").OnRoomEvent(func(ev RoomEvent) {
		mu.Lock()
		evs = append(evs, ev.Type.String()+":"+ev.Room)
		mu.Unlock()
	})
	_, ss := joined(t, srv, 1)
	s := ss[0]
	s.Join("r")
	s.Leave("r")
	s.Disconnect()
	mu.Lock()
	defer mu.Unlock()
	id := s.ID()
	equal(t, "events", evs, []string{
		"create-room:" + id, "join-room:" + id,
		"create-room:r", "join-room:r",
		"leave-room:r", "delete-room:r",
		"leave-room:" + id, "delete-room:" + id,
	})
}

func TestServerSideEmitAlone(t *testing.T) {
	srv := newTestServer(t, nil)
	noErr(t, srv.Of("/").ServerSideEmit(context.Background(), "hello", 1))
	replies, err := srv.Of("/").ServerSideEmitWithAck(context.Background(), "hello")
	noErr(t, err)
	equal(t, "replies", len(replies), 0)
	if err := srv.Of("/").ServerSideEmit(context.Background(), "connection"); !errors.Is(err, ErrReservedEvent) {
		t.Fatalf("err = %v", err)
	}
}

func TestHandleServerSideEmit(t *testing.T) {
	srv := newTestServer(t, nil)
	nsp := srv.Of("/")
	nsp.OnServerSideEmit("ping", func(ctx context.Context, args Args, ack AckFunc) {
		var n int
		_ = args.Decode(0, &n)
		_ = ack(n+1, []byte{1})
	})
	reply := make(chan Args, 1)
	a, err := protocol.ArgsFromArray([]byte(`[41]`), nil)
	noErr(t, err)
	nsp.HandleServerSideEmit("ping", a, func(r Args) { reply <- r })
	r := recv(t, reply)
	equal(t, "reply", r.String(), `[42,{"_placeholder":true,"num":0}]`)
	b, ok := r.Binary(1)
	equal(t, "binary", string(b), "\x01")
	equal(t, "ok", ok, true)
}

func TestBroadcastEncodesOnce(t *testing.T) {
	srv := newTestServer(t, nil)
	cs, _ := joined(t, srv, 3)
	noErr(t, srv.Emit(context.Background(), "e", []byte{1, 2}))
	var texts, bins []*byte
	for _, c := range cs {
		text, bin := <-c.f.out, <-c.f.out
		texts = append(texts, &text.Data[0])
		bins = append(bins, &bin.Data[0])
	}
	for i := 1; i < len(cs); i++ {
		if texts[i] != texts[0] || bins[i] != bins[0] {
			t.Fatal("recipients got different buffers: the packet was encoded more than once")
		}
	}
}

func TestRemoteSocketMethods(t *testing.T) {
	srv := newTestServer(t, nil)
	cs, ss := joined(t, srv, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	remote, err := srv.Local().In(ss[0].ID()).FetchSockets(ctx)
	noErr(t, err)
	equal(t, "fetched", len(remote), 1)
	r := remote[0]

	noErr(t, r.Join(ctx, "x", "y"))
	noErr(t, r.Leave(ctx, "x"))
	equal(t, "rooms", ss[0].Rooms(), []string{ss[0].ID(), "y"})

	reply := make(chan Args, 1)
	go func() {
		a, err := r.EmitWithAck(ctx, "q", 1)
		if err == nil {
			reply <- a
		}
	}()
	cs[0].expect(`420["q",1]`)
	cs[0].send(`430["r"]`)
	equal(t, "reply", recv(t, reply).String(), `["r"]`)

	// Socket.Except and Off.
	noErr(t, ss[1].Except("y").Emit(ctx, "e"))
	cs[0].expectNothing(10 * time.Millisecond)
	ss[1].Off("anything")

	noErr(t, r.CloseConn(ctx))
	cs[0].expect("41")
	cs[0].waitClosed()
	if _, err := r.EmitWithAck(ctx, "gone"); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("EmitWithAck to a gone socket: %v", err)
	}
}

// boundedAdapter is a MemoryAdapter that bounds its requests, as cluster
// adapters do, and counts one more server that never answers.
type boundedAdapter struct {
	*MemoryAdapter
	timeout time.Duration
}

func (a boundedAdapter) RequestsTimeout() time.Duration { return a.timeout }

func (a boundedAdapter) ServerCount(context.Context) (int, error) { return 2, nil }

// TestBroadcastWithAcksRequestsTimeout checks that without a deadline of
// the caller's, a broadcast with acknowledgements ends at the adapter's
// request bound when a server never reports.
func TestBroadcastWithAcksRequestsTimeout(t *testing.T) {
	srv := newTestServer(t, &Config{Adapter: func(n *Namespace) Adapter {
		return boundedAdapter{NewMemoryAdapter(n), 100 * time.Millisecond}
	}})
	cs, _ := joined(t, srv, 1)
	errc := make(chan error, 1)
	go func() {
		_, err := srv.Of("/").EmitWithAck(context.Background(), "q")
		errc <- err
	}()
	cs[0].expect(`420["q"]`)
	cs[0].send(`430["a"]`)
	if err := recv(t, errc); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
}

// TestDataJSONOfNothingIsAnEmptyObject checks that data never set travels
// as {}, the official server's default socket.data, and comes back unset.
func TestDataJSONOfNothingIsAnEmptyObject(t *testing.T) {
	var nilUser *struct{ Name string }
	for _, d := range []Data{{}, {v: nilUser}} {
		b, err := d.MarshalJSON()
		noErr(t, err)
		equal(t, "json", string(b), "{}")
		var back Data
		noErr(t, back.UnmarshalJSON(b))
		equal(t, "unset after the trip", back.IsZero(), true)
		s, err := DataAs[string](back)
		equal(t, "as a string", s == "" && err == nil, true)
	}
	var d Data
	noErr(t, d.UnmarshalJSON([]byte(`{"a":1}`)))
	equal(t, "an object is kept", d.IsZero(), false)
}
