// Command nethttp mounts a Socket.IO server on net/http's ServeMux, beside
// the application's own routes.
//
//	go run ./nethttp        # listens on 127.0.0.1:8081 (PORT, ADDR)
//
// Clients connect to http://127.0.0.1:8081 (path /socket.io/). The server
// answers the event "echo" with its argument, and "shout" with an event
// "shouted" carrying the text in capitals.
package main

import (
	"context"
	"errors"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sio-go/socketio"
)

// newSocketServer returns the Socket.IO server and its event handlers.
func newSocketServer() *socketio.Server {
	srv := socketio.NewServer(nil)
	srv.OnConnect(func(s *socketio.Socket) {
		socketio.OnAck(s, "echo", func(_ context.Context, v any) (any, error) { return v, nil })
		socketio.On(s, "shout", func(_ context.Context, text string) error {
			return s.Emit("shouted", strings.ToUpper(text))
		})
	})
	return srv
}

// routes mounts the Socket.IO server under its path, /socket.io/, beside
// the other routes.
func routes(srv *socketio.Server) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

func main() {
	addr := net.JoinHostPort(env("ADDR", "127.0.0.1"), env("PORT", "8081"))
	srv := newSocketServer()
	hs := &http.Server{
		Addr: addr, Handler: routes(srv),
		// Long-polls wait up to PingInterval (25 s): see the README, "Serving".
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute,
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx) // disconnects the clients first
		_ = hs.Shutdown(sctx)
	}()
	log.Printf("net/http example on http://%s/ (Socket.IO at /socket.io/)", addr)
	if err := hs.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
