package redisadapter

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/redis/go-redis/v9"
	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/internal/cluster"
	"github.com/sio-go/socketio/internal/cluster/wire"
	"github.com/sio-go/socketio/protocol"
)

// StreamsConfig configures the Redis Streams adapters of a server. The zero
// value takes the defaults of @socket.io/redis-streams-adapter; every
// server of the cluster, Go or Node, must use the same names.
type StreamsConfig struct {
	// StreamName is the name of the stream, or the prefix of the streams
	// when StreamCount > 1. Defaults to "socket.io".
	StreamName string
	// StreamCount spreads the namespaces over this many streams,
	// "<StreamName>-<i>", each read by its own connection. Defaults to 1.
	StreamCount int
	// ChannelPrefix prefixes the pub/sub channels of requests and
	// responses. Defaults to "socket.io".
	ChannelPrefix string
	// UseShardedPubSub uses SSUBSCRIBE and SPUBLISH (Redis 7) for the
	// requests and responses. Defaults to false.
	UseShardedPubSub bool
	// MaxLen is the length the stream is trimmed to, approximately
	// (MAXLEN ~). Defaults to 10,000.
	MaxLen int64
	// ReadCount is the number of entries read per XREAD or XRANGE.
	// Defaults to 100.
	ReadCount int64
	// BlockTime is how long one XREAD waits for new entries. Defaults to
	// 5s.
	BlockTime time.Duration
	// SessionKeyPrefix prefixes the keys of the sessions kept for
	// connection state recovery. Defaults to "sio:session:".
	SessionKeyPrefix string
	// OnlyPlaintext writes every entry as JSON, binary values as Node's
	// JSON form of a Buffer, instead of checking for binary values.
	// Defaults to false.
	OnlyPlaintext bool
	// RequestsTimeout bounds the wait for the other servers' responses to
	// FetchSockets and ServerSideEmit with replies; see
	// Config.RequestsTimeout. Defaults to 5 seconds.
	RequestsTimeout time.Duration
	// Publish tells how the entries and messages for the other servers are
	// added and published, and what happens while Redis is unreachable.
	// Its zero value takes the defaults of its fields.
	Publish PublishConfig
	// Logger receives the adapter's logs. Defaults to nil: nothing is logged.
	Logger *slog.Logger
}

func (c *StreamsConfig) withDefaults() *StreamsConfig {
	out := StreamsConfig{}
	if c != nil {
		out = *c
	}
	if out.StreamName == "" {
		out.StreamName = "socket.io"
	}
	if out.StreamCount <= 0 {
		out.StreamCount = 1
	}
	if out.ChannelPrefix == "" {
		out.ChannelPrefix = "socket.io"
	}
	if out.MaxLen <= 0 {
		out.MaxLen = 10_000
	}
	if out.ReadCount <= 0 {
		out.ReadCount = 100
	}
	if out.BlockTime <= 0 {
		out.BlockTime = 5 * time.Second
	}
	if out.SessionKeyPrefix == "" {
		out.SessionKeyPrefix = "sio:session:"
	}
	if out.RequestsTimeout <= 0 {
		out.RequestsTimeout = 5 * time.Second
	}
	if out.Logger == nil {
		out.Logger = slog.New(slog.DiscardHandler)
	}
	out.Publish = out.Publish.withDefaults()
	return &out
}

// NewStreams returns an adapter factory compatible with
// @socket.io/redis-streams-adapter 0.3: what must reach every server
// (broadcasts, joins, leaves, disconnections) is added to a Redis stream,
// which each server reads; requests and their responses travel on pub/sub.
// With socketio.Config.ConnectionStateRecovery, sessions are kept in Redis
// and a client can recover its session on any server of the cluster. cfg
// may be nil.
//
// The stream is read by a connection of its own: with a *redis.Client or a
// *redis.ClusterClient the factory opens a client with the same options,
// closed with the last adapter.
func NewStreams(client redis.UniversalClient, cfg *StreamsConfig) socketio.AdapterFactory {
	c := cfg.withDefaults()
	h := &streamsHub{
		client:   client,
		dup:      duplicator(client),
		cfg:      c,
		pubsub:   &hub{client: client, log: c.Logger, sharded: c.UseShardedPubSub, timeout: c.Publish.Timeout},
		adapters: map[string]*StreamsAdapter{},
		readers:  map[string]*streamReader{},
	}
	return func(nsp *socketio.Namespace) socketio.Adapter {
		return newStreamsAdapter(h, nsp)
	}
}

