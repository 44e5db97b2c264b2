package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sio-go/socketio/protocol"
)

// The operations whose cross-node part is published, as the adapters name
// them in their errors (each adapter package has a typed Op with these
// values).
const (
	OpBroadcast         = "broadcast"
	OpBroadcastWithAck  = "broadcastWithAck"
	OpSocketsJoin       = "socketsJoin"
	OpSocketsLeave      = "socketsLeave"
	OpDisconnectSockets = "disconnectSockets"
	OpFetchSockets      = "fetchSockets"
	OpAllRooms          = "allRooms"
	OpServerSideEmit    = "serverSideEmit"
	OpResponse          = "response" // an answer to another server's request
	OpHeartbeat         = "heartbeat"
)

// Message is the cross-node part of an operation, waiting in an Outbox.
type Message struct {
	Op     string
	Packet *protocol.Packet // for reports
	Size   int
	// Payload is what the Sender sends.
	Payload any
	// Counts tells that the Result's Receivers is the number of servers of
	// the namespace.
	Counts bool
	// Done, when set, is called once with the outcome of a message the
	// outbox accepted: the Result's Value and a nil error once published,
	// otherwise the error (and a nil value when it was not sent). It runs
	// on the publishing goroutine.
	Done func(value any, err error)

	deadline time.Time
	// urgent messages have a caller waiting for them (PushWait): they are
	// refused at once while the backend is down.
	urgent bool
	state  atomic.Int32 // queued, sending or abandoned
}

// The states of a message.
const (
	queued int32 = iota
	sending
	abandoned // by its caller, before it was sent
)

// Result is the outcome of sending one message.
type Result struct {
	// Value is passed to the message's Done (a command, an entry id…).
	Value any
	// Err is nil when the backend accepted the message.
	Err error
	// Receivers is how many servers received a Counts message, -1 when
	// unknown.
	Receivers int
	// Unreachable tells that Err shows the backend unreachable: the link
	// fails.
	Unreachable bool
	// MaybeSent tells, for an unreachable backend, that the message may
	// have been received before the connection failed.
	MaybeSent bool
	// NotRun tells, for an unreachable backend, that the backend certainly
	// did not run the message: it is queued again, at the head.
	NotRun bool
}

// A Sender sends a batch of messages to the backend in one round trip,
// within ctx, and returns one Result per message.
type Sender func(ctx context.Context, batch []*Message) []Result

// Failure describes a message that was not published, for the adapter to
// report in its own error type.
type Failure struct {
	Namespace string
	Op        string
	Packet    *protocol.Packet
	Err       error
	MaybeSent bool
}

// OutboxConfig configures an Outbox.
type OutboxConfig struct {
	// Timeout bounds each exchange with the backend; MaxDelay how long a
	// message may wait to be published; QueueBytes the bytes waiting.
	Timeout, MaxDelay time.Duration
	QueueBytes        int
	// Send sends the batches.
	Send Sender
	// Servers, when set, counts the servers of the namespace: after an
	// outage, the queue waits until as many answer as before it.
	Servers func(ctx context.Context) (int, error)
	// Settle, when set, replaces the wait for Servers after an outage: it
	// returns once the other servers listen again (or it gave up), and
	// must return when ctx ends.
	Settle func(ctx context.Context, st LinkState)
	// Closed, Down and QueueFull are the adapter package's sentinel
	// errors for the causes of a Failure.
	Closed, Down, QueueFull error
	// Report turns a Failure into the adapter's error (which it passes to
	// its OnError hook) and returns it.
	Report func(Failure) error
	// Log receives the failures (at most one line a second) and what
	// happens after an outage; Prefix names the package, Nsp the
	// namespace.
	Log         *slog.Logger
	Prefix, Nsp string
}

// Batches: the messages published in one round trip.
const (
	maxBatch      = 64
	maxBatchBytes = 1 << 20
)

// ResubscribeWait bounds how long, after an outage, an outbox waits for the
// other servers to listen again before it publishes.
const ResubscribeWait = time.Second

