// Command conformance serves the contract of the official Engine.IO and
// Socket.IO protocol test suites on :3000.
//
//	conformance -mode engine.io   # echo server on /engine.io/
//	conformance -mode socket.io   # namespaces / and /custom on /socket.io/
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	mode := flag.String("mode", "engine.io", "engine.io or socket.io")
	addr := flag.String("addr", ":3000", "listen address")
	flag.Parse()

	var handler http.Handler
	var shutdown func(context.Context) error
	switch *mode {
	case "engine.io":
		handler, shutdown = engineIOServer()
	case "socket.io":
		handler, shutdown = socketIOServer()
	default:
		fmt.Fprintf(os.Stderr, "unknown mode %q\n", *mode)
		os.Exit(2)
	}

	srv := &http.Server{Addr: *addr, Handler: handler}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = shutdown(sctx)
		_ = srv.Shutdown(sctx)
	}()
	log.Printf("conformance server (%s) listening on %s", *mode, *addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
