package wire

import (
	"fmt"
	"math"

	"github.com/sio-go/socketio/protocol"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// The packets of socket.io-msgpack-parser: each packet is the notepack
// encoding of the packet object itself, {type, data, id, nsp}, in one
// binary Engine.IO message; binary values are msgpack bin inside data, not
// attachments. Its packet types are 0 to 4: a packet with binary values
// keeps the type EVENT or ACK.

// AppendParserPacket appends the msgpack form of p as
// socket.io-msgpack-parser writes it: a map of type, data (left out when p
// has none), id (when p.HasID) and nsp. The placeholders of p.Data become
// bin values holding its attachments.
func AppendParserPacket(dst []byte, p *protocol.Packet) ([]byte, error) {
	return withEncoder(dst, func(enc *msgpack.Encoder) error {
		n := 2
		if p.Data != nil {
			n++
		}
		if p.HasID {
			n++
		}
		if err := enc.EncodeMapLen(n); err != nil {
			return err
		}
		if err := encodeKeyInt(enc, "type", int64(plainType(p.Type))); err != nil {
			return err
		}
		if p.Data != nil {
			if err := enc.EncodeString("data"); err != nil {
				return err
			}
			ve := valueEncoder{enc: enc, atts: p.Attachments}
			if err := ve.encode(p.Data); err != nil {
				return err
			}
		}
		if p.HasID {
			if err := enc.EncodeString("id"); err != nil {
				return err
			}
			if err := enc.EncodeUint(p.ID); err != nil {
				return err
			}
		}
		nsp := p.Namespace
		if nsp == "" {
			nsp = "/"
		}
		return encodeKeyString(enc, "nsp", nsp)
	})
}

// DecodeParserPacket decodes a packet written by socket.io-msgpack-parser
// and checks it as that parser does: type is an integer from 0 to 4, nsp a
// string, id absent or an integer (here also not negative), and data of the
// kind the type requires: absent or a map for CONNECT, absent for
// DISCONNECT, a string or a map for CONNECT_ERROR, an array otherwise.
// Other keys are ignored. Binary values become attachments, and an EVENT or
// ACK that has some becomes a BinaryEvent or BinaryAck. The errors wrap
// ErrMalformed.
func DecodeParserPacket(msg []byte) (*protocol.Packet, error) {
	p := new(protocol.Packet)
	var typ, id any
	var hasType, hasNsp, hasData, hasID bool
	var dataCode byte
	err := withDecoder(msg, func(dec *msgpack.Decoder) error {
		c, err := dec.PeekCode()
		if err != nil {
			return err
		}
		if !msgpcode.IsFixedMap(c) && c != msgpcode.Map16 && c != msgpcode.Map32 {
			return fmt.Errorf("%w: packet is not a map", ErrMalformed)
		}
		return eachKey(dec, func(key string) error {
			switch key {
			case "type":
				hasType = true
				typ, err = decodeScalar(dec)
				return err
			case "nsp":
				c, err := dec.PeekCode()
				if err != nil {
					return err
				}
				if !msgpcode.IsString(c) {
					hasNsp = false
					return dec.Skip()
				}
				hasNsp = true
				p.Namespace, err = dec.DecodeString()
				return err
			case "id":
				c, err := dec.PeekCode()
				if err != nil {
					return err
				}
				if c == msgpcode.FixExt1 { // undefined is no id
					d := valueDecoder{dec: dec}
					undef, err := d.value(0)
					hasID, id = !undef, object{}
					return err
				}
				hasID = true
				id, err = decodeScalar(dec)
				return err
			case "data":
				if dataCode, err = dec.PeekCode(); err != nil {
					return err
				}
				d := valueDecoder{dec: dec}
				undef, err := d.value(0)
				if err != nil {
					return err
				}
				hasData = !undef
				if undef {
					p.Data, p.Attachments = nil, nil
				} else {
					p.Data, p.Attachments = d.out, d.atts
				}
				return nil
			}
			return dec.Skip()
		})
	})
	if err != nil {
		return nil, err
	}
	t, ok := number(typ)
	if !hasType || !ok || t != math.Trunc(t) || t < 0 || t > float64(protocol.ConnectError) {
		return nil, fmt.Errorf("%w: invalid packet type", ErrMalformed)
	}
	p.Type = protocol.PacketType(t)
	if !hasNsp {
		return nil, fmt.Errorf("%w: invalid namespace", ErrMalformed)
	}
	if !dataValid(p.Type, hasData, dataCode) {
		return nil, fmt.Errorf("%w: invalid payload", ErrMalformed)
	}
	if hasID {
		n, ok := number(id)
		if !ok || n != math.Trunc(n) || n < 0 || n >= 1<<64 {
			return nil, fmt.Errorf("%w: invalid packet id", ErrMalformed)
		}
		if u, isUint := id.(uint64); isUint {
			p.ID = u
		} else {
			p.ID = uint64(n)
		}
		p.HasID = true
	}
	if len(p.Attachments) > 0 {
		switch p.Type {
		case protocol.Event:
			p.Type = protocol.BinaryEvent
		case protocol.Ack:
			p.Type = protocol.BinaryAck
		}
	}
	return p, nil
}

// dataValid applies socket.io-msgpack-parser's rule on the payload of each
// packet type; code is the msgpack code of the payload when there is one.
func dataValid(t protocol.PacketType, has bool, code byte) bool {
	isMap := msgpcode.IsFixedMap(code) || code == msgpcode.Map16 || code == msgpcode.Map32
	switch t {
	case protocol.Connect:
		return !has || isMap
	case protocol.Disconnect:
		return !has
	case protocol.ConnectError:
		return has && (isMap || msgpcode.IsString(code))
	}
	return has && (msgpcode.IsFixedArray(code) || code == msgpcode.Array16 || code == msgpcode.Array32)
}
