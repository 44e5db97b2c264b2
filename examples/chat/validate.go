package main

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sio-go/socketio"
)

// Limits on what users send.
const (
	maxNickLen    = 20  // runes
	maxRoomLen    = 24  // bytes, [a-z0-9_-]
	maxMessageLen = 500 // runes
	maxRooms      = 10  // rooms one socket may be in
)

// The errors a client is told about: the acknowledgement carries their
// code and message ({"error":{"code":…,"message":…}}).
var (
	errNoNick      = &socketio.Error{Code: "no_nick", Message: "choose a nickname first"}
	errNotInRoom   = &socketio.Error{Code: "not_in_room", Message: "join the room first"}
	errTooManyRoom = &socketio.Error{Code: "too_many_rooms", Message: "too many rooms: leave one first"}
)

// invalid is a validation failure, reported as socketio.CodeInvalidArgument.
func invalid(msg string) error {
	return &socketio.Error{Code: socketio.CodeInvalidArgument, Message: msg}
}

// validNick trims a nickname and checks it: 1 to 20 letters, digits,
// spaces, '_', '-' or '.'.
func validNick(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", invalid("nickname is empty")
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxNickLen {
		return "", invalid("nickname is longer than 20 characters")
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(" _-.", r) {
			return "", invalid("nickname may hold letters, digits, spaces, '_', '-' and '.' only")
		}
	}
	return s, nil
}

// validRoom checks a room name: 1 to 24 of a-z, 0-9, '_' and '-'.
func validRoom(s string) (string, error) {
	if s == "" {
		return "", invalid("room name is empty")
	}
	if len(s) > maxRoomLen {
		return "", invalid("room name is longer than 24 characters")
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' && r != '-' {
			return "", invalid("room name may hold a-z, 0-9, '_' and '-' only")
		}
	}
	return s, nil
}

// validText trims a message and checks it: 1 to 500 characters, no control
// characters but newlines and tabs.
func validText(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", invalid("message is empty")
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxMessageLen {
		return "", invalid("message is longer than 500 characters")
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return "", invalid("message holds control characters")
		}
	}
	return s, nil
}
