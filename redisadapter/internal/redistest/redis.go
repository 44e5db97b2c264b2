// Package redistest runs a private redis-server for tests, on a free
// loopback port, and the Node.js peers of the interoperability tests.
package redistest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a redis-server process started for a test.
type Server struct {
	t    testing.TB
	bin  string
	port int
	args []string // more arguments of redis-server

	mu  sync.Mutex
	cmd *exec.Cmd
}

// Binary returns the path of redis-server: $REDIS_SERVER, or redis-server
// from $PATH. It fails the test when there is none.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("REDIS_SERVER"); p != "" {
		return p
	}
	p, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redistest: redis-server is not installed (install the Debian package redis-server, " +
			"or set REDIS_SERVER to its path): these tests need a real Redis")
	}
	return p
}

// Start runs redis-server on a free loopback port, without persistence,
// and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, nil)
}

// StartPersistent is Start with an append-only file, synced at every write,
// in a directory of the test: Restart finds what Redis acknowledged before
// it was stopped.
func StartPersistent(t testing.TB) *Server {
	t.Helper()
	dir := t.TempDir()
	return start(t, func(int) ([]string, error) {
		return []string{"--appendonly", "yes", "--appendfsync", "always", "--dir", dir}, nil
	})
}

// start runs redis-server with more arguments; args may use the port
// chosen for the server.
func start(t testing.TB, args func(port int) ([]string, error)) *Server {
	t.Helper()
	s := &Server{t: t, bin: Binary(t)}
	var err error
	for range 5 {
		if s.port, err = freePort(); err != nil {
			continue
		}
		if args != nil {
			if s.args, err = args(s.port); err != nil {
				continue
			}
		}
		if err = s.start(); err == nil {
			t.Cleanup(s.Stop)
			return s
		}
	}
	t.Fatalf("redistest: cannot start redis-server: %v", err)
	return nil
}

// Reserve picks a free loopback port for a redis-server that is not
// running yet: Addr refuses connections until Restart starts it.
func Reserve(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, bin: Binary(t)}
	var err error
	if s.port, err = freePort(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) start() error {
	args := append([]string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--protected-mode", "yes", "--loglevel", "warning"}, s.args...)
	cmd := exec.Command(s.bin, args...)
	if err := cmd.Start(); err != nil {
		return err
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := ping(s.Addr()); err == nil {
			break
		} else if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return fmt.Errorf("no answer on %s: %w", s.Addr(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	return nil
}

// ping sends PING and waits for +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}

// Addr returns host:port.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL returns redis://host:port.
func (s *Server) URL() string { return "redis://" + s.Addr() }

// Stop kills the server and waits for it; it does nothing when stopped.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

// Restart starts the server again on the same port after Stop.
func (s *Server) Restart() {
	s.t.Helper()
	var err error
	for range 50 { // the port may linger briefly
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("redistest: cannot restart redis-server: %v", err)
}

// Context returns a context that ends with the test or after d.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
