package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"

	"github.com/sio-go/socketio/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// The values of Socket.IO events travel on the Go side as JSON text in
// which each binary value is a placeholder {"_placeholder":true,"num":N}
// referring to an attachment. Node's adapter encodes the JavaScript values
// themselves with notepack.io. encodeValue and decodeValue convert between
// the two with JavaScript's semantics, so that the bytes match notepack's:
//
//   - a number is an integer when its value is integral (1.0 and 1e3 are
//     integers), written in the smallest msgpack int; other numbers, NaN
//     and infinities are float64;
//   - object keys come in JavaScript's order: keys that are array indexes
//     ("0", "1"…) first in ascending order, then the others in order of
//     first appearance; a repeated key keeps its first place and its last
//     value;
//   - placeholders become msgpack bin, and bin becomes placeholders;
//   - a timestamp (Date) becomes its ISO 8601 string, as JSON.stringify
//     writes it.
//
// Two deliberate differences: integers written in full that do not fit a
// float64 exactly (beyond ±2^53) keep their exact value, where Node would
// round them; and integral numbers beyond the uint64/int64 range are
// float64, where notepack writes a corrupted uint64.

// maxDepth bounds the nesting of decoded and encoded values.
const maxDepth = 1000

var (
	errDepth      = errors.New("wire: value nested too deeply")
	errJSON       = errors.New("wire: invalid JSON value")
	errMapKey     = errors.New("wire: unsupported msgpack map key")
	errUnexpected = errors.New("wire: unexpected msgpack value")
)

// valueEncoder writes JSON values as msgpack.
type valueEncoder struct {
	enc  *msgpack.Encoder
	atts [][]byte
}

// encode writes the JSON value data (one value, surrounding space allowed).
func (e *valueEncoder) encode(data []byte) error {
	rest, err := e.value(data, 0)
	if err != nil {
		return err
	}
	if len(trimSpace(rest)) != 0 {
		return errJSON
	}
	return nil
}

func (e *valueEncoder) value(data []byte, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, errDepth
	}
	data = trimLeft(data)
	if len(data) == 0 {
		return nil, errJSON
	}
	switch c := data[0]; {
	case c == '{':
		return e.object(data, depth)
	case c == '[':
		return e.array(data, depth)
	case c == '"':
		end, err := skipString(data)
		if err != nil {
			return nil, err
		}
		s, err := unquote(data[:end])
		if err != nil {
			return nil, err
		}
		return data[end:], e.enc.EncodeString(s)
	case c == 't' && bytes.HasPrefix(data, []byte("true")):
		return data[4:], e.enc.EncodeBool(true)
	case c == 'f' && bytes.HasPrefix(data, []byte("false")):
		return data[5:], e.enc.EncodeBool(false)
	case c == 'n' && bytes.HasPrefix(data, []byte("null")):
		return data[4:], e.enc.EncodeNil()
	case c == '-' || (c >= '0' && c <= '9'):
		end := skipNumber(data)
		if end == 0 {
			return nil, errJSON
		}
		return data[end:], e.number(data[:end])
	}
	return nil, errJSON
}

func (e *valueEncoder) number(text []byte) error {
	if !bytes.ContainsAny(text, ".eE") {
		// An integer written in full keeps its exact value.
		if text[0] == '-' {
			if n, err := strconv.ParseInt(string(text), 10, 64); err == nil {
				return e.enc.EncodeInt(n)
			}
		} else if n, err := strconv.ParseUint(string(text), 10, 64); err == nil {
			return e.enc.EncodeUint(n)
		}
	}
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return errJSON
	}
	return encodeNumber(e.enc, f)
}

// encodeNumber writes a JavaScript number as notepack does: integral values
// as the smallest int, others as float64.
func encodeNumber(enc *msgpack.Encoder, f float64) error {
	if f != math.Trunc(f) || math.IsInf(f, 0) {
		return enc.EncodeFloat64(f)
	}
	switch {
	case f >= 0 && f < 1<<64:
		return enc.EncodeUint(uint64(f))
	case f < 0 && f >= -(1<<63):
		return enc.EncodeInt(int64(f))
	}
	return enc.EncodeFloat64(f)
}

// span is one element of a JSON array or object.
type span struct {
	key  string // object member name
	val  []byte // the value's text
	dupe bool   // a later member has the same key
}

func (e *valueEncoder) array(data []byte, depth int) ([]byte, error) {
	var buf [16]span
	elems, rest, err := members(data, buf[:0], false)
	if err != nil {
		return nil, err
	}
	if err := e.enc.EncodeArrayLen(len(elems)); err != nil {
		return nil, err
	}
	for _, el := range elems {
		if _, err := e.value(el.val, depth+1); err != nil {
			return nil, err
		}
	}
	return rest, nil
}

func (e *valueEncoder) object(data []byte, depth int) ([]byte, error) {
	if len(e.atts) > 0 {
		if end, err := skipValue(data, 0); err == nil {
			if n, ok := protocol.Placeholder(data[:end]); ok && n < len(e.atts) {
				return data[end:], e.enc.EncodeBytes(nonNil(e.atts[n]))
			}
		}
	}
	var buf [16]span
	ms, rest, err := members(data, buf[:0], true)
	if err != nil {
		return nil, err
	}
	ms = jsOrder(ms)
	n := 0
	for _, m := range ms {
		if !m.dupe {
			n++
		}
	}
	if err := e.enc.EncodeMapLen(n); err != nil {
		return nil, err
	}
	for _, m := range ms {
		if m.dupe {
			continue
		}
		if err := e.enc.EncodeString(m.key); err != nil {
			return nil, err
		}
		if _, err := e.value(m.val, depth+1); err != nil {
			return nil, err
		}
	}
	return rest, nil
}

