package redisadapter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
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
	if c.Timeout <= 0 {
		c.Timeout = 500 * time.Millisecond
	}
	if c.MaxDelay <= 0 {
		c.MaxDelay = time.Second
	}
	if c.QueueBytes <= 0 {
		c.QueueBytes = 4 << 20
	}
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
	OpBroadcast         Op = "broadcast"
	OpBroadcastWithAck  Op = "broadcastWithAck"
	OpSocketsJoin       Op = "socketsJoin"
	OpSocketsLeave      Op = "socketsLeave"
	OpDisconnectSockets Op = "disconnectSockets"
	OpFetchSockets      Op = "fetchSockets"
	OpAllRooms          Op = "allRooms"
	OpServerSideEmit    Op = "serverSideEmit"
	OpResponse          Op = "response" // an answer to another server's request
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

// message is the cross-node part of an operation, waiting in an outbox.
type message struct {
	op     Op
	packet *protocol.Packet // for reports
	size   int
	// cmd queues the Redis command on c and returns it.
	cmd func(ctx context.Context, c redis.Cmdable) redis.Cmder
	// counts tells that the command's reply (PUBLISH's receivers) is the
	// number of servers of the namespace.
	counts bool
	// done, when set, is called once with the outcome of a message the
	// outbox accepted: the command and a nil error once published,
	// otherwise the error (and a nil command when it was not sent). It
	// runs on the publishing goroutine.
	done     func(cmd redis.Cmder, err error)
	deadline time.Time
	// urgent messages have a caller waiting for them (pushWait): they are
	// refused at once while Redis is down.
	urgent bool
	state  atomic.Int32 // queued, sending or abandoned
}

// The states of a message.
const (
	queued int32 = iota
	sending
	abandoned // by its caller, before it was sent
)

func publishCmd(channel string, msg []byte) func(context.Context, redis.Cmdable) redis.Cmder {
	return func(ctx context.Context, c redis.Cmdable) redis.Cmder { return c.Publish(ctx, channel, msg) }
}

func spublishCmd(channel string, msg []byte) func(context.Context, redis.Cmdable) redis.Cmder {
	return func(ctx context.Context, c redis.Cmdable) redis.Cmder { return c.SPublish(ctx, channel, msg) }
}

// Batches: the messages published in one round trip.
const (
	maxBatch      = 64
	maxBatchBytes = 1 << 20
)

// resubscribeWait bounds how long, after an outage, an outbox waits for the
// other servers to subscribe again before it publishes.
const resubscribeWait = time.Second

// outbox is the publishing queue of one namespace's adapter: bounded,
// never blocking its callers, published in order by one goroutine that
// runs while there are messages and ends with close.
//
// After an outage, the messages wait until as many servers are subscribed
// as the last publication reached (at most resubscribeWait after Redis
// answers again): published earlier, they would miss the servers that have
// not subscribed again yet.
type outbox struct {
	link    *link
	client  redis.UniversalClient
	cfg     PublishConfig
	log     *slog.Logger
	nsp     string
	servers func(ctx context.Context) (int, error) // counts the servers; nil: no wait after an outage

	ctx     context.Context // ends when what remains must be dropped
	cancel  context.CancelFunc
	closing chan struct{} // closed by close
	wg      sync.WaitGroup

	mu      sync.Mutex
	queue   []*message
	bytes   int
	running bool
	closed  bool
	settled uint64 // the outages the outbox waited for the servers after
	ref     int    // servers the last counting publication reached

	published, failed atomic.Uint64

	logMu    sync.Mutex
	lastLog  time.Time
	unlogged int // failures not logged yet
}

func newOutbox(l *link, client redis.UniversalClient, cfg PublishConfig, log *slog.Logger, nsp string) *outbox {
	ctx, cancel := context.WithCancel(context.Background())
	o := &outbox{link: l, client: client, cfg: cfg, log: log, nsp: nsp, ctx: ctx, cancel: cancel,
		closing: make(chan struct{})}
	o.settled = l.state().outages
	return o
}

// push queues m, or reports it and returns a *PublishError when the queue
// is full, Redis has been down for longer than MaxDelay, or the outbox is
// closed. m.done is not called then.
func (o *outbox) push(m *message) error {
	now := time.Now()
	o.mu.Lock()
	var err error
	st := o.link.state()
	switch {
	case o.closed:
		err = ErrClosed
	case st.down && (m.urgent || now.Sub(st.since) >= o.cfg.MaxDelay):
		err = ErrRedisDown
	case len(o.queue) > 0 && o.bytes+m.size > o.cfg.QueueBytes:
		err = ErrQueueFull
	}
	if err != nil {
		o.mu.Unlock()
		return o.report(m, err, false)
	}
	m.deadline = now.Add(o.cfg.MaxDelay)
	o.queue = append(o.queue, m)
	o.bytes += m.size
	if !o.running {
		o.running = true
		o.wg.Add(1)
		go o.run()
	}
	o.mu.Unlock()
	return nil
}

