package main

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/client"
)

const (
	seedSteamID  = "76561198012345678"
	seedTradeURL = "https://steamcommunity.com/tradeoffer/new/?partner=12345678&token=AbCdEfGh"
	ownTradeURL  = "https://steamcommunity.com/tradeoffer/new/?partner=52079950&token=AbCdEfGh"
)

// seedBody is the seed page's authenticate-client example.
func seedBody() map[string]any {
	return map[string]any{
		"clientSteamId":  seedSteamID,
		"clientTradeUrl": seedTradeURL,
		"clientId":       "user-123",
		"clientData":     map[string]any{"totalWager": 5000, "kycLevel": 2, "fiatDeposits": true, "cryptoDeposits": false},
	}
}

func (e *env) authenticate(key string, body any) reply {
	return e.do("POST", "/auth/authenticate-client", map[string]string{"api-key": key}, body)
}

func (e *env) token(m merchant) string {
	e.t.Helper()
	r := e.authenticate(m.APIKey, map[string]any{"clientSteamId": seedSteamID, "clientTradeUrl": ownTradeURL, "clientId": "user-123"})
	if r.Status != 200 {
		e.t.Fatalf("authenticate: %d %s", r.Status, r.Raw)
	}
	return r.data()["token"].(string)
}

func (e *env) me(tok string) reply {
	return e.do("GET", "/client/me", map[string]string{"Authorization": tok}, nil)
}

func TestEveryRouteIsDocumented(t *testing.T) {
	e := newEnv(t, "sqlite")
	paths := loadSpec(t)["paths"].(map[string]any)
	var mounted, documented []string
	for _, r := range e.app.server.Routes() {
		if !r.Page { // dashboard pages are HTML for people, not the API
			mounted = append(mounted, r.Method+" "+r.Path)
		}
	}
	for p, ops := range paths {
		for m := range ops.(map[string]any) {
			documented = append(documented, strings.ToUpper(m)+" "+p)
		}
	}
	sort.Strings(mounted)
	sort.Strings(documented)
	if strings.Join(mounted, "\n") != strings.Join(documented, "\n") {
		t.Fatalf("mounted routes and openapi.json differ\nmounted:\n%s\n\ndocumented:\n%s", strings.Join(mounted, "\n"), strings.Join(documented, "\n"))
	}
}

func TestAuthenticateClient(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		m := e.merchant("Skins Inc")
		ctx := context.Background()

		r := e.authenticate(m.APIKey, seedBody())
		if r.Status != 200 || r.Body["success"] != true {
			t.Fatalf("seed example refused: %d %s", r.Status, r.Raw)
		}
		tok := r.data()["token"].(string)
		warns, _ := r.data()["warnings"].([]any)
		if len(warns) != 1 || !strings.Contains(warns[0].(map[string]any)["message"].(string), "52079950") {
			t.Errorf("seed pair (partner 12345678) should warn naming partner 52079950: %s", r.Raw)
		}
		c, err := e.app.store.Client(ctx, m.Merchant.ID, seedSteamID)
		if err != nil {
			t.Fatal(err)
		}
		if c.ClientID != "user-123" || !strings.Contains(string(c.ClientData), `"totalWager":5000`) {
			t.Errorf("clientData not stored: %+v %s", c, c.ClientData)
		}

		me := e.me(tok)
		if me.Status != 200 {
			t.Fatalf("/client/me: %d %s", me.Status, me.Raw)
		}
		d := me.data()
		if d["merchantId"] != m.Merchant.ID || d["steamID"] != seedSteamID || d["clientId"] != "user-123" || d["expiresIn"].(float64) != 86400 {
			t.Errorf("/client/me data: %s", me.Raw)
		}
		if me2 := e.do("GET", "/client/me", map[string]string{"Authorization": "Bearer " + tok}, nil); me2.Status != 200 {
			t.Errorf("Bearer form refused: %s", me2.Raw)
		}

		// clientData is refreshed on every call, extra keys kept.
		body := seedBody()
		body["clientData"] = map[string]any{"totalWager": 7500.5, "kycLevel": 3, "vipTier": "gold", "registrationDate": "2024-01-02T03:04:05Z", "kycHash": "abc"}
		if r := e.authenticate(m.APIKey, body); r.Status != 200 {
			t.Fatalf("refresh: %s", r.Raw)
		}
		c, _ = e.app.store.Client(ctx, m.Merchant.ID, seedSteamID)
		if !strings.Contains(string(c.ClientData), `"vipTier":"gold"`) || strings.Contains(string(c.ClientData), "fiatDeposits") {
			t.Errorf("clientData not replaced: %s", c.ClientData)
		}
	})
}

