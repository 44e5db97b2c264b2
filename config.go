package socketio

import (
	"log/slog"
	"time"

	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/internal/names"
	"github.com/sio-go/socketio/protocol"
)

// Config configures a Server. The zero value is valid: every field left zero
// takes the default of the official Node.js server, given in its comment.
type Config struct {
	// Path is the URL path prefix the server answers under.
	// Defaults to "/socket.io/".
	Path string

	// Engine configures the Engine.IO layer: heartbeats, transports, CORS,
	// cookies, size limits. Its Path is ignored (Path above is used) and a nil
	// Engine.Logger takes Logger. The zero value takes Node's defaults.
	Engine engineio.Config

	// ConnectTimeout is how long a connection may stay without joining any
	// namespace before it is closed. Defaults to 45s.
	ConnectTimeout time.Duration

	// ConnectionStateRecovery, when not nil, lets a client that lost its
	// connection get back its id, rooms and data, and the events it missed,
	// when it reconnects soon enough. Defaults to nil (off).
	//
	// Unlike the official server, a client that comes back before the
	// server noticed its old connection was gone (the ping timeout) gets its
	// session too: the server closes the old connection, here or, with a
	// store shared by the servers (redisadapter.NewStreams), on the server
	// that holds it, and restores the session.
	ConnectionStateRecovery *RecoveryConfig

	// CleanupEmptyChildNamespaces removes a namespace created on demand by
	// OfRegexp or OfFunc once its last socket leaves. Defaults to false.
	CleanupEmptyChildNamespaces bool

	// Adapter creates the adapter of each namespace. Defaults to
	// NewMemoryAdapter, which serves a single server.
	Adapter AdapterFactory

	// MaxPendingEvents bounds the events waiting for one socket's handlers.
	// When a client sends faster than its handlers run and the bound is
	// reached, Overflow says what happens. Defaults to 1024. The official
	// server has no bound: its memory grows with what the client sends.
	MaxPendingEvents int

	// Overflow is what happens when a socket's handlers have
	// MaxPendingEvents events waiting. Defaults to OverflowBackpressure:
	// the connection is not read until they are down to half as many, so
	// that nothing is lost and the server's memory stays bounded.
	Overflow OverflowPolicy

	// Route, when not nil, makes the servers of a cluster serve each
	// other's sessions, so that a round-robin load balancer needs no
	// sticky sessions (see RouteConfig). Defaults to nil: a request for a
	// session of another server is refused, as by the official server.
	Route *RouteConfig

	// Parser is the wire format of packets: protocol.JSON (the default,
	// socket.io-parser's) or another one such as msgpackparser.Parser,
	// which clients must use too, as with the official server's parser
	// option. The format changes only the bytes on the wire: handlers,
	// broadcasts and adapters see the same arguments with every parser.
	Parser protocol.Parser

	// ErrorReply returns the acknowledgement argument that tells a client
	// its event failed: an argument did not decode or validate, a packet
	// middleware (Socket.Use) refused the event, or the handler returned
	// an error. Defaults to ErrorReply, which sends an *Error's code,
	// message and data as {"error":{"code":…,"message":…}} and any other
	// error as code "internal", without its text.
	ErrorReply func(err error) any

	// Logger receives debug logs. Defaults to nil: nothing is logged.
	Logger *slog.Logger
}

// OverflowPolicy says what the server does with a client that sends events
// faster than its socket's handlers run (see Config.MaxPendingEvents).
type OverflowPolicy uint8

const (
	// OverflowBackpressure stops reading the connection until the handlers
	// have caught up: over WebSocket the client's writes wait for the TCP
	// window, over polling its POST is answered only then. Nothing is lost
	// and the client is not disconnected. The heartbeat does not time out
	// the connection meanwhile. While a socket of the connection awaits an
	// acknowledgement from the client (EmitWithAck), which may be behind
	// the events, reading goes on up to eight times MaxPendingEvents; past
	// that, the socket is disconnected as with OverflowDisconnect.
	OverflowBackpressure OverflowPolicy = iota
	// OverflowDisconnect disconnects the socket with ReasonHandlerQueueFull:
	// the client receives a DISCONNECT packet ("io server disconnect") and
	// the events waiting are not handled. A warning is logged.
	OverflowDisconnect
)

// RecoveryConfig configures connection state recovery.
type RecoveryConfig struct {
	// MaxDisconnectionDuration is how long after a disconnection the state of
	// a socket can still be recovered. Defaults to 2m.
	MaxDisconnectionDuration time.Duration

	// RestoreTimeout bounds the adapter's RestoreSession, which may read a
	// remote store; a connection whose session cannot be restored in
	// time is handled as a new one. Defaults to 5s.
	RestoreTimeout time.Duration

	// RunMiddlewares makes the namespace middlewares run for recovered
	// sockets too. Defaults to false: recovered sockets skip them (Node's
	// skipMiddlewares: true).
	RunMiddlewares bool
}

// withDefaults returns a copy of c with every zero field set to its default.
func (c *Config) withDefaults() *Config {
	var cfg Config
	if c != nil {
		cfg = *c
	}
	cfg.Path = names.Path(cfg.Path, "/socket.io/")
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 45 * time.Second
	}
	if cfg.ConnectionStateRecovery != nil {
		r := *cfg.ConnectionStateRecovery
		if r.MaxDisconnectionDuration <= 0 {
			r.MaxDisconnectionDuration = 2 * time.Minute
		}
		if r.RestoreTimeout <= 0 {
			r.RestoreTimeout = 5 * time.Second
		}
		cfg.ConnectionStateRecovery = &r
	}
	if cfg.Adapter == nil {
		cfg.Adapter = func(nsp *Namespace) Adapter { return NewMemoryAdapter(nsp) }
	}
	if cfg.MaxPendingEvents <= 0 {
		cfg.MaxPendingEvents = 1024
	}
	if cfg.Parser == nil {
		cfg.Parser = protocol.JSON
	}
	if cfg.ErrorReply == nil {
		cfg.ErrorReply = ErrorReply
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Engine.Path = cfg.Path
	if cfg.Engine.Logger == nil {
		cfg.Engine.Logger = cfg.Logger
	}
	return &cfg
}
