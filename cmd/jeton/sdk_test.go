package main

import (
	"context"
	"errors"
	"testing"

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
