// Package typed turns typed event handlers into the raw handlers that the
// server and the client register, so that both ends decode arguments and
// report errors the same way.
//
// Each arity has its own function, as iter.Seq and iter.Seq2 do: the
// arguments are decoded into the handler's parameter types by functions
// chosen once, at registration, so that a call does no more than decode
// each argument and call the handler.
package typed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/sio-go/socketio/internal/plainjson"
	"github.com/sio-go/socketio/protocol"
)

// Ack acknowledges an event; nil when none was asked for.
type Ack = func(args ...any) error

// Raw is a handler of an event's arguments as received.
type Raw = func(ctx context.Context, args protocol.Args, ack Ack)

// Env is what a typed handler needs of the socket it is registered on.
type Env struct {
	// Pkg prefixes the texts of reported errors.
	Pkg string
	// Report receives the errors the peer is not told about, and those
	// that are not meant for it (see Fail).
	Report func(error)
	// Reply turns an error into the acknowledgement argument that reports
	// it to the peer.
	Reply func(error) any
}

// Fail handles an event that failed with err: the peer is told when it
// asked for an acknowledgement, and err is reported unless it is a
// *protocol.Error the peer was told about.
func (env *Env) Fail(ev string, ack Ack, err error) {
	var pe *protocol.Error
	told := false
	if ack != nil {
		told = ack(env.Reply(err)) == nil
	}
	if !told || !errors.As(err, &pe) {
		env.Report(fmt.Errorf("%s: event %q: %w", env.Pkg, ev, err))
	}
}

// finish acknowledges an event with the handler's result, or reports its
// error.
func finish[R any](env *Env, ev string, ack Ack, r R, err error) {
	switch {
	case err != nil:
		env.Fail(ev, ack, err)
	case ack == nil:
	case isNone[R]():
		_ = ack()
	default:
		if err := ack(r); err != nil {
			// Not sent (a result encoding/json refuses, say): tell the
			// peer rather than leave it waiting.
			env.Fail(ev, ack, fmt.Errorf("acknowledging: %w", err))
		}
	}
}

// isNone reports whether R is struct{}, the result of handlers that return
// only an error: they acknowledge with no argument.
func isNone[R any]() bool {
	_, ok := any((*R)(nil)).(*struct{})
	return ok
}

// Handler0 calls h for an event, ignoring its arguments.
func Handler0(env Env, ev string, h func(ctx context.Context) error) Raw {
	return AckHandler0(env, ev, func(ctx context.Context) (struct{}, error) { return struct{}{}, h(ctx) })
}

// AckHandler0 calls h for an event, ignoring its arguments, and
// acknowledges with its result.
func AckHandler0[R any](env Env, ev string, h func(ctx context.Context) (R, error)) Raw {
	return func(ctx context.Context, _ protocol.Args, ack Ack) {
		r, err := h(ctx)
		finish(&env, ev, ack, r, err)
	}
}

// Handler1 decodes the first argument into an A and calls h.
func Handler1[A any](env Env, ev string, h func(ctx context.Context, a A) error) Raw {
	return AckHandler1(env, ev, func(ctx context.Context, a A) (struct{}, error) { return struct{}{}, h(ctx, a) })
}

// AckHandler1 decodes the first argument into an A, calls h and
// acknowledges with its result.
func AckHandler1[A, R any](env Env, ev string, h func(ctx context.Context, a A) (R, error)) Raw {
	da := decoder[A]()
	return func(ctx context.Context, args protocol.Args, ack Ack) {
		a, err := da(args, 0)
		if err != nil {
			env.Fail(ev, ack, err)
			return
		}
		r, err := h(ctx, a)
		finish(&env, ev, ack, r, err)
	}
}

// Handler2 decodes the first two arguments and calls h.
func Handler2[A, B any](env Env, ev string, h func(ctx context.Context, a A, b B) error) Raw {
	return AckHandler2(env, ev, func(ctx context.Context, a A, b B) (struct{}, error) {
		return struct{}{}, h(ctx, a, b)
	})
}

// AckHandler2 decodes the first two arguments, calls h and acknowledges
// with its result.
func AckHandler2[A, B, R any](env Env, ev string, h func(ctx context.Context, a A, b B) (R, error)) Raw {
	da, db := decoder[A](), decoder[B]()
	return func(ctx context.Context, args protocol.Args, ack Ack) {
		a, err := da(args, 0)
		var b B
		if err == nil {
			b, err = db(args, 1)
		}
		if err != nil {
			env.Fail(ev, ack, err)
			return
		}
		r, err := h(ctx, a, b)
		finish(&env, ev, ack, r, err)
	}
}

// Handler3 decodes the first three arguments and calls h.
func Handler3[A, B, C any](env Env, ev string, h func(ctx context.Context, a A, b B, c C) error) Raw {
	return AckHandler3(env, ev, func(ctx context.Context, a A, b B, c C) (struct{}, error) {
		return struct{}{}, h(ctx, a, b, c)
	})
}