func TestAuthenticateClientValidation(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		m := e.merchant("Validation")
		with := func(mut func(map[string]any)) map[string]any {
			b := seedBody()
			mut(b)
			return b
		}
		cases := []struct {
			name  string
			body  any
			field string
		}{
			{"missing steam id", with(func(b map[string]any) { delete(b, "clientSteamId") }), "clientSteamId"},
			{"short steam id", with(func(b map[string]any) { b["clientSteamId"] = "7656119801234567" }), "clientSteamId"},
			{"steam id as number", with(func(b map[string]any) { b["clientSteamId"] = 76561198012345678 }), "clientSteamId"},
			{"wrong prefix", with(func(b map[string]any) { b["clientSteamId"] = "86561198012345678" }), "clientSteamId"},
			{"missing trade url", with(func(b map[string]any) { delete(b, "clientTradeUrl") }), "clientTradeUrl"},
			{"http trade url", with(func(b map[string]any) { b["clientTradeUrl"] = strings.Replace(seedTradeURL, "https", "http", 1) }), "clientTradeUrl"},
			{"short token", with(func(b map[string]any) { b["clientTradeUrl"] = strings.Replace(seedTradeURL, "AbCdEfGh", "AbCd", 1) }), "clientTradeUrl"},
			{"partner too long", with(func(b map[string]any) {
				b["clientTradeUrl"] = strings.Replace(seedTradeURL, "12345678", "12345678901", 1)
			}), "clientTradeUrl"},
			{"unknown field", with(func(b map[string]any) { b["admin"] = true }), "admin"},
			{"long client id", with(func(b map[string]any) { b["clientId"] = strings.Repeat("x", 129) }), "clientId"},
			{"client id number", with(func(b map[string]any) { b["clientId"] = 5 }), "clientId"},
			{"clientData array", with(func(b map[string]any) { b["clientData"] = []int{1} }), "clientData"},
			{"negative wager", with(func(b map[string]any) { b["clientData"] = map[string]any{"totalWager": -1} }), "clientData.totalWager"},
			{"wager string", with(func(b map[string]any) { b["clientData"] = map[string]any{"totalWager": "5000"} }), "clientData.totalWager"},
			{"kyc 4", with(func(b map[string]any) { b["clientData"] = map[string]any{"kycLevel": 4} }), "clientData.kycLevel"},
			{"kyc 1.5", with(func(b map[string]any) { b["clientData"] = map[string]any{"kycLevel": 1.5} }), "clientData.kycLevel"},
			{"fiat string", with(func(b map[string]any) { b["clientData"] = map[string]any{"fiatDeposits": "yes"} }), "clientData.fiatDeposits"},
			{"crypto number", with(func(b map[string]any) { b["clientData"] = map[string]any{"cryptoDeposits": 1} }), "clientData.cryptoDeposits"},
			{"bad date", with(func(b map[string]any) { b["clientData"] = map[string]any{"registrationDate": "yesterday"} }), "clientData.registrationDate"},
			{"kycHash number", with(func(b map[string]any) { b["clientData"] = map[string]any{"kycHash": 7} }), "clientData.kycHash"},
			{"huge clientData", with(func(b map[string]any) { b["clientData"] = map[string]any{"blob": strings.Repeat("x", 5000)} }), "clientData"},
			{"not json", "{nope", "body"},
			{"array body", "[]", "body"},
			{"empty body", "", "body"},
		}
		for _, c := range cases {
			r := e.authenticate(m.APIKey, c.body)
			if r.Status != 400 || r.errKey() != "VALIDATION_FAILED" {
				t.Errorf("%s: want 400 VALIDATION_FAILED, got %d %s", c.name, r.Status, r.Raw)
				continue
			}
			errObj := r.Body["error"].(map[string]any)
			if errObj["code"].(float64) != 1001 {
				t.Errorf("%s: code %v", c.name, errObj["code"])
			}
			fields, _ := errObj["fields"].(map[string]any)
			if _, ok := fields[c.field]; !ok {
				t.Errorf("%s: fields should name %q: %s", c.name, c.field, r.Raw)
			}
		}
		// Several bad fields are all named.
		r := e.authenticate(m.APIKey, map[string]any{"clientSteamId": "x", "clientTradeUrl": "y", "extra": 1})
		if f := r.Body["error"].(map[string]any)["fields"].(map[string]any); len(f) != 3 {
			t.Errorf("want 3 fields, got %v", f)
		}
		// Nothing was stored by any of these.
		if _, err := e.app.store.Client(context.Background(), m.Merchant.ID, seedSteamID); jeton.AsError(err).Kind != jeton.KindNotFound {
			t.Errorf("a refused request stored a client: %v", err)
		}
	})
}

