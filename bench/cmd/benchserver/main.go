// Command benchserver is the Go server of the side-by-side benchmark, on
// the library with default options. On namespace "/", event "echo" is
// acknowledged with its own arguments (a raw handler), "echo-typed" is
// decoded into a struct and acknowledged with it (a typed handler), and
// event "bcast" is broadcast with its arguments to every other socket. It listens on 127.0.0.1:$PORT (default
// 3000) and answers {"goroutines":N} on /debug/stats; with $PPROF set, it
// serves net/http/pprof's profiles under /debug/pprof/.
//
// With $REDIS_URL (e.g. redis://127.0.0.1:6390) it joins a cluster through
// the Redis adapter (redisadapter, compatible with @socket.io/redis-adapter):
// "bcast" then reaches every other socket of every server on that Redis.
// With $PARSER=msgpack it speaks socket.io-msgpack-parser's format
// (msgpackparser).
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/msgpackparser"
	"github.com/sio-go/socketio/redisadapter"
)

// echoMsg is the argument of "echo-typed".
type echoMsg struct {
	Text string `json:"text"`
	N    int    `json:"n"`
}

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "3000"
	}
	cfg := &socketio.Config{}
	if u := os.Getenv("REDIS_URL"); u != "" {
		rdb, err := redisClient(u)
		if err != nil {
			log.Fatal(err)
		}
		defer rdb.Close()
		cfg.Adapter = redisadapter.New(rdb, nil)
	}
	switch p := os.Getenv("PARSER"); p {
	case "", "json":
	case "msgpack":
		cfg.Parser = msgpackparser.Parser
	default:
		log.Fatalf("unknown PARSER %q (json or msgpack)", p)
	}
	io := socketio.NewServer(cfg)
	io.OnConnect(func(s *socketio.Socket) {
		s.OnRaw("echo", func(ctx context.Context, args socketio.Args, ack socketio.AckFunc) {
			if ack != nil {
				_ = ack(args.Values()...)
			}
		})
		socketio.OnAck(s, "echo-typed", func(ctx context.Context, m echoMsg) (echoMsg, error) {
			return m, nil
		})
		s.OnRaw("bcast", func(ctx context.Context, args socketio.Args, ack socketio.AckFunc) {
			_ = s.Broadcast().Emit(ctx, "bcast", args.Values()...)
		})
	})
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", io)
	mux.HandleFunc("/debug/stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"goroutines":%d}`, runtime.NumGoroutine())
	})
	if os.Getenv("PPROF") != "" {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	}
	srv := &http.Server{Addr: "127.0.0.1:" + port, Handler: mux}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = io.Shutdown(sctx)
		_ = srv.Shutdown(sctx)
	}()
	log.Printf("benchserver listening on %s", srv.Addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// redisClient connects to the Redis at url and checks that it answers.
func redisClient(url string) (*redis.Client, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	rdb := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("redis at %s: %w", opt.Addr, err)
	}
	return rdb, nil
}
