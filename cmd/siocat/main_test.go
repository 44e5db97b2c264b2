package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	socketio "github.com/sio-go/socketio"
	"github.com/sio-go/socketio/internal/testutil"
)

func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestSiocat(t *testing.T) {
	srv := socketio.NewServer(nil)
	srv.Of("/chat").Use(func(ctx context.Context, s *socketio.Socket) error {
		var a struct{ Token string }
		_ = json.Unmarshal(s.Handshake().Auth, &a)
		if a.Token != "t" {
			return &socketio.ConnectError{Message: "unauthorized", Data: "nope"}
		}
		return nil
	})
	srv.Of("/chat").OnConnect(func(s *socketio.Socket) {
		_ = s.Emit("welcome", "hi", []byte{1, 2})
		s.OnRaw("echo", func(ctx context.Context, a socketio.Args, ack socketio.AckFunc) {
			if ack != nil {
				_ = ack(a.Values()...)
			}
		})
	})
	hs := httptest.NewServer(srv)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		hs.Close()
	}()

	var out, errOut lockedBuffer
	in := strings.NewReader("echo \"x\" {\"n\":1} {\"$bin\":\"AwQ=\"}\nbad [\n")
	err := run(context.Background(), []string{"-auth", `{"token":"t"}`, "-ack", "5s", "-linger", "300ms", "-transport", "websocket", hs.URL + "/chat"}, in, &out, &errOut)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	lines := out.String()
	for _, want := range []string{
		`{"id":"`,
		`{"args":["hi",{"$bin":"AQI="}],"event":"welcome","type":"event"}`,
		`{"args":["x",{"n":1},{"$bin":"AwQ="}],"event":"echo","type":"ack"}`,
		`"type":"error"`,
	} {
		if !strings.Contains(lines, want) {
			t.Errorf("output lacks %s:\n%s", want, lines)
		}
	}

	out = lockedBuffer{}
	err = run(context.Background(), []string{hs.URL + "/chat"}, strings.NewReader(""), &out, &errOut)
	if err == nil || !strings.Contains(out.String(), `"message":"unauthorized"`) || !strings.Contains(out.String(), `"data":"nope"`) {
		t.Fatalf("refusal: %v\n%s", err, out.String())
	}
}
