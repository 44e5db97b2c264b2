module github.com/sio-go/socketio/interop

go 1.26.0

require github.com/sio-go/socketio v0.0.0

require (
	github.com/gorilla/websocket v1.5.3 // indirect
	github.com/vmihailenco/msgpack/v5 v5.4.1 // indirect
	github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect
	golang.org/x/crypto v0.59.0
)

replace github.com/sio-go/socketio => ../
