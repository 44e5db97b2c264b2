package load

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sio-go/socketio/bench/internal/wire"
)

// ackRing is the number of outstanding acks a client can track; the echo
// window is capped to it.
const ackRing = 1024

type echoClient struct {
	e    *echoRun
	conn *wire.Conn

	mu   sync.Mutex // guards buf and next while sending
	buf  []byte
	next atomic.Int64 // next ack id

	// pending[id%ackRing] holds 1 + the send time of ack id, 0 when free.
	pending     [ackRing]atomic.Int64
	outstanding atomic.Int64
}

type echoRun struct {
	r       *runner
	event   string // "echo", or "echo-typed"
	args    []byte // JSON of the echoed argument
	ackTail []byte // [<args>], the expected ack after its id
	closed  bool   // closed loops: each ack triggers the next emit
	msgpack bool   // socket.io-msgpack-parser's format
	window  int64
	stop    atomic.Bool
	acks    atomic.Int64
	skipped atomic.Int64
}

// send emits "echo" with the next ack id. Its latency counts from the
// moment it is written. At a fixed rate, due is when it was scheduled (ns on
// the run's clock) and its lateness is recorded apart, as the pacer's;
// closed loops have no schedule and pass 0.
func (c *echoClient) send(due int64) {
	if c.outstanding.Load() >= c.e.window {
		c.e.skipped.Add(1)
		return
	}
	c.mu.Lock()
	id := c.next.Load()
	c.outstanding.Add(1)
	c.next.Store(id + 1)
	var err error
	if c.e.msgpack {
		var msg []byte
		if msg, err = wire.MsgpackEvent(id, c.e.event, c.e.args); err == nil {
			c.stamp(id, due)
			err = c.conn.SendBinary(msg)
		}
	} else {
		c.buf = wire.AppendEvent(c.buf[:0], id, c.e.event, c.e.args)
		c.stamp(id, due)
		err = c.conn.Send(c.buf)
	}
	c.mu.Unlock()
	if err != nil {
		c.e.r.fail(err)
	}
}

// stamp records when ack id was sent (and, at a fixed rate, how late).
func (c *echoClient) stamp(id, due int64) {
	at := c.e.r.now()
	if !c.e.closed {
		c.e.r.recordLag(at - due)
	}
	c.pending[id%ackRing].Store(at + 1)
}

func (c *echoClient) onFrame(_ *wire.Conn, f []byte) {
	e := c.e
	now := e.r.now()
	var id int64
	var rest []byte
	var err error
	if e.msgpack {
		id, rest, err = wire.ParseMsgpackAck(f)
	} else {
		id, rest, err = wire.ParseAck(f)
	}
	if err != nil || !bytes.Equal(rest, e.ackTail) {
		e.r.mismatch("echo ack", f, wire.AppendAck(nil, max(id, 0), e.args))
		return
	}
	if id >= c.next.Load() {
		e.r.mismatch("ack for an id never sent", f, nil)
		return
	}
	t := c.pending[id%ackRing].Swap(0)
	if t == 0 {
		e.r.mismatch("duplicate ack", f, nil)
		return
	}
	e.r.record(now - (t - 1))
	e.acks.Add(1)
	c.outstanding.Add(-1)
	if e.closed && !e.stop.Load() {
		c.send(0)
	}
}

