package protocol

import (
	"errors"
	"testing"
)

func TestJSONParser(t *testing.T) {
	p := &Packet{Type: Event, Namespace: "/a", ID: 3, HasID: true,
		Data: []byte(`["up",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{1, 2}}}
	msgs, err := JSON.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].Binary || string(msgs[0].Data) != `51-/a,3["up",{"_placeholder":true,"num":0}]` ||
		!msgs[1].Binary || string(msgs[1].Data) != "\x01\x02" {
		t.Fatalf("messages %+v", msgs)
	}
	dec := JSON.NewDecoder(0)
	if q, err := dec.Decode(msgs[0].Data, false); q != nil || err != nil {
		t.Fatalf("text part: %v %v", q, err)
	}
	q, err := dec.Decode(msgs[1].Data, true)
	if err != nil || q.Type != BinaryEvent || q.ID != 3 || string(q.Data) != string(p.Data) || len(q.Attachments) != 1 {
		t.Fatalf("decoded %+v, %v", q, err)
	}
	// the attachment bound is the decoder's
	if _, err := JSON.NewDecoder(-1).Decode(msgs[0].Data, false); !errors.Is(err, ErrTooManyAttachments) {
		t.Fatalf("no attachments allowed: %v", err)
	}
}

func TestCheck(t *testing.T) {
	cases := []struct {
		p    Packet
		want error
	}{
		{Packet{Type: Event, Data: []byte(`["a",1]`)}, nil},
		{Packet{Type: Connect}, nil},
		{Packet{Type: Connect, Data: []byte(`{"token":"x"}`)}, nil},
		{Packet{Type: Event, Data: []byte(`["connect"]`)}, ErrReservedEvent},
		{Packet{Type: Event, Data: []byte(`[true]`)}, ErrInvalidPayload},
		{Packet{Type: Event}, ErrInvalidPayload},
		{Packet{Type: Ack, Data: []byte(`{}`)}, ErrInvalidPayload},
		{Packet{Type: Disconnect, Data: []byte(`[]`)}, ErrInvalidPayload},
		{Packet{Type: BinaryEvent, Data: []byte(`["a",{"_placeholder":true,"num":1}]`), Attachments: [][]byte{{}}}, ErrIllegalAttachments},
		{Packet{Type: BinaryEvent, Data: []byte(`["a",{"_placeholder":true,"num":0}]`), Attachments: [][]byte{{}}}, nil},
		{Packet{Type: 9}, ErrUnknownType},
	}
	for _, c := range cases {
		err := Check(&c.p)
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("Check(%v %s) = %v, want %v", c.p.Type, c.p.Data, err, c.want)
		}
		if err != nil && !errors.Is(err, ErrInvalidPacket) {
			t.Errorf("%v does not wrap ErrInvalidPacket", err)
		}
	}
}
