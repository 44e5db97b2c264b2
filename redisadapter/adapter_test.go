package redisadapter

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/protocol"
	"github.com/sio-go/socketio/redisadapter/emitter"
	"github.com/sio-go/socketio/redisadapter/internal/redistest"
)

// The Go emitter reaches the clients of Go servers too.
func TestEmitterToGoServer(t *testing.T) {
	rs := redistest.Start(t)
	g := startGo(t, rs.Addr(), "g", nil)
	g.ready(t)
	clients := clientHost(t)
	connect(t, clients, "c1", g.url, "room1")
	connect(t, clients, "c2", g.url, "room2")
	ctx := ctxFor(t, 20*time.Second)
	e := emitter.New(g.rdb, nil)

	must(t, e.To("room1").Emit(ctx, "news", "a", []byte{9}))
	ev, err := clients.ClientEvent("c1", "news", wait)
	must(t, err)
	jsonEqual(t, "news", ev.Args, `["a",{"$bin":"09"}]`)
	must(t, e.Except("room1").Volatile().Emit(ctx, "others"))
	_, err = clients.ClientEvent("c2", "others", wait)
	must(t, err)

	must(t, e.In("room2").SocketsJoin(ctx, "x"))
	deadline := time.Now().Add(wait)
	for {
		sockets, err := g.srv.In("x").FetchSockets(ctx)
		must(t, err)
		if len(sockets) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the emitter's socketsJoin was not applied")
		}
		time.Sleep(20 * time.Millisecond)
	}

	must(t, e.In("room1").DisconnectSockets(ctx))
	dis, err := clients.WaitEvent(func(e redistest.Event) bool { return e.Event == "disconnect" }, wait)
	must(t, err)
	equal(t, "disconnected", dis.Client, "c1")
}

// Garbage on the adapter's channels is ignored.
func TestMalformedMessages(t *testing.T) {
	rs := redistest.Start(t)
	g := startGo(t, rs.Addr(), "g", nil)
	g.ready(t)
	clients := clientHost(t)
	connect(t, clients, "c1", g.url, "room1")
	ctx := ctxFor(t, 20*time.Second)
	for _, ch := range []string{"socket.io#/#", "socket.io#/#room1#", "socket.io-request#/#", "socket.io-response#/#"} {
		for _, msg := range []string{"", "{", "{}", `{"type":7}`, `{"type":5,"requestId":"x"}`, "\x93\xa1a\xc0\xc0",
			"\x93\xa1a\x81\xa4data\x01\x80", "\xc1", "\x85", `{"type":6,"data":"nope"}`, `{"type":2,"rooms":7}`} {
			must(t, g.rdb.Publish(ctx, ch, msg).Err())
		}
	}
	// Still working.
	e := emitter.New(g.rdb, nil)
	must(t, e.To("room1").Emit(ctx, "alive"))
	_, err := clients.ClientEvent("c1", "alive", wait)
	must(t, err)
}

// Legacy requests by socket id, which former adapters sent, are answered.
func TestLegacyRequests(t *testing.T) {
	rs := redistest.Start(t)
	g := startGo(t, rs.Addr(), "g", nil)
	g.ready(t)
	clients := clientHost(t)
	sid := connectClient(t, clients, map[string]any{"client": "c1", "url": g.url, "rooms": []string{"room1"}})
	next := spyOn(t, rs.Addr())
	ctx := ctxFor(t, 20*time.Second)
	publish := func(msg string) string {
		t.Helper()
		must(t, g.rdb.Publish(ctx, "socket.io-request#/#", msg).Err())
		next() // the request itself
		return string(next().payload)
	}
	equal(t, "sockets", publish(`{"uid":"other1","requestId":"legacy","type":0,"rooms":["room1"]}`),
		`{"requestId":"legacy","sockets":["`+sid+`"]}`)
	equal(t, "join", publish(`{"requestId":"join01","type":2,"sid":"`+sid+`","room":"room5"}`), `{"requestId":"join01"}`)
	if rooms := g.srv.Of("/").Socket(sid).Rooms(); !slices.Contains(rooms, "room5") {
		t.Errorf("rooms after the legacy join: %v", rooms)
	}
	equal(t, "leave", publish(`{"requestId":"leave1","type":3,"sid":"`+sid+`","room":"room5"}`), `{"requestId":"leave1"}`)
	equal(t, "disconnect", publish(`{"requestId":"disc01","type":4,"sid":"`+sid+`","close":false}`), `{"requestId":"disc01"}`)
	_, err := clients.WaitEvent(func(e redistest.Event) bool { return e.Event == "disconnect" }, wait)
	must(t, err)
}

// Closing the adapters ends their pending requests and, with the last one,
// the subscriber; the leak check of TestMain verifies its goroutines ended.
func TestClose(t *testing.T) {
	rs := redistest.Start(t)
	g := startGo(t, rs.Addr(), "g", &Config{RequestsTimeout: 10 * time.Second})
	g.ready(t)
	silent := g.rdb.Subscribe(context.Background(), "socket.io-request#/#")
	defer silent.Close()
	_, err := silent.Receive(context.Background())
	must(t, err)
	a := g.adapter("/")
	done := make(chan error, 1)
	go func() {
		_, err := a.AllRooms(context.Background())
		done <- err
	}()
	deadline := time.Now().Add(wait)
	for {
		a.reqs.Mu.Lock()
		n := len(a.reqs.Requests)
		a.reqs.Mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the request was not sent")
		}
		time.Sleep(10 * time.Millisecond)
	}
	must(t, a.Close())
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("pending request ended with %v, want ErrClosed", err)
		}
	case <-time.After(wait):
		t.Fatal("the pending request did not end")
	}
	must(t, a.Close()) // idempotent
	if err := a.Ready(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Ready after Close: %v", err)
	}
	p := &protocol.Packet{Type: protocol.Event, Namespace: "/", Data: raw(`["late"]`)}
	if err := a.Broadcast(context.Background(), p, socketio.BroadcastOptions{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Broadcast after Close: %v, want ErrClosed", err)
	}
}
