package socketio

import (
	"encoding/json"
	"reflect"
	"slices"
)

// Data is a socket's application data (Node's socket.data), set with
// Socket.SetData. The server that holds the socket keeps the Go value
// itself; another server of a cluster (in FetchSockets results), or one
// that restored the socket from a remote session store, holds its JSON.
// DataAs reads both as the same type, so that code does not depend on
// where the socket lives:
//
//	s.SetData(User{Name: "ada"})
//	u, err := socketio.DataAs[User](s.Data())             // on the socket's server
//	u, err := socketio.DataAs[User](remote.Data)          // a FetchSockets result, on any server
//
// The zero Data holds nothing. A Data is a small value, safe to copy.
type Data struct {
	v   any
	raw json.RawMessage // the JSON, when v is nil
}

// DataAs returns the value d holds as a T: the Go value itself when it is
// a T, else the value converted through its JSON (a map into a struct, a
// session restored from Redis…). An empty Data gives the zero T.
func DataAs[T any](d Data) (T, error) {
	if v, ok := d.v.(T); ok {
		return v, nil
	}
	var t T
	err := d.Decode(&t)
	return t, err
}

// Decode stores the value d holds in the value v points to: a copy of the
// Go value when it is assignable, else the value's JSON decoded with
// encoding/json. An empty Data leaves *v unchanged.
func (d Data) Decode(v any) error {
	if d.v != nil {
		if dst := reflect.ValueOf(v); dst.Kind() == reflect.Pointer && !dst.IsNil() {
			if src := reflect.ValueOf(d.v); src.Type().AssignableTo(dst.Elem().Type()) {
				dst.Elem().Set(src)
				return nil
			}
		}
	}
	if d.IsZero() {
		return nil
	}
	raw, err := d.MarshalJSON()
	if err != nil || string(raw) == "{}" {
		return err
	}
	return json.Unmarshal(raw, v)
}

// IsZero reports whether d holds nothing.
func (d Data) IsZero() bool { return d.v == nil && len(d.raw) == 0 }

// MarshalJSON returns the JSON of the value d holds; {} when it holds
// nothing, a value that encodes as null, or a value encoding/json cannot
// encode. {} is what an official server's socket.data starts as, and what
// code on Node servers of a cluster expects to read fields of.
func (d Data) MarshalJSON() ([]byte, error) {
	if d.v != nil {
		b, err := json.Marshal(d.v)
		if err != nil || string(b) == "null" {
			return []byte("{}"), nil
		}
		return b, nil
	}
	if len(d.raw) == 0 {
		return []byte("{}"), nil
	}
	return d.raw, nil
}

// UnmarshalJSON keeps a copy of b: adapters decode the data of sockets
// on other servers into a Data. null and {} give the zero Data, so that
// data that was never set stays unset on its way through other servers.
func (d *Data) UnmarshalJSON(b []byte) error {
	*d = Data{}
	if s := string(b); s != "null" && s != "{}" {
		d.raw = slices.Clone(b)
	}
	return nil
}
