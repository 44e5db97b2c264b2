// Package engineio implements the server side of Engine.IO protocol v4, the
// transport layer under Socket.IO: HTTP long-polling, WebSocket, the
// polling-to-WebSocket upgrade, heartbeats, CORS, cookies and size limits.
//
// A Server is an http.Handler. Mount it under its path prefix beside your own
// routes:
//
//	srv := engineio.NewServer(&engineio.Config{}, func(c *engineio.Conn) {
//		c.OnMessage(func(data []byte, binary bool) {
//			c.Send(engineio.Message{Data: data, Binary: binary}) // echo
//		})
//	})
//	mux.Handle("/engine.io/", srv)
//
// Clients of Engine.IO protocol v3 (engine.io-client 3.x, under
// socket.io-client 2.x) are served when Config.AllowEIO3 is set, as with
// the Node server's allowEIO3: the session then uses the v3 polling
// payloads, binary frames and heartbeat, the rest of the API unchanged
// (Conn.Protocol tells which version a session speaks).
//
// # Concurrency
//
// Every method of Server and Conn is safe for concurrent use. The callbacks
// registered with Conn.OnMessage run one at a time, in arrival order, on a
// goroutine that reads the transport; a slow callback delays the reading of
// that session only. Conn.Send never blocks: messages go into a per-session
// queue that one writer drains. A client that does not keep up is closed
// with ReasonSlowConsumer (Send returns ErrSlowConsumer) when its queue has
// held more than 64 KiB for Config.SlowConsumerTimeout without the
// transport taking any of it, when it would exceed Config.MaxQueueBytes, or
// when the backlogs of all sessions would exceed Config.MaxTotalQueueBytes;
// volatile messages are dropped as soon as the transport is busy. A burst
// to clients that read is delivered in full. Closing a session never waits
// for a write under way, and answering a client's pings never waits for
// its socket, so no client delays the delivery to others.
//
// # Memory
//
// On Linux, an idle WebSocket session holds no goroutine and no buffer: one
// epoll instance per Server watches the sockets, short-lived workers read
// the sessions that have data, and this package parses and writes the
// frames itself (gorilla/websocket only answers the handshake). Elsewhere,
// and for WebSockets over TLS or with permessage-deflate, each WebSocket is
// read by a goroutine of its own through gorilla/websocket.
package engineio
