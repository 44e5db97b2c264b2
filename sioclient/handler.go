package sioclient

import (
	"context"

	"github.com/sio-go/socketio/internal/typed"
)

// Typed handlers decode an event's arguments into the parameter types of a
// function, with the shapes and rules of the server package's: On0 to On3
// for events with no to three arguments, OnAck0 to OnAck3 for the same
// with a result to acknowledge (see socketio.On for the details). When the
// server asked for an acknowledgement and the handler fails, or an
// argument does not decode, the acknowledgement carries the error in the
// shape of Config.ErrorReply; otherwise errors go to the socket's OnError
// handlers.

// On0 registers h for event ev, which has no argument (any are ignored).
func On0(s *Socket, ev string, h func(ctx context.Context) error) {
	s.OnRaw(ev, typed.Handler0(s.env(), ev, h))
}

// On registers h for event ev with one argument.
func On[A any](s *Socket, ev string, h func(ctx context.Context, a A) error) {
	s.OnRaw(ev, typed.Handler1(s.env(), ev, h))
}

// On2 registers h for event ev with two arguments.
func On2[A, B any](s *Socket, ev string, h func(ctx context.Context, a A, b B) error) {
	s.OnRaw(ev, typed.Handler2(s.env(), ev, h))
}

// On3 registers h for event ev with three arguments.
func On3[A, B, C any](s *Socket, ev string, h func(ctx context.Context, a A, b B, c C) error) {
	s.OnRaw(ev, typed.Handler3(s.env(), ev, h))
}

// OnAck0 registers h for event ev, which has no argument, and acknowledges
// with its result.
func OnAck0[R any](s *Socket, ev string, h func(ctx context.Context) (R, error)) {
	s.OnRaw(ev, typed.AckHandler0(s.env(), ev, h))
}

// OnAck registers h for event ev with one argument and acknowledges with
// its result.
func OnAck[A, R any](s *Socket, ev string, h func(ctx context.Context, a A) (R, error)) {
	s.OnRaw(ev, typed.AckHandler1(s.env(), ev, h))
}

// OnAck2 registers h for event ev with two arguments and acknowledges with
// its result.
func OnAck2[A, B, R any](s *Socket, ev string, h func(ctx context.Context, a A, b B) (R, error)) {
	s.OnRaw(ev, typed.AckHandler2(s.env(), ev, h))
}

// OnAck3 registers h for event ev with three arguments and acknowledges
// with its result.
func OnAck3[A, B, C, R any](s *Socket, ev string, h func(ctx context.Context, a A, b B, c C) (R, error)) {
	s.OnRaw(ev, typed.AckHandler3(s.env(), ev, h))
}

// Call emits event ev on socket s and decodes the first argument of the
// server's acknowledgement into an R. It waits like Socket.EmitWithAck. A
// reply in the default error shape ({"error":{"code":…,"message":…}}, what
// a Go server's typed handlers send when they fail) is returned as an
// *Error.
func Call[R any](ctx context.Context, s *Socket, ev string, args ...any) (R, error) {
	return typed.Result[R](s.EmitWithAck(ctx, ev, args...))
}

// env is what typed handlers need of the socket.
func (s *Socket) env() typed.Env {
	return typed.Env{Pkg: "sioclient", Report: s.reportError, Reply: s.m.cfg.ErrorReply}
}
