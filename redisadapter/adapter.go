package redisadapter

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/internal/cluster"
	"github.com/sio-go/socketio/internal/cluster/wire"
	"github.com/sio-go/socketio/protocol"
)

// Adapter is the adapter of one namespace. Its rooms live in a
// socketio.MemoryAdapter; every operation that concerns other servers is
// also published on Redis, and what other servers publish is applied to
// the local sockets.
type Adapter struct {
	hub     *hub
	cfg     *Config
	sub     *subscriber
	out     *cluster.Outbox
	mem     *socketio.MemoryAdapter
	nsp     *socketio.Namespace
	nspName string
	uid     string

	channel          string // "<key>#<nsp>#", the broadcast channels' prefix
	pattern          string // channel + "*"
	requestChannel   string
	responseChannel  string
	specificResponse string // responseChannel + uid + "#"

	closeOnce sync.Once
	reqs      cluster.RequestTable
}

var (
	_ socketio.Adapter      = (*Adapter)(nil)
	_ socketio.SessionStore = (*Adapter)(nil)
)

func newAdapter(h *hub, cfg *Config, nsp *socketio.Namespace) *Adapter {
	key := cfg.Key
	a := &Adapter{
		hub:     h,
		cfg:     cfg,
		mem:     socketio.NewMemoryAdapter(nsp),
		nsp:     nsp,
		nspName: nsp.Name(),
		uid:     newID(),

		reqs: cluster.NewRequestTable(cfg.RequestsTimeout, tableErrors),
	}
	a.channel = key + "#" + a.nspName + "#"
	a.pattern = a.channel + "*"
	a.requestChannel = key + "-request#" + a.nspName + "#"
	a.responseChannel = key + "-response#" + a.nspName + "#"
	a.specificResponse = a.responseChannel + a.uid + "#"
	var l *cluster.Link
	a.sub, l = h.acquire()
	a.out = newOutbox(l, h.client, cfg.Publish, cfg.Logger, a.nspName)
	// In a Redis Cluster, PUBLISH counts the subscribers of one node only.
	if _, ok := h.client.(*redis.ClusterClient); !ok {
		a.out.SetServers(a.ServerCount)
	}
	return a
}

// subscription returns what the adapter listens to.
func (a *Adapter) subscription() subscription {
	return subscription{
		patterns: []string{a.pattern},
		channels: []string{a.requestChannel, a.responseChannel, a.specificResponse},
	}
}

// onMessage routes a message of one of the adapter's channels.
func (a *Adapter) onMessage(channel string, payload []byte) {
	if channel == a.requestChannel || strings.HasPrefix(channel, a.responseChannel) {
		a.onRequestOrResponse(channel, payload)
	} else {
		a.onBroadcast(channel, payload)
	}
}

// UID returns the random id of the adapter, which other servers see in its
// messages.
func (a *Adapter) UID() string { return a.uid }

// Ready waits until Redis has confirmed the adapter's subscriptions, from
// when other servers count this one and reach it.
func (a *Adapter) Ready(ctx context.Context) error {
	if a.reqs.IsClosed() {
		return ErrClosed
	}
	return a.sub.waitReady(ctx, a.subscription().names())
}

// AddAll adds socket id to rooms.
func (a *Adapter) AddAll(id string, rooms []string) { a.mem.AddAll(id, rooms) }

// Del removes socket id from room.
func (a *Adapter) Del(id, room string) { a.mem.Del(id, room) }

// DelAll removes socket id from every room.
func (a *Adapter) DelAll(id string) { a.mem.DelAll(id) }

// SocketRooms returns the rooms of local socket id.
func (a *Adapter) SocketRooms(id string) []string { return a.mem.SocketRooms(id) }

// PersistSession stores the state of a disconnected socket on this server.
func (a *Adapter) PersistSession(s *socketio.Session) { a.mem.PersistSession(s) }

// RestoreSession restores a session stored on this server.
func (a *Adapter) RestoreSession(ctx context.Context, pid, offset string) (*socketio.Session, error) {
	return a.mem.RestoreSession(ctx, pid, offset)
}

// send queues msg for the other servers. counts tells a channel every
// server of the namespace listens to (through the pattern, for the
// broadcast channels).
func (a *Adapter) send(op Op, channel string, msg []byte, p *protocol.Packet, done func(any, error)) error {
	return a.out.Push(message(op, p, len(msg), publishCmd(channel, msg), a.out.HasServers() && channel != a.specificResponse, done))
}

// Broadcast delivers p to the local sockets opts selects, then, unless
// opts.Flags.Local, queues it for the other servers. It does not wait for
// Redis: it returns a *PublishError at once when the queue is full or
// Redis has been down for longer than PublishConfig.MaxDelay, and
// PublishConfig.OnError hears of what is dropped later.
func (a *Adapter) Broadcast(ctx context.Context, p *protocol.Packet, opts socketio.BroadcastOptions) error {
	var msg []byte
	if !opts.Flags.Local {
		var err error
		q := *p
		q.Namespace = a.nspName
		msg, err = wire.AppendBroadcast(nil, &wire.Broadcast{UID: a.uid, Packet: &q, Opts: cluster.ToWire(opts)}, false)
		if err != nil {
			return fmt.Errorf("redisadapter: %w", err)
		}
	}
	if err := a.mem.Broadcast(ctx, p, opts); err != nil {
		return err
	}
	if msg == nil {
		return nil
	}
	channel := a.channel
	if len(opts.Rooms) == 1 {
		channel += opts.Rooms[0] + "#"
	}
	return a.send(OpBroadcast, channel, msg, p, nil)
}

