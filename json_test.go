package socketio

import (
	"encoding/json"
	"github.com/sio-go/socketio/protocol"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestHandshakeJSON(t *testing.T) {
	h := Handshake{
		Headers: http.Header{"Accept": {"a", "b"}, "Set-Cookie": {"x=1", "y=2"}, "Host": {"example.com"}},
		Query:   url.Values{"EIO": {"4"}, "tag": {"a", "b"}},
		Auth:    json.RawMessage(`{"token":"t"}`),
		Address: "::1",
		Time:    time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
		URL:     "/socket.io/?EIO=4",
		Secure:  true,
		XDomain: false,
	}
	b, err := json.Marshal(h)
	noErr(t, err)
	var generic map[string]any
	noErr(t, json.Unmarshal(b, &generic))
	headers := generic["headers"].(map[string]any)
	equal(t, "accept", headers["accept"], any("a, b"))
	equal(t, "set-cookie", headers["set-cookie"], any([]any{"x=1", "y=2"}))
	query := generic["query"].(map[string]any)
	equal(t, "EIO", query["EIO"], any("4"))
	equal(t, "tag", query["tag"], any([]any{"a", "b"}))
	equal(t, "issued", generic["issued"], any(float64(h.Time.UnixMilli())))
	equal(t, "time", generic["time"], any("Mon May 06 2024 07:08:09 GMT+0000 (Coordinated Universal Time)"))
	equal(t, "auth", generic["auth"], any(map[string]any{"token": "t"}))

	var back Handshake
	noErr(t, json.Unmarshal(b, &back))
	equal(t, "headers", back.Headers.Get("Host"), "example.com")
	equal(t, "set-cookie", back.Headers["Set-Cookie"], []string{"x=1", "y=2"})
	equal(t, "query", back.Query["tag"], []string{"a", "b"})
	equal(t, "time", back.Time.UnixMilli(), h.Time.UnixMilli())
	equal(t, "auth", string(back.Auth), `{"token":"t"}`)
	equal(t, "secure", back.Secure, true)
}

func TestBroadcastOptionsJSON(t *testing.T) {
	for _, tc := range []struct {
		opts BroadcastOptions
		want string
	}{
		{BroadcastOptions{}, `{"rooms":null,"except":null,"flags":{}}`},
		{BroadcastOptions{Rooms: []string{"a"}, Except: []string{"b"},
			Flags: BroadcastFlags{Volatile: true, NoCompress: true, Local: true, Timeout: 1500 * time.Millisecond}},
			`{"rooms":["a"],"except":["b"],"flags":{"volatile":true,"compress":false,"local":true,"timeout":1500}}`},
	} {
		b, err := json.Marshal(tc.opts)
		noErr(t, err)
		equal(t, "json", string(b), tc.want)
		var back BroadcastOptions
		noErr(t, json.Unmarshal(b, &back))
		equal(t, "round trip", back, tc.opts)
	}
	var f BroadcastFlags
	noErr(t, json.Unmarshal([]byte(`{"compress":true,"timeout":20}`), &f))
	equal(t, "flags", f, BroadcastFlags{Timeout: 20 * time.Millisecond})
}

func TestRemoteSocketJSON(t *testing.T) {
	// The shape of a fetchSockets response of the official adapters.
	in := `{"id":"abc","handshake":{"headers":{"host":"h"},"time":"x","address":"1.2.3.4","xdomain":false,"secure":false,"issued":1700000000000,"url":"/socket.io/","query":{"EIO":"4"},"auth":{}},"rooms":["abc","r"],"data":{"n":1}}`
	var rs RemoteSocket
	noErr(t, json.Unmarshal([]byte(in), &rs))
	equal(t, "id", rs.ID, "abc")
	equal(t, "rooms", rs.Rooms, []string{"abc", "r"})
	type n struct{ N int }
	d, err := DataAs[n](rs.Data)
	noErr(t, err)
	equal(t, "data", d, n{1})
	equal(t, "address", rs.Handshake.Address, "1.2.3.4")
	equal(t, "host", rs.Handshake.Headers.Get("Host"), "h")
	b, err := json.Marshal(&rs)
	noErr(t, err)
	equal(t, "data kept as JSON", strings.Contains(string(b), `"data":{"n":1}`), true)
}

func TestArgs(t *testing.T) {
	a, err := protocol.ArgsFromArray([]byte(`[1,"two",{"_placeholder":true,"num":0},{"nested":{"_placeholder":true,"num":1}}]`),
		[][]byte{{0xa}, {0xb, 0xc}})
	noErr(t, err)
	equal(t, "len", a.Len(), 4)
	equal(t, "raw", string(a.Raw(1)), `"two"`)
	equal(t, "raw out of range", a.Raw(9), json.RawMessage(nil))
	var n int
	noErr(t, a.Decode(0, &n))
	equal(t, "n", n, 1)
	b, ok := a.Binary(2)
	equal(t, "binary", b, []byte{0xa})
	equal(t, "ok", ok, true)
	_, ok = a.Binary(0)
	equal(t, "not binary", ok, false)
	var nested struct{ Nested []byte }
	noErr(t, a.Decode(3, &nested))
	equal(t, "nested", nested.Nested, []byte{0xb, 0xc})
	var missing string
	noErr(t, a.Decode(7, &missing))
	if err := a.Decode(1, &n); err == nil {
		t.Fatal("decoding a string into an int succeeded")
	}
	vals := a.Values()
	equal(t, "values[0]", vals[0], any(json.RawMessage("1")))
	equal(t, "values[2]", vals[2], any([]byte{0xa}))
	equal(t, "values[3]", vals[3], any(map[string]any{"nested": []byte{0xb, 0xc}}))
}

func TestEventPacketEscapesNames(t *testing.T) {
	for _, ev := range []string{"plain", `quo"te`, "uni\u00e9", "<tag>", "tab\t"} {
		p, err := eventPacket(ev, []any{1})
		noErr(t, err)
		var back []any
		noErr(t, json.Unmarshal(p.Data, &back))
		equal(t, "name", back[0], any(ev))
	}
}
