package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sio-go/socketio/internal/siotest"
	"github.com/sio-go/socketio/internal/testutil"
)

func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }

func TestRoundTrip(t *testing.T) {
	srv := newSocketServer()
	hs := httptest.NewServer(routes(srv))
	defer hs.Close()
	defer func() { _ = srv.Shutdown(context.Background()) }()

	siotest.CheckEchoServer(t, hs.URL)

	// The application's own routes still answer.
	resp, err := http.Get(hs.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	if resp.StatusCode != 200 || string(body) != "ok\n" {
		t.Fatalf("GET /health: %s %q", resp.Status, body)
	}
}
