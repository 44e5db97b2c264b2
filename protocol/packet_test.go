package protocol

import (
	"encoding/json"
	"testing"
)

func TestPacketTypeString(t *testing.T) {
	want := []string{"CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK", "PacketType(7)"}
	for i, w := range want {
		equal(t, "String", PacketType(i).String(), w)
		equal(t, "Valid", PacketType(i).Valid(), i < 7)
		equal(t, "IsBinary", PacketType(i).IsBinary(), i == 5 || i == 6)
	}
}

func TestEncode(t *testing.T) {
	tests := []struct {
		name string
		p    Packet
		want string
	}{
		{"connect", Packet{Type: Connect}, "0"},
		{"connect slash", Packet{Type: Connect, Namespace: "/"}, "0"},
		{"connect nsp", Packet{Type: Connect, Namespace: "/admin", Data: json.RawMessage(`{"sid":"oSO0OpakMV_3jnilAAAA"}`)},
			`0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}`},
		{"disconnect", Packet{Type: Disconnect, Namespace: "/"}, "1"},
		{"disconnect nsp", Packet{Type: Disconnect, Namespace: "/admin"}, "1/admin,"},
		{"event", Packet{Type: Event, Data: json.RawMessage(`["foo"]`)}, `2["foo"]`},
		{"event nsp", Packet{Type: Event, Namespace: "/admin", Data: json.RawMessage(`["bar"]`)}, `2/admin,["bar"]`},
		{"event id", Packet{Type: Event, Namespace: "/", ID: 12, HasID: true, Data: json.RawMessage(`["foo"]`)}, `212["foo"]`},
		{"event id zero", Packet{Type: Event, HasID: true, Data: json.RawMessage(`["foo"]`)}, `20["foo"]`},
		{"event id ignored", Packet{Type: Event, ID: 7, Data: json.RawMessage(`["foo"]`)}, `2["foo"]`},
		{"event nsp id", Packet{Type: Event, Namespace: "/admin", ID: 13, HasID: true, Data: json.RawMessage(`["ev"]`)}, `2/admin,13["ev"]`},
		{"ack", Packet{Type: Ack, ID: 456, HasID: true, Data: json.RawMessage(`[1,"2",{"3":[false]}]`)}, `3456[1,"2",{"3":[false]}]`},
		{"ack nsp", Packet{Type: Ack, Namespace: "/admin", ID: 13, HasID: true, Data: json.RawMessage(`[]`)}, `3/admin,13[]`},
		{"connect error", Packet{Type: ConnectError, Data: json.RawMessage(`{"message":"Not authorized"}`)}, `4{"message":"Not authorized"}`},
		{"connect error nsp", Packet{Type: ConnectError, Namespace: "/random", Data: json.RawMessage(`{"message":"Invalid namespace"}`)},
			`4/random,{"message":"Invalid namespace"}`},
		{"binary event", Packet{Type: BinaryEvent, Data: json.RawMessage(`["baz",` + ph0 + `]`), Attachments: [][]byte{{1, 2, 3, 4}}},
			`51-["baz",` + ph0 + `]`},
		{"binary event nsp", Packet{Type: BinaryEvent, Namespace: "/admin", Data: json.RawMessage(`["baz",` + ph0 + `,` + ph1 + `]`),
			Attachments: [][]byte{{1, 2}, {3, 4}}}, `52-/admin,["baz",` + ph0 + `,` + ph1 + `]`},
		{"binary event zero attachments", Packet{Type: BinaryEvent, Data: json.RawMessage(`["a"]`)}, `50-["a"]`},
		{"event with attachments", Packet{Type: Event, Data: json.RawMessage(`["a",` + ph0 + `]`), Attachments: [][]byte{{1}}},
			`51-["a",` + ph0 + `]`},
		{"binary ack", Packet{Type: BinaryAck, ID: 13, HasID: true, Data: json.RawMessage(`[` + ph0 + `]`), Attachments: [][]byte{{1}}},
			`61-13[` + ph0 + `]`},
		{"ack with attachments", Packet{Type: Ack, Namespace: "/x", ID: 789, HasID: true,
			Data: json.RawMessage(`[` + ph0 + `,` + ph1 + `]`), Attachments: [][]byte{{1}, {2}}}, `62-/x,789[` + ph0 + `,` + ph1 + `]`},
		{"max id", Packet{Type: Ack, ID: 1<<64 - 1, HasID: true, Data: json.RawMessage(`[]`)}, `318446744073709551615[]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			equal(t, "Encode", string(tt.p.Encode()), tt.want)
			equal(t, "AppendEncode", string(tt.p.AppendEncode([]byte("4"))), "4"+tt.want)
		})
	}
}

func TestAppendEncodeAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts")
	}
	packets := []Packet{
		{Type: Event, Namespace: "/chat", ID: 42, HasID: true, Data: json.RawMessage(`["echo",{"a":1}]`)},
		{Type: BinaryEvent, Data: json.RawMessage(`["a",` + ph0 + `]`), Attachments: [][]byte{{1}}},
	}
	buf := make([]byte, 0, 256)
	for _, p := range packets {
		allocs := testing.AllocsPerRun(100, func() { buf = p.AppendEncode(buf[:0]) })
		equal(t, "allocations of AppendEncode", allocs, 0.0)
		allocs = testing.AllocsPerRun(100, func() { buf = p.Encode() })
		equal(t, "allocations of Encode", allocs, 1.0)
	}
}
