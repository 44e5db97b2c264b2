package wire

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/sio-go/socketio/internal/testutil"
	"github.com/sio-go/socketio/msgpackparser"
	"github.com/sio-go/socketio/protocol"
)

func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }

func TestParseOpen(t *testing.T) {
	ws := `0{"sid":"Ab-9_x","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`
	poll := `0{"sid":"Ab-9_x","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`
	hs, err := ParseOpen([]byte(ws), WebSocket)
	if err != nil || hs.SID != "Ab-9_x" {
		t.Fatalf("websocket open: %v %q", err, hs.SID)
	}
	if hs, err = ParseOpen([]byte(poll), Polling); err != nil || hs.SID != "Ab-9_x" {
		t.Fatalf("polling open: %v %q", err, hs.SID)
	}
	bad := []string{
		poll, // upgrades differ for a websocket handshake
		strings.Replace(ws, "25000", "25001", 1),
		strings.Replace(ws, `"sid":"Ab-9_x"`, `"sid":""`, 1),
		strings.Replace(ws, `Ab-9_x`, `A"b`, 1),
		`0{"upgrades":[],"sid":"x","pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`,
		ws + " ",
		"",
	}
	for _, b := range bad {
		if _, err := ParseOpen([]byte(b), WebSocket); err == nil {
			t.Errorf("ParseOpen accepted %q", b)
		}
	}
}

func TestParseConnect(t *testing.T) {
	sid, err := ParseConnect([]byte(`40{"sid":"zz_9"}`))
	if err != nil || sid != "zz_9" {
		t.Fatalf("got %q, %v", sid, err)
	}
	for _, b := range []string{`40`, `40{"sid":""}`, `40/admin,{"sid":"x"}`, `40{"sid":"x","pid":"y"}`, `44{"message":"no"}`} {
		if _, err := ParseConnect([]byte(b)); err == nil {
			t.Errorf("ParseConnect accepted %q", b)
		}
	}
}

func TestAppendEventAndAck(t *testing.T) {
	cases := []struct{ got, want string }{
		{string(AppendEvent(nil, 7, "echo", []byte(`"hi"`))), `427["echo","hi"]`},
		{string(AppendEvent(nil, -1, "bcast", []byte(`1,"x"`))), `42["bcast",1,"x"]`},
		{string(AppendEvent(nil, 0, "ping", nil)), `420["ping"]`},
		{string(AppendAck(nil, 12, []byte(`"hi"`))), `4312["hi"]`},
		{string(AppendAck([]byte("junk"), 3, nil)), `junk433[]`},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("got %s, want %s", c.got, c.want)
		}
	}
}

func TestParseAck(t *testing.T) {
	id, rest, err := ParseAck([]byte(`431234["a",1]`))
	if err != nil || id != 1234 || string(rest) != `["a",1]` {
		t.Fatalf("got %d %q %v", id, rest, err)
	}
	for _, b := range []string{`43`, `43["a"]`, `42["a"]`, `4`, ``} {
		if _, _, err := ParseAck([]byte(b)); !errors.Is(err, ErrNotAck) {
			t.Errorf("ParseAck(%q) = %v, want ErrNotAck", b, err)
		}
	}
}

func TestSeqFrame(t *testing.T) {
	f := NewSeqFrame("bcast", []byte(`"payload"`))
	b := f.Append(nil, 4711)
	if string(b) != `42["bcast",4711,"payload"]` {
		t.Fatalf("frame %s", b)
	}
	seq, ok := f.Parse(b)
	if !ok || seq != 4711 {
		t.Fatalf("parse: %d %v", seq, ok)
	}
	if seq, ok := f.Parse(f.Append(nil, 0)); !ok || seq != 0 {
		t.Fatalf("seq 0: %d %v", seq, ok)
	}
	for _, bad := range []string{
		`42["bcast",07,"payload"]`,
		`42["bcast",,"payload"]`,
		`42["bcast",1x,"payload"]`,
		`42["bcast",1,"payloaD"]`,
		`42["bcast",1,"payload"] `,
		`42["bcasT",1,"payload"]`,
		`43["bcast",1,"payload"]`,
	} {
		if _, ok := f.Parse([]byte(bad)); ok {
			t.Errorf("Parse accepted %s", bad)
		}
	}
	bare := NewSeqFrame("n", nil)
	if got := string(bare.Append(nil, 5)); got != `42["n",5]` {
		t.Errorf("bare frame %s", got)
	}
}

func TestPayload(t *testing.T) {
	var p []byte
	for _, pkt := range []string{"2", `42["a"]`, "6"} {
		p = AppendPayload(p, []byte(pkt))
	}
	if string(p) != "2\x1e42[\"a\"]\x1e6" {
		t.Fatalf("payload %q", p)
	}
	var got []string
	if err := SplitPayload(p, func(b []byte) error { got = append(got, string(b)); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "|") != `2|42["a"]|6` {
		t.Fatalf("split %q", got)
	}
	stop := errors.New("stop")
	n := 0
	if err := SplitPayload(p, func([]byte) error { n++; return stop }); err != stop || n != 1 {
		t.Fatalf("split did not stop at the first error: %v after %d", err, n)
	}
}

func TestStringArg(t *testing.T) {
	if got := string(StringArg(28)); got != `"abcdefghijklmnopqrstuvwxyzab"` {
		t.Fatalf("got %s", got)
	}
}

func TestParseEndpoint(t *testing.T) {
	e, err := ParseEndpoint("http://127.0.0.1:3000")
	if err != nil {
		t.Fatal(err)
	}
	if got := e.url("ws", WebSocket, ""); got != "ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket" {
		t.Errorf("url %s", got)
	}
	if got := e.url("http", Polling, "a-b"); got != "http://127.0.0.1:3000/socket.io/?EIO=4&transport=polling&sid=a-b" {
		t.Errorf("url %s", got)
	}
	if !e.SupportsSourceIPs() {
		t.Error("127.0.0.1 should allow other source addresses")
	}
	if e, err := ParseEndpoint("ws://localhost:81/custom/"); err != nil || e.Host() != "127.0.0.1:81" || e.path != "/custom/" {
		t.Errorf("localhost: %v %+v", err, e)
	}
	if e, err := ParseEndpoint("http://[::1]:3000"); err != nil || e.SupportsSourceIPs() {
		t.Errorf("::1: %v", err)
	}
	for _, bad := range []string{"http://10.0.0.1:3000", "http://example.com:80", "https://127.0.0.1:3000", "http://127.0.0.1", "http://192.168.1.1:3000"} {
		if _, err := ParseEndpoint(bad); err == nil {
			t.Errorf("ParseEndpoint accepted %s", bad)
		}
	}
}

func TestSourceIP(t *testing.T) {
	if got := SourceIP(5, 1).String(); got != "127.0.0.1" {
		t.Errorf("n=1: %s", got)
	}
	seen := map[string]bool{}
	for i := range 600 {
		a := SourceIP(i, 600)
		if !a.IsLoopback() {
			t.Fatalf("%s is not loopback", a)
		}
		seen[a.String()] = true
	}
	if len(seen) != 600 {
		t.Fatalf("%d distinct addresses, want 600", len(seen))
	}
	if SourceIP(600, 600) != SourceIP(0, 600) {
		t.Error("rotation does not wrap")
	}
}

func FuzzParseAck(f *testing.F) {
	f.Add([]byte(`4312["x"]`))
	f.Add([]byte(`43`))
	f.Fuzz(func(t *testing.T, b []byte) {
		id, rest, err := ParseAck(b)
		if err != nil {
			return
		}
		if id < 0 || !bytes.HasSuffix(b, rest) {
			t.Fatalf("ParseAck(%q) = %d %q", b, id, rest)
		}
		// Re-encoding the parts gives the input back, except for leading zeros.
		if re := AppendAck(nil, id, nil); !bytes.HasPrefix(b, re[:len(re)-2]) && b[2] != '0' {
			t.Fatalf("ParseAck(%q): id %d does not round-trip", b, id)
		}
	})
}

func FuzzSeqFrame(f *testing.F) {
	fr := NewSeqFrame("bcast", []byte(`"p"`))
	f.Add([]byte(`42["bcast",12,"p"]`))
	f.Add([]byte(`42["bcast",,"p"]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		seq, ok := fr.Parse(b)
		if ok && !bytes.Equal(fr.Append(nil, seq), b) {
			t.Fatalf("Parse(%q) accepted %d, which encodes differently", b, seq)
		}
	})
}

func FuzzParseOpen(f *testing.F) {
	f.Add([]byte(`0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		hs, err := ParseOpen(b, WebSocket)
		if err == nil && !bytes.Contains(b, []byte(hs.SID)) {
			t.Fatalf("sid %q not in %q", hs.SID, b)
		}
		_, _ = ParseConnect(b)
	})
}

func TestStampFrame(t *testing.T) {
	f := NewStampFrame("bcast")
	b := f.Append(nil, 42, 1764000000123456)
	if string(b) != `42["bcast",42,1764000000123456]` {
		t.Fatalf("frame %s", b)
	}
	seq, at, ok := f.Parse(b)
	if !ok || seq != 42 || at != 1764000000123456 {
		t.Fatalf("Parse = %d %d %v", seq, at, ok)
	}
	for _, bad := range []string{`42["bcast",42]`, `42["bcast",042,1]`, `42["bcast",4,1]x`, `42["other",4,1]`, `42["bcast",,1]`, `42["bcast",4,]`, `42["bcast",4,1`} {
		if _, _, ok := f.Parse([]byte(bad)); ok {
			t.Errorf("Parse(%s) accepted", bad)
		}
	}
}

func TestMsgpackPackets(t *testing.T) {
	ev, err := MsgpackEvent(7, "echo", []byte(`"abc"`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := msgpackparser.Parser.NewDecoder(0).Decode(ev, true)
	if err != nil || p.Type != protocol.Event || p.ID != 7 || !p.HasID || string(p.Data) != `["echo","abc"]` {
		t.Fatalf("event %x decodes to %+v (%v)", ev, p, err)
	}
	msgs, _ := msgpackparser.Parser.Encode(&protocol.Packet{Type: protocol.Ack, Namespace: "/", ID: 9, HasID: true, Data: []byte(`["abc"]`)})
	id, args, err := ParseMsgpackAck(msgs[0].Data)
	if err != nil || id != 9 || string(args) != `["abc"]` {
		t.Fatalf("ack: %d %s %v", id, args, err)
	}
	if _, _, err := ParseMsgpackAck(ev); err == nil {
		t.Fatal("an event parsed as an ack")
	}
	reply, _ := msgpackparser.Parser.Encode(&protocol.Packet{Type: protocol.Connect, Namespace: "/", Data: []byte(`{"sid":"s1"}`)})
	if sid, err := parseMsgpackConnect(reply[0].Data); err != nil || sid != "s1" {
		t.Fatalf("connect reply: %q %v", sid, err)
	}
	conn, _ := msgpackparser.Parser.NewDecoder(0).Decode(msgpackConnect, true)
	if conn == nil || conn.Type != protocol.Connect || conn.Namespace != "/" || conn.Data != nil {
		t.Fatalf("msgpackConnect decodes to %+v", conn)
	}
}
