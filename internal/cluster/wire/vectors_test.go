package wire

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sio-go/socketio/protocol"
)

// The vectors were recorded from the Node packages by
// redisadapter/testdata/capture/capture.js.
type vectorFile struct {
	UID       string   `json:"uid"`
	CustomUID string   `json:"customUid"`
	ClientID  string   `json:"clientId"`
	Steps     []step   `json:"steps"`
	Packages  struct{} `json:"packages"`
}

type step struct {
	Name     string    `json:"name"`
	Op       string    `json:"op"`
	Messages []message `json:"messages"`
}

type message struct {
	Channel  string          `json:"channel"`
	Hex      string          `json:"hex"`
	Encoding string          `json:"encoding"`
	Text     string          `json:"text"`
	Decoded  json.RawMessage `json:"decoded"`
	Packet   *struct {
		JSON        string   `json:"json"`
		Attachments []string `json:"attachments"`
	} `json:"packet"`
}

func (m *message) bytes(t *testing.T) []byte {
	t.Helper()
	b, err := hex.DecodeString(m.Hex)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (m *message) attachments(t *testing.T) [][]byte {
	t.Helper()
	var out [][]byte
	for _, h := range m.Packet.Attachments {
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func readVectors() (*vectorFile, error) {
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "redisadapter", "testdata", "classic.json"))
	if err != nil {
		return nil, err
	}
	var v vectorFile
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	if len(v.Steps) == 0 {
		return nil, errors.New("no steps")
	}
	return &v, nil
}

func loadVectors(t *testing.T) *vectorFile {
	t.Helper()
	v, err := readVectors()
	if err != nil {
		t.Fatalf("test vectors: %v", err)
	}
	return v
}

// decodeOnly lists the steps whose values cannot be re-encoded identically
// from their Socket.IO form: Dates become strings.
var decodeOnly = map[string]bool{"emit-date": true}

// corruptedByNode lists the steps where notepack writes a wrong value and
// the Go encoder deliberately writes the right one.
var corruptedByNode = map[string]bool{"emit-beyond-uint64": true}

func TestVectors(t *testing.T) {
	v := loadVectors(t)
	seen := map[string]int{}
	for _, st := range v.Steps {
		if len(st.Messages) == 0 {
			t.Errorf("%s: no message recorded", st.Name)
		}
		for i := range st.Messages {
			m := &st.Messages[i]
			kind := classify(m)
			seen[kind]++
			t.Run(st.Name+"/"+kind, func(t *testing.T) {
				switch kind {
				case "broadcast":
					checkBroadcast(t, st.Name, m)
				case "broadcast-request":
					checkBroadcastRequest(t, m)
				case "broadcast-ack":
					checkBroadcastAck(t, m)
				case "request":
					checkRequest(t, m)
				case "response":
					checkResponse(t, m)
				default:
					t.Fatalf("unknown message on %s", m.Channel)
				}
			})
		}
	}
	for _, k := range []string{"broadcast", "broadcast-request", "broadcast-ack", "request", "response"} {
		if seen[k] == 0 {
			t.Errorf("no %s vector", k)
		}
	}
}

func classify(m *message) string {
	switch {
	case strings.Contains(m.Channel, "-request#"):
		if m.Encoding == "msgpack" {
			return "broadcast-request"
		}
		return "request"
	case strings.Contains(m.Channel, "-response#"):
		if m.Encoding == "msgpack" {
			return "broadcast-ack"
		}
		return "response"
	}
	return "broadcast"
}

func checkBroadcast(t *testing.T, name string, m *message) {
	raw := m.bytes(t)
	b, err := DecodeBroadcast(raw)
	if err != nil {
		t.Fatal(err)
	}
	var want []json.RawMessage
	if err := json.Unmarshal(m.Decoded, &want); err != nil {
		t.Fatal(err)
	}
	var uid string
	var pkt struct {
		Type int    `json:"type"`
		Nsp  string `json:"nsp"`
	}
	var opts struct {
		Rooms  []string       `json:"rooms"`
		Except []string       `json:"except"`
		Flags  map[string]any `json:"flags"`
	}
	mustUnmarshal(t, want[0], &uid)
	mustUnmarshal(t, want[1], &pkt)
	mustUnmarshal(t, want[2], &opts)
	equal(t, "uid", b.UID, uid)
	equal(t, "type", int(b.Packet.Type), pkt.Type)
	equal(t, "nsp", b.Packet.Namespace, pkt.Nsp)
	equal(t, "rooms", nonNilStrings(b.Opts.Rooms), nonNilStrings(opts.Rooms))
	equal(t, "except", nonNilStrings(b.Opts.Except), nonNilStrings(opts.Except))
	equal(t, "flags", flagsMap(b.Opts.Flags), opts.Flags)
	if corruptedByNode[name] {
		equal(t, "data", jsonValue(t, b.Packet.Data), jsonValue(t, []byte(m.Packet.JSON)))
	} else {
		equal(t, "data", string(b.Packet.Data), m.Packet.JSON)
	}
	equal(t, "attachments", b.Packet.Attachments, m.attachments(t))

	if decodeOnly[name] {
		return
	}
	// Encode what a Go server holds after decoding a client's packet.
	in := &Broadcast{
		UID:    uid,
		Packet: &protocol.Packet{Type: protocol.Event, Namespace: pkt.Nsp, Data: []byte(m.Packet.JSON), Attachments: m.attachments(t)},
		Opts:   b.Opts,
	}
	if corruptedByNode[name] {
		in.Packet.Data = []byte(`["huge",1e21,-1e21,1.7976931348623157e308]`)
	}
	got, err := AppendBroadcast(nil, in, uid == "emitter")
	if err != nil {
		t.Fatal(err)
	}
	if corruptedByNode[name] {
		if bytes.Equal(got, raw) {
			t.Fatal("expected the Go encoding to differ from notepack's corrupted one")
		}
		back, err := DecodeBroadcast(got)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "round trip", string(back.Packet.Data), `["huge",1e+21,-1e+21,1.7976931348623157e+308]`)
		return
	}
	equalHex(t, got, raw)
}

