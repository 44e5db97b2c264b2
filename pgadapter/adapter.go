package pgadapter

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/internal/cluster"
	"github.com/sio-go/socketio/internal/cluster/wire"
	"github.com/sio-go/socketio/pgadapter/internal/pgnotify"
	"github.com/sio-go/socketio/protocol"
)

// New returns the adapter factory to put in socketio.Config.Adapter,
// compatible with createAdapter of @socket.io/postgres-adapter 0.5. pool
// sends the notifications, reads and writes the attachment table; a
// connection of its own, opened with the pool's connection settings,
// listens to the channels of the factory's namespaces. cfg may be nil.
//
// The attachment table must exist (see EnsureTable) for messages of
// PayloadThreshold bytes or more and those with binary values.
func New(pool *pgxpool.Pool, cfg *Config) socketio.AdapterFactory {
	c := cfg.withDefaults()
	h := &hub{pool: pool, cfg: c, log: c.Logger, q: pgnotify.NewQueries(c.TableName), adapters: map[string]*Adapter{}}
	return func(nsp *socketio.Namespace) socketio.Adapter {
		return newAdapter(h, nsp)
	}
}

// Adapter is the Postgres adapter of one namespace. Its rooms live in a
// socketio.MemoryAdapter; every operation that concerns other servers is
// also sent through PostgreSQL, and what other servers send is applied to
// the local sockets.
type Adapter struct {
	hub       *hub
	node      *cluster.Node
	channel   string // "<prefix>#<namespace>"
	closeOnce sync.Once
	beats     sync.WaitGroup // heartbeats being sent
}

var (
	_ socketio.Adapter      = (*Adapter)(nil)
	_ socketio.SessionStore = (*Adapter)(nil)
)

// tableErrors are the errors of the adapters' request tables.
var tableErrors = cluster.TableErrors{Closed: ErrClosed, Timeout: ErrTimeout, Prefix: "pgadapter"}

// outgoing is the payload of an outbox message.
type outgoing struct {
	channel string
	enc     pgnotify.Encoded
}

func newAdapter(h *hub, nsp *socketio.Namespace) *Adapter {
	c := h.cfg
	n := cluster.NewNode(nsp, c.RequestsTimeout, c.Logger, "pgadapter", tableErrors)
	a := &Adapter{hub: h, node: n, channel: c.ChannelPrefix + "#" + n.NspName}
	n.Post = a.post
	n.Respond = func(_ string, m *wire.ClusterMessage) { _ = a.post(cluster.OpResponse, m, nil) }
	l := h.acquire()
	n.Out = cluster.NewOutbox(l, cluster.OutboxConfig{
		Timeout:    c.Publish.Timeout,
		MaxDelay:   c.Publish.MaxDelay,
		QueueBytes: c.Publish.QueueBytes,
		Send:       h.send,
		Settle:     a.settle,
		Closed:     ErrClosed,
		Down:       ErrDatabaseDown,
		QueueFull:  ErrQueueFull,
		Report: func(f cluster.Failure) error {
			pe := &PublishError{Namespace: f.Namespace, Op: Op(f.Op), Packet: f.Packet, Err: f.Err, MaybeSent: f.MaybeSent}
			if c.Publish.OnError != nil && f.Op != cluster.OpHeartbeat {
				c.Publish.OnError(pe)
			}
			return pe
		},
		Log:    c.Logger,
		Prefix: "pgadapter",
		Nsp:    n.NspName,
	})
	n.StartHeartbeats(c.HeartbeatInterval, c.HeartbeatTimeout)
	h.register(a) // the listener announces the adapter once it listens
	return a
}

// post queues m for the other servers: in the notification, or through the
// attachment table.
func (a *Adapter) post(op string, m *wire.ClusterMessage, done func(any, error)) error {
	m.UID, m.Nsp = a.node.UID, a.node.NspName
	if m.Type == wire.InitialHeartbeat || m.Type == wire.Heartbeat {
		a.beat(m)
		return nil
	}
	enc, err := pgnotify.Encode(m, a.hub.cfg.PayloadThreshold)
	if err != nil {
		return fmt.Errorf("pgadapter: %w", err)
	}
	var p *protocol.Packet
	if op == cluster.OpBroadcast || op == cluster.OpBroadcastWithAck {
		p = m.Packet
	}
	return a.node.Out.Push(&cluster.Message{Op: op, Packet: p, Size: len(enc.Payload) + len(a.channel),
		Payload: &outgoing{channel: a.channel, enc: enc}, Done: done})
}

