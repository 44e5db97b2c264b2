package interop

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/interop/internal/nodeproc"
	"github.com/sio-go/socketio/sioclient"
)

// TestClientBurstBackpressure has the official server emit 20,000 events at
// once to a Go client whose handler falls behind: every event must be
// handled once, in order, with no disconnection and no error, over WebSocket
// only and over polling only. The client stops reading while its handlers
// catch up instead of dropping what does not fit in its queue. In the "acks"
// runs, a handler waits for the server's acknowledgement (which is behind
// the rest of the burst) while reading is paused: it must not deadlock.
func TestClientBurstBackpressure(t *testing.T) {
	const n = 20000
	for _, tr := range []engineio.Transport{engineio.WebSocket, engineio.Polling} {
		for _, acks := range []bool{false, true} {
			name := string(tr)
			if acks {
				name += "/acks"
			}
			t.Run(name, func(t *testing.T) { clientBurst(t, tr, n, acks) })
		}
	}
}

func clientBurst(t *testing.T, tr engineio.Transport, n int, acks bool) {
	srv := startNodeSio(t, 0, nil)
	s := sioDial(t, srv.URL(), &sioclient.Config{
		Engine:              engineio.DialConfig{Transports: []engineio.Transport{tr}},
		DisableReconnection: true,
	})
	id := s.ID()
	srv.p.Wait(nodeproc.On("connection", "id", id))

	// The first error or disconnection, reported by the test itself: the
	// hooks may run after it ended.
	failed := make(chan string, 1)
	report := func(msg string) {
		select {
		case failed <- msg:
		default:
		}
	}
	s.OnError(func(err error) { report("OnError: " + err.Error()) })
	s.OnDisconnect(func(e sioclient.DisconnectEvent) { report(fmt.Sprintf("disconnected: %s %v", e.Reason, e.Err)) })

	release := make(chan struct{})
	done := make(chan struct{})
	next := 0 // touched by the handlers only, which run one at a time
	var dups, gaps int
	sioclient.On(s, "burst", func(ctx context.Context, i int) error {
		if i == 0 {
			<-release // hold the handlers until the whole burst is sent
		}
		switch {
		case i < next:
			dups++
		case i > next:
			gaps++
		}
		next = i + 1
		if i%8 == 0 {
			time.Sleep(100 * time.Microsecond) // slower than the reading
		}
		if acks && i%5000 == 1 {
			// Wait for an acknowledgement while the reading is paused.
			got, err := sioclient.Call[int](ctx, s, "echo", i)
			if err != nil || got != i {
				report(fmt.Sprintf("echo %d from a handler: %d %v", i, got, err))
			}
		}
		if i == n-1 {
			close(done)
		}
		return nil
	})

	stopMem := sampleHeap()
	start := time.Now()
	srv.p.Call(nodeproc.M{"cmd": "eval", "code": fmt.Sprintf(
		`for (let i = 0; i < %d; i++) ctx.io.of("/").emit("burst", i);`, n)})
	close(release)
	select {
	case <-done:
	case msg := <-failed:
		t.Fatal(msg)
	case <-time.After(60 * time.Second):
		t.Fatal("the last event was not handled in 60s")
	}
	elapsed := time.Since(start)
	base, peak := stopMem()
	select {
	case msg := <-failed:
		t.Fatal(msg)
	default:
	}
	if dups != 0 || gaps != 0 || next != n {
		t.Fatalf("%d duplicates, %d gaps, next %d", dups, gaps, next)
	}
	if !s.Connected() || s.ID() != id {
		t.Fatalf("connected %v, id %q then %q", s.Connected(), id, s.ID())
	}
	if len(srv.p.Events(nodeproc.Type("disconnect"))) != 0 {
		t.Fatalf("the server saw a disconnection:\n%s", srv.p.Log())
	}
	t.Logf("%d events over %s in %v; heap in use %.1f MiB before, %.1f MiB at most",
		n, tr, elapsed.Round(time.Millisecond), float64(base)/(1<<20), float64(peak)/(1<<20))
	// Queued whole, the burst takes about 11 MiB; paused at 1,024 events,
	// the growth stays near 3 MiB (garbage not yet collected included).
	if growth := peak - base; !acks && growth > 8<<20 {
		t.Errorf("the heap grew by %.1f MiB: the client did not stop reading", float64(growth)/(1<<20))
	}
}

// TestClientBurstHardCap: with HardMaxPendingEvents equal to
// MaxPendingEvents, a client whose handlers fall that far behind closes the
// connection, for a reason its hooks see, and reconnects.
func TestClientBurstHardCap(t *testing.T) {
	srv := startNodeSio(t, 0, nil)
	type closed struct {
		reason sioclient.DisconnectReason
		err    error
	}
	closes := make(inbox[closed], 4)
	cfg := fast()
	cfg.MaxPendingEvents, cfg.HardMaxPendingEvents = 64, 64
	cfg.OnClose = func(r sioclient.DisconnectReason, err error) { closes <- closed{r, err} }
	s := sioDial(t, srv.URL(), cfg)
	id := s.ID()
	srv.p.Wait(nodeproc.On("connection", "id", id))
	discs := make(inbox[sioclient.DisconnectEvent], 4)
	s.OnDisconnect(func(e sioclient.DisconnectEvent) { discs <- e })
	release := make(chan struct{})
	sioclient.On(s, "burst", func(ctx context.Context, i int) error {
		if i == 0 {
			<-release
		}
		return nil
	})
	srv.p.Call(nodeproc.M{"cmd": "eval", "code": `for (let i = 0; i < 1000; i++) ctx.io.of("/").emit("burst", i);`})
	// The hooks of the socket wait behind the blocked handler; the
	// manager's do not.
	c := closes.get(t)
	close(release)
	if c.reason != sioclient.ReasonHandlerQueueFull || !errors.Is(c.err, sioclient.ErrHandlerQueueFull) {
		t.Fatalf("connection closed for %s: %v", c.reason, c.err)
	}
	if e := discs.get(t); e.Reason != sioclient.ReasonHandlerQueueFull || !errors.Is(e.Err, sioclient.ErrHandlerQueueFull) {
		t.Fatalf("socket disconnected for %s: %v", e.Reason, e.Err)
	}
	// Closed with unread data, the TCP connection may be reset.
	if r := srv.p.Wait(nodeproc.On("disconnect", "id", id)).Str("reason"); r != "transport close" && r != "transport error" {
		t.Fatalf("the server saw %q", r)
	}
	srv.p.Wait(func(e nodeproc.Event) bool { return e.Type == "connection" && e.Str("id") != id })
}

// sampleHeap samples the heap in use every few milliseconds until the
// returned function is called, which returns the first sample and the
// largest.
func sampleHeap() func() (base, peak uint64) {
	read := func() uint64 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	runtime.GC()
	base := read()
	peak := base
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				peak = max(peak, read())
			}
		}
	}()
	return func() (uint64, uint64) {
		close(stop)
		wg.Wait()
		return base, peak
	}
}
