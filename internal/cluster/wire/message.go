// Package wire encodes and decodes the messages that the official Socket.IO
// cluster adapters and emitters exchange, byte for byte as the Node packages
// write them: those of @socket.io/redis-adapter's classic adapter and
// @socket.io/redis-emitter (broadcasts and acknowledgements in MessagePack,
// as notepack.io writes it, the other requests and responses in JSON), the
// messages of socket.io-adapter's ClusterAdapter (sharded Redis adapter,
// Redis Streams and Postgres adapters), and the stream entries and sessions
// of @socket.io/redis-streams-adapter. The Redis and Postgres adapter
// modules share it.
package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/sio-go/socketio/protocol"
	"github.com/vmihailenco/msgpack/v5"
)

// RequestType is the type of a request or response of the classic adapter.
type RequestType int

// The request types of the classic adapter.
const (
	Sockets              RequestType = iota // legacy: ids of the sockets in rooms
	AllRooms                                // every room of every server
	RemoteJoin                              // socketsJoin (or legacy join by socket id)
	RemoteLeave                             // socketsLeave (or legacy leave by socket id)
	RemoteDisconnect                        // disconnectSockets (or legacy disconnect by socket id)
	RemoteFetch                             // fetchSockets
	ServerSideEmit                          // serverSideEmit, with or without acknowledgement
	BroadcastWithAck                        // a broadcast that expects acknowledgements
	BroadcastClientCount                    // response: number of clients reached
	BroadcastAck                            // response: one client's acknowledgement
)

// ErrMalformed reports a message that is not a valid adapter message.
var ErrMalformed = errors.New("wire: malformed message")

// Flags are the broadcast flags that travel with a message. Only the flags
// that are set are written, as in Node where the flags object holds only the
// modifiers that were used.
type Flags struct {
	Volatile   bool
	NoCompress bool // compress: false
	Local      bool
	// Timeout of a broadcast with acknowledgements, written in milliseconds.
	Timeout time.Duration
	// ExpectSingleResponse is set by Node's RemoteSocket operations.
	ExpectSingleResponse bool
}

// Opts select the sockets a message applies to.
type Opts struct {
	Rooms  []string
	Except []string
	Flags  Flags
}

// Broadcast is the message published on the broadcast channels:
// [uid, packet, opts] in MessagePack.
type Broadcast struct {
	UID string
	// Packet is an EVENT packet: Type, Namespace, Data (the JSON array
	// [event, ...args] with placeholders) and Attachments.
	Packet *protocol.Packet
	Opts   Opts
}

// Request is a message of a request channel.
type Request struct {
	Type      RequestType
	UID       string // empty for the emitter's socketsJoin/Leave/disconnect
	RequestID string
	// Opts is set for socketsJoin, socketsLeave, disconnectSockets and
	// fetchSockets; its absence marks the legacy requests by socket id.
	Opts  *Opts
	Rooms []string // rooms to join or leave; legacy Sockets: rooms to look in
	Close bool     // disconnectSockets: close the connections
	// Data is the JSON array [event, ...args] of a ServerSideEmit.
	Data json.RawMessage
	// Packet is the EVENT packet of a BroadcastWithAck.
	Packet *protocol.Packet
	// SID and Room name the socket and room of the legacy requests.
	SID, Room string
}

// Response is a message of a response channel.
type Response struct {
	Type        RequestType // 0 when the message has no type
	RequestID   string
	Sockets     json.RawMessage // fetchSockets: socket objects; legacy Sockets: ids
	Rooms       []string        // allRooms
	ClientCount int             // BroadcastClientCount
	// Data is the acknowledgement of a ServerSideEmit (one JSON value), or
	// of a BroadcastAck with Attachments for its binary values.
	Data        json.RawMessage
	Attachments [][]byte
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// withEncoder runs f with a msgpack encoder appending to dst.
func withEncoder(dst []byte, f func(*msgpack.Encoder) error) ([]byte, error) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	enc := msgpack.GetEncoder()
	enc.Reset(buf)
	err := f(enc)
	msgpack.PutEncoder(enc)
	if err == nil {
		dst = append(dst, buf.Bytes()...)
	}
	if buf.Cap() <= 64<<10 {
		bufPool.Put(buf)
	}
	return dst, err
}

// AppendBroadcast appends the MessagePack form of b. The adapter writes the
// options as {rooms, except, flags}; the emitter (emitterOrder) as
// {rooms, flags, except}.
func AppendBroadcast(dst []byte, b *Broadcast, emitterOrder bool) ([]byte, error) {
	return withEncoder(dst, func(enc *msgpack.Encoder) error {
		if err := enc.EncodeArrayLen(3); err != nil {
			return err
		}
		if err := enc.EncodeString(b.UID); err != nil {
			return err
		}
		if err := encodePacket(enc, b.Packet); err != nil {
			return err
		}
		return encodeOpts(enc, &b.Opts, true, emitterOrder)
	})
}

