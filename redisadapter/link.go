package redisadapter

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sio-go/socketio/internal/cluster"
)

// newLink returns the link that tells whether Redis answers, for the
// adapters of one factory (see cluster.Link): it is up until a command
// fails for want of Redis (a network error, a timeout, or an error reply
// such as LOADING); it is then down, and one goroutine probes Redis every
// 100 milliseconds until it answers.
//
// A probe dials Redis itself before asking go-redis: the failed dials of
// an outage then stay out of go-redis's pool, which, after PoolSize of
// them, answers with the last dial error for up to a second after Redis is
// back.
func newLink(client redis.UniversalClient, log *slog.Logger, timeout time.Duration) *cluster.Link {
	var dial func(ctx context.Context) error // nil when the client has several nodes
	if c, ok := client.(*redis.Client); ok {
		o := c.Options() // Dialer, Network and Addr do not change once the client exists
		dialer, network, addr := o.Dialer, o.Network, o.Addr
		if dialer != nil {
			dial = func(ctx context.Context) error {
				conn, err := dialer(ctx, network, addr)
				if err != nil {
					return err
				}
				return conn.Close()
			}
		}
	}
	probe := func(ctx context.Context) error {
		if dial != nil {
			if err := dial(ctx); err != nil {
				return err
			}
		}
		if cc, ok := client.(*redis.ClusterClient); ok {
			return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return c.Ping(ctx).Err() })
		}
		return client.Ping(ctx).Err()
	}
	return cluster.NewLink(cluster.LinkConfig{
		Probe:       probe,
		Timeout:     timeout,
		Unreachable: unreachable,
		Down:        ErrRedisDown,
		Closed:      ErrClosed,
		Log:         log,
		Prefix:      "redisadapter",
		Backend:     "Redis",
	})
}

// unreachable reports whether err tells that Redis could not be reached or
// cannot serve, rather than an error of the command.
func unreachable(err error) bool {
	if err == nil || errors.Is(err, redis.ErrClosed) || errors.Is(err, context.Canceled) {
		return false
	}
	var re redis.Error
	if errors.As(err, &re) {
		msg := re.Error()
		for _, prefix := range []string{"LOADING ", "CLUSTERDOWN ", "MASTERDOWN ", "TRYAGAIN "} {
			if strings.HasPrefix(msg, prefix) {
				return true
			}
		}
		return false
	}
	return true
}
