package load

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sio-go/socketio/bench/internal/wire"
)

// stallTimeout ends a broadcast run whose window stays full this long.
const stallTimeout = 10 * time.Second

type bcastRun struct {
	r         *runner
	frame     *wire.SeqFrame
	receivers int32
	window    int64

	// Slot seq%window holds the send time of message seq (its intended
	// time at a fixed rate) and how many receivers got it.
	sendTime []atomic.Int64
	got      []atomic.Int32
	progress chan struct{} // a message reached every receiver

	sent      atomic.Int64
	delivered atomic.Int64
	stop      atomic.Bool
}

type bcastReceiver struct {
	b    *bcastRun
	next int64 // expected sequence number; used by the read goroutine only
}

func (rc *bcastReceiver) onFrame(_ *wire.Conn, f []byte) {
	b := rc.b
	now := b.r.now()
	seq, ok := b.frame.Parse(f)
	if !ok {
		b.r.mismatch("broadcast", f, b.frame.Append(nil, rc.next))
		return
	}
	if seq != rc.next {
		b.r.mismatch(fmt.Sprintf("broadcast out of order (want seq %d)", rc.next), f, nil)
	}
	rc.next = seq + 1
	i := seq % b.window
	b.r.record(now - b.sendTime[i].Load())
	b.delivered.Add(1)
	if b.got[i].Add(1) == b.receivers {
		select {
		case b.progress <- struct{}{}:
		default:
		}
	}
}

// broadcast connects R receivers and one sender; the sender emits "bcast"
// with a sequence number as fast as a window of undelivered messages allows,
// or at a fixed rate; every receiver must get every message in order, and
// the sender none. Over a cluster, the receivers are spread evenly over its
// servers and the sender is on the first, so most deliveries cross the
// adapter.
func (r *runner) broadcast(ctx context.Context) error {
	cfg := r.cfg
	r.res.Receivers = cfg.Receivers
	if cfg.Scenario == ClusterBroadcast {
		r.res.Nodes = len(r.eps)
	}
	r.res.Window = cfg.Window
	r.res.Op = "deliveries"
	b := &bcastRun{
		r:         r,
		frame:     wire.NewSeqFrame("bcast", wire.StringArg(cfg.PayloadSize)),
		receivers: int32(cfg.Receivers),
		window:    int64(cfg.Window),
		sendTime:  make([]atomic.Int64, cfg.Window),
		got:       make([]atomic.Int32, cfg.Window),
		progress:  make(chan struct{}, 1),
	}
	s, _ := r.sample()
	r.res.RSSFreshKiB = s.RSSKiB
	recv := make([]*bcastReceiver, cfg.Receivers)
	for i := range recv {
		recv[i] = &bcastReceiver{b: b}
	}
	conns, rate := r.dialMany(ctx, cfg.Receivers, func(i int) wire.Handler { return recv[i].onFrame })
	defer r.closeAll(conns)
	r.res.ConnectRate = round(rate, 1)
	r.res.Connected = countAlive(conns)
	if r.res.Connected != cfg.Receivers {
		return errors.Join(ctx.Err(), r.abort(fmt.Errorf("load: only %d of %d receivers connected", r.res.Connected, cfg.Receivers)))
	}
	o := r.dialOptions(func(_ *wire.Conn, f []byte) { r.mismatch("the sender received a message", f, nil) })
	sender, err := wire.Dial(ctx, o)
	if err != nil {
		return errors.Join(ctx.Err(), r.abort(err))
	}
	defer r.closeAll([]*wire.Conn{sender})
	r.freshHistogram()

	var wg sync.WaitGroup
	wg.Go(func() { b.sendLoop(ctx, sender, cfg.Rate) })

	var last int64
	lastAt := time.Now()
	r.setStatus(func() string {
		d, now := b.delivered.Load(), time.Now()
		rate := float64(d-last) / now.Sub(lastAt).Seconds()
		last, lastAt = d, now
		h := r.hist.Load()
		return fmt.Sprintf("sent=%d deliveries=%d (%.0f/s) p50=%v p99=%v", b.sent.Load(), d, rate, h.Quantile(0.5), h.Quantile(0.99))
	})
	sleep(ctx, cfg.Warmup)
	r.freshHistogram()
	d0, t0 := b.delivered.Load(), time.Now()
	s0, ok := r.sample()
	r.markWindow()
	sleep(ctx, cfg.Duration)
	d1, t1 := b.delivered.Load(), time.Now()
	s1, _ := r.sample()
	restore := r.keepWindow()
	b.stop.Store(true)
	wg.Wait()
	r.res.RSSBaseKiB, r.res.RSSKiB = s0.RSSKiB, s1.RSSKiB
	r.window(d1-d0, t0, t1, s0, s1, ok)

	// Every message must reach every receiver.
	want := b.sent.Load() * int64(cfg.Receivers)
	deadline := time.Now().Add(drainTimeout(cfg.Duration))
	for b.delivered.Load() < want && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	r.res.Sent, r.res.Delivered = b.sent.Load(), b.delivered.Load()
	if r.res.Delivered != want {
		r.fail(fmt.Errorf("load: %d deliveries, want %d (%d messages × %d receivers)", r.res.Delivered, want, r.res.Sent, cfg.Receivers))
	}
	short := 0
	for _, rc := range recv {
		if rc.next != r.res.Sent {
			short++
		}
	}
	if short > 0 {
		r.fail(fmt.Errorf("load: %d receivers did not end on message %d", short, r.res.Sent))
	}
	restore()
	return ctx.Err()
}

// abort counts err and closes what is open; the result says the run failed.
func (r *runner) abort(err error) error {
	r.fail(err)
	return nil
}

func (b *bcastRun) sendLoop(ctx context.Context, sender *wire.Conn, rate float64) {
	r := b.r
	var buf []byte
	start := r.now()
	var interval float64
	if rate > 0 {
		interval = float64(time.Second) / rate
	}
	stall := time.NewTimer(stallTimeout)
	defer stall.Stop()
	for seq := int64(0); !b.stop.Load(); seq++ {
		var at int64
		if rate > 0 {
			at = start + int64(float64(seq)*interval)
			if !sleep(ctx, time.Duration(at-r.now())) {
				return
			}
		}
		i := seq % b.window
		if seq >= b.window {
			stall.Reset(stallTimeout)
			for b.got[i].Load() != b.receivers {
				select {
				case <-b.progress:
				case <-ctx.Done():
					return
				case <-stall.C:
					r.fail(fmt.Errorf("load: message %d not delivered to every receiver after %v", seq-b.window, stallTimeout))
					b.stop.Store(true)
					return
				}
			}
			b.got[i].Store(0)
		}
		sent := r.now()
		if rate > 0 {
			r.recordLag(sent - at)
		}
		b.sendTime[i].Store(sent)
		buf = b.frame.Append(buf[:0], seq)
		b.sent.Add(1)
		if err := sender.Send(buf); err != nil {
			r.fail(err)
			b.stop.Store(true)
			return
		}
	}
}
