package protocol

import "github.com/sio-go/socketio/engineio"

// A Parser turns packets into the Engine.IO messages that carry them, and
// back. Both ends of a connection must use the same one. JSON, the
// default, is the format of the official socket.io-parser; package
// msgpackparser provides the one of socket.io-msgpack-parser.
//
// Whatever the wire format, a Packet holds its payload as JSON text with a
// placeholder for each binary value and the binary values as Attachments:
// a parser converts between that form and its own, so that handlers,
// broadcasts, adapters and session stores work with every parser alike.
// A Parser must be safe for concurrent use.
type Parser interface {
	// Encode returns the messages that carry p, in the order they must be
	// sent. The messages may share memory with p.
	Encode(p *Packet) ([]engineio.Message, error)

	// NewDecoder returns a decoder for the messages of one connection.
	// maxAttachments bounds the binary values of one packet, as
	// Decoder.MaxAttachments does.
	NewDecoder(maxAttachments int) PacketDecoder
}

// A PacketDecoder turns the messages of one connection into packets. It
// need not be safe for concurrent use.
type PacketDecoder interface {
	// Decode feeds one Engine.IO message to the decoder. It returns the
	// completed packet, or (nil, nil) while more messages are needed. Any
	// error wraps ErrInvalidPacket: the peer broke the protocol and its
	// connection should be closed.
	Decode(data []byte, binary bool) (*Packet, error)
}

// JSON is the default parser, the text format of socket.io-parser: a text
// message per packet followed by one binary message per attachment (see
// the package documentation).
var JSON Parser = jsonParser{}

type jsonParser struct{}

// Encode writes the text form of p, then its attachments.
func (jsonParser) Encode(p *Packet) ([]engineio.Message, error) {
	text := p.AppendEncode(make([]byte, 0, 16+len(p.Namespace)+len(p.Data)))
	msgs := make([]engineio.Message, 1+len(p.Attachments))
	msgs[0] = engineio.Message{Data: text}
	for i, a := range p.Attachments {
		msgs[i+1] = engineio.Message{Data: a, Binary: true}
	}
	return msgs, nil
}

// NewDecoder returns a *Decoder.
func (jsonParser) NewDecoder(maxAttachments int) PacketDecoder {
	return &Decoder{MaxAttachments: maxAttachments}
}

// Check validates a packet decoded by a parser other than JSON as the JSON
// decoder validates its own: the payload is valid JSON of the kind the
// packet type requires (see Decoder), an EVENT does not name a reserved
// event, and every placeholder of a binary packet refers to one of its
// attachments. Its errors are those of Decoder.Decode.
func Check(p *Packet) error {
	if !p.Type.Valid() {
		return ErrUnknownType
	}
	return checkPayload(p.Type, p.Data, len(p.Attachments))
}
