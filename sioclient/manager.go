package sioclient

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sio-go/socketio/engineio"
	"github.com/sio-go/socketio/internal/backoff"
)

// Manager holds one Engine.IO connection to a server, over which the
// sockets of several namespaces are multiplexed, and reconnects it with
// exponential backoff when it is lost. It opens the connection when a socket
// connects and closes it when the last socket is closed.
//
// The Config hooks (OnOpen, OnClose, OnReconnect…) run on the manager's
// goroutine, which also reads the connection: keep them short.
type Manager struct {
	cfg    *Config
	url    string
	ctx    context.Context // ends with Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the manager's goroutines
	inHook atomic.Int32   // > 0 while a Config hook runs

	// Backpressure: the reader pauses while a socket has MaxPendingEvents
	// events waiting, unless callers wait for the server.
	waiting atomic.Int32  // callers waiting for a packet from the server
	paused  atomic.Bool   // the reader waits for room in a socket's queue
	resume  chan struct{} // wakes the paused reader

	mu         sync.Mutex
	sockets    map[string]*Socket
	conn       *engineio.ClientConn
	gen        uint64
	running    bool          // the supervisor goroutine runs
	stopped    chan struct{} // closed when that goroutine ends
	activated  chan struct{} // closed and replaced when a socket connects
	closed     bool
	dialCancel context.CancelFunc // ends the attempt under way
	wake       chan struct{}      // interrupts a backoff wait
}

// NewManager returns a manager for the server at rawURL (http, https, ws or
// wss; the path is ignored, the query is sent with every request). It
// connects nothing until a socket connects.
func NewManager(rawURL string, cfg *Config) (*Manager, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("sioclient: %w", err)
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		return nil, fmt.Errorf("sioclient: unsupported URL scheme %q", u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("sioclient: URL %q has no host", rawURL)
	}
	u.Path, u.RawPath, u.Fragment = "", "", ""
	m := &Manager{cfg: cfg.withDefaults(), url: u.String(), sockets: map[string]*Socket{},
		activated: make(chan struct{}), wake: make(chan struct{}, 1), resume: make(chan struct{}, 1)}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m, nil
}

// Dial connects to the namespace named by rawURL's path ("/" when empty) of
// the server at rawURL, with a manager of its own, and waits under ctx until
// the server accepted the socket. The socket's Close closes that manager
// too, and returns once its goroutines are gone. On error everything is
// closed.
func Dial(ctx context.Context, rawURL string, cfg *Config) (*Socket, error) {
	m, err := NewManager(rawURL, cfg)
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(rawURL)
	nsp := u.Path
	if nsp == "" {
		nsp = "/"
	}
	s := m.Socket(nsp, nil)
	s.owner = true
	if err := s.Connect(ctx); err != nil {
		m.Close()
		return nil, err
	}
	return s, nil
}

// Socket returns the socket of namespace nsp, creating it with cfg (nil
// means Config.Socket) on first use, or when the previous one was closed. It
// does not connect it.
func (m *Manager) Socket(nsp string, cfg *SocketConfig) *Socket {
	if nsp == "" || nsp[0] != '/' {
		nsp = "/" + nsp
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.sockets[nsp]; s != nil {
		return s
	}
	c := m.cfg.Socket
	if cfg != nil {
		c = *cfg
	}
	s := newSocket(m, nsp, c)
	m.sockets[nsp] = s
	return s
}

// Close closes every socket (as Socket.Close does) and the connection,
// for good: Connect then returns ErrClosed. It returns once the manager's
// goroutines and its sockets' handler goroutines are gone, with the
// exceptions that would deadlock: a handler that was running when Close was
// called and still runs (its context is cancelled), and the manager's own
// goroutine when Close is called from a Config hook. Later calls only wait.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		m.waitUnlessHook()
		return nil
	}
	m.closed = true
	socks := m.listLocked()
	m.mu.Unlock()
	running := make([]uint64, len(socks))
	for i, s := range socks {
		running[i] = s.queue.current()
	}
	for _, s := range socks {
		s.close()
	}
	m.mu.Lock()
	conn := m.conn
	if m.dialCancel != nil {
		m.dialCancel()
	}
	m.mu.Unlock()
	m.cancel()
	if conn != nil {
		conn.Close()
	}
	m.waitUnlessHook()
	for i, s := range socks {
		s.queue.wait(running[i])
	}
	return nil
}

func (m *Manager) waitUnlessHook() {
	if m.inHook.Load() == 0 {
		m.wg.Wait()
	}
}

func (m *Manager) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

// Transport returns the transport of the connection, "" when not open.
func (m *Manager) Transport() engineio.Transport {
	m.mu.Lock()
	conn := m.conn
	m.mu.Unlock()
	if conn == nil {
		return ""
	}
	return conn.Transport()
}

func (m *Manager) listLocked() []*Socket {
	out := make([]*Socket, 0, len(m.sockets))
	for _, s := range m.sockets {
		out = append(out, s)
	}
	return out
}

func (m *Manager) wantedLocked() bool {
	if m.closed {
		return false
	}
	for _, s := range m.sockets {
		if s.active.Load() {
			return true
		}
	}
	return false
}

