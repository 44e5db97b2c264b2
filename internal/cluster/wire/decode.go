package wire

import (
	"encoding/binary"
	"math"
	"strconv"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// valueDecoder reads msgpack values as JSON text with placeholders for
// binary values, as socket.io-parser would write them for a client.
type valueDecoder struct {
	dec  *msgpack.Decoder
	out  []byte
	atts [][]byte
}

// decodeValue decodes the next value as JSON, with the binary values it
// holds as attachments.
func decodeValue(dec *msgpack.Decoder) ([]byte, [][]byte, error) {
	d := valueDecoder{dec: dec}
	err := d.decode()
	return d.out, d.atts, err
}

// decodeTruthy decodes a scalar as JavaScript's truthiness would read it.
func decodeTruthy(dec *msgpack.Decoder) (bool, error) {
	v, err := decodeScalar(dec)
	return truthy(v), err
}

// decodeCount decodes a number as a count (0 when not a number).
func decodeCount(dec *msgpack.Decoder) (int, error) {
	v, err := decodeScalar(dec)
	f, _ := number(v)
	return int(f), err
}

// decode appends the next value as JSON. A JavaScript undefined (notepack's
// fixext 1 of type 0) is written as null.
func (d *valueDecoder) decode() error {
	undef, err := d.value(0)
	if undef {
		d.out = append(d.out, "null"...)
	}
	return err
}

// value appends the next value; it reports undefined instead of writing it.
func (d *valueDecoder) value(depth int) (undefined bool, err error) {
	if depth > maxDepth {
		return false, errDepth
	}
	c, err := d.dec.PeekCode()
	if err != nil {
		return false, err
	}
	switch {
	case c == msgpcode.Nil:
		err = d.dec.DecodeNil()
		d.out = append(d.out, "null"...)
	case c == msgpcode.True || c == msgpcode.False:
		var b bool
		b, err = d.dec.DecodeBool()
		d.out = strconv.AppendBool(d.out, b)
	case msgpcode.IsFixedNum(c) || c == msgpcode.Int8 || c == msgpcode.Int16 ||
		c == msgpcode.Int32 || c == msgpcode.Int64 || c == msgpcode.Uint8 ||
		c == msgpcode.Uint16 || c == msgpcode.Uint32:
		var n int64
		n, err = d.dec.DecodeInt64()
		d.out = strconv.AppendInt(d.out, n, 10)
	case c == msgpcode.Uint64:
		var n uint64
		n, err = d.dec.DecodeUint64()
		d.out = strconv.AppendUint(d.out, n, 10)
	case c == msgpcode.Float:
		var f float32
		f, err = d.dec.DecodeFloat32()
		d.out = AppendNumber(d.out, float64(f))
	case c == msgpcode.Double:
		var f float64
		f, err = d.dec.DecodeFloat64()
		d.out = AppendNumber(d.out, f)
	case msgpcode.IsString(c):
		var s string
		s, err = d.dec.DecodeString()
		d.out = AppendString(d.out, s)
	case msgpcode.IsBin(c):
		var b []byte
		b, err = decodeBin(d.dec)
		d.placeholder(b)
	case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
		err = d.array(depth)
	case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
		err = d.object(depth)
	case msgpcode.IsExt(c) || msgpcode.IsFixedExt(c):
		return d.ext()
	default:
		err = errUnexpected
	}
	return false, err
}

func (d *valueDecoder) placeholder(b []byte) {
	d.out = append(d.out, `{"_placeholder":true,"num":`...)
	d.out = strconv.AppendInt(d.out, int64(len(d.atts)), 10)
	d.out = append(d.out, '}')
	d.atts = append(d.atts, nonNil(b))
}

func (d *valueDecoder) array(depth int) error {
	n, err := d.dec.DecodeArrayLen()
	if err != nil {
		return err
	}
	d.out = append(d.out, '[')
	for i := range n {
		if i > 0 {
			d.out = append(d.out, ',')
		}
		undef, err := d.value(depth + 1)
		if err != nil {
			return err
		}
		if undef {
			d.out = append(d.out, "null"...)
		}
	}
	d.out = append(d.out, ']')
	return nil
}

func (d *valueDecoder) object(depth int) error {
	n, err := d.dec.DecodeMapLen()
	if err != nil {
		return err
	}
	d.out = append(d.out, '{')
	written := 0
	for range n {
		mark := len(d.out)
		if written > 0 {
			d.out = append(d.out, ',')
		}
		if err := d.key(); err != nil {
			return err
		}
		d.out = append(d.out, ':')
		undef, err := d.value(depth + 1)
		if err != nil {
			return err
		}
		if undef { // JSON.stringify leaves out undefined members
			d.out = d.out[:mark]
			continue
		}
		written++
	}
	d.out = append(d.out, '}')
	return nil
}

// key writes a map key as a JSON string; JavaScript converts numbers,
// booleans and null keys to their text.
func (d *valueDecoder) key() error {
	c, err := d.dec.PeekCode()
	if err != nil {
		return err
	}
	if msgpcode.IsString(c) {
		s, err := d.dec.DecodeString()
		d.out = AppendString(d.out, s)
		return err
	}
	start := len(d.out)
	switch {
	case c == msgpcode.Nil || c == msgpcode.True || c == msgpcode.False ||
		msgpcode.IsFixedNum(c) || (c >= msgpcode.Float && c <= msgpcode.Int64):
		if _, err := d.value(0); err != nil {
			return err
		}
	default:
		return errMapKey
	}
	key := string(d.out[start:])
	d.out = AppendString(d.out[:start], key)
	return nil
}

// ext decodes notepack's extensions: timestamps (Dates, written as
// JSON.stringify writes them), type 0 (an ArrayBuffer, or undefined in a
// fixext 1), and any other as [type, binary].
func (d *valueDecoder) ext() (undefined bool, err error) {
	c, err := d.dec.PeekCode()
	if err != nil {
		return false, err
	}
	id, n, err := d.dec.DecodeExtHeader()
	if err != nil {
		return false, err
	}
	body, err := readN(d.dec, n)
	if err != nil {
		return false, err
	}
	switch {
	case id == 0 && c == msgpcode.FixExt1:
		return true, nil
	case id == 0 && c == msgpcode.FixExt8:
		// notepack's former Date encoding: milliseconds as int64
		ms := int64(binary.BigEndian.Uint64(body))
		d.out = appendDate(d.out, float64(ms))
		return false, nil
	case id == 0:
		d.placeholder(body)
		return false, nil
	case id == -1 && (n == 4 || n == 8 || n == 12):
		d.out = appendDate(d.out, timestampMillis(body))
		return false, nil
	}
	d.out = append(d.out, '[')
	d.out = strconv.AppendInt(d.out, int64(id), 10)
	d.out = append(d.out, ',')
	d.placeholder(body)
	d.out = append(d.out, ']')
	return false, nil
}

// timestampMillis decodes a msgpack timestamp as notepack does, into
// milliseconds (fractions kept).
func timestampMillis(b []byte) float64 {
	switch len(b) {
	case 4:
		return float64(binary.BigEndian.Uint32(b)) * 1e3
	case 8:
		hi := binary.BigEndian.Uint32(b)
		lo := binary.BigEndian.Uint32(b[4:])
		s := float64(hi&3)*0x100000000 + float64(lo)
		return s*1e3 + float64(hi>>2)/1e6
	}
	ns := binary.BigEndian.Uint32(b)
	s := int64(binary.BigEndian.Uint64(b[4:]))
	return float64(s)*1e3 + float64(ns)/1e6
}

// maxDate is the largest time value of a JavaScript Date, in milliseconds.
const maxDate = 8.64e15

// appendDate writes a JavaScript Date as JSON.stringify does: its
// toISOString(), or null when invalid.
func appendDate(dst []byte, ms float64) []byte {
	ms = math.Trunc(ms)
	if math.IsNaN(ms) || math.Abs(ms) > maxDate {
		return append(dst, "null"...)
	}
	t := time.UnixMilli(int64(ms)).UTC()
	dst = append(dst, '"')
	switch y := t.Year(); {
	case y < 0 || y > 9999:
		sign := byte('+')
		if y < 0 {
			sign, y = '-', -y
		}
		dst = append(dst, sign)
		dst = appendPadded(dst, y, 6)
	default:
		dst = appendPadded(dst, y, 4)
	}
	dst = t.AppendFormat(dst, "-01-02T15:04:05.000Z")
	return append(dst, '"')
}

func appendPadded(dst []byte, n, width int) []byte {
	s := strconv.Itoa(n)
	for i := len(s); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

// decodeBin decodes a bin value. The library's DecodeBytes allocates the
// length the value declares before reading it, which a forged 4-byte
// length turns into gigabytes.
func decodeBin(dec *msgpack.Decoder) ([]byte, error) {
	n, err := dec.DecodeBytesLen()
	if err != nil || n == -1 {
		return nil, err
	}
	return readN(dec, n)
}

// readN reads n bytes, growing the buffer as the data arrives so that a
// forged length cannot make it allocate more than the message holds.
func readN(dec *msgpack.Decoder, n int) ([]byte, error) {
	const chunk = 64 << 10
	if n < 0 {
		return nil, errUnexpected
	}
	buf := make([]byte, 0, min(n, chunk))
	for len(buf) < n {
		k := min(n-len(buf), chunk)
		buf = append(buf, make([]byte, k)...)
		if err := dec.ReadFull(buf[len(buf)-k:]); err != nil {
			return nil, err
		}
	}
	return buf, nil
}
