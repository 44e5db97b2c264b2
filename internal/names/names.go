// Package names normalizes the names the server and the client share: the
// request path they are mounted on and the room lists of broadcasts.
package names

import (
	"slices"
	"strings"
)

// Path returns p as a path with a leading and a trailing slash, or def
// when p is empty.
func Path(p, def string) string {
	if p == "" {
		return def
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

// Union returns a new slice holding dst then the elements of add not
// already present; it never writes into dst's array, which other copies
// of a broadcast operator may share.
func Union(dst, add []string) []string {
	out := make([]string, len(dst), len(dst)+len(add))
	copy(out, dst)
	for _, r := range add {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}
