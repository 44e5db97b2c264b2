package pgadapter

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sio-go/socketio/internal/cluster/wire"
	"github.com/sio-go/socketio/pgadapter/internal/pgnotify"
)

// What the Node adapter sends in notifications is what this package
// writes for the same message, byte for byte: each notification of a Node
// server is decoded and encoded again.
func TestNodeNotifications(t *testing.T) {
	db := newDB(t)
	ctx := ctxFor(t, 3*wait)
	conn, err := pgx.Connect(ctx, db.URL)
	must(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	_, err = conn.Exec(ctx, `LISTEN "socket.io#/"`)
	must(t, err)
	node := startNode(t, db)
	g := startGo(t, db, "g", nil) // answers the Node server's requests
	node.Connect(t, map[string]any{"client": "c", "url": g.url, "rooms": []string{"room1"}})
	// The Node server sends its requests (fetchSockets, serverSideEmit
	// with ack) only once it counts the Go server.
	waitFor(t, func() error {
		var n int
		node.MustCall(map[string]any{"op": "serverCount"}, &n)
		if n != 2 {
			return errors.New("the Node server does not count the Go server yet")
		}
		return nil
	})
	for _, op := range []map[string]any{
		{"op": "emit", "name": "hello", "args": []any{"world", 1, map[string]any{"a": []any{true, nil, 1.5}}}},
		{"op": "emit", "name": "hello", "rooms": []string{"room1"}, "except": []string{"room2"}, "volatile": true},
		{"op": "socketsJoin", "join": "r2"},
		{"op": "socketsLeave", "leave": "r2", "rooms": []string{"room1"}},
		{"op": "disconnectSockets", "rooms": []string{"nobody"}, "close": true},
		{"op": "serverSideEmit", "name": "hello", "args": []any{"x"}},
		{"op": "serverSideEmitWithAck", "name": "hello", "args": []any{"y"}},
		{"op": "fetchSockets"},
		{"op": "emitWithAck", "name": "ask", "timeout": 1000},
	} {
		node.MustCall(op, nil)
	}
	seen := map[wire.ClusterType]bool{}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		wctx, cancel := context.WithDeadline(ctx, deadline)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err != nil {
			break
		}
		h, err := pgnotify.ReadHeader(n.Payload)
		must(t, err)
		if h.AttachmentID != "" {
			continue
		}
		m, err := wire.DecodeClusterMessage([]byte(n.Payload))
		must(t, err)
		e, err := pgnotify.Encode(m, 8000)
		must(t, err)
		if string(e.Payload) != n.Payload {
			t.Errorf("type %d:\nnode %s\n  go %s", m.Type, n.Payload, e.Payload)
		}
		seen[m.Type] = true
	}
	for _, typ := range []wire.ClusterType{wire.InitialHeartbeat, wire.ClusterBroadcast, wire.SocketsJoin, wire.SocketsLeave,
		wire.DisconnectSockets, wire.ClusterServerSideEmit, wire.FetchSockets, wire.FetchSocketsResponse,
		wire.ServerSideEmitResponse, wire.ClusterClientCount, wire.ClusterBroadcastAck} {
		if !seen[typ] {
			t.Errorf("no notification of type %d seen", typ)
		}
	}
}
