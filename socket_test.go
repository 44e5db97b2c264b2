package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestConnectMainNamespace(t *testing.T) {
	srv := newTestServer(t, nil)
	sockets := connected(srv.Of("/"))
	before := time.Now()
	c := dial(t, srv)
	id := c.connect("/")
	s := recv(t, sockets)
	connectedAt := time.Now()
	time.Sleep(2 * time.Millisecond) // the handshake is built below, later: its time is still the socket's
	if ht := s.Handshake().Time; ht.Before(before) || ht.After(connectedAt) {
		t.Errorf("handshake time %v, not between %v and %v", ht, before, connectedAt)
	}
	equal(t, "id", s.ID(), id)
	equal(t, "id length", len(id), 20)
	if id == c.f.id {
		t.Fatal("socket id must not be the Engine.IO id")
	}
	equal(t, "rooms", s.Rooms(), []string{id})
	hs := s.Handshake()
	if s.Handshake() != hs {
		t.Fatal("Handshake built twice")
	}
	equal(t, "auth", string(hs.Auth), "{}")
	equal(t, "query", hs.Query.Get("x"), "1")
	equal(t, "xdomain", hs.XDomain, true)
	equal(t, "address", hs.Address, "127.0.0.1")
}

func TestConnectCustomNamespaceForms(t *testing.T) {
	srv := newTestServer(t, nil)
	sockets := connected(srv.Of("/custom"))
	for _, tc := range []struct{ frame, auth string }{
		{"40/custom,", "{}"},
		{"40/custom", "{}"},
		{`40/custom,{"token":"abc"}`, `{"token":"abc"}`},
	} {
		c := dial(t, srv)
		c.send(tc.frame)
		c.expectPrefix(`40/custom,{"sid":"`)
		s := recv(t, sockets)
		equal(t, tc.frame+" auth", string(s.Handshake().Auth), tc.auth)
	}
}

func TestInvalidNamespaceKeepsConnection(t *testing.T) {
	srv := newTestServer(t, nil)
	c := dial(t, srv)
	c.send("40/random")
	c.expect(`44/random,{"message":"Invalid namespace"}`)
	c.connect("/") // still usable
	if c.f.isClosed() {
		t.Fatal("connection closed")
	}
}

func TestMiddlewareRejection(t *testing.T) {
	srv := newTestServer(t, nil)
	nsp := srv.Of("/admin")
	nsp.Use(func(ctx context.Context, s *Socket) error {
		var auth struct{ Token string }
		_ = json.Unmarshal(s.Handshake().Auth, &auth)
		switch auth.Token {
		case "ok":
			s.SetData("admitted")
			return nil
		case "plain":
			return errors.New("plain refusal")
		}
		return &ConnectError{Message: "not authorized", Data: map[string]any{"code": 42}}
	})
	sockets := connected(nsp)
	c := dial(t, srv)
	c.send(`40/admin,{"token":"bad"}`)
	c.expect(`44/admin,{"message":"not authorized","data":{"code":42}}`)
	c.send(`40/admin,{"token":"plain"}`)
	c.expect(`44/admin,{"message":"plain refusal"}`)
	c.send(`40/admin,{"token":"ok"}`)
	c.expectPrefix(`40/admin,{"sid":"`)
	equal(t, "data", mustData[string](t, recv(t, sockets).Data()), "admitted")
}

func TestMiddlewaresRunInOrder(t *testing.T) {
	srv := newTestServer(t, nil)
	var order []int
	for i := range 3 {
		srv.Use(func(ctx context.Context, s *Socket) error { order = append(order, i); return nil })
	}
	c := dial(t, srv)
	c.connect("/")
	equal(t, "order", order, []int{0, 1, 2})
}

type greeting struct {
	Name string `json:"name"`
}