// streamsHub holds what the adapters of one factory share: the clients,
// the subscriber and the stream readers.
type streamsHub struct {
	client redis.UniversalClient
	dup    func() redis.UniversalClient // nil: the readers share client
	cfg    *StreamsConfig
	pubsub *hub

	mu       sync.Mutex
	adapters map[string]*StreamsAdapter // namespace → adapter
	readers  map[string]*streamReader   // stream → reader
}

// streamName returns the stream of a namespace, like the Node adapter
// (whose hash may be negative, which gives a name such as "socket.io--1").
func (h *streamsHub) streamName(nsp string) string {
	if h.cfg.StreamCount == 1 {
		return h.cfg.StreamName
	}
	return h.cfg.StreamName + "-" + strconv.Itoa(int(jsHashCode(nsp))%h.cfg.StreamCount)
}

// jsHashCode is Java's String.hashCode over UTF-16 code units, as the Node
// adapter computes it.
func jsHashCode(s string) int32 {
	var h int32
	for _, c := range utf16.Encode([]rune(s)) {
		h = h*31 + int32(c)
	}
	return h
}

// register adds an adapter and starts the reader of its stream.
func (h *streamsHub) register(a *StreamsAdapter) *streamReader {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.adapters[a.node.NspName] = a
	r := h.readers[a.stream]
	if r == nil {
		r = newStreamReader(h, a.stream, a.node.Out.Link())
		h.readers[a.stream] = r
	}
	r.users++
	return r
}

// unregister removes an adapter; the last one of a stream stops its
// reader.
func (h *streamsHub) unregister(a *StreamsAdapter) {
	h.mu.Lock()
	if h.adapters[a.node.NspName] == a {
		delete(h.adapters, a.node.NspName)
	}
	r := h.readers[a.stream]
	r.users--
	if r.users > 0 {
		r = nil
	} else {
		delete(h.readers, a.stream)
	}
	h.mu.Unlock()
	if r != nil {
		r.stop()
	}
}

func (h *streamsHub) adapter(nsp string) *StreamsAdapter {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.adapters[nsp]
}

// streamReader reads one stream with XREAD BLOCK and passes each entry to
// the adapter of its namespace. After an error it waits (see retries, and
// until Redis answers when it is unreachable) and reads again from the last
// entry it saw.
type streamReader struct {
	hub    *streamsHub
	link   *cluster.Link
	stream string
	client redis.UniversalClient // a client of its own when it could be made
	own    bool
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	ready  chan struct{} // closed once the reading position is known
	users  int           // guarded by hub.mu
}

func newStreamReader(h *streamsHub, stream string, l *cluster.Link) *streamReader {
	ctx, cancel := context.WithCancel(context.Background())
	r := &streamReader{hub: h, link: l, stream: stream, client: h.client, ctx: ctx, cancel: cancel,
		done: make(chan struct{}), ready: make(chan struct{})}
	if h.dup != nil {
		r.client, r.own = h.dup(), true
	}
	go r.run()
	return r
}

// duplicator returns a function making clients with the options of client,
// when it is a *redis.Client or a *redis.ClusterClient. A blocked XREAD
// ignores its context: closing a client of its own is what ends it at
// once. The options are copied now, before the client is shared with the
// adapters' goroutines (go-redis updates them as it connects).
func duplicator(client redis.UniversalClient) func() redis.UniversalClient {
	switch c := client.(type) {
	case *redis.Client:
		o := *c.Options()
		o.MaintNotificationsConfig = cloneOf(o.MaintNotificationsConfig) // updated in place as it connects
		return func() redis.UniversalClient { cp := o; return redis.NewClient(&cp) }
	case *redis.ClusterClient:
		o := *c.Options()
		o.MaintNotificationsConfig = cloneOf(o.MaintNotificationsConfig)
		return func() redis.UniversalClient { cp := o; return redis.NewClusterClient(&cp) }
	}
	return nil
}

// cloneOf returns a pointer to a copy of *p, nil for nil.
func cloneOf[T any](p *T) *T {
	if p == nil {
		return nil
	}
	cp := *p
	return &cp
}

// stop ends the reader and waits for it. Without a client of its own, it
// may wait for the XREAD under way (BlockTime).
func (r *streamReader) stop() {
	r.cancel()
	if r.own {
		_ = r.client.Close()
	}
	<-r.done
}

