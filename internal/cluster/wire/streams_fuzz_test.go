package wire

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"unicode/utf8"
)

// streamsSeeds reads the stream entries and the session the Node package
// wrote (redisadapter/testdata/streams.json).
func streamsSeeds(f *testing.F) (entries []map[string]string, session string) {
	f.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "redisadapter", "testdata", "streams.json"))
	if err != nil {
		f.Fatal(err)
	}
	var rec struct {
		Steps []struct {
			Entries []struct {
				Fields map[string]string `json:"fields"`
			} `json:"entries"`
		} `json:"steps"`
		Session struct {
			Value string `json:"value"`
		} `json:"session"`
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		f.Fatal(err)
	}
	for _, st := range rec.Steps {
		for _, e := range st.Entries {
			entries = append(entries, e.Fields)
		}
	}
	if len(entries) == 0 || rec.Session.Value == "" {
		f.Fatal("streams.json holds no entries or no session")
	}
	return entries, rec.Session.Value
}

// FuzzDecodeStreamEntry feeds arbitrary entry fields to the decoder: it
// must not panic, and an entry it accepts must encode back to one that
// decodes to the same message type, namespace and uid.
func FuzzDecodeStreamEntry(f *testing.F) {
	entries, _ := streamsSeeds(f)
	for _, e := range entries {
		f.Add(e["uid"], e["nsp"], e["type"], e["data"])
	}
	f.Fuzz(func(t *testing.T, uid, nsp, typ, data string) {
		m, err := DecodeStreamEntry(uid, nsp, typ, data)
		if err != nil || !utf8.ValidString(uid) || !utf8.ValidString(nsp) {
			return // invalid UTF-8 becomes U+FFFD in JSON, as in JavaScript
		}
		for _, plaintext := range []bool{false, true} {
			enc, _, err := StreamData(m, plaintext)
			if err != nil {
				continue // a value the encoder refuses (e.g. a number JSON cannot hold)
			}
			back, err := DecodeStreamEntry(m.UID, m.Nsp, typ, enc)
			if err != nil {
				t.Fatalf("re-encoded entry %q does not decode: %v", enc, err)
			}
			if back.Type != m.Type || back.UID != m.UID || back.Nsp != m.Nsp {
				t.Fatalf("round trip changed the message: %+v became %+v", m, back)
			}
		}
	})
}

// FuzzDecodeSession feeds arbitrary stored sessions to the decoder: it must
// not panic, and a session it accepts must encode back to the same ids and
// rooms.
func FuzzDecodeSession(f *testing.F) {
	_, session := streamsSeeds(f)
	f.Add([]byte(session))
	f.Add([]byte("gqNzaWSg"))
	f.Fuzz(func(t *testing.T, text []byte) {
		s, err := DecodeSession(text)
		if err != nil {
			return
		}
		enc, err := AppendSession(nil, s)
		if err != nil {
			return // data the encoder refuses
		}
		back, err := DecodeSession(enc)
		if err != nil {
			t.Fatalf("re-encoded session %q does not decode: %v", enc, err)
		}
		if back.SID != s.SID || back.PID != s.PID || !slices.Equal(back.Rooms, s.Rooms) {
			t.Fatalf("round trip changed the session: %+v became %+v", s, back)
		}
	})
}
