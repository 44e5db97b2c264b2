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

// With the Redis Streams adapter, a client that lost its connection can
// reconnect to any server of the cluster and get back its session and the
// events it missed.
func ExampleNewStreams() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	srv := socketio.NewServer(&socketio.Config{
		Adapter: redisadapter.NewStreams(rdb, &redisadapter.StreamsConfig{
			StreamName: "socket.io",
			MaxLen:     10_000,
		}),
		ConnectionStateRecovery: &socketio.RecoveryConfig{MaxDisconnectionDuration: 2 * time.Minute},
	})
	http.Handle("/socket.io/", srv)
}
