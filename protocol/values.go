package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/sio-go/socketio/internal/plainjson"
)

// Args are the arguments of a received event or acknowledgement, kept as
// received: raw JSON elements, in which binary values are placeholders that
// refer to the attachments. Args is a small value, safe to copy and to keep
// after the handler returns.
type Args struct {
	elems       []json.RawMessage
	attachments [][]byte
}

// NewArgs returns Args made of JSON elements and the binary attachments their
// placeholders ({"_placeholder":true,"num":N}) refer to.
func NewArgs(elems []json.RawMessage, attachments [][]byte) Args {
	return Args{elems: elems, attachments: attachments}
}

// ArgsFromArray splits a JSON array into Args.
func ArgsFromArray(data []byte, attachments [][]byte) (Args, error) {
	elems, err := SplitArray(data)
	if err != nil {
		return Args{}, err
	}
	return Args{elems: elems, attachments: attachments}, nil
}

// Len returns the number of arguments.
func (a Args) Len() int { return len(a.elems) }

// Raw returns argument i as received, placeholders included, or nil when i is
// out of range. The bytes must not be modified.
func (a Args) Raw(i int) json.RawMessage {
	if i < 0 || i >= len(a.elems) {
		return nil
	}
	return a.elems[i]
}

// Attachments returns the binary attachments the placeholders refer to. The
// slices must not be modified.
func (a Args) Attachments() [][]byte { return a.attachments }

// Binary returns the attachment argument i stands for, when argument i is a
// placeholder.
func (a Args) Binary(i int) ([]byte, bool) {
	n, ok := Placeholder(a.Raw(i))
	if !ok || n < 0 || n >= len(a.attachments) {
		return nil, false
	}
	return a.attachments[n], true
}

// Decode unmarshals argument i into v with encoding/json. Placeholders are
// first replaced by the base64 text of their attachment, so that byte
// slices receive the binary data wherever they are; an interface (an any
// field, a map[string]any value…) that received a binary attachment holds
// it as a []byte, as Args.Values gives it, not as its base64 text. Decoding a missing argument
// leaves v unchanged and returns nil, as for a JSON null.
func (a Args) Decode(i int, v any) error {
	raw := a.Raw(i)
	if raw == nil {
		return nil
	}
	// Booleans, numbers, strings and structs of them decode without
	// encoding/json when they can (and then as encoding/json would); what
	// the codec leaves goes on below, over what it wrote, which
	// encoding/json writes again.
	if t := reflect.TypeOf(v); t != nil && t.Kind() == reflect.Pointer {
		if c := plainjson.For(t.Elem()); c != nil {
			if p := reflect.ValueOf(v).UnsafePointer(); p != nil && c.Decode(p, raw) {
				return nil
			}
		}
	}
	if len(a.attachments) > 0 {
		inlined, err := InlineAttachments(raw, a.attachments)
		if err != nil {
			return fmt.Errorf("protocol: argument %d: %w", i, err)
		}
		raw = inlined
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("protocol: argument %d: %w", i, err)
	}
	if len(a.attachments) > 0 {
		restoreBinary(v, a.Raw(i), a.attachments)
	}
	return nil
}

// Values returns the arguments in a form Emit sends again unchanged: JSON as
// json.RawMessage, placeholders as []byte. It lets a handler forward what it
// received: s.Emit("echo", args.Values()...). Binary values nested in
// arrays and objects come back as []byte too, their containers decoded into
// []any and map[string]any.
func (a Args) Values() []any {
	out := make([]any, len(a.elems))
	for i, e := range a.elems {
		if b, ok := a.Binary(i); ok {
			out[i] = b
			continue
		}
		if len(a.attachments) > 0 && bytes.Contains(e, placeholderKey) {
			if v, err := withBinary(e, a.attachments, true); err == nil {
				out[i] = v
				continue
			}
		}
		out[i] = e
	}
	return out
}

// String returns the arguments as a JSON array, for logs.
func (a Args) String() string { return string(AppendArray(nil, a.elems...)) }

var placeholderKey = []byte(`"_placeholder"`)

// withBinary decodes raw into generic values in which the placeholders are
// replaced by their attachments as []byte, for elements that nest binary
// data; numbers are json.Number with useNumber, else float64.
func withBinary(raw []byte, attachments [][]byte, useNumber bool) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if useNumber {
		dec.UseNumber()
	}
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var walk func(any) any
	walk = func(x any) any {
		switch t := x.(type) {
		case map[string]any:
			if t["_placeholder"] == true && len(t) == 2 {
				if i, ok := placeholderNum(t["num"]); ok && i >= 0 && i < len(attachments) {
					return attachments[i]
				}
			}
			for k, e := range t {
				t[k] = walk(e)
			}
		case []any:
			for i, e := range t {
				t[i] = walk(e)
			}
		}
		return x
	}
	return walk(v), nil
}

// placeholderNum reads the num of a placeholder decoded generically.
func placeholderNum(v any) (int, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		return int(i), err == nil
	case float64:
		return int(n), n == float64(int(n))
	}
	return 0, false
}
