package protocol

import (
	"cmp"
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/sio-go/socketio/internal/plainjson"
)

// This file finds byte slices inside values of any type, so that they travel
// as binary attachments wherever they are, as Node sends a Buffer: in struct
// fields, map values, slice and array elements, behind pointers and
// interfaces. A type that cannot hold a byte slice is written by
// encoding/json in one call, exactly as json.Marshal writes it; only the
// types that can are walked here, with encoding/json's rules for field
// names, tags and map keys.

// BinaryTag is the struct tag key that opts a field out of attachments: a
// field tagged `socketio:"base64"` is written by encoding/json as it is, its
// byte slices as base64 strings. Receiving into such a field accepts both
// forms.
const BinaryTag = "socketio"

var (
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	isZeroerType      = reflect.TypeFor[interface{ IsZero() bool }]()
)

type walkKind uint8

const (
	walkJSON   walkKind = iota // no byte slice inside: encoding/json writes it
	walkBytes                  // a byte slice: an attachment
	walkIface                  // an interface: depends on the dynamic value
	walkPtr                    // a pointer to a walked type
	walkSlice                  // a slice of a walked type
	walkArray                  // an array of a walked type
	walkMap                    // a map with walked values
	walkStruct                 // a struct with walked fields
)

// walker writes the values of one type.
type walker struct {
	kind   walkKind
	typ    reflect.Type
	elem   *walker // walkPtr, walkSlice, walkArray, walkMap
	fields []walkField
	plain  *plainjson.Codec // a walkJSON type that plainjson writes

	ifaceOnce sync.Once
	iface     bool // see holdsIface
}

// walkField is one JSON field of a walked struct.
type walkField struct {
	key      string // the JSON name
	name     []byte // `"name":`, escaped as encoding/json writes it
	index    []int
	w        *walker
	omitZero func(reflect.Value) bool // nil: not omitted
	quoted   bool                     // the ",string" option applies
}

var (
	walkers   sync.Map // reflect.Type → *walker
	walkersMu sync.Mutex
)

// walkerFor returns the walker of t, building it and the walkers of the
// types t holds on first use.
func walkerFor(t reflect.Type) *walker {
	if w, ok := walkers.Load(t); ok {
		return w.(*walker)
	}
	walkersMu.Lock()
	defer walkersMu.Unlock()
	if w, ok := walkers.Load(t); ok {
		return w.(*walker)
	}
	building := map[reflect.Type]*walker{}
	w := build(t, building)
	for t, w := range building {
		walkers.Store(t, w)
	}
	return w
}

// build makes the walker of t. Walkers under construction are in building,
// so that a recursive type refers to its own walker.
func build(t reflect.Type, building map[reflect.Type]*walker) *walker {
	if w, ok := building[t]; ok {
		return w
	}
	if w, ok := walkers.Load(t); ok {
		return w.(*walker)
	}
	w := &walker{typ: t}
	building[t] = w
	if !mayHoldBytes(t) {
		// Not for a struct of a pointer's size: it may be stored in an
		// interface's data word itself (see appendWalked).
		if t.Kind() == reflect.Struct && t.Size() != unsafe.Sizeof(uintptr(0)) {
			w.plain = plainjson.For(t)
		}
		return w // walkJSON
	}
	switch t.Kind() {
	case reflect.Slice:
		if isByteSlice(t) {
			w.kind = walkBytes
			return w
		}
		w.kind, w.elem = walkSlice, build(t.Elem(), building)
	case reflect.Array:
		w.kind, w.elem = walkArray, build(t.Elem(), building)
	case reflect.Pointer:
		w.kind, w.elem = walkPtr, build(t.Elem(), building)
	case reflect.Interface:
		w.kind = walkIface
	case reflect.Map:
		w.kind, w.elem = walkMap, build(t.Elem(), building)
	case reflect.Struct:
		w.kind = walkStruct
		for _, f := range structFields(t) {
			ft := t.FieldByIndex(f.index).Type
			wf := walkField{key: f.name, index: f.index, quoted: f.quoted}
			if f.base64 {
				wf.w = &walker{typ: ft} // written by encoding/json
			} else {
				wf.w = build(ft, building)
			}
			wf.name = appendString(nil, f.name)
			wf.name = append(wf.name, ':')
			if f.omitEmpty {
				wf.omitZero = isEmptyValue
			}
			if f.omitZero {
				wf.omitZero = zeroFunc(ft, wf.omitZero)
			}
			w.fields = append(w.fields, wf)
		}
	}
	return w
}