// AckHandler3 decodes the first three arguments, calls h and acknowledges
// with its result.
func AckHandler3[A, B, C, R any](env Env, ev string, h func(ctx context.Context, a A, b B, c C) (R, error)) Raw {
	da, db, dc := decoder[A](), decoder[B](), decoder[C]()
	return func(ctx context.Context, args protocol.Args, ack Ack) {
		a, err := da(args, 0)
		var b B
		var c C
		if err == nil {
			b, err = db(args, 1)
		}
		if err == nil {
			c, err = dc(args, 2)
		}
		if err != nil {
			env.Fail(ev, ack, err)
			return
		}
		r, err := h(ctx, a, b, c)
		finish(&env, ev, ack, r, err)
	}
}

// Validator is implemented by argument types that check themselves: a
// typed handler calls Validate after decoding the argument.
type Validator interface {
	Validate() error
}

// decoder returns the function that decodes argument i into a T, chosen
// for T once: []byte takes an attachment as it is, string a plain JSON
// string without encoding/json, a plain type (booleans, numbers, strings
// and structs of them) goes through plainjson, anything else (and what
// plainjson leaves) through Args.Decode.
// A missing argument gives the zero value. Errors are *protocol.Error
// with CodeInvalidArgument. The value is returned, not stored through a
// pointer, so that the fast paths allocate nothing.
func decoder[T any]() func(args protocol.Args, i int) (T, error) {
	var dec func(args protocol.Args, i int) (T, error)
	switch any((*T)(nil)).(type) {
	case *[]byte:
		dec = func(args protocol.Args, i int) (T, error) {
			if b, ok := args.Binary(i); ok {
				v, _ := any(b).(T)
				return v, nil
			}
			return decodeJSON[T](args, i) // base64 text, or null
		}
	case *string:
		dec = func(args protocol.Args, i int) (T, error) {
			if s, ok := plainString(args.Raw(i)); ok {
				v, _ := any(s).(T)
				return v, nil
			}
			return decodeJSON[T](args, i)
		}
	default:
		dec = decodeJSON[T]
		if c := plainjson.For(reflect.TypeFor[T]()); c != nil {
			dec = func(args protocol.Args, i int) (T, error) {
				var v T
				raw := args.Raw(i)
				if raw == nil || c.Decode(unsafe.Pointer(&v), raw) {
					return v, nil
				}
				return decodeJSON[T](args, i) // for the error, or what the codec leaves
			}
		}
	}
	if _, ok := any((*T)(nil)).(Validator); ok {
		return func(args protocol.Args, i int) (T, error) {
			v, err := dec(args, i)
			if err == nil {
				if err = any(&v).(Validator).Validate(); err != nil {
					err = invalidArgument(i, err, err.Error())
				}
			}
			return v, err
		}
	}
	return dec
}

// decodeJSON decodes argument i with Args.Decode.
func decodeJSON[T any](args protocol.Args, i int) (T, error) {
	var v T
	if err := args.Decode(i, &v); err != nil {
		return v, invalidArgument(i, err, describe(err))
	}
	return v, nil
}

// plainString returns the JSON string raw without escapes, the common
// case, without encoding/json.
func plainString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	body := raw[1 : len(raw)-1]
	for _, c := range body {
		if c == '\\' || c == '"' || c < 0x20 {
			return "", false
		}
	}
	if !utf8.Valid(body) {
		return "", false
	}
	return string(body), true
}

// invalidArgument makes err, met on argument i, an error for the peer,
// unless it is one already.
func invalidArgument(i int, err error, msg string) error {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return err
	}
	return &protocol.Error{
		Code:    protocol.CodeInvalidArgument,
		Message: "argument " + strconv.Itoa(i) + ": " + msg,
		Err:     err,
	}
}

// describe tells what is wrong with an argument in JSON terms, never
// naming Go types or packages.
func describe(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		msg := "expected " + jsonKind(te.Type) + ", got " + te.Value
		if te.Field != "" {
			msg = "field " + strconv.Quote(te.Field) + ": " + msg
		}
		return msg
	}
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return "malformed JSON"
	case errors.Is(err, protocol.ErrIllegalAttachments):
		return "illegal binary attachment"
	}
	return "invalid value"
}

// jsonKind names the JSON kind a Go type is decoded from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.String:
		return "string"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "binary"
		}
		return "array"
	case reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return "a value"
}

// Result decodes the first argument of an acknowledgement into an R, or
// passes on the error of waiting for it: Result[R](s.EmitWithAck(…)). A
// reply in protocol.ErrorReply's shape is returned as its *protocol.Error.
func Result[R any](a protocol.Args, err error) (R, error) {
	var r R
	if err != nil {
		return r, err
	}
	if pe := protocol.ReplyError(a); pe != nil {
		return r, pe
	}
	err = a.Decode(0, &r)
	return r, err
}