// Outbox is the publishing queue of one namespace's adapter: bounded,
// never blocking its callers, published in order by one goroutine that
// runs while there are messages and ends with Close.
//
// After an outage, the messages wait until as many servers answer as the
// last counted publication reached (at most ResubscribeWait after the
// backend answers again): published earlier, they would miss the servers
// that have not subscribed again yet.
type Outbox struct {
	link *Link
	cfg  OutboxConfig

	ctx     context.Context // ends when what remains must be dropped
	cancel  context.CancelFunc
	closing chan struct{} // closed by Close
	wg      sync.WaitGroup

	mu      sync.Mutex
	queue   []*Message
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

// NewOutbox returns an empty outbox publishing through l's backend.
func NewOutbox(l *Link, cfg OutboxConfig) *Outbox {
	ctx, cancel := context.WithCancel(context.Background())
	o := &Outbox{link: l, cfg: cfg, ctx: ctx, cancel: cancel, closing: make(chan struct{})}
	o.settled = l.State().Outages
	return o
}

// Link returns the link the outbox follows.
func (o *Outbox) Link() *Link { return o.link }

// SetServers sets the function that counts the servers (OutboxConfig.Servers).
func (o *Outbox) SetServers(f func(ctx context.Context) (int, error)) {
	o.mu.Lock()
	o.cfg.Servers = f
	o.mu.Unlock()
}

// HasServers reports whether the outbox counts the servers.
func (o *Outbox) HasServers() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.cfg.Servers != nil
}

// Push queues m, or reports it and returns the adapter's error when the
// queue is full, the backend has been down for longer than MaxDelay, or
// the outbox is closed. m.Done is not called then.
func (o *Outbox) Push(m *Message) error {
	now := time.Now()
	o.mu.Lock()
	var err error
	st := o.link.State()
	switch {
	case o.closed:
		err = o.cfg.Closed
	case st.Down && (m.urgent || now.Sub(st.Since) >= o.cfg.MaxDelay):
		err = o.cfg.Down
	case len(o.queue) > 0 && o.bytes+m.Size > o.cfg.QueueBytes:
		err = o.cfg.QueueFull
	}
	if err != nil {
		o.mu.Unlock()
		return o.report(m, err, false)
	}
	m.deadline = now.Add(o.cfg.MaxDelay)
	o.queue = append(o.queue, m)
	o.bytes += m.Size
	if !o.running {
		o.running = true
		o.wg.Add(1)
		go o.run()
	}
	o.mu.Unlock()
	return nil
}

