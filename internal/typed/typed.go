// Package typed turns typed event handlers into the raw handlers that the
// server and the client register, so that both ends decode arguments and
// report errors the same way.
package typed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sio-go/socketio/protocol"
)

// Ack acknowledges an event; nil when none was asked for.
type Ack = func(args ...any) error

// Raw is a handler of an event's arguments as received.
type Raw = func(ctx context.Context, args protocol.Args, ack Ack)

// Handler decodes the first argument into a T and calls h. The
// acknowledgement, when asked for, carries nothing on success and the error
// otherwise; without one, errors go to report. pkg prefixes error texts.
func Handler[T any](pkg, ev string, report func(error), h func(ctx context.Context, v T) error) Raw {
	return AckHandler(pkg, ev, report, func(ctx context.Context, v T) (struct{}, error) {
		return struct{}{}, h(ctx, v)
	})
}

// AckHandler decodes the first argument into a T, calls h and acknowledges
// with its result, or with the error.
func AckHandler[T, R any](pkg, ev string, report func(error), h func(ctx context.Context, v T) (R, error)) Raw {
	_, noResult := any((*R)(nil)).(*struct{})
	return func(ctx context.Context, args protocol.Args, ack Ack) {
		var v T
		var r R
		err := args.Decode(0, &v)
		if err == nil {
			r, err = h(ctx, v)
		}
		switch {
		case ack == nil:
			if err != nil {
				report(fmt.Errorf("%s: event %q: %w", pkg, ev, err))
			}
		case err != nil:
			_ = ack(ErrorPayload(err))
		case noResult:
			_ = ack()
		default:
			if err := ack(r); err != nil {
				report(fmt.Errorf("%s: acknowledging %q: %w", pkg, ev, err))
			}
		}
	}
}

// ErrorPayload is what a failing handler acknowledges with: the error's own
// JSON when it implements json.Marshaler, else {"error":"<text>"}.
func ErrorPayload(err error) any {
	var m json.Marshaler
	if errors.As(err, &m) {
		return m
	}
	return struct {
		Error string `json:"error"`
	}{err.Error()}
}

// Result decodes the first argument of an acknowledgement into an R, or
// passes on the error of waiting for it: Result[R](s.EmitWithAck(…)).
func Result[R any](a protocol.Args, err error) (R, error) {
	var r R
	if err != nil {
		return r, err
	}
	err = a.Decode(0, &r)
	return r, err
}
