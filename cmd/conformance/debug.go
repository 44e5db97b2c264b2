package main

import (
	"log/slog"
	"os"

	"github.com/sio-go/socketio/internal/debugenv"
)

// debugLoggers returns the loggers of the Socket.IO and Engine.IO layers
// that the DEBUG environment variable enables, as socket.io users know it
// (DEBUG='socket.io:*,engine.io:*'); the others discard everything.
func debugLoggers() (sio, eio *slog.Logger) {
	return debugenv.Parse(os.Getenv("DEBUG")).Loggers(os.Stderr)
}