// isMarshaler reports whether encoding/json writes values of t with a
// MarshalJSON or MarshalText method (of the value or of its pointer).
func isMarshaler(t reflect.Type) bool {
	if t.Implements(jsonMarshalerType) || t.Implements(textMarshalerType) {
		return true
	}
	if t.Kind() != reflect.Pointer {
		p := reflect.PointerTo(t)
		return p.Implements(jsonMarshalerType) || p.Implements(textMarshalerType)
	}
	return false
}

// isByteSlice reports whether t is a slice encoding/json writes as base64:
// a slice of a byte kind whose elements have no marshaling method.
func isByteSlice(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 && !isMarshaler(t.Elem()) && !isMarshaler(t)
}

// mayHoldBytes reports whether a value of t can hold a byte slice that is
// not inside a type with its own marshaling method, nor in a field that
// opts out: whether it must be walked.
func mayHoldBytes(t reflect.Type) bool {
	seen := map[reflect.Type]bool{}
	stack := []reflect.Type{t}
	for len(stack) > 0 {
		t := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[t] || isMarshaler(t) {
			continue
		}
		seen[t] = true
		switch t.Kind() {
		case reflect.Interface:
			return true
		case reflect.Slice:
			if isByteSlice(t) {
				return true
			}
			stack = append(stack, t.Elem())
		case reflect.Array, reflect.Pointer, reflect.Map:
			stack = append(stack, t.Elem())
		case reflect.Struct:
			for _, f := range structFields(t) {
				if !f.base64 {
					stack = append(stack, t.FieldByIndex(f.index).Type)
				}
			}
		}
	}
	return false
}

// appendWalked writes v, whose type needs walking or not, with its byte
// slices as attachments.
func appendWalked(dst []byte, atts [][]byte, v any, depth int) ([]byte, [][]byte, error) {
	w := walkerFor(reflect.TypeOf(v))
	if w.kind == walkJSON {
		if w.plain != nil {
			// A plain struct in an interface: the interface's data word
			// points to it (one is stored in the word itself only if it
			// is a single pointer, which build leaves out).
			d, err := w.plain.Append(dst, (*[2]unsafe.Pointer)(unsafe.Pointer(&v))[1])
			return d, atts, err
		}
		b, err := json.Marshal(v)
		return append(dst, b...), atts, err
	}
	// The walk reads fields by address: copy the value into a variable.
	rv := reflect.New(w.typ).Elem()
	rv.Set(reflect.ValueOf(v))
	return w.append(dst, atts, rv, depth)
}

// readable returns v, obtained through an unexported embedded struct,
// as a value whose contents can be passed to encoding/json. v is
// addressable: every walk starts from a variable.
func readable(v reflect.Value) reflect.Value {
	if v.CanInterface() || !v.CanAddr() {
		return v
	}
	return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
}

