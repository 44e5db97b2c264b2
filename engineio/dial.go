package engineio

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sio-go/socketio/internal/names"
)

// DialConfig configures Dial. The zero value is valid: every field left zero
// takes the default of the official JavaScript client, given in its comment.
type DialConfig struct {
	// Path is the URL path the server answers under. Defaults to
	// "/engine.io/"; a trailing slash is added when missing.
	Path string

	// Transports lists the transports to use, the first one to open the
	// connection. Defaults to [Polling, WebSocket]: open over long-polling,
	// then upgrade to WebSocket when the server offers it.
	Transports []Transport

	// DisableUpgrade keeps the connection on the transport it opened with.
	// Defaults to false.
	DisableUpgrade bool

	// Header holds extra headers sent with every HTTP request and the
	// WebSocket handshake.
	Header http.Header

	// Query holds extra query parameters sent with every request.
	Query url.Values

	// Jar, when not nil, stores the cookies the server (or a load balancer
	// in front of it) sets and sends them back, which keeps a session on
	// one node behind a sticky load balancer.
	Jar http.CookieJar

	// TLSConfig is used for https and wss URLs. Defaults to nil: the
	// system's roots.
	TLSConfig *tls.Config

	// Proxy selects the proxy of each request. Defaults to
	// http.ProxyFromEnvironment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY).
	Proxy func(*http.Request) (*url.URL, error)

	// HTTPClient, when not nil, carries the polling requests; Jar,
	// TLSConfig and Proxy then apply to the WebSocket only. Defaults to a
	// client of the connection's own, whose idle connections are closed
	// with it.
	HTTPClient *http.Client

	// MaxMessageBytes bounds a message received from the server (a
	// WebSocket frame or a polling response). Larger ones end the
	// connection with ErrMessageTooBig. Defaults to 100 MiB, the limit of
	// the WebSocket library of the Node.js client.
	MaxMessageBytes int64

	// MaxQueueBytes bounds the bytes waiting to be written. Send refuses
	// messages past it with ErrQueueFull. Defaults to 4 MiB.
	MaxQueueBytes int

	// Logger receives debug logs. Defaults to nil: nothing is logged.
	Logger *slog.Logger
}

// Errors of the client.
var (
	// ErrHandshake is the parent of every error Dial returns when the server
	// refused the connection or answered with something else than a valid
	// Engine.IO open packet.
	ErrHandshake = errors.New("engineio: handshake failed")
	// ErrPingTimeout ends a connection on which no ping arrived within
	// pingInterval + pingTimeout.
	ErrPingTimeout = errors.New("engineio: ping timeout")
	// ErrServerClose ends a connection the server closed with a close
	// packet.
	ErrServerClose = errors.New("engineio: closed by the server")
	// ErrMessageTooBig ends a connection that received a message larger
	// than DialConfig.MaxMessageBytes.
	ErrMessageTooBig = errors.New("engineio: message too big")
	// ErrQueueFull is returned by Send when the messages would exceed
	// DialConfig.MaxQueueBytes.
	ErrQueueFull = errors.New("engineio: send queue full")
	// ErrParse ends a connection on which the server sent a malformed
	// packet or payload.
	ErrParse = errParse
)

// HandshakeError reports a handshake the server refused with an HTTP error.
// errors.Is(err, ErrHandshake) holds for it.
type HandshakeError struct {
	Transport  Transport
	StatusCode int
	// Code and Message come from the server's JSON error body
	// {"code":N,"message":"..."}; Code is -1 when the body had none.
	Code    ErrorCode
	Message string
}

func (e *HandshakeError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	return fmt.Sprintf("engineio: handshake over %s refused: HTTP %d: %s", e.Transport, e.StatusCode, msg)
}

// Is makes errors.Is(err, ErrHandshake) hold.
func (e *HandshakeError) Is(target error) bool { return target == ErrHandshake }

// CloseError is returned by ClientConn.Read once the connection has ended.
type CloseError struct {
	// Reason is one of ReasonTransportClose, ReasonTransportError,
	// ReasonPingTimeout, ReasonParseError or ReasonForcedClose (Close was
	// called), the reasons of the official client.
	Reason CloseReason
	// Err is the cause: ErrPingTimeout, ErrServerClose, ErrParse,
	// ErrMessageTooBig, ErrClosed, or a network error.
	Err error
}

