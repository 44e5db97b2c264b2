package redisadapter

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/redisadapter/internal/redistest"
	"github.com/sio-go/socketio/sioclient"
)

// waitSession waits until a session was persisted in Redis.
func waitSession(t *testing.T, addr string) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	deadline := time.Now().Add(wait)
	for {
		keys, err := c.Keys(context.Background(), "sio:session:*").Result()
		must(t, err)
		if len(keys) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no session was persisted")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// broadcaster sends an event to room1 (or to every socket when room is
// empty) from one server of the cluster.
type broadcaster func(ctx context.Context, room, ev string) error

func goBroadcaster(g *goServer) broadcaster {
	return func(ctx context.Context, room, ev string) error {
		if room == "" {
			return g.srv.Emit(ctx, ev)
		}
		return g.srv.To(room).Emit(ctx, ev)
	}
}

func nodeBroadcaster(p *redistest.Peer) broadcaster {
	return func(ctx context.Context, room, ev string) error {
		op := map[string]any{"op": "emit", "name": ev}
		if room != "" {
			op["rooms"] = []string{room}
		}
		return p.Call(op, nil)
	}
}

// missedWhileAway cuts the client's connection through sw, broadcasts
// from both servers while it is away, then routes it to the server at
// next. It returns the events the client must get back, in order.
func missedWhileAway(t *testing.T, sw *redistest.Switch, redisAddr, next string, from, other broadcaster) []string {
	t.Helper()
	ctx := ctxFor(t, 10*time.Second)
	sw.Route("")
	sw.Cut()
	waitSession(t, redisAddr)
	// The order of the stream is the order of the events: each broadcast
	// is in the stream before the next one (Node's emit returns before).
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	send := func(b broadcaster, room, ev string) {
		t.Helper()
		n, err := rdb.XLen(ctx, "socket.io").Result()
		must(t, err)
		must(t, b(ctx, room, ev))
		waitUntil(t, ev+" in the stream", func() bool { m, _ := rdb.XLen(ctx, "socket.io").Result(); return m > n })
	}
	send(other, "room1", "m1")
	send(from, "room1", "m2")
	send(other, "room2", "not-mine")
	send(other, "", "m3")
	sw.Route(next)
	return []string{"m1", "m2", "m3"}
}

// recoveringPair starts two Streams servers with recovery on one Redis and
// a Go client in room1 connected to the first through a switch; got
// returns the events among evs the client received, in order.
type recoveringPair struct {
	rs     *redistest.Server
	g1, g2 *goServer
	sw     *redistest.Switch
	s      *sioclient.Socket

	mu  sync.Mutex
	got []string
}

func startRecoveringPair(t *testing.T, evs ...string) *recoveringPair {
	t.Helper()
	p := &recoveringPair{}
	p.rs, p.g1, p.g2 = startStreamsPair(t)
	p.sw = redistest.StartSwitch(t)
	p.sw.Route(p.g1.url)
	m, err := sioclient.NewManager(p.sw.URL(), &sioclient.Config{
		ReconnectionDelay: 50 * time.Millisecond, ReconnectionDelayMax: 100 * time.Millisecond,
	})
	must(t, err)
	t.Cleanup(func() { _ = m.Close() })
	p.s = m.Socket("/", &sioclient.SocketConfig{Auth: map[string]any{"rooms": []string{"room1"}}})
	for _, ev := range evs {
		sioclient.On(p.s, ev, func(context.Context, json.RawMessage) error {
			p.mu.Lock()
			p.got = append(p.got, ev)
			p.mu.Unlock()
			return nil
		})
	}
	must(t, p.s.Connect(ctxFor(t, 30*time.Second)))
	return p
}

func (p *recoveringPair) events() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.got)
}

// A Go client on server A loses its connection; events are broadcast by
// both servers meanwhile; it reconnects to server B, which restores its
// session with exactly the events it missed, in order.
func TestStreamsRecoveryAcrossNodesGoClient(t *testing.T) {
	p := startRecoveringPair(t, "e0", "m1", "m2", "m3", "not-mine", "after")
	ctx := ctxFor(t, 30*time.Second)
	id := p.s.ID()
	must(t, p.g1.srv.To("room1").Emit(ctx, "e0"))
	waitUntil(t, "e0", func() bool { return len(p.events()) == 1 })

	want := missedWhileAway(t, p.sw, p.rs.Addr(), p.g2.url, goBroadcaster(p.g1), goBroadcaster(p.g2))
	waitUntil(t, "reconnection", func() bool { return p.s.Connected() })
	if !p.s.Recovered() {
		t.Fatal("the session was not recovered")
	}
	equal(t, "socket id after recovery", p.s.ID(), id)
	must(t, p.g1.srv.To("room1").Emit(ctx, "after")) // rooms restored on g2
	waitUntil(t, "after", func() bool { return slices.Contains(p.events(), "after") })
	equal(t, "events", p.events(), append(append([]string{"e0"}, want...), "after"))
}