func TestAPIKeyErrors(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		m := e.merchant("Keys")
		ctx := context.Background()
		readOnly, _, _ := e.app.creds.CreateKey(ctx, m.Merchant.ID, []jeton.Scope{jeton.ScopeReadOnly})
		revoked, rk, _ := e.app.creds.CreateKey(ctx, m.Merchant.ID, []jeton.Scope{jeton.ScopeCoreAccess})
		if err := e.app.creds.RevokeKey(ctx, m.Merchant.ID, rk.ID); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			key, want string
			status    int
			code      float64
		}{
			{"", "MISSING_API_KEY", 401, 1900},
			{"ap_nope", "INVALID_API_KEY", 401, 1901},
			{"sk_" + strings.Repeat("a", 43), "INVALID_API_KEY", 401, 1901},
			{revoked, "API_KEY_REVOKED", 401, 1902},
			{readOnly, "API_KEY_SCOPE_DENIED", 403, 1903},
			{m.admin, "API_KEY_SCOPE_DENIED", 403, 1903},
		}
		for _, c := range cases {
			hdr := map[string]string{}
			if c.key != "" {
				hdr["api-key"] = c.key
			}
			r := e.do("POST", "/auth/authenticate-client", hdr, seedBody())
			if r.Status != c.status || r.errKey() != c.want || r.Body["error"].(map[string]any)["code"].(float64) != c.code {
				t.Errorf("key %.10q: want %d %s, got %d %s", c.key, c.status, c.want, r.Status, r.Raw)
			}
			if c.want == "API_KEY_SCOPE_DENIED" && !strings.Contains(r.Raw2(), "CORE_ACCESS") {
				t.Errorf("scope refusal should name CORE_ACCESS: %s", r.Raw)
			}
		}
		// Header names are case-insensitive.
		if r := e.do("POST", "/auth/authenticate-client", map[string]string{"API-KEY": m.APIKey}, seedBody()); r.Status != 200 {
			t.Errorf("API-KEY spelling refused: %s", r.Raw)
		}
	})
}

func (r reply) Raw2() string { return string(r.Raw) }

