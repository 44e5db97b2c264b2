package sioclient

import (
	"context"
	"net"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	socketio "github.com/sio-go/socketio"
	"github.com/sio-go/socketio/internal/testutil"
)

func TestMain(m *testing.M) {
	if os.Getenv(serverEnv) != "" {
		serveForBenchmark() // a child process of BenchmarkClientMemory
		return
	}
	testutil.VerifyTestMain(m)
}

// goServer runs our Socket.IO server on loopback; setup registers handlers.
func goServer(t *testing.T, cfg *socketio.Config, setup func(*socketio.Server)) (*socketio.Server, string) {
	t.Helper()
	srv := socketio.NewServer(cfg)
	if setup != nil {
		setup(srv)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
	})
	return srv, hs.URL
}

// echoServer answers "echo" with its arguments (by ack when asked, else by
// emitting "echo" back) on every namespace in nsps.
func echoSetup(nsps ...string) func(*socketio.Server) {
	return func(srv *socketio.Server) {
		for _, n := range nsps {
			srv.Of(n).OnConnect(func(s *socketio.Socket) {
				s.OnRaw("echo", func(ctx context.Context, args socketio.Args, ack socketio.AckFunc) {
					if ack != nil {
						_ = ack(args.Values()...)
						return
					}
					_ = s.Emit("echo", args.Values()...)
				})
			})
		}
	}
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func dialT(t *testing.T, url string, cfg *Config) *Socket {
	t.Helper()
	s, err := Dial(ctxT(t, 10*time.Second), url, cfg)
	if err != nil {
		t.Fatalf("Dial %s: %v", url, err)
	}
	t.Cleanup(func() { s.Manager().Close() })
	return s
}

// waitFor polls cond for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// recv collects values from handlers.
type recv[T any] struct {
	ch chan T
}

func newRecv[T any]() *recv[T] { return &recv[T]{ch: make(chan T, 100)} }

func (r *recv[T]) put(v T) { r.ch <- v }

func (r *recv[T]) get(t *testing.T) T {
	t.Helper()
	select {
	case v := <-r.ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("nothing received")
		var zero T
		return zero
	}
}

func (r *recv[T]) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case v := <-r.ch:
		t.Fatalf("unexpected %v", v)
	case <-time.After(d):
	}
}

// proxy forwards TCP connections to a target and can sever them all, which
// the server sees as a transport close and the client as a lost connection.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	conns []*proxied
	wg    sync.WaitGroup
}

// proxied is one forwarded connection; once frozen, bytes are read and
// dropped in both directions, like a peer that went silent.
type proxied struct {
	c, u   net.Conn
	frozen atomic.Bool
}

func (p *proxied) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			if !p.frozen.Load() {
				dst.Close()
			}
			return
		}
		if p.frozen.Load() {
			continue
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			src.Close()
			return
		}
	}
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.sever()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) url() string { return "http://" + p.ln.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		pc := &proxied{c: c, u: u}
		p.mu.Lock()
		p.conns = append(p.conns, pc)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); pc.pipe(u, c) }()
		go func() { defer p.wg.Done(); pc.pipe(c, u) }()
	}
}

func (p *proxy) sever() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pc := range p.conns {
		pc.c.Close()
		pc.u.Close()
	}
	p.conns = nil
}

// freeze silences every current connection; new ones work.
func (p *proxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pc := range p.conns {
		pc.frozen.Store(true)
	}
}

// fastReconnect is a Config that reconnects quickly, for tests.
func fastReconnect() *Config {
	return &Config{ReconnectionDelay: 50 * time.Millisecond, ReconnectionDelayMax: 200 * time.Millisecond}
}
