package protocol

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
)

// restoreBinary fixes what encoding/json decoded into v, a pointer, from
// raw, where attachments were inlined as base64 text: an interface that
// received a placeholder holds the base64 string, which it replaces with
// the attachment itself ([]byte, or generic values holding []byte), as a
// Node Buffer arrives. Typed byte slices need nothing. Only types that
// hold an interface where a byte slice may be are walked.
func restoreBinary(v any, raw []byte, atts [][]byte) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || !bytes.Contains(raw, placeholderKey) {
		return
	}
	w := walkerFor(rv.Type().Elem())
	if !w.holdsIface() {
		return
	}
	w.restore(rv.Elem(), raw, atts, 0)
}

// holdsIface reports whether a walk of w's values can meet an interface.
func (w *walker) holdsIface() bool {
	w.ifaceOnce.Do(func() {
		seen := map[*walker]bool{}
		var visit func(*walker) bool
		visit = func(w *walker) bool {
			if seen[w] {
				return false
			}
			seen[w] = true
			switch w.kind {
			case walkIface:
				return true
			case walkPtr, walkSlice, walkArray, walkMap:
				return visit(w.elem)
			case walkStruct:
				for i := range w.fields {
					if visit(w.fields[i].w) {
						return true
					}
				}
			}
			return false
		}
		w.iface = visit(w)
	})
	return w.iface
}

func (w *walker) restore(v reflect.Value, raw []byte, atts [][]byte, depth int) {
	raw = trimSpace(raw)
	if depth > maxMarshalDepth || len(raw) == 0 || string(raw) == "null" || !v.CanSet() {
		return
	}
	switch w.kind {
	case walkIface:
		if v.NumMethod() == 0 && bytes.Contains(raw, placeholderKey) {
			if x, err := withBinary(raw, atts, false); err == nil && x != nil {
				v.Set(reflect.ValueOf(x))
			}
		}
	case walkPtr:
		if !v.IsNil() {
			w.elem.restore(v.Elem(), raw, atts, depth+1)
		}
	case walkSlice, walkArray:
		elems, err := SplitArray(raw)
		if err != nil {
			return
		}
		for i := 0; i < len(elems) && i < v.Len(); i++ {
			w.elem.restore(v.Index(i), elems[i], atts, depth+1)
		}
	case walkMap:
		if v.IsNil() || v.Type().Key().Kind() != reflect.String {
			return
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return
		}
		for k, r := range obj {
			key := reflect.ValueOf(k).Convert(v.Type().Key())
			cur := v.MapIndex(key)
			if !cur.IsValid() {
				continue
			}
			val := reflect.New(v.Type().Elem()).Elem()
			val.Set(cur)
			w.elem.restore(val, r, atts, depth+1)
			v.SetMapIndex(key, val)
		}
	case walkStruct:
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return
		}
	fields:
		for i := range w.fields {
			f := &w.fields[i]
			r, ok := obj[string(f.key)]
			if !ok { // encoding/json matches names without case too
				for k, x := range obj {
					if strings.EqualFold(k, string(f.key)) {
						r, ok = x, true
						break
					}
				}
			}
			if !ok {
				continue
			}
			fv := v
			for _, x := range f.index {
				if fv.Kind() == reflect.Pointer {
					if fv.IsNil() {
						continue fields
					}
					fv = fv.Elem()
				}
				fv = fv.Field(x)
			}
			f.w.restore(fv, r, atts, depth+1)
		}
	}
}
