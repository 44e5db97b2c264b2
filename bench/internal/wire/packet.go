// Package wire is a small Engine.IO v4 / Socket.IO v5 client made for load
// generation: WebSocket from the first request or HTTP long-polling, the
// default namespace only, text packets only, and checks of the server's
// handshake bytes. Frames are built by appending to caller-owned buffers so a
// busy connection allocates nothing per message.
package wire

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// Engine.IO packet types as they appear on the wire.
const (
	EIOOpen    = '0'
	EIOClose   = '1'
	EIOPing    = '2'
	EIOPong    = '3'
	EIOMessage = '4'
	EIOUpgrade = '5'
	EIONoop    = '6'
)

// Separator joins packets in a polling payload.
const Separator = 0x1e

// Transport selects how a connection talks to the server.
type Transport int

const (
	// WebSocket opens the connection directly over WebSocket (no polling
	// first, no upgrade).
	WebSocket Transport = iota
	// Polling uses HTTP long-polling only.
	Polling
)

func (t Transport) String() string {
	if t == Polling {
		return "polling"
	}
	return "websocket"
}

// ParseTransport reads "websocket" or "polling".
func ParseTransport(s string) (Transport, error) {
	switch s {
	case "websocket", "ws":
		return WebSocket, nil
	case "polling":
		return Polling, nil
	}
	return 0, fmt.Errorf("wire: unknown transport %q (want websocket or polling)", s)
}

// Handshake is what the server announces in its open packet. Only the
// defaults of the reference server are accepted, byte for byte.
type Handshake struct {
	SID string
}

// The bytes that follow the session id in the open packet of a server with
// default options.
const (
	openTailWebSocket = `","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`
	openTailPolling   = `","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`
	openHead          = `0{"sid":"`
)

// Heartbeat timings announced by a server with default options.
const (
	DefaultPingInterval = 25_000 // ms
	DefaultPingTimeout  = 20_000 // ms
)

// ParseOpen checks an Engine.IO open packet against the defaults for t and
// returns the session id.
func ParseOpen(p []byte, t Transport) (Handshake, error) {
	tail := openTailWebSocket
	if t == Polling {
		tail = openTailPolling
	}
	sid, ok := between(p, openHead, tail)
	if !ok || !validSID(sid) {
		return Handshake{}, fmt.Errorf("wire: unexpected open packet %s (want %s<sid>%s)", Quote(p), openHead, tail)
	}
	return Handshake{SID: string(sid)}, nil
}

// ParseConnect checks a Socket.IO CONNECT reply for the main namespace, as
// the whole Engine.IO message `40{"sid":"…"}`, and returns the socket id.
func ParseConnect(p []byte) (string, error) {
	sid, ok := between(p, `40{"sid":"`, `"}`)
	if !ok || !validSID(sid) {
		return "", fmt.Errorf(`wire: unexpected connect reply %s (want 40{"sid":"<id>"})`, Quote(p))
	}
	return string(sid), nil
}

func between(p []byte, head, tail string) ([]byte, bool) {
	if len(p) < len(head)+len(tail) || string(p[:len(head)]) != head || string(p[len(p)-len(tail):]) != tail {
		return nil, false
	}
	return p[len(head) : len(p)-len(tail)], true
}

// validSID accepts the URL-safe ids the servers generate.
func validSID(s []byte) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// Fixed frames.
var (
	// FrameConnect asks to join the main namespace.
	FrameConnect = []byte("40")
	// FrameDisconnect leaves the main namespace.
	FrameDisconnect = []byte("41")
	framePong       = []byte("3")
	frameClose      = []byte("1")
)

// AppendEvent appends the Engine.IO message for a Socket.IO EVENT on the
// main namespace: 42[<id>]["<event>",<args>]. id < 0 asks for no ack. args is
// the JSON of the arguments after the event name, joined by commas, without
// the surrounding brackets (may be empty). event must need no JSON escaping.
func AppendEvent(dst []byte, id int64, event string, args []byte) []byte {
	dst = append(dst, '4', '2')
	if id >= 0 {
		dst = strconv.AppendInt(dst, id, 10)
	}
	dst = append(dst, '[', '"')
	dst = append(dst, event...)
	dst = append(dst, '"')
	if len(args) > 0 {
		dst = append(dst, ',')
		dst = append(dst, args...)
	}
	return append(dst, ']')
}

// AppendAck appends the Engine.IO message for a Socket.IO ACK on the main
// namespace: 43<id>[<args>].
func AppendAck(dst []byte, id int64, args []byte) []byte {
	dst = append(dst, '4', '3')
	dst = strconv.AppendInt(dst, id, 10)
	dst = append(dst, '[')
	dst = append(dst, args...)
	return append(dst, ']')
}

// ErrNotAck reports a frame that is not an ACK for the main namespace.
var ErrNotAck = errors.New("wire: not an ack")