func (w *walker) append(dst []byte, atts [][]byte, v reflect.Value, depth int) ([]byte, [][]byte, error) {
	switch w.kind {
	case walkJSON:
		if w.plain != nil && v.CanAddr() {
			d, err := w.plain.Append(dst, unsafe.Pointer(v.UnsafeAddr()))
			return d, atts, err
		}
		v = readable(v)
		var b []byte
		var err error
		if v.CanAddr() {
			b, err = json.Marshal(v.Addr().Interface()) // no copy, and pointer methods apply
		} else {
			b, err = json.Marshal(v.Interface())
		}
		return append(dst, b...), atts, err
	case walkBytes:
		if v.IsNil() {
			return append(dst, "null"...), atts, nil
		}
		dst = append(dst, `{"_placeholder":true,"num":`...)
		dst = strconv.AppendInt(dst, int64(len(atts)), 10)
		return append(dst, '}'), append(atts, v.Bytes()), nil
	case walkIface:
		if v.IsNil() {
			return append(dst, "null"...), atts, nil
		}
		return appendValue(dst, atts, readable(v).Elem().Interface(), depth+1)
	}
	if depth >= maxMarshalDepth {
		return dst, atts, errTooDeep
	}
	var err error
	switch w.kind {
	case walkPtr:
		if v.IsNil() {
			return append(dst, "null"...), atts, nil
		}
		return w.elem.append(dst, atts, v.Elem(), depth+1)
	case walkSlice, walkArray:
		if w.kind == walkSlice && v.IsNil() {
			return append(dst, "null"...), atts, nil
		}
		dst = append(dst, '[')
		for i := range v.Len() {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, atts, err = w.elem.append(dst, atts, v.Index(i), depth+1); err != nil {
				return dst, atts, err
			}
		}
		return append(dst, ']'), atts, nil
	case walkMap:
		return w.appendMap(dst, atts, readable(v), depth)
	}
	// walkStruct
	dst = append(dst, '{')
	n := len(dst)
fields:
	for i := range w.fields {
		f := &w.fields[i]
		fv := v
		for _, x := range f.index {
			if fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					continue fields // through a nil embedded pointer
				}
				fv = fv.Elem()
			}
			fv = fv.Field(x)
		}
		if f.omitZero != nil && f.omitZero(fv) {
			continue
		}
		if len(dst) > n {
			dst = append(dst, ',')
		}
		dst = append(dst, f.name...)
		if f.quoted {
			dst, err = appendQuoted(dst, fv)
		} else {
			dst, atts, err = f.w.append(dst, atts, fv, depth+1)
		}
		if err != nil {
			return dst, atts, err
		}
	}
	return append(dst, '}'), atts, nil
}

func (w *walker) appendMap(dst []byte, atts [][]byte, v reflect.Value, depth int) ([]byte, [][]byte, error) {
	if v.IsNil() {
		return append(dst, "null"...), atts, nil
	}
	type entry struct {
		key string
		val reflect.Value
	}
	entries := make([]entry, 0, v.Len())
	for it := v.MapRange(); it.Next(); {
		k, err := mapKey(it.Key())
		if err != nil {
			return dst, atts, err
		}
		// Map values are not addressable: copy each into a variable.
		val := reflect.New(w.typ.Elem()).Elem()
		val.Set(it.Value())
		entries = append(entries, entry{k, val})
	}
	slices.SortFunc(entries, func(a, b entry) int { return cmp.Compare(a.key, b.key) })
	dst = append(dst, '{')
	for i, e := range entries {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, e.key)
		dst = append(dst, ':')
		var err error
		if dst, atts, err = w.elem.append(dst, atts, e.val, depth+1); err != nil {
			return dst, atts, err
		}
	}
	return append(dst, '}'), atts, nil
}

// mapKey returns the JSON name of a map key, as encoding/json does.
func mapKey(k reflect.Value) (string, error) {
	if k.Kind() == reflect.String {
		return k.String(), nil
	}
	if tm, ok := k.Interface().(encoding.TextMarshaler); ok {
		if k.Kind() == reflect.Pointer && k.IsNil() {
			return "", nil
		}
		b, err := tm.MarshalText()
		return string(b), err
	}
	switch k.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(k.Uint(), 10), nil
	}
	return "", &json.UnsupportedTypeError{Type: k.Type()}
}

// appendQuoted writes a field with the ",string" option: its JSON inside a
// JSON string. Only fields of boolean, number and string kinds (or
// pointers to them) have the option, and those hold no byte slice.
func appendQuoted(dst []byte, v reflect.Value) ([]byte, error) {
	v = readable(v)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return append(dst, "null"...), nil
		}
		v = v.Elem()
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return dst, err
	}
	if isMarshaler(v.Type()) {
		return append(dst, b...), nil // encoding/json ignores the option then
	}
	return appendString(dst, string(b)), nil
}

