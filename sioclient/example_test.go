package sioclient_test

import (
	"context"
	"errors"
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

func ExampleSocket_Active() {
	srv := socketio.NewServer(nil)
	srv.OnConnect(func(s *socketio.Socket) {
		socketio.On(s, "kick", func(context.Context, any) error { s.Disconnect(); return nil })
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := sioclient.Dial(ctx, hs.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	fmt.Println("active:", s.Active())
	disconnected := make(chan struct{})
	s.OnDisconnect(func(e sioclient.DisconnectEvent) {
		// Active tells whether the client comes back by itself: after a
		// lost connection it does, after a disconnection by the server or
		// Close it does not.
		fmt.Println(e.Reason, "then active:", s.Active())
		close(disconnected)
	})
	_ = s.Emit("kick")
	<-disconnected
	// Output:
	// active: true
	// io server disconnect then active: false
}

// The client's typed handlers take the shapes of the server's: here the
// server calls the client's "resize" with two arguments, and the client
// calls a server handler that fails, getting its *Error back.
func ExampleOnAck2() {
	srv := socketio.NewServer(nil)
	asked := make(chan string, 1)
	srv.OnConnect(func(s *socketio.Socket) {
		socketio.OnAck(s, "join", func(ctx context.Context, room string) (string, error) {
			return "", &socketio.Error{Code: "room_full", Message: room + " is full"}
		})
		socketio.On0(s, "ready", func(ctx context.Context) error {
			area, err := socketio.Call[int](ctx, s, "resize", 3, 4)
			asked <- fmt.Sprint(area, err)
			return nil
		})
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := sioclient.Dial(ctx, hs.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	// socket.on("resize", (w, h, cb) => cb(w * h))
	sioclient.OnAck2(s, "resize", func(ctx context.Context, w, h int) (int, error) { return w * h, nil })
	_ = s.Emit("ready")
	fmt.Println(<-asked)

	_, err = sioclient.Call[string](ctx, s, "join", "lobby")
	var e *sioclient.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code, e.Message)
	}
	// Output:
	// 12 <nil>
	// room_full lobby is full
}
