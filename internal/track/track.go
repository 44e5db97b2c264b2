// Package track counts running goroutines so that a shutdown can wait for
// them, like a sync.WaitGroup that may be added to while it is waited on.
package track

import (
	"context"
	"sync"
	"sync/atomic"
)

// Group counts goroutines. Unlike a sync.WaitGroup, Add may be called at
// any time, also while Wait runs and after the count reached zero: a
// shutdown waits for the goroutines of connections that are still being
// accepted. Counting is one atomic add. The zero value is ready to use.
type Group struct {
	n    atomic.Int64
	mu   sync.Mutex
	zero chan struct{} // made by Wait while n > 0, closed when n reaches 0
}

// Add counts one more goroutine.
func (g *Group) Add() { g.n.Add(1) }

// Done counts one goroutine less.
func (g *Group) Done() {
	if g.n.Add(-1) != 0 {
		return
	}
	g.mu.Lock()
	if g.zero != nil {
		close(g.zero)
		g.zero = nil
	}
	g.mu.Unlock()
}

// Wait returns nil once the count is zero, or ctx's error if ctx ends
// first.
func (g *Group) Wait(ctx context.Context) error {
	for {
		g.mu.Lock()
		if g.n.Load() == 0 {
			g.mu.Unlock()
			return nil
		}
		if g.zero == nil {
			g.zero = make(chan struct{})
		}
		zero := g.zero
		g.mu.Unlock()
		select {
		case <-zero:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
