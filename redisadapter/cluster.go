package redisadapter

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sio-go/socketio"
	"github.com/sio-go/socketio/internal/cluster"
)

// tableErrors are the errors of the adapters' request tables.
var tableErrors = cluster.TableErrors{Closed: ErrClosed, Timeout: ErrTimeout, Prefix: "redisadapter"}

// newNode returns the ClusterAdapter part of the sharded and Streams
// adapters (see cluster.Node): the local rooms, the requests waiting for
// the other servers, and the handling of their messages.
func newNode(nsp *socketio.Namespace, timeout time.Duration, log *slog.Logger) *cluster.Node {
	return cluster.NewNode(nsp, timeout, log, "redisadapter", tableErrors)
}

// encodeError wraps an encoding error.
func encodeError(err error) error { return fmt.Errorf("redisadapter: %w", err) }

// numSub returns the number of subscribers of channel: on a Redis Cluster,
// summed over the masters for a plain channel, and asked of the master that
// serves the slot of a shard channel. It runs through l: at once
// ErrRedisDown while Redis is unreachable, bounded by the timeout
// otherwise.
func numSub(ctx context.Context, l *cluster.Link, client redis.UniversalClient, channel string, sharded bool) (n int, err error) {
	err = l.Do(ctx, func(ctx context.Context) (err error) {
		n, err = countSubscribers(ctx, client, channel, sharded)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("redisadapter: server count: %w", err)
	}
	return n, nil
}

func countSubscribers(ctx context.Context, client redis.UniversalClient, channel string, sharded bool) (int, error) {
	count := func(ctx context.Context, c redis.Cmdable) (int64, error) {
		var m map[string]int64
		var err error
		if sharded {
			m, err = c.PubSubShardNumSub(ctx, channel).Result()
		} else {
			m, err = c.PubSubNumSub(ctx, channel).Result()
		}
		return m[channel], err
	}
	var n int64
	var err error
	cc, isCluster := client.(*redis.ClusterClient)
	switch {
	case isCluster && sharded:
		var master *redis.Client
		if master, err = cc.MasterForKey(ctx, channel); err == nil {
			n, err = count(ctx, master)
		}
	case isCluster:
		var mu sync.Mutex
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			m, err := count(ctx, c)
			mu.Lock()
			n += m
			mu.Unlock()
			return err
		})
	default:
		n, err = count(ctx, client)
	}
	return int(n), err
}
