// Package credential owns merchants' credentials: API keys (stored as
// hashes), API secrets (sealed with the master key), SagaPay providers and
// client-token revocations. It authenticates API keys and supplies token
// verification with merchant keys, caching both and dropping caches when
// any instance sharing the store changes a merchant's credentials.
package credential

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/token"
)

// Defaults.
const (
	// DefaultGrace is how long a rotated key or secret keeps working.
	DefaultGrace = 24 * time.Hour
	// KeyPrefix starts every API key, as the vendor's do.
	KeyPrefix = "ap_"
	// SecretPrefix starts every API secret.
	SecretPrefix = "sk_"
)

// Service manages and authenticates credentials.
type Service struct {
	store  jeton.Store
	sealer jeton.Sealer
	now    func() time.Time
	log    *slog.Logger

	// OnChange is called with a merchant ID whenever its credentials
	// changed (here or on another instance); the token cache hooks in.
	OnChange func(merchantID string)

	mu       sync.RWMutex
	keys     map[string]jeton.APIKey   // by hex hash
	merchant map[string]*merchantEntry // by merchant ID
	used     map[string]time.Time      // key id -> last use, not yet flushed

	// gen counts cache drops; a value read from the store is cached only
	// if no drop happened while it was being read (else it may be stale).
	gen atomic.Uint64

	lastSeq int64
	seen    map[int64]bool
}

type merchantEntry struct {
	merchant jeton.Merchant
	secrets  []openSecret
	revoked  map[string]int64
	// keys is what token verification needs, built once; it holds until
	// keysUntil, the next retirement of one of its secrets (zero: none).
	keys      atomic.Pointer[token.MerchantKeys]
	keysUntil atomic.Int64 // Unix nanoseconds
	missing   bool         // negative entry: no such merchant
	until     time.Time    // negative entries expire
}

type openSecret struct {
	plain     []byte
	retiresAt *time.Time
}

// New makes a Service. now may be nil.
func New(store jeton.Store, sealer jeton.Sealer, now func() time.Time, log *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Service{
		store: store, sealer: sealer, now: now, log: log,
		keys: map[string]jeton.APIKey{}, merchant: map[string]*merchantEntry{},
		used: map[string]time.Time{}, seen: map[int64]bool{},
	}
}

func randToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("credential: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashKey is the stored form of an API key value.
func HashKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

func secretAAD(merchantID, secretID string) []byte {
	return []byte("jeton/secret/v1:" + merchantID + ":" + secretID)
}

// NewKey makes a fresh API key value and its record (not stored).
func NewKey(merchantID string, scopes []jeton.Scope, now time.Time) (plain string, k jeton.APIKey) {
	plain = KeyPrefix + randToken(32)
	return plain, jeton.APIKey{
		ID: "key_" + jeton.NewID(), MerchantID: merchantID, Hash: HashKey(plain),
		Prefix: plain[:len(KeyPrefix)+8], Scopes: scopes, CreatedAt: now,
	}
}

func (s *Service) newSecret(merchantID string, now time.Time) (string, jeton.Secret, error) {
	plain := SecretPrefix + randToken(32)
	id := "sec_" + jeton.NewID()
	sealed, err := s.sealer.Seal([]byte(plain), secretAAD(merchantID, id))
	if err != nil {
		return "", jeton.Secret{}, err
	}
	return plain, jeton.Secret{ID: id, MerchantID: merchantID, Sealed: sealed, CreatedAt: now}, nil
}

func newProvider(merchantID string, now time.Time) (id, cert string, p jeton.Provider) {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := strings.ToUpper(hex.EncodeToString(b))
	id = h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
	cb := make([]byte, 32)
	_, _ = rand.Read(cb)
	cert = hex.EncodeToString(cb)
	sum := sha256.Sum256([]byte(cert))
	return id, cert, jeton.Provider{ID: id, MerchantID: merchantID, CertHash: sum[:], CreatedAt: now}
}

// NewMerchant is what CreateMerchant returns: the only time the key,
// secret and certificate are visible.
type NewMerchant struct {
	Merchant            jeton.Merchant
	APIKey              string
	APIKeyID            string
	APISecret           string
	ProviderID          string
	ProviderCertificate string
}

// CreateMerchant creates a merchant with a CORE_ACCESS key, a secret and a
// SagaPay provider. partnerID may be empty (a new partner is made).
func (s *Service) CreateMerchant(ctx context.Context, name, partnerID string, scopes []jeton.Scope) (NewMerchant, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return NewMerchant{}, jeton.Errorf(jeton.KindInvalid, jeton.KeyValidationFailed, "merchant name is required (at most 200 characters)")
	}
	if partnerID == "" {
		partnerID = jeton.NewID()
	}
	if len(scopes) == 0 {
		scopes = []jeton.Scope{jeton.ScopeCoreAccess}
	}
	now := s.now().UTC()
	m := jeton.Merchant{ID: jeton.NewID(), PartnerID: partnerID, Name: name, MaxTokenLifetime: jeton.DefaultMaxTokenLifetime, CreatedAt: now}
	keyPlain, key := NewKey(m.ID, scopes, now)
	secPlain, sec, err := s.newSecret(m.ID, now)
	if err != nil {
		return NewMerchant{}, err
	}
	pid, cert, prov := newProvider(m.ID, now)
	if err := s.store.CreateMerchant(ctx, jeton.NewMerchant{Merchant: m, Key: key, Secret: sec, Provider: &prov}); err != nil {
		return NewMerchant{}, fmt.Errorf("create merchant: %w", err)
	}
	return NewMerchant{Merchant: m, APIKey: keyPlain, APIKeyID: key.ID, APISecret: secPlain, ProviderID: pid, ProviderCertificate: cert}, nil
}

