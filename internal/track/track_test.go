package track

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestWait(t *testing.T) {
	var g Group
	if err := g.Wait(context.Background()); err != nil {
		t.Fatalf("empty group: %v", err)
	}
	g.Add()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := g.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait with one running = %v, want DeadlineExceeded", err)
	}
	done := make(chan error)
	go func() { done <- g.Wait(context.Background()) }()
	g.Done()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestAddDuringWait adds while Wait runs and the count goes through zero,
// which a sync.WaitGroup forbids.
func TestAddDuringWait(t *testing.T) {
	var g Group
	for range 200 {
		g.Add()
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			g.Add()
			g.Done()
			g.Done()
		}()
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := g.Wait(ctx); err != nil {
				t.Error(err)
			}
		}()
		wg.Wait()
	}
	if n := g.n.Load(); n != 0 {
		t.Fatalf("count %d", n)
	}
}
