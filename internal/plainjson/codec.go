// Package plainjson encodes and decodes plain Go types (booleans,
// numbers, strings, and structs of them) without encoding/json and
// exactly as encoding/json does, for the hot path of typed handlers: a
// struct argument decodes in a fraction of json.Unmarshal's time. A type
// is plain when it and its fields have no marshaling methods, its structs
// embed nothing and their tags use no option but omitempty. Decode takes
// only what it understands (no escapes in strings, numbers that fit) and
// reports false otherwise, for the caller to use encoding/json, which
// then gives the same value or the error it always gives.
package plainjson

import (
	"encoding"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
	"unsafe"
)

type kind uint8

const (
	kBool kind = iota
	kInt
	kUint
	kFloat
	kString
	kStruct
)

// Codec encodes and decodes the values of one plain type.
type Codec struct {
	kind   kind
	bits   int // kInt, kUint, kFloat
	fields []field
}

type field struct {
	name      string // the JSON name
	prefix    []byte // `"name":`, escaped as encoding/json writes it
	offset    uintptr
	c         *Codec
	omitEmpty bool
}

var (
	codecs sync.Map // reflect.Type → *Codec, nil when not plain

	numberType = reflect.TypeFor[json.Number]() // a string that encoding/json writes as a number

	marshalers = []reflect.Type{
		reflect.TypeFor[json.Marshaler](), reflect.TypeFor[json.Unmarshaler](),
		reflect.TypeFor[encoding.TextMarshaler](), reflect.TypeFor[encoding.TextUnmarshaler](),
	}
)

// For returns the codec of t, or nil when t is not plain.
func For(t reflect.Type) *Codec {
	if c, ok := codecs.Load(t); ok {
		return c.(*Codec)
	}
	c := build(t, 0)
	codecs.Store(t, c)
	return c
}

func hasMethods(t reflect.Type) bool {
	for _, m := range marshalers {
		if t.Implements(m) || reflect.PointerTo(t).Implements(m) {
			return true
		}
	}
	return false
}

// maxNesting bounds the structs in structs of a plain type.
const maxNesting = 16

