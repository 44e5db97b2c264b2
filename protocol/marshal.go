package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/sio-go/socketio/internal/plainjson"
)

// maxMarshalDepth bounds the nesting of []any and map[string]any values, so
// that a value containing itself fails instead of recursing forever.
const maxMarshalDepth = 1000

var errTooDeep = errors.New("nesting too deep or cyclic value")

// MarshalArgs encodes args as a compact JSON array, the payload of an EVENT
// (with the event name as first argument) or of an ACK.
//
// Every byte slice becomes a placeholder {"_placeholder":true,"num":N} and
// its bytes the attachment N, numbered depth-first in the order the JSON is
// written, wherever it is, as Node sends a Buffer: an argument, an element
// of []any or of any slice or array, a value of map[string]any or of any
// map, a struct field (with encoding/json's rules for field names, tags,
// embedded structs and map keys), behind pointers and interfaces. A byte
// slice is a []byte or any slice type whose elements are of kind uint8,
// unless the type has a MarshalJSON or MarshalText method (json.RawMessage
// is JSON, not binary). A struct field tagged `socketio:"base64"` opts out:
// encoding/json writes it, byte slices as base64 text. A nil []byte given
// as an argument or inside []any and map[string]any is an empty
// attachment; elsewhere a nil byte slice is null, as encoding/json writes
// it. Attachments share memory with the byte slices.
//
// json.RawMessage values are validated and inserted verbatim, without
// surrounding whitespace (placeholders inside them are not renumbered).
// Values of types that cannot hold a byte slice are written by
// encoding/json, in one call. Without byte slices and json.RawMessage
// values the result is exactly what json.Marshal(args) gives; a type that
// holds byte slices and has MarshalJSON or MarshalText on its pointer
// is written with that method even where encoding/json would not take the
// value's address.
//
// Send a payload with attachments as a BinaryEvent or BinaryAck.
func MarshalArgs(args []any) (data []byte, attachments [][]byte, err error) {
	return AppendMarshalArgs(nil, nil, args)
}

// AppendMarshalArgs is MarshalArgs appending the JSON to dst and the
// attachments to atts. On error both are returned at their original length.
func AppendMarshalArgs(dst []byte, atts [][]byte, args []any) ([]byte, [][]byte, error) {
	n, na := len(dst), len(atts)
	dst = append(dst, '[')
	for i, a := range args {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, atts, err = appendValue(dst, atts, a, 0); err != nil {
			return dst[:n], atts[:na], fmt.Errorf("protocol: argument %d: %w", i, err)
		}
	}
	return append(dst, ']'), atts, nil
}

func appendValue(dst []byte, atts [][]byte, v any, depth int) ([]byte, [][]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), atts, nil
	case []byte:
		dst = append(dst, `{"_placeholder":true,"num":`...)
		dst = strconv.AppendInt(dst, int64(len(atts)), 10)
		return append(dst, '}'), append(atts, v), nil
	case json.RawMessage:
		if v == nil {
			return append(dst, "null"...), atts, nil
		}
		v = trimSpace(v)
		s := scanner{data: v}
		if s.all() != nil {
			return dst, atts, ErrInvalidPayload
		}
		return append(dst, v...), atts, nil
	case string:
		return appendString(dst, v), atts, nil
	case bool:
		return strconv.AppendBool(dst, v), atts, nil
	case float64:
		return appendFloat(dst, v, 64, atts)
	case float32:
		return appendFloat(dst, float64(v), 32, atts)
	case int:
		return strconv.AppendInt(dst, int64(v), 10), atts, nil
	case int64:
		return strconv.AppendInt(dst, v, 10), atts, nil
	case int32:
		return strconv.AppendInt(dst, int64(v), 10), atts, nil
	case uint64:
		return strconv.AppendUint(dst, v, 10), atts, nil
	case uint32:
		return strconv.AppendUint(dst, uint64(v), 10), atts, nil
	case uint:
		return strconv.AppendUint(dst, uint64(v), 10), atts, nil
	case []any:
		if v == nil {
			return append(dst, "null"...), atts, nil
		}
		if depth >= maxMarshalDepth {
			return dst, atts, errTooDeep
		}
		dst = append(dst, '[')
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, atts, err = appendValue(dst, atts, e, depth+1); err != nil {
				return dst, atts, err
			}
		}
		return append(dst, ']'), atts, nil
	case map[string]any:
		if v == nil {
			return append(dst, "null"...), atts, nil
		}
		if depth >= maxMarshalDepth {
			return dst, atts, errTooDeep
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, k)
			dst = append(dst, ':')
			var err error
			if dst, atts, err = appendValue(dst, atts, v[k], depth+1); err != nil {
				return dst, atts, err
			}
		}
		return append(dst, '}'), atts, nil
	}
	return appendWalked(dst, atts, v, depth)
}

// appendFloat writes f as encoding/json does (the ECMAScript number format).
func appendFloat(dst []byte, f float64, bits int, atts [][]byte) ([]byte, [][]byte, error) {
	dst, err := plainjson.AppendFloat(dst, f, bits)
	return dst, atts, err
}

// appendString writes s as a JSON string the way encoding/json does: HTML
// characters, U+2028 and U+2029 escaped, invalid UTF-8 replaced by U+FFFD.
func appendString(dst []byte, s string) []byte { return plainjson.AppendString(dst, s) }