// beat sends a heartbeat at once, beside the queue: heartbeats need no
// order, and after an outage the queue waits for the other servers'
// heartbeats (settle) — queued, they would wait for each other. One that
// fails is only counted and logged at debug level.
func (a *Adapter) beat(m *wire.ClusterMessage) {
	b, err := wire.AppendClusterMessage(nil, m)
	if err != nil {
		return
	}
	a.beats.Add(1)
	go func() {
		defer a.beats.Done()
		l := a.node.Out.Link()
		err := l.Do(context.Background(), func(ctx context.Context) error {
			_, err := a.hub.pool.Exec(ctx, pgnotifySQL, a.channel, string(b))
			return err
		})
		if err != nil {
			a.hub.log.Debug("pgadapter: heartbeat not sent", "nsp", a.node.NspName, "err", err)
		}
	}()
}

// settle waits, after an outage, until the servers this one knew have been
// heard from since its listener listens again (they answer its initial
// heartbeat), for cluster.ResubscribeWait at most: sent earlier, messages
// would miss the servers that do not listen again yet.
func (a *Adapter) settle(ctx context.Context, st cluster.LinkState) {
	want := a.node.HeardSince(time.Time{})
	deadline := st.Since.Add(cluster.ResubscribeWait)
	for {
		at, ok := a.hub.listening(a.channel)
		if ok && a.node.HeardSince(at) >= want {
			return
		}
		if time.Now().After(deadline) {
			a.hub.log.Info("pgadapter: sending again before every server listens again", "nsp", a.node.NspName,
				"listening", ok, "servers", a.node.HeardSince(at), "before", want)
			return
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return
		}
	}
}

// UID returns the random id of the adapter, which other servers see in its
// messages.
func (a *Adapter) UID() string { return a.node.UID }

// Channel returns the notification channel of the namespace.
func (a *Adapter) Channel() string { return a.channel }

// Ready waits until the adapter listens to its channel, from when it
// receives what the other servers send.
func (a *Adapter) Ready(ctx context.Context) error {
	if a.node.IsClosed() {
		return ErrClosed
	}
	return a.hub.waitListening(ctx, a.channel)
}

// AddAll adds socket id to rooms.
func (a *Adapter) AddAll(id string, rooms []string) { a.node.AddAll(id, rooms) }

// Del removes socket id from room.
func (a *Adapter) Del(id, room string) { a.node.Del(id, room) }

// DelAll removes socket id from every room.
func (a *Adapter) DelAll(id string) { a.node.DelAll(id) }

// SocketRooms returns the rooms of local socket id.
func (a *Adapter) SocketRooms(id string) []string { return a.node.SocketRooms(id) }

// PersistSession stores the state of a disconnected socket on this server:
// as with the Node adapter, a session is not shared with the other servers.
func (a *Adapter) PersistSession(s *socketio.Session) { a.node.Mem.PersistSession(s) }

// RestoreSession restores a session stored on this server.
func (a *Adapter) RestoreSession(ctx context.Context, pid, offset string) (*socketio.Session, error) {
	return a.node.Mem.RestoreSession(ctx, pid, offset)
}

// Broadcast delivers p to the local sockets opts selects, then, unless
// opts.Flags.Local, queues it for the other servers. It does not wait for
// the database: it returns a *PublishError at once when the queue is full
// or the database has been down for longer than PublishConfig.MaxDelay,
// and PublishConfig.OnError hears of what is dropped later.
func (a *Adapter) Broadcast(ctx context.Context, p *protocol.Packet, opts socketio.BroadcastOptions) error {
	if err := a.node.Mem.Broadcast(ctx, p, opts); err != nil || opts.Flags.Local {
		return err
	}
	o := cluster.ToWire(opts)
	return a.node.Send(cluster.OpBroadcast, &wire.ClusterMessage{Type: wire.ClusterBroadcast, Packet: p, Opts: &o}, nil)
}

