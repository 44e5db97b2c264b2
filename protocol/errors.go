package protocol

import "errors"

// ErrInvalidPacket is the parent of every decoding error: for any error err
// returned by Decoder.Decode, errors.Is(err, ErrInvalidPacket) holds. A peer
// that sends an invalid packet breaks the protocol; the official server
// closes its connection.
var ErrInvalidPacket = errors.New("protocol: invalid packet")

// The decoding errors. Each one wraps ErrInvalidPacket; ErrReservedEvent also
// wraps ErrInvalidPayload.
var (
	// ErrUnknownType: the first character is not a packet type 0 to 6.
	ErrUnknownType error = &codecError{"protocol: unknown packet type", ErrInvalidPacket}
	// ErrInvalidPayload: the payload is not valid JSON, has trailing bytes,
	// or is not of the kind its packet type requires.
	ErrInvalidPayload error = &codecError{"protocol: invalid payload", ErrInvalidPacket}
	// ErrInvalidAckID: the acknowledgement id does not fit in a uint64.
	ErrInvalidAckID error = &codecError{"protocol: invalid ack id", ErrInvalidPacket}
	// ErrTooManyAttachments: a binary packet announces more attachments than
	// Decoder.MaxAttachments.
	ErrTooManyAttachments error = &codecError{"protocol: too many attachments", ErrInvalidPacket}
	// ErrIllegalAttachments: the attachment count is malformed, or a
	// placeholder is malformed or refers to a missing attachment.
	ErrIllegalAttachments error = &codecError{"protocol: illegal attachments", ErrInvalidPacket}
	// ErrUnexpectedBinary: a binary message arrived while no binary packet
	// was waiting for attachments.
	ErrUnexpectedBinary error = &codecError{"protocol: unexpected binary message", ErrInvalidPacket}
	// ErrUnexpectedText: a text message arrived while a binary packet was
	// still waiting for attachments.
	ErrUnexpectedText error = &codecError{"protocol: unexpected text message while awaiting attachments", ErrInvalidPacket}
	// ErrReservedEvent: an EVENT names one of the reserved events (see
	// IsReservedEvent).
	ErrReservedEvent error = &codecError{"protocol: reserved event name", ErrInvalidPayload}
)

// codecError is a sentinel error with a parent, so that errors.Is matches
// both the error itself and its parent chain.
type codecError struct {
	msg    string
	parent error
}

func (e *codecError) Error() string { return e.msg }
func (e *codecError) Unwrap() error { return e.parent }
