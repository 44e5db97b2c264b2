package main

import (
	"context"
	"net/http"
	"time"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/engineio"
)

// authDelay separates the CONNECT reply from the "auth" event, so that the
// suite's client, which registers a one-shot listener per frame, sees both.
const authDelay = 25 * time.Millisecond

// socketIOServer serves namespaces / and /custom on /socket.io/: on
// connection it emits "auth" with the CONNECT payload; on "/", "message" is
// echoed as "message-back" and "message-with-ack" is acknowledged with its
// own arguments, binary attachments included.
func socketIOServer() (http.Handler, func(context.Context) error) {
	sioLog, eioLog := debugLoggers()
	srv := socketio.NewServer(&socketio.Config{
		Engine: engineio.Config{
			Logger:       eioLog,
			PingInterval: 300 * time.Millisecond,
			PingTimeout:  200 * time.Millisecond,
			CORS:         &engineio.CORS{AllowOrigins: []string{"*"}},
		},
		ConnectTimeout: time.Second,
		Logger:         sioLog,
	})
	sendAuth := func(s *socketio.Socket) {
		auth := s.Handshake().Auth
		time.AfterFunc(authDelay, func() { _ = s.Emit("auth", auth) })
	}
	srv.OnConnect(func(s *socketio.Socket) {
		sendAuth(s)
		s.OnRaw("message", func(ctx context.Context, args socketio.Args, ack socketio.AckFunc) {
			_ = s.Emit("message-back", args.Values()...)
		})
		s.OnRaw("message-with-ack", func(ctx context.Context, args socketio.Args, ack socketio.AckFunc) {
			if ack != nil {
				_ = ack(args.Values()...)
			}
		})
	})
	srv.Of("/custom").OnConnect(sendAuth)
	return srv, srv.Shutdown
}
