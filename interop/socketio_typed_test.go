package interop

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/interop/internal/nodeproc"
)

// Typed handlers of every shape, byte slices inside values, the error
// shape, socket data and the rest of Node's server API, driven by the
// official socket.io-client.

type tMeta struct {
	Name string `json:"name"`
	Size int    `json:"size"`
}

type tJoin struct {
	Room string `json:"room"`
}

func (j tJoin) Validate() error {
	if j.Room == "" {
		return errors.New("room is required")
	}
	return nil
}

// TestSIOTypedShapes sends an event of every shape, with and without an
// acknowledgement: no argument, several, a trailing binary one.
func TestSIOTypedShapes(t *testing.T) {
	s := startSIO(t, nil, func(srv *socketio.Server, _ *srvLog) {
		srv.OnConnect(func(sock *socketio.Socket) {
			// The shapes without a result report by emitting "got".
			socketio.On0(sock, "ping", func(ctx context.Context) error { return sock.Emit("got", "ping") })
			socketio.On2(sock, "msg", func(ctx context.Context, room, text string) error {
				return sock.Emit("got", room, text)
			})
			socketio.On3(sock, "move", func(ctx context.Context, x, y int, fast bool) error {
				return sock.Emit("got", x, y, fast)
			})
			socketio.OnAck0(sock, "rooms", func(ctx context.Context) ([]string, error) { return []string{"a", "b"}, nil })
			socketio.OnAck(sock, "join", func(ctx context.Context, j tJoin) (string, error) { return "joined " + j.Room, nil })
			socketio.OnAck2(sock, "say", func(ctx context.Context, room, text string) (int, error) {
				_ = sock.Emit("got", "say", room)
				return len(text), nil
			})
			socketio.OnAck2(sock, "upload", func(ctx context.Context, m tMeta, file []byte) (tMeta, error) {
				m.Size = len(file)
				return m, nil
			})
			socketio.OnAck3(sock, "sum3", func(ctx context.Context, a, b, c float64) (float64, error) { return a + b + c, nil })
		})
	})
	c := startClient(t)
	file := make([]byte, 3000)
	for i := range file {
		file[i] = byte(i)
	}
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			c.dial(tr, s.URL(), "/", nodeproc.M{"transports": []string{tr}, "forceNew": true})
			got := func(want ...any) {
				t.Helper()
				jsonEqual(t, "got", c.event(tr, "got").Field("args"), want)
			}
			acked := func(id string, want ...any) {
				t.Helper()
				jsonEqual(t, id, c.ack(id).Field("args"), nonNil(want))
			}
			c.emit(tr, "ping", "ignored")
			got("ping")
			c.emitAck(tr, tr+"ping", 0, "ping")
			got("ping")
			acked(tr + "ping") // an On handler acknowledges with no argument
			c.emit(tr, "msg", "lobby", "hi")
			got("lobby", "hi")
			c.emit(tr, "msg", "lobby") // a missing argument is the zero value
			got("lobby", "")
			c.emit(tr, "move", 1, 2, true)
			got(1, 2, true)

			c.emitAck(tr, tr+"rooms", 0, "rooms")
			acked(tr+"rooms", []string{"a", "b"})
			c.emitAck(tr, tr+"join", 0, "join", nodeproc.M{"room": "r"})
			acked(tr+"join", "joined r")
			c.emitAck(tr, tr+"say", 0, "say", "lobby", "hello")
			got("say", "lobby")
			acked(tr+"say", 5)
			c.emit(tr, "say", "lobby", "no ack asked") // the result is dropped
			got("say", "lobby")
			c.emitAck(tr, tr+"up", 0, "upload", nodeproc.M{"name": "f"}, nodeproc.Bin(file))
			acked(tr+"up", tMeta{Name: "f", Size: len(file)})
			c.emitAck(tr, tr+"sum3", 0, "sum3", 1, 2.5, 3)
			acked(tr+"sum3", 6.5)
			c.call("disconnect", tr)
		})
	}
}

// The values of TestSIOBinaryNesting: byte slices in every kind of place.
type (
	bBlob  []byte
	bInner struct {
		Blob bBlob `json:"blob"`
	}
	bFile struct {
		Name  string            `json:"name"`
		File  []byte            `json:"file"`
		Parts [][]byte          `json:"parts"`
		Meta  map[string][]byte `json:"meta"`
		Thumb *[]byte           `json:"thumb"`
		Inner *bInner           `json:"inner"`
		Any   any               `json:"any"`
		Hash  []byte            `json:"hash" socketio:"base64"` // opted out: base64 text
	}
)