func TestLocalTokensAndLifetime(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		m := e.merchant("Local")
		now := e.clock.Now()
		sdk, err := client.MintToken(m.APISecret, m.Merchant.ID, client.Client{SteamID: seedSteamID, TradeURL: ownTradeURL, ClientID: "u1",
			ClientData: client.RawClientData(client.ClientData{KycLevel: ptr(3)})}, 24*time.Hour, now)
		if err != nil {
			t.Fatal(err)
		}
		if r := e.me(sdk); r.Status != 200 || r.data()["clientId"] != "u1" {
			t.Fatalf("SDK token refused: %s", r.Raw)
		}
		tenYears := signRaw(t, m.APISecret, m.Merchant.ID, map[string]any{"client": map[string]any{"steamID": seedSteamID, "tradeUrl": ownTradeURL},
			"iat": now.Unix(), "exp": now.Add(10 * 365 * 24 * time.Hour).Unix()})
		if r := e.me(tenYears); r.errKey() != jeton.KeyTokenLifetimeTooLong {
			t.Errorf("10-year token: %s", r.Raw)
		}
		e.clock.Add(24*time.Hour + time.Second)
		if r := e.me(sdk); r.Status != 401 || r.errKey() != "TOKEN_EXPIRED" || !strings.Contains(r.Raw2(), "fetch a new") {
			t.Errorf("expired token: %s", r.Raw)
		}
		if r := e.me("garbage"); r.Status != 401 || r.errKey() != jeton.KeyTokenMalformed {
			t.Errorf("garbage: %s", r.Raw)
		}
		if r := e.do("GET", "/client/me", nil, nil); r.errKey() != "MISSING_BEARER" {
			t.Errorf("no token: %s", r.Raw)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func TestSecretRotationGrace(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		m := e.merchant("Rotate")
		ctx := context.Background()
		old := e.token(m)
		newSecret, err := e.app.creds.RotateSecret(ctx, m.Merchant.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if r := e.me(old); r.Status != 200 {
			t.Fatalf("old-secret token refused during grace: %s", r.Raw)
		}
		fresh := e.token(m)
		local, _ := client.MintToken(newSecret, m.Merchant.ID, client.Client{SteamID: seedSteamID, TradeURL: ownTradeURL}, time.Hour, e.clock.Now())
		for _, tok := range []string{fresh, local} {
			if r := e.me(tok); r.Status != 200 {
				t.Fatalf("new-secret token refused: %s", r.Raw)
			}
		}
		e.clock.Add(time.Hour + time.Second)
		if err := e.app.creds.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if r := e.me(old); r.Status != 401 || r.errKey() != "INVALID_TOKEN" {
			t.Errorf("old-secret token after grace (even though cached): %s", r.Raw)
		}
		if r := e.me(fresh); r.Status != 200 {
			t.Errorf("new token after grace: %s", r.Raw)
		}
	})
}

func TestRevokeClientTokens(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		m := e.merchant("Revoke")
		tok := e.token(m)
		if r := e.me(tok); r.Status != 200 {
			t.Fatal(r.Raw2())
		}
		// CORE_ACCESS is not enough; ADMIN is.
		if r := e.do("POST", "/secure/clients/revoke-tokens", map[string]string{"api-key": m.APIKey}, map[string]any{"clientSteamId": seedSteamID}); r.errKey() != "API_KEY_SCOPE_DENIED" || !strings.Contains(r.Raw2(), "ADMIN") {
			t.Errorf("revoke with CORE_ACCESS: %s", r.Raw)
		}
		if r := e.do("POST", "/secure/clients/revoke-tokens", map[string]string{"api-key": m.admin}, map[string]any{"clientSteamId": seedSteamID, "clientId": "x"}); r.Status != 400 {
			t.Errorf("two subjects: %s", r.Raw)
		}
		if r := e.do("POST", "/secure/clients/revoke-tokens", map[string]string{"api-key": m.admin}, map[string]any{"clientSteamId": seedSteamID}); r.Status != 200 {
			t.Fatalf("revoke: %s", r.Raw)
		}
		if r := e.me(tok); r.Status != 401 || r.errKey() != jeton.KeyTokenRevoked {
			t.Errorf("revoked token still accepted: %s", r.Raw)
		}
		// A token issued right after works at once, in the same second.
		if r := e.me(e.token(m)); r.Status != 200 {
			t.Errorf("token issued after revocation refused: %s", r.Raw)
		}
		// By clientId too.
		e.clock.Add(2 * time.Second)
		tok = e.token(m)
		e.do("POST", "/secure/clients/revoke-tokens", map[string]string{"api-key": m.admin}, map[string]any{"clientId": "user-123"})
		if r := e.me(tok); r.errKey() != jeton.KeyTokenRevoked {
			t.Errorf("revoked by clientId still accepted: %s", r.Raw)
		}
	})
}

