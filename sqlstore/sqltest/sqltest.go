// Package sqltest opens real, migrated sqlstore databases for tests of
// the packages built on them. Imported by tests only.
package sqltest

import (
	"context"
	"testing"
	"time"

	"github.com/jetonhq/jeton/sqlstore"
)

// SQLite opens and migrates a SQLite store in dir, closed when t ends.
func SQLite(t testing.TB, dir string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.OpenSQLite(dir)
	if err != nil {
		t.Fatal(err)
	}
	return migrated(t, db)
}

// Postgres opens and migrates a PostgreSQL store on url (see
// storetest.PostgresURL for a schema of the test's own), closed when t ends.
func Postgres(t testing.TB, url string) *sqlstore.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db, err := sqlstore.OpenPostgres(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	return migrated(t, db)
}

func migrated(t testing.TB, db *sqlstore.DB) *sqlstore.DB {
	t.Helper()
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}
