module github.com/sio-go/socketio/redisadapter

go 1.26

replace github.com/sio-go/socketio => ../

require (
	github.com/sio-go/socketio v0.0.0-00010101000000-000000000000
	github.com/vmihailenco/msgpack/v5 v5.4.1
)

require github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect
