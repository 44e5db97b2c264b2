package socketio

import (
	"encoding/json"
	"strconv"

	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/protocol"
)

// reservedEvents may not be emitted nor handled as user events.
func reserved(event string) bool {
	switch event {
	case "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener":
		return true
	}
	return false
}

// eventPacket encodes an EVENT packet for ev and args, without namespace nor
// ack id.
func eventPacket(ev string, args []any) (*protocol.Packet, error) {
	all := make([]any, 0, len(args)+1)
	if isPlainASCII(ev) {
		all = append(all, json.RawMessage(strconv.Quote(ev)))
	} else {
		b, err := json.Marshal(ev) // strconv.Quote escapes differently from JSON
		if err != nil {
			return nil, err
		}
		all = append(all, json.RawMessage(b))
	}
	all = append(all, args...)
	data, atts, err := protocol.MarshalArgs(all)
	if err != nil {
		return nil, err
	}
	p := &protocol.Packet{Type: protocol.Event, Data: data, Attachments: atts}
	if len(atts) > 0 {
		p.Type = protocol.BinaryEvent
	}
	return p, nil
}

// ackPacket encodes an ACK packet answering id.
func ackPacket(nsp string, id uint64, args []any) (*protocol.Packet, error) {
	data, atts, err := protocol.MarshalArgs(args)
	if err != nil {
		return nil, err
	}
	p := &protocol.Packet{Type: protocol.Ack, Namespace: nsp, ID: id, HasID: true, Data: data, Attachments: atts}
	if len(atts) > 0 {
		p.Type = protocol.BinaryAck
	}
	return p, nil
}

func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// encode turns a packet into the Engine.IO messages that carry it: the text
// packet, then its attachments as binary messages.
func encode(p *protocol.Packet) []engineio.Message {
	text := p.AppendEncode(make([]byte, 0, 16+len(p.Namespace)+len(p.Data)))
	msgs := make([]engineio.Message, 1+len(p.Attachments))
	msgs[0] = engineio.Message{Data: text}
	for i, a := range p.Attachments {
		msgs[i+1] = engineio.Message{Data: a, Binary: true}
	}
	return msgs
}

// withOffset returns a copy of an EVENT packet whose argument array ends with
// the recovery offset.
func withOffset(p *protocol.Packet, offset string) *protocol.Packet {
	q := *p
	data := make([]byte, 0, len(p.Data)+len(offset)+3)
	data = append(data, p.Data[:len(p.Data)-1]...) // drop ']'
	if len(p.Data) > 2 {
		data = append(data, ',')
	}
	data = strconv.AppendQuote(data, offset)
	q.Data = append(data, ']')
	return &q
}
