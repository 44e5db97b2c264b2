package redisadapter

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/internal/cluster/wire"
	"github.com/sio-go/socketio/protocol"
	"github.com/sio-go/socketio/redisadapter/internal/redistest"
)

func startSharded(t *testing.T, addr, name string, cfg *ShardedConfig) *goServer {
	t.Helper()
	return startGoWith(t, newClient(addr), name, func(rdb redis.UniversalClient) socketio.AdapterFactory { return NewSharded(rdb, cfg) })
}

func (g *goServer) sharded(nsp string) *ShardedAdapter {
	return g.srv.Of(nsp).Adapter().(*ShardedAdapter)
}

// roomReady waits until the servers are subscribed to the channel of room.
func roomReady(t *testing.T, room string, servers ...*goServer) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for _, g := range servers {
		a := g.sharded("/")
		for !a.sub.ready([]string{a.dynamicChannel(room)}) {
			if time.Now().After(deadline) {
				t.Fatalf("not subscribed to the channel of %s (rooms %v)", room, a.rooms())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// Two Go servers and a Node server with the official sharded adapter.
func TestShardedCluster(t *testing.T) {
	rs := redistest.Start(t)
	g1 := startSharded(t, rs.Addr(), "g1", nil)
	g2 := startSharded(t, rs.Addr(), "g2", nil)
	node := redistest.StartPeer(t, rs.URL(), "ADAPTER=sharded")
	g1.ready(t)
	g2.ready(t)
	ids := map[string]string{}
	for _, cl := range []struct {
		id, url string
		rooms   []string
	}{
		{"g1", g1.url, []string{"room1"}},
		{"g2", g2.url, []string{"room2"}},
		{"n", "", []string{"room1", "room3"}},
	} {
		op := map[string]any{"client": cl.id, "rooms": cl.rooms}
		if cl.url != "" {
			op["url"] = cl.url
		}
		ids[cl.id] = connectClient(t, node, op)
	}
	roomReady(t, "room1", g1)
	roomReady(t, "room2", g2)
	if rooms := g1.sharded("/").rooms(); !slices.Equal(rooms, []string{"room1"}) {
		t.Errorf("room channels of g1: %v (socket ids must not have one)", rooms)
	}
	waitServerCount(t, 3, g1.sharded("/"))
	ctx := ctxFor(t, 30*time.Second)
	event := func(client, name string) json.RawMessage {
		t.Helper()
		ev, err := node.ClientEvent(client, name, wait)
		must(t, err)
		return ev.Args
	}

	must(t, g1.srv.Emit(ctx, "all", 1, []byte{5}))
	for _, cl := range []string{"g1", "g2", "n"} {
		jsonEqual(t, cl, event(cl, "all"), `[1,{"$bin":"05"}]`)
	}
	must(t, g2.srv.To("room1").Emit(ctx, "r1", "x")) // the room's own channel
	event("g1", "r1")
	event("n", "r1")
	must(t, g2.srv.To(ids["n"]).Emit(ctx, "direct")) // a socket id: the main channel
	event("n", "direct")
	node.MustCall(map[string]any{"op": "emit", "name": "from-node", "rooms": []string{"room2"}, "args": []any{map[string]any{"$bin": "0a"}}}, nil)
	jsonEqual(t, "from node", event("g2", "from-node"), `[{"$bin":"0a"}]`)
	node.MustCall(map[string]any{"op": "emit", "name": "node-all"}, nil)
	event("g1", "node-all")
	event("g2", "node-all")

	// Acknowledgements, both ways.
	actx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	replies, err := g1.srv.Of("/").EmitWithAck(actx, "ack-me", 1)
	must(t, err)
	equal(t, "acks", len(replies), 3)
	var nodeReplies []json.RawMessage
	node.MustCall(map[string]any{"op": "emitWithAck", "name": "ack-me"}, &nodeReplies)
	equal(t, "acks seen by node", len(nodeReplies), 3)

	// fetchSockets, both ways.
	sockets, err := g2.srv.In("room1").FetchSockets(ctx)
	must(t, err)
	var got []string
	for _, s := range sockets {
		got = append(got, s.ID)
	}
	equal(t, "sockets in room1", sorted(got), sorted([]string{ids["g1"], ids["n"]}))
	var fromNode []struct {
		ID string `json:"id"`
	}
	node.MustCall(map[string]any{"op": "fetchSockets", "rooms": []string{"room2"}}, &fromNode)
	if len(fromNode) != 1 || fromNode[0].ID != ids["g2"] {
		t.Fatalf("node fetchSockets: %+v", fromNode)
	}

	// socketsJoin and disconnectSockets.
	must(t, g1.srv.In("room3").SocketsJoin(ctx, "joined"))
	waitRooms(t, node, "n", ids["n"], "room1", "room3", "joined")

	// serverSideEmit with binary and acknowledgements, both ways.
	sctx, cancel2 := context.WithTimeout(ctx, 3*time.Second)
	defer cancel2()
	sreplies, err := g1.srv.Of("/").ServerSideEmitWithAck(sctx, "hello", []byte{1, 2})
	must(t, err)
	var from []string
	for _, r := range sreplies {
		var v struct {
			From string `json:"from"`
		}
		must(t, r.Decode(0, &v))
		from = append(from, v.From)
	}
	equal(t, "server-side replies", sorted(from), []string{"g2", "node"})
	ev, err := node.WaitEvent(func(e redistest.Event) bool { return e.Event == "serverSideEmit" }, wait)
	must(t, err)
	jsonEqual(t, "node received", ev.Args, `[{"$bin":"0102"}]`)
	var nodeSSE []struct {
		From string `json:"from"`
	}
	node.MustCall(map[string]any{"op": "serverSideEmitWithAck", "name": "hello", "args": []any{"n"}}, &nodeSSE)
	equal(t, "node's server-side replies", len(nodeSSE), 2)

	must(t, g2.srv.In("room1").DisconnectSockets(ctx))
	for range 2 {
		dis, err := node.WaitEvent(func(e redistest.Event) bool { return e.Event == "disconnect" }, wait)
		must(t, err)
		if dis.Client != "g1" && dis.Client != "n" {
			t.Errorf("disconnected %+v", dis)
		}
	}
	// The room's channel goes with the room.
	deadline := time.Now().Add(wait)
	for len(g1.sharded("/").rooms()) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("room channels left: %v", g1.sharded("/").rooms())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// What the Go sharded adapter publishes is byte for byte what Node's does.
func TestShardedBytesMatchNode(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "sharded.json"))
	must(t, err)
	var rec struct {
		UID   string         `json:"uid"`
		Steps []recordedStep `json:"steps"`
	}
	must(t, json.Unmarshal(data, &rec))
	find := func(step string, i int) (string, []byte) {
		for _, s := range rec.Steps {
			if s.Name == step {
				b, err := hex.DecodeString(s.Messages[i].Hex)
				must(t, err)
				return s.Messages[i].Channel, b
			}
		}
		t.Fatalf("no step %s", step)
		return "", nil
	}
	rs := redistest.Start(t)
	g := startSharded(t, rs.Addr(), "g", &ShardedConfig{RequestsTimeout: 100 * time.Millisecond})
	g.ready(t)
	a := g.sharded("/")
	c := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	defer c.Close()
	ps := c.SSubscribe(context.Background(), "socket.io#/#", "socket.io#/#room1#")
	defer ps.Close()
	for range 2 {
		_, err := ps.Receive(context.Background())
		must(t, err)
	}
	ctx := ctxFor(t, 20*time.Second)
	check := func(step string) {
		t.Helper()
		msg, err := ps.ReceiveMessage(ctx)
		must(t, err)
		channel, want := find(step, 0)
		node, err := wire.DecodeClusterMessage(want)
		must(t, err)
		got, err := wire.DecodeClusterMessage([]byte(msg.Payload))
		must(t, err)
		want = bytes.ReplaceAll(want, []byte(node.UID), []byte(a.UID()))
		if node.RequestID != "" {
			want = bytes.ReplaceAll(want, []byte(node.RequestID), []byte(got.RequestID))
		}
		if msg.Channel != channel || msg.Payload != string(want) {
			t.Errorf("%s:\n got %s %x\nwant %s %x", step, msg.Channel, msg.Payload, channel, want)
		}
	}
	nsp := g.srv.Of("/")
	must(t, nsp.Emit(ctx, "hello", "world", 1))
	check("emit")
	must(t, nsp.To("room1").Emit(ctx, "hello", map[string]any{"a": []any{1.5, nil}}))
	check("emit-room")
	must(t, nsp.To("room1", "room2").Except("room3").Volatile().Emit(ctx, "multi"))
	check("emit-rooms-except")
	must(t, nsp.Emit(ctx, "bin", []byte{1, 2, 3}, map[string]int{"x": 1}))
	check("emit-binary")
	p := &protocol.Packet{Type: protocol.Event, Namespace: "/", Data: raw(`["ack-me",42]`)}
	bctx, cancel := context.WithCancel(ctx)
	must(t, a.BroadcastWithAck(bctx, p, socketio.BroadcastOptions{Rooms: []string{"room1"}, Flags: socketio.BroadcastFlags{Timeout: time.Second}},
		func(int) {}, func(socketio.Args) {}))
	cancel()
	check("broadcast-ack")
	must(t, nsp.In("room1").Except("room3").SocketsJoin(ctx, "room2", "room4"))
	check("sockets-join")
	must(t, nsp.In("room2").SocketsLeave(ctx, "room4"))
	check("sockets-leave")
	must(t, nsp.In("nobody").CloseConns(ctx))
	check("disconnect-sockets")
	must(t, nsp.ServerSideEmit(ctx, "hello", "world", []byte{7}))
	check("server-side-emit")
	// The spy makes two servers: requests go out (and time out).
	_, _ = a.FetchSockets(ctx, socketio.BroadcastOptions{Rooms: []string{"room1"}, Flags: socketio.BroadcastFlags{Timeout: time.Second}})
	check("fetch-sockets")
	sctx, cancel2 := context.WithTimeout(ctx, 100*time.Millisecond)
	_, _ = nsp.ServerSideEmitWithAck(sctx, "ping", 7)
	cancel2()
	check("server-side-emit-ack")
}
