package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// server is a running server under test.
type server struct {
	cmd    *exec.Cmd
	exited chan struct{}
	logMu  sync.Mutex
	log    []byte
}

func (s *server) Write(p []byte) (int, error) {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	s.log = append(s.log, p...)
	if len(s.log) > 64<<10 {
		s.log = append(s.log[:0], s.log[len(s.log)-32<<10:]...)
	}
	return len(p), nil
}

// tail returns the last lines the server printed, for error messages.
func (s *server) tail() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	t := strings.TrimSpace(string(s.log))
	if t == "" {
		return ""
	}
	lines := strings.Split(t, "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return "\nserver output:\n  " + strings.Join(lines, "\n  ")
}

func (s *server) pid() int { return s.cmd.Process.Pid }

func (s *server) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// stop ends the server's process group: SIGTERM, then SIGKILL after 5s.
func (s *server) stop() {
	pgid := -s.cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(pgid, syscall.SIGKILL)
		<-s.exited
	}
}

// startServer starts cmd pinned to the server CPU with PORT set, in its own
// process group, and waits until it accepts connections.
func startServer(ctx context.Context, o options, cmdline []string, port int) (*server, error) {
	if len(cmdline) == 0 {
		return nil, errors.New("empty server command")
	}
	name, args := wrap(o, o.serverCPU, cmdline[0], cmdline[1:])
	s := &server{exited: make(chan struct{})}
	s.cmd = exec.Command(name, args...)
	s.cmd.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port))
	s.cmd.Stdout = s
	s.cmd.Stderr = s
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", strings.Join(cmdline, " "), err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if !s.alive() {
			return nil, fmt.Errorf("%s exited before listening%s", strings.Join(cmdline, " "), s.tail())
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.stop()
			return nil, fmt.Errorf("%s did not listen on %s within 30s%s", strings.Join(cmdline, " "), addr, s.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Let the process finish its start-up work before it is measured.
	time.Sleep(time.Second)
	return s, nil
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
