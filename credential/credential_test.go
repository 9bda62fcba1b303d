package credential_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/credential"
	"github.com/jetonhq/jeton/sqlstore"
	"github.com/jetonhq/jeton/sqlstore/sqltest"
	"github.com/jetonhq/jeton/sqlstore/storetest"
	"github.com/jetonhq/jeton/token"
	"github.com/jetonhq/jeton/vault"
)

// clock is the injected time source; tests move it by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	// Sub-microsecond digits: the store keeps microseconds.
	return &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 123_456_789, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newVault(t *testing.T) *vault.Vault {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	v, err := vault.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// env is one service over a real SQLite store in a temporary directory.
type env struct {
	dir   string
	db    *sqlstore.DB
	clk   *clock
	vault *vault.Vault
	svc   *credential.Service

	mu      sync.Mutex
	changed []string // OnChange calls
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{dir: t.TempDir(), clk: newClock(), vault: newVault(t)}
	e.db = sqltest.SQLite(t, e.dir)
	e.svc = credential.New(e.db, e.vault, e.clk.Now, quiet)
	e.svc.OnChange = e.onChange
	return e
}

func (e *env) onChange(id string) {
	e.mu.Lock()
	e.changed = append(e.changed, id)
	e.mu.Unlock()
}

func (e *env) changes() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.changed)
}

func (e *env) merchant(t *testing.T, scopes ...jeton.Scope) credential.NewMerchant {
	t.Helper()
	nm, err := e.svc.CreateMerchant(testCtx(t), "Shop "+jeton.NewID(), "", scopes)
	if err != nil {
		t.Fatal(err)
	}
	return nm
}

func wantKey(t *testing.T, what string, err error, kind jeton.Kind, key string) *jeton.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: err = nil, want %s", what, key)
	}
	var e *jeton.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: err = %v (%T), want *jeton.Error %s", what, err, err, key)
	}
	if e.Kind != kind || (key != "" && e.Key != key) {
		t.Fatalf("%s: err = %v (kind %s, key %s), want kind %s, key %s", what, err, e.Kind, e.Key, kind, key)
	}
	return e
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func authOK(t *testing.T, svc *credential.Service, key, merchantID string) jeton.APIKey {
	t.Helper()
	k, err := svc.AuthenticateKey(testCtx(t), key)
	if err != nil {
		t.Fatalf("AuthenticateKey: %v", err)
	}
	if k.MerchantID != merchantID {
		t.Fatalf("AuthenticateKey: merchant %s, want %s", k.MerchantID, merchantID)
	}
	return k
}

func authRevoked(t *testing.T, svc *credential.Service, key string) {
	t.Helper()
	_, err := svc.AuthenticateKey(testCtx(t), key)
	wantKey(t, "AuthenticateKey(ended key)", err, jeton.KindUnauthorized, jeton.KeyAPIKeyRevoked)
}

func secretsOf(t *testing.T, svc *credential.Service, merchantID string) []string {
	t.Helper()
	mk, err := svc.MerchantKeys(testCtx(t), merchantID)
	if err != nil {
		t.Fatalf("MerchantKeys: %v", err)
	}
	var out []string
	for _, s := range mk.Secrets {
		out = append(out, string(s))
	}
	return out
}

// decodeToken checks prefix + base64url of at least 32 random bytes.
func decodeToken(t *testing.T, what, v, prefix string) {
	t.Helper()
	rest, ok := strings.CutPrefix(v, prefix)
	if !ok {
		t.Fatalf("%s %q lacks prefix %q", what, v, prefix)
	}
	if len(rest) < 43 {
		t.Errorf("%s has %d characters after %s, want >= 43", what, len(rest), prefix)
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		t.Errorf("%s is not base64url after its prefix: %v", what, err)
	}
	if len(b) < 32 {
		t.Errorf("%s carries %d random bytes, want >= 32", what, len(b))
	}
}