func build(t reflect.Type, depth int) *Codec {
	if depth > maxNesting || hasMethods(t) || t == numberType {
		return nil
	}
	switch t.Kind() {
	case reflect.Bool:
		return &Codec{kind: kBool}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return &Codec{kind: kInt, bits: t.Bits()}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &Codec{kind: kUint, bits: t.Bits()}
	case reflect.Float32, reflect.Float64:
		return &Codec{kind: kFloat, bits: t.Bits()}
	case reflect.String:
		return &Codec{kind: kString}
	case reflect.Struct:
	default:
		return nil
	}
	c := &Codec{kind: kStruct}
	names := map[string]bool{}
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous {
			return nil // promoted fields: leave them to encoding/json
		}
		if !sf.IsExported() {
			continue // ignored by encoding/json
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if opts != "" && opts != "omitempty" {
			return nil // string, omitzero, …
		}
		if !ValidTag(name) {
			name = sf.Name
		}
		// Two fields of one name hide each other (or the tagged one
		// wins): leave that to encoding/json. So do names that fold to
		// the same, since decoding matches keys without case.
		folded := strings.ToLower(name)
		if names[folded] || !isASCII(name) {
			return nil
		}
		names[folded] = true
		fc := build(sf.Type, depth+1)
		if fc == nil {
			return nil
		}
		f := field{name: name, offset: sf.Offset, c: fc, omitEmpty: opts == "omitempty"}
		f.prefix = append(AppendString(nil, name), ':')
		c.fields = append(c.fields, f)
	}
	return c
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// ValidTag is encoding/json's test for a usable name in a json tag.
func ValidTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// Decode decodes data, one valid JSON value, into the value of the
// codec's type at p, and reports whether it could. When it reports
// false, *p may be half written: reset it and use encoding/json.
func (c *Codec) Decode(p unsafe.Pointer, data []byte) bool {
	i, ok := c.decode(p, data, 0)
	if !ok {
		return false
	}
	return skipSpace(data, i) == len(data)
}

func (c *Codec) decode(p unsafe.Pointer, d []byte, i int) (int, bool) {
	i = skipSpace(d, i)
	if i >= len(d) {
		return i, false
	}
	if d[i] == 'n' { // null leaves the value unchanged, as in encoding/json
		if len(d)-i >= 4 && string(d[i:i+4]) == "null" {
			return i + 4, true
		}
		return i, false
	}
	switch c.kind {
	case kString:
		s, j, ok := plainString(d, i)
		if ok {
			*(*string)(p) = s
		}
		return j, ok
	case kBool:
		switch {
		case len(d)-i >= 4 && string(d[i:i+4]) == "true":
			*(*bool)(p) = true
			return i + 4, true
		case len(d)-i >= 5 && string(d[i:i+5]) == "false":
			*(*bool)(p) = false
			return i + 5, true
		}
		return i, false
	case kInt, kUint, kFloat:
		return c.decodeNumber(p, d, i)
	}
	return c.decodeStruct(p, d, i)
}

// plainString returns the string at d[i], a JSON string without escapes
// in valid UTF-8, and the index after it.
func plainString(d []byte, i int) (string, int, bool) {
	if d[i] != '"' {
		return "", i, false
	}
	j := i + 1
	for j < len(d) && d[j] != '"' && d[j] != '\\' {
		j++
	}
	if j >= len(d) || d[j] != '"' || !utf8.Valid(d[i+1:j]) {
		return "", i, false
	}
	return string(d[i+1 : j]), j + 1, true
}

func (c *Codec) decodeNumber(p unsafe.Pointer, d []byte, i int) (int, bool) {
	j := i
	for j < len(d) && (d[j] == '-' || d[j] == '+' || d[j] == '.' || d[j] == 'e' || d[j] == 'E' || (d[j] >= '0' && d[j] <= '9')) {
		j++
	}
	num := d[i:j]
	if len(num) == 0 {
		return i, false
	}
	switch c.kind {
	case kFloat:
		f, err := strconv.ParseFloat(unsafe.String(&num[0], len(num)), c.bits)
		if err != nil {
			return i, false
		}
		if c.bits == 32 {
			*(*float32)(p) = float32(f)
		} else {
			*(*float64)(p) = f
		}
		return j, true
	case kInt:
		neg := num[0] == '-'
		digits := num
		if neg {
			digits = num[1:]
		}
		u, ok := parseUint(digits)
		if !ok {
			return i, false
		}
		limit := uint64(1) << (c.bits - 1) // -limit is the smallest value
		var v int64
		switch {
		case neg && u <= limit:
			v = -int64(u-1) - 1 // -u, without overflowing at -limit
		case !neg && u < limit:
			v = int64(u)
		default:
			return i, false
		}
		c.store(p, uint64(v))
		return j, true
	default: // kUint
		u, ok := parseUint(num)
		if !ok || (c.bits < 64 && u >= uint64(1)<<c.bits) {
			return i, false
		}
		c.store(p, u)
		return j, true
	}
}

// parseUint parses decimal digits, without sign, fraction nor exponent.
func parseUint(d []byte) (uint64, bool) {
	if len(d) == 0 || len(d) > 20 {
		return 0, false
	}
	var u uint64
	for _, c := range d {
		if c < '0' || c > '9' {
			return 0, false
		}
		n := u*10 + uint64(c-'0')
		if u > math.MaxUint64/10 || n < u*10 {
			return 0, false
		}
		u = n
	}
	return u, true
}

func (c *Codec) decodeStruct(p unsafe.Pointer, d []byte, i int) (int, bool) {
	if d[i] != '{' {
		return i, false
	}
	i = skipSpace(d, i+1)
	if i < len(d) && d[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(d) {
			return i, false
		}
		key, j, ok := keyAt(d, i)
		if !ok {
			return i, false
		}
		j = skipSpace(d, j)
		if j >= len(d) || d[j] != ':' {
			return i, false
		}
		i = j + 1
		if f := c.field(key); f != nil {
			if i, ok = f.c.decode(unsafe.Add(p, f.offset), d, i); !ok {
				return i, false
			}
		} else if i, ok = skipValue(d, i); !ok {
			return i, false
		}
		i = skipSpace(d, i)
		if i >= len(d) {
			return i, false
		}
		switch d[i] {
		case ',':
			i = skipSpace(d, i+1)
		case '}':
			return i + 1, true
		default:
			return i, false
		}
	}
}

// keyAt returns the object key at d[i], an ASCII string without escapes.
func keyAt(d []byte, i int) ([]byte, int, bool) {
	if d[i] != '"' {
		return nil, i, false
	}
	j := i + 1
	for j < len(d) && d[j] != '"' {
		if d[j] == '\\' || d[j] >= utf8.RuneSelf {
			return nil, i, false // encoding/json unescapes and folds these
		}
		j++
	}
	if j >= len(d) {
		return nil, i, false
	}
	return d[i+1 : j], j + 1, true
}

// field returns the field a key names: the one of that name, else the
// first whose name matches without case, as encoding/json does.
func (c *Codec) field(key []byte) *field {
	for i := range c.fields {
		if c.fields[i].name == string(key) {
			return &c.fields[i]
		}
	}
	for i := range c.fields {
		if equalFoldASCII(c.fields[i].name, key) {
			return &c.fields[i]
		}
	}
	return nil
}

func equalFoldASCII(s string, b []byte) bool {
	if len(s) != len(b) {
		return false
	}
	for i := range len(s) {
		x, y := s[i], b[i]
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		if 'a' <= y && y <= 'z' {
			y -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func skipSpace(d []byte, i int) int {
	for i < len(d) && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the index after the value at d[i], which the packet
// decoder has validated.
func skipValue(d []byte, i int) (int, bool) {
	i = skipSpace(d, i)
	if i >= len(d) {
		return i, false
	}
	switch d[i] {
	case '"':
		return skipString(d, i)
	case '{', '[':
		depth := 0
		for i < len(d) {
			switch d[i] {
			case '"':
				j, ok := skipString(d, i)
				if !ok {
					return i, false
				}
				i = j
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, true
				}
			}
			i++
		}
		return i, false
	}
	j := i // a number or a literal
	for j < len(d) && !isEnd(d[j]) {
		j++
	}
	return j, j > i
}

func skipString(d []byte, i int) (int, bool) {
	for j := i + 1; j < len(d); {
		switch d[j] {
		case '\\':
			j += 2
		case '"':
			return j + 1, true
		default:
			j++
		}
	}
	return len(d), false
}

func isEnd(c byte) bool {
	return c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// Append writes the value of the codec's type at p as encoding/json
// does. It fails only for a NaN or infinite float, with encoding/json's
// error.
func (c *Codec) Append(dst []byte, p unsafe.Pointer) ([]byte, error) {
	switch c.kind {
	case kString:
		return AppendString(dst, *(*string)(p)), nil
	case kBool:
		return strconv.AppendBool(dst, *(*bool)(p)), nil
	case kInt:
		return strconv.AppendInt(dst, c.int(p), 10), nil
	case kUint:
		return strconv.AppendUint(dst, c.uint(p), 10), nil
	case kFloat:
		if c.bits == 32 {
			return AppendFloat(dst, float64(*(*float32)(p)), 32)
		}
		return AppendFloat(dst, *(*float64)(p), 64)
	}
	dst = append(dst, '{')
	n := len(dst)
	for i := range c.fields {
		f := &c.fields[i]
		fp := unsafe.Add(p, f.offset)
		if f.omitEmpty && f.c.empty(fp) {
			continue
		}
		if len(dst) > n {
			dst = append(dst, ',')
		}
		dst = append(dst, f.prefix...)
		var err error
		if dst, err = f.c.Append(dst, fp); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// load reads the integer of c.bits bits at p, zero-extended.
func (c *Codec) load(p unsafe.Pointer) uint64 {
	switch c.bits {
	case 8:
		return uint64(*(*uint8)(p))
	case 16:
		return uint64(*(*uint16)(p))
	case 32:
		return uint64(*(*uint32)(p))
	}
	return *(*uint64)(p)
}

// store writes the low c.bits bits of u at p.
func (c *Codec) store(p unsafe.Pointer, u uint64) {
	switch c.bits {
	case 8:
		*(*uint8)(p) = uint8(u)
	case 16:
		*(*uint16)(p) = uint16(u)
	case 32:
		*(*uint32)(p) = uint32(u)
	default:
		*(*uint64)(p) = u
	}
}

func (c *Codec) int(p unsafe.Pointer) int64 {
	shift := 64 - c.bits
	return int64(c.load(p)<<shift) >> shift // sign-extended
}

func (c *Codec) uint(p unsafe.Pointer) uint64 { return c.load(p) }

// empty is encoding/json's omitempty test; a struct is never empty.
func (c *Codec) empty(p unsafe.Pointer) bool {
	switch c.kind {
	case kString:
		return *(*string)(p) == ""
	case kBool:
		return !*(*bool)(p)
	case kInt:
		return c.int(p) == 0
	case kUint:
		return c.uint(p) == 0
	case kFloat:
		if c.bits == 32 {
			return *(*float32)(p) == 0
		}
		return *(*float64)(p) == 0
	}
	return false
}
