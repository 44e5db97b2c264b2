package socketio

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/sio-go/socketio/engineio"
)

// nopConn is an Engine.IO session that discards what it is sent.
type nopConn struct {
	id   string
	req  *http.Request
	sent atomic.Int64

	reading bool     // in read (the reading goroutine only)
	after   []func() // collected by AfterRead during read
}

func (n *nopConn) ID() string             { return n.id }
func (n *nopConn) Request() *http.Request { return n.req }
func (n *nopConn) RemoteAddr() string     { return "127.0.0.1" }
func (n *nopConn) Close() error           { return nil }
func (n *nopConn) Send(msgs ...engineio.Message) error {
	n.sent.Add(1)
	return nil
}
func (n *nopConn) SendVolatile(msgs ...engineio.Message) error { return n.Send(msgs...) }
func (n *nopConn) SendNow(msgs ...engineio.Message) error      { return n.Send(msgs...) }
func (n *nopConn) Stall(ready <-chan struct{})                 { <-ready }

// AfterRead collects f while read is delivering a message, as the server's
// poller does.
func (n *nopConn) AfterRead(f func()) bool {
	if !n.reading {
		return false
	}
	n.after = append(n.after, f)
	return true
}

// read delivers msg to c as the poller's reader does: what AfterRead
// collected runs after the delivery, on the calling goroutine.
func (n *nopConn) read(c *conn, msg []byte) {
	n.reading = true
	c.onMessage(msg, false)
	n.reading = false
	for i, f := range n.after {
		n.after[i] = nil
		f()
	}
	n.after = n.after[:0]
}

// roomOf connects n sockets that all join room.
func roomOf(b *testing.B, srv *Server, n int, room string) []*nopConn {
	b.Helper()
	req := httptest.NewRequest("GET", "/socket.io/?EIO=4&transport=websocket", nil)
	srv.OnConnect(func(s *Socket) { s.Join(room) })
	conns := make([]*nopConn, n)
	for i := range conns {
		nc := &nopConn{id: strconv.Itoa(i), req: req}
		c := srv.accept(nc)
		c.onMessage([]byte("0"), false)
		conns[i] = nc
	}
	waitFor(b, "sockets in the room", func() bool {
		a := srv.Of("/").Adapter().(*MemoryAdapter)
		a.mu.RLock()
		defer a.mu.RUnlock()
		return len(a.rooms[room]) == n
	})
	return conns
}

// BenchmarkBroadcastRoom broadcasts to every socket of a room. The packet is
// encoded once: allocations per operation do not grow with the recipients.
func BenchmarkBroadcastRoom(b *testing.B) {
	for _, n := range []int{100, 1_000, 10_000} {
		b.Run("recipients="+strconv.Itoa(n), func(b *testing.B) {
			srv := newServer(nil)
			defer srv.Shutdown(context.Background())
			conns := roomOf(b, srv, n, "room")
			op := srv.To("room")
			ctx := context.Background()
			payload := map[string]any{"user": "ann", "text": "hello, everyone"}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := op.Emit(ctx, "chat", payload); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			first, last := conns[0].sent.Load(), conns[n-1].sent.Load()
			if first == 0 || first != last {
				b.Fatalf("deliveries: first %d, last %d", first, last)
			}
		})
	}
}

func BenchmarkSocketEmit(b *testing.B) {
	srv := newServer(nil)
	defer srv.Shutdown(context.Background())
	roomOf(b, srv, 1, "r")
	s := srv.Of("/").Sockets()[0]
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Emit("chat", "hello", 42); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEchoAck is the server side of an emit with an acknowledgement:
// an incoming EVENT with an ack id, a handler that acknowledges with its
// arguments, and the ACK packet handed to the connection, with the
// payloads of the load generator's echo scenarios: raw is OnRaw sending
// back Args.Values of a 32-character string; typed decodes an object into
// a struct with OnAck and acknowledges with the struct.
func BenchmarkEchoAck(b *testing.B) {
	type echo struct {
		Text string `json:"text"`
		N    int    `json:"n"`
	}
	const text = `"abcdefghijklmnopqrstuvwxyzabcdef"`
	b.Run("raw", func(b *testing.B) {
		benchEcho(b, `21["echo",`+text+`]`, func(s *Socket, acked chan<- struct{}) {
			s.OnRaw("echo", func(ctx context.Context, args Args, ack AckFunc) {
				_ = ack(args.Values()...)
				acked <- struct{}{}
			})
		})
	})
	b.Run("typed", func(b *testing.B) {
		benchEcho(b, `21["echo",{"text":`+text+`,"n":7}]`, func(s *Socket, acked chan<- struct{}) {
			OnAck(s, "echo", func(ctx context.Context, e echo) (echo, error) {
				acked <- struct{}{}
				return e, nil
			})
		})
	})
	b.Run("typed-string", func(b *testing.B) {
		benchEcho(b, `21["echo",`+text+`]`, func(s *Socket, acked chan<- struct{}) {
			OnAck(s, "echo", func(ctx context.Context, m string) (string, error) {
				acked <- struct{}{}
				return m, nil
			})
		})
	})
}

func benchEcho(b *testing.B, msg string, register func(*Socket, chan<- struct{})) {
	srv := newServer(nil)
	defer srv.Shutdown(context.Background())
	acked := make(chan struct{}, 1)
	srv.OnConnect(func(s *Socket) { register(s, acked) })
	req := httptest.NewRequest("GET", "/socket.io/?EIO=4&transport=websocket", nil)
	nc := &nopConn{id: "c", req: req}
	c := srv.accept(nc)
	c.onMessage([]byte("0"), false)
	waitFor(b, "the socket", func() bool { return len(srv.Of("/").Sockets()) == 1 })
	m := []byte(msg)
	b.ReportAllocs()
	for b.Loop() {
		nc.read(c, m)
		<-acked
	}
}
