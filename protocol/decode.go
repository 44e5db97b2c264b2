package protocol

import (
	"bytes"
	"math"
)

// DefaultMaxAttachments is the attachment limit of a zero Decoder, as in the
// official decoder.
const DefaultMaxAttachments = 10

// Decoder reassembles packets from the Engine.IO messages of one connection:
// the text form of a packet, then, for a binary packet, its attachments as
// binary messages. The zero value is ready to use. A Decoder is not safe for
// concurrent use.
//
// The packets it returns share memory with the messages given to Decode:
// Data is a sub-slice of the text message and each attachment is the binary
// message itself. Do not modify a message after passing it to Decode.
type Decoder struct {
	// MaxAttachments is the largest attachment count a binary packet may
	// announce. 0 means DefaultMaxAttachments; a negative value allows none.
	MaxAttachments int

	pending *Packet // binary packet awaiting attachments
	want    int     // attachments it announced
	nsp     string  // last namespace seen, reused to avoid allocating
}

// Decode feeds one Engine.IO message to the decoder. It returns the
// completed packet, or (nil, nil) while the attachments of a binary packet
// are awaited. Any error wraps ErrInvalidPacket and resets the decoder; a
// peer that sends an invalid packet should be disconnected.
func (d *Decoder) Decode(data []byte, binary bool) (*Packet, error) {
	if binary {
		p := d.pending
		if p == nil {
			return nil, ErrUnexpectedBinary
		}
		p.Attachments = append(p.Attachments, data)
		if len(p.Attachments) < d.want {
			return nil, nil
		}
		d.Reset()
		return p, nil
	}
	if d.pending != nil {
		d.Reset()
		return nil, ErrUnexpectedText
	}
	p, n, err := d.parse(data)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		p.Attachments = make([][]byte, 0, n)
		d.pending, d.want = p, n
		return nil, nil
	}
	return p, nil
}

// Reset drops any packet awaiting attachments.
func (d *Decoder) Reset() {
	d.pending, d.want = nil, 0
}

// Pending reports whether a binary packet is awaiting attachments.
func (d *Decoder) Pending() bool { return d.pending != nil }

func (d *Decoder) maxAttachments() int {
	switch {
	case d.MaxAttachments == 0:
		return DefaultMaxAttachments
	case d.MaxAttachments < 0:
		return 0
	}
	return d.MaxAttachments
}

// parse decodes the text form of a packet and returns the number of
// attachments it announces.
func (d *Decoder) parse(b []byte) (*Packet, int, error) {
	if len(b) == 0 || b[0] < '0' || b[0] > '0'+byte(BinaryAck) {
		return nil, 0, ErrUnknownType
	}
	t := PacketType(b[0] - '0')
	i := 1

	n := 0
	if t.IsBinary() {
		max := d.maxAttachments()
		start, tooMany := i, false
		for ; i < len(b) && isDigit(b[i]); i++ {
			if c := int(b[i] - '0'); n > (max-c)/10 {
				tooMany = true
			} else {
				n = n*10 + c
			}
		}
		if i == start || i == len(b) || b[i] != '-' {
			return nil, 0, ErrIllegalAttachments
		}
		if tooMany || n > max {
			return nil, 0, ErrTooManyAttachments
		}
		i++
	}

	nsp := "/"
	if i < len(b) && b[i] == '/' {
		end := len(b)
		if j := bytes.IndexByte(b[i:], ','); j >= 0 {
			end = i + j
		}
		nsp = d.namespace(b[i:end])
		i = min(end+1, len(b))
	}

	var id uint64
	hasID := i < len(b) && isDigit(b[i])
	for ; i < len(b) && isDigit(b[i]); i++ {
		c := uint64(b[i] - '0')
		if id > (math.MaxUint64-c)/10 {
			return nil, 0, ErrInvalidAckID
		}
		id = id*10 + c
	}

	data := trimSpace(b[i:])
	if len(data) == 0 {
		data = nil
	}
	if err := checkPayload(t, data, n); err != nil {
		return nil, 0, err
	}
	return &Packet{Type: t, Namespace: nsp, ID: id, HasID: hasID, Data: data}, n, nil
}

// namespace returns b as a string, reusing the previous one when equal:
// a connection tends to use the same few namespaces.
func (d *Decoder) namespace(b []byte) string {
	if len(b) == 1 {
		return "/"
	}
	if string(b) != d.nsp {
		d.nsp = string(b)
	}
	return d.nsp
}

// checkPayload applies the rules of the official decoder: CONNECT carries an
// object or nothing, DISCONNECT nothing, CONNECT_ERROR a string or an object,
// EVENT an array whose first element is a number or a non-reserved string,
// ACK an array. Placeholders of a binary packet must refer to one of its
// attachments.
func checkPayload(t PacketType, data []byte, attachments int) error {
	if data == nil {
		if t == Connect || t == Disconnect {
			return nil
		}
		return ErrInvalidPayload
	}
	ok := false
	switch data[0] {
	case '{':
		ok = t == Connect || t == ConnectError
	case '"':
		ok = t == ConnectError
	case '[':
		ok = t == Event || t == Ack || t.IsBinary()
	}
	if !ok {
		return ErrInvalidPayload
	}
	s := scanner{data: data, ph: t.IsBinary(), limit: attachments}
	if err := s.all(); err != nil {
		return err
	}
	if t == Event || t == BinaryEvent {
		return checkEventName(data)
	}
	return nil
}

// checkEventName checks the first element of a valid JSON array.
func checkEventName(data []byte) error {
	s := scanner{data: data, i: 1}
	s.skipSpace()
	switch c := data[s.i]; {
	case c == '-' || isDigit(c):
		return nil
	case c == '"':
		start := s.i
		_ = s.str() // valid: the whole array was scanned
		raw := data[start:s.i]
		reserved := false
		if body := raw[1 : len(raw)-1]; bytes.IndexByte(body, '\\') < 0 {
			reserved = IsReservedEvent(string(body)) // no allocation
		} else {
			name, err := unquote(raw)
			if err != nil {
				return err
			}
			reserved = IsReservedEvent(name)
		}
		if reserved {
			return ErrReservedEvent
		}
		return nil
	}
	return ErrInvalidPayload
}

// IsReservedEvent reports whether name has a special meaning for Socket.IO
// and may not be used as an event name: connect, connect_error, disconnect,
// disconnecting, newListener and removeListener.
func IsReservedEvent(name string) bool {
	switch name {
	case "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener":
		return true
	}
	return false
}
