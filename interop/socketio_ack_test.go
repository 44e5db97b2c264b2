package interop

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/interop/internal/nodeproc"
)

// TestSIOAcksFromServer answers the client's acknowledgement requests with
// values, errors, several arguments, or never (the client's timeout fires).
func TestSIOAcksFromServer(t *testing.T) {
	s := startSIO(t, nil, func(srv *socketio.Server, _ *srvLog) {
		srv.OnConnect(func(sock *socketio.Socket) {
			socketio.OnAck(sock, "sum", func(_ context.Context, xs []int) (int, error) {
				n := 0
				for _, x := range xs {
					n += x
				}
				return n, nil
			})
			socketio.OnAck(sock, "fail", func(context.Context, string) (int, error) {
				return 0, &socketio.Error{Code: "not_found", Message: "no such thing"}
			})
			socketio.On(sock, "done", func(context.Context, string) error { return nil })
			sock.OnRaw("multi", func(_ context.Context, _ socketio.Args, ack socketio.AckFunc) {
				_ = ack("a", 1, []byte{7, 8}, map[string]any{"ok": true})
			})
			sock.OnRaw("never", func(context.Context, socketio.Args, socketio.AckFunc) {})
		})
	})
	c := startClient(t)
	for _, tr := range []string{"polling", "websocket"} {
		c.dial(tr, s.URL(), "/", nodeproc.M{"transports": []string{tr}, "forceNew": true})
		c.emitAck(tr, tr+"sum", 0, "sum", []int{1, 2, 3, 4})
		c.emitAck(tr, tr+"fail", 0, "fail", "x")
		c.emitAck(tr, tr+"done", 0, "done", "x")
		c.emitAck(tr, tr+"multi", 0, "multi")
		c.emitAck(tr, tr+"never", 300*time.Millisecond, "never", 1)
		c.emitAck(tr, tr+"sum-t", 20*time.Second, "sum", []int{5})
		jsonEqual(t, tr+" sum", c.ack(tr+"sum").Field("args"), []any{10})
		jsonEqual(t, tr+" fail", c.ack(tr+"fail").Field("args"), []any{map[string]any{"error": map[string]any{"code": "not_found", "message": "no such thing"}}})
		jsonEqual(t, tr+" done", c.ack(tr+"done").Field("args"), []any{})
		jsonEqual(t, tr+" multi", c.ack(tr+"multi").Field("args"),
			[]any{"a", 1, nodeproc.Bin([]byte{7, 8}), map[string]any{"ok": true}})
		// with a timeout, the answer arrives as (null, ...args)
		jsonEqual(t, tr+" sum with timeout", c.ack(tr+"sum-t").Field("args"), []any{5})
		never := c.ack(tr + "never")
		var e struct {
			Message string `json:"message"`
		}
		if !never.Decode("error", &e) || e.Message != "operation has timed out" || never.Has("args") {
			t.Errorf("%s: ack of never %s, want the client's timeout error", tr, never)
		}
		// still connected and answering
		c.emitAck(tr, tr+"after", 0, "sum", []int{2, 2})
		jsonEqual(t, tr+" sum after the timeout", c.ack(tr+"after").Field("args"), []any{4})
		if st := c.call("state", tr); !st.Bool("connected") {
			t.Errorf("%s: state %s after the timeout", tr, st)
		}
	}
}

// TestSIOAcksFromClient asks socket.io-client for acknowledgements with
// EmitWithAck: answered at once, answered later, never answered (the
// context's deadline), and cut by the disconnection.
func TestSIOAcksFromClient(t *testing.T) {
	s := startSIO(t, nil, nil)
	c := startClient(t)
	c.dial("s", s.URL(), "/", nil)
	sock := s.connected(t, "/")
	c.p.Call(nodeproc.M{"cmd": "autoAck", "socket": "s", "event": "echo", "echo": true})
	c.p.Call(nodeproc.M{"cmd": "autoAck", "socket": "s", "event": "fixed", "args": []any{"fine", 2}})

	ctx := testCtx(t, wait)
	a, err := sock.EmitWithAck(ctx, "echo", "x", 1.5, []byte{0, 255}, map[string]any{"k": []any{true, nil}})
	if err != nil {
		t.Fatalf("EmitWithAck echo: %v", err)
	}
	jsonEqual(t, "echo reply", []byte(a.String()),
		[]any{"x", 1.5, map[string]any{"_placeholder": true, "num": 0}, map[string]any{"k": []any{true, nil}}})
	if b, ok := a.Binary(2); !ok || string(b) != "\x00\xff" {
		t.Errorf("Binary(2) = %v, %v", b, ok)
	}
	got, err := socketio.Call[string](ctx, sock, "fixed")
	if err != nil || got != "fine" {
		t.Errorf("Call fixed = %q, %v; want fine", got, err)
	}

	// Answered by hand, after the request was seen.
	type res struct {
		a   socketio.Args
		err error
	}
	done := make(chan res, 1)
	go func() {
		a, err := sock.EmitWithAck(ctx, "question", "?")
		done <- res{a, err}
	}()
	q := c.event("s", "question")
	if !q.Has("ackRef") {
		t.Fatalf("question without ack request: %s", q)
	}
	c.p.Call(nodeproc.M{"cmd": "reply", "socket": "s", "ackRef": q.Int("ackRef"), "args": []any{"answer", binOf("b")}})
	if r := <-done; r.err != nil || r.a.String() != `["answer",{"_placeholder":true,"num":0}]` {
		t.Errorf("hand reply: %s, %v", r.a, r.err)
	}

	// Never answered: the deadline ends the wait.
	short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = sock.EmitWithAck(short, "ignored", 1)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("EmitWithAck without an answer: %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("EmitWithAck returned after %v", d)
	}
	// A late answer is ignored and the socket keeps working.
	late := c.event("s", "ignored")
	c.p.Call(nodeproc.M{"cmd": "reply", "socket": "s", "ackRef": late.Int("ackRef"), "args": []any{"late"}})
	if a, err := sock.EmitWithAck(ctx, "echo", "still"); err != nil || a.String() != `["still"]` {
		t.Errorf("EmitWithAck after a late answer: %s, %v", a, err)
	}
	if !sock.Connected() {
		t.Error("socket disconnected by a late answer")
	}

	// The client leaves while the server waits.
	go func() {
		a, err := sock.EmitWithAck(ctx, "pending", 1)
		done <- res{a, err}
	}()
	c.event("s", "pending")
	c.call("disconnect", "s")
	if r := <-done; !errors.Is(r.err, socketio.ErrDisconnected) {
		t.Errorf("EmitWithAck cut by the disconnection: %v, want ErrDisconnected", r.err)
	}
}

