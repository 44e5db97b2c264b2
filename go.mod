module github.com/sio-go/socketio

go 1.26.0

require (
	github.com/gorilla/websocket v1.5.3
	github.com/vmihailenco/msgpack/v5 v5.4.1
	golang.org/x/crypto v0.59.0
	golang.org/x/time v0.16.0
)

require github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect
