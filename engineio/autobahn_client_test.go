package engineio

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"testing"
	"time"
)

// The client side of TestAutobahn: a WebSocket client that writes the
// bytes of a case as they are and reports every frame the server sends.

// abStep is one step of a case: a write of raw bytes, or the replies the
// server must send next.
type abStep struct {
	writes [][]byte  // written one after the other
	want   []abReply // read in order (a step writes or reads, not both)
}

// abKind tells what the server sent.
type abKind uint8

const (
	abText   abKind = iota + 1 // a complete text message
	abBinary                   // a complete binary message
	abPing
	abPong
	abClose  // a close frame; code is 1005 for an empty one
	abEOF    // the server closed the TCP connection
	abBroken // a read error other than the end of the connection, or a frame no server may send
)

// abReply is what the server sent, or is expected to send.
type abReply struct {
	kind     abKind
	data     string
	code     int
	optional bool // may be missing (expected replies only)
}

func (r abReply) String() string {
	name := map[abKind]string{abText: "text", abBinary: "binary", abPing: "ping", abPong: "pong",
		abClose: "close", abEOF: "TCP closed", abBroken: "broken"}[r.kind]
	s := name
	switch r.kind {
	case abText, abBinary, abPing, abPong:
		if len(r.data) > 40 {
			s += fmt.Sprintf(" %q… (%d bytes)", r.data[:40], len(r.data))
		} else {
			s += fmt.Sprintf(" %q", r.data)
		}
	case abClose:
		s += fmt.Sprintf(" %d", r.code)
	case abBroken:
		s += ": " + r.data
	}
	if r.optional {
		s = "maybe " + s
	}
	return s
}

func (r abReply) matches(got abReply) bool {
	return r.kind == got.kind && r.data == got.data && r.code == got.code
}

// caseTimeout bounds a whole case: every reply is read before it.
const caseTimeout = 10 * time.Second

// rawClient is a WebSocket client of the test server that writes raw bytes
// and reads the server's frames on a goroutine of its own, so that the
// server never waits for the client to read.
type rawClient struct {
	nc       net.Conn
	replies  chan abReply
	stop     chan struct{}
	exited   chan struct{}
	writeErr error // the first failed write; later writes are skipped
	closed   bool  // the server closed the connection, as expected
}

// dialRaw opens a WebSocket session on the Engine.IO server at base (the
// server's http:// URL and path) and reads its open packet. The request
// offers no extension.
func dialRaw(t *testing.T, base string) *rawClient {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.SetDeadline(time.Now().Add(caseTimeout))
	req := "GET " + u.Path + "?EIO=4&transport=websocket HTTP/1.1\r\n" +
		"Host: " + u.Host + "\r\n" +
		"Upgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(nc, req); err != nil {
		nc.Close()
		t.Fatal(err)
	}
	br := bufio.NewReaderSize(nc, 64<<10)
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
		nc.Close()
		t.Fatalf("upgrade: %v %v", res, err)
	}
	c := &rawClient{nc: nc, replies: make(chan abReply, 16), stop: make(chan struct{}), exited: make(chan struct{})}
	go c.readLoop(br)
	t.Cleanup(func() {
		close(c.stop)
		nc.Close()
		<-c.exited
	})
	if r := <-c.replies; r.kind != abText || len(r.data) < 2 || r.data[:2] != "0{" {
		t.Fatalf("got %v, want the open packet", r)
	}
	return c
}

