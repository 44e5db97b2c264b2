// Package nodeproc runs the Node.js driver scripts of the interop tests and
// talks to them in JSON lines: one command object per line on the script's
// standard input, one event object per line on its standard output.
//
// Every event carries a "type" field; the scripts document the others. A
// test starts a script with Start, sends commands with Send and waits for
// events with Wait, which fails the test with the whole event log when
// nothing matching arrives in time. The process group is killed when the test
// ends.
package nodeproc

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Timeouts are generous: on a loaded two-core machine starting node alone
// can take several seconds.
const (
	// DefaultTimeout bounds Wait.
	DefaultTimeout = 20 * time.Second
	// StartTimeout bounds the wait for a script's "ready" event.
	StartTimeout = 60 * time.Second
)

// M is a command or a part of one.
type M = map[string]any

// Proc is a running driver script.
type Proc struct {
	t      testing.TB
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr lockedBuffer
	done   chan struct{} // closed when stdout is exhausted and the process reaped
	exit   error

	wmu sync.Mutex // serialises writes to stdin

	mu       sync.Mutex
	events   []Event
	consumed []bool
	changed  chan struct{} // closed and replaced on every new event
}

// Root returns the directory of the interop module: the closest directory,
// from the working directory up, that holds package.json and node/.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isFile(filepath.Join(dir, "package.json")) && isDir(filepath.Join(dir, "node")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("nodeproc: interop directory (package.json and node/) not found above the working directory")
		}
		dir = parent
	}
}

func isFile(p string) bool { st, err := os.Stat(p); return err == nil && !st.IsDir() }
func isDir(p string) bool  { st, err := os.Stat(p); return err == nil && st.IsDir() }

// Start runs node/<script> with args, waits for its "ready" event and
// registers the killing of its process group with t.Cleanup. It fails the
// test when node or the npm packages are missing.
func Start(t testing.TB, script string, args ...string) *Proc {
	t.Helper()
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	if !isFile(filepath.Join(root, "node_modules", ".package-lock.json")) {
		t.Fatalf("nodeproc: %s is missing: run scripts/setup.sh at the repository root to install the npm packages",
			filepath.Join(root, "node_modules"))
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("nodeproc: node not found in PATH (%v): install Node.js 20 or later", err)
	}
	p := &Proc{
		t:       t,
		name:    script,
		done:    make(chan struct{}),
		changed: make(chan struct{}),
	}
	p.cmd = exec.Command(node, append([]string{filepath.Join(root, "node", script)}, args...)...)
	p.cmd.Dir = root
	p.cmd.Stderr = &p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("nodeproc: start %s: %v", script, err)
	}
	go p.read(stdout)
	t.Cleanup(p.kill)
	p.WaitTimeout(StartTimeout, Type("ready"))
	return p
}

// read turns stdout lines into events until the process ends.
func (p *Proc) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 256<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		ev, err := parseEvent(line)
		if err != nil {
			ev, _ = parseEvent(mustJSON(M{"type": "stdout", "line": string(line)}))
		}
		p.add(ev)
	}
	if err := sc.Err(); err != nil {
		ev, _ := parseEvent(mustJSON(M{"type": "stdout", "error": err.Error()}))
		p.add(ev)
		_, _ = io.Copy(io.Discard, r)
	}
	p.exit = p.cmd.Wait()
	ev, _ := parseEvent(mustJSON(M{"type": "exit", "error": errString(p.exit)}))
	// done first, so that Exited is true for whoever sees the exit event
	close(p.done)
	p.add(ev)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (p *Proc) add(ev Event) {
	p.mu.Lock()
	p.events = append(p.events, ev)
	p.consumed = append(p.consumed, false)
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
}

// kill ends the process group and waits for the reader to finish.
func (p *Proc) kill() {
	_ = p.stdin.Close()
	if p.cmd.Process != nil {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.t.Errorf("nodeproc: %s did not exit after SIGKILL", p.name)
	}
}

// Signal sends sig to the script's process group, for example SIGSTOP to
// make the client go silent and SIGCONT to resume it.
func (p *Proc) Signal(sig syscall.Signal) {
	p.t.Helper()
	if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil {
		p.t.Fatalf("nodeproc: signal %v to %s: %v", sig, p.name, err)
	}
}

