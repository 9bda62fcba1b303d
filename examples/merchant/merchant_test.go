package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jetonhq/jeton/callback/sign"
	"github.com/jetonhq/jeton/client"
)

const testSecret = "sk_test_merchant_example"

// shop is the backend on a real HTTP server, with its ledger in a
// temporary file.
type shop struct {
	t    *testing.T
	url  string
	file string
	l    *Ledger
}

func newShop(t *testing.T) *shop {
	t.Helper()
	return openShop(t, filepath.Join(t.TempDir(), "merchant-data.json"))
}

func openShop(t *testing.T, file string) *shop {
	t.Helper()
	users := demoUsers()
	l, err := OpenLedger(file, users)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{users: users, ledger: l, merchantID: "m_test", apiSecret: testSecret, jetonURL: "http://127.0.0.1:1",
		log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: time.Now, sessions: map[string]string{}}
	hs := httptest.NewServer(s.routes())
	t.Cleanup(hs.Close)
	return &shop{t: t, url: hs.URL, file: file, l: l}
}

// trade builds a trade of alice's as jeton sends it.
func trade(id string, typ client.TradeType, status client.TradeStatus, total client.USD) client.Trade {
	user := "alice"
	return client.Trade{ID: id, Type: typ, Source: "client", Status: status, Game: "730", MerchantID: "m_test",
		ClientSteamID: "76561198012345678", ExternalClientUserID: &user, TotalPrice: total,
		Items:     []client.TradeItem{{ID: "1", AppID: 730, MarketHashName: "AK-47 | Redline (Field-Tested)", Amount: 1, Offer: client.ItemOffer{Price: total}}},
		CreatedAt: time.Now(), UpdatedAt: time.Now()}
}

func deposit(id string, status client.TradeStatus, pre, pending client.USD, held bool) client.Trade {
	t := trade(id, client.TypeDeposit, status, pre+pending)
	t.PreCredit, t.PendingCredit = &pre, &pending
	if held {
		end := time.Now().Add(7 * 24 * time.Hour)
		t.HoldEndDate = &end
	}
	return t
}