// readLoop reports the server's frames, reassembling messages, until the
// connection ends.
func (c *rawClient) readLoop(br *bufio.Reader) {
	defer close(c.exited)
	report := func(r abReply) bool {
		select {
		case c.replies <- r:
			return true
		case <-c.stop:
			return false
		}
	}
	var msg []byte
	var msgOp byte // of the message under way, 0 if none
	for {
		op, fin, payload, err := readServerFrame(br)
		if err != nil {
			r := abReply{kind: abBroken, data: err.Error()}
			if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
				r = abReply{kind: abEOF}
			}
			report(r)
			return
		}
		var r abReply
		switch op {
		case opText, opBinary, opContinuation:
			if (op == opContinuation) != (msgOp != 0) {
				report(abReply{kind: abBroken, data: fmt.Sprintf("data frame with opcode %d out of place", op)})
				return
			}
			if op != opContinuation {
				msgOp = op
			}
			msg = append(msg, payload...)
			if !fin {
				continue
			}
			r = abReply{kind: abBinary, data: string(msg)}
			if msgOp == opText {
				r.kind = abText
			}
			msg, msgOp = nil, 0
		case opPing:
			r = abReply{kind: abPing, data: string(payload)}
		case opPong:
			r = abReply{kind: abPong, data: string(payload)}
		case opClose:
			r = abReply{kind: abClose, code: 1005}
			if len(payload) >= 2 {
				r.code = int(binary.BigEndian.Uint16(payload))
			}
		default:
			report(abReply{kind: abBroken, data: fmt.Sprintf("opcode %d", op)})
			return
		}
		if !report(r) {
			return
		}
	}
}

// readServerFrame reads a frame as a server must send it: no reserved
// bits, no mask, control frames whole and short.
func readServerFrame(br *bufio.Reader) (op byte, fin bool, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return 0, false, nil, err
	}
	op, fin = h[0]&0x0f, h[0]&0x80 != 0
	if h[0]&0x70 != 0 || h[1]&0x80 != 0 {
		return 0, false, nil, fmt.Errorf("server frame % x with reserved or mask bits", h)
	}
	n := uint64(h[1] & 0x7f)
	var ext []byte
	switch n {
	case 126:
		ext = make([]byte, 2)
	case 127:
		ext = make([]byte, 8)
	}
	if ext != nil {
		if _, err := io.ReadFull(br, ext); err != nil {
			return 0, false, nil, fmt.Errorf("frame header: %w", noEOF(err))
		}
		n = uint64(binary.BigEndian.Uint16(ext))
		if len(ext) == 8 {
			n = binary.BigEndian.Uint64(ext)
		}
	}
	if op >= opClose && (n > maxControlFrame || !fin) {
		return 0, false, nil, fmt.Errorf("control frame of %d bytes, fin %v", n, fin)
	}
	if n > 64<<20 {
		return 0, false, nil, fmt.Errorf("frame of %d bytes", n)
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(br, payload); err != nil {
		return 0, false, nil, fmt.Errorf("frame payload: %w", noEOF(err))
	}
	return op, fin, payload, nil
}

// noEOF turns the end of the stream inside a frame into an error that is
// not taken for the server closing the connection.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// write writes each of ws in turn. Once one fails (the server closed the
// connection) the rest are skipped: what the server sent is still read.
func (c *rawClient) write(ws [][]byte) {
	for _, b := range ws {
		if c.writeErr != nil {
			return
		}
		_, c.writeErr = c.nc.Write(b)
	}
}

// expect reads the server's replies and checks them against want in order,
// skipping the optional ones that did not come.
func (c *rawClient) expect(t *testing.T, want []abReply) {
	t.Helper()
	var got []abReply
	for i := 0; i < len(want); {
		r, ok := <-c.replies
		if !ok {
			t.Fatalf("after %v, nothing more; want %v (write error: %v)", got, want[i:], c.writeErr)
		}
		got = append(got, r)
		for i < len(want) && want[i].optional && !want[i].matches(r) {
			t.Logf("%v did not come", want[i])
			i++
		}
		if i == len(want) || !want[i].matches(r) {
			t.Fatalf("got %v, want %v (write error: %v)", got, want, c.writeErr)
		}
		if r.kind == abEOF {
			c.closed = true
		}
		i++
	}
}

