package interop

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"text/template"
	"time"

	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/interop/internal/nodeproc"
	"github.com/sio-go/socketio/redisadapter"
)

// haproxyConfig is the balancer of the routing tests: plain round robin,
// no stickiness of any kind (no cookie, no source hash), every request
// balanced on its own. docs/deploy.md quotes it.
var haproxyConfig = template.Must(template.New("haproxy").Parse(`global
    maxconn 8000

defaults
    mode http
    # a frontend's own limit is lower than the global one unless set
    maxconn 8000
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    # balance every request, not every client connection
    option http-server-close
    # a server that refuses connections: try another
    retries 3
    option redispatch

frontend socketio
    bind {{.Bind}}
    default_backend nodes

backend nodes
    balance roundrobin
{{- range $i, $a := .Servers}}
    server node{{$i}} {{$a}}
{{- end}}
`))

// startHAProxy runs haproxy in front of servers (host:port) and returns its
// URL.
func startHAProxy(t *testing.T, servers []string) string {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Fatal("haproxy is not installed: run scripts/setup.sh")
	}
	bind := freeAddr(t)
	cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
	f, err := os.Create(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := haproxyConfig.Execute(f, map[string]any{"Bind": bind, "Servers": servers}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cmd := exec.Command(bin, "-db", "-f", cfg)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return "http://" + waitListening(t, "haproxy", bind, &stderr)
}

// nginxConfig is the nginx of the routing tests: an upstream in round robin
// (nginx's default: no ip_hash, no hash, no sticky cookie), HTTP/1.1 to the
// servers with the Upgrade headers passed on for WebSocket. docs/deploy.md
// quotes it.
var nginxConfig = template.Must(template.New("nginx").Parse(`# test only: one foreground process, files in the test's directory
daemon off;
master_process off;
pid {{.Dir}}/nginx.pid;
error_log stderr warn;

events {
    worker_connections 1024;
}

http {
    access_log off;
    client_body_temp_path {{.Dir}}/body;
    proxy_temp_path {{.Dir}}/proxy;
    fastcgi_temp_path {{.Dir}}/fastcgi;
    uwsgi_temp_path {{.Dir}}/uwsgi;
    scgi_temp_path {{.Dir}}/scgi;

    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      close;
    }

    upstream nodes {
{{- range .Servers}}
        server {{.}};
{{- end}}
    }

    server {
        listen {{.Bind}};
        location / {
            proxy_pass http://nodes;
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            # longer than pingInterval + pingTimeout: a long poll is idle
            # up to pingInterval
            proxy_read_timeout 60s;
        }
    }
}
`))

// startNginx runs nginx in front of servers (host:port) and returns its
// URL.
func startNginx(t *testing.T, servers []string) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/nginx"); err != nil {
			t.Fatal("nginx is not installed: run scripts/setup.sh")
		}
	}
	bind := freeAddr(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "nginx.conf")
	f, err := os.Create(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := nginxConfig.Execute(f, map[string]any{"Bind": bind, "Servers": servers, "Dir": dir}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cmd := exec.Command(bin, "-c", cfg, "-p", dir, "-e", "stderr")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return "http://" + waitListening(t, "nginx", bind, &stderr)
}

// waitListening waits up to 10s until something listens on addr.
func waitListening(t *testing.T, what, addr string, stderr *strings.Builder) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not listen on %s: %s", what, addr, stderr.String())
		}
	}
}