// ParseAck splits an ACK message 43<id><rest> into its id and the bytes after
// the id (the JSON array of arguments).
func ParseAck(p []byte) (id int64, rest []byte, err error) {
	if len(p) < 3 || p[0] != '4' || p[1] != '3' {
		return 0, nil, ErrNotAck
	}
	id, n := leadingInt(p[2:])
	if n == 0 {
		return 0, nil, ErrNotAck
	}
	return id, p[2+n:], nil
}

// leadingInt parses the run of ASCII digits at the start of p (at most 18, so
// it cannot overflow) and returns the value and the number of digits.
func leadingInt(p []byte) (int64, int) {
	var v int64
	n := 0
	for n < len(p) && n < 18 && p[n] >= '0' && p[n] <= '9' {
		v = v*10 + int64(p[n]-'0')
		n++
	}
	return v, n
}

// SeqFrame describes broadcast frames of the form
// 42["<event>",<seq>,<tail>] where seq is a decimal counter, so a receiver can
// check every frame byte for byte and learn the sequence number.
type SeqFrame struct {
	head []byte // 42["event",
	tail []byte // ,<args>]
}

// NewSeqFrame prepares the frame shape for event with the fixed JSON args
// that follow the sequence number (empty for none).
func NewSeqFrame(event string, args []byte) *SeqFrame {
	f := &SeqFrame{}
	f.head = AppendEvent(nil, -1, event, nil)
	f.head = f.head[:len(f.head)-1] // drop ']'
	f.head = append(f.head, ',')
	if len(args) > 0 {
		f.tail = append([]byte{','}, args...)
	}
	f.tail = append(f.tail, ']')
	return f
}

// Append appends the frame for seq.
func (f *SeqFrame) Append(dst []byte, seq int64) []byte {
	dst = append(dst, f.head...)
	dst = strconv.AppendInt(dst, seq, 10)
	return append(dst, f.tail...)
}

// Parse checks p against the frame shape and returns its sequence number.
func (f *SeqFrame) Parse(p []byte) (int64, bool) {
	if len(p) < len(f.head)+len(f.tail) || !bytes.HasPrefix(p, f.head) || !bytes.HasSuffix(p, f.tail) {
		return 0, false
	}
	mid := p[len(f.head) : len(p)-len(f.tail)]
	seq, n := leadingInt(mid)
	if n == 0 || n != len(mid) || (n > 1 && mid[0] == '0') {
		return 0, false
	}
	return seq, true
}

// SplitPayload calls fn for each packet of a polling payload.
func SplitPayload(body []byte, fn func(p []byte) error) error {
	for {
		i := bytes.IndexByte(body, Separator)
		if i < 0 {
			return fn(body)
		}
		if err := fn(body[:i]); err != nil {
			return err
		}
		body = body[i+1:]
	}
}

// AppendPayload appends p to a polling payload, adding a separator when
// the payload is not empty.
func AppendPayload(payload, p []byte) []byte {
	if len(payload) > 0 {
		payload = append(payload, Separator)
	}
	return append(payload, p...)
}

// Quote shows at most 120 bytes of a frame for error messages.
func Quote(p []byte) string {
	if len(p) > 120 {
		return strconv.Quote(string(p[:120])) + "…"
	}
	return strconv.Quote(string(p))
}

// StringArg returns the JSON of a string argument made of n copies of a
// letter cycle, needing no escaping.
func StringArg(n int) []byte {
	b := make([]byte, 0, n+2)
	b = append(b, '"')
	for i := range n {
		b = append(b, byte('a'+i%26))
	}
	return append(b, '"')
}

// StampFrame describes broadcast frames 42["<event>",<seq>,<stamp>] where seq
// counts from 0 and stamp is the sender's wall clock in microseconds since
// the Unix epoch: receivers in other processes of the same machine measure
// the delivery time with it.
type StampFrame struct {
	head []byte // 42["event",
}

// NewStampFrame prepares the frame shape for event.
func NewStampFrame(event string) *StampFrame {
	return &StampFrame{head: NewSeqFrame(event, nil).head}
}

// Append appends the frame for seq sent at stampUs.
func (f *StampFrame) Append(dst []byte, seq, stampUs int64) []byte {
	dst = append(dst, f.head...)
	dst = strconv.AppendInt(dst, seq, 10)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, stampUs, 10)
	return append(dst, ']')
}

// Parse checks p against the frame shape and returns its sequence number
// and stamp.
func (f *StampFrame) Parse(p []byte) (seq, stampUs int64, ok bool) {
	if !bytes.HasPrefix(p, f.head) {
		return 0, 0, false
	}
	p = p[len(f.head):]
	seq, n := leadingInt(p)
	if n == 0 || (n > 1 && p[0] == '0') || n >= len(p) || p[n] != ',' {
		return 0, 0, false
	}
	p = p[n+1:]
	stampUs, n = leadingInt(p)
	if n == 0 || n+1 != len(p) || p[n] != ']' {
		return 0, 0, false
	}
	return seq, stampUs, true
}
