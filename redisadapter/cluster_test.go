package redisadapter

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/redisadapter/internal/redistest"
)

// mixed is two Go servers and one Node.js server (official adapter)
// sharing one Redis, with Node socket.io-client clients:
//
//	g1   on Go server 1, in room1
//	g2   on Go server 2, in room2
//	n    on the Node server, in room1 and room3
//	chat on Go server 2, namespace /chat, in room1
type mixed struct {
	redis  *redistest.Server
	g1, g2 *goServer
	node   *redistest.Peer
	ids    map[string]string // client → socket id
}

func startCluster(t *testing.T, cfg *Config, nodeEnv ...string) *mixed {
	t.Helper()
	c := &mixed{redis: redistest.Start(t), ids: map[string]string{}}
	c.g1 = startGo(t, c.redis.Addr(), "g1", cfg)
	c.g2 = startGo(t, c.redis.Addr(), "g2", cfg)
	c.node = redistest.StartPeer(t, c.redis.URL(), nodeEnv...)
	c.g1.ready(t)
	c.g2.ready(t)
	for _, cl := range []struct {
		id, url, nsp string
		rooms        []string
	}{
		{"g1", c.g1.url, "/", []string{"room1"}},
		{"g2", c.g2.url, "/", []string{"room2"}},
		{"n", "", "/", []string{"room1", "room3"}},
		{"chat", c.g2.url, "/chat", []string{"room1"}},
	} {
		op := map[string]any{"client": cl.id, "nsp": cl.nsp, "rooms": cl.rooms}
		if cl.url != "" {
			op["url"] = cl.url
		}
		c.ids[cl.id] = connectClient(t, c.node, op)
	}
	// Every server counts the three.
	waitServerCount(t, 3, c.g1.adapter("/"), peerCounter{c.node})
	return c
}

func (c *mixed) event(t *testing.T, client, name string) json.RawMessage {
	t.Helper()
	ev, err := c.node.ClientEvent(client, name, wait)
	if err != nil {
		t.Fatal(err)
	}
	return ev.Args
}

func TestClusterBroadcast(t *testing.T) {
	c := startCluster(t, nil)
	ctx := ctxFor(t, 30*time.Second)

	// From Go to everybody, with binary and nested values.
	must(t, c.g1.srv.Emit(ctx, "all", "x", 1.5, map[string]any{"k": []any{true, nil}}, []byte{1, 2, 3}))
	for _, cl := range []string{"g1", "g2", "n"} {
		jsonEqual(t, cl, c.event(t, cl, "all"), `["x",1.5,{"k":[true,null]},{"$bin":"010203"}]`)
	}
	// One room (its own channel), several rooms with except.
	must(t, c.g2.srv.To("room1").Emit(ctx, "r1", 1))
	must(t, c.g2.srv.To("room1", "room2").Except("room3").Emit(ctx, "r12"))
	c.event(t, "g1", "r1")
	c.event(t, "n", "r1")
	c.event(t, "g1", "r12")
	c.event(t, "g2", "r12")
	// Another namespace.
	must(t, c.g1.srv.Of("/chat").To("room1").Emit(ctx, "chat-msg", "hi"))
	jsonEqual(t, "chat", c.event(t, "chat", "chat-msg"), `["hi"]`)
	// Local only: nobody on other servers.
	must(t, c.g1.srv.Local().Emit(ctx, "local"))
	c.event(t, "g1", "local")

	// From Node to the Go servers' clients.
	c.node.MustCall(map[string]any{"op": "emit", "name": "from-node", "args": []any{"a", map[string]any{"$bin": "ff00"}, 7}}, nil)
	for _, cl := range []string{"g1", "g2", "n"} {
		jsonEqual(t, cl, c.event(t, cl, "from-node"), `["a",{"$bin":"ff00"},7]`)
	}
	c.node.MustCall(map[string]any{"op": "emit", "name": "node-r2", "rooms": []string{"room2"}, "volatile": true}, nil)
	c.event(t, "g2", "node-r2")
	c.node.MustCall(map[string]any{"op": "emit", "nsp": "/chat", "name": "node-chat", "rooms": []string{"room1"}}, nil)
	c.event(t, "chat", "node-chat")

	time.Sleep(200 * time.Millisecond)
	noEvent(t, c.node, "g2", "r1")
	noEvent(t, c.node, "n", "r12")
	noEvent(t, c.node, "g1", "chat-msg")
	noEvent(t, c.node, "g2", "local")
	noEvent(t, c.node, "n", "local")
	noEvent(t, c.node, "g1", "node-r2")
}

