package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/sio-go/socketio/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// ClusterType is the type of a message of the socket.io-adapter
// ClusterAdapter, which the sharded Redis adapter (and the Redis Streams,
// Postgres and cluster adapters) exchange.
type ClusterType int

// The ClusterAdapter message types.
const (
	InitialHeartbeat       ClusterType = 1
	Heartbeat              ClusterType = 2
	ClusterBroadcast       ClusterType = 3
	SocketsJoin            ClusterType = 4
	SocketsLeave           ClusterType = 5
	DisconnectSockets      ClusterType = 6
	FetchSockets           ClusterType = 7
	FetchSocketsResponse   ClusterType = 8
	ClusterServerSideEmit  ClusterType = 9
	ServerSideEmitResponse ClusterType = 10
	ClusterClientCount     ClusterType = 11
	ClusterBroadcastAck    ClusterType = 12
	AdapterClose           ClusterType = 13
)

// ClusterMessage is a ClusterAdapter message: {type, data: {…}, uid, nsp}.
// Which fields of data are present depends on the type.
type ClusterMessage struct {
	Type      ClusterType
	UID       string
	Nsp       string
	RequestID string
	// Packet is the EVENT packet of a broadcast, written {type, data}.
	Packet *protocol.Packet
	// Opts of broadcasts, joins, leaves, disconnections and fetches.
	Opts  *Opts
	Rooms []string // rooms to join or leave
	Close bool     // disconnect: close the connections
	// Value is the "packet" of the other types, JSON with placeholders for
	// Attachments: the [event, ...args] array of a server-side emit, the
	// acknowledgement of a broadcast or of a server-side emit.
	Value       json.RawMessage
	Attachments [][]byte
	Sockets     json.RawMessage // FetchSocketsResponse: the socket objects
	ClientCount int
}

func (m *ClusterMessage) binary() bool {
	switch m.Type {
	case ClusterBroadcast:
		return m.Packet != nil && len(m.Packet.Attachments) > 0
	case ClusterBroadcastAck, ServerSideEmitResponse, ClusterServerSideEmit:
		return len(m.Attachments) > 0
	}
	return false
}

// AppendClusterMessage appends the form the Node ClusterAdapter publishes:
// MessagePack when a message that may carry binary values does, JSON
// otherwise.
func AppendClusterMessage(dst []byte, m *ClusterMessage) ([]byte, error) {
	if m.binary() {
		return appendClusterMsgpack(dst, m)
	}
	dst = append(dst, `{"type":`...)
	dst = strconv.AppendInt(dst, int64(m.Type), 10)
	if hasData(m.Type) {
		dst = append(dst, `,"data":`...)
		dst = appendClusterDataJSON(dst, m)
	}
	dst = append(dst, `,"uid":`...)
	dst = AppendString(dst, m.UID)
	dst = append(dst, `,"nsp":`...)
	dst = AppendString(dst, m.Nsp)
	return append(dst, '}'), nil
}

// appendClusterDataJSON appends the JSON of the message's data object.
func appendClusterDataJSON(dst []byte, m *ClusterMessage) []byte {
	dst = append(dst, '{')
	for i, f := range clusterFields(m) {
		dst = appendKey(dst, f, i == 0)
		switch f {
		case "packet":
			if m.Type == ClusterBroadcast {
				dst = append(dst, `{"type":`...)
				dst = strconv.AppendInt(dst, int64(plainType(m.Packet.Type)), 10)
				dst = append(dst, `,"data":`...)
				dst = appendRaw(dst, m.Packet.Data, "[]")
				dst = append(dst, '}')
			} else {
				dst = appendRaw(dst, m.Value, "null")
			}
		case "requestId":
			dst = AppendString(dst, m.RequestID)
		case "opts":
			dst = appendOptsJSON(dst, m.Opts)
		case "rooms":
			dst = appendStrings(dst, m.Rooms)
		case "close":
			dst = strconv.AppendBool(dst, m.Close)
		case "sockets":
			dst = appendRaw(dst, m.Sockets, "[]")
		case "clientCount":
			dst = strconv.AppendInt(dst, int64(m.ClientCount), 10)
		}
	}
	return append(dst, '}')
}

