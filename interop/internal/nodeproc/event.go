package nodeproc

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// Event is one JSON object printed by a script.
type Event struct {
	// Type is the "type" field: what happened.
	Type string
	// Raw is the whole line.
	Raw    json.RawMessage
	fields map[string]json.RawMessage
}

func parseEvent(line []byte) (Event, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(line, &fields); err != nil {
		return Event{}, err
	}
	ev := Event{Raw: append(json.RawMessage(nil), line...), fields: fields}
	if t, ok := fields["type"]; ok {
		if err := json.Unmarshal(t, &ev.Type); err != nil {
			return Event{}, fmt.Errorf("nodeproc: bad type in %s", line)
		}
	}
	return ev, nil
}

// Has reports whether the event has the field.
func (e Event) Has(key string) bool { _, ok := e.fields[key]; return ok }

// Field returns the raw JSON of a field, nil when absent.
func (e Event) Field(key string) json.RawMessage { return e.fields[key] }

// Decode unmarshals a field into v and reports whether it was present and
// of v's type.
func (e Event) Decode(key string, v any) bool {
	raw, ok := e.fields[key]
	if !ok {
		return false
	}
	return json.Unmarshal(raw, v) == nil
}

// Str returns a string field, "" when absent or not a string.
func (e Event) Str(key string) string {
	var s string
	e.Decode(key, &s)
	return s
}

// Int returns a numeric field, 0 when absent or not a number.
func (e Event) Int(key string) int {
	var f float64
	e.Decode(key, &f)
	return int(f)
}

// Bool returns a boolean field, false when absent or not a boolean.
func (e Event) Bool(key string) bool {
	var b bool
	e.Decode(key, &b)
	return b
}

// Data decodes a field holding either a JSON string (text) or a binary
// value {"$bin":"<base64>"}, as the scripts encode Engine.IO messages.
func (e Event) Data(key string) (data []byte, binary bool) {
	raw, ok := e.fields[key]
	if !ok {
		return nil, false
	}
	return DecodeData(raw)
}

// DecodeData decodes a JSON string or a {"$bin":"<base64>"} object.
func DecodeData(raw json.RawMessage) (data []byte, binary bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []byte(s), false
	}
	var b struct {
		Bin *string `json:"$bin"`
	}
	if json.Unmarshal(raw, &b) == nil && b.Bin != nil {
		d, err := base64.StdEncoding.DecodeString(*b.Bin)
		if err == nil {
			return d, true
		}
	}
	return nil, false
}

// Bin encodes bytes as the scripts expect binary values: {"$bin":"<base64>"}.
func Bin(b []byte) M { return M{"$bin": base64.StdEncoding.EncodeToString(b)} }

// String returns the event as its JSON line.
func (e Event) String() string { return string(e.Raw) }

// Type matches events of type typ.
func Type(typ string) func(Event) bool {
	return func(e Event) bool { return e.Type == typ }
}

// On matches events of type typ about one handle: the field key equals val
// (for example On("message", "socket", "c1")).
func On(typ, key, val string) func(Event) bool {
	return func(e Event) bool { return e.Type == typ && e.Str(key) == val }
}

// Any matches events matching any of preds.
func Any(preds ...func(Event) bool) func(Event) bool {
	return func(e Event) bool {
		for _, p := range preds {
			if p(e) {
				return true
			}
		}
		return false
	}
}
