package engineio

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestUTF16Len(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		okay bool
	}{
		{"", 0, true},
		{"hello", 5, true},
		{"héllo", 5, true},       // é: 2 bytes, 1 unit
		{"✓", 1, true},           // 3 bytes, 1 unit
		{"😀", 2, true},           // 4 bytes, a surrogate pair
		{"a😀b€", 5, true},        //
		{"\xff", 0, false},       // not UTF-8
		{"ab\xe2\x82", 0, false}, // cut sequence
	} {
		n, ok := utf16Len([]byte(tc.in))
		if n != tc.n || ok != tc.okay {
			t.Errorf("utf16Len(%q) = %d, %v; want %d, %v", tc.in, n, ok, tc.n, tc.okay)
		}
	}
}

func TestEncodePayloadV3(t *testing.T) {
	msg := func(s string) packet { return packet{typ: packetMessage, data: []byte(s)} }
	bin := func(b ...byte) packet { return packet{typ: packetMessage, data: messageWithType(b), binary: true} }
	for _, tc := range []struct {
		name  string
		q     []packet
		b64   bool
		want  string
		ctype string
	}{
		{"one", []packet{msg("hello")}, true, "6:4hello", textPayload},
		{"several", []packet{{typ: packetOpen, data: []byte(`{"sid":"x"}`)}, msg("a"), {typ: packetPong}},
			true, `12:0{"sid":"x"}2:4a1:3`, textPayload},
		{"utf-16 lengths", []packet{msg("héllo ✓"), msg("😀")}, true, "8:4héllo ✓3:4😀", textPayload},
		{"invalid utf-8 replaced", []packet{msg("a\xffb")}, true, "4:4a\uFFFDb", textPayload},
		{"base64 binary", []packet{msg("x"), bin(1, 2, 3, 4)}, true, "2:4x10:b4AQIDBA==", textPayload},
		{"text only, binary allowed", []packet{msg("x")}, false, "2:4x", textPayload},
		{"binary payload", []packet{msg("é"), bin(1, 2, 3)}, false,
			"\x00\x03\xff4é" + "\x01\x04\xff\x04\x01\x02\x03", "application/octet-stream"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ctype := encodePayloadV3(tc.q, tc.b64)
			if string(got) != tc.want || ctype != tc.ctype {
				t.Errorf("got %q (%s), want %q (%s)", got, ctype, tc.want, tc.ctype)
			}
		})
	}
	// a length of several digits
	long := strings.Repeat("x", 1234)
	got := appendBinaryPayloadV3(nil, []packet{msg(long)})
	if want := "\x00\x01\x02\x03\x05\xff4" + long; string(got) != want {
		t.Errorf("binary payload header %v", got[:8])
	}
}

