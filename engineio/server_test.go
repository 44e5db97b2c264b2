package engineio

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestHandshakePolling(t *testing.T) {
	ts := newTestServer(t, &Config{Cookie: &Cookie{}}, true)
	res := do(t, "GET", ts.url+"?EIO=4&transport=polling", "", nil)
	if res.status != 200 {
		t.Fatalf("status %d", res.status)
	}
	if got := res.header.Get("Content-Type"); got != "text/plain; charset=UTF-8" {
		t.Errorf("Content-Type %q", got)
	}
	var hs struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal([]byte(res.body[1:]), &hs); err != nil {
		t.Fatal(err)
	}
	if len(hs.SID) != 20 {
		t.Errorf("sid %q: want 20 characters", hs.SID)
	}
	want := `0{"sid":"` + hs.SID + `","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`
	if res.body != want {
		t.Errorf("open packet\n got %s\nwant %s", res.body, want)
	}
	if got := res.header.Get("Set-Cookie"); got != "io="+hs.SID+"; Path=/; HttpOnly; SameSite=Lax" {
		t.Errorf("Set-Cookie %q", got)
	}
	if n := ts.ClientsCount(); n != 1 {
		t.Errorf("ClientsCount = %d", n)
	}
}

func TestHandshakeOptions(t *testing.T) {
	ts := newTestServer(t, &Config{
		PingInterval: time.Second, PingTimeout: 2 * time.Second, MaxBufferSize: 100,
		DisableUpgrades: true, InitialPacket: []byte("hi"),
	}, true)
	res := do(t, "GET", ts.url+"?EIO=4&transport=polling", "", nil)
	i := strings.Index(res.body, `","upgrades"`)
	if i < 0 || res.body[i:] != `","upgrades":[],"pingInterval":1000,"pingTimeout":2000,"maxPayload":100}`+"\x1e4hi" {
		t.Errorf("handshake %q", res.body)
	}
}

func TestHandshakeErrors(t *testing.T) {
	ts := newTestServer(t, &Config{
		AllowRequest: func(r *http.Request) error {
			if r.URL.Query().Get("deny") != "" {
				return errors.New("go away")
			}
			return nil
		},
	}, true)
	sid := ts.handshake(t)
	tests := []struct {
		name, method, query string
		status              int
		body                string
	}{
		{"no EIO", "GET", "transport=polling", 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"EIO=3", "GET", "EIO=3&transport=polling", 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"EIO=abc", "GET", "EIO=abc&transport=polling", 400, `{"code":5,"message":"Unsupported protocol version"}`},
		{"no transport", "GET", "EIO=4", 400, `{"code":0,"message":"Transport unknown"}`},
		{"bad transport", "GET", "EIO=4&transport=abc", 400, `{"code":0,"message":"Transport unknown"}`},
		{"POST handshake", "POST", "EIO=4&transport=polling", 400, `{"code":2,"message":"Bad handshake method"}`},
		{"PUT handshake", "PUT", "EIO=4&transport=polling", 400, `{"code":2,"message":"Bad handshake method"}`},
		{"unknown sid", "GET", "EIO=4&transport=polling&sid=nope", 400, `{"code":1,"message":"Session ID unknown"}`},
		{"websocket without upgrade", "GET", "EIO=4&transport=websocket", 400, `{"code":3,"message":"Bad request"}`},
		{"transport mismatch", "GET", "EIO=4&transport=websocket&sid=" + sid, 400, `{"code":3,"message":"Bad request"}`},
		{"refused", "GET", "EIO=4&transport=polling&deny=1", 403, `{"code":4,"message":"go away"}`},
		{"other method with sid", "PUT", "EIO=4&transport=polling&sid=" + sid, 500, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := do(t, tt.method, ts.url+"?"+tt.query, "", nil)
			if res.status != tt.status || res.body != tt.body {
				t.Errorf("got %d %s, want %d %s", res.status, res.body, tt.status, tt.body)
			}
			if tt.body != "" && res.header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q", res.header.Get("Content-Type"))
			}
		})
	}
	errs := ts.connErrors()
	if len(errs) != len(tests)-1 {
		t.Fatalf("OnConnectionError called %d times, want %d", len(errs), len(tests)-1)
	}
	if errs[9].Context != "TRANSPORT_MISMATCH" || errs[8].Context != "TRANSPORT_HANDSHAKE_ERROR" || errs[10].Code != ErrForbidden {
		t.Errorf("contexts: %+v %+v %+v", errs[8], errs[9], errs[10])
	}
	if res := do(t, "GET", ts.http.URL+"/other/?EIO=4&transport=polling", "", nil); res.status != 404 {
		t.Errorf("outside the path: %d", res.status)
	}
}

