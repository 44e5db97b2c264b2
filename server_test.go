package socketio

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestProtocolErrorsCloseOnlyTheOffender(t *testing.T) {
	for _, tc := range []struct {
		name   string
		frames []string
		reason DisconnectReason
	}{
		{"unknown packet type", []string{"4abc"}, ReasonParseError},
		{"unknown packet type after connect", []string{"40", "4abc"}, ReasonParseError},
		{"event payload not an array", []string{"40", "42{}"}, ReasonParseError},
		{"garbage ack id", []string{"40", `42abc["message-with-ack",1]`}, ReasonParseError},
		{"too many attachments", []string{"40", `4511-["a"]`}, ReasonParseError},
		{"packet for a namespace not joined", []string{"40", `42/other,["a"]`}, ReasonForcedServerClose},
		{"double connect", []string{"40", "40"}, ReasonForcedServerClose},
		{"connect error from client", []string{"40", `44{"message":"x"}`}, ReasonForcedServerClose},
		{"text while awaiting attachments", []string{"40", `451-["a",{"_placeholder":true,"num":0}]`, `42["b"]`}, ReasonParseError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTestServer(t, nil)
			disc := make(chan DisconnectReason, 2)
			srv.OnConnect(func(s *Socket) {
				s.OnDisconnect(func(ev DisconnectEvent) { disc <- ev.Reason })
				On(s, "ping", func(ctx context.Context, _ any) error { return s.Emit("pong") })
			})
			bystander := dial(t, srv)
			bystander.connect("/")
			c := dial(t, srv)
			for i, fr := range tc.frames {
				c.send(fr)
				if i == 0 && fr == "40" {
					c.expectPrefix(`40{"sid":"`)
				}
			}
			c.waitClosed()
			if tc.frames[0] == "40" {
				equal(t, "reason", recv(t, disc), tc.reason)
			}
			bystander.send(`42["ping"]`)
			bystander.expect(`42["pong"]`)
		})
	}
}

func TestBinaryWithoutPendingPacketCloses(t *testing.T) {
	srv := newTestServer(t, nil)
	c := dial(t, srv)
	c.connect("/")
	c.sendBinary([]byte{1})
	c.waitClosed()
}

func TestConnectTimeout(t *testing.T) {
	srv := newTestServer(t, &Config{ConnectTimeout: 50 * time.Millisecond})
	idle := dial(t, srv)
	busy := dial(t, srv)
	busy.connect("/")
	idle.waitClosed()
	time.Sleep(60 * time.Millisecond)
	if busy.f.isClosed() {
		t.Fatal("a connection with a namespace was closed")
	}
}

func TestShutdown(t *testing.T) {
	srv := newServer(nil)
	disc := make(chan DisconnectReason, 2)
	srv.OnConnect(func(s *Socket) {
		s.OnDisconnect(func(ev DisconnectEvent) { disc <- ev.Reason })
	})
	c := dial(t, srv)
	c.connect("/")
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	noErr(t, srv.Shutdown(ctx))
	equal(t, "reason", recv(t, disc), ReasonServerShuttingDown)
	c.waitClosed()
	if err := srv.Shutdown(ctx); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("second Shutdown: %v", err)
	}
	if srv.accept(&fakeConn{id: "late"}) != nil {
		t.Fatal("accepted a connection after Shutdown")
	}
}

func TestShutdownWaitsForHandlers(t *testing.T) {
	srv := newServer(nil)
	release := make(chan struct{})
	started := make(chan struct{})
	srv.OnConnect(func(s *Socket) {
		On(s, "slow", func(ctx context.Context, _ any) error {
			close(started)
			<-release
			return nil
		})
	})
	c := dial(t, srv)
	c.connect("/")
	c.send(`42["slow"]`)
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
	close(release)
}

