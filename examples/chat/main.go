// Command chat is a small chat served by the Go Socket.IO server, with the
// official browser client: nicknames, rooms, acknowledged messages, typing
// indicators, who is online, and connection state recovery, so that a page
// that lost its connection for a while gets the messages it missed.
//
// It keeps everything in memory. Run it with `make demo` from the repository
// root, or from this folder:
//
//	npm ci        # once: fetches the official browser client
//	go run .
//
// Environment:
//
//	PORT        port to listen on (default 8080)
//	ADDR        address to listen on: a host (default 127.0.0.1) or host:port
//	CLIENT_DIR  folder of socket.io.js (default node_modules/socket.io-client/dist)
//	DEBUG       debug logs to stderr, e.g. socket.io:*,engine.io:*
//
// It serves the page at /, the client at /socket.io/socket.io.min.js and
// Prometheus metrics at /metrics.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
}

// listenAddr returns the address to listen on from ADDR and PORT.
func listenAddr(addr, port string) string {
	if port == "" {
		port = "8080"
	}
	if addr == "" {
		addr = "127.0.0.1"
	}
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr // host:port
	}
	return net.JoinHostPort(strings.Trim(addr, "[]"), port)
}

func run() error {
	clientDir := os.Getenv("CLIENT_DIR")
	if clientDir == "" {
		clientDir = "node_modules/socket.io-client/dist"
	}
	c, err := newChat(options{
		ClientDir:      clientDir,
		Debug:          os.Getenv("DEBUG"),
		ProcessMetrics: true,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listenAddr(os.Getenv("ADDR"), os.Getenv("PORT")))
	if err != nil {
		_ = c.Shutdown(context.Background())
		return err
	}
	hs := &http.Server{
		Handler: c.handler,
		// Long-polls wait up to PingInterval (25 s): see the README, "Serving".
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: 2 * time.Minute,
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Shutdown(sctx)
		_ = hs.Shutdown(sctx)
	}()

	fmt.Printf("chat demo: http://%s/  (metrics at /metrics; Ctrl-C to stop)\n", ln.Addr())
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		stop()
		<-done
		return err
	}
	<-done
	return nil
}