func TestPollingMessages(t *testing.T) {
	ts := newTestServer(t, nil, true)
	sid := ts.handshake(t)
	if res := ts.post(t, sid, "4hello\x1e4world\x1ebAQIDBA=="); res.status != 200 || res.body != "ok" {
		t.Fatalf("POST: %d %q", res.status, res.body)
	}
	if res := ts.poll(t, sid); res.body != "4hello\x1e4world\x1ebAQIDBA==" {
		t.Fatalf("GET: %q", res.body)
	}
	// a poll waits for data
	got := make(chan response, 1)
	go func() { got <- ts.poll(t, sid) }()
	time.Sleep(50 * time.Millisecond)
	ts.post(t, sid, "4late")
	if res := <-got; res.body != "4late" {
		t.Fatalf("waiting GET: %q", res.body)
	}
}

func TestPollingCompression(t *testing.T) {
	ts := newTestServer(t, nil, true)
	sid := ts.handshake(t)
	big := strings.Repeat("a", 2000)
	ts.post(t, sid, "4"+big)
	req, _ := http.NewRequest("GET", ts.url+"?EIO=4&transport=polling&sid="+sid, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q", res.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(zr)
	if string(b) != "4"+big {
		t.Errorf("body of %d bytes", len(b))
	}
}

func TestPollingBadInput(t *testing.T) {
	t.Run("invalid packet", func(t *testing.T) {
		ts := newTestServer(t, nil, true)
		sid := ts.handshake(t)
		if res := ts.post(t, sid, "abc"); res.status != 400 {
			t.Errorf("POST abc: %d", res.status)
		}
		if res := ts.poll(t, sid); res.status != 400 {
			t.Errorf("GET after parse error: %d", res.status)
		}
		ts.waitReason(t, ReasonParseError)
	})
	t.Run("invalid base64", func(t *testing.T) {
		ts := newTestServer(t, nil, true)
		sid := ts.handshake(t)
		if res := ts.post(t, sid, "b!!!"); res.status != 400 {
			t.Errorf("POST: %d", res.status)
		}
		ts.waitReason(t, ReasonParseError)
	})
	t.Run("binary content type", func(t *testing.T) {
		ts := newTestServer(t, nil, true)
		sid := ts.handshake(t)
		res := do(t, "POST", ts.url+"?EIO=4&transport=polling&sid="+sid, "4x", http.Header{"Content-Type": {"application/octet-stream"}})
		if res.status != 400 {
			t.Errorf("POST: %d", res.status)
		}
		ts.waitReason(t, ReasonTransportError)
	})
	t.Run("duplicate poll", func(t *testing.T) {
		ts := newTestServer(t, nil, true)
		sid := ts.handshake(t)
		first := make(chan response, 1)
		go func() { first <- ts.poll(t, sid) }()
		time.Sleep(50 * time.Millisecond)
		if res := ts.poll(t, sid); res.status != 400 {
			t.Errorf("second GET: %d", res.status)
		}
		if res := <-first; res.status != 200 || res.body != "1" {
			t.Errorf("first GET: %d %q", res.status, res.body)
		}
		if res := ts.poll(t, sid); res.status != 400 {
			t.Errorf("GET after close: %d", res.status)
		}
	})
	t.Run("oversized body", func(t *testing.T) {
		ts := newTestServer(t, &Config{MaxBufferSize: 10}, true)
		sid := ts.handshake(t)
		if res := ts.post(t, sid, "4"+strings.Repeat("x", 9)); res.status != 200 {
			t.Errorf("POST at the limit: %d", res.status)
		}
		if res := ts.post(t, sid, "4"+strings.Repeat("x", 10)); res.status != 413 {
			t.Errorf("POST over the limit: %d", res.status)
		}
		ts.waitReason(t, ReasonTransportError)
	})
	t.Run("client close", func(t *testing.T) {
		ts := newTestServer(t, nil, true)
		sid := ts.handshake(t)
		pending := make(chan response, 1)
		go func() { pending <- ts.poll(t, sid) }()
		time.Sleep(50 * time.Millisecond)
		ts.post(t, sid, "1")
		if res := <-pending; res.status != 200 || res.body != "6" {
			t.Errorf("pending GET: %d %q", res.status, res.body)
		}
		ts.waitReason(t, ReasonTransportClose)
		time.Sleep(150 * time.Millisecond)
		if res := ts.poll(t, sid); res.status != 400 {
			t.Errorf("GET after close: %d", res.status)
		}
	})
}

func TestWebSocket(t *testing.T) {
	ts := newTestServer(t, nil, true)
	ws := ts.dial(t, "")
	open := readText(t, ws)
	if !strings.HasPrefix(open, `0{"sid":"`) || !strings.Contains(open, `"upgrades":[]`) {
		t.Fatalf("open packet %q", open)
	}
	write(t, ws, "4hello")
	if got := readText(t, ws); got != "4hello" {
		t.Errorf("echo %q", got)
	}
	if err := ws.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	mt, b, err := ws.ReadMessage()
	if err != nil || mt != websocket.BinaryMessage || !bytes.Equal(b, []byte{1, 2, 3}) {
		t.Errorf("binary echo: %v %v %v", mt, b, err)
	}
	write(t, ws, "1")
	ts.waitReason(t, ReasonTransportClose)
}

func TestWebSocketBadInput(t *testing.T) {
	t.Run("invalid packet", func(t *testing.T) {
		ts := newTestServer(t, nil, true)
		ws := ts.dial(t, "")
		readText(t, ws)
		write(t, ws, "abc")
		ts.waitReason(t, ReasonParseError)
		if _, _, err := ws.ReadMessage(); err == nil {
			t.Error("socket still open")
		}
	})
	t.Run("oversized frame", func(t *testing.T) {
		ts := newTestServer(t, &Config{MaxBufferSize: 10}, true)
		ws := ts.dial(t, "")
		readText(t, ws)
		write(t, ws, "4"+strings.Repeat("x", 10))
		ts.waitReason(t, ReasonTransportError)
	})
	t.Run("second upgrade", func(t *testing.T) {
		ts := newTestServer(t, nil, true)
		ws := ts.dial(t, "")
		open := readText(t, ws)
		sid := open[9:29]
		other := ts.dial(t, "&sid="+sid)
		if _, _, err := other.ReadMessage(); err == nil {
			t.Error("second WebSocket for the session stayed open")
		}
		write(t, ws, "4still")
		if got := readText(t, ws); got != "4still" {
			t.Errorf("first socket: %q", got)
		}
	})
}

func TestUpgrade(t *testing.T) {
	ts := newTestServer(t, nil, false)
	sid := ts.handshake(t)
	conn := ts.nextConn(t)
	var received []string
	done := make(chan struct{})
	conn.OnMessage(func(data []byte, binary bool) {
		received = append(received, string(data))
		if len(received) == 200 {
			close(done)
		}
	})

	// a poll is pending when the upgrade starts
	pending := make(chan response, 1)
	go func() { pending <- ts.poll(t, sid) }()
	time.Sleep(30 * time.Millisecond)

	ws := ts.dial(t, "&sid="+sid)
	write(t, ws, "2probe")
	if got := readText(t, ws); got != "3probe" {
		t.Fatalf("probe answer %q", got)
	}
	// server messages sent during the upgrade go wherever the session is
	for i := 0; i < 50; i++ {
		if err := conn.Send(Message{Data: []byte{byte('a' + i%26)}}); err != nil {
			t.Fatal(err)
		}
	}
	var viaPoll []string
	if res := <-pending; res.status != 200 {
		t.Fatalf("pending poll: %d", res.status)
	} else if res.body != "6" {
		viaPoll = strings.Split(res.body, "\x1e")
	}
	// client messages over polling during the upgrade
	for i := 0; i < 100; i++ {
		ts.post(t, sid, "4p")
	}
	write(t, ws, "5")
	for i := 0; i < 100; i++ {
		write(t, ws, "4w")
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("received %d messages", len(received))
	}
	for i, m := range received {
		if want := map[bool]string{true: "p", false: "w"}[i < 100]; m != want {
			t.Fatalf("message %d = %q, want %q", i, m, want)
		}
	}
	var viaWS []string
	for len(viaPoll)+len(viaWS) < 50 {
		viaWS = append(viaWS, readText(t, ws))
	}
	all := append(viaPoll, viaWS...)
	for i, m := range all {
		if want := "4" + string(rune('a'+i%26)); m != want {
			t.Fatalf("server message %d = %q, want %q", i, m, want)
		}
	}
	if conn.Transport() != WebSocket || !conn.Upgraded() {
		t.Errorf("transport %s upgraded %v", conn.Transport(), conn.Upgraded())
	}
	if res := ts.poll(t, sid); res.status != 400 {
		t.Errorf("poll after upgrade: %d", res.status)
	}
}

func TestHeartbeat(t *testing.T) {
	ts := newTestServer(t, &Config{PingInterval: 100 * time.Millisecond, PingTimeout: time.Second}, true)
	ws := ts.dial(t, "")
	readText(t, ws)
	for i := 0; i < 3; i++ {
		if got := readText(t, ws); got != "2" {
			t.Fatalf("ping %d: %q (%v)", i, got, ts.closeReasons())
		}
		write(t, ws, "3")
	}
	if n := ts.ClientsCount(); n != 1 {
		t.Fatalf("session gone while answering pings")
	}
	ts.waitReason(t, ReasonPingTimeout) // stop answering
	if n := ts.ClientsCount(); n != 0 {
		t.Errorf("ClientsCount = %d after timeout", n)
	}
}

func TestServerClose(t *testing.T) {
	t.Run("polling", func(t *testing.T) {
		ts := newTestServer(t, nil, false)
		sid := ts.handshake(t)
		conn := ts.nextConn(t)
		_ = conn.Send(Message{Data: []byte("bye")})
		_ = conn.Close()
		if err := conn.Send(Message{Data: []byte("late")}); !errors.Is(err, ErrClosed) {
			t.Errorf("Send after Close: %v", err)
		}
		if res := ts.poll(t, sid); res.body != "4bye" {
			t.Errorf("poll after Close: %q", res.body)
		}
		if res := ts.poll(t, sid); res.body != "1" {
			t.Errorf("second poll after Close: %q", res.body)
		}
		<-conn.Done()
		ts.waitReason(t, ReasonForcedClose)
	})
	t.Run("websocket", func(t *testing.T) {
		ts := newTestServer(t, nil, false)
		ws := ts.dial(t, "")
		readText(t, ws)
		conn := ts.nextConn(t)
		_ = conn.Send(Message{Data: []byte("bye")})
		_ = conn.Close()
		if got := readText(t, ws); got != "4bye" {
			t.Errorf("last message %q", got)
		}
		_, _, err := ws.ReadMessage()
		if !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
			t.Errorf("read after close: %v", err)
		}
	})
}

func TestSlowConsumer(t *testing.T) {
	ts := newTestServer(t, &Config{MaxQueueBytes: 100}, false)
	ts.handshake(t) // the open packet is taken by the handshake
	conn := ts.nextConn(t)
	if err := conn.SendVolatile(Message{Data: []byte("x")}); !errors.Is(err, ErrDropped) {
		t.Errorf("SendVolatile without a poll: %v", err)
	}
	for i := 0; i < 9; i++ {
		if err := conn.Send(Message{Data: make([]byte, 10)}); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	if err := conn.Send(Message{Data: make([]byte, 10)}); !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("Send over the bound: %v", err)
	}
	ts.waitReason(t, ReasonSlowConsumer)
}

func TestShutdown(t *testing.T) {
	ts := newTestServer(t, nil, true)
	sid := ts.handshake(t)
	pending := make(chan response, 1)
	go func() { pending <- ts.poll(t, sid) }()
	ws := ts.dial(t, "")
	readText(t, ws)
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if res := <-pending; res.body != "1" {
		t.Errorf("pending poll: %q", res.body)
	}
	if _, _, err := ws.ReadMessage(); err == nil {
		t.Error("WebSocket still open")
	}
	if res := do(t, "GET", ts.url+"?EIO=4&transport=polling", "", nil); res.status != 503 {
		t.Errorf("handshake after Shutdown: %d", res.status)
	}
	if n := ts.ClientsCount(); n != 0 {
		t.Errorf("ClientsCount = %d", n)
	}
}

