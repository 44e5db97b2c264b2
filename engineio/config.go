package engineio

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/sio-go/socketio/internal/names"
)

// Transport names a way of carrying Engine.IO packets.
type Transport string

// The transports this package implements.
const (
	Polling   Transport = "polling"
	WebSocket Transport = "websocket"
)

// Config configures a Server. The zero value is valid: every field left zero
// takes the default of the official Node.js server, given in its comment.
type Config struct {
	// Path is the URL path prefix the server answers under. Requests outside
	// it get 404. Defaults to "/engine.io/".
	Path string

	// PingInterval is the time between two pings the server sends.
	// Defaults to 25s.
	PingInterval time.Duration

	// PingTimeout is how long the server waits for the pong after a ping
	// before closing the session with ReasonPingTimeout. Defaults to 20s.
	PingTimeout time.Duration

	// UpgradeTimeout bounds the WebSocket upgrade of a polling session, from
	// the WebSocket's arrival to the client's upgrade packet. Defaults to 10s.
	UpgradeTimeout time.Duration

	// MaxBufferSize is the largest message (WebSocket frame or polling POST
	// body) accepted, in bytes; it is advertised to clients as maxPayload.
	// Larger POSTs get 413, larger frames close the session.
	// Defaults to 1e6 bytes (Node's maxHttpBufferSize).
	MaxBufferSize int

	// Transports lists the transports clients may use.
	// Defaults to [Polling, WebSocket].
	Transports []Transport

	// DisableUpgrades stops polling sessions from upgrading to WebSocket
	// (Node's allowUpgrades: false). Defaults to false.
	DisableUpgrades bool

	// PerMessageDeflate enables the WebSocket permessage-deflate extension
	// when not nil. Defaults to nil (off), as in Node.
	PerMessageDeflate *PerMessageDeflate

	// DisableHTTPCompression turns off gzip/deflate compression of polling
	// responses. Defaults to false: responses of at least
	// HTTPCompressionThreshold bytes are compressed when the client accepts it.
	DisableHTTPCompression bool

	// HTTPCompressionThreshold is the smallest polling response that is
	// compressed. Defaults to 1024 bytes.
	HTTPCompressionThreshold int

	// Cookie, when not nil, makes the handshake response set a cookie holding
	// the session id (useful for sticky sessions). Defaults to nil (no cookie).
	Cookie *Cookie

	// CORS, when not nil, makes the server answer cross-origin requests and
	// preflights. Defaults to nil (no CORS headers).
	CORS *CORS

	// CheckWebSocketOrigin refuses WebSocket handshakes and upgrades whose
	// Origin header is neither the server's own host nor allowed by CORS
	// (requests without an Origin, from programs rather than browsers, are
	// accepted). Browsers do not apply CORS to WebSockets: without this
	// check any site can open one with the user's cookies. For other rules
	// use AllowRequest. Defaults to false, as in Node.
	CheckWebSocketOrigin bool

	// AllowEIO3 admits clients of Engine.IO protocol v3: socket.io-client
	// 2.x (engine.io-client 3.x), for Socket.IO v2 clients. They get the
	// v3 framing, heartbeat and binary encoding (see Conn.Protocol).
	// Defaults to false, as in Node: their handshakes (any EIO parameter
	// but 4) are refused with ErrUnsupportedProtocol.
	AllowEIO3 bool

	// AllowRequest, when not nil, is called for every handshake (requests
	// without a sid). A non-nil error refuses it with code 4 (Forbidden, HTTP
	// 403) and the error's text as message.
	AllowRequest func(r *http.Request) error

	// InitialPacket, when not nil, is sent as a message right after the
	// handshake.
	InitialPacket []byte

	// GenerateID returns the id of a new session. Defaults to GenerateID
	// (the function): 15 random bytes from crypto/rand, base64url-encoded
	// (20 characters, like Node's).
	GenerateID func(r *http.Request) (string, error)

	// UnknownSession, when not nil, is offered every request whose sid names
	// no session of this server (polling GET and POST, WebSocket upgrade)
	// before it is refused with code 1, "Session ID unknown". It returns
	// true when it answered the request itself: a server of a cluster
	// forwards it to the server that owns the session (see
	// socketio.RouteConfig). w may already hold CORS headers.
	UnknownSession func(w http.ResponseWriter, r *http.Request, sid string) bool

	// MaxQueueBytes bounds the bytes waiting in one session's outbound queue.
	// Past it the session is closed with ReasonSlowConsumer. It is generous
	// so that a burst to a client that reads does not cut it; the two
	// bounds below are what catch a client that does not.
	// Defaults to 32 MiB.
	MaxQueueBytes int

	// SlowConsumerTimeout is how long a session's queue may hold more than
	// 64 KiB without the transport taking any of it (a WebSocket write
	// that does not complete, a polling client that does not poll) before
	// the session is closed with ReasonSlowConsumer.
	// Defaults to 20s.
	SlowConsumerTimeout time.Duration

	// MaxTotalQueueBytes bounds the bytes that all sessions together hold
	// in their queues above 64 KiB each. A message that would go past it is
	// not queued on a session already over 64 KiB: that session is closed
	// with ReasonSlowConsumer. Sessions that keep up are not affected.
	// Defaults to 512 MiB.
	MaxTotalQueueBytes int

	// OnConnectionError, when not nil, is called for every request refused
	// with an Engine.IO error (Node's "connection_error" event).
	OnConnectionError func(*ConnectionError)

	// InitialHeaders, when not nil, may add headers to the response to a
	// handshake (Node's "initial_headers" event): the first polling
	// response, or the WebSocket's 101 Switching Protocols. It runs
	// before Headers. h is the response's header; r is the request.
	InitialHeaders func(h http.Header, r *http.Request)

	// Headers, when not nil, may add headers to every response of a
	// session (Node's "headers" event): the handshake, every polling
	// request, and the 101 response of a WebSocket, the upgrade's
	// included. The WebSocket library refuses Sec-WebSocket-Extensions.
	Headers func(h http.Header, r *http.Request)

	// Logger receives debug logs. Defaults to nil: nothing is logged.
	Logger *slog.Logger
}

