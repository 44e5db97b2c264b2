package msgpackparser

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/sio-go/socketio/protocol"
)

// The vectors are what socket.io-msgpack-parser 3.0.2's Encoder writes for
// the same packet objects, keys in the order {type, data, id, nsp}.
var vectors = []struct {
	name string
	p    protocol.Packet
	hex  string
}{
	{"event", protocol.Packet{Type: protocol.Event, Namespace: "/",
		Data: []byte(`["chat","hi",1,1.5,true,null,{"b":1,"a":[2]}]`)},
		"83a47479706502a46461746197a463686174a2686901cb3ff8000000000000c3c082a16201a1619102a36e7370a12f"},
	{"event with ack id", protocol.Packet{Type: protocol.Event, Namespace: "/admin", ID: 7, HasID: true,
		Data: []byte(`["get"]`)},
		"84a47479706502a46461746191a3676574a2696407a36e7370a62f61646d696e"},
	{"binary", protocol.Packet{Type: protocol.BinaryEvent, Namespace: "/",
		Data:        []byte(`["up",{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}}]`),
		Attachments: [][]byte{{1, 2, 3}, {4}}},
		"83a47479706502a46461746193a27570c40301020381a178c40104a36e7370a12f"},
	{"ack", protocol.Packet{Type: protocol.Ack, Namespace: "/", ID: 300, HasID: true,
		Data: []byte(`[{"ok":true}]`)},
		"84a47479706503a4646174619181a26f6bc3a26964cd012ca36e7370a12f"},
	{"connect", protocol.Packet{Type: protocol.Connect, Namespace: "/"},
		"82a47479706500a36e7370a12f"},
	{"connect with auth", protocol.Packet{Type: protocol.Connect, Namespace: "/", Data: []byte(`{"token":"t"}`)},
		"83a47479706500a46461746181a5746f6b656ea174a36e7370a12f"},
	{"connect reply", protocol.Packet{Type: protocol.Connect, Namespace: "/", Data: []byte(`{"sid":"abc"}`)},
		"83a47479706500a46461746181a3736964a3616263a36e7370a12f"},
	{"disconnect", protocol.Packet{Type: protocol.Disconnect, Namespace: "/x"},
		"82a47479706501a36e7370a22f78"},
	{"connect error", protocol.Packet{Type: protocol.ConnectError, Namespace: "/", Data: []byte(`{"message":"no"}`)},
		"83a47479706504a46461746181a76d657373616765a26e6fa36e7370a12f"},
}

func TestEncodeMatchesOfficial(t *testing.T) {
	for _, v := range vectors {
		msgs, err := Parser.Encode(&v.p)
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		if len(msgs) != 1 || !msgs[0].Binary {
			t.Fatalf("%s: got %d messages (binary %v), want one binary message", v.name, len(msgs), len(msgs) > 0 && msgs[0].Binary)
		}
		if got := hex.EncodeToString(msgs[0].Data); got != v.hex {
			t.Errorf("%s:\n got %s\nwant %s", v.name, got, v.hex)
		}
	}
}

func TestDecodeOfficial(t *testing.T) {
	dec := Parser.NewDecoder(0)
	for _, v := range vectors {
		raw, _ := hex.DecodeString(v.hex)
		p, err := dec.Decode(raw, true)
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		if p.Type != v.p.Type || p.Namespace != v.p.Namespace || p.HasID != v.p.HasID || p.ID != v.p.ID {
			t.Errorf("%s: got type %v nsp %q id %v/%d, want %v %q %v/%d", v.name,
				p.Type, p.Namespace, p.HasID, p.ID, v.p.Type, v.p.Namespace, v.p.HasID, v.p.ID)
		}
		if !bytes.Equal(p.Data, v.p.Data) {
			t.Errorf("%s: data %s, want %s", v.name, p.Data, v.p.Data)
		}
		if len(p.Attachments) != len(v.p.Attachments) {
			t.Fatalf("%s: %d attachments, want %d", v.name, len(p.Attachments), len(v.p.Attachments))
		}
		for i := range p.Attachments {
			if !bytes.Equal(p.Attachments[i], v.p.Attachments[i]) {
				t.Errorf("%s: attachment %d = %x, want %x", v.name, i, p.Attachments[i], v.p.Attachments[i])
			}
		}
	}
}

// msgpack builds test messages from hex fragments.
func msgpack(t *testing.T, parts ...string) []byte {
	t.Helper()
	var b []byte
	for _, p := range parts {
		x, err := hex.DecodeString(p)
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, x...)
	}
	return b
}

const (
	kType = "a474797065" // "type"
	kData = "a464617461" // "data"
	kNsp  = "a36e7370"   // "nsp"
	kID   = "a26964"     // "id"
	slash = "a12f"       // "/"
)

