package engineio

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"
)

// Engine.IO protocol v3, spoken by engine.io-client 3.x (socket.io-client
// 2.x), is served when Config.AllowEIO3 is set. It differs from v4 in four
// ways, all handled here or behind a flag the v4 paths never look at per
// packet:
//
//   - Polling payloads prefix every packet with its length and a colon
//     ("6:4hello1:2") instead of separating packets with \x1e. The length
//     counts the characters of a JavaScript string, UTF-16 code units:
//     "é" is 1, "😀" is 2. A binary message is "b4" and base64 in a text
//     payload. A client that can read binary responses (a browser's
//     XMLHttpRequest level 2; not Node.js, whose client asks for base64
//     with the b64 query parameter) is answered, when binary messages are
//     queued, with a binary payload, which it also sends: per packet a
//     byte 0 (text) or 1 (binary), the length in bytes as decimal digits
//     each in a byte of its own, a byte 255, then the packet; text is
//     UTF-8 there.
//   - A binary message over WebSocket is a binary frame whose first byte is
//     the packet type, 4, before the data. A client that cannot receive
//     binary frames (b64 query parameter) gets "b4" and base64 in a text
//     frame.
//   - The client pings ("2") and the server answers "3". A session that
//     sends no ping for PingInterval+PingTimeout has timed out.
//   - Binary messages carry the type byte in this package's queue and
//     packets, so that the WebSocket writers send them unchanged; the
//     callback of OnMessage gets the data without it.
//
// The handshake is the same as in v4, maxPayload included (as the Node
// server sends it to v3 clients; they ignore it).

// binaryTypeMessage is the type byte before the data of a v3 binary
// message.
const binaryTypeMessage = packetMessage - '0'

var errBadBinary = errors.New("engineio: v3 binary packet not a message")

// Protocol returns the Engine.IO protocol version the session speaks: 4, or
// 3 for the v3 clients Config.AllowEIO3 admits.
func (c *Conn) Protocol() int {
	if c.eio3 {
		return 3
	}
	return 4
}

// isEIO3 reports whether a request's EIO query parameter asks for protocol
// v3: anything but "4", as the Node server reads it.
func isEIO3(eio string) bool { return eio != "4" }

// wantsBase64 reports whether a v3 request asks for binary as base64 text:
// a non-empty b64 query parameter.
func wantsBase64(r *http.Request) bool { return r.URL.Query().Get("b64") != "" }

// messageWithType returns the data of binary message m with the v3 type
// byte first.
func messageWithType(m []byte) []byte {
	b := make([]byte, 1+len(m))
	b[0] = byte(binaryTypeMessage)
	copy(b[1:], m)
	return b
}

// base64Packet returns binary message p (its data starting with the type
// byte) as the text packet "b4<base64>" a base64 v3 WebSocket carries.
func base64Packet(p packet) packet {
	data := make([]byte, 0, 1+base64.StdEncoding.EncodedLen(len(p.data)-1))
	data = append(data, '0'+p.data[0])
	data = base64.StdEncoding.AppendEncode(data, p.data[1:])
	return packet{typ: 'b', data: data}
}

// enqueueV3Locked queues messages of a v3 session: binary ones with their
// type byte, or as base64 text on a WebSocket that asked for it.
func (c *Conn) enqueueV3Locked(msgs []Message) {
	for _, m := range msgs {
		p := packet{typ: packetMessage, data: m.Data}
		if m.Binary {
			p.data, p.binary = messageWithType(m.Data), true
			if c.transport == WebSocket && c.b64WS {
				p = base64Packet(p)
			}
		}
		c.enqueueLocked(p)
	}
}

// switchedToBase64Locked turns the binary messages queued over polling
// into base64 text, for the base64 WebSocket a v3 session upgraded to.
func (c *Conn) switchedToBase64Locked() {
	n := 0
	for i := range c.queue {
		if c.queue[i].binary {
			c.queue[i] = base64Packet(c.queue[i])
		}
		n += c.queue[i].size()
	}
	c.resizeLocked(n)
}

// wrapOnMessageV3 returns f taking v3 messages: binary ones lose their type
// byte, and one of another type ends the session.
func (c *Conn) wrapOnMessageV3(f func(data []byte, binary bool)) func(data []byte, binary bool) {
	if f == nil {
		return nil
	}
	return func(data []byte, binary bool) {
		if binary {
			if len(data) == 0 || data[0] != byte(binaryTypeMessage) {
				c.finish(ReasonParseError, errBadBinary)
				return
			}
			data = data[1:]
		}
		f(data, binary)
	}
}

// decodeTextV3 decodes a v3 text packet: "<type><data>", or "b<type>" and
// base64 for binary data, which only a message may have.
func decodeTextV3(b []byte) (packet, error) {
	if len(b) == 0 || b[0] != 'b' {
		return decodeText(b)
	}
	if len(b) < 2 || b[1] != byte(packetMessage) {
		return packet{}, errParse
	}
	data := make([]byte, 1+base64.StdEncoding.DecodedLen(len(b)-2))
	n, err := base64.StdEncoding.Decode(data[1:], b[2:])
	if err != nil {
		return packet{}, errParse
	}
	data[0] = byte(binaryTypeMessage)
	return packet{typ: packetMessage, data: data[:1+n], binary: true}, nil
}

// Heartbeat.
//
// A v3 session uses the v4 heartbeat's state the other way round:
// awaitingPong stays set (the server always awaits the client's ping) and
// hbDeadline is when the next ping is due at the latest, so that
// heartbeat, Stall and a poll's expiry check apply unchanged.

// startHeartbeatV3 gives the client PingInterval+PingTimeout for its
// first ping.
func (c *Conn) startHeartbeatV3() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateClosed {
		return
	}
	d := c.srv.cfg.PingInterval + c.srv.cfg.PingTimeout
	c.awaitingPong = true
	c.hbDeadline = c.srv.now() + d
	c.hbTimer = time.AfterFunc(d, c.heartbeat)
}

// onPingV3 answers a v3 client's ping with a pong and gives it
// PingInterval+PingTimeout for the next one. The timer is not reset: when
// it fires before the deadline it waits again (see heartbeat).
func (c *Conn) onPingV3() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateClosed {
		return
	}
	c.hbDeadline = c.srv.now() + c.srv.cfg.PingInterval + c.srv.cfg.PingTimeout
	if c.state == stateOpen {
		c.enqueueLocked(packet{typ: packetPong})
	}
}

// Polling payloads.

var (
	noopPayloadV3  = []byte("1:6")
	closePayloadV3 = []byte("1:1")
)

// fixedPayloadV3 returns the v3 form of a one-packet v4 payload the poll
// answers with (noop or close).
func fixedPayloadV3(p []byte) []byte {
	if p[0] == byte(packetNoop) {
		return noopPayloadV3
	}
	return closePayloadV3
}

// encodePayloadV3 returns the v3 polling payload of q and its content type:
// binary when the client reads binary payloads and q holds a binary
// message, text otherwise.
func encodePayloadV3(q []packet, base64Only bool) ([]byte, string) {
	if !base64Only {
		for i := range q {
			if q[i].binary {
				return appendBinaryPayloadV3(nil, q), "application/octet-stream"
			}
		}
	}
	return appendTextPayloadV3(nil, q), "text/plain; charset=UTF-8"
}

// appendTextPayloadV3 appends q as a v3 text payload: "<length>:<packet>"
// each, the length in UTF-16 code units; binary messages as "b4<base64>".
func appendTextPayloadV3(dst []byte, q []packet) []byte {
	for i := range q {
		p := &q[i]
		if p.binary {
			n := 2 + base64.StdEncoding.EncodedLen(len(p.data)-1)
			dst = strconv.AppendInt(dst, int64(n), 10)
			dst = append(dst, ':', 'b', '0'+p.data[0])
			dst = base64.StdEncoding.AppendEncode(dst, p.data[1:])
			continue
		}
		data := p.data
		n, ok := utf16Len(data)
		if !ok {
			data = validUTF8(data)
			n, _ = utf16Len(data)
		}
		dst = strconv.AppendInt(dst, int64(1+n), 10)
		dst = append(dst, ':', byte(p.typ))
		dst = append(dst, data...)
	}
	return dst
}

