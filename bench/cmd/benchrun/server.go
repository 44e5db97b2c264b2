package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// server is a running server under test, or the Redis of a cluster.
type server struct {
	name   string // for messages: "server", "server 2", "redis-server"
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
	return "\n" + s.name + " output:\n  " + strings.Join(lines, "\n  ")
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

// startServer starts cmd pinned to the server CPU with PORT and env set, in
// its own process group, and waits until it accepts connections.
func startServer(ctx context.Context, o options, cmdline []string, port int, env ...string) (*server, error) {
	if len(cmdline) == 0 {
		return nil, errors.New("empty server command")
	}
	name, args := wrap(o, o.serverCPU, cmdline[0], cmdline[1:])
	s := &server{name: "server", exited: make(chan struct{})}
	s.cmd = exec.Command(name, args...)
	s.cmd.Env = append(append(os.Environ(), fmt.Sprintf("PORT=%d", port)), env...)
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

// clusterNodes is the number of servers in the cluster scenarios.
const clusterNodes = 3

// deployment is what one run measures: a single server, or the servers of
// a cluster and their private Redis.
type deployment struct {
	servers []*server
	ports   []int
	redis   *server // nil for a single server
}

// deploy starts one server, or, for nodes > 1, a redis-server and nodes
// servers joined to it through REDIS_URL. Every process is pinned to the
// server CPU.
func deploy(ctx context.Context, o options, cmdline []string, nodes int) (d *deployment, err error) {
	d = &deployment{}
	defer func() {
		if err != nil {
			d.stop()
		}
	}()
	var env []string
	if nodes > 1 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		if d.redis, err = startServer(ctx, o, redisCommand(o.redisServer, port), port); err != nil {
			return nil, err
		}
		d.redis.name = "redis-server"
		env = append(env, fmt.Sprintf("REDIS_URL=redis://127.0.0.1:%d", port))
	}
	for i := range max(nodes, 1) {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s, err := startServer(ctx, o, cmdline, port, env...)
		if err != nil {
			return nil, err
		}
		if nodes > 1 {
			s.name = fmt.Sprintf("server %d", i+1)
		}
		d.servers = append(d.servers, s)
		d.ports = append(d.ports, port)
	}
	return d, nil
}

// redisCommand is a private redis-server on the loopback port: no
// persistence, warnings only.
func redisCommand(bin string, port int) []string {
	return []string{bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--loglevel", "warning"}
}

// stop ends the servers, then Redis.
func (d *deployment) stop() {
	for _, s := range d.servers {
		s.stop()
	}
	if d.redis != nil {
		d.redis.stop()
	}
}

func (d *deployment) procs() []*server {
	if d.redis == nil {
		return d.servers
	}
	return append(slices.Clone(d.servers), d.redis)
}

// loadgenArgs points the load generator at the deployment: the first
// server's URL and pid, and for a cluster the others and Redis.
func (d *deployment) loadgenArgs(label, statsPath string) []string {
	url := func(i int) string { return fmt.Sprintf("http://127.0.0.1:%d", d.ports[i]) }
	args := []string{"-url", url(0), "-pid", strconv.Itoa(d.servers[0].pid()), "-label", label}
	if d.redis == nil {
		if statsPath != "" {
			args = append(args, "-stats-url", url(0)+statsPath)
		}
		return args
	}
	var peers, pids []string
	for i := 1; i < len(d.servers); i++ {
		peers = append(peers, url(i))
		pids = append(pids, strconv.Itoa(d.servers[i].pid()))
	}
	return append(args, "-peers", strings.Join(peers, ","), "-peer-pids", strings.Join(pids, ","),
		"-redis-pid", strconv.Itoa(d.redis.pid()))
}

// tail returns the last output of every process.
func (d *deployment) tail() string {
	var b strings.Builder
	for _, s := range d.procs() {
		b.WriteString(s.tail())
	}
	return b.String()
}

// exited returns the first process that is no longer running, or nil.
func (d *deployment) exited() *server {
	for _, s := range d.procs() {
		if !s.alive() {
			return s
		}
	}
	return nil
}
