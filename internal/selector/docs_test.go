package selector

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestDocErrors checks that every error shown in the "Errors" section of
// docs/selectors.md is what Parse returns today.
func TestDocErrors(t *testing.T) {
	doc, err := os.ReadFile("../../docs/selectors.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(doc), "\n## Errors\n")
	_, block, _ := strings.Cut(section, "```\n")
	block, _, _ = strings.Cut(block, "```")
	lines := strings.Split(strings.TrimSpace(block), "\n")
	if len(lines) < 5 {
		t.Fatalf("found %d error examples in docs/selectors.md", len(lines))
	}
	for _, line := range lines {
		quoted := strings.TrimPrefix(line, "selector ")
		end := strings.Index(quoted, `": position`)
		in, err := strconv.Unquote(quoted[:end+1])
		if err != nil {
			t.Fatalf("bad doc line %q: %v", line, err)
		}
		if _, err := Parse(in); err == nil || err.Error() != line {
			t.Errorf("docs/selectors.md says\n\t%s\nbut Parse(%q) returns\n\t%v", line, in, err)
		}
	}
}