// appendBinaryPayloadV3 appends q as a v3 binary payload: per packet 0 for
// text or 1 for binary, the length in bytes as one byte per decimal digit,
// 255, then the packet (text as UTF-8, binary with its type byte).
func appendBinaryPayloadV3(dst []byte, q []packet) []byte {
	for i := range q {
		p := &q[i]
		if p.binary {
			dst = appendBinaryHeaderV3(dst, 1, len(p.data))
			dst = append(dst, p.data...)
			continue
		}
		data := p.data
		if !utf8.Valid(data) {
			data = validUTF8(data)
		}
		dst = appendBinaryHeaderV3(dst, 0, 1+len(data))
		dst = append(dst, byte(p.typ))
		dst = append(dst, data...)
	}
	return dst
}

func appendBinaryHeaderV3(dst []byte, kind byte, n int) []byte {
	dst = append(dst, kind)
	start := len(dst)
	dst = strconv.AppendInt(dst, int64(n), 10)
	for i := start; i < len(dst); i++ {
		dst[i] -= '0'
	}
	return append(dst, 255)
}

// utf16Len returns the length of UTF-8 text b as a JavaScript string, in
// UTF-16 code units, and false if b is not valid UTF-8.
func utf16Len(b []byte) (int, bool) {
	n := 0
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			n++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return 0, false
		}
		i += size
		n++
		if r >= 0x10000 {
			n++ // a surrogate pair
		}
	}
	return n, true
}

// validUTF8 returns b with each byte that is not part of valid UTF-8
// replaced by U+FFFD, so that the length counted is the length the
// client decodes.
func validUTF8(b []byte) []byte {
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return out
}

// decodePayloadV3 decodes a v3 polling payload, binary when the request
// said application/octet-stream, and calls fn for every packet in order,
// stopping at the first malformed one (errParse) or when fn returns false.
// Binary messages keep their type byte.
func decodePayloadV3(b []byte, binary bool, fn func(packet) bool) error {
	if binary {
		return decodeBinaryPayloadV3(b, fn)
	}
	if len(b) == 0 {
		return errParse
	}
	for len(b) > 0 {
		colon := 0
		for colon < len(b) && b[colon] != ':' {
			colon++
		}
		if colon == 0 || colon == len(b) || colon > 10 {
			return errParse
		}
		n, err := strconv.Atoi(string(b[:colon]))
		if err != nil || n < 0 {
			return errParse
		}
		b = b[colon+1:]
		// n UTF-16 code units of text: at least n/2 bytes, at most 3n.
		end, units := 0, 0
		for units < n && end < len(b) {
			if b[end] < utf8.RuneSelf {
				end++
				units++
				continue
			}
			r, size := utf8.DecodeRune(b[end:])
			end += size
			units++
			if r >= 0x10000 {
				units++
			}
		}
		if units != n {
			return errParse // short, or a surrogate pair cut in two
		}
		msg := b[:end]
		b = b[end:]
		if len(msg) == 0 {
			continue
		}
		p, err := decodeTextV3(msg)
		if err != nil {
			return err
		}
		if !fn(p) {
			return nil
		}
	}
	return nil
}

// decodeBinaryPayloadV3 decodes a v3 binary payload (see
// appendBinaryPayloadV3).
func decodeBinaryPayloadV3(b []byte, fn func(packet) bool) error {
	for len(b) > 0 {
		kind := b[0]
		n, i := 0, 1
		for ; i < len(b) && b[i] != 255; i++ {
			if b[i] > 9 || i > 10 {
				return errParse
			}
			n = n*10 + int(b[i])
		}
		if i == 1 || i == len(b) || len(b)-i-1 < n {
			return errParse
		}
		msg := b[i+1 : i+1+n]
		b = b[i+1+n:]
		var p packet
		switch {
		case kind == 0:
			var err error
			if p, err = decodeTextV3(msg); err != nil {
				return err
			}
		case n > 0 && msg[0] == byte(binaryTypeMessage):
			p = packet{typ: packetMessage, data: msg, binary: true}
		default:
			return errParse
		}
		if !fn(p) {
			return nil
		}
	}
	return nil
}
