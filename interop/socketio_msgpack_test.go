package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/interop/internal/nodeproc"
	"github.com/sio-go/socketio/msgpackparser"
	"github.com/sio-go/socketio/sioclient"
)

// burstSize is the length of the bursts the msgpack tests send each way.
const burstSize = 2000

// TestMsgpackOfficialClient drives socket.io-client with
// socket.io-msgpack-parser against our server with msgpackparser, on each
// transport and with the upgrade: auth, acks both ways with binary at
// depth, rooms, refusals, and bursts both ways in order.
func TestMsgpackOfficialClient(t *testing.T) {
	s := startSIO(t, &socketio.Config{Parser: msgpackparser.Parser}, func(srv *socketio.Server, log *srvLog) {
		srv.Of("/secure").Use(func(ctx context.Context, s *socketio.Socket) error {
			return &socketio.ConnectError{Message: "unauthorized", Data: map[string]any{"code": 42}}
		})
	})
	c := startClient(t)
	for _, tr := range []string{"polling", "websocket", "upgrade"} {
		t.Run(tr, func(t *testing.T) {
			opts := nodeproc.M{"parser": "msgpack", "forceNew": true, "auth": nodeproc.M{"token": "t", "n": 1.5}}
			if tr != "upgrade" {
				opts["transports"] = []string{tr}
			}
			c.dial(tr, s.URL(), "/", opts)
			sock := s.connected(t, "/")
			var auth map[string]any
			if err := json.Unmarshal(sock.Handshake().Auth, &auth); err != nil || auth["token"] != "t" || auth["n"] != 1.5 {
				t.Errorf("auth %s (%v)", sock.Handshake().Auth, err)
			}

			// client → server with ack, echoed unchanged
			args := []any{"héllo ✓", 42, -7, 1.25, true, nil, binOf("top"),
				nodeproc.M{"deep": []any{binOf("\x00\xff"), nodeproc.M{"n": 1}}, "empty": nodeproc.Bin([]byte{})}}
			c.emitAck(tr, tr+"echo", 0, "echo", args...)
			jsonEqual(t, "echo ack", c.ack(tr+"echo").Field("args"), args)
			ev := s.log.wait(t, sEvent("echo"))
			if b, ok := ev.Args.Binary(6); !ok || string(b) != "top" {
				t.Errorf("server's Binary(6) = %q, %v", b, ok)
			}
			var n int
			if err := ev.Args.Decode(1, &n); err != nil || n != 42 {
				t.Errorf("Decode(1) = %d, %v", n, err)
			}

			// server → client, with and without ack
			if err := sock.Emit("download", map[string]any{"file": []byte("bytes"), "n": 3}, []byte{9}); err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, "download", c.event(tr, "download").Field("args"),
				[]any{nodeproc.M{"file": binOf("bytes"), "n": 3}, nodeproc.Bin([]byte{9})})
			c.p.Call(nodeproc.M{"cmd": "autoAck", "socket": tr, "event": "fetch", "echo": true})
			ctx := testCtx(t, wait)
			a, err := sock.EmitWithAck(ctx, "fetch", "q", []byte{1, 2})
			if err != nil {
				t.Fatal(err)
			}
			if b, ok := a.Binary(1); !ok || !bytes.Equal(b, []byte{1, 2}) || a.Len() != 2 {
				t.Errorf("fetch ack %s", a)
			}

			// broadcast to a room
			sock.Join("r-" + tr)
			if err := s.srv.Of("/").To("r-"+tr).Emit(ctx, "room", "hi", []byte{7}); err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, "room", c.event(tr, "room").Field("args"), []any{"hi", nodeproc.Bin([]byte{7})})

			// bursts, both ways, in order
			c.p.Send(nodeproc.M{"cmd": "burst", "socket": tr, "event": "up", "count": burstSize, "pad": 100})
			ups := s.log.waitN(t, burstSize, wait, sEvent("up"))
			for i, e := range ups {
				var v struct{ I int }
				if err := e.Args.Decode(0, &v); err != nil || v.I != i {
					t.Fatalf("up %d: %s (%v)", i, e.Args, err)
				}
			}
			for i := range burstSize {
				if err := sock.Emit("down", i, []byte(strconv.Itoa(i))); err != nil {
					t.Fatal(err)
				}
			}
			for i, e := range c.events(tr, "down", burstSize) {
				jsonEqual(t, "down", e.Field("args"), []any{i, binOf(strconv.Itoa(i))})
			}

			// a refused namespace: CONNECT_ERROR with its data
			c.open(tr+"secure", s.URL(), "/secure", nodeproc.M{"parser": "msgpack", "forceNew": true, "reconnection": false})
			ce := c.wait(tr+"secure", "connect_error")
			var e struct {
				Message string
				Data    struct{ Code int }
			}
			if !ce.Decode("error", &e) || e.Message != "unauthorized" || e.Data.Code != 42 {
				t.Errorf("connect_error %s", ce)
			}
			c.call("disconnect", tr)
			s.log.wait(t, sType("disconnect"))
		})
	}
}

// TestMsgpackMismatchedParser connects a client with the default parser to
// a server with msgpack: the server closes the connection as a parse error,
// and other clients are unaffected.
func TestMsgpackMismatchedParser(t *testing.T) {
	s := startSIO(t, &socketio.Config{Parser: msgpackparser.Parser}, nil)
	c := startClient(t)
	c.dial("good", s.URL(), "/", nodeproc.M{"parser": "msgpack", "transports": []string{"websocket"}})
	s.connected(t, "/")
	c.open("json", s.URL(), "/", nodeproc.M{"transports": []string{"websocket"}, "reconnection": false, "timeout": 2000})
	if ev := c.p.Wait(func(e nodeproc.Event) bool {
		return e.Str("socket") == "json" && (e.Type == "connect" || e.Type == "close")
	}); ev.Type == "connect" {
		t.Fatalf("a JSON client connected to a msgpack server: %s", ev)
	}
	c.emitAck("good", "g", 0, "echo", "still here")
	jsonEqual(t, "echo", c.ack("g").Field("args"), []any{"still here"})
}

// TestMsgpackGoClient runs our client with msgpackparser against the
// official server with socket.io-msgpack-parser and against ours.
func TestMsgpackGoClient(t *testing.T) {
	targets := []struct {
		name  string
		start func(t *testing.T) clientTarget
	}{
		{"node", func(t *testing.T) clientTarget { return startNodeSio(t, 0, nodeproc.M{"parser": "msgpack"}) }},
		{"go", func(t *testing.T) clientTarget {
			return startGoSioWith(t, &socketio.Config{Parser: msgpackparser.Parser})
		}},
	}
	for _, target := range targets {
		t.Run(target.name, func(t *testing.T) {
			srv := target.start(t)
			for _, tc := range []struct {
				name       string
				transports []engineio.Transport
			}{
				{"polling", []engineio.Transport{engineio.Polling}},
				{"websocket", []engineio.Transport{engineio.WebSocket}},
				{"upgrade", nil},
			} {
				t.Run(tc.name, func(t *testing.T) {
					s := sioDial(t, srv.URL(), &sioclient.Config{
						Parser: msgpackparser.Parser,
						Engine: engineio.DialConfig{Transports: tc.transports},
					})
					blob := []byte{0, 1, 2, 250}
					a, err := s.EmitWithAck(cctx(t, 10*time.Second), "echo",
						map[string]any{"n": 1, "f": 2.5, "deep": []any{[]byte("x"), blob}}, blob, "ü")
					if err != nil {
						t.Fatal(err)
					}
					var v struct {
						N    int
						F    float64
						Deep [][]byte
					}
					if err := a.Decode(0, &v); err != nil || v.N != 1 || v.F != 2.5 || len(v.Deep) != 2 || !bytes.Equal(v.Deep[1], blob) {
						t.Fatalf("echo: %+v %v (%s)", v, err, a)
					}
					if b, ok := a.Binary(1); !ok || !bytes.Equal(b, blob) {
						t.Fatalf("top-level binary: %v %v", b, ok)
					}
					// the server asks, we answer with binary
					askAndAnswer(t, s)
					// a burst echoed back as events, in order
					got := make(chan int, burstSize)
					sioclient.On(s, "echo", func(ctx context.Context, i int) error { got <- i; return nil })
					for i := range burstSize {
						if err := s.Emit("echo", i); err != nil {
							t.Fatal(err)
						}
					}
					for want := range burstSize {
						select {
						case i := <-got:
							if i != want {
								t.Fatalf("echo %d, want %d", i, want)
							}
						case <-time.After(wait):
							t.Fatalf("echo %d not received", want)
						}
					}
				})
			}
			// refusal: CONNECT_ERROR and its data
			_, err := sioclient.Dial(cctx(t, 10*time.Second), srv.URL()+"/secure", &sioclient.Config{Parser: msgpackparser.Parser,
				Socket: sioclient.SocketConfig{Auth: map[string]string{"token": "bad"}}})
			var ce *sioclient.ConnectError
			if !errors.As(err, &ce) || ce.Message != "unauthorized" || string(ce.Data) != `{"code":42}` {
				t.Fatalf("got %v", err)
			}
		})
	}
}

