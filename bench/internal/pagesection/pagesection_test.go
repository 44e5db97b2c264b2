package pagesection

import (
	"errors"
	"testing"
)

func TestSplice(t *testing.T) {
	cases := []struct {
		name, page, body, before, want string
	}{
		{"appended when the heading is missing", "# Title\n\nBody.\n", "## Scale\n\nv1", "## Missing",
			"# Title\n\nBody.\n\n<!-- begin scale -->\n## Scale\n\nv1\n<!-- end scale -->\n"},
		{"replaced in place", "# Title\n\n<!-- begin scale -->\n## Scale\n\nv1\n<!-- end scale -->\n\nAfter.\n", "## Scale\n\nv2\n", "",
			"# Title\n\n<!-- begin scale -->\n## Scale\n\nv2\n<!-- end scale -->\n\nAfter.\n"},
		{"before the heading", "# T\n\n## A\n\na\n\n## Chart\n\nc\n", "## Scale", "## Chart",
			"# T\n\n## A\n\na\n\n<!-- begin scale -->\n## Scale\n<!-- end scale -->\n\n## Chart\n\nc\n"},
		{"into an empty page", "", "x", "## Chart", "<!-- begin scale -->\nx\n<!-- end scale -->\n"},
		{"beside another section", "<!-- begin other -->\no\n<!-- end other -->\n", "x", "",
			"<!-- begin other -->\no\n<!-- end other -->\n\n<!-- begin scale -->\nx\n<!-- end scale -->\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sec := Wrap("scale", c.body)
			got, err := Splice(c.page, "scale", sec, c.before)
			if err != nil || got != c.want {
				t.Fatalf("got %q, %v\nwant %q", got, err, c.want)
			}
			if back, err := Extract(got, "scale"); err != nil || back != sec {
				t.Fatalf("Extract = %q, %v; want %q", back, err, sec)
			}
		})
	}
}

func TestExtractMissing(t *testing.T) {
	for _, page := range []string{"", "# x\n", "<!-- begin other -->\n<!-- end other -->\n"} {
		if got, err := Extract(page, "scale"); got != "" || err != nil {
			t.Errorf("Extract(%q) = %q, %v; want nothing", page, got, err)
		}
	}
}

// A page whose section lost its end marker is refused rather than spliced:
// the next splice would replace everything up to the new end marker.
func TestUnterminated(t *testing.T) {
	page := "# T\n\n<!-- begin scale -->\nold\n\n## Hand-written\n\nkeep me\n"
	if _, err := Extract(page, "scale"); !errors.Is(err, ErrUnterminated) {
		t.Errorf("Extract: %v", err)
	}
	if got, err := Splice(page, "scale", Wrap("scale", "new"), ""); !errors.Is(err, ErrUnterminated) || got != "" {
		t.Errorf("Splice = %q, %v", got, err)
	}
}
