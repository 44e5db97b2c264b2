package engineio

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sio-go/socketio/internal/track"
)

// Server is an Engine.IO v4 server (and v3, with Config.AllowEIO3). It is
// an http.Handler answering under Config.Path. Create it with NewServer.
type Server struct {
	cfg       *Config
	epoch     time.Time // origin of now
	onConnect func(*Conn)
	upgrader  websocket.Upgrader
	handshake []byte // the part of the open packet after the sid, per transport
	// handshakeWS is the same for WebSocket handshakes (no upgrades).
	handshakeWS []byte

	// upgraderPolled upgrades WebSockets that the poller reads: the
	// WebSocket library's read buffer is left unused, so it is the smallest.
	upgraderPolled websocket.Upgrader

	mu           sync.Mutex
	sessions     map[string]*Conn
	closed       bool          // Shutdown or Drain: new sessions are refused
	drained      chan struct{} // closed when the last session goes, made by closeAll
	poller       *poller       // reads WebSockets, started with the first
	pollerFailed bool          // no poller: WebSockets are read by goroutines
	noPoller     bool          // (tests) read every WebSocket on a goroutine
	backlog      atomic.Int64  // the sessions' queued bytes above backlogBytes each
	wg           track.Group   // goroutines serving sessions
}

// NewServer returns a server configured by cfg (nil means all defaults) that
// calls onConnect for every new session, before the handshake response is
// sent, so that the callbacks it registers see every message.
func NewServer(cfg *Config, onConnect func(*Conn)) *Server {
	c := cfg.withDefaults()
	s := &Server{
		cfg:       c,
		epoch:     time.Now(),
		onConnect: onConnect,
		sessions:  make(map[string]*Conn),
	}
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		// Small read buffers and pooled write buffers keep idle sessions
		// cheap: a write borrows a buffer only while it runs.
		ReadBufferSize:    1024,
		WriteBufferPool:   &sync.Pool{},
		WriteBufferSize:   4096,
		EnableCompression: c.PerMessageDeflate != nil,
		CheckOrigin:       func(*http.Request) bool { return true },
		Error:             func(http.ResponseWriter, *http.Request, int, error) {},
	}
	s.upgraderPolled = s.upgrader
	s.upgraderPolled.ReadBufferSize = 1 // the library's minimum: 125 bytes
	s.upgraderPolled.EnableCompression = false
	upgrades := `[]`
	if !c.DisableUpgrades && c.allows(WebSocket) {
		upgrades = `["websocket"]`
	}
	tail := func(up string) []byte {
		return []byte(`","upgrades":` + up +
			`,"pingInterval":` + strconv.FormatInt(c.PingInterval.Milliseconds(), 10) +
			`,"pingTimeout":` + strconv.FormatInt(c.PingTimeout.Milliseconds(), 10) +
			`,"maxPayload":` + strconv.Itoa(c.MaxBufferSize) + `}`)
	}
	if cors := c.CORS; cors != nil && cors.AllowCredentials && slices.Contains(cors.AllowOrigins, "*") {
		c.Logger.Warn(`engineio: CORS allows origin "*" with credentials: browsers refuse such responses; list the allowed origins`,
			"component", "engine")
	}
	s.handshake = tail(upgrades)
	s.handshakeWS = tail(`[]`)
	return s
}

// now returns the time on the Server's monotonic clock, which sessions
// keep their deadlines on: eight bytes rather than a time.Time's 24.
func (s *Server) now() time.Duration { return time.Since(s.epoch) }

// ClientsCount returns the number of open sessions.
func (s *Server) ClientsCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.sessions {
		if !c.isClosed() {
			n++
		}
	}
	return n
}

// Shutdown refuses new sessions, closes the open ones after sending what
// they have queued, and waits for the goroutines serving them to end. A
// WebSocket session is closed once its queue is written; a polling session
// once its client has polled what was queued (with nothing queued and no
// poll pending, at once; a client that does not poll is given 2 seconds). When ctx ends first, the sessions left are closed
// at once, what they still had queued is dropped, and Shutdown returns
// ctx.Err() if the goroutines do not end either. A context without a
// deadline lets a client that stopped reading delay Shutdown until the
// write times out (PingInterval + PingTimeout).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	err := s.closeAll(ctx, 0, ErrServerClosed)
	for _, c := range s.snapshot() {
		c.finish(ReasonForcedClose, ErrServerClosed)
	}
	s.mu.Lock()
	p := s.poller
	s.mu.Unlock()
	if p != nil {
		p.stop()
	}
	if werr := s.wg.Wait(ctx); werr != nil {
		return werr
	}
	return err
}

