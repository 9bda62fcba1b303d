package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/sqlstore"
	"github.com/jetonhq/jeton/sqlstore/sqltest"
	"github.com/jetonhq/jeton/sqlstore/storetest"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func skipWithoutPostgres(t *testing.T) {
	t.Helper()
	if os.Getenv(storetest.EnvDatabaseURL) == "" {
		t.Skip(storetest.EnvDatabaseURL + " not set: skipping PostgreSQL tests (e.g. " + storetest.EnvDatabaseURL + "=postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) jeton.Store {
		db := sqltest.SQLite(t, t.TempDir())
		if db.Dialect() != "sqlite" {
			t.Fatalf("Dialect = %q", db.Dialect())
		}
		return db
	})
}

func TestPostgres(t *testing.T) {
	skipWithoutPostgres(t)
	storetest.Run(t, func(t *testing.T) jeton.Store {
		db := sqltest.Postgres(t, storetest.PostgresURL(t))
		if db.Dialect() != "postgres" {
			t.Fatalf("Dialect = %q", db.Dialect())
		}
		return db
	})
}

// backend opens fresh databases of one kind: store handles, plus a raw
// database/sql handle for looking at the schema.
type backend struct {
	name string
	// fresh returns a new empty database's address (a dir or a URL).
	fresh func(t *testing.T) string
	// open opens a store (not migrated) on an address.
	open func(t *testing.T, addr string) (*sqlstore.DB, error)
	raw  func(t *testing.T, addr string) *sql.DB
}

func backends() []backend {
	bs := []backend{{
		name:  "sqlite",
		fresh: func(t *testing.T) string { return t.TempDir() },
		open:  func(t *testing.T, dir string) (*sqlstore.DB, error) { return sqlstore.OpenSQLite(dir) },
		raw: func(t *testing.T, dir string) *sql.DB {
			db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlstore.SQLiteFile)+"?_pragma=busy_timeout(10000)")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		},
	}}
	// PostgresURL skips the postgres subtests when the URL is not set.
	bs = append(bs, backend{
		name:  "postgres",
		fresh: func(t *testing.T) string { return storetest.PostgresURL(t) },
		open: func(t *testing.T, url string) (*sqlstore.DB, error) {
			return sqlstore.OpenPostgres(testCtx(t), url)
		},
		raw: func(t *testing.T, url string) *sql.DB {
			db, err := sql.Open("pgx", url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		},
	})
	return bs
}

func TestMigrateIdempotent(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			ctx := testCtx(t)
			addr := b.fresh(t)
			db, err := b.open(t, addr)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.Migrate(ctx); err != nil {
				t.Fatalf("first Migrate: %v", err)
			}
			v1, err := db.Version(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if v1 < 1 {
				t.Fatalf("Version after Migrate = %d", v1)
			}
			m := jeton.Merchant{ID: jeton.NewID(), PartnerID: "p", Name: "kept", MaxTokenLifetime: time.Hour, CreatedAt: time.Now()}
			if err := db.CreateMerchant(ctx, jeton.NewMerchant{Merchant: m,
				Key:    jeton.APIKey{ID: "k", MerchantID: m.ID, Hash: []byte{1}, Scopes: []jeton.Scope{jeton.ScopeAdmin}},
				Secret: jeton.Secret{ID: "s", MerchantID: m.ID, Sealed: []byte{2}}}); err != nil {
				t.Fatal(err)
			}

			if err := db.Migrate(ctx); err != nil {
				t.Fatalf("second Migrate: %v", err)
			}
			v2, err := db.Version(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if v2 != v1 {
				t.Errorf("Version after second Migrate = %d, want %d", v2, v1)
			}
			if _, err := db.Merchant(ctx, m.ID); err != nil {
				t.Errorf("data lost by second Migrate: %v", err)
			}
			var n int
			if err := b.raw(t, addr).QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != v1 {
				t.Errorf("schema_migrations has %d rows, want %d", n, v1)
			}

			// A handle opened later on the migrated database migrates too.
			db2, err := b.open(t, addr)
			if err != nil {
				t.Fatal(err)
			}
			defer db2.Close()
			if err := db2.Migrate(ctx); err != nil {
				t.Fatalf("Migrate from a second handle: %v", err)
			}
		})
	}
}