func TestDecodePayloadV3(t *testing.T) {
	type pk struct {
		typ    packetType
		data   string
		binary bool
	}
	decode := func(in string, binary bool) ([]pk, error) {
		var out []pk
		err := decodePayloadV3([]byte(in), binary, func(p packet) bool {
			out = append(out, pk{p.typ, string(p.data), p.binary})
			return true
		})
		return out, err
	}
	for _, tc := range []struct {
		name   string
		in     string
		binary bool
		want   []pk
	}{
		{"one", "6:4hello", false, []pk{{packetMessage, "hello", false}}},
		{"ping and message", "1:22:4a", false, []pk{{packetPing, "", false}, {packetMessage, "a", false}}},
		{"utf-16 lengths", "8:4héllo ✓3:4😀1:2", false,
			[]pk{{packetMessage, "héllo ✓", false}, {packetMessage, "😀", false}, {packetPing, "", false}}},
		{"colon in data", "4:4a:b", false, []pk{{packetMessage, "a:b", false}}},
		{"empty packet skipped", "0:1:2", false, []pk{{packetPing, "", false}}},
		{"base64", "10:b4AQIDBA==", false, []pk{{packetMessage, "\x04\x01\x02\x03\x04", true}}},
		{"binary payload", "\x00\x02\xff4a\x01\x04\xff\x04\x01\x02\x03\x00\x01\xff2", true,
			[]pk{{packetMessage, "a", false}, {packetMessage, "\x04\x01\x02\x03", true}, {packetPing, "", false}}},
		{"binary payload, utf-8 and base64", "\x00\x03\xff4é\x00\x06\xffb4AQI=", true,
			[]pk{{packetMessage, "é", false}, {packetMessage, "\x04\x01\x02", true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decode(tc.in, tc.binary)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("packet %d: %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
	for _, tc := range []struct {
		name   string
		in     string
		binary bool
	}{
		{"empty", "", false},
		{"no length", ":4a", false},
		{"no colon", "4a", false},
		{"bad length", "x:4a", false},
		{"negative", "-1:4", false},
		{"short", "9:4hello", false},
		{"surrogate pair cut", "2:4😀", false},
		{"bad type", "2:9a", false},
		{"bad base64", "4:b4!!", false},
		{"binary base64 of another type", "3:b2AA", false},
		{"v4 payload", "4hello\x1e4world", false},
		{"binary: no terminator", "\x00\x01\x02", true},
		{"binary: bad digit", "\x00\x0a\xff4", true},
		{"binary: short", "\x00\x09\xff4a", true},
		{"binary: not a message", "\x01\x02\xff\x02\x01", true},
		{"binary: empty binary", "\x01\x00\xff", true},
	} {
		t.Run("error/"+tc.name, func(t *testing.T) {
			if got, err := decode(tc.in, tc.binary); err == nil {
				t.Errorf("decoded %q to %v, want an error", tc.in, got)
			}
		})
	}
}

func FuzzDecodePayloadV3(f *testing.F) {
	f.Add([]byte("6:4hello1:2"), false)
	f.Add([]byte("8:4héllo ✓10:b4AQIDBA=="), false)
	f.Add([]byte("\x00\x02\xff4a\x01\x04\xff\x04\x01\x02\x03"), true)
	f.Fuzz(func(t *testing.T, b []byte, binary bool) {
		var q []packet
		err := decodePayloadV3(b, binary, func(p packet) bool {
			q = append(q, packet{typ: p.typ, data: bytes.Clone(p.data), binary: p.binary})
			return true
		})
		if err != nil || len(q) == 0 {
			return
		}
		// what decodes re-encodes to a payload decoding to the same packets
		for _, b64 := range []bool{true, false} {
			enc, ctype := encodePayloadV3(q, b64)
			var again []packet
			err := decodePayloadV3(enc, ctype != textPayload, func(p packet) bool {
				again = append(again, p)
				return true
			})
			if err != nil {
				t.Fatalf("re-encoded %q: %v", enc, err)
			}
			if len(again) != len(q) {
				t.Fatalf("%d packets re-decoded, want %d", len(again), len(q))
			}
			for i := range q {
				want := q[i].data
				if !q[i].binary {
					want = validUTF8(want)
				}
				if again[i].typ != q[i].typ || again[i].binary != q[i].binary || !bytes.Equal(again[i].data, want) {
					t.Fatalf("packet %d: %+v, want %+v", i, again[i], q[i])
				}
			}
		}
	})
}

// handshakeV3 opens a v3 polling session with the extra query and returns
// its id and open packet.
func (ts *testServer) handshakeV3(t *testing.T, query string) (string, map[string]any) {
	t.Helper()
	res := do(t, "GET", ts.url+"?EIO=3&transport=polling"+query, "", nil)
	n, rest, _ := strings.Cut(res.body, ":")
	if res.status != 200 || !strings.HasPrefix(rest, "0{") || n == "" {
		t.Fatalf("v3 handshake: %d %q", res.status, res.body)
	}
	var open map[string]any
	if err := json.Unmarshal([]byte(rest[1:]), &open); err != nil {
		t.Fatalf("open packet %q: %v", rest, err)
	}
	return open["sid"].(string), open
}

func (ts *testServer) urlV3(sid, query string) string {
	return ts.url + "?EIO=3&transport=polling&sid=" + sid + query
}

func TestEIO3Refused(t *testing.T) {
	ts := newTestServer(t, nil, true)
	for _, eio := range []string{"3", "2", ""} {
		res := do(t, "GET", ts.url+"?EIO="+eio+"&transport=polling", "", nil)
		if res.status != 400 || res.body != `{"code":5,"message":"Unsupported protocol version"}` {
			t.Errorf("EIO=%s: %d %q", eio, res.status, res.body)
		}
	}
	u := "ws" + strings.TrimPrefix(ts.url, "http") + "?EIO=3&transport=websocket"
	if _, res, err := websocket.DefaultDialer.Dial(u, nil); err == nil || res == nil || res.StatusCode != 400 {
		t.Errorf("WebSocket EIO=3: %v %v", res, err)
	}
	errs := ts.connErrors()
	if len(errs) == 0 || errs[0].Code != ErrUnsupportedProtocol {
		t.Errorf("connection errors %v", errs)
	}
}

func TestEIO3Polling(t *testing.T) {
	ts := newTestServer(t, &Config{AllowEIO3: true, PingInterval: time.Second, PingTimeout: time.Second}, true)
	sid, open := ts.handshakeV3(t, "&b64=1")
	if open["pingInterval"] != 1000.0 || open["pingTimeout"] != 1000.0 || open["upgrades"] == nil {
		t.Errorf("open packet %v", open)
	}
	c := ts.nextConn(t)
	if c.Protocol() != 3 {
		t.Errorf("Protocol() = %d", c.Protocol())
	}
	post := func(body, ctype string) {
		t.Helper()
		res := do(t, "POST", ts.urlV3(sid, ""), body, http.Header{"Content-Type": {ctype}})
		if res.status != 200 || res.body != "ok" {
			t.Fatalf("POST %q: %d %q", body, res.status, res.body)
		}
	}
	poll := func(want, ctype string) {
		t.Helper()
		res := do(t, "GET", ts.urlV3(sid, ""), "", nil)
		if res.status != 200 || res.body != want || res.header.Get("Content-Type") != ctype {
			t.Fatalf("GET: %d %q (%s), want %q (%s)", res.status, res.body, res.header.Get("Content-Type"), want, ctype)
		}
	}
	// text and base64 binary, echoed; a ping answered with a pong
	post("8:4héllo ✓10:b4AQIDBA==1:2", "text/plain;charset=UTF-8")
	poll("8:4héllo ✓10:b4AQIDBA==1:3", textPayload)
	// a binary payload is read too
	post("\x00\x02\xff4a\x01\x03\xff\x04\x09\x08", "application/octet-stream")
	poll("2:4a6:b4CQg=", textPayload)
	// sent by the server
	if err := c.Send(Message{Data: []byte("😀")}, Message{Data: []byte{0xff}, Binary: true}); err != nil {
		t.Fatal(err)
	}
	poll("3:4😀6:b4/w==", textPayload)

	// a v4 request for a v3 session is refused
	res := do(t, "GET", ts.url+"?EIO=4&transport=polling&sid="+sid, "", nil)
	if res.status != 400 || !strings.Contains(res.body, `"code":3`) {
		t.Errorf("EIO=4 request on a v3 session: %d %q", res.status, res.body)
	}
}

func TestEIO3PollingBinaryPayload(t *testing.T) {
	ts := newTestServer(t, &Config{AllowEIO3: true}, true)
	sid, _ := ts.handshakeV3(t, "")
	c := ts.nextConn(t)
	if err := c.Send(Message{Data: []byte("é")}, Message{Data: []byte{1, 2, 3}, Binary: true}); err != nil {
		t.Fatal(err)
	}
	res := do(t, "GET", ts.urlV3(sid, ""), "", nil)
	want := "\x00\x03\xff4é\x01\x04\xff\x04\x01\x02\x03"
	if res.body != want || res.header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("GET: %q (%s), want %q", res.body, res.header.Get("Content-Type"), want)
	}
	// text only: a text payload
	_ = c.Send(Message{Data: []byte("x")})
	if res := do(t, "GET", ts.urlV3(sid, ""), "", nil); res.body != "2:4x" || res.header.Get("Content-Type") != textPayload {
		t.Errorf("GET: %q (%s)", res.body, res.header.Get("Content-Type"))
	}
}

func TestEIO3Heartbeat(t *testing.T) {
	ts := newTestServer(t, &Config{AllowEIO3: true, PingInterval: 100 * time.Millisecond, PingTimeout: 100 * time.Millisecond}, true)
	sid, _ := ts.handshakeV3(t, "&b64=1")
	c := ts.nextConn(t)
	// Pings keep the session open well past PingInterval+PingTimeout; the
	// server never pings.
	start := time.Now()
	for time.Since(start) < 600*time.Millisecond {
		res := do(t, "POST", ts.urlV3(sid, ""), "1:2", http.Header{"Content-Type": {"text/plain;charset=UTF-8"}})
		if res.status != 200 {
			t.Fatalf("POST ping: %d %q", res.status, res.body)
		}
		if res := do(t, "GET", ts.urlV3(sid, ""), "", nil); res.body != "1:3" {
			t.Fatalf("GET after a ping: %q, want the pong", res.body)
		}
	}
	// Without pings it times out.
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("no ping timeout")
	}
	ts.waitReason(t, ReasonPingTimeout)
	if d := time.Since(start); d < 700*time.Millisecond {
		t.Errorf("closed after %v", d)
	}

	// a pong from a v3 client is an error, as in Node
	sid, _ = ts.handshakeV3(t, "&b64=1")
	c = ts.nextConn(t)
	do(t, "POST", ts.urlV3(sid, ""), "1:3", http.Header{"Content-Type": {"text/plain;charset=UTF-8"}})
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a pong did not close the v3 session")
	}
	ts.waitReason(t, ReasonTransportError)
}

func dialV3(t *testing.T, ts *testServer, query string) *websocket.Conn {
	t.Helper()
	return ts.dialQuery(t, "?EIO=3&transport=websocket"+query)
}

func readFrame(t *testing.T, ws *websocket.Conn) (int, string) {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	mt, b, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return mt, string(b)
}

func TestEIO3WebSocket(t *testing.T) {
	for _, readers := range []struct {
		name     string
		noPoller bool
	}{{"poller", false}, {"goroutine", true}} {
		t.Run(readers.name, func(t *testing.T) {
			ts := newTestServer(t, &Config{AllowEIO3: true}, true)
			ts.Server.noPoller = readers.noPoller
			ws := dialV3(t, ts, "")
			if _, open := readFrame(t, ws); !strings.HasPrefix(open, `0{"sid":"`) || !strings.Contains(open, `"upgrades":[]`) {
				t.Fatalf("open %q", open)
			}
			// a binary frame carries the type byte, both ways
			if err := ws.WriteMessage(websocket.BinaryMessage, []byte{4, 1, 2, 3}); err != nil {
				t.Fatal(err)
			}
			if mt, b := readFrame(t, ws); mt != websocket.BinaryMessage || b != "\x04\x01\x02\x03" {
				t.Errorf("echo %d %q", mt, b)
			}
			// a base64 text frame is a binary message: echoed as a binary frame
			write(t, ws, "b4CQg=")
			if mt, b := readFrame(t, ws); mt != websocket.BinaryMessage || b != "\x04\x09\x08" {
				t.Errorf("echo %d %q", mt, b)
			}
			write(t, ws, "4héllo")
			if mt, b := readFrame(t, ws); mt != websocket.TextMessage || b != "4héllo" {
				t.Errorf("echo %d %q", mt, b)
			}
			write(t, ws, "2")
			if _, b := readFrame(t, ws); b != "3" {
				t.Errorf("pong %q", b)
			}
			// a binary frame of another type ends the session
			if err := ws.WriteMessage(websocket.BinaryMessage, []byte{2, 1}); err != nil {
				t.Fatal(err)
			}
			ts.waitReason(t, ReasonParseError)
		})
	}
}

func TestEIO3WebSocketBase64(t *testing.T) {
	ts := newTestServer(t, &Config{AllowEIO3: true}, true)
	ws := dialV3(t, ts, "&b64=1")
	readFrame(t, ws) // open
	if err := ws.WriteMessage(websocket.BinaryMessage, []byte{4, 1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if mt, b := readFrame(t, ws); mt != websocket.TextMessage || b != "b4AQID" {
		t.Errorf("echo %d %q, want base64 text", mt, b)
	}
}

func TestEIO3Upgrade(t *testing.T) {
	for _, b64 := range []bool{false, true} {
		name := "binary"
		if b64 {
			name = "base64"
		}
		t.Run(name, func(t *testing.T) {
			ts := newTestServer(t, &Config{AllowEIO3: true}, true)
			sid, open := ts.handshakeV3(t, "&b64=1")
			if ups, _ := open["upgrades"].([]any); len(ups) != 1 || ups[0] != "websocket" {
				t.Fatalf("upgrades %v", open["upgrades"])
			}
			c := ts.nextConn(t)
			q := "&sid=" + sid
			if b64 {
				q += "&b64=1"
			}
			ws := dialV3(t, ts, q)
			write(t, ws, "2probe")
			if _, b := readFrame(t, ws); b != "3probe" {
				t.Fatalf("probe answer %q", b)
			}
			res := do(t, "GET", ts.urlV3(sid, ""), "", nil)
			if res.body != "1:6" {
				t.Errorf("poll during the upgrade: %q, want a v3 noop", res.body)
			}
			// queued over polling, sent over the WebSocket
			if err := c.Send(Message{Data: []byte{7}, Binary: true}); err != nil {
				t.Fatal(err)
			}
			write(t, ws, "5")
			mt, b := readFrame(t, ws)
			if b64 && (mt != websocket.TextMessage || b != "b4Bw==") {
				t.Errorf("after the upgrade: %d %q, want b4Bw==", mt, b)
			}
			if !b64 && (mt != websocket.BinaryMessage || b != "\x04\x07") {
				t.Errorf("after the upgrade: %d %q, want 04 07", mt, b)
			}
			if !c.Upgraded() {
				t.Error("not upgraded")
			}
		})
	}
}
