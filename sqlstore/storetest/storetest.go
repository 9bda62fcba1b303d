// Package storetest is the conformance suite every jeton.Store must pass,
// in the manner of River's driver tests: one interface, one suite, every
// backend. Only tests import it.
//
//	func TestSQLite(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) jeton.Store { ... })
//	}
//
// It also holds PostgresURL, which gives a test its own PostgreSQL schema.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for PostgresURL

	"github.com/jetonhq/jeton"
)

// EnvDatabaseURL names the environment variable holding the PostgreSQL URL
// the tests may use. Tests that need PostgreSQL skip when it is unset.
const EnvDatabaseURL = "JETON_TEST_DATABASE_URL"

// PostgresURL returns a connection URL whose search_path is a fresh schema
// of its own, dropped (with everything in it) when t ends. It skips t when
// JETON_TEST_DATABASE_URL is not set. Register it before opening stores on
// the URL so the schema is dropped after they are closed.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvDatabaseURL)
	if base == "" {
		t.Skip(EnvDatabaseURL + " not set: skipping PostgreSQL tests (e.g. " + EnvDatabaseURL + "=postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", EnvDatabaseURL, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	schema := "jt_" + randHex(8)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvDatabaseURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema) // pgx sends unknown parameters as runtime params
	u.RawQuery = q.Encode()
	return u.String()
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

// Run runs the conformance suite. open must return a fresh, migrated,
// empty store for the test it is given and arrange for it to be closed
// (and removed) when that test ends. Each subtest opens its own store and
// runs in parallel with the others.
func Run(t *testing.T, open func(t *testing.T) jeton.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, jeton.Store)
	}{
		{"Merchants", testMerchants},
		{"SetMaxTokenLifetime", testSetMaxTokenLifetime},
		{"CreateMerchantAtomic", testCreateMerchantAtomic},
		{"APIKeys", testAPIKeys},
		{"RotateAPIKey", testRotateAPIKey},
		{"RevokeAPIKey", testRevokeAPIKey},
		{"TouchAPIKeys", testTouchAPIKeys},
		{"Secrets", testSecrets},
		{"Providers", testProviders},
		{"ProviderListAndRevoke", testProviderListRevoke},
		{"Users", testUsers},
		{"UserLockout", testUserLockout},
		{"Sessions", testSessions},
		{"UpsertClients", testUpsertClients},
		{"TokenRevocations", testTokenRevocations},
		{"CredentialEvents", testCredentialEvents},
		{"SagaStores", testSagaStores},
		{"CrossMerchantIsolation", testIsolation},
		{"ConcurrentWrites", testConcurrentWrites},
		{"ConcurrentOverlappingWrites", testConcurrentOverlapping},
		{"PingClose", testPingClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			tc.fn(t, s)
		})
	}
}

// base is a time with sub-microsecond digits in a non-UTC zone: stores
// keep microseconds and return UTC.
var base = time.Date(2025, 3, 14, 15, 9, 26, 535_897_932, time.FixedZone("UTC+2", 2*3600))

// stored is what a store returns for t: microsecond precision, UTC.
func stored(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	w := stored(want)
	if !got.Equal(w) || got.Location() != time.UTC {
		t.Errorf("%s = %v (%s), want %v (UTC)", what, got, got.Location(), w)
	}
}

func samePtrTime(t *testing.T, what string, got, want *time.Time) {
	t.Helper()
	switch {
	case want == nil && got == nil:
	case want == nil:
		t.Errorf("%s = %v, want nil", what, *got)
	case got == nil:
		t.Errorf("%s = nil, want %v", what, stored(*want))
	default:
		sameTime(t, what, *got, *want)
	}
}

func ptr[T any](v T) *T { return &v }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantKind fails unless err is a *jeton.Error of kind k (and key, if set).
func wantKind(t *testing.T, what string, err error, k jeton.Kind, key string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: err = nil, want %s", what, k)
		return
	}
	var e *jeton.Error
	if !errors.As(err, &e) {
		t.Errorf("%s: err = %v (%T), want *jeton.Error of kind %s", what, err, err, k)
		return
	}
	if e.Kind != k || (key != "" && e.Key != key) {
		t.Errorf("%s: err = %v (kind %s, key %s), want kind %s key %s", what, err, e.Kind, e.Key, k, key)
	}
}

func wantErr(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: err = nil, want an error", what)
	}
}

// fixture is a merchant created through CreateMerchant.
type fixture struct {
	nm jeton.NewMerchant
	m  jeton.Merchant
}

func newKey(merchantID string, created time.Time, scopes ...jeton.Scope) jeton.APIKey {
	if len(scopes) == 0 {
		scopes = []jeton.Scope{jeton.ScopeCoreAccess}
	}
	return jeton.APIKey{
		ID: "key_" + jeton.NewID(), MerchantID: merchantID, Hash: randBytes(32),
		Prefix: "ap_" + randHex(4), Scopes: scopes, CreatedAt: created,
	}
}

func newSecret(merchantID string, created time.Time) jeton.Secret {
	// Sealed values are arbitrary bytes: include NUL and 0xff.
	sealed := append([]byte{0x01, 0x00, 0xff}, randBytes(45)...)
	return jeton.Secret{ID: "sec_" + jeton.NewID(), MerchantID: merchantID, Sealed: sealed, CreatedAt: created}
}

func newProvider(merchantID string, created time.Time) jeton.Provider {
	return jeton.Provider{ID: "prov_" + jeton.NewID(), MerchantID: merchantID, CertHash: randBytes(32), CreatedAt: created}
}

func newMerchant(created time.Time) jeton.NewMerchant {
	id := jeton.NewID()
	return jeton.NewMerchant{
		Merchant: jeton.Merchant{ID: id, PartnerID: jeton.NewID(), Name: "Merchant " + id, MaxTokenLifetime: 3 * time.Hour, CreatedAt: created},
		Key:      newKey(id, created, jeton.ScopeCoreAccess, jeton.ScopeAdmin),
		Secret:   newSecret(id, created),
		Provider: ptr(newProvider(id, created)),
	}
}

func create(t *testing.T, s jeton.Store, created time.Time) fixture {
	t.Helper()
	nm := newMerchant(created)
	must(t, s.CreateMerchant(ctxT(t), nm))
	return fixture{nm: nm, m: nm.Merchant}
}

func checkMerchant(t *testing.T, got, want jeton.Merchant) {
	t.Helper()
	if got.ID != want.ID || got.PartnerID != want.PartnerID || got.Name != want.Name || got.MaxTokenLifetime != want.MaxTokenLifetime {
		t.Errorf("merchant = %+v, want %+v", got, want)
	}
	sameTime(t, "merchant.CreatedAt", got.CreatedAt, want.CreatedAt)
}

