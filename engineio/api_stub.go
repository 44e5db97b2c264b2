package engineio

import (
	"context"
	"net/http"
)

// Message is one Engine.IO message packet: text, or binary when Binary is set.
type Message struct {
	Data   []byte
	Binary bool
}

// Server is an Engine.IO v4 server. Create it with NewServer; it is an
// http.Handler.
type Server struct{}

// NewServer returns a server configured by cfg (nil means all defaults) that
// calls onConnect for every new session, before the handshake response is
// sent, so that the callbacks it registers see every message.
func NewServer(cfg *Config, onConnect func(*Conn)) *Server { panic("todo") }

// ServeHTTP answers Engine.IO requests under the configured path.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { panic("todo") }

// Shutdown closes every session and waits for their goroutines.
func (s *Server) Shutdown(ctx context.Context) error { panic("todo") }

// ClientsCount returns the number of open sessions.
func (s *Server) ClientsCount() int { panic("todo") }

// Conn is one Engine.IO session.
type Conn struct{}

func (c *Conn) ID() string                                    { panic("todo") }
func (c *Conn) Request() *http.Request                        { panic("todo") }
func (c *Conn) RemoteAddr() string                            { panic("todo") }
func (c *Conn) Transport() Transport                          { panic("todo") }
func (c *Conn) Upgraded() bool                                { panic("todo") }
func (c *Conn) OnMessage(f func(data []byte, binary bool))    { panic("todo") }
func (c *Conn) OnClose(f func(reason CloseReason, err error)) { panic("todo") }
func (c *Conn) Send(msgs ...Message) error                    { panic("todo") }
func (c *Conn) SendVolatile(msgs ...Message) error            { panic("todo") }
func (c *Conn) Close() error                                  { panic("todo") }
func (c *Conn) Done() <-chan struct{}                         { panic("todo") }