// TestSIOBroadcastAcks collects the acknowledgements of many clients with
// EmitWithAck on broadcast operators.
func TestSIOBroadcastAcks(t *testing.T) {
	const n = 6
	s := startSIO(t, nil, func(srv *socketio.Server, _ *srvLog) {
		srv.OnConnect(func(sock *socketio.Socket) {
			socketio.OnAck(sock, "join", func(_ context.Context, room string) (bool, error) {
				sock.Join(room)
				return true, nil
			})
		})
	})
	c := startClient(t)
	var names []string
	socks := map[string]*socketio.Socket{}
	for i := range n {
		name := fmt.Sprint("c", i)
		names = append(names, name)
		c.dial(name, s.URL(), "/", nodeproc.M{"forceNew": true, "transports": []string{[]string{"polling", "websocket"}[i%2]}})
		socks[name] = s.connected(t, "/")
		c.p.Call(nodeproc.M{"cmd": "autoAck", "socket": name, "event": "poll", "args": []any{name, binOf(name)}})
		if i%2 == 0 {
			c.emitAck(name, "join-"+name, 0, "join", "even")
			c.ack("join-" + name)
		}
		if i != n-1 {
			c.p.Call(nodeproc.M{"cmd": "autoAck", "socket": name, "event": "poll2", "args": []any{name}})
		}
	}
	who := func(t *testing.T, replies []socketio.Args) []string {
		t.Helper()
		var out []string
		for _, a := range replies {
			var name string
			if err := a.Decode(0, &name); err != nil {
				t.Errorf("reply %s: %v", a, err)
			}
			if a.Len() == 2 {
				if b, ok := a.Binary(1); !ok || string(b) != name {
					t.Errorf("reply %s: binary %q, %v", a, b, ok)
				}
			}
			out = append(out, name)
		}
		slices.Sort(out)
		return out
	}
	nsp := s.srv.Of("/")
	ctx := testCtx(t, wait)

	t.Run("all", func(t *testing.T) {
		replies, err := nsp.EmitWithAck(ctx, "poll", "?")
		if err != nil {
			t.Fatal(err)
		}
		if got := who(t, replies); !slices.Equal(got, names) {
			t.Errorf("replies from %v, want %v", got, names)
		}
	})
	t.Run("room", func(t *testing.T) {
		replies, err := nsp.To("even").EmitWithAck(ctx, "poll", "?")
		if err != nil {
			t.Fatal(err)
		}
		if got := who(t, replies); !slices.Equal(got, []string{"c0", "c2", "c4"}) {
			t.Errorf("replies from %v, want c0 c2 c4", got)
		}
	})
	t.Run("from a socket", func(t *testing.T) {
		replies, err := socks["c0"].Broadcast().Except("even").EmitWithAck(ctx, "poll", "?")
		if err != nil {
			t.Fatal(err)
		}
		if got := who(t, replies); !slices.Equal(got, []string{"c1", "c3", "c5"}) {
			t.Errorf("replies from %v, want c1 c3 c5", got)
		}
	})
	t.Run("one silent", func(t *testing.T) {
		short, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		replies, err := nsp.EmitWithAck(short, "poll2")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err %v, want context.DeadlineExceeded", err)
		}
		if got := who(t, replies); !slices.Equal(got, names[:n-1]) {
			t.Errorf("replies from %v, want %v", got, names[:n-1])
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			wg.Go(func() {
				replies, err := nsp.EmitWithAck(ctx, "poll", "?")
				if err == nil && len(replies) != n {
					err = fmt.Errorf("%d replies, want %d", len(replies), n)
				}
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
	})
}