// serveGo serves h, in front of srv, on l (a loopback port of its own when
// nil) until the test ends, when srv shuts down and the HTTP server closes.
func serveGo(t testing.TB, srv *socketio.Server, h http.Handler, l net.Listener) *httptest.Server {
	t.Helper()
	hs := httptest.NewUnstartedServer(h)
	if l != nil {
		hs.Listener.Close()
		hs.Listener = l
	}
	hs.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
	})
	return hs
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startRoutedGo starts n Go servers on one Redis with routing on; each
// answers "echo" by ack and broadcasts "bcast" to the other sockets, as
// bench/node/server.mjs does. It returns their addresses and a counter of
// the requests that reached a server forwarded by another.
func startRoutedGo(t *testing.T, redisAddr string, n int) ([]string, *atomic.Int64) {
	t.Helper()
	var forwarded atomic.Int64
	addrs := make([]string, n)
	for i := range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = l.Addr().String()
		rdb := redisAdapter(t, redisAddr)
		srv := socketio.NewServer(&socketio.Config{
			Adapter: redisadapter.New(rdb, nil),
			Route:   &socketio.RouteConfig{Addr: addrs[i], Directory: redisadapter.NewDirectory(rdb, "")},
		})
		srv.OnConnect(func(s *socketio.Socket) {
			s.OnRaw("echo", func(_ context.Context, a socketio.Args, ack socketio.AckFunc) {
				if ack != nil {
					_ = ack(a.Values()...)
				}
			})
			s.OnRaw("bcast", func(ctx context.Context, a socketio.Args, _ socketio.AckFunc) {
				_ = s.Broadcast().Emit(ctx, "bcast", a.Values()...)
			})
		})
		serveGo(t, srv, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get(socketio.ForwardedHeader) != "" {
				forwarded.Add(1)
			}
			srv.ServeHTTP(w, r)
		}), l)
	}
	// Every server must have announced itself before a client comes.
	rdb := redisAdapter(t, redisAddr)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		keys, err := rdb.Keys(context.Background(), "socket.io#route#*").Result()
		if err == nil && len(keys) == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d servers announced (%v)", len(keys), n, err)
		}
	}
	return addrs, &forwarded
}

// startNodeCluster starts n official servers (bench/node/server.mjs) on one
// Redis through @socket.io/redis-adapter and returns their addresses.
func startNodeCluster(t *testing.T, redisAddr string, n int) []string {
	t.Helper()
	root, err := nodeproc.Root()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "..", "bench", "node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "socket.io")); err != nil {
		t.Fatal("bench/node is not installed: run scripts/setup.sh")
	}
	addrs := make([]string, n)
	for i := range n {
		addrs[i] = freeAddr(t)
		_, port, _ := net.SplitHostPort(addrs[i])
		cmd := exec.Command("node", "server.mjs")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PORT="+port, "REDIS_URL=redis://"+redisAddr)
		exited := startReady(t, cmd, "a Node server", func(line string) bool { return strings.HasPrefix(line, "listening") })
		t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	}
	return addrs
}

// clusterErrors counts what went wrong for the named sockets: connection
// errors, and disconnections (reconnection is off, so one is final).
func clusterErrors(c *sioClient, names []string) (n int, detail []string) {
	in := map[string]bool{}
	for _, s := range names {
		in[s] = true
	}
	for _, e := range c.p.Events(func(e nodeproc.Event) bool {
		return in[e.Str("socket")] && (e.Type == "connect_error" || e.Type == "disconnect")
	}) {
		n++
		detail = append(detail, e.String())
	}
	return n, detail
}

// TestRoundRobinBalancer puts HAProxy, then nginx, in round-robin mode,
// without sticky sessions, in front of three Go servers with routing, then
// of three Node servers, and drives socket.io-client through them with
// polling only and with the default transports: our cluster must have no
// error and deliver every event once, in order; Node's error count is
// reported beside it.
func TestRoundRobinBalancer(t *testing.T) {
	redisAddr := startRedis(t)
	goAddrs, forwarded := startRoutedGo(t, redisAddr, 3)
	nodeAddrs := startNodeCluster(t, startRedis(t), 3)
	c := startClient(t)
	for _, lb := range []struct {
		name  string
		start func(*testing.T, []string) string
	}{{"haproxy", startHAProxy}, {"nginx", startNginx}} {
		goLB := lb.start(t, goAddrs)
		for _, tr := range []string{"polling", "default"} {
			t.Run(lb.name+"/go/"+tr, func(t *testing.T) { roundRobinGo(t, c, goLB, forwarded, lb.name+"-"+tr) })
		}
		nodeLB := lb.start(t, nodeAddrs)
		for _, tr := range []string{"polling", "default"} {
			t.Run(lb.name+"/node/"+tr, func(t *testing.T) { roundRobinNode(t, c, nodeLB, lb.name+"-"+tr) })
		}
	}
}

