package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" driver
	"github.com/jetonhq/jeton"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// DB is a jeton.Store over database/sql. On SQLite, writes go through one
// connection (SQLite allows one writer) and reads through a separate pool;
// on PostgreSQL both are the same pool.
type DB struct {
	w, r *sql.DB
	d    dialect
	// q holds every query already rebound for the dialect.
	q map[string]string

	prepMu  sync.Mutex
	upserts map[int]*sql.Stmt // client upserts by row count

	// onCallbacks is told after a commit that stored due callbacks.
	onCallbacks atomic.Pointer[func([]string)]
	// multi holds multi-row statements by name and row count.
	multi sync.Map

	// SQLite: the connection and loop of WAL checkpoints.
	ck             *sql.DB
	ckStop, ckDone chan struct{}
	ckOnce         sync.Once
	ckWarned       bool // only checkpointLoop reads and writes it

	// group commits every write on SQLite; wallets commits the trade
	// changes that move a wallet on PostgreSQL (grouptx.go). Either may
	// be nil.
	group, wallets *committer

	// lazy (PostgreSQL) runs one-statement writes with
	// synchronous_commit off: they return before their WAL is flushed.
	// Only for writes a later, synchronous commit depends on, which
	// flushes the WAL up to and including them; should PostgreSQL crash
	// before that, the write is lost along with everything depending on
	// it, and it is made again (see lazyTx).
	lazy *sql.DB

	// bg (PostgreSQL) is a small pool for the engine's and the delivery
	// workers' statements (contexts marked jeton.Background). PostgreSQL
	// gives every busy connection an equal share of the CPU; kept to a
	// few connections, background work queues in jeton instead, and a
	// request's statement is not one among dozens of background ones.
	bg *sql.DB
}

// wr is the pool for ctx's writes outside a transaction, and rd for its
// reads: the background pool for background work.
func (db *DB) wr(ctx context.Context) *sql.DB {
	if db.bg != nil && jeton.IsBackground(ctx) {
		return db.bg
	}
	return db.w
}

func (db *DB) rd(ctx context.Context) *sql.DB {
	if db.bg != nil && jeton.IsBackground(ctx) {
		return db.bg
	}
	return db.r
}

// OnCallbacks sets f to be called after every commit that made callbacks
// due, with their delivery ids, so delivery claims them by id at once,
// without waiting for its next poll or scanning for them.
func (db *DB) OnCallbacks(f func(ids []string)) { db.onCallbacks.Store(&f) }

func (db *DB) callbacksDue(ids []string) {
	if f := db.onCallbacks.Load(); f != nil && len(ids) > 0 {
		(*f)(ids)
	}
}

// callbackIDs are the delivery ids of cs.
func callbackIDs(cs []jeton.Callback) []string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.DeliveryID
	}
	return ids
}

// SQLiteFile is the database file name inside the data directory.
const SQLiteFile = "jeton.db"

// OpenSQLite opens (creating if needed) the SQLite database in dir.
func OpenSQLite(dir string) (*DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: create data dir: %w", err)
	}
	path := filepath.Join(dir, SQLiteFile)
	return openSQLitePath(path)
}

func openSQLitePath(path string) (*DB, error) {
	pragmas := "_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_pragma=temp_store(MEMORY)"
	// The writer keeps a larger page cache (16 MB) than the readers.
	// checkpointLoop copies the WAL into the database from beside it; the
	// writer's own automatic checkpoint stays as the backstop that lets
	// the WAL restart from its beginning (SQLite only restarts it in a
	// writer, once every frame is copied), and finds little left to copy.
	wc, err := newCacheConnector("file:" + path + "?" + pragmas + "&_txlock=immediate&_pragma=cache_size(-16000)&_pragma=journal_size_limit(67108864)")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	w := sql.OpenDB(wc)
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	// Create the file (and WAL mode) through the writer before readers
	// open. Switching a fresh file to WAL takes a lock that busy_timeout
	// does not wait for, so a process starting at the same moment as
	// another retries for a while.
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := w.Ping()
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "SQLITE_BUSY") && !strings.Contains(err.Error(), "database is locked") || time.Now().After(deadline) {
			w.Close()
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	rc, err := newCacheConnector("file:" + path + "?" + pragmas + "&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	r := sql.OpenDB(rc)
	n := runtime.GOMAXPROCS(0) * 2
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	ck, err := sql.Open("sqlite", "file:"+path+"?"+pragmas)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	ck.SetMaxOpenConns(1)
	db := newDB(w, r, sqliteDialect{})
	db.ck, db.ckStop, db.ckDone = ck, make(chan struct{}), make(chan struct{})
	go db.checkpointLoop()
	db.group = db.newCommitter(nil)
	return db, nil
}

// checkpointLoop copies the WAL into the database file from a connection
// of its own, several times a second. A passive checkpoint runs beside
// the writer, so the automatic checkpoint inside the writer's commits
// (which stalls every transaction queued behind it) has little to copy.
func (db *DB) checkpointLoop() {
	defer close(db.ckDone)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-db.ckStop:
			return
		case <-t.C:
			if _, err := db.ck.Exec("PRAGMA wal_checkpoint(PASSIVE)"); err != nil && !db.ckWarned {
				db.ckWarned = true // once: the writer's own checkpoints still run
				slog.Warn("sqlite: background checkpoint", "err", err)
			}
		}
	}
}