func TestDecodeRefuses(t *testing.T) {
	cases := []struct {
		name string
		msg  []byte
		want error
	}{
		{"not a map", msgpack(t, "93010203"), nil},
		{"empty", nil, nil},
		{"truncated", msgpack(t, "83", kType, "02", kData), nil},
		{"trailing bytes", msgpack(t, "82", kType, "00", kNsp, slash, "c0"), nil},
		{"no type", msgpack(t, "81", kNsp, slash), nil},
		{"type 5", msgpack(t, "82", kType, "05", kNsp, slash), nil},
		{"type -1", msgpack(t, "82", kType, "ff", kNsp, slash), nil},
		{"type 2.5", msgpack(t, "83", kType, "cb4004000000000000", kData, "9100", kNsp, slash), nil},
		{"type as string", msgpack(t, "82", kType, "a132", kNsp, slash), nil},
		{"no nsp", msgpack(t, "81", kType, "00"), nil},
		{"nsp not a string", msgpack(t, "82", kType, "00", kNsp, "01"), nil},
		{"event without data", msgpack(t, "82", kType, "02", kNsp, slash), nil},
		{"event data an object", msgpack(t, "83", kType, "02", kData, "80", kNsp, slash), nil},
		{"connect data an array", msgpack(t, "83", kType, "00", kData, "90", kNsp, slash), nil},
		{"connect data null", msgpack(t, "83", kType, "00", kData, "c0", kNsp, slash), nil},
		{"disconnect with data", msgpack(t, "83", kType, "01", kData, "80", kNsp, slash), nil},
		{"id a string", msgpack(t, "84", kType, "02", kData, "91a161", kID, "a131", kNsp, slash), nil},
		{"id negative", msgpack(t, "84", kType, "02", kData, "91a161", kID, "ff", kNsp, slash), nil},
		{"id null", msgpack(t, "84", kType, "02", kData, "91a161", kID, "c0", kNsp, slash), nil},
		{"event name not a string", msgpack(t, "83", kType, "02", kData, "91c3", kNsp, slash), protocol.ErrInvalidPayload},
		{"reserved event", msgpack(t, "83", kType, "02", kData, "91aa646973636f6e6e656374", kNsp, slash), protocol.ErrReservedEvent},
		{"deep nesting", msgpack(t, "83", kType, "02", kData, "92a161"+string(bytes.Repeat([]byte("91"), 1100))+"c0", kNsp, slash), nil},
	}
	dec := Parser.NewDecoder(0)
	for _, c := range cases {
		p, err := dec.Decode(c.msg, true)
		if err == nil {
			t.Errorf("%s: decoded %+v, want an error", c.name, p)
			continue
		}
		if !errors.Is(err, protocol.ErrInvalidPacket) {
			t.Errorf("%s: %v does not match protocol.ErrInvalidPacket", c.name, err)
		}
		if c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := dec.Decode([]byte(`2["a"]`), false); !errors.Is(err, ErrTextMessage) || !errors.Is(err, protocol.ErrInvalidPacket) {
		t.Errorf("text message: %v, want ErrTextMessage", err)
	}
}

func TestDecodeLenient(t *testing.T) {
	dec := Parser.NewDecoder(0)
	// The official client adds "options"; undefined values count as absent;
	// keys may come in any order; an integral float is an integer.
	msg := msgpack(t, "86", kNsp, "a22f78", "a76f7074696f6e73", "81a8636f6d7072657373c3",
		kID, "d40000", kData, "92a161c403010203", kType, "cb4000000000000000", "a5657874726101")
	p, err := dec.Decode(msg, true)
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != protocol.BinaryEvent || p.Namespace != "/x" || p.HasID {
		t.Fatalf("got %+v", p)
	}
	if string(p.Data) != `["a",{"_placeholder":true,"num":0}]` || len(p.Attachments) != 1 {
		t.Fatalf("data %s, %d attachments", p.Data, len(p.Attachments))
	}
	// More binary values than the JSON parser's attachment limit: the
	// official msgpack parser sets none.
	many := "9b" + "a161" + string(bytes.Repeat([]byte("c40100"), 10))
	if p, err := dec.Decode(msgpack(t, "83", kType, "02", kData, many, kNsp, slash), true); err != nil || len(p.Attachments) != 10 {
		t.Fatalf("10 binary values: %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	dec := Parser.NewDecoder(0)
	for _, v := range vectors {
		msgs, err := Parser.Encode(&v.p)
		if err != nil {
			t.Fatal(err)
		}
		p, err := dec.Decode(msgs[0].Data, true)
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		again, err := Parser.Encode(p)
		if err != nil || !bytes.Equal(again[0].Data, msgs[0].Data) {
			t.Errorf("%s: re-encoded %x, want %x (%v)", v.name, again[0].Data, msgs[0].Data, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, v := range vectors {
		raw, _ := hex.DecodeString(v.hex)
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		dec := Parser.NewDecoder(0)
		p, err := dec.Decode(msg, true)
		if err != nil {
			if !errors.Is(err, protocol.ErrInvalidPacket) {
				t.Fatalf("error %v does not match ErrInvalidPacket", err)
			}
			return
		}
		// What decodes re-encodes, and decodes to the same packet, which
		// encodes to the same bytes (object keys may have moved to
		// JavaScript's order on the first encoding).
		msgs, err := Parser.Encode(p)
		if err != nil {
			t.Fatalf("decoded %+v but cannot encode it: %v", p, err)
		}
		q, err := dec.Decode(msgs[0].Data, true)
		if err != nil {
			t.Fatalf("re-encoded packet does not decode: %v", err)
		}
		if q.Type != p.Type || q.Namespace != p.Namespace || q.HasID != p.HasID || q.ID != p.ID ||
			len(q.Attachments) != len(p.Attachments) {
			t.Fatalf("round trip changed %+v into %+v", p, q)
		}
		again, err := Parser.Encode(q)
		if err != nil || !bytes.Equal(again[0].Data, msgs[0].Data) {
			t.Fatalf("encoding is not stable: %x then %x (%v)", msgs[0].Data, again[0].Data, err)
		}
	})
}
