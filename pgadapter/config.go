package pgadapter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/sio-go/socketio/internal/cluster"
	"github.com/sio-go/socketio/pgadapter/internal/pgnotify"
	"github.com/sio-go/socketio/protocol"
)

// Config configures the adapters of a server. The zero value takes the
// defaults of the Node adapter; every server of the cluster, Go or Node,
// must use the same ChannelPrefix and TableName.
type Config struct {
	// ChannelPrefix prefixes the notification channels: a namespace's
	// channel is "<ChannelPrefix>#<namespace>" (PostgreSQL limits channel
	// names to 63 bytes). Defaults to "socket.io".
	ChannelPrefix string
	// TableName is the table that holds the messages too large for a
	// notification or carrying binary values (see EnsureTable). It is put
	// as is in the SQL, as by the Node adapter, and may name a schema.
	// Defaults to "socket_io_attachments".
	TableName string
	// PayloadThreshold is the size in bytes from which a message goes
	// through the table rather than in the notification (NOTIFY refuses
	// 8000 bytes and more in the default configuration). Defaults to
	// 8000.
	PayloadThreshold int
	// CleanupInterval is the time between two deletions of the
	// attachments older than it. Defaults to 30 seconds.
	CleanupInterval time.Duration
	// HeartbeatInterval is how long an adapter that published nothing
	// waits before it publishes a heartbeat. Defaults to 5 seconds.
	HeartbeatInterval time.Duration
	// HeartbeatTimeout is how long a server that sent nothing is still
	// counted. Defaults to 10 seconds.
	HeartbeatTimeout time.Duration
	// RequestsTimeout bounds the wait for the other servers' responses to
	// FetchSockets and ServerSideEmit with replies, even under a context
	// without deadline: FetchSockets then fails with ErrTimeout, and
	// socketio.Namespace.ServerSideEmitWithAck returns the replies so far
	// with an error matching context.DeadlineExceeded. It is also how long
	// acknowledgements of a broadcast received from another server are
	// awaited when that server gave no timeout. Defaults to 5 seconds, the
	// Node adapter's fixed value.
	RequestsTimeout time.Duration
	// Publish tells how the messages for the other servers are sent, and
	// what happens while the database is unreachable. Its zero value takes
	// the defaults of its fields.
	Publish PublishConfig
	// Logger receives the adapter's logs. Defaults to nil: nothing is
	// logged.
	Logger *slog.Logger
}

func (c *Config) withDefaults() *Config {
	out := Config{}
	if c != nil {
		out = *c
	}
	out.ChannelPrefix, out.TableName, out.PayloadThreshold = pgnotify.Defaults(out.ChannelPrefix, out.TableName, out.PayloadThreshold)
	if out.CleanupInterval <= 0 {
		out.CleanupInterval = 30 * time.Second
	}
	if out.HeartbeatInterval <= 0 {
		out.HeartbeatInterval = 5 * time.Second
	}
	if out.HeartbeatTimeout <= 0 {
		out.HeartbeatTimeout = 10 * time.Second
	}
	if out.RequestsTimeout <= 0 {
		out.RequestsTimeout = 5 * time.Second
	}
	if out.Logger == nil {
		out.Logger = slog.New(slog.DiscardHandler)
	}
	out.Publish = out.Publish.withDefaults()
	return &out
}

// PublishConfig tells how an adapter sends to PostgreSQL what the other
// servers must receive: broadcasts, joins, leaves, disconnections,
// requests, responses and heartbeats. They wait in a bounded queue per
// namespace, which one goroutine sends in order, so that the callers never
// wait for the database. The zero value takes the defaults.
type PublishConfig struct {
	// Timeout bounds each exchange of the adapter with the database: a
	// batch of notifications, the read of an attachment, a probe. When it
	// passes, or the database cannot be reached, the database is
	// considered down: the adapter probes it every 100 milliseconds, and
	// what needs it fails at once meanwhile. Defaults to 500 milliseconds.
	Timeout time.Duration
	// MaxDelay is how long the cross-node part of an operation may wait to
	// be sent. What is still queued MaxDelay after its call is dropped and
	// reported, and while the database has been down for longer than
	// MaxDelay operations fail at once with ErrDatabaseDown, without being
	// queued. A shorter outage only delays them. Defaults to 1 second.
	MaxDelay time.Duration
	// QueueBytes bounds the messages waiting to be sent, per namespace;
	// past it, operations fail at once with ErrQueueFull. A message larger
	// than the bound is accepted when the queue is empty. Defaults to
	// 4 MiB.
	QueueBytes int
	// OnError, when set, is called once with each operation whose
	// cross-node part was not sent: refused at once (the operation also
	// returns the error) or dropped later. Heartbeats are not reported.
	// It runs on the caller's goroutine or the publishing one and must not
	// block. Defaults to nil.
	OnError func(*PublishError)
}

