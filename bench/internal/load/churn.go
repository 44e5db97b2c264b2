package load

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sio-go/socketio/bench/internal/procstat"
	"github.com/sio-go/socketio/bench/internal/wire"
)

// churn runs C workers that each connect (joining the namespace) and
// disconnect in a loop, optionally capped at cfg.Rate cycles/s in total, and
// checks that the server's goroutines and memory return to their baseline
// afterwards.
func (r *runner) churn(ctx context.Context) error {
	cfg := r.cfg
	r.res.Clients = cfg.Clients
	r.res.Op = "cycles"
	sleep(ctx, 500*time.Millisecond) // let a fresh server finish starting up
	s, _ := r.sample()
	r.res.RSSFreshKiB = s.RSSKiB

	var cycles atomic.Int64
	// Warm up, then let the server come to rest and take the baseline.
	r.setStatus(func() string { return fmt.Sprintf("warming up: cycles=%d", cycles.Load()) })
	r.churnFor(ctx, cfg.Warmup, &cycles)
	sleep(ctx, 2*time.Second)
	base, ok := r.sample()
	r.res.RSSBaseKiB = base.RSSKiB
	r.res.GoroutinesBase = r.goroutines(ctx)

	r.freshHistogram()
	var last int64
	lastAt := time.Now()
	r.setStatus(func() string {
		c, now := cycles.Load(), time.Now()
		rate := float64(c-last) / now.Sub(lastAt).Seconds()
		last, lastAt = c, now
		return fmt.Sprintf("cycles=%d (%.0f/s) p99=%v", c, rate, r.hist.Load().Quantile(0.99))
	})
	stopPeak := r.trackPeak(ctx)
	peakG := r.trackGoroutinePeak(ctx)
	c0, t0 := cycles.Load(), time.Now()
	r.markWindow()
	r.churnFor(ctx, cfg.Duration, &cycles)
	c1, t1 := cycles.Load(), time.Now()
	s1, _ := r.sample()
	stopPeak()
	r.res.GoroutinesPeak = peakG()
	r.window(c1-c0, t0, t1, base, s1, ok)
	r.res.Cycles = cycles.Load()

	// Settle: wait for the server to come back to its baseline.
	r.setStatus(func() string { return "waiting for the server to return to baseline" })
	settleStart := time.Now()
	var after procstat.Sample
	var g *int
	back := false
	for {
		after, _ = r.sample()
		g = r.goroutines(ctx)
		back = backToBase(base, after, r.res.GoroutinesBase, g, ok)
		if back || time.Since(settleStart) >= cfg.Settle || !sleep(ctx, 250*time.Millisecond) {
			break
		}
	}
	r.res.SettleS = round(time.Since(settleStart).Seconds(), 2)
	r.res.RSSKiB = after.RSSKiB
	r.res.GoroutinesAfter = g
	if ok || r.res.GoroutinesBase != nil {
		r.res.Returned = &back
	}
	return ctx.Err()
}

// rssSlack is how far above its baseline the server's RSS may stay after
// churn and still count as returned: 10% plus 4 MiB.
func rssWithinBase(base, after int64) bool {
	return after <= base+base/10+4096
}

func backToBase(base, after procstat.Sample, gBase, gAfter *int, haveRSS bool) bool {
	if haveRSS && !rssWithinBase(base.RSSKiB, after.RSSKiB) {
		return false
	}
	if gBase != nil && (gAfter == nil || *gAfter > *gBase) {
		return false
	}
	return true
}

// churnFor runs the workers for d.
func (r *runner) churnFor(ctx context.Context, d time.Duration, cycles *atomic.Int64) {
	if d <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var tokens <-chan time.Time
	if r.cfg.Rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / r.cfg.Rate))
		defer t.Stop()
		tokens = t.C
	}
	unexpected := func(_ *wire.Conn, f []byte) { r.mismatch("churn connection received a message", f, nil) }
	var wg sync.WaitGroup
	for range r.cfg.Clients {
		wg.Go(func() {
			for ctx.Err() == nil {
				if tokens != nil {
					select {
					case <-tokens:
					case <-ctx.Done():
						return
					}
				}
				t0 := r.now()
				c, err := wire.Dial(context.WithoutCancel(ctx), r.dialOptions(unexpected))
				if err != nil {
					r.fail(err)
					sleep(ctx, 10*time.Millisecond)
					continue
				}
				_ = c.Close()
				if err := c.Err(); err != nil {
					r.fail(err)
				}
				r.record(r.now() - t0)
				cycles.Add(1)
			}
		})
	}
	wg.Wait()
}

// trackGoroutinePeak samples the server's goroutines every 500ms until the
// returned function is called, which returns the largest count seen.
func (r *runner) trackGoroutinePeak(ctx context.Context) func() *int {
	if r.cfg.StatsURL == "" {
		return func() *int { return nil }
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var peak *int
	wg.Go(func() {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			if n, err := procstat.Goroutines(ctx, r.cfg.StatsURL); err == nil && (peak == nil || n > *peak) {
				peak = &n
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	return func() *int { cancel(); wg.Wait(); return peak }
}
