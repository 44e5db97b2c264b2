package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sio-go/socketio/bench/internal/procs"
)

// server is a running server under test, or the Redis of a cluster.
type server = procs.Proc

// startServer starts cmd pinned to the server CPU with PORT and env set, in
// its own process group, and waits until it accepts connections.
func startServer(ctx context.Context, o options, cmdline []string, port int, env ...string) (*server, error) {
	if len(cmdline) == 0 {
		return nil, errors.New("empty server command")
	}
	name, args := wrap(o, o.serverCPU, cmdline[0], cmdline[1:])
	return procs.StartListening(ctx, "server", append([]string{name}, args...), port,
		append([]string{fmt.Sprintf("PORT=%d", port)}, env...)...)
}

func freePort() (int, error) { return procs.FreePort() }

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
// servers joined to it through REDIS_URL, with env added to the servers'
// environment. Every process is pinned to the server CPU.
func deploy(ctx context.Context, o options, cmdline []string, nodes int, extra ...string) (d *deployment, err error) {
	d = &deployment{}
	defer func() {
		if err != nil {
			d.stop()
		}
	}()
	env := slices.Clone(extra)
	if nodes > 1 {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		if d.redis, err = startServer(ctx, o, redisCommand(o.redisServer, port), port); err != nil {
			return nil, err
		}
		d.redis.Name = "redis-server"
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
			s.Name = fmt.Sprintf("server %d", i+1)
		}
		d.servers = append(d.servers, s)
		d.ports = append(d.ports, port)
	}
	return d, nil
}

func redisCommand(bin string, port int) []string { return procs.RedisCommand(bin, port) }

// stop ends the servers, then Redis.
func (d *deployment) stop() {
	for _, s := range d.servers {
		s.Stop()
	}
	if d.redis != nil {
		d.redis.Stop()
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
	args := []string{"-url", url(0), "-pid", strconv.Itoa(d.servers[0].PID()), "-label", label}
	if d.redis == nil {
		if statsPath != "" {
			args = append(args, "-stats-url", url(0)+statsPath)
		}
		return args
	}
	var peers, pids []string
	for i := 1; i < len(d.servers); i++ {
		peers = append(peers, url(i))
		pids = append(pids, strconv.Itoa(d.servers[i].PID()))
	}
	return append(args, "-peers", strings.Join(peers, ","), "-peer-pids", strings.Join(pids, ","),
		"-redis-pid", strconv.Itoa(d.redis.PID()))
}

// tail returns the last output of every process.
func (d *deployment) tail() string {
	var b strings.Builder
	for _, s := range d.procs() {
		b.WriteString(s.Tail())
	}
	return b.String()
}

// exited returns the first process that is no longer running, or nil.
func (d *deployment) exited() *server {
	for _, s := range d.procs() {
		if !s.Alive() {
			return s
		}
	}
	return nil
}
