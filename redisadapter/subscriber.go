package redisadapter

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sio-go/socketio/internal/backoff"
	"github.com/sio-go/socketio/internal/cluster"
)

// subscriber owns the pub/sub connection shared by the adapters of a
// factory. Two goroutines run while it is open: one receives and
// dispatches messages (go-redis reconnects and subscribes again inside
// Receive, once the link says that Redis answers), and one applies
// subscription changes in order (they block while Redis is unreachable,
// so they never run on the caller's goroutine). The adapters publish
// through their outboxes.
//
// The sharded adapters of a Redis Cluster subscribe instead on the master
// that serves each channel's slot: one connection, with its own receiving
// goroutine, per master (see shards.go).
type subscriber struct {
	client  redis.UniversalClient
	cluster *redis.ClusterClient // set for sharded pub/sub on a Redis Cluster
	log     *slog.Logger
	link    *cluster.Link
	ps      *redis.PubSub // nil when cluster is set
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	opsMu  sync.Mutex
	ops    []func()      // subscription changes, in order
	opsSig chan struct{} // signals new ops

	mu        sync.RWMutex
	patterns  map[string]handler // pattern → handler
	channels  map[string]handler // channel (plain or sharded) → handler
	confirmed map[string]bool    // channels and patterns Redis confirmed
	waiters   []chan struct{}    // woken on each confirmation
	shards                       // the masters' connections, with cluster
}

// handler receives the messages of a channel or pattern.
type handler func(channel string, payload []byte)

// subscription lists what an adapter listens to.
type subscription struct {
	patterns []string // PSUBSCRIBE
	channels []string // SUBSCRIBE
	shard    []string // SSUBSCRIBE
}

func (sub subscription) names() []string {
	return slices.Concat(sub.patterns, sub.channels, sub.shard)
}

// newSubscriber starts the subscriber of a factory; sharded tells a
// factory of sharded adapters, which subscribe on each master of a cluster.
func newSubscriber(client redis.UniversalClient, log *slog.Logger, sharded bool, l *cluster.Link) *subscriber {
	ctx, cancel := context.WithCancel(context.Background())
	s := &subscriber{
		client:    client,
		log:       log,
		link:      l,
		ctx:       ctx,
		cancel:    cancel,
		opsSig:    make(chan struct{}, 1),
		patterns:  map[string]handler{},
		channels:  map[string]handler{},
		confirmed: map[string]bool{},
	}
	if cc, ok := client.(*redis.ClusterClient); ok && sharded {
		s.cluster = cc
		s.shards = newShards()
	} else {
		s.ps = client.Subscribe(ctx) // connects on the first subscription
		s.wg.Add(1)
		go s.receiveMain()
	}
	s.wg.Add(1)
	go s.control()
	return s
}

// add routes the messages of sub to h and subscribes to them.
func (s *subscriber) add(sub subscription, h handler) {
	s.mu.Lock()
	for _, p := range sub.patterns {
		s.patterns[p] = h
	}
	for _, ch := range slices.Concat(sub.channels, sub.shard) {
		s.channels[ch] = h
	}
	s.mu.Unlock()
	s.do(func() {
		if s.cluster != nil {
			s.shardSubscribe(sub.shard)
			return
		}
		var err error
		if len(sub.patterns) > 0 {
			err = errors.Join(err, s.ps.PSubscribe(s.ctx, sub.patterns...))
		}
		if len(sub.channels) > 0 {
			err = errors.Join(err, s.ps.Subscribe(s.ctx, sub.channels...))
		}
		if len(sub.shard) > 0 {
			err = errors.Join(err, s.ps.SSubscribe(s.ctx, sub.shard...))
		}
		if err != nil {
			s.log.Warn("redisadapter: subscribe (retried on reconnection)", "channels", sub.names(), "err", err)
		}
	})
}

// remove unsubscribes from sub.
func (s *subscriber) remove(sub subscription) {
	s.mu.Lock()
	for _, p := range sub.patterns {
		delete(s.patterns, p)
	}
	for _, ch := range slices.Concat(sub.channels, sub.shard) {
		delete(s.channels, ch)
	}
	for _, name := range sub.names() {
		delete(s.confirmed, name)
	}
	s.mu.Unlock()
	s.do(func() {
		if s.cluster != nil {
			s.shardUnsubscribe(sub.shard)
			return
		}
		if len(sub.patterns) > 0 {
			_ = s.ps.PUnsubscribe(s.ctx, sub.patterns...)
		}
		if len(sub.channels) > 0 {
			_ = s.ps.Unsubscribe(s.ctx, sub.channels...)
		}
		if len(sub.shard) > 0 {
			_ = s.ps.SUnsubscribe(s.ctx, sub.shard...)
		}
	})
}

// do queues a subscription change; it never blocks, since it is called
// when rooms change.
func (s *subscriber) do(op func()) {
	s.opsMu.Lock()
	s.ops = append(s.ops, op)
	s.opsMu.Unlock()
	select {
	case s.opsSig <- struct{}{}:
	default:
	}
}

