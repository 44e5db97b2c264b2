package redisadapter

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/redisadapter/internal/redistest"
	"github.com/sio-go/socketio/sioclient"
)

type profile struct {
	Name   string   `json:"name"`
	Avatar []byte   `json:"avatar"`
	Tags   []string `json:"tags"`
	Score  float64  `json:"score"`
}

// A socket's data reads as the same typed value through socketio.DataAs
// on its own server, in FetchSockets results on the other server, and on
// the server it recovers to through the Streams adapter.
func TestDataAcrossNodes(t *testing.T) {
	rs, g1, g2 := startStreamsPair(t)
	want := profile{Name: "ada", Avatar: []byte{0, 1, 0xff}, Tags: []string{"x"}, Score: 1.5}
	// Set before the client hears it is connected: OnConnect runs after the
	// CONNECT reply, so the client could look before the data is there.
	g1.srv.Use(func(_ context.Context, s *socketio.Socket) error {
		if !s.Recovered() {
			s.SetData(want)
		}
		return nil
	})
	check := func(where string, d socketio.Data) {
		t.Helper()
		got, err := socketio.DataAs[profile](d)
		must(t, err)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, want %+v", where, got, want)
		}
	}

	sw := redistest.StartSwitch(t)
	sw.Route(g1.url)
	ctx := ctxFor(t, 30*time.Second)
	s, err := sioclient.Dial(ctx, sw.URL(), &sioclient.Config{
		ReconnectionDelay: 50 * time.Millisecond, ReconnectionDelayMax: 100 * time.Millisecond,
		Socket: sioclient.SocketConfig{Auth: map[string]any{"rooms": []string{"room1"}}},
	})
	must(t, err)
	t.Cleanup(func() { _ = s.Manager().Close() })
	id := s.ID()

	check("local socket", g1.srv.Of("/").Socket(id).Data())
	for name, g := range map[string]*goServer{"fetched on its server": g1, "fetched on the other server": g2} {
		socks, err := g.srv.FetchSockets(ctx)
		must(t, err)
		if len(socks) != 1 {
			t.Fatalf("%s: %d sockets", name, len(socks))
		}
		check(name, socks[0].Data)
	}

	// Recovery on the other server: the session comes back from Redis.
	got := make(chan struct{}, 1)
	sioclient.On0(s, "offset", func(context.Context) error { got <- struct{}{}; return nil })
	must(t, g1.srv.To("room1").Emit(ctx, "offset")) // gives the client an offset
	select {
	case <-got:
	case <-ctx.Done():
		t.Fatal("no event")
	}
	// Cut once the server has switched to WebSocket: a cut during the
	// upgrade ends the probe and the session waits on polling for the
	// heartbeat.
	waitUntil(t, "the upgrade", func() bool {
		return g1.srv.Of("/").Socket(id).Conn().Transport() == engineio.WebSocket
	})
	sw.Route("")
	sw.Cut()
	waitSession(t, rs.Addr())
	sw.Route(g2.url)
	waitUntil(t, "reconnection", func() bool { return s.Connected() && g2.srv.Of("/").Socket(id) != nil })
	if !s.Recovered() {
		t.Fatal("not recovered")
	}
	check("recovered on the other server", g2.srv.Of("/").Socket(id).Data())
}
