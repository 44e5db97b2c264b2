package protocol

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
)

// plainMsg is written by plainjson, not encoding/json.
type plainMsg struct {
	Text string  `json:"text"`
	N    int     `json:"n,omitempty"`
	U    uint8   `json:"u"`
	F    float64 `json:"f"`
	F32  float32
	OK   bool       `json:"ok,omitempty"`
	In   plainInner `json:"in"`
	skip int
}

type plainInner struct {
	X, Y int
	Tag  string `json:"tag,omitempty"`
}

func TestMarshalArgsMatchesEncodingJSON(t *testing.T) {
	type point struct {
		X, Y int
		Tag  string `json:"tag,omitempty"`
	}
	args := []any{
		"chat", "", "<b>&\"quotes\"\\ \n\t\r\b\f\x00\x1f\u2028\u2029 é 日本", "bad \xff utf8 \xe2\x82",
		true, false, nil,
		0, -1, math.MaxInt64, int64(math.MinInt64), int32(-7), uint(3), uint32(4), uint64(math.MaxUint64), int8(-8), uint16(16),
		0.0, math.Copysign(0, -1), 1.5, 1e20, 1e21, 1e-6, 1e-7, 123456789.125, -2.5e-300, math.MaxFloat64, math.SmallestNonzeroFloat64,
		float32(3.14), float32(1e-7), float32(1e-6), float32(-1e-6), float32(1e21), float32(16777216),
		math.Nextafter(1e21, 0), math.Nextafter(1e-6, 1), math.Nextafter(1e-6, 0),
		[]any{}, []any{1, "a", []any{nil, true}}, []any(nil),
		map[string]any{}, map[string]any{"b": 1, "a": []any{"x"}, "<": map[string]any{"z": nil, "y": 2.5}}, map[string]any(nil),
		point{1, 2, ""}, &point{X: 3, Tag: "t"}, []string{"a"}, map[string]int{"k": 1}, json.Number("12.5"),
		plainMsg{Text: "<b>&é\u2028\xff", N: -7, F: 1e-7, F32: 1e21, OK: true, In: plainInner{X: -1, Tag: "x"}},
		plainMsg{}, []plainMsg{{N: 1}}, map[string]plainMsg{"k": {Text: "v"}}, struct{ P plainMsg }{plainMsg{U: 9}},
	}
	want, err := json.Marshal(args)
	noError(t, err)
	got, atts, err := MarshalArgs(args)
	noError(t, err)
	equal(t, "MarshalArgs", string(got), string(want))
	equal(t, "attachments", len(atts), 0)

	for _, a := range args {
		want, err := json.Marshal([]any{a})
		noError(t, err)
		got, _, err := MarshalArgs([]any{a})
		noError(t, err)
		if string(got) != string(want) {
			t.Errorf("MarshalArgs(%#v) = %s, want %s", a, got, want)
		}
	}
}

func TestMarshalArgsBinary(t *testing.T) {
	b0, b1, b2, b3 := []byte{0}, []byte{1}, []byte{2}, []byte(nil)
	data, atts, err := MarshalArgs([]any{
		"upload",
		b0,
		map[string]any{"z": b3, "a": []any{b1, map[string]any{"deep": b2}}},
		struct {
			Raw  []byte
			Text []byte `socketio:"base64"`
		}{[]byte("hi"), []byte("hi")},
		json.RawMessage(` {"kept":` + ph0 + `} `),
	})
	noError(t, err)
	equal(t, "data", string(data), `["upload",`+ph0+`,{"a":[`+ph1+`,{"deep":{"_placeholder":true,"num":2}}],"z":{"_placeholder":true,"num":3}},{"Raw":{"_placeholder":true,"num":4},"Text":"aGk="},{"kept":`+ph0+`}]`)
	equal(t, "attachments in depth-first order", atts, [][]byte{b0, b1, b2, b3, []byte("hi")})

	p := Packet{Type: Event, Data: data, Attachments: atts}
	var d Decoder
	got, err := feed(t, &d, frame{string(p.Encode()), []string{"\x00", "\x01", "\x02", "", "hi"}})
	noError(t, err)
	equal(t, "decoded type", got.Type, BinaryEvent)
	equal(t, "decoded data", string(got.Data), string(data))
}

func TestAppendMarshalArgs(t *testing.T) {
	dst, atts, err := AppendMarshalArgs([]byte("4"), [][]byte{{9}}, []any{"a", []byte{1}})
	noError(t, err)
	equal(t, "dst", string(dst), `4["a",`+ph1+`]`)
	equal(t, "atts", atts, [][]byte{{9}, {1}})

	cyclic := []any{nil}
	cyclic[0] = cyclic
	for _, bad := range []any{math.NaN(), math.Inf(1), float32(math.Inf(-1)), json.RawMessage(`{`), cyclic, make(chan int),
		map[string]any{"a": []any{math.NaN()}}} {
		dst, atts, err := AppendMarshalArgs([]byte("4"), [][]byte{{9}}, []any{[]byte{1}, bad})
		if err == nil {
			t.Errorf("no error for %T", bad)
			continue
		}
		equal(t, "dst after error", string(dst), "4")
		equal(t, "atts after error", atts, [][]byte{{9}})
	}
	_, _, err = MarshalArgs([]any{json.RawMessage(`[1,]`)})
	isError(t, err, ErrInvalidPayload)
	_, _, err = MarshalArgs([]any{math.NaN()})
	var unsupported *json.UnsupportedValueError
	if !errors.As(err, &unsupported) {
		t.Errorf("NaN: error %v, want a json.UnsupportedValueError", err)
	}

	data, _, err := MarshalArgs(nil)
	noError(t, err)
	equal(t, "no args", string(data), `[]`)
	data, _, err = MarshalArgs([]any{json.RawMessage(nil)})
	noError(t, err)
	equal(t, "nil raw", string(data), `[null]`)
}

func TestMarshalArgsAllocs(t *testing.T) {
	args := []any{"echo", "hello", 42, []byte{1, 2}}
	buf := make([]byte, 0, 256)
	atts := make([][]byte, 0, 4)
	allocs := testing.AllocsPerRun(100, func() {
		var err error
		if buf, atts, err = AppendMarshalArgs(buf[:0], atts[:0], args); err != nil {
			t.Fatal(err)
		}
	})
	equal(t, "allocations of AppendMarshalArgs", allocs, 0.0)
}