// forget removes a closed socket, so that Socket makes a new one.
func (m *Manager) forget(s *Socket) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sockets[s.nsp] == s {
		delete(m.sockets, s.nsp)
	}
}

// activate makes sure the connection is open or being opened for s, and
// sends s's CONNECT when it is open.
func (m *Manager) activate(s *Socket) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		s.onReconnectFailed(ErrClosed)
		return
	}
	conn, gen := m.conn, m.gen
	close(m.activated)
	m.activated = make(chan struct{})
	if !m.running {
		m.running = true
		m.stopped = make(chan struct{})
		m.wg.Add(1)
		go m.run(m.stopped)
	}
	m.mu.Unlock()
	if conn != nil {
		s.onOpen(conn, gen)
	}
}

// release closes the connection when no socket wants it any more. With
// wait, it returns once the connection is closed and the supervisor
// goroutine gone (unless a socket wants the connection again meanwhile);
// without, or from a Config hook (the supervisor's goroutine), it closes
// the connection in the background.
func (m *Manager) release(wait bool) {
	m.mu.Lock()
	if m.wantedLocked() {
		m.mu.Unlock()
		return
	}
	conn, stopped, activated := m.conn, m.stopped, m.activated
	if m.dialCancel != nil {
		m.dialCancel()
	}
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
	if !wait || m.inHook.Load() > 0 {
		if conn != nil {
			m.wg.Add(1)
			go func() {
				defer m.wg.Done()
				conn.Close()
			}()
		}
		return
	}
	if conn != nil {
		conn.Close()
	}
	if stopped != nil {
		select {
		case <-stopped:
		case <-activated:
		}
	}
}

func (m *Manager) wanted() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.wantedLocked()
}

// stopIfUnwanted ends the supervisor when no socket wants the connection.
func (m *Manager) stopIfUnwanted() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.wantedLocked() {
		return false
	}
	m.running = false
	return true
}

func (m *Manager) hook(f func()) {
	m.inHook.Add(1)
	defer m.inHook.Add(-1)
	f()
}

// run opens the connection, serves it, and reopens it per the reconnection
// policy, while some socket wants it.
func (m *Manager) run(stopped chan struct{}) {
	defer m.wg.Done()
	defer close(stopped)
	bo := backoff.Backoff{Min: m.cfg.ReconnectionDelay, Max: m.cfg.ReconnectionDelayMax, Jitter: *m.cfg.RandomizationFactor}
	reconnecting := false
	attempt := 0
	for {
		if m.stopIfUnwanted() {
			return
		}
		if reconnecting {
			if m.cfg.ReconnectionAttempts > 0 && attempt >= m.cfg.ReconnectionAttempts {
				if h := m.cfg.OnReconnectFailed; h != nil {
					m.hook(h)
				}
				m.giveUp(ErrReconnectFailed)
				return
			}
			attempt++
			var d time.Duration
			if f := m.cfg.ReconnectionDelayFunc; f != nil {
				d = f(attempt)
			} else {
				d = bo.Next()
			}
			if !m.sleep(d) {
				continue // woken: check whether still wanted
			}
			if h := m.cfg.OnReconnectAttempt; h != nil {
				m.hook(func() { h(attempt) })
			}
			if m.stopIfUnwanted() {
				return
			}
		}
		conn, err := m.dial()
		if err != nil {
			if m.ctx.Err() != nil || !m.wanted() {
				continue // closed or released: not a failure to report
			}
			m.cfg.Logger.Debug("sioclient: connection failed", "err", err)
			m.notifyError(err)
			if reconnecting {
				if h := m.cfg.OnReconnectError; h != nil {
					m.hook(func() { h(err) })
				}
			}
			if m.cfg.DisableReconnection {
				m.giveUp(fmt.Errorf("%w: %w", ErrReconnectFailed, err))
				return
			}
			reconnecting = true
			continue
		}
		if reconnecting {
			if h := m.cfg.OnReconnect; h != nil {
				n := attempt
				m.hook(func() { h(n) })
			}
		}
		reconnecting, attempt = false, 0
		bo.Reset()
		m.serve(conn)
		if m.cfg.DisableReconnection {
			m.mu.Lock()
			m.running = false
			m.mu.Unlock()
			return
		}
		reconnecting = true
	}
}

// sleep waits d, and reports false when woken early or the manager closed.
func (m *Manager) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-m.wake:
		return false
	case <-m.ctx.Done():
		return false
	}
}

// giveUp stops the supervisor and answers the sockets waiting in Connect.
func (m *Manager) giveUp(err error) {
	m.mu.Lock()
	m.running = false
	socks := m.listLocked()
	m.mu.Unlock()
	for _, s := range socks {
		if s.active.Load() {
			s.onReconnectFailed(err)
		}
	}
}

func (m *Manager) notifyError(err error) {
	m.mu.Lock()
	socks := m.listLocked()
	m.mu.Unlock()
	for _, s := range socks {
		s.notifyError(err)
	}
}

