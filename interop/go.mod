module github.com/sio-go/socketio/interop

go 1.26.0

require (
	github.com/redis/go-redis/v9 v9.23.0
	github.com/sio-go/socketio v0.0.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)

require (
	github.com/gorilla/websocket v1.5.3 // indirect
	github.com/sio-go/socketio/redisadapter v0.0.0
	github.com/vmihailenco/msgpack/v5 v5.4.1 // indirect
	github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect
	golang.org/x/crypto v0.59.0
)

replace github.com/sio-go/socketio => ../

replace github.com/sio-go/socketio/redisadapter => ../redisadapter