func checkKey(t *testing.T, got, want jeton.APIKey) {
	t.Helper()
	if got.ID != want.ID || got.MerchantID != want.MerchantID || !bytes.Equal(got.Hash, want.Hash) ||
		got.Prefix != want.Prefix || !slices.Equal(got.Scopes, want.Scopes) {
		t.Errorf("key = %+v, want %+v", got, want)
	}
	sameTime(t, "key.CreatedAt", got.CreatedAt, want.CreatedAt)
	samePtrTime(t, "key.ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	samePtrTime(t, "key.RevokedAt", got.RevokedAt, want.RevokedAt)
	samePtrTime(t, "key.LastUsedAt", got.LastUsedAt, want.LastUsedAt)
}

func checkSecret(t *testing.T, got, want jeton.Secret) {
	t.Helper()
	if got.ID != want.ID || got.MerchantID != want.MerchantID || !bytes.Equal(got.Sealed, want.Sealed) {
		t.Errorf("secret = %+v, want %+v", got, want)
	}
	sameTime(t, "secret.CreatedAt", got.CreatedAt, want.CreatedAt)
	samePtrTime(t, "secret.RetiresAt", got.RetiresAt, want.RetiresAt)
}

func checkProvider(t *testing.T, got, want jeton.Provider) {
	t.Helper()
	if got.ID != want.ID || got.MerchantID != want.MerchantID || !bytes.Equal(got.CertHash, want.CertHash) {
		t.Errorf("provider = %+v, want %+v", got, want)
	}
	sameTime(t, "provider.CreatedAt", got.CreatedAt, want.CreatedAt)
	samePtrTime(t, "provider.RevokedAt", got.RevokedAt, want.RevokedAt)
}

func secretIDs(ss []jeton.Secret) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.ID)
	}
	return out
}

func keyIDs(ks []jeton.APIKey) []string {
	var out []string
	for _, k := range ks {
		out = append(out, k.ID)
	}
	return out
}

// events returns every credential event after seq.
func events(t *testing.T, s jeton.Store, after int64) []jeton.CredentialEvent {
	t.Helper()
	evs, err := s.CredentialEvents(ctxT(t), after, 10_000)
	must(t, err)
	return evs
}

func lastEvent(t *testing.T, s jeton.Store) int64 {
	t.Helper()
	n, err := s.LastCredentialEvent(ctxT(t))
	must(t, err)
	return n
}

// wantEvents checks that exactly the given (merchant, kind) events were
// appended after seq, in order, and returns the new last seq.
func wantEvents(t *testing.T, s jeton.Store, after int64, want ...[2]string) int64 {
	t.Helper()
	evs := events(t, s, after)
	var got [][2]string
	for _, e := range evs {
		got = append(got, [2]string{e.MerchantID, e.Kind})
	}
	if !slices.Equal(got, want) {
		t.Errorf("events after %d = %v, want %v", after, got, want)
	}
	if len(evs) == 0 {
		return after
	}
	return evs[len(evs)-1].Seq
}

func testMerchants(t *testing.T, s jeton.Store) {
	ctx := ctxT(t)
	ms, err := s.Merchants(ctx)
	must(t, err)
	if len(ms) != 0 {
		t.Fatalf("empty store lists %d merchants", len(ms))
	}
	_, err = s.Merchant(ctx, "nope")
	wantKind(t, "Merchant(unknown)", err, jeton.KindNotFound, jeton.KeyMerchantNotFound)

	// Created out of order: the list is oldest first.
	b := create(t, s, base.Add(time.Hour))
	a := create(t, s, base)
	c := create(t, s, base.Add(2*time.Hour))
	for _, f := range []fixture{a, b, c} {
		got, err := s.Merchant(ctx, f.m.ID)
		must(t, err)
		checkMerchant(t, got, f.m)
	}
	ms, err = s.Merchants(ctx)
	must(t, err)
	if len(ms) != 3 {
		t.Fatalf("Merchants = %d, want 3", len(ms))
	}
	for i, want := range []fixture{a, b, c} {
		checkMerchant(t, ms[i], want.m)
	}

	// CreateMerchant stored the first key, secret and provider.
	k, err := s.APIKeyByHash(ctx, a.nm.Key.Hash)
	must(t, err)
	checkKey(t, k, a.nm.Key)
	secs, err := s.Secrets(ctx, a.m.ID, base)
	must(t, err)
	if len(secs) != 1 {
		t.Fatalf("Secrets = %d, want 1", len(secs))
	}
	checkSecret(t, secs[0], a.nm.Secret)
	p, err := s.Provider(ctx, a.m.ID, a.nm.Provider.ID)
	must(t, err)
	checkProvider(t, p, *a.nm.Provider)

	// The provider is optional.
	nm := newMerchant(base)
	nm.Provider = nil
	must(t, s.CreateMerchant(ctx, nm))
	if _, err := s.Merchant(ctx, nm.Merchant.ID); err != nil {
		t.Errorf("merchant without provider: %v", err)
	}
}

func testSetMaxTokenLifetime(t *testing.T, s jeton.Store) {
	ctx := ctxT(t)
	a := create(t, s, base)
	seq := lastEvent(t, s)
	must(t, s.SetMaxTokenLifetime(ctx, a.m.ID, 90*time.Minute))
	m, err := s.Merchant(ctx, a.m.ID)
	must(t, err)
	if m.MaxTokenLifetime != 90*time.Minute {
		t.Errorf("MaxTokenLifetime = %v, want 1h30m", m.MaxTokenLifetime)
	}
	seq = wantEvents(t, s, seq, [2]string{a.m.ID, jeton.EventMerchantUpdate})

	err = s.SetMaxTokenLifetime(ctx, "nope", time.Hour)
	wantKind(t, "SetMaxTokenLifetime(unknown)", err, jeton.KindNotFound, jeton.KeyMerchantNotFound)
	wantEvents(t, s, seq) // a failed change appends nothing
}

