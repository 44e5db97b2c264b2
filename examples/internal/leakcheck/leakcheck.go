// Package leakcheck fails a test binary whose tests leave goroutines behind.
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// ignored marks the goroutines of the runtime and of the testing package.
var ignored = []string{
	"testing.(*M).",
	"testing.tRunner",
	"testing.runTests",
	"testing.(*T).Run",
	"created by runtime.gc",
	"os/signal.loop",
	"signal.signal_recv",
	"runtime.ensureSigM",
	"leakcheck.stray",
}

// stray returns the stacks of the goroutines that are not ignored.
func stray() []string {
	buf := make([]byte, 2<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		keep := g != ""
		for _, s := range ignored {
			if strings.Contains(g, s) {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, g)
		}
	}
	return out
}

// Check waits up to timeout for stray goroutines to end and describes the
// ones that remain.
func Check(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		left := stray()
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d goroutine(s) leaked:\n\n%s", len(left), strings.Join(left, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Main runs the tests, then fails the run if goroutines they started are
// still alive a few seconds later. Use it as
//
//	func TestMain(m *testing.M) { leakcheck.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := Check(5 * time.Second); err != nil {
			fmt.Fprintln(os.Stderr, "leak check:", err)
			code = 1
		}
	}
	os.Exit(code)
}
