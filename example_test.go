package socketio_test

import (
	"context"
	"errors"
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
	"github.com/sio-go/socketio/engineio"
	"golang.org/x/time/rate"
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

// serveExample mounts srv on a test HTTP server and dials it with a raw
// WebSocket connected to "/".
func serveExample(srv *socketio.Server) (ws *websocket.Conn, done func()) {
	hs := httptest.NewServer(srv)
	ws = dialRaw(hs)
	writeRaw(ws, "40")
	readRaw(ws) // the CONNECT reply
	return ws, func() {
		ws.Close()
		shutdown(srv)
		hs.Close()
	}
}

// Handlers of Node's common shapes: no argument and an acknowledgement,
// several arguments, a trailing binary argument.
func ExampleOnAck2() {
	type meta struct {
		Name string `json:"name"`
	}
	type stored struct {
		Name  string `json:"name"`
		Size  int    `json:"size"`
		Thumb []byte `json:"thumb"` // sent as a binary attachment, a Buffer in Node
	}
	srv := socketio.NewServer(nil)
	srv.OnConnect(func(s *socketio.Socket) {
		// socket.on("rooms", (cb) => cb(["lobby"]))
		socketio.OnAck0(s, "rooms", func(ctx context.Context) ([]string, error) {
			return []string{"lobby"}, nil
		})
		// socket.on("say", (room, text, cb) => cb(text.length))
		socketio.OnAck2(s, "say", func(ctx context.Context, room, text string) (int, error) {
			return len(text), nil
		})
		// socket.on("upload", (meta, buf, cb) => cb({...}))
		socketio.OnAck2(s, "upload", func(ctx context.Context, m meta, file []byte) (stored, error) {
			return stored{Name: m.Name, Size: len(file), Thumb: file[:1]}, nil
		})
	})
	ws, done := serveExample(srv)
	defer done()

	writeRaw(ws, `421["rooms"]`)
	fmt.Println(readRaw(ws))
	writeRaw(ws, `422["say","lobby","hello"]`)
	fmt.Println(readRaw(ws))
	writeRaw(ws, `451-3["upload",{"name":"a.png"},{"_placeholder":true,"num":0}]`)
	_ = ws.WriteMessage(websocket.BinaryMessage, []byte{0x89, 'P', 'N', 'G'})
	fmt.Println(readRaw(ws))
	fmt.Printf("%q\n", readRaw(ws))
	// Output:
	// 431[["lobby"]]
	// 432[5]
	// 461-3[{"name":"a.png","size":4,"thumb":{"_placeholder":true,"num":0}}]
	// "\x89"
}

// Errors reach the client in one shape: decoding and validation failures,
// and the *socketio.Error a handler returns. Other errors are reported as
// "internal", their text kept on the server.
func ExampleErrorReply() {
	type join struct {
		Room string `json:"room"`
	}
	srv := socketio.NewServer(nil)
	srv.OnConnect(func(s *socketio.Socket) {
		socketio.OnAck(s, "join", func(ctx context.Context, j join) (string, error) {
			switch j.Room {
			case "full":
				return "", &socketio.Error{Code: "room_full", Message: "the room is full"}
			case "broken":
				return "", errors.New("db: connection refused")
			}
			return j.Room, nil
		})
	})
	ws, done := serveExample(srv)
	defer done()

	for i, arg := range []string{`{"room":"full"}`, `{"room":42}`, `{"room":"broken"}`} {
		writeRaw(ws, fmt.Sprintf(`42%d["join",%s]`, i, arg))
		fmt.Println(readRaw(ws))
	}
	// Output:
	// 430[{"error":{"code":"room_full","message":"the room is full"}}]
	// 431[{"error":{"code":"invalid_argument","message":"argument 0: field \"room\": expected string, got number"}}]
	// 432[{"error":{"code":"internal","message":"internal error"}}]
}

// Rate limiting as Socket.IO's security advice does it, with a token
// bucket per socket on a packet middleware: a refused event is answered
// with CodeRateLimited, and a client that keeps sending past the limit is
// disconnected. A second bucket counts the refusals.
func Example_rateLimit() {
	srv := socketio.NewServer(nil)
	srv.OnConnect(func(s *socketio.Socket) {
		events := rate.NewLimiter(rate.Every(time.Second), 2)  // 1 event a second, bursts of 2
		strikes := rate.NewLimiter(rate.Every(time.Minute), 1) // 1 refusal a minute
		s.Use(func(ctx context.Context, ev string, args socketio.Args) error {
			if events.Allow() {
				return nil
			}
			if !strikes.Allow() {
				s.Disconnect() // a repeat offender
			}
			return &socketio.Error{Code: socketio.CodeRateLimited, Message: "slow down"}
		})
		socketio.OnAck(s, "echo", func(ctx context.Context, m string) (string, error) { return m, nil })
	})
	ws, done := serveExample(srv)
	defer done()

	for i, m := range []string{"a", "b", "c", "d"} {
		writeRaw(ws, fmt.Sprintf(`42%d["echo","%s"]`, i, m))
		fmt.Println(readRaw(ws))
	}
	// Output:
	// 430["a"]
	// 431["b"]
	// 432[{"error":{"code":"rate_limited","message":"slow down"}}]
	// 41
}

// A socket's data reads as the same type wherever the socket lives: on
// its server, and in FetchSockets results from any server of a cluster.
func ExampleDataAs() {
	type user struct {
		Name string `json:"name"`
	}
	srv := socketio.NewServer(nil)
	joined := make(chan struct{})
	srv.OnConnect(func(s *socketio.Socket) {
		s.SetData(user{Name: "ada"})
		close(joined)
	})
	_, done := serveExample(srv)
	defer done()
	<-joined

	socks, err := srv.FetchSockets(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	u, err := socketio.DataAs[user](socks[0].Data)
	fmt.Println(u.Name, err)
	// Output:
	// ada <nil>
}

// Socket.Conn is Node's socket.conn: the transport, the upgrade, the
// client's request.
func ExampleSocket_Conn() {
	srv := socketio.NewServer(nil)
	srv.OnConnect(func(s *socketio.Socket) {
		conn := s.Conn()
		fmt.Println(conn.Transport(), conn.Request().Header.Get("User-Agent"))
		conn.OnUpgrade(func(t engineio.Transport) { log.Printf("%s upgraded to %s", s.ID(), t) })
		s.Emit("ready")
	})
	ws, done := serveExample(srv)
	defer done()
	fmt.Println(readRaw(ws))
	// Output:
	// websocket Go-http-client/1.1
	// 42["ready"]
}

// Servers of a cluster that serve each other's sessions, so that a
// round-robin load balancer needs no sticky sessions. Here the directory is
// a fixed map; in production, redisadapter.NewDirectory keeps it in the
// adapters' Redis.
func ExampleRouteConfig() {
	dir := socketio.StaticDirectory{"node0001": "10.0.0.7:3000", "node0002": "10.0.0.8:3000"}
	srv := socketio.NewServer(&socketio.Config{
		Route: &socketio.RouteConfig{
			Addr:      "10.0.0.7:3000", // where the other servers reach this one
			Directory: dir,
			NodeID:    "node0001", // the prefix of this server's session ids
		},
	})
	defer srv.Shutdown(context.Background())
	hs := httptest.NewServer(srv)
	defer hs.Close()
	res, err := http.Get(hs.URL + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		log.Fatal(err)
	}
	defer res.Body.Close()
	var open [64]byte
	n, _ := res.Body.Read(open[:])
	// A request for this session on node0002 is forwarded here.
	fmt.Println(strings.HasPrefix(string(open[:n]), `0{"sid":"node0001`))
	// Output: true
}