func TestTypedHandlersAndAcks(t *testing.T) {
	srv := newTestServer(t, nil)
	got := make(chan greeting, 1)
	srv.OnConnect(func(s *Socket) {
		On(s, "hello", func(ctx context.Context, g greeting) error { got <- g; return nil })
		OnAck(s, "sum", func(ctx context.Context, xs []int) (int, error) {
			if len(xs) == 0 {
				return 0, &Error{Code: "empty", Message: "nothing to add", Data: map[string]int{"min": 1}}
			}
			total := 0
			for _, x := range xs {
				total += x
			}
			return total, nil
		})
		On(s, "fail", func(ctx context.Context, _ struct{}) error { return errors.New("db: main.Store failed") })
	})
	c := dial(t, srv)
	c.connect("/")
	c.send(`42["hello",{"name":"ann"}]`)
	equal(t, "greeting", recv(t, got), greeting{Name: "ann"})
	c.send(`427["sum",[1,2,3]]`)
	c.expect(`437[6]`)
	c.send(`428["sum",[]]`)
	c.expect(`438[{"error":{"code":"empty","message":"nothing to add","data":{"min":1}}}]`)
	c.send(`429["sum","not a list"]`)
	c.expect(`439[{"error":{"code":"invalid_argument","message":"argument 0: expected array, got string"}}]`)
	c.send(`4210["fail"]`) // not an *Error: its text stays on the server
	c.expect(`4310[{"error":{"code":"internal","message":"internal error"}}]`)
	c.send(`4211["hello",{"name":"bob"}]`) // On acknowledges with no argument
	c.expect(`4311[]`)
	recv(t, got)
}

type joinReq struct {
	Room  string `json:"room"`
	Limit int    `json:"limit"`
	Meta  struct {
		Tags []string `json:"tags"`
	} `json:"meta"`
}

func (j joinReq) Validate() error {
	if j.Room == "" {
		return errors.New("room is required")
	}
	return nil
}

type upload struct {
	Name string `json:"name"`
	Data []byte `json:"data"`
}

// TestTypedShapes registers a handler of every shape and checks what each
// acknowledges, and what reaches OnError when the client asked for none.
func TestTypedShapes(t *testing.T) {
	srv := newTestServer(t, nil)
	errs := make(chan error, 8)
	calls := make(chan string, 8)
	srv.OnConnect(func(s *Socket) {
		s.OnError(func(err error) { errs <- err })
		On0(s, "ping", func(ctx context.Context) error { calls <- "ping"; return nil })
		On2(s, "msg", func(ctx context.Context, room, text string) error {
			calls <- room + ":" + text
			return nil
		})
		On3(s, "move", func(ctx context.Context, x, y int, fast bool) error {
			calls <- fmt.Sprint(x, y, fast)
			return nil
		})
		OnAck0(s, "rooms", func(ctx context.Context) ([]string, error) { return []string{"a", "b"}, nil })
		OnAck(s, "join", func(ctx context.Context, j joinReq) (string, error) { return "joined " + j.Room, nil })
		OnAck2(s, "upload", func(ctx context.Context, meta upload, b []byte) (upload, error) {
			return upload{Name: meta.Name + "+" + string(meta.Data), Data: b}, nil
		})
		OnAck3(s, "add3", func(ctx context.Context, a, b, c float64) (float64, error) { return a + b + c, nil })
	})
	c := dial(t, srv)
	c.connect("/")

	c.send(`42["ping","ignored",1]`)
	equal(t, "On0", recv(t, calls), "ping")
	c.send(`421["ping"]`)
	c.expect(`431[]`)
	equal(t, "On0 with ack", recv(t, calls), "ping")
	c.send(`42["msg","r1","hi \u00e9"]`)
	equal(t, "On2", recv(t, calls), "r1:hi é")
	c.send(`42["msg","r1"]`) // a missing argument is the zero value
	equal(t, "On2 missing", recv(t, calls), "r1:")
	c.send(`42["move",1,2,true]`)
	equal(t, "On3", recv(t, calls), "1 2 true")

	c.send(`422["rooms"]`)
	c.expect(`432[["a","b"]]`)
	c.send(`423["join",{"room":"r"}]`)
	c.expect(`433["joined r"]`)
	c.send(`424["add3",1,2.5,3]`)
	c.expect(`434[6.5]`)
	// binary: an attachment inside a struct and as the trailing argument
	c.send(`452-5["upload",{"name":"f","data":{"_placeholder":true,"num":0}},{"_placeholder":true,"num":1}]`)
	c.sendBinary([]byte("in"))
	c.sendBinary([]byte{0, 1, 2})
	c.expect(`461-5[{"name":"f+in","data":{"_placeholder":true,"num":0}}]`)
	c.expectBinary([]byte{0, 1, 2})

	// Decoding and validation errors: in the acknowledgement when asked
	// for, in JSON terms; without one, to OnError with the details.
	c.send(`425["join",{"room":7}]`)
	c.expect(`435[{"error":{"code":"invalid_argument","message":"argument 0: field \"room\": expected string, got number"}}]`)
	c.send(`426["join",{"room":"r","meta":{"tags":"x"}}]`)
	c.expect(`436[{"error":{"code":"invalid_argument","message":"argument 0: field \"meta.tags\": expected array, got string"}}]`)
	c.send(`427["join",{}]`)
	c.expect(`437[{"error":{"code":"invalid_argument","message":"argument 0: room is required"}}]`)
	c.send(`428["move",1,"two"]`)
	c.expect(`438[{"error":{"code":"invalid_argument","message":"argument 1: expected integer, got string"}}]`)
	c.send(`42["move",1.5]`)
	err := recv(t, errs)
	var te *json.UnmarshalTypeError
	if CodeOf(err) != CodeInvalidArgument || !errors.As(err, &te) {
		t.Errorf("OnError got %v, want an invalid argument wrapping the json error", err)
	}
	select {
	case err := <-errs:
		t.Errorf("an error the client was told about reached OnError: %v", err)
	case c := <-calls:
		t.Errorf("unexpected call %q", c)
	default:
	}
}

