package interop

import (
	"sync"
	"testing"
	"time"

	"github.com/sio-go/socketio/interop/internal/nodeproc"
	"github.com/sio-go/socketio/sioclient"
)

// TestClientNoJitter: with RandomizationFactor 0 every reconnection delay is
// exactly ReconnectionDelay·2^n (the official client's randomizationFactor:
// 0), while the official server refuses the attempts. With the default
// jitter, each delay has an even chance of being shorter.
func TestClientNoJitter(t *testing.T) {
	const first = 10 * time.Millisecond
	const attempts = 8 // 10ms, 20ms, ..., 1.28s
	srv := startNodeSio(t, 0, nil)
	var mu sync.Mutex
	var endedAt, startedAt []time.Time // the end of the connection or of the last attempt; the start of an attempt
	stamp := func(at *[]time.Time) { mu.Lock(); *at = append(*at, time.Now()); mu.Unlock() }
	cfg := fast()
	cfg.ReconnectionDelay, cfg.ReconnectionDelayMax = first, time.Minute
	cfg.RandomizationFactor = new(0.0)
	cfg.OnClose = func(sioclient.DisconnectReason, error) { stamp(&endedAt) }
	cfg.OnReconnectError = func(error) { stamp(&endedAt) }
	cfg.OnReconnectAttempt = func(int) { stamp(&startedAt) }
	s := sioDial(t, srv.URL(), cfg)
	srv.p.Call(nodeproc.M{"cmd": "eval", "code": `ctx.io.engine.opts.allowRequest = (req, cb) => cb("refused", false);`})
	srv.p.Call(nodeproc.M{"cmd": "drop", "nsp": "/", "id": s.ID()})
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(startedAt)
		mu.Unlock()
		if n >= attempts {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d reconnection attempts in 30s", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = s.Manager().Close()
	mu.Lock()
	defer mu.Unlock()
	// Attempt k starts first·2^(k-1) after the previous one failed.
	for k := 0; k < attempts; k++ {
		want := first << k
		if d := startedAt[k].Sub(endedAt[k]); d < want {
			t.Fatalf("delay before attempt %d: %v, less than %v: jittered", k+1, d, want)
		}
	}
}
