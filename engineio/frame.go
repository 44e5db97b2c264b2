package engineio

import (
	"encoding/binary"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// WebSocket opcodes (RFC 6455, section 5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xa
)

const (
	maxFrameHeader  = 14  // 2 + 8 bytes of extended length + 4 of mask key
	maxControlFrame = 125 // largest control frame payload
)

// frameError is a client frame that breaks RFC 6455. The server answers it
// with a close frame carrying code.
type frameError struct {
	code int
	msg  string
}

func (e *frameError) Error() string { return "engineio: websocket: " + e.msg }

var (
	errReservedBits         = &frameError{websocket.CloseProtocolError, "reserved bits set"}
	errBadOpcode            = &frameError{websocket.CloseProtocolError, "unknown opcode"}
	errUnmasked             = &frameError{websocket.CloseProtocolError, "unmasked client frame"}
	errFragmentedControl    = &frameError{websocket.CloseProtocolError, "fragmented control frame"}
	errLongControl          = &frameError{websocket.CloseProtocolError, "control frame over 125 bytes"}
	errUnexpectedContinue   = &frameError{websocket.CloseProtocolError, "continuation frame outside a message"}
	errExpectedContinuation = &frameError{websocket.CloseProtocolError, "new message inside a fragmented one"}
	errBadLength            = &frameError{websocket.CloseProtocolError, "invalid payload length"}
	errBadClosePayload      = &frameError{websocket.CloseProtocolError, "invalid close frame"}
	errInvalidUTF8          = &frameError{websocket.CloseInvalidFramePayloadData, "invalid UTF-8 in text"}
	errMessageTooBig        = &frameError{websocket.CloseMessageTooBig, "message too big"}
)

// frameKind tells what frameReader.next found.
type frameKind uint8

const (
	frameNone   frameKind = iota // more bytes are needed
	frameText                    // a complete text message
	frameBinary                  // a complete binary message
	framePing
	framePong
	frameClose
)

// frameEvent is a complete message or control frame.
type frameEvent struct {
	kind frameKind
	// data is the message, the ping or pong payload, or the close reason.
	// It is the caller's to keep.
	data []byte
	code int // for frameClose: the status code, 1005 when there is none
}

// frameReader parses the frames a client sends over a WebSocket (RFC 6455,
// server side, no extensions) from chunks of bytes as they arrive. Between
// chunks it keeps only the state of the frame and message under way.
// Messages are reassembled from their fragments.
type frameReader struct {
	limit  int    // the largest message accepted, in bytes
	msg    []byte // the data message under way
	ctrl   []byte // the control frame under way
	remain int    // payload bytes of the current frame still to come
	valid  int    // bytes of a text message under way checked as UTF-8
	hdr    [maxFrameHeader]byte
	hdrN   uint8 // header bytes received
	op     uint8 // opcode of the current frame
	msgOp  uint8 // opText or opBinary while a message is under way, else 0
	keyPos uint8 // offset in the mask key of the next payload byte
	key    [4]byte
	fin    bool // the current frame ends its message
	inBody bool // the current frame's header is complete
}

// next parses p and returns how many bytes it used and the first complete
// message or control frame in them. It returns frameNone once all of p is
// used without completing one, and a *frameError for a protocol violation,
// after which the reader must not be used.
func (f *frameReader) next(p []byte) (int, frameEvent, error) {
	n := 0
	for {
		if !f.inBody {
			k, err := f.readHeader(p[n:])
			n += k
			if err != nil || !f.inBody {
				return n, frameEvent{}, err
			}
		}
		if k := min(f.remain, len(p)-n); k > 0 {
			f.payload(p[n : n+k])
			n += k
		}
		if err := f.checkText(); err != nil {
			return n, frameEvent{}, err
		}
		if f.remain > 0 {
			return n, frameEvent{}, nil
		}
		ev, err := f.endFrame()
		if err != nil || ev.kind != frameNone {
			return n, ev, err
		}
	}
}