// TestErrorReplyHook replaces the error shape.
func TestErrorReplyHook(t *testing.T) {
	srv := newTestServer(t, &Config{ErrorReply: func(err error) any {
		return map[string]any{"ok": false, "reason": string(CodeOf(err))}
	}})
	srv.OnConnect(func(s *Socket) {
		OnAck(s, "n", func(ctx context.Context, n int) (int, error) { return n, nil })
		s.Use(func(ctx context.Context, ev string, args Args) error {
			if ev == "limited" {
				return &Error{Code: CodeRateLimited}
			}
			return nil
		})
	})
	c := dial(t, srv)
	c.connect("/")
	c.send(`421["n","x"]`)
	c.expect(`431[{"ok":false,"reason":"invalid_argument"}]`)
	c.send(`422["limited"]`) // a packet middleware's error, before any handler
	c.expect(`432[{"ok":false,"reason":"rate_limited"}]`)
}

func TestOnErrorReceivesHandlerErrors(t *testing.T) {
	srv := newTestServer(t, nil)
	errs := make(chan error, 1)
	srv.OnConnect(func(s *Socket) {
		s.OnError(func(err error) { errs <- err })
		On(s, "fail", func(ctx context.Context, _ any) error { return errors.New("boom") })
	})
	c := dial(t, srv)
	c.connect("/")
	c.send(`42["fail"]`)
	err := recv(t, errs)
	if !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v", err)
	}
}

func TestEmitWithAckServerToClient(t *testing.T) {
	srv := newTestServer(t, nil)
	sockets := connected(srv.Of("/"))
	c := dial(t, srv)
	c.connect("/")
	s := recv(t, sockets)

	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := Call[int](context.Background(), s, "double", 21)
		done <- result{n, err}
	}()
	c.expect(`420["double",21]`)
	c.send(`430[42]`)
	r := recv(t, done)
	noErr(t, r.err)
	equal(t, "reply", r.n, 42)

	// Expiry of the context.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := s.EmitWithAck(ctx, "never")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	c.expect(`421["never"]`)
	c.send(`431["late"]`) // unknown id by now: ignored
	c.send(`439[]`)       // never issued: ignored

	// Disconnection while waiting.
	go func() {
		_, err := s.EmitWithAck(context.Background(), "pending")
		done <- result{0, err}
	}()
	c.expect(`422["pending"]`)
	c.send("41")
	if err := recv(t, done).err; !errors.Is(err, ErrDisconnected) {
		t.Fatalf("err = %v, want ErrDisconnected", err)
	}
}

