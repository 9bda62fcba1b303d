package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jetonhq/jeton"
)

// authRule is who may call a route, written down independently of the
// handlers' own checks.
type authRule struct {
	surface string      // "assetpay", "sagapay" or "public"
	client  bool        // a client token of the surface may call it
	scope   jeton.Scope // the API-key scope it needs; "" = API keys may not
	ids     bool        // its path names the merchant's own objects
	op      bool        // an operational route: the other surface's token is 401 there, not 403
}

// authRules classifies every route of both surfaces. A route missing
// here fails TestAuthorizationMatrix, so a new route cannot be mounted
// without deciding who may call it.
func authRules() map[string]authRule {
	ro, core, admin := jeton.ScopeReadOnly, jeton.ScopeCoreAccess, jeton.ScopeAdmin
	ap := func(scope jeton.Scope, ids bool) authRule {
		return authRule{surface: "assetpay", scope: scope, ids: ids}
	}
	apClient := func(ids bool) authRule { return authRule{surface: "assetpay", client: true, ids: ids} }
	saAdmin := func(scope jeton.Scope) authRule { return authRule{surface: "sagapay", scope: scope, ids: true} }
	saOp := func(scope jeton.Scope, ids bool) authRule {
		return authRule{surface: "sagapay", client: true, scope: scope, ids: ids, op: true}
	}
	// saMerchantOp: an operational route that only the merchant may call
	// (refunds, voids, captures): end users' tokens get 403.
	saMerchantOp := func(scope jeton.Scope, ids bool) authRule {
		return authRule{surface: "sagapay", scope: scope, ids: ids, op: true}
	}
	pub := authRule{surface: "public"}
	return map[string]authRule{
		"GET /healthz": pub, "GET /readyz": pub, "GET /health": pub, "GET /metrics": pub, "GET /openapi.json": pub,
		"GET /receipt/{key}": pub,

		"POST /auth/authenticate-client": ap(core, false),
		"GET /client/me":                 apClient(false),
		"GET /client/inventory":          apClient(false), "GET /client/market": apClient(false),
		"GET /client/market/item": apClient(false), "GET /client/market/suggestions": apClient(false),
		"POST /client/trading/deposit": apClient(false), "POST /client/trading/withdraw": apClient(false),
		"GET /client/trades": apClient(false), "GET /client/trades/{id}": apClient(true),
		"POST /secure/clients/revoke-tokens": ap(admin, false),
		"POST /secure/check-tradeurl":        ap(core, false), "GET /secure/prices": ap(ro, false),
		"GET /secure/inventory": ap(ro, false), "GET /secure/market": ap(ro, false), "GET /secure/market/item": ap(ro, false),
		"GET /secure/market/suggestions": ap(ro, false), "GET /secure/trades": ap(ro, false), "GET /secure/trades/{ref}": ap(ro, true),
		"POST /secure/sell": ap(core, false), "POST /secure/buy": ap(core, false), "PUT /secure/callback-url": ap(core, false),
		"GET /secure/callbacks": ap(ro, false), "GET /secure/callbacks/{deliveryId}": ap(ro, true),
		"POST /secure/callbacks/{deliveryId}/redeliver": ap(core, true),
		"POST /secure/sandbox/trades/{id}/{action}":     ap(core, true), "POST /secure/sandbox/clock/advance": ap(core, false),
		"GET /v1/wallets/me/balance": ap(ro, false), "GET /v1/ledger/transactions": ap(ro, false),
		"GET /v1/ledger/transactions/{id}": ap(ro, true),

		"POST /partners/{partnerId}/token":                                        saAdmin(core),
		"POST /partners/{partnerId}/token/revoke":                                 saAdmin(admin),
		"GET /client-tokens/me":                                                   {surface: "sagapay", client: true, scope: ro, op: true},
		"GET /partners/{partnerId}/merchants":                                     saAdmin(admin),
		"POST /partners/{partnerId}/merchants":                                    saAdmin(admin),
		"GET /partners/{partnerId}/merchants/{target}":                            saAdmin(admin),
		"GET /partners/{partnerId}/merchants/{target}/status":                     saAdmin(admin),
		"POST /partners/{partnerId}/merchants/{merchantId}/stores":                saAdmin(admin),
		"GET /partners/{partnerId}/merchants/{merchantId}/stores":                 saAdmin(admin),
		"GET /partners/{partnerId}/merchants/{merchantId}/stores/{storeId}":       saAdmin(admin),
		"POST /merchants/{merchantId}/stores/{storeId}/devices":                   saAdmin(admin),
		"GET /merchants/{merchantId}/stores/{storeId}/device-registration":        saAdmin(admin),
		"GET /merchants/{merchantId}/stores/{storeId}/terminals":                  saAdmin(admin),
		"GET /merchants/{merchantId}/terminals":                                   saAdmin(admin),
		"GET /terminals/{terminalId}":                                             saAdmin(admin),
		"POST /merchants/{merchantId}/webhooks":                                   saAdmin(admin),
		"GET /merchants/{merchantId}/webhooks":                                    saAdmin(admin),
		"DELETE /merchants/{merchantId}/webhooks/{webhookId}":                     saAdmin(admin),
		"POST /merchants/{merchantId}/webhooks/{webhookId}/test":                  saAdmin(admin),
		"GET /merchants/{merchantId}/webhooks/deliveries":                         saAdmin(ro),
		"GET /merchants/{merchantId}/webhooks/deliveries/{deliveryId}":            saAdmin(ro),
		"POST /merchants/{merchantId}/webhooks/deliveries/{deliveryId}/redeliver": saAdmin(core),
		"GET /sandbox/outbox":                                                     {surface: "sagapay", scope: ro},
		"POST /sandbox/terminals/{terminalId}/tip":                                saAdmin(core),
		"POST /sandbox/terminals/{terminalId}/card":                               saAdmin(core),
		"POST /sandbox/terminals/{terminalId}/cancel":                             saAdmin(core),

		"PATCH /merchants/{merchantId}/tips":                                              saAdmin(admin),
		"GET /merchants/{merchantId}/tips":                                                saOp(ro, true),
		"PATCH /merchants/{merchantId}/stores/{storeId}/tips":                             saAdmin(admin),
		"GET /merchants/{merchantId}/stores/{storeId}/tips":                               saOp(ro, true),
		"PATCH /merchants/{merchantId}/stores/{storeId}/terminals/{terminalId}/tips":      saAdmin(admin),
		"GET /merchants/{merchantId}/stores/{storeId}/terminals/{terminalId}/tips":        saOp(ro, true),
		"PATCH /merchants/{merchantId}/branding":                                          saAdmin(admin),
		"GET /merchants/{merchantId}/branding":                                            saOp(ro, true),
		"DELETE /merchants/{merchantId}/branding":                                         saAdmin(admin),
		"PATCH /merchants/{merchantId}/stores/{storeId}/branding":                         saAdmin(admin),
		"GET /merchants/{merchantId}/stores/{storeId}/branding":                           saOp(ro, true),
		"DELETE /merchants/{merchantId}/stores/{storeId}/branding":                        saAdmin(admin),
		"PATCH /merchants/{merchantId}/stores/{storeId}/terminals/{terminalId}/branding":  saAdmin(admin),
		"GET /merchants/{merchantId}/stores/{storeId}/terminals/{terminalId}/branding":    saOp(ro, true),
		"DELETE /merchants/{merchantId}/stores/{storeId}/terminals/{terminalId}/branding": saAdmin(admin),

		"GET /receipts/{id}/link": saOp(ro, true), "PUT /receipts/{id}/email": saOp(core, true), "PUT /receipts/{id}/print": saOp(core, true),
		"GET /partners/{partnerId}/merchants/{merchantId}/reports": saOp(ro, true),
		"POST /payments/{paymentId}/capture":                       saMerchantOp(core, true), "GET /payments/{paymentId}/capture": saOp(ro, true),
		"POST /orders": saOp(core, false), "GET /orders/{orderId}": saOp(ro, true), "PUT /orders/{orderId}": saOp(core, true),
		"DELETE /orders/{orderId}": saOp(core, true), "GET /orders/{orderId}/status": saOp(ro, true),
		"GET /orders/{orderId}/adjustments": saOp(ro, true),
		"POST /payments":                    saOp(core, false), "GET /payments/{paymentId}": saOp(ro, true),
		"GET /payments/{paymentId}/status": saOp(ro, true), "DELETE /payments/{paymentId}": saOp(core, true),
		"PUT /payments/{paymentId}/void": saMerchantOp(core, true), "POST /payments/{paymentId}/void": saMerchantOp(core, true),
		"GET /transactions": saOp(ro, false), "GET /transactions/search": saOp(ro, false), "GET /transactions/{id}/list": saOp(ro, true),
	}
}