// direct returns where the next payload bytes of the current data frame can
// be read without a copy, when at least atLeast of them are still to come;
// otherwise nil. After reading into it, call advance, then next(nil).
func (f *frameReader) direct(atLeast int) []byte {
	if !f.inBody || f.op >= opClose || f.remain < atLeast || f.remain == 0 {
		return nil
	}
	f.grow(1)
	m := len(f.msg)
	return f.msg[m:min(cap(f.msg), m+f.remain)]
}

// advance accounts for n payload bytes read into the slice direct returned.
func (f *frameReader) advance(n int) {
	m := len(f.msg)
	f.msg = f.msg[:m+n]
	f.keyPos = uint8(maskCopy(f.msg[m:], f.msg[m:], f.key, int(f.keyPos)))
	f.remain -= n
}

// readHeader takes header bytes from p, checks the header once it is
// complete and starts the frame's payload.
func (f *frameReader) readHeader(p []byte) (int, error) {
	n := 0
	for {
		need := 2
		if f.hdrN >= 2 {
			need = 2 + 4
			switch f.hdr[1] & 0x7f {
			case 126:
				need += 2
			case 127:
				need += 8
			}
		}
		if int(f.hdrN) == need {
			return n, f.startFrame(need)
		}
		if n == len(p) {
			return n, nil
		}
		k := copy(f.hdr[f.hdrN:need], p[n:])
		f.hdrN += uint8(k)
		n += k
		if f.hdrN == 2 {
			if err := f.checkStart(); err != nil {
				return n, err
			}
		}
	}
}

// checkStart checks the first two bytes of a frame.
func (f *frameReader) checkStart() error {
	b0, b1 := f.hdr[0], f.hdr[1]
	if b0&0x70 != 0 {
		return errReservedBits
	}
	if b1&0x80 == 0 {
		return errUnmasked
	}
	fin, op := b0&0x80 != 0, b0&0x0f
	switch op {
	case opClose, opPing, opPong:
		if !fin {
			return errFragmentedControl
		}
		if b1&0x7f > maxControlFrame {
			return errLongControl
		}
	case opContinuation:
		if f.msgOp == 0 {
			return errUnexpectedContinue
		}
	case opText, opBinary:
		if f.msgOp != 0 {
			return errExpectedContinuation
		}
	default:
		return errBadOpcode
	}
	return nil
}

// startFrame reads the length and mask key of a complete header of size
// bytes and gets ready for the payload.
func (f *frameReader) startFrame(size int) error {
	var length uint64
	switch n := f.hdr[1] & 0x7f; n {
	case 126:
		length = uint64(binary.BigEndian.Uint16(f.hdr[2:]))
	case 127:
		length = binary.BigEndian.Uint64(f.hdr[2:])
		if length>>63 != 0 {
			return errBadLength
		}
	default:
		length = uint64(n)
	}
	copy(f.key[:], f.hdr[size-4:size])
	f.op, f.fin = f.hdr[0]&0x0f, f.hdr[0]&0x80 != 0
	f.hdrN, f.keyPos = 0, 0
	if f.op < opClose {
		if length > uint64(f.limit-len(f.msg)) {
			return errMessageTooBig
		}
		if f.op != opContinuation {
			f.msgOp = f.op
		}
	} else if length > 0 {
		f.ctrl = make([]byte, 0, length)
	}
	f.remain = int(length)
	f.inBody = true
	return nil
}

// payload unmasks p, the next bytes of the current frame's payload, into
// the message or control frame under way.
func (f *frameReader) payload(p []byte) {
	var dst []byte
	if f.op >= opClose {
		m := len(f.ctrl)
		f.ctrl = f.ctrl[:m+len(p)]
		dst = f.ctrl[m:]
	} else {
		f.grow(len(p))
		m := len(f.msg)
		f.msg = f.msg[:m+len(p)]
		dst = f.msg[m:]
	}
	f.keyPos = uint8(maskCopy(dst, p, f.key, int(f.keyPos)))
	f.remain -= len(p)
}