func (o *outbox) run() {
	defer o.wg.Done()
	for {
		batch, outages := o.next()
		if batch == nil {
			return
		}
		o.send(batch, outages)
	}
}

// next waits until messages can be published and returns them, with the
// link's count of outages then, dropping the expired ones; it returns nil,
// and the goroutine ends, when none is left.
func (o *outbox) next() ([]*message, uint64) {
	for {
		now := time.Now()
		st := o.link.state()
		o.mu.Lock()
		aborted := o.ctx.Err() != nil || o.closed && st.down
		settle := !st.down && st.outages != o.settled && !o.closed
		var dropped []*message
		var cause error
		switch {
		case aborted:
			dropped, cause = o.takeLocked(len(o.queue), 0), ErrClosed
		default:
			n := 0
			for n < len(o.queue) && !now.Before(o.queue[n].deadline) {
				n++
			}
			dropped, cause = o.takeLocked(n, 0), ErrQueueFull
			if st.down || settle {
				cause = ErrRedisDown
			}
		}
		if len(o.queue) == 0 {
			o.running = false
			o.mu.Unlock()
			o.drop(dropped, cause)
			return nil, 0
		}
		if !st.down && !settle {
			batch := o.takeLocked(maxBatch, maxBatchBytes)
			o.mu.Unlock()
			o.drop(dropped, cause)
			return batch, st.outages
		}
		wait := time.Until(o.queue[0].deadline)
		o.mu.Unlock()
		o.drop(dropped, cause)
		if st.down {
			t := time.NewTimer(wait)
			select {
			case <-st.up:
			case <-t.C:
			case <-o.closing:
			case <-o.ctx.Done():
			}
			t.Stop()
			continue
		}
		o.settle(st)
		o.mu.Lock()
		o.settled = st.outages
		o.mu.Unlock()
	}
}

// takeLocked removes up to n messages from the head of the queue, and at
// most maxBytes of them when maxBytes > 0 (one at least), marking them
// sending. The abandoned ones are removed and not returned: their callers
// reported them.
func (o *outbox) takeLocked(n, maxBytes int) []*message {
	n = min(n, len(o.queue))
	size, taken := 0, 0
	var out []*message
	for _, m := range o.queue[:n] {
		if maxBytes > 0 && len(out) > 0 && size+m.size > maxBytes {
			break
		}
		taken++
		o.bytes -= m.size
		if m.state.CompareAndSwap(queued, sending) {
			size += m.size
			out = append(out, m)
		}
	}
	clear(o.queue[:taken])
	o.queue = o.queue[taken:]
	return out
}

// pushWait queues an urgent message and waits for its outcome, for at
// most the timeout or until ctx ends: it returns the command once
// published, or the error. A message not sent by then is abandoned, and
// reported; one already sent is waited for (the exchange is bounded by the
// timeout too).
func (o *outbox) pushWait(ctx context.Context, m *message) (redis.Cmder, error) {
	type outcome struct {
		cmd redis.Cmder
		err error
	}
	got := make(chan outcome, 1)
	m.urgent = true
	m.done = func(cmd redis.Cmder, err error) { got <- outcome{cmd, err} }
	if err := o.push(m); err != nil {
		return nil, err
	}
	t := time.NewTimer(o.cfg.Timeout)
	defer t.Stop()
	select {
	case r := <-got:
		return r.cmd, r.err
	case <-t.C:
	case <-ctx.Done():
	}
	for {
		if m.state.CompareAndSwap(queued, abandoned) {
			return nil, o.report(m, fmt.Errorf("%w: not published within %v", ErrRedisDown, o.cfg.Timeout), false)
		}
		t.Reset(o.cfg.Timeout) // on the wire: the exchange ends within the timeout
		select {
		case r := <-got:
			return r.cmd, r.err
		case <-t.C:
		}
	}
}

// settle waits, after an outage, until as many servers are subscribed as
// before it, or resubscribeWait after Redis answered again.
func (o *outbox) settle(st linkState) {
	o.mu.Lock()
	ref := o.ref
	o.mu.Unlock()
	if o.servers == nil || ref <= 1 {
		return
	}
	deadline := st.since.Add(resubscribeWait)
	for {
		n, err := o.servers(o.ctx)
		if err == nil && n >= ref {
			return
		}
		if time.Now().After(deadline) || o.link.isDown() {
			o.log.Info("redisadapter: publishing again before every server subscribed again",
				"nsp", o.nsp, "servers", n, "before", ref, "err", err)
			return
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-o.closing:
			return
		case <-o.ctx.Done():
			return
		}
	}
}