func (s *subscriber) control() {
	defer s.wg.Done()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	armed := false
	for {
		if len(s.orphans) > 0 && !armed { // shard channels waiting for a master
			retry.Reset(s.retryDelay)
			armed = true
		}
		select {
		case <-s.opsSig:
		case <-retry.C:
			armed = false
			s.adopt()
			continue
		case <-s.ctx.Done():
			return
		}
		s.opsMu.Lock()
		ops := s.ops
		s.ops = nil
		s.opsMu.Unlock()
		for _, op := range ops {
			if s.ctx.Err() != nil {
				return
			}
			op()
		}
	}
}

// ready reports whether Redis confirmed the subscriptions to names.
func (s *subscriber) ready(names []string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, n := range names {
		if !s.confirmed[n] {
			return false
		}
	}
	return true
}

// waitReady waits until Redis confirmed the subscriptions to names.
func (s *subscriber) waitReady(ctx context.Context, names []string) error {
	for {
		ch := make(chan struct{})
		s.mu.Lock()
		s.waiters = append(s.waiters, ch)
		s.mu.Unlock()
		if s.ready(names) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.ctx.Done():
			return ErrClosed
		}
	}
}

func (s *subscriber) confirm(name string, on bool) {
	s.mu.Lock()
	if on {
		s.confirmed[name] = true
	} else {
		delete(s.confirmed, name)
	}
	waiters := s.waiters
	s.waiters = nil
	s.mu.Unlock()
	for _, w := range waiters {
		close(w)
	}
}

// idleCheck is how long the receiver waits for a message before it pings
// Redis to detect a dead connection.
const idleCheck = 30 * time.Second

// retries returns the delays between attempts to reach Redis again: from
// 50 ms, doubling to 500 ms, spread so that the servers of a cluster do not
// come back all at once. While Redis does not answer at all, the
// subscriber and the stream readers wait for the link instead, which
// probes it every probeInterval.
func retries() backoff.Backoff {
	return backoff.Backoff{Min: 50 * time.Millisecond, Max: 500 * time.Millisecond, Jitter: 0.5}
}

// receiveMain receives on the connection of the subscriber.
func (s *subscriber) receiveMain() {
	defer s.wg.Done()
	delays := retries()
	s.receive(s.ps, receiver{
		broken: func(err error) bool {
			s.lost()
			s.link.Suspect()
			d := delays.Next()
			s.log.Debug("redisadapter: subscriber connection", "err", err, "retry", d)
			select {
			case <-time.After(d):
			case <-s.ctx.Done():
				return false
			}
			// Reconnect as soon as Redis answers again rather than dial
			// blindly (go-redis's pool counts failed dials).
			return s.link.WaitUp(s.ctx) == nil
		},
		healthy: delays.Reset,
	})
}

// receiver tells receive what to do besides dispatching messages and
// confirming subscriptions.
type receiver struct {
	// broken is called on an error other than an idle connection; it
	// returns whether to go on receiving.
	broken func(error) bool
	// healthy is called on each message or confirmation.
	healthy func()
	// unsubscribed, when set, is called on a SUNSUBSCRIBE instead of
	// forgetting the channel's confirmation; it returns whether to go on.
	unsubscribed func(channel string) bool
}

// receive reads ps until the subscriber closes or r says to stop.
func (s *subscriber) receive(ps *redis.PubSub, r receiver) {
	for {
		msg, err := ps.ReceiveTimeout(s.ctx, idleCheck)
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				_ = ps.Ping(s.ctx)
				continue
			}
			if !r.broken(err) {
				return
			}
			continue
		}
		r.healthy()
		switch m := msg.(type) {
		case *redis.Subscription:
			switch m.Kind {
			case "subscribe", "psubscribe", "ssubscribe":
				s.confirm(m.Channel, true)
			case "sunsubscribe":
				if r.unsubscribed != nil {
					if !r.unsubscribed(m.Channel) {
						return
					}
					break
				}
				s.confirm(m.Channel, false)
			case "unsubscribe", "punsubscribe":
				s.confirm(m.Channel, false)
			}
		case *redis.Message:
			s.dispatch(m)
		}
	}
}

// lost forgets the confirmations: they come again when go-redis has
// reconnected and subscribed again.
func (s *subscriber) lost() {
	s.mu.Lock()
	clear(s.confirmed)
	s.mu.Unlock()
}

func (s *subscriber) dispatch(m *redis.Message) {
	s.mu.RLock()
	var h handler
	if m.Pattern != "" {
		h = s.patterns[m.Pattern]
	} else {
		h = s.channels[m.Channel]
	}
	s.mu.RUnlock()
	if h != nil {
		h(m.Channel, []byte(m.Payload))
	}
}

// close stops the goroutines and closes the pub/sub connection.
func (s *subscriber) close() {
	s.cancel()
	if s.ps != nil {
		_ = s.ps.Close()
	}
	s.closeShards()
	s.wg.Wait()
}
