package pgadapter

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/internal/nodepeer"
	"github.com/sio-go/socketio/pgadapter/emitter"
)

// mixed is two Go servers and one Node.js server (official adapter)
// sharing one database, with Node socket.io-client clients:
//
//	g1 on Go server 1, in room1
//	g2 on Go server 2, in room2
//	n  on the Node server, in room1 and room3
type mixed struct {
	g1, g2 *goServer
	node   *nodepeer.Peer
	ids    map[string]string // client → socket id
}

func startMixed(t *testing.T) *mixed {
	t.Helper()
	db := newDB(t)
	c := &mixed{ids: map[string]string{}}
	c.g1 = startGo(t, db, "g1", nil)
	c.g2 = startGo(t, db, "g2", nil)
	c.node = startNode(t, db)
	c.ids["g1"] = c.node.Connect(t, map[string]any{"client": "g1", "url": c.g1.url, "rooms": []string{"room1"}})
	c.ids["g2"] = c.node.Connect(t, map[string]any{"client": "g2", "url": c.g2.url, "rooms": []string{"room2"}})
	c.ids["n"] = c.node.Connect(t, map[string]any{"client": "n", "rooms": []string{"room1", "room3"}})
	// Every server counts the others once it heard their heartbeats.
	waitServerCount(t, 3, c.g1.adapter("/"), c.g2.adapter("/"))
	waitFor(t, func() error {
		var n int
		c.node.MustCall(map[string]any{"op": "serverCount"}, &n)
		if n != 3 {
			return errors.New("the Node server does not count 3 servers yet")
		}
		return nil
	})
	return c
}

// marker makes sure the events sent before it were delivered: each client
// receives "marker" after what the same server broadcast earlier.
func (c *mixed) marker(t *testing.T, g *goServer) {
	t.Helper()
	must(t, g.srv.Emit(context.Background(), "marker"))
	for _, cl := range []string{"g1", "g2", "n"} {
		event(t, c.node, cl, "marker")
	}
}

