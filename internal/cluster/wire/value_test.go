package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/sio-go/socketio/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

func encodeJSON(t testing.TB, data string, atts ...[]byte) []byte {
	t.Helper()
	out, err := withEncoder(nil, func(enc *msgpack.Encoder) error {
		e := valueEncoder{enc: enc, atts: atts}
		return e.encode([]byte(data))
	})
	if err != nil {
		t.Fatalf("encode %s: %v", data, err)
	}
	return out
}

func decodeMsgpack(msg []byte) (string, [][]byte, error) {
	var d valueDecoder
	err := withDecoder(msg, func(dec *msgpack.Decoder) error {
		d.dec = dec
		return d.decode()
	})
	return string(d.out), d.atts, err
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEncodeValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		json string
		hex  string
	}{
		{`1.0`, "01"},
		{`1e3`, "cd 03e8"},
		{`-0`, "00"},
		{`-0.0`, "00"},
		{`0.5`, "cb 3fe0000000000000"},
		{`-33`, "d0 df"},
		{`9007199254740993`, "cf 0020000000000001"},     // exact, beyond 2^53
		{`-9223372036854775808`, "d3 8000000000000000"}, // int64 min
		{`18446744073709551615`, "cf ffffffffffffffff"}, // uint64 max
		{`18446744073709551616`, "cb 43f0000000000000"}, // 2^64: float64
		{`1e400`, "cb 7ff0000000000000"},                // Infinity
		{`"\u00e9\ud83d\ude00"`, "a6 c3a9 f09f9880"},    // escapes
		{`{"b":1,"10":2,"2":3,"a":4,"b":5}`, "84 a132 03 a23130 02 a162 05 a161 04"},
		{`{"4294967295":1,"01":2,"7":3}`, "83 a137 03 aa34323934393637323935 01 a23031 02"},
		{` [ true , false , null ] `, "93 c3 c2 c0"},
		{`{"_placeholder":true,"num":0}`, "82 ac5f706c616365686f6c646572 c3 a36e756d 00"}, // no attachments: an object
	}
	for _, tt := range tests {
		got := encodeJSON(t, tt.json)
		if want := mustHex(t, tt.hex); !bytes.Equal(got, want) {
			t.Errorf("%s: got %x, want %x", tt.json, got, want)
		}
	}
	// Placeholders become bin when the attachment exists.
	got := encodeJSON(t, `[{"_placeholder":true,"num":1},{"_placeholder":true,"num":0},{"_placeholder":true,"num":2}]`,
		[]byte{1}, nil)
	want := mustHex(t, "93 c400 c401 01 82ac5f706c616365686f6c646572c3a36e756d02")
	if !bytes.Equal(got, want) {
		t.Errorf("placeholders: got %x, want %x", got, want)
	}
	// Sizes: str 16, bin 16, array 16, map 16, str 32.
	long := strings.Repeat("a", 70000)
	got = encodeJSON(t, `"`+long+`"`)
	if !bytes.Equal(got[:5], []byte{0xdb, 0, 1, 0x11, 0x70}) {
		t.Errorf("str 32 header %x", got[:5])
	}
}

func TestEncodeValueErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{``, `[`, `[1,]`, `{"a"}`, `{"a":1,}`, `01`, `1.`, `-`, `"abc`, `tru`, `[1] 2`, "\"\x01\"", `{1:2}`} {
		_, err := withEncoder(nil, func(enc *msgpack.Encoder) error {
			e := valueEncoder{enc: enc}
			return e.encode([]byte(in))
		})
		if err == nil {
			t.Errorf("%q: no error", in)
		}
	}
	deep := strings.Repeat("[", maxDepth+2) + strings.Repeat("]", maxDepth+2)
	_, err := withEncoder(nil, func(enc *msgpack.Encoder) error {
		e := valueEncoder{enc: enc}
		return e.encode([]byte(deep))
	})
	if !errors.Is(err, errDepth) {
		t.Errorf("deep: %v", err)
	}
}

func TestDecodeValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		hex, json string
		atts      int
	}{
		{"cf 0020000000000001", `9007199254740993`, 0},
		{"d3 8000000000000000", `-9223372036854775808`, 0},
		{"ca 3fc00000", `1.5`, 0},
		{"cb 3eb0c6f7a0b5ed8d", `0.000001`, 0},
		{"cb 3e7ad7f29abcaf48", `1e-7`, 0},
		{"cb 7ff8000000000000", `null`, 0}, // NaN
		{"cb 8000000000000000", `0`, 0},    // -0
		{"cb 444b1ae4d6e2ef50", `1e+21`, 0},
		{"d6ff 00000000", `"1970-01-01T00:00:00.000Z"`, 0},
		{"d7ff 1d535300 6553f100", `"2023-11-14T22:13:20.123Z"`, 0},
		{"c70cff 00000000 ffffffffffffffff", `"1969-12-31T23:59:59.000Z"`, 0},
		{"d700 0000018bcfe5687b", `"2023-11-14T22:13:20.123Z"`, 0},
		{"92 d40000 01", `[null,1]`, 0},                                     // undefined in an array
		{"82 a161 d40000 a162 01", `{"b":1}`, 0},                            // undefined member left out
		{"81 a161 c70300 010203", `{"a":{"_placeholder":true,"num":0}}`, 1}, // ArrayBuffer
		{"d501 0102", `[1,{"_placeholder":true,"num":0}]`, 1},               // other ext
		{"83 01 a161 c3 a174 c0 c2", `{"1":"a","true":"t","null":false}`, 0},
		{"a3 e280a8", "\"\u2028\"", 0},
		{"a2 0a7f", `"\n` + "\x7f" + `"`, 0},
	}
	for _, tt := range tests {
		got, atts, err := decodeMsgpack(mustHex(t, tt.hex))
		if err != nil {
			t.Errorf("%s: %v", tt.hex, err)
			continue
		}
		if got != tt.json || len(atts) != tt.atts {
			t.Errorf("%s: got %s (%d attachments), want %s (%d)", tt.hex, got, len(atts), tt.json, tt.atts)
		}
	}
	for _, bad := range []string{"", "c1", "92 01", "81 90 01", "01 02", "d9"} {
		if _, _, err := decodeMsgpack(mustHex(t, bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestAppendString(t *testing.T) {
	t.Parallel()
	got := string(AppendString(nil, "a\"\\\b\f\n\r\t\x01\x1f<>&\u2028é\xff"))
	want := `"a\"\\\b\f\n\r\t\u0001\u001f<>&` + "\u2028é\ufffd" + `"`
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// A Go server's broadcast of values marshalled by the protocol package has
// the bytes of the Node adapter's.
func TestBroadcastFromGoValues(t *testing.T) {
	t.Parallel()
	v := loadVectors(t)
	find := func(name string) []byte {
		for _, st := range v.Steps {
			if st.Name == name {
				return st.Messages[0].bytes(t)
			}
		}
		t.Fatalf("no step %s", name)
		return nil
	}
	cases := []struct {
		step    string
		uid     string
		args    []any
		opts    Opts
		nsp     string
		emitter bool
	}{
		{"emit", v.UID, []any{"hello", "world", 1}, Opts{}, "/", false},
		{"emit-room", v.UID, []any{"hello", "to room1"}, Opts{Rooms: []string{"room1"}}, "/", false},
		{"emit-binary", v.UID, []any{"bin", []byte{1, 2, 3}, map[string]any{"nested": bytes.Repeat([]byte{7}, 300)}, []any{[]byte{}}}, Opts{}, "/", false},
		{"emit-volatile", v.UID, []any{"v"}, Opts{Flags: Flags{Volatile: true}}, "/", false},
		{"emit-compress-false", v.UID, []any{"c", 1}, Opts{Flags: Flags{NoCompress: true}}, "/", false},
		{"emitter-flags", "emitter", []any{"x", 1.5, []byte{4, 5}},
			Opts{Rooms: []string{"room1", "room2"}, Except: []string{"room3"}, Flags: Flags{Volatile: true, NoCompress: true}}, "/", true},
		{"emitter-namespace", "emitter", []any{"chat", map[string]string{"a": "b"}}, Opts{}, "/chat", true},
	}
	for _, c := range cases {
		data, atts, err := protocol.MarshalArgs(c.args)
		if err != nil {
			t.Fatal(err)
		}
		got, err := AppendBroadcast(nil, &Broadcast{
			UID:    c.uid,
			Packet: &protocol.Packet{Type: protocol.Event, Namespace: c.nsp, Data: data, Attachments: atts},
			Opts:   c.opts,
		}, c.emitter)
		if err != nil {
			t.Fatal(err)
		}
		if want := find(c.step); !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %x\nwant %x", c.step, got, want)
		}
	}
}

func TestInlineBuffers(t *testing.T) {
	t.Parallel()
	got, err := InlineBuffers([]byte(`["ev", {"a" : {"_placeholder":true,"num":1}}, [{"_placeholder":true,"num":0}], {"_placeholder":true,"num":5}]`),
		[][]byte{{1, 2}, {255}})
	if err != nil {
		t.Fatal(err)
	}
	want := `["ev",{"a":{"type":"Buffer","data":[255]}},[{"type":"Buffer","data":[1,2]}],{"_placeholder":true,"num":5}]`
	if string(got) != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	if _, err := InlineBuffers([]byte(`[1,`), [][]byte{{1}}); err == nil {
		t.Error("no error for invalid JSON")
	}
}