// BroadcastWithAck delivers the packet locally, then queues it for the
// other servers (unless opts.Flags.Local), like Broadcast. Each server
// reports its number of recipients to clientCount and their
// acknowledgements to ack until ctx ends.
func (a *Adapter) BroadcastWithAck(ctx context.Context, p *protocol.Packet, opts socketio.BroadcastOptions,
	clientCount func(int), ack func(socketio.Args)) error {
	return a.node.BroadcastWithAck(ctx, p, opts, clientCount, ack)
}

// ServerCount returns the number of servers of the namespace: this one and
// those heard from within Config.HeartbeatTimeout (checked every second),
// as the Node adapter counts them. It does not query the database.
func (a *Adapter) ServerCount(context.Context) (int, error) {
	return 1 + a.node.HeardSince(time.Time{}), nil
}

// AddSockets makes the sockets opts selects join rooms, here at once and
// on the other servers through the database (unless opts.Flags.Local).
// Like Broadcast, it does not wait for the database.
func (a *Adapter) AddSockets(ctx context.Context, opts socketio.BroadcastOptions, rooms []string) error {
	return a.node.AddSockets(ctx, opts, rooms)
}

// DelSockets makes the sockets opts selects leave rooms.
func (a *Adapter) DelSockets(ctx context.Context, opts socketio.BroadcastOptions, rooms []string) error {
	return a.node.DelSockets(ctx, opts, rooms)
}

// DisconnectSockets disconnects the sockets opts selects.
func (a *Adapter) DisconnectSockets(ctx context.Context, opts socketio.BroadcastOptions, close bool) error {
	return a.node.DisconnectSockets(ctx, opts, close)
}

// FetchSockets returns the sockets opts selects on every server (only on
// this one with opts.Flags.Local). It waits for each server counted by the
// heartbeats, until Config.RequestsTimeout (then it fails with
// ErrTimeout), and fails at once with ErrDatabaseDown while the database is
// unreachable.
func (a *Adapter) FetchSockets(ctx context.Context, opts socketio.BroadcastOptions) ([]*socketio.RemoteSocket, error) {
	if !opts.Flags.Local && a.node.Out.Link().IsDown() {
		return nil, fmt.Errorf("pgadapter: fetchSockets: %w", ErrDatabaseDown)
	}
	return a.node.FetchSockets(ctx, opts)
}

// ServerSideEmit queues the event for the other servers. With reply, it
// returns how many servers are expected to answer and passes each answer
// to reply until ctx ends or Config.RequestsTimeout passes; it fails at
// once with ErrDatabaseDown while the database is unreachable. Binary
// arguments travel as binary, through the attachment table.
func (a *Adapter) ServerSideEmit(ctx context.Context, p *protocol.Packet, reply func(socketio.Args)) (int, error) {
	if reply != nil && a.node.Out.Link().IsDown() {
		return 0, fmt.Errorf("pgadapter: serverSideEmit: %w", ErrDatabaseDown)
	}
	return a.node.ServerSideEmit(ctx, p, reply)
}

// RequestsTimeout returns how long a request waits for the other servers'
// responses (Config.RequestsTimeout).
func (a *Adapter) RequestsTimeout() time.Duration { return a.node.RequestsTimeout() }

// PublishStats returns the counters of the namespace's publishing queue.
func (a *Adapter) PublishStats() PublishStats {
	s := a.node.Out.Stats()
	return PublishStats{Published: s.Published, Failed: s.Failed, Queued: s.Queued, QueuedBytes: s.QueuedBytes, DatabaseDown: s.Down}
}

// Close fails the adapter's pending requests with ErrClosed, announces its
// closing to the other servers (ADAPTER_CLOSE), sends what it queued (for
// at most PublishConfig.Timeout) and stops listening to its channel. The
// last adapter of a factory closes the listening connection.
func (a *Adapter) Close() error {
	a.closeOnce.Do(func() {
		a.node.Mu.Lock()
		a.node.CloseRequestsLocked()
		a.node.Mu.Unlock()
		a.node.StopHeartbeats()
		a.beats.Wait()
		a.node.Out.Close()
		a.hub.release(a)
		_ = a.node.Mem.Close()
	})
	return nil
}
