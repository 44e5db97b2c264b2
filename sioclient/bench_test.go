package sioclient

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	socketio "github.com/sio-go/socketio"
	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/protocol"
)

type chatMessage struct {
	Room string `json:"room"`
	Text string `json:"text"`
	N    int    `json:"n"`
}

// BenchmarkEncodeEvent is the client's send path up to the Engine.IO
// messages: arguments to JSON, packet text form.
func BenchmarkEncodeEvent(b *testing.B) {
	msg := chatMessage{Room: "lobby", Text: "hello, world", N: 42}
	b.ReportAllocs()
	for b.Loop() {
		data, atts, err := encodeEvent("chat", []any{msg})
		if err != nil {
			b.Fatal(err)
		}
		_, _ = protocol.JSON.Encode(&protocol.Packet{Type: protocol.Event, Namespace: "/", Data: data, Attachments: atts})
	}
}

func BenchmarkEncodeBinaryEvent(b *testing.B) {
	blob := make([]byte, 1024)
	b.ReportAllocs()
	for b.Loop() {
		data, atts, err := encodeEvent("upload", []any{"name", blob})
		if err != nil {
			b.Fatal(err)
		}
		_, _ = protocol.JSON.Encode(&protocol.Packet{Type: protocol.Event, Namespace: "/", Data: data, Attachments: atts})
	}
}

// BenchmarkDecodeEvent is the receive path: packet decoding, event name and
// arguments, and decoding the first argument into a struct.
func BenchmarkDecodeEvent(b *testing.B) {
	wire := []byte(`2["chat",{"room":"lobby","text":"hello, world","n":42}]`)
	var dec protocol.Decoder
	b.ReportAllocs()
	for b.Loop() {
		p, err := dec.Decode(wire, false)
		if err != nil {
			b.Fatal(err)
		}
		_, elems, err := protocol.EventName(p.Data)
		if err != nil {
			b.Fatal(err)
		}
		var m chatMessage
		if err := protocol.NewArgs(elems, nil).Decode(0, &m); err != nil || m.N != 42 {
			b.Fatal(err)
		}
	}
}

// BenchmarkRoundTrip is EmitWithAck against our server over WebSocket.
func BenchmarkRoundTrip(b *testing.B) {
	srv := socketio.NewServer(nil)
	srv.OnConnect(func(s *socketio.Socket) {
		socketio.OnAck(s, "echo", func(ctx context.Context, m chatMessage) (chatMessage, error) { return m, nil })
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: srv}
	go hs.Serve(ln)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		_ = hs.Shutdown(ctx)
	}()
	s, err := Dial(context.Background(), "http://"+ln.Addr().String(),
		&Config{Engine: engineio.DialConfig{Transports: []engineio.Transport{engineio.WebSocket}}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Manager().Close()
	msg := chatMessage{Room: "lobby", Text: "hello", N: 1}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Call[chatMessage](ctx, s, "echo", msg); err != nil {
			b.Fatal(err)
		}
	}
}

const serverEnv = "SIOCLIENT_BENCH_SERVER"

// serveForBenchmark runs our server until stdin closes, printing its
// address first.
func serveForBenchmark() {
	srv := socketio.NewServer(nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())
	go http.Serve(ln, srv)
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
}

// BenchmarkClientMemory connects 1000 clients over WebSocket to our server,
// run in a child process, and reports the heap and goroutines each client
// costs in this process once connected and idle.
func BenchmarkClientMemory(b *testing.B) {
	for _, tr := range []engineio.Transport{engineio.WebSocket, engineio.Polling} {
		b.Run(string(tr), func(b *testing.B) {
			for b.Loop() {
				clientMemory(b, tr, 1000)
			}
		})
	}
}

func clientMemory(b *testing.B, tr engineio.Transport, n int) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serverEnv+"=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { stdin.Close(); _ = cmd.Wait() }()
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	url := "http://" + strings.TrimSpace(addr)
	before := heap()
	g0 := runtime.NumGoroutine()
	socks := make([]*Socket, 0, n)
	for range n {
		s, err := Dial(context.Background(), url, &Config{Engine: engineio.DialConfig{Transports: []engineio.Transport{tr}}})
		if err != nil {
			b.Fatal(err)
		}
		socks = append(socks, s)
	}
	time.Sleep(200 * time.Millisecond)
	after := heap()
	g1 := runtime.NumGoroutine()
	b.ReportMetric(float64(after-before)/float64(n), "heap-bytes/client")
	b.ReportMetric(float64(g1-g0)/float64(n), "goroutines/client")
	for _, s := range socks {
		s.Manager().Close()
	}
}

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}