// encodePacket writes {type, data, nsp}. Binary packet types are written as
// their plain type: Node detects binary values when it encodes for clients.
func encodePacket(enc *msgpack.Encoder, p *protocol.Packet) error {
	t := p.Type
	switch t {
	case protocol.BinaryEvent:
		t = protocol.Event
	case protocol.BinaryAck:
		t = protocol.Ack
	}
	nsp := p.Namespace
	if nsp == "" {
		nsp = "/"
	}
	if err := enc.EncodeMapLen(3); err != nil {
		return err
	}
	if err := encodeKeyInt(enc, "type", int64(t)); err != nil {
		return err
	}
	if err := enc.EncodeString("data"); err != nil {
		return err
	}
	ve := valueEncoder{enc: enc, atts: p.Attachments}
	data := p.Data
	if len(data) == 0 {
		data = []byte("[]")
	}
	if err := ve.encode(data); err != nil {
		return err
	}
	if err := enc.EncodeString("nsp"); err != nil {
		return err
	}
	return enc.EncodeString(nsp)
}

func encodeKeyInt(enc *msgpack.Encoder, key string, n int64) error {
	if err := enc.EncodeString(key); err != nil {
		return err
	}
	return enc.EncodeInt(n)
}

func encodeStrings(enc *msgpack.Encoder, list []string) error {
	if err := enc.EncodeArrayLen(len(list)); err != nil {
		return err
	}
	for _, s := range list {
		if err := enc.EncodeString(s); err != nil {
			return err
		}
	}
	return nil
}

func encodeOpts(enc *msgpack.Encoder, o *Opts, withFlags, emitterOrder bool) error {
	n := 2
	if withFlags {
		n = 3
	}
	if err := enc.EncodeMapLen(n); err != nil {
		return err
	}
	if err := enc.EncodeString("rooms"); err != nil {
		return err
	}
	if err := encodeStrings(enc, o.Rooms); err != nil {
		return err
	}
	except := func() error {
		if err := enc.EncodeString("except"); err != nil {
			return err
		}
		return encodeStrings(enc, o.Except)
	}
	if !emitterOrder || !withFlags {
		if err := except(); err != nil {
			return err
		}
	}
	if withFlags {
		if err := encodeFlags(enc, &o.Flags); err != nil {
			return err
		}
		if emitterOrder {
			return except()
		}
	}
	return nil
}

func encodeFlags(enc *msgpack.Encoder, f *Flags) error {
	if err := enc.EncodeString("flags"); err != nil {
		return err
	}
	n := 0
	for _, set := range []bool{f.Volatile, f.NoCompress, f.Local, f.Timeout > 0, f.ExpectSingleResponse} {
		if set {
			n++
		}
	}
	if err := enc.EncodeMapLen(n); err != nil {
		return err
	}
	if f.ExpectSingleResponse {
		if err := encodeKeyBool(enc, "expectSingleResponse", true); err != nil {
			return err
		}
	}
	if f.Volatile {
		if err := encodeKeyBool(enc, "volatile", true); err != nil {
			return err
		}
	}
	if f.NoCompress {
		if err := encodeKeyBool(enc, "compress", false); err != nil {
			return err
		}
	}
	if f.Local {
		if err := encodeKeyBool(enc, "local", true); err != nil {
			return err
		}
	}
	if f.Timeout > 0 {
		return encodeKeyInt(enc, "timeout", f.Timeout.Milliseconds())
	}
	return nil
}

func encodeKeyBool(enc *msgpack.Encoder, key string, v bool) error {
	if err := enc.EncodeString(key); err != nil {
		return err
	}
	return enc.EncodeBool(v)
}

// AppendRequest appends the JSON form of a request, with the members in the
// order the Node adapter and emitter write them. A BroadcastWithAck request
// is MessagePack (see AppendBroadcastRequest).
func AppendRequest(dst []byte, r *Request) ([]byte, error) {
	if r.Type == BroadcastWithAck {
		return AppendBroadcastRequest(dst, r)
	}
	dst = append(dst, '{')
	if r.UID != "" {
		dst = append(dst, `"uid":`...)
		dst = AppendString(dst, r.UID)
		dst = append(dst, ',')
	}
	if r.RequestID != "" {
		dst = append(dst, `"requestId":`...)
		dst = AppendString(dst, r.RequestID)
		dst = append(dst, ',')
	}
	dst = append(dst, `"type":`...)
	dst = strconv.AppendInt(dst, int64(r.Type), 10)
	if r.Opts != nil {
		dst = append(dst, `,"opts":{"rooms":`...)
		dst = appendStrings(dst, r.Opts.Rooms)
		dst = append(dst, `,"except":`...)
		dst = appendStrings(dst, r.Opts.Except)
		dst = append(dst, '}')
	}
	switch r.Type {
	case RemoteJoin, RemoteLeave, Sockets:
		dst = append(dst, `,"rooms":`...)
		dst = appendStrings(dst, r.Rooms)
	case RemoteDisconnect:
		dst = append(dst, `,"close":`...)
		dst = strconv.AppendBool(dst, r.Close)
	case ServerSideEmit:
		dst = append(dst, `,"data":`...)
		if len(r.Data) == 0 {
			dst = append(dst, "[]"...)
		} else {
			dst = append(dst, r.Data...)
		}
	}
	return append(dst, '}'), nil
}

