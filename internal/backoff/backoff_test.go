package backoff

import (
	"testing"
	"time"
)

func TestNoJitterDoublesUpToMax(t *testing.T) {
	b := Backoff{Min: time.Second, Max: 5 * time.Second}
	want := []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i, w := range want {
		if got := b.Next(); got != w {
			t.Fatalf("attempt %d: got %v, want %v", i, got, w)
		}
	}
	if b.Attempts() != len(want) {
		t.Fatalf("attempts = %d", b.Attempts())
	}
	b.Reset()
	if got := b.Next(); got != time.Second {
		t.Fatalf("after reset: %v", got)
	}
}

func TestJitterDirection(t *testing.T) {
	// 0.25: floor(2.5)=2 is even, so the delay shrinks by floor(0.25*0.5*1000ms).
	b := Backoff{Min: time.Second, Max: time.Minute, Jitter: 0.5, Rand: func() float64 { return 0.25 }}
	if got, want := b.Next(), 875*time.Millisecond; got != want {
		t.Fatalf("down: got %v, want %v", got, want)
	}
	// 0.15: floor(1.5)=1 is odd, so the delay of 2s grows by 0.15*0.5*2s.
	b.Rand = func() float64 { return 0.15 }
	if got, want := b.Next(), 2150*time.Millisecond; got != want {
		t.Fatalf("up: got %v, want %v", got, want)
	}
}

func TestJitterBounds(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: 10 * time.Second, Jitter: 0.5}
	for i := 0; i < 1000; i++ {
		b.Reset()
		d := b.Next()
		if d < 50*time.Millisecond || d > 150*time.Millisecond {
			t.Fatalf("delay %v out of [50ms, 150ms]", d)
		}
	}
}

func TestHugeAttemptsStayAtMax(t *testing.T) {
	b := Backoff{Min: time.Second, Max: 3 * time.Second, Jitter: 1}
	for i := 0; i < 2000; i++ {
		if d := b.Next(); d < 0 || d > 3*time.Second {
			t.Fatalf("attempt %d: %v", i, d)
		}
	}
}
