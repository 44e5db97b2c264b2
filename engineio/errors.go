package engineio

import (
	"errors"
	"net/http"
	"strconv"
)

// ErrorCode is an Engine.IO handshake error code, sent to clients in the JSON
// body {"code":N,"message":"..."}.
type ErrorCode int

// The official error codes.
const (
	ErrUnknownTransport    ErrorCode = 0 // "Transport unknown"
	ErrUnknownSID          ErrorCode = 1 // "Session ID unknown"
	ErrBadHandshakeMethod  ErrorCode = 2 // "Bad handshake method"
	ErrBadRequest          ErrorCode = 3 // "Bad request"
	ErrForbidden           ErrorCode = 4 // "Forbidden"
	ErrUnsupportedProtocol ErrorCode = 5 // "Unsupported protocol version"
)

var errorMessages = [...]string{
	"Transport unknown",
	"Session ID unknown",
	"Bad handshake method",
	"Bad request",
	"Forbidden",
	"Unsupported protocol version",
}

// String returns the official message of the code.
func (c ErrorCode) String() string {
	if c >= 0 && int(c) < len(errorMessages) {
		return errorMessages[c]
	}
	return "ErrorCode(" + strconv.Itoa(int(c)) + ")"
}

// ConnectionError describes a request the server refused. It is passed to
// Config.OnConnectionError.
type ConnectionError struct {
	Request *http.Request
	Code    ErrorCode
	// Message is the message sent to the client: the code's official text,
	// or for ErrForbidden the text of the AllowRequest error.
	Message string
	// Context names the precise cause for ErrBadRequest, as in Node:
	// "INVALID_ORIGIN", "TRANSPORT_MISMATCH", "TRANSPORT_HANDSHAKE_ERROR",
	// "ID_GENERATION_ERROR", "PROTOCOL_MISMATCH" (a request whose EIO
	// parameter is not its session's protocol). Empty otherwise.
	Context string
}

func (e *ConnectionError) Error() string {
	s := "engineio: " + e.Message
	if e.Context != "" {
		s += " (" + e.Context + ")"
	}
	return s
}

// CloseReason tells why a session ended.
type CloseReason string

// The close reasons of the official server, plus ReasonSlowConsumer.
const (
	ReasonTransportError CloseReason = "transport error"
	ReasonTransportClose CloseReason = "transport close"
	ReasonForcedClose    CloseReason = "forced close"
	ReasonPingTimeout    CloseReason = "ping timeout"
	ReasonParseError     CloseReason = "parse error"
	// ReasonSlowConsumer ends a session whose client did not keep up with
	// what was sent to it (Config.MaxQueueBytes, SlowConsumerTimeout,
	// MaxTotalQueueBytes). The official server has no bound and no reason.
	ReasonSlowConsumer CloseReason = "slow consumer"
)

var (
	// ErrClosed is returned by Send on a closed session.
	ErrClosed = errors.New("engineio: session closed")
	// ErrSlowConsumer is returned by Send when the session's client does
	// not keep up (see ReasonSlowConsumer); the session is then closed.
	ErrSlowConsumer = errors.New("engineio: outbound queue full, client too slow")
	// ErrDropped is returned by SendVolatile when the transport was busy and
	// the messages were dropped.
	ErrDropped = errors.New("engineio: volatile message dropped")
	// ErrServerClosed is returned for requests after Shutdown.
	ErrServerClosed = errors.New("engineio: server closed")
)