func (r *streamReader) run() {
	defer close(r.done)
	cfg := r.hub.cfg
	last := ""
	delays := retries()
	fail := func(err error) bool {
		if r.ctx.Err() != nil {
			return false
		}
		r.link.Suspect()
		d := delays.Next()
		cfg.Logger.Debug("redisadapter: reading the stream", "stream", r.stream, "err", err, "retry", d)
		select {
		case <-time.After(d):
		case <-r.ctx.Done():
			return false
		}
		return r.link.WaitUp(r.ctx) == nil
	}
	for r.ctx.Err() == nil {
		if last == "" {
			// The entries added from now on: the id of the last one, so
			// that none is missed between this call and the first XREAD.
			msgs, err := r.client.XRevRangeN(r.ctx, r.stream, "+", "-", 1).Result()
			if err != nil {
				if !fail(err) {
					return
				}
				continue
			}
			last = "0-0"
			if len(msgs) > 0 {
				last = msgs[0].ID
			}
			close(r.ready)
		}
		res, err := r.client.XRead(r.ctx, &redis.XReadArgs{
			Streams: []string{r.stream, last},
			Count:   cfg.ReadCount,
			Block:   cfg.BlockTime,
		}).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			if !fail(err) {
				return
			}
			continue
		}
		delays.Reset()
		for _, s := range res {
			for _, msg := range s.Messages {
				last = msg.ID
				nsp, _ := msg.Values["nsp"].(string)
				if a := r.hub.adapter(nsp); a != nil && nsp != "" {
					a.onEntry(msg)
				}
			}
		}
	}
}

// StreamsAdapter is the Redis Streams adapter of one namespace.
type StreamsAdapter struct {
	hub    *streamsHub
	cfg    *StreamsConfig
	sub    *subscriber
	reader *streamReader
	stream string
	ctx    context.Context // ends with Close
	cancel context.CancelFunc

	publicChannel  string // "<prefix>#<nsp>#"
	privateChannel string // publicChannel + uid + "#"

	persists  sync.WaitGroup // sessions being written
	closeOnce sync.Once
	node      *cluster.Node
}

var (
	_ socketio.Adapter      = (*StreamsAdapter)(nil)
	_ socketio.SessionStore = (*StreamsAdapter)(nil)
)

func newStreamsAdapter(h *streamsHub, nsp *socketio.Namespace) *StreamsAdapter {
	c := h.cfg
	n := newNode(nsp, c.RequestsTimeout, c.Logger)
	a := &StreamsAdapter{hub: h, cfg: c, node: n}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.stream = h.streamName(n.NspName)
	a.publicChannel = c.ChannelPrefix + "#" + n.NspName + "#"
	a.privateChannel = a.publicChannel + n.UID + "#"
	n.Offsets = true
	n.Post = func(op string, m *wire.ClusterMessage, done func(any, error)) error {
		return a.publish(Op(op), m, done)
	}
	n.Respond = a.respondTo
	n.CountServers = a.ServerCount
	var l *cluster.Link
	a.sub, l = h.pubsub.acquire()
	n.Out = newOutbox(l, h.client, c.Publish, c.Logger, n.NspName)
	// Plain PUBLISH counts the subscribers of one node of a Redis Cluster.
	if _, ok := h.client.(*redis.ClusterClient); !ok || c.UseShardedPubSub {
		a.node.Out.SetServers(a.ServerCount)
	}
	a.sub.add(a.subscription(), a.onMessage)
	a.reader = h.register(a)
	return a
}

func (a *StreamsAdapter) subscription() subscription {
	channels := []string{a.publicChannel, a.privateChannel}
	if a.cfg.UseShardedPubSub {
		return subscription{shard: channels}
	}
	return subscription{channels: channels}
}

