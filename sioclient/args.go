package sioclient

import (
	"context"

	"github.com/sio-go/socketio/protocol"
)

// Args are the arguments of a received event or acknowledgement, kept as
// received: raw JSON elements, in which binary values are placeholders that
// refer to the attachments. It is the type the server package uses too; see
// protocol.Args for its methods.
type Args = protocol.Args

// AckFunc acknowledges a received event. The arguments are encoded like
// those of Emit. Only the first call sends anything; later calls return
// ErrAckSent.
type AckFunc = func(args ...any) error

// RawHandler handles an event with its arguments as received. ack is nil when
// the server did not ask for an acknowledgement.
type RawHandler func(ctx context.Context, args Args, ack AckFunc)
