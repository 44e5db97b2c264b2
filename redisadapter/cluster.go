package redisadapter

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/internal/cluster/wire"
	"github.com/sio-go/socketio/protocol"
)

// clusterNode is what the adapters speaking the messages of
// socket.io-adapter's ClusterAdapter share (the sharded and the Streams
// adapters): the local rooms, the requests of this server waiting for the
// others, and the handling of the other servers' messages. The adapters
// differ in how messages travel, which they pass as functions.
type clusterNode struct {
	mem     *socketio.MemoryAdapter
	nsp     *socketio.Namespace
	nspName string
	uid     string
	log     *slog.Logger
	out     *outbox
	// post queues a message for the other servers; done is the
	// message's outcome callback, or nil.
	post func(op Op, m *wire.ClusterMessage, done func(redis.Cmder, error)) error
	// respond queues a response for the server whose uid is to.
	respond func(to string, m *wire.ClusterMessage)
	// serverCount counts the servers of the namespace, this one included.
	serverCount func(ctx context.Context) (int, error)
	// offsets: broadcasts received with an offset are delivered with it
	// (connection state recovery through a shared log).
	offsets bool
	requestTable
}

func newClusterNode(nsp *socketio.Namespace, timeout time.Duration, log *slog.Logger) clusterNode {
	return clusterNode{
		mem:          socketio.NewMemoryAdapter(nsp),
		nsp:          nsp,
		nspName:      nsp.Name(),
		uid:          randomHex(),
		log:          log,
		requestTable: newRequestTable(timeout),
	}
}

// AddAll adds socket id to rooms.
func (c *clusterNode) AddAll(id string, rooms []string) { c.mem.AddAll(id, rooms) }

// Del removes socket id from room.
func (c *clusterNode) Del(id, room string) { c.mem.Del(id, room) }

// DelAll removes socket id from every room.
func (c *clusterNode) DelAll(id string) { c.mem.DelAll(id) }

// SocketRooms returns the rooms of local socket id.
func (c *clusterNode) SocketRooms(id string) []string { return c.mem.SocketRooms(id) }

// UID returns the random id of the adapter, which other servers see in its
// messages.
func (c *clusterNode) UID() string { return c.uid }

// broadcastWithAck registers the acknowledgements of a broadcast, delivers
// it here, then queues it for the other servers (unless local).
func (c *clusterNode) broadcastWithAck(ctx context.Context, p *protocol.Packet, opts socketio.BroadcastOptions,
	clientCount func(int), ack func(socketio.Args)) error {
	var id string
	if !opts.Flags.Local {
		id = randomHex()
		c.addAck(ctx, id, &ackPending{clientCount: clientCount, ack: ack})
	}
	if err := c.mem.BroadcastWithAck(ctx, p, opts, clientCount, ack); err != nil || id == "" {
		return err
	}
	q := *p
	q.HasID = false
	o := toWire(opts)
	return c.post(OpBroadcastWithAck, &wire.ClusterMessage{Type: wire.ClusterBroadcast, Packet: &q, RequestID: id, Opts: &o}, nil)
}

// remote applies an operation locally, then queues it with send unless it
// is local only.
func (c *clusterNode) remote(op Op, opts socketio.BroadcastOptions, m *wire.ClusterMessage,
	local func() error, send func(Op, *wire.ClusterMessage, func(redis.Cmder, error)) error) error {
	if err := local(); err != nil || opts.Flags.Local {
		return err
	}
	o := toWire(opts)
	o.Rooms, o.Except = nonNil(o.Rooms), nonNil(o.Except)
	m.Opts = &o
	return send(op, m, nil)
}

// PublishStats returns the counters of the namespace's publishing queue.
func (c *clusterNode) PublishStats() PublishStats { return c.out.stats() }

// fetchSockets returns the sockets opts selects on every server.
func (c *clusterNode) fetchSockets(ctx context.Context, opts socketio.BroadcastOptions) ([]*socketio.RemoteSocket, error) {
	local, err := c.mem.FetchSockets(ctx, opts)
	if err != nil || opts.Flags.Local {
		return local, err
	}
	n, err := c.serverCount(ctx)
	if err != nil {
		return nil, err
	}
	if n <= 1 {
		return local, nil
	}
	id := randomHex()
	p := &pending{typ: wire.RemoteFetch, expected: n - 1, sockets: local, done: make(chan error, 1)}
	if err := c.register(id, p); err != nil {
		return nil, err
	}
	o := toWire(opts)
	o.Rooms, o.Except = nonNil(o.Rooms), nonNil(o.Except)
	if err := c.post(OpFetchSockets, &wire.ClusterMessage{Type: wire.FetchSockets, Opts: &o, RequestID: id}, c.unsent(id, p)); err != nil {
		c.forget(id)
		return nil, err
	}
	if err := c.wait(ctx, id, "fetchSockets", p); err != nil {
		return nil, err
	}
	return p.sockets, nil
}

// serverSideEmit queues the event for the other servers; with reply, it
// returns how many answers to expect and passes each to reply until ctx
// ends or the requests' timeout passes.
func (c *clusterNode) serverSideEmit(ctx context.Context, p *protocol.Packet, reply func(socketio.Args)) (int, error) {
	m := &wire.ClusterMessage{Type: wire.ClusterServerSideEmit, Value: p.Data, Attachments: p.Attachments}
	if reply == nil {
		return 0, c.post(OpServerSideEmit, m, nil)
	}
	n, err := c.serverCount(ctx)
	if err != nil {
		return 0, err
	}
	if n--; n <= 0 { // this server does not answer itself
		return 0, nil
	}
	id := randomHex()
	pd := &pending{typ: wire.ServerSideEmit, expected: n, reply: reply}
	c.expire(ctx, id, pd)
	if err := c.register(id, pd); err != nil {
		pd.stop()
		return 0, err
	}
	m.RequestID = id
	if err := c.post(OpServerSideEmit, m, c.unsent(id, pd)); err != nil {
		c.forget(id)
		pd.stop()
		return 0, err
	}
	return n, nil
}

