package main

import (
	"log/slog"
	"os"
)

// debugLogger logs at debug level to stderr when DEBUG is set, and nothing
// otherwise.
func debugLogger() *slog.Logger {
	if os.Getenv("DEBUG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