// TestSIOBinaryNesting sends byte slices at every depth both ways: the
// official client gets a Buffer wherever Go has a byte slice (base64 text
// for the field that opts out), and its Buffers come back into the same Go
// values.
func TestSIOBinaryNesting(t *testing.T) {
	s := startSIO(t, nil, nil)
	c := startClient(t)
	thumb := []byte("thumb")
	file := bFile{
		Name: "a.png", File: []byte{0x89, 'P', 'N', 'G', 0, 0xff}, Parts: [][]byte{[]byte("p0"), []byte("p1")},
		Meta: map[string][]byte{"exif": {1, 2}}, Thumb: &thumb, Inner: &bInner{Blob: bBlob("inner")},
		Any: []byte("any"), Hash: []byte{0xde, 0xad},
	}
	fileJSON := nodeproc.M{
		"name": "a.png", "file": nodeproc.Bin(file.File), "parts": []any{binOf("p0"), binOf("p1")},
		"meta": nodeproc.M{"exif": nodeproc.Bin([]byte{1, 2})}, "thumb": binOf("thumb"),
		"inner": nodeproc.M{"blob": binOf("inner")}, "any": binOf("any"),
		"hash": base64.StdEncoding.EncodeToString(file.Hash),
	}
	// The opted-out field comes back from the client as the same text,
	// which decodes into the same bytes; the Buffer in Any comes back as a
	// []byte.
	fileBack := file
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			c.dial(tr, s.URL(), "/", nodeproc.M{"transports": []string{tr}, "forceNew": true})
			sock := s.connected(t, "/")
			c.p.Call(nodeproc.M{"cmd": "autoAck", "socket": tr, "event": "roundtrip", "echo": true})
			roundTrip(t, c, tr, sock, "struct", file, fileBack, fileJSON)
			roundTrip(t, c, tr, sock, "pointer", &file, &fileBack, fileJSON)
			roundTrip(t, c, tr, sock, "map", map[string][]byte{"b": []byte("B"), "a": {}},
				map[string][]byte{"b": []byte("B"), "a": {}}, nodeproc.M{"a": nodeproc.Bin([]byte{}), "b": binOf("B")})
			roundTrip(t, c, tr, sock, "slice", [][]byte{[]byte("x"), []byte("y")}, [][]byte{[]byte("x"), []byte("y")},
				[]any{binOf("x"), binOf("y")})
			roundTrip(t, c, tr, sock, "slice of structs", []bInner{{Blob: bBlob("1")}, {Blob: bBlob("2")}},
				[]bInner{{Blob: bBlob("1")}, {Blob: bBlob("2")}}, []any{nodeproc.M{"blob": binOf("1")}, nodeproc.M{"blob": binOf("2")}})
			c.call("disconnect", tr)
		})
	}
}

// roundTrip has the server send v to the client with Call; the client
// echoes it in its acknowledgement. It checks the client's view of v and
// what comes back. Then the client sends that view itself, to a typed
// handler that checks it decodes to back and acknowledges it.
func roundTrip[T any](t *testing.T, c *sioClient, name string, sock *socketio.Socket, shape string, v, back T, view any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	got, err := socketio.Call[T](ctx, sock, "roundtrip", v)
	if err != nil {
		t.Fatalf("%s: %v", shape, err)
	}
	jsonEqual(t, shape+": the client's view", c.event(name, "roundtrip").Field("args"), []any{view})
	if !reflect.DeepEqual(got, back) {
		t.Errorf("%s: came back as %#v, want %#v", shape, got, back)
	}

	decoded := make(chan T, 1)
	socketio.OnAck(sock, "store", func(ctx context.Context, v T) (T, error) {
		decoded <- v
		return v, nil
	})
	id := fmt.Sprintf("%s-%s", name, shape)
	c.emitAck(name, id, 0, "store", view)
	select {
	case d := <-decoded:
		if !reflect.DeepEqual(d, back) {
			t.Errorf("%s: the client's Buffers decoded as %#v, want %#v", shape, d, back)
		}
	case <-ctx.Done():
		t.Fatalf("%s: the handler did not run", shape)
	}
	jsonEqual(t, shape+": acknowledged", c.ack(id).Field("args"), []any{view})
}

// TestSIOErrorShape: decoding, validation, handler and packet middleware
// errors reach the client in one shape, without Go type names; a hook
// replaces the shape.
func TestSIOErrorShape(t *testing.T) {
	errs := make(chan error, 4)
	setup := func(srv *socketio.Server, _ *srvLog) {
		srv.OnConnect(func(sock *socketio.Socket) {
			sock.OnError(func(err error) { errs <- err })
			sock.Use(func(ctx context.Context, ev string, _ socketio.Args) error {
				if ev == "limited" {
					return &socketio.Error{Code: socketio.CodeRateLimited, Message: "slow down",
						Data: map[string]any{"retryAfterMs": 100}}
				}
				return nil
			})
			socketio.OnAck(sock, "join", func(ctx context.Context, j tJoin) (string, error) {
				switch j.Room {
				case "full":
					return "", &socketio.Error{Code: "room_full", Message: "the room is full",
						Data: map[string]any{"capacity": 2, "banner": []byte{1, 2}}}
				case "db":
					return "", fmt.Errorf("store: %w", errors.New("pq: relation main.rooms does not exist"))
				}
				return j.Room, nil
			})
		})
	}
	s := startSIO(t, nil, setup)
	c := startClient(t)
	c.dial("s", s.URL(), "/", nil)
	for _, tc := range []struct {
		id   string
		args []any
		want any
	}{
		{"type", []any{nodeproc.M{"room": 42}}, nodeproc.M{"code": "invalid_argument", "message": `argument 0: field "room": expected string, got number`}},
		{"kind", []any{"lobby"}, nodeproc.M{"code": "invalid_argument", "message": "argument 0: expected object, got string"}},
		{"validate", []any{nodeproc.M{}}, nodeproc.M{"code": "invalid_argument", "message": "argument 0: room is required"}},
		{"full", []any{nodeproc.M{"room": "full"}}, nodeproc.M{"code": "room_full", "message": "the room is full",
			"data": nodeproc.M{"capacity": 2, "banner": nodeproc.Bin([]byte{1, 2})}}},
		{"internal", []any{nodeproc.M{"room": "db"}}, nodeproc.M{"code": "internal", "message": "internal error"}},
	} {
		c.emitAck("s", tc.id, 0, "join", tc.args...)
		raw := c.ack(tc.id).Field("args")
		jsonEqual(t, tc.id, raw, []any{nodeproc.M{"error": tc.want}})
		for _, leak := range []string{"main.", "json:", "socketio", "Go value", "pq:", "interop."} {
			if strings.Contains(string(raw), leak) {
				t.Errorf("%s: %s leaks %q", tc.id, raw, leak)
			}
		}
	}
	// The internal error, which the client only learns is internal, is on
	// the server with its cause.
	if err := recvErr(t, errs); !strings.Contains(err.Error(), "pq: relation main.rooms") {
		t.Errorf("OnError got %v", err)
	}
	c.emitAck("s", "limited", 0, "limited", 1)
	jsonEqual(t, "packet middleware", c.ack("limited").Field("args"),
		[]any{nodeproc.M{"error": nodeproc.M{"code": "rate_limited", "message": "slow down", "data": nodeproc.M{"retryAfterMs": 100}}}})
	// Without an acknowledgement, the error goes to OnError.
	c.emit("s", "join", 7)
	if err := recvErr(t, errs); socketio.CodeOf(err) != socketio.CodeInvalidArgument {
		t.Errorf("OnError got %v", err)
	}

	// The application's own shape.
	hooked := startSIO(t, &socketio.Config{ErrorReply: func(err error) any {
		return nodeproc.M{"ok": false, "reason": string(socketio.CodeOf(err))}
	}}, setup)
	c.dial("h", hooked.URL(), "/", nil)
	c.emitAck("h", "h-type", 0, "join", nodeproc.M{"room": 42})
	jsonEqual(t, "hooked decode error", c.ack("h-type").Field("args"), []any{nodeproc.M{"ok": false, "reason": "invalid_argument"}})
	c.emitAck("h", "h-limited", 0, "limited")
	jsonEqual(t, "hooked refusal", c.ack("h-limited").Field("args"), []any{nodeproc.M{"ok": false, "reason": "rate_limited"}})
}

func recvErr(t *testing.T, errs <-chan error) error {
	t.Helper()
	select {
	case err := <-errs:
		return err
	case <-time.After(wait):
		t.Fatal("no error reported to OnError")
		return nil
	}
}

// TestSIOCatchAllAndListeners: Node's prependAny, offAny, listenersAny,
// offAnyOutgoing and listeners, observed through what the catch-all
// handlers emit and what the server reports.
func TestSIOCatchAllAndListeners(t *testing.T) {
	s := startSIO(t, nil, func(srv *socketio.Server, _ *srvLog) {
		srv.Of("/any").OnConnect(func(sock *socketio.Socket) {
			tag := func(name string) socketio.AnyHandler {
				return func(ctx context.Context, ev string, _ socketio.Args) {
					if !strings.HasPrefix(ev, "report") {
						_ = sock.Emit("any", name, ev)
					}
				}
			}
			removeA := sock.OnAny(tag("a"))
			sock.OnAny(tag("b"))
			sock.PrependAny(tag("first"))
			sock.OnAnyOutgoing(func(string, socketio.Args) {})
			socketio.On0(sock, "offA", func(context.Context) error { removeA(); return nil })
			socketio.On0(sock, "offAll", func(context.Context) error {
				sock.OffAny()
				sock.OffAnyOutgoing()
				sock.Off("x")
				return nil
			})
			socketio.On0(sock, "x", func(context.Context) error { return nil })
			socketio.OnAck0(sock, "report", func(context.Context) ([]any, error) {
				return []any{len(sock.AnyHandlers()), len(sock.AnyOutgoingHandlers()), sock.Handler("x") != nil}, nil
			})
		})
	})
	c := startClient(t)
	c.dial("s", s.URL(), "/any", nil)
	anys := func(want ...[]string) {
		t.Helper()
		for _, w := range want {
			jsonEqual(t, "catch-all", c.event("s", "any").Field("args"), w)
		}
	}
	c.emit("s", "x")
	anys([]string{"first", "x"}, []string{"a", "x"}, []string{"b", "x"})
	c.emitAck("s", "r1", 0, "report")
	jsonEqual(t, "listeners", c.ack("r1").Field("args"), []any{[]any{3, 1, true}})

	c.emit("s", "offA") // the handlers see it, then a is removed
	anys([]string{"first", "offA"}, []string{"a", "offA"}, []string{"b", "offA"})
	c.emit("s", "x")
	anys([]string{"first", "x"}, []string{"b", "x"})
	c.emitAck("s", "r2", 0, "report")
	jsonEqual(t, "listeners after offAny(a)", c.ack("r2").Field("args"), []any{[]any{2, 1, true}})

	c.emit("s", "offAll")
	anys([]string{"first", "offAll"}, []string{"b", "offAll"})
	c.emit("s", "x")
	c.emitAck("s", "r3", 0, "report")
	jsonEqual(t, "listeners after offAny()", c.ack("r3").Field("args"), []any{[]any{0, 0, false}})
	noMore(t, c.p, "catch-all after offAny", func(e nodeproc.Event) bool {
		return e.Type == "event" && e.Str("name") == "any"
	})
}

// TestSIOConn: socket.conn's transport, upgrade event, remote address and
// request headers.
func TestSIOConn(t *testing.T) {
	registered := make(chan struct{})
	cfg := &socketio.Config{}
	// The upgrade's 101 waits until OnUpgrade is registered, so that the
	// test sees the event rather than an upgrade that came first.
	cfg.Engine.Headers = func(_ http.Header, r *http.Request) {
		if q := r.URL.Query(); q.Get("transport") == "websocket" && q.Has("sid") {
			select {
			case <-registered:
			case <-time.After(wait):
			}
		}
	}
	s := startSIO(t, cfg, func(srv *socketio.Server, _ *srvLog) {
		srv.Of("/conn").OnConnect(func(sock *socketio.Socket) {
			conn := sock.Conn()
			conn.OnUpgrade(func(tr engineio.Transport) {
				_ = sock.Emit("upgraded", string(tr), sock.Conn().Transport(), sock.Conn().Upgraded())
			})
			close(registered)
			_ = sock.Emit("conn", nodeproc.M{
				"transport": string(conn.Transport()),
				"header":    conn.Request().Header.Get("X-Client"),
				"local":     strings.HasPrefix(conn.RemoteAddr(), "127.0.0.1:"),
				"upgraded":  conn.Upgraded(),
			})
		})
	})
	c := startClient(t)
	c.dial("s", s.URL(), "/conn", nodeproc.M{"extraHeaders": nodeproc.M{"x-client": "interop"}})
	jsonEqual(t, "conn", c.event("s", "conn").Field("args"),
		[]any{nodeproc.M{"transport": "polling", "header": "interop", "local": true, "upgraded": false}})
	jsonEqual(t, "upgrade event", c.event("s", "upgraded").Field("args"), []any{"websocket", "websocket", true})
}

