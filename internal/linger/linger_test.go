package linger

import (
	"sync"
	"testing"
	"time"
)

// idler is a goroutine's idle state as its owners keep it.
type idler struct {
	mu   sync.Mutex
	idle bool
	gone bool
	wake chan struct{}
}

func (s *idler) giveUp() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.idle {
		s.idle, s.gone = false, true
		return true
	}
	return false
}

// poke wakes the idler if it is idle, as a waker does.
func (s *idler) poke() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.idle {
		s.idle = false
		s.wake <- struct{}{}
	}
}

func TestWait(t *testing.T) {
	var w Timer
	defer w.Stop()

	s := &idler{idle: true, wake: make(chan struct{}, 1)}
	go s.poke()
	if !w.Wait(time.Minute, s.wake, nil, s.giveUp) {
		t.Fatal("a woken goroutine gave up")
	}

	s.idle = true
	start := time.Now()
	if w.Wait(20*time.Millisecond, s.wake, nil, s.giveUp) {
		t.Fatal("woken with nobody waking it")
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Fatalf("gave up after %v, before its time", d)
	}
	if !s.gone {
		t.Fatal("gave up without recording it")
	}

	quit := make(chan struct{})
	close(quit)
	s.idle, s.gone = true, false
	if w.Wait(time.Minute, s.wake, quit, s.giveUp) || !s.gone {
		t.Fatal("did not give up once quit was closed")
	}
}

// A wake sent as the goroutine gives up is taken, not lost: the goroutine
// goes on.
func TestWaitWokenAsItGivesUp(t *testing.T) {
	var w Timer
	defer w.Stop()
	quit := make(chan struct{})
	close(quit)
	for range 50 {
		// A waker found it idle, marked it busy and sent a wake; quit is
		// closed too, so Wait may see either first.
		s := &idler{wake: make(chan struct{}, 1)}
		s.wake <- struct{}{}
		if !w.Wait(time.Minute, s.wake, quit, s.giveUp) {
			t.Fatal("gave up although a wake was on its way")
		}
		if len(s.wake) != 0 || s.gone {
			t.Fatalf("wake left in the channel (%d) or recorded as gone (%v)", len(s.wake), s.gone)
		}
	}
}