// AppendBroadcastRequest appends the MessagePack form of a BroadcastWithAck
// request: {uid, requestId, type, packet, opts}.
func AppendBroadcastRequest(dst []byte, r *Request) ([]byte, error) {
	if r.Packet == nil || r.Opts == nil {
		return dst, fmt.Errorf("%w: broadcast request without packet or options", ErrMalformed)
	}
	return withEncoder(dst, func(enc *msgpack.Encoder) error {
		if err := enc.EncodeMapLen(5); err != nil {
			return err
		}
		if err := encodeKeyString(enc, "uid", r.UID); err != nil {
			return err
		}
		if err := encodeKeyString(enc, "requestId", r.RequestID); err != nil {
			return err
		}
		if err := encodeKeyInt(enc, "type", int64(BroadcastWithAck)); err != nil {
			return err
		}
		if err := enc.EncodeString("packet"); err != nil {
			return err
		}
		if err := encodePacket(enc, r.Packet); err != nil {
			return err
		}
		if err := enc.EncodeString("opts"); err != nil {
			return err
		}
		return encodeOpts(enc, r.Opts, true, false)
	})
}

func encodeKeyString(enc *msgpack.Encoder, key, v string) error {
	if err := enc.EncodeString(key); err != nil {
		return err
	}
	return enc.EncodeString(v)
}

// AppendClientCount appends {"type":8,"requestId":…,"clientCount":n}.
func AppendClientCount(dst []byte, requestID string, n int) []byte {
	dst = append(dst, `{"type":8,"requestId":`...)
	dst = AppendString(dst, requestID)
	dst = append(dst, `,"clientCount":`...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	return append(dst, '}')
}

// AppendBroadcastAck appends the MessagePack {type: 9, requestId, packet}
// where packet is one acknowledgement value: JSON with placeholders for
// the attachments.
func AppendBroadcastAck(dst []byte, requestID string, value json.RawMessage, atts [][]byte) ([]byte, error) {
	if len(value) == 0 {
		value = json.RawMessage("null")
	}
	return withEncoder(dst, func(enc *msgpack.Encoder) error {
		if err := enc.EncodeMapLen(3); err != nil {
			return err
		}
		if err := encodeKeyInt(enc, "type", int64(BroadcastAck)); err != nil {
			return err
		}
		if err := encodeKeyString(enc, "requestId", requestID); err != nil {
			return err
		}
		if err := enc.EncodeString("packet"); err != nil {
			return err
		}
		ve := valueEncoder{enc: enc, atts: atts}
		return ve.encode(value)
	})
}

// AppendFetchResponse appends {"requestId":…,"sockets":[…]} where each
// socket is already JSON.
func AppendFetchResponse(dst []byte, requestID string, sockets []json.RawMessage) []byte {
	dst = append(dst, `{"requestId":`...)
	dst = AppendString(dst, requestID)
	dst = append(dst, `,"sockets":[`...)
	for i, s := range sockets {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, s...)
	}
	return append(dst, "]}"...)
}

// AppendSocketIDsResponse appends the answer to a legacy Sockets request:
// {"requestId":…,"sockets":[ids]}.
func AppendSocketIDsResponse(dst []byte, requestID string, ids []string) []byte {
	dst = append(dst, `{"requestId":`...)
	dst = AppendString(dst, requestID)
	dst = append(dst, `,"sockets":`...)
	dst = appendStrings(dst, ids)
	return append(dst, '}')
}

// AppendRoomsResponse appends {"requestId":…,"rooms":[…]}.
func AppendRoomsResponse(dst []byte, requestID string, rooms []string) []byte {
	dst = append(dst, `{"requestId":`...)
	dst = AppendString(dst, requestID)
	dst = append(dst, `,"rooms":`...)
	dst = appendStrings(dst, rooms)
	return append(dst, '}')
}

// AppendServerSideEmitResponse appends {"type":6,"requestId":…,"data":v}.
// A nil value (JavaScript's undefined) leaves out "data".
func AppendServerSideEmitResponse(dst []byte, requestID string, value json.RawMessage) []byte {
	dst = append(dst, `{"type":6,"requestId":`...)
	dst = AppendString(dst, requestID)
	if len(value) > 0 {
		dst = append(dst, `,"data":`...)
		dst = append(dst, value...)
	}
	return append(dst, '}')
}

// AppendDoneResponse appends {"requestId":…}, the answer to the legacy
// requests by socket id.
func AppendDoneResponse(dst []byte, requestID string) []byte {
	dst = append(dst, `{"requestId":`...)
	dst = AppendString(dst, requestID)
	return append(dst, '}')
}