// TestMsgpackBrowserBundle runs the official browser bundle with the msgpack
// parser, socket.io.msgpack.min.js as our server serves it, in Chromium.
func TestMsgpackBrowserBundle(t *testing.T) {
	root, err := nodeproc.Root()
	if err != nil {
		t.Fatal(err)
	}
	var client *socketio.ClientHandler
	s := startSIOWrapped(t, &socketio.Config{Parser: msgpackparser.Parser}, func(srv *socketio.Server, _ *srvLog) {
		client, err = srv.ServeClient(os.DirFS(filepath.Join(root, "node_modules/socket.io-client/dist")))
		if err != nil {
			t.Fatal(err)
		}
		srv.OnConnect(askQuestion)
	}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/page.html" {
				_, _ = w.Write([]byte(`<!doctype html><script src="/socket.io/socket.io.msgpack.min.js"></script>`))
				return
			}
			client.ServeHTTP(w, r)
		})
	})
	b := nodeproc.Start(t, "browser.mjs")
	b.Call(nodeproc.M{"cmd": "goto", "url": s.URL() + "/page.html"})
	for _, tr := range []string{"polling", "upgrade"} {
		t.Run(tr, func(t *testing.T) {
			transports := `["polling","websocket"]`
			if tr == "polling" {
				transports = `["polling"]`
			}
			res := b.Call(nodeproc.M{"cmd": "run", "code": `
				const bytes = (v) => v instanceof ArrayBuffer ? Array.from(new Uint8Array(v)) : v;
				const socket = io(location.origin, { transports: ` + transports + `, forceNew: true });
				await new Promise((resolve, reject) => {
					socket.on("connect", resolve);
					socket.on("connect_error", reject);
				});
				if (` + strconv.Quote(tr) + ` === "upgrade" && socket.io.engine.transport.name !== "websocket")
					await new Promise((resolve) => socket.io.engine.once("upgrade", resolve));
				const out = { transport: socket.io.engine.transport.name };
				out.echo = await new Promise((resolve) =>
					socket.emit("echo", "héllo ✓", 7, new Uint8Array([0, 1, 255]).buffer,
						(...args) => resolve(args.map(bytes))));
				socket.on("question", (q, b, ack) => ack("yes", new Uint8Array([7, 8, 9]).buffer, bytes(b)));
				out.answer = await new Promise((resolve) => {
					socket.on("answer", (...args) => resolve(args.map(bytes)));
					socket.emit("ask");
				});
				const n = ` + strconv.Itoa(burstSize) + `;
				out.burst = await new Promise((resolve) => {
					const seen = [];
					socket.on("echo", (i) => { seen.push(i); if (seen.length === n) resolve(seen.every((v, k) => v === k)); });
					for (let i = 0; i < n; i++) socket.emit("echo", i);
				});
				socket.disconnect();
				return out;`})
			var out struct {
				Transport string
				Echo      []any
				Answer    []any
				Burst     bool
			}
			if !res.Decode("value", &out) {
				t.Fatalf("result %s", res)
			}
			want := "polling"
			if tr == "upgrade" {
				want = "websocket"
			}
			if out.Transport != want {
				t.Errorf("transport %q, want %q", out.Transport, want)
			}
			jsonEqual(t, "echo", mustJSON(t, out.Echo), []any{"héllo ✓", 7, []int{0, 1, 255}})
			jsonEqual(t, "answer", mustJSON(t, out.Answer), []any{"yes", []int{7, 8, 9}, []int{5, 6}})
			if !out.Burst {
				t.Errorf("the burst of %d echoes did not come back in order", burstSize)
			}
		})
	}
}
