package redisadapter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// link tells whether Redis answers, for the adapters of one factory. It is
// up until a command fails for want of Redis (a network error, a timeout,
// or an error reply such as LOADING); it is then down, and one goroutine
// probes Redis every probeInterval until it answers. While it is down, the
// adapters' commands fail at once instead of waiting for go-redis to give
// up, and the subscriber and the stream readers wait for it rather than
// redial blindly.
//
// A probe dials Redis itself before asking go-redis: the failed dials of
// an outage then stay out of go-redis's pool, which, after PoolSize of
// them, answers with the last dial error for up to a second after Redis is
// back.
type link struct {
	client  redis.UniversalClient
	log     *slog.Logger
	timeout time.Duration
	dial    func(ctx context.Context) error // nil when the client has several nodes

	ctx    context.Context // ends with close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the probing goroutine

	mu      sync.Mutex
	down    bool
	since   time.Time     // of the last change between up and down
	outages uint64        // times it went down
	up      chan struct{} // closed when Redis answers again; nil while up
	probing bool
}

// probeInterval is the time between two probes of an unreachable Redis.
const probeInterval = 100 * time.Millisecond

func newLink(client redis.UniversalClient, log *slog.Logger, timeout time.Duration) *link {
	ctx, cancel := context.WithCancel(context.Background())
	l := &link{client: client, log: log, timeout: timeout, ctx: ctx, cancel: cancel, since: time.Now()}
	if c, ok := client.(*redis.Client); ok {
		o := c.Options() // Dialer, Network and Addr do not change once the client exists
		dialer, network, addr := o.Dialer, o.Network, o.Addr
		if dialer != nil {
			l.dial = func(ctx context.Context) error {
				conn, err := dialer(ctx, network, addr)
				if err != nil {
					return err
				}
				return conn.Close()
			}
		}
	}
	return l
}

// linkState is what a link was at one moment.
type linkState struct {
	down    bool
	since   time.Time // of the last change between up and down
	outages uint64
	up      <-chan struct{} // closed when Redis answers again, while down
}

func (l *link) state() linkState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return linkState{down: l.down, since: l.since, outages: l.outages, up: l.up}
}

// isDown reports whether Redis is considered unreachable.
func (l *link) isDown() bool { return l.state().down }

// fail marks Redis unreachable after err and starts probing it.
func (l *link) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ctx.Err() != nil {
		return
	}
	l.markDownLocked(err)
	l.probeLocked()
}

// suspect probes Redis now, without failing what is under way: a
// connection of the subscriber broke, which may be Redis going away or
// that connection only.
func (l *link) suspect() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ctx.Err() == nil {
		l.probeLocked()
	}
}

func (l *link) markDownLocked(err error) {
	if l.down {
		return
	}
	l.down, l.since, l.up = true, time.Now(), make(chan struct{})
	l.outages++
	l.log.Warn("redisadapter: Redis unreachable; cross-node delivery suspended", "err", err)
}

func (l *link) probeLocked() {
	if l.probing {
		return
	}
	l.probing = true
	l.wg.Add(1)
	go l.run()
}

// run probes Redis until it answers.
func (l *link) run() {
	defer l.wg.Done()
	for {
		err := l.probe()
		l.mu.Lock()
		if err == nil || l.ctx.Err() != nil {
			if err == nil && l.down {
				l.log.Info("redisadapter: Redis answers again", "after", time.Since(l.since).Round(time.Millisecond))
				l.down, l.since = false, time.Now()
				close(l.up)
				l.up = nil
			}
			l.probing = false
			l.mu.Unlock()
			return
		}
		l.markDownLocked(err)
		l.mu.Unlock()
		select {
		case <-time.After(probeInterval):
		case <-l.ctx.Done():
		}
	}
}

// probe checks once that Redis answers.
func (l *link) probe() error {
	ctx, cancel := context.WithTimeout(l.ctx, l.timeout)
	defer cancel()
	if l.dial != nil {
		if err := l.dial(ctx); err != nil {
			return err
		}
	}
	if cc, ok := l.client.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return c.Ping(ctx).Err() })
	}
	return l.client.Ping(ctx).Err()
}

// waitUp waits until Redis is not considered unreachable.
func (l *link) waitUp(ctx context.Context) error {
	st := l.state()
	if !st.down {
		return nil
	}
	select {
	case <-st.up:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-l.ctx.Done():
		return ErrClosed
	}
}

// do runs a command of the adapter: at once ErrRedisDown while Redis is
// unreachable, otherwise under ctx bounded by the timeout; a failure for
// want of Redis marks it unreachable.
func (l *link) do(ctx context.Context, f func(ctx context.Context) error) error {
	if l.isDown() {
		return ErrRedisDown
	}
	cctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	err := f(cctx)
	if unreachable(err) && ctx.Err() == nil { // not the caller's own deadline
		l.fail(err)
		return fmt.Errorf("%w: %w", ErrRedisDown, err)
	}
	return err
}

// close stops the probing.
func (l *link) close() {
	l.cancel()
	l.wg.Wait()
}

// unreachable reports whether err tells that Redis could not be reached or
// cannot serve, rather than an error of the command.
func unreachable(err error) bool {
	if err == nil || errors.Is(err, redis.ErrClosed) || errors.Is(err, context.Canceled) {
		return false
	}
	var re redis.Error
	if errors.As(err, &re) {
		msg := re.Error()
		for _, prefix := range []string{"LOADING ", "CLUSTERDOWN ", "MASTERDOWN ", "TRYAGAIN "} {
			if strings.HasPrefix(msg, prefix) {
				return true
			}
		}
		return false
	}
	return true
}