// Send writes one command. It fails the test if the script has exited.
func (p *Proc) Send(cmd M) {
	p.t.Helper()
	b := mustJSON(cmd)
	p.wmu.Lock()
	_, err := p.stdin.Write(append(b, '\n'))
	p.wmu.Unlock()
	if err != nil {
		p.t.Fatalf("nodeproc: send to %s: %v\n%s", p.name, err, p.Log())
	}
}

// Call sends cmd with a fresh "ref" and waits for the script's "done" (or
// "cmdError") event answering it, which it returns.
func (p *Proc) Call(cmd M) Event {
	p.t.Helper()
	ref := fmt.Sprintf("r%d", nextRef())
	c := make(M, len(cmd)+1)
	for k, v := range cmd {
		c[k] = v
	}
	c["ref"] = ref
	p.Send(c)
	ev := p.Wait(func(e Event) bool {
		return (e.Type == "done" || e.Type == "cmdError") && e.Str("ref") == ref
	})
	if ev.Type == "cmdError" {
		p.t.Fatalf("nodeproc: %s refused %s: %s\n%s", p.name, mustJSON(cmd), ev.Str("message"), p.Log())
	}
	return ev
}

var (
	refMu sync.Mutex
	ref   int
)

func nextRef() int {
	refMu.Lock()
	defer refMu.Unlock()
	ref++
	return ref
}

// Wait returns the first event, in arrival order, that matches pred and has
// not been returned by an earlier Wait or WaitN, waiting up to DefaultTimeout.
// It fails the test with the event log when none arrives.
func (p *Proc) Wait(pred func(Event) bool) Event {
	p.t.Helper()
	return p.WaitTimeout(DefaultTimeout, pred)
}

// WaitTimeout is Wait with an explicit timeout.
func (p *Proc) WaitTimeout(d time.Duration, pred func(Event) bool) Event {
	p.t.Helper()
	evs, ok := p.take(1, d, pred)
	if !ok {
		p.t.Fatalf("nodeproc: %s: no matching event within %v\n%s", p.name, d, p.Log())
	}
	return evs[0]
}

// WaitN returns the first n not yet returned events matching pred, in
// arrival order, waiting up to d for them all.
func (p *Proc) WaitN(n int, d time.Duration, pred func(Event) bool) []Event {
	p.t.Helper()
	evs, ok := p.take(n, d, pred)
	if !ok {
		p.t.Fatalf("nodeproc: %s: got %d of %d matching events within %v\n%s", p.name, len(evs), n, d, p.Log())
	}
	return evs
}

// Poll is like Wait but reports failure instead of failing the test.
func (p *Proc) Poll(d time.Duration, pred func(Event) bool) (Event, bool) {
	evs, ok := p.take(1, d, pred)
	if !ok {
		return Event{}, false
	}
	return evs[0], true
}

// take consumes n matching events once they are all there, or none.
func (p *Proc) take(n int, d time.Duration, pred func(Event) bool) ([]Event, bool) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		var idx []int
		for i, ev := range p.events {
			if !p.consumed[i] && pred(ev) {
				idx = append(idx, i)
				if len(idx) == n {
					break
				}
			}
		}
		if len(idx) == n {
			out := make([]Event, n)
			for j, i := range idx {
				p.consumed[i] = true
				out[j] = p.events[i]
			}
			p.mu.Unlock()
			return out, true
		}
		changed := p.changed
		p.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			p.mu.Lock()
			out := make([]Event, 0, len(idx))
			for _, i := range idx {
				out = append(out, p.events[i])
			}
			p.mu.Unlock()
			return out, false
		}
	}
}

// Events returns every event received so far that matches pred (all when
// pred is nil), consumed or not.
func (p *Proc) Events(pred func(Event) bool) []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Event
	for _, ev := range p.events {
		if pred == nil || pred(ev) {
			out = append(out, ev)
		}
	}
	return out
}

// Log returns the event log and the script's standard error, for failure
// messages. Long lines are shortened.
func (p *Proc) Log() string {
	var b strings.Builder
	fmt.Fprintf(&b, "--- events of %s:\n", p.name)
	for _, ev := range p.Events(nil) {
		s := string(ev.Raw)
		if len(s) > 400 {
			s = s[:400] + fmt.Sprintf("... (%d bytes)", len(ev.Raw))
		}
		b.WriteString(s)
		b.WriteByte('\n')
	}
	if s := p.stderr.String(); s != "" {
		if len(s) > 8000 {
			s = "..." + s[len(s)-8000:]
		}
		fmt.Fprintf(&b, "--- stderr of %s:\n%s", p.name, s)
	}
	return b.String()
}

// Exited reports whether the script has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