// TestMigrateConcurrent migrates one fresh database from two handles at
// once, as two instances starting together would.
func TestMigrateConcurrent(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			for round := 0; round < 5; round++ {
				ctx := testCtx(t)
				addr := b.fresh(t)
				// Two handles (two connection pools: on SQLite, two
				// writers), opened one after the other; see
				// TestSQLiteConcurrentOpen for opening at once.
				var dbs [2]*sqlstore.DB
				for i := range dbs {
					db, err := b.open(t, addr)
					if err != nil {
						t.Fatalf("open handle %d: %v", i, err)
					}
					defer db.Close()
					dbs[i] = db
				}
				var (
					wg   sync.WaitGroup
					errs [2]error
				)
				start := make(chan struct{})
				for i, db := range dbs {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						errs[i] = db.Migrate(ctx)
					}()
				}
				close(start)
				wg.Wait()
				for i, err := range errs {
					if err != nil {
						t.Fatalf("round %d, handle %d: %v", round, i, err)
					}
				}
				v0, err0 := dbs[0].Version(ctx)
				v1, err1 := dbs[1].Version(ctx)
				if err := errors.Join(err0, err1); err != nil {
					t.Fatal(err)
				}
				if v0 < 1 || v0 != v1 {
					t.Fatalf("round %d: versions %d and %d", round, v0, v1)
				}
				var n int
				if err := b.raw(t, addr).QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations").Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n != v0 {
					t.Fatalf("round %d: schema_migrations has %d rows, want %d", round, n, v0)
				}
				// Both handles work on the one schema.
				m := jeton.Merchant{ID: jeton.NewID(), PartnerID: "p", Name: "n", CreatedAt: time.Now()}
				if err := dbs[0].CreateMerchant(ctx, jeton.NewMerchant{Merchant: m,
					Key:    jeton.APIKey{ID: "k", MerchantID: m.ID, Hash: []byte{1}},
					Secret: jeton.Secret{ID: "s", MerchantID: m.ID, Sealed: []byte{2}}}); err != nil {
					t.Fatal(err)
				}
				if _, err := dbs[1].Merchant(ctx, m.ID); err != nil {
					t.Fatalf("round %d: second handle does not see the first's merchant: %v", round, err)
				}
			}
		})
	}
}

// TestSQLiteConcurrentOpen opens one brand-new SQLite file from two
// handles at once, as two processes starting together on an empty data
// directory would.
//
// Regression: switching a fresh file to WAL takes a lock busy_timeout does
// not wait for; openSQLitePath retries on SQLITE_BUSY.
func TestSQLiteConcurrentOpen(t *testing.T) {
	for round := 0; round < 100; round++ {
		dir := t.TempDir()
		var wg sync.WaitGroup
		errs := make([]error, 2)
		start := make(chan struct{})
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				db, err := sqlstore.OpenSQLite(dir)
				if err != nil {
					errs[i] = err
					return
				}
				errs[i] = errors.Join(db.Migrate(context.Background()), db.Close())
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, handle %d: %v", round, i, err)
			}
		}
	}
}

func TestSQLiteFileMode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "nested")
	db := sqltest.SQLite(t, dir)
	ctx := testCtx(t)
	m := jeton.Merchant{ID: jeton.NewID(), PartnerID: "p", Name: "n", CreatedAt: time.Now()}
	if err := db.CreateMerchant(ctx, jeton.NewMerchant{Merchant: m,
		Key:    jeton.APIKey{ID: "k", MerchantID: m.ID, Hash: []byte{1}},
		Secret: jeton.Secret{ID: "s", MerchantID: m.ID, Sealed: []byte{2}}}); err != nil {
		t.Fatal(err)
	}

	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("data dir mode = %o, want 700", got)
	}
	path := filepath.Join(dir, sqlstore.SQLiteFile)
	fi, err = os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("%s mode = %o, want 600", sqlstore.SQLiteFile, got)
	}
	// The WAL holds recent writes (sealed secrets, key hashes) until it is
	// checkpointed: it must be as private as the database.
	if fi, err := os.Stat(path + "-wal"); err != nil {
		t.Errorf("no WAL file after a write: %v", err)
	} else if got := fi.Mode().Perm(); got&0o077 != 0 {
		t.Errorf("%s-wal mode = %o, want no group/other access", sqlstore.SQLiteFile, got)
	}

	// Reopening an existing file keeps it private.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	db2, err := sqlstore.OpenSQLite(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	fi, err = os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("reopened %s mode = %o, want 600", sqlstore.SQLiteFile, got)
	}
}

