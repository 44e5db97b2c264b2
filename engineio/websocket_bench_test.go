package engineio

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// benchServer runs a Server on a loopback httptest server for benchmarks;
// onMessage runs for every message a session receives.
func benchServer(b *testing.B, onMessage func(c *Conn, data []byte, binary bool)) string {
	b.Helper()
	srv := NewServer(nil, func(c *Conn) {
		c.OnMessage(func(data []byte, binary bool) { onMessage(c, data, binary) })
	})
	hs := httptest.NewServer(srv)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			b.Errorf("Shutdown: %v", err)
		}
		hs.Close()
	})
	return "ws" + strings.TrimPrefix(hs.URL, "http") + "/engine.io/?EIO=4&transport=websocket"
}

// benchDial opens a WebSocket session and reads its open packet.
func benchDial(b *testing.B, url string) *websocket.Conn {
	b.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ws.Close() })
	if _, _, err := ws.ReadMessage(); err != nil {
		b.Fatal(err)
	}
	return ws
}

var benchMessage = []byte(`42["echo",{"id":12345,"text":"hello there"}]`)

// BenchmarkWebSocketEcho measures one message's round trip through a
// session that echoes it.
func BenchmarkWebSocketEcho(b *testing.B) {
	url := benchServer(b, func(c *Conn, data []byte, binary bool) {
		_ = c.Send(Message{Data: data, Binary: binary})
	})
	ws := benchDial(b, url)
	b.ReportAllocs()
	for b.Loop() {
		if err := ws.WriteMessage(websocket.TextMessage, benchMessage); err != nil {
			b.Fatal(err)
		}
		if _, _, err := ws.ReadMessage(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWebSocketEchoParallel is BenchmarkWebSocketEcho over several
// sessions at once.
func BenchmarkWebSocketEchoParallel(b *testing.B) {
	url := benchServer(b, func(c *Conn, data []byte, binary bool) {
		_ = c.Send(Message{Data: data, Binary: binary})
	})
	b.SetParallelism(8)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ws, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			b.Error(err)
			return
		}
		defer ws.Close()
		if _, _, err := ws.ReadMessage(); err != nil {
			b.Error(err)
			return
		}
		for pb.Next() {
			if err := ws.WriteMessage(websocket.TextMessage, benchMessage); err != nil {
				b.Error(err)
				return
			}
			if _, _, err := ws.ReadMessage(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkWebSocketReceive measures the server's reading alone: the client
// streams messages and the session counts them.
func BenchmarkWebSocketReceive(b *testing.B) {
	var got atomic.Int64
	done := make(chan struct{}, 1)
	var want atomic.Int64
	url := benchServer(b, func(c *Conn, data []byte, binary bool) {
		if got.Add(1) == want.Load() {
			done <- struct{}{}
		}
	})
	ws := benchDial(b, url)
	want.Store(int64(b.N))
	b.SetBytes(int64(len(benchMessage)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := ws.WriteMessage(websocket.TextMessage, benchMessage); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		b.Fatalf("received %d of %d", got.Load(), b.N)
	}
}