// grow makes room in the message for n more bytes of the current frame,
// whose remaining payload is f.remain bytes. A frame that arrives whole is
// stored in a buffer of its size; one arriving in pieces gets a buffer
// that doubles as they come, so that memory follows what was received
// rather than what the header announced. So does a message arriving in
// fragments, up to the limit: copying it whole for each fragment would
// cost the square of its size.
func (f *frameReader) grow(n int) {
	m := len(f.msg)
	if cap(f.msg)-m >= n {
		return
	}
	c := m + n
	if n < f.remain {
		c = min(m+f.remain, max(c, 2*cap(f.msg), m+4096))
	}
	if m > 0 {
		c = max(c, min(2*cap(f.msg), f.limit))
	}
	msg := make([]byte, m, c)
	copy(msg, f.msg)
	f.msg = msg
}

// endFrame completes the current frame.
func (f *frameReader) endFrame() (frameEvent, error) {
	f.inBody = false
	if f.op >= opClose {
		data := f.ctrl
		f.ctrl = nil
		switch f.op {
		case opPing:
			return frameEvent{kind: framePing, data: data}, nil
		case opPong:
			return frameEvent{kind: framePong, data: data}, nil
		}
		return closeEvent(data)
	}
	if !f.fin {
		return frameEvent{}, nil
	}
	ev := frameEvent{kind: frameBinary, data: f.msg}
	if f.msgOp == opText {
		ev.kind = frameText
		if f.valid != len(f.msg) {
			return frameEvent{}, errInvalidUTF8 // ends inside a code point
		}
	}
	if ev.data == nil {
		ev.data = []byte{}
	}
	f.msg, f.msgOp, f.valid = nil, 0, 0
	return ev, nil
}

// checkText checks the text message under way as far as it has come, so
// that invalid UTF-8 fails the connection once it arrives rather than when
// the message ends. A code point cut by the end of what has come is checked
// once the rest of it arrives.
func (f *frameReader) checkText() error {
	if f.msgOp != opText || f.valid == len(f.msg) {
		return nil
	}
	end := len(f.msg)
	for i := end - 1; i >= max(f.valid, end-utf8.UTFMax+1); i-- {
		if utf8.RuneStart(f.msg[i]) {
			if !utf8.FullRune(f.msg[i:end]) {
				end = i
			}
			break
		}
	}
	if !utf8.Valid(f.msg[f.valid:end]) {
		return errInvalidUTF8
	}
	f.valid = end
	return nil
}

// closeEvent reads a close frame's payload.
func closeEvent(data []byte) (frameEvent, error) {
	switch {
	case len(data) == 0:
		return frameEvent{kind: frameClose, data: []byte{}, code: websocket.CloseNoStatusReceived}, nil
	case len(data) == 1:
		return frameEvent{}, errBadClosePayload
	}
	code := int(binary.BigEndian.Uint16(data))
	if !validCloseCode(code) {
		return frameEvent{}, errBadClosePayload
	}
	if !utf8.Valid(data[2:]) {
		return frameEvent{}, errInvalidUTF8
	}
	return frameEvent{kind: frameClose, data: data[2:], code: code}, nil
}

// validCloseCode reports whether a peer may send code in a close frame.
func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	}
	return code >= 3000 && code <= 4999
}

// maskCopy writes src masked with key, starting at offset pos of the key,
// to dst (which may be src) and returns the offset that follows.
func maskCopy(dst, src []byte, key [4]byte, pos int) int {
	k := [4]byte{key[pos&3], key[(pos+1)&3], key[(pos+2)&3], key[(pos+3)&3]}
	k32 := uint64(binary.LittleEndian.Uint32(k[:]))
	k64 := k32 | k32<<32
	i := 0
	for ; i+8 <= len(src); i += 8 {
		binary.LittleEndian.PutUint64(dst[i:], binary.LittleEndian.Uint64(src[i:])^k64)
	}
	for ; i < len(src); i++ {
		dst[i] = src[i] ^ k[i&3]
	}
	return (pos + len(src)) & 3
}
