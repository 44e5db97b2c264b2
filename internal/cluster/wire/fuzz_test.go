package wire

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/sio-go/socketio/protocol"

	"github.com/vmihailenco/msgpack/v5"
)

func addVectorSeeds(f *testing.F) {
	f.Helper()
	v, err := readVectors()
	if err != nil {
		f.Fatal(err)
	}
	for _, st := range v.Steps {
		for _, m := range st.Messages {
			if b, err := hex.DecodeString(m.Hex); err == nil {
				f.Add(b)
			}
		}
	}
}

// FuzzDecode feeds arbitrary messages to the decoders: they must not panic,
// and a decoded broadcast must encode and decode to the same values.
func FuzzDecode(f *testing.F) {
	addVectorSeeds(f)
	f.Fuzz(func(t *testing.T, msg []byte) {
		_, _ = DecodeRequest(msg)
		_, _ = DecodeResponse(msg)
		if cm, err := DecodeClusterMessage(msg); err == nil {
			if _, err := AppendClusterMessage(nil, cm); err != nil && cm.Packet != nil {
				t.Fatalf("re-encode %x: %v", msg, err)
			}
		}
		b, err := DecodeBroadcast(msg)
		if err != nil {
			return
		}
		enc, err := AppendBroadcast(nil, b, false)
		if err != nil {
			t.Fatalf("encode %x: %v", msg, err)
		}
		back, err := DecodeBroadcast(enc)
		if err != nil {
			t.Fatalf("decode %x: %v", enc, err)
		}
		// Equal as JavaScript sees them: a repeated key keeps its last
		// value, and key order does not matter.
		if !reflect.DeepEqual(semantic(t, b.Packet), semantic(t, back.Packet)) {
			t.Fatalf("round trip: %s became %s", b.Packet.Data, back.Packet.Data)
		}
	})
}

func semantic(t *testing.T, p *protocol.Packet) any {
	t.Helper()
	data, err := protocol.InlineAttachments(p.Data, p.Attachments)
	if err != nil {
		t.Fatalf("inline %s: %v", p.Data, err)
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("decoded JSON %s: %v", data, err)
	}
	return v
}

// FuzzEncodeJSON encodes arbitrary JSON: valid JSON must encode, and the
// encoding must be stable through a decode (after a first pass, which turns
// infinities into null as JSON.stringify does).
func FuzzEncodeJSON(f *testing.F) {
	for _, s := range []string{`["a",1,1.5,{"b":[true,null]}]`, `{"2":1,"1":2,"a":3,"a":4}`, `-0`, `1e400`, `"\ud800"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		first, err := withEncoder(nil, func(enc *msgpack.Encoder) error {
			e := valueEncoder{enc: enc}
			return e.encode(data)
		})
		if err != nil {
			if json.Valid(data) && !bytes.Contains(data, []byte("[[[[")) {
				t.Fatalf("valid JSON %q: %v", data, err)
			}
			return
		}
		pass := func(in []byte) []byte {
			text, atts, err := decodeMsgpack(in)
			if err != nil {
				t.Fatalf("decode %x: %v", in, err)
			}
			if !json.Valid([]byte(text)) {
				t.Fatalf("invalid JSON %q from %q", text, data)
			}
			out, err := withEncoder(nil, func(enc *msgpack.Encoder) error {
				e := valueEncoder{enc: enc, atts: atts}
				return e.encode([]byte(text))
			})
			if err != nil {
				t.Fatalf("re-encode %s: %v", text, err)
			}
			return out
		}
		second := pass(first)
		if third := pass(second); !bytes.Equal(second, third) {
			t.Fatalf("unstable: %q\n%x\n%x", data, second, third)
		}
	})
}
