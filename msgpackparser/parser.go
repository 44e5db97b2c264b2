// Package msgpackparser is the wire format of socket.io-msgpack-parser
// (version 3, for Socket.IO protocol 5): every packet travels as one binary
// Engine.IO message holding the MessagePack encoding of the packet object
// {type, data, id, nsp}, binary values included as MessagePack bin, with
// no attachments.
//
// Use it on both ends, like the official parser option:
//
//	srv := socketio.NewServer(&socketio.Config{Parser: msgpackparser.Parser})
//	m := sioclient.NewManager(url, &sioclient.Config{Parser: msgpackparser.Parser})
//
// and in JavaScript, io(url, { parser: require("socket.io-msgpack-parser") }),
// or the browser bundle socket.io.msgpack.min.js, which the server serves.
//
// Above the parser nothing changes: handlers receive the same arguments
// (JSON elements, binary values as attachments) as with the JSON parser.
// Values are converted with JavaScript's semantics so that the bytes match
// the official encoder's: integral numbers are MessagePack integers, object
// keys come in JavaScript's order, Dates arrive as their ISO 8601 string.
//
// The decoder checks packets as the official one does, and also refuses an
// EVENT that names a reserved event (the official msgpack parser lets a
// client emit "disconnect" to the server's own listeners) and a negative
// acknowledgement id.
package msgpackparser

import (
	"errors"
	"fmt"

	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/internal/cluster/wire"
	"github.com/sio-go/socketio/protocol"
)

// Parser is the msgpack parser, for socketio.Config.Parser and
// sioclient.Config.Parser.
var Parser protocol.Parser = parser{}

// ErrTextMessage is returned by a decoder given a text message: every
// packet of this format is binary. It wraps protocol.ErrInvalidPacket.
var ErrTextMessage = fmt.Errorf("%w: text message, want msgpack", protocol.ErrInvalidPacket)

type parser struct{}

// Encode returns one binary message. It fails only on a payload that is
// not valid JSON or is nested more than 1000 deep.
func (parser) Encode(p *protocol.Packet) ([]engineio.Message, error) {
	data, err := wire.AppendParserPacket(make([]byte, 0, 16+len(p.Namespace)+len(p.Data)), p)
	if err != nil {
		return nil, err
	}
	return []engineio.Message{{Data: data, Binary: true}}, nil
}

// NewDecoder returns a decoder, which keeps no state: each message is a
// packet. maxAttachments is not applied, as the official parser sets no
// bound on the binary values of a packet; the size of the message bounds
// them (engineio.Config.MaxMessageBytes).
func (parser) NewDecoder(int) protocol.PacketDecoder { return decoder{} }

type decoder struct{}

func (decoder) Decode(data []byte, binary bool) (*protocol.Packet, error) {
	if !binary {
		return nil, ErrTextMessage
	}
	p, err := wire.DecodeParserPacket(data)
	if err != nil {
		return nil, &decodeError{err}
	}
	if err := protocol.Check(p); err != nil {
		return nil, err
	}
	return p, nil
}

// decodeError is a malformed message: its text is the cause's, and it
// matches protocol.ErrInvalidPacket.
type decodeError struct{ err error }

func (e *decodeError) Error() string { return "msgpackparser: " + e.err.Error() }

func (e *decodeError) Is(target error) bool {
	return target == protocol.ErrInvalidPacket || errors.Is(e.err, target)
}
