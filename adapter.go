package socketio

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/sio-go/socketio/protocol"
)

// An Adapter keeps the rooms of one namespace and carries its broadcasts. The
// default, MemoryAdapter, serves one server; a cluster adapter (Redis,
// Postgres…) also forwards each operation to the other servers and applies
// theirs locally, usually by wrapping a MemoryAdapter.
//
// Every method must be safe for concurrent use and must not call back into
// the namespace while holding its own locks. Methods without a context never
// block on the network.
type Adapter interface {
	// AddAll adds socket id to rooms (creating them as needed).
	AddAll(id string, rooms []string)
	// Del removes socket id from room.
	Del(id, room string)
	// DelAll removes socket id from every room.
	DelAll(id string)
	// SocketRooms returns the rooms of local socket id, nil if unknown.
	SocketRooms(id string) []string

	// Broadcast sends an EVENT packet to the sockets opts selects. p has its
	// Namespace set and no ack id; it must not be modified (copy it).
	Broadcast(ctx context.Context, p *protocol.Packet, opts BroadcastOptions) error
	// BroadcastWithAck is Broadcast with an acknowledgement requested from
	// every recipient. Each server that delivered the packet calls
	// clientCount once with the number of its recipients; ack is called with
	// each reply. When ctx ends, pending acknowledgements are forgotten.
	BroadcastWithAck(ctx context.Context, p *protocol.Packet, opts BroadcastOptions,
		clientCount func(int), ack func(Args)) error
	// ServerCount returns the number of servers of the cluster, 1 alone.
	ServerCount(ctx context.Context) (int, error)

	// FetchSockets returns the sockets opts selects, on every server unless
	// opts.Flags.Local.
	FetchSockets(ctx context.Context, opts BroadcastOptions) ([]*RemoteSocket, error)
	// AddSockets makes the sockets opts selects join rooms.
	AddSockets(ctx context.Context, opts BroadcastOptions, rooms []string) error
	// DelSockets makes the sockets opts selects leave rooms.
	DelSockets(ctx context.Context, opts BroadcastOptions, rooms []string) error
	// DisconnectSockets disconnects the sockets opts selects; with close,
	// their whole connections are closed.
	DisconnectSockets(ctx context.Context, opts BroadcastOptions, close bool) error

	// ServerSideEmit sends an EVENT packet to the other servers of the
	// cluster, whose namespaces pass it to their OnServerSideEmit handlers.
	// When reply is not nil, each server's acknowledgement is passed to it
	// and the number of replies to expect is returned.
	ServerSideEmit(ctx context.Context, p *protocol.Packet, reply func(Args)) (expected int, err error)

	// Close releases the adapter's resources. The namespace calls it when
	// the server shuts down or the namespace is removed.
	Close() error
}

// A SessionStore is an Adapter that supports connection state recovery. The
// server requires it when Config.ConnectionStateRecovery is set.
//
// The store assigns the offsets: an adapter that keeps the sessions
// elsewhere than its MemoryAdapter (in Redis, for a cluster) delivers its
// broadcasts with MemoryAdapter.BroadcastWithOffset.
type SessionStore interface {
	// PersistSession stores the state of a socket that disconnected. Like
	// the other methods without a context it must not block on the
	// network: a remote store writes in the background.
	PersistSession(s *Session)
	// RestoreSession returns the session pid and the packets broadcast
	// after offset that it missed, or nil when the session is unknown,
	// expired, or offset too old. The session is consumed. The server
	// bounds ctx by RecoveryConfig.RestoreTimeout; a remote store must
	// give up when ctx ends.
	RestoreSession(ctx context.Context, pid, offset string) (*Session, error)
}

// A CatchUpStore is a SessionStore whose broadcasts reach the server
// through a log it reads on its own (a Redis stream): between
// RestoreSession and the moment the restored socket joins its rooms, the
// log moves on. After the join, the server asks it for the broadcasts to
// rooms after offset (the last packet RestoreSession returned, or the
// client's offset), holds the broadcasts that reach the socket meanwhile,
// and sends each packet once, in order. Without it, a broadcast made in
// that window can be lost or arrive twice.
//
// The server also drops, for a restored socket, the broadcasts that its own
// reader of the log delivers late, at or before the last offset the socket
// got: OffsetBefore orders two offsets of the store.
type CatchUpStore interface {
	MissedSince(ctx context.Context, rooms []string, offset string) ([]*protocol.Packet, error)
	// OffsetBefore reports whether offset a comes before offset b.
	OffsetBefore(a, b string) bool
}

