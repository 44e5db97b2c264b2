// Package sioclient is a Socket.IO v5 client (the protocol of the official
// socket.io v4 JavaScript packages), with the behaviour of socket.io-client
// 4.8, over the Engine.IO client of package engineio.
//
// A Manager holds one Engine.IO connection to a server; a Socket is the
// connection to one namespace, and the sockets of one manager share its
// connection. Dial is the short way to one namespace:
//
//	s, err := sioclient.Dial(ctx, "http://localhost:3000/chat", &sioclient.Config{
//		Socket: sioclient.SocketConfig{Auth: map[string]string{"token": token}},
//	})
//	if err != nil { … } // a *sioclient.ConnectError when a middleware refused
//	defer s.Close()
//	sioclient.On(s, "message", func(ctx context.Context, m Message) error { … })
//	total, err := sioclient.Call[int](ctx, s, "sum", []int{1, 2, 3})
//
// Several namespaces over one connection:
//
//	m, _ := sioclient.NewManager("http://localhost:3000", nil)
//	defer m.Close()
//	chat, admin := m.Socket("/chat", nil), m.Socket("/admin", &sioclient.SocketConfig{Auth: creds})
//
// # Behaviour
//
// The manager reconnects a lost connection with exponential backoff and
// jitter (Config.ReconnectionDelay, ReconnectionDelayMax,
// RandomizationFactor, new(0.0) for none, ReconnectionAttempts, or
// ReconnectionDelayFunc), and
// reports through typed hooks (OnReconnectAttempt, OnReconnectError,
// OnReconnectFailed, OnReconnect). Every (re)connection sends the socket's
// auth, from SocketConfig.AuthFunc when set so that tokens can be refreshed.
// A server refusal (CONNECT_ERROR) is a *ConnectError with the server's
// message and data, and is not retried. DisconnectReason tells why a socket
// was disconnected and WillReconnect whether it comes back by itself;
// Socket.Active tells the latter at any time.
//
// Emit never blocks: while disconnected, events are buffered (bounded by
// SocketConfig.MaxBufferBytes, ErrBufferFull past it) and sent on
// connection; volatile events (Socket.Volatile) are dropped instead.
// EmitWithAck and Call wait for the acknowledgement under a context and
// SocketConfig.AckTimeout; with SocketConfig.Retries, events are resent
// until acknowledged, as the official client does. []byte values travel as
// binary attachments, at any depth. With connection state recovery on the
// server, a reconnecting socket sends its session id and last offset, gets
// the events it missed, and Recovered reports it.
//
// # Concurrency
//
// Every exported method is safe for concurrent use. The handlers of one
// socket (event handlers, OnAny, OnConnect, OnConnectError, OnDisconnect,
// OnError) run one at a time, in arrival order, on a goroutine that exists
// only while there is work, apart from the goroutine reading the connection:
// a handler may block, and may call EmitWithAck.
//
// Nothing received is dropped: when a socket has Config.MaxPendingEvents
// events waiting for its handlers, the client stops reading the connection
// until they catch up (over WebSocket the server's writes then wait on TCP;
// over polling the next poll waits), so memory stays bounded by those
// events plus one message or polling response. While a caller waits for the
// server (EmitWithAck, Call, Connect), reading goes on, up to
// Config.HardMaxPendingEvents, so that a handler waiting for an
// acknowledgement does not wait for itself; past that cap the connection is
// closed with ReasonHandlerQueueFull. The server's heartbeat waits too: a
// client that falls behind by more than the server's pingTimeout is
// disconnected by it. A handler that panics is recovered and reported to
// OnError.
//
// Close is final, for a Socket as for a Manager: afterwards Emit,
// EmitWithAck, Call and Connect return ErrClosed at once. It returns once
// the goroutines it ended are gone, handlers included, unless that would
// deadlock (a handler that calls Close is not waited for). The socket of
// Dial owns its manager and closes it too.
package sioclient
