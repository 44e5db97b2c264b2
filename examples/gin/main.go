// Command gin mounts a Socket.IO server on a gin engine, beside the
// application's own routes.
//
//	go run ./gin            # listens on 127.0.0.1:8083 (PORT, ADDR)
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

	"github.com/gin-gonic/gin"
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

// routes mounts the Socket.IO server on every method of /socket.io/*any
// (long-polling uses GET and POST, CORS preflights OPTIONS). gin's
// ResponseWriter keeps http.Hijacker, which the WebSocket transport needs.
func routes(srv *socketio.Server) http.Handler {
	r := gin.New()
	r.Use(gin.Recovery())
	r.Any("/socket.io/*any", gin.WrapH(srv))
	r.GET("/health", func(c *gin.Context) { c.String(http.StatusOK, "ok\n") })
	return r
}

func main() {
	gin.SetMode(gin.ReleaseMode)
	addr := net.JoinHostPort(env("ADDR", "127.0.0.1"), env("PORT", "8083"))
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
	log.Printf("gin example on http://%s/ (Socket.IO at /socket.io/)", addr)
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
