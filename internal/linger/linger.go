// Package linger lets a goroutine that exists only while it has work wait a
// while for more before it exits, without losing work handed to it as it
// gives up.
package linger

import "time"

// Timer is an idle goroutine's timer, made on first use. The zero value is
// ready to use; it belongs to one goroutine.
type Timer struct{ t *time.Timer }

// Wait waits for a wake, for d to pass, or for quit to close (a nil quit
// never does), and reports whether the goroutine was woken. When d passes
// or quit closes, Wait calls giveUp, which, under the lock that the wakers
// hold, reports whether the goroutine is still idle and if so records that
// it is gone. If it is no longer idle, a waker has a wake on its way: Wait
// takes it and reports true. Wakers send at most one wake per idle period,
// on a channel with room for it, so that sending never blocks.
func (w *Timer) Wait(d time.Duration, wake, quit <-chan struct{}, giveUp func() bool) bool {
	if w.t == nil {
		w.t = time.NewTimer(d)
	} else {
		w.t.Reset(d)
	}
	select {
	case <-wake:
		return true
	case <-w.t.C:
	case <-quit:
	}
	if giveUp() {
		return false
	}
	<-wake
	return true
}

// Stop releases the timer.
func (w *Timer) Stop() {
	if w.t != nil {
		w.t.Stop()
	}
}
