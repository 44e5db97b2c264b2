package socketio_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sio-go/socketio"
)

// The examples talk to the server with a raw WebSocket to show the frames
// on the wire; applications use a Socket.IO client instead.

func dialRaw(hs *httptest.Server) *websocket.Conn {
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/socket.io/?EIO=4&transport=websocket"
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		log.Fatal(err)
	}
	readRaw(ws) // the Engine.IO open packet
	return ws
}

func readRaw(ws *websocket.Conn) string {
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := ws.ReadMessage()
	if err != nil {
		log.Fatal(err)
	}
	return string(b)
}

func writeRaw(ws *websocket.Conn, frame string) {
	if err := ws.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		log.Fatal(err)
	}
}

func shutdown(srv *socketio.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
}

func Example() {
	srv := socketio.NewServer(nil)
	srv.OnConnect(func(s *socketio.Socket) {
		socketio.OnAck(s, "sum", func(ctx context.Context, xs []int) (int, error) {
			if len(xs) == 0 {
				return 0, &socketio.Error{Code: socketio.CodeInvalidArgument, Message: "nothing to add"}
			}
			total := 0
			for _, x := range xs {
				total += x
			}
			return total, nil
		})
	})
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := httptest.NewServer(mux)
	defer hs.Close()
	defer shutdown(srv)

	ws := dialRaw(hs)
	defer ws.Close()
	writeRaw(ws, "40") // CONNECT to "/"
	fmt.Println(strings.HasPrefix(readRaw(ws), `40{"sid":"`))
	writeRaw(ws, `421["sum",[1,2,3]]`) // EVENT with ack id 1
	fmt.Println(readRaw(ws))
	writeRaw(ws, `422["sum",[]]`)
	fmt.Println(readRaw(ws))
	// Output:
	// true
	// 431[6]
	// 432[{"error":{"code":"invalid_argument","message":"nothing to add"}}]
}