// waitUntil waits until cond holds, and fails the test naming what after
// wait.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitFor(t, func() error {
		if !cond() {
			return fmt.Errorf("timed out waiting for %s", what)
		}
		return nil
	})
}

// nodeClientEvents returns the names of the events client received, in
// order, waiting for n of them.
func nodeClientEvents(t *testing.T, p *redistest.Peer, client string, n int) []string {
	t.Helper()
	var out []string
	for len(out) < n {
		ev, err := p.WaitEvent(func(e redistest.Event) bool { return e.Event == "client" && e.Client == client }, wait)
		if err != nil {
			t.Fatalf("after %v: %v", out, err)
		}
		out = append(out, ev.Name)
	}
	return out
}

// startStreamsPair starts Redis and two Go servers on the Streams adapter
// with recovery, their adapters subscribed.
func startStreamsPair(t *testing.T) (*redistest.Server, *goServer, *goServer) {
	t.Helper()
	rs := redistest.Start(t)
	g1 := startStreams(t, rs.Addr(), "g1", nil)
	g2 := startStreams(t, rs.Addr(), "g2", nil)
	g1.ready(t)
	g2.ready(t)
	return rs, g1, g2
}

// connectThroughSwitch connects the official client "r" (reconnecting
// quickly, in room1) through a new switch routed to the server at url, and
// returns the switch and the socket id.
func connectThroughSwitch(t *testing.T, clients *redistest.Peer, url string) (*redistest.Switch, string) {
	t.Helper()
	sw := redistest.StartSwitch(t)
	sw.Route(url)
	var id string
	clients.MustCall(map[string]any{"op": "connect", "client": "r", "url": sw.URL(), "rooms": []string{"room1"},
		"reconnect": true}, &id)
	_, err := clients.WaitEvent(func(e redistest.Event) bool { return e.Event == "connect" && e.Client == "r" }, wait)
	must(t, err)
	return sw, id
}

// recoverNodeClient runs the scenario with the official socket.io-client:
// connected through sw to the server at first, it reconnects to the one at
// second.
func recoverNodeClient(t *testing.T, clients *redistest.Peer, redisAddr string, first, second string,
	fromFirst, fromSecond broadcaster) {
	t.Helper()
	sw, id := connectThroughSwitch(t, clients, first)
	ctx := ctxFor(t, 30*time.Second)
	must(t, fromFirst(ctx, "room1", "e0"))
	equal(t, "first event", nodeClientEvents(t, clients, "r", 1), []string{"e0"})

	want := missedWhileAway(t, sw, redisAddr, second, fromFirst, fromSecond)
	ev, err := clients.WaitEvent(func(e redistest.Event) bool { return e.Event == "connect" && e.Client == "r" }, wait)
	must(t, err)
	if !ev.Recovered {
		t.Fatal("the official client reports the session as not recovered")
	}
	equal(t, "socket id after recovery", ev.ID, id)
	must(t, fromFirst(ctx, "room1", "after"))
	equal(t, "events", nodeClientEvents(t, clients, "r", 4), append(want, "after"))
}

// The same with the official socket.io-client, between two Go servers.
func TestStreamsRecoveryAcrossNodesNodeClient(t *testing.T) {
	rs, g1, g2 := startStreamsPair(t)
	recoverNodeClient(t, clientHost(t), rs.Addr(), g1.url, g2.url, goBroadcaster(g1), goBroadcaster(g2))
}

