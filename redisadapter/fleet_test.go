package redisadapter

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/redisadapter/internal/redistest"
)

// fleet is a cluster of Go servers, and possibly the Node server of a peer,
// whose clients the peer hosts: one client per server, in the rooms of a
// fleetMember. Its scenario runs the same checks on the classic adapter and
// on the sharded one.
type fleet struct {
	servers []*goServer
	peer    *redistest.Peer
	// nodeMember tells that the peer's own server is a member of the
	// cluster: it gets a client too, and answers server-side emits.
	nodeMember bool
	// roomReady, when set, waits until the servers subscribed to the
	// channel of a room (sharded adapter, dynamic mode).
	roomReady func(t *testing.T, room string)

	members []fleetMember
	ids     map[string]string // client → socket id
}

type fleetMember struct {
	client string
	server int // index in servers; -1 for the peer's own server
	rooms  []string
}

// peerCounter counts servers through the peer's adapter.
type peerCounter struct{ p *redistest.Peer }

func (c peerCounter) ServerCount(context.Context) (int, error) {
	var n int
	err := c.p.Call(map[string]any{"op": "serverCount"}, &n)
	return n, err
}

// connect connects the clients: client i is on server i, in rooms[i]; the
// peer's client, when it is a member, in rooms[len(servers)].
func (f *fleet) connect(t *testing.T, rooms ...[]string) {
	t.Helper()
	f.ids = map[string]string{}
	var counters []serverCounter
	for i, g := range f.servers {
		g.ready(t)
		f.members = append(f.members, fleetMember{client: fmt.Sprintf("c%d", i), server: i, rooms: rooms[i]})
		counters = append(counters, g.srv.Of("/").Adapter().(serverCounter))
	}
	if f.nodeMember {
		f.members = append(f.members, fleetMember{client: "n", server: -1, rooms: rooms[len(f.servers)]})
		counters = append(counters, peerCounter{f.peer})
	}
	waitServerCount(t, len(counters), counters...)
	for _, m := range f.members {
		op := map[string]any{"client": m.client, "rooms": m.rooms}
		if m.server >= 0 {
			op["url"] = f.servers[m.server].url
		}
		f.ids[m.client] = connectClient(t, f.peer, op)
	}
	if f.roomReady != nil {
		for _, m := range f.members {
			for _, r := range m.rooms {
				f.roomReady(t, r)
			}
		}
	}
}

// selected returns the clients that a broadcast to rooms (all when empty)
// except rooms except reaches.
func (f *fleet) selected(rooms, except []string) []string {
	in := func(m fleetMember, set []string) bool {
		return slices.ContainsFunc(m.rooms, func(r string) bool { return slices.Contains(set, r) })
	}
	var out []string
	for _, m := range f.members {
		if (len(rooms) == 0 || in(m, rooms)) && !in(m, except) {
			out = append(out, m.client)
		}
	}
	return out
}

// expect checks that exactly the clients selected by rooms and except
// receive event, with args.
func (f *fleet) expect(t *testing.T, event, args string, rooms, except []string) {
	t.Helper()
	want := f.selected(rooms, except)
	if len(want) == 0 || len(want) == len(f.members) && (len(rooms) > 0 || len(except) > 0) {
		t.Fatalf("%s: a scenario that cannot tell: %v", event, want)
	}
	for _, c := range want {
		ev, err := f.peer.ClientEvent(c, event, wait)
		must(t, err)
		jsonEqual(t, c+" "+event, ev.Args, args)
	}
	time.Sleep(100 * time.Millisecond)
	for _, m := range f.members {
		if !slices.Contains(want, m.client) {
			noEvent(t, f.peer, m.client, event)
		}
	}
}

func (f *fleet) id(client string) string { return f.ids[client] }

