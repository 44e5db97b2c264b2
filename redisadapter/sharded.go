package redisadapter

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/internal/cluster"
	"github.com/sio-go/socketio/internal/cluster/wire"
	"github.com/sio-go/socketio/protocol"
)

// SubscriptionMode tells which channels a sharded adapter subscribes to.
type SubscriptionMode int

const (
	// Dynamic (the default) adds a channel per public room: a broadcast
	// to one room that is not a socket id reaches only the servers that
	// have the room.
	Dynamic SubscriptionMode = iota
	// Static uses only the namespace's channel (and the response one).
	Static
	// DynamicPrivate adds a channel per room, socket ids included.
	DynamicPrivate
)

// ShardedConfig configures the sharded adapters of a server. The zero value
// takes the defaults of the Node adapter.
type ShardedConfig struct {
	// ChannelPrefix prefixes the channels. Defaults to "socket.io".
	ChannelPrefix string
	// SubscriptionMode defaults to Dynamic.
	SubscriptionMode SubscriptionMode
	// RequestsTimeout bounds the wait for other servers' responses; see
	// Config.RequestsTimeout. Defaults to 5 seconds.
	RequestsTimeout time.Duration
	// Publish tells how the messages for the other servers are published,
	// and what happens while Redis is unreachable. Its zero value takes
	// the defaults of its fields.
	Publish PublishConfig
	// Logger receives the adapter's logs. Defaults to nil: nothing is logged.
	Logger *slog.Logger
}

