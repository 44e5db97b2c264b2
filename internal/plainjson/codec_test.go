package plainjson

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"
	"unsafe"
)

type namedStr string

type inner struct {
	A string `json:"a"`
	N int64
}

type plain struct {
	S     string  `json:"s"`
	I     int     `json:"i,omitempty"`
	I8    int8    `json:"i8"`
	I16   int16   `json:"i16"`
	I32   int32   `json:"i32"`
	U     uint    `json:"u,omitempty"`
	U8    uint8   `json:"u8"`
	U16   uint16  `json:"u16"`
	U32   uint32  `json:"u32"`
	U64   uint64  `json:"u64"`
	F     float64 `json:"f"`
	F32   float32 `json:"F32,omitempty"`
	B     bool    `json:"b,omitempty"`
	In    inner   `json:"in"`
	Named namedStr
	Odd   string `json:"a\"b"` // an invalid tag name: the field's name
	Dash  string `json:"-"`
	skip  int
}

func TestFor(t *testing.T) {
	type embedded struct{ inner }
	type stringOpt struct {
		N int `json:",string"`
	}
	type dup struct {
		A string `json:"x"`
		B string `json:"X"`
	}
	type withTime struct{ T time.Time }
	type withSlice struct{ L []string }
	for _, typ := range []reflect.Type{
		reflect.TypeFor[embedded](), reflect.TypeFor[stringOpt](), reflect.TypeFor[dup](),
		reflect.TypeFor[withTime](), reflect.TypeFor[withSlice](), reflect.TypeFor[*plain](),
		reflect.TypeFor[json.Number](), reflect.TypeFor[any](), reflect.TypeFor[map[string]int](),
	} {
		if For(typ) != nil {
			t.Errorf("%v is plain", typ)
		}
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[plain](), reflect.TypeFor[string](), reflect.TypeFor[float32](), reflect.TypeFor[struct{}]()} {
		if For(typ) == nil {
			t.Errorf("%v is not plain", typ)
		}
	}
}

// decodeBoth decodes data with the codec and with encoding/json: when the
// codec takes it, both must give the same value without error.
func decodeBoth[T any](t testing.TB, data []byte) (taken bool) {
	t.Helper()
	if !json.Valid(data) {
		return false // the packet decoder lets only valid JSON through
	}
	c := For(reflect.TypeFor[T]())
	var fast, slow T
	if !c.Decode(unsafe.Pointer(&fast), data) {
		return false
	}
	if err := json.Unmarshal(data, &slow); err != nil {
		t.Fatalf("%s: taken by the codec as %+v, refused by encoding/json: %v", data, fast, err)
	}
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("%s: codec %+v, encoding/json %+v", data, fast, slow)
	}
	return true
}

func appendBoth[T any](t testing.TB, v T) {
	t.Helper()
	want, err := json.Marshal(v)
	got, err2 := For(reflect.TypeFor[T]()).Append(nil, unsafe.Pointer(&v))
	if (err == nil) != (err2 == nil) || err == nil && string(got) != string(want) {
		t.Fatalf("%+v: codec %s (%v), encoding/json %s (%v)", v, got, err2, want, err)
	}
}

var seeds = []string{
	`{"s":"hello","i":-42,"i8":-128,"i16":32767,"i32":-2147483648,"u":1,"u8":255,"u16":65535,"u32":4294967295,"u64":18446744073709551615,"f":1.5e300,"F32":3.4e38,"b":true,"in":{"a":"x","N":-9223372036854775808},"Named":"n","a\"b":"odd","-":"dash","skip":1}`,
	` { "S" : "case" , "IN" : { "A" : "folded" } , "unknown" : [1, {"x": "}"}, "\"]"] , "f" : -0 } `,
	`{"s":null,"i":null,"in":null}`, `null`, `{}`, `{"i8":128}`, `{"u8":-1}`, `{"i":1.0}`, `{"i":1e2}`,
	`{"f":1e400}`, `{"s":"esc\n"}`, `{"s":"\u00e9"}`, `{"s":"é"}`, `{"ſ":"long s"}`, `{"s":1}`, `{"in":[]}`,
	`{"b":"true"}`, `{"u64":18446744073709551616}`, `{"i":-9223372036854775809}`, `[]`, `"s"`, `{"s":"a","s":"b"}`,
}

func TestDecodeMatchesEncodingJSON(t *testing.T) {
	taken := 0
	for _, s := range seeds {
		if decodeBoth[plain](t, []byte(s)) {
			taken++
		}
	}
	if taken < 5 {
		t.Errorf("the codec took only %d inputs", taken)
	}
	for _, s := range []string{`"x"`, `12`, `-1`, `true`, `1.5`, `null`, `"\u0041"`} {
		decodeBoth[string](t, []byte(s))
		decodeBoth[int16](t, []byte(s))
		decodeBoth[uint8](t, []byte(s))
		decodeBoth[float32](t, []byte(s))
		decodeBoth[bool](t, []byte(s))
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if decodeBoth[plain](t, []byte(s)) {
			var v plain
			_ = json.Unmarshal([]byte(s), &v)
			appendBoth(t, v)
		}
		decodeBoth[inner](t, []byte(s))
		decodeBoth[int32](t, []byte(s))
		decodeBoth[float64](t, []byte(s))
	})
}

func TestAppendMatchesEncodingJSON(t *testing.T) {
	appendBoth(t, plain{})
	appendBoth(t, plain{S: "<b>&\"\\\n\u2028\xff", I: -1, I8: math.MinInt8, U64: math.MaxUint64, F: 1e21, F32: 1e-7,
		B: true, In: inner{A: "x", N: math.MinInt64}, Named: "n", Odd: "o", Dash: "d", skip: 3})
	appendBoth(t, plain{F: 1e-7, F32: float32(math.Nextafter32(1e21, 0))})
	appendBoth(t, plain{F: math.NaN()})
	appendBoth(t, "str")
	appendBoth(t, float32(0.1))
}

func TestCodecAllocs(t *testing.T) {
	c := For(reflect.TypeFor[inner]())
	data := []byte(`{"a":"text","N":7}`)
	var v inner
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { c.Decode(unsafe.Pointer(&v), data) }); n > 1 {
		t.Errorf("Decode: %v allocations, want the string's", n)
	}
	if n := testing.AllocsPerRun(100, func() { buf, _ = c.Append(buf[:0], unsafe.Pointer(&v)) }); n != 0 {
		t.Errorf("Append: %v allocations", n)
	}
}
