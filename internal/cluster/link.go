// Package cluster holds what the cluster adapters of this repository share,
// whatever carries their messages (Redis, PostgreSQL): the publishing queue
// that never makes a caller wait for the backend (Outbox), the tracker that
// tells whether the backend answers (Link), the requests waiting for the
// other servers (RequestTable), and the handling of socket.io-adapter's
// ClusterAdapter messages, with or without heartbeats (Node).
//
// The adapter modules keep their public types (configurations, errors,
// counters) and pass their sentinel errors in; nothing here is exported to
// users.
package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// LinkConfig configures a Link.
type LinkConfig struct {
	// Probe checks once that the backend answers, within ctx.
	Probe func(ctx context.Context) error
	// Timeout bounds each probe and each command run through Do.
	Timeout time.Duration
	// Unreachable tells an error that shows the backend could not be
	// reached or cannot serve, rather than an error of the command.
	Unreachable func(error) bool
	// Down is the error that Do returns, wrapped, while the backend is
	// considered unreachable; Closed the one WaitUp returns once the link
	// is closed.
	Down, Closed error
	// Log receives a line when the backend goes away and comes back,
	// prefixed with Prefix (the package's name) and naming Backend.
	Log             *slog.Logger
	Prefix, Backend string
}

// Link tells whether the backend answers, for the adapters of one factory.
// It is up until a command fails for want of the backend; it is then down,
// and one goroutine probes the backend every ProbeInterval until it
// answers. While it is down, the adapters' commands fail at once instead of
// waiting for a client library to give up, and the receivers wait for it
// rather than reconnect blindly.
type Link struct {
	cfg LinkConfig

	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the probing goroutine

	mu      sync.Mutex
	down    bool
	since   time.Time     // of the last change between up and down
	outages uint64        // times it went down
	up      chan struct{} // closed when the backend answers again; nil while up
	probing bool
}

// ProbeInterval is the time between two probes of an unreachable backend.
const ProbeInterval = 100 * time.Millisecond

// NewLink returns a link that is up.
func NewLink(cfg LinkConfig) *Link {
	ctx, cancel := context.WithCancel(context.Background())
	return &Link{cfg: cfg, ctx: ctx, cancel: cancel, since: time.Now()}
}

// LinkState is what a link was at one moment.
type LinkState struct {
	Down    bool
	Since   time.Time // of the last change between up and down
	Outages uint64
	Up      <-chan struct{} // closed when the backend answers again, while down
}

// State returns the link's state now.
func (l *Link) State() LinkState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return LinkState{Down: l.down, Since: l.since, Outages: l.outages, Up: l.up}
}

// IsDown reports whether the backend is considered unreachable.
func (l *Link) IsDown() bool { return l.State().Down }

// Fail marks the backend unreachable after err and starts probing it.
func (l *Link) Fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ctx.Err() != nil {
		return
	}
	l.markDownLocked(err)
	l.probeLocked()
}

// Suspect probes the backend now, without failing what is under way: a
// receiving connection broke, which may be the backend going away or that
// connection only.
func (l *Link) Suspect() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ctx.Err() == nil {
		l.probeLocked()
	}
}

func (l *Link) markDownLocked(err error) {
	if l.down {
		return
	}
	l.down, l.since, l.up = true, time.Now(), make(chan struct{})
	l.outages++
	l.cfg.Log.Warn(l.cfg.Prefix+": "+l.cfg.Backend+" unreachable; cross-node delivery suspended", "err", err)
}

func (l *Link) probeLocked() {
	if l.probing {
		return
	}
	l.probing = true
	l.wg.Add(1)
	go l.run()
}

// run probes the backend until it answers.
func (l *Link) run() {
	defer l.wg.Done()
	for {
		ctx, cancel := context.WithTimeout(l.ctx, l.cfg.Timeout)
		err := l.cfg.Probe(ctx)
		cancel()
		l.mu.Lock()
		if err == nil || l.ctx.Err() != nil {
			if err == nil && l.down {
				l.cfg.Log.Info(l.cfg.Prefix+": "+l.cfg.Backend+" answers again",
					"after", time.Since(l.since).Round(time.Millisecond))
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
		case <-time.After(ProbeInterval):
		case <-l.ctx.Done():
		}
	}
}

// WaitUp waits until the backend is not considered unreachable.
func (l *Link) WaitUp(ctx context.Context) error {
	st := l.State()
	if !st.Down {
		return nil
	}
	select {
	case <-st.Up:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-l.ctx.Done():
		return l.cfg.Closed
	}
}

// Do runs a command of the adapter: at once the Down error while the
// backend is unreachable, otherwise under ctx bounded by the timeout; a
// failure for want of the backend marks it unreachable.
func (l *Link) Do(ctx context.Context, f func(ctx context.Context) error) error {
	if l.IsDown() {
		return l.cfg.Down
	}
	cctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	err := f(cctx)
	if l.cfg.Unreachable(err) && ctx.Err() == nil { // not the caller's own deadline
		l.Fail(err)
		return fmt.Errorf("%w: %w", l.cfg.Down, err)
	}
	return err
}

// Closed reports whether Close was called.
func (l *Link) Closed() bool { return l.ctx.Err() != nil }

// Close stops the probing.
func (l *Link) Close() {
	l.cancel()
	l.wg.Wait()
}
