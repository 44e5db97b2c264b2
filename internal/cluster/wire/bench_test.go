package wire

import (
	"testing"

	"github.com/sio-go/socketio/protocol"
)

var benchPacket = &protocol.Packet{
	Type:      protocol.Event,
	Namespace: "/",
	Data:      []byte(`["chat message",{"user":"alice","text":"hello world, how are you?","ts":1700000000123,"tags":["a","b"],"score":4.5}]`),
}

func BenchmarkAppendBroadcast(b *testing.B) {
	m := &Broadcast{UID: "abcdef", Packet: benchPacket, Opts: Opts{Rooms: []string{"room1"}}}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendBroadcast(buf[:0], m, false); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBroadcast(b *testing.B) {
	msg, err := AppendBroadcast(nil, &Broadcast{UID: "abcdef", Packet: benchPacket, Opts: Opts{Rooms: []string{"room1"}}}, false)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeBroadcast(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendRequest(b *testing.B) {
	r := &Request{Type: RemoteJoin, UID: "abcdef", Opts: &Opts{Rooms: []string{"room1"}, Except: []string{}}, Rooms: []string{"room2"}}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendRequest(buf[:0], r)
	}
}
