package typed

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/sio-go/socketio/protocol"
)

func TestResult(t *testing.T) {
	args := protocol.NewArgs([]json.RawMessage{json.RawMessage(`{"n":2}`)}, nil)
	type reply struct{ N int }
	r, err := Result[reply](args, nil)
	if err != nil || r.N != 2 {
		t.Fatalf("Result = %+v, %v", r, err)
	}
	wait := errors.New("timed out")
	if _, err := Result[reply](args, wait); !errors.Is(err, wait) {
		t.Fatalf("the waiting error became %v", err)
	}
	if _, err := Result[string](args, nil); err == nil {
		t.Fatal("an object decoded into a string")
	}
}