// TestSIOHeaderHooks: Engine.InitialHeaders and Engine.Headers reach the
// polling responses, where the official client's cookie jar keeps a cookie
// set on the handshake and sends it with its later requests, the
// upgrade's included, and the WebSocket 101 responses.
func TestSIOHeaderHooks(t *testing.T) {
	type seen struct{ transport, cookie string }
	requests := make(chan seen, 64)
	cfg := &socketio.Config{}
	cfg.Engine.InitialHeaders = func(h http.Header, r *http.Request) {
		h.Add("Set-Cookie", "hook=initial; Path=/")
		h.Set("X-Initial", "yes")
	}
	cfg.Engine.Headers = func(h http.Header, r *http.Request) {
		h.Set("X-Every", "yes")
		requests <- seen{r.URL.Query().Get("transport"), r.Header.Get("Cookie")}
	}
	s := startSIO(t, cfg, nil)
	c := startClient(t)
	c.dial("s", s.URL(), "/", nodeproc.M{"withCredentials": true})
	c.wait("s", "upgrade")
	deadline := time.After(wait)
	for found := false; !found; {
		select {
		case r := <-requests:
			found = r.transport == "websocket" && r.cookie == "hook=initial"
		case <-deadline:
			t.Fatal("the upgrade request did not carry the cookie set by InitialHeaders")
		}
	}
	ws := "ws" + strings.TrimPrefix(s.URL(), "http") + "/socket.io/?EIO=4&transport=websocket"
	res := c.p.Call(nodeproc.M{"cmd": "wsHeaders", "url": ws})
	var hs struct {
		Status  int
		Headers map[string]any
	}
	res.Decode("status", &hs.Status)
	res.Decode("headers", &hs.Headers)
	if hs.Status != 101 || hs.Headers["x-initial"] != "yes" || hs.Headers["x-every"] != "yes" ||
		!strings.Contains(fmt.Sprint(hs.Headers["set-cookie"]), "hook=initial") {
		t.Errorf("101 response: %d %v", hs.Status, hs.Headers)
	}
}

// TestSIOServerShortcuts: Node's io.fetchSockets, io.socketsJoin,
// io.disconnectSockets and disconnectSockets(true) on the server and a
// namespace, as the clients see them.
func TestSIOServerShortcuts(t *testing.T) {
	s := startSIO(t, nil, func(srv *socketio.Server, _ *srvLog) {
		srv.OnConnect(func(sock *socketio.Socket) { sock.SetData(tMeta{Name: sock.ID()}) })
	})
	c := startClient(t)
	open := func(names ...string) {
		for _, n := range names {
			c.dial(n, s.URL(), "/", nodeproc.M{"reconnection": false, "forceNew": true})
			s.connected(t, "/")
		}
	}
	open("a", "b")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	socks, err := s.srv.FetchSockets(ctx)
	if err != nil || len(socks) != 2 {
		t.Fatalf("FetchSockets: %d, %v", len(socks), err)
	}
	for _, r := range socks {
		if m, err := socketio.DataAs[tMeta](r.Data); err != nil || m.Name != r.ID {
			t.Errorf("data of %s: %+v %v", r.ID, m, err)
		}
	}
	if err := s.srv.SocketsJoin(ctx, "all"); err != nil {
		t.Fatal(err)
	}
	if err := s.srv.To("all").Emit(ctx, "hello"); err != nil {
		t.Fatal(err)
	}
	c.event("a", "hello")
	c.event("b", "hello")

	if err := s.srv.DisconnectSockets(ctx); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b"} {
		if r := c.wait(n, "disconnect").Str("reason"); r != "io server disconnect" {
			t.Errorf("%s: %q after DisconnectSockets", n, r)
		}
	}
	open("c")
	if err := s.srv.Of("/").CloseConns(ctx); err != nil {
		t.Fatal(err)
	}
	c.wait("c", "close")
	open("d")
	if err := s.srv.CloseConns(ctx); err != nil {
		t.Fatal(err)
	}
	c.wait("d", "close")
}
