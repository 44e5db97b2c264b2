package socketio

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sio-go/socketio/protocol"
)

var (
	// ErrDisconnected is returned when emitting on, or waiting for an
	// acknowledgement from, a socket that is disconnected.
	ErrDisconnected = errors.New("socketio: socket disconnected")
	// ErrReservedEvent is returned when emitting an event whose name is
	// reserved by the protocol ("connect", "connect_error", "disconnect",
	// "disconnecting", "newListener", "removeListener").
	ErrReservedEvent = errors.New("socketio: reserved event name")
	// ErrAckSent is returned by an AckFunc called more than once.
	ErrAckSent = errors.New("socketio: acknowledgement already sent")
	// ErrServerClosed is returned by operations after Shutdown.
	ErrServerClosed = errors.New("socketio: server closed")
	// ErrParentNamespace is returned by operations a parent namespace
	// created with OfRegexp or OfFunc cannot serve, such as FetchSockets.
	ErrParentNamespace = errors.New("socketio: not supported on a parent namespace")
)

// Error is an error meant for the client: a handler, a packet middleware
// or an argument's Validate method returns it, and the client's
// acknowledgement carries its Code, Message and Data (see ErrorReply). Its
// Err stays in the process. Any other error is reported to the client as
// CodeInternal without its text, and to the socket's OnError handlers.
//
//	return &socketio.Error{Code: "room_full", Message: "the room is full"}
type Error = protocol.Error

// ErrorCode classifies an Error; applications add their own.
type ErrorCode = protocol.ErrorCode

// The codes the server uses itself.
const (
	// CodeInvalidArgument: an argument did not decode into the handler's
	// type, or failed its Validate method.
	CodeInvalidArgument = protocol.CodeInvalidArgument
	// CodeRateLimited: for packet middlewares that limit a client's rate.
	CodeRateLimited = protocol.CodeRateLimited
	// CodeInternal: the handler failed with an error that is not an
	// *Error; its text is not sent.
	CodeInternal = protocol.CodeInternal
)

// CodeOf returns the code of the *Error in err's chain, or "".
func CodeOf(err error) ErrorCode { return protocol.CodeOf(err) }

// ErrorReply is the default of Config.ErrorReply: the acknowledgement
// argument
//
//	{"error":{"code":"invalid_argument","message":"argument 0: field \"room\": expected string, got number"}}
//
// ("data" added when the *Error has Data). An error that is not an *Error
// becomes {"error":{"code":"internal","message":"internal error"}}: no Go
// type name, package path or internal detail leaves the process. A
// JavaScript client reads it as
//
//	const res = await socket.emitWithAck("join", room);
//	if (res?.error) console.log(res.error.code, res.error.message);
func ErrorReply(err error) any { return protocol.ErrorReply(err) }

// ConnectError refuses a connection to a namespace. A middleware that returns
// it makes the server answer with a CONNECT_ERROR packet carrying Message and,
// when not nil, Data, which the client sees as err.message and err.data. Any
// other error returned by a middleware is sent with its text as message.
type ConnectError struct {
	Message string
	// Data is marshalled with encoding/json. Use json.RawMessage to send
	// prepared JSON.
	Data any
}

func (e *ConnectError) Error() string { return "socketio: connection refused: " + e.Message }

// connectErrorPayload returns the JSON payload of the CONNECT_ERROR packet
// answering err.
func connectErrorPayload(err error) json.RawMessage {
	var ce *ConnectError
	msg := err.Error()
	var data any
	if errors.As(err, &ce) {
		msg, data = ce.Message, ce.Data
	}
	payload := struct {
		Message string `json:"message"`
		Data    any    `json:"data,omitempty"`
	}{msg, data}
	b, mErr := json.Marshal(payload)
	if mErr != nil {
		payload.Data = nil
		b, _ = json.Marshal(payload)
	}
	return b
}

// DisconnectReason tells why a socket left its namespace.
type DisconnectReason string

// The disconnect reasons of the official server, then the ones this package
// adds.
const (
	// ReasonTransportError: the connection met an error.
	ReasonTransportError DisconnectReason = "transport error"
	// ReasonTransportClose: the client closed the connection, or it was lost.
	ReasonTransportClose DisconnectReason = "transport close"
	// ReasonForcedClose: the Engine.IO session was closed by the server.
	ReasonForcedClose DisconnectReason = "forced close"
	// ReasonPingTimeout: the client did not answer a ping in time.
	ReasonPingTimeout DisconnectReason = "ping timeout"
	// ReasonParseError: the client sent a packet that could not be decoded.
	ReasonParseError DisconnectReason = "parse error"
	// ReasonServerShuttingDown: Server.Shutdown was called.
	ReasonServerShuttingDown DisconnectReason = "server shutting down"
	// ReasonForcedServerClose: the server closed the connection, because of
	// a protocol violation, the connect timeout or Socket.CloseConn.
	ReasonForcedServerClose DisconnectReason = "forced server close"
	// ReasonClientNamespaceDisconnect: the client left the namespace.
	ReasonClientNamespaceDisconnect DisconnectReason = "client namespace disconnect"
	// ReasonServerNamespaceDisconnect: Socket.Disconnect was called.
	ReasonServerNamespaceDisconnect DisconnectReason = "server namespace disconnect"

	// ReasonSlowConsumer: the client did not read fast enough and its
	// outbound queue reached engineio.Config.MaxQueueBytes.
	ReasonSlowConsumer DisconnectReason = "slow consumer"
	// ReasonHandlerQueueFull: the client sent events faster than the
	// socket's handlers ran, past Config.MaxPendingEvents, and
	// Config.Overflow is OverflowDisconnect (or the client owed
	// acknowledgements past the slack OverflowBackpressure gives).
	ReasonHandlerQueueFull DisconnectReason = "handler queue full"
	// ReasonHandlerPanic: a handler of the socket panicked.
	ReasonHandlerPanic DisconnectReason = "handler panic"
)

// recoverable reports whether a socket that left for this reason may recover
// its state on reconnection.
func (r DisconnectReason) recoverable() bool {
	switch r {
	case ReasonTransportError, ReasonTransportClose, ReasonForcedClose,
		ReasonPingTimeout, ReasonServerShuttingDown, ReasonForcedServerClose:
		return true
	}
	return false
}

// DisconnectEvent describes the end of a socket.
type DisconnectEvent struct {
	Reason DisconnectReason
	// Err is the underlying error, if any (for example a transport error).
	Err error
	// Rooms lists the rooms the socket was in. The socket has already left
	// them when the handlers run.
	Rooms []string
}

// HandlerPanicError is passed to Socket.OnError handlers when a handler of
// the socket panics.
type HandlerPanicError struct {
	Event string
	Value any
	Stack []byte
}

func (e *HandlerPanicError) Error() string {
	return fmt.Sprintf("socketio: handler of %q panicked: %v", e.Event, e.Value)
}
