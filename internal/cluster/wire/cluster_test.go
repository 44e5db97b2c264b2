package wire

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Every message the sharded Node adapter published decodes, and encodes
// back to the same bytes.
func TestClusterVectors(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "redisadapter", "testdata", "sharded.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v vectorFile
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	types := map[ClusterType]int{}
	for _, st := range v.Steps {
		for i := range st.Messages {
			m := &st.Messages[i]
			t.Run(st.Name, func(t *testing.T) {
				raw, err := hex.DecodeString(m.Hex)
				if err != nil {
					t.Fatal(err)
				}
				cm, err := DecodeClusterMessage(raw)
				if err != nil {
					t.Fatal(err)
				}
				types[cm.Type]++
				if cm.UID == "" || cm.Nsp == "" {
					t.Errorf("uid %q nsp %q", cm.UID, cm.Nsp)
				}
				if m.Packet != nil && cm.Type == ClusterBroadcast {
					equal(t, "data", string(cm.Packet.Data), m.Packet.JSON)
					equal(t, "attachments", cm.Packet.Attachments, m.attachments(t))
					equal(t, "nsp", cm.Packet.Namespace, cm.Nsp)
				}
				got, err := AppendClusterMessage(nil, cm)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, raw) {
					t.Errorf("re-encoded:\n got %x\nwant %x\n(%s)", got, raw, got)
				}
			})
		}
	}
	for _, typ := range []ClusterType{ClusterBroadcast, SocketsJoin, SocketsLeave, DisconnectSockets, FetchSockets,
		FetchSocketsResponse, ClusterServerSideEmit, ServerSideEmitResponse, ClusterClientCount, ClusterBroadcastAck} {
		if types[typ] == 0 {
			t.Errorf("no vector of type %d", typ)
		}
	}
}

func TestClusterMalformed(t *testing.T) {
	for _, in := range []string{"", "{", `{"type":3}`, `{"type":3,"data":{"packet":{"data":"x"}}}`, "\x81\xa4type\x03", "\xc1"} {
		if _, err := DecodeClusterMessage([]byte(in)); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

// The options' JSON (data of the streams and the sharded adapters' JSON
// messages): members separated by commas whichever flags are set.
func TestOptsJSON(t *testing.T) {
	cases := []struct {
		opts *Opts
		want string
	}{
		{nil, `{"rooms":[],"except":[],"flags":{}}`},
		{&Opts{Rooms: []string{"a"}, Flags: Flags{Volatile: true}}, `{"rooms":["a"],"except":[],"flags":{"volatile":true}}`},
		{&Opts{Except: []string{"x", "y"}, Flags: Flags{NoCompress: true, Timeout: 1500 * time.Millisecond}},
			`{"rooms":[],"except":["x","y"],"flags":{"compress":false,"timeout":1500}}`},
		{&Opts{Flags: Flags{ExpectSingleResponse: true, Volatile: true, NoCompress: true, Local: true, Timeout: time.Second}},
			`{"rooms":[],"except":[],"flags":{"expectSingleResponse":true,"volatile":true,"compress":false,"local":true,"timeout":1000}}`},
	}
	for _, c := range cases {
		got := string(appendOptsJSON([]byte("x"), c.opts))
		if got != "x"+c.want {
			t.Errorf("got  %s\nwant x%s", got, c.want)
		}
		if !json.Valid([]byte(got[1:])) {
			t.Errorf("not JSON: %s", got[1:])
		}
	}
}
