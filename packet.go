package socketio

import (
	"fmt"
	"strconv"

	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/protocol"
)

// reserved reports whether event may not be emitted nor handled as a user
// event.
func reserved(event string) bool { return protocol.IsReservedEvent(event) }

// eventPacket encodes an EVENT packet for ev and args, without namespace nor
// ack id.
func eventPacket(ev string, args []any) (*protocol.Packet, error) {
	data, _, err := protocol.AppendMarshalArgs(make([]byte, 0, 64), nil, []any{ev})
	if err != nil {
		return nil, err
	}
	data = data[:len(data)-1] // ["ev"
	var atts [][]byte
	if len(args) == 0 {
		data = append(data, ']')
	} else {
		mark := len(data)
		if data, atts, err = protocol.AppendMarshalArgs(data, nil, args); err != nil {
			return nil, err
		}
		data[mark] = ',' // ["ev"[a,b] → ["ev",a,b]
	}
	p := &protocol.Packet{Type: protocol.Event, Data: data, Attachments: atts}
	if len(atts) > 0 {
		p.Type = protocol.BinaryEvent
	}
	return p, nil
}

// ackPacket encodes an ACK packet answering id.
func ackPacket(nsp string, id uint64, args []any) (*protocol.Packet, error) {
	data, atts, err := protocol.AppendMarshalArgs(make([]byte, 0, 64), nil, args)
	if err != nil {
		return nil, err
	}
	p := &protocol.Packet{Type: protocol.Ack, Namespace: nsp, ID: id, HasID: true, Data: data, Attachments: atts}
	if len(atts) > 0 {
		p.Type = protocol.BinaryAck
	}
	return p, nil
}

// encode turns a packet into the Engine.IO messages that carry it, in the
// server's wire format (Config.Parser). The JSON parser never fails; another
// one may refuse a payload it cannot represent.
func (s *Server) encode(p *protocol.Packet) ([]engineio.Message, error) {
	msgs, err := s.cfg.Parser.Encode(p)
	if err != nil {
		return nil, fmt.Errorf("socketio: encoding a %v packet: %w", p.Type, err)
	}
	return msgs, nil
}

// encodeBroadcast is encode for a packet with many recipients, where the
// error has no caller to go to: it is logged.
func (s *Server) encodeBroadcast(p *protocol.Packet) []engineio.Message {
	msgs, err := s.encode(p)
	if err != nil {
		s.cfg.Logger.Warn("socketio: broadcast not sent", "nsp", p.Namespace, "err", err)
	}
	return msgs
}

// WithOffset returns a copy of an EVENT packet whose argument array ends
// with the recovery offset, as the client expects it: a session store uses
// it for the packets it replays.
func WithOffset(p *protocol.Packet, offset string) *protocol.Packet {
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