func (c PublishConfig) withDefaults() PublishConfig {
	c.Timeout, c.MaxDelay, c.QueueBytes = cluster.PublishDefaults(c.Timeout, c.MaxDelay, c.QueueBytes)
	return c
}

var (
	// ErrDatabaseDown is the cause of a PublishError when the database did
	// not answer or is considered down, and is returned (wrapped) by the
	// requests to other servers while it is down.
	ErrDatabaseDown = errors.New("pgadapter: database unreachable")
	// ErrQueueFull is the cause of a PublishError when the namespace's
	// publishing queue was full, or could not be sent within
	// PublishConfig.MaxDelay while the database answered.
	ErrQueueFull = errors.New("pgadapter: publishing queue full")
	// ErrClosed is returned by the operations of a closed adapter.
	ErrClosed = errors.New("pgadapter: adapter closed")
)

// ErrTimeout is returned (wrapped) when other servers did not answer a
// request within Config.RequestsTimeout. It matches
// context.DeadlineExceeded too.
var ErrTimeout error = timeoutError{}

type timeoutError struct{}

func (timeoutError) Error() string { return "pgadapter: timeout reached" }

func (timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// Op names the operation a PublishError is about.
type Op string

// The operations whose cross-node part is sent.
const (
	OpBroadcast         Op = cluster.OpBroadcast
	OpBroadcastWithAck  Op = cluster.OpBroadcastWithAck
	OpSocketsJoin       Op = cluster.OpSocketsJoin
	OpSocketsLeave      Op = cluster.OpSocketsLeave
	OpDisconnectSockets Op = cluster.OpDisconnectSockets
	OpFetchSockets      Op = cluster.OpFetchSockets
	OpServerSideEmit    Op = cluster.OpServerSideEmit
	OpResponse          Op = cluster.OpResponse // an answer to another server's request
)

// PublishError reports that the cross-node part of an operation was not
// sent: the other servers did not get it, the local sockets did. Err is
// ErrQueueFull, ErrDatabaseDown (possibly wrapping pgx's error), ErrClosed,
// or the error the database answered (a missing attachment table, a
// channel name too long…); errors.Is sees through it.
type PublishError struct {
	Namespace string
	Op        Op
	// Packet is the packet of a broadcast, nil for other operations. It
	// must not be modified.
	Packet *protocol.Packet
	Err    error
	// MaybeSent tells that the connection failed after the message was
	// written: the other servers may have received it. When false, none
	// did.
	MaybeSent bool
}

func (e *PublishError) Error() string {
	return fmt.Sprintf("pgadapter: %s on %s not sent to the other servers: %v", e.Op, e.Namespace, e.Err)
}

func (e *PublishError) Unwrap() error { return e.Err }

// PublishStats are the counters of a namespace's publishing queue, for a
// metrics collector.
type PublishStats struct {
	// Published counts the messages the database accepted.
	Published uint64
	// Failed counts the messages not sent, heartbeats included.
	Failed uint64
	// Queued and QueuedBytes measure the messages waiting.
	Queued      int
	QueuedBytes int
	// DatabaseDown tells that the database is considered unreachable.
	DatabaseDown bool
}

// Executor runs a statement: *pgxpool.Pool, *pgx.Conn and pgx.Tx have it.
type Executor interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// EnsureTable creates the attachment table (TableName, "socket_io_attachments"
// when empty) as the Node adapter's documentation does, unless it exists.
// The Node adapter leaves this to its users; every server of the cluster
// may call it.
func EnsureTable(ctx context.Context, db Executor, tableName string) error {
	_, tableName, _ = pgnotify.Defaults("", tableName, 0)
	if _, err := db.Exec(ctx, pgnotify.CreateTable(tableName)); err != nil {
		return fmt.Errorf("pgadapter: create table %s: %w", tableName, err)
	}
	return nil
}