// credCase is one kind of caller.
type credCase struct {
	name   string
	kind   string // none, apToken, saToken, key, otherKey, otherApToken, otherSaToken
	scope  jeton.Scope
	header func(surface string) map[string]string
}

// TestAuthorizationMatrix calls every mounted route of both surfaces with
// no credential, a client token of each surface, an API key of each
// scope, and another merchant's credentials, and checks each status
// against authRules: 401 without credentials, 401 for the other
// surface's token or a key where a token is needed, 403 for a client
// token on administration or a key without the scope, 404 for another
// merchant on this merchant's ids, and no 401 or 403 where the caller is
// allowed.
func TestAuthorizationMatrix(t *testing.T) {
	e := tradingEnv(t, "sqlite", 100*time.Millisecond)
	f := newSagaFixture(t, e, "Matrix")
	g := newSagaFixture(t, e, "Other")
	m := f.m
	// Objects of the merchant for the path ids.
	orderID, payID, _ := f.pay(t, f.core, 1500, nil)
	store := f.storeOf(t)
	wh := e.do("GET", "/merchants/"+m.Merchant.ID+"/webhooks", f.admin, nil).Body["data"].([]any)[0].(map[string]any)["webhookId"].(string)
	link := e.do("GET", "/receipts/"+payID+"/link", f.core, nil).data()["receiptURL"].(string)
	receiptKey := link[strings.LastIndex(link, "/")+1:]
	e.do("PUT", "/secure/callback-url", map[string]string{"api-key": m.APIKey}, map[string]any{"url": f.hooks.srv.URL})
	apTok := e.token(m)
	dep := e.do("POST", "/client/trading/deposit", map[string]string{"Authorization": apTok}, map[string]any{"items": []any{}})
	_ = dep
	trades := e.do("GET", "/secure/trades", map[string]string{"api-key": m.APIKey}, nil)
	tradeID := "00000000-0000-7000-8000-000000000000"
	if list, ok := trades.data()["trades"].([]any); ok && len(list) > 0 {
		tradeID = list[0].(map[string]any)["id"].(string)
	}
	ids := map[string]string{"partnerId": m.Merchant.PartnerID, "merchantId": m.Merchant.ID, "storeId": store, "terminalId": f.terminal,
		"orderId": orderID, "paymentId": payID, "id": orderID, "webhookId": wh, "key": receiptKey, "ref": tradeID,
		"deliveryId": "00000000-0000-7000-8000-000000000001", "action": "accept", "target": m.Merchant.ID}

	keys := map[jeton.Scope]string{jeton.ScopeAdmin: m.admin, jeton.ScopeCoreAccess: m.APIKey}
	ro, _, err := e.app.creds.CreateKey(t.Context(), m.Merchant.ID, []jeton.Scope{jeton.ScopeReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	keys[jeton.ScopeReadOnly] = ro
	keyHeader := func(merchantID, secret, key string) func(string) map[string]string {
		return func(surface string) map[string]string {
			if surface == "sagapay" {
				return map[string]string{"API-KEY": key, "API-SECRET": secret, "MERCHANT-ID": merchantID}
			}
			return map[string]string{"api-key": key}
		}
	}
	bearer := func(tok string) func(string) map[string]string {
		return func(string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	}
	saTok := f.token("matrix-user")["Authorization"][len("Bearer "):]
	otherSa := g.token("other-user")["Authorization"][len("Bearer "):]
	cases := []credCase{
		{name: "no credentials", kind: "none", header: func(string) map[string]string { return nil }},
		{name: "AssetPay client token", kind: "apToken", header: bearer(apTok)},
		{name: "SagaPay client token", kind: "saToken", header: bearer(saTok)},
		{name: "READ_ONLY key", kind: "key", scope: jeton.ScopeReadOnly, header: keyHeader(m.Merchant.ID, m.APISecret, keys[jeton.ScopeReadOnly])},
		{name: "CORE_ACCESS key", kind: "key", scope: jeton.ScopeCoreAccess, header: keyHeader(m.Merchant.ID, m.APISecret, keys[jeton.ScopeCoreAccess])},
		{name: "ADMIN key", kind: "key", scope: jeton.ScopeAdmin, header: keyHeader(m.Merchant.ID, m.APISecret, keys[jeton.ScopeAdmin])},
		{name: "other merchant's ADMIN key", kind: "otherKey", scope: jeton.ScopeAdmin, header: keyHeader(g.m.Merchant.ID, g.m.APISecret, g.m.admin)},
		{name: "other merchant's AssetPay token", kind: "otherApToken", header: bearer(e.token(g.m))},
		{name: "other merchant's SagaPay token", kind: "otherSaToken", header: bearer(otherSa)},
	}
	satisfies := func(have, need jeton.Scope) bool {
		return have == need || need == jeton.ScopeReadOnly && (have == jeton.ScopeCoreAccess || have == jeton.ScopeAdmin)
	}
	rules := authRules()
	seen := map[string]bool{}
	for _, rt := range e.app.server.Routes() {
		name := rt.Method + " " + rt.Path
		if rt.Method == "OPTIONS" || rt.Page {
			continue // dashboard pages have their own sessions; dashboard_test covers them
		}
		rule, ok := rules[name]
		if !ok {
			t.Errorf("route %s is not in authRules: decide who may call it", name)
			continue
		}
		seen[name] = true
		path := rt.Path
		for k, v := range ids {
			path = strings.ReplaceAll(path, "{"+k+"}", v)
		}
		if strings.Contains(path, "{") {
			t.Errorf("%s: no id for %s", name, path)
			continue
		}
		var body any
		if rt.Method == "POST" || rt.Method == "PUT" || rt.Method == "PATCH" {
			body = map[string]any{}
		}
		for _, c := range cases {
			// What this caller should get; "pass" is any status but 401
			// and 403.
			want := "pass"
			switch {
			case rule.surface == "public":
			case c.kind == "none":
				want = "401"
			case rule.surface == "assetpay":
				switch {
				case c.kind == "apToken" || c.kind == "otherApToken":
					want = map[bool]string{true: "pass", false: "401"}[rule.client]
				case c.kind == "saToken" || c.kind == "otherSaToken":
					want = "401"
				case rule.scope == "":
					want = "401" // an API key where a client token is needed
				case !satisfies(c.scope, rule.scope):
					want = "403"
				}
				if want == "pass" && (c.kind == "otherKey" || c.kind == "otherApToken") && rule.ids {
					want = "404"
				}
			case rule.surface == "sagapay":
				switch {
				case c.kind == "apToken" || c.kind == "otherApToken":
					want = map[bool]string{true: "401", false: "403"}[rule.op]
				case c.kind == "saToken" || c.kind == "otherSaToken":
					want = map[bool]string{true: "pass", false: "403"}[rule.client]
				case rule.scope == "":
					want = "401"
				case !satisfies(c.scope, rule.scope):
					want = "403"
				}
				if want == "pass" && (c.kind == "otherKey" || c.kind == "otherSaToken") && rule.ids {
					want = "404"
				}
			}
			r := e.do(rt.Method, path, c.header(rule.surface), body)
			got := "pass"
			if r.Status == 401 || r.Status == 403 {
				got = strconv.Itoa(r.Status)
			}
			if want == "404" && r.Status == 404 {
				got = "404"
			}
			if got != want {
				t.Errorf("%s with %s: want %s, got %d %s", name, c.name, want, r.Status, r.Raw)
			}
		}
	}
	for name := range rules {
		if !seen[name] {
			t.Errorf("authRules has %s, which is not mounted", name)
		}
	}
}