func TestOpenRedactsPassword(t *testing.T) {
	const pw = "s3cr3t-Pa55word"
	urls := []string{
		// Nothing listens on port 1: connect fails.
		"postgres://jeton:" + pw + "@127.0.0.1:1/jeton?sslmode=disable&connect_timeout=5",
		"postgresql://jeton:" + pw + "@127.0.0.1:1/jeton?sslmode=disable&connect_timeout=5",
		// Unparseable port and option values.
		"postgres://jeton:" + pw + "@127.0.0.1:notaport/jeton",
		"postgres://jeton:" + pw + "@127.0.0.1:1/jeton?sslmode=bogus",
		"postgres://jeton:" + pw + "@127.0.0.1:1/jeton?connect_timeout=x",
	}
	for _, u := range urls {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		db, err := sqlstore.Open(ctx, u, t.TempDir())
		cancel()
		if err == nil {
			db.Close()
			t.Errorf("Open(%s) succeeded", strings.ReplaceAll(u, pw, "***"))
			continue
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("Open error reveals the password: %v", err)
		}
		// OpenPostgres directly too.
		ctx, cancel = context.WithTimeout(context.Background(), 20*time.Second)
		_, err = sqlstore.OpenPostgres(ctx, u)
		cancel()
		if err == nil || strings.Contains(err.Error(), pw) {
			t.Errorf("OpenPostgres error = %v, want an error without the password", err)
		}
	}
}

func TestOpenPicksBackend(t *testing.T) {
	ctx := testCtx(t)
	for _, u := range []string{"mysql://u:p@h/db", "host=localhost user=x", "sqlite:///tmp/x.db"} {
		db, err := sqlstore.Open(ctx, u, t.TempDir())
		if err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded, want an error", u)
		}
	}
	dir := t.TempDir()
	db, err := sqlstore.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.Dialect() != "sqlite" {
		t.Errorf("Open without url: dialect %q, want sqlite", db.Dialect())
	}
	if _, err := os.Stat(filepath.Join(dir, sqlstore.SQLiteFile)); err != nil {
		t.Errorf("Open without url did not create the SQLite file: %v", err)
	}
	if url := os.Getenv(storetest.EnvDatabaseURL); url != "" {
		db, err := sqlstore.Open(ctx, url, "")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if db.Dialect() != "postgres" {
			t.Errorf("Open with url: dialect %q, want postgres", db.Dialect())
		}
		if err := db.Ping(ctx); err != nil {
			t.Error(err)
		}
	}
}

// TestUpsertClientsOddBatch writes groups of every size from 1 to 70 (so
// each is split into power-of-two statements) with duplicates inside,
// on both backends, and reads every row back: last entry wins.
func TestUpsertClientsOddBatch(t *testing.T) {
	stores := map[string]func(t *testing.T) *sqlstore.DB{
		"sqlite": func(t *testing.T) *sqlstore.DB { return sqltest.SQLite(t, t.TempDir()) },
		"postgres": func(t *testing.T) *sqlstore.DB {
			return sqltest.Postgres(t, storetest.PostgresURL(t))
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			ctx := testCtx(t)
			m := jeton.Merchant{ID: "m-odd", PartnerID: "p", Name: "odd", MaxTokenLifetime: time.Hour, CreatedAt: time.Now()}
			err := db.CreateMerchant(ctx, jeton.NewMerchant{Merchant: m,
				Key:    jeton.APIKey{ID: "k-odd", MerchantID: m.ID, Hash: []byte{1, 2, 3}, Prefix: "ap_", Scopes: []jeton.Scope{jeton.ScopeCoreAccess}, CreatedAt: m.CreatedAt},
				Secret: jeton.Secret{ID: "s-odd", MerchantID: m.ID, Sealed: []byte{9}, CreatedAt: m.CreatedAt}})
			if err != nil {
				t.Fatal(err)
			}
			for size := 1; size <= 70; size++ {
				var batch []jeton.Client
				for i := 0; i < size; i++ {
					id := fmt.Sprintf("765611980000%05d", i%(size/2+1)) // about half are repeats
					batch = append(batch, jeton.Client{MerchantID: m.ID, SteamID: id, TradeURL: "t",
						ClientData: json.RawMessage(fmt.Sprintf(`{"size":%d,"i":%d}`, size, i)), UpdatedAt: time.Now()})
				}
				if err := db.UpsertClients(ctx, batch); err != nil {
					t.Fatalf("size %d: %v", size, err)
				}
				last := map[string]string{}
				for _, c := range batch {
					last[c.SteamID] = string(c.ClientData)
				}
				for id, want := range last {
					c, err := db.Client(ctx, m.ID, id)
					if err != nil || string(c.ClientData) != want {
						t.Fatalf("size %d, %s: got %s (%v), want %s", size, id, c.ClientData, err, want)
					}
				}
			}
		})
	}
}