func hasData(t ClusterType) bool {
	return t >= ClusterBroadcast && t <= ClusterBroadcastAck
}

// clusterFields returns the members of data in the order Node writes them.
func clusterFields(m *ClusterMessage) []string {
	switch m.Type {
	case ClusterBroadcast:
		if m.RequestID != "" {
			return []string{"packet", "requestId", "opts"}
		}
		return []string{"packet", "opts"}
	case SocketsJoin, SocketsLeave:
		return []string{"opts", "rooms"}
	case DisconnectSockets:
		return []string{"opts", "close"}
	case FetchSockets:
		return []string{"opts", "requestId"}
	case FetchSocketsResponse:
		return []string{"requestId", "sockets"}
	case ClusterServerSideEmit:
		if m.RequestID != "" {
			return []string{"requestId", "packet"}
		}
		return []string{"packet"}
	case ServerSideEmitResponse, ClusterBroadcastAck:
		return []string{"requestId", "packet"}
	case ClusterClientCount:
		return []string{"requestId", "clientCount"}
	}
	return nil
}

func plainType(t protocol.PacketType) protocol.PacketType {
	switch t {
	case protocol.BinaryEvent:
		return protocol.Event
	case protocol.BinaryAck:
		return protocol.Ack
	}
	return t
}

func appendRaw(dst []byte, raw json.RawMessage, empty string) []byte {
	if len(raw) == 0 {
		return append(dst, empty...)
	}
	return append(dst, raw...)
}

// appendKey appends the name of an object's member, after a comma unless
// it is the first. Names are the protocol's own, which need no escaping.
func appendKey(dst []byte, k string, first bool) []byte {
	if !first {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, k...)
	return append(dst, `":`...)
}

// appendFlagKey appends the name of a member of the flags object that dst
// ends in.
func appendFlagKey(dst []byte, k string) []byte {
	return appendKey(dst, k, dst[len(dst)-1] == '{')
}

func appendOptsJSON(dst []byte, o *Opts) []byte {
	if o == nil {
		o = &Opts{}
	}
	dst = append(dst, `{"rooms":`...)
	dst = appendStrings(dst, o.Rooms)
	dst = append(dst, `,"except":`...)
	dst = appendStrings(dst, o.Except)
	dst = append(dst, `,"flags":{`...)
	f := &o.Flags
	if f.ExpectSingleResponse {
		dst = appendFlagKey(dst, "expectSingleResponse")
		dst = append(dst, "true"...)
	}
	if f.Volatile {
		dst = appendFlagKey(dst, "volatile")
		dst = append(dst, "true"...)
	}
	if f.NoCompress {
		dst = appendFlagKey(dst, "compress")
		dst = append(dst, "false"...)
	}
	if f.Local {
		dst = appendFlagKey(dst, "local")
		dst = append(dst, "true"...)
	}
	if f.Timeout > 0 {
		dst = appendFlagKey(dst, "timeout")
		dst = strconv.AppendInt(dst, f.Timeout.Milliseconds(), 10)
	}
	return append(dst, "}}"...)
}

func appendClusterMsgpack(dst []byte, m *ClusterMessage) ([]byte, error) {
	return withEncoder(dst, func(enc *msgpack.Encoder) error {
		if err := enc.EncodeMapLen(4); err != nil {
			return err
		}
		if err := encodeKeyInt(enc, "type", int64(m.Type)); err != nil {
			return err
		}
		if err := enc.EncodeString("data"); err != nil {
			return err
		}
		if err := encodeClusterData(enc, m); err != nil {
			return err
		}
		if err := encodeKeyString(enc, "uid", m.UID); err != nil {
			return err
		}
		return encodeKeyString(enc, "nsp", m.Nsp)
	})
}