func TestAckFromRawHandlerOnlyOnce(t *testing.T) {
	srv := newTestServer(t, nil)
	second := make(chan error, 1)
	srv.OnConnect(func(s *Socket) {
		s.OnRaw("echo", func(ctx context.Context, args Args, ack AckFunc) {
			if ack == nil {
				second <- errors.New("no ack func")
				return
			}
			_ = ack(args.Values()...)
			second <- ack("again")
		})
	})
	c := dial(t, srv)
	c.connect("/")
	c.send(`4256["echo",1,"2",{"3":[false]}]`)
	c.expect(`4356[1,"2",{"3":[false]}]`)
	if err := recv(t, second); !errors.Is(err, ErrAckSent) {
		t.Fatalf("second ack: %v", err)
	}
}

func TestReservedEventNames(t *testing.T) {
	srv := newTestServer(t, nil)
	sockets := connected(srv.Of("/"))
	c := dial(t, srv)
	c.connect("/")
	s := recv(t, sockets)
	for _, ev := range []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"} {
		if err := s.Emit(ev); !errors.Is(err, ErrReservedEvent) {
			t.Errorf("Emit(%q) = %v", ev, err)
		}
		if err := srv.Emit(context.Background(), ev); !errors.Is(err, ErrReservedEvent) {
			t.Errorf("broadcast Emit(%q) = %v", ev, err)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("OnRaw(%q) did not panic", ev)
				}
			}()
			s.OnRaw(ev, func(context.Context, Args, AckFunc) {})
		}()
	}
}