// run is the scenario. Rooms: c0 in a; c1 in a and b; c2 in c; n (when a
// member) in b and c. Each check starts from another server.
func (f *fleet) run(t *testing.T, a, b, c string) {
	f.connect(t, []string{a}, []string{a, b}, []string{c}, []string{b, c})
	g := f.servers
	ctx := ctxFor(t, 60*time.Second)

	t.Run("broadcast", func(t *testing.T) {
		must(t, g[0].srv.Emit(ctx, "all", "x", []byte{1}))
		f.expect(t, "all", `["x",{"$bin":"01"}]`, nil, nil)
		must(t, g[1].srv.To(c).Emit(ctx, "to-c", 1))
		f.expect(t, "to-c", `[1]`, []string{c}, nil)
		must(t, g[2].srv.To(a).Emit(ctx, "to-a", 2))
		f.expect(t, "to-a", `[2]`, []string{a}, nil)
		must(t, g[2].srv.To(a, c).Except(b).Emit(ctx, "except-b", 3))
		f.expect(t, "except-b", `[3]`, []string{a, c}, []string{b})
		must(t, g[0].srv.Except(a).Emit(ctx, "all-but-a"))
		f.expect(t, "all-but-a", `[]`, nil, []string{a})
		must(t, g[1].srv.To(f.id("c2")).Emit(ctx, "direct")) // a socket id
		ev, err := f.peer.ClientEvent("c2", "direct", wait)
		must(t, err)
		jsonEqual(t, "direct", ev.Args, `[]`)
	})

	t.Run("fetchSockets", func(t *testing.T) {
		for i, s := range g {
			sockets, err := s.srv.Of("/").FetchSockets(ctx)
			must(t, err)
			var got []string
			for _, rs := range sockets {
				got = append(got, rs.ID)
			}
			var want []string
			for _, m := range f.members {
				want = append(want, f.id(m.client))
			}
			equal(t, fmt.Sprintf("sockets seen by server %d", i), sorted(got), sorted(want))
		}
		sockets, err := g[2].srv.In(a).Except(b).FetchSockets(ctx)
		must(t, err)
		if len(sockets) != 1 || sockets[0].ID != f.id("c0") {
			t.Fatalf("in %s except %s: %+v", a, b, sockets)
		}
		equal(t, "rooms of c0", sorted(sockets[0].Rooms), sorted([]string{f.id("c0"), a}))
		must(t, sockets[0].Emit(ctx, "remote", "hi"))
		ev, err := f.peer.ClientEvent("c0", "remote", wait)
		must(t, err)
		jsonEqual(t, "remote emit", ev.Args, `["hi"]`)
	})

	t.Run("socketsJoin", func(t *testing.T) {
		must(t, g[0].srv.In(c).SocketsJoin(ctx, "joined"))
		waitRooms(t, f.peer, "c2", f.id("c2"), c, "joined")
		if f.nodeMember {
			waitRooms(t, f.peer, "n", f.id("n"), b, c, "joined")
		}
		waitRooms(t, f.peer, "c0", f.id("c0"), a)
		for i := range f.members {
			if slices.Contains(f.members[i].rooms, c) {
				f.members[i].rooms = append(f.members[i].rooms, "joined")
			}
		}
		if f.roomReady != nil {
			f.roomReady(t, "joined")
		}
		must(t, g[1].srv.To("joined").Emit(ctx, "to-joined"))
		f.expect(t, "to-joined", `[]`, []string{"joined"}, nil)
		must(t, g[2].srv.In("joined").SocketsLeave(ctx, "joined"))
		waitRooms(t, f.peer, "c2", f.id("c2"), c)
	})

	t.Run("serverSideEmitWithAck", func(t *testing.T) {
		for i, s := range g {
			actx, cancel := context.WithTimeout(ctx, 3*time.Second)
			replies, err := s.srv.Of("/").ServerSideEmitWithAck(actx, "hello", i)
			cancel()
			must(t, err)
			var from, want []string
			for _, r := range replies {
				var v struct {
					From string          `json:"from"`
					Args json.RawMessage `json:"args"`
				}
				must(t, r.Decode(0, &v))
				from = append(from, v.From)
				jsonEqual(t, "args seen by "+v.From, v.Args, fmt.Sprintf("[%d]", i))
			}
			for j := range g {
				if j != i {
					want = append(want, fmt.Sprintf("g%d", j))
				}
			}
			if f.nodeMember {
				want = append(want, "node")
			}
			equal(t, fmt.Sprintf("replies to server %d", i), sorted(from), sorted(want))
		}
	})

	t.Run("emitWithAck", func(t *testing.T) {
		acked := func(replies []json.RawMessage) []string {
			var got []string
			for _, r := range replies {
				var v struct {
					Client string `json:"client"`
				}
				must(t, json.Unmarshal(r, &v))
				got = append(got, v.Client)
			}
			return sorted(got)
		}
		first := func(replies []socketio.Args) []json.RawMessage {
			var raw []json.RawMessage
			for _, r := range replies {
				raw = append(raw, r.Raw(0))
			}
			return raw
		}
		for i, s := range g {
			actx, cancel := context.WithTimeout(ctx, 3*time.Second)
			replies, err := s.srv.Of("/").EmitWithAck(actx, "ack-me", i)
			cancel()
			must(t, err)
			equal(t, fmt.Sprintf("acknowledged to server %d", i), acked(first(replies)), sorted(f.selected(nil, nil)))
		}
		actx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		replies, err := g[1].srv.To(b).EmitWithAck(actx, "ack-me", "b")
		must(t, err)
		equal(t, "acknowledged by room "+b, acked(first(replies)), sorted(f.selected([]string{b}, nil)))
		if f.nodeMember {
			var fromNode []json.RawMessage
			f.peer.MustCall(map[string]any{"op": "emitWithAck", "name": "ack-me"}, &fromNode)
			equal(t, "acknowledged to node", acked(fromNode), sorted(f.selected(nil, nil)))
		}
	})
}

