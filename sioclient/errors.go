package sioclient

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sio-go/socketio/protocol"
)

var (
	// ErrReservedEvent is returned when emitting an event whose name is
	// reserved by the protocol ("connect", "connect_error", "disconnect",
	// "disconnecting", "newListener", "removeListener").
	ErrReservedEvent = errors.New("sioclient: reserved event name")
	// ErrBufferFull is returned by Emit while the socket is disconnected and
	// its send buffer already holds SocketConfig.MaxBufferBytes bytes: the
	// event is not sent.
	ErrBufferFull = errors.New("sioclient: send buffer full")
	// ErrDisconnected is returned while waiting for an acknowledgement when
	// the connection ended after the event was sent (the official client's
	// "socket has been disconnected").
	ErrDisconnected = errors.New("sioclient: socket has been disconnected")
	// ErrClosed is returned for operations on a socket or manager closed by
	// Close.
	ErrClosed = errors.New("sioclient: closed")
	// ErrAckTimeout is returned when no acknowledgement arrived within
	// SocketConfig.AckTimeout (the official client's "operation has timed
	// out").
	ErrAckTimeout = errors.New("sioclient: operation has timed out")
	// ErrReconnectFailed is returned by Connect when
	// Config.ReconnectionAttempts attempts failed, or when the first one
	// failed with reconnection disabled.
	ErrReconnectFailed = errors.New("sioclient: reconnection failed")
	// ErrHandlerQueueFull ends a connection on which an event arrived for
	// a socket whose handlers already had Config.HardMaxPendingEvents
	// events waiting (the DisconnectEvent's Err wraps it).
	ErrHandlerQueueFull = errors.New("sioclient: handler queue full")
	// ErrAckSent is returned by an AckFunc called more than once.
	ErrAckSent = errors.New("sioclient: acknowledgement already sent")
)

// Error is an error meant for the peer: a typed handler returns it and
// the acknowledgement carries its Code, Message and Data; Call returns the
// one a server's acknowledgement carries. It is the server package's
// Error.
type Error = protocol.Error

// ErrorCode classifies an Error.
type ErrorCode = protocol.ErrorCode

// The codes of the server package.
const (
	CodeInvalidArgument = protocol.CodeInvalidArgument
	CodeRateLimited     = protocol.CodeRateLimited
	CodeInternal        = protocol.CodeInternal
)

// CodeOf returns the code of the *Error in err's chain, or "".
func CodeOf(err error) ErrorCode { return protocol.CodeOf(err) }

// ErrorReply is the default of Config.ErrorReply; see protocol.ErrorReply.
func ErrorReply(err error) any { return protocol.ErrorReply(err) }

// ConnectError is a connection the server refused with a CONNECT_ERROR
// packet, for example from a middleware. The socket is not reconnected to
// the namespace by itself.
type ConnectError struct {
	// Message is the server's message, such as "Invalid namespace".
	Message string
	// Data is the server's data as raw JSON, nil when absent.
	Data json.RawMessage
}

func (e *ConnectError) Error() string { return "sioclient: connection refused: " + e.Message }

// parseConnectError reads the payload of a CONNECT_ERROR packet: an object
// {"message","data"} or, from old servers, a string.
func parseConnectError(data []byte) *ConnectError {
	var obj struct {
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	}
	if json.Unmarshal(data, &obj) == nil {
		return &ConnectError{Message: obj.Message, Data: obj.Data}
	}
	var s string
	if json.Unmarshal(data, &s) == nil {
		return &ConnectError{Message: s}
	}
	return &ConnectError{Message: string(data)}
}

// DisconnectReason tells why a socket was disconnected: one of the reasons
// of the official client.
type DisconnectReason string

const (
	// ReasonServerDisconnect: the server disconnected the socket. No
	// reconnection.
	ReasonServerDisconnect DisconnectReason = "io server disconnect"
	// ReasonClientDisconnect: Close was called. No reconnection.
	ReasonClientDisconnect DisconnectReason = "io client disconnect"
	// ReasonPingTimeout: no ping arrived in time. Reconnects.
	ReasonPingTimeout DisconnectReason = "ping timeout"
	// ReasonTransportClose: the connection was closed. Reconnects.
	ReasonTransportClose DisconnectReason = "transport close"
	// ReasonTransportError: the connection failed. Reconnects.
	ReasonTransportError DisconnectReason = "transport error"
	// ReasonParseError: the server sent an invalid packet. Reconnects.
	ReasonParseError DisconnectReason = "parse error"
	// ReasonHandlerQueueFull: the client closed the connection because the
	// handlers of a socket had Config.HardMaxPendingEvents events waiting.
	// Reconnects. (Not a reason of the official client, which has no
	// bound.)
	ReasonHandlerQueueFull DisconnectReason = "handler queue full"
)

// WillReconnect reports whether the client reconnects by itself after a
// disconnection for this reason (when reconnection is enabled).
func (r DisconnectReason) WillReconnect() bool {
	return r != ReasonServerDisconnect && r != ReasonClientDisconnect
}

// DisconnectEvent describes a disconnection.
type DisconnectEvent struct {
	Reason DisconnectReason
	// Err is the underlying error, if any.
	Err error
}

// HandlerPanicError is passed to OnError handlers when a handler panicked.
type HandlerPanicError struct {
	Event string
	Value any
}

func (e *HandlerPanicError) Error() string {
	return fmt.Sprintf("sioclient: handler of %q panicked: %v", e.Event, e.Value)
}