// OpenPostgres connects to the PostgreSQL database at url.
func OpenPostgres(ctx context.Context, url string) (*DB, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db.SetMaxOpenConns(24)
	db.SetMaxIdleConns(24)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect: %w", redactURL(err, url))
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", redactURL(err, url))
	}
	cfg.RuntimeParams["synchronous_commit"] = "off"
	lazy := stdlib.OpenDB(*cfg)
	lazy.SetMaxOpenConns(4)
	lazy.SetMaxIdleConns(4)
	bg, err := sql.Open("pgx", url)
	if err != nil {
		db.Close()
		lazy.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	bg.SetMaxOpenConns(6)
	bg.SetMaxIdleConns(6)
	s := newDB(db, db, postgresDialect{})
	s.lazy, s.bg = lazy, bg
	s.wallets = s.newCommitter(func(ctx context.Context, tx *sql.Tx) error {
		return s.d.lockKey(ctx, tx, "jeton:wallet-groups")
	})
	return s, nil
}

// Open picks the backend: PostgreSQL when url is set, else SQLite in dir.
func Open(ctx context.Context, url, dir string) (*DB, error) {
	if url != "" {
		if !strings.HasPrefix(url, "postgres://") && !strings.HasPrefix(url, "postgresql://") {
			return nil, errors.New("database url must start with postgres:// or postgresql://")
		}
		return OpenPostgres(ctx, url)
	}
	return OpenSQLite(dir)
}

// redactURL keeps a connection string's password out of error messages.
func redactURL(err error, url string) error {
	msg := err.Error()
	if i := strings.Index(url, "://"); i >= 0 {
		if at := strings.LastIndex(url, "@"); at > i {
			creds := url[i+3 : at]
			if c := strings.Index(creds, ":"); c >= 0 && len(creds[c+1:]) > 0 {
				msg = strings.ReplaceAll(msg, creds[c+1:], "***")
			}
		}
	}
	return errors.New(msg)
}

func newDB(w, r *sql.DB, d dialect) *DB {
	db := &DB{w: w, r: r, d: d, q: map[string]string{}}
	for k, v := range queries {
		db.q[k] = d.rebind(v)
	}
	// Claims skip rows another instance is claiming (PostgreSQL).
	db.q["claimCallbacks"] = d.rebind(`UPDATE callbacks SET attempts = attempts + 1, next_at = ? WHERE delivery_id IN (SELECT delivery_id FROM callbacks WHERE next_at <= ? ORDER BY next_at LIMIT ?` +
		d.skipLocked() + `) RETURNING ` + callbackCols)
	return db
}

// Dialect names the backend: "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.d.name() }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.r.PingContext(ctx); err != nil {
		return err
	}
	return db.w.PingContext(ctx)
}

// Close closes both pools.
func (db *DB) Close() error {
	db.group.stop()
	db.wallets.stop()
	db.ckOnce.Do(func() {
		if db.ck != nil {
			close(db.ckStop)
			<-db.ckDone
			db.ck.Close()
		}
	})
	db.prepMu.Lock()
	for _, st := range db.upserts {
		st.Close()
	}
	db.prepMu.Unlock()
	err := db.w.Close()
	for _, p := range []*sql.DB{db.lazy, db.bg} {
		if p != nil {
			p.Close()
		}
	}
	if db.r != db.w {
		if e := db.r.Close(); err == nil {
			err = e
		}
	}
	return err
}

// inTx runs fn in a write transaction. fn must use the ctx it is given:
// on SQLite it may share its transaction with others (see grouptx.go),
// and that ctx does not end when the caller's does.
func (db *DB) inTx(ctx context.Context, fn func(context.Context, *sql.Tx) error) error {
	return db.viaTx(db.group, ctx, fn)
}

// viaTx runs fn in a group of c, or alone when c is nil or stopped.
func (db *DB) viaTx(c *committer, ctx context.Context, fn func(context.Context, *sql.Tx) error) error {
	if c != nil {
		if err, ok := c.tx(ctx, fn); ok {
			return err
		}
	}
	return db.plainTx(ctx, fn)
}

// walletTx runs a trade change that moves a wallet: grouped with others
// on PostgreSQL (one lock of the wallet row and one commit per group),
// as every write on SQLite.
func (db *DB) walletTx(ctx context.Context, fn func(context.Context, *sql.Tx) error) error {
	if db.wallets != nil {
		return db.viaTx(db.wallets, ctx, fn)
	}
	return db.inTx(ctx, fn)
}

// oneTx runs fn, whose writes are one statement, as a transaction: on
// PostgreSQL the statement is its own (no BEGIN and COMMIT round trips),
// on SQLite fn runs in a group like every write.
func (db *DB) oneTx(ctx context.Context, fn func(context.Context, queryer) error) error {
	if db.d.name() == "postgres" {
		return fn(ctx, db.wr(ctx))
	}
	return db.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error { return fn(ctx, tx) })
}

// lazyTx is oneTx for a write whose loss in a PostgreSQL crash is made
// good by doing it again: only later, synchronous writes refer to it (a
// sandbox offer, which its trade's ACTIVE names; the trade is sent
// again from PENDING if that was lost too).
func (db *DB) lazyTx(ctx context.Context, fn func(context.Context, queryer) error) error {
	if db.lazy != nil {
		return fn(ctx, db.lazy)
	}
	return db.oneTx(ctx, fn)
}

// plainTx runs fn in a transaction of its own.
func (db *DB) plainTx(ctx context.Context, fn func(context.Context, *sql.Tx) error) error {
	tx, err := db.wr(ctx).BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(ctx, tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
