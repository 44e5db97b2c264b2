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
	"net/http/httptest"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// FuzzFrameDiff feeds the same stream of client bytes, cut into the same
// reads, to frameReader and to gorilla/websocket's server-side reader, and
// compares the messages and control frames each delivers, and whether,
// where and with which close code each fails. The seeds are the byte
// streams of TestAutobahn's cases, as they are and with the mask key 0.
//
// They must agree except where gorilla/websocket departs from RFC 6455 (see
// the notes of the Autobahn table): it does not check that text is UTF-8,
// reads a close frame of 1 byte as one without a code, answers a close
// reason that is not UTF-8 with 1002 where frameReader sends 1007, refuses
// close code 1014, and fails a negative 64-bit length, without a close
// frame, as soon as it has read it.
func FuzzFrameDiff(f *testing.F) {
	for _, c := range autobahnCases() {
		var in []byte
		for _, s := range c.steps {
			for _, w := range s.writes {
				in = append(in, w...)
			}
		}
		if len(in) <= 4<<10 {
			f.Add(in, uint8(0), uint8(0))
			f.Add(zeroKey(in), uint8(0), uint8(0))
		}
	}
	f.Fuzz(func(t *testing.T, in []byte, size, directMin uint8) {
		const limit = 1 << 10
		sizes := []int{int(size)%13 + 1, int(size)%251 + 1}
		evs, err := parseChunks(limit, in, sizes, int(directMin))
		lib := gorillaOutcome(t, in, sizes, limit)
		if err == nil && errors.Is(lib.err, websocket.ErrReadLimit) && lib.code == 0 {
			// gorilla/websocket fails a negative length before reading
			// the mask key after it, frameReader once the header is whole:
			// give it a key.
			evs, err = parseChunks(limit, append(in[:len(in):len(in)], 0, 0, 0, 0), sizes, int(directMin))
		}
		ours := ourOutcome(t, evs, err)
		if msg := compareOutcomes(ours, lib); msg != "" {
			t.Fatalf("%s\nreads of %v\nframeReader:       %v\ngorilla/websocket: %v", msg, sizes, ours, lib)
		}
	})
}

// zeroKey returns in with the frames it holds whole given the mask key 0,
// so that the fuzzer's changes to their payloads are changes to what the
// readers deliver. What follows the first frame that is not whole, or not
// masked, is left as it is.
func zeroKey(in []byte) []byte {
	out := bytes.Clone(in)
	for p := out; len(p) >= 2 && p[1]&0x80 != 0; {
		n, hdr := uint64(p[1]&0x7f), 2
		switch {
		case n == 126 && len(p) >= 4:
			n, hdr = uint64(binary.BigEndian.Uint16(p[2:])), 4
		case n == 127 && len(p) >= 10:
			n, hdr = binary.BigEndian.Uint64(p[2:]), 10
		}
		if n > uint64(len(p)) || len(p) < hdr+4+int(n) {
			break
		}
		payload := p[hdr+4 : hdr+4+int(n)]
		maskCopy(payload, payload, [4]byte(p[hdr:hdr+4]), 0)
		clear(p[hdr : hdr+4])
		p = p[hdr+4+int(n):]
	}
	return out
}

// readOutcome is what a reader made of a stream: the messages and control
// frames it delivered up to the first close frame, then how it stopped.
type readOutcome struct {
	events []frameEvent
	// err is why reading failed; nil if the stream ended, perhaps inside
	// a frame, or with a close frame.
	err  error
	code int // the close code sent for err, 0 if none
	// partial is the data message cut by err or by the close frame
	// (gorilla/websocket only), and partialText whether it is text.
	partial     []byte
	partialText bool
}

func (o readOutcome) String() string {
	s := "[" + eventsString(o.events) + "]"
	if o.err != nil {
		s += fmt.Sprintf(" failed with %d (%v)", o.code, o.err)
	}
	if o.partial != nil {
		s += fmt.Sprintf(", cut message %.40q (text %v)", o.partial, o.partialText)
	}
	return s
}

// ourOutcome is frameReader's outcome from parseChunks' results.
func ourOutcome(t *testing.T, evs []frameEvent, err error) readOutcome {
	for i, ev := range evs {
		if ev.kind == frameClose {
			return readOutcome{events: evs[:i+1]} // what follows is not read
		}
	}
	o := readOutcome{events: evs, err: err}
	if err != nil {
		var fe *frameError
		if !errors.As(err, &fe) {
			t.Fatalf("frameReader: %v", err)
		}
		o.code = fe.code
	}
	return o
}

