// Package emitter sends events to the clients of a Socket.IO cluster from a
// process that is not a Socket.IO server, through PostgreSQL. It is the
// counterpart of @socket.io/postgres-emitter: the servers of the cluster,
// Go (pgadapter) or Node.js (@socket.io/postgres-adapter), use the same
// channel prefix and attachment table.
//
//	e := emitter.New(pool, nil)
//	err := e.To("room1").Emit(ctx, "news", article)
//
// An Emitter is a small immutable value: every modifier returns a copy, so
// one can be kept and used from many goroutines. Nothing is acknowledged:
// sending succeeds once the database accepted the notification, whether or
// not a server received it.
//
// Unlike the Node emitter 0.1.1, the messages name their namespace: the
// Node adapter 0.5 ignores those that do not (the Go adapter accepts both).
package emitter

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/sio-go/socketio/internal/cluster"
	"github.com/sio-go/socketio/internal/cluster/wire"
	"github.com/sio-go/socketio/internal/names"
	"github.com/sio-go/socketio/pgadapter/internal/pgnotify"
	"github.com/sio-go/socketio/protocol"
)

// ErrReservedEvent is returned for an event name Socket.IO reserves
// (connect, disconnect…).
var ErrReservedEvent = errors.New("emitter: reserved event name")

// Executor runs a statement: *pgxpool.Pool, *pgx.Conn and pgx.Tx have it.
type Executor interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Config configures an Emitter. The zero value takes the defaults of the
// Node emitter, which are those of the adapters.
type Config struct {
	// ChannelPrefix prefixes the notification channels; it must be the
	// servers' adapters' one. Defaults to "socket.io".
	ChannelPrefix string
	// TableName is the attachment table of the servers' adapters, for
	// messages of PayloadThreshold bytes or more and those with binary
	// arguments. Defaults to "socket_io_attachments".
	TableName string
	// PayloadThreshold is the size in bytes from which a message goes
	// through the table. Defaults to 8000.
	PayloadThreshold int
}

// Emitter sends to the servers of a cluster. Get one with New; the zero
// value is not usable.
type Emitter struct {
	db        Executor
	q         *pgnotify.Queries
	prefix    string
	threshold int
	nsp       string
	rooms     []string
	except    []string
	flags     wire.Flags
}

// New returns an Emitter for the main namespace "/" that sends with db.
// cfg may be nil.
func New(db Executor, cfg *Config) Emitter {
	c := Config{}
	if cfg != nil {
		c = *cfg
	}
	prefix, table, threshold := pgnotify.Defaults(c.ChannelPrefix, c.TableName, c.PayloadThreshold)
	return Emitter{db: db, q: pgnotify.NewQueries(table), prefix: prefix, threshold: threshold, nsp: "/"}
}

// Of returns an Emitter for namespace nsp ("/" is added in front when
// missing), without rooms or flags.
func (e Emitter) Of(nsp string) Emitter {
	if nsp == "" || nsp[0] != '/' {
		nsp = "/" + nsp
	}
	return Emitter{db: e.db, q: e.q, prefix: e.prefix, threshold: e.threshold, nsp: nsp}
}

// Namespace returns the namespace e sends to.
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
// encoded as by the protocol package: []byte values are binary (the
// message then goes through the attachment table), other values go
// through encoding/json.
func (e Emitter) Emit(ctx context.Context, ev string, args ...any) error {
	data, atts, err := e.event(ev, args)
	if err != nil {
		return err
	}
	o := wire.Opts{Rooms: cluster.NonNil(e.rooms), Except: cluster.NonNil(e.except), Flags: e.flags}
	return e.send(ctx, &wire.ClusterMessage{Type: wire.ClusterBroadcast, Opts: &o,
		Packet: &protocol.Packet{Type: protocol.Event, Namespace: e.nsp, Data: data, Attachments: atts}})
}

// SocketsJoin makes the selected sockets join rooms.
func (e Emitter) SocketsJoin(ctx context.Context, rooms ...string) error {
	return e.send(ctx, &wire.ClusterMessage{Type: wire.SocketsJoin, Opts: e.opts(), Rooms: cluster.NonNil(rooms)})
}

// SocketsLeave makes the selected sockets leave rooms.
func (e Emitter) SocketsLeave(ctx context.Context, rooms ...string) error {
	return e.send(ctx, &wire.ClusterMessage{Type: wire.SocketsLeave, Opts: e.opts(), Rooms: cluster.NonNil(rooms)})
}

// DisconnectSockets makes the selected sockets leave their namespace.
func (e Emitter) DisconnectSockets(ctx context.Context) error {
	return e.send(ctx, &wire.ClusterMessage{Type: wire.DisconnectSockets, Opts: e.opts()})
}

// CloseConns closes the connections of the selected sockets.
func (e Emitter) CloseConns(ctx context.Context) error {
	return e.send(ctx, &wire.ClusterMessage{Type: wire.DisconnectSockets, Opts: e.opts(), Close: true})
}

// ServerSideEmit sends event ev with args to the servers of the namespace,
// which pass it to their server-side handlers. Acknowledgements are not
// supported.
func (e Emitter) ServerSideEmit(ctx context.Context, ev string, args ...any) error {
	data, atts, err := e.event(ev, args)
	if err != nil {
		return err
	}
	return e.send(ctx, &wire.ClusterMessage{Type: wire.ClusterServerSideEmit, Value: data, Attachments: atts})
}

func (e Emitter) event(ev string, args []any) ([]byte, [][]byte, error) {
	if protocol.IsReservedEvent(ev) {
		return nil, nil, fmt.Errorf("%w: %q", ErrReservedEvent, ev)
	}
	data, atts, err := protocol.MarshalArgs(append([]any{ev}, args...))
	if err != nil {
		return nil, nil, fmt.Errorf("emitter: %w", err)
	}
	return data, atts, nil
}

func (e Emitter) opts() *wire.Opts {
	return &wire.Opts{Rooms: cluster.NonNil(e.rooms), Except: cluster.NonNil(e.except)}
}

func (e Emitter) send(ctx context.Context, m *wire.ClusterMessage) error {
	if e.db == nil {
		return errors.New("emitter: no database (use New)")
	}
	m.UID, m.Nsp = cluster.EmitterUID, e.nsp
	enc, err := pgnotify.Encode(m, e.threshold)
	if err != nil {
		return fmt.Errorf("emitter: %w", err)
	}
	channel := e.prefix + "#" + e.nsp
	if err := e.q.Exec(ctx, e.db, channel, &enc); err != nil {
		return fmt.Errorf("emitter: send to %s: %w", channel, err)
	}
	return nil
}
