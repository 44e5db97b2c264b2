package main

import (
	"context"
	"net/http"
	"time"

	"github.com/sio-go/socketio/engineio"
)

// engineIOServer echoes every message on /engine.io/, text as text and
// binary as binary.
func engineIOServer() (http.Handler, func(context.Context) error) {
	_, eioLog := debugLoggers()
	srv := engineio.NewServer(&engineio.Config{
		PingInterval: 300 * time.Millisecond,
		PingTimeout:  200 * time.Millisecond,
		CORS:         &engineio.CORS{AllowOrigins: []string{"*"}},
		Logger:       eioLog,
	}, func(c *engineio.Conn) {
		c.OnMessage(func(data []byte, binary bool) {
			_ = c.Send(engineio.Message{Data: data, Binary: binary})
		})
	})
	return srv, srv.Shutdown
}
