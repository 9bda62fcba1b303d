package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jetonhq/jeton/client"
)

var shownValue = regexp.MustCompile(`id="secret-value" class="secret">([^<]+)<`)

// shown reads the value a "shown once" page displays.
func (b *browser) shown() string {
	b.t.Helper()
	m := shownValue.FindStringSubmatch(b.last)
	if m == nil {
		b.t.Fatalf("no value shown:\n%.400s", b.last)
	}
	b.e.remember(m[1])
	return m[1]
}

// TestDashboardActions drives the dashboard's forms and checks their
// effect through the APIs: secret rotation, providers, SagaPay webhook
// endpoints and their test, merchant collateral, and the sandbox's clock
// and offer controls.
func TestDashboardActions(t *testing.T) {
	e := tradingEnv(t, "sqlite", 0) // offers wait for a control
	m, shop := e.tradingMerchant("Actions shop")
	b := owner(t, e, m.Merchant.ID, "actions@shop.example", "password for actions")
	now := time.Now()

	// Providers: the new certificate gets SagaPay tokens until revoked.
	b.send("GET", "/dashboard/providers", nil)
	wantStatus(t, "create provider", b.post("/dashboard/providers", url.Values{}), 200)
	cert := b.shown()
	pid := regexp.MustCompile(`<dt>providerId</dt><dd><code>([^<]+)</code>`).FindStringSubmatch(b.last)
	if pid == nil {
		t.Fatal("providerId not shown")
	}
	sagaToken := func() int {
		return e.do("POST", "/partners/"+m.Merchant.PartnerID+"/token",
			map[string]string{"API-KEY": m.APIKey, "API-SECRET": m.APISecret, "MERCHANT-ID": m.Merchant.ID},
			map[string]any{"providerId": pid[1], "providerCertificate": cert, "externalUserId": "u1"}).Status
	}
	if got := sagaToken(); got != 200 {
		t.Fatalf("token with the new provider: %d", got)
	}
	b.send("GET", "/dashboard/providers", nil)
	wantStatus(t, "revoke provider", b.post("/dashboard/providers/"+pid[1]+"/revoke", url.Values{}), http.StatusSeeOther)
	if got := sagaToken(); got == 200 {
		t.Fatal("a revoked provider still gets tokens")
	}

	// A webhook endpoint made here gets a signed test webhook.
	hooks := newHookReceiver(t)
	b.send("GET", "/dashboard/webhooks", nil)
	wantStatus(t, "create webhook", b.post("/dashboard/webhooks", url.Values{"name": {"backend"}, "url": {hooks.srv.URL}}), 200)
	hooks.setSecret(b.shown())
	id := regexp.MustCompile(`<dt>Endpoint ID</dt><dd><code>([^<]+)</code>`).FindStringSubmatch(b.last)
	if id == nil {
		t.Fatal("endpoint id not shown")
	}
	b.send("GET", "/dashboard/webhooks", nil)
	wantStatus(t, "test webhook", b.post("/dashboard/webhooks/"+id[1]+"/test", url.Values{}), http.StatusSeeOther)
	hooks.mu.Lock()
	if len(hooks.got) != 1 || !hooks.got[0].Verified || hooks.got[0].Env.EventType != "test.webhook" {
		t.Errorf("test webhook received: %+v", hooks.got)
	}
	hooks.mu.Unlock()
	b.send("GET", "/dashboard/callbacks", nil)
	if !strings.Contains(b.last, "test.webhook") {
		t.Error("the test webhook is not in the delivery log")
	}
	b.send("GET", "/dashboard/webhooks", nil)
	wantStatus(t, "delete webhook", b.post("/dashboard/webhooks/"+id[1]+"/delete", url.Values{}), http.StatusSeeOther)

	// Collateral: saved, and refused when not an amount.
	b.send("GET", "/dashboard/risk", nil)
	wantStatus(t, "bad collateral", b.post("/dashboard/risk/collateral", url.Values{"collateral": {"12.345"}}), 400)
	wantStatus(t, "collateral", b.post("/dashboard/risk/collateral", url.Values{"collateral": {"150.25"}}), http.StatusSeeOther)
	if mm, _ := e.app.store.Merchant(t.Context(), m.Merchant.ID); mm.Collateral != 15025 {
		t.Errorf("collateral stored as %d cents, want 15025", mm.Collateral)
	}

	// Sandbox: accept a deposit's offer, then move the clock past its hold.
	tok := e.userToken(m, "76561198000000001", "abcdEF12")
	inv := e.do("GET", "/client/inventory?game=730&acceptedOnly=true&perPage=1", map[string]string{"Authorization": tok}, nil)
	item := inv.data()["inventory"].([]any)[0].(map[string]any)
	dep := e.do("POST", "/client/trading/deposit", map[string]string{"Authorization": tok}, map[string]any{"items": []any{map[string]any{"itemId": item["id"]}}})
	if dep.Status != 200 {
		t.Fatalf("deposit: %s", dep.Raw)
	}
	trade := dep.data()["id"].(string)
	e.waitTrade(m.APIKey, trade, "ACTIVE")
	b.send("GET", "/dashboard/trades/"+trade, nil)
	wantStatus(t, "accept offer", b.post("/dashboard/sandbox/offers/accept", url.Values{"trade": {trade}}), http.StatusSeeOther)
	e.waitTrade(m.APIKey, trade, "HOLD")
	b.send("GET", "/dashboard/sandbox", nil)
	wantStatus(t, "advance clock", b.post("/dashboard/sandbox/clock", url.Values{"by": {"8d"}}), http.StatusSeeOther)
	e.waitTrade(m.APIKey, trade, "COMPLETED")
	b.send("GET", "/dashboard/trades/"+trade, nil)
	for _, st := range []string{"INITIATED", "ACTIVE", "HOLD", "COMPLETED"} {
		if !strings.Contains(b.last, ">"+st+"</span> <time>") {
			t.Errorf("the trade's timeline lacks %s", st)
		}
	}

	// Last, as it changes what the shop verifies callbacks with: every
	// callback so far must have arrived, or one delivered after the
	// rotation carries a body key made with the new secret.
	e.waitEvents(shop, trade, "INITIATED", "ACTIVE", "HOLD", "COMPLETED")
	// Secret rotation with a grace period: tokens signed with either work.
	b.send("GET", "/dashboard/keys", nil)
	wantStatus(t, "rotate secret", b.post("/dashboard/secret/rotate", url.Values{"grace": {"24h"}}), 200)
	next := b.shown()
	if !strings.HasPrefix(next, "sk_") || next == m.APISecret {
		t.Fatalf("new secret %.6s…", next)
	}
	for name, secret := range map[string]string{"old": m.APISecret, "new": next} {
		tok, err := client.MintToken(secret, m.Merchant.ID, client.Client{SteamID: "76561198012345678", TradeURL: "https://steamcommunity.com/tradeoffer/new/?partner=52079950&token=AbCdEfGh"}, time.Hour, now)
		if err != nil {
			t.Fatal(err)
		}
		if r := e.me(tok); r.Status != 200 {
			t.Errorf("token signed with the %s secret during the grace: %d %s", name, r.Status, r.Raw)
		}
	}
}