// CreateKey adds an API key with the given scopes and returns its value.
func (s *Service) CreateKey(ctx context.Context, merchantID string, scopes []jeton.Scope) (string, jeton.APIKey, error) {
	if _, err := s.store.Merchant(ctx, merchantID); err != nil {
		return "", jeton.APIKey{}, err
	}
	plain, k := NewKey(merchantID, scopes, s.now().UTC())
	if err := s.store.CreateAPIKey(ctx, k); err != nil {
		return "", k, err
	}
	return plain, k, nil
}

// Keys lists a merchant's keys.
func (s *Service) Keys(ctx context.Context, merchantID string) ([]jeton.APIKey, error) {
	if _, err := s.store.Merchant(ctx, merchantID); err != nil {
		return nil, err
	}
	return s.store.APIKeys(ctx, merchantID)
}

// RotateKey makes a new key with the same scopes; the old one keeps
// working for grace (0 = ends now) but never past its original expiry.
func (s *Service) RotateKey(ctx context.Context, merchantID, keyID string, grace time.Duration) (string, jeton.APIKey, error) {
	if grace < 0 {
		return "", jeton.APIKey{}, jeton.Errorf(jeton.KindInvalid, jeton.KeyValidationFailed, "grace must not be negative")
	}
	old, err := s.store.APIKey(ctx, merchantID, keyID)
	if err != nil {
		return "", jeton.APIKey{}, err
	}
	now := s.now().UTC()
	if !old.ActiveAt(now) {
		return "", jeton.APIKey{}, jeton.Errorf(jeton.KindConflict, jeton.KeyAPIKeyRevoked, "api key %s is no longer active; create a new key instead", keyID)
	}
	end := now.Add(grace)
	if old.ExpiresAt != nil && old.ExpiresAt.Before(end) {
		end = *old.ExpiresAt
	}
	plain, next := NewKey(merchantID, old.Scopes, now)
	if err := s.store.RotateAPIKey(ctx, merchantID, keyID, end, next); err != nil {
		return "", next, err
	}
	s.dropKeys(merchantID)
	return plain, next, nil
}

// RevokeKey ends a key now.
func (s *Service) RevokeKey(ctx context.Context, merchantID, keyID string) error {
	if err := s.store.RevokeAPIKey(ctx, merchantID, keyID, s.now().UTC()); err != nil {
		return err
	}
	s.dropKeys(merchantID)
	return nil
}

// RotateSecret makes a new API secret; the previous one still verifies
// tokens (and, later, callbacks carry both signatures) for grace.
func (s *Service) RotateSecret(ctx context.Context, merchantID string, grace time.Duration) (string, error) {
	if grace < 0 {
		return "", jeton.Errorf(jeton.KindInvalid, jeton.KeyValidationFailed, "grace must not be negative")
	}
	now := s.now().UTC()
	plain, sec, err := s.newSecret(merchantID, now)
	if err != nil {
		return "", err
	}
	if err := s.store.RotateSecret(ctx, merchantID, sec, now.Add(grace), now); err != nil {
		return "", err
	}
	s.dropMerchant(merchantID)
	return plain, nil
}

// CreateProvider adds a SagaPay provider and returns its certificate.
func (s *Service) CreateProvider(ctx context.Context, merchantID string) (id, cert string, err error) {
	if _, err := s.store.Merchant(ctx, merchantID); err != nil {
		return "", "", err
	}
	id, cert, p := newProvider(merchantID, s.now().UTC())
	return id, cert, s.store.CreateProvider(ctx, p)
}

// VerifyProvider checks a providerId/providerCertificate pair.
func (s *Service) VerifyProvider(ctx context.Context, merchantID, id, cert string) error {
	bad := jeton.Errorf(jeton.KindInvalid, jeton.KeyProviderInvalid, "Invalid providerId or providerCertificate")
	p, err := s.store.Provider(ctx, merchantID, id)
	if err != nil {
		if jeton.AsError(err).Kind == jeton.KindNotFound {
			return bad
		}
		return err
	}
	sum := sha256.Sum256([]byte(cert))
	if subtle.ConstantTimeCompare(sum[:], p.CertHash) != 1 || (p.RevokedAt != nil && !s.now().Before(*p.RevokedAt)) {
		return bad
	}
	return nil
}

// RevokeTokens ends every token of one subject issued up to now.
func (s *Service) RevokeTokens(ctx context.Context, merchantID string, kind jeton.SubjectKind, subject string) (time.Time, error) {
	at := s.now().UTC().Truncate(time.Second)
	err := s.store.RevokeTokens(ctx, jeton.TokenRevocation{MerchantID: merchantID, Kind: kind, Subject: subject, RevokedBefore: at})
	if err != nil {
		return at, err
	}
	s.dropMerchant(merchantID)
	return at, nil
}

// SetMaxTokenLifetime changes the longest token lifetime a merchant accepts.
func (s *Service) SetMaxTokenLifetime(ctx context.Context, merchantID string, d time.Duration) error {
	if d < time.Minute || d > jeton.DefaultMaxTokenLifetime {
		return jeton.Errorf(jeton.KindInvalid, jeton.KeyValidationFailed, "max token lifetime must be between 1m and 24h")
	}
	if err := s.store.SetMaxTokenLifetime(ctx, merchantID, d); err != nil {
		return err
	}
	s.dropMerchant(merchantID)
	return nil
}
