package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const (
	ph0 = `{"_placeholder":true,"num":0}`
	ph1 = `{"_placeholder":true,"num":1}`
)

type frame struct {
	text string
	bin  []string // attachments that follow the text
}

var validFrames = []struct {
	name      string
	in        frame
	want      Packet
	canonical bool // Encode gives back in.text exactly
}{
	{"connect main", frame{text: "0"}, Packet{Type: Connect, Namespace: "/"}, true},
	{"connect auth", frame{text: `0/admin,{"token":"x"}`},
		Packet{Type: Connect, Namespace: "/admin", Data: json.RawMessage(`{"token":"x"}`)}, true},
	{"connect reply", frame{text: `0{"sid":"abc"}`},
		Packet{Type: Connect, Namespace: "/", Data: json.RawMessage(`{"sid":"abc"}`)}, true},
	{"connect no comma", frame{text: "0/custom"}, Packet{Type: Connect, Namespace: "/custom"}, false},
	{"connect comma", frame{text: "0/custom,"}, Packet{Type: Connect, Namespace: "/custom"}, true},
	{"connect explicit main", frame{text: "0/,"}, Packet{Type: Connect, Namespace: "/"}, false},
	{"connect with id", frame{text: "0/a/b,12{}"},
		Packet{Type: Connect, Namespace: "/a/b", ID: 12, HasID: true, Data: json.RawMessage(`{}`)}, true},
	{"disconnect", frame{text: "1"}, Packet{Type: Disconnect, Namespace: "/"}, true},
	{"disconnect nsp", frame{text: "1/admin,"}, Packet{Type: Disconnect, Namespace: "/admin"}, true},
	{"event", frame{text: `2["ev",1]`}, Packet{Type: Event, Namespace: "/", Data: json.RawMessage(`["ev",1]`)}, true},
	{"event conformance", frame{text: `2["message",1,"2",{"3":[true]}]`},
		Packet{Type: Event, Namespace: "/", Data: json.RawMessage(`["message",1,"2",{"3":[true]}]`)}, true},
	{"event ack id", frame{text: `2456["message-with-ack",1,"2",{"3":[false]}]`},
		Packet{Type: Event, Namespace: "/", ID: 456, HasID: true,
			Data: json.RawMessage(`["message-with-ack",1,"2",{"3":[false]}]`)}, true},
	{"event nsp ack id", frame{text: `2/admin,13["ev"]`},
		Packet{Type: Event, Namespace: "/admin", ID: 13, HasID: true, Data: json.RawMessage(`["ev"]`)}, true},
	{"event ack id zero", frame{text: `20["ev"]`},
		Packet{Type: Event, Namespace: "/", ID: 0, HasID: true, Data: json.RawMessage(`["ev"]`)}, true},
	{"event max ack id", frame{text: `218446744073709551615["ev"]`},
		Packet{Type: Event, Namespace: "/", ID: 18446744073709551615, HasID: true, Data: json.RawMessage(`["ev"]`)}, true},
	{"event number name", frame{text: `2[1,2]`}, Packet{Type: Event, Namespace: "/", Data: json.RawMessage(`[1,2]`)}, true},
	{"event whitespace", frame{text: " 2 [ \"ev\" ] \n"[1:]},
		Packet{Type: Event, Namespace: "/", Data: json.RawMessage(`[ "ev" ]`)}, false},
	{"event plain placeholder", frame{text: `2["ev",{"_placeholder":true,"num":5}]`},
		Packet{Type: Event, Namespace: "/", Data: json.RawMessage(`["ev",{"_placeholder":true,"num":5}]`)}, true},
	{"event escaped name", frame{text: `2["conn\u0065cted"]`},
		Packet{Type: Event, Namespace: "/", Data: json.RawMessage(`["conn\u0065cted"]`)}, true},
	{"ack", frame{text: `313["ok"]`}, Packet{Type: Ack, Namespace: "/", ID: 13, HasID: true, Data: json.RawMessage(`["ok"]`)}, true},
	{"ack empty", frame{text: `3/x,1[]`}, Packet{Type: Ack, Namespace: "/x", ID: 1, HasID: true, Data: json.RawMessage(`[]`)}, true},
	{"ack conformance", frame{text: `3456[1,"2",{"3":[false]}]`},
		Packet{Type: Ack, Namespace: "/", ID: 456, HasID: true, Data: json.RawMessage(`[1,"2",{"3":[false]}]`)}, true},
	{"connect error", frame{text: `4{"message":"Not authorized","data":{"a":1}}`},
		Packet{Type: ConnectError, Namespace: "/", Data: json.RawMessage(`{"message":"Not authorized","data":{"a":1}}`)}, true},
	{"connect error nsp", frame{text: `4/random,{"message":"Invalid namespace"}`},
		Packet{Type: ConnectError, Namespace: "/random", Data: json.RawMessage(`{"message":"Invalid namespace"}`)}, true},
	{"connect error string", frame{text: `4"Not authorized"`},
		Packet{Type: ConnectError, Namespace: "/", Data: json.RawMessage(`"Not authorized"`)}, true},
	{"binary event", frame{`51-["ev",` + ph0 + `]`, []string{"\x01\x02\x03\x04"}},
		Packet{Type: BinaryEvent, Namespace: "/", Data: json.RawMessage(`["ev",` + ph0 + `]`),
			Attachments: [][]byte{{1, 2, 3, 4}}}, true},
	{"binary event conformance", frame{`52-["message",` + ph0 + `,` + ph1 + `]`, []string{"\x01\x02\x03", "\x04\x05\x06"}},
		Packet{Type: BinaryEvent, Namespace: "/", Data: json.RawMessage(`["message",` + ph0 + `,` + ph1 + `]`),
			Attachments: [][]byte{{1, 2, 3}, {4, 5, 6}}}, true},
	{"binary event nsp", frame{`52-/admin,["baz",` + ph0 + `,` + ph1 + `]`, []string{"\x01\x02", "\x03\x04"}},
		Packet{Type: BinaryEvent, Namespace: "/admin", Data: json.RawMessage(`["baz",` + ph0 + `,` + ph1 + `]`),
			Attachments: [][]byte{{1, 2}, {3, 4}}}, true},
	{"binary event ack id", frame{`52-789["message-with-ack",` + ph0 + `,` + ph1 + `]`, []string{"a", "b"}},
		Packet{Type: BinaryEvent, Namespace: "/", ID: 789, HasID: true,
			Data:        json.RawMessage(`["message-with-ack",` + ph0 + `,` + ph1 + `]`),
			Attachments: [][]byte{[]byte("a"), []byte("b")}}, true},
	{"binary event nested, keys reordered", frame{`51-["ev",{"a":[{"num":0 , "_placeholder":true}]}]`, []string{"x"}},
		Packet{Type: BinaryEvent, Namespace: "/", Data: json.RawMessage(`["ev",{"a":[{"num":0 , "_placeholder":true}]}]`),
			Attachments: [][]byte{[]byte("x")}}, true},
	{"binary event not a placeholder", frame{`50-["ev",{"_placeholder":false,"num":3}]`, nil},
		Packet{Type: BinaryEvent, Namespace: "/", Data: json.RawMessage(`["ev",{"_placeholder":false,"num":3}]`)}, true},
	{"binary event no attachments", frame{`50-["ev"]`, nil},
		Packet{Type: BinaryEvent, Namespace: "/", Data: json.RawMessage(`["ev"]`)}, true},
	{"binary event leading zeros", frame{`501-["ev",` + ph0 + `]`, []string{""}},
		Packet{Type: BinaryEvent, Namespace: "/", Data: json.RawMessage(`["ev",` + ph0 + `]`),
			Attachments: [][]byte{{}}}, false},
	{"binary ack", frame{`61-13[` + ph0 + `]`, []string{"\x00"}},
		Packet{Type: BinaryAck, Namespace: "/", ID: 13, HasID: true, Data: json.RawMessage(`[` + ph0 + `]`),
			Attachments: [][]byte{{0}}}, true},
	{"binary ack conformance", frame{`62-789[` + ph0 + `,` + ph1 + `]`, []string{"\x01", "\x02"}},
		Packet{Type: BinaryAck, Namespace: "/", ID: 789, HasID: true, Data: json.RawMessage(`[` + ph0 + `,` + ph1 + `]`),
			Attachments: [][]byte{{1}, {2}}}, true},
}

// feed decodes a frame and checks that the packet appears with the last
// message and not before.
func feed(t *testing.T, d *Decoder, f frame) (*Packet, error) {
	t.Helper()
	p, err := d.Decode([]byte(f.text), false)
	for i, b := range f.bin {
		if err != nil {
			return nil, err
		}
		if p != nil {
			t.Fatalf("packet returned before attachment %d", i)
		}
		p, err = d.Decode([]byte(b), true)
	}
	if err == nil && p == nil {
		t.Fatalf("no packet after %d attachments", len(f.bin))
	}
	return p, err
}

func TestDecode(t *testing.T) {
	for _, tt := range validFrames {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			p, err := feed(t, &d, tt.in)
			noError(t, err)
			if !samePacket(p, &tt.want) {
				t.Fatalf("Decode(%q) = %+v, want %+v", tt.in.text, p, tt.want)
			}
			equal(t, "Pending", d.Pending(), false)
			// A decoder continues after a packet.
			p, err = d.Decode([]byte(`2["next"]`), false)
			noError(t, err)
			equal(t, "next packet", string(p.Data), `["next"]`)
		})
	}
}

func TestRoundTrip(t *testing.T) {
	for _, tt := range validFrames {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			p, err := feed(t, &d, tt.in)
			noError(t, err)
			text := string(p.Encode())
			if tt.canonical {
				equal(t, "Encode", text, tt.in.text)
			}
			bin := make([]string, len(p.Attachments))
			for i, a := range p.Attachments {
				bin[i] = string(a)
			}
			q, err := feed(t, &d, frame{text, bin})
			noError(t, err)
			if !samePacket(p, q) {
				t.Fatalf("after re-encoding as %q: %+v, want %+v", text, q, p)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	phOK := `["a",` + ph0 + `]`
	tests := []struct {
		name string
		in   frame
		want error
	}{
		{"empty", frame{text: ""}, ErrUnknownType},
		{"letters", frame{text: "abc"}, ErrUnknownType},
		{"type 7", frame{text: `7["a"]`}, ErrUnknownType},
		{"type below 0", frame{text: `/`}, ErrUnknownType},
		{"event object", frame{text: `2{}`}, ErrInvalidPayload},
		{"event garbage ack id", frame{text: `2abc["message-with-ack",1,"2",{"3":[false]}]`}, ErrInvalidPayload},
		{"event empty array", frame{text: `2[]`}, ErrInvalidPayload},
		{"event no payload", frame{text: `2`}, ErrInvalidPayload},
		{"event nsp no payload", frame{text: `2/chat["a"]`}, ErrInvalidPayload},
		{"event object name", frame{text: `2[{}]`}, ErrInvalidPayload},
		{"event null name", frame{text: `2[null,1]`}, ErrInvalidPayload},
		{"event trailing garbage", frame{text: `2["a"]x`}, ErrInvalidPayload},
		{"event two values", frame{text: `2["a"]["b"]`}, ErrInvalidPayload},
		{"event unterminated", frame{text: `2["a"`}, ErrInvalidPayload},
		{"event bad escape", frame{text: `2["a\x"]`}, ErrInvalidPayload},
		{"event control char", frame{text: "2[\"a\x01\"]"}, ErrInvalidPayload},
		{"event bad number", frame{text: `2["a",01]`}, ErrInvalidPayload},
		{"event trailing comma", frame{text: `2["a",]`}, ErrInvalidPayload},
		{"event bad literal", frame{text: `2["a",tru]`}, ErrInvalidPayload},
		{"event too deep", frame{text: `2["a",` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `]`}, ErrInvalidPayload},
		{"ack id overflow", frame{text: `218446744073709551616["a"]`}, ErrInvalidAckID},
		{"ack no payload", frame{text: `313`}, ErrInvalidPayload},
		{"ack object", frame{text: `3{}`}, ErrInvalidPayload},
		{"disconnect payload", frame{text: `1{}`}, ErrInvalidPayload},
		{"disconnect garbage", frame{text: `1,`}, ErrInvalidPayload},
		{"connect array", frame{text: `0[]`}, ErrInvalidPayload},
		{"connect string", frame{text: `0"x"`}, ErrInvalidPayload},
		{"connect invalid json", frame{text: `0{"a":}`}, ErrInvalidPayload},
		{"connect error empty", frame{text: `4`}, ErrInvalidPayload},
		{"connect error array", frame{text: `4[]`}, ErrInvalidPayload},
		{"connect error number", frame{text: `41`}, ErrInvalidPayload},
		{"too many attachments", frame{text: `511-` + phOK}, ErrTooManyAttachments},
		{"huge attachment count", frame{text: `5999999999999999999999999-` + phOK}, ErrTooManyAttachments},
		{"attachments without count", frame{text: `5-["a"]`}, ErrIllegalAttachments},
		{"attachments not a number", frame{text: `5a-["a"]`}, ErrIllegalAttachments},
		{"attachments without dash", frame{text: `51["a"]`}, ErrIllegalAttachments},
		{"binary type only", frame{text: `5`}, ErrIllegalAttachments},
		{"binary ack without dash", frame{text: `61`}, ErrIllegalAttachments},
		{"placeholder out of range", frame{text: `51-["a",` + ph1 + `]`}, ErrIllegalAttachments},
		{"placeholder without attachments", frame{text: `50-` + phOK}, ErrIllegalAttachments},
		{"placeholder without num", frame{text: `51-["a",{"_placeholder":true}]`}, ErrIllegalAttachments},
		{"placeholder extra key", frame{text: `51-["a",{"_placeholder":true,"num":0,"x":1}]`}, ErrIllegalAttachments},
		{"placeholder negative num", frame{text: `51-["a",{"_placeholder":true,"num":-1}]`}, ErrIllegalAttachments},
		{"placeholder string num", frame{text: `51-["a",{"_placeholder":true,"num":"0"}]`}, ErrIllegalAttachments},
		{"placeholder fractional num", frame{text: `52-["a",{"_placeholder":true,"num":0.5}]`}, ErrIllegalAttachments},
		{"placeholder huge num", frame{text: `51-["a",{"_placeholder":true,"num":99999999999999999999999}]`}, ErrIllegalAttachments},
		{"binary event object", frame{text: `51-{}`}, ErrInvalidPayload},
		{"binary event reserved", frame{text: `51-["connect",` + ph0 + `]`}, ErrReservedEvent},
		{"binary event placeholder name", frame{text: `51-[` + ph0 + `]`}, ErrInvalidPayload},
		{"binary without pending packet", frame{bin: []string{"x"}}, ErrUnexpectedBinary},
		{"text while awaiting attachments", frame{text: `52-["a",` + ph0 + `,` + ph1 + `]`, bin: []string{"x", "text:2[\"b\"]"}}, ErrUnexpectedText},
	}
	for _, name := range []string{"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"} {
		tests = append(tests, struct {
			name string
			in   frame
			want error
		}{"reserved " + name, frame{text: `2["` + name + `",1]`}, ErrReservedEvent})
	}
	tests = append(tests, struct {
		name string
		in   frame
		want error
	}{"reserved escaped", frame{text: `2/x,1["\u0063onnect"]`}, ErrReservedEvent})

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			var err error
			if tt.in.text != "" || tt.in.bin == nil {
				_, err = d.Decode([]byte(tt.in.text), false)
			}
			for _, b := range tt.in.bin {
				if err != nil {
					break
				}
				if s, ok := strings.CutPrefix(b, "text:"); ok {
					_, err = d.Decode([]byte(s), false)
				} else {
					_, err = d.Decode([]byte(b), true)
				}
			}
			isError(t, err, tt.want)
			isError(t, err, ErrInvalidPacket)
			if !strings.HasPrefix(err.Error(), "protocol: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			equal(t, "Pending after error", d.Pending(), false)
		})
	}
}

