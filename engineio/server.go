package engineio

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Server is an Engine.IO v4 server. It is an http.Handler answering under
// Config.Path. Create it with NewServer.
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
	closed       bool
	poller       *poller        // reads WebSockets, started with the first
	pollerFailed bool           // no poller: WebSockets are read by goroutines
	noPoller     bool           // (tests) read every WebSocket on a goroutine
	wg           sync.WaitGroup // goroutines serving sessions
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

// Shutdown closes every session (pending polls are answered with a close
// packet, WebSockets are closed), refuses new ones, and waits for the
// goroutines serving them to end. It returns ctx.Err() if they do not end
// before ctx does.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	conns := make([]*Conn, 0, len(s.sessions))
	for _, c := range s.sessions {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.finish(ReasonForcedClose, ErrServerClosed)
	}
	s.mu.Lock()
	p := s.poller
	s.mu.Unlock()
	if p != nil {
		p.stop()
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
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
	if sid := q.Get("sid"); sid != "" {
		s.serveSession(w, r, sid, transport, upgrade)
		return
	}
	if r.Method != http.MethodGet {
		s.refuse(w, r, upgrade, &ConnectionError{Code: ErrBadHandshakeMethod})
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
	if q.Get("EIO") != "4" {
		s.refuse(w, r, upgrade, &ConnectionError{Code: ErrUnsupportedProtocol})
		return
	}
	s.openSession(w, r, transport)
}

func (s *Server) serveSession(w http.ResponseWriter, r *http.Request, sid string, transport Transport, upgrade bool) {
	s.mu.Lock()
	c := s.sessions[sid]
	s.mu.Unlock()
	if c == nil {
		s.refuse(w, r, upgrade, &ConnectionError{Code: ErrUnknownSID})
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
	switch r.Method {
	case http.MethodGet:
		c.servePoll(w, r)
	case http.MethodPost:
		c.serveData(w, r)
	default:
		w.WriteHeader(http.StatusInternalServerError)
	}
}

// openSession performs a handshake.
func (s *Server) openSession(w http.ResponseWriter, r *http.Request, transport Transport) {
	gen := s.cfg.GenerateID
	if gen == nil {
		gen = generateID
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

	if transport == WebSocket {
		c := newConn(s, id, r, WebSocket)
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
	if !s.register(c) {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	for k, v := range header {
		w.Header()[k] = v
	}
	s.start(c, s.handshake)
	c.servePoll(w, r)
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

// generateID returns 15 random bytes in base64url: 20 characters.
func generateID(*http.Request) (string, error) {
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
