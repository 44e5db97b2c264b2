package engineio

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestAutobahn plays the server-side cases 1 to 7 and 9 of the Autobahn
// test suite's fuzzingclient against an Engine.IO session over WebSocket
// that echoes every message: first with the WebSocket read by the poller
// and parsed by frameReader, then read by gorilla/websocket (the path for
// TLS, permessage-deflate and systems without a poller). Both must behave
// as Autobahn expects, as RFC 6455 says; where gorilla/websocket does not,
// the case's lib says what it does instead and note says why.
//
// Each case is a script: raw bytes the client writes, and the frames the
// server must send back, in order, ending with its close frame and the end
// of the TCP connection when it fails or closes the connection. A case the
// server leaves open ends with the client's closing handshake. Text
// messages carry the Engine.IO message type '4' in front of Autobahn's
// payload (see cFrame); the echo carries it too.
//
// Autobahn waits (timeouts of a second) where a script reads replies
// instead: a pong shows that the server read what came before it. Sizes
// of section 9 are scaled to the server's MaxBufferSize of 1 MiB: larger
// messages are refused with 1009.
func TestAutobahn(t *testing.T) {
	cases := autobahnCases()
	seen := map[string]bool{}
	agree := 0
	for _, c := range cases {
		if seen[c.id] {
			t.Fatalf("case %s listed twice", c.id)
		}
		seen[c.id] = true
		if c.lib == nil {
			agree++
		}
	}
	t.Logf("%d cases, %d where the poller and gorilla/websocket behave alike", len(cases), agree)

	for _, path := range []struct {
		name       string
		goroutines bool
	}{{"poller", false}, {"library", true}} {
		t.Run(path.name, func(t *testing.T) {
			if !path.goroutines && runtime.GOOS != "linux" {
				t.Skip("no poller on " + runtime.GOOS)
			}
			goroutineReaders = path.goroutines
			ts := newTestServer(t, &Config{MaxBufferSize: abMaxBufferSize, PingInterval: time.Minute}, true)
			goroutineReaders = false
			for _, c := range cases {
				t.Run(c.id, func(t *testing.T) {
					cl := dialRaw(t, ts.url)
					conn := ts.nextConn(t)
					conn.mu.Lock()
					_, polled := conn.ws.(*pollWS)
					conn.mu.Unlock()
					if polled == path.goroutines {
						t.Fatalf("the WebSocket is a %T", conn.ws)
					}
					script := c.steps
					if path.goroutines && c.lib != nil {
						script = c.lib
						t.Log("gorilla/websocket differs: " + c.note)
					}
					t.Log(c.desc)
					cl.run(t, script)
				})
			}
		})
	}
}

// abMaxBufferSize is the test server's MaxBufferSize.
const abMaxBufferSize = 1 << 20

// abCase is one case of TestAutobahn.
type abCase struct {
	id    string // Autobahn's; "N.x.M" for cases of section N that Autobahn lacks
	desc  string
	steps []abStep // what the client sends and the server must answer
	lib   []abStep // what gorilla/websocket answers instead, when it differs
	note  string   // why it differs
}

// Why gorilla/websocket (v1.5.3) parts from what Autobahn expects.
const (
	noteUTF8 = "gorilla/websocket does not check that text messages are UTF-8: it delivers " +
		"them, and the session echoes them; RFC 6455 section 8.1 says to fail the connection (1007)"
	noteFailFast = "gorilla/websocket does not check UTF-8, so it does not fail the message " +
		"once its invalid fragment arrives: the connection stays open"
	noteOneByteClose = "gorilla/websocket reads a close frame of 1 byte as one without a code and " +
		"answers with an empty close frame; RFC 6455 section 5.5.1 allows no code of 1 byte"
	noteCloseReason = "gorilla/websocket answers a close reason that is not UTF-8 with 1002; " +
		"Autobahn accepts 1002 or 1007, frameReader sends 1007 as for text messages"
	noteNegativeLength = "gorilla/websocket's reader fails on a 64-bit length with the most " +
		"significant bit set (RFC 6455 section 5.2) without sending a close frame; the session " +
		"then closes the WebSocket with 1000"
	note1014 = "gorilla/websocket refuses close code 1014 (Bad Gateway, in the IANA registry " +
		"since 2016); Autobahn does not test it"
)

const hello = "Hello, world!"

