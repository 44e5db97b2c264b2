package redisadapter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/protocol"
	"github.com/sio-go/socketio/redisadapter/internal/wire"
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
	// RequestsTimeout bounds the wait for other servers' responses.
	// Defaults to 5 seconds.
	RequestsTimeout time.Duration
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
	h := &hub{client: client, log: c.Logger, sharded: true}
	return func(nsp *socketio.Namespace) socketio.Adapter {
		a := &ShardedAdapter{
			hub:     h,
			cfg:     &c,
			mem:     socketio.NewMemoryAdapter(nsp),
			nsp:     nsp,
			nspName: nsp.Name(),
			uid:     randomHex(),
			dynamic: map[string]bool{},

			requestTable: newRequestTable(c.RequestsTimeout),
		}
		a.channel = c.ChannelPrefix + "#" + a.nspName + "#"
		a.responseChannel = a.channel + a.uid + "#"
		a.sub = h.acquire()
		a.sub.add(subscription{shard: []string{a.channel, a.responseChannel}}, a.onMessage)
		if c.SubscriptionMode != Static {
			nsp.OnRoomEvent(a.onRoomEvent)
		}
		return a
	}
}

// randomHex returns 16 hexadecimal characters, like the Node
// ClusterAdapter's ids.
func randomHex() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ShardedAdapter is the sharded adapter of one namespace.
type ShardedAdapter struct {
	hub     *hub
	cfg     *ShardedConfig
	sub     *subscriber
	mem     *socketio.MemoryAdapter
	nsp     *socketio.Namespace
	nspName string
	uid     string

	channel         string // "<prefix>#<nsp>#"
	responseChannel string // channel + uid + "#"

	closeOnce sync.Once
	requestTable
	dynamic map[string]bool // room channels subscribed to, guarded by mu
}

var (
	_ socketio.Adapter      = (*ShardedAdapter)(nil)
	_ socketio.SessionStore = (*ShardedAdapter)(nil)
)

// UID returns the random id of the adapter.
func (a *ShardedAdapter) UID() string { return a.uid }

