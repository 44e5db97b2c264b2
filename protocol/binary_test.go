package protocol

import (
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The types below hold an interface field, so that the marshaler walks
// them even when it holds no byte slice: the walk must then write exactly
// what encoding/json writes.

type walkInner struct {
	A   int    `json:"a"`
	B   string `json:"b,omitempty"`
	Dyn any    `json:"dyn,omitempty"`
}

type walkEmbedded struct {
	Promoted string
	Shadowed int `json:"shadowed"`
	Dyn      any `json:"-"`
}

type walkOther struct {
	Promoted string // same name and depth as walkEmbedded's: both hidden
	Only     bool
}

type walkHidden struct {
	Exported int
	Dyn      any
}

type walkTextKey struct{ a, b int }

func (k walkTextKey) MarshalText() ([]byte, error) { return fmt.Appendf(nil, "%d-%d", k.a, k.b), nil }

type walkZeroer struct{ n int }

func (z walkZeroer) IsZero() bool                 { return z.n < 0 }
func (z walkZeroer) MarshalJSON() ([]byte, error) { return fmt.Appendf(nil, "%d", z.n), nil }

type walkPtrMarshaler struct{ n int }

func (z *walkPtrMarshaler) MarshalJSON() ([]byte, error) { return []byte(`"ptr"`), nil }

type walkAll struct {
	walkEmbedded
	walkOther
	*walkInner
	walkHidden `json:"-"`
	hidden     walkHidden
	walkUnexp

	Shadowed   string         `json:"Shadowed"` // a different JSON name from the embedded "shadowed"
	Dash       int            `json:"-,"`
	BadTag     int            `json:"a\"b"`
	HTML       string         `json:"<&>"`
	Empty      string         `json:",omitempty"`
	EmptySlice []int          `json:",omitempty"`
	EmptyMap   map[string]int `json:"em,omitempty"`
	EmptyPtr   *int           `json:"ep,omitempty"`
	ZeroStruct walkInner      `json:"zs,omitzero"`
	ZeroTime   time.Time      `json:"zt,omitzero"`
	Zeroer     walkZeroer     `json:"zz,omitzero"`
	Zeroer2    walkZeroer     `json:"zz2,omitzero"`
	ZeroPtr    *walkZeroer    `json:"zp,omitzero"`
	Both       int            `json:"both,omitempty,omitzero"`
	Quoted     int            `json:"q,string"`
	QuotedS    string         `json:"qs,string"`
	QuotedB    bool           `json:"qb,string"`
	QuotedF    float64        `json:"qf,string"`
	QuotedP    *int           `json:"qp,string"`
	QuotedNil  *int           `json:"qn,string"`
	QuotedM    walkZeroer     `json:"qm,string"`
	Time       time.Time
	Addr       netip.Addr
	Num        json.Number
	Raw        json.RawMessage
	Floats     []float64
	Float32    float32
	Ints       [3]int8
	IntKeys    map[int]walkInner
	UintKeys   map[uint8]string
	TextKeys   map[walkTextKey]int
	Nested     map[string][]*walkInner
	PtrM       walkPtrMarshaler
	PtrMs      []walkPtrMarshaler
	Iface      fmt.Stringer
	Dyn        any
	Dyns       []any
	DynMap     map[string]any
	Deep       **walkInner
	Text       string
}

type walkUnexp struct {
	FromUnexported string `json:"fromUnexported"`
	Dyn            any    `json:"unexpDyn"`
}

func TestWalkMatchesEncodingJSON(t *testing.T) {
	n := 7
	inner := &walkInner{A: 1, Dyn: map[string]any{"x": []any{1, "y"}}}
	v := walkAll{
		walkEmbedded: walkEmbedded{Promoted: "hidden by walkOther", Shadowed: 2},
		walkOther:    walkOther{Only: true},
		walkInner:    &walkInner{A: 3, B: "promoted"},
		hidden:       walkHidden{Exported: 4},
		walkUnexp:    walkUnexp{FromUnexported: "through an unexported embedded struct", Dyn: 1.5},
		Shadowed:     "top",
		Dash:         5,
		BadTag:       6,
		HTML:         "<script>&",
		ZeroTime:     time.Time{},
		Zeroer:       walkZeroer{-1},
		Zeroer2:      walkZeroer{0},
		ZeroPtr:      &walkZeroer{-1},
		Quoted:       8,
		QuotedS:      `say "<hi>"`,
		QuotedB:      true,
		QuotedF:      1e21,
		QuotedP:      &n,
		QuotedM:      walkZeroer{9},
		Time:         time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		Addr:         netip.MustParseAddr("::1"),
		Num:          "12.50",
		Raw:          json.RawMessage(` { "spaced" : [1, 2] } `),
		Floats:       []float64{0, 1e-7, 1e21, math.MaxFloat64, -0.5},
		Float32:      3.14,
		Ints:         [3]int8{-1, 0, 1},
		IntKeys:      map[int]walkInner{-2: {A: 1}, 10: {B: "ten"}, 3: {}},
		UintKeys:     map[uint8]string{255: "max", 0: "zero"},
		TextKeys:     map[walkTextKey]int{{1, 2}: 3, {0, 9}: 1},
		Nested:       map[string][]*walkInner{"b": {inner, nil}, "a": nil, "<": {}},
		PtrMs:        []walkPtrMarshaler{{1}},
		Iface:        netip.MustParseAddr("10.0.0.1"),
		Dyn:          walkInner{A: 9, Dyn: []string{"s"}},
		Dyns:         []any{nil, 1, "two", walkOther{Only: true}, []walkInner{{A: 1}}},
		DynMap:       map[string]any{"z": nil, "a": &walkInner{}},
		Deep:         &inner,
		Text:         "bad \xff utf8 \u2028",
	}
	for _, c := range []any{v, &v, []walkAll{v, {}}, map[string]walkAll{"k": v}, walkAll{}, (*walkAll)(nil), [2]any{v, nil}} {
		// The walk reads from a variable, so pointer methods apply
		// (PtrM): compare with encoding/json given a pointer, and with
		// map values (which it cannot address) given the same.
		p := reflect.New(reflect.TypeOf(c))
		p.Elem().Set(reflect.ValueOf(c))
		want, err := json.Marshal(p.Interface())
		noError(t, err)
		got, atts, err := MarshalArgs([]any{c})
		noError(t, err)
		wantFixed := strings.ReplaceAll(string(want), `"PtrM":{}`, `"PtrM":"ptr"`)
		wantFixed = strings.ReplaceAll(wantFixed, `"PtrMs":[{}]`, `"PtrMs":["ptr"]`)
		if !mayHoldBytes(reflect.TypeOf(c)) {
			t.Fatalf("%T is not walked: the test proves nothing", c)
		}
		equal(t, fmt.Sprintf("%T", c), string(got), "["+wantFixed+"]")
		equal(t, "attachments", len(atts), 0)
	}
}

func TestWalkBinary(t *testing.T) {
	type file struct {
		Name  string   `json:"name"`
		Data  []byte   `json:"data"`
		Thumb *[]byte  `json:"thumb,omitempty"`
		Parts [][]byte `json:"parts"`
		Text  []byte   `json:"text" socketio:"base64"`
		Empty []byte   `json:"empty"`
	}
	type blob []byte
	type tree struct {
		Blob blob    `json:"blob"`
		Kids []*tree `json:"kids,omitempty"`
	}
	thumb := []byte("t")
	f := file{Name: "a", Data: []byte("d"), Thumb: &thumb, Parts: [][]byte{[]byte("p0"), nil, []byte("p2")}, Text: []byte("hi")}
	cases := []struct {
		name string
		v    any
		json string
		atts []string
	}{
		{"struct", f,
			`{"name":"a","data":` + phN(0) + `,"thumb":` + phN(1) + `,"parts":[` + phN(2) + `,null,` + phN(3) + `],"text":"aGk=","empty":null}`,
			[]string{"d", "t", "p0", "p2"}},
		{"pointer", &f, "", []string{"d", "t", "p0", "p2"}},
		{"map", map[string][]byte{"b": []byte("B"), "a": []byte("A")}, `{"a":` + phN(0) + `,"b":` + phN(1) + `}`, []string{"A", "B"}},
		{"slice of structs", []file{{Data: []byte("x")}}, `[{"name":"","data":` + phN(0) + `,"parts":null,"text":null,"empty":null}]`, []string{"x"}},
		{"named byte slice", blob("n"), phN(0), []string{"n"}},
		{"recursive", tree{Blob: blob("r"), Kids: []*tree{{Blob: blob("k")}, nil}}, `{"blob":` + phN(0) + `,"kids":[{"blob":` + phN(1) + `},null]}`, []string{"r", "k"}},
		{"interface field", struct{ V any }{[]byte("i")}, `{"V":` + phN(0) + `}`, []string{"i"}},
		{"pointer to byte slice", &thumb, phN(0), []string{"t"}},
		{"raw message is JSON", struct{ R json.RawMessage }{json.RawMessage(`[1]`)}, `{"R":[1]}`, nil},
		{"array of bytes is an array", [2]byte{1, 2}, `[1,2]`, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data, atts, err := MarshalArgs([]any{"ev", c.v})
			noError(t, err)
			if c.json != "" {
				equal(t, "json", string(data), `["ev",`+c.json+`]`)
			}
			var got []string
			for _, a := range atts {
				got = append(got, string(a))
			}
			equal(t, "attachments", strings.Join(got, ","), strings.Join(c.atts, ","))
			// What is sent decodes back into the same Go value.
			args, err := ArgsFromArray(data, atts)
			noError(t, err)
			back := reflect.New(reflect.TypeOf(c.v))
			noError(t, args.Decode(1, back.Interface()))
			want, _ := json.Marshal(c.v)
			have, _ := json.Marshal(back.Elem().Interface())
			equal(t, "round trip", string(have), string(want))
		})
	}
}

