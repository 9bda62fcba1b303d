package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jetonhq/jeton/client"
)

// TestGoSDK drives both surfaces through the Go SDK's HTTP client.
func TestGoSDK(t *testing.T) {
	e := newEnv(t, "sqlite")
	m := e.merchant("SDK")
	ctx := context.Background()
	api := &client.API{BaseURL: e.srv.URL, APIKey: m.APIKey, APISecret: m.APISecret, MerchantID: m.Merchant.ID}

	res, err := api.AuthenticateClient(ctx, client.AuthenticateRequest{ClientSteamID: seedSteamID, ClientTradeURL: seedTradeURL, ClientID: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	e.remember(res.Token)
	if len(res.Warnings) != 1 || res.Warnings[0].Key != "TRADE_URL_NOT_OWNED" {
		t.Errorf("warnings: %+v", res.Warnings)
	}
	me, err := api.ClientMe(ctx, res.Token)
	if err != nil || me.MerchantID != m.Merchant.ID || me.ClientID == nil || *me.ClientID != "u1" || me.ExpiresAt.IsZero() {
		t.Fatalf("ClientMe: %+v %v", me, err)
	}

	_, err = api.AuthenticateClient(ctx, client.AuthenticateRequest{ClientSteamID: "1", ClientTradeURL: seedTradeURL})
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.Key != "VALIDATION_FAILED" || apiErr.Code != 1001 || apiErr.Fields["clientSteamId"] == "" || apiErr.RequestID == "" {
		t.Errorf("typed validation error: %#v", err)
	}
	if _, err := api.ClientMe(ctx, res.Token+"x"); !errors.As(err, &apiErr) || apiErr.Key != "INVALID_TOKEN" || apiErr.Status != 401 {
		t.Errorf("typed token error: %#v", err)
	}

	st, err := api.SagaPayToken(ctx, m.Merchant.PartnerID, client.SagaPayTokenRequest{ProviderID: m.ProviderID, ProviderCertificate: m.ProviderCertificate, ExternalUserID: "u1"})
	if err != nil || st.ValidUntil != "3600" || st.Token == "" {
		t.Fatalf("SagaPayToken: %+v %v", st, err)
	}
	e.remember(st.Token)
	_, err = api.SagaPayToken(ctx, m.Merchant.PartnerID, client.SagaPayTokenRequest{ProviderID: m.ProviderID, ProviderCertificate: "wrong", ExternalUserID: "u1"})
	if !errors.As(err, &apiErr) || apiErr.Status != 400 || apiErr.Key != "INVALID_PROVIDER" {
		t.Errorf("SagaPay typed error: %#v", err)
	}

	admin := *api
	admin.APIKey = m.admin
	if err := admin.RevokeClientTokens(ctx, seedSteamID); err != nil {
		t.Fatal(err)
	}
	if _, err := api.ClientMe(ctx, res.Token); !errors.As(err, &apiErr) || apiErr.Key != "TOKEN_REVOKED" {
		t.Errorf("after revocation: %v", err)
	}
}

// TestGoSDKSagaPayTokens: the SDK's token source refreshes a SagaPay
// token before it expires, and a call answered TOKEN_EXPIRED gets a new
// token and is tried once more.
func TestGoSDKSagaPayTokens(t *testing.T) {
	e := tradingEnv(t, "sqlite", 2*time.Second)
	f := newSagaFixture(t, e, "SDK Cafe")
	ctx := context.Background()
	api := &client.API{BaseURL: e.srv.URL, APIKey: f.m.APIKey, APISecret: f.m.APISecret, MerchantID: f.m.Merchant.ID}
	fetches := 0
	src := api.SagaPayTokenSource(f.m.Merchant.PartnerID, client.SagaPayTokenRequest{ProviderID: f.m.ProviderID,
		ProviderCertificate: f.m.ProviderCertificate, ExternalUserID: "sdk-user"})
	sdkClock := &clock{t: time.Now()}
	cached := &client.CachedTokenSource{Source: client.TokenSourceFunc(func(ctx context.Context) (client.Token, error) {
		fetches++
		tok, err := src.Token(ctx)
		e.remember(tok.Value)
		return tok, err
	}), Now: sdkClock.Now}
	sp := &client.SagaPay{BaseURL: e.srv.URL, Tokens: cached}

	o, err := sp.CreateOrder(ctx, map[string]any{"terminal$id": f.terminal,
		"orderLines":       []any{map[string]any{"id": "1", "name": "Bun", "amount": map[string]any{"regular": 900, "total": 900, "currency": "752"}}},
		"totalOrderAmount": map[string]any{"regular": 900, "total": 900, "currency": "752"}})
	if err != nil || o.OrderID == "" {
		t.Fatalf("CreateOrder: %+v %v", o, err)
	}
	pid, err := sp.InitiatePayment(ctx, client.PaymentRequest{OrderID: o.OrderID, PaymentMethod: "CARD"})
	if err != nil {
		t.Fatal(err)
	}
	if fetches != 1 {
		t.Errorf("one token should serve both calls; fetched %d", fetches)
	}
	// Just before expiry (within the last minute), the source refreshes.
	sdkClock.Add(time.Hour - 30*time.Second)
	if _, err := sp.PaymentStatus(ctx, pid); err != nil {
		t.Fatal(err)
	}
	if fetches != 2 {
		t.Errorf("no refresh before expiry: %d fetches", fetches)
	}
	// The server's clock runs ahead of the SDK's: the token it holds is
	// expired there. One TOKEN_EXPIRED, one new token, one retry.
	e.clock.Add(2 * time.Hour)
	st, err := sp.PaymentStatus(ctx, pid)
	if err != nil || st.PaymentStatus == "" {
		t.Fatalf("after expiry on the server: %+v %v", st, err)
	}
	if fetches != 3 {
		t.Errorf("retry on TOKEN_EXPIRED: %d fetches", fetches)
	}
	// An expired token is answered 401 with a message that says what to do.
	tok, _ := cached.Token(ctx)
	e.clock.Add(2 * time.Hour)
	r := e.do("GET", "/payments/"+pid+"/status", map[string]string{"Authorization": "Bearer " + tok.Value}, nil)
	if r.Status != 401 || r.errKeySaga() != "TOKEN_EXPIRED" || !strings.Contains(r.Body["message"].(string), "fetch a new one") {
		t.Errorf("expired token: %s", r.Raw)
	}
}
