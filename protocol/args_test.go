package protocol

import (
	"encoding/json"
	"testing"
)

func rawStrings(elems []json.RawMessage) []string {
	out := make([]string, len(elems))
	for i, e := range elems {
		out[i] = string(e)
	}
	return out
}

func TestSplitArray(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`[]`, []string{}},
		{` [ ] `, []string{}},
		{`["a"]`, []string{`"a"`}},
		{`["message",1,"2",{"3":[true]}]`, []string{`"message"`, `1`, `"2"`, `{"3":[true]}`}},
		{"[ 1 ,\n\"x\\\"]\" , [ ] , {} , null,true,false,-1.5e+3 ]", []string{`1`, `"x\"]"`, `[ ]`, `{}`, `null`, `true`, `false`, `-1.5e+3`}},
		{`[[1,[2]],{"a":{"b":[]}}]`, []string{`[1,[2]]`, `{"a":{"b":[]}}`}},
	}
	for _, tt := range tests {
		got, err := SplitArray([]byte(tt.in))
		noError(t, err)
		equal(t, "SplitArray("+tt.in+")", rawStrings(got), tt.want)
	}
	for _, in := range []string{``, ` `, `{}`, `"a"`, `[`, `]`, `[1,]`, `[,1]`, `[1 2]`, `[1]]`, `[1] x`, `[01]`, `[1.]`, `[.5]`,
		`[1e]`, `[-]`, `[nul]`, `[truee]`, `["\u12"]`, `["\q"]`, "[\"\t\"]", `[{"a"}]`, `[{"a":1,}]`, `[{1:2}]`, `[{"a" 1}]`} {
		_, err := SplitArray([]byte(in))
		isError(t, err, ErrInvalidPayload)
		dst, err := AppendSplitArray([]json.RawMessage{[]byte("x")}, []byte(in))
		isError(t, err, ErrInvalidPayload)
		equal(t, "dst length after error", len(dst), 1)
		var v []json.RawMessage
		if json.Unmarshal([]byte(in), &v) == nil {
			t.Errorf("encoding/json accepts %q", in)
		}
	}
}

func TestSplitArrayNoCopy(t *testing.T) {
	data := []byte(`["a",{"b":2}]`)
	elems, err := SplitArray(data)
	noError(t, err)
	if &elems[1][0] != &data[5] {
		t.Error("element was copied")
	}
	buf := make([]json.RawMessage, 0, 8)
	allocs := testing.AllocsPerRun(100, func() { buf, _ = AppendSplitArray(buf[:0], data) })
	equal(t, "allocations of AppendSplitArray", allocs, 0.0)
}

func TestAppendArray(t *testing.T) {
	equal(t, "empty", string(AppendArray(nil)), `[]`)
	equal(t, "elements", string(AppendArray([]byte("x"), json.RawMessage(`"a"`), nil, json.RawMessage(`{"b":1}`))), `x["a",null,{"b":1}]`)
}

func TestEventName(t *testing.T) {
	name, args, err := EventName([]byte(`["message-with-ack",1,"2",{"3":[false]}]`))
	noError(t, err)
	equal(t, "name", name, "message-with-ack")
	equal(t, "args", rawStrings(args), []string{`1`, `"2"`, `{"3":[false]}`})

	name, args, err = EventName([]byte(` [ "caf\u00e9 \"x\"" ] `))
	noError(t, err)
	equal(t, "escaped name", name, `café "x"`)
	equal(t, "no args", len(args), 0)

	name, _, err = EventName([]byte("[\"a\xffb\"]"))
	noError(t, err)
	equal(t, "invalid UTF-8 replaced as encoding/json does", name, "a\ufffdb")

	for _, in := range []string{`[]`, `[1]`, `[null]`, `[{"a":1}]`, `{}`, `["a"`, ``} {
		_, _, err := EventName([]byte(in))
		isError(t, err, ErrInvalidPayload)
	}
}

func TestPlaceholder(t *testing.T) {
	tests := []struct {
		in  string
		num int
		ok  bool
	}{
		{ph0, 0, true},
		{` {"num": 12, "_placeholder" : true} `, 12, true},
		{`{"_placeholder":true,"num":2147483646}`, 2147483646, true},
		{`{"_placeholder":true,"num":2147483647}`, 0, false},
		{`{"_placeholder":true}`, 0, false},
		{`{"_placeholder":false,"num":1}`, 0, false},
		{`{"_placeholder":true,"num":1,"x":2}`, 0, false},
		{`{"_placeholder":true,"num":-1}`, 0, false},
		{`{"_placeholder":true,"num":1.0}`, 0, false},
		{`{"_placeholder":true,"num":1}x`, 0, false},
		{`{"a":` + ph0 + `}`, 0, false},
		{`[` + ph0 + `]`, 0, false},
		{`"x"`, 0, false},
		{`{}`, 0, false},
		{``, 0, false},
	}
	for _, tt := range tests {
		num, ok := Placeholder([]byte(tt.in))
		if num != tt.num || ok != tt.ok {
			t.Errorf("Placeholder(%s) = %d, %v; want %d, %v", tt.in, num, ok, tt.num, tt.ok)
		}
	}
}

func TestInlineAttachments(t *testing.T) {
	data := []byte(`["file",{"name":"a.bin","body":` + ph1 + `,"parts":[` + ph0 + `, 3]}]`)
	atts := [][]byte{{0xff, 0x00}, []byte("hello")}
	got, err := InlineAttachments(data, atts)
	noError(t, err)
	equal(t, "inlined", string(got), `["file",{"name":"a.bin","body":"aGVsbG8=","parts":["/wA=", 3]}]`)

	var v struct {
		Name  string
		Body  []byte
		Parts []json.RawMessage
	}
	args, err := SplitArray(got)
	noError(t, err)
	noError(t, json.Unmarshal(args[1], &v))
	equal(t, "body", string(v.Body), "hello")
	var part []byte
	noError(t, json.Unmarshal(v.Parts[0], &part))
	equal(t, "part", part, []byte{0xff, 0x00})

	plain := []byte(`["a",{"b":[1,2]}]`)
	out, err := InlineAttachments(plain, atts)
	noError(t, err)
	if &out[0] != &plain[0] {
		t.Error("data without placeholders was copied")
	}
	out, err = InlineAttachments([]byte(`[`+ph0+`]`), nil)
	noError(t, err)
	equal(t, "no attachments", string(out), `[`+ph0+`]`)

	_, err = InlineAttachments([]byte(`[`+ph1+`]`), atts[:1])
	isError(t, err, ErrIllegalAttachments)
	_, err = InlineAttachments([]byte(`[{"_placeholder":true}]`), atts)
	isError(t, err, ErrIllegalAttachments)
	_, err = InlineAttachments([]byte(`[`+ph0), atts)
	isError(t, err, ErrInvalidPayload)
}

func TestIsReservedEvent(t *testing.T) {
	equal(t, "connect", IsReservedEvent("connect"), true)
	equal(t, "removeListener", IsReservedEvent("removeListener"), true)
	equal(t, "message", IsReservedEvent("message"), false)
	equal(t, "Connect", IsReservedEvent("Connect"), false)
}