// encodeClusterData writes the message's data object.
func encodeClusterData(enc *msgpack.Encoder, m *ClusterMessage) error {
	fields := clusterFields(m)
	if err := enc.EncodeMapLen(len(fields)); err != nil {
		return err
	}
	for _, f := range fields {
		if err := enc.EncodeString(f); err != nil {
			return err
		}
		var err error
		switch f {
		case "packet":
			if m.Type == ClusterBroadcast {
				err = encodeClusterPacket(enc, m.Packet)
			} else {
				ve := valueEncoder{enc: enc, atts: m.Attachments}
				err = ve.encode(nonEmpty(m.Value, "null"))
			}
		case "requestId":
			err = enc.EncodeString(m.RequestID)
		case "opts":
			o := m.Opts
			if o == nil {
				o = &Opts{}
			}
			err = encodeOpts(enc, o, true, false)
		case "rooms":
			err = encodeStrings(enc, m.Rooms)
		case "close":
			err = enc.EncodeBool(m.Close)
		case "sockets":
			ve := valueEncoder{enc: enc}
			err = ve.encode(nonEmpty(m.Sockets, "[]"))
		case "clientCount":
			err = enc.EncodeInt(int64(m.ClientCount))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// encodeClusterPacket writes {type, data}: the ClusterAdapter publishes the
// packet before the namespace is set on it.
func encodeClusterPacket(enc *msgpack.Encoder, p *protocol.Packet) error {
	if err := enc.EncodeMapLen(2); err != nil {
		return err
	}
	if err := encodeKeyInt(enc, "type", int64(plainType(p.Type))); err != nil {
		return err
	}
	if err := enc.EncodeString("data"); err != nil {
		return err
	}
	ve := valueEncoder{enc: enc, atts: p.Attachments}
	return ve.encode(nonEmpty(p.Data, "[]"))
}

func nonEmpty(b json.RawMessage, empty string) []byte {
	if len(b) == 0 {
		return []byte(empty)
	}
	return b
}

type jsonCluster struct {
	Type int    `json:"type"`
	UID  name   `json:"uid"`
	Nsp  string `json:"nsp"`
	Data *struct {
		RequestID   name            `json:"requestId"`
		Packet      json.RawMessage `json:"packet"`
		Opts        *jsonOptsFlags  `json:"opts"`
		Rooms       names           `json:"rooms"`
		Close       bool            `json:"close"`
		Sockets     json.RawMessage `json:"sockets"`
		ClientCount float64         `json:"clientCount"`
	} `json:"data"`
}

type jsonOptsFlags struct {
	Rooms  names `json:"rooms"`
	Except names `json:"except"`
	Flags  *struct {
		Volatile             bool     `json:"volatile"`
		Compress             *bool    `json:"compress"`
		Local                bool     `json:"local"`
		ExpectSingleResponse bool     `json:"expectSingleResponse"`
		Timeout              *float64 `json:"timeout"`
	} `json:"flags"`
}

// DecodeClusterMessage decodes a ClusterAdapter message, JSON when it
// starts with '{', MessagePack otherwise. A broadcast packet gets the
// message's namespace.
func DecodeClusterMessage(msg []byte) (*ClusterMessage, error) {
	if len(msg) == 0 {
		return nil, fmt.Errorf("%w: empty message", ErrMalformed)
	}
	var m *ClusterMessage
	var err error
	if msg[0] == '{' {
		m, err = decodeClusterJSON(msg)
	} else {
		m, err = decodeClusterMsgpack(msg)
	}
	if err != nil {
		return nil, err
	}
	setPacketNamespace(m)
	return m, nil
}

// setPacketNamespace gives a broadcast packet the message's namespace.
func setPacketNamespace(m *ClusterMessage) {
	if m.Packet != nil {
		m.Packet.Namespace = m.Nsp
		if m.Packet.Namespace == "" {
			m.Packet.Namespace = "/"
		}
	}
}

func decodeClusterJSON(msg []byte) (*ClusterMessage, error) {
	var j jsonCluster
	if err := json.Unmarshal(msg, &j); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	m := &ClusterMessage{Type: ClusterType(j.Type), UID: string(j.UID), Nsp: j.Nsp}
	d := j.Data
	if d == nil {
		if m.Type == ClusterBroadcast {
			return nil, fmt.Errorf("%w: broadcast without packet", ErrMalformed)
		}
		return m, nil
	}
	m.RequestID = string(d.RequestID)
	m.Rooms = d.Rooms
	m.Close = d.Close
	m.Sockets = d.Sockets
	m.ClientCount = int(d.ClientCount)
	if d.Opts != nil {
		m.Opts = &Opts{Rooms: d.Opts.Rooms, Except: d.Opts.Except}
		if f := d.Opts.Flags; f != nil {
			m.Opts.Flags = Flags{Volatile: f.Volatile, NoCompress: f.Compress != nil && !*f.Compress,
				Local: f.Local, ExpectSingleResponse: f.ExpectSingleResponse}
			if f.Timeout != nil && *f.Timeout > 0 {
				m.Opts.Flags.Timeout = msDuration(*f.Timeout)
			}
		}
	}
	if len(d.Packet) > 0 {
		if m.Type == ClusterBroadcast {
			var p jsonPacket
			if err := json.Unmarshal(d.Packet, &p); err != nil || len(p.Data) == 0 || p.Data[0] != '[' {
				return nil, fmt.Errorf("%w: broadcast packet", ErrMalformed)
			}
			m.Packet = &protocol.Packet{Type: protocol.PacketType(p.Type), Data: p.Data}
		} else if !bytes.Equal(d.Packet, []byte("null")) {
			m.Value = d.Packet
		}
	}
	if m.Type == ClusterBroadcast && m.Packet == nil {
		return nil, fmt.Errorf("%w: broadcast without packet", ErrMalformed)
	}
	return m, nil
}

func decodeClusterMsgpack(msg []byte) (*ClusterMessage, error) {
	m := new(ClusterMessage)
	err := withDecoder(msg, func(dec *msgpack.Decoder) error {
		return eachKey(dec, func(key string) error {
			var err error
			switch key {
			case "type":
				var t int64
				t, err = dec.DecodeInt64()
				m.Type = ClusterType(t)
			case "uid":
				m.UID, err = decodeName(dec)
			case "nsp":
				m.Nsp, err = decodeText(dec)
			case "data":
				err = decodeClusterData(dec, m)
			default:
				err = dec.Skip()
			}
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	if m.Type == ClusterBroadcast && m.Packet == nil {
		return nil, fmt.Errorf("%w: broadcast without packet", ErrMalformed)
	}
	return m, nil
}

func decodeClusterData(dec *msgpack.Decoder, m *ClusterMessage) error {
	return eachKey(dec, func(key string) error {
		var err error
		switch key {
		case "requestId":
			m.RequestID, err = decodeName(dec)
		case "packet":
			if m.Type == ClusterBroadcast {
				m.Packet, err = decodePacket(dec)
			} else {
				m.Value, m.Attachments, err = decodeValue(dec)
			}
		case "opts":
			m.Opts = new(Opts)
			err = decodeOpts(dec, m.Opts)
		case "rooms":
			m.Rooms, err = decodeNames(dec)
		case "close":
			m.Close, err = decodeTruthy(dec)
		case "sockets":
			m.Sockets, _, err = decodeValue(dec)
		case "clientCount":
			m.ClientCount, err = decodeCount(dec)
		default:
			err = dec.Skip()
		}
		return err
	})
}

func msDuration(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
