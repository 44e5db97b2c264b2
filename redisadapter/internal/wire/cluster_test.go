package wire

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// Every message the sharded Node adapter published decodes, and encodes
// back to the same bytes.
func TestClusterVectors(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "sharded.json"))
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
