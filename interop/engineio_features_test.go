package interop

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/interop/internal/nodeproc"
)

func TestDisableUpgrades(t *testing.T) {
	forEachServer(t, srvOpts{DisableUpgrades: true, Echo: true}, func(t *testing.T, s server) {
		c, open := dialEIO(t, s.URL(), nil)
		var upgrades []string
		if !open.Decode("upgrades", &upgrades) || len(upgrades) != 0 {
			t.Errorf("handshake upgrades %s, want []", open.Field("upgrades"))
		}
		sess := s.Next(t)
		c.Send(t, text("x"))
		checkMsgs(t, "client", c.Recv(t, 1, wait), []msg{text("x")})
		if ev, ok := c.p.Poll(0, nodeproc.Any(nodeproc.Type("upgrading"), nodeproc.Type("upgrade"))); ok {
			t.Errorf("client upgraded: %s", ev)
		}
		checkTransport(t, sess, engineio.Polling, false)
	})
}

func TestInitialPacket(t *testing.T) {
	forEachServer(t, srvOpts{InitialPacket: "welcome ✓"}, func(t *testing.T, s server) {
		for _, tr := range []string{"polling", "websocket"} {
			c, _ := dialEIO(t, s.URL(), nodeproc.M{"transports": []string{tr}})
			checkMsgs(t, tr+" client", c.Recv(t, 1, wait), []msg{text("welcome ✓")})
		}
	})
}

// TestManyClients runs sessions on every transport side by side in one
// client process; each sees its own messages only, in order.
func TestManyClients(t *testing.T) {
	const clients, msgs = 12, 25
	transports := [][]string{{"polling"}, {"websocket"}, {"polling", "websocket"}}
	forEachServer(t, srvOpts{Echo: true}, func(t *testing.T, s server) {
		p := nodeproc.Start(t, "eio-client.mjs")
		for i := range clients {
			p.Call(nodeproc.M{"cmd": "open", "socket": fmt.Sprint("c", i), "url": s.URL(),
				"opts": nodeproc.M{"transports": transports[i%len(transports)]}})
		}
		for i := range clients {
			p.Wait(nodeproc.On("open", "socket", fmt.Sprint("c", i)))
			p.Send(nodeproc.M{"cmd": "sendMany", "socket": fmt.Sprint("c", i), "prefix": fmt.Sprint("c", i, "-"), "count": msgs, "intervalMs": 1})
		}
		for i := range clients {
			name := fmt.Sprint("c", i)
			got := eventMsgs(p.WaitN(msgs, wait, nodeproc.On("message", "socket", name)))
			checkMsgs(t, name, got, numbered(name+"-", msgs))
		}
		if n := s.ClientsCount(t); n != clients {
			t.Errorf("ClientsCount = %d, want %d", n, clients)
		}
		for i := range clients {
			p.Send(nodeproc.M{"cmd": "close", "socket": fmt.Sprint("c", i)})
		}
		waitCount(t, s, 0, wait)
	})
}

// TestShutdown ends a server with sessions on every transport: each client
// sees its connection closed by the server.
func TestShutdown(t *testing.T) {
	forEachServer(t, srvOpts{}, func(t *testing.T, s server) {
		p := nodeproc.Start(t, "eio-client.mjs")
		names := []string{"polling", "websocket", "upgraded"}
		for _, name := range names {
			tr := []string{name}
			if name == "upgraded" {
				tr = []string{"polling", "websocket"}
			}
			p.Call(nodeproc.M{"cmd": "open", "socket": name, "url": s.URL(), "opts": nodeproc.M{"transports": tr}})
			p.Wait(nodeproc.On("open", "socket", name))
		}
		p.Wait(nodeproc.On("upgrade", "socket", "upgraded"))
		waitCount(t, s, len(names), wait)
		s.Shutdown(t)
		for _, name := range names {
			ev := p.Wait(nodeproc.On("close", "socket", name))
			if r := ev.Str("reason"); r != "transport close" {
				t.Errorf("%s: client close reason %q, want transport close (%s)", name, r, ev)
			}
		}
		waitCount(t, s, 0, wait)
	})
}