func TestCORS(t *testing.T) {
	ts := newTestServer(t, &Config{CORS: &CORS{
		AllowOrigins: []string{"https://good.example"}, AllowCredentials: true, MaxAge: time.Minute,
	}}, true)
	res := do(t, "OPTIONS", ts.url+"?EIO=4&transport=polling", "", http.Header{
		"Origin": {"https://good.example"}, "Access-Control-Request-Headers": {"x-token"},
	})
	if res.status != 204 || res.header.Get("Access-Control-Allow-Origin") != "https://good.example" ||
		res.header.Get("Access-Control-Allow-Credentials") != "true" ||
		res.header.Get("Access-Control-Allow-Headers") != "x-token" ||
		res.header.Get("Access-Control-Max-Age") != "60" {
		t.Errorf("preflight: %d %v", res.status, res.header)
	}
	res = do(t, "GET", ts.url+"?EIO=4&transport=polling", "", http.Header{"Origin": {"https://evil.example"}})
	if res.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("hostile origin allowed: %v", res.header)
	}
	res = do(t, "GET", ts.url+"?EIO=4&transport=polling", "", http.Header{"Origin": {"https://good.example"}})
	if res.status != 200 || res.header.Get("Access-Control-Allow-Origin") != "https://good.example" {
		t.Errorf("GET: %d %v", res.status, res.header)
	}

	any := newTestServer(t, &Config{CORS: &CORS{AllowOrigins: []string{"*"}}}, true)
	res = do(t, "GET", any.url+"?EIO=4&transport=polling", "", http.Header{"Origin": {"https://x.example"}})
	if res.header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("allow all: %v", res.header)
	}
}

