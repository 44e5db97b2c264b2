package protocol

import (
	"bytes"
	"encoding/json"
	"math"
	"unicode/utf8"
)

// SplitArray splits a JSON array into its elements without decoding them.
// The elements are sub-slices of data without surrounding whitespace; they
// are validated, not copied. An error wraps ErrInvalidPayload.
func SplitArray(data []byte) ([]json.RawMessage, error) {
	return AppendSplitArray(make([]json.RawMessage, 0, 4), data)
}

// AppendSplitArray is SplitArray appending the elements to dst, so that a
// caller can reuse one slice. On error dst is returned at its original
// length.
func AppendSplitArray(dst []json.RawMessage, data []byte) ([]json.RawMessage, error) {
	n := len(dst)
	dst, err := splitArray(dst, data)
	if err != nil {
		return dst[:n], err
	}
	return dst, nil
}

func splitArray(dst []json.RawMessage, data []byte) ([]json.RawMessage, error) {
	s := scanner{data: data}
	s.skipSpace()
	if s.i >= len(data) || data[s.i] != '[' {
		return dst, ErrInvalidPayload
	}
	s.i++
	s.depth = 1
	s.skipSpace()
	if s.i < len(data) && data[s.i] == ']' {
		s.i++
	} else {
		for {
			s.skipSpace()
			start := s.i
			if err := s.value(); err != nil {
				return dst, err
			}
			dst = append(dst, data[start:s.i])
			more, err := s.sep(']')
			if err != nil {
				return dst, err
			}
			if !more {
				break
			}
		}
	}
	s.skipSpace()
	if s.i != len(data) {
		return dst, ErrInvalidPayload
	}
	return dst, nil
}

// AppendArray appends the JSON array of the given raw elements to dst. An
// empty element is written as null. The elements are not validated.
func AppendArray(dst []byte, elems ...json.RawMessage) []byte {
	dst = append(dst, '[')
	for i, e := range elems {
		if i > 0 {
			dst = append(dst, ',')
		}
		if len(e) == 0 {
			dst = append(dst, "null"...)
		} else {
			dst = append(dst, e...)
		}
	}
	return append(dst, ']')
}

// EventName returns the name of an EVENT payload, its first element, which
// must be a JSON string, and the remaining elements undecoded. An error
// wraps ErrInvalidPayload. (The decoder also accepts a number as the first
// element, as the official one does; EventName rejects it.)
func EventName(data []byte) (name string, args []json.RawMessage, err error) {
	elems, err := SplitArray(data)
	if err != nil {
		return "", nil, err
	}
	if len(elems) == 0 || elems[0][0] != '"' {
		return "", nil, ErrInvalidPayload
	}
	name, err = unquote(elems[0])
	if err != nil {
		return "", nil, err
	}
	return name, elems[1:], nil
}

// unquote decodes a valid JSON string. Strings without escapes, the common
// case, are converted directly.
func unquote(raw []byte) (string, error) {
	body := raw[1 : len(raw)-1]
	if bytes.IndexByte(body, '\\') < 0 && utf8.Valid(body) {
		return string(body), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", ErrInvalidPayload
	}
	return s, nil
}

// Placeholder reports whether elem, one JSON value, is a binary placeholder
// {"_placeholder":true,"num":N}, and returns N. Placeholders are meaningful
// only in the Data of a binary packet.
func Placeholder(elem []byte) (num int, ok bool) {
	elem = trimSpace(elem)
	if len(elem) < 2 || elem[0] != '{' || elem[len(elem)-1] != '}' {
		return 0, false
	}
	s := scanner{data: elem, ph: true, limit: math.MaxInt32, phEnd: -1}
	if s.object() != nil || s.i != len(elem) || s.phEnd != len(elem) {
		return 0, false
	}
	return s.phNum, true
}

// InlineAttachments returns data with every placeholder replaced by the JSON
// string of its attachment in standard base64, which is how encoding/json
// represents a []byte: json.Unmarshal of the result into a struct with
// []byte fields yields the attachments. Data without placeholders, and any
// data when attachments is empty (placeholders mean nothing outside a binary
// packet), is returned as is, without a copy. A placeholder that is
// malformed or refers to a missing attachment gives ErrIllegalAttachments;
// invalid JSON gives ErrInvalidPayload.
func InlineAttachments(data []byte, attachments [][]byte) ([]byte, error) {
	if len(attachments) == 0 {
		return data, nil
	}
	s := scanner{data: data, ph: true, limit: len(attachments), inline: true, atts: attachments}
	if err := s.all(); err != nil {
		return nil, err
	}
	if s.out == nil {
		return data, nil
	}
	return append(s.out, data[s.last:]...), nil
}
