package sioclient

import (
	"context"
	"log/slog"
	"time"

	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/protocol"
)

// Config configures a Manager. The zero value is valid: every field left
// zero takes the default of the official JavaScript client (socket.io-client
// 4.8), given in its comment.
type Config struct {
	// Engine configures the Engine.IO connection: transports, headers,
	// query, cookie jar, TLS, proxy. Its Path defaults to "/socket.io/".
	Engine engineio.DialConfig

	// DisableReconnection stops the manager from reconnecting after the
	// connection is lost or the first attempt fails. Defaults to false.
	DisableReconnection bool

	// ReconnectionAttempts is how many reconnection attempts are made
	// before giving up (OnReconnectFailed). Defaults to 0: unlimited.
	ReconnectionAttempts int

	// ReconnectionDelay is the delay before the first reconnection attempt;
	// it doubles at every attempt. Defaults to 1s.
	ReconnectionDelay time.Duration

	// ReconnectionDelayMax caps the delay. Defaults to 5s.
	ReconnectionDelayMax time.Duration

	// RandomizationFactor spreads each delay by up to this fraction, down or
	// up, as randomizationFactor does in the official client: new(0.0)
	// turns the jitter off. Values are clamped to [0, 1]. Defaults to nil:
	// 0.5.
	RandomizationFactor *float64

	// ReconnectionDelayFunc, when not nil, replaces the exponential backoff:
	// it returns the delay before attempt n (1 for the first).
	ReconnectionDelayFunc func(attempt int) time.Duration

	// Timeout bounds each attempt to open the Engine.IO connection.
	// Defaults to 20s.
	Timeout time.Duration

	// MaxPendingEvents is how many events may wait for one socket's
	// handlers before the client stops reading the connection until they
	// catch up: backpressure, not loss. Over WebSocket the server's writes
	// then wait on TCP; over polling the next poll waits. The client holds
	// at most these events per socket plus one WebSocket message or one
	// polling response (Engine.MaxMessageBytes). Defaults to 1024.
	//
	// Reading goes on past it while a caller waits for the server
	// (EmitWithAck, Call, Connect), from a handler or not, since what it
	// waits for may be behind the events: up to HardMaxPendingEvents.
	MaxPendingEvents int

	// HardMaxPendingEvents caps the events waiting for one socket's
	// handlers. When an event arrives for a socket that has that many, the
	// client closes the connection instead of queueing it: every socket of
	// the manager is disconnected with ReasonHandlerQueueFull (its Err wraps
	// ErrHandlerQueueFull), then reconnects as after any lost connection;
	// with connection state recovery on the server, the events not read
	// are delivered then. A value of MaxPendingEvents or less disconnects
	// at MaxPendingEvents rather than pause. Defaults to 64 ×
	// MaxPendingEvents.
	HardMaxPendingEvents int

	// Socket holds the options of the sockets created by Dial, and by
	// Manager.Socket when given nil.
	Socket SocketConfig

	// OnOpen is called when the Engine.IO connection opens.
	OnOpen func()
	// OnClose is called when the Engine.IO connection closes.
	OnClose func(reason DisconnectReason, err error)
	// OnReconnectAttempt is called before each reconnection attempt, with
	// its number (1 for the first).
	OnReconnectAttempt func(attempt int)
	// OnReconnectError is called when a reconnection attempt fails.
	OnReconnectError func(err error)
	// OnReconnectFailed is called when ReconnectionAttempts attempts failed.
	OnReconnectFailed func()
	// OnReconnect is called when a reconnection attempt succeeds, with the
	// number of attempts it took.
	OnReconnect func(attempt int)

	// Parser is the wire format of packets, which must be the server's:
	// protocol.JSON (the default) or another one such as
	// msgpackparser.Parser, as the official client's parser option.
	Parser protocol.Parser

	// ErrorReply returns the acknowledgement argument that tells the
	// server an event failed (see On). Defaults to ErrorReply:
	// {"error":{"code":…,"message":…}} for an *Error, code "internal"
	// without the text for any other error.
	ErrorReply func(err error) any

	// Logger receives debug logs. Defaults to nil: nothing is logged.
	Logger *slog.Logger
}

// SocketConfig configures a Socket. The zero value is valid.
type SocketConfig struct {
	// Auth is sent to the server with every connection request (the
	// handshake's auth). It must marshal to a JSON object. Defaults to nil.
	Auth any

	// AuthFunc, when not nil, is called at every connection and
	// reconnection for the auth payload, so that a token can be refreshed;
	// it replaces Auth. ctx ends after Config.Timeout. An error refuses the
	// connection as a CONNECT_ERROR would.
	AuthFunc func(ctx context.Context) (any, error)

	// Retries, when positive, sends every event through a queue, one at a
	// time, each asking for an acknowledgement and sent again (with a new
	// acknowledgement id) until acknowledged or tried Retries+1 times: at
	// least once delivery, so the server should tolerate duplicates.
	// Defaults to 0.
	Retries int

	// AckTimeout bounds the wait for each acknowledgement (each try, with
	// Retries); expiry gives ErrAckTimeout. Defaults to 0: only the
	// context bounds EmitWithAck.
	AckTimeout time.Duration

	// MaxBufferBytes bounds the events buffered while the socket is
	// disconnected, in encoded bytes. Past it Emit returns ErrBufferFull.
	// Defaults to 1 MiB.
	MaxBufferBytes int
}

func (c *Config) withDefaults() *Config {
	var cfg Config
	if c != nil {
		cfg = *c
	}
	if cfg.Engine.Path == "" {
		cfg.Engine.Path = "/socket.io/"
	}
	if cfg.ReconnectionDelay <= 0 {
		cfg.ReconnectionDelay = time.Second
	}
	if cfg.ReconnectionDelayMax <= 0 {
		cfg.ReconnectionDelayMax = 5 * time.Second
	}
	if cfg.ReconnectionDelayMax < cfg.ReconnectionDelay {
		cfg.ReconnectionDelayMax = cfg.ReconnectionDelay
	}
	jitter := 0.5
	if f := cfg.RandomizationFactor; f != nil {
		jitter = 0 // negative or NaN
		if *f > 0 {
			jitter = min(*f, 1)
		}
	}
	cfg.RandomizationFactor = &jitter // not the caller's variable
	if cfg.Timeout <= 0 {
		cfg.Timeout = 20 * time.Second
	}
	if cfg.MaxPendingEvents <= 0 {
		cfg.MaxPendingEvents = 1024
	}
	switch {
	case cfg.HardMaxPendingEvents <= 0:
		cfg.HardMaxPendingEvents = 64 * cfg.MaxPendingEvents
	case cfg.HardMaxPendingEvents < cfg.MaxPendingEvents:
		cfg.HardMaxPendingEvents = cfg.MaxPendingEvents
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
	if cfg.Engine.Logger == nil {
		cfg.Engine.Logger = cfg.Logger
	}
	return &cfg
}

func (c SocketConfig) withDefaults() SocketConfig {
	if c.MaxBufferBytes <= 0 {
		c.MaxBufferBytes = 1 << 20
	}
	return c
}
