package redisadapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/redisadapter/internal/redistest"
	"github.com/sio-go/socketio/sioclient"
)

// outageLength is how long TestOutage keeps Redis down: the duration in
// REDISADAPTER_OUTAGE (such as "10s"), 3 seconds by default.
func outageLength(t *testing.T) time.Duration {
	t.Helper()
	s := os.Getenv("REDISADAPTER_OUTAGE")
	if s == "" {
		return 3 * time.Second
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		t.Fatalf("REDISADAPTER_OUTAGE=%q: want a positive duration such as 10s", s)
	}
	return d
}

// relayMsg is what the senders of TestOutage send and the servers relay.
type relayMsg struct {
	From string `json:"from"`
	Seq  int    `json:"seq"`
	T    int64  `json:"t"` // send time, Unix nanoseconds
}

// ledger records what happens to every message of TestOutage.
type ledger struct {
	mu      sync.Mutex
	sent    map[string]map[int]time.Time            // sender → seq → send time
	handled map[string]map[int]bool                 // Go server → seq
	failed  map[string]map[int]error                // Go server → seq → what it was told
	arrived map[string]map[string]map[int]time.Time // listener → sender → seq → arrival
}

func newLedger() *ledger {
	return &ledger{sent: map[string]map[int]time.Time{}, handled: map[string]map[int]bool{},
		failed: map[string]map[int]error{}, arrived: map[string]map[string]map[int]time.Time{}}
}

func put[K comparable, V any](m map[string]map[K]V, k1 string, k2 K, v V) {
	if m[k1] == nil {
		m[k1] = map[K]V{}
	}
	m[k1][k2] = v
}

func (l *ledger) send(from string, seq int, at time.Time) {
	l.mu.Lock()
	put(l.sent, from, seq, at)
	l.mu.Unlock()
}

func (l *ledger) handle(server string, seq int) {
	l.mu.Lock()
	put(l.handled, server, seq, true)
	l.mu.Unlock()
}

func (l *ledger) fail(server string, seq int, err error) {
	l.mu.Lock()
	put(l.failed, server, seq, err)
	l.mu.Unlock()
}

func (l *ledger) arrive(listener string, m relayMsg, at time.Time) {
	l.mu.Lock()
	if l.arrived[listener] == nil {
		l.arrived[listener] = map[string]map[int]time.Time{}
	}
	put(l.arrived[listener], m.From, m.Seq, at)
	l.mu.Unlock()
}

// arrival returns when listener got message seq of from.
func (l *ledger) arrival(listener, from string, seq int) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	at, ok := l.arrived[listener][from][seq]
	return at, ok
}

// outageAdapters are the adapter kinds TestOutage runs with: the Go
// factory given a PublishConfig, and the Node peer's ADAPTER. The Streams
// adapters rely on the stream: their Redis keeps it on disk, synced at
// every write, as a deployment of them would. Without it, an entry Redis
// acknowledged just before it was killed is gone after the restart, for
// the readers that had not read it yet, and no adapter can tell.
var outageAdapters = []struct {
	name       string
	persistent bool
	factory    func(rdb redis.UniversalClient, pc PublishConfig) socketio.AdapterFactory
}{
	{"classic", false, func(rdb redis.UniversalClient, pc PublishConfig) socketio.AdapterFactory {
		return New(rdb, &Config{Publish: pc})
	}},
	{"sharded", false, func(rdb redis.UniversalClient, pc PublishConfig) socketio.AdapterFactory {
		return NewSharded(rdb, &ShardedConfig{Publish: pc})
	}},
	{"streams", true, func(rdb redis.UniversalClient, pc PublishConfig) socketio.AdapterFactory {
		return NewStreams(rdb, &StreamsConfig{Publish: pc})
	}},
}

