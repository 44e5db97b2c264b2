// Package backoff computes reconnection delays: exponential growth from a
// minimum, capped at a maximum, with random jitter, as socket.io-client does.
package backoff

import (
	"math"
	"math/rand/v2"
	"time"
)

// Backoff yields the delay before each attempt. The zero value is not
// useful: set Min and Max. A Backoff is not safe for concurrent use.
type Backoff struct {
	// Min is the delay before the first attempt.
	Min time.Duration
	// Max caps every delay.
	Max time.Duration
	// Jitter, in [0, 1], spreads each delay by up to that fraction, down or
	// up with equal chance. Values outside the range mean no jitter.
	Jitter float64
	// Rand returns a float in [0, 1); nil means math/rand/v2.Float64.
	Rand func() float64

	attempts int
}

// Next returns the delay before the next attempt and counts the attempt:
// Min·2^n for the n-th call since the last Reset, moved by the jitter, capped
// at Max.
func (b *Backoff) Next() time.Duration {
	ms := float64(b.Min) * math.Pow(2, float64(b.attempts))
	b.attempts++
	if b.Jitter > 0 && b.Jitter <= 1 {
		r := rand.Float64
		if b.Rand != nil {
			r = b.Rand
		}
		x := r()
		dev := math.Floor(x * b.Jitter * ms)
		if int(math.Floor(x*10))&1 == 0 {
			ms -= dev
		} else {
			ms += dev
		}
	}
	if ms > float64(b.Max) || math.IsInf(ms, 0) || math.IsNaN(ms) {
		return b.Max
	}
	if ms < 0 {
		return 0
	}
	return time.Duration(ms)
}

// Attempts returns the number of delays handed out since the last Reset.
func (b *Backoff) Attempts() int { return b.attempts }

// Reset starts over from Min.
func (b *Backoff) Reset() { b.attempts = 0 }
