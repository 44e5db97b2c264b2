package typed

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/sio-go/socketio/protocol"
)

func TestResult(t *testing.T) {
	a := protocol.NewArgs([]json.RawMessage{json.RawMessage(`{"n":2}`)}, nil)
	type reply struct{ N int }
	r, err := Result[reply](a, nil)
	if err != nil || r.N != 2 {
		t.Fatalf("Result = %+v, %v", r, err)
	}
	wait := errors.New("timed out")
	if _, err := Result[reply](a, wait); !errors.Is(err, wait) {
		t.Fatalf("the waiting error became %v", err)
	}
	if _, err := Result[string](a, nil); err == nil {
		t.Fatal("an object decoded into a string")
	}
	failed := protocol.NewArgs([]json.RawMessage{json.RawMessage(`{"error":{"code":"full","message":"room full"}}`)}, nil)
	_, err = Result[reply](failed, nil)
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != "full" || pe.Message != "room full" {
		t.Fatalf("an error reply gave %v", err)
	}
}