func testCreateMerchantAtomic(t *testing.T, s jeton.Store) {
	ctx := ctxT(t)
	a := create(t, s, base)
	seq := lastEvent(t, s)

	// nothingOf checks that no row of nm (other than what a owns) exists.
	nothingOf := func(what string, nm jeton.NewMerchant, checkMerchant bool) {
		t.Helper()
		if checkMerchant {
			_, err := s.Merchant(ctx, nm.Merchant.ID)
			wantKind(t, what+": Merchant", err, jeton.KindNotFound, "")
			ks, err := s.APIKeys(ctx, nm.Merchant.ID)
			must(t, err)
			if len(ks) != 0 {
				t.Errorf("%s: %d keys left behind", what, len(ks))
			}
			secs, err := s.Secrets(ctx, nm.Merchant.ID, base)
			must(t, err)
			if len(secs) != 0 {
				t.Errorf("%s: %d secrets left behind", what, len(secs))
			}
		}
		if !bytes.Equal(nm.Key.Hash, a.nm.Key.Hash) {
			_, err := s.APIKeyByHash(ctx, nm.Key.Hash)
			wantKind(t, what+": APIKeyByHash", err, jeton.KindNotFound, "")
		}
		if nm.Provider != nil && nm.Provider.ID != a.nm.Provider.ID {
			_, err := s.Provider(ctx, nm.Provider.MerchantID, nm.Provider.ID)
			wantKind(t, what+": Provider", err, jeton.KindNotFound, "")
		}
		ms, err := s.Merchants(ctx)
		must(t, err)
		if len(ms) != 1 || ms[0].ID != a.m.ID {
			t.Errorf("%s: merchants = %v, want only %s", what, ms, a.m.ID)
		}
	}

	// Duplicate API key hash: the key insert fails after the merchant row.
	nm := newMerchant(base)
	nm.Key.Hash = a.nm.Key.Hash
	wantErr(t, "duplicate key hash", s.CreateMerchant(ctx, nm))
	nothingOf("duplicate key hash", nm, true)

	// Duplicate merchant ID: the very first insert fails.
	nm = newMerchant(base)
	nm.Merchant.ID = a.m.ID
	nm.Key.MerchantID, nm.Secret.MerchantID, nm.Provider.MerchantID = a.m.ID, a.m.ID, a.m.ID
	wantErr(t, "duplicate merchant id", s.CreateMerchant(ctx, nm))
	nothingOf("duplicate merchant id", nm, false)
	m, err := s.Merchant(ctx, a.m.ID)
	must(t, err)
	checkMerchant(t, m, a.m) // untouched
	ks, err := s.APIKeys(ctx, a.m.ID)
	must(t, err)
	if !slices.Equal(keyIDs(ks), []string{a.nm.Key.ID}) {
		t.Errorf("duplicate merchant id: keys of existing merchant = %v", keyIDs(ks))
	}
	secs, err := s.Secrets(ctx, a.m.ID, base)
	must(t, err)
	if !slices.Equal(secretIDs(secs), []string{a.nm.Secret.ID}) {
		t.Errorf("duplicate merchant id: secrets of existing merchant = %v", secretIDs(secs))
	}

	// Duplicate secret ID: fails after the merchant and key rows.
	nm = newMerchant(base)
	nm.Secret.ID = a.nm.Secret.ID
	wantErr(t, "duplicate secret id", s.CreateMerchant(ctx, nm))
	nothingOf("duplicate secret id", nm, true)

	// Duplicate provider ID: fails on the last insert.
	nm = newMerchant(base)
	nm.Provider.ID = a.nm.Provider.ID
	wantErr(t, "duplicate provider id", s.CreateMerchant(ctx, nm))
	nothingOf("duplicate provider id", nm, true)

	wantEvents(t, s, seq)

	// The store still works after the failures.
	create(t, s, base)
}

func testAPIKeys(t *testing.T, s jeton.Store) {
	ctx := ctxT(t)
	a := create(t, s, base)

	_, err := s.APIKeyByHash(ctx, randBytes(32))
	wantKind(t, "APIKeyByHash(unknown)", err, jeton.KindNotFound, "")
	_, err = s.APIKey(ctx, a.m.ID, "key_nope")
	wantKind(t, "APIKey(unknown)", err, jeton.KindNotFound, "")
	ks, err := s.APIKeys(ctx, "nope")
	must(t, err)
	if len(ks) != 0 {
		t.Errorf("APIKeys(unknown merchant) = %d keys", len(ks))
	}

	// Every field round-trips, including the optional times; scope order
	// is kept.
	k1 := newKey(a.m.ID, base.Add(time.Minute), jeton.ScopeReadOnly)
	k2 := newKey(a.m.ID, base.Add(2*time.Minute), jeton.ScopeAdmin, jeton.ScopeReadOnly, jeton.ScopeCoreAccess)
	k2.ExpiresAt = ptr(base.Add(time.Hour + 7*time.Nanosecond))
	k2.RevokedAt = ptr(base.Add(2 * time.Hour))
	k2.LastUsedAt = ptr(base.Add(3 * time.Minute))
	must(t, s.CreateAPIKey(ctx, k2)) // out of order: listing sorts
	must(t, s.CreateAPIKey(ctx, k1))
	for _, want := range []jeton.APIKey{a.nm.Key, k1, k2} {
		got, err := s.APIKeyByHash(ctx, want.Hash)
		must(t, err)
		checkKey(t, got, want)
		got, err = s.APIKey(ctx, a.m.ID, want.ID)
		must(t, err)
		checkKey(t, got, want)
	}
	ks, err = s.APIKeys(ctx, a.m.ID)
	must(t, err)
	if len(ks) != 3 {
		t.Fatalf("APIKeys = %v, want 3 keys", keyIDs(ks))
	}
	for i, want := range []jeton.APIKey{a.nm.Key, k1, k2} {
		checkKey(t, ks[i], want)
	}

	// Hashes are unique.
	dup := newKey(a.m.ID, base)
	dup.Hash = k1.Hash
	wantErr(t, "CreateAPIKey(duplicate hash)", s.CreateAPIKey(ctx, dup))
	_, err = s.APIKey(ctx, a.m.ID, dup.ID)
	wantKind(t, "APIKey(failed insert)", err, jeton.KindNotFound, "")
	// A key for a merchant that does not exist is refused.
	wantErr(t, "CreateAPIKey(unknown merchant)", s.CreateAPIKey(ctx, newKey("nope", base)))
}

func testRotateAPIKey(t *testing.T, s jeton.Store) {
	ctx := ctxT(t)
	a := create(t, s, base)
	seq := lastEvent(t, s)
	old := a.nm.Key

	now := base.Add(time.Hour)
	next := newKey(a.m.ID, now, old.Scopes...)
	grace := now.Add(24*time.Hour + 999*time.Nanosecond)
	must(t, s.RotateAPIKey(ctx, a.m.ID, old.ID, grace, next))
	got, err := s.APIKey(ctx, a.m.ID, old.ID)
	must(t, err)
	old.ExpiresAt = &grace
	checkKey(t, got, old)
	got, err = s.APIKeyByHash(ctx, next.Hash)
	must(t, err)
	checkKey(t, got, next)
	ks, err := s.APIKeys(ctx, a.m.ID)
	must(t, err)
	if !slices.Equal(keyIDs(ks), []string{old.ID, next.ID}) {
		t.Errorf("keys after rotation = %v", keyIDs(ks))
	}
	evs := events(t, s, seq)
	if len(evs) != 1 || evs[0].MerchantID != a.m.ID || evs[0].Kind != jeton.EventKeyRotated {
		t.Fatalf("events after rotation = %+v, want one %s", evs, jeton.EventKeyRotated)
	}
	sameTime(t, "rotation event At", evs[0].At, next.CreatedAt)
	seq = evs[0].Seq

	// The expiry is set as given: a second rotation can shorten it.
	sooner := now.Add(time.Minute)
	next2 := newKey(a.m.ID, now, old.Scopes...)
	must(t, s.RotateAPIKey(ctx, a.m.ID, old.ID, sooner, next2))
	got, err = s.APIKey(ctx, a.m.ID, old.ID)
	must(t, err)
	samePtrTime(t, "expiry after second rotation", got.ExpiresAt, &sooner)
	seq = wantEvents(t, s, seq, [2]string{a.m.ID, jeton.EventKeyRotated})

	// Unknown old key: not found, and the new key is not inserted.
	next3 := newKey(a.m.ID, now)
	err = s.RotateAPIKey(ctx, a.m.ID, "key_nope", grace, next3)
	wantKind(t, "RotateAPIKey(unknown)", err, jeton.KindNotFound, "")
	_, err = s.APIKeyByHash(ctx, next3.Hash)
	wantKind(t, "new key of failed rotation", err, jeton.KindNotFound, "")

	// A failing insert of the new key leaves the old key's expiry alone.
	bad := newKey(a.m.ID, now)
	bad.Hash = next.Hash
	wantErr(t, "RotateAPIKey(duplicate new hash)", s.RotateAPIKey(ctx, a.m.ID, next.ID, now, bad))
	got, err = s.APIKey(ctx, a.m.ID, next.ID)
	must(t, err)
	if got.ExpiresAt != nil {
		t.Errorf("failed rotation set the old key's expiry to %v", *got.ExpiresAt)
	}
	wantEvents(t, s, seq)
}

