package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/sio-go/socketio/protocol"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

var readerPool = sync.Pool{New: func() any { return new(bytes.Reader) }}

// maxPooledMessage is the size of the largest message after which the
// decoder goes back to the pool.
const maxPooledMessage = 64 << 10

// withDecoder runs f with a msgpack decoder reading msg, and checks that f
// consumed all of it.
func withDecoder(msg []byte, f func(*msgpack.Decoder) error) error {
	r := readerPool.Get().(*bytes.Reader)
	r.Reset(msg)
	dec := msgpack.GetDecoder()
	dec.Reset(r)
	err := f(dec)
	if err == nil && r.Len() != 0 {
		err = fmt.Errorf("%w: %d trailing bytes", ErrMalformed, r.Len())
	}
	// The decoder keeps its read buffer, which grows with the strings and
	// bin values it reads, also by a chunk for each length a truncated
	// message forges: reuse it only after a small message it decoded.
	if err == nil && len(msg) <= maxPooledMessage {
		msgpack.PutDecoder(dec)
	}
	r.Reset(nil)
	readerPool.Put(r)
	if err != nil && !errors.Is(err, ErrMalformed) {
		err = fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return err
}

// DecodeBroadcast decodes a message of a broadcast channel. A packet
// without namespace gets "/".
func DecodeBroadcast(msg []byte) (*Broadcast, error) {
	b := new(Broadcast)
	err := withDecoder(msg, func(dec *msgpack.Decoder) error {
		n, err := dec.DecodeArrayLen()
		if err != nil {
			return err
		}
		if n < 3 {
			return fmt.Errorf("%w: broadcast of %d elements", ErrMalformed, n)
		}
		if b.UID, err = decodeText(dec); err != nil {
			return err
		}
		if b.Packet, err = decodePacket(dec); err != nil {
			return err
		}
		if err := decodeOpts(dec, &b.Opts); err != nil {
			return err
		}
		for i := 3; i < n; i++ {
			if err := dec.Skip(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// decodeText decodes a string, or nil as "".
func decodeText(dec *msgpack.Decoder) (string, error) {
	c, err := dec.PeekCode()
	if err != nil {
		return "", err
	}
	if c == msgpcode.Nil {
		return "", dec.DecodeNil()
	}
	return dec.DecodeString()
}

// decodeName decodes a room name: a string, or a number as its text.
func decodeName(dec *msgpack.Decoder) (string, error) {
	c, err := dec.PeekCode()
	if err != nil {
		return "", err
	}
	if msgpcode.IsString(c) {
		return dec.DecodeString()
	}
	if msgpcode.IsFixedNum(c) || (c >= msgpcode.Float && c <= msgpcode.Int64) {
		d := valueDecoder{dec: dec}
		if err := d.decode(); err != nil {
			return "", err
		}
		return string(d.out), nil
	}
	return "", fmt.Errorf("%w: room name of code %#x", ErrMalformed, c)
}

func decodeNames(dec *msgpack.Decoder) ([]string, error) {
	n, err := dec.DecodeArrayLen()
	if err != nil || n <= 0 {
		return nil, err
	}
	out := make([]string, 0, min(n, 1024))
	for range n {
		s, err := decodeName(dec)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// eachKey calls f with each key of the map at the decoder; f must consume
// the value. A nil reads as an empty map (DecodeMapLen gives -1).
func eachKey(dec *msgpack.Decoder, f func(key string) error) error {
	n, err := dec.DecodeMapLen()
	if err != nil {
		return err
	}
	for range n {
		key, err := decodeName(dec)
		if err != nil {
			return err
		}
		if err := f(key); err != nil {
			return err
		}
	}
	return nil
}

func decodePacket(dec *msgpack.Decoder) (*protocol.Packet, error) {
	c, err := dec.PeekCode()
	if err != nil {
		return nil, err
	}
	if c == msgpcode.Nil {
		return nil, fmt.Errorf("%w: no packet", ErrMalformed)
	}
	p := &protocol.Packet{Type: protocol.Event, Namespace: "/"}
	err = eachKey(dec, func(key string) error {
		switch key {
		case "type":
			t, err := dec.DecodeInt64()
			if err != nil {
				return err
			}
			if t < 0 || !protocol.PacketType(t).Valid() {
				return fmt.Errorf("%w: packet type %d", ErrMalformed, t)
			}
			p.Type = protocol.PacketType(t)
		case "data":
			d := valueDecoder{dec: dec}
			if err := d.decode(); err != nil {
				return err
			}
			p.Data, p.Attachments = d.out, d.atts
		case "nsp":
			s, err := decodeText(dec)
			if err != nil {
				return err
			}
			if s != "" {
				p.Namespace = s
			}
		case "id":
			id, err := dec.DecodeInt64()
			if err != nil {
				return err
			}
			if id >= 0 {
				p.ID, p.HasID = uint64(id), true
			}
		default:
			return dec.Skip()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(p.Data) == 0 || p.Data[0] != '[' {
		return nil, fmt.Errorf("%w: packet data is not an array", ErrMalformed)
	}
	return p, nil
}

func decodeOpts(dec *msgpack.Decoder, o *Opts) error {
	return eachKey(dec, func(key string) error {
		var err error
		switch key {
		case "rooms":
			o.Rooms, err = decodeNames(dec)
		case "except":
			o.Except, err = decodeNames(dec)
		case "flags":
			err = decodeFlags(dec, &o.Flags)
		default:
			err = dec.Skip()
		}
		return err
	})
}

func decodeFlags(dec *msgpack.Decoder, f *Flags) error {
	c, err := dec.PeekCode()
	if err != nil {
		return err
	}
	if c == msgpcode.Nil {
		return dec.DecodeNil()
	}
	return eachKey(dec, func(key string) error {
		v, err := decodeScalar(dec)
		if err != nil {
			return err
		}
		switch key {
		case "volatile":
			f.Volatile = truthy(v)
		case "compress":
			f.NoCompress = v == false
		case "local":
			f.Local = truthy(v)
		case "expectSingleResponse":
			f.ExpectSingleResponse = truthy(v)
		case "timeout":
			if ms, ok := number(v); ok && ms > 0 {
				f.Timeout = time.Duration(ms * float64(time.Millisecond))
			}
		}
		return nil
	})
}

// object stands for a decoded array, map, binary or extension value, of
// which only its truthiness matters.
type object struct{}

// decodeScalar decodes nil, booleans, numbers and strings; it skips any
// other value and returns object{} for it. Unlike Decoder.Decode it never
// allocates from a length it has not read the data for.
func decodeScalar(dec *msgpack.Decoder) (any, error) {
	c, err := dec.PeekCode()
	if err != nil {
		return nil, err
	}
	switch {
	case c == msgpcode.Nil:
		return nil, dec.DecodeNil()
	case c == msgpcode.True || c == msgpcode.False:
		return dec.DecodeBool()
	case c == msgpcode.Uint64:
		return dec.DecodeUint64()
	case c == msgpcode.Float || c == msgpcode.Double:
		return dec.DecodeFloat64()
	case msgpcode.IsFixedNum(c) || (c >= msgpcode.Uint8 && c <= msgpcode.Int64):
		return dec.DecodeInt64()
	case msgpcode.IsString(c):
		return dec.DecodeString()
	}
	return object{}, dec.Skip()
}

func truthy(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return v != ""
	case nil:
		return false
	case object:
		return true
	}
	f, ok := number(v)
	return !ok || (f != 0 && !math.IsNaN(f))
}

func number(v any) (float64, bool) {
	switch v := v.(type) {
	case int8:
		return float64(v), true
	case int16:
		return float64(v), true
	case int32:
		return float64(v), true
	case int64:
		return float64(v), true
	case uint8:
		return float64(v), true
	case uint16:
		return float64(v), true
	case uint32:
		return float64(v), true
	case uint64:
		return float64(v), true
	case float32:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

// DecodeRequest decodes a message of a request channel: JSON when it starts
// with '{', MessagePack otherwise, as the Node adapter decides.
func DecodeRequest(msg []byte) (*Request, error) {
	if len(msg) == 0 {
		return nil, fmt.Errorf("%w: empty request", ErrMalformed)
	}
	if msg[0] == '{' {
		return decodeJSONRequest(msg)
	}
	r := new(Request)
	err := withDecoder(msg, func(dec *msgpack.Decoder) error {
		return eachKey(dec, func(key string) error {
			var err error
			switch key {
			case "uid":
				r.UID, err = decodeName(dec)
			case "requestId":
				r.RequestID, err = decodeName(dec)
			case "type":
				var t int64
				t, err = dec.DecodeInt64()
				r.Type = RequestType(t)
			case "packet":
				r.Packet, err = decodePacket(dec)
			case "opts":
				r.Opts = new(Opts)
				err = decodeOpts(dec, r.Opts)
			case "rooms":
				r.Rooms, err = decodeNames(dec)
			case "close":
				r.Close, err = decodeTruthy(dec)
			case "data":
				r.Data, _, err = decodeValue(dec)
			case "sid":
				r.SID, err = decodeName(dec)
			case "room":
				r.Room, err = decodeName(dec)
			default:
				err = dec.Skip()
			}
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// names decodes a JSON room list whose names may be numbers.
type names []string

func (n *names) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		// the emitter's socketsJoin(room) may carry a single name
		var one name
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*n = names{string(one)}
		return nil
	}
	out := make(names, 0, len(raw))
	for _, r := range raw {
		var one name
		if err := json.Unmarshal(r, &one); err != nil {
			return err
		}
		out = append(out, string(one))
	}
	*n = out
	return nil
}

// name is a room name or id: a string, or a number as its text.
type name string

func (n *name) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*n = name(s)
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("%w: name %s", ErrMalformed, b)
	}
	*n = name(AppendNumber(nil, f))
	return nil
}

type jsonOpts struct {
	Rooms  names `json:"rooms"`
	Except names `json:"except"`
}

type jsonPacket struct {
	Type int             `json:"type"`
	Data json.RawMessage `json:"data"`
	Nsp  string          `json:"nsp"`
}

type jsonMessage struct {
	UID         name            `json:"uid"`
	RequestID   name            `json:"requestId"`
	Type        int             `json:"type"`
	Opts        *jsonOpts       `json:"opts"`
	Rooms       names           `json:"rooms"`
	Close       bool            `json:"close"`
	Data        json.RawMessage `json:"data"`
	Packet      json.RawMessage `json:"packet"`
	SID         name            `json:"sid"`
	Room        name            `json:"room"`
	Sockets     json.RawMessage `json:"sockets"`
	ClientCount float64         `json:"clientCount"`
}

func decodeJSON(msg []byte) (*jsonMessage, error) {
	var m jsonMessage
	if err := json.Unmarshal(msg, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return &m, nil
}

func decodeJSONRequest(msg []byte) (*Request, error) {
	m, err := decodeJSON(msg)
	if err != nil {
		return nil, err
	}
	r := &Request{
		Type:      RequestType(m.Type),
		UID:       string(m.UID),
		RequestID: string(m.RequestID),
		Rooms:     m.Rooms,
		Close:     m.Close,
		Data:      m.Data,
		SID:       string(m.SID),
		Room:      string(m.Room),
	}
	if m.Opts != nil {
		r.Opts = &Opts{Rooms: m.Opts.Rooms, Except: m.Opts.Except}
	}
	if len(m.Packet) > 0 && !bytes.Equal(m.Packet, []byte("null")) {
		var jp jsonPacket
		if err := json.Unmarshal(m.Packet, &jp); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		r.Packet = &protocol.Packet{Type: protocol.PacketType(jp.Type), Namespace: jp.Nsp, Data: jp.Data}
		if r.Packet.Namespace == "" {
			r.Packet.Namespace = "/"
		}
	}
	return r, nil
}

// DecodeResponse decodes a message of a response channel: JSON when it
// starts with '{', MessagePack otherwise.
func DecodeResponse(msg []byte) (*Response, error) {
	if len(msg) == 0 {
		return nil, fmt.Errorf("%w: empty response", ErrMalformed)
	}
	if msg[0] == '{' {
		m, err := decodeJSON(msg)
		if err != nil {
			return nil, err
		}
		r := &Response{
			Type:        RequestType(m.Type),
			RequestID:   string(m.RequestID),
			Sockets:     m.Sockets,
			Rooms:       m.Rooms,
			ClientCount: int(m.ClientCount),
			Data:        m.Data,
		}
		if r.Type == BroadcastAck {
			r.Data = m.Packet
		}
		return r, nil
	}
	r := new(Response)
	err := withDecoder(msg, func(dec *msgpack.Decoder) error {
		return eachKey(dec, func(key string) error {
			var err error
			switch key {
			case "type":
				var t int64
				t, err = dec.DecodeInt64()
				r.Type = RequestType(t)
			case "requestId":
				r.RequestID, err = decodeName(dec)
			case "packet", "data":
				r.Data, r.Attachments, err = decodeValue(dec)
			case "clientCount":
				r.ClientCount, err = decodeCount(dec)
			case "rooms":
				r.Rooms, err = decodeNames(dec)
			case "sockets":
				r.Sockets, _, err = decodeValue(dec)
			default:
				err = dec.Skip()
			}
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}
