module github.com/sio-go/socketio/bench

go 1.26

replace github.com/sio-go/socketio => ../

require (
	github.com/gorilla/websocket v1.5.3
	github.com/sio-go/socketio v0.0.0
)