func TestErrorChain(t *testing.T) {
	isError(t, ErrReservedEvent, ErrInvalidPayload)
	isError(t, ErrReservedEvent, ErrInvalidPacket)
	if errors.Is(ErrInvalidPayload, ErrReservedEvent) || errors.Is(ErrUnknownType, ErrInvalidPayload) {
		t.Error("sentinels match unrelated errors")
	}
}

func TestDecoderMaxAttachments(t *testing.T) {
	d := Decoder{MaxAttachments: 2}
	_, err := d.Decode([]byte(`53-["a"]`), false)
	isError(t, err, ErrTooManyAttachments)
	p, err := d.Decode([]byte(`52-["a"]`), false)
	equal(t, "packet", p, (*Packet)(nil))
	noError(t, err)
	d.Reset()
	equal(t, "Pending after Reset", d.Pending(), false)
	_, err = d.Decode([]byte("x"), true)
	isError(t, err, ErrUnexpectedBinary)

	d = Decoder{MaxAttachments: -1}
	_, err = d.Decode([]byte(`51-["a"]`), false)
	isError(t, err, ErrTooManyAttachments)
	p, err = d.Decode([]byte(`50-["a"]`), false)
	noError(t, err)
	equal(t, "type", p.Type, BinaryEvent)

	var zero Decoder
	_, err = zero.Decode([]byte(`510-["a"]`), false)
	noError(t, err)
	equal(t, "Pending", zero.Pending(), true)
	zero.Reset()
	_, err = zero.Decode([]byte(`511-["a"]`), false)
	isError(t, err, ErrTooManyAttachments)
}

