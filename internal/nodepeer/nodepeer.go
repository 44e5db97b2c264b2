// Package nodepeer runs the Node.js member of the adapters' interoperability
// tests (redisadapter/testdata/capture/peer.js): a Socket.IO server with an
// official adapter (Redis or Postgres), Socket.IO clients and emitters,
// driven through JSON lines.
package nodepeer

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Event is a line a Node peer printed on its own: a client received an
// event or was disconnected, a server-side emit arrived.
type Event struct {
	Event  string          `json:"event"`
	Client string          `json:"client"`
	Name   string          `json:"name"`
	Nsp    string          `json:"nsp"`
	Reason string          `json:"reason"`
	Args   json.RawMessage `json:"args"`
	Error  string          `json:"error"`
	// Recovered and ID describe a client's connection ("connect").
	Recovered bool   `json:"recovered"`
	ID        string `json:"id"`
}

// Peer is a Node.js process running peer.js: a Socket.IO server with an
// official adapter, and Socket.IO clients.
type Peer struct {
	t     testing.TB
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{}

	mu      sync.Mutex
	seq     int
	pending map[int]chan reply
	events  []Event
	notify  chan struct{}
	stderr  strings.Builder
}

type reply struct {
	Seq    int             `json:"seq"`
	Result json.RawMessage `json:"result"`
	Error  string          `json:"error"`
}

var npmOnce sync.Once
var npmErr error

// Dir returns the directory of the Node tooling, installing its packages
// from the lock file when they are missing or older than it.
func Dir(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "redisadapter", "testdata", "capture")
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("nodepeer: node is not installed: the interoperability tests need Node.js 20 or later")
	}
	npmOnce.Do(func() {
		lock, err := os.Stat(filepath.Join(dir, "package-lock.json"))
		if err != nil {
			npmErr = err
			return
		}
		if inst, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json")); err == nil && !lock.ModTime().After(inst.ModTime()) {
			return
		}
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			npmErr = fmt.Errorf("npm ci in %s: %v\n%s", dir, err, out)
		}
	})
	if npmErr != nil {
		t.Fatal(npmErr)
	}
	return dir
}

// Start starts a Node peer with the environment variables env (REDIS_URL,
// PG_URL, ADAPTER… as peer.js describes). The peer is stopped when the
// test ends.
func Start(t testing.TB, env ...string) *Peer {
	t.Helper()
	dir := Dir(t)
	cmd := exec.Command("node", "peer.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	p := &Peer{t: t, cmd: cmd, pending: map[int]chan reply{}, notify: make(chan struct{}, 1), done: make(chan struct{})}
	cmd.Stderr = &lockedWriter{p: p}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go p.read(stdout)
	t.Cleanup(p.stop)
	ev, err := p.WaitEvent(func(e Event) bool { return e.Event == "ready" || e.Event == "fatal" }, 20*time.Second)
	if err != nil {
		t.Fatalf("node peer did not start: %v\n%s", err, p.Stderr())
	}
	if ev.Event == "fatal" {
		t.Fatalf("node peer failed: %s\n%s", ev.Error, p.Stderr())
	}
	return p
}

type lockedWriter struct{ p *Peer }

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	w.p.stderr.Write(b)
	return len(b), nil
}

// Stderr returns what the peer wrote on its standard error.
func (p *Peer) Stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

func (p *Peer) read(r io.Reader) {
	defer close(p.done)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var probe struct {
			Seq *int `json:"seq"`
		}
		if json.Unmarshal(line, &probe) != nil {
			continue
		}
		if probe.Seq != nil {
			var rep reply
			_ = json.Unmarshal(line, &rep)
			p.mu.Lock()
			ch := p.pending[rep.Seq]
			delete(p.pending, rep.Seq)
			p.mu.Unlock()
			if ch != nil {
				ch <- rep
			}
			continue
		}
		var ev Event
		if json.Unmarshal(line, &ev) == nil {
			p.mu.Lock()
			p.events = append(p.events, ev)
			p.mu.Unlock()
			select {
			case p.notify <- struct{}{}:
			default:
			}
		}
	}
}