// dial opens an Engine.IO connection within Config.Timeout.
func (m *Manager) dial() (*engineio.ClientConn, error) {
	ctx, cancel := context.WithTimeout(m.ctx, m.cfg.Timeout)
	defer cancel()
	m.mu.Lock()
	m.dialCancel = cancel
	if !m.wantedLocked() {
		cancel() // released before the attempt could be cancelled
	}
	m.mu.Unlock()
	conn, err := engineio.Dial(ctx, m.url, &m.cfg.Engine)
	m.mu.Lock()
	m.dialCancel = nil
	m.mu.Unlock()
	if errors.Is(err, context.DeadlineExceeded) && m.ctx.Err() == nil {
		err = fmt.Errorf("sioclient: connection timeout after %v: %w", m.cfg.Timeout, err)
	}
	return conn, err
}

// serve runs an open connection until it closes.
func (m *Manager) serve(conn *engineio.ClientConn) {
	m.mu.Lock()
	if !m.wantedLocked() {
		m.mu.Unlock()
		conn.Close()
		return
	}
	m.gen++
	gen := m.gen
	m.conn = conn
	socks := m.listLocked()
	m.mu.Unlock()
	m.cfg.Logger.Debug("sioclient: open", "sid", conn.ID(), "transport", conn.Transport())
	if h := m.cfg.OnOpen; h != nil {
		m.hook(h)
	}
	for _, s := range socks {
		s.onOpen(conn, gen)
	}
	reason, err := m.read(conn, gen)
	conn.Close()
	m.mu.Lock()
	m.conn = nil
	socks = m.listLocked()
	m.mu.Unlock()
	for _, s := range socks {
		s.onClose(gen, reason, err)
	}
	if h := m.cfg.OnClose; h != nil {
		m.hook(func() { h(reason, err) })
	}
}

// read decodes the packets of conn and routes them to the sockets until
// the connection ends, and returns why it ended.
func (m *Manager) read(conn *engineio.ClientConn, gen uint64) (DisconnectReason, error) {
	dec := m.cfg.Parser.NewDecoder(0)
	for {
		msg, err := conn.Read(context.Background())
		if err != nil {
			var ce *engineio.CloseError
			if errors.As(err, &ce) {
				if ce.Reason == engineio.ReasonForcedClose {
					return ReasonClientDisconnect, ce.Err
				}
				return DisconnectReason(ce.Reason), ce.Err
			}
			return ReasonTransportError, err
		}
		p, err := dec.Decode(msg.Data, msg.Binary)
		if err != nil {
			m.cfg.Logger.Debug("sioclient: invalid packet", "err", err)
			return ReasonParseError, err
		}
		if p == nil {
			continue
		}
		m.mu.Lock()
		s := m.sockets[p.Namespace]
		m.mu.Unlock()
		if s == nil {
			continue
		}
		if err := s.onPacket(p, conn, gen); err != nil {
			m.cfg.Logger.Warn("sioclient: closing the connection", "nsp", s.nsp, "err", err)
			return ReasonHandlerQueueFull, err
		}
	}
}

// errEventDropped tells the reader that an event arrived for a socket whose
// session ended while the event waited for room: it is dropped, as the
// official client ignores the packets of a disconnected socket.
var errEventDropped = errors.New("sioclient: session ended")

// admit waits until the handlers of s may take one more event: while s has
// MaxPendingEvents events waiting, the reader stops reading conn
// (backpressure), unless a caller waits for a packet from the server. It
// returns an error wrapping ErrHandlerQueueFull at HardMaxPendingEvents,
// and errEventDropped when the session ended meanwhile.
func (m *Manager) admit(s *Socket, conn *engineio.ClientConn, session context.Context) error {
	for {
		n := s.queue.len()
		switch {
		case n >= m.cfg.HardMaxPendingEvents:
			return fmt.Errorf("%w: %d events waiting for the handlers of namespace %q", ErrHandlerQueueFull, n, s.nsp)
		case n < m.cfg.MaxPendingEvents || m.waiting.Load() > 0:
			return nil
		}
		// Check again once the queues see the flag, so that no wake-up is
		// lost in between.
		m.paused.Store(true)
		if s.queue.len() < m.cfg.MaxPendingEvents || m.waiting.Load() > 0 {
			m.paused.Store(false)
			continue
		}
		select {
		case <-m.resume:
			m.paused.Store(false)
		case <-conn.Done():
			// The event arrived before the end: queue it; the reader
			// learns of the end at its next read.
			m.paused.Store(false)
			return nil
		case <-session.Done():
			m.paused.Store(false)
			return errEventDropped
		}
	}
}

// wakeReader wakes the reader when it is paused: a queue took a task, or a
// caller started waiting for the server.
func (m *Manager) wakeReader() {
	if m.paused.Load() {
		select {
		case m.resume <- struct{}{}:
		default:
		}
	}
}

// awaitServer counts a caller waiting for a packet from the server until
// the returned function is called; meanwhile the reader does not pause,
// since the packet may be behind events.
func (m *Manager) awaitServer() (done func()) {
	m.waiting.Add(1)
	m.wakeReader()
	return func() { m.waiting.Add(-1) }
}
