package sioclient_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/sioclient"
)

func ExampleDial() {
	// A server to talk to; it could as well be a Node socket.io server.
	srv := socketio.NewServer(nil)
	srv.Of("/chat").OnConnect(func(s *socketio.Socket) {
		socketio.OnAck(s, "shout", func(ctx context.Context, text string) (string, error) {
			return strings.ToUpper(text), nil
		})
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// The URL's path is the namespace; the client reconnects by itself
	// with exponential backoff until Close.
	s, err := sioclient.Dial(ctx, hs.URL+"/chat", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	loud, err := sioclient.Call[string](ctx, s, "shout", "hello")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(loud)
	// Output:
	// HELLO
}
