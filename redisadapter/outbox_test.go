package redisadapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/internal/testutil"
	"github.com/sio-go/socketio/redisadapter/internal/redistest"
	"github.com/sio-go/socketio/sioclient"
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

func (r *reports) list() []*PublishError {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.errs)
}

// While Redis is down for less than MaxDelay, broadcasts wait in the queue,
// in order, up to its bound; past it they fail at once with ErrQueueFull.
// Once Redis is back, the queued ones reach the other server in order, and
// the ones reported failed do not. When the broadcasts start before the
// adapter noticed the outage, some are in flight when Redis goes away:
// they are reported, or published once the other server is back.
func TestPublishQueueDuringOutage(t *testing.T) {
	t.Run("known", func(t *testing.T) { testPublishQueue(t, true) })
	t.Run("in flight", func(t *testing.T) { testPublishQueue(t, false) })
}

func testPublishQueue(t *testing.T, known bool) {
	rs := redistest.Start(t)
	var rep reports
	g1 := startGo(t, rs.Addr(), "g1", &Config{Publish: PublishConfig{MaxDelay: time.Minute, QueueBytes: 2000, OnError: rep.add}})
	g2 := startGo(t, rs.Addr(), "g2", nil)
	g1.ready(t)
	g2.ready(t)
	waitServerCount(t, 2, g1.adapter("/"))

	var mu sync.Mutex
	var got []int
	c2, err := sioclient.Dial(ctxFor(t, 10*time.Second), g2.url+"/", nil)
	must(t, err)
	t.Cleanup(func() { _ = c2.Close() })
	c2.OnRaw("seq", func(ctx context.Context, args sioclient.Args, _ sioclient.AckFunc) {
		var n int
		_ = json.Unmarshal(args.Raw(0), &n)
		mu.Lock()
		got = append(got, n)
		mu.Unlock()
	})
	received := func() []int {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
	must(t, g1.srv.Emit(context.Background(), "seq", 0))
	waitFor(t, func() error {
		if len(received()) != 1 {
			return errors.New("the first broadcast did not arrive")
		}
		return nil
	})

	rs.Stop()
	down := func() error {
		if !g1.adapter("/").PublishStats().RedisDown {
			return errors.New("the adapter did not notice that Redis is down")
		}
		return nil
	}
	if known {
		waitFor(t, down) // the subscriber's connection broke
	}
	var accepted, refused []int
	var took []time.Duration
	for i := 1; i <= 60; i++ {
		start := time.Now()
		err := g1.srv.Emit(context.Background(), "seq", i)
		took = append(took, time.Since(start))
		switch {
		case err == nil:
			accepted = append(accepted, i)
		case errors.Is(err, ErrQueueFull):
			refused = append(refused, i)
		default:
			t.Fatalf("Emit %d: %v", i, err)
		}
	}
	notWaiting(t, "Emit without Redis", took)
	if known {
		if len(refused) == 0 || len(accepted) < 10 {
			t.Fatalf("accepted %v, refused %v: the queue bound did not apply", accepted, refused)
		}
		if s := g1.adapter("/").PublishStats(); s.Queued != len(accepted) || s.QueuedBytes > 2000 {
			t.Errorf("stats during the outage: %+v, want %d queued", s, len(accepted))
		}
	}
	waitFor(t, down)
	rs.Restart()
	waitQueueEmpty(t, g1)

	// What was accepted and not reported since arrives, in order.
	failed := map[int]bool{}
	for _, pe := range rep.list() {
		var args []json.RawMessage
		must(t, json.Unmarshal(pe.Packet.Data, &args))
		var n int
		must(t, json.Unmarshal(args[1], &n))
		failed[n] = true
	}
	for _, n := range refused {
		if !failed[n] {
			t.Errorf("refused broadcast %d was not reported to OnError", n)
		}
	}
	want := []int{0}
	for _, n := range accepted {
		if !failed[n] {
			want = append(want, n)
		}
	}
	waitFor(t, func() error {
		if g := received(); len(g) < len(want) {
			return fmt.Errorf("received %v, want %v", g, want)
		}
		return nil
	})
	time.Sleep(100 * time.Millisecond) // nothing more comes
	t.Logf("accepted %d, refused %d, reported failed %d, received after the outage %d",
		len(accepted), len(refused), len(failed), len(want)-1)
	equal(t, "broadcasts received by the other server", received(), want)
	s := g1.adapter("/").PublishStats()
	equal(t, "failed", s.Failed, uint64(len(failed)))
	if s.Published != uint64(len(want)) || s.RedisDown || s.Queued != 0 {
		t.Errorf("stats after the outage: %+v, want %d published", s, len(want))
	}
}

// goroutine names the goroutines started by a function: when running, by
// their function; before they ran, by the function that started them.
type goroutine struct{ fn, creator string }

var (
	publisher = goroutine{"cluster.(*Outbox).run(", "cluster.(*Outbox).Push in goroutine"}
	prober    = goroutine{"cluster.(*Link).run(", "cluster.(*Link).probeLocked in goroutine"}
)

// count returns how many goroutines of each kind are alive.
func count(kinds ...goroutine) map[goroutine]int {
	out := map[goroutine]int{}
	for _, g := range testutil.Goroutines() {
		for _, k := range kinds {
			if strings.Contains(g, k.fn) || strings.Contains(g, k.creator) {
				out[k]++
			}
		}
	}
	return out
}

// The publishing goroutine ends when the queue is empty, and the prober
// when Redis answers again.
func TestPublisherGoroutinesEnd(t *testing.T) {
	rs := redistest.Start(t)
	g1 := startGo(t, rs.Addr(), "g1", nil)
	g1.ready(t)
	idle := func() error {
		if n := count(publisher, prober); len(n) > 0 {
			return fmt.Errorf("goroutines still running: %v", n)
		}
		return nil
	}
	for i := range 20 {
		must(t, g1.srv.Emit(context.Background(), "x", i))
	}
	waitFor(t, idle)
	if s := g1.adapter("/").PublishStats(); s.Published != 20 {
		t.Errorf("published %d of 20: %+v", s.Published, s)
	}

	rs.Stop()
	must(t, g1.srv.Emit(context.Background(), "x", "during"))
	waitFor(t, func() error {
		if !g1.adapter("/").PublishStats().RedisDown {
			return errors.New("Redis not seen down")
		}
		return nil
	})
	if n := count(prober); n[prober] != 1 {
		t.Errorf("probing goroutines while Redis is down: %d, want 1", n[prober])
	}
	rs.Restart()
	waitFor(t, idle)
}

// silent subscribes to channel like a server that never answers, so that
// it is counted but requests wait for it.
func silent(t *testing.T, addr, channel string, sharded bool) {
	t.Helper()
	rdb := newClient(addr)
	ctx := ctxFor(t, 10*time.Second)
	var ps *redis.PubSub
	if sharded {
		ps = rdb.SSubscribe(ctx, channel)
	} else {
		ps = rdb.Subscribe(ctx, channel)
	}
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ps.Close(); _ = rdb.Close() })
}

