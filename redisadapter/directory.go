package redisadapter

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sio-go/socketio"
)

// Directory is a socketio.Directory kept in Redis: each server of a cluster
// announces its address under a key of its own that expires unless renewed
// (socketio.RouteConfig renews it), so a server that dies drops out of it.
// It works beside any of this package's adapters, on the same client.
type Directory struct {
	client redis.UniversalClient
	prefix string
}

var _ socketio.Directory = (*Directory)(nil)

// NewDirectory returns a directory whose keys are prefix + "#route#" + the
// node id; prefix defaults to "socket.io", the adapters' channel prefix.
//
//	srv := socketio.NewServer(&socketio.Config{
//		Adapter: redisadapter.New(rdb, nil),
//		Route:   &socketio.RouteConfig{Addr: "10.0.0.7:3000", Directory: redisadapter.NewDirectory(rdb, "")},
//	})
func NewDirectory(client redis.UniversalClient, prefix string) *Directory {
	if prefix == "" {
		prefix = "socket.io"
	}
	return &Directory{client: client, prefix: prefix + "#route#"}
}

// Announce sets the node's key to addr for ttl.
func (d *Directory) Announce(ctx context.Context, id, addr string, ttl time.Duration) error {
	return d.client.Set(ctx, d.prefix+id, addr, ttl).Err()
}

// Lookup reads the node's key; "" when it is not set.
func (d *Directory) Lookup(ctx context.Context, id string) (string, error) {
	addr, err := d.client.Get(ctx, d.prefix+id).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return addr, err
}