func testRevokeAPIKey(t *testing.T, s jeton.Store) {
	ctx := ctxT(t)
	a := create(t, s, base)
	seq := lastEvent(t, s)
	k := a.nm.Key

	at := base.Add(time.Hour)
	must(t, s.RevokeAPIKey(ctx, a.m.ID, k.ID, at))
	got, err := s.APIKey(ctx, a.m.ID, k.ID)
	must(t, err)
	samePtrTime(t, "RevokedAt", got.RevokedAt, &at)
	if got.ActiveAt(at) || !got.ActiveAt(at.Add(-time.Microsecond)) {
		t.Errorf("revoked key: ActiveAt(at) = %v, ActiveAt(at-1µs) = %v", got.ActiveAt(at), got.ActiveAt(at.Add(-time.Microsecond)))
	}
	evs := events(t, s, seq)
	if len(evs) != 1 || evs[0].MerchantID != a.m.ID || evs[0].Kind != jeton.EventKeyRevoked {
		t.Fatalf("events after revoke = %+v, want one %s", evs, jeton.EventKeyRevoked)
	}
	sameTime(t, "revoke event At", evs[0].At, at)
	seq = evs[0].Seq

	// Idempotent: no error, the first revocation time stays, no new event.
	must(t, s.RevokeAPIKey(ctx, a.m.ID, k.ID, at.Add(time.Hour)))
	got, err = s.APIKey(ctx, a.m.ID, k.ID)
	must(t, err)
	samePtrTime(t, "RevokedAt after second revoke", got.RevokedAt, &at)
	wantEvents(t, s, seq)

	err = s.RevokeAPIKey(ctx, a.m.ID, "key_nope", at)
	wantKind(t, "RevokeAPIKey(unknown)", err, jeton.KindNotFound, "")
	wantEvents(t, s, seq)
}

func testTouchAPIKeys(t *testing.T, s jeton.Store) {
	ctx := ctxT(t)
	a := create(t, s, base)
	k1 := a.nm.Key
	k2 := newKey(a.m.ID, base)
	must(t, s.CreateAPIKey(ctx, k2))
	seq := lastEvent(t, s)

	must(t, s.TouchAPIKeys(ctx, nil))
	must(t, s.TouchAPIKeys(ctx, map[string]time.Time{}))

	lastUsed := func(id string) *time.Time {
		t.Helper()
		k, err := s.APIKey(ctx, a.m.ID, id)
		must(t, err)
		return k.LastUsedAt
	}
	if lu := lastUsed(k1.ID); lu != nil {
		t.Fatalf("fresh key LastUsedAt = %v", *lu)
	}

	t1, t2 := base.Add(time.Minute+123*time.Nanosecond), base.Add(2*time.Minute)
	must(t, s.TouchAPIKeys(ctx, map[string]time.Time{k1.ID: t1, k2.ID: t2, "key_unknown": t2}))
	samePtrTime(t, "k1 LastUsedAt", lastUsed(k1.ID), &t1)
	samePtrTime(t, "k2 LastUsedAt", lastUsed(k2.ID), &t2)

	// Never backwards: an older (or equal) time is ignored, a newer wins.
	must(t, s.TouchAPIKeys(ctx, map[string]time.Time{k1.ID: base, k2.ID: t1}))
	samePtrTime(t, "k1 after older touch", lastUsed(k1.ID), &t1)
	samePtrTime(t, "k2 after older touch", lastUsed(k2.ID), &t2)
	t3 := t2.Add(time.Microsecond)
	must(t, s.TouchAPIKeys(ctx, map[string]time.Time{k1.ID: t3}))
	samePtrTime(t, "k1 after newer touch", lastUsed(k1.ID), &t3)
	samePtrTime(t, "k2 untouched", lastUsed(k2.ID), &t2)

	wantEvents(t, s, seq) // usage is not a credential change
}

func testSecrets(t *testing.T, s jeton.Store) {
	ctx := ctxT(t)
	a := create(t, s, base)
	s0 := a.nm.Secret
	seq := lastEvent(t, s)

	secrets := func(at time.Time) []jeton.Secret {
		t.Helper()
		secs, err := s.Secrets(ctx, a.m.ID, at)
		must(t, err)
		return secs
	}
	if got := secrets(base); len(got) != 1 {
		t.Fatalf("Secrets = %v, want [%s]", secretIDs(got), s0.ID)
	} else {
		checkSecret(t, got[0], s0)
	}

	// First rotation: s1 current, s0 in grace until r1.
	now1 := base.Add(time.Hour)
	r1 := now1.Add(24 * time.Hour)
	s1 := newSecret(a.m.ID, now1)
	must(t, s.RotateSecret(ctx, a.m.ID, s1, r1, now1))
	got := secrets(now1)
	if !slices.Equal(secretIDs(got), []string{s1.ID, s0.ID}) {
		t.Fatalf("Secrets after rotation = %v, want [%s %s] (current first)", secretIDs(got), s1.ID, s0.ID)
	}
	checkSecret(t, got[0], s1)
	s0.RetiresAt = &r1
	checkSecret(t, got[1], s0)
	if got := secrets(r1.Add(-time.Microsecond)); len(got) != 2 {
		t.Errorf("Secrets just before retirement = %v, want 2", secretIDs(got))
	}
	if got := secrets(r1); !slices.Equal(secretIDs(got), []string{s1.ID}) {
		t.Errorf("Secrets at retirement = %v, want [%s]", secretIDs(got), s1.ID)
	}
	evs := events(t, s, seq)
	if len(evs) != 1 || evs[0].MerchantID != a.m.ID || evs[0].Kind != jeton.EventSecretRotated {
		t.Fatalf("events after secret rotation = %+v", evs)
	}
	sameTime(t, "secret event At", evs[0].At, now1)
	seq = evs[0].Seq

	// Second rotation inside the first grace: s0 retires now, s1 at r2.
	now2 := now1.Add(10 * time.Minute)
	r2 := now2.Add(time.Hour)
	s2 := newSecret(a.m.ID, now2)
	must(t, s.RotateSecret(ctx, a.m.ID, s2, r2, now2))
	if got := secrets(now2); !slices.Equal(secretIDs(got), []string{s2.ID, s1.ID}) {
		t.Errorf("Secrets after second rotation = %v, want [%s %s]", secretIDs(got), s2.ID, s1.ID)
	} else {
		s1.RetiresAt = &r2
		checkSecret(t, got[1], s1)
	}
	// s0 was retired at now2, not at its old r1.
	if got := secrets(now2.Add(-time.Microsecond)); !slices.Contains(secretIDs(got), s0.ID) {
		t.Errorf("Secrets just before second rotation = %v, want s0 still listed", secretIDs(got))
	}
	if got := secrets(now2.Add(time.Microsecond)); slices.Contains(secretIDs(got), s0.ID) {
		t.Errorf("Secrets after second rotation still list the oldest secret: %v", secretIDs(got))
	}
	if got := secrets(r2); !slices.Equal(secretIDs(got), []string{s2.ID}) {
		t.Errorf("Secrets after second grace = %v, want [%s]", secretIDs(got), s2.ID)
	}
	seq = wantEvents(t, s, seq, [2]string{a.m.ID, jeton.EventSecretRotated})

	// Grace 0 (prevRetiresAt == now): only the new secret from now on.
	now3 := r2.Add(time.Hour)
	s3 := newSecret(a.m.ID, now3)
	must(t, s.RotateSecret(ctx, a.m.ID, s3, now3, now3))
	if got := secrets(now3); !slices.Equal(secretIDs(got), []string{s3.ID}) {
		t.Errorf("Secrets after rotation without grace = %v, want [%s]", secretIDs(got), s3.ID)
	}
	seq = wantEvents(t, s, seq, [2]string{a.m.ID, jeton.EventSecretRotated})

	// Unknown merchant: not found, nothing stored, no event.
	sx := newSecret("nope", now3)
	err := s.RotateSecret(ctx, "nope", sx, now3, now3)
	wantKind(t, "RotateSecret(unknown)", err, jeton.KindNotFound, "")
	if secs, err := s.Secrets(ctx, "nope", now3); err != nil || len(secs) != 0 {
		t.Errorf("Secrets(unknown) = %v, %v", secretIDs(secs), err)
	}
	wantEvents(t, s, seq)
}

