package emitter_test

import (
	"context"

	"github.com/redis/go-redis/v9"
	"github.com/sio-go/socketio/redisadapter/emitter"
)

// A worker that is not a Socket.IO server notifies the clients of room
// "orders" on every server of the cluster.
func ExampleEmitter_Emit() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	e := emitter.New(rdb, nil)
	_ = e.To("orders").Emit(context.Background(), "order:shipped", map[string]any{"id": 42})
	_ = e.Of("/admin").ServerSideEmit(context.Background(), "refresh")
}