// Drain refuses new sessions (503 Service Unavailable), then closes the
// open ones as Shutdown does, spreading the closes evenly over spread so
// that the clients do not all reconnect at the same moment, and waits for
// them to end, or for ctx to. Unlike Shutdown it leaves alone the sessions
// still open when ctx ends, and the server's goroutines: call Shutdown
// afterwards. Clients whose session is closed this way reconnect, behind a
// load balancer to another server.
func (s *Server) Drain(ctx context.Context, spread time.Duration) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return s.closeAll(ctx, spread, nil)
}

// closeAll closes every session after its queue is sent, the closes spread
// over spread, and waits until none is left or ctx ends.
func (s *Server) closeAll(ctx context.Context, spread time.Duration, err error) error {
	conns := s.snapshot()
	start := time.Now()
	var t *time.Timer
	for i, c := range conns {
		if spread > 0 && i > 0 {
			d := time.Until(start.Add(spread * time.Duration(i) / time.Duration(len(conns))))
			if t == nil {
				t = time.NewTimer(d)
				defer t.Stop()
			} else {
				t.Reset(d)
			}
			select {
			case <-t.C:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		c.closeGracefully(err)
	}
	for {
		s.mu.Lock()
		if len(s.sessions) == 0 {
			s.mu.Unlock()
			return nil
		}
		if s.drained == nil {
			s.drained = make(chan struct{})
		}
		drained := s.drained
		s.mu.Unlock()
		select {
		case <-drained:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// snapshot returns the open sessions.
func (s *Server) snapshot() []*Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	conns := make([]*Conn, 0, len(s.sessions))
	for _, c := range s.sessions {
		conns = append(conns, c)
	}
	return conns
}

// ServeHTTP answers Engine.IO requests under the configured path and 404 to
// anything else.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if !strings.HasPrefix(p, s.cfg.Path) && p+"/" != s.cfg.Path {
		http.NotFound(w, r)
		return
	}
	if s.cfg.CORS != nil && s.cfg.CORS.apply(w, r) {
		return // preflight answered
	}
	upgrade := websocket.IsWebSocketUpgrade(r)
	q := r.URL.Query()
	transport := Transport(q.Get("transport"))
	if !s.cfg.allows(transport) {
		s.refuse(w, r, upgrade, &ConnectionError{Code: ErrUnknownTransport})
		return
	}
	if invalidHeaderValue(r.Header.Get("Origin")) {
		s.refuse(w, r, upgrade, &ConnectionError{Code: ErrBadRequest, Context: "INVALID_ORIGIN"})
		return
	}
	if upgrade && s.cfg.CheckWebSocketOrigin && !s.cfg.CORS.allows(r.Header.Get("Origin"), r.Host) {
		s.refuse(w, r, upgrade, &ConnectionError{Code: ErrForbidden, Message: "Origin not allowed"})
		return
	}
	eio3 := isEIO3(q.Get("EIO"))
	if sid := q.Get("sid"); sid != "" {
		s.serveSession(w, r, sid, transport, upgrade, eio3)
		return
	}
	if r.Method != http.MethodGet {
		s.refuse(w, r, upgrade, &ConnectionError{Code: ErrBadHandshakeMethod})
		return
	}
	if s.isClosed() {
		unavailable(w)
		return
	}
	if transport == WebSocket && !upgrade {
		s.refuse(w, r, upgrade, &ConnectionError{Code: ErrBadRequest, Context: "TRANSPORT_HANDSHAKE_ERROR"})
		return
	}
	if s.cfg.AllowRequest != nil {
		if err := s.cfg.AllowRequest(r); err != nil {
			s.refuse(w, r, upgrade, &ConnectionError{Code: ErrForbidden, Message: err.Error()})
			return
		}
	}
	if eio3 && !s.cfg.AllowEIO3 {
		s.refuse(w, r, upgrade, &ConnectionError{Code: ErrUnsupportedProtocol})
		return
	}
	s.openSession(w, r, transport, eio3)
}

func (s *Server) serveSession(w http.ResponseWriter, r *http.Request, sid string, transport Transport, upgrade, eio3 bool) {
	s.mu.Lock()
	c := s.sessions[sid]
	s.mu.Unlock()
	if c == nil {
		if f := s.cfg.UnknownSession; f != nil && f(w, r, sid) {
			return
		}
		s.refuse(w, r, upgrade, &ConnectionError{Code: ErrUnknownSID})
		return
	}
	if eio3 != c.eio3 {
		s.refuse(w, r, upgrade, &ConnectionError{Code: ErrBadRequest, Context: "PROTOCOL_MISMATCH"})
		return
	}
	if upgrade {
		if transport != WebSocket {
			s.refuse(w, r, upgrade, &ConnectionError{Code: ErrBadRequest, Context: "TRANSPORT_MISMATCH"})
			return
		}
		c.serveUpgrade(w, r)
		return
	}
	if transport != c.Transport() {
		s.refuse(w, r, upgrade, &ConnectionError{Code: ErrBadRequest, Context: "TRANSPORT_MISMATCH"})
		return
	}
	s.cfg.responseHeaders(w.Header(), r, false)
	switch r.Method {
	case http.MethodGet:
		c.servePoll(w, r)
	case http.MethodPost:
		c.serveData(w, r)
	default:
		w.WriteHeader(http.StatusInternalServerError)
	}
}

// openSession performs a handshake, for a v3 client if eio3.
func (s *Server) openSession(w http.ResponseWriter, r *http.Request, transport Transport, eio3 bool) {
	gen := s.cfg.GenerateID
	if gen == nil {
		gen = GenerateID
	}
	id, err := gen(r)
	if err != nil || id == "" {
		s.refuse(w, r, transport == WebSocket, &ConnectionError{Code: ErrBadRequest, Context: "ID_GENERATION_ERROR"})
		return
	}
	var header http.Header
	if ck := s.cfg.Cookie; ck != nil {
		cookie := &http.Cookie{
			Name: ck.Name, Value: id, Path: ck.Path, Domain: ck.Domain, MaxAge: ck.MaxAge,
			Secure: ck.Secure, HttpOnly: !ck.DisableHTTPOnly, SameSite: ck.SameSite,
		}
		header = http.Header{"Set-Cookie": {cookie.String()}}
	}
	header = s.cfg.responseHeaders(header, r, true)

	if transport == WebSocket {
		c := newConn(s, id, r, WebSocket)
		if eio3 {
			c.eio3, c.b64WS = true, wantsBase64(r)
		}
		ws, err := s.upgrade(w, r, header, c)
		if err != nil {
			return
		}
		if !s.register(c) {
			ws.close()
			return
		}
		if !c.attachWebSocket(ws) {
			return
		}
		s.start(c, s.handshakeWS)
		c.writeHandshake(ws)
		c.startReading(ws)
		return
	}

	c := newConn(s, id, r, Polling)
	if eio3 {
		c.eio3, c.b64Poll = true, wantsBase64(r)
	}
	if !s.register(c) {
		unavailable(w)
		return
	}
	for k, v := range header {
		w.Header()[k] = v
	}
	s.start(c, s.handshake)
	c.servePoll(w, r)
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// unavailable answers a handshake that arrives during Drain or Shutdown. A
// client takes it as a failed connection attempt and tries again later,
// behind a load balancer on another server.
func unavailable(w http.ResponseWriter) {
	const msg = "Server is shutting down"
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(msg)))
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(msg))
}

