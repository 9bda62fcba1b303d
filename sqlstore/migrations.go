package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// migration is one schema step. {{serial}} is replaced per dialect.
type migration struct {
	version int
	sql     string
}

// migrations are applied in order, each in its own transaction. Append only.
var migrations = []migration{
	{1, `
CREATE TABLE merchants (
	id TEXT PRIMARY KEY,
	partner_id TEXT NOT NULL,
	name TEXT NOT NULL,
	max_token_lifetime_s BIGINT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX merchants_partner ON merchants (partner_id);
CREATE TABLE api_keys (
	id TEXT PRIMARY KEY,
	merchant_id TEXT NOT NULL REFERENCES merchants (id),
	hash TEXT NOT NULL UNIQUE,
	prefix TEXT NOT NULL,
	scopes TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT,
	revoked_at BIGINT,
	last_used_at BIGINT
);
CREATE INDEX api_keys_merchant ON api_keys (merchant_id);
CREATE TABLE secrets (
	id TEXT PRIMARY KEY,
	merchant_id TEXT NOT NULL REFERENCES merchants (id),
	sealed TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	retires_at BIGINT
);
CREATE INDEX secrets_merchant ON secrets (merchant_id);
CREATE TABLE providers (
	id TEXT PRIMARY KEY,
	merchant_id TEXT NOT NULL REFERENCES merchants (id),
	cert_hash TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	revoked_at BIGINT
);
CREATE TABLE clients (
	merchant_id TEXT NOT NULL REFERENCES merchants (id),
	steam_id TEXT NOT NULL,
	trade_url TEXT NOT NULL,
	client_id TEXT NOT NULL,
	client_data TEXT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (merchant_id, steam_id)
);
CREATE TABLE token_revocations (
	merchant_id TEXT NOT NULL REFERENCES merchants (id),
	kind TEXT NOT NULL,
	subject TEXT NOT NULL,
	revoked_before BIGINT NOT NULL,
	PRIMARY KEY (merchant_id, kind, subject)
);
CREATE TABLE credential_events (
	seq {{serial}},
	merchant_id TEXT NOT NULL,
	kind TEXT NOT NULL,
	at BIGINT NOT NULL
);
CREATE TABLE saga_stores (
	id TEXT PRIMARY KEY,
	merchant_id TEXT NOT NULL REFERENCES merchants (id),
	name TEXT NOT NULL,
	email TEXT NOT NULL,
	phone TEXT NOT NULL,
	address TEXT NOT NULL,
	acquirer_mid TEXT NOT NULL,
	online_info TEXT NOT NULL,
	status TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX saga_stores_merchant ON saga_stores (merchant_id, created_at);
`},
	{2, `
ALTER TABLE merchants ADD COLUMN callback_url TEXT NOT NULL DEFAULT '';
ALTER TABLE merchants ADD COLUMN merchant_collateral BIGINT NOT NULL DEFAULT 0;
CREATE TABLE trades (
	id TEXT PRIMARY KEY,
	merchant_id TEXT NOT NULL REFERENCES merchants (id),
	type TEXT NOT NULL,
	source TEXT NOT NULL,
	status TEXT NOT NULL,
	game TEXT NOT NULL,
	client_user_id TEXT NOT NULL,
	steam_id TEXT NOT NULL,
	trade_url TEXT NOT NULL,
	items TEXT NOT NULL,
	total_price BIGINT NOT NULL,
	pre_credit BIGINT,
	pending_credit BIGINT,
	is_instant BIGINT,
	coll_merchant BIGINT,
	coll_provider BIGINT,
	external_id TEXT,
	external_client_user_id TEXT,
	offer_id TEXT,
	hold_end BIGINT,
	reverted_by TEXT,
	error TEXT,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	version BIGINT NOT NULL,
	next_check_at BIGINT,
	approval_attempts BIGINT NOT NULL,
	approval_lease BIGINT
);
CREATE UNIQUE INDEX trades_external ON trades (merchant_id, external_id);
CREATE INDEX trades_merchant ON trades (merchant_id, created_at);
CREATE INDEX trades_user ON trades (merchant_id, steam_id, created_at);
CREATE INDEX trades_due ON trades (next_check_at);
CREATE TABLE trade_events (
	trade_id TEXT NOT NULL REFERENCES trades (id),
	seq BIGINT NOT NULL,
	status TEXT NOT NULL,
	at BIGINT NOT NULL,
	PRIMARY KEY (trade_id, seq)
);
CREATE TABLE wallets (
	merchant_id TEXT PRIMARY KEY REFERENCES merchants (id),
	available BIGINT NOT NULL,
	pending BIGINT NOT NULL,
	escrow BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE TABLE ledger_postings (
	id TEXT PRIMARY KEY,
	merchant_id TEXT NOT NULL REFERENCES merchants (id),
	trade_id TEXT NOT NULL,
	type TEXT NOT NULL,
	memo TEXT NOT NULL,
	amount BIGINT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX ledger_postings_merchant ON ledger_postings (merchant_id, created_at);
CREATE TABLE ledger_entries (
	posting_id TEXT NOT NULL REFERENCES ledger_postings (id),
	account TEXT NOT NULL,
	merchant_id TEXT NOT NULL,
	amount BIGINT NOT NULL,
	PRIMARY KEY (posting_id, account)
);
CREATE TABLE sandbox_offers (
	id TEXT PRIMARY KEY,
	trade_id TEXT NOT NULL UNIQUE,
	game TEXT NOT NULL,
	direction TEXT NOT NULL,
	steam_id TEXT NOT NULL,
	trade_url TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	control TEXT NOT NULL,
	control_at BIGINT NOT NULL
);
CREATE TABLE sandbox_clock (
	id BIGINT PRIMARY KEY,
	offset_us BIGINT NOT NULL
);
CREATE TABLE callbacks (
	delivery_id TEXT PRIMARY KEY,
	merchant_id TEXT NOT NULL REFERENCES merchants (id),
	trade_id TEXT NOT NULL,
	kind TEXT NOT NULL,
	event TEXT NOT NULL,
	body TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	state TEXT NOT NULL,
	attempts BIGINT NOT NULL,
	last_at BIGINT
);
CREATE INDEX callbacks_merchant ON callbacks (merchant_id, created_at);
CREATE INDEX callbacks_trade ON callbacks (trade_id);
CREATE TABLE callback_attempts (
	seq {{serial}},
	delivery_id TEXT NOT NULL,
	merchant_id TEXT NOT NULL,
	trade_id TEXT NOT NULL,
	kind TEXT NOT NULL,
	event TEXT NOT NULL,
	attempt BIGINT NOT NULL,
	url TEXT NOT NULL,
	status_code BIGINT NOT NULL,
	latency_us BIGINT NOT NULL,
	outcome TEXT NOT NULL,
	error TEXT NOT NULL,
	at BIGINT NOT NULL
);
CREATE INDEX callback_attempts_merchant ON callback_attempts (merchant_id, seq);
CREATE INDEX callback_attempts_delivery ON callback_attempts (delivery_id);
`},
	// A user's deposits by status, for the history, exposure and held
	// items every new trade reads, whatever else the user traded.
	{3, `
CREATE INDEX trades_user_deposits ON trades (merchant_id, steam_id, type, status);
`},
	// The callbacks table becomes the delivery outbox: next_at is when a
	// pending callback is due (or leased until), last_attempt where its
	// retries stop. Callbacks still pending are due at once; a job an
	// earlier version left in River's tables is no longer worked.
	{4, `
ALTER TABLE callbacks ADD COLUMN next_at BIGINT;
ALTER TABLE callbacks ADD COLUMN last_attempt BIGINT NOT NULL DEFAULT 15;
UPDATE callbacks SET next_at = 0, last_attempt = attempts + 15 WHERE state = 'pending';
CREATE INDEX callbacks_due ON callbacks (next_at) WHERE next_at IS NOT NULL;
`},
	// SagaPay payments: terminals, orders, payments, transactions, tips
	// (adjustments) and webhook endpoints. Webhooks are delivered from
	// the callbacks outbox; target names the endpoint (or the order's
	// callBackUrl) a row goes to.
	{5, `
CREATE TABLE saga_terminals (
	id TEXT PRIMARY KEY,
	merchant_id TEXT NOT NULL REFERENCES merchants (id),
	store_id TEXT NOT NULL,
	name TEXT NOT NULL,
	type TEXT NOT NULL,
	serial TEXT NOT NULL UNIQUE,
	manual BIGINT NOT NULL,
	status TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX saga_terminals_store ON saga_terminals (merchant_id, store_id, created_at);
CREATE TABLE saga_orders (
	id TEXT PRIMARY KEY,
	merchant_id TEXT NOT NULL REFERENCES merchants (id),
	store_id TEXT NOT NULL,
	terminal_id TEXT NOT NULL,
	owner TEXT NOT NULL,
	type TEXT NOT NULL,
	purchase_order_id TEXT NOT NULL,
	reference_id TEXT NOT NULL,
	status TEXT NOT NULL,
	currency TEXT NOT NULL,
	amount BIGINT NOT NULL,
	tips BIGINT NOT NULL,
	paid BIGINT NOT NULL,
	refunded BIGINT NOT NULL,
	tips_mode TEXT NOT NULL,
	callback_url TEXT NOT NULL,
	doc TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	version BIGINT NOT NULL
);
CREATE INDEX saga_orders_merchant ON saga_orders (merchant_id, created_at);
CREATE TABLE saga_payments (
	id TEXT PRIMARY KEY,
	merchant_id TEXT NOT NULL REFERENCES merchants (id),
	order_id TEXT NOT NULL REFERENCES saga_orders (id),
	terminal_id TEXT NOT NULL,
	owner TEXT NOT NULL,
	method TEXT NOT NULL,
	amount BIGINT NOT NULL,
	tip BIGINT NOT NULL,
	status TEXT NOT NULL,
	step TEXT NOT NULL,
	failure_reason TEXT NOT NULL,
	card TEXT NOT NULL,
	transaction_id TEXT NOT NULL,
	void TEXT NOT NULL,
	capture TEXT NOT NULL,
	refund_reason TEXT NOT NULL,
	control TEXT NOT NULL,
	next_at BIGINT,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	version BIGINT NOT NULL
);
CREATE INDEX saga_payments_order ON saga_payments (order_id);
CREATE INDEX saga_payments_due ON saga_payments (next_at) WHERE next_at IS NOT NULL;
CREATE INDEX saga_payments_terminal ON saga_payments (terminal_id, status);
CREATE TABLE saga_transactions (
	id TEXT PRIMARY KEY,
	merchant_id TEXT NOT NULL REFERENCES merchants (id),
	store_id TEXT NOT NULL,
	terminal_id TEXT NOT NULL,
	order_id TEXT NOT NULL,
	payment_id TEXT NOT NULL UNIQUE,
	owner TEXT NOT NULL,
	reference_id TEXT NOT NULL,
	type TEXT NOT NULL,
	amount BIGINT NOT NULL,
	tip BIGINT NOT NULL,
	fee BIGINT NOT NULL,
	currency TEXT NOT NULL,
	method TEXT NOT NULL,
	card TEXT NOT NULL,
	rrn TEXT NOT NULL,
	voided BIGINT NOT NULL,
	receipt_key TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX saga_transactions_merchant ON saga_transactions (merchant_id, created_at);
CREATE INDEX saga_transactions_order ON saga_transactions (order_id);
CREATE UNIQUE INDEX saga_transactions_receipt ON saga_transactions (receipt_key);
CREATE TABLE saga_adjustments (
	id TEXT PRIMARY KEY,
	merchant_id TEXT NOT NULL REFERENCES merchants (id),
	order_id TEXT NOT NULL,
	payment_id TEXT NOT NULL,
	type TEXT NOT NULL,
	amount BIGINT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX saga_adjustments_order ON saga_adjustments (order_id);
CREATE TABLE saga_webhooks (
	id TEXT PRIMARY KEY,
	merchant_id TEXT NOT NULL REFERENCES merchants (id),
	name TEXT NOT NULL,
	url TEXT NOT NULL,
	events TEXT NOT NULL,
	sealed TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	deleted_at BIGINT
);
CREATE INDEX saga_webhooks_merchant ON saga_webhooks (merchant_id, created_at);
CREATE INDEX saga_orders_purchase ON saga_orders (purchase_order_id);
CREATE TABLE saga_settings (
	merchant_id TEXT NOT NULL REFERENCES merchants (id),
	kind TEXT NOT NULL,
	level TEXT NOT NULL,
	level_id TEXT NOT NULL,
	doc TEXT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (merchant_id, kind, level, level_id)
);
CREATE TABLE saga_outbox (
	id TEXT PRIMARY KEY,
	merchant_id TEXT NOT NULL REFERENCES merchants (id),
	kind TEXT NOT NULL,
	target TEXT NOT NULL,
	ref TEXT NOT NULL,
	body TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX saga_outbox_merchant ON saga_outbox (merchant_id, created_at);
ALTER TABLE callbacks ADD COLUMN target TEXT NOT NULL DEFAULT '';
`},
	{6, `
CREATE TABLE dashboard_users (
	id TEXT PRIMARY KEY,
	merchant_id TEXT NOT NULL REFERENCES merchants (id),
	email TEXT NOT NULL UNIQUE,
	role TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	setup_hash TEXT UNIQUE,
	setup_expires_at BIGINT,
	failed_logins INTEGER NOT NULL DEFAULT 0,
	locked_until BIGINT,
	created_at BIGINT NOT NULL,
	last_login_at BIGINT
);
CREATE INDEX dashboard_users_merchant ON dashboard_users (merchant_id);
CREATE TABLE dashboard_sessions (
	hash TEXT PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES dashboard_users (id),
	merchant_id TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX dashboard_sessions_user ON dashboard_sessions (user_id);
CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);
`},
	// The user's-deposits index holds deposits alone: every write of a
	// withdrawal changes its status, and each such write also wrote an
	// entry into this index that no query reads.
	{7, `
DROP INDEX trades_user_deposits;
CREATE INDEX trades_user_deposits ON trades (merchant_id, steam_id, status) WHERE type = 'DEPOSIT';
`},
}

// Migrate applies every pending migration. It is safe to run from several
// processes at once: PostgreSQL takes an advisory lock, SQLite an
// immediate transaction.
func (db *DB) Migrate(ctx context.Context) error {
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	unlock, err := db.d.lockMigrations(ctx, conn)
	if err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	defer unlock()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, m := range migrations {
		if err := db.apply(ctx, conn, m); err != nil {
			return fmt.Errorf("migrate %d: %w", m.version, err)
		}
	}
	return nil
}

func (db *DB) apply(ctx context.Context, conn *sql.Conn, m migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), m.version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	body := strings.ReplaceAll(m.sql, "{{serial}}", db.d.serial())
	for _, stmt := range strings.Split(body, ";") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%w\n%s", err, stmt)
		}
	}
	if _, err := tx.ExecContext(ctx, db.d.rebind(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), m.version, time.Now().UnixMicro()); err != nil {
		return err
	}
	return tx.Commit()
}

// Version returns the highest applied migration.
func (db *DB) Version(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := db.r.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v)
	return int(v.Int64), err
}