// run plays steps. A case the server has not closed ends with the client's
// closing handshake, which also checks that the server sent nothing else.
func (c *rawClient) run(t *testing.T, steps []abStep) {
	t.Helper()
	for _, s := range steps {
		if c.closed && len(s.want) > 0 {
			t.Fatal("a step expects replies after the connection closed")
		}
		c.write(s.writes)
		c.expect(t, s.want)
	}
	if !c.closed {
		c.write([][]byte{cClose(1000, "")})
		c.expect(t, closes(1000))
	}
}

// Steps.

// sends writes the frames in one write.
func sends(frames ...[]byte) abStep { return abStep{writes: [][]byte{bytes.Join(frames, nil)}} }

// sendsEach writes each frame on its own (Autobahn's sync = True).
func sendsEach(frames ...[]byte) abStep { return abStep{writes: frames} }

// sendsChopped writes the frames in writes of n bytes (Autobahn's chopsize).
func sendsChopped(n int, frames ...[]byte) abStep {
	b := bytes.Join(frames, nil)
	var s abStep
	for len(b) > 0 {
		k := min(n, len(b))
		s.writes = append(s.writes, b[:k])
		b = b[k:]
	}
	return s
}

// replies reads what the server must send next.
func replies(rs ...[]abReply) abStep {
	var s abStep
	for _, r := range rs {
		s.want = append(s.want, r...)
	}
	return s
}

func script(s ...abStep) []abStep { return s }

// Frames a client sends, masked. The payload of a frame with the text
// opcode, which starts a text message, gets the Engine.IO message type '4'
// in front of it: the server's sessions echo Engine.IO messages.

// rsv is the reserved bits n (1 to 7) as Autobahn numbers them: 4 is RSV1,
// 2 is RSV2, 1 is RSV3.
func rsv(n byte) byte { return n << 4 }

// cFrame is a frame with first byte b0 (FIN, RSV and opcode) and payload.
func cFrame(b0 byte, payload string) []byte {
	if b0&0x0f == opText {
		payload = "4" + payload
	}
	return clientFrame(b0, []byte(payload), false)
}

func cText(s string) []byte   { return cFrame(finBit|opText, s) }
func cBinary(s string) []byte { return cFrame(finBit|opBinary, s) }
func cPing(s string) []byte   { return cFrame(finBit|opPing, s) }
func cPong(s string) []byte   { return cFrame(finBit|opPong, s) }

// cClose is a close frame with code and reason.
func cClose(code int, reason string) []byte {
	return cFrame(finBit|opClose, string(binary.BigEndian.AppendUint16(nil, uint16(code)))+reason)
}

// cFragments is a message with opcode op in frames of at most size bytes of
// payload: the whole message, its type byte included for text, is cut.
func cFragments(op byte, msg string, size int) []byte {
	if op == opText {
		msg = "4" + msg
	}
	var b []byte
	for first := true; first || len(msg) > 0; first = false {
		k := min(size, len(msg))
		b0 := byte(opContinuation)
		if first {
			b0 = op
		}
		if k == len(msg) {
			b0 |= finBit
		}
		b = append(b, clientFrame(b0, []byte(msg[:k]), false)...)
		msg = msg[k:]
	}
	return b
}

// Replies.

func gotText(s string) []abReply   { return []abReply{{kind: abText, data: "4" + s}} }
func gotBinary(s string) []abReply { return []abReply{{kind: abBinary, data: s}} }
func gotPong(s string) []abReply   { return []abReply{{kind: abPong, data: s}} }

// closes is the server failing or closing the connection: a close frame
// with code (1005: an empty one), then the end of the TCP connection.
func closes(code int) []abReply { return append(gotClose(code), tcpClosed()...) }

func gotClose(code int) []abReply { return []abReply{{kind: abClose, code: code}} }
func tcpClosed() []abReply        { return []abReply{{kind: abEOF}} }

// maybe marks replies that may be missing: a message echoed just before
// the server fails the connection may be dropped from its queue, which
// Autobahn grades NON-STRICT.
func maybe(rs []abReply) []abReply {
	out := make([]abReply, len(rs))
	for i, r := range rs {
		r.optional = true
		out[i] = r
	}
	return out
}