func TestMiddlewareSeesCanceledContextWhenConnectionCloses(t *testing.T) {
	srv := newTestServer(t, nil)
	entered := make(chan struct{})
	result := make(chan error, 1)
	srv.Use(func(ctx context.Context, s *Socket) error {
		close(entered)
		<-ctx.Done()
		result <- ctx.Err()
		return ctx.Err()
	})
	c := dial(t, srv)
	c.send("40")
	<-entered
	_ = c.f.Close()
	if err := recv(t, result); err == nil {
		t.Fatal("middleware context not canceled")
	}
	waitFor(t, "no pending socket", func() bool {
		n := srv.Of("/")
		n.mu.RLock()
		defer n.mu.RUnlock()
		return len(n.pending) == 0 && len(n.sockets) == 0
	})
}

func TestDynamicNamespaces(t *testing.T) {
	srv := newTestServer(t, &Config{CleanupEmptyChildNamespaces: true})
	parent := srv.OfRegexp(regexp.MustCompile(`^/room-\d+$`))
	var created []string
	srv.OnNamespace(func(n *Namespace) { created = append(created, n.Name()) })
	parent.Use(func(ctx context.Context, s *Socket) error {
		if strings.HasSuffix(s.Namespace().Name(), "0") {
			return &ConnectError{Message: "zero"}
		}
		return nil
	})
	sockets := make(chan *Socket, 4)
	parent.OnConnect(func(s *Socket) { sockets <- s })

	fn := srv.OfFunc(func(ctx context.Context, name string, auth json.RawMessage) bool {
		return name == "/allowed" && string(auth) == `{"ok":true}`
	})
	fnSockets := make(chan *Socket, 1)
	fn.OnConnect(func(s *Socket) { fnSockets <- s })

	c := dial(t, srv)
	c.send("40/room-1,")
	c.expectPrefix(`40/room-1,{"sid":"`)
	s := recv(t, sockets)
	equal(t, "nsp", s.Namespace().Name(), "/room-1")
	equal(t, "children", len(parent.Children()), 1)

	c.send("40/room-10,")
	c.expect(`44/room-10,{"message":"zero"}`)

	c.send("40/room-x,")
	c.expect(`44/room-x,{"message":"Invalid namespace"}`)

	c.send(`40/allowed,{"ok":false}`)
	c.expect(`44/allowed,{"message":"Invalid namespace"}`)
	c.send(`40/allowed,{"ok":true}`)
	c.expectPrefix(`40/allowed,{"sid":"`)
	recv(t, fnSockets)

	// Parent broadcast reaches the children.
	noErr(t, parent.Emit(context.Background(), "to-children"))
	c.expect(`42/room-1,["to-children"]`)

	// An empty child is removed.
	c.send("41/room-1,")
	waitFor(t, "child removed", func() bool { return len(parent.Children()) == 0 })
	srv.mu.RLock()
	_, still := srv.nsps["/room-1"]
	srv.mu.RUnlock()
	equal(t, "still registered", still, false)
	c.send("40/room-1,")
	c.expectPrefix(`40/room-1,{"sid":"`)
	equal(t, "created", created[:3], []string{"/room-1", "/room-10", "/allowed"})
}

func TestOfCreatesChildOfMatchingParent(t *testing.T) {
	srv := newTestServer(t, nil)
	parent := srv.OfRegexp(regexp.MustCompile(`^/dyn-`))
	n := srv.Of("/dyn-a")
	equal(t, "children", parent.Children(), []*Namespace{n})
	if _, err := parent.To("x").FetchSockets(context.Background()); !errors.Is(err, ErrParentNamespace) {
		t.Fatalf("FetchSockets on parent: %v", err)
	}
}

func TestConnectHandlerRunsBeforeEvents(t *testing.T) {
	srv := newTestServer(t, nil)
	release := make(chan struct{})
	got := make(chan string, 1)
	srv.OnConnect(func(s *Socket) {
		<-release // events arriving meanwhile wait
		s.OnRaw("e", func(ctx context.Context, args Args, ack AckFunc) { got <- args.String() })
	})
	c := dial(t, srv)
	c.connect("/")
	c.send(`42["e",1]`)
	close(release)
	equal(t, "event", recv(t, got), `[1]`)
}