func checkBroadcastRequest(t *testing.T, m *message) {
	raw := m.bytes(t)
	r, err := DecodeRequest(raw)
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		UID       string `json:"uid"`
		RequestID string `json:"requestId"`
		Type      int    `json:"type"`
		Opts      struct {
			Rooms  []string       `json:"rooms"`
			Except []string       `json:"except"`
			Flags  map[string]any `json:"flags"`
		} `json:"opts"`
	}
	mustUnmarshal(t, m.Decoded, &want)
	equal(t, "type", r.Type, BroadcastWithAck)
	equal(t, "uid", r.UID, want.UID)
	equal(t, "requestId", r.RequestID, want.RequestID)
	equal(t, "rooms", nonNilStrings(r.Opts.Rooms), nonNilStrings(want.Opts.Rooms))
	equal(t, "flags", flagsMap(r.Opts.Flags), want.Opts.Flags)
	equal(t, "data", string(r.Packet.Data), m.Packet.JSON)
	got, err := AppendRequest(nil, r)
	if err != nil {
		t.Fatal(err)
	}
	equalHex(t, got, raw)
}

func checkBroadcastAck(t *testing.T, m *message) {
	raw := m.bytes(t)
	r, err := DecodeResponse(raw)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "type", r.Type, BroadcastAck)
	// the recorded Socket.IO form is [value]
	equal(t, "value", "["+string(r.Data)+"]", m.Packet.JSON)
	var want struct {
		RequestID string `json:"requestId"`
	}
	mustUnmarshal(t, m.Decoded, &want)
	equal(t, "requestId", r.RequestID, want.RequestID)
	got, err := AppendBroadcastAck(nil, r.RequestID, r.Data, r.Attachments)
	if err != nil {
		t.Fatal(err)
	}
	equalHex(t, got, raw)
}

func checkRequest(t *testing.T, m *message) {
	raw := m.bytes(t)
	r, err := DecodeRequest(raw)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]json.RawMessage
	mustUnmarshal(t, raw, &want)
	var typ int
	mustUnmarshal(t, want["type"], &typ)
	equal(t, "type", int(r.Type), typ)
	if r.SID != "" { // legacy request by socket id: answered, never sent
		equal(t, "room", r.Room, "room5")
		return
	}
	if r.Type == ServerSideEmit {
		equal(t, "data", string(r.Data), string(want["data"]))
	}
	got, err := AppendRequest(nil, r)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "json", string(got), string(raw))
}

func checkResponse(t *testing.T, m *message) {
	raw := m.bytes(t)
	r, err := DecodeResponse(raw)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	switch {
	case r.Type == BroadcastClientCount:
		if r.ClientCount != 1 {
			t.Errorf("client count %d, want 1", r.ClientCount)
		}
		got = AppendClientCount(nil, r.RequestID, r.ClientCount)
	case r.Type == ServerSideEmit:
		equal(t, "data", string(r.Data), `{"pong":7}`)
		got = AppendServerSideEmitResponse(nil, r.RequestID, r.Data)
	case r.Rooms != nil:
		got = AppendRoomsResponse(nil, r.RequestID, r.Rooms)
	case len(r.Sockets) > 1 && r.Sockets[1] == '"', string(r.Sockets) == "[]":
		var ids []string
		mustUnmarshal(t, r.Sockets, &ids)
		got = AppendSocketIDsResponse(nil, r.RequestID, ids)
	case r.Sockets != nil:
		elems, err := protocol.SplitArray(r.Sockets)
		if err != nil {
			t.Fatal(err)
		}
		if len(elems) != 1 {
			t.Fatalf("%d sockets, want 1", len(elems))
		}
		var s struct {
			ID    string   `json:"id"`
			Rooms []string `json:"rooms"`
		}
		mustUnmarshal(t, elems[0], &s)
		if len(s.ID) != 20 || len(s.Rooms) == 0 || s.Rooms[0] != s.ID {
			t.Errorf("socket %+v", s)
		}
		got = AppendFetchResponse(nil, r.RequestID, elems)
	default:
		got = AppendDoneResponse(nil, r.RequestID)
	}
	equal(t, "json", string(got), string(raw))
}

func flagsMap(f Flags) map[string]any {
	m := map[string]any{}
	if f.Volatile {
		m["volatile"] = true
	}
	if f.NoCompress {
		m["compress"] = false
	}
	if f.Local {
		m["local"] = true
	}
	if f.ExpectSingleResponse {
		m["expectSingleResponse"] = true
	}
	if f.Timeout > 0 {
		m["timeout"] = float64(f.Timeout / time.Millisecond)
	}
	return m
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func jsonValue(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	mustUnmarshal(t, b, &v)
	return v
}

func mustUnmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
}

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %#v\nwant %#v", what, got, want)
	}
}

func equalHex(t *testing.T, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("bytes differ:\n got %x\nwant %x", got, want)
	}
}
