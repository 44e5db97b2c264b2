package interop

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sio-go/socketio/interop/internal/nodeproc"
	"github.com/sio-go/socketio/redisadapter"
)

// startRedis runs a private redis-server on a free loopback port until the
// test ends, and returns its address.
func startRedis(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("REDIS_SERVER")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("redis-server"); err != nil {
			t.Fatal("redis-server is not installed: run scripts/setup.sh, or set REDIS_SERVER")
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server does not answer on %s", addr)
		}
	}
}

func redisAdapter(t testing.TB, addr string) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// socketsByID decodes an all_sockets event.
func socketsByID(t testing.TB, ev uiEvent) map[string]map[string]json.RawMessage {
	t.Helper()
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(ev.Args[0], &list); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]json.RawMessage{}
	for _, s := range list {
		var id string
		_ = json.Unmarshal(s["id"], &id)
		out[id] = s
	}
	return out
}

// TestAdminUICluster runs two of our servers and a Node server instrumented
// by instrument() on one Redis: a UI logged in to either kind of server sees
// every server and every socket, and its actions reach sockets on the
// others.
func TestAdminUICluster(t *testing.T) {
	addr := startRedis(t)
	hash := adminHash(t)
	_, go1 := startAdminGo(t, hash, "go-1", redisadapter.New(redisAdapter(t, addr), nil))
	_, go2 := startAdminGo(t, hash, "go-2", redisadapter.New(redisAdapter(t, addr), nil))
	p := nodeproc.Start(t, "admin.mjs")
	nodeURL := p.Call(nodeproc.M{"cmd": "startServer", "hash": hash, "serverId": "node-1",
		"redisUrl": "redis://" + addr}).Str("url")

	ids := map[string]string{}
	for name, url := range map[string]string{"c1": go1, "c2": go2, "c3": nodeURL} {
		ids[name] = p.Call(nodeproc.M{"cmd": "client", "name": name, "url": url}).Str("id")
	}
	login := nodeproc.M{"username": "admin", "password": adminPassword}
	if r := p.Call(nodeproc.M{"cmd": "ui", "name": "ui", "url": go1, "auth": login}); r.Str("error") != "" {
		t.Fatalf("login: %s", r)
	}

	all := socketsByID(t, waitUI(t, p, "ui", "all_sockets", nil))
	for name, id := range ids {
		s, ok := all[id]
		if !ok {
			t.Fatalf("all_sockets lacks %s (%s): %v", name, id, all)
		}
		for _, f := range []string{"clientId", "transport"} {
			if len(s[f]) == 0 {
				t.Errorf("%s has no %s: %s", name, f, jsonText(s))
			}
		}
	}

	// statistics of every server reach the UI
	servers := map[string]bool{}
	for len(servers) < 3 {
		var st struct {
			ServerID string `json:"serverId"`
		}
		_ = json.Unmarshal(waitUI(t, p, "ui", "server_stats", nil).Args[0], &st)
		servers[st.ServerID] = true
	}
	if !servers["go-1"] || !servers["go-2"] || !servers["node-1"] {
		t.Fatalf("servers %v", servers)
	}

	// actions reach the sockets of the other servers; their servers report
	// the changes to the UI
	for _, c := range []string{"c2", "c3"} {
		p.Call(nodeproc.M{"cmd": "emit", "name": "ui", "event": "join", "args": []any{"/", "vip", ids[c]}})
		waitUI(t, p, "ui", "room_joined", func(ev uiEvent) bool { return argIs(1, "vip")(ev) && argIs(2, ids[c])(ev) })
	}
	p.Call(nodeproc.M{"cmd": "emit", "name": "ui", "event": "_disconnect", "args": []any{"/", false, ids["c3"]}})
	if ev := p.Wait(func(e nodeproc.Event) bool { return e.Type == "disconnect" && e.Str("name") == "c3" }); ev.Str("reason") != "io server disconnect" {
		t.Fatalf("c3: %s", ev)
	}
	waitUI(t, p, "ui", "socket_disconnected", argIs(1, ids["c3"]))

	// a UI on the Node server lists the sockets of our servers
	if r := p.Call(nodeproc.M{"cmd": "ui", "name": "node-ui", "url": nodeURL, "auth": login}); r.Str("error") != "" {
		t.Fatalf("login on Node: %s", r)
	}
	all = socketsByID(t, waitUI(t, p, "node-ui", "all_sockets", nil))
	for _, c := range []string{"c1", "c2"} {
		s, ok := all[ids[c]]
		if !ok {
			t.Fatalf("Node's all_sockets lacks %s: %v", c, slices.Sorted(maps.Keys(all)))
		}
		if len(s["clientId"]) == 0 || string(s["data"]) != "{}" {
			t.Errorf("Node shows %s as %s", c, jsonText(s))
		}
	}
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
