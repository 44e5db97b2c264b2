package debugenv

import (
	"bytes"
	"strings"
	"testing"
)

func TestEnabled(t *testing.T) {
	for _, tc := range []struct {
		debug, name string
		want        bool
	}{
		{"", "socket.io:server", false},
		{"*", "engine:ws", true},
		{"socket.io:*", "socket.io:socket", true},
		{"socket.io:*", "engine.io:server", false},
		{"socket.io:*,engine.io:*", "engine.io:server", true},
		{"socket.io:* engine:*", "engine:polling", true},
		{"*,-engine*", "engine:ws", false},
		{"*,-engine*", "socket.io:client", true},
		{"socket.io:server", "socket.io:socket", false},
		{"socket.io:se?ver", "socket.io:server", false}, // ? is literal
	} {
		if got := Parse(tc.debug).Enabled(tc.name); got != tc.want {
			t.Errorf("Parse(%q).Enabled(%q) = %v, want %v", tc.debug, tc.name, got, tc.want)
		}
	}
}

func TestLoggers(t *testing.T) {
	var buf bytes.Buffer
	sio, eio := Parse("socket.io:*").Loggers(&buf)
	sio.Debug("from socket.io")
	eio.Debug("from engine.io")
	out := buf.String()
	if !strings.Contains(out, "from socket.io") || !strings.Contains(out, "lib=socket.io") {
		t.Fatalf("socket.io debug line missing: %q", out)
	}
	if strings.Contains(out, "from engine.io") {
		t.Fatalf("engine.io logged while not enabled: %q", out)
	}

	buf.Reset()
	sio, eio = Parse("socket.io:*,engine.io:*").Loggers(&buf)
	sio.Debug("a")
	eio.Debug("b")
	if n := strings.Count(buf.String(), "level=DEBUG"); n != 2 {
		t.Fatalf("got %d debug lines, want 2: %q", n, buf.String())
	}
}
