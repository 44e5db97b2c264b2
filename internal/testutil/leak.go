// Package testutil holds small helpers shared by the project's tests.
package testutil

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// ignoredStacks lists goroutines that belong to the runtime or the testing
// package rather than to code under test.
var ignoredStacks = []string{
	"testing.(*M).",
	"testing.tRunner",
	"testing.runTests",
	"testing.(*T).Run",
	"runtime.goexit0",
	"created by runtime.gc",
	"runtime.MHeap_Scavenger",
	"signal.signal_recv",
	"sigterm.handler",
	"runtime_mcall",
	"goroutine in C code",
	"os/signal.loop",
	"runtime.ensureSigM",
}

func interesting(stack string) bool {
	if stack == "" {
		return false
	}
	for _, s := range ignoredStacks {
		if strings.Contains(stack, s) {
			return false
		}
	}
	return true
}

// Goroutines returns the stacks of goroutines that are not part of the
// runtime or the test framework.
func Goroutines() []string {
	buf := make([]byte, 2<<20)
	n := runtime.Stack(buf, true)
	var out []string
	for _, g := range strings.Split(string(buf[:n]), "\n\n") {
		if strings.Contains(g, "testutil.Goroutines") {
			continue
		}
		if interesting(g) {
			out = append(out, g)
		}
	}
	return out
}

// CheckLeaks waits up to timeout for stray goroutines to end and returns an
// error describing the ones that remain.
func CheckLeaks(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		left := Goroutines()
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d goroutine(s) leaked:\n\n%s", len(left), strings.Join(left, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// VerifyTestMain runs the tests and fails the run if any goroutine started by
// them is still alive a few seconds after the last test ended. Use it as
//
//	func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }
func VerifyTestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := CheckLeaks(5 * time.Second); err != nil {
			fmt.Fprintln(os.Stderr, "leak check:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// VerifyNone fails t if goroutines started during the test are still running
// after timeout. It ignores goroutines that were already running when the
// returned function's creator was called.
func VerifyNone(t testing.TB) func() {
	before := map[string]bool{}
	for _, g := range Goroutines() {
		before[goroutineID(g)] = true
	}
	return func() {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			var left []string
			for _, g := range Goroutines() {
				if !before[goroutineID(g)] && !strings.Contains(g, "testing.(*T).Run") {
					left = append(left, g)
				}
			}
			if len(left) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("%d goroutine(s) leaked:\n\n%s", len(left), strings.Join(left, "\n\n"))
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func goroutineID(stack string) string {
	line := strings.SplitN(stack, "\n", 2)[0]
	if i := strings.Index(line, " ["); i > 0 {
		return line[:i]
	}
	return line
}
