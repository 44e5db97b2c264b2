package redisadapter

import (
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sio-go/socketio/internal/backoff"
)

// In a Redis Cluster, a shard channel lives on the master that serves its
// hash slot: SSUBSCRIBE must go there, and one SSUBSCRIBE may only name
// channels of one slot. The subscriber of sharded adapters therefore keeps
// one connection per master, subscribes to each channel with a command of
// its own, and moves channels when their master changes:
//
//   - a connection that fails or answers an error (MOVED after a slot
//     moved, a master that went away) is closed; its channels become
//     orphans;
//   - a master that drops a slot unsubscribes its channels (SUNSUBSCRIBE
//     coming from the server): the connection is handled as failed;
//   - the control goroutine subscribes the orphans again, on the masters
//     go-redis now knows for their slots, after a delay that grows while
//     connections keep failing.

// shards is the subscriber's state for a Redis Cluster.
type shards struct {
	// Guarded by subscriber.mu; changed on the control goroutine.
	nodes map[string]*nodeSub // master's address → connection
	owner map[string]*nodeSub // shard channel → connection subscribed to it

	// Used on the control goroutine only.
	orphans    map[string]struct{} // channels waiting for a master
	retries    backoff.Backoff
	retryDelay time.Duration // the delay before adopting the orphans
}

func newShards() shards {
	return shards{
		nodes:      map[string]*nodeSub{},
		owner:      map[string]*nodeSub{},
		orphans:    map[string]struct{}{},
		retries:    retries(),
		retryDelay: retries().Min,
	}
}

// nodeSub is the connection subscribed on one master.
type nodeSub struct {
	addr    string
	ps      *redis.PubSub
	chans   map[string]struct{} // guarded by subscriber.mu
	leaving map[string]int      // SUNSUBSCRIBEs sent and not confirmed, guarded by subscriber.mu
	healthy atomic.Bool         // Redis answered on it
	retired atomic.Bool         // closed on purpose
}

// shardSubscribe subscribes to channels on their masters.
func (s *subscriber) shardSubscribe(channels []string) {
	for _, ch := range channels {
		s.mu.RLock()
		_, wanted := s.channels[ch]
		n := s.owner[ch]
		s.mu.RUnlock()
		if !wanted || n != nil {
			continue
		}
		client, err := s.cluster.MasterForKey(s.ctx, ch)
		if err != nil {
			s.log.Debug("redisadapter: no master for a shard channel", "channel", ch, "err", err)
			s.orphans[ch] = struct{}{}
			s.retryDelay = s.retries.Next()
			continue
		}
		if n = s.nodeFor(client); n == nil {
			return // closed
		}
		s.mu.Lock()
		s.owner[ch] = n
		n.chans[ch] = struct{}{}
		s.mu.Unlock()
		delete(s.orphans, ch)
		if err := n.ps.SSubscribe(s.ctx, ch); err != nil {
			// The receiving goroutine sees the failure too.
			s.log.Debug("redisadapter: ssubscribe", "channel", ch, "node", n.addr, "err", err)
		}
	}
}

// shardUnsubscribe unsubscribes from channels; a connection left without
// channels is closed.
func (s *subscriber) shardUnsubscribe(channels []string) {
	for _, ch := range channels {
		delete(s.orphans, ch)
		s.mu.Lock()
		n := s.owner[ch]
		delete(s.owner, ch)
		empty := false
		if n != nil {
			delete(n.chans, ch)
			if empty = len(n.chans) == 0; empty {
				delete(s.nodes, n.addr)
			} else {
				n.leaving[ch]++
			}
		}
		s.mu.Unlock()
		switch {
		case n == nil:
		case empty:
			n.retired.Store(true)
			_ = n.ps.Close()
		default:
			_ = n.ps.SUnsubscribe(s.ctx, ch)
		}
	}
}

// nodeFor returns the connection to the master of client, opening it (and
// its receiving goroutine) if needed; nil once the subscriber is closed.
func (s *subscriber) nodeFor(client *redis.Client) *nodeSub {
	addr := client.Options().Addr
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.nodes[addr]; n != nil {
		return n
	}
	if s.ctx.Err() != nil {
		return nil
	}
	n := &nodeSub{addr: addr, ps: client.SSubscribe(s.ctx), chans: map[string]struct{}{}, leaving: map[string]int{}}
	s.nodes[addr] = n
	s.wg.Add(1)
	go s.receiveNode(n)
	return n
}

// receiveNode receives on the connection to one master until it fails or
// is closed.
func (s *subscriber) receiveNode(n *nodeSub) {
	defer s.wg.Done()
	s.receive(n.ps, receiver{
		broken: func(err error) bool {
			if !n.retired.Load() {
				s.log.Debug("redisadapter: shard connection lost", "node", n.addr, "err", err)
				s.nodeLost(n)
			}
			return false
		},
		healthy: func() { n.healthy.Store(true) },
		unsubscribed: func(ch string) bool {
			s.mu.Lock()
			ours := n.leaving[ch] > 0
			if ours {
				if n.leaving[ch]--; n.leaving[ch] == 0 {
					delete(n.leaving, ch)
				}
			}
			moved := !ours && s.owner[ch] == n
			s.mu.Unlock()
			if !moved {
				if ours {
					s.confirm(ch, false)
				}
				return true
			}
			s.log.Debug("redisadapter: shard channel moved", "channel", ch, "node", n.addr)
			s.nodeLost(n)
			return false
		},
	})
}

// nodeLost forgets the confirmations of n's channels and has the control
// goroutine move them.
func (s *subscriber) nodeLost(n *nodeSub) {
	s.mu.Lock()
	for ch := range n.chans {
		delete(s.confirmed, ch)
	}
	s.mu.Unlock()
	s.link.Suspect()
	s.cluster.ReloadState(s.ctx) // in the background: the slots may have moved
	s.do(func() { s.dropNode(n) })
}

// dropNode closes a failed connection and makes its channels orphans.
func (s *subscriber) dropNode(n *nodeSub) {
	s.mu.Lock()
	if s.nodes[n.addr] != n {
		s.mu.Unlock()
		return
	}
	delete(s.nodes, n.addr)
	for ch := range n.chans {
		delete(s.owner, ch)
		delete(s.confirmed, ch)
		s.orphans[ch] = struct{}{}
	}
	s.mu.Unlock()
	n.retired.Store(true)
	_ = n.ps.Close()
	if n.healthy.Load() {
		s.retries.Reset()
		s.retryDelay = s.retries.Min
	} else {
		s.retryDelay = s.retries.Next()
	}
}

// adopt subscribes to the orphans again.
func (s *subscriber) adopt() {
	channels := slices.Collect(maps.Keys(s.orphans))
	clear(s.orphans)
	s.shardSubscribe(channels)
}

// closeShards closes the masters' connections; the subscriber's context is
// already cancelled, so no new one opens.
func (s *subscriber) closeShards() {
	s.mu.Lock()
	nodes := slices.Collect(maps.Values(s.nodes))
	s.mu.Unlock()
	for _, n := range nodes {
		n.retired.Store(true)
		_ = n.ps.Close()
	}
}
