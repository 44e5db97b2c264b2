package wire

import (
	"encoding/base64"
	"runtime"
	"testing"
)

// A bin value whose 4-byte length claims gigabytes, in a message a few
// bytes long, must fail without the decoder allocating what it claims.
func TestForgedBinLength(t *testing.T) {
	// {"packet":{"type":2,"data":[<bin32 of 0x7fffffff bytes> "abc"]}}
	data := []byte{0x81, 0xa6, 'p', 'a', 'c', 'k', 'e', 't',
		0x82, 0xa4, 't', 'y', 'p', 'e', 0x02,
		0xa4, 'd', 'a', 't', 'a', 0x91, 0xc6, 0x7f, 0xff, 0xff, 0xff, 'a', 'b', 'c'}
	// The same as a whole cluster message of the sharded adapter.
	msg := append([]byte{0x84, 0xa3, 'u', 'i', 'd', 0xa1, 'x', 0xa3, 'n', 's', 'p', 0xa1, '/',
		0xa4, 't', 'y', 'p', 'e', 0x03, 0xa4, 'd', 'a', 't', 'a'}, data...)

	for name, decode := range map[string]func() error{
		"stream entry": func() error {
			_, err := DecodeStreamEntry("x", "/", "3", base64.StdEncoding.EncodeToString(data))
			return err
		},
		"stream entry found by the fuzzer": func() error {
			_, err := DecodeStreamEntry("0", "\x0f", "9", "gqZwYWNrZXST78bDZXB0kKVmbGFnc4A=")
			return err
		},
		"cluster message": func() error {
			_, err := DecodeClusterMessage(msg)
			return err
		},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err := decode()
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("%s: decoded a truncated bin value", name)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
			t.Errorf("%s: allocated %d bytes for a %d-byte message", name, grew, len(msg))
		}
	}
}

// Decoders go back to a pool: truncated messages with forged lengths, one
// after another, must not grow the memory the pool keeps.
func TestForgedLengthsKeepNoMemory(t *testing.T) {
	msg := []byte("\x93\xc6\xc6\xc6\xc6\xc6\xc60\xc6") // a bin of 3 GB claimed, 9 bytes sent
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 300 {
		if _, err := DecodeBroadcast(msg); err == nil {
			t.Fatal("decoded a truncated message")
		}
	}
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 64<<20 {
		t.Fatalf("the heap grew by %d MB over 300 messages of 9 bytes", grew>>20)
	}
}

// A nil where a map is expected (a cluster message's data, a broadcast's
// options) reads as an empty map; a value of another kind is refused.
func TestNilMaps(t *testing.T) {
	// {"uid":"x","nsp":"/","type":<t>,"data":nil}
	msg := func(typ byte, data ...byte) []byte {
		return append([]byte{0x84, 0xa3, 'u', 'i', 'd', 0xa1, 'x', 0xa3, 'n', 's', 'p', 0xa1, '/',
			0xa4, 't', 'y', 'p', 'e', typ, 0xa4, 'd', 'a', 't', 'a'}, data...)
	}
	m, err := DecodeClusterMessage(msg(byte(ClusterServerSideEmit), 0xc0))
	if err != nil || m.Type != ClusterServerSideEmit || m.RequestID != "" {
		t.Fatalf("nil data: %+v, %v", m, err)
	}
	if _, err := DecodeClusterMessage(msg(byte(ClusterServerSideEmit), 0x2a)); err == nil {
		t.Error("an integer for data was accepted")
	}
	// ["uid", {"type":2,"data":["a"],"nsp":"/"}, nil]
	b, err := DecodeBroadcast([]byte{0x93, 0xa3, 'u', 'i', 'd',
		0x83, 0xa4, 't', 'y', 'p', 'e', 0x02, 0xa4, 'd', 'a', 't', 'a', 0x91, 0xa1, 'a', 0xa3, 'n', 's', 'p', 0xa1, '/',
		0xc0})
	if err != nil || len(b.Opts.Rooms) != 0 || len(b.Opts.Except) != 0 || string(b.Packet.Data) != `["a"]` {
		t.Fatalf("nil options: %+v, %v", b, err)
	}
}
