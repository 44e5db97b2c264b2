package testutil

import (
	"testing"
	"time"
)

// Recv returns the next value from ch, failing the test if none comes
// within timeout.
func Recv[T any](t testing.TB, ch <-chan T, timeout time.Duration) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(timeout):
		t.Fatalf("nothing received in %v", timeout)
		var zero T
		return zero
	}
}