// isEmptyValue is encoding/json's test for the omitempty option.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// zeroFunc returns encoding/json's test for the omitzero option on a field
// of type t, combined with the omitempty test when there is one.
func zeroFunc(t reflect.Type, empty func(reflect.Value) bool) func(reflect.Value) bool {
	zero := func(v reflect.Value) bool { return v.IsZero() }
	switch {
	case t.Kind() == reflect.Interface && t.Implements(isZeroerType):
		zero = func(v reflect.Value) bool {
			return v.IsNil() || (v.Elem().Kind() == reflect.Pointer && v.Elem().IsNil()) ||
				readable(v).Interface().(interface{ IsZero() bool }).IsZero()
		}
	case t.Kind() == reflect.Pointer && t.Implements(isZeroerType):
		zero = func(v reflect.Value) bool {
			return v.IsNil() || readable(v).Interface().(interface{ IsZero() bool }).IsZero()
		}
	case t.Implements(isZeroerType):
		zero = func(v reflect.Value) bool { return readable(v).Interface().(interface{ IsZero() bool }).IsZero() }
	case reflect.PointerTo(t).Implements(isZeroerType):
		zero = func(v reflect.Value) bool {
			return readable(v).Addr().Interface().(interface{ IsZero() bool }).IsZero()
		}
	}
	if empty == nil {
		return zero
	}
	return func(v reflect.Value) bool { return empty(v) || zero(v) }
}

// jsonField is a field as encoding/json sees it.
type jsonField struct {
	name      string
	tagged    bool
	index     []int
	omitEmpty bool
	omitZero  bool
	quoted    bool
	base64    bool // tagged `socketio:"base64"`
}

// structFields returns the JSON fields of struct type t in encoding/json's
// order, with its rules: exported fields, fields of embedded structs
// promoted unless hidden, names from the json tag, fields tagged "-"
// skipped.
func structFields(t reflect.Type) []jsonField {
	type queued struct {
		typ   reflect.Type
		index []int
	}
	var fields []jsonField
	var current []queued
	next := []queued{{typ: t}}
	var count, nextCount map[reflect.Type]int
	visited := map[reflect.Type]bool{}
	for len(next) > 0 {
		current, next = next, current[:0]
		count, nextCount = nextCount, map[reflect.Type]int{}
		for _, q := range current {
			if visited[q.typ] {
				continue
			}
			visited[q.typ] = true
			for i := range q.typ.NumField() {
				sf := q.typ.Field(i)
				if sf.Anonymous {
					ft := sf.Type
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if !sf.IsExported() && ft.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if !plainjson.ValidTag(name) {
					name = ""
				}
				index := append(slices.Clip(q.index), i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					f := jsonField{
						name: name, tagged: name != "", index: index,
						omitEmpty: hasOption(opts, "omitempty"),
						omitZero:  hasOption(opts, "omitzero"),
						base64:    sf.Tag.Get(BinaryTag) == "base64",
					}
					if f.name == "" {
						f.name = sf.Name
					}
					if hasOption(opts, "string") {
						switch ft.Kind() {
						case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
							reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
							reflect.Float32, reflect.Float64, reflect.String:
							f.quoted = true
						}
					}
					fields = append(fields, f)
					if count[q.typ] > 1 {
						// Two embeddings of one type at one depth: the
						// duplicate makes the field ambiguous below.
						fields = append(fields, f)
					}
					continue
				}
				nextCount[ft]++
				if nextCount[ft] == 1 {
					next = append(next, queued{typ: ft, index: index})
				}
			}
		}
	}
	slices.SortStableFunc(fields, func(a, b jsonField) int {
		if c := cmp.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := cmp.Compare(len(a.index), len(b.index)); c != 0 {
			return c
		}
		if a.tagged != b.tagged {
			if a.tagged {
				return -1
			}
			return 1
		}
		return slices.Compare(a.index, b.index)
	})
	// Keep the dominant field of each name: the shallowest, tagged first;
	// a tie hides them all.
	out := fields[:0]
	for i := 0; i < len(fields); {
		j := i + 1
		for j < len(fields) && fields[j].name == fields[i].name {
			j++
		}
		if j-i == 1 || len(fields[i].index) < len(fields[i+1].index) || fields[i].tagged != fields[i+1].tagged {
			out = append(out, fields[i])
		}
		i = j
	}
	slices.SortFunc(out, func(a, b jsonField) int { return slices.Compare(a.index, b.index) })
	return out
}

func hasOption(opts, name string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == name {
			return true
		}
	}
	return false
}