// TestConnRequest checks the copy of the handshake request a session
// keeps: the URL is rebuilt from the request URI, unless a handler before
// the server changed it.
func TestConnRequest(t *testing.T) {
	ts := newTestServer(t, nil, false)
	ws := ts.dial(t, "&token=a%20b&x=1")
	readText(t, ws)
	r := ts.nextConn(t).Request()
	if got := r.URL.Query().Get("token"); got != "a b" {
		t.Errorf("query token = %q", got)
	}
	if want := "/engine.io/?EIO=4&transport=websocket&token=a%20b&x=1"; r.RequestURI != want || r.URL.RequestURI() != want {
		t.Errorf("RequestURI %q, URL %q; want %q", r.RequestURI, r.URL.RequestURI(), want)
	}
	if r.Method != "GET" || r.Header.Get("Upgrade") != "websocket" || r.Host == "" {
		t.Errorf("method %q, Upgrade %q, host %q", r.Method, r.Header.Get("Upgrade"), r.Host)
	}

	// Mounted behind http.StripPrefix, the URL the server saw is kept.
	conns := make(chan *Conn, 1)
	srv := NewServer(nil, func(c *Conn) { conns <- c })
	defer srv.Shutdown(context.Background())
	hs := httptest.NewServer(http.StripPrefix("/app", srv))
	defer hs.Close()
	res := do(t, "GET", hs.URL+"/app/engine.io/?EIO=4&transport=polling&k=v", "", nil)
	if res.status != 200 {
		t.Fatalf("status %d: %s", res.status, res.body)
	}
	r = (<-conns).Request()
	if r.URL.Path != "/engine.io/" || r.URL.Query().Get("k") != "v" || r.RequestURI != "/app/engine.io/?EIO=4&transport=polling&k=v" {
		t.Errorf("URL %v, RequestURI %q", r.URL, r.RequestURI)
	}
}

// TestCORSWildcardWithCredentials checks that "*" with credentials is sent
// as a literal "*", as by Node's cors package: no origin, "null" included,
// is given credentialed access.
func TestCORSWildcardWithCredentials(t *testing.T) {
	ts := newTestServer(t, &Config{CORS: &CORS{AllowOrigins: []string{"*"}, AllowCredentials: true}}, true)
	for _, origin := range []string{"https://evil.example", "null"} {
		res := do(t, "GET", ts.url+"?EIO=4&transport=polling", "", http.Header{"Origin": {origin}})
		if got := res.header.Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("origin %s: Access-Control-Allow-Origin %q, want *", origin, got)
		}
	}
}

// TestCheckWebSocketOrigin checks the Origin of WebSocket handshakes and
// upgrades against the CORS configuration when asked to.
func TestCheckWebSocketOrigin(t *testing.T) {
	dialFrom := func(ts *testServer, query, origin string) error {
		u := "ws" + strings.TrimPrefix(ts.url, "http") + "?EIO=4&transport=websocket" + query
		h := http.Header{}
		if origin != "" {
			h.Set("Origin", origin)
		}
		ws, _, err := websocket.DefaultDialer.Dial(u, h)
		if err == nil {
			ws.Close()
		}
		return err
	}
	checked := newTestServer(t, &Config{CheckWebSocketOrigin: true,
		CORS: &CORS{AllowOrigins: []string{"https://good.example"}}}, true)
	host := "http://" + strings.TrimPrefix(checked.http.URL, "http://")
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"https://good.example", true},
		{host, true}, // same origin
		{"", true},   // not a browser
		{"https://evil.example", false},
		{"null", false},
	} {
		if err := dialFrom(checked, "", tc.origin); (err == nil) != tc.ok {
			t.Errorf("origin %q: dial error %v, want allowed %v", tc.origin, err, tc.ok)
		}
	}
	// An upgrade is checked too.
	sid := checked.handshake(t)
	if err := dialFrom(checked, "&sid="+sid, "https://evil.example"); err == nil {
		t.Error("upgrade from a hostile origin accepted")
	}
	// Off by default, as in Node.
	open := newTestServer(t, &Config{CORS: &CORS{AllowOrigins: []string{"https://good.example"}}}, true)
	if err := dialFrom(open, "", "https://evil.example"); err != nil {
		t.Errorf("without the check: %v", err)
	}
}
