package main

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what users send.
const (
	maxNickLen    = 20  // runes
	maxRoomLen    = 24  // bytes, [a-z0-9_-]
	maxMessageLen = 500 // runes
	maxRooms      = 10  // rooms one socket may be in
)

var (
	errNoNick      = errors.New("choose a nickname first")
	errNotInRoom   = errors.New("join the room first")
	errTooManyRoom = errors.New("too many rooms: leave one first")
)

// validNick trims a nickname and checks it: 1 to 20 letters, digits,
// spaces, '_', '-' or '.'.
func validNick(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("nickname is empty")
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxNickLen {
		return "", errors.New("nickname is longer than 20 characters")
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(" _-.", r) {
			return "", errors.New("nickname may hold letters, digits, spaces, '_', '-' and '.' only")
		}
	}
	return s, nil
}

// validRoom checks a room name: 1 to 24 of a-z, 0-9, '_' and '-'.
func validRoom(s string) (string, error) {
	if s == "" {
		return "", errors.New("room name is empty")
	}
	if len(s) > maxRoomLen {
		return "", errors.New("room name is longer than 24 characters")
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' && r != '-' {
			return "", errors.New("room name may hold a-z, 0-9, '_' and '-' only")
		}
	}
	return s, nil
}

// validText trims a message and checks it: 1 to 500 characters, no control
// characters but newlines and tabs.
func validText(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("message is empty")
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxMessageLen {
		return "", errors.New("message is longer than 500 characters")
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return "", errors.New("message holds control characters")
		}
	}
	return s, nil
}
