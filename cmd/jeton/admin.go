package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/callback"
	"github.com/jetonhq/jeton/client"
	"github.com/jetonhq/jeton/credential"
	"github.com/jetonhq/jeton/dashboard"
)

// output prints either one JSON object (--json) or readable lines.
type output struct {
	JSON bool `name:"json" help:"Print one JSON object on stdout."`
}

func (o output) print(obj map[string]any, order ...string) error {
	if o.JSON {
		enc := json.NewEncoder(os.Stdout)
		return enc.Encode(obj)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 2, 2, ' ', 0)
	for _, k := range order {
		fmt.Fprintf(tw, "%s\t%v\n", k, obj[k])
	}
	return tw.Flush()
}

// withCreds opens the store and runs fn with a credential service.
func withCreds(f storeFlags, fn func(ctx context.Context, s *credential.Service) error) error {
	ctx := context.Background()
	db, sealer, err := openStore(ctx, f)
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(ctx, credential.New(db, sealer, nil, nil))
}

type merchantCmd struct {
	Create merchantCreateCmd `cmd:"" help:"Create a merchant with a CORE_ACCESS key, an API secret and a SagaPay provider."`
	List   merchantListCmd   `cmd:"" help:"List merchants."`

	SetCallback   merchantSetCallbackCmd   `cmd:"" name:"set-callback" help:"Set the AssetPay callback URL after an unsigned {\"test\": true} ping answers 2xx."`
	SetCollateral merchantSetCollateralCmd `cmd:"" name:"set-collateral" help:"Set the instant credit the merchant backs for each user, in USD."`
}

type merchantSetCallbackCmd struct {
	storeFlags
	output
	Merchant string `name:"merchant" required:"" help:"Merchant ID."`
	URL      string `name:"url" required:"" help:"Callback URL (http or https)."`
}

func (c *merchantSetCallbackCmd) Run() error {
	if err := callback.ValidURL(c.URL); err != nil {
		return fmt.Errorf("--url %w", err)
	}
	ctx := context.Background()
	db, _, err := openStore(ctx, c.storeFlags)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Merchant(ctx, c.Merchant); err != nil {
		return err
	}
	cb := callback.New(db, nil, nil, slog.New(slog.DiscardHandler), nil)
	at, ok := cb.Ping(ctx, c.Merchant, c.URL)
	cb.Close()
	test := map[string]any{"ok": ok, "statusCode": at.StatusCode, "latencyMs": float64(at.Latency.Microseconds()) / 1000}
	if at.Error != "" {
		test["error"] = at.Error
	}
	if !ok {
		_ = c.print(map[string]any{"callbackUrl": nil, "test": test}, "test")
		return fmt.Errorf("%s: the test ping did not get a 2xx within 8 s; the URL was not saved", jeton.KeyCallbackTestFailed)
	}
	if err := db.SetCallbackURL(ctx, c.Merchant, c.URL); err != nil {
		return err
	}
	return c.print(map[string]any{"callbackUrl": c.URL, "test": test}, "callbackUrl", "test")
}

type merchantSetCollateralCmd struct {
	storeFlags
	output
	Merchant string `name:"merchant" required:"" help:"Merchant ID."`
	Amount   string `name:"amount" required:"" help:"USD per user, e.g. 150.00."`
}

func (c *merchantSetCollateralCmd) Run() error {
	amt, err := jeton.ParseUSD(c.Amount)
	if err != nil {
		return fmt.Errorf("--amount %w", err)
	}
	ctx := context.Background()
	db, _, err := openStore(ctx, c.storeFlags)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.SetMerchantCollateral(ctx, c.Merchant, amt); err != nil {
		return err
	}
	return c.print(map[string]any{"merchantId": c.Merchant, "collateral": amt}, "merchantId", "collateral")
}

type merchantCreateCmd struct {
	storeFlags
	output
	Name    string `name:"name" required:"" help:"Merchant name."`
	Partner string `name:"partner" help:"Existing partner ID to put the merchant under (default: a new partner)."`
	Scopes  string `name:"scopes" default:"CORE_ACCESS" help:"Scopes of the first API key."`
}

