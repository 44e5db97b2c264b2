package redisadapter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sio-go/socketio/internal/cluster"
	"github.com/sio-go/socketio/protocol"
)

// PublishConfig tells how an adapter sends to Redis what the other servers
// must receive: broadcasts, joins, leaves, disconnections, requests and
// responses. They wait in a bounded queue per namespace, which one
// goroutine publishes in order, so that the callers never wait for Redis.
// The zero value takes the defaults.
type PublishConfig struct {
	// Timeout bounds each exchange of the adapter with Redis: a batch of
	// publications, a server count, a probe. go-redis's own retries and
	// dial attempts happen within it (the client's options are not
	// changed). When it passes, or Redis cannot be reached, Redis is
	// considered down: the adapter probes it every 100 milliseconds, and
	// what needs Redis fails at once meanwhile. Defaults to 500
	// milliseconds.
	Timeout time.Duration
	// MaxDelay is how long the cross-node part of an operation may wait to
	// be published. What is still queued MaxDelay after its call is
	// dropped and reported, and while Redis has been down for longer than
	// MaxDelay operations fail at once with ErrRedisDown, without being
	// queued. A shorter outage only delays them. Defaults to 1 second.
	MaxDelay time.Duration
	// QueueBytes bounds the messages waiting to be published, per
	// namespace; past it, operations fail at once with ErrQueueFull. A
	// message larger than the bound is accepted when the queue is empty.
	// Defaults to 4 MiB.
	QueueBytes int
	// OnError, when set, is called once with each operation whose
	// cross-node part was not published: refused at once (the operation
	// also returns the error) or dropped later. It runs on the caller's
	// goroutine or the publishing one and must not block. Defaults to nil.
	OnError func(*PublishError)
}

func (c PublishConfig) withDefaults() PublishConfig {
	c.Timeout, c.MaxDelay, c.QueueBytes = cluster.PublishDefaults(c.Timeout, c.MaxDelay, c.QueueBytes)
	return c
}

var (
	// ErrRedisDown is the cause of a PublishError when Redis did not answer
	// or is considered down, and is returned (wrapped) by operations that
	// need Redis while it is down.
	ErrRedisDown = errors.New("redisadapter: Redis unreachable")
	// ErrQueueFull is the cause of a PublishError when the namespace's
	// publishing queue was full, or could not be published within
	// PublishConfig.MaxDelay while Redis answered.
	ErrQueueFull = errors.New("redisadapter: publishing queue full")
)

// Op names the operation a PublishError is about.
type Op string

// The operations whose cross-node part is published.
const (
	OpBroadcast         Op = cluster.OpBroadcast
	OpBroadcastWithAck  Op = cluster.OpBroadcastWithAck
	OpSocketsJoin       Op = cluster.OpSocketsJoin
	OpSocketsLeave      Op = cluster.OpSocketsLeave
	OpDisconnectSockets Op = cluster.OpDisconnectSockets
	OpFetchSockets      Op = cluster.OpFetchSockets
	OpAllRooms          Op = cluster.OpAllRooms
	OpServerSideEmit    Op = cluster.OpServerSideEmit
	OpResponse          Op = cluster.OpResponse // an answer to another server's request
)

// PublishError reports that the cross-node part of an operation was not
// published: the other servers did not get it, the local sockets did. Err
// is ErrQueueFull, ErrRedisDown (possibly wrapping go-redis's error),
// ErrClosed, or the error Redis answered; errors.Is sees through it.
type PublishError struct {
	Namespace string
	Op        Op
	// Packet is the packet of a broadcast, nil for other operations. It
	// must not be modified.
	Packet *protocol.Packet
	Err    error
	// MaybeSent tells that the message had been written to Redis when the
	// connection failed, or that it reached only some of the servers: the
	// other servers may have received it. When false, none did.
	MaybeSent bool
}

func (e *PublishError) Error() string {
	return fmt.Sprintf("redisadapter: %s on %s not published to the other servers: %v", e.Op, e.Namespace, e.Err)
}

func (e *PublishError) Unwrap() error { return e.Err }