// Three Go servers share one Redis with the classic adapter.
func TestClassicThreeGoServers(t *testing.T) {
	rs := redistest.Start(t)
	f := &fleet{peer: clientHost(t)}
	for i := range 3 {
		f.servers = append(f.servers, startGo(t, rs.Addr(), fmt.Sprintf("g%d", i), nil))
	}
	f.run(t, "room-a", "room-b", "room-c")
}

// shardedFleet starts a Redis Cluster and three Go servers with the
// sharded adapter, each with a cluster client of its own, plus the Node
// server of the peer when withNode.
func shardedFleet(t *testing.T, mode SubscriptionMode, withNode bool) (*fleet, *redistest.Cluster) {
	t.Helper()
	rc := redistest.StartCluster(t, 3)
	f := &fleet{nodeMember: withNode}
	cfg := &ShardedConfig{SubscriptionMode: mode, RequestsTimeout: 3 * time.Second}
	for i := range 3 {
		f.servers = append(f.servers, startShardedOn(t, rc, fmt.Sprintf("g%d", i), cfg))
	}
	if withNode {
		modes := map[SubscriptionMode]string{Static: "static", Dynamic: "dynamic", DynamicPrivate: "dynamic-private"}
		f.peer = redistest.StartPeer(t, rc.URLs(), "REDIS_CLUSTER=1", "ADAPTER=sharded", "SUBSCRIPTION_MODE="+modes[mode])
	} else {
		f.peer = clientHost(t)
	}
	if mode != Static {
		spy := rc.Client()
		f.roomReady = func(t *testing.T, room string) {
			t.Helper()
			channel := "socket.io#/#" + room + "#"
			want := int64(0)
			for _, g := range f.servers {
				if slices.Contains(g.sharded("/").rooms(), room) {
					want++
				}
			}
			if f.nodeMember && slices.ContainsFunc(f.members, func(m fleetMember) bool {
				return m.server < 0 && slices.Contains(m.rooms, room)
			}) {
				want++
			}
			waitFor(t, func() error {
				ctx := context.Background()
				master, err := spy.MasterForKey(ctx, channel)
				if err != nil {
					return err
				}
				n, err := master.PubSubShardNumSub(ctx, channel).Result()
				if err != nil || n[channel] != want {
					return fmt.Errorf("%s: %d subscribers (%v), want %d", channel, n[channel], err, want)
				}
				return nil
			})
		}
	}
	return f, rc
}

// startShardedOn starts a Go server with the sharded adapter on a Redis
// Cluster, with a cluster client of its own.
func startShardedOn(t *testing.T, rc *redistest.Cluster, name string, cfg *ShardedConfig) *goServer {
	t.Helper()
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs(), DialTimeout: time.Second})
	return startGoWith(t, rdb, name, func(rdb redis.UniversalClient) socketio.AdapterFactory { return NewSharded(rdb, cfg) })
}

// roomsOnMasters returns n room names whose channels in namespace "/" are
// served by n different masters.
func roomsOnMasters(t *testing.T, rc *redistest.Cluster, n int) []string {
	t.Helper()
	ctx := ctxFor(t, 10*time.Second)
	var rooms []string
	seen := map[int]bool{}
	for i := 0; len(rooms) < n; i++ {
		room := fmt.Sprintf("room%d", i)
		owner, err := rc.Owner(ctx, redistest.Slot("socket.io#/#"+room+"#"))
		must(t, err)
		if !seen[owner] {
			seen[owner] = true
			rooms = append(rooms, room)
		}
	}
	return rooms
}