func (c *merchantCreateCmd) Run() error {
	scopes, err := jeton.ParseScopes(c.Scopes)
	if err != nil {
		return err
	}
	return withCreds(c.storeFlags, func(ctx context.Context, s *credential.Service) error {
		nm, err := s.CreateMerchant(ctx, c.Name, c.Partner, scopes)
		if err != nil {
			return err
		}
		return c.print(map[string]any{
			"merchantId": nm.Merchant.ID, "partnerId": nm.Merchant.PartnerID, "name": nm.Merchant.Name,
			"apiKey": nm.APIKey, "apiKeyId": nm.APIKeyID, "scopes": scopes, "apiSecret": nm.APISecret,
			"providerId": nm.ProviderID, "providerCertificate": nm.ProviderCertificate,
		}, "merchantId", "partnerId", "name", "apiKey", "apiKeyId", "scopes", "apiSecret", "providerId", "providerCertificate")
	})
}

type merchantListCmd struct {
	storeFlags
	output
}

func (c *merchantListCmd) Run() error {
	ctx := context.Background()
	db, _, err := openStore(ctx, c.storeFlags)
	if err != nil {
		return err
	}
	defer db.Close()
	ms, err := db.Merchants(ctx)
	if err != nil {
		return err
	}
	list := make([]map[string]any, 0, len(ms))
	for _, m := range ms {
		list = append(list, map[string]any{"merchantId": m.ID, "partnerId": m.PartnerID, "name": m.Name,
			"maxTokenLifetime": m.MaxTokenLifetime.String(), "createdAt": m.CreatedAt.Format(time.RFC3339)})
	}
	if c.JSON {
		return json.NewEncoder(os.Stdout).Encode(map[string]any{"merchants": list})
	}
	for _, m := range list {
		fmt.Printf("%s  partner %s  %s\n", m["merchantId"], m["partnerId"], m["name"])
	}
	return nil
}

type keyCmd struct {
	Create keyCreateCmd `cmd:"" help:"Create an API key; its value is shown once."`
	List   keyListCmd   `cmd:"" help:"List a merchant's API keys (never their values)."`
	Rotate keyRotateCmd `cmd:"" help:"Replace a key; the old one works for a grace period."`
	Revoke keyRevokeCmd `cmd:"" help:"End a key now."`
}

type keyCreateCmd struct {
	storeFlags
	output
	Merchant string `name:"merchant" required:"" help:"Merchant ID."`
	Scopes   string `name:"scopes" default:"CORE_ACCESS" help:"Comma-separated: CORE_ACCESS, READ_ONLY, ADMIN."`
}

func (c *keyCreateCmd) Run() error {
	scopes, err := jeton.ParseScopes(c.Scopes)
	if err != nil {
		return err
	}
	return withCreds(c.storeFlags, func(ctx context.Context, s *credential.Service) error {
		plain, k, err := s.CreateKey(ctx, c.Merchant, scopes)
		if err != nil {
			return err
		}
		return c.print(map[string]any{"apiKey": plain, "apiKeyId": k.ID, "merchantId": k.MerchantID, "scopes": k.Scopes},
			"apiKey", "apiKeyId", "merchantId", "scopes")
	})
}

func keyJSON(k jeton.APIKey, now time.Time) map[string]any {
	ts := func(t *time.Time) any {
		if t == nil {
			return nil
		}
		return t.Format(time.RFC3339)
	}
	return map[string]any{"apiKeyId": k.ID, "prefix": k.Prefix, "scopes": k.Scopes, "createdAt": k.CreatedAt.Format(time.RFC3339),
		"expiresAt": ts(k.ExpiresAt), "revokedAt": ts(k.RevokedAt), "lastUsedAt": ts(k.LastUsedAt), "active": k.ActiveAt(now)}
}

type keyListCmd struct {
	storeFlags
	output
	Merchant string `name:"merchant" required:"" help:"Merchant ID."`
}

