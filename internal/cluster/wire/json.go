package wire

import (
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/sio-go/socketio/protocol"
)

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string, escaped as JavaScript's
// JSON.stringify escapes it: the two-character escapes for \b \f \n \r \t,
// \" and \\, \u00XX for other control characters, and nothing else (no
// HTML escaping, U+2028 and U+2029 written as is). Invalid UTF-8 bytes are
// written as U+FFFD.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\ufffd"...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// AppendNumber appends f as JavaScript writes a number in JSON: the
// shortest representation, exponent form below 1e-6 and from 1e21, 0 for
// negative zero, null for NaN and infinities.
func AppendNumber(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	if f == 0 {
		return append(dst, '0')
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs < 1e-6 || abs >= 1e21 {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// 1e-07 becomes 1e-7, as in JavaScript
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// appendStrings appends a JSON array of strings.
func appendStrings(dst []byte, list []string) []byte {
	dst = append(dst, '[')
	for i, s := range list {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, s)
	}
	return append(dst, ']')
}

// InlineBuffers replaces every placeholder of data by the JSON form Node
// gives a Buffer, {"type":"Buffer","data":[bytes…]}: what JSON.stringify
// writes for binary values in the JSON messages. data is returned as is
// without attachments.
func InlineBuffers(data []byte, atts [][]byte) ([]byte, error) {
	if len(atts) == 0 {
		return data, nil
	}
	out, rest, err := inlineValue(nil, data, atts, 0)
	if err != nil {
		return nil, err
	}
	if len(trimSpace(rest)) != 0 {
		return nil, errJSON
	}
	return out, nil
}

func inlineValue(dst, data []byte, atts [][]byte, depth int) ([]byte, []byte, error) {
	if depth > maxDepth {
		return nil, nil, errDepth
	}
	data = trimLeft(data)
	end, err := skipValue(data, 0)
	if err != nil {
		return nil, nil, err
	}
	switch data[0] {
	case '{':
		if n, ok := protocol.Placeholder(data[:end]); ok && n < len(atts) {
			dst = append(dst, `{"type":"Buffer","data":[`...)
			for i, b := range atts[n] {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = strconv.AppendUint(dst, uint64(b), 10)
			}
			return append(dst, "]}"...), data[end:], nil
		}
		fallthrough
	case '[':
		var buf [16]span
		ms, _, err := members(data[:end], buf[:0], data[0] == '{')
		if err != nil {
			return nil, nil, err
		}
		dst = append(dst, data[0])
		for i, m := range ms {
			if i > 0 {
				dst = append(dst, ',')
			}
			if data[0] == '{' {
				dst = AppendString(dst, m.key)
				dst = append(dst, ':')
			}
			if dst, _, err = inlineValue(dst, m.val, atts, depth+1); err != nil {
				return nil, nil, err
			}
		}
		return append(dst, data[end-1]), data[end:], nil
	}
	return append(dst, data[:end]...), data[end:], nil
}
