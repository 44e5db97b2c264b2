module github.com/sio-go/socketio/interop

go 1.26

require github.com/sio-go/socketio v0.0.0

replace github.com/sio-go/socketio => ../
