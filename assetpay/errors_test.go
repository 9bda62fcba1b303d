package assetpay

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestErrorTableDocumented keeps docs/errors.md and Codes in step.
func TestErrorTableDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/errors.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]string{}
	for key, c := range Codes {
		row := fmt.Sprintf("| `%s` | %d | %d |", key, c.Code, c.Status)
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/errors.md lacks the row %s", row)
		}
		if other, dup := seen[c.Code]; dup {
			t.Errorf("code %d used by %s and %s", c.Code, key, other)
		}
		seen[c.Code] = key
	}
}