// startRelay starts a Go server whose sockets' "relay" messages go to every
// socket of the namespace; what the adapter reports as not published goes
// to the ledger.
func startRelay(t *testing.T, addr, name string, l *ledger,
	factory func(redis.UniversalClient, PublishConfig) socketio.AdapterFactory) string {
	t.Helper()
	onError := func(pe *PublishError) {
		var m relayMsg
		if pe.Packet == nil || decodeRelay(pe.Packet.Data, &m) != nil {
			t.Errorf("%s: a report without a relay message: %v", name, pe)
			return
		}
		l.fail(name, m.Seq, pe)
	}
	rdb := newClient(addr)
	srv := socketio.NewServer(&socketio.Config{Adapter: factory(rdb, PublishConfig{OnError: onError})})
	srv.Of("/").OnConnect(func(s *socketio.Socket) {
		s.OnRaw("relay", func(ctx context.Context, args socketio.Args, _ socketio.AckFunc) {
			var m relayMsg
			if err := json.Unmarshal(args.Raw(0), &m); err != nil {
				t.Errorf("%s: relay %s: %v", name, args.Raw(0), err)
				return
			}
			l.handle(name, m.Seq)
			if err := srv.Emit(ctx, "relay", args.Raw(0)); err != nil {
				l.fail(name, m.Seq, err)
			}
		})
	})
	url := serve(t, srv, rdb)
	ready := srv.Of("/").Adapter().(interface{ Ready(context.Context) error })
	must(t, ready.Ready(ctxFor(t, 10*time.Second)))
	return url
}

// decodeRelay decodes the relayMsg of an event ["relay", {...}].
func decodeRelay(data []byte, m *relayMsg) error {
	var ev []json.RawMessage
	if err := json.Unmarshal(data, &ev); err != nil || len(ev) != 2 {
		return fmt.Errorf("not a relay event: %s", data)
	}
	return json.Unmarshal(ev[1], m)
}