// autobahnCases returns the cases, built anew: the large ones hold tens of
// megabytes.
func autobahnCases() []abCase {
	// A 64-bit length with the most significant bit set, and a mask key.
	negativeLength := []byte{finBit | opBinary, maskBit | 127, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}
	big256K := strings.Repeat("BAsd7&jh23", 256<<10/10+1)[:256<<10]
	return []abCase{
		// 1: framing, payload lengths around the 7-, 16- and 64-bit length forms
		{id: "1.1.1", desc: "text, empty (the frame holds the type byte alone)", steps: echoed(opText, 1, 0)},
		{id: "1.1.2", desc: "text frame of 125 bytes", steps: echoed(opText, 125, 0)},
		{id: "1.1.3", desc: "text frame of 126 bytes", steps: echoed(opText, 126, 0)},
		{id: "1.1.4", desc: "text frame of 127 bytes", steps: echoed(opText, 127, 0)},
		{id: "1.1.5", desc: "text frame of 128 bytes", steps: echoed(opText, 128, 0)},
		{id: "1.1.6", desc: "text frame of 65535 bytes", steps: echoed(opText, 65535, 0)},
		{id: "1.1.7", desc: "text frame of 65536 bytes", steps: echoed(opText, 65536, 0)},
		{id: "1.1.8", desc: "text frame of 65536 bytes in writes of 997", steps: echoed(opText, 65536, 997)},
		{id: "1.2.1", desc: "binary, empty", steps: echoed(opBinary, 0, 0)},
		{id: "1.2.2", desc: "binary frame of 125 bytes", steps: echoed(opBinary, 125, 0)},
		{id: "1.2.3", desc: "binary frame of 126 bytes", steps: echoed(opBinary, 126, 0)},
		{id: "1.2.4", desc: "binary frame of 127 bytes", steps: echoed(opBinary, 127, 0)},
		{id: "1.2.5", desc: "binary frame of 128 bytes", steps: echoed(opBinary, 128, 0)},
		{id: "1.2.6", desc: "binary frame of 65535 bytes", steps: echoed(opBinary, 65535, 0)},
		{id: "1.2.7", desc: "binary frame of 65536 bytes", steps: echoed(opBinary, 65536, 0)},
		{id: "1.2.8", desc: "binary frame of 65536 bytes in writes of 997", steps: echoed(opBinary, 65536, 997)},
		{id: "1.x.1", desc: "unmasked text frame (RFC 6455 section 5.1)", steps: script(
			sends(clientFrame(finBit|opText, []byte("4"+hello), true)), replies(closes(1002)))},
		{id: "1.x.2", desc: "64-bit length with the most significant bit set",
			steps: script(sends(negativeLength), replies(closes(1002))),
			lib:   script(sends(negativeLength), replies(closes(1000))), note: noteNegativeLength},

		// 2: pings and pongs
		{id: "2.1", desc: "ping, empty", steps: script(sends(cPing("")), replies(gotPong("")))},
		{id: "2.2", desc: "ping with a text payload", steps: script(sends(cPing(hello)), replies(gotPong(hello)))},
		{id: "2.3", desc: "ping with a binary payload", steps: script(
			sends(cPing("\x00\xff\xfe\xfd\xfc\xfb\x00\xff")), replies(gotPong("\x00\xff\xfe\xfd\xfc\xfb\x00\xff")))},
		{id: "2.4", desc: "ping of 125 bytes", steps: script(sends(cPing(fe(125))), replies(gotPong(fe(125))))},
		{id: "2.5", desc: "ping of 126 bytes", steps: script(sends(cPing(fe(126))), replies(closes(1002)))},
		{id: "2.6", desc: "ping of 125 bytes in writes of 1", steps: script(sendsChopped(1, cPing(fe(125))), replies(gotPong(fe(125))))},
		{id: "2.7", desc: "unsolicited pong, empty", steps: script(sends(cPong("")))},
		{id: "2.8", desc: "unsolicited pong with payload", steps: script(sends(cPong("unsolicited pong payload")))},
		{id: "2.9", desc: "unsolicited pong, then ping", steps: script(
			sends(cPong("unsolicited pong payload"), cPing("ping payload")), replies(gotPong("ping payload")))},
		{id: "2.10", desc: "10 pings", steps: tenPings(0)},
		{id: "2.11", desc: "10 pings in writes of 1", steps: tenPings(1)},

		// 3: reserved bits, with no extension negotiated
		{id: "3.1", desc: "text with RSV=1", steps: script(sends(cFrame(finBit|rsv(1)|opText, hello)), replies(closes(1002)))},
		{id: "3.2", desc: "text, text with RSV=2, ping", steps: script(
			sends(cText(hello), cFrame(finBit|rsv(2)|opText, hello), cPing("")), replies(maybe(gotText(hello)), closes(1002)))},
		{id: "3.3", desc: "text, text with RSV=3, ping, a write each", steps: script(
			sendsEach(cText(hello), cFrame(finBit|rsv(3)|opText, hello), cPing("")), replies(maybe(gotText(hello)), closes(1002)))},
		{id: "3.4", desc: "text, text with RSV=4, ping, in writes of 1", steps: script(
			sendsChopped(1, cText(hello), cFrame(finBit|rsv(4)|opText, hello), cPing("")), replies(maybe(gotText(hello)), closes(1002)))},
		{id: "3.5", desc: "binary with RSV=5", steps: script(
			sends(cFrame(finBit|rsv(5)|opBinary, "\x00\xff\xfe\xfd\xfc\xfb\x00\xff")), replies(closes(1002)))},
		// Autobahn's 3.6 says "ping" but sends a binary frame.
		{id: "3.6", desc: "binary with RSV=6", steps: script(sends(cFrame(finBit|rsv(6)|opBinary, hello)), replies(closes(1002)))},
		{id: "3.7", desc: "close with RSV=7", steps: script(sends(cFrame(finBit|rsv(7)|opClose, "")), replies(closes(1002)))},
		{id: "3.x.1", desc: "ping with RSV=6", steps: script(sends(cFrame(finBit|rsv(6)|opPing, hello)), replies(closes(1002)))},

		// 4: reserved opcodes
		{id: "4.1.1", desc: "opcode 3", steps: script(sends(cFrame(finBit|3, "")), replies(closes(1002)))},
		{id: "4.1.2", desc: "opcode 4 with payload", steps: script(sends(cFrame(finBit|4, "reserved opcode payload")), replies(closes(1002)))},
		{id: "4.1.3", desc: "text, opcode 5, ping", steps: script(
			sends(cText(hello), cFrame(finBit|5, ""), cPing("")), replies(maybe(gotText(hello)), closes(1002)))},
		{id: "4.1.4", desc: "text, opcode 6 with payload, ping", steps: script(
			sends(cText(hello), cFrame(finBit|6, hello), cPing("")), replies(maybe(gotText(hello)), closes(1002)))},
		{id: "4.1.5", desc: "text, opcode 7 with payload, ping, in writes of 1", steps: script(
			sendsChopped(1, cText(hello), cFrame(finBit|7, hello), cPing("")), replies(maybe(gotText(hello)), closes(1002)))},
		{id: "4.2.1", desc: "opcode 11", steps: script(sends(cFrame(finBit|11, "")), replies(closes(1002)))},
		{id: "4.2.2", desc: "opcode 12 with payload", steps: script(sends(cFrame(finBit|12, "reserved opcode payload")), replies(closes(1002)))},
		{id: "4.2.3", desc: "text, opcode 13, ping", steps: script(
			sends(cText(hello), cFrame(finBit|13, ""), cPing("")), replies(maybe(gotText(hello)), closes(1002)))},
		{id: "4.2.4", desc: "text, opcode 14 with payload, ping", steps: script(
			sends(cText(hello), cFrame(finBit|14, hello), cPing("")), replies(maybe(gotText(hello)), closes(1002)))},
		{id: "4.2.5", desc: "text, opcode 15 with payload, ping, in writes of 1", steps: script(
			sendsChopped(1, cText(hello), cFrame(finBit|15, hello), cPing("")), replies(maybe(gotText(hello)), closes(1002)))},

		// 5: fragmentation
		{id: "5.1", desc: "ping in 2 fragments", steps: script(
			sends(cFrame(opPing, "fragment1"), cFrame(finBit|opContinuation, "fragment2")), replies(closes(1002)))},
		{id: "5.2", desc: "pong in 2 fragments", steps: script(
			sends(cFrame(opPong, "fragment1"), cFrame(finBit|opContinuation, "fragment2")), replies(closes(1002)))},
		{id: "5.3", desc: "text in 2 fragments", steps: script(
			sends(cFrame(opText, "fragment1"), cFrame(finBit|opContinuation, "fragment2")), replies(gotText("fragment1fragment2")))},
		{id: "5.4", desc: "text in 2 fragments, a write each", steps: script(
			sendsEach(cFrame(opText, "fragment1"), cFrame(finBit|opContinuation, "fragment2")), replies(gotText("fragment1fragment2")))},
		{id: "5.5", desc: "text in 2 fragments, in writes of 1", steps: script(
			sendsChopped(1, cFrame(opText, "fragment1"), cFrame(finBit|opContinuation, "fragment2")), replies(gotText("fragment1fragment2")))},
		{id: "5.6", desc: "text in 2 fragments, a ping between", steps: script(
			sends(cFrame(opText, "fragment1"), cPing("ping payload"), cFrame(finBit|opContinuation, "fragment2")),
			replies(gotPong("ping payload"), gotText("fragment1fragment2")))},
		{id: "5.7", desc: "text in 2 fragments, a ping between, a write each", steps: script(
			sendsEach(cFrame(opText, "fragment1"), cPing("ping payload"), cFrame(finBit|opContinuation, "fragment2")),
			replies(gotPong("ping payload"), gotText("fragment1fragment2")))},
		{id: "5.8", desc: "text in 2 fragments, a ping between, in writes of 1", steps: script(
			sendsChopped(1, cFrame(opText, "fragment1"), cPing("ping payload"), cFrame(finBit|opContinuation, "fragment2")),
			replies(gotPong("ping payload"), gotText("fragment1fragment2")))},
		{id: "5.9", desc: "final continuation with nothing to continue, then text", steps: script(
			sends(cFrame(finBit|opContinuation, "non-continuation payload"), cText(hello)), replies(closes(1002)))},
		{id: "5.10", desc: "as 5.9, a write each", steps: script(
			sendsEach(cFrame(finBit|opContinuation, "non-continuation payload"), cText(hello)), replies(closes(1002)))},
		{id: "5.11", desc: "as 5.9, in writes of 1", steps: script(
			sendsChopped(1, cFrame(finBit|opContinuation, "non-continuation payload"), cText(hello)), replies(closes(1002)))},
		{id: "5.12", desc: "continuation with nothing to continue, then text", steps: script(
			sends(cFrame(opContinuation, "non-continuation payload"), cText(hello)), replies(closes(1002)))},
		{id: "5.13", desc: "as 5.12, a write each", steps: script(
			sendsEach(cFrame(opContinuation, "non-continuation payload"), cText(hello)), replies(closes(1002)))},
		{id: "5.14", desc: "as 5.12, in writes of 1", steps: script(
			sendsChopped(1, cFrame(opContinuation, "non-continuation payload"), cText(hello)), replies(closes(1002)))},
		{id: "5.15", desc: "text in 2 fragments, continuation with nothing to continue, text", steps: script(
			sends(cFrame(opText, "fragment1"), cFrame(finBit|opContinuation, "fragment2"),
				cFrame(opContinuation, "fragment3"), cText("fragment4")),
			replies(maybe(gotText("fragment1fragment2")), closes(1002)))},
		{id: "5.16", desc: "twice: continuation with nothing to continue, text in 2 fragments", steps: script(
			sends(cFrame(opContinuation, "fragment1"), cFrame(opText, "fragment2"), cFrame(finBit|opContinuation, "fragment3"),
				cFrame(opContinuation, "fragment1"), cFrame(opText, "fragment2"), cFrame(finBit|opContinuation, "fragment3")),
			replies(closes(1002)))},
		{id: "5.17", desc: "twice: final continuation with nothing to continue, text in 2 fragments", steps: script(
			sends(cFrame(finBit|opContinuation, "fragment1"), cFrame(opText, "fragment2"), cFrame(finBit|opContinuation, "fragment3"),
				cFrame(finBit|opContinuation, "fragment1"), cFrame(opText, "fragment2"), cFrame(finBit|opContinuation, "fragment3")),
			replies(closes(1002)))},
		{id: "5.18", desc: "text in 2 fragments, both with the text opcode", steps: script(
			sends(cFrame(opText, "fragment1"), cText("fragment2")), replies(closes(1002)))},
		{id: "5.19", desc: "text in 5 fragments, 2 pings between, the first answered before the rest is sent", steps: fiveFragments(sends)},
		{id: "5.20", desc: "as 5.19, a write each", steps: fiveFragments(sendsEach)},

		// 6: UTF-8
		{id: "6.1.1", desc: "text, empty", steps: script(sends(cText("")), replies(gotText("")))},
		{id: "6.1.2", desc: "text in 3 empty fragments (the first holds the type byte)", steps: script(
			sends(cFrame(opText, ""), cFrame(opContinuation, ""), cFrame(finBit|opContinuation, "")), replies(gotText("")))},
		{id: "6.1.3", desc: "text in 3 fragments, the first and last empty", steps: script(
			sends(cFrame(opText, ""), cFrame(opContinuation, "middle frame payload"), cFrame(finBit|opContinuation, "")),
			replies(gotText("middle frame payload")))},
		{id: "6.2.1", desc: "valid UTF-8", steps: script(sends(cText("Hello-µ@ßöäüàá-UTF-8!!")), replies(gotText("Hello-µ@ßöäüàá-UTF-8!!")))},
		{id: "6.2.2", desc: "valid UTF-8 in 2 fragments cut between code points", steps: script(
			sends(cFrame(opText, "Hello-µ@ßöä"), cFrame(finBit|opContinuation, "üàá-UTF-8!!")), replies(gotText("Hello-µ@ßöäüàá-UTF-8!!")))},
		{id: "6.2.3", desc: "valid UTF-8 in fragments of 1 byte", steps: script(
			sends(cFragments(opText, "Hello-µ@ßöäüàá-UTF-8!!", 1)), replies(gotText("Hello-µ@ßöäüàá-UTF-8!!")))},
		{id: "6.2.4", desc: "valid UTF-8 (κόσμε) in fragments of 1 byte", steps: script(
			sends(cFragments(opText, kosme, 1)), replies(gotText(kosme)))},
		invalidText("6.3.1", kosme+"\xed\xa0\x80edited"),
		{id: "6.3.2", desc: "invalid UTF-8 (a surrogate) in fragments of 1 byte", steps: script(
			sends(cFragments(opText, kosme+"\xed\xa0\x80edited", 1)), replies(closes(1007))),
			lib:  script(sends(cFragments(opText, kosme+"\xed\xa0\x80edited", 1)), replies(gotText(kosme+"\xed\xa0\x80edited"))),
			note: noteUTF8},
		failFastFrames("6.4.1", kosme, "\xf4\x90\x80\x80", "edited"),
		failFastFrames("6.4.2", kosme+"\xf4", "\x90", "\x80\x80edited"),
		failFastChops("6.4.3", kosme, "\xf4\x90\x80\x80", "edited"),
		failFastChops("6.4.4", kosme+"\xf4", "\x90", "\x80\x80edited"),
		// 6.5: Some valid UTF-8 sequences
		validText("6.5.1", "hello$world"),
		validText("6.5.2", "hello\xc2\xa2world"),
		validText("6.5.3", "hello\xe2\x82\xacworld"),
		validText("6.5.4", "hello\xf0\xa4\xad\xa2world"),
		validText("6.5.5", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"),
		// 6.6: All prefixes of a valid UTF-8 string
		invalidText("6.6.1", "\xce"),
		validText("6.6.2", "\xce\xba"),
		invalidText("6.6.3", "\xce\xba\xe1"),
		invalidText("6.6.4", "\xce\xba\xe1\xbd"),
		validText("6.6.5", "\xce\xba\xe1\xbd\xb9"),
		invalidText("6.6.6", "\xce\xba\xe1\xbd\xb9\xcf"),
		validText("6.6.7", "\xce\xba\xe1\xbd\xb9\xcf\x83"),
		invalidText("6.6.8", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce"),
		validText("6.6.9", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc"),
		invalidText("6.6.10", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce"),
		validText("6.6.11", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"),
		// 6.7: First possible sequence of a certain length
		validText("6.7.1", "\x00"),
		validText("6.7.2", "\xc2\x80"),
		validText("6.7.3", "\xe0\xa0\x80"),
		validText("6.7.4", "\xf0\x90\x80\x80"),
		// 6.8: First possible sequence of length 5/6
		invalidText("6.8.1", "\xf8\x88\x80\x80\x80"),
		invalidText("6.8.2", "\xfc\x84\x80\x80\x80\x80"),
		// 6.9: Last possible sequence of a certain length
		validText("6.9.1", "\x7f"),
		validText("6.9.2", "\xdf\xbf"),
		validText("6.9.3", "\xef\xbf\xbf"),
		validText("6.9.4", "\xf4\x8f\xbf\xbf"),
		// 6.10: Last possible sequence of length 4/5/6
		invalidText("6.10.1", "\xf7\xbf\xbf\xbf"),
		invalidText("6.10.2", "\xfb\xbf\xbf\xbf\xbf"),
		invalidText("6.10.3", "\xfd\xbf\xbf\xbf\xbf\xbf"),
		// 6.11: Other boundary conditions
		validText("6.11.1", "\xed\x9f\xbf"),
		validText("6.11.2", "\xee\x80\x80"),
		validText("6.11.3", "\xef\xbf\xbd"),
		validText("6.11.4", "\xf4\x8f\xbf\xbf"),
		invalidText("6.11.5", "\xf4\x90\x80\x80"),
		// 6.12: Unexpected continuation bytes
		invalidText("6.12.1", "\x80"),
		invalidText("6.12.2", "\xbf"),
		invalidText("6.12.3", "\x80\xbf"),
		invalidText("6.12.4", "\x80\xbf\x80"),
		invalidText("6.12.5", "\x80\xbf\x80\xbf"),
		invalidText("6.12.6", "\x80\xbf\x80\xbf\x80"),
		invalidText("6.12.7", "\x80\xbf\x80\xbf\x80\xbf"),
		invalidText("6.12.8", byteRange(0x80, 0xbf)),
		// 6.13: Lonely start characters
		invalidText("6.13.1", lonelyStarts(0xc0, 0xdf)),
		invalidText("6.13.2", lonelyStarts(0xe0, 0xef)),
		invalidText("6.13.3", lonelyStarts(0xf0, 0xf7)),
		invalidText("6.13.4", lonelyStarts(0xf8, 0xfb)),
		invalidText("6.13.5", lonelyStarts(0xfc, 0xfd)),
		// 6.14: Sequences with last continuation byte missing
		invalidText("6.14.1", "\xc0"),
		invalidText("6.14.2", "\xe0\x80"),
		invalidText("6.14.3", "\xf0\x80\x80"),
		invalidText("6.14.4", "\xf8\x80\x80\x80"),
		invalidText("6.14.5", "\xfc\x80\x80\x80\x80"),
		invalidText("6.14.6", "\xdf"),
		invalidText("6.14.7", "\xef\xbf"),
		invalidText("6.14.8", "\xf7\xbf\xbf"),
		invalidText("6.14.9", "\xfb\xbf\xbf\xbf"),
		invalidText("6.14.10", "\xfd\xbf\xbf\xbf\xbf"),
		// 6.15: Concatenation of incomplete sequences
		invalidText("6.15.1", "\xc0\xe0\x80\xf0\x80\x80\xf8\x80\x80\x80\xfc\x80\x80\x80\x80\xdf\xef\xbf\xf7\xbf\xbf\xfb\xbf\xbf\xbf\xfd\xbf\xbf\xbf\xbf"),
		// 6.16: Impossible bytes
		invalidText("6.16.1", "\xfe"),
		invalidText("6.16.2", "\xff"),
		invalidText("6.16.3", "\xfe\xfe\xff\xff"),
		// 6.17: Overlong ASCII character
		invalidText("6.17.1", "\xc0\xaf"),
		invalidText("6.17.2", "\xe0\x80\xaf"),
		invalidText("6.17.3", "\xf0\x80\x80\xaf"),
		invalidText("6.17.4", "\xf8\x80\x80\x80\xaf"),
		invalidText("6.17.5", "\xfc\x80\x80\x80\x80\xaf"),
		// 6.18: Maximum overlong sequences
		invalidText("6.18.1", "\xc1\xbf"),
		invalidText("6.18.2", "\xe0\x9f\xbf"),
		invalidText("6.18.3", "\xf0\x8f\xbf\xbf"),
		invalidText("6.18.4", "\xf8\x87\xbf\xbf\xbf"),
		invalidText("6.18.5", "\xfc\x83\xbf\xbf\xbf\xbf"),
		// 6.19: Overlong NUL
		invalidText("6.19.1", "\xc0\x80"),
		invalidText("6.19.2", "\xe0\x80\x80"),
		invalidText("6.19.3", "\xf0\x80\x80\x80"),
		invalidText("6.19.4", "\xf8\x80\x80\x80\x80"),
		invalidText("6.19.5", "\xfc\x80\x80\x80\x80\x80"),
		// 6.20: Single UTF-16 surrogates
		invalidText("6.20.1", "\xed\xa0\x80"),
		invalidText("6.20.2", "\xed\xad\xbf"),
		invalidText("6.20.3", "\xed\xae\x80"),
		invalidText("6.20.4", "\xed\xaf\xbf"),
		invalidText("6.20.5", "\xed\xb0\x80"),
		invalidText("6.20.6", "\xed\xbe\x80"),
		invalidText("6.20.7", "\xed\xbf\xbf"),
		// 6.21: Paired UTF-16 surrogates
		invalidText("6.21.1", "\xed\xa0\x80\xed\xb0\x80"),
		invalidText("6.21.2", "\xed\xa0\x80\xed\xbf\xbf"),
		invalidText("6.21.3", "\xed\xad\xbf\xed\xb0\x80"),
		invalidText("6.21.4", "\xed\xad\xbf\xed\xbf\xbf"),
		invalidText("6.21.5", "\xed\xae\x80\xed\xb0\x80"),
		invalidText("6.21.6", "\xed\xae\x80\xed\xbf\xbf"),
		invalidText("6.21.7", "\xed\xaf\xbf\xed\xb0\x80"),
		invalidText("6.21.8", "\xed\xaf\xbf\xed\xbf\xbf"),
		// 6.22: Non-character code points (valid UTF-8)
		validText("6.22.1", "\xef\xbf\xbe"),
		validText("6.22.2", "\xef\xbf\xbf"),
		validText("6.22.3", "\xf0\x9f\xbf\xbe"),
		validText("6.22.4", "\xf0\x9f\xbf\xbf"),
		validText("6.22.5", "\xf0\xaf\xbf\xbe"),
		validText("6.22.6", "\xf0\xaf\xbf\xbf"),
		validText("6.22.7", "\xf0\xbf\xbf\xbe"),
		validText("6.22.8", "\xf0\xbf\xbf\xbf"),
		validText("6.22.9", "\xf1\x8f\xbf\xbe"),
		validText("6.22.10", "\xf1\x8f\xbf\xbf"),
		validText("6.22.11", "\xf1\x9f\xbf\xbe"),
		validText("6.22.12", "\xf1\x9f\xbf\xbf"),
		validText("6.22.13", "\xf1\xaf\xbf\xbe"),
		validText("6.22.14", "\xf1\xaf\xbf\xbf"),
		validText("6.22.15", "\xf1\xbf\xbf\xbe"),
		validText("6.22.16", "\xf1\xbf\xbf\xbf"),
		validText("6.22.17", "\xf2\x8f\xbf\xbe"),
		validText("6.22.18", "\xf2\x8f\xbf\xbf"),
		validText("6.22.19", "\xf2\x9f\xbf\xbe"),
		validText("6.22.20", "\xf2\x9f\xbf\xbf"),
		validText("6.22.21", "\xf2\xaf\xbf\xbe"),
		validText("6.22.22", "\xf2\xaf\xbf\xbf"),
		validText("6.22.23", "\xf2\xbf\xbf\xbe"),
		validText("6.22.24", "\xf2\xbf\xbf\xbf"),
		validText("6.22.25", "\xf3\x8f\xbf\xbe"),
		validText("6.22.26", "\xf3\x8f\xbf\xbf"),
		validText("6.22.27", "\xf3\x9f\xbf\xbe"),
		validText("6.22.28", "\xf3\x9f\xbf\xbf"),
		validText("6.22.29", "\xf3\xaf\xbf\xbe"),
		validText("6.22.30", "\xf3\xaf\xbf\xbf"),
		validText("6.22.31", "\xf3\xbf\xbf\xbe"),
		validText("6.22.32", "\xf3\xbf\xbf\xbf"),
		validText("6.22.33", "\xf4\x8f\xbf\xbe"),
		validText("6.22.34", "\xf4\x8f\xbf\xbf"),
		// 6.23: Unicode specials
		validText("6.23.1", "\xef\xbf\xb9"),
		validText("6.23.2", "\xef\xbf\xba"),
		validText("6.23.3", "\xef\xbf\xbb"),
		validText("6.23.4", "\xef\xbf\xbc"),
		validText("6.23.5", "\xef\xbf\xbd"),
		validText("6.23.6", "\xef\xbf\xbe"),
		validText("6.23.7", "\xef\xbf\xbf"),

		// 7: closing
		{id: "7.1.1", desc: "text, then close once it is echoed", steps: script(sends(cText("Hello World!")), replies(gotText("Hello World!")))},
		{id: "7.1.2", desc: "two closes", steps: script(sends(cClose(1000, ""), cFrame(finBit|opClose, "")), replies(closes(1000)))},
		{id: "7.1.3", desc: "ping after close", steps: script(sends(cClose(1000, ""), cPing("")), replies(closes(1000)))},
		{id: "7.1.4", desc: "text after close", steps: script(sends(cClose(1000, ""), cText("Hello World!")), replies(closes(1000)))},
		{id: "7.1.5", desc: "fragment, close, last fragment", steps: script(
			sends(cFrame(opText, "fragment1"), cClose(1000, ""), cFrame(finBit|opContinuation, "fragment2")), replies(closes(1000)))},
		// Messages echoed just before a close frame are in the session's
		// queue when the close is answered: Autobahn leaves the outcome to
		// the implementation. The server closes the connection without
		// reading the ping, so TCP resets it, which drops what the server
		// had not sent yet: part of the echo, and the close frame after it.
		{id: "7.1.6", desc: "256 KiB text, text, close, ping", steps: script(
			sends(cText(big256K), cText("Hello World!"), cClose(1000, ""), cPing("")),
			replies(maybe(gotText(big256K)), maybe(gotText("Hello World!")), maybe(gotClose(1000)), tcpClosed()))},
		{id: "7.3.1", desc: "close, empty (answered with an empty close)", steps: script(sends(cFrame(finBit|opClose, "")), replies(closes(1005)))},
		{id: "7.3.2", desc: "close of 1 byte", steps: script(sends(cFrame(finBit|opClose, "a")), replies(closes(1002))),
			lib: script(sends(cFrame(finBit|opClose, "a")), replies(closes(1005))), note: noteOneByteClose},
		{id: "7.3.3", desc: "close with a code", steps: script(sends(cClose(1000, "")), replies(closes(1000)))},
		{id: "7.3.4", desc: "close with a code and a reason", steps: script(sends(cClose(1000, "Hello World!")), replies(closes(1000)))},
		{id: "7.3.5", desc: "close with a reason of 123 bytes", steps: script(sends(cClose(1000, strings.Repeat("*", 123))), replies(closes(1000)))},
		{id: "7.3.6", desc: "close with a reason of 124 bytes", steps: script(sends(cClose(1000, strings.Repeat("*", 124))), replies(closes(1002)))},
		{id: "7.5.1", desc: "close reason not UTF-8", steps: script(sends(cClose(1000, kosme+"\xed\xa0\x80edited")), replies(closes(1007))),
			lib: script(sends(cClose(1000, kosme+"\xed\xa0\x80edited")), replies(closes(1002))), note: noteCloseReason},
		closeCode("7.7.1", 1000, 1000),
		closeCode("7.7.2", 1001, 1001),
		closeCode("7.7.3", 1002, 1002),
		closeCode("7.7.4", 1003, 1003),
		closeCode("7.7.5", 1007, 1007),
		closeCode("7.7.6", 1008, 1008),
		closeCode("7.7.7", 1009, 1009),
		closeCode("7.7.8", 1010, 1010),
		closeCode("7.7.9", 1011, 1011),
		closeCode("7.7.10", 3000, 3000),
		closeCode("7.7.11", 3999, 3999),
		closeCode("7.7.12", 4000, 4000),
		closeCode("7.7.13", 4999, 4999),
		closeCode("7.9.1", 0, 1002),
		closeCode("7.9.2", 999, 1002),
		closeCode("7.9.3", 1004, 1002),
		closeCode("7.9.4", 1005, 1002),
		closeCode("7.9.5", 1006, 1002),
		closeCode("7.9.6", 1016, 1002),
		closeCode("7.9.7", 1100, 1002),
		closeCode("7.9.8", 2000, 1002),
		closeCode("7.9.9", 2999, 1002),
		closeCode("7.13.1", 5000, 1002),
		closeCode("7.13.2", 65535, 1002),
		// Codes registered with IANA after RFC 6455, which Autobahn does not
		// test.
		closeCode("7.x.1", 1012, 1012),
		closeCode("7.x.2", 1013, 1013),
		{id: "7.x.3", desc: "close with code 1014", steps: script(sends(cClose(1014, "")), replies(closes(1014))),
			lib: script(sends(cClose(1014, "")), replies(closes(1002))), note: note1014},
		closeCode("7.x.4", 1015, 1002),

		// 9: large messages, scaled to MaxBufferSize (1 MiB)
		{id: "9.1.1", desc: "text of 64 KiB", steps: echoed(opText, 64<<10, 0)},
		{id: "9.1.2", desc: "text of 256 KiB", steps: echoed(opText, 256<<10, 0)},
		{id: "9.1.3", desc: "text of 1 MiB", steps: echoed(opText, 1<<20, 0)},
		{id: "9.1.4", desc: "text of 4 MiB", steps: tooBig(opText, 4<<20)},
		{id: "9.1.5", desc: "text of 8 MiB", steps: tooBig(opText, 8<<20)},
		{id: "9.1.6", desc: "text of 16 MiB", steps: tooBig(opText, 16<<20)},
		{id: "9.2.1", desc: "binary of 64 KiB", steps: echoed(opBinary, 64<<10, 0)},
		{id: "9.2.2", desc: "binary of 256 KiB", steps: echoed(opBinary, 256<<10, 0)},
		{id: "9.2.3", desc: "binary of 1 MiB", steps: echoed(opBinary, 1<<20, 0)},
		{id: "9.2.4", desc: "binary of 4 MiB", steps: tooBig(opBinary, 4<<20)},
		{id: "9.2.5", desc: "binary of 8 MiB", steps: tooBig(opBinary, 8<<20)},
		{id: "9.2.6", desc: "binary of 16 MiB", steps: tooBig(opBinary, 16<<20)},
		{id: "9.3.1", desc: "text of 1 MiB (Autobahn: 4 MiB) in fragments of 64", steps: echoedFragments(opText, 64)},
		{id: "9.3.2", desc: "text of 1 MiB in fragments of 256", steps: echoedFragments(opText, 256)},
		{id: "9.3.3", desc: "text of 1 MiB in fragments of 1 KiB", steps: echoedFragments(opText, 1<<10)},
		{id: "9.3.4", desc: "text of 1 MiB in fragments of 4 KiB", steps: echoedFragments(opText, 4<<10)},
		{id: "9.3.5", desc: "text of 1 MiB in fragments of 16 KiB", steps: echoedFragments(opText, 16<<10)},
		{id: "9.3.6", desc: "text of 1 MiB in fragments of 64 KiB", steps: echoedFragments(opText, 64<<10)},
		{id: "9.3.7", desc: "text of 1 MiB in fragments of 256 KiB", steps: echoedFragments(opText, 256<<10)},
		{id: "9.3.8", desc: "text of 1 MiB in fragments of 1 MiB", steps: echoedFragments(opText, 1<<20)},
		{id: "9.3.9", desc: "text of 1 MiB in fragments of 4 MiB", steps: echoedFragments(opText, 4<<20)},
		{id: "9.4.1", desc: "binary of 1 MiB (Autobahn: 4 MiB) in fragments of 64", steps: echoedFragments(opBinary, 64)},
		{id: "9.4.2", desc: "binary of 1 MiB in fragments of 256", steps: echoedFragments(opBinary, 256)},
		{id: "9.4.3", desc: "binary of 1 MiB in fragments of 1 KiB", steps: echoedFragments(opBinary, 1<<10)},
		{id: "9.4.4", desc: "binary of 1 MiB in fragments of 4 KiB", steps: echoedFragments(opBinary, 4<<10)},
		{id: "9.4.5", desc: "binary of 1 MiB in fragments of 16 KiB", steps: echoedFragments(opBinary, 16<<10)},
		{id: "9.4.6", desc: "binary of 1 MiB in fragments of 64 KiB", steps: echoedFragments(opBinary, 64<<10)},
		{id: "9.4.7", desc: "binary of 1 MiB in fragments of 256 KiB", steps: echoedFragments(opBinary, 256<<10)},
		{id: "9.4.8", desc: "binary of 1 MiB in fragments of 1 MiB", steps: echoedFragments(opBinary, 1<<20)},
		{id: "9.4.9", desc: "binary of 1 MiB in fragments of 4 MiB", steps: echoedFragments(opBinary, 4<<20)},
		{id: "9.5.1", desc: "text of 1 MiB in writes of 64", steps: echoed(opText, 1<<20, 64)},
		{id: "9.5.2", desc: "text of 1 MiB in writes of 128", steps: echoed(opText, 1<<20, 128)},
		{id: "9.5.3", desc: "text of 1 MiB in writes of 256", steps: echoed(opText, 1<<20, 256)},
		{id: "9.5.4", desc: "text of 1 MiB in writes of 512", steps: echoed(opText, 1<<20, 512)},
		{id: "9.5.5", desc: "text of 1 MiB in writes of 1024", steps: echoed(opText, 1<<20, 1024)},
		{id: "9.5.6", desc: "text of 1 MiB in writes of 2048", steps: echoed(opText, 1<<20, 2048)},
		{id: "9.6.1", desc: "binary of 1 MiB in writes of 64", steps: echoed(opBinary, 1<<20, 64)},
		{id: "9.6.2", desc: "binary of 1 MiB in writes of 128", steps: echoed(opBinary, 1<<20, 128)},
		{id: "9.6.3", desc: "binary of 1 MiB in writes of 256", steps: echoed(opBinary, 1<<20, 256)},
		{id: "9.6.4", desc: "binary of 1 MiB in writes of 512", steps: echoed(opBinary, 1<<20, 512)},
		{id: "9.6.5", desc: "binary of 1 MiB in writes of 1024", steps: echoed(opBinary, 1<<20, 1024)},
		{id: "9.6.6", desc: "binary of 1 MiB in writes of 2048", steps: echoed(opBinary, 1<<20, 2048)},
		{id: "9.7.1", desc: "1000 text messages of 0 bytes, one at a time", steps: roundTrips(opText, 0)},
		{id: "9.7.2", desc: "1000 text messages of 16 bytes, one at a time", steps: roundTrips(opText, 16)},
		{id: "9.7.3", desc: "1000 text messages of 64 bytes, one at a time", steps: roundTrips(opText, 64)},
		{id: "9.7.4", desc: "1000 text messages of 256 bytes, one at a time", steps: roundTrips(opText, 256)},
		{id: "9.7.5", desc: "1000 text messages of 1 KiB, one at a time", steps: roundTrips(opText, 1<<10)},
		{id: "9.7.6", desc: "1000 text messages of 4 KiB, one at a time", steps: roundTrips(opText, 4<<10)},
		{id: "9.8.1", desc: "1000 binary messages of 0 bytes, one at a time", steps: roundTrips(opBinary, 0)},
		{id: "9.8.2", desc: "1000 binary messages of 16 bytes, one at a time", steps: roundTrips(opBinary, 16)},
		{id: "9.8.3", desc: "1000 binary messages of 64 bytes, one at a time", steps: roundTrips(opBinary, 64)},
		{id: "9.8.4", desc: "1000 binary messages of 256 bytes, one at a time", steps: roundTrips(opBinary, 256)},
		{id: "9.8.5", desc: "1000 binary messages of 1 KiB, one at a time", steps: roundTrips(opBinary, 1<<10)},
		{id: "9.8.6", desc: "1000 binary messages of 4 KiB, one at a time", steps: roundTrips(opBinary, 4<<10)},
		{id: "9.x.1", desc: "binary of MaxBufferSize + 1", steps: tooBig(opBinary, abMaxBufferSize+1)},
		{id: "9.x.2", desc: "text whose last fragment goes past MaxBufferSize, after a ping", steps: script(
			sends(cFrame(opText, abPayload(opText, abMaxBufferSize/2)), cPing("half")), replies(gotPong("half")),
			sends(cFrame(finBit|opContinuation, strings.Repeat("*", abMaxBufferSize/2+1))), replies(closes(1009)))},
		{id: "9.x.3", desc: "a header announcing 2^62 bytes, and no payload", steps: script(
			sends([]byte{finBit | opBinary, maskBit | 127, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}), replies(closes(1009)))},
		{id: "9.x.4", desc: "a header announcing MaxBufferSize + 1 bytes, and no payload", steps: script(
			sends([]byte{finBit | opBinary, maskBit | 127, 0, 0, 0, 0, 0, 0x10, 0, 1, 1, 2, 3, 4}), replies(closes(1009)))},
	}
}

// Case builders.

// abPayload is a message of n bytes with opcode op, filled as Autobahn
// fills them: '*' for text, whose first byte is the Engine.IO type (cFrame
// adds it), 0xfe for binary.
func abPayload(op byte, n int) string {
	if op == opText {
		return strings.Repeat("*", n-1)
	}
	return fe(n)
}

func fe(n int) string { return strings.Repeat("\xfe", n) }

// gotMessage is the echo of a message with opcode op.
func gotMessage(op byte, msg string) []abReply {
	if op == opText {
		return gotText(msg)
	}
	return gotBinary(msg)
}

// echoed sends a message of n bytes in one frame, in writes of chop bytes
// (all at once if 0), and expects it back.
func echoed(op byte, n, chop int) []abStep {
	msg := abPayload(op, n)
	f := cFrame(finBit|op, msg)
	s := sends(f)
	if chop > 0 {
		s = sendsChopped(chop, f)
	}
	return script(s, replies(gotMessage(op, msg)))
}

// echoedFragments sends a message of 1 MiB in frames of at most size bytes
// and expects it back.
func echoedFragments(op byte, size int) []abStep {
	msg := abPayload(op, 1<<20)
	return script(sends(cFragments(op, msg, size)), replies(gotMessage(op, msg)))
}

// tooBig sends the header of a message of n bytes, over the server's
// MaxBufferSize, and its first 64 KiB: the server must refuse the message
// once it has read the header, so the rest, which Autobahn sends, would
// meet a closed connection.
func tooBig(op byte, n int) []abStep {
	f := cFrame(finBit|op, abPayload(op, 64<<10))
	hdr := []byte{f[0], maskBit | 127}
	hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	return script(sends(hdr, f[len(f)-64<<10-4:]), replies(closes(1009)))
}

// roundTrips sends 1000 messages of n bytes (Autobahn's payload, after the
// type byte for text), each once the previous one is echoed.
func roundTrips(op byte, n int) []abStep {
	msg := strings.Repeat("*", n)
	if op == opBinary {
		msg = fe(n)
	}
	f := cFrame(finBit|op, msg)
	var s []abStep
	for range 1000 {
		s = append(s, sends(f), replies(gotMessage(op, msg)))
	}
	return s
}

// tenPings sends ten pings in writes of chop bytes (all at once if 0).
func tenPings(chop int) []abStep {
	var pings [][]byte
	var pongs [][]abReply
	for i := range 10 {
		p := fmt.Sprintf("payload-%d", i)
		pings = append(pings, cPing(p))
		pongs = append(pongs, gotPong(p))
	}
	s := sends(pings...)
	if chop > 0 {
		s = sendsChopped(chop, pings...)
	}
	return script(s, replies(pongs...))
}

// fiveFragments is 5.19 (send is sends) and 5.20 (sendsEach).
func fiveFragments(send func(...[]byte) abStep) []abStep {
	return script(
		send(cFrame(opText, "fragment1"), cFrame(opContinuation, "fragment2"), cPing("pongme 1!")),
		replies(gotPong("pongme 1!")),
		send(cFrame(opContinuation, "fragment3"), cFrame(opContinuation, "fragment4"), cPing("pongme 2!"),
			cFrame(finBit|opContinuation, "fragment5")),
		replies(gotPong("pongme 2!"), gotText("fragment1fragment2fragment3fragment4fragment5")))
}

// validText is a case of a text message of valid UTF-8 in one frame.
func validText(id, msg string) abCase {
	return abCase{id: id, desc: fmt.Sprintf("valid UTF-8 % x", msg), steps: script(sends(cText(msg)), replies(gotText(msg)))}
}

// invalidText is a case of a text message of invalid UTF-8 in one frame.
func invalidText(id, msg string) abCase {
	return abCase{id: id, desc: fmt.Sprintf("invalid UTF-8 % x", msg),
		steps: script(sends(cText(msg)), replies(closes(1007))),
		lib:   script(sends(cText(msg)), replies(gotText(msg))), note: noteUTF8}
}

// failFastFrames is a case of a text message in three frames, valid,
// invalid, and the rest (6.4.1, 6.4.2): the server must fail the
// connection on the second frame, without waiting for the third, which is
// never sent. A ping after the first frame shows that it was accepted.
func failFastFrames(id, valid, invalid, rest string) abCase {
	start := script(
		sends(cFrame(opText, valid)), sends(cPing("A")), replies(gotPong("A")),
		sends(cFrame(opContinuation, invalid)))
	return abCase{id: id, desc: fmt.Sprintf("text in 3 frames, % x then % x then % x (never sent)", valid, invalid, rest),
		steps: append(start, replies(closes(1007))),
		lib:   start, note: noteFailFast}
}

// failFastChops is failFastFrames with one frame written in three parts
// (6.4.3, 6.4.4): the server must fail the connection on the second part.
func failFastChops(id, valid, invalid, rest string) abCase {
	f := cText(valid + invalid + rest)
	k := len(f) - len(invalid) - len(rest)
	start := script(sends(f[:k]), sends(f[k:k+len(invalid)]))
	return abCase{id: id, desc: fmt.Sprintf("text in 1 frame written in 3 parts, % x then % x then % x (never sent)", valid, invalid, rest),
		steps: append(start, replies(closes(1007))),
		lib:   append(start, sends(f[k+len(invalid):]), replies(gotText(valid+invalid+rest))), note: noteFailFast}
}

// closeCode is a case of a close frame with code, which the server
// answers with reply.
func closeCode(id string, code, reply int) abCase {
	return abCase{id: id, desc: fmt.Sprintf("close with code %d", code), steps: script(sends(cClose(code, "")), replies(closes(reply)))}
}

// byteRange is the bytes from lo up to hi, hi left out.
func byteRange(lo, hi byte) string {
	var b []byte
	for c := lo; c < hi; c++ {
		b = append(b, c)
	}
	return string(b)
}

// lonelyStarts is the bytes from lo up to hi, hi left out, each followed by
// a space.
func lonelyStarts(lo, hi byte) string {
	var b []byte
	for c := lo; c < hi; c++ {
		b = append(b, c, ' ')
	}
	return string(b)
}
