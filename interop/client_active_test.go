package interop

import (
	"testing"
	"time"

	"github.com/sio-go/socketio/interop/internal/nodeproc"
	"github.com/sio-go/socketio/sioclient"
)

// TestClientActive: Active is true while the socket is connected or will
// reconnect by itself, as the official client's socket.active.
func TestClientActive(t *testing.T) {
	srv := startNodeSio(t, 0, nil)
	m, err := sioclient.NewManager(srv.URL(), fast())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	s := m.Socket("/", nil)
	if s.Active() {
		t.Fatal("active before Connect")
	}
	type seen struct {
		reason sioclient.DisconnectReason
		active bool
	}
	discs := make(inbox[seen], 4)
	s.OnDisconnect(func(e sioclient.DisconnectEvent) { discs <- seen{e.Reason, s.Active()} })
	if err := s.Connect(cctx(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if !s.Active() {
		t.Fatal("not active once connected")
	}
	id := s.ID()
	srv.p.Call(nodeproc.M{"cmd": "drop", "nsp": "/", "id": id})
	if d := discs.get(t); d.reason != sioclient.ReasonTransportClose || !d.active {
		t.Fatalf("after a dropped connection: %+v, want active", d)
	}
	second := srv.p.WaitN(2, 10*time.Second, nodeproc.Type("connection"))[1]
	srv.p.Call(nodeproc.M{"cmd": "eval", "code": `ctx.io.of("/").sockets.get(` + quote(second.Str("id")) + `).disconnect();`})
	if d := discs.get(t); d.reason != sioclient.ReasonServerDisconnect || d.active {
		t.Fatalf("after the server disconnected the socket: %+v, want inactive", d)
	}
	if err := s.Connect(cctx(t, 10*time.Second)); err != nil || !s.Active() {
		t.Fatalf("Connect again: %v, active %v", err, s.Active())
	}
	_ = s.Close()
	if d := discs.get(t); d.reason != sioclient.ReasonClientDisconnect || d.active || s.Active() {
		t.Fatalf("after Close: %+v, active %v", d, s.Active())
	}

	// Without reconnection, a dropped connection is final.
	cfg := fast()
	cfg.DisableReconnection = true
	s2 := sioDial(t, srv.URL(), cfg)
	discs2 := make(inbox[seen], 4)
	s2.OnDisconnect(func(e sioclient.DisconnectEvent) { discs2 <- seen{e.Reason, s2.Active()} })
	srv.p.Call(nodeproc.M{"cmd": "drop", "nsp": "/", "id": s2.ID()})
	if d := discs2.get(t); d.reason != sioclient.ReasonTransportClose || d.active {
		t.Fatalf("after a dropped connection without reconnection: %+v, want inactive", d)
	}
}
