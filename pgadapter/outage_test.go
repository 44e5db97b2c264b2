package pgadapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sio-go/socketio/internal/nodepeer"
)

// reports collects what PublishConfig.OnError hears of.
type reports struct {
	mu   sync.Mutex
	errs []*PublishError
}

func (r *reports) add(pe *PublishError) {
	r.mu.Lock()
	r.errs = append(r.errs, pe)
	r.mu.Unlock()
}

func (r *reports) count(target error) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, pe := range r.errs {
		if errors.Is(pe, target) {
			n++
		}
	}
	return n
}

// tick is what the senders of TestDatabaseOutage broadcast.
type tick struct {
	From string `json:"from"`
	Seq  int    `json:"seq"`
}

// sender broadcasts a tick every 20 ms from one Go server and records how
// long each Emit took and what it returned.
type sender struct {
	g    *goServer
	name string

	mu   sync.Mutex
	took []time.Duration
	sent []time.Time // by seq
	errs []error     // by seq
}

func (s *sender) run(stop <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for seq := 0; ; seq++ {
		start := time.Now()
		err := s.g.srv.Emit(context.Background(), "tick", tick{From: s.name, Seq: seq})
		s.mu.Lock()
		s.took = append(s.took, time.Since(start))
		s.sent = append(s.sent, start)
		s.errs = append(s.errs, err)
		s.mu.Unlock()
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// ticks returns the seqs client received from sender from.
func ticks(p *nodepeer.Peer, client, from string) map[int]bool {
	out := map[int]bool{}
	for _, ev := range p.Events() {
		if ev.Event != "client" || ev.Client != client || ev.Name != "tick" {
			continue
		}
		var args []tick
		if json.Unmarshal(ev.Args, &args) == nil && len(args) == 1 && args[0].From == from {
			out[args[0].Seq] = true
		}
	}
	return out
}

// The database goes away (new connections refused, the open ones ended
// with pg_terminate_backend) while two Go servers and a Node server
// broadcast: the Go senders never wait, their clients get every local
// broadcast, what cannot reach the other servers is reported as
// ErrDatabaseDown, requests fail at once, no server goes away, and once
// the database is back the listeners listen again within a second and the
// cluster delivers across servers again.
func TestDatabaseOutage(t *testing.T) {
	db := newDB(t)
	var rep reports
	cfg := &Config{Publish: PublishConfig{OnError: rep.add}}
	g1, g2 := startGo(t, db, "g1", cfg), startGo(t, db, "g2", cfg)
	peer := startNode(t, db)
	peer.Connect(t, map[string]any{"client": "c1", "url": g1.url})
	peer.Connect(t, map[string]any{"client": "c2", "url": g2.url})
	peer.Connect(t, map[string]any{"client": "cn"})
	a1, a2 := g1.adapter("/"), g2.adapter("/")
	waitServerCount(t, 3, a1, a2)

	s1, s2 := &sender{g: g1, name: "g1"}, &sender{g: g2, name: "g2"}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go s1.run(stop, &wg)
	go s2.run(stop, &wg)
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()
	// The cluster works before the outage.
	waitFor(t, func() error {
		if len(ticks(peer, "c2", "g1")) < 5 || len(ticks(peer, "cn", "g2")) < 5 {
			return errors.New("cross-node ticks do not arrive before the outage")
		}
		return nil
	})

	db.Block()
	blocked := time.Now()
	waitFor(t, func() error {
		if !a1.PublishStats().DatabaseDown || !a2.PublishStats().DatabaseDown {
			return errors.New("the adapters did not notice that the database is gone")
		}
		return nil
	})
	start := time.Now()
	_, err := g1.srv.Of("/").FetchSockets(context.Background())
	if !errors.Is(err, ErrDatabaseDown) || time.Since(start) > 100*time.Millisecond {
		t.Errorf("FetchSockets during the outage: %v after %v, want ErrDatabaseDown at once", err, time.Since(start))
	}
	// Past MaxDelay, broadcasts are refused at once, and reported.
	waitFor(t, func() error {
		if rep.count(ErrDatabaseDown) < 10 {
			return fmt.Errorf("%d broadcasts reported failed", rep.count(ErrDatabaseDown))
		}
		return nil
	})
	outage := time.Since(blocked)

	db.Unblock()
	back := time.Now()
	ctx := ctxFor(t, wait)
	for _, a := range []*Adapter{a1, a2} {
		must(t, a.Ready(ctx))
	}
	listening := time.Since(back)
	if listening > 1500*time.Millisecond {
		t.Errorf("the listeners listen again %v after the database is back, want about a second at most", listening)
	}
	// Cross-node delivery between the Go servers comes back: a tick sent
	// after the database is back reaches the other server's client. (The
	// Node server does not come back: see the end.)
	var healed time.Duration
	waitFor(t, func() error {
		for _, c := range []struct {
			client string
			s      *sender
		}{{"c2", s1}, {"c1", s2}} {
			c.s.mu.Lock()
			after := len(c.s.sent)
			for seq, at := range c.s.sent {
				if at.After(back) {
					after = seq
					break
				}
			}
			c.s.mu.Unlock()
			found := false
			for seq := range ticks(peer, c.client, c.s.name) {
				found = found || seq >= after
			}
			if !found {
				return fmt.Errorf("%s receives nothing %s sent after the database came back", c.client, c.s.name)
			}
		}
		healed = time.Since(back)
		return nil
	})
	close(stop)
	wg.Wait()

	// The senders never waited, and every local broadcast arrived.
	for _, s := range []*sender{s1, s2} {
		s.mu.Lock()
		took := slices.Clone(s.took)
		errs := slices.Clone(s.errs)
		n := len(s.sent)
		s.mu.Unlock()
		slices.Sort(took)
		if worst := took[len(took)-1]; worst > 250*time.Millisecond {
			t.Errorf("%s: an Emit took %v", s.name, worst)
		}
		failed := 0
		for _, err := range errs {
			if err == nil {
				continue
			}
			failed++
			var pe *PublishError
			if !errors.As(err, &pe) || !errors.Is(err, ErrDatabaseDown) && !errors.Is(err, ErrQueueFull) {
				t.Errorf("%s: Emit: %v", s.name, err)
			}
		}
		local := map[string]string{"g1": "c1", "g2": "c2"}[s.name]
		waitFor(t, func() error {
			if got := len(ticks(peer, local, s.name)); got != n {
				return fmt.Errorf("%s's own client got %d of %d ticks", s.name, got, n)
			}
			return nil
		})
		t.Logf("%s: %d broadcasts, %d refused at once, slowest Emit %v, median %v", s.name, n, failed,
			took[len(took)-1], took[len(took)/2])
	}
	t.Logf("outage %v; listening again %v and cross-node delivery %v after the database came back; %d reported failed",
		outage.Round(time.Millisecond), listening.Round(time.Millisecond), healed.Round(time.Millisecond), rep.count(ErrDatabaseDown))
	// The Node process is still there, but only because the test's peer
	// catches the exception: the official adapter does not handle the
	// error of its LISTEN connection, which would end the process, and
	// its server does not listen again.
	peer.MustCall(map[string]any{"op": "serverCount"}, nil)
	for _, ev := range peer.Events() {
		if ev.Event == "uncaughtException" {
			// The official adapter's LISTEN client emits an 'error' nobody
			// listens to: without the peer's handler, Node would exit.
			t.Logf("node server: uncaught exception: %s", ev.Error)
		}
	}
}

// Requests end at RequestsTimeout when a server counted by its heartbeats
// does not answer, even under a context without deadline, as in Node.
func TestRequestsTimeout(t *testing.T) {
	db := newDB(t)
	g := startGo(t, db, "g", &Config{RequestsTimeout: 300 * time.Millisecond})
	a := g.adapter("/")
	// A silent server: it sends a heartbeat, then nothing.
	_, err := db.Pool(t).Exec(context.Background(), "SELECT pg_notify($1, $2)", a.Channel(),
		`{"type":2,"uid":"silent","nsp":"/"}`)
	must(t, err)
	waitServerCount(t, 2, a)

	start := time.Now()
	_, err = g.srv.Of("/").FetchSockets(context.Background())
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("FetchSockets: %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 2*time.Second {
		t.Errorf("FetchSockets ended after %v, want 300ms", d)
	}
	replies, err := g.srv.Of("/").ServerSideEmitWithAck(context.Background(), "hello")
	if !errors.Is(err, context.DeadlineExceeded) || len(replies) != 0 {
		t.Fatalf("ServerSideEmitWithAck: %v %v", replies, err)
	}
	// The silent server is forgotten after HeartbeatTimeout; an
	// ADAPTER_CLOSE forgets it at once.
	_, err = db.Pool(t).Exec(context.Background(), "SELECT pg_notify($1, $2)", a.Channel(),
		`{"type":13,"uid":"silent","nsp":"/"}`)
	must(t, err)
	waitServerCount(t, 1, a)
}