func (c *keyListCmd) Run() error {
	return withCreds(c.storeFlags, func(ctx context.Context, s *credential.Service) error {
		keys, err := s.Keys(ctx, c.Merchant)
		if err != nil {
			return err
		}
		now := time.Now()
		list := make([]map[string]any, 0, len(keys))
		for _, k := range keys {
			list = append(list, keyJSON(k, now))
		}
		if c.JSON {
			return json.NewEncoder(os.Stdout).Encode(map[string]any{"merchantId": c.Merchant, "keys": list})
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 2, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tPREFIX\tSCOPES\tACTIVE\tEXPIRES\tLAST USED")
		for _, k := range list {
			fmt.Fprintf(tw, "%s\t%s…\t%v\t%v\t%v\t%v\n", k["apiKeyId"], k["prefix"], k["scopes"], k["active"], orDash(k["expiresAt"]), orDash(k["lastUsedAt"]))
		}
		return tw.Flush()
	})
}

func orDash(v any) any {
	if v == nil {
		return "-"
	}
	return v
}

type keyRotateCmd struct {
	storeFlags
	output
	Merchant string        `name:"merchant" required:"" help:"Merchant ID."`
	Key      string        `name:"key" required:"" help:"ID of the key to replace (see key list)."`
	Grace    time.Duration `name:"grace" default:"24h" help:"How long the old key keeps working (0 = ends now); never past its own expiry."`
}

func (c *keyRotateCmd) Run() error {
	return withCreds(c.storeFlags, func(ctx context.Context, s *credential.Service) error {
		plain, k, err := s.RotateKey(ctx, c.Merchant, c.Key, c.Grace)
		if err != nil {
			return err
		}
		old, err := s.Keys(ctx, c.Merchant)
		if err != nil {
			return err
		}
		var oldExp any
		for _, o := range old {
			if o.ID == c.Key && o.ExpiresAt != nil {
				oldExp = o.ExpiresAt.Format(time.RFC3339)
			}
		}
		return c.print(map[string]any{"apiKey": plain, "apiKeyId": k.ID, "scopes": k.Scopes, "replacedKeyId": c.Key, "replacedKeyExpiresAt": oldExp},
			"apiKey", "apiKeyId", "scopes", "replacedKeyId", "replacedKeyExpiresAt")
	})
}

type keyRevokeCmd struct {
	storeFlags
	output
	Merchant string `name:"merchant" required:"" help:"Merchant ID."`
	Key      string `name:"key" required:"" help:"ID of the key to end."`
}

func (c *keyRevokeCmd) Run() error {
	return withCreds(c.storeFlags, func(ctx context.Context, s *credential.Service) error {
		if err := s.RevokeKey(ctx, c.Merchant, c.Key); err != nil {
			return err
		}
		return c.print(map[string]any{"apiKeyId": c.Key, "revoked": true}, "apiKeyId", "revoked")
	})
}

type secretCmd struct {
	Rotate secretRotateCmd `cmd:"" help:"Make a new API secret; the previous one verifies for a grace period."`
}

type secretRotateCmd struct {
	storeFlags
	output
	Merchant string        `name:"merchant" required:"" help:"Merchant ID."`
	Grace    time.Duration `name:"grace" default:"24h" help:"How long tokens signed with the previous secret stay valid (0 = none)."`
}

func (c *secretRotateCmd) Run() error {
	return withCreds(c.storeFlags, func(ctx context.Context, s *credential.Service) error {
		plain, err := s.RotateSecret(ctx, c.Merchant, c.Grace)
		if err != nil {
			return err
		}
		return c.print(map[string]any{"merchantId": c.Merchant, "apiSecret": plain, "previousSecretValidUntil": time.Now().Add(c.Grace).UTC().Format(time.RFC3339)},
			"merchantId", "apiSecret", "previousSecretValidUntil")
	})
}

type providerCmd struct {
	Create providerCreateCmd `cmd:"" help:"Create a SagaPay provider; the certificate is shown once."`
}

type providerCreateCmd struct {
	storeFlags
	output
	Merchant string `name:"merchant" required:"" help:"Merchant ID."`
}

func (c *providerCreateCmd) Run() error {
	return withCreds(c.storeFlags, func(ctx context.Context, s *credential.Service) error {
		id, cert, err := s.CreateProvider(ctx, c.Merchant)
		if err != nil {
			return err
		}
		return c.print(map[string]any{"merchantId": c.Merchant, "providerId": id, "providerCertificate": cert},
			"merchantId", "providerId", "providerCertificate")
	})
}

type tokenCmd struct {
	Mint tokenMintCmd `cmd:"" help:"Sign a client token locally with the Go SDK (no server needed)."`
}

type tokenMintCmd struct {
	output
	Merchant       string        `name:"merchant" required:"" env:"JETON_MERCHANT_ID" help:"Merchant ID (the token header's userId)."`
	SecretFile     string        `name:"secret-file" help:"File holding the API secret. Default: the JETON_API_SECRET environment variable."`
	SteamID        string        `name:"steam-id" help:"AssetPay: the user's SteamID64."`
	TradeURL       string        `name:"trade-url" help:"AssetPay: the user's Steam trade URL."`
	ClientID       string        `name:"client-id" help:"AssetPay: your id for the user (optional)."`
	ClientData     string        `name:"client-data" help:"AssetPay: clientData as a JSON object (optional)."`
	ExternalUserID string        `name:"external-user-id" help:"SagaPay: mint a SagaPay token for this user instead."`
	Email          string        `name:"email" help:"SagaPay: the user's email (optional)."`
	TTL            time.Duration `name:"ttl" default:"24h" help:"Lifetime, at most 24h."`
}

func (c *tokenMintCmd) Run() error {
	secret := os.Getenv("JETON_API_SECRET")
	if c.SecretFile != "" {
		b, err := os.ReadFile(c.SecretFile)
		if err != nil {
			return err
		}
		secret = strings.TrimSpace(string(b))
	}
	if secret == "" {
		return errors.New("give the API secret in JETON_API_SECRET or --secret-file (never on the command line)")
	}
	now := time.Now()
	var tok string
	var err error
	if c.ExternalUserID != "" {
		tok, err = client.MintSagaPayToken(secret, c.Merchant, c.ExternalUserID, c.Email, c.TTL, now)
	} else {
		var data json.RawMessage
		if c.ClientData != "" {
			if !json.Valid([]byte(c.ClientData)) || !strings.HasPrefix(strings.TrimSpace(c.ClientData), "{") {
				return errors.New("--client-data must be a JSON object")
			}
			data = json.RawMessage(c.ClientData)
		}
		tok, err = client.MintToken(secret, c.Merchant, client.Client{SteamID: c.SteamID, TradeURL: c.TradeURL, ClientID: c.ClientID, ClientData: data}, c.TTL, now)
	}
	if err != nil {
		return err
	}
	if c.JSON {
		return json.NewEncoder(os.Stdout).Encode(map[string]any{"token": tok, "expiresAt": now.Add(c.TTL).UTC().Format(time.RFC3339)})
	}
	fmt.Println(tok)
	return nil
}

type userCmd struct {
	Create userCreateCmd `cmd:"" help:"Create a merchant's dashboard owner and print a one-time setup link (no mail server needed)."`
	Reset  userResetCmd  `cmd:"" help:"Print a new one-time setup link for a user (forgotten password, lockout)."`
}

// userLink prints a setup link; the token is in the link only, never in
// a log line.
type userLink struct {
	BaseURL string `name:"base-url" env:"JETON_PUBLIC_URL" default:"http://127.0.0.1:8080" help:"Where people reach this jeton, for the link."`
}

type userCreateCmd struct {
	storeFlags
	output
	userLink
	Merchant string `name:"merchant" required:"" help:"Merchant ID."`
	Email    string `name:"email" required:"" help:"The user's email; it is their sign-in name."`
}

func (c *userCreateCmd) Run() error {
	ctx := context.Background()
	db, _, err := openStore(ctx, c.storeFlags)
	if err != nil {
		return err
	}
	defer db.Close()
	u, tok, err := dashboard.NewUser(ctx, db, db, c.Merchant, c.Email, time.Now())
	if err != nil {
		return err
	}
	return c.printLink(c.output, u, tok)
}

// printLink prints a user and the one-time setup link of its token.
func (l userLink) printLink(o output, u jeton.User, tok string) error {
	return o.print(map[string]any{"userId": u.ID, "merchantId": u.MerchantID, "email": u.Email,
		"setupUrl": dashboard.SetupURL(l.BaseURL, tok), "expiresAt": u.SetupExpiresAt.Format(time.RFC3339)},
		"userId", "email", "setupUrl", "expiresAt")
}

type userResetCmd struct {
	storeFlags
	output
	userLink
	Email string `name:"email" required:"" help:"The user's email."`
}

func (c *userResetCmd) Run() error {
	ctx := context.Background()
	db, _, err := openStore(ctx, c.storeFlags)
	if err != nil {
		return err
	}
	defer db.Close()
	u, tok, err := dashboard.ResetUser(ctx, db, c.Email, time.Now())
	if err != nil {
		return err
	}
	return c.printLink(c.output, u, tok)
}
