package redisadapter

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sio-go/socketio/redisadapter/internal/redistest"
)

// clientHost returns a Node peer used only for its socket.io clients; its
// own server uses a Redis of its own.
func clientHost(t *testing.T) *redistest.Peer {
	t.Helper()
	return redistest.StartPeer(t, redistest.Start(t).URL())
}

func connect(t *testing.T, p *redistest.Peer, client, url string, rooms ...string) {
	t.Helper()
	connectClient(t, p, map[string]any{"client": client, "url": url, "rooms": rooms})
}

// emitRefused waits until g's adapter of "/" knows that Redis is down,
// then emits event on g to room until Emit fails at once with
// ErrRedisDown, which it does once Redis has been down for longer than
// PublishConfig.MaxDelay (at once for a Streams broadcast with recovery).
// Each call delivers the event locally.
func emitRefused(t *testing.T, g *goServer, room, event string) {
	t.Helper()
	a := g.srv.Of("/").Adapter().(interface{ PublishStats() PublishStats })
	waitFor(t, func() error {
		if !a.PublishStats().RedisDown {
			_ = g.srv.To(room).Emit(context.Background(), event) // traffic notices it too
			return errors.New("the adapter did not notice that Redis is down")
		}
		return nil
	})
	var took []time.Duration
	waitFor(t, func() error {
		start := time.Now()
		err := g.srv.To(room).Emit(context.Background(), event)
		took = append(took, time.Since(start))
		var pe *PublishError
		if !errors.Is(err, ErrRedisDown) || !errors.As(err, &pe) || pe.Op != OpBroadcast || pe.Packet == nil {
			return fmt.Errorf("Emit without Redis returned %v, want a *PublishError for ErrRedisDown", err)
		}
		return nil
	})
	notWaiting(t, "Emit without Redis", took)
}

// notWaiting checks that calls did not wait for Redis: waiting, most would
// take about PublishConfig.Timeout. The median allows for the stalls of a
// loaded machine.
func notWaiting(t *testing.T, what string, took []time.Duration) {
	t.Helper()
	if p := percentile(took, 50); p > 50*time.Millisecond {
		t.Errorf("%s: median %v over %d calls (max %v)", what, p, len(took), percentile(took, 100))
	}
}

// waitQueueEmpty waits until the adapter of "/" has nothing left to
// publish: what was queued during an outage is dropped MaxDelay after its
// call.
func waitQueueEmpty(t *testing.T, g *goServer) {
	t.Helper()
	a := g.srv.Of("/").Adapter().(interface{ PublishStats() PublishStats })
	waitFor(t, func() error {
		if s := a.PublishStats(); s.Queued > 0 {
			return fmt.Errorf("%d messages still queued", s.Queued)
		}
		return nil
	})
}

// quickOutage makes what is queued during an outage fail soon.
var quickOutage = PublishConfig{MaxDelay: 200 * time.Millisecond}

