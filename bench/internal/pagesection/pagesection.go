// Package pagesection keeps a named, generated section inside a markdown
// page that another generator writes: the section sits between two HTML
// comments, which markdown does not show, and survives the page being
// regenerated.
package pagesection

import (
	"errors"
	"fmt"
	"strings"
)

// Scale names the section of docs/benchmarks.md that cmd/scalerun writes
// and cmd/benchrun keeps.
const Scale = "scalerun"

// ErrUnterminated is returned for a page whose section has its opening
// marker but not its closing one: rewriting it could swallow what follows.
var ErrUnterminated = errors.New("pagesection: section without its end marker")

func markers(name string) (begin, end string) {
	return "<!-- begin " + name + " -->\n", "<!-- end " + name + " -->\n"
}

// Extract returns the section called name in page, markers included, or ""
// when page has none.
func Extract(page, name string) (string, error) {
	begin, end := markers(name)
	i := strings.Index(page, begin)
	if i < 0 {
		return "", nil
	}
	j := strings.Index(page[i:], end)
	if j < 0 {
		return "", fmt.Errorf("%w: %q", ErrUnterminated, name)
	}
	return page[i : i+j+len(end)], nil
}

// Wrap puts body between the markers of the section called name.
func Wrap(name, body string) string {
	begin, end := markers(name)
	if body != "" && !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	return begin + body + end
}

// Splice returns page with its section called name replaced by section
// (which Wrap made). When page has none, section goes in before the first
// line that starts with before (a heading, say), or else at the end.
func Splice(page, name, section, before string) (string, error) {
	old, err := Extract(page, name)
	switch {
	case err != nil:
		return "", err
	case old != "":
		return strings.Replace(page, old, section, 1), nil
	case page == "":
		return section, nil
	}
	if before != "" {
		if i := strings.Index("\n"+page, "\n"+before); i >= 0 {
			return page[:i] + section + "\n" + page[i:], nil
		}
	}
	return strings.TrimRight(page, "\n") + "\n\n" + section, nil
}
