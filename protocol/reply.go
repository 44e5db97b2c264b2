package protocol

import (
	"bytes"
	"errors"
)

// ErrorCode classifies an Error. Applications may use their own codes
// beside the ones below.
type ErrorCode string

// The codes the server and the client use themselves.
const (
	// CodeInvalidArgument: an argument could not be decoded into the
	// handler's type, or failed its validation.
	CodeInvalidArgument ErrorCode = "invalid_argument"
	// CodeRateLimited: the peer sent more than it is allowed to.
	CodeRateLimited ErrorCode = "rate_limited"
	// CodeInternal: the handler failed with an error not meant for the
	// peer; its text stays in the process.
	CodeInternal ErrorCode = "internal"
)

// Error is an error meant for the peer: a handler, a packet middleware or
// a validation returns it, and the acknowledgement carries its Code,
// Message and Data (see ErrorReply). Err, the cause, stays in the process.
type Error struct {
	Code    ErrorCode
	Message string
	// Data is sent as JSON, with its byte slices as attachments.
	Data any
	// Err is the underlying error, for the server's logs and errors.Is; it
	// is never sent.
	Err error
}

// Error returns the code, the message and the cause.
func (e *Error) Error() string {
	s := string(e.Code)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// CodeOf returns the code of the *Error in err's chain, or "" when there is
// none.
func CodeOf(err error) ErrorCode {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// ErrorReply returns the acknowledgement argument that reports err to the
// peer, in the shape of JSON-RPC's error object:
//
//	{"error":{"code":"invalid_argument","message":"argument 0: field \"room\": expected string, got number"}}
//
// with "data" when the *Error has Data. An err that is not an *Error (nor
// wraps one) is reported as {"error":{"code":"internal","message":"internal
// error"}}: its text, which may name Go types, packages or internal state,
// is not sent.
func ErrorReply(err error) any {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: CodeInternal, Message: "internal error"}
	}
	return errorReply{errorBody{Code: e.Code, Message: e.Message, Data: e.Data}}
}

type errorReply struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code    ErrorCode `json:"code"`
	Message string    `json:"message"`
	Data    any       `json:"data,omitempty"`
}

// ReplyError returns the *Error that an acknowledgement's arguments carry
// in ErrorReply's shape: a first argument that is an object with the only
// key "error", whose value has a string "code". It returns nil for any
// other reply.
func ReplyError(a Args) *Error {
	raw := trimSpace(a.Raw(0))
	if len(raw) < len(`{"error":{}}`) || raw[0] != '{' || !bytes.Contains(raw, []byte(`"error"`)) {
		return nil
	}
	var reply struct {
		Error *struct {
			Code    *ErrorCode `json:"code"`
			Message string     `json:"message"`
			Data    any        `json:"data"`
		} `json:"error"`
	}
	var keys map[string]any
	if a.Decode(0, &keys) != nil || len(keys) != 1 || a.Decode(0, &reply) != nil ||
		reply.Error == nil || reply.Error.Code == nil {
		return nil
	}
	return &Error{Code: *reply.Error.Code, Message: reply.Error.Message, Data: reply.Error.Data}
}