// gorillaOutcome reads in, cut into reads of sizes, with gorilla/websocket's
// server-side reader.
func gorillaOutcome(t *testing.T, in []byte, sizes []int, limit int) readOutcome {
	nc := &streamConn{in: in, sizes: sizes}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	var up websocket.Upgrader
	ws, err := up.Upgrade(&hijackRecorder{ResponseRecorder: httptest.NewRecorder(), nc: nc}, req, nil)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	nc.out.Reset() // the handshake's response
	ws.SetReadLimit(int64(limit))
	var o readOutcome
	ws.SetPingHandler(func(s string) error {
		o.events = append(o.events, frameEvent{kind: framePing, data: []byte(s)})
		return nil
	})
	ws.SetPongHandler(func(s string) error {
		o.events = append(o.events, frameEvent{kind: framePong, data: []byte(s)})
		return nil
	})
	ws.SetCloseHandler(func(int, string) error { return nil })
	for {
		mt, r, err := ws.NextReader()
		var data []byte
		if err == nil {
			data, err = io.ReadAll(r)
			if err != nil {
				o.partial, o.partialText = data, mt == websocket.TextMessage
			}
		}
		var ce *websocket.CloseError
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
			errors.As(err, &ce) && ce.Code == websocket.CloseAbnormalClosure: // how it reports the end
			return o
		case ce != nil:
			o.events = append(o.events, frameEvent{kind: frameClose, data: []byte(ce.Text), code: ce.Code})
			return o
		case err != nil:
			o.err, o.code = err, sentCloseCode(nc.out.Bytes())
			return o
		}
		kind := frameBinary
		if mt == websocket.TextMessage {
			kind = frameText
		}
		o.events = append(o.events, frameEvent{kind: kind, data: data})
	}
}

// sentCloseCode returns the code of the close frame gorilla/websocket wrote
// in out, the server's frames, or 0 if it wrote none.
func sentCloseCode(out []byte) int {
	for len(out) >= 2 {
		op, n := out[0]&0x0f, int(out[1]&0x7f) // control frames only
		if len(out) < 2+n {
			break
		}
		if op == opClose && n >= 2 {
			return int(binary.BigEndian.Uint16(out[2:]))
		}
		out = out[2+n:]
	}
	return 0
}

// compareOutcomes returns what sets the outcomes apart, or "" if they
// agree.
func compareOutcomes(ours, lib readOutcome) string {
	// Where gorilla/websocket parts from RFC 6455, make its outcome the
	// one the RFC asks for.
	libErr := ""
	if lib.err != nil {
		libErr = lib.err.Error()
	}
	last := func(o readOutcome) frameEvent {
		if len(o.events) == 0 {
			return frameEvent{}
		}
		return o.events[len(o.events)-1]
	}
	switch {
	case last(ours).kind == frameClose && last(ours).code == 1014 && libErr == "websocket: bad close code 1014":
		lib.events = append(lib.events, last(ours))
		lib.err, lib.code = nil, 0
	case errors.Is(ours.err, errBadClosePayload) && last(lib).kind == frameClose &&
		last(lib).code == websocket.CloseNoStatusReceived && len(last(lib).data) == 0:
		// a close frame of 1 byte
		lib.events = lib.events[:len(lib.events)-1]
		lib.err, lib.code = ours.err, ours.code
	case errors.Is(ours.err, errBadLength) && errors.Is(lib.err, websocket.ErrReadLimit) && lib.code == 0:
		lib.code = ours.code
	}

	n := len(ours.events)
	if len(lib.events) < n || eventsString(lib.events[:n]) != eventsString(ours.events) {
		return "the readers delivered different messages"
	}
	rest := lib.events[n:]
	if errors.Is(ours.err, errInvalidUTF8) {
		if invalidTextNext(rest, lib) ||
			len(rest) == 0 && libErr == "websocket: invalid utf8 payload in close frame" { // 1002, not 1007
			return ""
		}
		return "frameReader failed on valid UTF-8"
	}
	switch {
	case len(rest) > 0:
		return "gorilla/websocket delivered more"
	case (ours.err == nil) != (lib.err == nil):
		return "one reader failed, the other did not"
	case ours.code != lib.code:
		return "the readers failed with different codes"
	}
	return ""
}

// invalidTextNext reports whether the next data message gorilla/websocket
// read, of those in rest or else the one cut short, is invalid UTF-8 text:
// it goes on with a text frameReader failed.
func invalidTextNext(rest []frameEvent, lib readOutcome) bool {
	for _, ev := range rest {
		switch ev.kind {
		case frameText:
			return !utf8.Valid(ev.data)
		case frameBinary:
			return false
		}
	}
	return lib.partialText && !utf8Prefix(lib.partial)
}

// utf8Prefix reports whether b can start a valid UTF-8 text.
func utf8Prefix(b []byte) bool {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return utf8.Valid(b[:i])
			}
			break
		}
	}
	return utf8.Valid(b)
}

// streamConn is a net.Conn whose reads return in, in pieces of sizes (the
// last size repeats), and whose writes are kept in out.
type streamConn struct {
	in    []byte
	sizes []int
	reads int
	out   bytes.Buffer
}

func (c *streamConn) Read(p []byte) (int, error) {
	if len(c.in) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.sizes[min(c.reads, len(c.sizes)-1)])], c.in)
	c.in = c.in[n:]
	c.reads++
	return n, nil
}

func (c *streamConn) Write(p []byte) (int, error)      { return c.out.Write(p) }
func (c *streamConn) Close() error                     { return nil }
func (c *streamConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *streamConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *streamConn) SetDeadline(time.Time) error      { return nil }
func (c *streamConn) SetReadDeadline(time.Time) error  { return nil }
func (c *streamConn) SetWriteDeadline(time.Time) error { return nil }

// hijackRecorder hands nc to a WebSocket upgrade.
type hijackRecorder struct {
	*httptest.ResponseRecorder
	nc *streamConn
}

func (h *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return h.nc, bufio.NewReadWriter(bufio.NewReader(h.nc), bufio.NewWriter(h.nc)), nil
}
