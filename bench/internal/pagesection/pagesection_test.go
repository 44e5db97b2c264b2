package pagesection

import "testing"

func TestSpliceAppendsThenReplaces(t *testing.T) {
	page := "# Title\n\nBody.\n"
	first := Splice(page, "scale", Wrap("scale", "## Scale\n\nv1"), "## Missing")
	want := "# Title\n\nBody.\n\n<!-- begin scale -->\n## Scale\n\nv1\n<!-- end scale -->\n"
	if first != want {
		t.Fatalf("appended:\n%q\nwant\n%q", first, want)
	}
	second := Splice(first+"\nAfter.\n", "scale", Wrap("scale", "## Scale\n\nv2\n"), "")
	want = "# Title\n\nBody.\n\n<!-- begin scale -->\n## Scale\n\nv2\n<!-- end scale -->\n\nAfter.\n"
	if second != want {
		t.Fatalf("replaced:\n%q\nwant\n%q", second, want)
	}
	if got := Extract(second, "scale"); got != Wrap("scale", "## Scale\n\nv2") {
		t.Fatalf("Extract = %q", got)
	}
}

func TestExtractMissingOrUnterminated(t *testing.T) {
	for _, page := range []string{"", "# x\n", "<!-- begin scale -->\nno end\n", "<!-- begin other -->\n<!-- end other -->\n"} {
		if got := Extract(page, "scale"); got != "" {
			t.Errorf("Extract(%q) = %q, want empty", page, got)
		}
	}
	if got := Splice("", "scale", Wrap("scale", "x"), "## Chart"); got != Wrap("scale", "x") {
		t.Errorf("Splice into empty page = %q", got)
	}
}

func TestSpliceBeforeHeading(t *testing.T) {
	page := "# T\n\n## A\n\na\n\n## Chart\n\nc\n"
	got := Splice(page, "scale", Wrap("scale", "## Scale"), "## Chart")
	want := "# T\n\n## A\n\na\n\n<!-- begin scale -->\n## Scale\n<!-- end scale -->\n\n## Chart\n\nc\n"
	if got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}
