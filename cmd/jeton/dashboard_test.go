package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jetonhq/jeton/dashboard"
)

// browser is a cookie-keeping client that does not follow redirects, so
// each answer can be checked.
type browser struct {
	t    *testing.T
	e    *env
	c    *http.Client
	hdr  http.Header
	last string // the last page's HTML
}

func newBrowser(t *testing.T, e *env) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, e: e, hdr: http.Header{}, c: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) send(method, path string, form url.Values) *http.Response {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.e.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range b.hdr {
		req.Header[k] = v
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	b.last = string(raw)
	return res
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token of the last page.
func (b *browser) csrf() string {
	b.t.Helper()
	m := csrfField.FindStringSubmatch(b.last)
	if m == nil {
		b.t.Fatalf("no CSRF field on the page:\n%.400s", b.last)
	}
	return m[1]
}

// post sends a form from the last page, with its CSRF token.
func (b *browser) post(path string, form url.Values) *http.Response {
	b.t.Helper()
	form.Set("csrf", b.csrf())
	return b.send("POST", path, form)
}

func wantStatus(t *testing.T, what string, res *http.Response, code int) {
	t.Helper()
	if res.StatusCode != code {
		t.Fatalf("%s: status %d, want %d", what, res.StatusCode, code)
	}
}

// owner creates a dashboard user and signs them in through the setup link.
func owner(t *testing.T, e *env, merchantID, email, password string) *browser {
	t.Helper()
	_, tok, err := dashboard.NewUser(context.Background(), e.app.store, e.app.store, merchantID, email, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	e.remember(tok, password)
	b := newBrowser(t, e)
	wantStatus(t, "setup page", b.send("GET", "/dashboard/setup?token="+tok, nil), 200)
	res := b.post("/dashboard/setup", url.Values{"token": {tok}, "password": {password}, "confirm": {password}})
	wantStatus(t, "setup", res, http.StatusSeeOther)
	for _, c := range res.Cookies() {
		if c.Name == "jeton_session" && c.Value != "" {
			e.remember(c.Value)
		}
	}
	return b
}

func TestDashboardSessions(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		m := e.merchant("Dash shop")
		const pw = "a long enough password"
		_, tok, err := dashboard.NewUser(context.Background(), e.app.store, e.app.store, m.Merchant.ID, "Owner@Dash.Example", e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		e.remember(tok, pw)
		b := newBrowser(t, e)

		// Signed out: pages send to the sign-in form, forms get 401.
		res := b.send("GET", "/dashboard/keys", nil)
		wantStatus(t, "signed-out page", res, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, "/dashboard/login?next=") {
			t.Errorf("signed-out redirect to %q", loc)
		}
		wantStatus(t, "signed-out form", b.send("POST", "/dashboard/keys", url.Values{}), http.StatusUnauthorized)

		// The setup form checks the password before spending the link.
		wantStatus(t, "setup page", b.send("GET", "/dashboard/setup?token="+tok, nil), 200)
		if h := b.last; !strings.Contains(h, "owner@dash.example") {
			t.Errorf("setup page does not name the (normalised) email")
		}
		wantStatus(t, "short password", b.post("/dashboard/setup", url.Values{"token": {tok}, "password": {"short"}, "confirm": {"short"}}), 400)
		wantStatus(t, "different passwords", b.post("/dashboard/setup", url.Values{"token": {tok}, "password": {pw}, "confirm": {pw + "x"}}), 400)
		res = b.post("/dashboard/setup", url.Values{"token": {tok}, "password": {pw}, "confirm": {pw}})
		wantStatus(t, "setup", res, http.StatusSeeOther)
		var session *http.Cookie
		for _, c := range res.Cookies() {
			if c.Name == "jeton_session" {
				session = c
			}
		}
		if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Secure || session.Path != "/dashboard" {
			t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/dashboard, not Secure over plain HTTP", session)
		}
		e.remember(session.Value)
		wantStatus(t, "setup link again", newBrowser(t, e).send("GET", "/dashboard/setup?token="+tok, nil), 404)

		// Signed in: the overview names the merchant; security headers.
		res = b.send("GET", "/dashboard/", nil)
		wantStatus(t, "overview", res, 200)
		if !strings.Contains(b.last, `id="merchant-id">`+m.Merchant.ID+`<`) {
			t.Errorf("overview does not show the merchant ID")
		}
		for h, want := range map[string]string{"X-Frame-Options": "DENY", "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"} {
			if got := res.Header.Get(h); got != want {
				t.Errorf("%s = %q, want %q", h, got, want)
			}
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("Content-Security-Policy = %q", csp)
		}

		// CSRF: missing, wrong, or cross-site.
		wantStatus(t, "no CSRF token", b.send("POST", "/dashboard/keys", url.Values{"scope": {"READ_ONLY"}}), 403)
		wantStatus(t, "wrong CSRF token", b.send("POST", "/dashboard/keys", url.Values{"scope": {"READ_ONLY"}, "csrf": {"nope"}}), 403)
		b.send("GET", "/dashboard/keys", nil)
		good := b.csrf()
		b.hdr.Set("Origin", "https://evil.example")
		b.hdr.Set("Sec-Fetch-Site", "cross-site")
		wantStatus(t, "cross-site POST with a good token", b.send("POST", "/dashboard/keys", url.Values{"scope": {"READ_ONLY"}, "csrf": {good}}), 403)
		b.hdr = http.Header{}
		keys, _ := e.app.creds.Keys(context.Background(), m.Merchant.ID)
		if len(keys) != 2 {
			t.Fatalf("refused forms created keys: %d keys", len(keys))
		}
		res = b.send("POST", "/dashboard/keys", url.Values{"scope": {"READ_ONLY"}, "csrf": {good}})
		wantStatus(t, "create key", res, 200)
		key := regexp.MustCompile(`id="secret-value" class="secret">(ap_[^<]+)<`).FindStringSubmatch(b.last)
		if key == nil {
			t.Fatalf("the new key is not shown")
		}
		e.remember(key[1])

		// Behind a TLS-terminating proxy the cookie is Secure.
		sb := newBrowser(t, e)
		sb.hdr.Set("X-Forwarded-Proto", "https")
		res = sb.send("GET", "/dashboard/login", nil)
		for _, c := range res.Cookies() {
			if !c.Secure {
				t.Errorf("cookie %s is not Secure behind TLS", c.Name)
			}
		}

		// Signing out ends the session everywhere it was copied.
		b.send("GET", "/dashboard/", nil)
		wantStatus(t, "sign out", b.post("/dashboard/logout", url.Values{}), http.StatusSeeOther)
		stolen := newBrowser(t, e)
		u, _ := url.Parse(e.srv.URL + "/dashboard/")
		stolen.c.Jar.SetCookies(u, []*http.Cookie{{Name: "jeton_session", Value: session.Value, Path: "/dashboard"}})
		wantStatus(t, "ended session", stolen.send("GET", "/dashboard/", nil), http.StatusSeeOther)

		// Sessions end after their lifetime.
		b2 := signInForm(t, e, "owner@dash.example", pw)
		wantStatus(t, "fresh session", b2.send("GET", "/dashboard/", nil), 200)
		e.clock.Add(13 * time.Hour)
		wantStatus(t, "expired session", b2.send("GET", "/dashboard/", nil), http.StatusSeeOther)
	})
}

// signInForm signs in through the login form.
func signInForm(t *testing.T, e *env, email, pw string) *browser {
	t.Helper()
	b := newBrowser(t, e)
	b.send("GET", "/dashboard/login", nil)
	res := b.post("/dashboard/login", url.Values{"email": {email}, "password": {pw}, "next": {"/dashboard/keys"}})
	wantStatus(t, "sign in", res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/dashboard/keys" {
		t.Errorf("after sign-in: %q, want the next page", loc)
	}
	return b
}

func TestDashboardSignInThrottle(t *testing.T) {
	e := newEnv(t, "sqlite")
	m := e.merchant("Throttle shop")
	const pw = "the right password"
	owner(t, e, m.Merchant.ID, "lock@shop.example", pw)

	try := func(b *browser, email, p string) int {
		b.send("GET", "/dashboard/login", nil)
		return b.post("/dashboard/login", url.Values{"email": {email}, "password": {p}}).StatusCode
	}
	b := newBrowser(t, e)
	for i := 0; i < 4; i++ {
		if got := try(b, "lock@shop.example", "wrong"); got != 401 {
			t.Fatalf("wrong password %d: %d", i+1, got)
		}
	}
	if got := try(b, "lock@shop.example", "wrong"); got != 429 || !strings.Contains(b.last, "locked") {
		t.Fatalf("fifth wrong password: %d", got)
	}
	if got := try(b, "lock@shop.example", pw); got != 429 {
		t.Fatalf("right password while locked: %d, want 429", got)
	}
	// The lock ends after its time; one success clears the count.
	e.clock.Add(16 * time.Minute)
	if got := try(b, "lock@shop.example", pw); got != http.StatusSeeOther {
		t.Fatalf("right password after the lock: %d", got)
	}
	// An email without an account locks like one, with the same words,
	// so the answers do not tell which accounts exist.
	for i := 0; i < 4; i++ {
		if got := try(b, "ghost@shop.example", "x"); got != 401 {
			t.Fatalf("unknown email, attempt %d: %d", i+1, got)
		}
	}
	if got := try(b, "ghost@shop.example", "x"); got != 429 || !strings.Contains(b.last, "This account is locked") {
		t.Fatalf("unknown email, fifth attempt: %d", got)
	}
	e.clock.Add(16 * time.Minute)
	// Every attempt counts against the client's address: after 20
	// failures from it, even a right password waits.
	ip := newBrowser(t, e)
	for i := 0; i < 20; i++ {
		if got := try(ip, fmt.Sprintf("nobody%d@shop.example", i), "x"); got != 401 {
			t.Fatalf("unknown email %d: %d", i, got)
		}
	}
	if got := try(ip, "lock@shop.example", pw); got != 429 {
		t.Fatalf("address over its limit: %d, want 429", got)
	}
	e.clock.Add(16 * time.Minute)
	if got := try(ip, "lock@shop.example", pw); got != http.StatusSeeOther {
		t.Fatalf("address after its window: %d", got)
	}
}

func TestDashboardMerchantIsolation(t *testing.T) {
	e := newEnv(t, "sqlite")
	a, other := e.merchant("Shop A"), e.merchant("Shop B")
	ba := owner(t, e, a.Merchant.ID, "a@a.example", "password of shop a")
	bb := owner(t, e, other.Merchant.ID, "b@b.example", "password of shop b")
	ka, _ := e.app.creds.Keys(context.Background(), a.Merchant.ID)

	wantStatus(t, "A's keys", ba.send("GET", "/dashboard/keys", nil), 200)
	if !strings.Contains(ba.last, ka[0].ID) {
		t.Fatalf("A does not see its own key")
	}
	for _, p := range []string{"/dashboard/", "/dashboard/keys", "/dashboard/providers", "/dashboard/callbacks", "/dashboard/trades", "/dashboard/wallet"} {
		wantStatus(t, "B's "+p, bb.send("GET", p, nil), 200)
		if strings.Contains(bb.last, a.Merchant.ID) || strings.Contains(bb.last, ka[0].ID) {
			t.Errorf("B's %s shows merchant A's ID or key", p)
		}
	}
	// B cannot act on A's key or provider by ID.
	bb.send("GET", "/dashboard/keys", nil)
	wantStatus(t, "B revokes A's key", bb.post("/dashboard/keys/"+ka[0].ID+"/revoke", url.Values{}), 404)
	bb.send("GET", "/dashboard/keys", nil)
	wantStatus(t, "B rotates A's key", bb.post("/dashboard/keys/"+ka[0].ID+"/rotate", url.Values{"grace": {"0"}}), 404)
	bb.send("GET", "/dashboard/providers", nil)
	wantStatus(t, "B revokes A's provider", bb.post("/dashboard/providers/"+a.ProviderID+"/revoke", url.Values{}), 404)
	if k, _ := e.app.creds.Keys(context.Background(), a.Merchant.ID); k[0].RevokedAt != nil || k[0].ExpiresAt != nil {
		t.Fatalf("A's key changed: %+v", k[0])
	}
}

// TestDashboardParallelSignIns: parallel wrong passwords cannot test more
// passwords than the lockout allows.
func TestDashboardParallelSignIns(t *testing.T) {
	e := newEnv(t, "sqlite")
	m := e.merchant("Parallel shop")
	owner(t, e, m.Merchant.ID, "par@shop.example", "the right password")
	const n = 12
	codes := make(chan int, n)
	var bs []*browser
	for i := 0; i < n; i++ {
		b := newBrowser(t, e)
		b.send("GET", "/dashboard/login", nil)
		bs = append(bs, b)
	}
	forms := make([]url.Values, n)
	for i, b := range bs {
		forms[i] = url.Values{"email": {"par@shop.example"}, "password": {fmt.Sprintf("guess %d", i)}, "csrf": {b.csrf()}}
	}
	for i, b := range bs {
		go func(b *browser, f url.Values) { codes <- b.send("POST", "/dashboard/login", f).StatusCode }(b, forms[i])
	}
	counts := map[int]int{}
	for i := 0; i < n; i++ {
		counts[<-codes]++
	}
	if counts[401] != 4 || counts[429] != n-4 {
		t.Fatalf("answers %v: want exactly 4 passwords tested (401) before the lock, the rest 429", counts)
	}
}

// TestDashboardPagesBothModes opens every page of the dashboard, in
// sandbox mode and without it (no payments engine, no simulated Steam):
// each answers, and the sandbox-only ones say why they are missing.
func TestDashboardPagesBothModes(t *testing.T) {
	for _, sandbox := range []bool{true, false} {
		t.Run(fmt.Sprint("sandbox=", sandbox), func(t *testing.T) {
			e := newEnvWith(t, "sqlite", appConfig{Sandbox: sandbox})
			m := e.merchant("Pages shop")
			b := owner(t, e, m.Merchant.ID, "pages@shop.example", "password for pages")
			onlySandbox := map[string]bool{"/webhooks": true, "/payments": true, "/sandbox": true, "/terminal": true, "/orders/nope": true}
			for _, p := range []string{"/", "/keys", "/providers", "/callbacks", "/webhooks", "/trades", "/wallet", "/risk",
				"/risk?wager=100&kyc=3&fiat=1&crypto=1&settled=10&count=2&reversals=1", "/payments", "/sandbox", "/terminal",
				"/trades/nope", "/callbacks/nope", "/orders/nope", "/trades?type=DEPOSIT&page=2"} {
				res := b.send("GET", "/dashboard"+p, nil)
				want := 200
				if strings.HasSuffix(p, "/nope") || !sandbox && onlySandbox[p] {
					want = 404
				}
				if res.StatusCode != want {
					t.Errorf("GET %s: %d, want %d\n%.300s", p, res.StatusCode, want, b.last)
				}
				if !sandbox && onlySandbox[p] && !strings.Contains(b.last, "sandbox mode") {
					t.Errorf("GET %s without the sandbox does not say why", p)
				}
			}
		})
	}
}
