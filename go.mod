module github.com/sio-go/socketio

go 1.26
