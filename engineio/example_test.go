package engineio_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/sio-go/socketio/engineio"
)

func ExampleNewServer() {
	// An echo server: every message goes back to its sender.
	srv := engineio.NewServer(&engineio.Config{}, func(c *engineio.Conn) {
		c.OnMessage(func(data []byte, binary bool) {
			_ = c.Send(engineio.Message{Data: data, Binary: binary})
		})
	})
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", srv)
	hs := httptest.NewServer(mux)
	defer hs.Close()
	defer srv.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The client opens over long-polling and upgrades to WebSocket.
	conn, err := engineio.Dial(ctx, hs.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	_ = conn.Send(engineio.Message{Data: []byte("hello")}, engineio.Message{Data: []byte{1, 2, 3}, Binary: true})
	for range 2 {
		m, err := conn.Read(ctx)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%q binary=%v\n", m.Data, m.Binary)
	}
	// Output:
	// "hello" binary=false
	// "\x01\x02\x03" binary=true
}