func TestBinaryBothWays(t *testing.T) {
	srv := newTestServer(t, nil)
	type file struct {
		Name string `json:"name"`
		Body []byte `json:"body"`
	}
	files := make(chan file, 1)
	sockets := connected(srv.Of("/"))
	srv.OnConnect(func(s *Socket) {
		On(s, "upload", func(ctx context.Context, f file) error { files <- f; return nil })
		s.OnRaw("message", func(ctx context.Context, args Args, ack AckFunc) {
			b, ok := args.Binary(0)
			if !ok || string(b) != "\x01\x02\x03" {
				t.Errorf("Binary(0) = %v, %v", b, ok)
			}
			_ = s.Emit("message-back", args.Values()...)
		})
	})
	c := dial(t, srv)
	c.connect("/")
	s := recv(t, sockets)

	// Nested placeholder decoded into a []byte field.
	c.send(`451-["upload",{"name":"a.bin","body":{"_placeholder":true,"num":0}}]`)
	c.sendBinary([]byte{9, 8, 7})
	equal(t, "file", recv(t, files), file{Name: "a.bin", Body: []byte{9, 8, 7}})

	// Echo keeps the attachments in order.
	c.send(`452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	c.sendBinary([]byte{1, 2, 3})
	c.sendBinary([]byte{4, 5, 6})
	c.expect(`452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`)
	c.expectBinary([]byte{1, 2, 3})
	c.expectBinary([]byte{4, 5, 6})

	// Server to client, nested.
	noErr(t, s.Emit("file", file{Name: "b", Body: nil}, []byte("xyz")))
	c.expect(`451-["file",{"name":"b","body":null},{"_placeholder":true,"num":0}]`)
	c.expectBinary([]byte("xyz"))
}

func TestVolatileDroppedWhenBusy(t *testing.T) {
	srv := newTestServer(t, nil)
	sockets := connected(srv.Of("/"))
	c := dial(t, srv)
	c.connect("/")
	s := recv(t, sockets)
	c.f.busy = true
	noErr(t, s.Volatile().Emit("tick", 1))
	noErr(t, srv.Volatile().Emit(context.Background(), "tick", 2))
	noErr(t, s.Emit("tock", 3))
	c.expect(`42["tock",3]`)
	c.f.busy = false
	noErr(t, s.Volatile().Emit("tick", 4))
	c.expect(`42["tick",4]`)
}

func TestCatchAll(t *testing.T) {
	srv := newTestServer(t, nil)
	type seen struct {
		ev   string
		args string
	}
	in := make(chan seen, 4)
	out := make(chan seen, 4)
	sockets := connected(srv.Of("/"))
	srv.OnConnect(func(s *Socket) {
		s.OnAny(func(ctx context.Context, ev string, args Args) { in <- seen{ev, args.String()} })
		s.OnAnyOutgoing(func(ev string, args Args) { out <- seen{ev, args.String()} })
	})
	c := dial(t, srv)
	c.connect("/")
	s := recv(t, sockets)
	c.send(`42["anything",1,{"a":true}]`)
	equal(t, "incoming", recv(t, in), seen{"anything", `[1,{"a":true}]`})
	noErr(t, s.Emit("direct", "x"))
	equal(t, "outgoing", recv(t, out), seen{"direct", `["x"]`})
	noErr(t, srv.Emit(context.Background(), "broadcast", 2))
	equal(t, "outgoing broadcast", recv(t, out), seen{"broadcast", `[2]`})
}

// TestCatchAllRemoval covers Node's prependAny, offAny, listenersAny,
// offAnyOutgoing and listeners.
func TestCatchAllRemoval(t *testing.T) {
	cs, ss := joined(t, newTestServer(t, nil), 1)
	c, s := cs[0], ss[0]
	calls := make(chan string, 16)
	tag := func(name string) AnyHandler {
		return func(ctx context.Context, ev string, args Args) { calls <- name + ":" + ev }
	}
	removeA := s.OnAny(tag("a"))
	s.OnAny(tag("b"))
	s.PrependAny(tag("first"))
	equal(t, "AnyHandlers", len(s.AnyHandlers()), 3)
	s.OnRaw("ev", func(context.Context, Args, AckFunc) { calls <- "handler" })
	equal(t, "Handler", s.Handler("ev") != nil && s.Handler("other") == nil, true)

	c.send(`42["ev"]`)
	for _, want := range []string{"first:ev", "a:ev", "b:ev", "handler"} {
		equal(t, "order", recv(t, calls), want)
	}
	removeA()
	removeA() // again: nothing
	c.send(`42["ev"]`)
	for _, want := range []string{"first:ev", "b:ev", "handler"} {
		equal(t, "after removing a", recv(t, calls), want)
	}
	s.OffAny()
	s.Off("ev")
	equal(t, "after OffAny", len(s.AnyHandlers()), 0)
	equal(t, "after Off", s.Handler("ev") == nil, true)
	synced := make(chan struct{})
	s.OnRaw("sync", func(context.Context, Args, AckFunc) { close(synced) })
	c.send(`42["ev"]`, `42["ev"]`, `42["sync"]`) // handled in order
	recv(t, synced)
	select {
	case got := <-calls:
		t.Errorf("called after removal: %s", got)
	default:
	}

	out := make(chan string, 4)
	removeOut := s.OnAnyOutgoing(func(ev string, _ Args) { out <- "late:" + ev })
	s.PrependAnyOutgoing(func(ev string, _ Args) { out <- "early:" + ev })
	equal(t, "AnyOutgoingHandlers", len(s.AnyOutgoingHandlers()), 2)
	noErr(t, s.Emit("x"))
	equal(t, "outgoing 1", recv(t, out), "early:x")
	equal(t, "outgoing 2", recv(t, out), "late:x")
	removeOut()
	noErr(t, s.Emit("y"))
	equal(t, "outgoing after removal", recv(t, out), "early:y")
	s.OffAnyOutgoing()
	noErr(t, s.Emit("z"))
	equal(t, "none left", len(s.AnyOutgoingHandlers()), 0)
	c.expect(`42["x"]`)
	c.expect(`42["y"]`)
	c.expect(`42["z"]`)
	equal(t, "nothing after OffAnyOutgoing", len(out), 0)
}

func TestPacketMiddleware(t *testing.T) {
	srv := newTestServer(t, nil)
	handled := make(chan string, 4)
	errs := make(chan error, 4)
	srv.OnConnect(func(s *Socket) {
		s.Use(func(ctx context.Context, ev string, args Args) error {
			if ev == "forbidden" {
				return errors.New("forbidden event")
			}
			return nil
		})
		s.OnError(func(err error) { errs <- err })
		s.OnRaw("forbidden", func(context.Context, Args, AckFunc) { handled <- "forbidden" })
		s.OnRaw("allowed", func(context.Context, Args, AckFunc) { handled <- "allowed" })
	})
	c := dial(t, srv)
	c.connect("/")
	c.send(`42["forbidden"]`, `42["allowed"]`)
	equal(t, "handled", recv(t, handled), "allowed")
	equal(t, "error", recv(t, errs).Error(), `socketio: event "forbidden": forbidden event`)
}

func TestHandlersRunInOrderOneAtATime(t *testing.T) {
	srv := newTestServer(t, nil)
	var seen []int
	done := make(chan struct{})
	active := 0
	srv.OnConnect(func(s *Socket) {
		On(s, "n", func(ctx context.Context, n int) error {
			active++
			if active != 1 {
				t.Errorf("%d handlers at once", active)
			}
			time.Sleep(time.Microsecond)
			seen = append(seen, n)
			active--
			if n == 99 {
				close(done)
			}
			return nil
		})
	})
	c := dial(t, srv)
	c.connect("/")
	for i := range 100 {
		c.send(`42["n",` + itoa(i) + `]`)
	}
	recv(t, done)
	for i, n := range seen {
		if n != i {
			t.Fatalf("event %d handled at position %d", n, i)
		}
	}
}

func itoa(i int) string { return strings.TrimSpace(string(json.RawMessage(mustJSON(i)))) }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestBlockingHandlerDoesNotStallAcks(t *testing.T) {
	srv := newTestServer(t, nil)
	sockets := connected(srv.Of("/"))
	release := make(chan struct{})
	srv.OnConnect(func(s *Socket) {
		On(s, "block", func(ctx context.Context, _ any) error { <-release; return nil })
	})
	c := dial(t, srv)
	c.connect("/")
	s := recv(t, sockets)
	c.send(`42["block"]`)
	reply := make(chan Args, 1)
	go func() {
		a, err := s.EmitWithAck(context.Background(), "q")
		if err == nil {
			reply <- a
		}
	}()
	c.expect(`420["q"]`)
	c.send(`430["answer"]`)
	equal(t, "ack", recv(t, reply).String(), `["answer"]`)
	close(release)
}

func TestPanickingHandlerEndsOnlyItsSocket(t *testing.T) {
	srv := newTestServer(t, nil)
	disc := make(chan DisconnectEvent, 2)
	srv.OnConnect(func(s *Socket) {
		s.OnDisconnect(func(ev DisconnectEvent) { disc <- ev })
		On(s, "panic", func(ctx context.Context, _ any) error { panic("oops") })
		On(s, "ping", func(ctx context.Context, _ any) error { return s.Emit("pong") })
	})
	srv.Of("/other").OnConnect(func(s *Socket) {
		On(s, "ping", func(ctx context.Context, _ any) error { return s.Emit("pong") })
	})
	c := dial(t, srv)
	c.connect("/")
	c.connect("/other")
	c2 := dial(t, srv)
	c2.connect("/")

	c.send(`42["panic"]`)
	c.expect("41")
	ev := recv(t, disc)
	equal(t, "reason", ev.Reason, ReasonHandlerPanic)
	var perr *HandlerPanicError
	if !errors.As(ev.Err, &perr) || perr.Value != "oops" {
		t.Fatalf("err = %v", ev.Err)
	}
	// The connection and other sockets live on.
	c.send(`42/other,["ping"]`)
	c.expect(`42/other,["pong"]`)
	c2.send(`42["ping"]`)
	c2.expect(`42["pong"]`)
}

func TestHandlerQueueOverflowDisconnect(t *testing.T) {
	srv := newTestServer(t, &Config{MaxPendingEvents: 4, Overflow: OverflowDisconnect})
	release := make(chan struct{})
	disc := make(chan DisconnectReason, 1)
	srv.OnConnect(func(s *Socket) {
		s.OnDisconnect(func(ev DisconnectEvent) { disc <- ev.Reason })
		On(s, "block", func(ctx context.Context, _ any) error { <-release; return nil })
	})
	c := dial(t, srv)
	c.connect("/")
	c.send(`42["block"]`)
	time.Sleep(20 * time.Millisecond) // the first one is running
	for range 5 {
		c.send(`42["block"]`)
	}
	c.expect("41")
	close(release)
	equal(t, "reason", recv(t, disc), ReasonHandlerQueueFull)
}

func TestClientDisconnectLeavesOnlyThatNamespace(t *testing.T) {
	srv := newTestServer(t, nil)
	disc := make(chan DisconnectEvent, 1)
	srv.Of("/custom").OnConnect(func(s *Socket) {
		s.OnDisconnect(func(ev DisconnectEvent) { disc <- ev })
	})
	srv.OnConnect(func(s *Socket) {
		s.OnRaw("message", func(ctx context.Context, args Args, ack AckFunc) {
			_ = s.Emit("message-back", args.Values()...)
		})
	})
	c := dial(t, srv)
	c.connect("/")
	id := c.connect("/custom")
	c.send("41/custom,")
	ev := recv(t, disc)
	equal(t, "reason", ev.Reason, ReasonClientNamespaceDisconnect)
	equal(t, "rooms", ev.Rooms, []string{id})
	c.send(`42["message","still here"]`)
	c.expect(`42["message-back","still here"]`)
	equal(t, "custom sockets", len(srv.Of("/custom").Sockets()), 0)
	// Reconnecting to the namespace is allowed.
	c.connect("/custom")
}

func TestServerDisconnect(t *testing.T) {
	srv := newTestServer(t, nil)
	sockets := connected(srv.Of("/chat"))
	disc := make(chan DisconnectReason, 2)
	srv.Of("/chat").OnConnect(func(s *Socket) {
		s.OnDisconnecting(func(ev DisconnectEvent) { disc <- "disconnecting:" + ev.Reason })
		s.OnDisconnect(func(ev DisconnectEvent) { disc <- ev.Reason })
	})
	c := dial(t, srv)
	c.connect("/")
	c.connect("/chat")
	s := recv(t, sockets)
	ctx := s.Context()
	s.Disconnect()
	c.expect("41/chat,")
	equal(t, "first", recv(t, disc), "disconnecting:"+ReasonServerNamespaceDisconnect)
	equal(t, "then", recv(t, disc), ReasonServerNamespaceDisconnect)
	if ctx.Err() == nil {
		t.Fatal("socket context not canceled")
	}
	if err := s.Emit("x"); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("emit after disconnect: %v", err)
	}
	if c.f.isClosed() {
		t.Fatal("Disconnect closed the connection")
	}
	c.connect("/chat")
}

func TestCloseConn(t *testing.T) {
	srv := newTestServer(t, nil)
	sockets := connected(srv.Of("/"))
	c := dial(t, srv)
	c.connect("/")
	s := recv(t, sockets)
	s.CloseConn()
	c.expect("41")
	c.waitClosed()
}

func TestEmitOrderFromHandler(t *testing.T) {
	// A socket's emissions reach the connection in call order.
	srv := newTestServer(t, nil)
	srv.OnConnect(func(s *Socket) {
		for i := range 50 {
			_ = s.Emit("n", i)
		}
	})
	c := dial(t, srv)
	c.connect("/")
	for i := range 50 {
		c.expect(`42["n",` + itoa(i) + `]`)
	}
}

func TestMiddlewareMayJoinAndEmit(t *testing.T) {
	srv := newTestServer(t, nil)
	srv.Use(func(ctx context.Context, s *Socket) error {
		s.Join("vip")
		return s.Emit("welcome")
	})
	c := dial(t, srv)
	c.send("40")
	c.expect(`42["welcome"]`)
	c.expectPrefix(`40{"sid":"`)
	noErr(t, srv.To("vip").Emit(context.Background(), "vip-only"))
	c.expect(`42["vip-only"]`)
}

func TestIdleSocketsCostNoGoroutine(t *testing.T) {
	srv := newTestServer(t, nil)
	handled := make(chan struct{}, 200)
	srv.OnConnect(func(s *Socket) {
		On(s, "e", func(ctx context.Context, _ any) error { handled <- struct{}{}; return nil })
	})
	before := runtime.NumGoroutine()
	var cs []*client
	for range 200 {
		c := dial(t, srv)
		c.connect("/")
		c.send(`42["e"]`)
		cs = append(cs, c)
	}
	for range 200 {
		recv(t, handled)
	}
	waitFor(t, "handler goroutines to exit", func() bool {
		return runtime.NumGoroutine() <= before+5
	})
	equal(t, "sockets", len(srv.Of("/").Sockets()), 200)
}

// TestHandlerQueueBackpressure checks that a client sending faster than its
// handlers run is held back, not disconnected: the connection is not read
// while the queue is full, and every event is handled once, in order.
func TestHandlerQueueBackpressure(t *testing.T) {
	srv := newTestServer(t, &Config{MaxPendingEvents: 4})
	release := make(chan struct{})
	var mu sync.Mutex
	var got []int
	disc := make(chan DisconnectReason, 1)
	srv.OnConnect(func(s *Socket) {
		s.OnDisconnect(func(ev DisconnectEvent) { disc <- ev.Reason })
		On(s, "n", func(ctx context.Context, i int) error {
			<-release
			mu.Lock()
			got = append(got, i)
			mu.Unlock()
			return nil
		})
	})
	c := dial(t, srv)
	c.connect("/")
	const n = 40
	var sent atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			c.send(fmt.Sprintf(`42["n",%d]`, i))
			sent.Add(1)
		}
	}()
	// One event runs (or is about to), four wait: the reader stops at the
	// fifth or sixth.
	waitFor(t, "the reader to stall", func() bool { return sent.Load() >= 4 })
	time.Sleep(50 * time.Millisecond)
	if k := sent.Load(); k > 6 {
		t.Fatalf("%d events read while the handler was blocked, want at most 6", k)
	}
	close(release)
	recv(t, done)
	waitFor(t, "every event handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == n
	})
	mu.Lock()
	defer mu.Unlock()
	for i, v := range got {
		if v != i {
			t.Fatalf("handled %v, want 0..%d in order", got, n-1)
		}
	}
	select {
	case r := <-disc:
		t.Fatalf("disconnected: %q", r)
	default:
	}
}

