package engineio

import (
	"encoding/base64"
	"errors"
)

// packetType is an Engine.IO packet type, sent as one ASCII digit.
type packetType byte

const (
	packetOpen    packetType = '0'
	packetClose   packetType = '1'
	packetPing    packetType = '2'
	packetPong    packetType = '3'
	packetMessage packetType = '4'
	packetUpgrade packetType = '5'
	packetNoop    packetType = '6'
)

// recordSeparator joins packets in a polling payload.
const recordSeparator = '\x1e'

// errParse is returned for any malformed packet or payload.
var errParse = errors.New("engineio: parse error")

// packet is one Engine.IO packet. For a binary message, data holds the raw
// bytes; for every other packet, the text after the type digit.
type packet struct {
	typ    packetType
	data   []byte
	binary bool
}

// size is the number of bytes the packet accounts for in a queue.
func (p *packet) size() int { return len(p.data) + 1 }

// decodeText decodes a text packet "<type><data>". The returned packet's
// data aliases b.
func decodeText(b []byte) (packet, error) {
	if len(b) == 0 || b[0] < '0' || b[0] > '6' {
		return packet{}, errParse
	}
	return packet{typ: packetType(b[0]), data: b[1:]}, nil
}

// appendPayloadPacket appends p in its polling form: the text form, or "b"
// and base64 for binary messages.
func appendPayloadPacket(dst []byte, p *packet) []byte {
	if p.binary {
		dst = append(dst, 'b')
		return base64.StdEncoding.AppendEncode(dst, p.data)
	}
	dst = append(dst, byte(p.typ))
	return append(dst, p.data...)
}

// appendPayload appends the polling payload of packets, joined by the record
// separator.
func appendPayload(dst []byte, packets []packet) []byte {
	for i := range packets {
		if i > 0 {
			dst = append(dst, recordSeparator)
		}
		dst = appendPayloadPacket(dst, &packets[i])
	}
	return dst
}

// decodePayload decodes a polling payload and calls fn for every packet in
// order, stopping at the first malformed one (errParse) or when fn returns
// false. Text packets' data aliases b; binary packets get fresh slices.
func decodePayload(b []byte, fn func(packet) bool) error {
	for {
		end := 0
		for end < len(b) && b[end] != recordSeparator {
			end++
		}
		chunk := b[:end]
		if end < len(b) {
			b = b[end+1:]
		} else {
			b = nil
		}
		var p packet
		if len(chunk) > 0 && chunk[0] == 'b' {
			data := make([]byte, base64.StdEncoding.DecodedLen(len(chunk)-1))
			n, err := base64.StdEncoding.Decode(data, chunk[1:])
			if err != nil {
				return errParse
			}
			p = packet{typ: packetMessage, data: data[:n], binary: true}
		} else {
			var err error
			if p, err = decodeText(chunk); err != nil {
				return err
			}
		}
		if !fn(p) {
			return nil
		}
		if b == nil {
			return nil
		}
	}
}
