package redistest

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Slots is the number of hash slots of a Redis Cluster.
const Slots = 16384

// Cluster is a Redis Cluster of masters without replicas, each a
// redis-server started for a test on loopback.
type Cluster struct {
	t     testing.TB
	Nodes []*Server
	buses []int // cluster bus ports
}

// StartCluster starts masters cluster-enabled redis-servers in a temporary
// directory, splits the hash slots between them, introduces them to each
// other and waits until every node reports cluster_state:ok. The servers
// stop when the test ends. It fails the test when redis-server is missing.
func StartCluster(t testing.TB, masters int) *Cluster {
	t.Helper()
	if masters < 1 {
		t.Fatal("redistest: a cluster needs a master")
	}
	dir := t.TempDir()
	c := &Cluster{t: t}
	for i := range masters {
		c.buses = c.buses[:i]
		c.Nodes = append(c.Nodes, start(t, func(port int) ([]string, error) {
			bus, err := freePort() // the default, port+10000, may be taken or out of range
			if err != nil {
				return nil, err
			}
			c.buses = append(c.buses, bus) // the last one is the server's
			return []string{
				"--cluster-enabled", "yes",
				"--cluster-config-file", filepath.Join(dir, "nodes-"+strconv.Itoa(port)+".conf"),
				"--cluster-port", strconv.Itoa(bus),
				"--cluster-node-timeout", "2000",
				"--dir", dir,
			}, nil
		}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.form(ctx); err != nil {
		t.Fatalf("redistest: cannot form the cluster: %v", err)
	}
	return c
}

// form assigns the slots and joins the nodes.
func (c *Cluster) form(ctx context.Context) error {
	// Distinct config epochs from the start, as redis-cli --cluster create
	// gives them: otherwise the nodes start at epoch 0 and settle their
	// collisions by gossip for a while, and a slot moved meanwhile may be
	// claimed back by its old owner.
	for i, s := range c.Nodes {
		if err := c.on(i, func(r *redis.Client) error { return r.Do(ctx, "CLUSTER", "SET-CONFIG-EPOCH", i+1).Err() }); err != nil {
			return fmt.Errorf("%s: set config epoch: %w", s.Addr(), err)
		}
	}
	per := Slots / len(c.Nodes)
	for i, s := range c.Nodes {
		lo, hi := i*per, (i+1)*per-1
		if i == len(c.Nodes)-1 {
			hi = Slots - 1
		}
		if err := c.on(i, func(r *redis.Client) error { return r.ClusterAddSlotsRange(ctx, lo, hi).Err() }); err != nil {
			return fmt.Errorf("%s: add slots: %w", s.Addr(), err)
		}
	}
	for i := 1; i < len(c.Nodes); i++ {
		port, bus := c.Nodes[i].port, c.buses[i]
		if err := c.on(0, func(r *redis.Client) error { return r.Do(ctx, "CLUSTER", "MEET", "127.0.0.1", port, bus).Err() }); err != nil {
			return fmt.Errorf("meet %s: %w", c.Nodes[i].Addr(), err)
		}
	}
	return c.WaitOK(ctx)
}

// on runs f with a client of node i.
func (c *Cluster) on(i int, f func(*redis.Client) error) error {
	r := redis.NewClient(&redis.Options{Addr: c.Nodes[i].Addr(), MaxRetries: -1})
	defer r.Close()
	return f(r)
}

// WaitOK waits until every node sees every other and reports
// cluster_state:ok.
func (c *Cluster) WaitOK(ctx context.Context) error {
	want := fmt.Sprintf("cluster_known_nodes:%d", len(c.Nodes))
	for i := range c.Nodes {
		var info string
		for {
			err := c.on(i, func(r *redis.Client) (err error) {
				info, err = r.ClusterInfo(ctx).Result()
				return err
			})
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, want) {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s: %v (last error %v)\n%s", c.Nodes[i].Addr(), ctx.Err(), err, info)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// Addrs returns the host:port of every node.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, s := range c.Nodes {
		out[i] = s.Addr()
	}
	return out
}

// URLs returns redis://host:port for every node, comma-separated.
func (c *Cluster) URLs() string {
	out := make([]string, len(c.Nodes))
	for i, s := range c.Nodes {
		out[i] = s.URL()
	}
	return strings.Join(out, ",")
}

// Client returns a cluster client of the nodes, closed when the test ends.
func (c *Cluster) Client() *redis.ClusterClient {
	r := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), DialTimeout: time.Second})
	c.t.Cleanup(func() { _ = r.Close() })
	return r
}

// Owner returns the index of the node that serves slot, as the first node
// sees it.
func (c *Cluster) Owner(ctx context.Context, slot int) (int, error) {
	return c.ownerSeenBy(ctx, 0, slot)
}

// ownerSeenBy returns the index of the node that serves slot according to
// node i.
func (c *Cluster) ownerSeenBy(ctx context.Context, i, slot int) (int, error) {
	var slots []redis.ClusterSlot
	err := c.on(i, func(r *redis.Client) (err error) {
		slots, err = r.ClusterSlots(ctx).Result()
		return err
	})
	if err != nil {
		return -1, err
	}
	for _, s := range slots {
		if slot < s.Start || slot > s.End || len(s.Nodes) == 0 {
			continue
		}
		for i, n := range c.Nodes {
			if s.Nodes[0].Addr == n.Addr() {
				return i, nil
			}
		}
	}
	return -1, fmt.Errorf("slot %d: no owner", slot)
}

// MoveSlot gives an empty slot to node to, as a resharding does: the slot
// is marked importing on its new owner and migrating on its old one, then
// every node is told the new owner, the new owner first. Taking an
// importing slot makes the new owner bump its config epoch above every
// other, so that its claim wins over the old owner's gossip, which may
// still announce the slot until it is told; without it a node could be
// handed the slot back by that gossip and keep that view. Use WaitOwner to
// wait until every node agrees.
func (c *Cluster) MoveSlot(ctx context.Context, slot, to int) error {
	from, err := c.Owner(ctx, slot)
	if err != nil {
		return err
	}
	if from == to {
		return nil
	}
	toID, err := c.id(ctx, to)
	if err != nil {
		return err
	}
	fromID, err := c.id(ctx, from)
	if err != nil {
		return err
	}
	setSlot := func(i int, args ...any) error {
		if err := c.on(i, func(r *redis.Client) error {
			return r.Do(ctx, append([]any{"CLUSTER", "SETSLOT", slot}, args...)...).Err()
		}); err != nil {
			return fmt.Errorf("%s: setslot %v: %w", c.Nodes[i].Addr(), args, err)
		}
		return nil
	}
	if err := setSlot(to, "IMPORTING", fromID); err != nil {
		return err
	}
	if err := setSlot(from, "MIGRATING", toID); err != nil {
		return err
	}
	// The new owner first, then the others (the old owner among them).
	order := []int{to}
	for i := range c.Nodes {
		if i != to {
			order = append(order, i)
		}
	}
	for _, i := range order {
		if err := setSlot(i, "NODE", toID); err != nil {
			return err
		}
	}
	return nil
}

// id returns the node id of node i.
func (c *Cluster) id(ctx context.Context, i int) (string, error) {
	var id string
	err := c.on(i, func(r *redis.Client) (err error) {
		id, err = r.ClusterMyID(ctx).Result()
		return err
	})
	return id, err
}

// WaitOwner waits until every node reports that node want serves slot.
func (c *Cluster) WaitOwner(ctx context.Context, slot, want int) error {
	for i := range c.Nodes {
		for {
			got, err := c.ownerSeenBy(ctx, i, slot)
			if err == nil && got == want {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s sees slot %d served by node %d (%v), want %d: %w",
					c.Nodes[i].Addr(), slot, got, err, want, ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

// Slot returns the hash slot of a key (or shard channel): CRC16 (XMODEM)
// of the key, or of its hash tag (the part between the first "{" and the
// next "}" when not empty), modulo 16384.
func Slot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for k := 0; k < len(key); k++ {
		crc ^= uint16(key[k]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % Slots
}
