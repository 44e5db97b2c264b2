// Command drillnode is one server of the node-loss drill
// (interop/drill_test.go): a Socket.IO server on 127.0.0.1:$PORT in a
// cluster on the Redis at $REDIS_ADDR through the Streams adapter, with
// connection state recovery and routing. Every socket joins "all"; the
// event "tick" (a number) from any client is broadcast to "all" once per
// number, and acknowledged. On SIGTERM it drains
// (new connections refused, open ones closed over one second, their
// sessions stored), shuts down and exits 0. It prints "listening" once it
// has announced itself.
package main

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/redisadapter"
)

func main() {
	addr := "127.0.0.1:" + os.Getenv("PORT")
	rdb := redis.NewClient(&redis.Options{Addr: os.Getenv("REDIS_ADDR")})
	dir := redisadapter.NewDirectory(rdb, "")
	srv := socketio.NewServer(&socketio.Config{
		Adapter:                 redisadapter.NewStreams(rdb, nil),
		ConnectionStateRecovery: &socketio.RecoveryConfig{MaxDisconnectionDuration: 2 * time.Minute},
		Route:                   &socketio.RouteConfig{Addr: addr, Directory: dir, TTL: 3 * time.Second},
	})
	srv.OnConnect(func(s *socketio.Socket) {
		s.Join("all")
		s.OnRaw("tick", func(_ context.Context, a socketio.Args, ack socketio.AckFunc) {
			var n int
			if a.Decode(0, &n) != nil {
				return
			}
			// Each tick is broadcast once, although the sender sends it
			// again when its acknowledgement is lost (its connection
			// closed by a drain): the servers note in Redis the ticks
			// they broadcast. Not the socket's context: the socket may
			// be gone, the broadcast must happen and be noted anyway.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			key := "drill:tick:" + strconv.Itoa(n)
			if rdb.Exists(ctx, key).Val() == 0 {
				_ = srv.To("all").Emit(ctx, "tick", n)
				rdb.Set(ctx, key, 1, time.Hour)
			}
			if ack != nil {
				_ = ack()
			}
		})
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	// Announced once the directory has this server's address.
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		keys, err := rdb.Keys(ctx, "socket.io#route#*").Result()
		cancel()
		found := false
		for _, k := range keys {
			if v, _ := rdb.Get(context.Background(), k).Result(); v == addr {
				found = true
			}
		}
		if err == nil && found {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Println("listening")

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Drain(ctx, time.Second)
	_ = srv.Shutdown(ctx)
	_ = hs.Shutdown(ctx)
	_ = rdb.Close()
}
