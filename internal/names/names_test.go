package names

import (
	"slices"
	"testing"
)

func TestPath(t *testing.T) {
	for in, want := range map[string]string{
		"":           "/socket.io/",
		"/":          "/",
		"io":         "/io/",
		"/io":        "/io/",
		"io/":        "/io/",
		"/a/b/":      "/a/b/",
		"/socket.io": "/socket.io/",
	} {
		if got := Path(in, "/socket.io/"); got != want {
			t.Errorf("Path(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUnion(t *testing.T) {
	base := make([]string, 2, 8)
	copy(base, []string{"a", "b"})
	got := Union(base, []string{"b", "c", "c", "d"})
	if want := []string{"a", "b", "c", "d"}; !slices.Equal(got, want) {
		t.Fatalf("Union = %v, want %v", got, want)
	}
	// base has room to grow: Union must not have written into its array.
	if extra := base[:3][2]; extra != "" {
		t.Fatalf("Union wrote %q into the array of dst", extra)
	}
	if got := Union(nil, nil); got == nil || len(got) != 0 {
		t.Fatalf("Union(nil, nil) = %#v", got)
	}
}