// AdapterFactory creates the adapter of a namespace.
type AdapterFactory func(nsp *Namespace) Adapter

// BroadcastOptions selects the recipients of a broadcast.
type BroadcastOptions struct {
	// Rooms lists the target rooms; empty means every socket.
	Rooms []string `json:"rooms"`
	// Except lists rooms whose sockets are excluded.
	Except []string `json:"except"`
	// Flags modify the delivery.
	Flags BroadcastFlags `json:"flags"`
}

// Includes reports whether a socket in rooms is a recipient of a broadcast
// with these options: it is in one of the target rooms (or there are none)
// and in none of the excluded ones. A store uses it to select the packets a
// session missed.
func (o *BroadcastOptions) Includes(rooms []string) bool {
	in := len(o.Rooms) == 0
	for _, r := range rooms {
		if slices.Contains(o.Except, r) {
			return false
		}
		if !in && slices.Contains(o.Rooms, r) {
			in = true
		}
	}
	return in
}

// BroadcastFlags modify the delivery of a broadcast. Their JSON form is that
// of the official adapters: only the flags that are set appear.
type BroadcastFlags struct {
	// Volatile packets are dropped for recipients whose connection is busy.
	Volatile bool
	// NoCompress asks not to compress the packet (Node's compress(false)).
	// The Engine.IO layer of this module compresses by its own settings
	// only; the flag is carried so that adapters pass it to other servers.
	NoCompress bool
	// Local restricts the operation to the sockets of this server.
	Local bool
	// Timeout is how long a broadcast with acknowledgements waits for
	// replies; it is derived from the context's deadline.
	Timeout time.Duration
	// ExpectSingleResponse marks the operations of a RemoteSocket, which
	// target one socket: a cluster may stop waiting at the first reply.
	ExpectSingleResponse bool
}

type broadcastFlagsJSON struct {
	Volatile             *bool  `json:"volatile,omitempty"`
	Compress             *bool  `json:"compress,omitempty"`
	Local                *bool  `json:"local,omitempty"`
	Timeout              *int64 `json:"timeout,omitempty"`
	ExpectSingleResponse *bool  `json:"expectSingleResponse,omitempty"`
}

// MarshalJSON encodes the flags like the official adapters (timeout in ms).
func (f BroadcastFlags) MarshalJSON() ([]byte, error) {
	var j broadcastFlagsJSON
	t, no := true, false
	if f.Volatile {
		j.Volatile = &t
	}
	if f.NoCompress {
		j.Compress = &no
	}
	if f.Local {
		j.Local = &t
	}
	if f.Timeout > 0 {
		ms := f.Timeout.Milliseconds()
		j.Timeout = &ms
	}
	if f.ExpectSingleResponse {
		j.ExpectSingleResponse = &t
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes the flags of the official adapters.
func (f *BroadcastFlags) UnmarshalJSON(b []byte) error {
	var j broadcastFlagsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*f = BroadcastFlags{
		Volatile:   j.Volatile != nil && *j.Volatile,
		NoCompress: j.Compress != nil && !*j.Compress,
		Local:      j.Local != nil && *j.Local,

		ExpectSingleResponse: j.ExpectSingleResponse != nil && *j.ExpectSingleResponse,
	}
	if j.Timeout != nil {
		f.Timeout = time.Duration(*j.Timeout) * time.Millisecond
	}
	return nil
}

// Session is the state of a disconnected socket kept for recovery.
type Session struct {
	SID   string
	PID   string
	Rooms []string
	// Data is the socket's data (Socket.Data): a remote store keeps its
	// JSON (see Data.MarshalJSON and Data.UnmarshalJSON).
	Data Data
	// MissedPackets are the EVENT packets to replay, set by RestoreSession.
	MissedPackets []*protocol.Packet
}

// RoomEventType tells what happened to a room.
type RoomEventType uint8

// The room events, as the official adapter's create-room, delete-room,
// join-room and leave-room.
const (
	RoomCreated RoomEventType = iota + 1
	RoomDeleted
	RoomJoined
	RoomLeft
)

func (t RoomEventType) String() string {
	switch t {
	case RoomCreated:
		return "create-room"
	case RoomDeleted:
		return "delete-room"
	case RoomJoined:
		return "join-room"
	case RoomLeft:
		return "leave-room"
	}
	return "unknown"
}

// RoomEvent reports a change of a namespace's rooms. SocketID is empty for
// RoomCreated and RoomDeleted.
type RoomEvent struct {
	Type     RoomEventType
	Room     string
	SocketID string
}
