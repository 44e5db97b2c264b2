package engineio

import (
	"bytes"
	"testing"
)

func TestDecodePayload(t *testing.T) {
	tests := []struct {
		in      string
		want    []packet
		wantErr bool
	}{
		{in: "4hello", want: []packet{{typ: packetMessage, data: []byte("hello")}}},
		{in: "4test1\x1e4test2\x1e4test3", want: []packet{
			{typ: packetMessage, data: []byte("test1")}, {typ: packetMessage, data: []byte("test2")}, {typ: packetMessage, data: []byte("test3")}}},
		{in: "4hello\x1ebAQIDBA==", want: []packet{
			{typ: packetMessage, data: []byte("hello")}, {typ: packetMessage, data: []byte{1, 2, 3, 4}, binary: true}}},
		{in: "2\x1e3probe\x1e6", want: []packet{{typ: packetPing, data: []byte{}}, {typ: packetPong, data: []byte("probe")}, {typ: packetNoop, data: []byte{}}}},
		{in: "4", want: []packet{{typ: packetMessage, data: []byte{}}}},
		{in: "", wantErr: true},
		{in: "abc", wantErr: true},
		{in: "7x", wantErr: true},
		{in: "4a\x1e\x1e4b", want: []packet{{typ: packetMessage, data: []byte("a")}}, wantErr: true},
		{in: "b!!", wantErr: true},
		{in: "4a\x1e", want: []packet{{typ: packetMessage, data: []byte("a")}}, wantErr: true},
	}
	for _, tt := range tests {
		var got []packet
		err := decodePayload([]byte(tt.in), func(p packet) bool {
			got = append(got, p)
			return true
		})
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: err = %v", tt.in, err)
		}
		if len(got) != len(tt.want) {
			t.Errorf("%q: got %d packets, want %d", tt.in, len(got), len(tt.want))
			continue
		}
		for i := range got {
			if got[i].typ != tt.want[i].typ || got[i].binary != tt.want[i].binary || !bytes.Equal(got[i].data, tt.want[i].data) {
				t.Errorf("%q: packet %d = %+v, want %+v", tt.in, i, got[i], tt.want[i])
			}
		}
	}
}

func TestAppendPayload(t *testing.T) {
	q := []packet{{typ: packetMessage, data: []byte("hello")}, {typ: packetMessage, data: []byte{1, 2, 3, 4}, binary: true}, {typ: packetPing}}
	got := appendPayload(nil, q)
	if want := "4hello\x1ebAQIDBA==\x1e2"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if n := payloadSize(q); n < len(got) {
		t.Errorf("payloadSize %d < %d", n, len(got))
	}
}

func FuzzDecodePayload(f *testing.F) {
	for _, s := range []string{"4hello", "4test1\x1e4test2", "4hello\x1ebAQIDBA==", "2", "3probe", "5", "6", "1", "b", "bAA==", "abc", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var got []packet
		err := decodePayload(b, func(p packet) bool {
			got = append(got, p)
			return true
		})
		if err != nil {
			return
		}
		// a payload that decodes re-encodes to an equivalent payload
		again := appendPayload(nil, got)
		var round []packet
		if err := decodePayload(again, func(p packet) bool {
			round = append(round, p)
			return true
		}); err != nil {
			t.Fatalf("re-encoded payload %q does not decode: %v", again, err)
		}
		if len(round) != len(got) {
			t.Fatalf("round trip: %d packets, want %d", len(round), len(got))
		}
		for i := range got {
			if round[i].typ != got[i].typ || !bytes.Equal(round[i].data, got[i].data) || round[i].binary != got[i].binary {
				t.Fatalf("packet %d changed: %+v -> %+v", i, got[i], round[i])
			}
		}
	})
}

func FuzzDecodeText(f *testing.F) {
	for _, s := range []string{"4hello", "2probe", "3", "0{}", "x", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodeText(b)
		if err != nil {
			return
		}
		out := append([]byte{byte(p.typ)}, p.data...)
		if !bytes.Equal(out, b) {
			t.Fatalf("decode(%q) re-encodes to %q", b, out)
		}
	})
}

func BenchmarkAppendPayload(b *testing.B) {
	q := []packet{{typ: packetMessage, data: []byte(`2["echo",{"a":1}]`)}, {typ: packetMessage, data: []byte(`2["echo",{"b":2}]`)}, {typ: packetMessage, data: make([]byte, 64), binary: true}}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendPayload(buf[:0], q)
	}
}

func BenchmarkDecodePayload(b *testing.B) {
	in := []byte("42[\"echo\",{\"a\":1}]\x1e42[\"echo\",{\"b\":2}]\x1e3")
	b.ReportAllocs()
	for b.Loop() {
		_ = decodePayload(in, func(packet) bool { return true })
	}
}

func BenchmarkDecodePayloadBinary(b *testing.B) {
	in := []byte("4hello\x1ebAQIDBAUGBwgJCgsMDQ4PEA==")
	b.ReportAllocs()
	for b.Loop() {
		_ = decodePayload(in, func(packet) bool { return true })
	}
}
