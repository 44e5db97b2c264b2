// Package socketio implements a Socket.IO v5 server (the protocol of the
// official socket.io v4 JavaScript packages) over the Engine.IO layer of
// package engineio.
//
// A Server is an http.Handler. Clients connect to namespaces; each
// connection to a namespace is a Socket. Events are handled by typed
// functions:
//
//	srv := socketio.NewServer(nil)
//	srv.OnConnect(func(s *socketio.Socket) {
//		socketio.On(s, "chat", func(ctx context.Context, m Message) error {
//			return s.To(m.Room).Emit(ctx, "chat", m) // the room, but not s
//		})
//		socketio.OnAck(s, "sum", func(ctx context.Context, xs []int) (int, error) {
//			return add(xs), nil // the client's callback receives the sum
//		})
//	})
//	mux.Handle("/socket.io/", srv)
//	…
//	srv.Shutdown(ctx)
//
// Middlewares (Namespace.Use) admit or refuse connections, returning a
// *ConnectError to send the client a message and data. Rooms group sockets
// for broadcasting through a BroadcastOperator (To, Except, Volatile…). An
// Adapter keeps the rooms and carries broadcasts; the default MemoryAdapter
// serves one server, cluster adapters live in their own modules. With
// Config.ConnectionStateRecovery, a client that reconnects soon enough gets
// back its id, rooms and data, and the events it missed.
//
// Socket.IO v2 clients (socket.io-client 2.x, over Engine.IO v3) are served
// when engineio.Config.AllowEIO3 is set: they are connected to the main
// namespace at once, send their namespace's query string as auth, and get
// the v2 forms of the CONNECT reply and refusal. socket.io-client 3.x
// speaks the same protocols as 4.x.
//
// # Concurrency
//
// Every exported method is safe for concurrent use from any goroutine.
//
// The handlers of one socket (OnConnect handlers, middlewares of Socket.Use,
// OnAny, event handlers, OnError, OnDisconnecting and OnDisconnect) run one at
// a time, in the order the packets arrived, on a goroutine that exists only
// while the socket has work: idle sockets cost no goroutine. On Linux that is
// usually the goroutine that read the packet, once it has stopped reading the
// connection (no goroutine is started or woken for it); elsewhere, one of
// the socket's own. Either way handlers run apart from the connection's
// reading, so heartbeats and acknowledgements keep flowing while a handler
// blocks; EmitWithAck may be called from a handler.
// The events waiting for a socket's handlers are bounded
// (Config.MaxPendingEvents): past it, the server stops reading the
// connection until the handlers catch up, so that a burst is handled in
// full and in order with bounded memory (Config.Overflow). A handler that panics is recovered; its socket is
// disconnected with ReasonHandlerPanic, other sockets are not affected.
// Namespace middlewares and OfFunc matchers run apart from the connection's
// reading too, in the same way, once per connection attempt.
//
// Emitting never blocks. A broadcast encodes its packet once and queues the
// same bytes on every recipient's connection. Each connection's outbound
// queue is bounded in bytes (engineio.Config.MaxQueueBytes): volatile
// packets are dropped when the connection is busy, and a client that falls
// further behind is disconnected with ReasonSlowConsumer, so a slow client
// never delays the others.
package socketio