// Redis is down when the server starts: local delivery works, requests fail
// instead of hanging, and once Redis is up the adapter subscribes by itself.
func TestRedisUnavailableAtStart(t *testing.T) {
	rs := redistest.Reserve(t)
	g1 := startGo(t, rs.Addr(), "g1", &Config{RequestsTimeout: time.Second, Publish: quickOutage})
	clients := clientHost(t)
	connect(t, clients, "c1", g1.url, "room1")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	emitRefused(t, g1, "room1", "local")
	_, err := clients.ClientEvent("c1", "local", wait)
	must(t, err)
	start := time.Now()
	if _, err := g1.srv.Of("/").FetchSockets(ctx); !errors.Is(err, ErrRedisDown) {
		t.Errorf("FetchSockets without Redis returned %v, want ErrRedisDown", err)
	}
	if _, err := g1.srv.Of("/").EmitWithAck(ctx, "ack-me"); !errors.Is(err, ErrRedisDown) {
		t.Errorf("EmitWithAck without Redis returned %v, want ErrRedisDown", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("FetchSockets and EmitWithAck took %v without Redis", d)
	}
	waitQueueEmpty(t, g1)
	if s := g1.adapter("/").PublishStats(); !s.RedisDown || s.Failed == 0 {
		t.Errorf("stats without Redis: %+v", s)
	}

	rs.Restart()
	g1.ready(t)
	g2 := startGo(t, rs.Addr(), "g2", nil)
	g2.ready(t)
	must(t, g2.srv.To("room1").Emit(ctx, "remote", 2))
	ev, err := clients.ClientEvent("c1", "remote", wait)
	must(t, err)
	jsonEqual(t, "remote delivery", ev.Args, `[2]`)
}

// Redis is lost while the cluster runs, then comes back.
func TestRedisLostMidRun(t *testing.T) {
	t.Run("classic", func(t *testing.T) {
		rs := redistest.Start(t)
		cfg := &Config{RequestsTimeout: time.Second, Publish: quickOutage}
		testOutage(t, "room1", func(name string) *goServer { return startGo(t, rs.Addr(), name, cfg) }, rs.Stop, rs.Restart)
	})
	t.Run("sharded", func(t *testing.T) {
		rs := redistest.Start(t)
		cfg := &ShardedConfig{RequestsTimeout: time.Second, Publish: quickOutage}
		testOutage(t, "room1", func(name string) *goServer { return startSharded(t, rs.Addr(), name, cfg) }, rs.Stop, rs.Restart)
	})
}

// The master that serves a namespace's channel is lost, then comes back:
// the cluster cannot answer meanwhile (its slots are not all served).
func TestRedisClusterMasterLost(t *testing.T) {
	rc := redistest.StartCluster(t, 3)
	cfg := &ShardedConfig{RequestsTimeout: time.Second, Publish: quickOutage}
	ctx := ctxFor(t, 10*time.Second)
	master, err := rc.Owner(ctx, redistest.Slot("socket.io#/#"))
	must(t, err)
	room := ""
	for i := 0; room == ""; i++ { // a room whose channel the same master serves
		r := fmt.Sprintf("room%d", i)
		if o, err := rc.Owner(ctx, redistest.Slot("socket.io#/#"+r+"#")); err == nil && o == master {
			room = r
		}
	}
	node := rc.Nodes[master]
	testOutage(t, room, func(name string) *goServer { return startShardedOn(t, rc, name, cfg) }, node.Stop, func() {
		node.Restart()
		must(t, rc.WaitOK(ctxFor(t, 30*time.Second)))
	})
}

// subscribed reports whether the adapter of "/" has its subscriptions,
// its rooms' channels included.
func (g *goServer) subscribed() bool {
	switch a := g.srv.Of("/").Adapter().(type) {
	case *Adapter:
		return a.sub.ready(a.subscription().names())
	case *ShardedAdapter:
		names := []string{a.channel, a.responseChannel}
		for _, r := range a.rooms() {
			names = append(names, a.dynamicChannel(r))
		}
		return a.sub.ready(names)
	}
	return false
}

func waitSubscribed(t *testing.T, servers ...*goServer) {
	t.Helper()
	for i, g := range servers {
		waitFor(t, func() error {
			if !g.subscribed() {
				return fmt.Errorf("server %d not subscribed", i)
			}
			return nil
		})
	}
}

// testOutage checks two servers started by start while Redis is stopped:
// local delivery goes on, operations that need Redis fail at once rather
// than hang, and once Redis is restarted the servers reach each other
// again.
func testOutage(t *testing.T, room string, newServer func(name string) *goServer, stop, restart func()) {
	g1 := newServer("g1")
	g2 := newServer("g2")
	g1.ready(t)
	g2.ready(t)
	clients := clientHost(t)
	connect(t, clients, "c1", g1.url, room)
	connect(t, clients, "c2", g2.url, room)
	waitServerCount(t, 2, g1.srv.Of("/").Adapter().(serverCounter))
	waitSubscribed(t, g1, g2)
	ctx := ctxFor(t, 60*time.Second)
	must(t, g2.srv.To(room).Emit(ctx, "before"))
	_, err := clients.ClientEvent("c1", "before", wait)
	must(t, err)

	stop()
	waitFor(t, func() error {
		if g1.subscribed() {
			return errors.New("the subscriber did not notice that Redis was lost")
		}
		return nil
	})
	emitRefused(t, g1, room, "during")
	_, err = clients.ClientEvent("c1", "during", wait)
	must(t, err) // local delivery goes on
	start := time.Now()
	if _, err := g1.srv.Of("/").FetchSockets(context.Background()); !errors.Is(err, ErrRedisDown) {
		t.Errorf("FetchSockets without Redis returned %v, want ErrRedisDown", err)
	}
	if _, err := g1.srv.Of("/").ServerSideEmitWithAck(context.Background(), "hello"); !errors.Is(err, ErrRedisDown) {
		t.Errorf("ServerSideEmitWithAck without Redis returned %v, want ErrRedisDown", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("FetchSockets and ServerSideEmitWithAck took %v without Redis", d)
	}
	waitQueueEmpty(t, g1) // what was queued before the refusals is dropped

	restart()
	waitSubscribed(t, g1, g2)
	must(t, g2.srv.To(room).Emit(ctx, "after"))
	_, err = clients.ClientEvent("c1", "after", wait)
	must(t, err)
	sockets, err := g1.srv.Of("/").FetchSockets(ctx)
	must(t, err)
	equal(t, "sockets after the outage", len(sockets), 2)
	must(t, g1.srv.Emit(ctx, "after-all"))
	_, err = clients.ClientEvent("c2", "after-all", wait)
	must(t, err)
	noEvent(t, clients, "c2", "during")
}
