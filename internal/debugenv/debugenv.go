// Package debugenv reads the DEBUG environment variable the way the official
// JavaScript packages do ("socket.io:*,engine.io:*", "*", "-engine.io:*"…)
// and turns it into debug loggers for the Socket.IO and Engine.IO layers.
package debugenv

import (
	"io"
	"log/slog"
	"regexp"
	"strings"
)

// The components of each layer, as the official packages name them.
var (
	socketIOComponents = []string{"socket.io:server", "socket.io:namespace", "socket.io:socket", "socket.io:client", "socket.io-adapter"}
	engineIOComponents = []string{"engine", "engine:socket", "engine:polling", "engine:ws", "engine.io:server", "engine.io:socket"}
)

// Spec is a parsed DEBUG value: names to enable and names to skip, with *
// as a wildcard.
type Spec struct {
	enable, skip []*regexp.Regexp
}

// Parse reads a DEBUG value: patterns separated by commas or spaces; a
// pattern starting with "-" disables the names it matches.
func Parse(debug string) Spec {
	var s Spec
	for _, p := range strings.FieldsFunc(debug, func(r rune) bool { return r == ',' || r == ' ' }) {
		skip := strings.HasPrefix(p, "-")
		p = strings.TrimPrefix(p, "-")
		if p == "" {
			continue
		}
		re := regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(p), `\*`, ".*") + "$")
		if skip {
			s.skip = append(s.skip, re)
		} else {
			s.enable = append(s.enable, re)
		}
	}
	return s
}

// Enabled reports whether the spec turns on the component name.
func (s Spec) Enabled(name string) bool {
	for _, re := range s.skip {
		if re.MatchString(name) {
			return false
		}
	}
	for _, re := range s.enable {
		if re.MatchString(name) {
			return true
		}
	}
	return false
}

func (s Spec) any(names []string) bool {
	for _, n := range names {
		if s.Enabled(n) {
			return true
		}
	}
	return false
}

// Loggers returns debug-level loggers writing text to w for the Socket.IO
// layer (socketio.Config.Logger) and the Engine.IO layer
// (socketio.Config.Engine.Logger) when the spec enables one of their
// components ("socket.io:*", "engine.io:*" or "engine:*"), and a logger that
// discards everything for a layer it does not enable.
func (s Spec) Loggers(w io.Writer) (sio, eio *slog.Logger) {
	discard := slog.New(slog.DiscardHandler)
	sio, eio = discard, discard
	h := slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})
	if s.any(socketIOComponents) {
		sio = slog.New(h).With("lib", "socket.io")
	}
	if s.any(engineIOComponents) {
		eio = slog.New(h).With("lib", "engine.io")
	}
	return sio, eio
}
