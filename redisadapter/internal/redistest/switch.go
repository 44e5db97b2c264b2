package redistest

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
)

// Switch is a TCP proxy standing for a load balancer in front of several
// servers: it forwards new connections to the backend chosen last, can
// refuse them, and can cut the ones open, so that clients reconnect to
// another server.
type Switch struct {
	l net.Listener

	mu      sync.Mutex
	backend string // host:port; empty refuses connections
	conns   map[net.Conn]struct{}
	pairs   map[net.Conn]net.Conn // client side → server side
	held    map[net.Conn]bool     // server sides left open by Drop
	wg      sync.WaitGroup
}

// StartSwitch listens on a loopback port; it is closed when the test ends.
func StartSwitch(t testing.TB) *Switch {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Switch{l: l, conns: map[net.Conn]struct{}{}, pairs: map[net.Conn]net.Conn{}, held: map[net.Conn]bool{}}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.close)
	return s
}

// URL returns http://host:port.
func (s *Switch) URL() string { return "http://" + s.l.Addr().String() }

// Route sends new connections to the server at url (http://host:port, or
// host:port); an empty url refuses them.
func (s *Switch) Route(url string) {
	s.mu.Lock()
	s.backend = strings.TrimPrefix(url, "http://")
	s.mu.Unlock()
}

// Cut closes every connection open through the switch.
func (s *Switch) Cut() {
	s.mu.Lock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
}

// Drop closes the client side of every connection open through the
// switch and leaves the server side open and silent, as when a client's
// network goes away: a server notices only when its ping timeout passes.
// What the servers write meanwhile is discarded.
func (s *Switch) Drop() {
	s.mu.Lock()
	for c, b := range s.pairs {
		s.held[b] = true
		_ = c.Close()
	}
	s.mu.Unlock()
}

func (s *Switch) isHeld(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held[c]
}

func (s *Switch) accept() {
	defer s.wg.Done()
	for {
		c, err := s.l.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		backend := s.backend
		s.mu.Unlock()
		if backend == "" {
			_ = c.Close()
			continue
		}
		b, err := net.Dial("tcp", backend)
		if err != nil {
			_ = c.Close()
			continue
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.conns[b] = struct{}{}
		s.pairs[c] = b
		s.mu.Unlock()
		s.wg.Add(2)
		go s.pipe(c, b)
		go s.pipe(b, c)
	}
}

func (s *Switch) pipe(dst, src net.Conn) {
	defer s.wg.Done()
	_, _ = io.Copy(dst, src)
	if s.isHeld(dst) {
		return // the client side closed; the server side stays (Drop)
	}
	if s.isHeld(src) {
		_, _ = io.Copy(io.Discard, src) // until the server or Cut closes it
	}
	_ = dst.Close()
	_ = src.Close()
	s.mu.Lock()
	delete(s.conns, dst)
	delete(s.conns, src)
	delete(s.pairs, dst)
	delete(s.pairs, src)
	delete(s.held, dst)
	delete(s.held, src)
	s.mu.Unlock()
}

func (s *Switch) close() {
	_ = s.l.Close()
	s.Cut()
	s.wg.Wait()
}
