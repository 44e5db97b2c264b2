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
// # Typed handlers
//
// Typed handlers decode an event's arguments into the parameter types of a
// function. There is one function per shape, as iter.Seq and iter.Seq2
// are: On0 to On3 for events with no to three arguments, OnAck0 to OnAck3
// for the same with a result to acknowledge; Socket.OnRaw takes the
// arguments as received, for more of them or for forwarding.
//
//	socket.on("ping", () => …)                   On0(s, "ping", func(ctx) error)
//	socket.on("join", (room) => …)               On(s, "join", func(ctx, room string) error)
//	socket.on("msg", (room, text) => …)          On2(s, "msg", func(ctx, room, text string) error)
//	socket.on("rooms", (cb) => cb(list))         OnAck0(s, "rooms", func(ctx) ([]string, error))
//	socket.on("get", (id, cb) => cb(item))       OnAck(s, "get", func(ctx, id int) (Item, error))
//	socket.on("msg", (room, text, cb) => cb(id)) OnAck2(s, "msg", func(ctx, room, text string) (int, error))
//	socket.on("up", (meta, buf, cb) => cb(n))    OnAck2(s, "up", func(ctx, m Meta, b []byte) (int, error))
//
// Arguments are decoded with encoding/json, binary attachments into byte
// slices wherever they are; a []byte parameter takes its attachment
// without a copy, a string parameter is read without encoding/json. A
// missing argument is the zero value, as JavaScript's undefined. When an
// argument's type (or its pointer) has a method Validate() error, it runs
// after decoding. Arguments sent (Emit, acknowledgements) carry their byte
// slices as attachments wherever they are too: in struct fields, maps,
// slices, behind pointers, as Node sends a Buffer (see
// protocol.MarshalArgs; tag a field `socketio:"base64"` for base64 text).
//
// The acknowledgement is optional, as in JavaScript: when the client asked
// for one it carries the result (nothing for On handlers), or the error
// when the handler fails, an argument does not decode or validate, or a
// packet middleware refuses the event. Errors reach the client in one
// shape, Config.ErrorReply's, by default
// {"error":{"code":"invalid_argument","message":"argument 0: …"}}: only
// an *Error's code, message and data are sent, any other error is
// reported as "internal" without its text, and no Go type name leaves the
// process. Errors the client is not told about (no acknowledgement asked
// for, or not an *Error) go to Socket.OnError.
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
