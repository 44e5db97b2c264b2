package load

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sio-go/socketio/bench/internal/stats"
	"github.com/sio-go/socketio/bench/internal/wire"
)

// A run too large for one process (100,000 connections against a cluster)
// spreads its receivers over several load generator processes, each below
// the file descriptor limit and on its own source addresses, driven by one
// coordinator (cmd/scalerun) over stdin and stdout, one JSON object per
// line:
//
//	out  ScaleReady      once every receiver has dialled
//	in   ScaleExpect     the coordinator sent messages 0..Messages-1
//	out  ScaleReport     once each receiver has them all, or after WaitS
//
// The coordinator sends the broadcasts itself, as StampFrame frames of
// event "bcast", so every process measures delivery from the sender's
// clock.

// ScaleReady is the line a scale-recv process prints once it has dialled.
type ScaleReady struct {
	Wanted     int     `json:"wanted"`
	Connected  int     `json:"connected"`
	ConnectS   float64 `json:"connect_s"`
	Errors     int64   `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
}

// ScaleExpect tells a scale-recv process how many messages were sent and how
// long to wait for them.
type ScaleExpect struct {
	Messages int64   `json:"messages"`
	WaitS    float64 `json:"wait_s"`
}

// ScaleReport is what a scale-recv process saw.
type ScaleReport struct {
	Receivers  int            `json:"receivers"`  // dialled
	Alive      int            `json:"alive"`      // still open at the end
	Complete   int            `json:"complete"`   // got every message, in order
	Deliveries int64          `json:"deliveries"` // messages received in total
	OutOfOrder int64          `json:"out_of_order"`
	Latency    stats.Snapshot `json:"latency"` // delivery times
	Pings      int64          `json:"pings"`
	Errors     int64          `json:"errors"`
	Mismatches int64          `json:"mismatches"`
	FirstError string         `json:"first_error,omitempty"`
}

type scaleReceiver struct {
	r    *runner
	f    *wire.StampFrame
	next atomic.Int64 // expected sequence number; written by the read goroutine only
	ooo  *atomic.Int64
	n    *atomic.Int64
}

func (rc *scaleReceiver) onFrame(_ *wire.Conn, p []byte) {
	now := time.Now().UnixMicro()
	seq, at, ok := rc.f.Parse(p)
	if !ok {
		rc.r.mismatch("broadcast", p, nil)
		return
	}
	if want := rc.next.Load(); seq != want {
		rc.ooo.Add(1)
		rc.r.noteFirst(fmt.Sprintf("broadcast out of order: got %d, want %d", seq, want))
	}
	rc.next.Store(seq + 1)
	rc.n.Add(1)
	rc.r.record((now - at) * 1e3)
}

// ScaleReceive is the scale-recv scenario: it dials cfg.Receivers
// connections spread over cfg.URL and cfg.Peers, prints a ScaleReady line
// to out, then answers each ScaleExpect line read from in with a
// ScaleReport. It closes its connections and returns when in ends or ctx is
// done.
func ScaleReceive(ctx context.Context, cfg Config, in io.Reader, out io.Writer) error {
	cfg.Scenario = ScaleRecv
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return err
	}
	r := &runner{cfg: cfg, res: &Result{}, base: time.Now()}
	for _, u := range append([]string{cfg.URL}, cfg.Peers...) {
		ep, err := wire.ParseEndpoint(u)
		if err != nil {
			return err
		}
		if !ep.SupportsSourceIPs() {
			r.cfg.SourceIPs = 0
		}
		r.eps = append(r.eps, ep)
	}
	r.freshHistogram()
	stop := r.startProgress()
	defer stop()

	f := wire.NewStampFrame("bcast")
	var ooo, delivered atomic.Int64
	recv := make([]*scaleReceiver, cfg.Receivers)
	for i := range recv {
		recv[i] = &scaleReceiver{r: r, f: f, ooo: &ooo, n: &delivered}
	}
	start := time.Now()
	conns, _ := r.dialMany(ctx, cfg.Receivers, func(i int) wire.Handler { return recv[i].onFrame })
	defer r.closeAll(conns)
	ready := ScaleReady{Wanted: cfg.Receivers, Connected: countAlive(conns),
		ConnectS: round(time.Since(start).Seconds(), 2), Errors: r.errors.Load()}
	r.firstMu.Lock()
	ready.FirstError = r.first
	r.firstMu.Unlock()
	r.freshHistogram() // connect times are not delivery times
	r.setStatus(func() string {
		return fmt.Sprintf("holding %d/%d, deliveries %d", countAlive(conns), cfg.Receivers, delivered.Load())
	})
	enc := json.NewEncoder(out)
	var encMu sync.Mutex
	write := func(v any) error {
		encMu.Lock()
		defer encMu.Unlock()
		return enc.Encode(v)
	}
	if err := write(ready); err != nil {
		return err
	}

	lines := make(chan []byte)
	readErr := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			select {
			case lines <- append([]byte(nil), sc.Bytes()...):
			case <-ctx.Done():
				readErr <- ctx.Err()
				return
			}
		}
		readErr <- sc.Err()
	}()
	for {
		var line []byte
		select {
		case line = <-lines:
		case err := <-readErr:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
		var ex ScaleExpect
		if err := json.Unmarshal(line, &ex); err != nil {
			return fmt.Errorf("load: scale-recv: bad command %q: %w", line, err)
		}
		if err := write(scaleWait(ctx, r, conns, recv, ex, &ooo, &delivered)); err != nil {
			return err
		}
	}
}

// scaleWait waits until every open receiver has every message, or ex.WaitS,
// and reports.
func scaleWait(ctx context.Context, r *runner, conns []*wire.Conn, recv []*scaleReceiver, ex ScaleExpect, ooo, delivered *atomic.Int64) ScaleReport {
	deadline := time.Now().Add(time.Duration(ex.WaitS * float64(time.Second)))
	complete := func() int {
		n := 0
		for _, rc := range recv {
			if rc.next.Load() == ex.Messages {
				n++
			}
		}
		return n
	}
	for complete() < countAlive(conns) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	rep := ScaleReport{
		Receivers:  len(recv),
		Alive:      countAlive(conns),
		Complete:   complete(),
		Deliveries: delivered.Load(),
		OutOfOrder: ooo.Load(),
		Latency:    r.hist.Load().Snapshot(),
		Pings:      r.pings.Load(),
		Errors:     r.errors.Load(),
		Mismatches: r.mismatches.Load(),
	}
	r.firstMu.Lock()
	rep.FirstError = r.first
	r.firstMu.Unlock()
	if rep.FirstError == "" && rep.Complete < len(recv) {
		rep.FirstError = errors.New("load: receivers without every message").Error()
	}
	return rep
}
