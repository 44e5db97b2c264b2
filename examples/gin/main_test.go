package main

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/sio-go/socketio/internal/siotest"
	"github.com/sio-go/socketio/internal/testutil"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	testutil.VerifyTestMain(m)
}

func TestRoundTrip(t *testing.T) {
	srv := newSocketServer()
	hs := httptest.NewServer(routes(srv))
	defer hs.Close()
	defer func() { _ = srv.Shutdown(context.Background()) }()

	siotest.CheckEchoServer(t, hs.URL)
}
