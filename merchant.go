package jeton

import (
	"context"
	"encoding/json"
	"strings"
	"time"
)

// DefaultMaxTokenLifetime is the longest lifetime (exp - iat) a client token
// may claim unless the merchant lowers it: the vendors' 24 hours.
const DefaultMaxTokenLifetime = 24 * time.Hour

// Merchant is one integrating business. Its ID is the AssetPay token header
// userId and SagaPay's MERCHANT-ID; PartnerID is SagaPay's partner.
type Merchant struct {
	ID               string
	PartnerID        string
	Name             string
	MaxTokenLifetime time.Duration
	CreatedAt        time.Time
	// CallbackURL receives the AssetPay trade callbacks ("" for none).
	CallbackURL string
	// Collateral is the instant credit the merchant itself backs for each
	// user, on top of the provider's.
	Collateral USD
}

// Scope is an API-key permission, as the AssetPay seed names them.
type Scope string

// The scopes an API key may carry. CORE_ACCESS is the vendor's default.
const (
	ScopeCoreAccess Scope = "CORE_ACCESS"
	ScopeReadOnly   Scope = "READ_ONLY"
	ScopeAdmin      Scope = "ADMIN"
)

// Scopes lists the valid scopes in display order.
var Scopes = []Scope{ScopeCoreAccess, ScopeReadOnly, ScopeAdmin}