// jsOrder sorts object members in JavaScript's property order: a repeated
// key keeps the place of its first occurrence and takes the value of its
// last; the later occurrences are marked dupe.
func jsOrder(ms []span) []span {
	indexes := false
	var first map[string]int
	if len(ms) > 16 {
		first = make(map[string]int, len(ms))
	}
	for i := range ms {
		if _, ok := arrayIndex(ms[i].key); ok {
			indexes = true
		}
		j := -1
		if first != nil {
			if k, ok := first[ms[i].key]; ok {
				j = k
			} else {
				first[ms[i].key] = i
			}
		} else {
			for k := range i {
				if ms[k].key == ms[i].key && !ms[k].dupe {
					j = k
					break
				}
			}
		}
		if j >= 0 {
			ms[j].val = ms[i].val
			ms[i].dupe = true
		}
	}
	if indexes {
		slices.SortStableFunc(ms, func(a, b span) int {
			ia, aok := arrayIndex(a.key)
			ib, bok := arrayIndex(b.key)
			switch {
			case aok && bok:
				return cmpUint(ia, ib)
			case aok:
				return -1
			case bok:
				return 1
			}
			return 0
		})
	}
	return ms
}

func cmpUint(a, b uint32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// arrayIndex reports whether key is a canonical array index (0 to 2^32-2).
func arrayIndex(key string) (uint32, bool) {
	if key == "" || len(key) > 10 || (len(key) > 1 && key[0] == '0') {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if n >= math.MaxUint32 {
		return 0, false
	}
	return uint32(n), true
}

// members splits a JSON array or object into its elements.
func members(data []byte, dst []span, object bool) ([]span, []byte, error) {
	i := 1
	closing := byte(']')
	if object {
		closing = '}'
	}
	i += spaces(data[i:])
	if i < len(data) && data[i] == closing {
		return dst, data[i+1:], nil
	}
	for {
		var m span
		if object {
			if i >= len(data) || data[i] != '"' {
				return nil, nil, errJSON
			}
			end, err := skipString(data[i:])
			if err != nil {
				return nil, nil, err
			}
			if m.key, err = unquote(data[i : i+end]); err != nil {
				return nil, nil, err
			}
			i += end
			i += spaces(data[i:])
			if i >= len(data) || data[i] != ':' {
				return nil, nil, errJSON
			}
			i++
		}
		i += spaces(data[i:])
		end, err := skipValue(data[i:], 0)
		if err != nil {
			return nil, nil, err
		}
		m.val = data[i : i+end]
		dst = append(dst, m)
		i += end
		i += spaces(data[i:])
		if i >= len(data) {
			return nil, nil, errJSON
		}
		switch data[i] {
		case ',':
			i++
			i += spaces(data[i:])
		case closing:
			return dst, data[i+1:], nil
		default:
			return nil, nil, errJSON
		}
	}
}

// skipValue returns the length of the JSON value at the start of data.
func skipValue(data []byte, depth int) (int, error) {
	if depth > maxDepth {
		return 0, errDepth
	}
	if len(data) == 0 {
		return 0, errJSON
	}
	switch c := data[0]; {
	case c == '"':
		return skipString(data)
	case c == '{' || c == '[':
		closing := byte(']')
		if c == '{' {
			closing = '}'
		}
		i := 1 + spaces(data[1:])
		if i < len(data) && data[i] == closing {
			return i + 1, nil
		}
		for {
			if c == '{' {
				if i >= len(data) || data[i] != '"' {
					return 0, errJSON
				}
				n, err := skipString(data[i:])
				if err != nil {
					return 0, err
				}
				i += n
				i += spaces(data[i:])
				if i >= len(data) || data[i] != ':' {
					return 0, errJSON
				}
				i++
				i += spaces(data[i:])
			}
			n, err := skipValue(data[i:], depth+1)
			if err != nil {
				return 0, err
			}
			i += n
			i += spaces(data[i:])
			if i >= len(data) {
				return 0, errJSON
			}
			if data[i] == closing {
				return i + 1, nil
			}
			if data[i] != ',' {
				return 0, errJSON
			}
			i++
			i += spaces(data[i:])
		}
	case c == 't' && bytes.HasPrefix(data, []byte("true")):
		return 4, nil
	case c == 'f' && bytes.HasPrefix(data, []byte("false")):
		return 5, nil
	case c == 'n' && bytes.HasPrefix(data, []byte("null")):
		return 4, nil
	case c == '-' || (c >= '0' && c <= '9'):
		if n := skipNumber(data); n > 0 {
			return n, nil
		}
	}
	return 0, errJSON
}

// skipString returns the length of the JSON string at the start of data.
func skipString(data []byte) (int, error) {
	for i := 1; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1, nil
		default:
			if data[i] < 0x20 {
				return 0, errJSON
			}
		}
	}
	return 0, errJSON
}

// skipNumber returns the length of the JSON number at the start of data, 0
// if there is none.
func skipNumber(data []byte) int {
	i := 0
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && data[i] >= '1' && data[i] <= '9':
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
	default:
		return 0
	}
	if i < len(data) && data[i] == '.' {
		i++
		start := i
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
		if i == start {
			return 0
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		start := i
		for i < len(data) && data[i] >= '0' && data[i] <= '9' {
			i++
		}
		if i == start {
			return 0
		}
	}
	return i
}

func unquote(raw []byte) (string, error) {
	body := raw[1 : len(raw)-1]
	if bytes.IndexByte(body, '\\') < 0 {
		return string(body), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", errJSON
	}
	return s, nil
}

func spaces(b []byte) int {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func trimLeft(b []byte) []byte { return b[spaces(b):] }

func trimSpace(b []byte) []byte {
	b = trimLeft(b)
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
