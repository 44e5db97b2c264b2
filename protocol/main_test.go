package protocol

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/sio-go/socketio/internal/testutil"
)

func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }

func equal[T any](t testing.TB, name string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", name, got, want)
	}
}

func isError(t testing.TB, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}

func noError(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// samePacket compares packets treating nil and empty byte slices alike.
func samePacket(a, b *Packet) bool {
	if a.Type != b.Type || a.Namespace != b.Namespace || a.ID != b.ID || a.HasID != b.HasID ||
		!bytes.Equal(a.Data, b.Data) || len(a.Attachments) != len(b.Attachments) {
		return false
	}
	for i := range a.Attachments {
		if !bytes.Equal(a.Attachments[i], b.Attachments[i]) {
			return false
		}
	}
	return true
}