// apply handles a message of another server: offset is its position in a
// shared log, or empty.
func (c *clusterNode) apply(ctx context.Context, m *wire.ClusterMessage, offset string) {
	if m.UID == c.uid || m.Nsp != c.nspName || c.closed.Load() {
		return
	}
	switch m.Type {
	case wire.ClusterBroadcast:
		p := m.Packet
		p.HasID = false
		opts := fromWire(m.Opts)
		if m.RequestID == "" {
			if c.offsets {
				_ = c.mem.BroadcastWithOffset(ctx, p, opts, offset)
			} else {
				_ = c.mem.Broadcast(ctx, p, opts)
			}
			return
		}
		timeout := c.timeout
		if m.Opts != nil && m.Opts.Flags.Timeout > 0 {
			timeout = m.Opts.Flags.Timeout
		}
		bctx, cancel := context.WithTimeout(ctx, timeout)
		context.AfterFunc(bctx, cancel)
		from, id := m.UID, m.RequestID
		_ = c.mem.BroadcastWithAck(bctx, p, opts,
			func(n int) {
				c.respond(from, &wire.ClusterMessage{Type: wire.ClusterClientCount, RequestID: id, ClientCount: n})
			},
			func(args socketio.Args) {
				c.respond(from, &wire.ClusterMessage{Type: wire.ClusterBroadcastAck, RequestID: id,
					Value: args.Raw(0), Attachments: args.Attachments()})
			})
	case wire.SocketsJoin:
		_ = c.mem.AddSockets(ctx, fromWire(m.Opts), m.Rooms)
	case wire.SocketsLeave:
		_ = c.mem.DelSockets(ctx, fromWire(m.Opts), m.Rooms)
	case wire.DisconnectSockets:
		_ = c.mem.DisconnectSockets(ctx, fromWire(m.Opts), m.Close)
	case wire.FetchSockets:
		local, _ := c.mem.FetchSockets(ctx, fromWire(m.Opts))
		sockets := make([]json.RawMessage, 0, len(local))
		for _, s := range local {
			if b, err := socketJSON(s); err == nil {
				sockets = append(sockets, b)
			}
		}
		c.respond(m.UID, &wire.ClusterMessage{Type: wire.FetchSocketsResponse, RequestID: m.RequestID,
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
				c.respond(from, &wire.ClusterMessage{Type: wire.ServerSideEmitResponse, RequestID: id,
					Value: args.Raw(0), Attachments: args.Attachments()})
			}
		}
		c.nsp.HandleServerSideEmit(ev, socketio.NewArgs(args, m.Attachments), reply)
	case wire.FetchSocketsResponse, wire.ServerSideEmitResponse, wire.ClusterClientCount, wire.ClusterBroadcastAck:
		c.onResponse(m)
	}
}

// onResponse passes a response to the request or broadcast it answers.
func (c *clusterNode) onResponse(m *wire.ClusterMessage) {
	c.mu.Lock()
	if ap := c.acks[m.RequestID]; ap != nil {
		c.mu.Unlock()
		switch m.Type {
		case wire.ClusterClientCount:
			ap.clientCount(m.ClientCount)
		case wire.ClusterBroadcastAck:
			ap.ack(argsOf(m.Value, m.Attachments))
		}
		return
	}
	p := c.requests[m.RequestID]
	if p == nil {
		c.mu.Unlock()
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
		delete(c.requests, m.RequestID)
		defer p.finish(nil)
	}
	c.mu.Unlock()
	if call != nil {
		call()
	}
}

// encodeError wraps an encoding error.
func encodeError(err error) error { return fmt.Errorf("redisadapter: %w", err) }

// numSub returns the number of subscribers of channel: on a Redis Cluster,
// summed over the masters for a plain channel, and asked of the master that
// serves the slot of a shard channel. It runs through l: at once
// ErrRedisDown while Redis is unreachable, bounded by the timeout
// otherwise.
func numSub(ctx context.Context, l *link, client redis.UniversalClient, channel string, sharded bool) (n int, err error) {
	err = l.do(ctx, func(ctx context.Context) (err error) {
		n, err = countSubscribers(ctx, client, channel, sharded)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("redisadapter: server count: %w", err)
	}
	return n, nil
}

func countSubscribers(ctx context.Context, client redis.UniversalClient, channel string, sharded bool) (int, error) {
	count := func(ctx context.Context, c redis.Cmdable) (int64, error) {
		var m map[string]int64
		var err error
		if sharded {
			m, err = c.PubSubShardNumSub(ctx, channel).Result()
		} else {
			m, err = c.PubSubNumSub(ctx, channel).Result()
		}
		return m[channel], err
	}
	var n int64
	var err error
	cc, isCluster := client.(*redis.ClusterClient)
	switch {
	case isCluster && sharded:
		var master *redis.Client
		if master, err = cc.MasterForKey(ctx, channel); err == nil {
			n, err = count(ctx, master)
		}
	case isCluster:
		var mu sync.Mutex
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			m, err := count(ctx, c)
			mu.Lock()
			n += m
			mu.Unlock()
			return err
		})
	default:
		n, err = count(ctx, client)
	}
	return int(n), err
}
