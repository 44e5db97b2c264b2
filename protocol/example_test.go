package protocol_test

import (
	"encoding/json"
	"fmt"

	"github.com/sio-go/socketio/protocol"
)

func ExampleDecoder() {
	var d protocol.Decoder
	// The Engine.IO messages of a binary event: its text, then its attachment.
	messages := []struct {
		data   string
		binary bool
	}{
		{`51-/chat,12["upload",{"_placeholder":true,"num":0}]`, false},
		{"\x01\x02\x03", true},
	}
	for _, m := range messages {
		p, err := d.Decode([]byte(m.data), m.binary)
		if err != nil {
			fmt.Println("close the connection:", err)
			return
		}
		if p == nil {
			fmt.Println("awaiting attachments")
			continue
		}
		name, args, _ := protocol.EventName(p.Data)
		num, _ := protocol.Placeholder(args[0])
		fmt.Println(p.Type, p.Namespace, p.ID, name, p.Attachments[num])
	}
	// Output:
	// awaiting attachments
	// BINARY_EVENT /chat 12 upload [1 2 3]
}

func ExampleDecoder_invalid() {
	var d protocol.Decoder
	_, err := d.Decode([]byte(`2["disconnect"]`), false)
	fmt.Println(err)
	// Output:
	// protocol: reserved event name
}

func ExamplePacket_AppendEncode() {
	p := protocol.Packet{Type: protocol.Event, Namespace: "/admin", ID: 13, HasID: true, Data: json.RawMessage(`["ev"]`)}
	buf := []byte{'4'} // the Engine.IO message type
	buf = p.AppendEncode(buf)
	fmt.Println(string(buf))
	// Output:
	// 42/admin,13["ev"]
}

func ExampleMarshalArgs() {
	data, attachments, err := protocol.MarshalArgs([]any{"file", map[string]any{"name": "a.txt", "body": []byte("hi")}})
	if err != nil {
		panic(err)
	}
	p := protocol.Packet{Type: protocol.Event, Data: data, Attachments: attachments}
	fmt.Printf("%s + %q\n", p.Encode(), attachments)
	// Output:
	// 51-["file",{"body":{"_placeholder":true,"num":0},"name":"a.txt"}] + ["hi"]
}

func ExampleMarshalArgs_struct() {
	type file struct {
		Name  string   `json:"name"`
		Body  []byte   `json:"body"`                   // an attachment, a Buffer in Node
		Parts [][]byte `json:"parts,omitempty"`        // one attachment each
		Hash  []byte   `json:"hash" socketio:"base64"` // opted out: base64 text
	}
	data, attachments, err := protocol.MarshalArgs([]any{"file", &file{
		Name: "a.txt", Body: []byte("hi"), Parts: [][]byte{[]byte("h"), []byte("i")}, Hash: []byte{0xff},
	}})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s + %q\n", data, attachments)
	// Output:
	// ["file",{"name":"a.txt","body":{"_placeholder":true,"num":0},"parts":[{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}],"hash":"/w=="}] + ["hi" "h" "i"]
}

func ExampleInlineAttachments() {
	data := []byte(`["file",{"body":{"_placeholder":true,"num":0},"name":"a.txt"}]`)
	inlined, err := protocol.InlineAttachments(data, [][]byte{[]byte("hi")})
	if err != nil {
		panic(err)
	}
	_, args, _ := protocol.EventName(inlined)
	var file struct {
		Name string
		Body []byte
	}
	if err := json.Unmarshal(args[0], &file); err != nil {
		panic(err)
	}
	fmt.Printf("%s: %s\n", file.Name, file.Body)
	// Output:
	// a.txt: hi
}