// Call runs an operation of peer.js and decodes its result into out (when
// not nil).
func (p *Peer) Call(op map[string]any, out any) error {
	p.mu.Lock()
	p.seq++
	seq := p.seq
	ch := make(chan reply, 1)
	p.pending[seq] = ch
	p.mu.Unlock()
	op["seq"] = seq
	line, err := json.Marshal(op)
	if err != nil {
		return err
	}
	if _, err := p.stdin.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("node peer: %w", err)
	}
	select {
	case rep := <-ch:
		if rep.Error != "" {
			return fmt.Errorf("node peer: %s: %s", op["op"], rep.Error)
		}
		if out != nil {
			return json.Unmarshal(rep.Result, out)
		}
		return nil
	case <-p.done:
		return fmt.Errorf("node peer exited:\n%s", p.Stderr())
	case <-time.After(15 * time.Second):
		return fmt.Errorf("node peer: %s: no reply", op["op"])
	}
}

// MustCall is Call that fails the test on error.
func (p *Peer) MustCall(op map[string]any, out any) {
	p.t.Helper()
	if err := p.Call(op, out); err != nil {
		p.t.Fatal(err)
	}
}

// WaitEvent waits for an event that match accepts, removes it from the
// queue of events and returns it.
func (p *Peer) WaitEvent(match func(Event) bool, timeout time.Duration) (Event, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	exited := false
	for {
		p.mu.Lock()
		for i, ev := range p.events {
			if match(ev) {
				p.events = append(p.events[:i:i], p.events[i+1:]...)
				p.mu.Unlock()
				return ev, nil
			}
		}
		p.mu.Unlock()
		select {
		case <-p.notify:
		case <-p.done:
			if exited { // the events were checked once more after the exit
				return Event{}, fmt.Errorf("node peer exited:\n%s", p.Stderr())
			}
			exited = true
		case <-deadline.C:
			return Event{}, fmt.Errorf("no matching event within %v; events: %v", timeout, p.Events())
		}
	}
}

// ClientEvent waits for client to receive the event name.
func (p *Peer) ClientEvent(client, name string, timeout time.Duration) (Event, error) {
	return p.WaitEvent(func(e Event) bool {
		return e.Event == "client" && e.Client == client && e.Name == name
	}, timeout)
}

// Events returns the events not consumed yet.
func (p *Peer) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.events...)
}

// DrainEvents forgets the events received so far.
func (p *Peer) DrainEvents() {
	p.mu.Lock()
	p.events = nil
	p.mu.Unlock()
}

func (p *Peer) stop() {
	_ = p.Call(map[string]any{"op": "quit"}, nil)
	_ = p.stdin.Close()
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	_ = p.cmd.Wait()
}

// Connect connects a client of the peer as op says ("client", and "url",
// "nsp", "rooms" when set) and returns its socket id once its server ran
// the connect handler, which joins the rooms: the client hears of its
// connection before that handler runs.
func (p *Peer) Connect(t testing.TB, op map[string]any) string {
	t.Helper()
	op["op"] = "connect"
	var sid string
	p.MustCall(op, &sid)
	rooms, _ := op["rooms"].([]string)
	p.WaitRooms(t, op["client"].(string), append([]string{sid}, rooms...)...)
	return sid
}

// WaitRooms waits up to 5 seconds until client reports rooms want.
func (p *Peer) WaitRooms(t testing.TB, client string, want ...string) {
	t.Helper()
	want = slices.Sorted(slices.Values(want))
	deadline := time.Now().Add(5 * time.Second)
	for {
		var got []string
		p.MustCall(map[string]any{"op": "clientRooms", "client": client}, &got)
		slices.Sort(got)
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("rooms of %s: %v, want %v", client, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
