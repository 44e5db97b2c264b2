package interop

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/interop/internal/nodeproc"
)

// burstCount is how many events socket.io-client sends at once in the burst
// tests: what flushing a long offline buffer sends.
const burstCount = 20000

// burstSink handles the "n" events of a burst: it checks that each arrives
// once and in order, and is slow now and then, so that the events pile up
// behind the handler.
type burstSink struct {
	mu       sync.Mutex
	next     int // the index expected next
	errs     []string
	done     chan struct{}
	disc     chan socketio.DisconnectReason
	sockets  atomic.Int32
	peakHeap atomic.Uint64
}

func newBurstSink() *burstSink {
	return &burstSink{done: make(chan struct{}), disc: make(chan socketio.DisconnectReason, 4)}
}

func (b *burstSink) setup(srv *socketio.Server, _ *srvLog) {
	srv.OnConnect(func(s *socketio.Socket) {
		b.sockets.Add(1)
		s.OnDisconnect(func(ev socketio.DisconnectEvent) { b.disc <- ev.Reason })
		type item struct {
			I   int    `json:"i"`
			Pad string `json:"pad"`
		}
		socketio.On(s, "n", func(ctx context.Context, it item) error {
			b.mu.Lock()
			if it.I != b.next && len(b.errs) < 10 {
				b.errs = append(b.errs, "got "+strconv.Itoa(it.I)+", want "+strconv.Itoa(b.next))
			}
			b.next = it.I + 1
			n := b.next
			b.mu.Unlock()
			if n%2000 == 0 {
				time.Sleep(20 * time.Millisecond) // the queue fills meanwhile
			}
			if n == burstCount {
				close(b.done)
			}
			return nil
		})
	})
}

// sampleHeap records the peak of the live heap until ctx ends.
func (b *burstSink) sampleHeap(ctx context.Context) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	var ms runtime.MemStats
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		runtime.ReadMemStats(&ms)
		if ms.HeapAlloc > b.peakHeap.Load() {
			b.peakHeap.Store(ms.HeapAlloc)
		}
	}
}

func (b *burstSink) check(t *testing.T, start time.Time) {
	t.Helper()
	select {
	case <-b.done:
	case r := <-b.disc:
		b.mu.Lock()
		t.Fatalf("disconnected (%q) after %d of %d events", r, b.next, burstCount)
	case <-time.After(90 * time.Second):
		b.mu.Lock()
		t.Fatalf("handled %d of %d events", b.next, burstCount)
	}
	took := time.Since(start)
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.errs) > 0 {
		t.Fatalf("out of order or repeated: %v", b.errs)
	}
	select {
	case r := <-b.disc:
		t.Fatalf("disconnected (%q)", r)
	default:
	}
	t.Logf("%d events handled in order in %v; peak live heap of the test process %.1f MiB, peak RSS so far %s",
		burstCount, took.Round(time.Millisecond), float64(b.peakHeap.Load())/(1<<20), peakRSS())
}

// peakRSS returns the peak resident set size of the test process (VmHWM),
// where the system tells it.
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// TestSIOBurst has socket.io-client send 20,000 events at once, each with
// 200 bytes of padding, to a handler that cannot keep up: the server stops
// reading the connection until the handler catches up rather than drop or
// disconnect, and every event is handled once, in order.
func TestSIOBurst(t *testing.T) {
	for _, transports := range [][]string{{"polling"}, {"websocket"}} {
		t.Run(transports[0], func(t *testing.T) {
			sink := newBurstSink()
			s := startSIO(t, nil, sink.setup)
			c := startClient(t)
			c.dial("s", s.URL(), "/", nodeproc.M{"transports": transports})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go sink.sampleHeap(ctx)
			start := time.Now()
			c.p.Call(nodeproc.M{"cmd": "burst", "socket": "s", "event": "n", "count": burstCount, "pad": 200})
			sink.check(t, start)
		})
	}
}

// TestSIOBurstAfterReconnection has socket.io-client buffer 20,000 events
// while its connection is down; the Manager reconnects and the socket
// flushes its buffer at once on the new connection.
func TestSIOBurstAfterReconnection(t *testing.T) {
	for _, transports := range [][]string{{"polling"}, {"websocket"}} {
		t.Run(transports[0], func(t *testing.T) {
			sink := newBurstSink()
			s := startSIO(t, nil, sink.setup)
			c := startClient(t)
			c.dial("s", s.URL(), "/", nodeproc.M{"transports": transports,
				"reconnectionDelay": 300, "randomizationFactor": 0})
			c.call("closeEngine", "s")
			c.wait("s", "disconnect")
			if r := <-sink.disc; r != socketio.ReasonTransportClose {
				t.Fatalf("first connection ended with %q", r)
			}
			// The socket is disconnected: emit buffers.
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go sink.sampleHeap(ctx)
			start := time.Now()
			c.p.Call(nodeproc.M{"cmd": "burst", "socket": "s", "event": "n", "count": burstCount, "pad": 200})
			c.wait("s", "connect")
			sink.check(t, start)
			if n := sink.sockets.Load(); n != 2 {
				t.Errorf("%d connections, want 2", n)
			}
		})
	}
}
