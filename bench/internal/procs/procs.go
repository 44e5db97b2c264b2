// Package procs starts and stops the processes of a benchmark run: servers
// under test, their Redis, load generators. Each runs in its own process
// group, its output kept (the tail) for error messages.
package procs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Proc is a running process.
type Proc struct {
	Name   string // for messages: "server", "server 2", "redis-server"
	Cmd    *exec.Cmd
	exited chan struct{}
	logMu  sync.Mutex
	log    []byte
}

// Write keeps the last output of the process.
func (p *Proc) Write(b []byte) (int, error) {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	p.log = append(p.log, b...)
	if len(p.log) > 64<<10 {
		p.log = append(p.log[:0], p.log[len(p.log)-32<<10:]...)
	}
	return len(b), nil
}

// Tail returns the last lines the process printed, for error messages.
func (p *Proc) Tail() string {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	t := strings.TrimSpace(string(p.log))
	if t == "" {
		return ""
	}
	lines := strings.Split(t, "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return "\n" + p.Name + " output:\n  " + strings.Join(lines, "\n  ")
}

// PID returns the process id.
func (p *Proc) PID() int { return p.Cmd.Process.Pid }

// Exited is closed when the process has ended.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Alive reports whether the process still runs.
func (p *Proc) Alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Stop ends the process group: SIGTERM, then SIGKILL after 5s.
func (p *Proc) Stop() {
	pgid := -p.Cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(pgid, syscall.SIGKILL)
		<-p.exited
	}
}

// Prepare makes the command for argv with env added to this process's
// environment, in its own process group, its output kept unless the caller
// sets Stdout or Stderr; Start starts it.
func Prepare(name string, argv []string, env ...string) (*Proc, error) {
	if len(argv) == 0 {
		return nil, errors.New("procs: empty command")
	}
	p := &Proc{Name: name, exited: make(chan struct{})}
	p.Cmd = exec.Command(argv[0], argv[1:]...)
	p.Cmd.Env = append(os.Environ(), env...)
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return p, nil
}

// Start starts a prepared process.
func (p *Proc) Start() error {
	if p.Cmd.Stdout == nil {
		p.Cmd.Stdout = p
	}
	if p.Cmd.Stderr == nil {
		p.Cmd.Stderr = p
	}
	if err := p.Cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", strings.Join(p.Cmd.Args, " "), err)
	}
	go func() {
		_ = p.Cmd.Wait()
		close(p.exited)
	}()
	return nil
}

// StartListening starts argv with env and waits until it accepts
// connections on the loopback port, then lets it settle for a second.
func StartListening(ctx context.Context, name string, argv []string, port int, env ...string) (*Proc, error) {
	p, err := Prepare(name, argv, env...)
	if err != nil {
		return nil, err
	}
	if err := p.Start(); err != nil {
		return nil, err
	}
	cmdline := strings.Join(argv, " ")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if !p.Alive() {
			return nil, fmt.Errorf("%s exited before listening%s", cmdline, p.Tail())
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			p.Stop()
			return nil, fmt.Errorf("%s did not listen on %s within 30s%s", cmdline, addr, p.Tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Let the process finish its start-up work before it is measured.
	time.Sleep(time.Second)
	return p, nil
}

// FreePort asks the kernel for a free loopback port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// RedisCommand is a private redis-server on the loopback port: no
// persistence, warnings only.
func RedisCommand(bin string, port int) []string {
	return []string{bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--loglevel", "warning"}
}
