package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/sqlstore"
	"github.com/jetonhq/jeton/sqlstore/sqltest"
	"github.com/jetonhq/jeton/sqlstore/storetest"
)

// bothStores opens a fresh, migrated store of each backend; the
// PostgreSQL one skips when its URL is not set.
func bothStores() map[string]func(t *testing.T) *sqlstore.DB {
	return map[string]func(t *testing.T) *sqlstore.DB{
		"sqlite":   func(t *testing.T) *sqlstore.DB { return sqltest.SQLite(t, t.TempDir()) },
		"postgres": func(t *testing.T) *sqlstore.DB { return sqltest.Postgres(t, storetest.PostgresURL(t)) },
	}
}

// walletMerchant stores merchant "m-<name>" with a key, a secret and an
// open (empty) wallet.
func walletMerchant(t *testing.T, ctx context.Context, db *sqlstore.DB, name string, now time.Time) jeton.Merchant {
	t.Helper()
	m := jeton.Merchant{ID: "m-" + name, PartnerID: "p", Name: name, MaxTokenLifetime: time.Hour, CreatedAt: now}
	if err := db.CreateMerchant(ctx, jeton.NewMerchant{Merchant: m,
		Key:    jeton.APIKey{ID: "k-" + name, MerchantID: m.ID, Hash: []byte("hash-" + name), Prefix: "ap_", Scopes: []jeton.Scope{jeton.ScopeCoreAccess}, CreatedAt: now},
		Secret: jeton.Secret{ID: "s-" + name, MerchantID: m.ID, Sealed: []byte{9}, CreatedAt: now}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.OpenWallet(ctx, m.ID, nil); err != nil {
		t.Fatal(err)
	}
	return m
}
