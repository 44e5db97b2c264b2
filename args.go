package socketio

import (
	"context"
	"encoding/json"

	"github.com/sio-go/socketio/protocol"
)

// Args are the arguments of a received event or acknowledgement, kept as
// received: raw JSON elements, in which binary values are placeholders that
// refer to the attachments. See protocol.Args for its methods.
type Args = protocol.Args

// NewArgs returns Args made of JSON elements and the binary attachments their
// placeholders refer to. Adapters use it to hand values received from other
// servers to the namespace.
func NewArgs(elems []json.RawMessage, attachments [][]byte) Args {
	return protocol.NewArgs(elems, attachments)
}

// AckFunc acknowledges a received event. The arguments are encoded like
// those of Emit. Only the first call sends anything; later calls return
// ErrAckSent.
type AckFunc = func(args ...any) error

// RawHandler handles an event with its arguments as received. ack is nil when
// the client did not ask for an acknowledgement.
type RawHandler func(ctx context.Context, args Args, ack AckFunc)
