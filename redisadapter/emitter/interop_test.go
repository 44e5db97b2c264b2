package emitter_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/sio-go/socketio/redisadapter/emitter"
	"github.com/sio-go/socketio/redisadapter/internal/redistest"
)

// A Node.js Socket.IO server with the official Redis adapter delivers what
// the Go emitter publishes to its socket.io-client clients.
func TestNodeClusterReceives(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv)
	ctx := redistest.Context(t, 60*time.Second)
	node := redistest.StartPeer(t, srv.URL())
	for _, cl := range []struct {
		id, nsp string
		rooms   []string
	}{
		{"c1", "/", []string{"room1"}},
		{"c2", "/", []string{"room2"}},
		{"c3", "/", []string{"room1", "room3"}},
		{"chat", "/chat", []string{"room1"}},
	} {
		node.MustCall(map[string]any{"op": "connect", "client": cl.id, "nsp": cl.nsp, "rooms": cl.rooms}, nil)
	}
	e := emitter.New(c, nil)
	const wait = 5 * time.Second

	// To every socket of "/", with every kind of argument.
	if err := e.Emit(ctx, "hello", "world", 1, 2.5, true, nil, map[string]any{"k": []int{1, 2}}, []byte{0, 1, 255}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"c1", "c2", "c3"} {
		ev, err := node.ClientEvent(id, "hello", wait)
		if err != nil {
			t.Fatal(err)
		}
		assertJSON(t, ev.Args, `["world",1,2.5,true,null,{"k":[1,2]},{"$bin":"0001ff"}]`)
	}

	// Rooms and except, on a room channel and on the main channel.
	if err := e.To("room1").Emit(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if err := e.To("room1", "room2").Except("room3").Emit(ctx, "r12"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct{ client, event string }{{"c1", "r1"}, {"c3", "r1"}, {"c1", "r12"}, {"c2", "r12"}} {
		if _, err := node.ClientEvent(want.client, want.event, wait); err != nil {
			t.Fatal(err)
		}
	}

	// Another namespace.
	if err := e.Of("chat").To("room1").Emit(ctx, "in-chat", "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := node.ClientEvent("chat", "in-chat", wait); err != nil {
		t.Fatal(err)
	}
	// Nothing else arrived: c2 got no r1, c3 no r12, "/" clients nothing of /chat.
	time.Sleep(200 * time.Millisecond)
	for _, ev := range node.Events() {
		if ev.Event == "client" && (ev.Client == "c2" && ev.Name == "r1" || ev.Client == "c3" && ev.Name == "r12" ||
			ev.Name == "in-chat" && ev.Client != "chat") {
			t.Errorf("unexpected delivery %+v", ev)
		}
	}

	// socketsJoin and socketsLeave.
	if err := e.In("room2").SocketsJoin(ctx, "joined", "also"); err != nil {
		t.Fatal(err)
	}
	waitRooms(t, node, "c2", []string{"room2", "joined", "also"})
	if err := e.In("joined").SocketsLeave(ctx, "also"); err != nil {
		t.Fatal(err)
	}
	waitRooms(t, node, "c2", []string{"room2", "joined"})

	// serverSideEmit reaches the server's handlers.
	if err := e.ServerSideEmit(ctx, "hello", "from-go", []byte{7}); err != nil {
		t.Fatal(err)
	}
	ev, err := node.WaitEvent(func(e redistest.Event) bool { return e.Event == "serverSideEmit" }, wait)
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, ev.Args, `["from-go",{"type":"Buffer","data":[7]}]`)

	// disconnectSockets, then closing the connections.
	if err := e.In("room3").DisconnectSockets(ctx); err != nil {
		t.Fatal(err)
	}
	dis, err := node.WaitEvent(func(e redistest.Event) bool { return e.Event == "disconnect" }, wait)
	if err != nil {
		t.Fatal(err)
	}
	if dis.Client != "c3" || dis.Reason != "io server disconnect" {
		t.Errorf("disconnect %+v", dis)
	}
	if err := e.In("room2").CloseConns(ctx); err != nil {
		t.Fatal(err)
	}
	dis, err = node.WaitEvent(func(e redistest.Event) bool { return e.Event == "disconnect" }, wait)
	if err != nil {
		t.Fatal(err)
	}
	// Node sends DISCONNECT before closing, so the client reports the same
	// reason; the close flag itself is checked byte for byte elsewhere.
	if dis.Client != "c2" || dis.Reason != "io server disconnect" {
		t.Errorf("close %+v", dis)
	}
}

func waitRooms(t *testing.T, node *redistest.Peer, client string, want []string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var rooms []string
		node.MustCall(map[string]any{"op": "clientRooms", "client": client}, &rooms)
		rooms = rooms[1:] // the socket's own room
		if slices.Equal(rooms, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("rooms of %s: %v, want %v", client, rooms, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func assertJSON(t *testing.T, got json.RawMessage, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Errorf("got %s, want %s", gb, wb)
	}
}
