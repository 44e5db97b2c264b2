package redisadapter_test

import (
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/redisadapter"
)

// Every server of the cluster, Go or Node.js, uses an adapter with the same
// key on the same Redis.
func ExampleNew() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	srv := socketio.NewServer(&socketio.Config{
		Adapter: redisadapter.New(rdb, &redisadapter.Config{
			RequestsTimeout: 3 * time.Second,
		}),
	})
	http.Handle("/socket.io/", srv)
}