func TestWalkErrors(t *testing.T) {
	type cyclic struct {
		B    []byte
		Next *cyclic
	}
	c := &cyclic{}
	c.Next = c
	type badKey struct {
		M map[[2]int][]byte
	}
	type badLeaf struct {
		B []byte
		F float64
	}
	for _, v := range []any{c, badKey{M: map[[2]int][]byte{{1, 2}: nil}}, badLeaf{F: math.NaN()}, struct {
		B []byte
		C chan int
	}{C: make(chan int)}} {
		if _, _, err := MarshalArgs([]any{v}); err == nil {
			t.Errorf("%T: no error", v)
		}
	}
}

func TestWalkAllocs(t *testing.T) {
	type msg struct {
		Room string `json:"room"`
		Text string `json:"text"`
	}
	// A struct without byte slices costs what json.Marshal costs.
	want := testing.AllocsPerRun(100, func() { _, _ = json.Marshal(msg{"r", "t"}) })
	buf := make([]byte, 0, 256)
	got := testing.AllocsPerRun(100, func() { buf, _, _ = AppendMarshalArgs(buf[:0], nil, []any{msg{"r", "t"}}) })
	if got > want+1 { // +1: boxing the argument
		t.Errorf("%v allocations, json.Marshal makes %v", got, want)
	}
}