// PublishStats are the counters of a namespace's publishing queue, for a
// metrics collector.
type PublishStats struct {
	// Published counts the messages Redis accepted.
	Published uint64
	// Failed counts the messages not published, each reported to
	// PublishConfig.OnError.
	Failed uint64
	// Queued and QueuedBytes measure the messages waiting.
	Queued      int
	QueuedBytes int
	// RedisDown tells that Redis is considered unreachable.
	RedisDown bool
}

// cmdFunc queues a Redis command on c and returns it: the payload of the
// messages of a Redis adapter's outbox.
type cmdFunc func(ctx context.Context, c redis.Cmdable) redis.Cmder

// message returns the outbox message of an operation: cmd is its Redis
// command; counts tells that the command's reply (PUBLISH's receivers) is
// the number of servers of the namespace; done, when set, gets the command
// once published, or the error.
func message(op Op, p *protocol.Packet, size int, cmd cmdFunc, counts bool, done func(any, error)) *cluster.Message {
	return &cluster.Message{Op: string(op), Packet: p, Size: size, Payload: cmd, Counts: counts, Done: done}
}

func publishCmd(channel string, msg []byte) cmdFunc {
	return func(ctx context.Context, c redis.Cmdable) redis.Cmder { return c.Publish(ctx, channel, msg) }
}

func spublishCmd(channel string, msg []byte) cmdFunc {
	return func(ctx context.Context, c redis.Cmdable) redis.Cmder { return c.SPublish(ctx, channel, msg) }
}

// newOutbox returns the publishing queue of namespace nsp: bounded, never
// blocking its callers, published in order (up to 64 messages per round
// trip) by one goroutine that runs while there are messages.
func newOutbox(l *cluster.Link, client redis.UniversalClient, cfg PublishConfig, log *slog.Logger, nsp string) *cluster.Outbox {
	return cluster.NewOutbox(l, cluster.OutboxConfig{
		Timeout:    cfg.Timeout,
		MaxDelay:   cfg.MaxDelay,
		QueueBytes: cfg.QueueBytes,
		Send:       func(ctx context.Context, batch []*cluster.Message) []cluster.Result { return send(ctx, client, batch) },
		Closed:     ErrClosed,
		Down:       ErrRedisDown,
		QueueFull:  ErrQueueFull,
		Report: func(f cluster.Failure) error {
			pe := &PublishError{Namespace: f.Namespace, Op: Op(f.Op), Packet: f.Packet, Err: f.Err, MaybeSent: f.MaybeSent}
			if cfg.OnError != nil {
				cfg.OnError(pe)
			}
			return pe
		},
		Log:    log,
		Prefix: "redisadapter",
		Nsp:    nsp,
	})
}

// send runs a batch of commands in one round trip (a pipeline for more than
// one). A command that failed for want of Redis was sent unless the
// connection could not be opened.
func send(ctx context.Context, client redis.UniversalClient, batch []*cluster.Message) []cluster.Result {
	cmds := make([]redis.Cmder, len(batch))
	if len(batch) == 1 {
		cmds[0] = batch[0].Payload.(cmdFunc)(ctx, client)
	} else {
		_, _ = client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, m := range batch {
				cmds[i] = m.Payload.(cmdFunc)(ctx, p)
			}
			return nil
		})
	}
	out := make([]cluster.Result, len(batch))
	for i, cmd := range cmds {
		r := cluster.Result{Value: cmd, Err: cmd.Err(), Receivers: -1}
		if c, ok := cmd.(*redis.IntCmd); ok && r.Err == nil {
			r.Receivers = int(c.Val())
		}
		if unreachable(r.Err) {
			r.Unreachable, r.MaybeSent = true, !dialFailed(r.Err)
		}
		out[i] = r
	}
	return out
}

// dialFailed reports whether err shows that the command never left: the
// connection to Redis could not be opened.
func dialFailed(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// publishStats returns the counters of an outbox.
func publishStats(o *cluster.Outbox) PublishStats {
	s := o.Stats()
	return PublishStats{Published: s.Published, Failed: s.Failed, Queued: s.Queued, QueuedBytes: s.QueuedBytes, RedisDown: s.Down}
}