// Requests end at RequestsTimeout when other servers do not answer, even
// under a context without deadline, as in Node, with every adapter.
func TestRequestsTimeoutWithoutDeadline(t *testing.T) {
	const timeout = 300 * time.Millisecond
	for _, tc := range []struct {
		name    string
		start   func(t *testing.T, addr, name string) *goServer
		channel string
		sharded bool
	}{
		{"classic", func(t *testing.T, addr, name string) *goServer {
			return startGo(t, addr, name, &Config{RequestsTimeout: timeout})
		}, "socket.io-request#/#", false},
		{"sharded", func(t *testing.T, addr, name string) *goServer {
			return startSharded(t, addr, name, &ShardedConfig{RequestsTimeout: timeout})
		}, "socket.io#/#", true},
		{"streams", func(t *testing.T, addr, name string) *goServer {
			return startStreams(t, addr, name, &StreamsConfig{RequestsTimeout: timeout})
		}, "socket.io#/#", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := redistest.Start(t)
			g1 := tc.start(t, rs.Addr(), "g1")
			g2 := tc.start(t, rs.Addr(), "g2")
			g1.ready(t)
			g2.ready(t)
			g2.srv.Of("/").OnServerSideEmit("silent", func(context.Context, socketio.Args, socketio.AckFunc) {})
			counter := g1.srv.Of("/").Adapter().(serverCounter)
			waitServerCount(t, 2, counter)

			within := func(what string, f func() error) {
				t.Helper()
				start := time.Now()
				err := f()
				d := time.Since(start)
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("%s: %v, want a timeout", what, err)
				}
				if d < timeout || d > timeout+time.Second {
					t.Errorf("%s ended after %v, want about %v", what, d, timeout)
				}
			}
			within("ServerSideEmitWithAck", func() error {
				replies, err := g1.srv.Of("/").ServerSideEmitWithAck(context.Background(), "silent")
				if len(replies) != 0 {
					t.Errorf("replies %v", replies)
				}
				return err
			})
			replies, err := g1.srv.Of("/").ServerSideEmitWithAck(context.Background(), "hello")
			must(t, err)
			equal(t, "replies of a server that answers", len(replies), 1)

			silent(t, rs.Addr(), tc.channel, tc.sharded)
			waitServerCount(t, 3, counter)
			within("FetchSockets", func() error {
				_, err := g1.srv.Of("/").FetchSockets(context.Background())
				if !errors.Is(err, ErrTimeout) {
					t.Errorf("FetchSockets: %v, want ErrTimeout", err)
				}
				return err
			})
			if a, ok := g1.srv.Of("/").Adapter().(*Adapter); ok {
				within("AllRooms", func() error {
					_, err := a.AllRooms(context.Background())
					return err
				})
			}
		})
	}
}