func TestOtherMerchantsTokens(t *testing.T) {
	e := newEnv(t, "sqlite")
	a, b := e.merchant("A"), e.merchant("B")
	forged, _ := client.MintToken(b.APISecret, a.Merchant.ID, client.Client{SteamID: seedSteamID, TradeURL: ownTradeURL}, time.Hour, e.clock.Now())
	if r := e.me(forged); r.errKey() != "INVALID_TOKEN" {
		t.Errorf("B's secret with A's id: %s", r.Raw)
	}
	unknown, _ := client.MintToken(b.APISecret, "000000000000000000", client.Client{SteamID: seedSteamID, TradeURL: ownTradeURL}, time.Hour, e.clock.Now())
	if r := e.me(unknown); r.errKey() != jeton.KeyTokenUnknownMerchant {
		t.Errorf("unknown merchant: %s", r.Raw)
	}
}

func TestSagaPayToken(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		m := e.merchant("Saga")
		other := e.merchant("Other")
		path := "/partners/" + m.Merchant.PartnerID + "/token"
		hdr := func(key, secret, mid string) map[string]string {
			return map[string]string{"API-KEY": key, "API-SECRET": secret, "MERCHANT-ID": mid}
		}
		good := hdr(m.APIKey, m.APISecret, m.Merchant.ID)
		body := map[string]any{"providerId": m.ProviderID, "providerCertificate": m.ProviderCertificate, "externalUserId": "A8895CBBCC503F", "email": "a@example.com"}

		r := e.do("POST", path, good, body)
		if r.Status != 200 || r.Body["status"] != "SUCCESS" || r.data()["validUntil"] != "3600" || r.Body["message"] == "" {
			t.Fatalf("token: %d %s", r.Status, r.Raw)
		}
		tok := r.data()["token"].(string)
		me := e.do("GET", "/client-tokens/me", map[string]string{"Authorization": "Bearer " + tok}, nil)
		if me.Status != 200 || me.data()["externalUserId"] != "A8895CBBCC503F" || me.data()["email"] != "a@example.com" {
			t.Errorf("client-tokens/me: %s", me.Raw)
		}
		// Lower-case header names work (HTTP header names are case-insensitive).
		if r := e.do("POST", path, map[string]string{"api-key": m.APIKey, "api-secret": m.APISecret, "merchant-id": m.Merchant.ID}, body); r.Status != 200 {
			t.Errorf("lower-case headers: %s", r.Raw)
		}
		// The SDK's locally minted SagaPay token is accepted too.
		local, _ := client.MintSagaPayToken(m.APISecret, m.Merchant.ID, "u-local", "", time.Hour, e.clock.Now())
		if r := e.do("GET", "/client-tokens/me", map[string]string{"Authorization": "Bearer " + local}, nil); r.Status != 200 {
			t.Errorf("local SagaPay token: %s", r.Raw)
		}

		errCases := []struct {
			name   string
			path   string
			hdr    map[string]string
			body   any
			status int
		}{
			{"wrong secret", path, hdr(m.APIKey, other.APISecret, m.Merchant.ID), body, 401},
			{"other merchant id", path, hdr(m.APIKey, m.APISecret, other.Merchant.ID), body, 401},
			{"missing secret", path, map[string]string{"API-KEY": m.APIKey, "MERCHANT-ID": m.Merchant.ID}, body, 401},
			{"no credentials", path, nil, body, 401},
			{"other partner", "/partners/" + other.Merchant.PartnerID + "/token", good, body, 404},
			{"wrong certificate", path, good, map[string]any{"providerId": m.ProviderID, "providerCertificate": "00", "externalUserId": "x"}, 400},
			{"other's provider", path, good, map[string]any{"providerId": other.ProviderID, "providerCertificate": other.ProviderCertificate, "externalUserId": "x"}, 400},
			{"missing externalUserId", path, good, map[string]any{"providerId": m.ProviderID, "providerCertificate": m.ProviderCertificate}, 400},
			{"unknown field", path, good, map[string]any{"providerId": m.ProviderID, "providerCertificate": m.ProviderCertificate, "externalUserId": "x", "admin": true}, 400},
			{"bad email", path, good, map[string]any{"providerId": m.ProviderID, "providerCertificate": m.ProviderCertificate, "externalUserId": "x", "email": "nope"}, 400},
			{"not json", path, good, "{", 400},
		}
		for _, c := range errCases {
			r := e.do("POST", c.path, c.hdr, c.body)
			if r.Status != c.status || r.Body["status"] != "ERROR" || r.Body["message"] == "" {
				t.Errorf("%s: want %d ERROR, got %d %s", c.name, c.status, r.Status, r.Raw)
			}
		}

		// Tokens of one surface are refused by the other.
		if r := e.me(tok); r.errKey() != jeton.KeyTokenWrongSurface {
			t.Errorf("SagaPay token on /client/me: %s", r.Raw)
		}
		if r := e.do("GET", "/client-tokens/me", map[string]string{"Authorization": "Bearer " + e.token(m)}, nil); r.Status != 401 {
			t.Errorf("AssetPay token on SagaPay: %s", r.Raw)
		}

		// Revoke every token of the user.
		rv := e.do("POST", path+"/revoke", hdr(m.admin, m.APISecret, m.Merchant.ID), map[string]any{"externalUserId": "A8895CBBCC503F"})
		if rv.Status != 200 {
			t.Fatalf("revoke: %s", rv.Raw)
		}
		if r := e.do("GET", "/client-tokens/me", map[string]string{"Authorization": "Bearer " + tok}, nil); r.Status != 401 || r.errKey() != jeton.KeyTokenRevoked {
			t.Errorf("revoked SagaPay token: %s", r.Raw)
		}
	})
}

