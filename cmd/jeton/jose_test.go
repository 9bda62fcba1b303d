package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jetonhq/jeton/client"
)

// joseMint runs testdata/jose/mint.mjs, the seed's jose snippet. It skips
// when Node or the jose package is missing, unless JETON_REQUIRE_JOSE=1
// (CI sets it after installing them).
func joseMint(t *testing.T, secret, merchantID, expires string) string {
	t.Helper()
	dir := filepath.Join("testdata", "jose")
	_, nodeErr := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(dir, "node_modules", "jose"))
	if nodeErr != nil || modErr != nil {
		if os.Getenv("JETON_REQUIRE_JOSE") == "1" {
			t.Fatalf("node or jose missing (run: npm ci --prefix %s): %v %v", dir, nodeErr, modErr)
		}
		t.Skipf("node or jose missing: run `npm ci --prefix %s` to test tokens minted with jose", dir)
	}
	cmd := exec.Command("node", "mint.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "API_SECRET="+secret, "MERCHANT_ID="+merchantID, "EXPIRES="+expires)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("jose mint: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestJoseTokens proves a token signed with the seed's jose snippet works
// wherever an API-issued one does, and that jose's 10-year token does not.
func TestJoseTokens(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		m := e.merchant("Jose")
		// jose stamps iat from the real clock; move the test clock there.
		e.clock.Set(time.Now())
		tok := joseMint(t, m.APISecret, m.Merchant.ID, "24h")
		r := e.me(tok)
		if r.Status != 200 {
			t.Fatalf("jose token refused: %s", r.Raw)
		}
		d := r.data()
		if d["merchantId"] != m.Merchant.ID || d["clientId"] != "user-123" || d["steamID"] != seedSteamID {
			t.Errorf("jose token read wrong: %s", r.Raw)
		}
		if w := d["warnings"].([]any); len(w) != 1 {
			t.Errorf("the seed's trade URL should warn: %s", r.Raw)
		}
		// The Go SDK signs the same claims to a token of the same shape.
		sdk, err := client.MintToken(m.APISecret, m.Merchant.ID, client.Client{SteamID: seedSteamID, TradeURL: seedTradeURL, ClientID: "user-123"}, 24*time.Hour, e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if strings.Split(sdk, ".")[0] != strings.Split(tok, ".")[0] {
			t.Errorf("SDK header %q differs from jose's %q", strings.Split(sdk, ".")[0], strings.Split(tok, ".")[0])
		}
		long := joseMint(t, m.APISecret, m.Merchant.ID, "10y")
		if r := e.me(long); r.Status != 401 || r.errKey() != "TOKEN_LIFETIME_TOO_LONG" {
			t.Errorf("10-year jose token: %s", r.Raw)
		}
	})
}