// TestHandlerQueueBackpressureAwaitingAck checks that a handler waiting for
// the client's acknowledgement does not deadlock with a full queue: the
// acknowledgement comes after more events than the queue holds, and the
// server reads on to it.
func TestHandlerQueueBackpressureAwaitingAck(t *testing.T) {
	srv := newTestServer(t, &Config{MaxPendingEvents: 4})
	answer := make(chan string, 1)
	var handled atomic.Int32
	srv.OnConnect(func(s *Socket) {
		OnAck(s, "ask", func(ctx context.Context, _ any) (string, error) {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			a, err := Call[string](ctx, s, "question")
			answer <- a
			return a, err
		})
		On(s, "n", func(ctx context.Context, i int) error { handled.Add(1); return nil })
	})
	c := dial(t, srv)
	c.connect("/")
	c.send(`420["ask",null]`)
	c.expect(`420["question"]`)
	// Twenty events the handlers cannot take yet, then the answer.
	for i := range 20 {
		c.send(fmt.Sprintf(`42["n",%d]`, i))
	}
	c.send(`430["yes"]`)
	if a := recv(t, answer); a != "yes" {
		t.Fatalf("answer %q", a)
	}
	waitFor(t, "every event handled", func() bool { return handled.Load() == 20 })
	c.expect(`430["yes"]`)
}