// send publishes a batch in one round trip; outages is the link's count
// of outages when the batch was taken.
//
// A batch taken just before Redis went away may still be published once it
// is back (go-redis dials again within the timeout), before the servers
// subscribed again. PUBLISH tells how many received a message on a channel
// every server listens to: one that nobody received is queued again, to
// be published once the servers are back; one that some servers missed is
// reported.
func (o *outbox) send(batch []*message, outages uint64) {
	ctx, cancel := context.WithTimeout(o.ctx, o.cfg.Timeout)
	cmds := make([]redis.Cmder, len(batch))
	if len(batch) == 1 {
		cmds[0] = batch[0].cmd(ctx, o.client)
	} else {
		_, _ = o.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, m := range batch {
				cmds[i] = m.cmd(ctx, p)
			}
			return nil
		})
	}
	cancel()
	st := o.link.state()
	calm := !st.down && st.outages == outages
	var lost error
	var again []*message
	for i, m := range batch {
		err := cmds[i].Err()
		maybeSent := true
		switch {
		case err == nil:
			c, ok := cmds[i].(*redis.IntCmd)
			if !ok || !m.counts {
				break
			}
			n := int(c.Val())
			o.mu.Lock()
			ref := o.ref
			if calm {
				o.ref = n
			}
			o.mu.Unlock()
			switch {
			case calm || n >= ref:
			case n == 0:
				again = append(again, m)
				continue
			default:
				err = fmt.Errorf("%w: published while Redis came back, to %d of %d servers", ErrRedisDown, n, ref)
			}
		case o.ctx.Err() != nil:
			err = ErrClosed
		case unreachable(err):
			lost = err
			maybeSent = !dialFailed(err)
			err = fmt.Errorf("%w: %w", ErrRedisDown, err)
		default: // Redis refused the command
			maybeSent = false
		}
		if err == nil {
			o.published.Add(1)
			if m.done != nil {
				m.done(cmds[i], nil)
			}
			continue
		}
		pe := o.report(m, err, maybeSent)
		if m.done != nil {
			m.done(cmds[i], pe)
		}
	}
	if len(again) > 0 {
		o.mu.Lock()
		size := 0
		for _, m := range again {
			size += m.size
			m.state.Store(queued)
		}
		o.queue = append(again, o.queue...)
		o.bytes += size
		o.mu.Unlock()
	}
	if lost != nil {
		o.link.fail(lost)
	} else {
		o.flushLog()
	}
}

// dialFailed reports whether err shows that the command never left: the
// connection to Redis could not be opened.
func dialFailed(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// drop reports messages that were not sent.
func (o *outbox) drop(msgs []*message, cause error) {
	for _, m := range msgs {
		err := cause
		if cause != ErrClosed {
			err = fmt.Errorf("%w: not published within %v", cause, o.cfg.MaxDelay)
		}
		pe := o.report(m, err, false)
		if m.done != nil {
			m.done(nil, pe)
		}
	}
}

// report counts, logs and passes on a message that was not published.
func (o *outbox) report(m *message, err error, maybeSent bool) *PublishError {
	o.failed.Add(1)
	pe := &PublishError{Namespace: o.nsp, Op: m.op, Packet: m.packet, Err: err, MaybeSent: maybeSent}
	o.logFailure(pe)
	if o.cfg.OnError != nil {
		o.cfg.OnError(pe)
	}
	return pe
}

// logFailure logs the first failure, then at most one line a second with
// the number of failures since the previous line.
func (o *outbox) logFailure(pe *PublishError) {
	o.logMu.Lock()
	o.unlogged++
	now := time.Now()
	if now.Sub(o.lastLog) < time.Second {
		o.logMu.Unlock()
		return
	}
	n := o.unlogged
	o.unlogged, o.lastLog = 0, now
	o.logMu.Unlock()
	o.log.Warn("redisadapter: not published to the other servers", "nsp", o.nsp, "op", pe.Op, "count", n, "err", pe.Err)
}

// flushLog logs the failures not logged yet, after a success.
func (o *outbox) flushLog() {
	o.logMu.Lock()
	n := o.unlogged
	o.unlogged, o.lastLog = 0, time.Time{}
	o.logMu.Unlock()
	if n > 0 {
		o.log.Warn("redisadapter: not published to the other servers", "nsp", o.nsp, "count", n)
	}
}

// stats returns the counters.
func (o *outbox) stats() PublishStats {
	o.mu.Lock()
	s := PublishStats{Queued: len(o.queue), QueuedBytes: o.bytes}
	o.mu.Unlock()
	s.Published, s.Failed, s.RedisDown = o.published.Load(), o.failed.Load(), o.link.isDown()
	return s
}

// close publishes what is queued, for at most the timeout while Redis
// answers, drops the rest with ErrClosed, and waits for the publishing
// goroutine.
func (o *outbox) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	close(o.closing)
	stop := time.AfterFunc(o.cfg.Timeout, o.cancel)
	o.wg.Wait()
	stop.Stop()
	o.cancel()
}
