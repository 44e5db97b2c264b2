package protocol

import (
	"bytes"
	"encoding/json"
	"testing"
)

func FuzzDecode(f *testing.F) {
	for _, tt := range validFrames {
		f.Add([]byte(tt.in.text), []byte("\x01\x02"))
	}
	for _, s := range []string{`2{}`, `2abc["a"]`, `511-["a"]`, `51-["a",` + ph1 + `]`, `2["connect"]`, `4abc`,
		`51-["a",{"x":[` + ph0 + `,{"_placeholder":false}]}]`, `2/a,1["\u00e9",-1.5e3,null,true]`} {
		f.Add([]byte(s), []byte{})
	}
	f.Fuzz(func(t *testing.T, text, attachment []byte) {
		var d Decoder
		p, err := d.Decode(text, false)
		for i := 0; err == nil && p == nil && i <= DefaultMaxAttachments; i++ {
			p, err = d.Decode(attachment, true)
		}
		if err != nil {
			if p != nil {
				t.Fatal("packet and error")
			}
			return
		}
		if p == nil {
			t.Fatal("no packet after the announced attachments")
		}
		if p.Data != nil && !json.Valid(p.Data) {
			t.Fatalf("accepted invalid JSON %q", p.Data)
		}
		if p.Namespace == "" || p.Namespace[0] != '/' || bytes.IndexByte([]byte(p.Namespace), ',') >= 0 {
			t.Fatalf("bad namespace %q", p.Namespace)
		}
		if p.Type.IsBinary() {
			if _, err := InlineAttachments(p.Data, p.Attachments); err != nil {
				t.Fatalf("InlineAttachments of an accepted packet: %v", err)
			}
		}
		if p.Type == Event || p.Type == BinaryEvent {
			if _, err := SplitArray(p.Data); err != nil {
				t.Fatalf("SplitArray of an accepted event: %v", err)
			}
		}

		enc := p.Encode()
		var d2 Decoder
		q, err := d2.Decode(enc, false)
		for i := 0; err == nil && q == nil && i < len(p.Attachments); i++ {
			q, err = d2.Decode(p.Attachments[i], true)
		}
		if err != nil || q == nil {
			t.Fatalf("re-encoded %q as %q: %v", text, enc, err)
		}
		if !samePacket(p, q) {
			t.Fatalf("round trip of %q through %q: %+v != %+v", text, enc, q, p)
		}
	})
}

func FuzzSplitArray(f *testing.F) {
	for _, s := range []string{`[]`, `["a",1,{"b":[true,null]}]`, ` [ -0.5e-3 , "\u00e9\n" ] `, `[1,]`, `{}`, `[01]`,
		`["\ud800"]`, "[\"\xff\"]", `[[[[[]]]]]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := SplitArray(data)
		trimmed := bytes.TrimLeft(data, " \t\r\n")
		isArray := json.Valid(data) && trimmed[0] == '['
		if (err == nil) != isArray {
			t.Fatalf("SplitArray(%q): error %v, but valid JSON array: %v", data, err, isArray)
		}
		if err != nil {
			return
		}
		var want []json.RawMessage
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("SplitArray(%q): %d elements, encoding/json: %d", data, len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("SplitArray(%q)[%d] = %q, encoding/json: %q", data, i, got[i], want[i])
			}
		}
		again, err := SplitArray(AppendArray(nil, got...))
		if err != nil || len(again) != len(got) {
			t.Fatalf("SplitArray(AppendArray(%q)): %q, %v", got, again, err)
		}
		for i := range got {
			if !bytes.Equal(got[i], again[i]) {
				t.Fatalf("element %d changed: %q != %q", i, again[i], got[i])
			}
		}
	})
}
