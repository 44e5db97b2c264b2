package engineio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

const (
	finBit  = 0x80
	maskBit = 0x80
)

var testKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// clientFrame encodes a frame as a client sends it: b0 holds the FIN and
// reserved bits and the opcode; the payload is masked unless unmasked.
func clientFrame(b0 byte, payload []byte, unmasked bool) []byte {
	b := []byte{b0}
	mask := byte(maskBit)
	if unmasked {
		mask = 0
	}
	switch n := len(payload); {
	case n <= 125:
		b = append(b, mask|byte(n))
	case n <= 0xffff:
		b = append(b, mask|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, mask|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if unmasked {
		return append(b, payload...)
	}
	b = append(b, testKey[:]...)
	m := len(b)
	b = append(b, payload...)
	maskCopy(b[m:], b[m:], testKey, 0)
	return b
}

func frames(fs ...[]byte) []byte { return bytes.Join(fs, nil) }

// parseChunks parses in as a server reading it would: in reads of at most
// the sizes given in turn (the last repeats), reading a large payload
// directly into the message when direct reads are on.
func parseChunks(limit int, in []byte, sizes []int, directMin int) ([]frameEvent, error) {
	f := &frameReader{limit: limit}
	var evs []frameEvent
	handle := func(p []byte) error {
		for {
			n, ev, err := f.next(p)
			p = p[n:]
			if err != nil {
				return err
			}
			if ev.kind == frameNone {
				if len(p) != 0 {
					return fmt.Errorf("next left %d bytes unused", len(p))
				}
				return nil
			}
			evs = append(evs, ev)
		}
	}
	for i := 0; len(in) > 0; i++ {
		size := sizes[min(i, len(sizes)-1)]
		if directMin > 0 {
			if d := f.direct(directMin); d != nil {
				k := copy(d[:min(len(d), size)], in)
				in = in[k:]
				f.advance(k)
				if err := handle(nil); err != nil {
					return evs, err
				}
				continue
			}
		}
		k := min(size, len(in))
		if err := handle(in[:k]); err != nil {
			return evs, err
		}
		in = in[k:]
	}
	return evs, nil
}

func parseAll(limit int, in []byte) ([]frameEvent, error) {
	return parseChunks(limit, in, []int{len(in) + 1}, 0)
}

func eventsString(evs []frameEvent) string {
	var s []string
	for _, ev := range evs {
		s = append(s, fmt.Sprintf("%d:%q:%d", ev.kind, ev.data, ev.code))
	}
	return strings.Join(s, " ")
}

func TestFrameReaderMessages(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789"), 7000) // a 64-bit length
	mid := bytes.Repeat([]byte("x"), 300)           // a 16-bit length
	in := frames(
		clientFrame(finBit|opText, []byte("4hello"), false),
		clientFrame(finBit|opBinary, []byte{1, 2, 3}, false),
		clientFrame(finBit|opText, nil, false),
		clientFrame(finBit|opBinary, mid, false),
		clientFrame(finBit|opBinary, big, false),
		// a fragmented text message with control frames between fragments
		clientFrame(opText, []byte("4frag"), false),
		clientFrame(finBit|opPing, []byte("are you there"), false),
		clientFrame(opContinuation, []byte("men"), false),
		clientFrame(finBit|opPong, nil, false),
		clientFrame(finBit|opContinuation, []byte("ted \xc3\xa9"), false),
		clientFrame(finBit|opClose, append([]byte{0x03, 0xe8}, "bye"...), false),
	)
	want := []frameEvent{
		{kind: frameText, data: []byte("4hello")},
		{kind: frameBinary, data: []byte{1, 2, 3}},
		{kind: frameText, data: []byte{}},
		{kind: frameBinary, data: mid},
		{kind: frameBinary, data: big},
		{kind: framePing, data: []byte("are you there")},
		{kind: framePong},
		{kind: frameText, data: []byte("4fragmented \xc3\xa9")},
		{kind: frameClose, data: []byte("bye"), code: 1000},
	}
	cases := []struct {
		name      string
		sizes     []int
		directMin int
	}{
		{"whole", []int{len(in)}, 0},
		{"byte by byte", []int{1}, 0},
		{"odd reads", []int{3, 7, 2, 4096, 5}, 0},
		{"direct reads", []int{8192}, 1024},
		{"small direct reads", []int{10, 1000, 3}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseChunks(1e6, in, tc.sizes, tc.directMin)
			if err != nil {
				t.Fatal(err)
			}
			if eventsString(got) != eventsString(want) {
				t.Errorf("events\n got %.300s\nwant %.300s", eventsString(got), eventsString(want))
			}
		})
	}
}

func TestFrameReaderEmptyClose(t *testing.T) {
	got, err := parseAll(100, clientFrame(finBit|opClose, nil, false))
	if err != nil || len(got) != 1 || got[0].kind != frameClose || got[0].code != websocket.CloseNoStatusReceived {
		t.Fatalf("got %s, %v", eventsString(got), err)
	}
}

func TestFrameReaderErrors(t *testing.T) {
	tests := []struct {
		name  string
		limit int
		in    []byte
		want  *frameError
	}{
		{"unmasked", 100, clientFrame(finBit|opText, []byte("4x"), true), errUnmasked},
		{"rsv1", 100, clientFrame(finBit|0x40|opText, []byte("4x"), false), errReservedBits},
		{"rsv2", 100, clientFrame(finBit|0x20|opBinary, []byte("4x"), false), errReservedBits},
		{"rsv3", 100, clientFrame(finBit|0x10|opPing, nil, false), errReservedBits},
		{"opcode 3", 100, clientFrame(finBit|0x3, nil, false), errBadOpcode},
		{"opcode 11", 100, clientFrame(finBit|0xb, nil, false), errBadOpcode},
		{"long ping", 1000, clientFrame(finBit|opPing, make([]byte, 126), false), errLongControl},
		{"long close", 1000, clientFrame(finBit|opClose, make([]byte, 200), false), errLongControl},
		{"fragmented ping", 100, clientFrame(opPing, nil, false), errFragmentedControl},
		{"lone continuation", 100, clientFrame(finBit|opContinuation, []byte("x"), false), errUnexpectedContinue},
		{"text inside a fragmented message", 100, frames(
			clientFrame(opText, []byte("4a"), false),
			clientFrame(finBit|opText, []byte("4b"), false)), errExpectedContinuation},
		{"64-bit length with the top bit", 100, append([]byte{finBit | opBinary, maskBit | 127, 0x80, 0, 0, 0, 0, 0, 0, 0}, testKey[:]...), errBadLength},
		{"over the limit", 10, clientFrame(finBit|opText, []byte("4abcdefghij"), false), errMessageTooBig},
		{"over the limit in fragments", 10, frames(
			clientFrame(opBinary, []byte("abcdef"), false),
			clientFrame(finBit|opContinuation, []byte("ghijk"), false)), errMessageTooBig},
		{"huge length", 1e6, append([]byte{finBit | opBinary, maskBit | 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, testKey[:]...), errMessageTooBig},
		{"invalid UTF-8", 100, clientFrame(finBit|opText, []byte("4\xff"), false), errInvalidUTF8},
		{"invalid UTF-8 in fragments", 100, frames(
			clientFrame(opText, []byte("4\xc3"), false),
			clientFrame(finBit|opContinuation, []byte("x"), false)), errInvalidUTF8},
		{"one-byte close", 100, clientFrame(finBit|opClose, []byte{3}, false), errBadClosePayload},
		{"close code 1005", 100, clientFrame(finBit|opClose, []byte{0x03, 0xed}, false), errBadClosePayload},
		{"close code 999", 100, clientFrame(finBit|opClose, []byte{0x03, 0xe7}, false), errBadClosePayload},
		{"close code 2000", 100, clientFrame(finBit|opClose, []byte{0x07, 0xd0}, false), errBadClosePayload},
		{"close reason not UTF-8", 100, clientFrame(finBit|opClose, []byte{0x03, 0xe8, 0xff}, false), errInvalidUTF8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, sizes := range [][]int{{len(tt.in)}, {1}} {
				_, err := parseChunks(tt.limit, tt.in, sizes, 0)
				var fe *frameError
				if !errors.As(err, &fe) || fe != tt.want {
					t.Fatalf("reads of %d: error %v, want %v", sizes[0], err, tt.want)
				}
			}
		})
	}
	if errMessageTooBig.code != 1009 || errInvalidUTF8.code != 1007 || errUnmasked.code != 1002 {
		t.Error("close codes")
	}
}

func TestFrameReaderLimit(t *testing.T) {
	// a message of exactly the limit passes, in one frame or in fragments
	in := frames(
		clientFrame(finBit|opText, []byte("4abcdefghi"), false),
		clientFrame(opBinary, []byte("abcde"), false),
		clientFrame(finBit|opContinuation, []byte("fghij"), false),
	)
	got, err := parseAll(10, in)
	if err != nil || len(got) != 2 || len(got[1].data) != 10 {
		t.Fatalf("got %s, %v", eventsString(got), err)
	}
}

// TestFrameReaderMemory checks that an announced length is not allocated
// before its bytes arrive.
func TestFrameReaderMemory(t *testing.T) {
	f := &frameReader{limit: 1e6}
	in := clientFrame(finBit|opBinary, make([]byte, 900000), false)
	if _, _, err := f.next(in[:100]); err != nil {
		t.Fatal(err)
	}
	if c := cap(f.msg); c > 8192 {
		t.Errorf("%d bytes held for 100 received", c)
	}
	d := f.direct(1)
	if len(d) == 0 || len(d) > 16384 {
		t.Errorf("direct read of %d bytes", len(d))
	}
	// the idle reader holds nothing
	f = &frameReader{limit: 1e6}
	in = clientFrame(finBit|opText, []byte("4x"), false)
	if _, ev, err := f.next(in); err != nil || ev.kind != frameText {
		t.Fatal(ev, err)
	}
	if f.msg != nil || f.ctrl != nil || f.hdrN != 0 {
		t.Errorf("state kept after a message: %+v", f)
	}
}

func TestMaskCopy(t *testing.T) {
	src := []byte("the quick brown fox jumps over the lazy dog, 0123456789")
	for pos := 0; pos < 4; pos++ {
		for n := 0; n <= len(src); n++ {
			dst := make([]byte, n)
			next := maskCopy(dst, src[:n], testKey, pos)
			for i := range dst {
				if dst[i] != src[i]^testKey[(pos+i)&3] {
					t.Fatalf("pos %d len %d: byte %d", pos, n, i)
				}
			}
			if next != (pos+n)&3 {
				t.Fatalf("pos %d len %d: next %d", pos, n, next)
			}
		}
	}
}

func FuzzFrameReader(f *testing.F) {
	f.Add(frames(
		clientFrame(finBit|opText, []byte("4hello"), false),
		clientFrame(opBinary, []byte{1, 2}, false),
		clientFrame(finBit|opPing, []byte("p"), false),
		clientFrame(finBit|opContinuation, []byte{3}, false),
		clientFrame(finBit|opClose, []byte{3, 0xe8, 'o', 'k'}, false),
	), uint8(3), uint8(1))
	f.Add(clientFrame(finBit|opBinary, make([]byte, 300), false), uint8(7), uint8(20))
	f.Add(clientFrame(finBit|opText, []byte("4\xff"), false), uint8(1), uint8(0))
	f.Add([]byte{finBit | opBinary, maskBit | 127, 0, 0, 0, 0, 0, 0, 1, 0, 1, 2, 3, 4, 5}, uint8(2), uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, size, directMin uint8) {
		const limit = 512
		whole, werr := parseAll(limit, in)
		pieces, perr := parseChunks(limit, in, []int{int(size)%17 + 1, int(size)%5 + 1}, int(directMin))
		if eventsString(whole) != eventsString(pieces) {
			t.Fatalf("events differ with the reads\nwhole  %s\npieces %s", eventsString(whole), eventsString(pieces))
		}
		if (werr == nil) != (perr == nil) || (werr != nil && werr.Error() != perr.Error()) {
			t.Fatalf("errors differ: %v, %v", werr, perr)
		}
		var fe *frameError
		if werr != nil && !errors.As(werr, &fe) {
			t.Fatalf("error of type %T", werr)
		}
		for _, ev := range whole {
			if len(ev.data) > limit {
				t.Fatalf("message of %d bytes", len(ev.data))
			}
			if ev.kind == frameText && !utf8.Valid(ev.data) {
				t.Fatalf("invalid UTF-8 text %q", ev.data)
			}
		}
	})
}
