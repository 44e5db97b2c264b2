// Command benchserver is the Go server of the side-by-side benchmark, on
// the library with default options. On namespace "/", event "echo" is
// acknowledged with its own arguments and event "bcast" is broadcast with its
// arguments to every other socket. It listens on 127.0.0.1:$PORT (default
// 3000) and answers {"goroutines":N} on /debug/stats.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/sio-go/socketio"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "3000"
	}
	io := socketio.NewServer(nil)
	io.OnConnect(func(s *socketio.Socket) {
		s.OnRaw("echo", func(ctx context.Context, args socketio.Args, ack socketio.AckFunc) {
			if ack != nil {
				_ = ack(args.Values()...)
			}
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