func TestClusterEmitWithAck(t *testing.T) {
	c := startCluster(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	replies, err := c.g1.srv.Of("/").EmitWithAck(ctx, "ack-me", 1)
	must(t, err)
	var got []string
	for _, r := range replies {
		var v struct {
			Client string `json:"client"`
		}
		must(t, r.Decode(0, &v))
		got = append(got, v.Client)
	}
	equal(t, "acknowledged by", sorted(got), []string{"g1", "g2", "n"})

	// Node asks, the Go servers' clients answer.
	var nodeReplies []struct {
		Client string `json:"client"`
	}
	c.node.MustCall(map[string]any{"op": "emitWithAck", "name": "ack-me", "args": []any{2}, "rooms": []string{"room1", "room2"}}, &nodeReplies)
	got = nil
	for _, r := range nodeReplies {
		got = append(got, r.Client)
	}
	equal(t, "acknowledged by (node)", sorted(got), []string{"g1", "g2", "n"})

	// One remote socket.
	sockets, err := c.g1.srv.In("room3").FetchSockets(ctx)
	must(t, err)
	if len(sockets) != 1 {
		t.Fatalf("%d sockets in room3", len(sockets))
	}
	reply, err := sockets[0].EmitWithAck(ctx, "ack-me", "single")
	must(t, err)
	jsonEqual(t, "single reply", reply.Raw(0), `{"client":"n","got":["single"]}`)
}

func TestClusterFetchSockets(t *testing.T) {
	c := startCluster(t, nil)
	ctx := ctxFor(t, 10*time.Second)
	sockets, err := c.g1.srv.Of("/").FetchSockets(ctx)
	must(t, err)
	byID := map[string]*socketio.RemoteSocket{}
	for _, s := range sockets {
		byID[s.ID] = s
	}
	if len(byID) != 3 {
		t.Fatalf("%d sockets, want 3", len(byID))
	}
	n := byID[c.ids["n"]]
	if n == nil {
		t.Fatal("the Node server's socket is missing")
	}
	equal(t, "rooms of n", sorted(n.Rooms), sorted([]string{c.ids["n"], "room1", "room3"}))
	if n.Handshake.Query.Get("EIO") != "4" || n.Handshake.Time.IsZero() {
		t.Errorf("handshake of n: %+v", n.Handshake)
	}
	equal(t, "rooms of g2", sorted(byID[c.ids["g2"]].Rooms), sorted([]string{c.ids["g2"], "room2"}))

	// Filtered by rooms, and acting on a remote socket.
	sockets, err = c.g2.srv.In("room1").Except("room3").FetchSockets(ctx)
	must(t, err)
	if len(sockets) != 1 || sockets[0].ID != c.ids["g1"] {
		t.Fatalf("room1 except room3: %+v", sockets)
	}
	must(t, sockets[0].Emit(ctx, "direct", 42))
	jsonEqual(t, "direct", c.event(t, "g1", "direct"), `[42]`)

	// Node fetches the Go servers' sockets.
	var fromNode []struct {
		ID        string          `json:"id"`
		Rooms     []string        `json:"rooms"`
		Handshake json.RawMessage `json:"handshake"`
	}
	c.node.MustCall(map[string]any{"op": "fetchSockets", "rooms": []string{"room2"}}, &fromNode)
	if len(fromNode) != 1 || fromNode[0].ID != c.ids["g2"] {
		t.Fatalf("node fetchSockets: %+v", fromNode)
	}
	var hs socketio.Handshake
	must(t, json.Unmarshal(fromNode[0].Handshake, &hs))
	if hs.Query.Get("EIO") != "4" {
		t.Errorf("handshake seen by node: %s", fromNode[0].Handshake)
	}

	// Local only.
	sockets, err = c.g1.srv.Local().FetchSockets(ctx)
	must(t, err)
	if len(sockets) != 1 {
		t.Fatalf("local: %d sockets", len(sockets))
	}
}

func TestClusterRoomsAndDisconnect(t *testing.T) {
	c := startCluster(t, nil)
	ctx := ctxFor(t, 20*time.Second)
	rooms := func(client string, want ...string) {
		t.Helper()
		waitRooms(t, c.node, client, c.ids[client], want...)
	}
	must(t, c.g1.srv.In("room1").SocketsJoin(ctx, "joined"))
	rooms("g1", "room1", "joined")
	rooms("n", "room1", "room3", "joined")
	rooms("g2", "room2")
	must(t, c.g2.srv.In("joined").Except("room3").SocketsLeave(ctx, "joined"))
	rooms("g1", "room1")
	rooms("n", "room1", "room3", "joined")

	// Node makes the Go servers' sockets join and leave.
	c.node.MustCall(map[string]any{"op": "socketsJoin", "rooms": []string{"room2"}, "join": []string{"a", "b"}}, nil)
	rooms("g2", "room2", "a", "b")
	c.node.MustCall(map[string]any{"op": "socketsLeave", "leave": "a"}, nil)
	rooms("g2", "room2", "b")

	// AllRooms sees every server's rooms.
	all, err := c.g1.adapter("/").AllRooms(ctx)
	must(t, err)
	for _, r := range []string{"room1", "room2", "room3", "joined", "b", c.ids["n"], c.ids["g2"]} {
		if !slices.Contains(all, r) {
			t.Errorf("AllRooms lacks %s: %v", r, all)
		}
	}
	var nodeRooms []string
	c.node.MustCall(map[string]any{"op": "allRooms"}, &nodeRooms)
	if !slices.Contains(nodeRooms, c.ids["g1"]) || !slices.Contains(nodeRooms, "b") {
		t.Errorf("node allRooms lacks the Go rooms: %v", nodeRooms)
	}

	// Disconnections, from Go and from Node.
	must(t, c.g2.srv.In("room3").DisconnectSockets(ctx))
	ev, err := c.node.WaitEvent(func(e redistest.Event) bool { return e.Event == "disconnect" }, wait)
	must(t, err)
	equal(t, "disconnected", ev.Client+" "+ev.Reason, "n io server disconnect")
	c.node.MustCall(map[string]any{"op": "disconnectSockets", "rooms": []string{"room2"}, "close": true}, nil)
	ev, err = c.node.WaitEvent(func(e redistest.Event) bool { return e.Event == "disconnect" }, wait)
	must(t, err)
	if ev.Client != "g2" {
		t.Errorf("disconnected %+v, want g2", ev)
	}
}

func TestClusterServerSideEmit(t *testing.T) {
	c := startCluster(t, nil)
	ctx := ctxFor(t, 20*time.Second)

	must(t, c.g1.srv.Of("/").ServerSideEmit(ctx, "hello", "go", 1))
	ev, err := c.node.WaitEvent(func(e redistest.Event) bool { return e.Event == "serverSideEmit" }, wait)
	must(t, err)
	jsonEqual(t, "node received", ev.Args, `["go",1]`)

	wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	replies, err := c.g1.srv.Of("/").ServerSideEmitWithAck(wctx, "hello", "ping")
	must(t, err)
	var from []string
	for _, r := range replies {
		var v struct {
			From string `json:"from"`
		}
		must(t, r.Decode(0, &v))
		from = append(from, v.From)
	}
	equal(t, "replies", sorted(from), []string{"g2", "node"})

	// Node asks the Go servers.
	var nodeReplies []struct {
		From string          `json:"from"`
		Args json.RawMessage `json:"args"`
	}
	c.node.MustCall(map[string]any{"op": "serverSideEmitWithAck", "name": "hello", "args": []any{"from-node"}}, &nodeReplies)
	from = nil
	for _, r := range nodeReplies {
		from = append(from, r.From)
		jsonEqual(t, "args", r.Args, `["from-node"]`)
	}
	equal(t, "node got replies from", sorted(from), []string{"g1", "g2"})
}

// With a key prefix and answers on the requester's channel, Go and Node
// servers still understand each other.
func TestClusterSpecificResponseChannel(t *testing.T) {
	cfg := &Config{Key: "custom", PublishOnSpecificResponseChannel: true, RequestsTimeout: 2 * time.Second}
	c := startCluster(t, cfg, "KEY=custom", "SPECIFIC_CHANNEL=1", "REQUESTS_TIMEOUT=2000")
	ctx := ctxFor(t, 20*time.Second)
	if ch := c.g1.adapter("/").requestChannel; ch != "custom-request#/#" {
		t.Fatalf("request channel %q", ch)
	}
	sockets, err := c.g1.srv.Of("/").FetchSockets(ctx)
	must(t, err)
	equal(t, "sockets", len(sockets), 3)
	var fromNode []json.RawMessage
	c.node.MustCall(map[string]any{"op": "fetchSockets"}, &fromNode)
	equal(t, "sockets seen by node", len(fromNode), 3)
	replies, err := c.g1.srv.Of("/").EmitWithAck(ctx, "ack-me")
	must(t, err)
	equal(t, "acks", len(replies), 3)
	must(t, c.g1.srv.To("room2").Emit(ctx, "custom-key"))
	c.event(t, "g2", "custom-key")
}

// A server that never answers makes requests fail after RequestsTimeout.
func TestRequestsTimeout(t *testing.T) {
	rs := redistest.Start(t)
	g := startGo(t, rs.Addr(), "g", &Config{RequestsTimeout: 300 * time.Millisecond})
	g.ready(t)
	// A silent member: subscribed to the request channel, never answering.
	silent := g.rdb.Subscribe(context.Background(), "socket.io-request#/#")
	defer silent.Close()
	if _, err := silent.Receive(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t, 10*time.Second)
	start := time.Now()
	_, err := g.srv.Of("/").FetchSockets(ctx)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("FetchSockets: %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Errorf("timed out after %v", d)
	}
	if _, err := g.adapter("/").AllRooms(ctx); !errors.Is(err, ErrTimeout) {
		t.Fatalf("AllRooms: %v, want ErrTimeout", err)
	}
	// The context ends first.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := g.srv.Of("/").FetchSockets(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("FetchSockets: %v, want DeadlineExceeded", err)
	}
	// ServerSideEmitWithAck returns no reply and the context's error.
	short2, cancel2 := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel2()
	replies, err := g.srv.Of("/").ServerSideEmitWithAck(short2, "hello")
	if !errors.Is(err, context.DeadlineExceeded) || len(replies) != 0 {
		t.Fatalf("ServerSideEmitWithAck: %v %v", replies, err)
	}
	a := g.adapter("/")
	deadline := time.Now().Add(time.Second) // forgotten when the context ends
	for {
		a.reqs.Mu.Lock()
		left := len(a.reqs.Requests)
		a.reqs.Mu.Unlock()
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests left pending", left)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
