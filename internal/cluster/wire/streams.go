package wire

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/vmihailenco/msgpack/v5"
)

// The Redis Streams adapter (@socket.io/redis-streams-adapter) adds the
// ClusterAdapter messages that must not be missed to a stream, one entry
// per message with the fields uid, nsp, type (the decimal type) and data:
// the JSON of the data object, or the base64 of its MessagePack form when
// it carries binary values. The messages that only make sense to the
// servers running now (requests and their responses) travel on pub/sub as
// MessagePack (@msgpack/msgpack) of the whole message.

// AppendClusterMsgpack appends the MessagePack form of a whole message,
// {type, data, uid, nsp}, whatever its content.
func AppendClusterMsgpack(dst []byte, m *ClusterMessage) ([]byte, error) {
	return appendClusterMsgpack(dst, m)
}

// StreamData returns the data field of the stream entry of m, and false
// for a type without data. With plaintext (the Node option onlyPlaintext)
// the data is JSON even when it has binary values, which then travel as
// Node's JSON form of a Buffer.
func StreamData(m *ClusterMessage, plaintext bool) (string, bool, error) {
	if !hasData(m.Type) {
		return "", false, nil
	}
	if !plaintext && m.binary() {
		b, err := withEncoder(nil, func(enc *msgpack.Encoder) error { return encodeClusterData(enc, m) })
		if err != nil {
			return "", false, err
		}
		return base64.StdEncoding.EncodeToString(b), true, nil
	}
	if plaintext && m.binary() {
		inlined := *m
		var err error
		if m.Packet != nil {
			p := *m.Packet
			p.Data, err = InlineBuffers(p.Data, p.Attachments)
			p.Attachments = nil
			inlined.Packet = &p
		} else {
			inlined.Value, err = InlineBuffers(m.Value, m.Attachments)
			inlined.Attachments = nil
		}
		if err != nil {
			return "", false, err
		}
		m = &inlined
	}
	return string(appendClusterDataJSON(nil, m)), true, nil
}

// DecodeStreamEntry decodes the fields of a stream entry. Like the Node
// adapter, it takes data for JSON when it starts with '{' and for base64
// MessagePack otherwise.
func DecodeStreamEntry(uid, nsp, typ, data string) (*ClusterMessage, error) {
	t, err := strconv.Atoi(typ)
	if err != nil {
		return nil, fmt.Errorf("%w: entry type %q", ErrMalformed, typ)
	}
	m := &ClusterMessage{Type: ClusterType(t), UID: uid, Nsp: nsp}
	switch {
	case data == "":
	case data[0] == '{':
		msg := strconv.AppendInt([]byte(`{"type":`), int64(t), 10)
		msg = append(msg, `,"data":`...)
		msg = append(msg, data...)
		msg = append(msg, `,"uid":`...)
		msg = AppendString(msg, uid)
		msg = append(msg, `,"nsp":`...)
		msg = AppendString(msg, nsp)
		msg = append(msg, '}')
		if m, err = decodeClusterJSON(msg); err != nil {
			return nil, err
		}
	default:
		b, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			return nil, fmt.Errorf("%w: entry data: %v", ErrMalformed, err)
		}
		if err := withDecoder(b, func(dec *msgpack.Decoder) error { return decodeClusterData(dec, m) }); err != nil {
			return nil, err
		}
	}
	if m.Type == ClusterBroadcast && m.Packet == nil {
		return nil, fmt.Errorf("%w: broadcast without packet", ErrMalformed)
	}
	setPacketNamespace(m)
	return m, nil
}

// Session is a socket's state kept for connection state recovery, as the
// Node adapter stores it: {sid, pid, rooms, data} in MessagePack, base64
// encoded.
type Session struct {
	SID   string
	PID   string
	Rooms []string
	Data  json.RawMessage // JSON; binary values are not kept
}

// AppendSession appends the base64 text the Node adapter stores for s.
func AppendSession(dst []byte, s *Session) ([]byte, error) {
	b, err := withEncoder(nil, func(enc *msgpack.Encoder) error {
		if err := enc.EncodeMapLen(4); err != nil {
			return err
		}
		if err := encodeKeyString(enc, "sid", s.SID); err != nil {
			return err
		}
		if err := encodeKeyString(enc, "pid", s.PID); err != nil {
			return err
		}
		if err := enc.EncodeString("rooms"); err != nil {
			return err
		}
		if err := encodeStrings(enc, s.Rooms); err != nil {
			return err
		}
		if err := enc.EncodeString("data"); err != nil {
			return err
		}
		ve := valueEncoder{enc: enc}
		return ve.encode(nonEmpty(s.Data, "null"))
	})
	if err != nil {
		return dst, err
	}
	return base64.StdEncoding.AppendEncode(dst, b), nil
}

// DecodeSession decodes a stored session.
func DecodeSession(text []byte) (*Session, error) {
	b, err := base64.StdEncoding.AppendDecode(nil, text)
	if err != nil {
		return nil, fmt.Errorf("%w: session: %v", ErrMalformed, err)
	}
	s := new(Session)
	err = withDecoder(b, func(dec *msgpack.Decoder) error {
		return eachKey(dec, func(key string) error {
			var err error
			switch key {
			case "sid":
				s.SID, err = decodeName(dec)
			case "pid":
				s.PID, err = decodeName(dec)
			case "rooms":
				s.Rooms, err = decodeNames(dec)
			case "data":
				s.Data, _, err = decodeValue(dec)
			default:
				err = dec.Skip()
			}
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	if s.SID == "" || s.PID == "" {
		return nil, fmt.Errorf("%w: session without sid or pid", ErrMalformed)
	}
	return s, nil
}
