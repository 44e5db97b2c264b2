package msgpackparser_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/msgpackparser"
	"github.com/sio-go/socketio/sioclient"
)

// A server and a client that speak MessagePack. A browser would load
// socket.io.msgpack.min.js (see socketio.Server.ServeClient), a Node client
// would pass parser: require("socket.io-msgpack-parser").
func Example() {
	srv := socketio.NewServer(&socketio.Config{Parser: msgpackparser.Parser})
	srv.OnConnect(func(s *socketio.Socket) {
		socketio.OnAck(s, "size", func(ctx context.Context, blob []byte) (int, error) {
			return len(blob), nil
		})
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := sioclient.Dial(ctx, hs.URL, &sioclient.Config{Parser: msgpackparser.Parser})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	// The bytes travel as one MessagePack bin value, not as an attachment.
	n, err := sioclient.Call[int](ctx, s, "size", make([]byte, 1000))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(n)
	// Output: 1000
}