// echo runs C clients emitting "echo" with an ack, in closed loops or at a
// fixed total rate, and reports acks/s, latency and server CPU per ack.
func (r *runner) echo(ctx context.Context) error {
	cfg := r.cfg
	r.res.Clients = cfg.Clients
	r.res.Op = "acks"
	e := &echoRun{r: r, event: "echo", args: wire.StringArg(cfg.PayloadSize), closed: cfg.Rate <= 0, window: 1, msgpack: cfg.Msgpack}
	if cfg.Typed {
		e.event = "echo-typed"
		e.args = append(append([]byte(`{"text":`), e.args...), `,"n":7}`...)
	}
	e.ackTail = append(append([]byte{'['}, e.args...), ']')
	if !e.closed {
		e.window = int64(min(cfg.Window, ackRing))
		r.res.Window = int(e.window)
	}
	clients := make([]*echoClient, cfg.Clients)
	for i := range clients {
		clients[i] = &echoClient{e: e}
	}
	s, _ := r.sample()
	r.res.RSSFreshKiB = s.RSSKiB
	conns, rate := r.dialMany(ctx, cfg.Clients, func(i int) wire.Handler { return clients[i].onFrame })
	defer r.closeAll(conns)
	r.res.ConnectRate = round(rate, 1)
	live := clients[:0]
	for i, c := range conns {
		if c != nil {
			clients[i].conn = c
			live = append(live, clients[i])
		}
	}
	r.res.Connected = len(live)
	if len(live) == 0 {
		return ctx.Err()
	}
	r.freshHistogram()

	var pacer sync.WaitGroup
	if e.closed {
		for _, c := range live {
			c.send(0)
		}
	} else {
		pctx, cancel := context.WithCancel(ctx)
		defer cancel()
		pacer.Go(func() { e.pace(pctx, live, cfg.Rate) })
	}

	var lastAcks int64
	lastAt := time.Now()
	r.setStatus(func() string {
		a, now := e.acks.Load(), time.Now()
		rate := float64(a-lastAcks) / now.Sub(lastAt).Seconds()
		lastAcks, lastAt = a, now
		h := r.hist.Load()
		return fmt.Sprintf("acks=%d (%.0f/s) p50=%v p99=%v", a, rate, h.Quantile(0.5), h.Quantile(0.99))
	})
	sleep(ctx, cfg.Warmup)
	r.freshHistogram()
	a0, t0 := e.acks.Load(), time.Now()
	s0, ok := r.sample()
	r.markWindow()
	sleep(ctx, cfg.Duration)
	a1, t1 := e.acks.Load(), time.Now()
	s1, _ := r.sample()
	r.res.RSSBaseKiB, r.res.RSSKiB = s0.RSSKiB, s1.RSSKiB
	restore := r.keepWindow() // acks after the window are checked but not reported
	e.stop.Store(true)
	r.window(a1-a0, t0, t1, s0, s1, ok)
	pacer.Wait()
	r.res.Skipped = e.skipped.Load()
	if e.skipped.Load() > 0 {
		r.noteFirst(fmt.Sprintf("load: %d emits skipped: the server fell behind the offered rate", e.skipped.Load()))
	}
	// Every emit must be acknowledged.
	deadline := time.Now().Add(drainTimeout(cfg.Duration))
	for time.Now().Before(deadline) && outstanding(live) > 0 && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	if n := outstanding(live); n > 0 {
		r.fail(fmt.Errorf("load: %d acks never arrived", n))
	}
	restore()
	return ctx.Err()
}

func outstanding(cs []*echoClient) int64 {
	var n int64
	for _, c := range cs {
		n += c.outstanding.Load()
	}
	return n
}

// pace emits at rate per second in total, round robin over the clients.
// It never waits for the server: a client whose window of outstanding acks
// is full skips its turn and the run fails, so a server falling behind
// cannot slow the offered load down (no coordinated omission). The ticker
// wakes it about once a millisecond, and each wake sends what fell due
// since the last; that lateness is the load generator's, recorded apart
// from the latencies.
func (e *echoRun) pace(ctx context.Context, cs []*echoClient, rate float64) {
	r := e.r
	start := r.now()
	interval := float64(time.Second) / rate
	var k int64
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for !e.stop.Load() {
		due := int64(float64(r.now()-start)/interval) + 1
		for ; k < due && !e.stop.Load(); k++ {
			cs[k%int64(len(cs))].send(start + int64(float64(k)*interval))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// drainTimeout is how long a run waits for replies still due after its
// measured window: as long as the window, between 1 and 10 seconds.
func drainTimeout(window time.Duration) time.Duration {
	return min(max(window, time.Second), 10*time.Second)
}