func testProviders(t *testing.T, s jeton.Store) {
	ctx := ctxT(t)
	a := create(t, s, base)

	p := newProvider(a.m.ID, base.Add(time.Minute))
	p.RevokedAt = ptr(base.Add(time.Hour))
	must(t, s.CreateProvider(ctx, p))
	got, err := s.Provider(ctx, a.m.ID, p.ID)
	must(t, err)
	checkProvider(t, got, p)
	got, err = s.Provider(ctx, a.m.ID, a.nm.Provider.ID)
	must(t, err)
	checkProvider(t, got, *a.nm.Provider)

	_, err = s.Provider(ctx, a.m.ID, "prov_nope")
	wantKind(t, "Provider(unknown)", err, jeton.KindNotFound, "")

	dup := newProvider(a.m.ID, base)
	dup.ID = p.ID
	wantErr(t, "CreateProvider(duplicate id)", s.CreateProvider(ctx, dup))
	got, err = s.Provider(ctx, a.m.ID, p.ID)
	must(t, err)
	checkProvider(t, got, p) // unchanged
	wantErr(t, "CreateProvider(unknown merchant)", s.CreateProvider(ctx, newProvider("nope", base)))
}

func testUpsertClients(t *testing.T, s jeton.Store) {
	ctx := ctxT(t)
	a := create(t, s, base)
	b := create(t, s, base)
	seq := lastEvent(t, s)

	_, err := s.Client(ctx, a.m.ID, "76561198000000000")
	wantKind(t, "Client(unknown)", err, jeton.KindNotFound, "")
	must(t, s.UpsertClients(ctx, nil))

	// Exact JSON text: odd spacing, key order, escapes, big numbers.
	data1 := json.RawMessage(`{ "z":1,"a" : [1, 2.50, 1e3, 123456789012345678901234567890], "u":"\u00e9\n", "n":null }`)
	data2 := json.RawMessage("{\"tier\":\"gold\",  \"emoji\":\"🎮\"}")
	steam := "76561198000000001"

	// Insert then update of the same (merchant, steamID) in one batch; the
	// same steamID for another merchant is another client.
	must(t, s.UpsertClients(ctx, []jeton.Client{
		{MerchantID: a.m.ID, SteamID: steam, TradeURL: "https://steamcommunity.com/tradeoffer/new/?partner=1&token=a", ClientID: "c1", ClientData: data1, UpdatedAt: base},
		{MerchantID: b.m.ID, SteamID: steam, TradeURL: "tb", ClientID: "cb", ClientData: data2, UpdatedAt: base},
		{MerchantID: a.m.ID, SteamID: steam, TradeURL: "https://steamcommunity.com/tradeoffer/new/?partner=1&token=b", ClientID: "c2", ClientData: data2, UpdatedAt: base.Add(time.Second)},
	}))
	check := func(merchantID string, want jeton.Client) {
		t.Helper()
		got, err := s.Client(ctx, merchantID, want.SteamID)
		must(t, err)
		if got.MerchantID != merchantID || got.SteamID != want.SteamID || got.TradeURL != want.TradeURL || got.ClientID != want.ClientID {
			t.Errorf("client = %+v, want %+v", got, want)
		}
		if !bytes.Equal(got.ClientData, want.ClientData) {
			t.Errorf("clientData = %s, want byte-for-byte %s", got.ClientData, want.ClientData)
		}
		sameTime(t, "client.UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	}
	check(a.m.ID, jeton.Client{SteamID: steam, TradeURL: "https://steamcommunity.com/tradeoffer/new/?partner=1&token=b", ClientID: "c2", ClientData: data2, UpdatedAt: base.Add(time.Second)})
	check(b.m.ID, jeton.Client{SteamID: steam, TradeURL: "tb", ClientID: "cb", ClientData: data2, UpdatedAt: base})

	// Across batches: a later batch updates.
	must(t, s.UpsertClients(ctx, []jeton.Client{
		{MerchantID: a.m.ID, SteamID: steam, TradeURL: "t3", ClientID: "c3", ClientData: data1, UpdatedAt: base.Add(time.Minute)},
	}))
	check(a.m.ID, jeton.Client{SteamID: steam, TradeURL: "t3", ClientID: "c3", ClientData: data1, UpdatedAt: base.Add(time.Minute)})
	check(b.m.ID, jeton.Client{SteamID: steam, TradeURL: "tb", ClientID: "cb", ClientData: data2, UpdatedAt: base})

	// No client data: what comes back is still JSON.
	must(t, s.UpsertClients(ctx, []jeton.Client{{MerchantID: a.m.ID, SteamID: "s-empty", TradeURL: "t", UpdatedAt: base}}))
	got, err := s.Client(ctx, a.m.ID, "s-empty")
	must(t, err)
	if len(got.ClientData) > 0 && !json.Valid(got.ClientData) {
		t.Errorf("empty clientData came back as %q", got.ClientData)
	}

	// One transaction: a failing client (unknown merchant) fails the batch
	// and none of it is stored.
	err = s.UpsertClients(ctx, []jeton.Client{
		{MerchantID: a.m.ID, SteamID: "s-new", TradeURL: "t", ClientData: data1, UpdatedAt: base},
		{MerchantID: a.m.ID, SteamID: steam, TradeURL: "t4", ClientID: "c4", ClientData: data2, UpdatedAt: base.Add(time.Hour)},
		{MerchantID: "nope", SteamID: steam, TradeURL: "t", ClientData: data1, UpdatedAt: base},
	})
	wantErr(t, "UpsertClients(unknown merchant)", err)
	_, err = s.Client(ctx, a.m.ID, "s-new")
	wantKind(t, "client of failed batch", err, jeton.KindNotFound, "")
	check(a.m.ID, jeton.Client{SteamID: steam, TradeURL: "t3", ClientID: "c3", ClientData: data1, UpdatedAt: base.Add(time.Minute)})

	wantEvents(t, s, seq)
}

func testTokenRevocations(t *testing.T, s jeton.Store) {
	ctx := ctxT(t)
	a := create(t, s, base)
	b := create(t, s, base)
	seq := lastEvent(t, s)

	revs := func(merchantID string) map[string]time.Time {
		t.Helper()
		rs, err := s.TokenRevocations(ctx, merchantID)
		must(t, err)
		out := map[string]time.Time{}
		for _, r := range rs {
			if r.MerchantID != merchantID {
				t.Errorf("revocation of %s listed for %s", r.MerchantID, merchantID)
			}
			if r.RevokedBefore.Location() != time.UTC {
				t.Errorf("RevokedBefore not UTC: %v", r.RevokedBefore)
			}
			out[string(r.Kind)+":"+r.Subject] = r.RevokedBefore
		}
		return out
	}
	if got := revs(a.m.ID); len(got) != 0 {
		t.Fatalf("fresh merchant revocations = %v", got)
	}

	t1 := base.Add(time.Hour).Truncate(time.Second)
	t0, t2 := t1.Add(-time.Minute), t1.Add(time.Minute)
	rev := func(m string, k jeton.SubjectKind, subj string, at time.Time) {
		t.Helper()
		must(t, s.RevokeTokens(ctx, jeton.TokenRevocation{MerchantID: m, Kind: k, Subject: subj, RevokedBefore: at}))
	}
	rev(a.m.ID, jeton.SubjectSteamID, "765", t1)
	rev(a.m.ID, jeton.SubjectClientID, "765", t0) // same subject, other kind
	rev(a.m.ID, jeton.SubjectExternalUserID, "ext-1", t1)
	rev(b.m.ID, jeton.SubjectSteamID, "765", t2)
	seq = wantEvents(t, s, seq,
		[2]string{a.m.ID, jeton.EventTokensRevoked}, [2]string{a.m.ID, jeton.EventTokensRevoked},
		[2]string{a.m.ID, jeton.EventTokensRevoked}, [2]string{b.m.ID, jeton.EventTokensRevoked})

	want := map[string]time.Time{"steam:765": t1, "client:765": t0, "external:ext-1": t1}
	check := func(m string, want map[string]time.Time) {
		t.Helper()
		got := revs(m)
		if len(got) != len(want) {
			t.Errorf("revocations of %s = %v, want %v", m, got, want)
		}
		for k, w := range want {
			if g, ok := got[k]; !ok || !g.Equal(w.UTC()) {
				t.Errorf("revocation %s of %s = %v, want %v", k, m, g, w.UTC())
			}
		}
	}
	check(a.m.ID, want)
	check(b.m.ID, map[string]time.Time{"steam:765": t2})

	// An older cut-off never overwrites a newer one; a newer one wins.
	rev(a.m.ID, jeton.SubjectSteamID, "765", t0)
	check(a.m.ID, want)
	rev(a.m.ID, jeton.SubjectSteamID, "765", t2)
	want["steam:765"] = t2
	check(a.m.ID, want)
	check(b.m.ID, map[string]time.Time{"steam:765": t2})
	if n := len(events(t, s, seq)); n < 1 {
		t.Errorf("effective revocation appended no event")
	}
}

func testCredentialEvents(t *testing.T, s jeton.Store) {
	ctx := ctxT(t)
	if n := lastEvent(t, s); n != 0 {
		t.Errorf("LastCredentialEvent on empty store = %d, want 0", n)
	}
	if evs := events(t, s, 0); len(evs) != 0 {
		t.Errorf("CredentialEvents on empty store = %+v", evs)
	}
	a := create(t, s, base)
	b := create(t, s, base)
	start := lastEvent(t, s)

	// One event per credential-changing method, in order.
	type want struct{ merchant, kind string }
	var wants []want
	k2 := newKey(a.m.ID, base.Add(time.Minute))
	must(t, s.RotateAPIKey(ctx, a.m.ID, a.nm.Key.ID, base.Add(time.Hour), k2))
	wants = append(wants, want{a.m.ID, jeton.EventKeyRotated})
	must(t, s.RevokeAPIKey(ctx, b.m.ID, b.nm.Key.ID, base.Add(2*time.Minute)))
	wants = append(wants, want{b.m.ID, jeton.EventKeyRevoked})
	must(t, s.RotateSecret(ctx, a.m.ID, newSecret(a.m.ID, base.Add(3*time.Minute)), base.Add(time.Hour), base.Add(3*time.Minute)))
	wants = append(wants, want{a.m.ID, jeton.EventSecretRotated})
	must(t, s.RevokeTokens(ctx, jeton.TokenRevocation{MerchantID: b.m.ID, Kind: jeton.SubjectSteamID, Subject: "1", RevokedBefore: base.Add(4 * time.Minute).Truncate(time.Second)}))
	wants = append(wants, want{b.m.ID, jeton.EventTokensRevoked})
	must(t, s.SetMaxTokenLifetime(ctx, a.m.ID, time.Hour))
	wants = append(wants, want{a.m.ID, jeton.EventMerchantUpdate})
	for i := 0; i < 4; i++ {
		must(t, s.RevokeTokens(ctx, jeton.TokenRevocation{MerchantID: a.m.ID, Kind: jeton.SubjectClientID, Subject: fmt.Sprint(i), RevokedBefore: base.Truncate(time.Second)}))
		wants = append(wants, want{a.m.ID, jeton.EventTokensRevoked})
	}

	all := events(t, s, start)
	if len(all) != len(wants) {
		t.Fatalf("got %d events, want %d: %+v", len(all), len(wants), all)
	}
	for i, e := range all {
		if e.MerchantID != wants[i].merchant || e.Kind != wants[i].kind {
			t.Errorf("event %d = %s %s, want %s %s", i, e.MerchantID, e.Kind, wants[i].merchant, wants[i].kind)
		}
		if e.Seq <= start || (i > 0 && e.Seq <= all[i-1].Seq) {
			t.Errorf("event seqs not increasing after %d: %d", start, e.Seq)
		}
		if e.At.Location() != time.UTC {
			t.Errorf("event At not UTC: %v", e.At)
		}
	}
	sameTime(t, "key.revoked At", all[1].At, base.Add(2*time.Minute))
	if n := lastEvent(t, s); n != all[len(all)-1].Seq {
		t.Errorf("LastCredentialEvent = %d, want %d", n, all[len(all)-1].Seq)
	}

	// Paging with limit: pages join up to the full list, none repeated.
	for _, limit := range []int{1, 2, 3, len(all), len(all) + 5} {
		var paged []jeton.CredentialEvent
		after := start
		for pages := 0; ; pages++ {
			if pages > len(all)+1 {
				t.Fatalf("limit %d: paging does not end", limit)
			}
			evs, err := s.CredentialEvents(ctx, after, limit)
			must(t, err)
			if len(evs) > limit {
				t.Fatalf("limit %d: got %d events", limit, len(evs))
			}
			if len(evs) == 0 {
				break
			}
			paged = append(paged, evs...)
			after = evs[len(evs)-1].Seq
		}
		if !slices.EqualFunc(paged, all, func(x, y jeton.CredentialEvent) bool {
			return x.Seq == y.Seq && x.MerchantID == y.MerchantID && x.Kind == y.Kind && x.At.Equal(y.At)
		}) {
			t.Errorf("limit %d: paged events differ from the full list", limit)
		}
	}
	// after is exclusive.
	evs, err := s.CredentialEvents(ctx, all[2].Seq, 2)
	must(t, err)
	if len(evs) != 2 || evs[0].Seq != all[3].Seq || evs[1].Seq != all[4].Seq {
		t.Errorf("CredentialEvents(after=%d, 2) = %+v, want events 3 and 4", all[2].Seq, evs)
	}
	if evs := events(t, s, all[len(all)-1].Seq); len(evs) != 0 {
		t.Errorf("events after the last = %+v", evs)
	}
}

func testSagaStores(t *testing.T, s jeton.Store) {
	ctx := ctxT(t)
	a := create(t, s, base)
	b := create(t, s, base)

	list, total, err := s.SagaStores(ctx, a.m.ID, 1, 10)
	must(t, err)
	if len(list) != 0 || total != 0 {
		t.Errorf("empty SagaStores = %d stores, total %d", len(list), total)
	}
	_, err = s.SagaStore(ctx, a.m.ID, "nope")
	wantKind(t, "SagaStore(unknown)", err, jeton.KindNotFound, jeton.KeyStoreNotFound)

	mk := func(m string, i int, created time.Time) jeton.SagaStore {
		return jeton.SagaStore{
			ID: jeton.NewID(), MerchantID: m, Name: fmt.Sprintf("Store %d", i), Email: fmt.Sprintf("s%d@example.com", i),
			Phone:       json.RawMessage(fmt.Sprintf(`{"countryCode":"+90","number":"555%04d"}`, i)),
			Address:     json.RawMessage(`{"city":"İstanbul", "lines":["a","b"]}`),
			AcquirerMID: fmt.Sprintf("mid-%d", i),
			OnlineInfo:  json.RawMessage(`{"url":"https://shop.example/?a=1&b=2"}`),
			Status:      "ACTIVE", CreatedAt: created,
		}
	}
	// Five stores of a, inserted out of creation order; one of b.
	var stores []jeton.SagaStore
	for i := 0; i < 5; i++ {
		stores = append(stores, mk(a.m.ID, i, base.Add(time.Duration(i)*time.Minute)))
	}
	stores[2].OnlineInfo = nil // optional JSON
	for _, i := range []int{3, 0, 4, 2, 1} {
		must(t, s.CreateSagaStore(ctx, stores[i]))
	}
	other := mk(b.m.ID, 9, base.Add(time.Hour))
	must(t, s.CreateSagaStore(ctx, other))

	checkStore := func(got, want jeton.SagaStore) {
		t.Helper()
		if got.ID != want.ID || got.MerchantID != want.MerchantID || got.Name != want.Name || got.Email != want.Email ||
			got.AcquirerMID != want.AcquirerMID || got.Status != want.Status ||
			!bytes.Equal(got.Phone, want.Phone) || !bytes.Equal(got.Address, want.Address) {
			t.Errorf("store = %+v, want %+v", got, want)
		}
		if want.OnlineInfo != nil && !bytes.Equal(got.OnlineInfo, want.OnlineInfo) {
			t.Errorf("store onlineInfo = %s, want %s", got.OnlineInfo, want.OnlineInfo)
		}
		if want.OnlineInfo == nil && len(got.OnlineInfo) > 0 && string(got.OnlineInfo) != "null" {
			t.Errorf("absent onlineInfo came back as %s", got.OnlineInfo)
		}
		sameTime(t, "store.CreatedAt", got.CreatedAt, want.CreatedAt)
	}
	for _, st := range stores {
		got, err := s.SagaStore(ctx, a.m.ID, st.ID)
		must(t, err)
		checkStore(got, st)
	}

	// Newest first, two per page, with the total.
	newest := []jeton.SagaStore{stores[4], stores[3], stores[2], stores[1], stores[0]}
	for page, want := range [][]jeton.SagaStore{newest[0:2], newest[2:4], newest[4:5], {}} {
		got, total, err := s.SagaStores(ctx, a.m.ID, page+1, 2)
		must(t, err)
		if total != 5 {
			t.Errorf("page %d: total = %d, want 5", page+1, total)
		}
		if len(got) != len(want) {
			t.Errorf("page %d: %d stores, want %d", page+1, len(got), len(want))
			continue
		}
		for i := range want {
			checkStore(got[i], want[i])
		}
	}
	// Page 0 is page 1.
	got, _, err := s.SagaStores(ctx, a.m.ID, 0, 2)
	must(t, err)
	if len(got) != 2 || got[0].ID != newest[0].ID {
		t.Errorf("page 0 = %d stores, want page 1", len(got))
	}
	got, total, err = s.SagaStores(ctx, b.m.ID, 1, 10)
	must(t, err)
	if total != 1 || len(got) != 1 || got[0].ID != other.ID {
		t.Errorf("b's stores = %d (total %d), want only its own", len(got), total)
	}

	dup := mk(a.m.ID, 7, base)
	dup.ID = stores[0].ID
	wantErr(t, "CreateSagaStore(duplicate id)", s.CreateSagaStore(ctx, dup))
	wantErr(t, "CreateSagaStore(unknown merchant)", s.CreateSagaStore(ctx, mk("nope", 8, base)))
	if _, total, _ := s.SagaStores(ctx, a.m.ID, 1, 1); total != 5 {
		t.Errorf("total after failed inserts = %d, want 5", total)
	}
}

func testIsolation(t *testing.T, s jeton.Store) {
	ctx := ctxT(t)
	a := create(t, s, base)
	b := create(t, s, base)
	st := jeton.SagaStore{ID: jeton.NewID(), MerchantID: a.m.ID, Name: "A", Phone: json.RawMessage(`{}`), Address: json.RawMessage(`{}`), Status: "ACTIVE", CreatedAt: base}
	must(t, s.CreateSagaStore(ctx, st))
	must(t, s.UpsertClients(ctx, []jeton.Client{{MerchantID: a.m.ID, SteamID: "765a", TradeURL: "t", ClientData: json.RawMessage(`{}`), UpdatedAt: base}}))
	must(t, s.RevokeTokens(ctx, jeton.TokenRevocation{MerchantID: a.m.ID, Kind: jeton.SubjectSteamID, Subject: "765a", RevokedBefore: base.Truncate(time.Second)}))
	seq := lastEvent(t, s)

	_, err := s.APIKey(ctx, b.m.ID, a.nm.Key.ID)
	wantKind(t, "B reads A's key", err, jeton.KindNotFound, "")
	_, err = s.SagaStore(ctx, b.m.ID, st.ID)
	wantKind(t, "B reads A's store", err, jeton.KindNotFound, "")
	_, err = s.Provider(ctx, b.m.ID, a.nm.Provider.ID)
	wantKind(t, "B reads A's provider", err, jeton.KindNotFound, "")
	_, err = s.Client(ctx, b.m.ID, "765a")
	wantKind(t, "B reads A's client", err, jeton.KindNotFound, "")

	// B cannot change A's key either.
	err = s.RevokeAPIKey(ctx, b.m.ID, a.nm.Key.ID, base)
	wantKind(t, "B revokes A's key", err, jeton.KindNotFound, "")
	err = s.RotateAPIKey(ctx, b.m.ID, a.nm.Key.ID, base, newKey(b.m.ID, base))
	wantKind(t, "B rotates A's key", err, jeton.KindNotFound, "")
	k, err := s.APIKey(ctx, a.m.ID, a.nm.Key.ID)
	must(t, err)
	checkKey(t, k, a.nm.Key) // neither revoked nor expiring
	wantEvents(t, s, seq)

	// Lists hold only the merchant's own rows.
	ks, err := s.APIKeys(ctx, b.m.ID)
	must(t, err)
	if !slices.Equal(keyIDs(ks), []string{b.nm.Key.ID}) {
		t.Errorf("B's keys = %v", keyIDs(ks))
	}
	secs, err := s.Secrets(ctx, b.m.ID, base)
	must(t, err)
	if !slices.Equal(secretIDs(secs), []string{b.nm.Secret.ID}) {
		t.Errorf("B's secrets = %v", secretIDs(secs))
	}
	revs, err := s.TokenRevocations(ctx, b.m.ID)
	must(t, err)
	if len(revs) != 0 {
		t.Errorf("B's revocations = %+v", revs)
	}
	stores, total, err := s.SagaStores(ctx, b.m.ID, 1, 10)
	must(t, err)
	if len(stores) != 0 || total != 0 {
		t.Errorf("B's stores = %d (total %d)", len(stores), total)
	}
}

// testConcurrentWrites runs writers and readers at once: every write
// lands exactly once (SQLite must queue writers rather than fail).
func testConcurrentWrites(t *testing.T, s jeton.Store) {
	ctx := ctxT(t)
	a := create(t, s, base)
	const workers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*3)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				k := newKey(a.m.ID, base.Add(time.Duration(w*each+i)*time.Millisecond))
				if err := s.CreateAPIKey(ctx, k); err != nil {
					errs <- fmt.Errorf("CreateAPIKey: %w", err)
				}
				if err := s.RevokeTokens(ctx, jeton.TokenRevocation{MerchantID: a.m.ID, Kind: jeton.SubjectSteamID, Subject: fmt.Sprint(w), RevokedBefore: base.Add(time.Duration(i) * time.Second)}); err != nil {
					errs <- fmt.Errorf("RevokeTokens: %w", err)
				}
				if _, err := s.APIKeyByHash(ctx, k.Hash); err != nil {
					errs <- fmt.Errorf("APIKeyByHash: %w", err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	ks, err := s.APIKeys(ctx, a.m.ID)
	must(t, err)
	if len(ks) != 1+workers*each {
		t.Errorf("keys = %d, want %d", len(ks), 1+workers*each)
	}
	var seqs []int64
	for _, e := range events(t, s, 0) {
		if e.Kind == jeton.EventTokensRevoked {
			seqs = append(seqs, e.Seq)
		}
	}
	if len(seqs) != workers*each {
		t.Errorf("%s events = %d, want %d", jeton.EventTokensRevoked, len(seqs), workers*each)
	}
	if !sort.SliceIsSorted(seqs, func(i, j int) bool { return seqs[i] < seqs[j] }) || len(slices.Compact(slices.Clone(seqs))) != len(seqs) {
		t.Errorf("event seqs not strictly increasing: %v", seqs)
	}
	revs, err := s.TokenRevocations(ctx, a.m.ID)
	must(t, err)
	if len(revs) != workers {
		t.Errorf("revocations = %d, want %d", len(revs), workers)
	}
	for _, r := range revs {
		if !r.RevokedBefore.Equal(base.Add((each - 1) * time.Second).Truncate(time.Second)) {
			t.Errorf("revocation %s = %v, want the latest cut-off", r.Subject, r.RevokedBefore)
		}
	}
}

// testConcurrentOverlapping runs two writers over the same rows in
// opposite orders, as two instances flushing key usage or client batches
// do. Neither may fail.
//
// Regression: PostgreSQL once deadlocked here (SQLSTATE 40P01) because
// rows were locked in map or batch order; the store now locks them in key
// order.
func testConcurrentOverlapping(t *testing.T, s jeton.Store) {
	ctx := ctxT(t)
	a := create(t, s, base)
	var ids []string
	var clients []jeton.Client
	for i := 0; i < 10; i++ {
		k := newKey(a.m.ID, base)
		must(t, s.CreateAPIKey(ctx, k))
		ids = append(ids, k.ID)
		clients = append(clients, jeton.Client{MerchantID: a.m.ID, SteamID: fmt.Sprint(7656119800000 + i), TradeURL: "t", ClientData: json.RawMessage(`{}`), UpdatedAt: base})
	}
	reversed := slices.Clone(clients)
	slices.Reverse(reversed)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			batch := clients
			if w == 1 {
				batch = reversed
			}
			for i := 0; i < 20; i++ {
				used := map[string]time.Time{}
				for _, id := range ids {
					used[id] = base.Add(time.Duration(w*100+i) * time.Second)
				}
				if err := s.TouchAPIKeys(ctx, used); err != nil {
					errs <- fmt.Errorf("TouchAPIKeys: %w", err)
				}
				if err := s.UpsertClients(ctx, batch); err != nil {
					errs <- fmt.Errorf("UpsertClients: %w", err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	ks, err := s.APIKeys(ctx, a.m.ID)
	must(t, err)
	for _, k := range ks {
		if slices.Contains(ids, k.ID) && (k.LastUsedAt == nil || !k.LastUsedAt.Equal(stored(base.Add(119*time.Second)))) {
			t.Errorf("key %s LastUsedAt = %v, want the latest touch", k.ID, k.LastUsedAt)
		}
	}
}

func testPingClose(t *testing.T, s jeton.Store) {
	ctx := ctxT(t)
	must(t, s.Ping(ctx))
	must(t, s.Close())
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping after Close succeeded")
	}
}