func ExampleNamespace_Use() {
	srv := socketio.NewServer(nil)
	admin := srv.Of("/admin")
	admin.Use(func(ctx context.Context, s *socketio.Socket) error {
		if s.Handshake().Auth == nil || string(s.Handshake().Auth) == "{}" {
			return &socketio.ConnectError{Message: "unauthorized", Data: map[string]string{"reason": "no token"}}
		}
		return nil
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer shutdown(srv)

	ws := dialRaw(hs)
	defer ws.Close()
	writeRaw(ws, "40/admin,")
	fmt.Println(readRaw(ws))
	writeRaw(ws, `40/admin,{"token":"s3cret"}`)
	fmt.Println(strings.HasPrefix(readRaw(ws), `40/admin,{"sid":"`))
	// Output:
	// 44/admin,{"message":"unauthorized","data":{"reason":"no token"}}
	// true
}

func ExampleSocket_To() {
	srv := socketio.NewServer(nil)
	joined := make(chan struct{}, 2)
	srv.OnConnect(func(s *socketio.Socket) {
		socketio.On(s, "join", func(ctx context.Context, room string) error {
			s.Join(room)
			joined <- struct{}{}
			return nil
		})
		socketio.On(s, "say", func(ctx context.Context, text string) error {
			// Everyone in the room but the sender.
			return s.To("lobby").Emit(ctx, "said", text)
		})
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer shutdown(srv)

	alice, bob := dialRaw(hs), dialRaw(hs)
	defer alice.Close()
	defer bob.Close()
	for _, ws := range []*websocket.Conn{alice, bob} {
		writeRaw(ws, "40")
		readRaw(ws)
		writeRaw(ws, `42["join","lobby"]`)
		<-joined
	}
	writeRaw(alice, `42["say","hi bob"]`)
	fmt.Println("bob got:", readRaw(bob))
	// Output:
	// bob got: 42["said","hi bob"]
}

func ExampleCall() {
	srv := socketio.NewServer(nil)
	answers := make(chan string, 1)
	srv.OnConnect(func(s *socketio.Socket) {
		go func() {
			ctx, cancel := context.WithTimeout(s.Context(), 2*time.Second)
			defer cancel()
			name, err := socketio.Call[string](ctx, s, "whoami")
			if err != nil {
				answers <- err.Error()
				return
			}
			answers <- "client is " + name
		}()
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer shutdown(srv)

	ws := dialRaw(hs)
	defer ws.Close()
	writeRaw(ws, "40")
	readRaw(ws)
	fmt.Println(readRaw(ws))   // the server's call, with ack id 0
	writeRaw(ws, `430["ann"]`) // the client's acknowledgement
	fmt.Println(<-answers)
	// Output:
	// 420["whoami"]
	// client is ann
}

func ExampleServer_OfRegexp() {
	srv := socketio.NewServer(nil)
	// Namespaces /team-1, /team-2, … are created when a client first asks.
	teams := srv.OfRegexp(regexp.MustCompile(`^/team-\d+$`))
	teams.OnConnect(func(s *socketio.Socket) {
		_ = s.Emit("welcome", s.Namespace().Name())
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer shutdown(srv)

	ws := dialRaw(hs)
	defer ws.Close()
	writeRaw(ws, "40/team-7,")
	readRaw(ws) // the CONNECT reply
	fmt.Println(readRaw(ws))
	writeRaw(ws, "40/other,")
	fmt.Println(readRaw(ws))
	// Output:
	// 42/team-7,["welcome","/team-7"]
	// 44/other,{"message":"Invalid namespace"}
}

func ExampleBroadcastOperator_EmitWithAck() {
	srv := socketio.NewServer(nil)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer shutdown(srv)

	connected := make(chan struct{}, 2)
	srv.OnConnect(func(s *socketio.Socket) { connected <- struct{}{} })
	clients := []*websocket.Conn{dialRaw(hs), dialRaw(hs)}
	for i, ws := range clients {
		defer ws.Close()
		writeRaw(ws, "40")
		readRaw(ws)
		<-connected
		// each client acknowledges the poll with its own answer
		go func(ws *websocket.Conn, answer string) {
			frame := readRaw(ws) // 42<id>["poll","lunch?"]
			id := frame[2:strings.IndexByte(frame, '[')]
			writeRaw(ws, "43"+id+`["`+answer+`"]`)
		}(ws, []string{"yes", "no"}[i])
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	replies, err := srv.Of("/").EmitWithAck(ctx, "poll", "lunch?")
	if err != nil {
		log.Fatal(err)
	}
	var answers []string
	for _, r := range replies {
		var a string
		_ = r.Decode(0, &a)
		answers = append(answers, a)
	}
	sort.Strings(answers)
	fmt.Println(answers)
	// Output:
	// [no yes]
}

func ExampleConfig_connectionStateRecovery() {
	srv := socketio.NewServer(&socketio.Config{
		// Clients that come back within two minutes get their id, rooms,
		// data and the events they missed.
		ConnectionStateRecovery: &socketio.RecoveryConfig{MaxDisconnectionDuration: 2 * time.Minute},
	})
	srv.OnConnect(func(s *socketio.Socket) {
		_ = s.Emit("hello", "world")
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer shutdown(srv)

	ws := dialRaw(hs)
	defer ws.Close()
	writeRaw(ws, "40")
	reply := readRaw(ws)
	// The CONNECT reply carries a private session id, and every event an
	// offset as its last argument: the client sends both back when it
	// reconnects.
	fmt.Println(strings.Contains(reply, `"pid":"`))
	event := readRaw(ws)
	fmt.Println(strings.HasPrefix(event, `42["hello","world","`))
	// Output:
	// true
	// true
}

// A rolling restart: Drain sends each client what was emitted to it, then
// closes its connection, so that it reconnects (behind a load balancer, to
// another server) while new connections are refused; Shutdown then stops
// the server.
func ExampleServer_Drain() {
	srv := socketio.NewServer(nil)
	hs := httptest.NewServer(srv)
	defer hs.Close()

	ws := dialRaw(hs)
	defer ws.Close()
	writeRaw(ws, "40")
	readRaw(ws) // the CONNECT reply

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Emit(ctx, "restarting")
	if err := srv.Drain(ctx, time.Second); err != nil {
		log.Fatal(err)
	}
	fmt.Println(readRaw(ws))
	_, _, err := ws.ReadMessage()
	fmt.Println("closed:", err != nil)

	res, err := http.Get(hs.URL + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		log.Fatal(err)
	}
	res.Body.Close()
	fmt.Println("new connection:", res.StatusCode)

	if err := srv.Shutdown(ctx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// 42["restarting"]
	// closed: true
	// new connection: 503
}
