package dashboard

import (
	"net/http/httptest"
	"net/netip"
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
		w, n := th.take("a", now.Add(time.Duration(i)*time.Second))
		if w != 0 || n != i+1 {
			t.Fatalf("attempt %d: wait %v, count %d", i+1, w, n)
		}
	}
	if w, n := th.take("a", now.Add(3*time.Second)); w != 57*time.Second || n != 3 {
		t.Fatalf("fourth attempt: wait %v count %d, want 57s (until the oldest leaves the window) and not counted", w, n)
	}
	if w := th.blocked("b", now); w != 0 {
		t.Fatal("another address is blocked")
	}
	// A success takes its attempt back.
	th.forgive("a")
	if w, _ := th.take("a", now.Add(4*time.Second)); w != 0 {
		t.Fatal("forgiven attempt still counts")
	}
	if w := th.blocked("a", now.Add(time.Minute+4*time.Second)); w != 0 {
		t.Fatalf("still blocked after the window: %v", w)
	}
	if len(th.hits) != 0 {
		t.Fatalf("expired attempts are kept: %v", th.hits)
	}
}

func TestClientAddr(t *testing.T) {
	d := &Dashboard{cfg: Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}}
	for _, c := range []struct{ remote, xff, want string }{
		{"192.0.2.7:5000", "", "192.0.2.7"},
		{"192.0.2.7:5000", "203.0.113.9", "192.0.2.7"},                          // not a trusted proxy: the header is ignored
		{"10.0.0.2:5000", "203.0.113.9", "203.0.113.9"},                         // trusted proxy
		{"10.0.0.2:5000", "198.51.100.1, 203.0.113.9, 10.0.0.3", "203.0.113.9"}, // forged first hop ignored
		{"10.0.0.2:5000", "", "10.0.0.2"},
		{"[2001:db8:1:2:3:4:5:6]:443", "", "2001:db8:1:2::/64"},
	} {
		r := httptest.NewRequest("POST", "/dashboard/login", nil)
		r.RemoteAddr = c.remote
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := d.clientAddr(r); got != c.want {
			t.Errorf("clientAddr(%s, %q) = %s, want %s", c.remote, c.xff, got, c.want)
		}
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
