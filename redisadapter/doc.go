// Package redisadapter lets the Socket.IO servers of a cluster, Go or
// Node.js, reach each other's clients through Redis pub/sub. It is
// wire-compatible with the classic adapter of @socket.io/redis-adapter 8:
// Go and Node servers can share one cluster, and the emitter package (like
// @socket.io/redis-emitter) can publish to it.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	srv := socketio.NewServer(&socketio.Config{
//		Adapter: redisadapter.New(rdb, nil),
//	})
//
// What each server does is also published on Redis: broadcasts on
// "<key>#<namespace>#" (or "<key>#<namespace>#<room>#" for one room), and
// requests and responses on "<key>-request#<namespace>#" and
// "<key>-response#<namespace>#". One subscriber connection is shared by the
// namespaces of an adapter factory; go-redis reconnects it and subscribes
// again by itself once Redis answers again.
//
// Nothing waits for Redis on the caller's goroutine (but a Streams
// adapter's broadcast with connection state recovery, for at most
// PublishConfig.Timeout: see StreamsAdapter.Broadcast). A broadcast reaches
// this server's sockets first; what the other servers must receive
// (broadcasts, joins, leaves, disconnections, requests, responses) goes to
// a bounded queue per namespace that one goroutine publishes in order
// (PublishConfig). When Redis stops answering, the adapter notices within
// PublishConfig.Timeout, probes it every 100 milliseconds, and publishes
// again once it answers and the other servers have subscribed again. What
// could not be published is never dropped silently: the operation returns
// a *PublishError (ErrQueueFull, or ErrRedisDown once Redis has been down
// for longer than PublishConfig.MaxDelay), or PublishConfig.OnError hears
// of it later; it is logged and counted (PublishStats). Requests to other
// servers (FetchSockets, AllRooms, ServerSideEmit with replies) fail at
// once with ErrRedisDown while Redis is down, and end at
// Config.RequestsTimeout when a server does not answer, whatever their
// context.
//
// NewSharded is the counterpart of the sharded adapter
// (createShardedAdapter): Redis 7 sharded pub/sub and the messages of
// socket.io-adapter's ClusterAdapter, with a channel per public room in the
// default Dynamic mode. With a standalone Redis its subscriber is one
// connection. With a *redis.ClusterClient it subscribes to each channel on
// the master that serves the channel's slot, one connection per master,
// and subscribes again elsewhere when a master is lost or a slot moves;
// publishing goes to the slot's master through go-redis, and ServerCount
// asks that master (PUBSUB SHARDNUMSUB).
//
//	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
//	srv := socketio.NewServer(&socketio.Config{
//		Adapter: redisadapter.NewSharded(rdb, nil),
//	})
//
// NewStreams is the counterpart of @socket.io/redis-streams-adapter 0.3:
// broadcasts, joins, leaves and disconnections go through a Redis stream
// that every server reads, requests and responses through pub/sub. With
// connection state recovery, sessions are kept in Redis in the form the
// Node package writes, and broadcasts carry their stream entry id as
// offset, so that a client recovers its session and the events it missed
// on any server of the cluster, Go or Node. See the README for where it
// differs from the Node package on purpose.
//
// The adapters keep their rooms in a socketio.MemoryAdapter. With New and
// NewSharded, connection state recovery, which the Node classic adapter
// does not offer, works for a client that reconnects to the same server.
package redisadapter