func TestDecodeAliasesInput(t *testing.T) {
	var d Decoder
	in := []byte(`51-["a",` + ph0 + `]`)
	att := []byte{9, 8, 7}
	_, err := d.Decode(in, false)
	noError(t, err)
	p, err := d.Decode(att, true)
	noError(t, err)
	if &p.Attachments[0][0] != &att[0] {
		t.Error("attachment was copied")
	}
	if &p.Data[0] != &in[3] {
		t.Error("data was copied")
	}
}

func TestDecodeNamespaceReuse(t *testing.T) {
	var d Decoder
	p1, err := d.Decode([]byte(`2/chat,["a"]`), false)
	noError(t, err)
	p2, err := d.Decode([]byte(`2/chat,["b"]`), false)
	noError(t, err)
	equal(t, "namespace", p2.Namespace, "/chat")
	if len(p1.Namespace) > 0 && strings.Clone(p1.Namespace) != p2.Namespace {
		t.Error("namespaces differ")
	}
	p3, err := d.Decode([]byte(`2/news,["c"]`), false)
	noError(t, err)
	equal(t, "namespace", p3.Namespace, "/news")
	equal(t, "first namespace unchanged", p1.Namespace, "/chat")
}

func TestDecodeAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts")
	}
	for _, in := range []string{`2["echo",{"a":1}]`, `21["echo","hello"]`, `2/chat,3["echo","hello"]`} {
		var d Decoder
		msg := []byte(in)
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := d.Decode(msg, false); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 1 {
			t.Errorf("Decode(%q): %v allocations, want at most 1", in, allocs)
		}
	}
}

func TestDecodeDataIsTrimmed(t *testing.T) {
	var d Decoder
	p, err := d.Decode([]byte("3\t[1]\r\n"), false)
	noError(t, err)
	if !bytes.Equal(p.Data, []byte("[1]")) {
		t.Errorf("Data = %q", p.Data)
	}
}