// Closing an adapter while Redis is down does not wait for it: what is
// queued is reported with ErrClosed.
func TestCloseDuringOutage(t *testing.T) {
	rs := redistest.Start(t)
	var rep reports
	g1 := startGo(t, rs.Addr(), "g1", &Config{Publish: PublishConfig{MaxDelay: time.Minute, OnError: rep.add}})
	g1.ready(t)
	a := g1.adapter("/")
	rs.Stop()
	waitFor(t, func() error {
		if !a.PublishStats().RedisDown {
			return errors.New("the adapter did not notice that Redis is down")
		}
		return nil
	})
	for i := range 5 {
		must(t, g1.srv.Emit(context.Background(), "x", i))
	}
	start := time.Now()
	must(t, a.Close())
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
	errs := rep.list()
	if len(errs) != 5 {
		t.Fatalf("%d reports, want 5: %v", len(errs), errs)
	}
	for _, pe := range errs {
		if !errors.Is(pe, ErrClosed) || pe.MaybeSent {
			t.Errorf("report %v (maybe sent %v), want ErrClosed", pe, pe.MaybeSent)
		}
	}
	if err := g1.srv.Emit(context.Background(), "x", "after"); !errors.Is(err, ErrClosed) {
		t.Errorf("Emit after Close: %v, want ErrClosed", err)
	}
	waitFor(t, func() error {
		if n := count(publisher); len(n) > 0 {
			return fmt.Errorf("publishing goroutines left: %v", n)
		}
		return nil
	})
}

// With connection state recovery, a Streams broadcast reaches the local
// sockets before Broadcast returns, with its entry id as offset; while
// Redis is down, at once and without offset.
func TestStreamsRecoveryOffsetDuringOutage(t *testing.T) {
	rs := redistest.Start(t)
	// A timeout that a loaded machine does not reach before Redis answers.
	cfg := &StreamsConfig{Publish: PublishConfig{Timeout: 3 * time.Second}}
	g1 := startGoRecovering(t, newClient(rs.Addr()), "g1",
		func(rdb redis.UniversalClient) socketio.AdapterFactory { return NewStreams(rdb, cfg) }, recovery)
	g1.ready(t)
	c, err := sioclient.Dial(ctxFor(t, 10*time.Second), g1.url+"/", nil)
	must(t, err)
	t.Cleanup(func() { _ = c.Close() })
	got := make(chan sioclient.Args, 100)
	c.OnRaw("ev", func(ctx context.Context, args sioclient.Args, _ sioclient.AckFunc) { got <- args })
	receive := func(want string) sioclient.Args {
		t.Helper()
		select {
		case args := <-got:
			var s string
			must(t, args.Decode(0, &s))
			equal(t, "event", s, want)
			return args
		case <-time.After(wait):
			t.Fatalf("%s not received", want)
			return sioclient.Args{}
		}
	}

	must(t, g1.srv.Emit(context.Background(), "ev", "before"))
	args := receive("before")
	var offset string
	if args.Len() != 2 || args.Decode(1, &offset) != nil || !validOffset(offset) {
		t.Fatalf("before: %v, want an entry id as offset", args)
	}

	rs.Stop()
	waitFor(t, func() error {
		if !g1.srv.Of("/").Adapter().(*StreamsAdapter).PublishStats().RedisDown {
			return errors.New("the adapter did not notice that Redis is down")
		}
		return nil
	})
	var took []time.Duration
	for range 5 {
		start := time.Now()
		err := g1.srv.Emit(context.Background(), "ev", "during")
		took = append(took, time.Since(start))
		if !errors.Is(err, ErrRedisDown) {
			t.Fatalf("Emit without Redis: %v, want ErrRedisDown", err)
		}
		if args := receive("during"); args.Len() != 1 {
			t.Errorf("during: %v, want no offset", args)
		}
	}
	notWaiting(t, "Emit without Redis", took)
}
