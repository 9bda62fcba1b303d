package ids

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

var v7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestUUIDShapeAndOrder(t *testing.T) {
	base := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	var got []string
	seen := map[string]bool{}
	for i := range 1000 {
		u := UUIDAt(base.Add(time.Duration(i) * time.Millisecond))
		if !v7.MatchString(u) {
			t.Fatalf("%q is not a version-7 UUID", u)
		}
		if seen[u] {
			t.Fatalf("duplicate %q", u)
		}
		seen[u] = true
		got = append(got, u)
	}
	if !sort.StringsAreSorted(got) {
		t.Fatal("UUIDs of increasing times do not sort in that order")
	}
	// The timestamp reads back.
	if hexms, want := strings.ReplaceAll(got[0], "-", "")[:12], fmt.Sprintf("%012x", base.UnixMilli()); hexms != want {
		t.Fatalf("timestamp %s, want %s", hexms, want)
	}
}

func TestPrefixedOrder(t *testing.T) {
	a := Prefixed("lp_")
	time.Sleep(2 * time.Millisecond)
	b := Prefixed("lp_")
	if !strings.HasPrefix(a, "lp_") || len(a) != 3+28 || a >= b {
		t.Fatalf("%q then %q", a, b)
	}
}

func TestShort(t *testing.T) {
	a := Short()
	if len(a) != 18 || strings.Trim(a, "0123456789abcdef") != "" {
		t.Fatalf("%q is not 18 hex digits", a)
	}
	seen := map[string]bool{}
	for range 10000 {
		s := Short()
		if seen[s] {
			t.Fatalf("duplicate %s", s)
		}
		seen[s] = true
	}
}

func TestRandom(t *testing.T) {
	v4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if a, b := Random(), Random(); !v4.MatchString(a) || a == b {
		t.Fatalf("%q, %q", a, b)
	}
}
