package protocol

import "encoding/base64"

// maxDepth bounds the nesting of arrays and objects, as encoding/json does.
const maxDepth = 10000

// strSafe marks the bytes that may appear unescaped inside a JSON string
// without ending it.
var strSafe = func() (t [256]bool) {
	for i := range t {
		t[i] = i >= 0x20 && i != '"' && i != '\\'
	}
	return t
}()

// scanner validates JSON without building values. In placeholder mode it
// also checks every object holding "_placeholder":true: such an object must be
// exactly {"_placeholder":true,"num":N} (keys in any order) with 0 <= N <
// limit. With inline set, each placeholder is replaced in out by the base64
// JSON string of its attachment.
type scanner struct {
	data  []byte
	i     int
	depth int

	ph    bool
	limit int

	inline bool
	atts   [][]byte
	out    []byte
	last   int // end of the data already copied to out

	// The last placeholder seen: its span and num.
	phStart, phEnd, phNum int
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (s *scanner) skipSpace() {
	for s.i < len(s.data) && isSpace(s.data[s.i]) {
		s.i++
	}
}

// trimSpace removes JSON whitespace around b.
func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// all reports whether data is exactly one JSON value, with optional
// surrounding whitespace.
func (s *scanner) all() error {
	if err := s.value(); err != nil {
		return err
	}
	s.skipSpace()
	if s.i != len(s.data) {
		return ErrInvalidPayload
	}
	return nil
}

// value scans one value starting at s.i, after optional whitespace.
func (s *scanner) value() error {
	s.skipSpace()
	if s.i >= len(s.data) {
		return ErrInvalidPayload
	}
	switch c := s.data[s.i]; c {
	case '"':
		return s.str()
	case '{':
		return s.object()
	case '[':
		return s.array()
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		if c == '-' || isDigit(c) {
			return s.number()
		}
		return ErrInvalidPayload
	}
}

func (s *scanner) literal(lit string) error {
	if len(s.data)-s.i < len(lit) || string(s.data[s.i:s.i+len(lit)]) != lit {
		return ErrInvalidPayload
	}
	s.i += len(lit)
	return nil
}

func (s *scanner) digits() int {
	start := s.i
	for s.i < len(s.data) && isDigit(s.data[s.i]) {
		s.i++
	}
	return s.i - start
}

func (s *scanner) number() error {
	if s.data[s.i] == '-' {
		s.i++
	}
	if s.i < len(s.data) && s.data[s.i] == '0' {
		s.i++
	} else if s.digits() == 0 {
		return ErrInvalidPayload
	}
	if s.i < len(s.data) && s.data[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return ErrInvalidPayload
		}
	}
	if s.i < len(s.data) && (s.data[s.i] == 'e' || s.data[s.i] == 'E') {
		s.i++
		if s.i < len(s.data) && (s.data[s.i] == '+' || s.data[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return ErrInvalidPayload
		}
	}
	return nil
}

// str scans a string; s.data[s.i] is the opening quote.
func (s *scanner) str() error {
	d := s.data
	i := s.i + 1
	for {
		for i < len(d) && strSafe[d[i]] {
			i++
		}
		if i >= len(d) {
			return ErrInvalidPayload
		}
		switch d[i] {
		case '"':
			s.i = i + 1
			return nil
		case '\\':
			if i+1 >= len(d) {
				return ErrInvalidPayload
			}
			switch d[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(d) || !isHex(d[i+2]) || !isHex(d[i+3]) || !isHex(d[i+4]) || !isHex(d[i+5]) {
					return ErrInvalidPayload
				}
				i += 6
			default:
				return ErrInvalidPayload
			}
		default: // control character
			return ErrInvalidPayload
		}
	}
}

func isHex(c byte) bool {
	return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f')
}

func (s *scanner) enter() error {
	s.depth++
	if s.depth > maxDepth {
		return ErrInvalidPayload
	}
	s.i++ // the opening bracket
	return nil
}

// sep consumes whitespace and then a ',' (more elements follow) or the
// closing byte (done).
func (s *scanner) sep(closing byte) (more bool, err error) {
	s.skipSpace()
	if s.i < len(s.data) {
		switch s.data[s.i] {
		case ',':
			s.i++
			return true, nil
		case closing:
			s.i++
			s.depth--
			return false, nil
		}
	}
	return false, ErrInvalidPayload
}

func (s *scanner) array() error {
	if err := s.enter(); err != nil {
		return err
	}
	s.skipSpace()
	if s.i < len(s.data) && s.data[s.i] == ']' {
		s.i++
		s.depth--
		return nil
	}
	for {
		if err := s.value(); err != nil {
			return err
		}
		more, err := s.sep(']')
		if !more {
			return err
		}
	}
}

func (s *scanner) object() error {
	start := s.i
	if err := s.enter(); err != nil {
		return err
	}
	s.skipSpace()
	if s.i < len(s.data) && s.data[s.i] == '}' {
		s.i++
		s.depth--
		return nil
	}
	members, isPH, num := 0, false, -1
	for {
		s.skipSpace()
		if s.i >= len(s.data) || s.data[s.i] != '"' {
			return ErrInvalidPayload
		}
		k := s.i
		if err := s.str(); err != nil {
			return err
		}
		key := s.data[k:s.i]
		s.skipSpace()
		if s.i >= len(s.data) || s.data[s.i] != ':' {
			return ErrInvalidPayload
		}
		s.i++
		s.skipSpace()
		v := s.i
		if err := s.value(); err != nil {
			return err
		}
		if s.ph {
			members++
			switch string(key) {
			case `"_placeholder"`:
				isPH = string(s.data[v:s.i]) == "true"
			case `"num"`:
				num = smallInt(s.data[v:s.i], s.limit)
			}
		}
		more, err := s.sep('}')
		if err != nil {
			return err
		}
		if !more {
			break
		}
	}
	if isPH {
		if members != 2 || num < 0 || num >= s.limit {
			return ErrIllegalAttachments
		}
		s.placeholder(start, s.i, num)
	}
	return nil
}

// placeholder records a well-formed placeholder spanning data[start:end].
func (s *scanner) placeholder(start, end, num int) {
	s.phStart, s.phEnd, s.phNum = start, end, num
	if !s.inline {
		return
	}
	if s.out == nil {
		n := len(s.data)
		for _, a := range s.atts {
			n += base64.StdEncoding.EncodedLen(len(a)) + 2
		}
		s.out = make([]byte, 0, n)
	}
	s.out = append(s.out, s.data[s.last:start]...)
	s.out = append(s.out, '"')
	s.out = base64.StdEncoding.AppendEncode(s.out, s.atts[num])
	s.out = append(s.out, '"')
	s.last = end
}

// smallInt parses a run of decimal digits, returning -1 if b is not one and
// limit if the value is limit or more.
func smallInt(b []byte, limit int) int {
	if len(b) == 0 {
		return -1
	}
	n := 0
	for _, c := range b {
		if !isDigit(c) {
			return -1
		}
		if d := int(c - '0'); n > (limit-d)/10 {
			n = limit // saturate, so that n*10 never overflows
		} else {
			n = n*10 + d
		}
	}
	return min(n, limit)
}