// balancedClients is the number of clients of each round-robin subtest.
const balancedClients = 4

// balancedOptions returns the client options of transport tr ("polling"
// or "default"), reconnection off so that an error is final.
func balancedOptions(tr string) nodeproc.M {
	opts := nodeproc.M{"forceNew": true, "reconnection": false}
	if strings.HasSuffix(tr, "polling") {
		opts["transports"] = []string{"polling"}
	}
	return opts
}

// roundRobinGo drives socket.io-client through the balancer at lb in front
// of the Go cluster: a burst broadcast by one client reaches every other
// once, in order; acknowledgements come back; nothing fails.
func roundRobinGo(t *testing.T, c *sioClient, lb string, forwarded *atomic.Int64, tr string) {
	const burst = 300
	before := forwarded.Load()
	var names []string
	for i := range balancedClients {
		name := fmt.Sprintf("go-%s-%d", tr, i)
		names = append(names, name)
		c.dial(name, lb, "/", balancedOptions(tr))
	}
	c.p.Send(nodeproc.M{"cmd": "burst", "socket": names[0], "event": "bcast", "count": burst, "pad": 50})
	for _, name := range names[1:] {
		for i, e := range c.events(name, "bcast", burst) {
			var v []struct{ I int }
			if !e.Decode("args", &v) || len(v) != 1 || v[0].I != i {
				t.Fatalf("%s: bcast %d is %s", name, i, e)
			}
		}
	}
	for _, name := range names {
		c.emitAck(name, name+"-echo", 0, "echo", "hi", 1)
		jsonEqual(t, "echo", c.ack(name+"-echo").Field("args"), []any{"hi", 1})
	}
	time.Sleep(200 * time.Millisecond) // a late duplicate or error would show by now
	for _, name := range names[1:] {
		if extra := c.p.Events(func(e nodeproc.Event) bool {
			return e.Type == "event" && e.Str("socket") == name && e.Str("name") == "bcast"
		}); len(extra) != burst {
			t.Errorf("%s got %d bcast events, want %d", name, len(extra), burst)
		}
	}
	n, detail := clusterErrors(c, names)
	if n != 0 {
		t.Errorf("%d errors through the balancer:\n%s", n, strings.Join(detail, "\n"))
	}
	fw := forwarded.Load() - before
	if fw == 0 {
		t.Error("no request was forwarded: the balancer stuck to one server")
	}
	t.Logf("Go cluster, %s: %d clients, 0 errors, %d requests forwarded between servers", tr, balancedClients, fw)
	for _, name := range names {
		c.call("disconnect", name)
	}
}

// roundRobinNode drives socket.io-client through the balancer at lb in
// front of the Node cluster and logs the errors.
func roundRobinNode(t *testing.T, c *sioClient, lb string, tr string) {
	var names []string
	for i := range balancedClients {
		name := fmt.Sprintf("node-%s-%d", tr, i)
		names = append(names, name)
		c.open(name, lb, "/", balancedOptions(tr))
	}
	for _, name := range names {
		c.p.Poll(10*time.Second, func(e nodeproc.Event) bool {
			return e.Str("socket") == name && (e.Type == "connect" || e.Type == "connect_error" || e.Type == "disconnect")
		})
		c.p.Send(nodeproc.M{"cmd": "emit", "socket": name, "event": "bcast", "args": []any{nodeproc.M{"i": 0}}})
	}
	time.Sleep(2 * time.Second) // failures of polling sessions show within a poll or two
	n, _ := clusterErrors(c, names)
	t.Logf("Node cluster, %s: %d clients, %d errors (connect_error or disconnect) through the same balancer", tr, balancedClients, n)
}