// Ready waits until the adapter reads the stream and Redis confirmed its
// subscriptions, from when other servers count this one and reach it.
func (a *StreamsAdapter) Ready(ctx context.Context) error {
	if a.node.IsClosed() {
		return ErrClosed
	}
	select {
	case <-a.reader.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	return a.sub.waitReady(ctx, a.subscription().names())
}

// Stream returns the name of the stream the namespace's messages go to.
func (a *StreamsAdapter) Stream() string { return a.stream }

// add queues a message for the stream; done, when set, gets the XADD
// command (whose value is the entry id) or the error.
func (a *StreamsAdapter) add(op Op, m *wire.ClusterMessage, done func(any, error)) error {
	e, err := a.entry(op, m)
	if err != nil {
		return err
	}
	e.Done = done
	return a.node.Out.Push(e)
}

// entry makes the message that adds m to the stream.
func (a *StreamsAdapter) entry(op Op, m *wire.ClusterMessage) (*cluster.Message, error) {
	m.UID, m.Nsp = a.node.UID, a.node.NspName
	data, ok, err := wire.StreamData(m, a.cfg.OnlyPlaintext)
	if err != nil {
		return nil, encodeError(err)
	}
	values := []any{"uid", m.UID, "nsp", m.Nsp, "type", strconv.Itoa(int(m.Type))}
	if ok {
		values = append(values, "data", data)
	}
	args := &redis.XAddArgs{Stream: a.stream, MaxLen: a.cfg.MaxLen, Approx: true, ID: "*", Values: values}
	var p *protocol.Packet
	if op == OpBroadcast {
		p = m.Packet
	}
	return message(op, p, len(data)+64,
		func(ctx context.Context, c redis.Cmdable) redis.Cmder { return c.XAdd(ctx, args) }, false, nil), nil
}

// addOp is add for cluster.Node.Remote.
func (a *StreamsAdapter) addOp(op string, m *wire.ClusterMessage, done func(any, error)) error {
	return a.add(Op(op), m, done)
}

// AddAll adds socket id to rooms.
func (a *StreamsAdapter) AddAll(id string, rooms []string) { a.node.AddAll(id, rooms) }

// Del removes socket id from room.
func (a *StreamsAdapter) Del(id, room string) { a.node.Del(id, room) }

// DelAll removes socket id from every room.
func (a *StreamsAdapter) DelAll(id string) { a.node.DelAll(id) }

// SocketRooms returns the rooms of local socket id.
func (a *StreamsAdapter) SocketRooms(id string) []string { return a.node.SocketRooms(id) }

// UID returns the random id of the adapter, which other servers see in its
// messages.
func (a *StreamsAdapter) UID() string { return a.node.UID }

// RequestsTimeout returns how long a request waits for the other servers'
// responses (StreamsConfig.RequestsTimeout).
func (a *StreamsAdapter) RequestsTimeout() time.Duration { return a.node.RequestsTimeout() }

// PublishStats returns the counters of the namespace's publishing queue.
func (a *StreamsAdapter) PublishStats() PublishStats { return publishStats(a.node.Out) }

// publish queues a request on the namespace's channel, in MessagePack.
func (a *StreamsAdapter) publish(op Op, m *wire.ClusterMessage, done func(any, error)) error {
	return a.publishOn(op, a.publicChannel, m, done)
}

// respondTo queues a response on the channel of the server whose uid is to.
func (a *StreamsAdapter) respondTo(to string, m *wire.ClusterMessage) {
	_ = a.publishOn(OpResponse, a.publicChannel+to+"#", m, nil)
}

func (a *StreamsAdapter) publishOn(op Op, channel string, m *wire.ClusterMessage, done func(any, error)) error {
	m.UID, m.Nsp = a.node.UID, a.node.NspName
	msg, err := wire.AppendClusterMsgpack(nil, m)
	if err != nil {
		return encodeError(err)
	}
	cmd := publishCmd(channel, msg)
	if a.cfg.UseShardedPubSub {
		cmd = spublishCmd(channel, msg)
	}
	return a.node.Out.Push(message(op, nil, len(msg), cmd, a.node.Out.HasServers() && channel == a.publicChannel, done))
}

// onMessage handles a request or a response, on the subscriber's goroutine.
func (a *StreamsAdapter) onMessage(_ string, payload []byte) {
	m, err := wire.DecodeClusterMessage(payload)
	if err != nil {
		a.cfg.Logger.Debug("redisadapter: malformed message ignored", "nsp", a.node.NspName, "err", err)
		return
	}
	a.node.Apply(a.ctx, m, "")
}

// onEntry handles an entry of the stream, on the reader's goroutine.
func (a *StreamsAdapter) onEntry(msg redis.XMessage) {
	m, err := decodeEntry(msg)
	if err != nil {
		a.cfg.Logger.Debug("redisadapter: malformed entry ignored", "nsp", a.node.NspName, "id", msg.ID, "err", err)
		return
	}
	a.node.Apply(a.ctx, m, msg.ID)
}

func decodeEntry(msg redis.XMessage) (*wire.ClusterMessage, error) {
	field := func(k string) string { s, _ := msg.Values[k].(string); return s }
	return wire.DecodeStreamEntry(field("uid"), field("nsp"), field("type"), field("data"))
}

// Broadcast delivers the packet to the local sockets and queues it for the
// stream (unless opts.Flags.Local), without waiting for Redis (see
// Adapter.Broadcast).
//
// With connection state recovery, the local sockets get the entry id as
// offset, as with the Node adapter: Broadcast waits for the XADD, in order
// with what the adapter queued before, for PublishConfig.Timeout at most
// (twice that when Redis goes away with the entry on the wire). While
// Redis is down, or when the entry cannot be added in time, the packet is
// delivered at once without offset and the *PublishError returned.
func (a *StreamsAdapter) Broadcast(ctx context.Context, p *protocol.Packet, opts socketio.BroadcastOptions) error {
	if opts.Flags.Local {
		return a.node.Mem.Broadcast(ctx, p, opts)
	}
	o := cluster.ToWire(opts)
	m := &wire.ClusterMessage{Type: wire.ClusterBroadcast, Packet: p, Opts: &o}
	if a.node.Nsp.Server().ConnectionStateRecovery() == nil {
		if err := a.node.Mem.Broadcast(ctx, p, opts); err != nil {
			return err
		}
		return a.add(OpBroadcast, m, nil)
	}
	e, err := a.entry(OpBroadcast, m)
	id := ""
	if err == nil {
		var cmd any
		if cmd, err = a.node.Out.PushWait(ctx, e); err == nil {
			id = cmd.(*redis.StringCmd).Val()
		}
	}
	if lerr := a.node.Mem.BroadcastWithOffset(ctx, p, opts, id); lerr != nil {
		return lerr
	}
	return err
}

// BroadcastWithAck delivers the packet locally, then queues it with a
// request id for the namespace's channel. Each server reports its number
// of recipients to clientCount and their acknowledgements to ack until ctx
// ends.
func (a *StreamsAdapter) BroadcastWithAck(ctx context.Context, p *protocol.Packet, opts socketio.BroadcastOptions,
	clientCount func(int), ack func(socketio.Args)) error {
	return a.node.BroadcastWithAck(ctx, p, opts, clientCount, ack)
}

// ServerCount returns the number of servers subscribed to the namespace's
// channel (PUBSUB NUMSUB or SHARDNUMSUB).
func (a *StreamsAdapter) ServerCount(ctx context.Context) (int, error) {
	return numSub(ctx, a.node.Out.Link(), a.hub.client, a.publicChannel, a.cfg.UseShardedPubSub)
}

// AddSockets makes the sockets opts selects join rooms, here and, through
// the stream, on the other servers.
func (a *StreamsAdapter) AddSockets(ctx context.Context, opts socketio.BroadcastOptions, rooms []string) error {
	return a.node.Remote(string(OpSocketsJoin), opts, &wire.ClusterMessage{Type: wire.SocketsJoin, Rooms: cluster.NonNil(rooms)},
		func() error { return a.node.Mem.AddSockets(ctx, opts, rooms) }, a.addOp)
}

// DelSockets makes the sockets opts selects leave rooms.
func (a *StreamsAdapter) DelSockets(ctx context.Context, opts socketio.BroadcastOptions, rooms []string) error {
	return a.node.Remote(string(OpSocketsLeave), opts, &wire.ClusterMessage{Type: wire.SocketsLeave, Rooms: cluster.NonNil(rooms)},
		func() error { return a.node.Mem.DelSockets(ctx, opts, rooms) }, a.addOp)
}

// DisconnectSockets disconnects the sockets opts selects.
func (a *StreamsAdapter) DisconnectSockets(ctx context.Context, opts socketio.BroadcastOptions, close bool) error {
	return a.node.Remote(string(OpDisconnectSockets), opts, &wire.ClusterMessage{Type: wire.DisconnectSockets, Close: close},
		func() error { return a.node.Mem.DisconnectSockets(ctx, opts, close) }, a.addOp)
}

// FetchSockets returns the sockets opts selects on every server. It fails
// when a server does not answer within StreamsConfig.RequestsTimeout.
func (a *StreamsAdapter) FetchSockets(ctx context.Context, opts socketio.BroadcastOptions) ([]*socketio.RemoteSocket, error) {
	return a.node.FetchSockets(ctx, opts)
}

// ServerSideEmit publishes the event for the other servers; see
// Adapter.ServerSideEmit.
func (a *StreamsAdapter) ServerSideEmit(ctx context.Context, p *protocol.Packet, reply func(socketio.Args)) (int, error) {
	return a.node.ServerSideEmit(ctx, p, reply)
}

// Close fails its pending requests with ErrClosed, publishes what it queued
// (for at most PublishConfig.Timeout), unsubscribes the adapter, waits for
// the sessions being written, and stops the reader of the stream when no
// other adapter of the factory uses it.
func (a *StreamsAdapter) Close() error {
	a.closeOnce.Do(func() {
		a.node.Mu.Lock()
		a.node.CloseRequestsLocked()
		a.node.Mu.Unlock()
		a.node.Out.Close()
		a.hub.unregister(a)
		a.hub.pubsub.release(a.subscription())
		a.persists.Wait()
		a.cancel()
		_ = a.node.Mem.Close()
	})
	return nil
}