// ackPending is a broadcast with acknowledgements of this server, whose
// client counts and acknowledgements other servers send back.
type ackPending struct {
	clientCount func(int)
	ack         func(socketio.Args)
}

// BroadcastWithAck delivers the packet locally, then queues it for the
// other servers (unless opts.Flags.Local), like Broadcast. Each server
// reports its number of recipients to clientCount and their
// acknowledgements to ack until ctx ends.
func (a *Adapter) BroadcastWithAck(ctx context.Context, p *protocol.Packet, opts socketio.BroadcastOptions,
	clientCount func(int), ack func(socketio.Args)) error {
	var id string
	var msg []byte
	if !opts.Flags.Local {
		id = newID()
		q := *p
		q.Namespace = a.nspName
		q.HasID = false
		var err error
		msg, err = wire.AppendBroadcastRequest(nil, &wire.Request{
			Type: wire.BroadcastWithAck, UID: a.uid, RequestID: id, Packet: &q, Opts: ptr(cluster.ToWire(opts)),
		})
		if err != nil {
			return fmt.Errorf("redisadapter: %w", err)
		}
		a.reqs.AddAck(ctx, id, &cluster.AckPending{ClientCount: clientCount, Ack: ack})
	}
	if err := a.mem.BroadcastWithAck(ctx, p, opts, clientCount, ack); err != nil {
		return err
	}
	if msg == nil {
		return nil
	}
	return a.send(OpBroadcastWithAck, a.requestChannel, msg, p, nil)
}

func ptr[T any](v T) *T { return &v }

// ServerCount returns the number of servers subscribed to the namespace's
// request channel (PUBSUB NUMSUB, summed over the masters of a cluster).
// It fails at once with ErrRedisDown while Redis is unreachable, and after
// PublishConfig.Timeout otherwise.
func (a *Adapter) ServerCount(ctx context.Context) (int, error) {
	return numSub(ctx, a.out.Link(), a.hub.client, a.requestChannel, false)
}

// PublishStats returns the counters of the namespace's publishing queue.
func (a *Adapter) PublishStats() PublishStats { return publishStats(a.out) }

// RequestsTimeout returns how long a request waits for the other servers'
// responses (Config.RequestsTimeout).
func (a *Adapter) RequestsTimeout() time.Duration { return a.reqs.RequestsTimeout() }

// AddSockets makes the sockets opts selects join rooms, here at once and on
// the other servers through Redis (unless opts.Flags.Local). Like
// Broadcast, it does not wait for Redis.
func (a *Adapter) AddSockets(ctx context.Context, opts socketio.BroadcastOptions, rooms []string) error {
	return a.remote(OpSocketsJoin, opts, &wire.Request{Type: wire.RemoteJoin, Rooms: cluster.NonNil(rooms)},
		func() error { return a.mem.AddSockets(ctx, opts, rooms) })
}

// DelSockets makes the sockets opts selects leave rooms.
func (a *Adapter) DelSockets(ctx context.Context, opts socketio.BroadcastOptions, rooms []string) error {
	return a.remote(OpSocketsLeave, opts, &wire.Request{Type: wire.RemoteLeave, Rooms: cluster.NonNil(rooms)},
		func() error { return a.mem.DelSockets(ctx, opts, rooms) })
}

// DisconnectSockets disconnects the sockets opts selects.
func (a *Adapter) DisconnectSockets(ctx context.Context, opts socketio.BroadcastOptions, close bool) error {
	return a.remote(OpDisconnectSockets, opts, &wire.Request{Type: wire.RemoteDisconnect, Close: close},
		func() error { return a.mem.DisconnectSockets(ctx, opts, close) })
}

// remote applies an operation locally, then queues it unless it is local
// only. This server ignores its own request when it comes back.
func (a *Adapter) remote(op Op, opts socketio.BroadcastOptions, r *wire.Request, local func() error) error {
	if err := local(); err != nil || opts.Flags.Local {
		return err
	}
	r.UID = a.uid
	r.Opts = &wire.Opts{Rooms: cluster.NonNil(opts.Rooms), Except: cluster.NonNil(opts.Except)}
	msg, err := wire.AppendRequest(nil, r)
	if err != nil {
		return fmt.Errorf("redisadapter: %w", err)
	}
	return a.send(op, a.requestChannel, msg, nil, nil)
}

// Close fails the adapter's pending requests with ErrClosed, publishes what
// it queued (for at most PublishConfig.Timeout) and unsubscribes it. The
// last adapter of a factory closes the subscriber connection.
func (a *Adapter) Close() error {
	a.closeOnce.Do(func() {
		a.reqs.Mu.Lock()
		a.reqs.CloseRequestsLocked()
		a.reqs.Mu.Unlock()
		a.out.Close()
		a.hub.release(a.subscription())
		_ = a.mem.Close()
	})
	return nil
}

// socketJSON encodes a local socket as the Node adapter does in a
// fetchSockets response.
func socketJSON(rs *socketio.RemoteSocket) (json.RawMessage, error) {
	return json.Marshal(rs)
}
