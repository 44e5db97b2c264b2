package socketio

import (
	"context"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
)

// TestOwnRooms checks the rooms named by socket ids, which the memory
// adapter keeps apart from the other rooms.
func TestOwnRooms(t *testing.T) {
	srv := newServer(nil)
	defer srv.Shutdown(context.Background())
	req := httptest.NewRequest("GET", "/socket.io/?EIO=4&transport=websocket", nil)
	conns := make([]*nopConn, 3)
	for i := range conns {
		conns[i] = &nopConn{id: strconv.Itoa(i), req: req}
		srv.accept(conns[i]).onMessage([]byte("0"), false)
	}
	nsp := srv.Of("/")
	waitFor(t, "three sockets", func() bool { return len(nsp.Sockets()) == 3 })
	byConn := map[*nopConn]*Socket{}
	for _, s := range nsp.Sockets() {
		byConn[s.conn.ec.(*nopConn)] = s
	}
	a, b, c := byConn[conns[0]], byConn[conns[1]], byConn[conns[2]]
	ctx := context.Background()

	// emit through op and return how many packets each connection got
	deliveries := func(op BroadcastOperator) [3]int64 {
		var before [3]int64
		for i, nc := range conns {
			before[i] = nc.sent.Load()
		}
		if err := op.Emit(ctx, "x"); err != nil {
			t.Fatal(err)
		}
		var got [3]int64
		for i, nc := range conns {
			got[i] = nc.sent.Load() - before[i]
		}
		return got
	}
	check := func(what string, got, want [3]int64) {
		t.Helper()
		if got != want {
			t.Errorf("%s: deliveries %v, want %v", what, got, want)
		}
	}

	check("to a's room", deliveries(nsp.To(a.ID())), [3]int64{1, 0, 0})
	b.Join(a.ID()) // a room that bears a's id, joined by b
	check("to a's room with b in it", deliveries(nsp.To(a.ID())), [3]int64{1, 1, 0})
	check("to a's and b's rooms", deliveries(nsp.To(a.ID(), b.ID())), [3]int64{1, 1, 0})
	check("except a's room", deliveries(nsp.Except(a.ID())), [3]int64{0, 0, 1})

	ad := nsp.Adapter().(*MemoryAdapter)
	rooms := ad.Rooms()
	for _, s := range []*Socket{a, b, c} {
		if !slices.Contains(rooms, s.ID()) || !ad.HasRoom(s.ID()) {
			t.Errorf("room %s missing from %v", s.ID(), rooms)
		}
	}
	if len(rooms) != 3 {
		t.Errorf("rooms %v, want the three socket ids once each", rooms)
	}

	a.Leave(a.ID())
	check("to a's room after a left it", deliveries(nsp.To(a.ID())), [3]int64{0, 1, 0})
	b.Leave(a.ID())
	check("to a's room once empty", deliveries(nsp.To(a.ID())), [3]int64{0, 0, 0})
	if ad.HasRoom(a.ID()) || slices.Contains(ad.Rooms(), a.ID()) {
		t.Errorf("a's room still listed: %v", ad.Rooms())
	}
	c.Join(c.ID()) // joining its own room again is a no-op
	check("to c's room", deliveries(nsp.To(c.ID())), [3]int64{0, 0, 1})
	if got := c.Rooms(); len(got) != 1 || got[0] != c.ID() {
		t.Errorf("c's rooms %v", got)
	}
}
