package engineio

import (
	"errors"
	"testing"
)

// Frame-level checks of what TestAutobahn's cases found.

const kosme = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5" // κόσμε, Autobahn's UTF-8 sample

// TestFrameReaderFailFast checks that invalid UTF-8 fails a text message
// once it arrives (Autobahn 6.4), while a code point cut between fragments
// or reads is checked once it is whole.
func TestFrameReaderFailFast(t *testing.T) {
	invalid := []struct {
		name string
		in   []byte // up to the invalid bytes: the rest of the message never comes
	}{
		{"invalid fragment", frames(
			clientFrame(opText, []byte(kosme), false),
			clientFrame(opContinuation, []byte("\xf4\x90\x80\x80"), false))},
		{"byte that makes a cut code point invalid", frames(
			clientFrame(opText, []byte(kosme+"\xf4"), false),
			clientFrame(opContinuation, []byte("\x90"), false))},
		{"invalid part of a frame", clientFrame(finBit|opText, []byte(kosme+"\xf4\x90\x80\x80edited"), false)[:6+len(kosme)+4]},
		{"surrogate cut between fragments", frames(
			clientFrame(opText, []byte("4\xed"), false),
			clientFrame(opContinuation, []byte("\xa0"), false))},
	}
	reads := []struct {
		sizes     []int
		directMin int
	}{{[]int{1 << 20}, 0}, {[]int{1}, 0}, {[]int{3, 1}, 1}}
	for _, tt := range invalid {
		for _, r := range reads {
			evs, err := parseChunks(100, tt.in, r.sizes, r.directMin)
			if !errors.Is(err, errInvalidUTF8) || len(evs) != 0 {
				t.Errorf("%s, reads of %v: %s, %v; want %v", tt.name, r.sizes, eventsString(evs), err, errInvalidUTF8)
			}
		}
	}

	// Every code point of a valid text cut between two fragments.
	msg := "4" + kosme + "\xf0\x9f\x98\x80"
	for i := 0; i <= len(msg); i++ {
		in := frames(
			clientFrame(opText, []byte(msg[:i]), false),
			clientFrame(finBit|opContinuation, []byte(msg[i:]), false))
		for _, r := range reads {
			evs, err := parseChunks(100, in, r.sizes, r.directMin)
			if err != nil || len(evs) != 1 || string(evs[0].data) != msg {
				t.Errorf("cut at %d, reads of %v: %s, %v", i, r.sizes, eventsString(evs), err)
			}
		}
	}

	// A text ending inside a code point fails when it ends, not before.
	start := clientFrame(opText, []byte("4\xce"), false)
	if evs, err := parseAll(100, start); err != nil || len(evs) != 0 {
		t.Errorf("text cut inside a code point, not ended: %s, %v", eventsString(evs), err)
	}
	end := clientFrame(finBit|opContinuation, nil, false)
	if _, err := parseAll(100, frames(start, end)); !errors.Is(err, errInvalidUTF8) {
		t.Errorf("text ended inside a code point: %v, want %v", err, errInvalidUTF8)
	}
}

// TestFrameReaderManyFragments checks that a message in many small
// fragments (Autobahn 9.3, 9.4) is not copied whole for each: its buffer
// doubles as fragments come, up to the limit.
func TestFrameReaderManyFragments(t *testing.T) {
	const limit = 1 << 20
	f := &frameReader{limit: limit}
	fragment := clientFrame(opContinuation, make([]byte, 64), false)
	first := clientFrame(opBinary, make([]byte, 64), false)
	last := clientFrame(finBit|opContinuation, nil, false)
	buffers := 0
	for i := 0; i < limit/64; i++ {
		in := fragment
		if i == 0 {
			in = first
		}
		before := cap(f.msg)
		if n, ev, err := f.next(in); err != nil || n != len(in) || ev.kind != frameNone {
			t.Fatalf("fragment %d: %d bytes used, %v, %v", i, n, ev, err)
		}
		if cap(f.msg) != before {
			buffers++
		}
		if cap(f.msg) > limit {
			t.Fatalf("fragment %d: a buffer of %d bytes, over the limit", i, cap(f.msg))
		}
	}
	if _, ev, err := f.next(last); err != nil || ev.kind != frameBinary || len(ev.data) != limit {
		t.Fatalf("last fragment: %d bytes, %v", len(ev.data), err)
	}
	if buffers > 20 {
		t.Errorf("%d buffers for %d fragments", buffers, limit/64)
	}
}