// TestPerMessageDeflate negotiates WebSocket compression and sends large
// compressible messages both ways.
func TestPerMessageDeflate(t *testing.T) {
	forEachServer(t, srvOpts{PerMessageDeflate: true, Echo: true}, func(t *testing.T, s server) {
		c, _ := dialEIO(t, s.URL(), nodeproc.M{"transports": []string{"websocket"}})
		ext := c.p.Call(nodeproc.M{"cmd": "eval", "code": `return ctx.sockets.get("c").socket.transport.ws.extensions`}).Str("value")
		if !strings.Contains(ext, "permessage-deflate") {
			t.Errorf("negotiated extensions %q, want permessage-deflate", ext)
		}
		want := []msg{text(strings.Repeat("compress me ", 20_000)), text("small"), bin([]byte(strings.Repeat("\x00\x01", 50_000)))}
		for _, m := range want {
			c.Send(t, m)
		}
		checkMsgs(t, "client (echo)", c.Recv(t, len(want), wait), want)
	})
}

// TestPollingCompression checks that a large poll response is gzipped for a
// client that accepts it, and a small one is not.
func TestPollingCompression(t *testing.T) {
	forEachServer(t, srvOpts{}, func(t *testing.T, s server) {
		sid, _ := handshake(t, s, nil)
		sess := s.Next(t)
		url := s.URL() + "/engine.io/?EIO=4&transport=polling&sid=" + sid
		big := strings.Repeat("z", 5000)
		for _, tc := range []struct {
			data string
			enc  string
		}{{big, "gzip"}, {"tiny", ""}} {
			sess.Send(t, text(tc.data))
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Accept-Encoding", "gzip")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var r io.Reader = res.Body
			if enc := res.Header.Get("Content-Encoding"); enc != tc.enc {
				t.Errorf("%d-byte response: Content-Encoding %q, want %q", len(tc.data)+1, enc, tc.enc)
			} else if enc == "gzip" {
				if r, err = gzip.NewReader(res.Body); err != nil {
					t.Fatal(err)
				}
			}
			body, err := io.ReadAll(r)
			res.Body.Close()
			if err != nil || string(body) != "4"+tc.data {
				t.Errorf("poll body %.40q (%v), want 4%.40q", body, err, tc.data)
			}
		}
	})
}

// TestAllowRequestRefused refuses handshakes: plain HTTP gets 403 with the
// reason, and engine.io-client reports an error.
func TestAllowRequestRefused(t *testing.T) {
	run := func(t *testing.T, s server) {
		r := do(t, "GET", s.URL()+"/engine.io/?EIO=4&transport=polling", nil, "")
		if r.status != http.StatusForbidden || r.body != `{"code":4,"message":"denied"}` {
			t.Errorf("refused handshake: %d %q, want 403 {\"code\":4,\"message\":\"denied\"}", r.status, r.body)
		}
		for _, tr := range []string{"polling", "websocket"} {
			c := startEIO(t, s.URL(), nodeproc.M{"transports": []string{tr}})
			ev := c.p.Wait(nodeproc.Type("error"))
			t.Logf("%s client error: %s", tr, ev)
			if ev, ok := c.p.Poll(0, nodeproc.Type("open")); ok {
				t.Errorf("%s client opened: %s", tr, ev)
			}
		}
		if n := s.ClientsCount(t); n != 0 {
			t.Errorf("ClientsCount = %d, want 0", n)
		}
	}
	t.Run("go", func(t *testing.T) {
		selectServer(t, "go")
		run(t, startGoServerConfig(t, &engineio.Config{
			AllowRequest: func(*http.Request) error { return errors.New("denied") },
		}, false))
	})
	t.Run("node", func(t *testing.T) {
		selectServer(t, "node")
		s := startNodeServerOpts(t, nodeproc.M{}, false)
		s.p.Call(nodeproc.M{"cmd": "eval", "code": `ctx.engine.opts.allowRequest = (req, cb) => cb("denied", false)`})
		run(t, s)
	})
}
