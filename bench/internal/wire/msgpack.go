package wire

import (
	"encoding/json"
	"fmt"

	"github.com/sio-go/socketio/msgpackparser"
	"github.com/sio-go/socketio/protocol"
)

// msgpackConnect is the CONNECT packet for "/" in socket.io-msgpack-parser's
// format: {"type":0,"nsp":"/"}.
var msgpackConnect = []byte("\x82\xa4type\x00\xa3nsp\xa1/")

// parseMsgpackConnect checks a MessagePack CONNECT reply for the main
// namespace and returns the socket id.
func parseMsgpackConnect(msg []byte) (string, error) {
	p, err := msgpackparser.Parser.NewDecoder(0).Decode(msg, true)
	if err != nil {
		return "", fmt.Errorf("wire: connect reply: %w", err)
	}
	var body struct {
		SID string `json:"sid"`
	}
	if p.Type != protocol.Connect || p.Namespace != "/" || json.Unmarshal(p.Data, &body) != nil || body.SID == "" {
		return "", fmt.Errorf("wire: unexpected connect reply %x", msg)
	}
	return body.SID, nil
}

// MsgpackEvent returns the MessagePack EVENT packet for "/" with ack id id
// (none when negative), the event name and args, the JSON of the arguments
// after the name joined by commas, without brackets. event must need no
// JSON escaping.
func MsgpackEvent(id int64, event string, args []byte) ([]byte, error) {
	data := AppendEvent(nil, -1, event, args)[2:] // ["event",args]
	p := &protocol.Packet{Type: protocol.Event, Namespace: "/", Data: data}
	if id >= 0 {
		p.ID, p.HasID = uint64(id), true
	}
	msgs, err := msgpackparser.Parser.Encode(p)
	if err != nil {
		return nil, err
	}
	return msgs[0].Data, nil
}

// ParseMsgpackAck decodes a MessagePack ACK packet for "/" and returns its
// id and its arguments as a JSON array.
func ParseMsgpackAck(msg []byte) (id int64, args []byte, err error) {
	p, err := msgpackparser.Parser.NewDecoder(0).Decode(msg, true)
	if err != nil {
		return 0, nil, err
	}
	if p.Type != protocol.Ack || !p.HasID || p.Namespace != "/" || p.ID > 1<<62 {
		return 0, nil, ErrNotAck
	}
	return int64(p.ID), p.Data, nil
}
