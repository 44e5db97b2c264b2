// Command chi mounts a Socket.IO server on a chi router, behind chi
// middlewares, beside the application's own routes.
//
//	go run ./chi            # listens on 127.0.0.1:8082 (PORT, ADDR)
//
// The server answers the event "echo" with its argument, and "shout" with an
// event "shouted" carrying the text in capitals.
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

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
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

// routes mounts the Socket.IO server under /socket.io/. chi's middlewares
// wrap the ResponseWriter in a way that keeps http.Hijacker, which the
// WebSocket transport needs. Leave out middlewares that compress or buffer
// responses (middleware.Compress, timeouts) on this route: the server
// compresses long-polling responses itself and holds them open.
func routes(srv *socketio.Server) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID, middleware.RealIP, middleware.Recoverer)
	r.Handle("/socket.io/*", srv)
	r.Get("/health", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	return r
}

func main() {
	addr := net.JoinHostPort(env("ADDR", "127.0.0.1"), env("PORT", "8082"))
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
		_ = srv.Shutdown(sctx)
		_ = hs.Shutdown(sctx)
	}()
	log.Printf("chi example on http://%s/ (Socket.IO at /socket.io/)", addr)
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