// startMixed starts a Go server and a Node server (official socket.io and
// @socket.io/redis-streams-adapter), with recovery, on one Redis.
func startMixed(t *testing.T) (*redistest.Server, *goServer, *redistest.Peer, string) {
	t.Helper()
	rs := redistest.Start(t)
	g := startStreams(t, rs.Addr(), "g", nil)
	g.ready(t)
	node := redistest.StartPeer(t, rs.URL(), "ADAPTER=streams", "RECOVERY=60000")
	var port int
	node.MustCall(map[string]any{"op": "port"}, &port)
	nodeURL := "http://127.0.0.1:" + itoa(port)
	deadline := time.Now().Add(wait)
	for {
		n, err := g.streams("/").ServerCount(context.Background())
		var nn int
		node.MustCall(map[string]any{"op": "serverCount"}, &nn)
		if err == nil && n == 2 && nn == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server count %d (%v), node %d, want 2", n, err, nn)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return rs, g, node, nodeURL
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// One Go server and one Node server share the stream.
func TestStreamsMixedCluster(t *testing.T) {
	_, g, node, _ := startMixed(t)
	connect(t, node, "gc", g.url, "room1")
	connect(t, node, "nc", "", "room1", "room2")
	ctx := ctxFor(t, 30*time.Second)
	time.Sleep(100 * time.Millisecond) // the Node reader is at the end of the stream

	must(t, g.srv.To("room2").Emit(ctx, "from-go", map[string]any{"a": 1}, []byte{1, 2}))
	ev, err := node.ClientEvent("nc", "from-go", wait)
	must(t, err)
	jsonEqual(t, "go → node", argsOnly(t, ev.Args), `[{"a":1},{"$bin":"0102"}]`)
	node.MustCall(map[string]any{"op": "emit", "name": "from-node", "rooms": []string{"room1"}, "except": []string{"room2"},
		"args": []any{"x"}}, nil)
	ev, err = node.ClientEvent("gc", "from-node", wait)
	must(t, err)
	jsonEqual(t, "node → go", argsOnly(t, ev.Args), `["x"]`)
	noEvent(t, node, "nc", "from-node")

	sockets, err := g.srv.In("room1").FetchSockets(ctx)
	must(t, err)
	equal(t, "sockets seen by Go", len(sockets), 2)
	var found []json.RawMessage
	node.MustCall(map[string]any{"op": "fetchSockets", "rooms": []string{"room1"}}, &found)
	equal(t, "sockets seen by Node", len(found), 2)

	replies, err := g.srv.Of("/").ServerSideEmitWithAck(ctx, "hello", "go")
	must(t, err)
	equal(t, "replies to Go", len(replies), 1)
	jsonEqual(t, "reply of Node", replies[0].Raw(0), `{"from":"node","args":["go"]}`)
	var nodeReplies []json.RawMessage
	node.MustCall(map[string]any{"op": "serverSideEmitWithAck", "name": "hello", "args": []any{"node"}}, &nodeReplies)
	equal(t, "replies to Node", len(nodeReplies), 1)
	jsonEqual(t, "reply of Go", nodeReplies[0], `{"from":"g","args":["node"]}`)

	acks, err := g.srv.To("room1").EmitWithAck(ctx, "ack-me", 1)
	must(t, err)
	equal(t, "acks of Go's broadcast", len(acks), 2)
	var nodeAcks []json.RawMessage
	node.MustCall(map[string]any{"op": "emitWithAck", "name": "ack-me", "rooms": []string{"room1"}}, &nodeAcks)
	equal(t, "acks of Node's broadcast", len(nodeAcks), 2)
}

// A session persisted by the Node server is restored by the Go server,
// and the other way round.
func TestStreamsMixedRecovery(t *testing.T) {
	rs, g, node, nodeURL := startMixed(t)
	t.Run("node to go", func(t *testing.T) {
		recoverNodeClient(t, node, rs.Addr(), nodeURL, g.url, nodeBroadcaster(node), goBroadcaster(g))
	})
	node.MustCall(map[string]any{"op": "close", "client": "r"}, nil)
	node.DrainEvents()
	t.Run("go to node", func(t *testing.T) {
		recoverNodeClient(t, node, rs.Addr(), g.url, nodeURL, goBroadcaster(g), nodeBroadcaster(node))
	})
}

// A client whose network goes away comes back through another server
// before the server it left has noticed (its ping timeout is far off):
// the new server finds the session live on the other one, which closes
// that connection and stores the session; the client gets it back with
// what the old server wrote into the dead connection meanwhile.
func TestStreamsRecoveryTakesOverLiveSession(t *testing.T) {
	p := startRecoveringPair(t, "e0", "m1", "m2", "after")
	g1, g2, s := p.g1, p.g2, p.s
	ctx := ctxFor(t, 30*time.Second)
	id := s.ID()
	must(t, g1.srv.To("room1").Emit(ctx, "e0"))
	waitUntil(t, "e0", func() bool { return len(p.events()) == 1 })
	disconnects := make(chan socketio.DisconnectReason, 1)
	g1.srv.Of("/").Socket(id).OnDisconnect(func(ev socketio.DisconnectEvent) { disconnects <- ev.Reason })

	p.sw.Route("")
	p.sw.Drop()
	waitUntil(t, "the client noticed", func() bool { return !s.Connected() })
	must(t, g1.srv.To("room1").Emit(ctx, "m1")) // written into the dead connection
	must(t, g2.srv.To("room1").Emit(ctx, "m2"))
	if g1.srv.Of("/").Socket(id) == nil {
		t.Fatal("the server noticed the dropped connection; the test needs it not to")
	}
	p.sw.Route(g2.url)
	waitUntil(t, "reconnection", func() bool { return s.Connected() })
	if !s.Recovered() {
		t.Fatal("the session was not recovered")
	}
	equal(t, "socket id after recovery", s.ID(), id)
	select {
	case r := <-disconnects:
		equal(t, "old socket's disconnect reason", r, socketio.ReasonTransportClose)
	case <-time.After(wait):
		t.Fatal("the old socket was not disconnected")
	}
	if g1.srv.Of("/").Socket(id) != nil || g2.srv.Of("/").Socket(id) == nil {
		t.Fatal("the socket is not on the second server only")
	}
	must(t, g1.srv.To("room1").Emit(ctx, "after")) // rooms restored on g2
	waitUntil(t, "after", func() bool { return slices.Contains(p.events(), "after") })
	equal(t, "events", p.events(), []string{"e0", "m1", "m2", "after"})
}

// A client whose session is gone (its server was killed) does not wait
// for the dead server to answer whether it holds the session: a killed
// process's connections to Redis close with it, so the servers that are
// asked are those still subscribed, and the client gets a new session at
// once. (A server that is alive but does not answer is waited for up to
// RecoveryConfig.RestoreTimeout.)
func TestStreamsTakeoverDoesNotWaitForDeadServer(t *testing.T) {
	_, g1, g2 := startStreamsPair(t)
	waitServerCount(t, 2, g1.srv.Of("/").Adapter().(serverCounter))
	_ = g2.rdb.Close() // g2's connections to Redis close, as a killed server's do

	start := time.Now()
	s, err := sioclient.Dial(ctxFor(t, 30*time.Second), g1.url, &sioclient.Config{Socket: sioclient.SocketConfig{
		Auth: map[string]any{"pid": strings.Repeat("p", 40), "offset": "1-0"}}})
	must(t, err)
	t.Cleanup(func() { _ = s.Manager().Close() })
	took := time.Since(start)
	if s.Recovered() {
		t.Fatal("recovered a session that does not exist")
	}
	if took > time.Second {
		t.Fatalf("connecting took %v: the server waited for the dead one", took)
	}
	t.Logf("new session after %v", took)
}

// The same with the official socket.io-client: its network goes away, it
// comes back through the other server before the first one noticed, and
// gets its session with what the first server wrote meanwhile.
func TestStreamsRecoveryTakesOverNodeClient(t *testing.T) {
	_, g1, g2 := startStreamsPair(t)
	clients := clientHost(t)
	sw, id := connectThroughSwitch(t, clients, g1.url)
	ctx := ctxFor(t, 30*time.Second)
	must(t, g1.srv.To("room1").Emit(ctx, "e0"))
	equal(t, "first event", nodeClientEvents(t, clients, "r", 1), []string{"e0"})

	sw.Route("")
	sw.Drop()
	_, err := clients.WaitEvent(func(e redistest.Event) bool { return e.Event == "disconnect" && e.Client == "r" }, wait)
	must(t, err)
	must(t, g1.srv.To("room1").Emit(ctx, "m1")) // written into the dead connection
	must(t, g2.srv.To("room1").Emit(ctx, "m2"))
	if g1.srv.Of("/").Socket(id) == nil {
		t.Fatal("the server noticed the dropped connection; the test needs it not to")
	}
	sw.Route(g2.url)
	ev, err := clients.WaitEvent(func(e redistest.Event) bool { return e.Event == "connect" && e.Client == "r" }, wait)
	must(t, err)
	if !ev.Recovered {
		t.Fatal("the official client reports the session as not recovered")
	}
	equal(t, "socket id after recovery", ev.ID, id)
	must(t, g1.srv.To("room1").Emit(ctx, "after"))
	equal(t, "events", nodeClientEvents(t, clients, "r", 3), []string{"m1", "m2", "after"})
}