// register adds c to the sessions and counts its serving goroutine. It fails
// after Shutdown.
func (s *Server) register(c *Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.sessions[c.id] = c
	return true
}

// start queues the open packet and the initial packet, runs the connection
// callback and starts the heartbeat.
func (s *Server) start(c *Conn, tail []byte) {
	open := make([]byte, 0, 2+len(c.id)+len(tail))
	open = append(open, `{"sid":"`...)
	open = append(open, c.id...)
	open = append(open, tail...)
	c.mu.Lock()
	c.enqueueLocked(packet{typ: packetOpen, data: open})
	if s.cfg.InitialPacket != nil {
		c.enqueueLocked(packet{typ: packetMessage, data: s.cfg.InitialPacket})
	}
	c.mu.Unlock()
	c.debug("session opened")
	if s.onConnect != nil {
		s.onConnect(c)
	}
	c.startHeartbeat()
}

func (s *Server) remove(c *Conn) {
	s.mu.Lock()
	if s.sessions[c.id] == c {
		delete(s.sessions, c.id)
	}
	if len(s.sessions) == 0 && s.drained != nil {
		close(s.drained)
		s.drained = nil
	}
	s.mu.Unlock()
}

// refuse answers a request with an Engine.IO error and reports it.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, upgrade bool, e *ConnectionError) {
	e.Request = r
	if e.Message == "" {
		e.Message = e.Code.String()
	}
	s.cfg.Logger.Debug("request refused", "component", "engine", "code", int(e.Code), "message", e.Message, "context", e.Context)
	if s.cfg.OnConnectionError != nil {
		s.cfg.OnConnectionError(e)
	}
	if upgrade {
		w.Header().Set("Connection", "close")
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Length", strconv.Itoa(len(e.Message)))
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(e.Message))
		return
	}
	status := http.StatusBadRequest
	if e.Code == ErrForbidden {
		status = http.StatusForbidden
	}
	msg, _ := json.Marshal(e.Message)
	body := `{"code":` + strconv.Itoa(int(e.Code)) + `,"message":` + string(msg) + `}`
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// GenerateID is the default of Config.GenerateID: 15 random bytes from
// crypto/rand in base64url, 20 characters, like Node's session ids.
func GenerateID(*http.Request) (string, error) {
	var b [15]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// invalidHeaderValue reports whether v holds a character not allowed in an
// HTTP header value, as Node's checkInvalidHeaderChar.
func invalidHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '\t' && (c < 0x20 || c == 0x7f) {
			return true
		}
	}
	return false
}
