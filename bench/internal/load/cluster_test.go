package load

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// relay says how a fake cluster passes a "bcast" frame from the sender's
// server to another server's sockets.
type relay int

const (
	relayAll     relay = iota // to every other socket of every server
	relayLocal                // only to the sender's own server: the adapter is missing
	relaySelf                 // to every socket, the sender included
	relaySwapped              // other servers get each pair of messages swapped
)

// fakeCluster is n in-process servers sharing one broadcast hub.
type fakeCluster struct {
	urls  []string
	conns []atomic.Int32 // sockets joined to "/" per server

	mu    sync.Mutex
	socks []*fakeSocket
	held  map[*fakeSocket][]byte // relaySwapped: the frame waiting for its successor
	mode  relay
}

type fakeSocket struct {
	node int
	mu   sync.Mutex
	c    *websocket.Conn
}

func (s *fakeSocket) write(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.c.WriteMessage(websocket.TextMessage, b)
}

func newFakeCluster(t *testing.T, n int, mode relay) *fakeCluster {
	fc := &fakeCluster{conns: make([]atomic.Int32, n), held: map[*fakeSocket][]byte{}, mode: mode}
	for node := range n {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var s *fakeSocket
			serveFake(w, r, func(c *websocket.Conn, reply []byte) {
				s = &fakeSocket{node: node, c: c}
				fc.mu.Lock()
				fc.socks = append(fc.socks, s)
				fc.mu.Unlock()
				fc.conns[node].Add(1)
				s.write(reply)
			}, func(_ *websocket.Conn, b []byte) {
				if s != nil && strings.HasPrefix(string(b), `42["bcast"`) {
					fc.broadcast(s, b)
				}
			})
			if s != nil {
				fc.leave(s)
			}
		}))
		t.Cleanup(srv.Close)
		fc.urls = append(fc.urls, srv.URL)
	}
	return fc
}

func (fc *fakeCluster) leave(s *fakeSocket) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	for i, o := range fc.socks {
		if o == s {
			fc.socks = append(fc.socks[:i], fc.socks[i+1:]...)
			return
		}
	}
}

func (fc *fakeCluster) broadcast(from *fakeSocket, b []byte) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	for _, s := range fc.socks {
		switch {
		case s == from && fc.mode != relaySelf:
		case s.node != from.node && fc.mode == relayLocal:
		case s.node != from.node && fc.mode == relaySwapped:
			if prev, ok := fc.held[s]; ok {
				delete(fc.held, s)
				s.write(b)
				s.write(prev)
			} else {
				fc.held[s] = b
			}
		default:
			s.write(b)
		}
	}
}

func TestClusterBroadcastSpreadsReceivers(t *testing.T) {
	fc := newFakeCluster(t, 3, relayAll)
	self := os.Getpid()
	res, err := Run(context.Background(), Config{
		URL: fc.urls[0], Peers: fc.urls[1:], Scenario: ClusterBroadcast,
		Receivers: 7, Window: 8, PayloadSize: 8,
		Warmup: -1, Duration: 300 * time.Millisecond,
		// This process stands in for the three servers and for Redis.
		PID: self, PeerPIDs: []int{self, self}, RedisPID: self,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || res.Nodes != 3 || res.Sent == 0 || res.Delivered != res.Sent*7 {
		t.Fatalf("correct cluster not accepted: %+v", res)
	}
	// Receivers 0, 3, 6 and the sender on server 0; 1, 4 and 2, 5 on the others.
	for node, want := range []int32{4, 2, 2} {
		if got := fc.conns[node].Load(); got != want {
			t.Errorf("server %d had %d sockets, want %d", node, got, want)
		}
	}
	// The same process read three times as the servers and once as Redis.
	if res.RedisCPUS <= 0 || res.RedisCPUusPerOp <= 0 {
		t.Fatalf("no Redis CPU figures: %+v", res)
	}
	if q := res.ServerCPUS / res.RedisCPUS; q < 2 || q > 4 {
		t.Errorf("server CPU %.2fs is not the sum of three readings of %.2fs", res.ServerCPUS, res.RedisCPUS)
	}
}

func TestClusterBroadcastDetectsWrongRelays(t *testing.T) {
	cases := map[string]struct {
		mode relay
		want string
	}{
		"not across servers": {relayLocal, "deliveries, want"},
		"back to the sender": {relaySelf, "the sender received a message"},
		"out of order":       {relaySwapped, "out of order"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			fc := newFakeCluster(t, 3, c.mode)
			res, err := Run(context.Background(), Config{
				URL: fc.urls[0], Peers: fc.urls[1:], Scenario: ClusterBroadcast,
				Receivers: 6, Rate: 40, PayloadSize: 8,
				Warmup: -1, Duration: 300 * time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.OK || res.Errors+res.Mismatches == 0 {
				t.Fatalf("wrong relay accepted: %+v", res)
			}
			if !strings.Contains(res.FirstError, c.want) {
				t.Errorf("first error %q, want one about %q", res.FirstError, c.want)
			}
		})
	}
}