func (o *Outbox) run() {
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
func (o *Outbox) next() ([]*Message, uint64) {
	for {
		now := time.Now()
		st := o.link.State()
		o.mu.Lock()
		aborted := o.ctx.Err() != nil || o.closed && st.Down
		settle := !st.Down && st.Outages != o.settled && !o.closed
		var dropped []*Message
		var cause error
		switch {
		case aborted:
			dropped, cause = o.takeLocked(len(o.queue), 0), o.cfg.Closed
		default:
			n := 0
			for n < len(o.queue) && !now.Before(o.queue[n].deadline) {
				n++
			}
			dropped, cause = o.takeLocked(n, 0), o.cfg.QueueFull
			if st.Down || settle {
				cause = o.cfg.Down
			}
		}
		if len(o.queue) == 0 {
			o.running = false
			o.mu.Unlock()
			o.drop(dropped, cause)
			return nil, 0
		}
		if !st.Down && !settle {
			batch := o.takeLocked(maxBatch, maxBatchBytes)
			o.mu.Unlock()
			o.drop(dropped, cause)
			return batch, st.Outages
		}
		wait := time.Until(o.queue[0].deadline)
		o.mu.Unlock()
		o.drop(dropped, cause)
		if st.Down {
			t := time.NewTimer(wait)
			select {
			case <-st.Up:
			case <-t.C:
			case <-o.closing:
			case <-o.ctx.Done():
			}
			t.Stop()
			continue
		}
		if o.cfg.Settle != nil {
			o.settleWith(st)
		} else {
			o.settle(st)
		}
		o.mu.Lock()
		o.settled = st.Outages
		o.mu.Unlock()
	}
}

// takeLocked removes up to n messages from the head of the queue, and at
// most maxBytes of them when maxBytes > 0 (one at least), marking them
// sending. The abandoned ones are removed and not returned: their callers
// reported them.
func (o *Outbox) takeLocked(n, maxBytes int) []*Message {
	n = min(n, len(o.queue))
	size, taken := 0, 0
	var out []*Message
	for _, m := range o.queue[:n] {
		if maxBytes > 0 && len(out) > 0 && size+m.Size > maxBytes {
			break
		}
		taken++
		o.bytes -= m.Size
		if m.state.CompareAndSwap(queued, sending) {
			size += m.Size
			out = append(out, m)
		}
	}
	clear(o.queue[:taken])
	o.queue = o.queue[taken:]
	return out
}

// PushWait queues an urgent message and waits for its outcome, for at most
// the timeout or until ctx ends: it returns the Result's Value once
// published, or the error. A message not sent by then is abandoned, and
// reported; one already sent is waited for (the exchange is bounded by the
// timeout too).
func (o *Outbox) PushWait(ctx context.Context, m *Message) (any, error) {
	type outcome struct {
		v   any
		err error
	}
	got := make(chan outcome, 1)
	m.urgent = true
	m.Done = func(v any, err error) { got <- outcome{v, err} }
	if err := o.Push(m); err != nil {
		return nil, err
	}
	t := time.NewTimer(o.cfg.Timeout)
	defer t.Stop()
	select {
	case r := <-got:
		return r.v, r.err
	case <-t.C:
	case <-ctx.Done():
	}
	for {
		if m.state.CompareAndSwap(queued, abandoned) {
			return nil, o.report(m, fmt.Errorf("%w: not published within %v", o.cfg.Down, o.cfg.Timeout), false)
		}
		t.Reset(o.cfg.Timeout) // on the wire: the exchange ends within the timeout
		select {
		case r := <-got:
			return r.v, r.err
		case <-t.C:
		}
	}
}

// settle waits, after an outage, until as many servers answer as before
// it, or ResubscribeWait after the backend answered again.
func (o *Outbox) settle(st LinkState) {
	o.mu.Lock()
	ref, servers := o.ref, o.cfg.Servers
	o.mu.Unlock()
	if servers == nil || ref <= 1 {
		return
	}
	deadline := st.Since.Add(ResubscribeWait)
	for {
		n, err := servers(o.ctx)
		if err == nil && n >= ref {
			return
		}
		if time.Now().After(deadline) || o.link.IsDown() {
			o.cfg.Log.Info(o.cfg.Prefix+": publishing again before every server subscribed again",
				"nsp", o.cfg.Nsp, "servers", n, "before", ref, "err", err)
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

// settleWith runs OutboxConfig.Settle, which Close interrupts.
func (o *Outbox) settleWith(st LinkState) {
	ctx, cancel := context.WithCancel(o.ctx)
	defer cancel()
	go func() {
		select {
		case <-o.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	o.cfg.Settle(ctx, st)
}

// send publishes a batch in one round trip; outages is the link's count
// of outages when the batch was taken.
//
// A batch taken just before the backend went away may still be published
// once it is back, before the servers subscribed again. When the backend
// tells how many servers received a message on a channel every server
// listens to, one that nobody received is queued again, to be published
// once the servers are back, and one that some servers missed is
// reported. One that the backend certainly did not run is queued again
// too.
func (o *Outbox) send(batch []*Message, outages uint64) {
	ctx, cancel := context.WithTimeout(o.ctx, o.cfg.Timeout)
	results := o.cfg.Send(ctx, batch)
	cancel()
	st := o.link.State()
	calm := !st.Down && st.Outages == outages
	var lost error
	var again []*Message
	for i, m := range batch {
		r := results[i]
		err := r.Err
		maybeSent := true
		switch {
		case err == nil:
			if !m.Counts || r.Receivers < 0 {
				break
			}
			n := r.Receivers
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
				err = fmt.Errorf("%w: published while the backend came back, to %d of %d servers", o.cfg.Down, n, ref)
			}
		case o.ctx.Err() != nil:
			err = o.cfg.Closed
		case r.Unreachable:
			lost = err
			if r.NotRun && !o.closedNow() {
				again = append(again, m)
				continue
			}
			maybeSent = r.MaybeSent
			err = fmt.Errorf("%w: %w", o.cfg.Down, err)
		default: // the backend refused the command
			maybeSent = false
		}
		if err == nil {
			o.published.Add(1)
			if m.Done != nil {
				m.Done(r.Value, nil)
			}
			continue
		}
		pe := o.report(m, err, maybeSent)
		if m.Done != nil {
			m.Done(nil, pe)
		}
	}
	if len(again) > 0 {
		o.mu.Lock()
		size := 0
		for _, m := range again {
			size += m.Size
			m.state.Store(queued)
		}
		o.queue = append(again, o.queue...)
		o.bytes += size
		o.mu.Unlock()
	}
	if lost != nil {
		o.link.Fail(lost)
	} else {
		o.flushLog()
	}
}

func (o *Outbox) closedNow() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.closed
}

// drop reports messages that were not sent.
func (o *Outbox) drop(msgs []*Message, cause error) {
	for _, m := range msgs {
		err := cause
		if cause != o.cfg.Closed {
			err = fmt.Errorf("%w: not published within %v", cause, o.cfg.MaxDelay)
		}
		pe := o.report(m, err, false)
		if m.Done != nil {
			m.Done(nil, pe)
		}
	}
}

// report counts, logs and passes on a message that was not published.
func (o *Outbox) report(m *Message, err error, maybeSent bool) error {
	o.failed.Add(1)
	f := Failure{Namespace: o.cfg.Nsp, Op: m.Op, Packet: m.Packet, Err: err, MaybeSent: maybeSent}
	o.logFailure(&f)
	return o.cfg.Report(f)
}

// logFailure logs the first failure, then at most one line a second with
// the number of failures since the previous line.
func (o *Outbox) logFailure(f *Failure) {
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
	o.cfg.Log.Warn(o.cfg.Prefix+": not published to the other servers", "nsp", o.cfg.Nsp, "op", f.Op, "count", n, "err", f.Err)
}

// flushLog logs the failures not logged yet, after a success.
func (o *Outbox) flushLog() {
	o.logMu.Lock()
	n := o.unlogged
	o.unlogged, o.lastLog = 0, time.Time{}
	o.logMu.Unlock()
	if n > 0 {
		o.cfg.Log.Warn(o.cfg.Prefix+": not published to the other servers", "nsp", o.cfg.Nsp, "count", n)
	}
}

// Stats are the counters of an outbox.
type Stats struct {
	Published, Failed   uint64
	Queued, QueuedBytes int
	Down                bool
}

// Stats returns the counters.
func (o *Outbox) Stats() Stats {
	o.mu.Lock()
	s := Stats{Queued: len(o.queue), QueuedBytes: o.bytes}
	o.mu.Unlock()
	s.Published, s.Failed, s.Down = o.published.Load(), o.failed.Load(), o.link.IsDown()
	return s
}

// Close publishes what is queued, for at most the timeout while the
// backend answers, drops the rest with the Closed error, and waits for the
// publishing goroutine.
func (o *Outbox) Close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	close(o.closing)
	stop := time.AfterFunc(o.cfg.Timeout, o.cancel)
	o.wg.Wait()
	stop.Stop()
	o.cancel()
}

// PublishDefaults returns the publishing settings of an adapter's
// configuration, each zero one replaced by its default: Timeout 500 ms,
// MaxDelay 1 s, QueueBytes 4 MiB.
func PublishDefaults(timeout, maxDelay time.Duration, queueBytes int) (time.Duration, time.Duration, int) {
	if timeout <= 0 {
		timeout = 500 * time.Millisecond
	}
	if maxDelay <= 0 {
		maxDelay = time.Second
	}
	if queueBytes <= 0 {
		queueBytes = 4 << 20
	}
	return timeout, maxDelay, queueBytes
}
