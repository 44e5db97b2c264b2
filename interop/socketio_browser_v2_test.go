package interop

import (
	"context"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/interop/internal/nodeproc"
)

// askQuestion makes a socket answer "ask" by asking the client "question"
// with an ack (a string and bytes 5, 6), then emitting the reply back as
// "answer": the browser tests' round trip in both directions.
func askQuestion(s *socketio.Socket) {
	s.OnRaw("ask", func(ctx context.Context, _ socketio.Args, _ socketio.AckFunc) {
		reply, err := s.EmitWithAck(ctx, "question", "bin?", []byte{5, 6})
		if err != nil {
			return
		}
		_ = s.Emit("answer", reply.Values()...)
	})
}

// TestV2ClientInBrowser runs socket.io-client 2.5.0's browser bundle in
// Chromium against our server. There, unlike in Node.js, the client reads
// binary XMLHttpRequest responses: over polling, binary events travel in
// Engine.IO v3's binary payloads both ways.
func TestV2ClientInBrowser(t *testing.T) {
	root, err := nodeproc.Root()
	if err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(root, "node_modules/socket.io-client-v2/dist/socket.io.js")
	for _, transport := range []string{"polling", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			var mu sync.Mutex
			var ctypes []string // of the polling requests and responses
			s := startSIOWrapped(t, &socketio.Config{Engine: engineio.Config{AllowEIO3: true}}, func(srv *socketio.Server, _ *srvLog) {
				srv.OnConnect(askQuestion)
			}, func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					switch r.URL.Path {
					case "/v2.html":
						_, _ = w.Write([]byte(`<!doctype html><script src="/v2.js"></script>`))
						return
					case "/v2.js":
						http.ServeFile(w, r, bundle)
						return
					}
					if r.Method == http.MethodPost && r.URL.Query().Get("transport") == "polling" {
						mu.Lock()
						ctypes = append(ctypes, "POST "+r.Header.Get("Content-Type"))
						mu.Unlock()
					}
					if r.URL.Query().Get("transport") == "polling" {
						w = &ctypeRecorder{ResponseWriter: w, r: r, mu: &mu, ctypes: &ctypes}
					}
					h.ServeHTTP(w, r)
				})
			})
			b := nodeproc.Start(t, "browser.mjs")
			b.Call(nodeproc.M{"cmd": "goto", "url": s.URL() + "/v2.html"})
			res := b.Call(nodeproc.M{"cmd": "run", "code": `
				const bytes = (v) => v instanceof ArrayBuffer ? Array.from(new Uint8Array(v)) : v;
				const socket = io(location.origin, { transports: ["` + transport + `"] });
				await new Promise((resolve, reject) => {
					socket.on("connect", resolve);
					socket.on("connect_error", reject);
				});
				const out = { id: socket.id, transport: socket.io.engine.transport.name };
				// client → server with ack: text, non-ASCII, binary
				out.echo = await new Promise((resolve) =>
					socket.emit("echo", "héllo ✓ 😀", new Uint8Array([0, 1, 255]).buffer,
						(...args) => resolve(args.map(bytes))));
				// server → client with ack, then an event
				socket.on("question", (q, b, ack) => ack("yes", new Uint8Array([7, 8, 9]).buffer, bytes(b)));
				out.answer = await new Promise((resolve) => {
					socket.on("answer", (...args) => resolve(args.map(bytes)));
					socket.emit("ask");
				});
				socket.close();
				return out;`})
			var got struct {
				ID        string
				Transport string
				Echo      []any
				Answer    []any
			}
			if !res.Decode("value", &got) {
				t.Fatalf("page answered %s", res)
			}
			sock := s.connected(t, "/")
			if got.ID != sock.ID() || got.Transport != transport {
				t.Errorf("page: id %q over %s; server: id %q", got.ID, got.Transport, sock.ID())
			}
			jsonEqual(t, "echo", mustMarshal(t, got.Echo), []any{"héllo ✓ 😀", []int{0, 1, 255}})
			jsonEqual(t, "answer", mustMarshal(t, got.Answer), []any{"yes", []int{7, 8, 9}, []int{5, 6}})
			ev := s.log.wait(t, sEvent("echo"))
			if b, ok := ev.Args.Binary(1); !ok || string(b) != "\x00\x01\xff" {
				t.Errorf("server got %s", ev)
			}
			if transport == "polling" {
				mu.Lock()
				defer mu.Unlock()
				for _, want := range []string{"POST application/octet-stream", "GET application/octet-stream"} {
					if !slices.Contains(ctypes, want) {
						t.Errorf("no %q among %v: binary payloads not used", want, ctypes)
					}
				}
			}
		})
	}
}

// ctypeRecorder records the content type of the polling responses.
type ctypeRecorder struct {
	http.ResponseWriter
	r      *http.Request
	mu     *sync.Mutex
	ctypes *[]string
}

func (c *ctypeRecorder) WriteHeader(code int) {
	if c.r.Method == http.MethodGet && strings.Contains(c.r.URL.RawQuery, "sid=") {
		c.mu.Lock()
		*c.ctypes = append(*c.ctypes, "GET "+c.Header().Get("Content-Type"))
		c.mu.Unlock()
	}
	c.ResponseWriter.WriteHeader(code)
}