func TestCreateMerchant(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	now := e.clk.Now()

	nm, err := e.svc.CreateMerchant(ctx, "  Acme Skins  ", "", nil)
	must(t, err)
	decodeToken(t, "API key", nm.APIKey, credential.KeyPrefix)
	decodeToken(t, "API secret", nm.APISecret, credential.SecretPrefix)
	if !regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`).MatchString(nm.ProviderID) {
		t.Errorf("provider id %q is not UUID-shaped", nm.ProviderID)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(nm.ProviderCertificate) {
		t.Errorf("provider certificate %q is not 32 random bytes in hex", nm.ProviderCertificate)
	}
	m := nm.Merchant
	if m.Name != "Acme Skins" || m.MaxTokenLifetime != jeton.DefaultMaxTokenLifetime || !regexp.MustCompile(`^[0-9a-f]{18}$`).MatchString(m.ID) || !regexp.MustCompile(`^[0-9a-f]{18}$`).MatchString(m.PartnerID) {
		t.Errorf("merchant = %+v", m)
	}

	// The store has the merchant, the key's hash (never the key) and the
	// provider certificate's hash.
	got, err := e.db.Merchant(ctx, m.ID)
	must(t, err)
	if got.Name != m.Name || got.PartnerID != m.PartnerID || !got.CreatedAt.Equal(now.Truncate(time.Microsecond)) {
		t.Errorf("stored merchant = %+v, want %+v", got, m)
	}
	k, err := e.db.APIKey(ctx, m.ID, nm.APIKeyID)
	must(t, err)
	if !bytes.Equal(k.Hash, credential.HashKey(nm.APIKey)) || !strings.HasPrefix(nm.APIKey, k.Prefix) || len(k.Prefix) != len(credential.KeyPrefix)+8 {
		t.Errorf("stored key = %+v", k)
	}
	if !slices.Equal(k.Scopes, []jeton.Scope{jeton.ScopeCoreAccess}) || k.ExpiresAt != nil || k.RevokedAt != nil {
		t.Errorf("default key = %+v, want CORE_ACCESS, no expiry", k)
	}
	must(t, e.svc.VerifyProvider(ctx, m.ID, nm.ProviderID, nm.ProviderCertificate))
	sec, err := e.svc.SigningSecret(ctx, m.ID)
	must(t, err)
	if string(sec) != nm.APISecret {
		t.Errorf("SigningSecret differs from the returned API secret")
	}
	authOK(t, e.svc, nm.APIKey, m.ID)

	// Partner and scopes as given; every merchant gets its own values.
	nm2, err := e.svc.CreateMerchant(ctx, "Second", m.PartnerID, []jeton.Scope{jeton.ScopeReadOnly, jeton.ScopeAdmin})
	must(t, err)
	if nm2.Merchant.PartnerID != m.PartnerID || nm2.Merchant.ID == m.ID || nm2.APIKey == nm.APIKey || nm2.APISecret == nm.APISecret ||
		nm2.ProviderID == nm.ProviderID || nm2.ProviderCertificate == nm.ProviderCertificate {
		t.Errorf("second merchant shares values with the first: %+v", nm2)
	}
	k2 := authOK(t, e.svc, nm2.APIKey, nm2.Merchant.ID)
	if !slices.Equal(k2.Scopes, []jeton.Scope{jeton.ScopeReadOnly, jeton.ScopeAdmin}) {
		t.Errorf("scopes = %v", k2.Scopes)
	}

	// Bad names store nothing.
	for _, name := range []string{"", "   ", strings.Repeat("x", 201)} {
		_, err := e.svc.CreateMerchant(ctx, name, "", nil)
		wantKey(t, "CreateMerchant(bad name)", err, jeton.KindInvalid, jeton.KeyValidationFailed)
	}
	ms, err := e.db.Merchants(ctx)
	must(t, err)
	if len(ms) != 2 {
		t.Errorf("merchants = %d, want 2", len(ms))
	}
}

// TestNoPlaintextAtRest: the database file and its WAL never hold an API
// key, an API secret or a provider certificate.
func TestNoPlaintextAtRest(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	nm := e.merchant(t)
	m := nm.Merchant.ID
	plains := []string{nm.APIKey, nm.APISecret, nm.ProviderCertificate}

	key2, _, err := e.svc.CreateKey(ctx, m, []jeton.Scope{jeton.ScopeReadOnly})
	must(t, err)
	key3, _, err := e.svc.RotateKey(ctx, m, nm.APIKeyID, time.Hour)
	must(t, err)
	sec2, err := e.svc.RotateSecret(ctx, m, time.Hour)
	must(t, err)
	_, cert2, err := e.svc.CreateProvider(ctx, m)
	must(t, err)
	plains = append(plains, key2, key3, sec2, cert2)
	authOK(t, e.svc, nm.APIKey, m)
	must(t, e.svc.FlushUsage(ctx))

	var disk []byte
	for _, name := range []string{sqlstore.SQLiteFile, sqlstore.SQLiteFile + "-wal"} {
		b, err := os.ReadFile(filepath.Join(e.dir, name))
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		t.Logf("%s: %d bytes", name, len(b))
		disk = append(disk, b...)
	}
	// The files do hold the data in the clear where that is fine, so the
	// checks below look at the right bytes.
	if !bytes.Contains(disk, []byte(nm.Merchant.Name)) || !bytes.Contains(disk, []byte(m)) {
		t.Fatal("merchant name/id not found in the database files: wrong files?")
	}
	for _, p := range plains {
		forms := []string{p, strings.ToUpper(p)}
		for _, prefix := range []string{credential.KeyPrefix, credential.SecretPrefix} {
			if rest, ok := strings.CutPrefix(p, prefix); ok {
				forms = append(forms, rest) // the random part alone
			}
		}
		for _, f := range forms {
			if bytes.Contains(disk, []byte(f)) {
				t.Errorf("database files contain a credential in plain text (%s...)", p[:6])
			}
		}
	}
}

func TestAuthenticateKey(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	nm := e.merchant(t)

	_, err := e.svc.AuthenticateKey(ctx, "")
	wantKey(t, "empty key", err, jeton.KindUnauthorized, jeton.KeyMissingAPIKey)
	for _, bad := range []string{
		"nope",
		"Bearer " + nm.APIKey,
		strings.ToUpper(nm.APIKey[:3]) + nm.APIKey[3:],
		nm.APIKey + "x",
		nm.APIKey[:len(nm.APIKey)-1],
		credential.KeyPrefix + strings.Repeat("A", 43),
		credential.KeyPrefix + strings.Repeat("a", 300),
	} {
		_, err := e.svc.AuthenticateKey(ctx, bad)
		wantKey(t, "bad key", err, jeton.KindUnauthorized, jeton.KeyInvalidAPIKey)
	}
	k := authOK(t, e.svc, nm.APIKey, nm.Merchant.ID)
	if k.ID != nm.APIKeyID {
		t.Errorf("key id = %s, want %s", k.ID, nm.APIKeyID)
	}
	must(t, e.svc.RevokeKey(ctx, nm.Merchant.ID, nm.APIKeyID))
	authRevoked(t, e.svc, nm.APIKey)
}

func TestRequireScope(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	nm := e.merchant(t)
	m := nm.Merchant.ID

	keys := map[jeton.Scope]jeton.APIKey{}
	for _, sc := range jeton.Scopes {
		plain, _, err := e.svc.CreateKey(ctx, m, []jeton.Scope{sc})
		must(t, err)
		keys[sc] = authOK(t, e.svc, plain, m)
	}
	// READ_ONLY routes accept every scope.
	for sc, k := range keys {
		if err := credential.RequireScope(k, jeton.ScopeReadOnly); err != nil {
			t.Errorf("%s key on a READ_ONLY route: %v", sc, err)
		}
		if err := credential.RequireScope(k, sc); err != nil {
			t.Errorf("%s key on a %s route: %v", sc, sc, err)
		}
	}
	for _, c := range []struct{ have, need jeton.Scope }{
		{jeton.ScopeReadOnly, jeton.ScopeCoreAccess},
		{jeton.ScopeReadOnly, jeton.ScopeAdmin},
		{jeton.ScopeCoreAccess, jeton.ScopeAdmin},
	} {
		err := credential.RequireScope(keys[c.have], c.need)
		je := wantKey(t, string(c.have)+" key on "+string(c.need)+" route", err, jeton.KindForbidden, jeton.KeyAPIKeyScopeDenied)
		if je.Details["requiredScope"] != string(c.need) {
			t.Errorf("Details[requiredScope] = %v, want %s", je.Details["requiredScope"], c.need)
		}
	}

	_, _, err := e.svc.CreateKey(ctx, "nope", []jeton.Scope{jeton.ScopeAdmin})
	wantKey(t, "CreateKey(unknown merchant)", err, jeton.KindNotFound, "")
}

func TestRotateKey(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	nm := e.merchant(t, jeton.ScopeReadOnly, jeton.ScopeAdmin)
	m := nm.Merchant.ID
	t0 := e.clk.Now()

	authOK(t, e.svc, nm.APIKey, m) // cached before the rotation
	k2plain, k2, err := e.svc.RotateKey(ctx, m, nm.APIKeyID, time.Hour)
	must(t, err)
	if k2plain == nm.APIKey || k2.ID == nm.APIKeyID || !slices.Equal(k2.Scopes, []jeton.Scope{jeton.ScopeReadOnly, jeton.ScopeAdmin}) {
		t.Errorf("rotated key = %+v, want a new key with the old scopes", k2)
	}
	decodeToken(t, "rotated key", k2plain, credential.KeyPrefix)
	// Both work during grace.
	authOK(t, e.svc, nm.APIKey, m)
	authOK(t, e.svc, k2plain, m)
	e.clk.Advance(time.Hour - time.Millisecond)
	authOK(t, e.svc, nm.APIKey, m)
	// After grace only the new one.
	e.clk.Advance(time.Millisecond)
	authRevoked(t, e.svc, nm.APIKey)
	authOK(t, e.svc, k2plain, m)
	old, err := e.db.APIKey(ctx, m, nm.APIKeyID)
	must(t, err)
	if old.ExpiresAt == nil || !old.ExpiresAt.Equal(t0.Add(time.Hour).Truncate(time.Microsecond)) {
		t.Errorf("old key expiry = %v, want %v", old.ExpiresAt, t0.Add(time.Hour))
	}

	// An ended key cannot be rotated.
	_, _, err = e.svc.RotateKey(ctx, m, nm.APIKeyID, time.Hour)
	wantKey(t, "rotate expired key", err, jeton.KindConflict, jeton.KeyAPIKeyRevoked)

	// Grace 0 ends the old key now.
	k3plain, _, err := e.svc.RotateKey(ctx, m, k2.ID, 0)
	must(t, err)
	authRevoked(t, e.svc, k2plain)
	authOK(t, e.svc, k3plain, m)

	// Rotation never extends: rotate k3 with 1h, then again with 24h; k3
	// still ends after 1h (the sooner expiry is kept). A shorter grace
	// does shorten it.
	t1 := e.clk.Now()
	k4plain, _, err := e.svc.RotateKey(ctx, m, keyID(t, e, k3plain), time.Hour)
	must(t, err)
	k5plain, _, err := e.svc.RotateKey(ctx, m, keyID(t, e, k3plain), 24*time.Hour)
	must(t, err)
	k3, err := e.db.APIKeyByHash(ctx, credential.HashKey(k3plain))
	must(t, err)
	if k3.ExpiresAt == nil || !k3.ExpiresAt.Equal(t1.Add(time.Hour).Truncate(time.Microsecond)) {
		t.Errorf("second rotation moved the expiry to %v, want %v", k3.ExpiresAt, t1.Add(time.Hour))
	}
	e.clk.Advance(30 * time.Minute)
	authOK(t, e.svc, k3plain, m)
	_, _, err = e.svc.RotateKey(ctx, m, k3.ID, time.Minute)
	must(t, err)
	e.clk.Advance(time.Minute)
	authRevoked(t, e.svc, k3plain)
	authOK(t, e.svc, k4plain, m)
	authOK(t, e.svc, k5plain, m)

	_, _, err = e.svc.RotateKey(ctx, m, keyID(t, e, k4plain), -time.Second)
	wantKey(t, "negative grace", err, jeton.KindInvalid, jeton.KeyValidationFailed)
	_, _, err = e.svc.RotateKey(ctx, m, "key_nope", time.Hour)
	wantKey(t, "rotate unknown key", err, jeton.KindNotFound, "")
	other := e.merchant(t)
	_, _, err = e.svc.RotateKey(ctx, other.Merchant.ID, keyID(t, e, k4plain), time.Hour)
	wantKey(t, "rotate another merchant's key", err, jeton.KindNotFound, "")
}

// keyID looks a key's id up by its value.
func keyID(t *testing.T, e *env, plain string) string {
	t.Helper()
	k, err := e.db.APIKeyByHash(testCtx(t), credential.HashKey(plain))
	must(t, err)
	return k.ID
}

func TestRevokeKey(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	nm := e.merchant(t)
	m := nm.Merchant.ID
	other := e.merchant(t)

	authOK(t, e.svc, nm.APIKey, m) // cached
	must(t, e.svc.RevokeKey(ctx, m, nm.APIKeyID))
	authRevoked(t, e.svc, nm.APIKey) // at once, on the same clock tick
	k, err := e.db.APIKey(ctx, m, nm.APIKeyID)
	must(t, err)
	if k.RevokedAt == nil || !k.RevokedAt.Equal(e.clk.Now().Truncate(time.Microsecond)) {
		t.Errorf("RevokedAt = %v, want %v", k.RevokedAt, e.clk.Now())
	}
	e.clk.Advance(time.Hour)
	must(t, e.svc.RevokeKey(ctx, m, nm.APIKeyID)) // idempotent
	k2, err := e.db.APIKey(ctx, m, nm.APIKeyID)
	must(t, err)
	if !k2.RevokedAt.Equal(*k.RevokedAt) {
		t.Errorf("second revoke moved RevokedAt to %v", k2.RevokedAt)
	}

	err = e.svc.RevokeKey(ctx, m, "key_nope")
	wantKey(t, "revoke unknown key", err, jeton.KindNotFound, "")
	err = e.svc.RevokeKey(ctx, m, other.APIKeyID)
	wantKey(t, "revoke another merchant's key", err, jeton.KindNotFound, "")
	authOK(t, e.svc, other.APIKey, other.Merchant.ID)
}

func TestRotateSecret(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	nm := e.merchant(t)
	m := nm.Merchant.ID
	s0 := nm.APISecret

	if got := secretsOf(t, e.svc, m); !slices.Equal(got, []string{s0}) {
		t.Fatalf("secrets = %d, want the first one only", len(got))
	}
	s1, err := e.svc.RotateSecret(ctx, m, time.Hour)
	must(t, err)
	decodeToken(t, "rotated secret", s1, credential.SecretPrefix)
	if !slices.Contains(e.changes(), m) {
		t.Errorf("OnChange not called with %s on rotation (calls %v)", m, e.changes())
	}
	// Grace: both, current first; new tokens are signed with the new one.
	if got := secretsOf(t, e.svc, m); !slices.Equal(got, []string{s1, s0}) {
		t.Errorf("secrets during grace = %d values, want [new old]", len(got))
	}
	sig, err := e.svc.SigningSecret(ctx, m)
	must(t, err)
	if string(sig) != s1 {
		t.Error("SigningSecret is not the new secret")
	}
	e.clk.Advance(time.Hour)
	if got := secretsOf(t, e.svc, m); !slices.Equal(got, []string{s1}) {
		t.Errorf("secrets after grace = %d values, want the new only", len(got))
	}
	must(t, e.svc.Sync(ctx)) // drops the retired secret from the cache
	if got := secretsOf(t, e.svc, m); !slices.Equal(got, []string{s1}) {
		t.Errorf("secrets after grace and Sync = %d values, want the new only", len(got))
	}

	// Rotating twice inside the grace retires the oldest at once.
	s2, err := e.svc.RotateSecret(ctx, m, time.Hour)
	must(t, err)
	s3, err := e.svc.RotateSecret(ctx, m, time.Hour)
	must(t, err)
	if got := secretsOf(t, e.svc, m); !slices.Equal(got, []string{s3, s2}) {
		t.Errorf("secrets after two rotations = %d values, want [s3 s2]", len(got))
	}
	// Grace 0: only the new one, now.
	s4, err := e.svc.RotateSecret(ctx, m, 0)
	must(t, err)
	if got := secretsOf(t, e.svc, m); !slices.Equal(got, []string{s4}) {
		t.Errorf("secrets after rotation without grace = %d values, want the new only", len(got))
	}

	_, err = e.svc.RotateSecret(ctx, m, -time.Second)
	wantKey(t, "negative grace", err, jeton.KindInvalid, jeton.KeyValidationFailed)
	_, err = e.svc.RotateSecret(ctx, "nope", time.Hour)
	wantKey(t, "rotate secret of unknown merchant", err, jeton.KindNotFound, "")
}

func TestAuthenticateMerchant(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	a := e.merchant(t)
	b := e.merchant(t)
	am, bm := a.Merchant.ID, b.Merchant.ID

	k, err := e.svc.AuthenticateMerchant(ctx, a.APIKey, a.APISecret, am)
	must(t, err)
	if k.ID != a.APIKeyID {
		t.Errorf("key = %s, want %s", k.ID, a.APIKeyID)
	}
	bad := func(what, key, secret, merchantID string) {
		t.Helper()
		_, err := e.svc.AuthenticateMerchant(ctx, key, secret, merchantID)
		wantKey(t, what, err, jeton.KindUnauthorized, jeton.KeyInvalidCredentials)
	}
	bad("wrong secret", a.APIKey, a.APISecret+"x", am)
	bad("other merchant's secret", a.APIKey, b.APISecret, am)
	bad("other merchant's id", a.APIKey, b.APISecret, bm)
	bad("other merchant's id, own secret", a.APIKey, a.APISecret, bm)
	bad("unknown merchant", a.APIKey, a.APISecret, "nope")
	bad("unknown key", credential.KeyPrefix+strings.Repeat("x", 43), a.APISecret, am)
	bad("no key", "", a.APISecret, am)
	bad("no secret", a.APIKey, "", am)
	bad("no merchant", a.APIKey, a.APISecret, "")

	// The previous secret works during its grace only.
	s2, err := e.svc.RotateSecret(ctx, am, time.Hour)
	must(t, err)
	for _, s := range []string{a.APISecret, s2} {
		if _, err := e.svc.AuthenticateMerchant(ctx, a.APIKey, s, am); err != nil {
			t.Errorf("secret in grace: %v", err)
		}
	}
	e.clk.Advance(time.Hour)
	bad("retired secret", a.APIKey, a.APISecret, am)
	if _, err := e.svc.AuthenticateMerchant(ctx, a.APIKey, s2, am); err != nil {
		t.Errorf("new secret after grace: %v", err)
	}

	must(t, e.svc.RevokeKey(ctx, am, a.APIKeyID))
	bad("revoked key", a.APIKey, s2, am)
	if _, err := e.svc.AuthenticateMerchant(ctx, b.APIKey, b.APISecret, bm); err != nil {
		t.Errorf("other merchant after revocation: %v", err)
	}
}

func TestVerifyProvider(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	a := e.merchant(t)
	b := e.merchant(t)
	am := a.Merchant.ID

	must(t, e.svc.VerifyProvider(ctx, am, a.ProviderID, a.ProviderCertificate))
	bad := func(what, merchantID, id, cert string) {
		t.Helper()
		err := e.svc.VerifyProvider(ctx, merchantID, id, cert)
		wantKey(t, what, err, jeton.KindInvalid, jeton.KeyProviderInvalid)
	}
	bad("wrong certificate", am, a.ProviderID, b.ProviderCertificate)
	bad("empty certificate", am, a.ProviderID, "")
	bad("unknown provider", am, "00000000-0000-0000-0000-000000000000", a.ProviderCertificate)
	bad("other merchant's provider", am, b.ProviderID, b.ProviderCertificate)
	bad("provider of another merchant id", b.Merchant.ID, a.ProviderID, a.ProviderCertificate)

	id2, cert2, err := e.svc.CreateProvider(ctx, am)
	must(t, err)
	must(t, e.svc.VerifyProvider(ctx, am, id2, cert2))
	must(t, e.svc.VerifyProvider(ctx, am, a.ProviderID, a.ProviderCertificate)) // the first still works
	bad("certificate of the other provider", am, id2, a.ProviderCertificate)
	_, _, err = e.svc.CreateProvider(ctx, "nope")
	wantKey(t, "CreateProvider(unknown merchant)", err, jeton.KindNotFound, "")

	// A provider revoked at a time stops verifying from that time.
	cert3 := "revocable-certificate"
	sum := credential.HashKey(cert3) // SHA-256, like the provider hash
	revokeAt := e.clk.Now().Add(time.Minute)
	must(t, e.db.CreateProvider(ctx, jeton.Provider{ID: "prov-3", MerchantID: am, CertHash: sum, CreatedAt: e.clk.Now(), RevokedAt: &revokeAt}))
	must(t, e.svc.VerifyProvider(ctx, am, "prov-3", cert3))
	e.clk.Advance(time.Minute)
	bad("revoked provider", am, "prov-3", cert3)
}

func TestRevokeTokens(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	a := e.merchant(t)
	am := a.Merchant.ID

	mk, err := e.svc.MerchantKeys(ctx, am) // cache the merchant
	must(t, err)
	if len(mk.Revoked) != 0 {
		t.Fatalf("fresh merchant has revocations: %v", mk.Revoked)
	}
	e.clk.Advance(1500 * time.Millisecond)
	before := len(e.changes())
	at, err := e.svc.RevokeTokens(ctx, am, jeton.SubjectSteamID, "76561198000000001")
	must(t, err)
	if want := e.clk.Now().Truncate(time.Second); !at.Equal(want) {
		t.Errorf("RevokeTokens at = %v, want %v (whole seconds)", at, want)
	}
	if ch := e.changes(); len(ch) != before+1 || ch[len(ch)-1] != am {
		t.Errorf("OnChange calls = %v, want one more with %s", ch, am)
	}
	mk, err = e.svc.MerchantKeys(ctx, am)
	must(t, err)
	if got := mk.Revoked[token.RevocationKey(jeton.SubjectSteamID, "76561198000000001")]; got != at.Unix() {
		t.Errorf("Revoked[steam] = %d, want %d", got, at.Unix())
	}

	e.clk.Advance(time.Minute)
	at2, err := e.svc.RevokeTokens(ctx, am, jeton.SubjectSteamID, "76561198000000001")
	must(t, err)
	_, err = e.svc.RevokeTokens(ctx, am, jeton.SubjectExternalUserID, "user-9")
	must(t, err)
	mk, err = e.svc.MerchantKeys(ctx, am)
	must(t, err)
	if mk.Revoked[token.RevocationKey(jeton.SubjectSteamID, "76561198000000001")] != at2.Unix() ||
		mk.Revoked[token.RevocationKey(jeton.SubjectExternalUserID, "user-9")] != at2.Unix() || len(mk.Revoked) != 2 {
		t.Errorf("Revoked = %v, want both at %d", mk.Revoked, at2.Unix())
	}
	revs, err := e.db.TokenRevocations(ctx, am)
	must(t, err)
	if len(revs) != 2 {
		t.Errorf("stored revocations = %+v", revs)
	}
}

func TestSetMaxTokenLifetime(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	a := e.merchant(t)
	am := a.Merchant.ID
	mk, err := e.svc.MerchantKeys(ctx, am)
	must(t, err)
	if mk.MaxLifetime != jeton.DefaultMaxTokenLifetime {
		t.Errorf("MaxLifetime = %v", mk.MaxLifetime)
	}
	for _, d := range []time.Duration{59 * time.Second, 25 * time.Hour} {
		err := e.svc.SetMaxTokenLifetime(ctx, am, d)
		wantKey(t, "SetMaxTokenLifetime(out of range)", err, jeton.KindInvalid, jeton.KeyValidationFailed)
	}
	must(t, e.svc.SetMaxTokenLifetime(ctx, am, 2*time.Hour))
	mk, err = e.svc.MerchantKeys(ctx, am)
	must(t, err)
	m, err := e.svc.Merchant(ctx, am)
	must(t, err)
	if mk.MaxLifetime != 2*time.Hour || m.MaxTokenLifetime != 2*time.Hour {
		t.Errorf("after SetMaxTokenLifetime: keys %v, merchant %v, want 2h", mk.MaxLifetime, m.MaxTokenLifetime)
	}
	err = e.svc.SetMaxTokenLifetime(ctx, "nope", time.Hour)
	wantKey(t, "SetMaxTokenLifetime(unknown)", err, jeton.KindNotFound, "")
	_, err = e.svc.Merchant(ctx, "nope")
	wantKey(t, "Merchant(unknown)", err, jeton.KindNotFound, jeton.KeyMerchantNotFound)
}

func TestFlushUsage(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	a := e.merchant(t)
	am := a.Merchant.ID

	lastUsed := func() *time.Time {
		t.Helper()
		ks, err := e.db.APIKeys(ctx, am)
		must(t, err)
		if len(ks) != 1 {
			t.Fatalf("keys = %d", len(ks))
		}
		return ks[0].LastUsedAt
	}
	must(t, e.svc.FlushUsage(ctx)) // nothing to write
	if lu := lastUsed(); lu != nil {
		t.Fatalf("unused key has LastUsedAt %v", lu)
	}
	authOK(t, e.svc, a.APIKey, am)
	t1 := e.clk.Now()
	if lu := lastUsed(); lu != nil {
		t.Errorf("LastUsedAt written before FlushUsage: %v", lu)
	}
	must(t, e.svc.FlushUsage(ctx))
	if lu := lastUsed(); lu == nil || !lu.Equal(t1.Truncate(time.Microsecond)) {
		t.Errorf("LastUsedAt = %v, want %v", lu, t1)
	}

	// Several uses between flushes: the latest is written.
	e.clk.Advance(time.Second)
	authOK(t, e.svc, a.APIKey, am)
	e.clk.Advance(time.Second)
	authOK(t, e.svc, a.APIKey, am)
	t2 := e.clk.Now()
	must(t, e.svc.FlushUsage(ctx))
	if lu := lastUsed(); lu == nil || !lu.Equal(t2.Truncate(time.Microsecond)) {
		t.Errorf("LastUsedAt = %v, want %v", lu, t2)
	}
	must(t, e.svc.FlushUsage(ctx)) // flushed: nothing left
	if lu := lastUsed(); lu == nil || !lu.Equal(t2.Truncate(time.Microsecond)) {
		t.Errorf("LastUsedAt after empty flush = %v, want %v", lu, t2)
	}

	// Another instance whose clock lags flushes an older time: ignored.
	lag := newClock()
	other := credential.New(e.db, e.vault, lag.Now, quiet)
	authOK(t, other, a.APIKey, am)
	must(t, other.FlushUsage(ctx))
	if lu := lastUsed(); lu == nil || !lu.Equal(t2.Truncate(time.Microsecond)) {
		t.Errorf("LastUsedAt moved backwards to %v", lu)
	}
}

// crossInstance runs two services over two store handles on one database:
// changes made through A reach B's caches through B.Sync.
func crossInstance(t *testing.T, storeA, storeB jeton.Store) {
	ctx := testCtx(t)
	clk := newClock()
	v := newVault(t)
	a := credential.New(storeA, v, clk.Now, quiet)
	b := credential.New(storeB, v, clk.Now, quiet)
	var mu sync.Mutex
	var bChanged []string
	b.OnChange = func(id string) {
		mu.Lock()
		bChanged = append(bChanged, id)
		mu.Unlock()
	}
	changesB := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(bChanged)
	}
	must(t, b.Prime(ctx))

	nm, err := a.CreateMerchant(ctx, "Cross", "", nil)
	must(t, err)
	m := nm.Merchant.ID
	// An unrelated merchant's changes must not disturb m on B.
	other, err := a.CreateMerchant(ctx, "Other", "", nil)
	must(t, err)

	// Key revocation.
	authOK(t, b, nm.APIKey, m)
	must(t, a.RevokeKey(ctx, m, nm.APIKeyID))
	authRevoked(t, a, nm.APIKey)
	// B still answers from its cache: this is what Sync is for.
	authOK(t, b, nm.APIKey, m)
	must(t, b.Sync(ctx))
	authRevoked(t, b, nm.APIKey)
	if ch := changesB(); !slices.Equal(ch, []string{m}) {
		t.Errorf("B OnChange after revoke = %v, want [%s]", ch, m)
	}

	// Key rotation without grace.
	key2, _, err := a.CreateKey(ctx, m, nil)
	must(t, err)
	k2 := authOK(t, b, key2, m)
	key3, _, err := a.RotateKey(ctx, m, k2.ID, 0)
	must(t, err)
	must(t, b.Sync(ctx))
	authRevoked(t, b, key2)
	authOK(t, b, key3, m)

	// Secret rotation: B drops the merchant and calls OnChange.
	if got := secretsOf(t, b, m); !slices.Equal(got, []string{nm.APISecret}) {
		t.Fatalf("B secrets = %d values, want the first", len(got))
	}
	if _, err := b.AuthenticateMerchant(ctx, key3, nm.APISecret, m); err != nil {
		t.Fatalf("B AuthenticateMerchant: %v", err)
	}
	n := len(changesB())
	s1, err := a.RotateSecret(ctx, m, 0)
	must(t, err)
	if got := secretsOf(t, b, m); !slices.Equal(got, []string{nm.APISecret}) {
		t.Errorf("B secrets before Sync = %d values, want the cached one", len(got))
	}
	must(t, b.Sync(ctx))
	if ch := changesB(); len(ch) != n+1 || ch[n] != m {
		t.Errorf("B OnChange after secret rotation = %v, want one more with %s", ch, m)
	}
	if got := secretsOf(t, b, m); !slices.Equal(got, []string{s1}) {
		t.Errorf("B secrets after Sync = %d values, want the new only", len(got))
	}
	_, err = b.AuthenticateMerchant(ctx, key3, nm.APISecret, m)
	wantKey(t, "B AuthenticateMerchant with the rotated-out secret", err, jeton.KindUnauthorized, jeton.KeyInvalidCredentials)
	if _, err := b.AuthenticateMerchant(ctx, key3, s1, m); err != nil {
		t.Errorf("B AuthenticateMerchant with the new secret: %v", err)
	}

	// A Sync with nothing new calls nothing.
	n = len(changesB())
	must(t, b.Sync(ctx))
	if ch := changesB(); len(ch) != n {
		t.Errorf("idle Sync called OnChange: %v", ch[n:])
	}

	// Token revocation and lifetime changes reach B's merchant entry.
	at, err := a.RevokeTokens(ctx, m, jeton.SubjectClientID, "client-1")
	must(t, err)
	must(t, a.SetMaxTokenLifetime(ctx, m, time.Hour))
	must(t, b.Sync(ctx))
	mk, err := b.MerchantKeys(ctx, m)
	must(t, err)
	if mk.Revoked[token.RevocationKey(jeton.SubjectClientID, "client-1")] != at.Unix() || mk.MaxLifetime != time.Hour {
		t.Errorf("B merchant keys after Sync = revoked %v, max %v", mk.Revoked, mk.MaxLifetime)
	}

	// A secret whose grace ends is dropped by Sync with no event at all.
	s2, err := a.RotateSecret(ctx, m, time.Hour)
	must(t, err)
	must(t, b.Sync(ctx))
	if got := secretsOf(t, b, m); !slices.Equal(got, []string{s2, s1}) {
		t.Errorf("B secrets in grace = %d values, want 2", len(got))
	}
	clk.Advance(time.Hour)
	n = len(changesB())
	must(t, b.Sync(ctx))
	if ch := changesB(); len(ch) != n+1 || ch[n] != m {
		t.Errorf("B OnChange when the grace ended = %v, want one more with %s", ch, m)
	}
	if got := secretsOf(t, b, m); !slices.Equal(got, []string{s2}) {
		t.Errorf("B secrets after grace = %d values, want the new only", len(got))
	}

	// The other merchant was never touched on B.
	if slices.Contains(changesB(), other.Merchant.ID) {
		t.Errorf("B OnChange named the untouched merchant")
	}
	authOK(t, b, other.APIKey, other.Merchant.ID)
}

func TestCrossInstanceSQLite(t *testing.T) {
	dir := t.TempDir()
	storeA := sqltest.SQLite(t, dir)
	storeB := sqltest.SQLite(t, dir) // a second handle: its own writer and readers
	crossInstance(t, storeA, storeB)
}

func TestCrossInstancePostgres(t *testing.T) {
	if os.Getenv(storetest.EnvDatabaseURL) == "" {
		t.Skip(storetest.EnvDatabaseURL + " not set: skipping PostgreSQL cross-instance test")
	}
	url := storetest.PostgresURL(t)
	crossInstance(t, sqltest.Postgres(t, url), sqltest.Postgres(t, url))
}

// hookStore is the real store with hooks run after a read, to interleave
// a concurrent change deterministically. Each hook runs once.
type hookStore struct {
	jeton.Store
	afterKeyByHash func()
	afterSecrets   func()
}

func (h *hookStore) APIKeyByHash(ctx context.Context, hash []byte) (jeton.APIKey, error) {
	k, err := h.Store.APIKeyByHash(ctx, hash)
	if f := h.afterKeyByHash; f != nil {
		h.afterKeyByHash = nil
		f()
	}
	return k, err
}

func (h *hookStore) Secrets(ctx context.Context, merchantID string, now time.Time) ([]jeton.Secret, error) {
	secs, err := h.Store.Secrets(ctx, merchantID, now)
	if f := h.afterSecrets; f != nil {
		h.afterSecrets = nil
		f()
	}
	return secs, err
}

// TestChangeDuringCacheFill: a change made while a request is between
// reading from the store and caching what it read must not leave the
// stale value cached. (The request itself may still see the old value.)
func TestChangeDuringCacheFill(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	nm := e.merchant(t)
	m := nm.Merchant.ID
	hs := &hookStore{Store: e.db}
	svc := credential.New(hs, e.vault, e.clk.Now, quiet)

	// Key revoked during the key cache fill.
	hs.afterKeyByHash = func() { must(t, svc.RevokeKey(ctx, m, nm.APIKeyID)) }
	if _, err := svc.AuthenticateKey(ctx, nm.APIKey); err != nil {
		t.Logf("request racing the revocation: %v", err)
	}
	authRevoked(t, svc, nm.APIKey)

	// Secret rotated (no grace) during the merchant cache fill.
	var s1 string
	hs.afterSecrets = func() {
		var err error
		s1, err = svc.RotateSecret(ctx, m, 0)
		must(t, err)
	}
	_ = secretsOf(t, svc, m) // the racing request
	if got := secretsOf(t, svc, m); !slices.Equal(got, []string{s1}) {
		t.Errorf("secrets after a rotation during the cache fill = %d values, want the new only (stale entry cached)", len(got))
	}
}
