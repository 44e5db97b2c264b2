package protocol

import (
	"encoding/json"
	"strconv"
)

// PacketType is the type of a Socket.IO packet, the first character of its
// text form.
type PacketType uint8

// The packet types of protocol version 5.
const (
	Connect      PacketType = iota // 0: connect to a namespace, or the server's reply
	Disconnect                     // 1: leave a namespace
	Event                          // 2: an event; its payload is [name, args...]
	Ack                            // 3: the acknowledgement of an event; its payload is [args...]
	ConnectError                   // 4: the server refused a connection to a namespace
	BinaryEvent                    // 5: an Event with binary attachments
	BinaryAck                      // 6: an Ack with binary attachments
)

var typeNames = [...]string{
	"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK",
}

// String returns the name used by the specification, such as "BINARY_EVENT".
func (t PacketType) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "PacketType(" + strconv.Itoa(int(t)) + ")"
}

// Valid reports whether t is one of the seven packet types.
func (t PacketType) Valid() bool { return t <= BinaryAck }

// IsBinary reports whether t is BinaryEvent or BinaryAck.
func (t PacketType) IsBinary() bool { return t == BinaryEvent || t == BinaryAck }

// Packet is one Socket.IO packet.
//
// A decoded packet keeps its wire type: a BinaryEvent stays a BinaryEvent,
// even with zero attachments, so that handlers test for both Event and
// BinaryEvent (or both Ack and BinaryAck).
type Packet struct {
	Type PacketType
	// Namespace starts with "/". The decoder sets "/" when the packet names
	// none; the encoder omits it when it is "" or "/". It must not contain
	// a comma.
	Namespace string
	// ID is the acknowledgement id, meaningful when HasID is set.
	ID    uint64
	HasID bool
	// Data is the JSON payload, nil when absent. In a binary packet it holds
	// a placeholder {"_placeholder":true,"num":N} in place of each
	// attachment (see InlineAttachments and Placeholder).
	Data json.RawMessage
	// Attachments are the binary attachments of a BinaryEvent or BinaryAck,
	// in placeholder order. They travel as separate binary Engine.IO
	// messages after the text form.
	Attachments [][]byte
}

// AppendEncode appends the text form of p,
//
//	<type>[<attachments>-][<namespace>,][<id>][<json>]
//
// without the Engine.IO message prefix "4". For a binary type the
// attachment count written is len(p.Attachments); an Event or Ack with
// attachments is written as a BinaryEvent or BinaryAck, as the official
// encoder does. p.Type must be valid. The attachments themselves are not written: send each one
// as a binary message after the text. Data is written verbatim and is not
// validated. AppendEncode does not allocate when dst has room.
func (p *Packet) AppendEncode(dst []byte) []byte {
	t := p.Type
	n := len(p.Attachments)
	if n > 0 {
		switch t {
		case Event:
			t = BinaryEvent
		case Ack:
			t = BinaryAck
		}
	}
	dst = append(dst, '0'+byte(t))
	if t.IsBinary() {
		dst = strconv.AppendUint(dst, uint64(n), 10)
		dst = append(dst, '-')
	}
	if p.Namespace != "" && p.Namespace != "/" {
		dst = append(dst, p.Namespace...)
		dst = append(dst, ',')
	}
	if p.HasID {
		dst = strconv.AppendUint(dst, p.ID, 10)
	}
	return append(dst, p.Data...)
}

// Encode returns the text form of p in a new slice; see AppendEncode.
func (p *Packet) Encode() []byte {
	// type + count + '-' + namespace + ',' + id
	n := 1 + 20 + 1 + len(p.Namespace) + 1 + 20 + len(p.Data)
	return p.AppendEncode(make([]byte, 0, n))
}