// dialClient connects a Go client to the namespace "/" of url; it is closed
// when the test ends. Disconnections are counted in drops.
func dialClient(t *testing.T, url, name string, drops *int, mu *sync.Mutex) *sioclient.Socket {
	t.Helper()
	s, err := sioclient.Dial(ctxFor(t, 10*time.Second), url+"/", nil)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	s.OnDisconnect(func(ev sioclient.DisconnectEvent) {
		if ev.Reason != sioclient.ReasonClientDisconnect {
			mu.Lock()
			*drops++
			mu.Unlock()
		}
	})
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// percentile returns the p-th percentile (0 < p <= 100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	ds = slices.Clone(ds)
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	i := int(float64(len(ds))*p/100+0.5) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

// Redis is killed (SIGKILL) while two Go servers and a Node server (official
// adapter) relay messages that their clients keep sending, then restarted on
// the same port. Nothing dies, local delivery does not pause, every message
// the Go servers were not told they failed to publish reaches the other
// servers, and cross-node delivery comes back by itself.
//
// It runs with the classic, sharded and Streams adapters (the Node server
// with the same kind). The outage lasts 3 seconds; REDISADAPTER_OUTAGE=10s
// makes it longer:
//
//	REDISADAPTER_OUTAGE=10s go test -race -run TestOutage -v .
func TestOutage(t *testing.T) {
	for _, kind := range outageAdapters {
		t.Run(kind.name, func(t *testing.T) {
			rs := redistest.Start
			if kind.persistent {
				rs = redistest.StartPersistent
			}
			testOutageFigures(t, kind.name, rs(t), kind.factory)
		})
	}
}

func testOutageFigures(t *testing.T, kind string, rs *redistest.Server,
	factory func(redis.UniversalClient, PublishConfig) socketio.AdapterFactory) {
	outage := outageLength(t)
	const every = 20 * time.Millisecond // each sender's pace
	l := newLedger()
	peer := redistest.StartPeer(t, rs.URL(), "ADAPTER="+kind)
	var port int
	peer.MustCall(map[string]any{"op": "port"}, &port)
	urls := map[string]string{
		"g1": startRelay(t, rs.Addr(), "g1", l, factory),
		"g2": startRelay(t, rs.Addr(), "g2", l, factory),
		"n":  fmt.Sprintf("http://127.0.0.1:%d", port),
	}
	servers := []string{"g1", "g2", "n"}
	waitServerCount(t, 3, peerCounter{peer})

	// One sender and one listener per server.
	var mu sync.Mutex
	drops := 0
	senders := map[string]*sioclient.Socket{}
	for _, srv := range servers {
		senders[srv] = dialClient(t, urls[srv], "sender of "+srv, &drops, &mu)
		lis := dialClient(t, urls[srv], "listener of "+srv, &drops, &mu)
		name := srv
		lis.OnRaw("relay", func(ctx context.Context, args sioclient.Args, _ sioclient.AckFunc) {
			now := time.Now()
			var m relayMsg
			if err := json.Unmarshal(args.Raw(0), &m); err != nil {
				t.Errorf("listener of %s: %s: %v", name, args.Raw(0), err)
				return
			}
			l.arrive(name, m, now)
		})
	}

	// The senders run until stop.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, srv := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(every)
			defer tick.Stop()
			for seq := 0; ; seq++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				now := time.Now()
				l.send(srv, seq, now)
				if err := senders[srv].Emit("relay", relayMsg{From: srv, Seq: seq, T: now.UnixNano()}); err != nil {
					t.Errorf("sender of %s: %v", srv, err)
				}
			}
		}()
	}
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()

	// crossSince returns, for each sender, the first arrival at every
	// other server's listener of a message sent at or after since.
	crossSince := func(since time.Time) map[string]time.Time {
		l.mu.Lock()
		defer l.mu.Unlock()
		out := map[string]time.Time{}
		for _, from := range servers {
			for seq, at := range l.sent[from] {
				if at.Before(since) {
					continue
				}
				last, all := time.Time{}, true
				for _, lis := range servers {
					if lis == from {
						continue
					}
					a, ok := l.arrived[lis][from][seq]
					if !ok {
						all = false
						break
					}
					if a.After(last) {
						last = a
					}
				}
				if all && (out[from].IsZero() || last.Before(out[from])) {
					out[from] = last
				}
			}
		}
		return out
	}
	waitCross := func(what string, since time.Time, within time.Duration) map[string]time.Time {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			got := crossSince(since)
			if len(got) == len(servers) {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: cross-node delivery from %d of %d servers within %v", what, len(got), len(servers), within)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// The cluster works (every server reads what the others publish): the
	// count starts. Then Redis is killed.
	waitCross("before the outage", time.Now(), 10*time.Second)
	begin := time.Now()
	time.Sleep(500 * time.Millisecond) // the scenario: traffic before the outage
	killed := time.Now()
	rs.Stop()
	time.Sleep(outage) // the scenario: the senders go on meanwhile
	rs.Restart()
	restarted := time.Now()
	healed := waitCross("after the outage", restarted, 10*time.Second)
	heal := time.Duration(0)
	for _, at := range healed {
		heal = max(heal, at.Sub(restarted))
	}
	// Some more traffic once healed, then the senders stop.
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	stopped := time.Now()

	// Every Go server handles every message of its sender.
	goServers := []string{"g1", "g2"}
	waitFor(t, func() error {
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, g := range goServers {
			if len(l.handled[g]) != len(l.sent[g]) {
				return fmt.Errorf("%s handled %d of %d messages", g, len(l.handled[g]), len(l.sent[g]))
			}
		}
		return nil
	})
	// What the Go servers were not told failed arrives everywhere, and
	// what they were told certainly failed (not MaybeSent) arrives
	// nowhere else: wait for the first, then count.
	type tally struct {
		lost      int    // not reported, missed by a server
		wrong     int    // reported certainly failed, received by a server
		maybe     int    // reported as maybe sent (in flight when Redis went away)
		maybeGot  int    // of which every other server received
		localLost int    // not delivered on its own server
		first     string // the first lost
		// atKill counts the messages sent as Redis was killed that reached
		// one other server and not the other: Redis had taken them (and
		// answered) and died before writing them to every subscriber,
		// which no client of Redis can tell.
		atKill int
	}
	missing := func() tally {
		var c tally
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, from := range goServers {
			for seq, at := range l.sent[from] {
				if at.Before(begin) {
					continue
				}
				if _, ok := l.arrived[from][from][seq]; !ok {
					c.localLost++
				}
				missed, got := "", 0
				for _, lis := range servers {
					if _, ok := l.arrived[lis][from][seq]; lis != from && ok {
						got++
					} else if lis != from {
						missed = lis
					}
				}
				err, failed := l.failed[from][seq]
				var pe *PublishError
				maybeSent := errors.As(err, &pe) && pe.MaybeSent
				switch {
				case !failed && missed != "" && got > 0 && at.Sub(killed).Abs() < 50*time.Millisecond:
					c.atKill++
				case !failed && missed != "":
					c.lost++
					if c.first == "" {
						c.first = fmt.Sprintf("%s #%d to %s, sent %v after the kill (restart after %v)",
							from, seq, missed, at.Sub(killed).Round(time.Millisecond), restarted.Sub(killed).Round(time.Millisecond))
					}
				case failed && maybeSent:
					c.maybe++
					if missed == "" {
						c.maybeGot++
					}
				case failed && got > 0:
					c.wrong++
				}
			}
		}
		return c
	}
	deadline := time.Now().Add(wait)
	for {
		c := missing()
		if c.lost == 0 && c.localLost == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The figures.
	var local []time.Duration // Go servers, messages sent during the outage
	var nodeLocal []time.Duration
	l.mu.Lock()
	for _, from := range servers {
		for seq, at := range l.sent[from] {
			if at.Before(killed) || at.After(restarted) {
				continue
			}
			if a, ok := l.arrived[from][from][seq]; ok {
				if from == "n" {
					nodeLocal = append(nodeLocal, a.Sub(at))
				} else {
					local = append(local, a.Sub(at))
				}
			}
		}
	}
	// Per sender: delivered to both other servers; reported failed (to
	// none or, rarely, to one of them); lost.
	type count struct{ sent, delivered, failed, lost int }
	perServer := map[string]*count{}
	for _, from := range servers {
		c := &count{}
		perServer[from] = c
		for seq, at := range l.sent[from] {
			if at.Before(begin) {
				continue
			}
			c.sent++
			all := true
			for _, lis := range servers {
				if _, ok := l.arrived[lis][from][seq]; lis != from && !ok {
					all = false
				}
			}
			_, failed := l.failed[from][seq]
			switch {
			case failed:
				c.failed++
			case all:
				c.delivered++
			default:
				c.lost++
			}
		}
	}
	l.mu.Unlock()
	tl := missing()

	t.Logf("%s adapters, outage %v (SIGKILL, restart on the same port), senders every %v, %v of traffic counted",
		kind, outage, every, stopped.Sub(begin).Round(time.Millisecond))
	var goSent, goDelivered, goFailed, goLost int
	for _, srv := range servers {
		c := perServer[srv]
		kind := "Go  "
		if srv == "n" {
			kind = "Node"
		} else {
			goSent += c.sent
			goDelivered += c.delivered
			goFailed += c.failed
			goLost += c.lost
		}
		t.Logf("%s %s: sent %d, delivered to both other servers %d, reported failed %d, lost %d",
			kind, srv, c.sent, c.delivered, c.failed, c.lost)
	}
	t.Logf("Go servers: sent %d / delivered %d / reported failed %d / lost %d", goSent, goDelivered, goFailed, goLost)
	t.Logf("Go servers: of the reported failed, %d were in flight when Redis went away (MaybeSent), %d of which reached both other servers; "+
		"%d certain failures reached another server; %d sent as Redis was killed reached one other server only", tl.maybe, tl.maybeGot, tl.wrong, tl.atKill)
	t.Logf("local delivery during the outage, Go servers: p50 %v, p99 %v, max %v over %d messages",
		percentile(local, 50), percentile(local, 99), percentile(local, 100), len(local))
	t.Logf("local delivery during the outage, Node server: p50 %v, p99 %v, max %v over %d messages",
		percentile(nodeLocal, 50), percentile(nodeLocal, 99), percentile(nodeLocal, 100), len(nodeLocal))
	heals := make([]string, 0, len(healed))
	for _, srv := range servers {
		heals = append(heals, fmt.Sprintf("%s %v", srv, healed[srv].Sub(restarted).Round(time.Millisecond)))
	}
	t.Logf("time to heal (restart to first cross-node delivery of a new message): %v (%s)",
		heal.Round(time.Millisecond), strings.Join(heals, ", "))
	var rejections []string
	for _, ev := range peer.Events() {
		if ev.Event == "unhandledRejection" {
			rejections = append(rejections, ev.Error)
		}
	}
	t.Logf("Node server: %d unhandled promise rejections %q (each would have ended the process)", len(rejections), rejections)

	// The assertions.
	if tl.lost != 0 {
		t.Errorf("%d messages lost although the Go server was not told of a failure (first: %s)", tl.lost, tl.first)
	}
	if tl.wrong != 0 {
		t.Errorf("%d messages reached another server although the Go server was told they certainly failed", tl.wrong)
	}
	if tl.localLost != 0 {
		t.Errorf("%d messages of the Go servers were not delivered locally", tl.localLost)
	}
	if goFailed == 0 {
		t.Error("no failure reported during the outage")
	}
	if p := percentile(local, 99); p >= 250*time.Millisecond || len(local) == 0 {
		t.Errorf("local delivery during the outage: p99 %v over %d messages, want < 250ms", p, len(local))
	}
	if heal >= 3*time.Second {
		t.Errorf("cross-node delivery took %v to come back after Redis answered again", heal)
	}
	mu.Lock()
	if drops != 0 {
		t.Errorf("%d client disconnections", drops)
	}
	mu.Unlock()
	var n int
	if err := peer.Call(map[string]any{"op": "serverCount"}, &n); err != nil || n != 3 {
		t.Errorf("the Node server counts %d servers (%v) after the outage, want 3", n, err)
	}
}