// ParseScopes parses a comma-separated scope list ("CORE_ACCESS,ADMIN").
func ParseScopes(s string) ([]Scope, error) {
	var out []Scope
	seen := map[Scope]bool{}
	for _, part := range strings.Split(s, ",") {
		p := Scope(strings.ToUpper(strings.TrimSpace(part)))
		if p == "" {
			continue
		}
		if p != ScopeCoreAccess && p != ScopeReadOnly && p != ScopeAdmin {
			return nil, Errorf(KindInvalid, KeyValidationFailed, "unknown scope %q (want CORE_ACCESS, READ_ONLY or ADMIN)", part)
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, Errorf(KindInvalid, KeyValidationFailed, "at least one scope is required")
	}
	return out, nil
}

// APIKey is a merchant API key ("ap_..."). Only its SHA-256 hash is kept;
// Prefix is the first characters, safe to display.
type APIKey struct {
	ID         string
	MerchantID string
	Hash       []byte
	Prefix     string
	Scopes     []Scope
	CreatedAt  time.Time
	ExpiresAt  *time.Time // nil: never; set by rotation's grace period
	RevokedAt  *time.Time
	LastUsedAt *time.Time
}

// Has reports whether the key carries scope s.
func (k APIKey) Has(s Scope) bool {
	for _, x := range k.Scopes {
		if x == s {
			return true
		}
	}
	return false
}

// ActiveAt reports whether the key may be used at t.
func (k APIKey) ActiveAt(t time.Time) bool {
	if k.RevokedAt != nil && !t.Before(*k.RevokedAt) {
		return false
	}
	if k.ExpiresAt != nil && !t.Before(*k.ExpiresAt) {
		return false
	}
	return true
}

// Secret is a merchant API secret, sealed with the master key. A merchant
// has one current secret (RetiresAt nil) and at most one previous secret
// still inside its rotation grace.
type Secret struct {
	ID         string
	MerchantID string
	Sealed     []byte
	CreatedAt  time.Time
	RetiresAt  *time.Time
}

// Provider is SagaPay's providerId/providerCertificate pair; only the
// certificate's hash is kept.
type Provider struct {
	ID         string
	MerchantID string
	CertHash   []byte
	CreatedAt  time.Time
	RevokedAt  *time.Time
}

// Client is an AssetPay end user as last authenticated by its merchant.
// ClientData is refreshed on every authenticate-client call.
type Client struct {
	MerchantID string
	SteamID    string
	TradeURL   string
	ClientID   string
	ClientData json.RawMessage
	UpdatedAt  time.Time
}

// SubjectKind says which identity a token revocation names.
type SubjectKind string

// Revocation subjects: a Steam ID, the merchant's clientId, or SagaPay's
// externalUserId.
const (
	SubjectSteamID        SubjectKind = "steam"
	SubjectClientID       SubjectKind = "client"
	SubjectExternalUserID SubjectKind = "external"
)

// TokenRevocation ends every token of one subject issued at or before
// RevokedBefore (whole seconds, as iat is). No per-token list is kept.
type TokenRevocation struct {
	MerchantID    string
	Kind          SubjectKind
	Subject       string
	RevokedBefore time.Time
}

// CredentialEvent tells every instance sharing the store that a merchant's
// credentials changed, so caches of keys, secrets and tokens are dropped.
type CredentialEvent struct {
	Seq        int64
	MerchantID string
	Kind       string
	At         time.Time
}

// Credential event kinds.
const (
	EventKeyRevoked     = "key.revoked"
	EventKeyRotated     = "key.rotated"
	EventSecretRotated  = "secret.rotated"
	EventTokensRevoked  = "tokens.revoked"
	EventMerchantUpdate = "merchant.updated"
)

// SagaStore is a SagaPay store: a physical or online place of sale.
type SagaStore struct {
	ID          string
	MerchantID  string
	Name        string
	Email       string
	Phone       json.RawMessage
	Address     json.RawMessage
	AcquirerMID string
	OnlineInfo  json.RawMessage
	Status      string
	CreatedAt   time.Time
}

// NewMerchant is everything created together with a merchant, atomically.
type NewMerchant struct {
	Merchant Merchant
	Key      APIKey
	Secret   Secret
	Provider *Provider
}

// Store is the persistence seam. SQLite and PostgreSQL implement it in
// sqlstore and pass the same conformance suite (sqlstore/storetest). Every
// method is atomic; methods that change credentials append a
// CredentialEvent in the same transaction.
type Store interface {
	CreateMerchant(ctx context.Context, nm NewMerchant) error
	Merchant(ctx context.Context, id string) (Merchant, error)
	Merchants(ctx context.Context) ([]Merchant, error)
	SetMaxTokenLifetime(ctx context.Context, merchantID string, d time.Duration) error

	CreateAPIKey(ctx context.Context, k APIKey) error
	APIKeyByHash(ctx context.Context, hash []byte) (APIKey, error)
	APIKey(ctx context.Context, merchantID, id string) (APIKey, error)
	APIKeys(ctx context.Context, merchantID string) ([]APIKey, error)
	// RotateAPIKey inserts next and sets old's expiry to oldExpiresAt.
	RotateAPIKey(ctx context.Context, merchantID, oldID string, oldExpiresAt time.Time, next APIKey) error
	RevokeAPIKey(ctx context.Context, merchantID, id string, at time.Time) error
	// TouchAPIKeys records last-used times, batched by the caller.
	TouchAPIKeys(ctx context.Context, used map[string]time.Time) error

	// Secrets returns the merchant's secrets not yet retired at now,
	// current first.
	Secrets(ctx context.Context, merchantID string, now time.Time) ([]Secret, error)
	// RotateSecret makes next current; the previous current retires at
	// prevRetiresAt, and any older one retires now.
	RotateSecret(ctx context.Context, merchantID string, next Secret, prevRetiresAt, now time.Time) error

	CreateProvider(ctx context.Context, p Provider) error
	Provider(ctx context.Context, merchantID, id string) (Provider, error)
	// Providers lists a merchant's providers, oldest first.
	Providers(ctx context.Context, merchantID string) ([]Provider, error)
	// RevokeProvider ends a provider at at; it is not found if already
	// revoked.
	RevokeProvider(ctx context.Context, merchantID, id string, at time.Time) error

	// UpsertClients stores each client's latest data in one transaction.
	UpsertClients(ctx context.Context, cs []Client) error
	Client(ctx context.Context, merchantID, steamID string) (Client, error)

	RevokeTokens(ctx context.Context, r TokenRevocation) error
	TokenRevocations(ctx context.Context, merchantID string) ([]TokenRevocation, error)
	// CredentialEvents returns events with Seq > after, oldest first.
	CredentialEvents(ctx context.Context, after int64, limit int) ([]CredentialEvent, error)
	LastCredentialEvent(ctx context.Context) (int64, error)

	CreateSagaStore(ctx context.Context, s SagaStore) error
	SagaStore(ctx context.Context, merchantID, id string) (SagaStore, error)
	SagaStores(ctx context.Context, merchantID string, page, perPage int) ([]SagaStore, int, error)

	Ping(ctx context.Context) error
	Close() error
}
