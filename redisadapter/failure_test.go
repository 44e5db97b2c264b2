package redisadapter

import (
	"context"
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
	p.MustCall(map[string]any{"op": "connect", "client": client, "url": url, "rooms": rooms}, nil)
}

// Redis is down when the server starts: local delivery works, requests fail
// instead of hanging, and once Redis is up the adapter subscribes by itself.
func TestRedisUnavailableAtStart(t *testing.T) {
	rs := redistest.Reserve(t)
	g1 := startGo(t, rs.Addr(), "g1", &Config{RequestsTimeout: time.Second})
	clients := clientHost(t)
	connect(t, clients, "c1", g1.url, "room1")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := g1.srv.To("room1").Emit(ctx, "local", 1); err == nil {
		t.Error("Emit returned no error without Redis")
	}
	ev, err := clients.ClientEvent("c1", "local", wait)
	must(t, err)
	jsonEqual(t, "local delivery", ev.Args, `[1]`)
	start := time.Now()
	if _, err := g1.srv.Of("/").FetchSockets(ctx); err == nil {
		t.Error("FetchSockets returned no error without Redis")
	}
	if d := time.Since(start); d > 2500*time.Millisecond {
		t.Errorf("FetchSockets took %v without Redis", d)
	}
	if _, err := g1.srv.Of("/").EmitWithAck(ctx, "ack-me"); err == nil {
		t.Error("EmitWithAck returned no error without Redis")
	}

	rs.Restart()
	g1.ready(t)
	g2 := startGo(t, rs.Addr(), "g2", nil)
	g2.ready(t)
	must(t, g2.srv.To("room1").Emit(ctx, "remote", 2))
	ev, err = clients.ClientEvent("c1", "remote", wait)
	must(t, err)
	jsonEqual(t, "remote delivery", ev.Args, `[2]`)
}

// Redis is lost while the cluster runs, then comes back.
func TestRedisLostMidRun(t *testing.T) {
	rs := redistest.Start(t)
	cfg := &Config{RequestsTimeout: time.Second}
	g1 := startGo(t, rs.Addr(), "g1", cfg)
	g2 := startGo(t, rs.Addr(), "g2", cfg)
	g1.ready(t)
	g2.ready(t)
	clients := clientHost(t)
	connect(t, clients, "c1", g1.url, "room1")
	connect(t, clients, "c2", g2.url, "room1")
	ctx := ctxFor(t, 30*time.Second)
	must(t, g2.srv.To("room1").Emit(ctx, "before"))
	_, err := clients.ClientEvent("c1", "before", wait)
	must(t, err)

	rs.Stop()
	a1 := g1.adapter("/")
	deadline := time.Now().Add(wait)
	for a1.sub.ready(a1.subscription().names()) {
		if time.Now().After(deadline) {
			t.Fatal("the subscriber did not notice that Redis was lost")
		}
		time.Sleep(10 * time.Millisecond)
	}
	octx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := g1.srv.To("room1").Emit(octx, "during"); err == nil {
		t.Error("Emit returned no error without Redis")
	}
	_, err = clients.ClientEvent("c1", "during", wait)
	must(t, err) // local delivery goes on
	start := time.Now()
	if _, err := g1.srv.Of("/").FetchSockets(octx); err == nil {
		t.Error("FetchSockets returned no error without Redis")
	}
	if d := time.Since(start); d > 2500*time.Millisecond {
		t.Errorf("FetchSockets took %v without Redis", d)
	}
	if _, err := g1.srv.Of("/").ServerSideEmitWithAck(octx, "hello"); err == nil {
		t.Error("ServerSideEmitWithAck returned no error without Redis")
	}

	rs.Restart()
	g1.ready(t)
	g2.ready(t)
	must(t, g2.srv.To("room1").Emit(ctx, "after"))
	_, err = clients.ClientEvent("c1", "after", wait)
	must(t, err)
	sockets, err := g1.srv.Of("/").FetchSockets(ctx)
	must(t, err)
	equal(t, "sockets after the outage", len(sockets), 2)
	noEvent(t, clients, "c2", "during")
}
