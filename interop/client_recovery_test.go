package interop

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sio-go/socketio/interop/internal/nodeproc"
	"github.com/sio-go/socketio/sioclient"
)

// TestClientNodeRecoveryAfterAck: an event the server sends with an
// acknowledgement carries no offset, even when its last argument is a
// string; the session is still recovered afterwards.
func TestClientNodeRecoveryAfterAck(t *testing.T) {
	srv := startNodeSio(t, 0, nodeproc.M{"connectionStateRecovery": nodeproc.M{"maxDisconnectionDuration": 60000}})
	cfg := fast()
	cfg.ReconnectionDelayFunc = func(int) time.Duration { return 300 * time.Millisecond }
	s := sioDial(t, srv.URL(), cfg)
	id := s.ID()
	srv.p.Wait(nodeproc.On("connection", "id", id))
	ticks := make(inbox[int], 8)
	sioclient.On(s, "tick", func(ctx context.Context, n int) error { ticks <- n; return nil })
	sioclient.OnAck(s, "question", func(ctx context.Context, q string) (string, error) { return "answer to " + q, nil })

	srv.Emit(t, "/", "tick", 1)
	if n := ticks.get(t); n != 1 {
		t.Fatal(n)
	}
	ev := srv.p.Call(nodeproc.M{"cmd": "eval", "code": `
		const s = ctx.io.of("/").sockets.get(` + quote(id) + `);
		return await s.timeout(5000).emitWithAck("question", "not an offset");`})
	if v := ev.Str("value"); v != "answer to not an offset" {
		t.Fatalf("acknowledgement %s", ev)
	}
	srv.p.Call(nodeproc.M{"cmd": "drop", "nsp": "/", "id": id})
	srv.p.Wait(nodeproc.On("disconnect", "id", id))
	srv.Emit(t, "/", "tick", 2)
	srv.Emit(t, "/", "tick", 3)
	conn := srv.p.Wait(nodeproc.Type("connection"))
	if !conn.Bool("recovered") || conn.Str("id") != id {
		t.Fatalf("not recovered: %s", conn)
	}
	if a, b := ticks.get(t), ticks.get(t); a != 2 || b != 3 {
		t.Fatalf("got %d %d", a, b)
	}
	if !s.Recovered() || s.ID() != id {
		t.Fatalf("client: recovered %v, id %q then %q", s.Recovered(), id, s.ID())
	}
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