// A cluster of Go and Node servers on the official Postgres adapter:
// broadcasts both ways, rooms, binary and large payloads (through the
// attachment table), fetchSockets, socketsJoin and socketsLeave,
// serverSideEmit and broadcasts with acknowledgements, disconnectSockets.
func TestMixedCluster(t *testing.T) {
	c := startMixed(t)
	ctx := ctxFor(t, wait)

	t.Run("broadcast from Go", func(t *testing.T) {
		must(t, c.g1.srv.Emit(ctx, "hello", "world", 1))
		for _, cl := range []string{"g1", "g2", "n"} {
			jsonEqual(t, cl, event(t, c.node, cl, "hello"), `["world",1]`)
		}
	})
	t.Run("broadcast from Node to a room", func(t *testing.T) {
		c.node.MustCall(map[string]any{"op": "emit", "name": "r1", "rooms": []string{"room1"}, "args": []any{"x"}}, nil)
		jsonEqual(t, "g1", event(t, c.node, "g1", "r1"), `["x"]`)
		jsonEqual(t, "n", event(t, c.node, "n", "r1"), `["x"]`)
		c.node.MustCall(map[string]any{"op": "emit", "name": "marker"}, nil)
		event(t, c.node, "g2", "marker")
		noEvent(t, c.node, "g2", "r1")
	})
	t.Run("except from Go", func(t *testing.T) {
		must(t, c.g2.srv.Except("room1").Emit(ctx, "ex", true))
		event(t, c.node, "g2", "ex")
		c.marker(t, c.g2)
		noEvent(t, c.node, "g1", "ex")
		noEvent(t, c.node, "n", "ex")
	})
	t.Run("binary", func(t *testing.T) {
		must(t, c.g1.srv.Emit(ctx, "bin", []byte{1, 2, 3}))
		jsonEqual(t, "n", event(t, c.node, "n", "bin"), `[{"$bin":"010203"}]`)
		c.node.MustCall(map[string]any{"op": "emit", "name": "bin2", "args": []any{map[string]any{"$bin": "0a0b"}}}, nil)
		jsonEqual(t, "g2", event(t, c.node, "g2", "bin2"), `[{"$bin":"0a0b"}]`)
	})
	t.Run("large payloads", func(t *testing.T) {
		big := strings.Repeat("é", 10_000) // 20,000 bytes: through the attachment table
		must(t, c.g1.srv.To("room3").Emit(ctx, "big", big))
		var got []string
		must(t, json.Unmarshal(event(t, c.node, "n", "big"), &got))
		if len(got) != 1 || got[0] != big {
			t.Fatalf("n received %d strings of %v bytes", len(got), len(got[0]))
		}
		c.node.MustCall(map[string]any{"op": "emit", "name": "big2", "rooms": []string{"room2"}, "args": []any{big}}, nil)
		must(t, json.Unmarshal(event(t, c.node, "g2", "big2"), &got))
		if got[0] != big {
			t.Fatal("g2 received another string")
		}
	})
	t.Run("fetchSockets", func(t *testing.T) {
		sockets, err := c.g1.srv.In("room1").FetchSockets(ctx)
		must(t, err)
		var ids []string
		for _, s := range sockets {
			ids = append(ids, s.ID)
		}
		slices.Sort(ids)
		want := []string{c.ids["g1"], c.ids["n"]}
		slices.Sort(want)
		if !slices.Equal(ids, want) {
			t.Fatalf("fetchSockets(room1) = %v, want %v", ids, want)
		}
		var fromNode []struct {
			ID    string   `json:"id"`
			Rooms []string `json:"rooms"`
		}
		c.node.MustCall(map[string]any{"op": "fetchSockets"}, &fromNode)
		if len(fromNode) != 3 {
			t.Fatalf("Node fetchSockets: %d sockets, want 3", len(fromNode))
		}
	})
	t.Run("socketsJoin and socketsLeave", func(t *testing.T) {
		must(t, c.g2.srv.In("room1").SocketsJoin(ctx, "joined"))
		c.node.WaitRooms(t, "n", c.ids["n"], "room1", "room3", "joined")
		c.node.WaitRooms(t, "g1", c.ids["g1"], "room1", "joined")
		c.node.MustCall(map[string]any{"op": "socketsLeave", "leave": "joined"}, nil)
		c.node.WaitRooms(t, "g1", c.ids["g1"], "room1")
		c.node.WaitRooms(t, "n", c.ids["n"], "room1", "room3")
	})
	t.Run("serverSideEmit with acks", func(t *testing.T) {
		replies, err := c.g1.srv.Of("/").ServerSideEmitWithAck(ctx, "hello", "there")
		must(t, err)
		var from []string
		for _, r := range replies {
			var v struct {
				From string `json:"from"`
			}
			must(t, r.Decode(0, &v))
			from = append(from, v.From)
		}
		slices.Sort(from)
		if !slices.Equal(from, []string{"g2", "node"}) {
			t.Fatalf("replies from %v", from)
		}
		var nodeReplies []struct {
			From string `json:"from"`
		}
		c.node.MustCall(map[string]any{"op": "serverSideEmitWithAck", "name": "hello", "args": []any{1}}, &nodeReplies)
		if len(nodeReplies) != 2 {
			t.Fatalf("Node got %d replies, want 2: %+v", len(nodeReplies), nodeReplies)
		}
	})
	t.Run("broadcast with acks", func(t *testing.T) {
		replies, err := c.g2.srv.Of("/").EmitWithAck(ctx, "ask", "q")
		must(t, err)
		if len(replies) != 3 {
			t.Fatalf("%d acknowledgements, want 3", len(replies))
		}
		var fromNode []json.RawMessage
		c.node.MustCall(map[string]any{"op": "emitWithAck", "name": "ask", "timeout": 3000}, &fromNode)
		if len(fromNode) != 3 {
			t.Fatalf("Node: %d acknowledgements, want 3", len(fromNode))
		}
	})
	t.Run("Node emitter to Go sockets", func(t *testing.T) {
		c.node.MustCall(map[string]any{"op": "pgEmit", "name": "news", "rooms": []string{"room2"}, "args": []any{"from node"}}, nil)
		jsonEqual(t, "g2", event(t, c.node, "g2", "news"), `["from node"]`)
		c.node.MustCall(map[string]any{"op": "pgEmit", "name": "newsbin", "args": []any{map[string]any{"$bin": "ff"}}}, nil)
		jsonEqual(t, "g1", event(t, c.node, "g1", "newsbin"), `[{"$bin":"ff"}]`)
		jsonEqual(t, "g2", event(t, c.node, "g2", "newsbin"), `[{"$bin":"ff"}]`)
		// The Node adapter 0.5 ignores the Node emitter's messages, which do
		// not name their namespace: its clients get nothing.
		c.node.MustCall(map[string]any{"op": "pgEmit", "name": "plain"}, nil)
		event(t, c.node, "g1", "plain")
		c.marker(t, c.g1)
		noEvent(t, c.node, "n", "plain")
	})
	t.Run("Go emitter to Node sockets", func(t *testing.T) {
		e := emitter.New(c.g1.adapter("/").hub.pool, nil)
		must(t, e.To("room3").Emit(ctx, "gonews", map[string]int{"n": 1}))
		jsonEqual(t, "n", event(t, c.node, "n", "gonews"), `[{"n":1}]`)
		must(t, e.Emit(ctx, "gobin", []byte{9}, strings.Repeat("x", 9000)))
		for _, cl := range []string{"g1", "g2", "n"} {
			var args []json.RawMessage
			must(t, json.Unmarshal(event(t, c.node, cl, "gobin"), &args))
			jsonEqual(t, cl, args[0], `{"$bin":"09"}`)
		}
		must(t, e.In("room2").SocketsJoin(ctx, "fromEmitter"))
		c.node.WaitRooms(t, "g2", c.ids["g2"], "room2", "fromEmitter")
	})
	t.Run("disconnectSockets", func(t *testing.T) {
		must(t, c.g1.srv.In("room3").DisconnectSockets(ctx))
		ev, err := c.node.WaitEvent(func(e nodepeer.Event) bool { return e.Event == "disconnect" }, wait)
		must(t, err)
		if ev.Client != "n" || ev.Reason != "io server disconnect" {
			t.Fatalf("disconnect %+v", ev)
		}
		waitFor(t, func() error {
			if s, _ := c.g1.srv.Of("/").FetchSockets(ctx); len(s) != 2 {
				return errors.New("the Node socket is still listed")
			}
			return nil
		})
	})
	var _ socketio.Adapter = c.g1.adapter("/")
}