func storeBody() map[string]any {
	return map[string]any{
		"storeName":   "Trial Store",
		"email":       "ts@example.com",
		"phoneNumber": map[string]any{"code": "+46", "number": "3214576980"},
		"address":     map[string]any{"addressLine1": "10", "city": "Stockholm", "countryCode": "SE", "postalCode": "103 16"},
	}
}

func TestSagaPayStores(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		m := e.merchant("Stores")
		other := e.merchant("Other")
		base := "/partners/" + m.Merchant.PartnerID + "/merchants/" + m.Merchant.ID + "/stores"
		admin := map[string]string{"API-KEY": m.admin, "API-SECRET": m.APISecret, "MERCHANT-ID": m.Merchant.ID}

		r := e.do("POST", base, admin, storeBody())
		if r.Status != 201 || r.data()["storeId"] == "" || r.data()["merchantUrlDomainVerificationKey"] == "" {
			t.Fatalf("create store: %d %s", r.Status, r.Raw)
		}
		id := r.data()["storeId"].(string)
		if g := e.do("GET", base+"/"+id, admin, nil); g.Status != 200 || g.data()["name"] != "Trial Store" || g.data()["status"] != "ACTIVE" || g.data()["phone"] != "+46 3214576980" {
			t.Errorf("get store: %s", g.Raw)
		}
		e.do("POST", base, admin, storeBody())
		l := e.do("GET", base, admin, nil)
		if l.Status != 200 || len(l.Body["data"].([]any)) != 2 || l.Header.Get("X-Total-Items") != "2" {
			t.Errorf("list stores: %s", l.Raw)
		}
		if p2 := e.do("GET", base, map[string]string{"API-KEY": m.admin, "API-SECRET": m.APISecret, "MERCHANT-ID": m.Merchant.ID, "X-PAGE-NUMBER": "2"}, nil); p2.Status != 200 || len(p2.Body["data"].([]any)) != 0 {
			t.Errorf("page 2 should be empty SUCCESS: %s", p2.Raw)
		}

		// CORE_ACCESS is not enough for administration.
		if r := e.do("POST", base, map[string]string{"API-KEY": m.APIKey, "API-SECRET": m.APISecret, "MERCHANT-ID": m.Merchant.ID}, storeBody()); r.Status != 403 || !strings.Contains(r.Raw2(), "ADMIN") {
			t.Errorf("CORE_ACCESS key on admin route: %s", r.Raw)
		}
		// Client tokens of either surface are refused with 403.
		st := e.do("POST", "/partners/"+m.Merchant.PartnerID+"/token", map[string]string{"API-KEY": m.APIKey, "API-SECRET": m.APISecret, "MERCHANT-ID": m.Merchant.ID},
			map[string]any{"providerId": m.ProviderID, "providerCertificate": m.ProviderCertificate, "externalUserId": "u"})
		sagaTok := st.data()["token"].(string)
		for _, route := range []struct{ method, path string }{{"POST", base}, {"GET", base}, {"GET", base + "/" + id}, {"POST", "/partners/" + m.Merchant.PartnerID + "/token/revoke"}} {
			for _, tok := range []string{sagaTok, e.token(m)} {
				var body any
				if route.method == "POST" {
					body = storeBody()
				}
				if r := e.do(route.method, route.path, map[string]string{"Authorization": "Bearer " + tok}, body); r.Status != 403 {
					t.Errorf("client token on %s %s: want 403, got %d %s", route.method, route.path, r.Status, r.Raw)
				}
			}
		}
		if r := e.do("GET", base, map[string]string{"Authorization": "Bearer nope"}, nil); r.Status != 401 {
			t.Errorf("bad token on admin route: %s", r.Raw)
		}

		// Another merchant sees nothing: 404 whichever id it tries.
		oadmin := map[string]string{"API-KEY": other.admin, "API-SECRET": other.APISecret, "MERCHANT-ID": other.Merchant.ID}
		if r := e.do("GET", base+"/"+id, oadmin, nil); r.Status != 404 {
			t.Errorf("other merchant on my path: %s", r.Raw)
		}
		obase := "/partners/" + other.Merchant.PartnerID + "/merchants/" + other.Merchant.ID + "/stores"
		if r := e.do("GET", obase+"/"+id, oadmin, nil); r.Status != 404 {
			t.Errorf("other merchant fetching my store id: %s", r.Raw)
		}

		bad := []func(map[string]any){
			func(b map[string]any) { delete(b, "storeName") },
			func(b map[string]any) { delete(b, "phoneNumber") },
			func(b map[string]any) { b["phoneNumber"] = map[string]any{"code": "+46", "number": "12"} },
			func(b map[string]any) {
				b["address"] = map[string]any{"addressLine1": "x", "city": "y", "countryCode": "se", "postalCode": "1"}
			},
			func(b map[string]any) { b["onlineInfo"] = map[string]any{"merchantWebshopURL": "http://x"} },
			func(b map[string]any) { b["surprise"] = 1 },
		}
		before := len(e.do("GET", base, admin, nil).Body["data"].([]any))
		for i, mut := range bad {
			b := storeBody()
			mut(b)
			if r := e.do("POST", base, admin, b); r.Status != 400 || r.Body["status"] != "ERROR" {
				t.Errorf("bad store %d: %s", i, r.Raw)
			}
		}
		if after := len(e.do("GET", base, admin, nil).Body["data"].([]any)); after != before {
			t.Errorf("refused creates stored stores: %d -> %d", before, after)
		}
	})
}

func TestServerBasics(t *testing.T) {
	e := newEnv(t, "sqlite")
	m := e.merchant("Basics")
	for _, p := range []string{"/healthz", "/readyz", "/openapi.json"} {
		if r := e.do("GET", p, nil, nil); r.Status != 200 {
			t.Errorf("%s: %d", p, r.Status)
		}
	}
	if r := e.do("GET", "/health", nil, nil); r.data()["status"] != "ok" || r.Body["success"] != true {
		t.Errorf("/health: %s", r.Raw)
	}
	// A caller's UUID request id is kept; anything else is replaced.
	id := "3f6c8e2a-9b41-4d7e-a0c5-1b2d3e4f5a6b"
	if r := e.do("GET", "/health", map[string]string{"X-Request-Id": id}, nil); r.Body["requestId"] != id {
		t.Errorf("request id not kept: %s", r.Raw)
	}
	if r := e.do("GET", "/health", map[string]string{"X-Request-Id": "<script>"}, nil); r.Body["requestId"] == "<script>" {
		t.Errorf("invalid request id echoed")
	}
	// CORS: browser routes answer preflights; merchant routes do not.
	pre := e.do("OPTIONS", "/client/me", map[string]string{"Origin": "https://shop.example", "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"}, nil)
	if pre.Status != 204 || pre.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(pre.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight: %d %v", pre.Status, pre.Header)
	}
	if r := e.do("GET", "/client/me", map[string]string{"Origin": "https://shop.example", "Authorization": e.token(m)}, nil); r.Header.Get("Access-Control-Allow-Origin") != "*" || r.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("CORS on client route: %v", r.Header)
	}
	if r := e.authenticate(m.APIKey, seedBody()); r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("merchant route must not be CORS-enabled")
	}
	if r := e.do("GET", "/no/such/route", nil, nil); r.Status != 404 || r.errKey() != "NOT_FOUND" || r.Body["status"] != "ERROR" {
		t.Errorf("unknown route: %s", r.Raw)
	}
	// Metrics count requests by route and token verifications by result.
	resp, err := http.Get(e.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 1<<16)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	for _, want := range []string{`jeton_http_requests_total{code="200",route="GET /client/me"}`, `jeton_token_verifications_total{cached="false",result="ok"}`, "jeton_http_request_duration_seconds_bucket"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestClientRoutesNeverFail500(t *testing.T) {
	e := newEnv(t, "sqlite")
	m := e.merchant("Strange")
	inputs := []string{"", " ", "Bearer", "Bearer ", "bearer  x", "a.b.c", "..", "...", "a..c", ".b.", strings.Repeat("A", 9000),
		"eyJhbGciOiJIUzI1NiJ9.e30.", "eyJhbGciOiJIUzI1NiIsInVzZXJJZCI6eyJ4IjoxfX0.e30.AAAA", "\x00\x01", "Bearer Bearer x", "%00"}
	for _, in := range inputs {
		req, _ := http.NewRequest("GET", e.srv.URL+"/client/me", nil)
		req.Header["Authorization"] = []string{in}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			continue // the client may refuse to send some bytes; that is fine
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("Authorization %.40q: status %d, want 401", in, resp.StatusCode)
		}
	}
	_ = m
}

func TestMerchantMaxLifetime(t *testing.T) {
	e := newEnv(t, "sqlite")
	m := e.merchant("Short")
	if err := e.app.creds.SetMaxTokenLifetime(context.Background(), m.Merchant.ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	r := e.authenticate(m.APIKey, seedBody())
	var claims struct{ Iat, Exp int64 }
	parts := strings.Split(r.data()["token"].(string), ".")
	raw, _ := b64dec(parts[1])
	_ = json.Unmarshal(raw, &claims)
	if claims.Exp-claims.Iat != 3600 {
		t.Errorf("issued lifetime %d, want 3600", claims.Exp-claims.Iat)
	}
	day, _ := client.MintToken(m.APISecret, m.Merchant.ID, client.Client{SteamID: seedSteamID, TradeURL: ownTradeURL}, 2*time.Hour, e.clock.Now())
	if r := e.me(day); r.errKey() != jeton.KeyTokenLifetimeTooLong {
		t.Errorf("2h token with a 1h maximum: %s", r.Raw)
	}
}