func phN(n int) string { return fmt.Sprintf(`{"_placeholder":true,"num":%d}`, n) }

// Args.Decode gives a binary attachment received in an interface as a
// []byte, as a Node Buffer arrives, not as its base64 text.
func TestDecodeBinaryIntoInterfaces(t *testing.T) {
	type holder struct {
		Name  string         `json:"name"`
		Any   any            `json:"any"`
		Map   map[string]any `json:"map"`
		List  []any          `json:"list"`
		Typed []byte         `json:"typed"`
		Deep  *struct {
			V any `json:"v"`
		} `json:"deep"`
	}
	data, atts, err := MarshalArgs([]any{
		map[string]any{
			"NAME":  "n", // encoding/json matches names without case
			"any":   []byte("a"),
			"map":   map[string]any{"b": []byte("b"), "n": 1},
			"list":  []any{[]byte("c"), "text"},
			"typed": []byte("d"),
			"deep":  map[string]any{"v": map[string]any{"e": []byte("e")}},
		},
		[]byte("top"),
	})
	noError(t, err)
	args, err := ArgsFromArray(data, atts)
	noError(t, err)
	var h holder
	noError(t, args.Decode(0, &h))
	equal(t, "name", h.Name, "n")
	equal(t, "any", fmt.Sprintf("%q", h.Any), `"a"`)
	if _, ok := h.Any.([]byte); !ok {
		t.Errorf("any holds a %T", h.Any)
	}
	equal(t, "map", fmt.Sprintf("%v", h.Map), "map[b:[98] n:1]")
	equal(t, "list", fmt.Sprintf("%v", h.List), "[[99] text]")
	equal(t, "typed", string(h.Typed), "d")
	equal(t, "deep", fmt.Sprintf("%v", h.Deep.V), "map[e:[101]]")
	var top any
	noError(t, args.Decode(1, &top))
	equal(t, "top level", fmt.Sprintf("%T %s", top, top), "[]uint8 top")
	// Without attachments nothing is walked: base64 text stays text.
	plain, err := ArgsFromArray([]byte(`[{"any":"YQ=="}]`), nil)
	noError(t, err)
	var p holder
	noError(t, plain.Decode(0, &p))
	equal(t, "text stays text", p.Any, any("YQ=="))
}