// Three Go servers with the sharded adapter on a Redis Cluster of three
// masters; in dynamic mode the rooms' channels live on different masters.
func TestShardedOnRedisCluster(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mode     SubscriptionMode
		withNode bool
	}{
		{"static", Static, false},
		{"dynamic", Dynamic, false},
		{"dynamic with a Node server", Dynamic, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, rc := shardedFleet(t, tc.mode, tc.withNode)
			rooms := roomsOnMasters(t, rc, 3)
			f.run(t, rooms[0], rooms[1], rooms[2])
			if tc.mode == Static {
				for _, g := range f.servers {
					if r := g.sharded("/").rooms(); len(r) != 0 {
						t.Errorf("static mode subscribed to rooms %v", r)
					}
				}
			}
		})
	}
}

// Three Go servers with the Streams adapter on a Redis Cluster of three
// masters, requests and responses over sharded pub/sub, whose channels
// the servers subscribe to on the masters that serve them.
func TestStreamsOnRedisCluster(t *testing.T) {
	rc := redistest.StartCluster(t, 3)
	f := &fleet{peer: clientHost(t)}
	cfg := &StreamsConfig{UseShardedPubSub: true, RequestsTimeout: 3 * time.Second}
	for i := range 3 {
		rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs(), DialTimeout: time.Second})
		f.servers = append(f.servers, startGoWith(t, rdb, fmt.Sprintf("g%d", i),
			func(rdb redis.UniversalClient) socketio.AdapterFactory { return NewStreams(rdb, cfg) }))
	}
	f.run(t, "room-a", "room-b", "room-c")
}

// When the slots of a room's channel and of the namespace's channel move to
// another master, the servers subscribe to them there.
func TestShardedClusterSlotMoved(t *testing.T) {
	rc := redistest.StartCluster(t, 3)
	f := &fleet{peer: clientHost(t)}
	cfg := &ShardedConfig{RequestsTimeout: 2 * time.Second}
	for i := range 2 {
		f.servers = append(f.servers, startShardedOn(t, rc, fmt.Sprintf("g%d", i), cfg))
	}
	room := roomsOnMasters(t, rc, 1)[0]
	f.connect(t, []string{room}, []string{room})
	waitSubscribed(t, f.servers...)
	ctx := ctxFor(t, 30*time.Second)
	must(t, f.servers[1].srv.To(room).Emit(ctx, "before"))
	f.expect(t, "before", `[]`, nil, nil)

	for _, channel := range []string{"socket.io#/#" + room + "#", "socket.io#/#"} {
		slot := redistest.Slot(channel)
		from, err := rc.Owner(ctx, slot)
		must(t, err)
		must(t, rc.MoveSlot(ctx, slot, (from+1)%3))
		must(t, rc.WaitOwner(ctx, slot, (from+1)%3))
	}
	// The old masters unsubscribed the servers; they subscribe again on
	// the new ones.
	counters := []serverCounter{f.servers[0].sharded("/"), f.servers[1].sharded("/")}
	waitServerCount(t, 2, counters...)
	waitSubscribed(t, f.servers...)
	spy := rc.Client() // knows the new masters
	channel := "socket.io#/#" + room + "#"
	master, err := spy.MasterForKey(ctx, channel)
	must(t, err)
	waitFor(t, func() error {
		n, err := master.PubSubShardNumSub(ctx, channel).Result()
		if err != nil || n[channel] != 2 {
			return fmt.Errorf("%d subscribers of the room's channel on its new master (%v), want 2", n[channel], err)
		}
		return nil
	})

	must(t, f.servers[1].srv.To(room).Emit(ctx, "after-room"))
	f.expect(t, "after-room", `[]`, nil, nil)
	must(t, f.servers[0].srv.Emit(ctx, "after-all", 1))
	f.expect(t, "after-all", `[1]`, nil, nil)
	sockets, err := f.servers[0].srv.Of("/").FetchSockets(ctx)
	must(t, err)
	equal(t, "sockets after the move", len(sockets), 2)
}
