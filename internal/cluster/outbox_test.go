package cluster

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sio-go/socketio/internal/testutil"
)

func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }

var (
	errClosed = errors.New("closed")
	errDown   = errors.New("down")
	errFull   = errors.New("full")
)

// fakeBackend records what an outbox sends, and fails while down.
type fakeBackend struct {
	mu     sync.Mutex
	down   bool
	notRun bool // failures say the backend did not run the messages
	sent   []int
	sentCh chan struct{}
}

func (b *fakeBackend) send(_ context.Context, batch []*Message) []Result {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]Result, len(batch))
	for i, m := range batch {
		if b.down {
			out[i] = Result{Err: errors.New("connection refused"), Receivers: -1, Unreachable: true, NotRun: b.notRun}
			continue
		}
		b.sent = append(b.sent, m.Payload.(int))
		out[i] = Result{Receivers: -1}
	}
	select {
	case b.sentCh <- struct{}{}:
	default:
	}
	return out
}

func (b *fakeBackend) setDown(down bool) {
	b.mu.Lock()
	b.down = down
	b.mu.Unlock()
}

func (b *fakeBackend) probe(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.down {
		return errors.New("connection refused")
	}
	return nil
}

func (b *fakeBackend) got() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.sent)
}

func newTestOutbox(b *fakeBackend, queueBytes int, report func(Failure) error) (*Link, *Outbox) {
	log := slog.New(slog.DiscardHandler)
	l := NewLink(LinkConfig{Probe: b.probe, Timeout: 100 * time.Millisecond, Unreachable: func(err error) bool { return err != nil },
		Down: errDown, Closed: errClosed, Log: log, Prefix: "test", Backend: "fake"})
	o := NewOutbox(l, OutboxConfig{Timeout: 100 * time.Millisecond, MaxDelay: time.Minute, QueueBytes: queueBytes,
		Send: b.send, Closed: errClosed, Down: errDown, QueueFull: errFull, Report: report, Log: log, Prefix: "test", Nsp: "/"})
	return l, o
}

// Messages the backend certainly did not run go back to the head of the
// queue: once it answers again, everything arrives, in order. Past the
// bound, Push fails at once and the failure is reported.
func TestOutboxRequeuesWhatDidNotRun(t *testing.T) {
	b := &fakeBackend{notRun: true, sentCh: make(chan struct{}, 1)}
	var mu sync.Mutex
	var reported []Failure
	l, o := newTestOutbox(b, 10, func(f Failure) error {
		mu.Lock()
		reported = append(reported, f)
		mu.Unlock()
		return f.Err
	})
	defer l.Close()
	defer o.Close()
	b.setDown(true)
	var accepted []int
	for i := range 20 {
		err := o.Push(&Message{Op: OpBroadcast, Size: 1, Payload: i})
		switch {
		case err == nil:
			accepted = append(accepted, i)
		case !errors.Is(err, errFull):
			t.Fatalf("Push %d: %v", i, err)
		}
	}
	if len(accepted) == 0 || len(accepted) == 20 {
		t.Fatalf("accepted %v: the bound did not apply", accepted)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !l.IsDown() {
		if time.Now().After(deadline) {
			t.Fatal("the link did not go down")
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.setDown(false)
	for !slices.Equal(b.got(), accepted) {
		if time.Now().After(deadline) {
			t.Fatalf("sent %v, want %v", b.got(), accepted)
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reported) != 20-len(accepted) {
		t.Errorf("%d failures reported, want %d", len(reported), 20-len(accepted))
	}
}

// A settle hook holds the queue after an outage until it returns.
func TestOutboxSettle(t *testing.T) {
	b := &fakeBackend{sentCh: make(chan struct{}, 1)}
	release := make(chan struct{})
	settling := make(chan struct{}, 1)
	l, o := newTestOutbox(b, 1<<20, func(f Failure) error { return f.Err })
	o.cfg.Settle = func(ctx context.Context, _ LinkState) {
		settling <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
	}
	defer l.Close()
	defer o.Close()
	b.setDown(true)
	l.Fail(errors.New("gone"))
	b.setDown(false)
	if err := l.WaitUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := o.Push(&Message{Op: OpBroadcast, Size: 1, Payload: 7}); err != nil {
		t.Fatal(err)
	}
	<-settling
	if got := b.got(); len(got) != 0 {
		t.Fatalf("sent %v while settling", got)
	}
	close(release)
	select {
	case <-b.sentCh:
	case <-time.After(5 * time.Second):
		t.Fatal("nothing sent after settling")
	}
	if got := b.got(); !slices.Equal(got, []int{7}) {
		t.Fatalf("sent %v", got)
	}
}