// Ready waits until Redis confirmed the subscriptions to the namespace's
// channel and to the adapter's response channel.
func (a *ShardedAdapter) Ready(ctx context.Context) error {
	if a.closed.Load() {
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
	if a.closed.Load() {
		return
	}
	switch ev.Type {
	case socketio.RoomCreated:
		if !a.separate(ev.Room, a.mem.SocketRooms(ev.Room) != nil) {
			return
		}
		a.mu.Lock()
		a.dynamic[ev.Room] = true
		a.mu.Unlock()
		a.sub.add(subscription{shard: []string{a.dynamicChannel(ev.Room)}}, a.onMessage)
	case socketio.RoomDeleted:
		a.mu.Lock()
		ok := a.dynamic[ev.Room]
		delete(a.dynamic, ev.Room)
		a.mu.Unlock()
		if ok {
			a.sub.remove(subscription{shard: []string{a.dynamicChannel(ev.Room)}})
		}
	}
}

// AddAll adds socket id to rooms.
func (a *ShardedAdapter) AddAll(id string, rooms []string) { a.mem.AddAll(id, rooms) }

// Del removes socket id from room.
func (a *ShardedAdapter) Del(id, room string) { a.mem.Del(id, room) }

// DelAll removes socket id from every room.
func (a *ShardedAdapter) DelAll(id string) { a.mem.DelAll(id) }

// SocketRooms returns the rooms of local socket id.
func (a *ShardedAdapter) SocketRooms(id string) []string { return a.mem.SocketRooms(id) }

// PersistSession stores the state of a disconnected socket on this server.
func (a *ShardedAdapter) PersistSession(s *socketio.Session) { a.mem.PersistSession(s) }

// RestoreSession restores a session stored on this server.
func (a *ShardedAdapter) RestoreSession(pid, offset string) (*socketio.Session, error) {
	return a.mem.RestoreSession(pid, offset)
}

// publish publishes m on channel with SPUBLISH.
func (a *ShardedAdapter) publish(ctx context.Context, channel string, m *wire.ClusterMessage) error {
	if a.closed.Load() {
		return ErrClosed
	}
	m.UID, m.Nsp = a.uid, a.nspName
	msg, err := wire.AppendClusterMessage(nil, m)
	if err != nil {
		return fmt.Errorf("redisadapter: %w", err)
	}
	if err := a.hub.client.SPublish(ctx, channel, msg).Err(); err != nil {
		return fmt.Errorf("redisadapter: publish to %s: %w", channel, err)
	}
	return nil
}

// respond queues a response for the server whose uid is to.
func (a *ShardedAdapter) respond(to string, m *wire.ClusterMessage) {
	m.UID, m.Nsp = a.uid, a.nspName
	msg, err := wire.AppendClusterMessage(nil, m)
	if err != nil {
		return
	}
	a.sub.sendSharded(a.channel+to+"#", msg)
}

func looksLikeSocketID(room string) bool { return len(room) == 20 }

// Broadcast delivers p locally, then publishes it (unless opts.Flags.Local):
// on the room's own channel when it targets one public room.
func (a *ShardedAdapter) Broadcast(ctx context.Context, p *protocol.Packet, opts socketio.BroadcastOptions) error {
	if err := a.mem.Broadcast(ctx, p, opts); err != nil || opts.Flags.Local {
		return err
	}
	channel := a.channel
	if len(opts.Rooms) == 1 {
		room := opts.Rooms[0]
		if (a.cfg.SubscriptionMode == Dynamic && !looksLikeSocketID(room)) || a.cfg.SubscriptionMode == DynamicPrivate {
			channel = a.dynamicChannel(room)
		}
	}
	o := toWire(opts)
	return a.publish(ctx, channel, &wire.ClusterMessage{Type: wire.ClusterBroadcast, Packet: p, Opts: &o})
}

// BroadcastWithAck publishes the packet with a request id on the
// namespace's channel, then delivers it locally.
func (a *ShardedAdapter) BroadcastWithAck(ctx context.Context, p *protocol.Packet, opts socketio.BroadcastOptions,
	clientCount func(int), ack func(socketio.Args)) error {
	var perr error
	if !opts.Flags.Local {
		id := randomHex()
		a.mu.Lock()
		a.acks[id] = &ackPending{clientCount: clientCount, ack: ack}
		a.mu.Unlock()
		context.AfterFunc(ctx, func() {
			a.mu.Lock()
			delete(a.acks, id)
			a.mu.Unlock()
		})
		q := *p
		q.HasID = false
		o := toWire(opts)
		perr = a.publish(ctx, a.channel, &wire.ClusterMessage{Type: wire.ClusterBroadcast, Packet: &q, RequestID: id, Opts: &o})
	}
	if err := a.mem.BroadcastWithAck(ctx, p, opts, clientCount, ack); err != nil {
		return err
	}
	return perr
}

// ServerCount returns the number of servers subscribed to the namespace's
// channel (PUBSUB SHARDNUMSUB, asked of the master that serves the channel
// in a Redis Cluster).
func (a *ShardedAdapter) ServerCount(ctx context.Context) (int, error) {
	var client redis.Cmdable = a.hub.client
	if cc, ok := a.hub.client.(*redis.ClusterClient); ok {
		master, err := cc.MasterForKey(ctx, a.channel)
		if err != nil {
			return 0, fmt.Errorf("redisadapter: server count: %w", err)
		}
		client = master
	}
	m, err := client.PubSubShardNumSub(ctx, a.channel).Result()
	if err != nil {
		return 0, fmt.Errorf("redisadapter: server count: %w", err)
	}
	return int(m[a.channel]), nil
}

// AddSockets makes the sockets opts selects join rooms, here and on the
// other servers.
func (a *ShardedAdapter) AddSockets(ctx context.Context, opts socketio.BroadcastOptions, rooms []string) error {
	return a.remote(ctx, opts, &wire.ClusterMessage{Type: wire.SocketsJoin, Rooms: nonNil(rooms)},
		func() error { return a.mem.AddSockets(ctx, opts, rooms) })
}

// DelSockets makes the sockets opts selects leave rooms.
func (a *ShardedAdapter) DelSockets(ctx context.Context, opts socketio.BroadcastOptions, rooms []string) error {
	return a.remote(ctx, opts, &wire.ClusterMessage{Type: wire.SocketsLeave, Rooms: nonNil(rooms)},
		func() error { return a.mem.DelSockets(ctx, opts, rooms) })
}

// DisconnectSockets disconnects the sockets opts selects.
func (a *ShardedAdapter) DisconnectSockets(ctx context.Context, opts socketio.BroadcastOptions, close bool) error {
	return a.remote(ctx, opts, &wire.ClusterMessage{Type: wire.DisconnectSockets, Close: close},
		func() error { return a.mem.DisconnectSockets(ctx, opts, close) })
}

func (a *ShardedAdapter) remote(ctx context.Context, opts socketio.BroadcastOptions, m *wire.ClusterMessage, local func() error) error {
	if err := local(); err != nil || opts.Flags.Local {
		return err
	}
	o := toWire(opts)
	o.Rooms, o.Except = nonNil(o.Rooms), nonNil(o.Except)
	m.Opts = &o
	return a.publish(ctx, a.channel, m)
}

// FetchSockets returns the sockets opts selects on every server.
func (a *ShardedAdapter) FetchSockets(ctx context.Context, opts socketio.BroadcastOptions) ([]*socketio.RemoteSocket, error) {
	local, err := a.mem.FetchSockets(ctx, opts)
	if err != nil || opts.Flags.Local {
		return local, err
	}
	n, err := a.ServerCount(ctx)
	if err != nil {
		return nil, err
	}
	if n <= 1 {
		return local, nil
	}
	id := randomHex()
	p := &pending{typ: wire.RemoteFetch, expected: n - 1, sockets: local, done: make(chan error, 1)}
	if err := a.register(id, p); err != nil {
		return nil, err
	}
	o := toWire(opts)
	o.Rooms, o.Except = nonNil(o.Rooms), nonNil(o.Except)
	if err := a.publish(ctx, a.channel, &wire.ClusterMessage{Type: wire.FetchSockets, Opts: &o, RequestID: id}); err != nil {
		a.forget(id)
		return nil, err
	}
	if err := a.wait(ctx, id, "fetchSockets", p); err != nil {
		return nil, err
	}
	return p.sockets, nil
}

// ServerSideEmit publishes the event for the other servers; see
// Adapter.ServerSideEmit. Binary arguments travel as binary (MessagePack).
func (a *ShardedAdapter) ServerSideEmit(ctx context.Context, p *protocol.Packet, reply func(socketio.Args)) (int, error) {
	m := &wire.ClusterMessage{Type: wire.ClusterServerSideEmit, Value: p.Data, Attachments: p.Attachments}
	if reply == nil {
		return 0, a.publish(ctx, a.channel, m)
	}
	n, err := a.ServerCount(ctx)
	if err != nil {
		return 0, err
	}
	if n--; n <= 0 {
		return 0, nil
	}
	id := randomHex()
	pd := &pending{typ: wire.ServerSideEmit, expected: n, reply: reply}
	a.expire(ctx, id, pd)
	if err := a.register(id, pd); err != nil {
		pd.stop()
		return 0, err
	}
	m.RequestID = id
	if err := a.publish(ctx, a.channel, m); err != nil {
		a.forget(id)
		pd.stop()
		return 0, err
	}
	return n, nil
}

// Close unsubscribes the adapter and fails its pending requests.
func (a *ShardedAdapter) Close() error {
	a.closeOnce.Do(func() {
		a.mu.Lock()
		a.closeRequestsLocked()
		shard := []string{a.channel, a.responseChannel}
		for room := range a.dynamic {
			shard = append(shard, a.dynamicChannel(room))
		}
		clear(a.dynamic)
		a.mu.Unlock()
		a.hub.release(subscription{shard: shard})
		_ = a.mem.Close()
	})
	return nil
}

// onMessage handles a message of one of the adapter's channels, on the
// subscriber's goroutine.
func (a *ShardedAdapter) onMessage(channel string, payload []byte) {
	if a.closed.Load() {
		return
	}
	m, err := wire.DecodeClusterMessage(payload)
	if err != nil {
		a.cfg.Logger.Debug("redisadapter: malformed message ignored", "nsp", a.nspName, "err", err)
		return
	}
	if m.UID == a.uid || m.Nsp != a.nspName {
		return
	}
	ctx := a.sub.ctx
	switch m.Type {
	case wire.ClusterBroadcast:
		p := m.Packet
		p.HasID = false
		opts := fromWire(m.Opts)
		if m.RequestID == "" {
			_ = a.mem.Broadcast(ctx, p, opts)
			return
		}
		timeout := a.cfg.RequestsTimeout
		if m.Opts != nil && m.Opts.Flags.Timeout > 0 {
			timeout = m.Opts.Flags.Timeout
		}
		bctx, cancel := context.WithTimeout(ctx, timeout)
		context.AfterFunc(bctx, cancel)
		from, id := m.UID, m.RequestID
		_ = a.mem.BroadcastWithAck(bctx, p, opts,
			func(n int) {
				a.respond(from, &wire.ClusterMessage{Type: wire.ClusterClientCount, RequestID: id, ClientCount: n})
			},
			func(args socketio.Args) {
				a.respond(from, &wire.ClusterMessage{Type: wire.ClusterBroadcastAck, RequestID: id,
					Value: args.Raw(0), Attachments: args.Attachments()})
			})
	case wire.SocketsJoin:
		_ = a.mem.AddSockets(ctx, fromWire(m.Opts), m.Rooms)
	case wire.SocketsLeave:
		_ = a.mem.DelSockets(ctx, fromWire(m.Opts), m.Rooms)
	case wire.DisconnectSockets:
		_ = a.mem.DisconnectSockets(ctx, fromWire(m.Opts), m.Close)
	case wire.FetchSockets:
		local, _ := a.mem.FetchSockets(ctx, fromWire(m.Opts))
		sockets := make([]json.RawMessage, 0, len(local))
		for _, s := range local {
			if b, err := socketJSON(s); err == nil {
				sockets = append(sockets, b)
			}
		}
		a.respond(m.UID, &wire.ClusterMessage{Type: wire.FetchSocketsResponse, RequestID: m.RequestID,
			Sockets: protocol.AppendArray(nil, sockets...)})
	case wire.ClusterServerSideEmit:
		ev, args, err := protocol.EventName(m.Value)
		if err != nil {
			return
		}
		var reply func(socketio.Args)
		if m.RequestID != "" {
			from, id := m.UID, m.RequestID
			reply = func(args socketio.Args) {
				a.respond(from, &wire.ClusterMessage{Type: wire.ServerSideEmitResponse, RequestID: id,
					Value: args.Raw(0), Attachments: args.Attachments()})
			}
		}
		a.nsp.HandleServerSideEmit(ev, socketio.NewArgs(args, m.Attachments), reply)
	case wire.FetchSocketsResponse, wire.ServerSideEmitResponse, wire.ClusterClientCount, wire.ClusterBroadcastAck:
		a.onResponse(m)
	}
}

func (a *ShardedAdapter) onResponse(m *wire.ClusterMessage) {
	a.mu.Lock()
	if ap := a.acks[m.RequestID]; ap != nil {
		a.mu.Unlock()
		switch m.Type {
		case wire.ClusterClientCount:
			ap.clientCount(m.ClientCount)
		case wire.ClusterBroadcastAck:
			ap.ack(argsOf(m.Value, m.Attachments))
		}
		return
	}
	p := a.requests[m.RequestID]
	if p == nil {
		a.mu.Unlock()
		return
	}
	var call func()
	switch {
	case m.Type == wire.FetchSocketsResponse && p.typ == wire.RemoteFetch:
		var sockets []*socketio.RemoteSocket
		if err := json.Unmarshal(m.Sockets, &sockets); err != nil {
			break
		}
		p.sockets = append(p.sockets, sockets...)
		p.got++
	case m.Type == wire.ServerSideEmitResponse && p.typ == wire.ServerSideEmit:
		args := argsOf(m.Value, m.Attachments)
		reply := p.reply
		call = func() { reply(args) }
		p.got++
	}
	if p.got >= p.expected {
		delete(a.requests, m.RequestID)
		defer p.finish(nil)
	}
	a.mu.Unlock()
	if call != nil {
		call()
	}
}

// rooms returns the rooms with a channel of their own, for tests.
func (a *ShardedAdapter) rooms() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]string, 0, len(a.dynamic))
	for r := range a.dynamic {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}
