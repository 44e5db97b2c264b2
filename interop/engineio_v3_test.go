package interop

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/interop/internal/nodeproc"
)

// TestEIO3PayloadsAgainstParser checks our Engine.IO v3 polling payloads
// against the official engine.io-parser 2.x (the one socket.io-client 2.5.0
// uses): payloads it encodes are POSTed to our server, which echoes the
// messages, and it decodes what our server answers. Both payload formats:
// text (length-prefixed, lengths in UTF-16 code units, binary as base64:
// what a client in Node.js uses, b64=1) and binary (what a browser's
// XMLHttpRequest level 2 client uses).
func TestEIO3PayloadsAgainstParser(t *testing.T) {
	node := nodeproc.Start(t, "sio2-client.mjs")
	node.Call(nodeproc.M{"cmd": "eval", "code": `
		const { createRequire } = await import("node:module");
		const require = createRequire(process.cwd() + "/node_modules/socket.io-client-v2/package.json");
		ctx.parser = require("engine.io-parser");
		if (ctx.parser.protocol !== 3) throw new Error("engine.io-parser protocol " + ctx.parser.protocol);`})
	// encode/decode through the official parser; packets are
	// {type, data} with binary data as {"$bin": ...}
	parser := func(code string, arg any) json.RawMessage {
		t.Helper()
		a, _ := json.Marshal(arg)
		ev := node.Call(nodeproc.M{"cmd": "eval", "code": "const arg = ctx.decode(" + string(a) + ");\n" + code})
		return ev.Field("value")
	}
	srv := startGoServerConfig(t, &engineio.Config{AllowEIO3: true}, true)
	packets := []any{
		nodeproc.M{"type": "message", "data": "héllo ✓ 😀 \U0001F600x"},
		nodeproc.M{"type": "message", "data": nodeproc.Bin([]byte{0, 1, 255})},
		nodeproc.M{"type": "message", "data": strings.Repeat("€", 300)},
		nodeproc.M{"type": "ping"},
	}
	// what the echo server answers: the messages, and a pong for the ping
	want := []any{packets[0], packets[1], packets[2], nodeproc.M{"type": "pong"}}

	for _, mode := range []struct {
		name   string
		query  string
		encode string // official encoding of arg (packets) to a payload
		decode string // official decoding of arg (a payload)
		ctype  string // content type of the payloads
	}{
		{"text", "&b64=1",
			`return await new Promise((r) => ctx.parser.encodePayload(arg, false, r));`,
			`const out = []; ctx.parser.decodePayload(arg, (p) => { out.push(p); }); return out;`,
			"text/plain; charset=UTF-8"},
		{"binary", "",
			`return await new Promise((r) => ctx.parser.encodePayloadAsBinary(arg, r));`,
			`const out = []; ctx.parser.decodePayloadAsBinary(arg, (p) => { out.push(p); }); return out;`,
			"application/octet-stream"},
	} {
		t.Run(mode.name, func(t *testing.T) {
			base := srv.URL() + "/engine.io/?EIO=3&transport=polling" + mode.query
			res := do(t, "GET", base, nil, "")
			var open []map[string]any
			if err := json.Unmarshal(parser(`const out = []; ctx.parser.decodePayload(arg, (p) => { out.push(p); }); return out;`, res.body), &open); err != nil ||
				len(open) != 1 || open[0]["type"] != "open" {
				t.Fatalf("handshake %q: decoded as %v", res.body, open)
			}
			var hs struct{ SID string }
			_ = json.Unmarshal([]byte(open[0]["data"].(string)), &hs)
			url := base + "&sid=" + hs.SID

			// the official encoding, posted
			var body []byte
			if raw := parser(mode.encode, packets); mode.ctype == "text/plain; charset=UTF-8" {
				var s string
				_ = json.Unmarshal(raw, &s)
				body = []byte(s)
			} else {
				var b struct {
					Bin string `json:"$bin"`
				}
				_ = json.Unmarshal(raw, &b)
				body, _ = base64.StdEncoding.DecodeString(b.Bin)
			}
			ctype := mode.ctype
			if ctype != "application/octet-stream" {
				ctype = "text/plain;charset=UTF-8"
			}
			if res := do(t, "POST", url, map[string]string{"Content-Type": ctype}, string(body)); res.status != 200 || res.body != "ok" {
				t.Fatalf("POST: %d %q", res.status, res.body)
			}
			// our answer, decoded officially
			res = do(t, "GET", url, nil, "")
			if ct := res.header.Get("Content-Type"); ct != mode.ctype {
				t.Errorf("Content-Type %q, want %q", ct, mode.ctype)
			}
			var arg any = res.body
			if mode.ctype == "application/octet-stream" {
				arg = nodeproc.Bin([]byte(res.body))
			}
			jsonEqual(t, "decoded by engine.io-parser", parser(mode.decode, arg), want)
		})
	}
}