// PerMessageDeflate configures WebSocket compression.
type PerMessageDeflate struct {
	// Threshold is the smallest message that is compressed.
	// Defaults to 1024 bytes.
	Threshold int
}

// Cookie configures the session cookie set on the handshake response.
type Cookie struct {
	// Name defaults to "io".
	Name string
	// Path defaults to "/".
	Path   string
	Domain string
	// MaxAge in seconds; 0 means a session cookie.
	MaxAge int
	Secure bool
	// DisableHTTPOnly leaves out the HttpOnly attribute, which is set by default.
	DisableHTTPOnly bool
	// SameSite defaults to http.SameSiteLaxMode.
	SameSite http.SameSite
}

// CORS configures cross-origin resource sharing, with the semantics of the
// npm cors package that the Node server uses.
type CORS struct {
	// AllowOrigins lists the allowed origins. "*" allows any origin and is
	// sent as "*", as by Node's cors package, also with AllowCredentials:
	// browsers then refuse the credentialed requests. To allow cookies from
	// other sites, list them, or decide with AllowOriginFunc.
	AllowOrigins []string
	// AllowOriginFunc, when not nil, decides instead of AllowOrigins.
	AllowOriginFunc func(origin string) bool
	// AllowCredentials sets Access-Control-Allow-Credentials: true.
	AllowCredentials bool
	// AllowMethods defaults to GET, HEAD, PUT, PATCH, POST, DELETE.
	AllowMethods []string
	// AllowHeaders defaults to reflecting Access-Control-Request-Headers.
	AllowHeaders []string
	// ExposeHeaders lists headers the browser may read.
	ExposeHeaders []string
	// MaxAge is how long a preflight may be cached; 0 sends no header.
	MaxAge time.Duration
}

// withDefaults returns a copy of c with every zero field set to its default.
func (c *Config) withDefaults() *Config {
	var cfg Config
	if c != nil {
		cfg = *c
	}
	cfg.Path = names.Path(cfg.Path, "/engine.io/")
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 25 * time.Second
	}
	if cfg.PingTimeout <= 0 {
		cfg.PingTimeout = 20 * time.Second
	}
	if cfg.UpgradeTimeout <= 0 {
		cfg.UpgradeTimeout = 10 * time.Second
	}
	if cfg.MaxBufferSize <= 0 {
		cfg.MaxBufferSize = 1e6
	}
	if len(cfg.Transports) == 0 {
		cfg.Transports = []Transport{Polling, WebSocket}
	} else {
		cfg.Transports = append([]Transport(nil), cfg.Transports...)
	}
	if cfg.HTTPCompressionThreshold <= 0 {
		cfg.HTTPCompressionThreshold = 1024
	}
	if cfg.PerMessageDeflate != nil {
		d := *cfg.PerMessageDeflate
		if d.Threshold <= 0 {
			d.Threshold = 1024
		}
		cfg.PerMessageDeflate = &d
	}
	if cfg.Cookie != nil {
		ck := *cfg.Cookie
		if ck.Name == "" {
			ck.Name = "io"
		}
		if ck.Path == "" {
			ck.Path = "/"
		}
		if ck.SameSite == 0 {
			ck.SameSite = http.SameSiteLaxMode
		}
		cfg.Cookie = &ck
	}
	if cfg.MaxQueueBytes <= 0 {
		cfg.MaxQueueBytes = 32 << 20
	}
	if cfg.SlowConsumerTimeout <= 0 {
		cfg.SlowConsumerTimeout = 20 * time.Second
	}
	if cfg.MaxTotalQueueBytes <= 0 {
		cfg.MaxTotalQueueBytes = 512 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &cfg
}

func (c *Config) allows(t Transport) bool {
	for _, x := range c.Transports {
		if x == t {
			return true
		}
	}
	return false
}