// NewSharded returns an adapter factory compatible with the sharded adapter
// of @socket.io/redis-adapter (createShardedAdapter): Redis 7 sharded
// pub/sub (SSUBSCRIBE, SPUBLISH) and the messages of socket.io-adapter's
// ClusterAdapter. client may be a standalone *redis.Client or a
// *redis.ClusterClient: on a Redis Cluster the adapters subscribe to each
// channel on the master that serves its slot, and follow the slots when
// they move.
func NewSharded(client redis.UniversalClient, cfg *ShardedConfig) socketio.AdapterFactory {
	c := ShardedConfig{}
	if cfg != nil {
		c = *cfg
	}
	if c.ChannelPrefix == "" {
		c.ChannelPrefix = "socket.io"
	}
	if c.RequestsTimeout <= 0 {
		c.RequestsTimeout = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.Publish = c.Publish.withDefaults()
	h := &hub{client: client, log: c.Logger, sharded: true, timeout: c.Publish.Timeout}
	return func(nsp *socketio.Namespace) socketio.Adapter {
		a := &ShardedAdapter{
			hub:     h,
			cfg:     &c,
			dynamic: map[string]bool{},
			node:    newNode(nsp, c.RequestsTimeout, c.Logger),
		}
		n := a.node
		a.channel = c.ChannelPrefix + "#" + n.NspName + "#"
		a.responseChannel = a.channel + n.UID + "#"
		n.Post = func(op string, m *wire.ClusterMessage, done func(any, error)) error {
			return a.publish(Op(op), a.channel, m, done)
		}
		n.Respond = a.respondSharded
		n.CountServers = a.ServerCount
		var l *cluster.Link
		a.sub, l = h.acquire()
		n.Out = newOutbox(l, client, c.Publish, c.Logger, n.NspName)
		n.Out.SetServers(a.ServerCount)
		a.sub.add(subscription{shard: []string{a.channel, a.responseChannel}}, a.onMessage)
		if c.SubscriptionMode != Static {
			nsp.OnRoomEvent(a.onRoomEvent)
		}
		return a
	}
}

// ShardedAdapter is the sharded adapter of one namespace.
type ShardedAdapter struct {
	hub *hub
	cfg *ShardedConfig
	sub *subscriber

	channel         string // "<prefix>#<nsp>#"
	responseChannel string // channel + uid + "#"

	closeOnce sync.Once
	node      *cluster.Node
	dynamic   map[string]bool // room channels subscribed to, guarded by node.Mu
}

var (
	_ socketio.Adapter      = (*ShardedAdapter)(nil)
	_ socketio.SessionStore = (*ShardedAdapter)(nil)
)

// Ready waits until Redis confirmed the subscriptions to the namespace's
// channel and to the adapter's response channel.
func (a *ShardedAdapter) Ready(ctx context.Context) error {
	if a.node.IsClosed() {
		return ErrClosed
	}
	return a.sub.waitReady(ctx, []string{a.channel, a.responseChannel})
}

func (a *ShardedAdapter) dynamicChannel(room string) string { return a.channel + room + "#" }

// separate reports whether room has a channel of its own.
func (a *ShardedAdapter) separate(room string, socketID bool) bool {
	switch a.cfg.SubscriptionMode {
	case Dynamic:
		return !socketID
	case DynamicPrivate:
		return true
	}
	return false
}

// onRoomEvent subscribes to the channel of a room created here and
// unsubscribes when the room is deleted. It runs on the goroutine that
// changed the room and only queues the change.
func (a *ShardedAdapter) onRoomEvent(ev socketio.RoomEvent) {
	if a.node.IsClosed() {
		return
	}
	switch ev.Type {
	case socketio.RoomCreated:
		if !a.separate(ev.Room, a.node.Mem.SocketRooms(ev.Room) != nil) {
			return
		}
		a.node.Mu.Lock()
		a.dynamic[ev.Room] = true
		a.node.Mu.Unlock()
		a.sub.add(subscription{shard: []string{a.dynamicChannel(ev.Room)}}, a.onMessage)
	case socketio.RoomDeleted:
		a.node.Mu.Lock()
		ok := a.dynamic[ev.Room]
		delete(a.dynamic, ev.Room)
		a.node.Mu.Unlock()
		if ok {
			a.sub.remove(subscription{shard: []string{a.dynamicChannel(ev.Room)}})
		}
	}
}

// PersistSession stores the state of a disconnected socket on this server.
func (a *ShardedAdapter) PersistSession(s *socketio.Session) { a.node.Mem.PersistSession(s) }

// RestoreSession restores a session stored on this server.
func (a *ShardedAdapter) RestoreSession(ctx context.Context, pid, offset string) (*socketio.Session, error) {
	return a.node.Mem.RestoreSession(ctx, pid, offset)
}

// publish queues m for channel, with SPUBLISH.
func (a *ShardedAdapter) publish(op Op, channel string, m *wire.ClusterMessage, done func(any, error)) error {
	m.UID, m.Nsp = a.node.UID, a.node.NspName
	msg, err := wire.AppendClusterMessage(nil, m)
	if err != nil {
		return fmt.Errorf("redisadapter: %w", err)
	}
	var p *protocol.Packet
	if op == OpBroadcast || op == OpBroadcastWithAck {
		p = m.Packet
	}
	// Every server of the namespace subscribes to its channel.
	return a.node.Out.Push(message(op, p, len(msg), spublishCmd(channel, msg), channel == a.channel, done))
}

// respondSharded queues a response for the server whose uid is to.
func (a *ShardedAdapter) respondSharded(to string, m *wire.ClusterMessage) {
	_ = a.publish(OpResponse, a.channel+to+"#", m, nil)
}

func looksLikeSocketID(room string) bool { return len(room) == 20 }

// Broadcast delivers p locally, then queues it (unless opts.Flags.Local):
// on the room's own channel when it targets one public room. Like
// Adapter.Broadcast, it does not wait for Redis.
func (a *ShardedAdapter) Broadcast(ctx context.Context, p *protocol.Packet, opts socketio.BroadcastOptions) error {
	if err := a.node.Mem.Broadcast(ctx, p, opts); err != nil || opts.Flags.Local {
		return err
	}
	channel := a.channel
	if len(opts.Rooms) == 1 {
		room := opts.Rooms[0]
		if (a.cfg.SubscriptionMode == Dynamic && !looksLikeSocketID(room)) || a.cfg.SubscriptionMode == DynamicPrivate {
			channel = a.dynamicChannel(room)
		}
	}
	o := cluster.ToWire(opts)
	return a.publish(OpBroadcast, channel, &wire.ClusterMessage{Type: wire.ClusterBroadcast, Packet: p, Opts: &o}, nil)
}

// BroadcastWithAck delivers the packet locally, then queues it with a
// request id on the namespace's channel.
func (a *ShardedAdapter) BroadcastWithAck(ctx context.Context, p *protocol.Packet, opts socketio.BroadcastOptions,
	clientCount func(int), ack func(socketio.Args)) error {
	return a.node.BroadcastWithAck(ctx, p, opts, clientCount, ack)
}

// ServerCount returns the number of servers subscribed to the namespace's
// channel (PUBSUB SHARDNUMSUB, asked of the master that serves the channel
// in a Redis Cluster).
func (a *ShardedAdapter) ServerCount(ctx context.Context) (int, error) {
	return numSub(ctx, a.node.Out.Link(), a.hub.client, a.channel, true)
}

// AddSockets makes the sockets opts selects join rooms, here and on the
// other servers.
func (a *ShardedAdapter) AddSockets(ctx context.Context, opts socketio.BroadcastOptions, rooms []string) error {
	return a.node.AddSockets(ctx, opts, rooms)
}

// DelSockets makes the sockets opts selects leave rooms.
func (a *ShardedAdapter) DelSockets(ctx context.Context, opts socketio.BroadcastOptions, rooms []string) error {
	return a.node.DelSockets(ctx, opts, rooms)
}

// DisconnectSockets disconnects the sockets opts selects.
func (a *ShardedAdapter) DisconnectSockets(ctx context.Context, opts socketio.BroadcastOptions, close bool) error {
	return a.node.DisconnectSockets(ctx, opts, close)
}

// FetchSockets returns the sockets opts selects on every server.
func (a *ShardedAdapter) FetchSockets(ctx context.Context, opts socketio.BroadcastOptions) ([]*socketio.RemoteSocket, error) {
	return a.node.FetchSockets(ctx, opts)
}

// ServerSideEmit publishes the event for the other servers; see
// Adapter.ServerSideEmit. Binary arguments travel as binary (MessagePack).
func (a *ShardedAdapter) ServerSideEmit(ctx context.Context, p *protocol.Packet, reply func(socketio.Args)) (int, error) {
	return a.node.ServerSideEmit(ctx, p, reply)
}

// AddAll adds socket id to rooms.
func (a *ShardedAdapter) AddAll(id string, rooms []string) { a.node.AddAll(id, rooms) }

// Del removes socket id from room.
func (a *ShardedAdapter) Del(id, room string) { a.node.Del(id, room) }

// DelAll removes socket id from every room.
func (a *ShardedAdapter) DelAll(id string) { a.node.DelAll(id) }

// SocketRooms returns the rooms of local socket id.
func (a *ShardedAdapter) SocketRooms(id string) []string { return a.node.SocketRooms(id) }

// UID returns the random id of the adapter, which other servers see in its
// messages.
func (a *ShardedAdapter) UID() string { return a.node.UID }

// RequestsTimeout returns how long a request waits for the other servers'
// responses (ShardedConfig.RequestsTimeout).
func (a *ShardedAdapter) RequestsTimeout() time.Duration { return a.node.RequestsTimeout() }

// PublishStats returns the counters of the namespace's publishing queue.
func (a *ShardedAdapter) PublishStats() PublishStats { return publishStats(a.node.Out) }

// Close fails the adapter's pending requests, publishes what it queued
// (for at most PublishConfig.Timeout) and unsubscribes it.
func (a *ShardedAdapter) Close() error {
	a.closeOnce.Do(func() {
		a.node.Mu.Lock()
		a.node.CloseRequestsLocked()
		shard := []string{a.channel, a.responseChannel}
		for room := range a.dynamic {
			shard = append(shard, a.dynamicChannel(room))
		}
		clear(a.dynamic)
		a.node.Mu.Unlock()
		a.node.Out.Close()
		a.hub.release(subscription{shard: shard})
		_ = a.node.Mem.Close()
	})
	return nil
}

// onMessage handles a message of one of the adapter's channels, on the
// subscriber's goroutine.
func (a *ShardedAdapter) onMessage(channel string, payload []byte) {
	if a.node.IsClosed() {
		return
	}
	m, err := wire.DecodeClusterMessage(payload)
	if err != nil {
		a.cfg.Logger.Debug("redisadapter: malformed message ignored", "nsp", a.node.NspName, "err", err)
		return
	}
	a.node.Apply(a.sub.ctx, m, "")
}

// rooms returns the rooms with a channel of their own, for tests.
func (a *ShardedAdapter) rooms() []string {
	a.node.Mu.Lock()
	defer a.node.Mu.Unlock()
	out := make([]string, 0, len(a.dynamic))
	for r := range a.dynamic {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}
