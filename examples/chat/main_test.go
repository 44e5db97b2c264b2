package main

import (
	"testing"

	"github.com/sio-go/socketio/examples/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }
