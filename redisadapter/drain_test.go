package redisadapter

import (
	"context"
	"testing"
	"time"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/redisadapter/internal/redistest"
)

// A rolling restart: the balancer stops sending new connections to g1 and
// g1 drains. The official client, connected to g1, receives what g1 sent
// it last, reconnects (through the balancer, to g2) and gets its session
// back there: same id, same rooms.
func TestStreamsDrainMovesClients(t *testing.T) {
	_, g1, g2 := startStreamsPair(t)
	disc := make(chan socketio.DisconnectReason, 1)
	g1.srv.OnConnect(func(s *socketio.Socket) {
		s.OnDisconnect(func(ev socketio.DisconnectEvent) { disc <- ev.Reason })
	})
	clients := clientHost(t)
	sw, id := connectThroughSwitch(t, clients, g1.url)

	ctx := ctxFor(t, 30*time.Second)
	sw.Route(g2.url) // the balancer takes g1 out
	must(t, g1.srv.To("room1").Emit(ctx, "last"))
	must(t, g1.srv.Drain(ctx, 0))
	select {
	case r := <-disc:
		equal(t, "reason on g1", r, socketio.ReasonServerShuttingDown)
	case <-time.After(wait):
		t.Fatal("the socket did not leave g1")
	}

	ev, err := clients.WaitEvent(func(e redistest.Event) bool { return e.Event == "connect" && e.Client == "r" }, wait)
	must(t, err)
	if !ev.Recovered {
		t.Fatal("the official client reports the session as not recovered")
	}
	equal(t, "socket id after the move", ev.ID, id)
	must(t, g2.srv.To("room1").Emit(context.Background(), "after")) // rooms restored on g2
	equal(t, "events", nodeClientEvents(t, clients, "r", 2), []string{"last", "after"})
}
