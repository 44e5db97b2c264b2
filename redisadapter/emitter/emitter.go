// Package emitter sends events to the clients of a Socket.IO cluster from a
// process that is not a Socket.IO server, through Redis. It is compatible
// with @socket.io/redis-emitter: the servers of the cluster, Go or Node.js,
// use the Redis adapter (classic, not sharded) with the same key.
//
//	e := emitter.New(redisClient, nil)
//	err := e.To("room1").Emit(ctx, "news", article)
//
// An Emitter is a small immutable value: every modifier returns a copy, so
// one can be kept and used from many goroutines. Nothing is acknowledged:
// publishing succeeds once Redis accepted the message, whether or not a
// server received it.
package emitter

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
	"github.com/sio-go/socketio/internal/cluster/wire"
	"github.com/sio-go/socketio/internal/names"
	"github.com/sio-go/socketio/protocol"
)

// uid is the sender id the Node emitter writes in its broadcasts.
const uid = "emitter"

// ErrReservedEvent is returned for an event name Socket.IO reserves
// (connect, disconnect…).
var ErrReservedEvent = errors.New("emitter: reserved event name")

// Publisher is the part of a Redis client the emitter uses;
// *redis.Client, *redis.ClusterClient and redis.UniversalClient have it.
type Publisher interface {
	Publish(ctx context.Context, channel string, message any) *redis.IntCmd
}

// Config configures an Emitter. The zero value is valid.
type Config struct {
	// Key is the prefix of the Redis channels; it must be the key of the
	// servers' adapters. Defaults to "socket.io".
	Key string
}

// Emitter publishes to the servers of a cluster. Get one with New; the zero
// value is not usable.
type Emitter struct {
	client Publisher
	key    string
	nsp    string
	rooms  []string
	except []string
	flags  wire.Flags
}

// New returns an Emitter for the main namespace "/" that publishes with
// client. cfg may be nil.
func New(client Publisher, cfg *Config) Emitter {
	key := "socket.io"
	if cfg != nil && cfg.Key != "" {
		key = cfg.Key
	}
	return Emitter{client: client, key: key, nsp: "/"}
}

// Of returns an Emitter for namespace nsp ("/" is added in front when
// missing), without rooms or flags.
func (e Emitter) Of(nsp string) Emitter {
	if nsp == "" || nsp[0] != '/' {
		nsp = "/" + nsp
	}
	return Emitter{client: e.client, key: e.key, nsp: nsp}
}

// Namespace returns the namespace e publishes to.
func (e Emitter) Namespace() string { return e.nsp }

// To returns a copy that also targets rooms. Without any room, an Emitter
// targets every socket of its namespace.
func (e Emitter) To(rooms ...string) Emitter {
	e.rooms = names.Union(e.rooms, rooms)
	return e
}

// In is an alias of To.
func (e Emitter) In(rooms ...string) Emitter { return e.To(rooms...) }

// Except returns a copy that excludes the sockets in rooms.
func (e Emitter) Except(rooms ...string) Emitter {
	e.except = names.Union(e.except, rooms)
	return e
}

// Volatile returns a copy whose events are dropped for clients whose
// connection is busy.
func (e Emitter) Volatile() Emitter {
	e.flags.Volatile = true
	return e
}

// Compress returns a copy with the compress flag set to compress.
func (e Emitter) Compress(compress bool) Emitter {
	e.flags.NoCompress = !compress
	return e
}

// Emit sends event ev with args to the selected sockets. Arguments are
// encoded as by the protocol package: []byte values are binary, other
// values go through encoding/json.
func (e Emitter) Emit(ctx context.Context, ev string, args ...any) error {
	if protocol.IsReservedEvent(ev) {
		return fmt.Errorf("%w: %q", ErrReservedEvent, ev)
	}
	data, atts, err := protocol.MarshalArgs(append([]any{ev}, args...))
	if err != nil {
		return fmt.Errorf("emitter: %w", err)
	}
	msg, err := wire.AppendBroadcast(nil, &wire.Broadcast{
		UID:    uid,
		Packet: &protocol.Packet{Type: protocol.Event, Namespace: e.nsp, Data: data, Attachments: atts},
		Opts:   wire.Opts{Rooms: e.rooms, Except: e.except, Flags: e.flags},
	}, true)
	if err != nil {
		return fmt.Errorf("emitter: %w", err)
	}
	channel := e.key + "#" + e.nsp + "#"
	if len(e.rooms) == 1 {
		channel += e.rooms[0] + "#"
	}
	return e.publish(ctx, channel, msg)
}

// SocketsJoin makes the selected sockets join rooms.
func (e Emitter) SocketsJoin(ctx context.Context, rooms ...string) error {
	return e.request(ctx, &wire.Request{Type: wire.RemoteJoin, Rooms: nonNil(rooms)})
}

// SocketsLeave makes the selected sockets leave rooms.
func (e Emitter) SocketsLeave(ctx context.Context, rooms ...string) error {
	return e.request(ctx, &wire.Request{Type: wire.RemoteLeave, Rooms: nonNil(rooms)})
}

// DisconnectSockets makes the selected sockets leave their namespace.
func (e Emitter) DisconnectSockets(ctx context.Context) error {
	return e.request(ctx, &wire.Request{Type: wire.RemoteDisconnect})
}

// CloseConns closes the connections of the selected sockets.
func (e Emitter) CloseConns(ctx context.Context) error {
	return e.request(ctx, &wire.Request{Type: wire.RemoteDisconnect, Close: true})
}

// ServerSideEmit sends event ev with args to the servers of the namespace,
// which pass it to their server-side handlers. Acknowledgements are not
// supported. Binary arguments travel as Node's JSON form of a Buffer.
func (e Emitter) ServerSideEmit(ctx context.Context, ev string, args ...any) error {
	if protocol.IsReservedEvent(ev) {
		return fmt.Errorf("%w: %q", ErrReservedEvent, ev)
	}
	data, atts, err := protocol.MarshalArgs(append([]any{ev}, args...))
	if err != nil {
		return fmt.Errorf("emitter: %w", err)
	}
	if data, err = wire.InlineBuffers(data, atts); err != nil {
		return fmt.Errorf("emitter: %w", err)
	}
	msg, err := wire.AppendRequest(nil, &wire.Request{Type: wire.ServerSideEmit, UID: uid, Data: data})
	if err != nil {
		return fmt.Errorf("emitter: %w", err)
	}
	return e.publish(ctx, e.requestChannel(), msg)
}

func (e Emitter) request(ctx context.Context, r *wire.Request) error {
	r.Opts = &wire.Opts{Rooms: nonNil(e.rooms), Except: nonNil(e.except)}
	msg, err := wire.AppendRequest(nil, r)
	if err != nil {
		return fmt.Errorf("emitter: %w", err)
	}
	return e.publish(ctx, e.requestChannel(), msg)
}

func (e Emitter) requestChannel() string { return e.key + "-request#" + e.nsp + "#" }

func (e Emitter) publish(ctx context.Context, channel string, msg []byte) error {
	if e.client == nil {
		return errors.New("emitter: no Redis client (use New)")
	}
	if err := e.client.Publish(ctx, channel, msg).Err(); err != nil {
		return fmt.Errorf("emitter: publish to %s: %w", channel, err)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
