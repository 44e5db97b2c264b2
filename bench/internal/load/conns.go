package load

import (
	"context"
	"fmt"
	"time"

	"github.com/sio-go/socketio/bench/internal/wire"
)

// conns opens cfg.Conns connections at the connect rate, holds them for
// cfg.Duration answering pings, and reports the server's memory per
// connection and CPU per connect.
func (r *runner) conns(ctx context.Context) error {
	cfg := r.cfg
	r.res.Conns = cfg.Conns
	r.res.Op = "connects"
	sleep(ctx, 500*time.Millisecond) // let a fresh server finish starting up
	s0, ok := r.sample()
	r.res.RSSFreshKiB, r.res.RSSBaseKiB = s0.RSSKiB, s0.RSSKiB
	r.res.GoroutinesBase = r.goroutines(ctx)
	stopPeak := r.trackPeak(ctx)
	defer stopPeak()

	unexpected := func(int) wire.Handler {
		return func(_ *wire.Conn, f []byte) { r.mismatch("idle connection received a message", f, nil) }
	}
	start := time.Now()
	r.markWindow()
	conns, rate := r.dialMany(ctx, cfg.Conns, unexpected)
	end := time.Now()
	s1, _ := r.sample()
	connected := countAlive(conns)
	r.res.Connected = connected
	r.res.ConnectRate = round(rate, 1)
	r.window(int64(connected), start, end, s0, s1, ok)

	r.setStatus(func() string {
		return fmt.Sprintf("holding %d/%d connections, pings answered %d", countAlive(conns), connected, r.pings.Load())
	})
	sleep(ctx, cfg.Duration)
	r.res.Alive = countAlive(conns)
	if s2, ok := r.sample(); ok {
		r.res.RSSKiB = s2.RSSKiB
		if connected > 0 {
			r.res.RSSPerConnBytes = round(float64(s2.RSSKiB-s0.RSSKiB)*1024/float64(connected), 0)
		}
	}
	r.res.GoroutinesPeak = r.goroutines(ctx)
	if r.res.Alive != connected {
		r.fail(fmt.Errorf("load: %d of %d connections dropped while idle", connected-r.res.Alive, connected))
	}
	if connected < cfg.Conns {
		r.fail(fmt.Errorf("load: only %d of %d connections opened", connected, cfg.Conns))
	}
	r.closeAll(conns)
	return ctx.Err()
}
