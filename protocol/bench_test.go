package protocol

import (
	"encoding/json"
	"testing"
)

func BenchmarkDecode(b *testing.B) {
	cases := []struct {
		name string
		in   frame
	}{
		{"event", frame{text: `2["echo",{"a":1}]`}},
		{"event_ack", frame{text: `21["echo","hello"]`}},
		{"event_nsp", frame{text: `2/chat,7["message",{"user":"alice","text":"hello, world","ts":1700000000000}]`}},
		{"binary", frame{`51-["upload",{"_placeholder":true,"num":0}]`, []string{"0123456789abcdef"}}},
	}
	for _, c := range cases {
		text := []byte(c.in.text)
		bins := make([][]byte, len(c.in.bin))
		for i, s := range c.in.bin {
			bins[i] = []byte(s)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(text)))
			var d Decoder
			for b.Loop() {
				p, err := d.Decode(text, false)
				for _, a := range bins {
					p, err = d.Decode(a, true)
				}
				if p == nil || err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppendEncode(b *testing.B) {
	cases := []struct {
		name string
		p    Packet
	}{
		{"event", Packet{Type: Event, Data: json.RawMessage(`["echo",{"a":1}]`)}},
		{"event_nsp_ack", Packet{Type: Event, Namespace: "/chat", ID: 1234, HasID: true, Data: json.RawMessage(`["echo","hello"]`)}},
		{"binary", Packet{Type: BinaryEvent, Data: json.RawMessage(`["upload",{"_placeholder":true,"num":0}]`),
			Attachments: [][]byte{[]byte("0123456789abcdef")}}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 256)
			for b.Loop() {
				buf = c.p.AppendEncode(buf[:0])
			}
		})
	}
}

func BenchmarkMarshalArgs(b *testing.B) {
	cases := []struct {
		name string
		args []any
	}{
		{"strings", []any{"echo", "hello"}},
		{"mixed", []any{"message", map[string]any{"user": "alice", "text": "hello, world", "ts": 1700000000000.0}, 42, true}},
		{"binary", []any{"upload", map[string]any{"name": "a.bin", "body": make([]byte, 1024)}}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 256)
			atts := make([][]byte, 0, 4)
			for b.Loop() {
				var err error
				if buf, atts, err = AppendMarshalArgs(buf[:0], atts[:0], c.args); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"_encoding_json", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := json.Marshal(c.args); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEventName(b *testing.B) {
	data := []byte(`["message",{"user":"alice","text":"hello, world","ts":1700000000000},42]`)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := EventName(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInlineAttachments(b *testing.B) {
	data := []byte(`["upload",{"name":"a.bin","body":{"_placeholder":true,"num":0}}]`)
	atts := [][]byte{make([]byte, 1024)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := InlineAttachments(data, atts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate compares the payload scanner with json.Valid.
func BenchmarkValidate(b *testing.B) {
	data := []byte(`["message",{"user":"alice","text":"hello, world \u00e9","ts":1700000000000,"tags":["a","b",null,true,-1.5e3]}]`)
	b.Run("scanner", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			s := scanner{data: data}
			if s.all() != nil {
				b.Fatal("invalid")
			}
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if !json.Valid(data) {
				b.Fatal("invalid")
			}
		}
	})
}
