package dashboard

import (
	"strings"
	"testing"
	"time"
)

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not an argon2id PHC string with the documented parameters", h)
	}
	h2, _ := HashPassword("correct horse battery")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	if !CheckPassword(h, "correct horse battery") || CheckPassword(h, "correct horse batterY") || CheckPassword(h, "") {
		t.Fatal("CheckPassword accepts the wrong password or refuses the right one")
	}
	// Tampered or hostile hashes match nothing and never run a huge hash.
	for _, bad := range []string{"", "plain", strings.Replace(h, "argon2id", "argon2i", 1),
		strings.Replace(h, "m=19456", "m=4194304", 1), strings.Replace(h, "t=2", "t=1000", 1),
		strings.Replace(h, "v=19", "v=16", 1), h[:len(h)-10]} {
		if CheckPassword(bad, "correct horse battery") {
			t.Errorf("CheckPassword(%q) matched", bad)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/dashboard/keys":                 "/dashboard/keys",
		"/dashboard/trades?page=2":        "/dashboard/trades?page=2",
		"":                                "/dashboard/",
		"https://evil.example/":           "/dashboard/",
		"//evil.example/dashboard/":       "/dashboard/",
		"/dashboard/\\evil":               "/dashboard/",
		"/other":                          "/dashboard/",
		"/dashboard/x\r\nSet-Cookie: a=b": "/dashboard/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestThrottle(t *testing.T) {
	th := newThrottle(3, time.Minute)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 3; i++ {
		if w := th.blocked("a", now); w != 0 {
			t.Fatalf("blocked after %d failures", i)
		}
		th.fail("a", now.Add(time.Duration(i)*time.Second))
	}
	if w := th.blocked("a", now.Add(3*time.Second)); w != 57*time.Second {
		t.Fatalf("wait = %v, want 57s (until the oldest failure leaves the window)", w)
	}
	if w := th.blocked("b", now); w != 0 {
		t.Fatal("another address is blocked")
	}
	if w := th.blocked("a", now.Add(time.Minute)); w != 0 {
		t.Fatalf("still blocked once the oldest failure left the window: %v", w)
	}
	th.blocked("a", now.Add(time.Minute+2*time.Second))
	if len(th.fails) != 0 {
		t.Fatalf("expired failures are kept: %v", th.fails)
	}
}

func TestNormEmail(t *testing.T) {
	if e, err := normEmail("  Owner@Shop.Example "); err != nil || e != "owner@shop.example" {
		t.Fatalf("normEmail = %q, %v", e, err)
	}
	for _, bad := range []string{"", "nobody", "@x", "a@", "a b@c", "<a@b>", strings.Repeat("a", 250) + "@b.cd"} {
		if _, err := normEmail(bad); err == nil {
			t.Errorf("normEmail(%q) accepted", bad)
		}
	}
}
