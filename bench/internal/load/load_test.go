package load

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sio-go/socketio/bench/internal/wire"
	"github.com/sio-go/socketio/internal/testutil"
)

func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }

func TestConfigLimits(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{URL: "http://127.0.0.1:1", Scenario: "nope"}, "unknown scenario"},
		{Config{Scenario: Echo}, "no server url"},
		{Config{URL: "http://127.0.0.1:1", Scenario: Conns, Conns: 19_001}, "limit is 19000"},
		{Config{URL: "http://127.0.0.1:1", Scenario: Conns, Conns: 10_000, Transport: wire.Polling}, "limit is 19000"},
		{Config{URL: "http://127.0.0.1:1", Scenario: Broadcast, Receivers: 19_000}, "limit is 19000"},
		{Config{URL: "http://127.0.0.1:1", Scenario: Echo, Duration: 2 * time.Hour}, "limited to"},
		{Config{URL: "http://127.0.0.1:1", Scenario: Churn, Rate: 1e6}, "limited to"},
		{Config{URL: "http://127.0.0.1:1", Scenario: Conns, ConnectRate: 1e6}, "limited to"},
		{Config{URL: "http://10.1.2.3:3000", Scenario: Echo}, "not a loopback address"},
		{Config{URL: "http://127.0.0.1:1", Scenario: ClusterBroadcast}, "needs the URLs of the other servers"},
		{Config{URL: "http://127.0.0.1:1", Scenario: Echo, Peers: []string{"http://127.0.0.1:2"}}, "peers are for cluster-broadcast"},
		{Config{URL: "http://127.0.0.1:1", Scenario: ClusterBroadcast, Peers: []string{"http://127.0.0.1:2"}, PID: 1, PeerPIDs: []int{2, 3}}, "2 peer pids for 1 peers"},
		{Config{URL: "http://127.0.0.1:1", Scenario: ClusterBroadcast, Peers: []string{"http://127.0.0.1:2"}, PeerPIDs: []int{2}}, "first server's pid 0"},
		{Config{URL: "http://127.0.0.1:1", Scenario: ClusterBroadcast, Peers: []string{"http://192.168.1.2:3000"}}, "not a loopback address"},
		{Config{URL: "http://127.0.0.1:1", Scenario: ClusterBroadcast, Peers: []string{"http://127.0.0.1:2"}, Receivers: 19_000}, "limit is 19000"},
		{Config{URL: "http://127.0.0.1:1", Scenario: Echo, Msgpack: true, Transport: wire.Polling}, "msgpack is implemented for echo over WebSocket only"},
		{Config{URL: "http://127.0.0.1:1", Scenario: Broadcast, Msgpack: true}, "msgpack is implemented for echo over WebSocket only"},
	}
	for _, c := range cases {
		_, err := Run(context.Background(), c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err %v, want %q", c.cfg, err, c.want)
		}
	}
}

func TestDefaults(t *testing.T) {
	c := Config{Scenario: Churn}
	c.setDefaults()
	if c.Clients != 20 || c.Conns != 1000 || c.Receivers != 1000 || c.Window != 64 || c.Duration != 10*time.Second || c.SourceIPs != 32 {
		t.Fatalf("churn defaults %+v", c)
	}
	e := Config{Scenario: Echo, Warmup: -1}
	e.setDefaults()
	if e.Clients != 50 || e.Window != 512 || e.Warmup != 0 {
		t.Fatalf("echo defaults %+v", e)
	}
}
