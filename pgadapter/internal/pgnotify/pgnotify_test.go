package pgnotify

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/sio-go/socketio/internal/cluster/wire"
	"github.com/sio-go/socketio/protocol"
)

// Small messages travel as the JSON the Node adapter writes; from the
// threshold on, or with binary values, as MessagePack in the table.
func TestEncode(t *testing.T) {
	broadcast := func(data string, atts ...[]byte) *wire.ClusterMessage {
		return &wire.ClusterMessage{Type: wire.ClusterBroadcast, UID: "u1", Nsp: "/",
			Packet: &protocol.Packet{Type: protocol.Event, Data: []byte(data), Attachments: atts},
			Opts:   &wire.Opts{Rooms: []string{"r"}, Except: []string{}}}
	}
	e, err := Encode(broadcast(`["ev",1]`), 8000)
	if err != nil || e.Attachment {
		t.Fatalf("small broadcast: %+v %v", e, err)
	}
	want := `{"type":3,"data":{"packet":{"type":2,"data":["ev",1]},"opts":{"rooms":["r"],"except":[],"flags":{}}},"uid":"u1","nsp":"/"}`
	if string(e.Payload) != want {
		t.Fatalf("JSON:\n got %s\nwant %s", e.Payload, want)
	}
	n := len(e.Payload)
	if e, _ := Encode(broadcast(`["ev",1]`), n+1); e.Attachment {
		t.Error("a message one byte under the threshold went through the table")
	}
	if e, _ := Encode(broadcast(`["ev",1]`), n); !e.Attachment {
		t.Error("a message of the threshold's size went in the notification (NOTIFY refuses 8000 bytes)")
	}
	e, err = Encode(broadcast(`["ev",{"_placeholder":true,"num":0}]`, []byte{1, 2}), 8000)
	if err != nil || !e.Attachment || !bytes.Contains(e.Payload, []byte{0xc4, 2, 1, 2}) {
		t.Fatalf("binary broadcast: %+v %v", e, err)
	}
	back, err := wire.DecodeClusterMessage(e.Payload)
	if err != nil || back.Type != wire.ClusterBroadcast || len(back.Packet.Attachments) != 1 || back.UID != "u1" {
		t.Fatalf("decoded %+v %v", back, err)
	}
	// Binary values of other messages stay JSON (FETCH_SOCKETS_RESPONSE
	// carries the sockets as JSON).
	e, _ = Encode(&wire.ClusterMessage{Type: wire.Heartbeat, UID: "u1", Nsp: "/"}, 8000)
	if e.Attachment || string(e.Payload) != `{"type":2,"uid":"u1","nsp":"/"}` {
		t.Fatalf("heartbeat: %s", e.Payload)
	}
}

func TestReadHeader(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Header
		err  bool
	}{
		{`{"uid":"abc","type":3,"attachmentId":"42"}`, Header{UID: "abc", Type: 3, AttachmentID: "42"}, false},
		{`{"uid":"abc","type":3,"attachmentId":42}`, Header{UID: "abc", Type: 3, AttachmentID: "42"}, false},
		{`{"type":3,"data":{},"uid":"emitter"}`, Header{UID: "emitter", Type: 3}, false},
		{`{"uid":"abc","type":3,"attachmentId":"1; DROP TABLE x"}`, Header{}, true},
		{`not json`, Header{}, true},
	} {
		got, err := ReadHeader(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ReadHeader(%s) = %+v, %v", tc.in, got, err)
		}
	}
}

func TestUnreachable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Severity: "FATAL", Code: "57P01"}, true},
		{&pgconn.PgError{Severity: "FATAL", Code: "55000"}, true}, // database not accepting connections
		{&pgconn.PgError{Severity: "ERROR", Code: "08006"}, true},
		{&pgconn.PgError{Severity: "ERROR", Code: "42P01"}, false}, // no table
		{&pgconn.PgError{Severity: "ERROR", Code: "22023"}, false}, // payload too long
		{io.ErrUnexpectedEOF, true},
		{errors.New("some statement error"), false},
		{nil, false},
	} {
		if got := Unreachable(tc.err); got != tc.want {
			t.Errorf("Unreachable(%v) = %v", tc.err, got)
		}
	}
	if !strings.Contains(NewQueries("t").attach, "INSERT INTO t ") {
		t.Error("the table name is not in the statement")
	}
}

// ReadHeader reads what any server or the network sends: it must not
// panic, and an attachment id it accepts is a bigint.
func FuzzReadHeader(f *testing.F) {
	f.Add(`{"uid":"abc","type":3,"attachmentId":"42"}`)
	f.Add(`{"type":3,"data":{"packet":{"type":2,"data":["e"]}},"uid":"u","nsp":"/"}`)
	f.Add(`{"attachmentId":1e3}`)
	f.Fuzz(func(t *testing.T, payload string) {
		h, err := ReadHeader(payload)
		if err != nil || h.AttachmentID == "" {
			return
		}
		if _, err := strconv.ParseInt(h.AttachmentID, 10, 64); err != nil {
			t.Fatalf("attachment id %q accepted", h.AttachmentID)
		}
	})
}
