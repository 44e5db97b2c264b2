// Package pgadapter lets the Socket.IO servers of a cluster, Go or
// Node.js, reach each other's clients through PostgreSQL LISTEN/NOTIFY. It
// is wire-compatible with @socket.io/postgres-adapter 0.5: Go and Node
// servers can share one database, and the emitter package (like
// @socket.io/postgres-emitter) can publish to them.
//
//	pool, err := pgxpool.New(ctx, "postgres://user@db/app")
//	err = pgadapter.EnsureTable(ctx, pool, "")
//	srv := socketio.NewServer(&socketio.Config{
//		Adapter: pgadapter.New(pool, nil),
//	})
//
// Every namespace has a notification channel, "socket.io#<namespace>"
// (Config.ChannelPrefix). Each message of socket.io-adapter's
// ClusterAdapter (broadcasts, joins, leaves, disconnections, requests,
// responses, heartbeats) is sent there as JSON with pg_notify; a message
// of PayloadThreshold bytes or more (8000 by default: NOTIFY's limit), or
// one carrying binary values, is written in MessagePack to the attachment
// table (Config.TableName) and the notification carries only its row id.
// Rows older than CleanupInterval are deleted periodically. The servers
// count each other by their heartbeats, as the Node adapter does: no
// query is needed to know how many answers a request waits for.
//
// One connection per factory, opened with the pool's settings, listens to
// the channels of its namespaces; it is opened again within a second once
// the database answers again. Nothing waits for the database on the
// caller's goroutine: a broadcast reaches this server's sockets first, and
// what the other servers must receive goes to a bounded queue per
// namespace that one goroutine sends in order, several messages per round
// trip (PublishConfig). What could not be sent is never dropped silently:
// the operation returns a *PublishError (ErrQueueFull, or ErrDatabaseDown
// once the database has been down for longer than PublishConfig.MaxDelay),
// or PublishConfig.OnError hears of it later; it is logged and counted
// (PublishStats). Requests to other servers (FetchSockets, ServerSideEmit
// with replies) fail at once with ErrDatabaseDown while the database is
// down, and end at Config.RequestsTimeout when a server does not answer,
// whatever their context.
//
// The adapters keep their rooms in a socketio.MemoryAdapter. Connection
// state recovery, which the Node adapter does not offer, works for a
// client that reconnects to the same server.
package pgadapter