func (e *CloseError) Error() string {
	if e.Err == nil {
		return "engineio: connection closed: " + string(e.Reason)
	}
	return "engineio: connection closed: " + string(e.Reason) + ": " + e.Err.Error()
}

func (e *CloseError) Unwrap() error { return e.Err }

func (c *DialConfig) withDefaults() *DialConfig {
	var cfg DialConfig
	if c != nil {
		cfg = *c
	}
	cfg.Path = names.Path(cfg.Path, "/engine.io/")
	if len(cfg.Transports) == 0 {
		cfg.Transports = []Transport{Polling, WebSocket}
	}
	if cfg.Proxy == nil {
		cfg.Proxy = http.ProxyFromEnvironment
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = 100 << 20
	}
	if cfg.MaxQueueBytes <= 0 {
		cfg.MaxQueueBytes = 4 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &cfg
}

// handshake is the data of the open packet.
type handshake struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval *int64   `json:"pingInterval"`
	PingTimeout  *int64   `json:"pingTimeout"`
	MaxPayload   int64    `json:"maxPayload"`
}

// parseOpen checks the open packet that starts every connection.
func parseOpen(p packet) (*handshake, error) {
	if p.typ != packetOpen {
		return nil, fmt.Errorf("%w: first packet is of type %c, not open", ErrHandshake, p.typ)
	}
	var h handshake
	if err := json.Unmarshal(p.data, &h); err != nil {
		return nil, fmt.Errorf("%w: open packet: %v", ErrHandshake, err)
	}
	switch {
	case h.SID == "":
		return nil, fmt.Errorf("%w: open packet without sid", ErrHandshake)
	case h.PingInterval == nil || *h.PingInterval <= 0:
		return nil, fmt.Errorf("%w: open packet without a positive pingInterval", ErrHandshake)
	case h.PingTimeout == nil || *h.PingTimeout <= 0:
		return nil, fmt.Errorf("%w: open packet without a positive pingTimeout", ErrHandshake)
	}
	return &h, nil
}

func (h *handshake) heartbeat() time.Duration {
	return time.Duration(*h.PingInterval+*h.PingTimeout) * time.Millisecond
}

// Dial opens an Engine.IO connection to the server at rawURL, whose scheme
// is http, https, ws or wss; the path comes from DialConfig.Path and the
// URL's query is sent with every request. It returns once the server's
// handshake arrived. ctx bounds the handshake only: the connection lives
// until Close or a failure. When the connection opened over polling and the
// server offers WebSocket, the upgrade runs in the background; messages
// keep their order across it.
func Dial(ctx context.Context, rawURL string, cfg *DialConfig) (*ClientConn, error) {
	cfg = cfg.withDefaults()
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("engineio: %w", err)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "http"
	case "https", "wss":
		u.Scheme = "https"
	default:
		return nil, fmt.Errorf("engineio: unsupported URL scheme %q", u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("engineio: URL %q has no host", rawURL)
	}
	for _, t := range cfg.Transports {
		if t != Polling && t != WebSocket {
			return nil, fmt.Errorf("engineio: unknown transport %q", t)
		}
	}
	q := u.Query()
	for k, vs := range cfg.Query {
		q[k] = append(q[k], vs...)
	}
	q.Set("EIO", "4")
	u.Path, u.RawPath, u.RawQuery, u.Fragment = cfg.Path, "", "", ""

	c := newClientConn(cfg, u, q)
	var h *handshake
	var rest []packet
	if cfg.Transports[0] == WebSocket {
		h, err = c.openWebSocket(ctx)
	} else {
		h, rest, err = c.openPolling(ctx)
	}
	if err != nil {
		c.cancel()
		c.closeIdle()
		return nil, err
	}
	c.start(h, rest)
	return c, nil
}

// refusal turns a non-200 handshake response into a HandshakeError.
func refusal(t Transport, resp *http.Response) error {
	e := &HandshakeError{Transport: t, StatusCode: resp.StatusCode, Code: -1}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	var j struct {
		Code    *int   `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &j) == nil {
		if j.Code != nil {
			e.Code = ErrorCode(*j.Code)
		}
		e.Message = j.Message
	} else {
		e.Message = strings.TrimSpace(string(body))
	}
	return e
}

func (c *DialConfig) allows(t Transport) bool { return slices.Contains(c.Transports, t) }