// send posts t as jeton does: the body with payload.key, signed in the
// header under delivery id and secret. It returns the HTTP status and body.
func (s *shop) send(t client.Trade, delivery, secret string) (int, string) {
	s.t.Helper()
	raw, err := json.Marshal(t)
	if err != nil {
		s.t.Fatal(err)
	}
	key, err := sign.BodyKey([]byte(secret), raw)
	if err != nil {
		s.t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"payload": map[string]any{
		"trade": json.RawMessage(raw), "event": t.Status, "timestamp": sign.ISOTime(t.UpdatedAt), "key": key}})
	req, _ := http.NewRequest("POST", s.url+"/jeton/callback", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(sign.AssetPayHeader, sign.Header(delivery, time.Now(), body, []byte(secret)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, strings.TrimSpace(string(b))
}

// deliver sends t with the right secret and wants a 200.
func (s *shop) deliver(t client.Trade, delivery string) string {
	s.t.Helper()
	code, body := s.send(t, delivery, testSecret)
	if code != http.StatusOK {
		s.t.Fatalf("%s %s (%s): HTTP %d %s", t.Type, t.Status, delivery, code, body)
	}
	return body
}

func (s *shop) balance(user string) client.USD {
	s.t.Helper()
	a, ok := s.l.Account(user)
	if !ok {
		s.t.Fatalf("no account %q", user)
	}
	return a.Balance
}

func (s *shop) wantBalance(user string, want client.USD) {
	s.t.Helper()
	if got := s.balance(user); got != want {
		s.t.Fatalf("%s's balance = $%s, want $%s", user, got, want)
	}
}

// Callbacks are at least once: a retry (same delivery id) and a
// redelivery or a second jeton instance (any delivery id) of the same
// status credit once.
func TestDepositCreditsOnce(t *testing.T) {
	s := newShop(t)
	hold := deposit("dep-1", client.StatusHold, client.Dollars(25, 0), client.Dollars(28, 36), true)
	s.deliver(hold, "d-1")
	s.deliver(hold, "d-1")
	s.deliver(hold, "d-2")
	s.wantBalance("alice", client.Dollars(25, 0))

	done := deposit("dep-1", client.StatusCompleted, client.Dollars(25, 0), client.Dollars(28, 36), true)
	s.deliver(done, "d-3")
	s.deliver(done, "d-3")
	s.wantBalance("alice", client.Dollars(53, 36))

	// INITIATED and ACTIVE move no money.
	s.deliver(deposit("dep-2", client.StatusInitiated, client.Dollars(10, 0), 0, false), "d-4")
	s.deliver(deposit("dep-2", client.StatusActive, client.Dollars(10, 0), 0, false), "d-5")
	s.wantBalance("alice", client.Dollars(53, 36))
}

// Order is not guaranteed: COMPLETED may arrive before HOLD. Each status
// books its own part, so the total is the same either way.
func TestDepositAnyOrder(t *testing.T) {
	s := newShop(t)
	s.deliver(deposit("dep-1", client.StatusCompleted, client.Dollars(25, 0), client.Dollars(75, 0), true), "d-1")
	s.wantBalance("alice", client.Dollars(75, 0))
	s.deliver(deposit("dep-1", client.StatusHold, client.Dollars(25, 0), client.Dollars(75, 0), true), "d-2")
	s.wantBalance("alice", client.Dollars(100, 0))
}

func TestDepositRustAndReversal(t *testing.T) {
	s := newShop(t)
	// Rust: no hold, COMPLETED credits everything at once.
	rust := deposit("rust-1", client.StatusCompleted, client.Dollars(12, 96), 0, false)
	rust.Game = "252490"
	s.deliver(rust, "d-1")
	s.wantBalance("alice", client.Dollars(12, 96))

	// A CS2 deposit reversed in its hold gives back its instant credit.
	s.deliver(deposit("dep-2", client.StatusHold, client.Dollars(20, 0), client.Dollars(30, 0), true), "d-2")
	s.wantBalance("alice", client.Dollars(32, 96))
	rev := deposit("dep-2", client.StatusReverted, client.Dollars(20, 0), client.Dollars(30, 0), true)
	s.deliver(rev, "d-3")
	s.deliver(rev, "d-4")
	s.wantBalance("alice", client.Dollars(12, 96))
}

// The approval call is answered by balance; a repeated attempt (a new
// delivery id every time) gets the same verdict and debits nothing more.
func TestApprovalByBalance(t *testing.T) {
	s := newShop(t)
	wd := trade("wd-1", client.TypeWithdraw, client.StatusInitiated, client.Dollars(10, 0))

	// alice starts at $0: rejected, with a reason, and nothing debited.
	if got := s.deliver(wd, "a-1"); !strings.Contains(got, `"action":"reject"`) || !strings.Contains(got, "below the price") {
		t.Fatalf("approval with $0 = %s, want a reject with a reason", got)
	}
	s.wantBalance("alice", 0)

	s.deliver(deposit("dep-1", client.StatusCompleted, client.Dollars(15, 0), 0, false), "d-1")
	// The verdict is per trade: the retried call of wd-1 is still rejected.
	if got := s.deliver(wd, "a-2"); !strings.Contains(got, `"action":"reject"`) {
		t.Fatalf("a retried approval changed its verdict: %s", got)
	}

	wd2 := trade("wd-2", client.TypeWithdraw, client.StatusInitiated, client.Dollars(10, 0))
	for _, delivery := range []string{"a-3", "a-4", "a-5"} {
		if got := s.deliver(wd2, delivery); got != `{"action":"approve"}` {
			t.Fatalf("approval with $15 for $10 (%s) = %s", delivery, got)
		}
	}
	s.wantBalance("alice", client.Dollars(5, 0))

	// The money is reserved: a second $10 withdrawal no longer fits.
	if got := s.deliver(trade("wd-3", client.TypeWithdraw, client.StatusInitiated, client.Dollars(10, 0)), "a-6"); !strings.Contains(got, `"action":"reject"`) {
		t.Fatalf("approval of $10 with $5 left = %s", got)
	}
	// Exactly the balance is enough.
	if got := s.deliver(trade("wd-4", client.TypeWithdraw, client.StatusInitiated, client.Dollars(5, 0)), "a-7"); got != `{"action":"approve"}` {
		t.Fatalf("approval of $5 with $5 = %s", got)
	}
	s.wantBalance("alice", 0)

	// An unknown user is rejected.
	stranger := trade("wd-5", client.TypeWithdraw, client.StatusInitiated, client.Dollars(1, 0))
	stranger.ExternalClientUserID, stranger.ClientSteamID = nil, "76561199999999999"
	if got := s.deliver(stranger, "a-8"); !strings.Contains(got, "unknown user") {
		t.Fatalf("approval for a stranger = %s", got)
	}
	// So is the shop's own buy, even to alice's Steam account.
	self := trade("wd-6", client.TypeWithdraw, client.StatusInitiated, client.Dollars(1, 0))
	self.Source, self.ExternalClientUserID = "self", nil
	if got := s.deliver(self, "a-9"); !strings.Contains(got, "unknown user") {
		t.Fatalf("approval of a self-buy = %s", got)
	}
}

// A withdrawal that ends without the items after an approval gives the
// money back, once; one that was rejected was never debited.
func TestWithdrawalRefunds(t *testing.T) {
	for _, end := range []client.TradeStatus{client.StatusFailed, client.StatusDeclined, client.StatusReverted} {
		t.Run(string(end), func(t *testing.T) {
			s := newShop(t)
			s.deliver(deposit("dep-1", client.StatusCompleted, client.Dollars(40, 0), 0, false), "d-1")
			s.deliver(trade("wd-1", client.TypeWithdraw, client.StatusInitiated, client.Dollars(30, 0)), "a-1")
			s.wantBalance("alice", client.Dollars(10, 0))
			s.deliver(trade("wd-1", client.TypeWithdraw, client.StatusPending, client.Dollars(30, 0)), "d-2")
			s.wantBalance("alice", client.Dollars(10, 0))
			s.deliver(trade("wd-1", client.TypeWithdraw, end, client.Dollars(30, 0)), "d-3")
			s.deliver(trade("wd-1", client.TypeWithdraw, end, client.Dollars(30, 0)), "d-4")
			s.wantBalance("alice", client.Dollars(40, 0))
		})
	}

	s := newShop(t)
	s.deliver(trade("wd-1", client.TypeWithdraw, client.StatusInitiated, client.Dollars(30, 0)), "a-1") // rejected at $0
	failed := trade("wd-1", client.TypeWithdraw, client.StatusFailed, client.Dollars(30, 0))
	reason := client.FailMerchantRejected
	failed.Error = &reason
	s.deliver(failed, "d-1")
	s.wantBalance("alice", 0)

	// A completed withdrawal keeps the debit.
	s.deliver(deposit("dep-1", client.StatusCompleted, client.Dollars(40, 0), 0, false), "d-2")
	s.deliver(trade("wd-2", client.TypeWithdraw, client.StatusInitiated, client.Dollars(30, 0)), "a-2")
	s.deliver(trade("wd-2", client.TypeWithdraw, client.StatusCompleted, client.Dollars(30, 0)), "d-3")
	s.wantBalance("alice", client.Dollars(10, 0))
}

// Nothing unsigned or signed with another secret changes a balance: the
// test ping is acknowledged, everything else refused with 401.
func TestCallbacksAreVerified(t *testing.T) {
	s := newShop(t)
	hold := deposit("dep-1", client.StatusHold, client.Dollars(25, 0), 0, true)
	if code, body := s.send(hold, "d-1", "sk_someone_else"); code != http.StatusUnauthorized || body != "signature_mismatch" {
		t.Fatalf("wrong secret: HTTP %d %s", code, body)
	}
	wd := trade("wd-1", client.TypeWithdraw, client.StatusInitiated, 0)
	if code, _ := s.send(wd, "a-1", "sk_someone_else"); code != http.StatusUnauthorized {
		t.Fatalf("a forged approval call got HTTP %d, want 401 (which rejects it)", code)
	}
	raw, _ := json.Marshal(map[string]any{"payload": map[string]any{"trade": hold, "event": "HOLD"}})
	res, err := http.Post(s.url+"/jeton/callback", "application/json", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unsigned callback: HTTP %d", res.StatusCode)
	}
	s.wantBalance("alice", 0)

	res, err = http.Post(s.url+"/jeton/callback", "application/json", strings.NewReader(`{"test":true,"merchantId":"m_test","timestamp":"2026-03-11T09:58:00.894Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("test ping: HTTP %d", res.StatusCode)
	}
}

// The JSON file keeps balances, applied callbacks and verdicts across a
// restart: a callback repeated after it changes nothing, and a retried
// approval call gets the verdict given before.
func TestLedgerSurvivesRestart(t *testing.T) {
	s := newShop(t)
	hold := deposit("dep-1", client.StatusHold, client.Dollars(25, 0), client.Dollars(5, 0), true)
	s.deliver(hold, "d-1")
	wd := trade("wd-1", client.TypeWithdraw, client.StatusInitiated, client.Dollars(20, 0))
	s.deliver(wd, "a-1")
	s.wantBalance("alice", client.Dollars(5, 0))
	if info, err := os.Stat(s.file); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("ledger file: %v, %v (want mode 0600)", info, err)
	}

	again := openShop(t, s.file)
	again.wantBalance("alice", client.Dollars(5, 0))
	again.wantBalance("bob", client.Dollars(25, 0))
	again.deliver(hold, "d-1")
	if got := again.deliver(wd, "a-2"); got != `{"action":"approve"}` {
		t.Fatalf("the retried approval after a restart = %s", got)
	}
	again.wantBalance("alice", client.Dollars(5, 0))
	a, _ := again.l.Account("alice")
	if len(a.Entries) != 3 { // opening, HOLD, APPROVED
		t.Fatalf("entries after restart: %+v", a.Entries)
	}
	matches, _ := filepath.Glob(s.file + ".tmp*")
	if len(matches) != 0 {
		t.Fatalf("temporary files left: %v", matches)
	}
}

// A user signs in with an HttpOnly, SameSite=Strict cookie and gets a
// client token for themselves, signed with the API secret, carrying
// their user name as clientId and their clientData.
func TestSignInAndToken(t *testing.T) {
	s := newShop(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}

	res, err := c.Post(s.url+"/api/jeton-token", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("token without signing in: HTTP %d", res.StatusCode)
	}
	res, _ = c.Post(s.url+"/login", "text/plain", strings.NewReader(`{"username":"alice","password":"alice-demo"}`))
	res.Body.Close()
	if res.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("sign-in as text/plain (what another site's form can send): HTTP %d", res.StatusCode)
	}
	res, _ = c.Post(s.url+"/login", "application/json", strings.NewReader(`{"username":"alice","password":"wrong"}`))
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: HTTP %d", res.StatusCode)
	}
	res, _ = c.Post(s.url+"/login", "application/json", strings.NewReader(`{"username":"alice","password":"alice-demo"}`))
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("sign-in: HTTP %d", res.StatusCode)
	}
	cookie := res.Cookies()[0]
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie %+v: want HttpOnly and SameSite=Strict", cookie)
	}

	res, err = c.Post(s.url+"/api/jeton-token", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		Token     string `json:"token"`
		ExpiresAt string `json:"expiresAt"`
	}
	_ = json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	var claims struct {
		jwt.RegisteredClaims
		Client struct {
			SteamID    string          `json:"steamID"`
			TradeURL   string          `json:"tradeUrl"`
			ClientID   string          `json:"clientId"`
			ClientData json.RawMessage `json:"clientData"`
		} `json:"client"`
	}
	parsed, err := jwt.ParseWithClaims(tok.Token, &claims, func(*jwt.Token) (any, error) { return []byte(testSecret), nil },
		jwt.WithValidMethods([]string{"HS256"}))
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	if parsed.Header["userId"] != "m_test" || claims.Client.ClientID != "alice" || claims.Client.SteamID != "76561198012345678" ||
		!strings.Contains(string(claims.Client.ClientData), `"kycLevel":1`) {
		t.Fatalf("token header %v, client %+v", parsed.Header, claims.Client)
	}
	if life := claims.ExpiresAt.Sub(claims.IssuedAt.Time); life != tokenTTL {
		t.Fatalf("token lives %v, want %v", life, tokenTTL)
	}

	res, _ = c.Get(s.url + "/api/me")
	var me struct {
		User    map[string]string `json:"user"`
		Balance client.USD        `json:"balance"`
		Entries []Entry           `json:"entries"`
	}
	_ = json.NewDecoder(res.Body).Decode(&me)
	res.Body.Close()
	if me.User["name"] != "alice" || me.Balance != 0 || len(me.Entries) != 1 {
		t.Fatalf("/api/me = %+v", me)
	}

	res, _ = c.Post(s.url+"/logout", "application/json", nil)
	res.Body.Close()
	res, _ = c.Get(s.url + "/api/me")
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/api/me after sign-out: HTTP %d", res.StatusCode)
	}
}

// Every demo user's trade URL is their own (partner = SteamID64 −
// 76561197960265728): jeton sends no offer to another account's URL.
func TestDemoUsersOwnTheirTradeURLs(t *testing.T) {
	for _, u := range demoUsers() {
		id, err := strconv.ParseUint(u.SteamID, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		partner, err := strconv.ParseUint(strings.TrimPrefix(strings.Split(u.TradeURL, "&")[0], "https://steamcommunity.com/tradeoffer/new/?partner="), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if id-76561197960265728 != partner {
			t.Errorf("%s: partner %d is not Steam ID %d's", u.Name, partner, id)
		}
		if _, err := client.MintToken("sk", "m", client.Client{SteamID: u.SteamID, TradeURL: u.TradeURL}, time.Minute, time.Now()); err != nil {
			t.Errorf("%s: %v", u.Name, err)
		}
	}
}

// The page gets the browser SDK exactly as sdk/js builds it.
func TestJetonJSIsServed(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("..", "..", "sdk", "js", "dist", "jeton.js"))
	if err != nil {
		t.Fatal(err)
	}
	s := newShop(t)
	res, err := http.Get(s.url + "/jeton.js")
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !bytes.Equal(served, want) || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("GET /jeton.js: %s, %d bytes", res.Header.Get("Content-Type"), len(served))
	}
}
