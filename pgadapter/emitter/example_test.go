package emitter_test

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sio-go/socketio/pgadapter/emitter"
)

// A worker that is not a Socket.IO server notifies the clients of room
// "orders" on every server of the cluster.
func ExampleEmitter_Emit() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://app@127.0.0.1:5432/app")
	if err != nil {
		return
	}
	e := emitter.New(pool, nil)
	_ = e.To("orders").Emit(ctx, "order:shipped", map[string]any{"id": 42})
	_ = e.Of("/admin").ServerSideEmit(ctx, "refresh")
}
