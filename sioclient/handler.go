package sioclient

import (
	"context"

	"github.com/sio-go/socketio/internal/typed"
)

// On registers h for event ev on socket s. The event's first argument is
// decoded into a T (see Args.Decode; a missing argument leaves the zero
// value). When the server asked for an acknowledgement, it receives no
// argument on success and {"error":"<text>"} when h fails or the argument
// cannot be decoded; otherwise errors go to the socket's OnError handlers.
func On[T any](s *Socket, ev string, h func(ctx context.Context, v T) error) {
	f := typed.Handler("sioclient", ev, s.reportError, h)
	s.OnRaw(ev, func(ctx context.Context, args Args, ack AckFunc) { f(ctx, args, ack) })
}

// OnAck registers h for event ev on socket s and acknowledges with its
// result: the event's first argument is decoded into a T, and the R that h
// returns is the acknowledgement's argument. When h fails, or the argument
// cannot be decoded, the acknowledgement carries the error: the error's own
// JSON when it implements json.Marshaler, else {"error":"<text>"}. When the
// server asked for no acknowledgement, the result is dropped and errors go
// to the socket's OnError handlers.
func OnAck[T, R any](s *Socket, ev string, h func(ctx context.Context, v T) (R, error)) {
	f := typed.AckHandler("sioclient", ev, s.reportError, h)
	s.OnRaw(ev, func(ctx context.Context, args Args, ack AckFunc) { f(ctx, args, ack) })
}

// Call emits event ev on socket s and decodes the first argument of the
// server's acknowledgement into an R. It waits like Socket.EmitWithAck.
func Call[R any](ctx context.Context, s *Socket, ev string, args ...any) (R, error) {
	return typed.Result[R](s.EmitWithAck(ctx, ev, args...))
}
