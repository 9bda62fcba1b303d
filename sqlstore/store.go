package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jetonhq/jeton"
)

var _ jeton.Store = (*DB)(nil)

// queries are written with ? placeholders and rebound once per dialect.
var queries = map[string]string{
	"insMerchant":   `INSERT INTO merchants (id, partner_id, name, max_token_lifetime_s, created_at) VALUES (?, ?, ?, ?, ?)`,
	"getMerchant":   `SELECT id, partner_id, name, max_token_lifetime_s, created_at, callback_url, merchant_collateral FROM merchants WHERE id = ?`,
	"listMerchants": `SELECT id, partner_id, name, max_token_lifetime_s, created_at, callback_url, merchant_collateral FROM merchants ORDER BY created_at, id`,
	"setLifetime":   `UPDATE merchants SET max_token_lifetime_s = ? WHERE id = ?`,

	"insKey":     `INSERT INTO api_keys (id, merchant_id, hash, prefix, scopes, created_at, expires_at, revoked_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	"keyByHash":  `SELECT id, merchant_id, hash, prefix, scopes, created_at, expires_at, revoked_at, last_used_at FROM api_keys WHERE hash = ?`,
	"keyByID":    `SELECT id, merchant_id, hash, prefix, scopes, created_at, expires_at, revoked_at, last_used_at FROM api_keys WHERE merchant_id = ? AND id = ?`,
	"listKeys":   `SELECT id, merchant_id, hash, prefix, scopes, created_at, expires_at, revoked_at, last_used_at FROM api_keys WHERE merchant_id = ? ORDER BY created_at, id`,
	"expireKey":  `UPDATE api_keys SET expires_at = CASE WHEN expires_at IS NULL OR expires_at > ? THEN ? ELSE expires_at END WHERE merchant_id = ? AND id = ?`,
	"revokeKey":  `UPDATE api_keys SET revoked_at = ? WHERE merchant_id = ? AND id = ? AND revoked_at IS NULL`,
	"touchKey":   `UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`,
	"insSecret":  `INSERT INTO secrets (id, merchant_id, sealed, created_at, retires_at) VALUES (?, ?, ?, ?, ?)`,
	"listSecret": `SELECT id, merchant_id, sealed, created_at, retires_at FROM secrets WHERE merchant_id = ? AND (retires_at IS NULL OR retires_at > ?) ORDER BY created_at DESC, id`,
	"retireOld":  `UPDATE secrets SET retires_at = ? WHERE merchant_id = ? AND retires_at IS NOT NULL AND retires_at > ?`,
	"retireCur":  `UPDATE secrets SET retires_at = ? WHERE merchant_id = ? AND retires_at IS NULL`,

	"insProvider": `INSERT INTO providers (id, merchant_id, cert_hash, created_at, revoked_at) VALUES (?, ?, ?, ?, ?)`,
	"getProvider": `SELECT id, merchant_id, cert_hash, created_at, revoked_at FROM providers WHERE merchant_id = ? AND id = ?`,

	"getClient": `SELECT merchant_id, steam_id, trade_url, client_id, client_data, updated_at FROM clients WHERE merchant_id = ? AND steam_id = ?`,

	"revokeTokens": `INSERT INTO token_revocations (merchant_id, kind, subject, revoked_before) VALUES (?, ?, ?, ?)
ON CONFLICT (merchant_id, kind, subject) DO UPDATE SET revoked_before = excluded.revoked_before WHERE excluded.revoked_before > token_revocations.revoked_before`,
	"listRevocations": `SELECT merchant_id, kind, subject, revoked_before FROM token_revocations WHERE merchant_id = ?`,
	"insEvent":        `INSERT INTO credential_events (merchant_id, kind, at) VALUES (?, ?, ?)`,
	"listEvents":      `SELECT seq, merchant_id, kind, at FROM credential_events WHERE seq > ? ORDER BY seq LIMIT ?`,
	"lastEvent":       `SELECT COALESCE(MAX(seq), 0) FROM credential_events`,

	"insStore":   `INSERT INTO saga_stores (id, merchant_id, name, email, phone, address, acquirer_mid, online_info, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	"getStore":   `SELECT id, merchant_id, name, email, phone, address, acquirer_mid, online_info, status, created_at FROM saga_stores WHERE merchant_id = ? AND id = ?`,
	"listStores": `SELECT id, merchant_id, name, email, phone, address, acquirer_mid, online_info, status, created_at FROM saga_stores WHERE merchant_id = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
	"countStore": `SELECT COUNT(*) FROM saga_stores WHERE merchant_id = ?`,
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func ptrTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

func notFound(what string) error {
	return jeton.Errorf(jeton.KindNotFound, jeton.KeyNotFound, "%s not found", what)
}

func (db *DB) exec(ctx context.Context, tx *sql.Tx, name string, args ...any) (sql.Result, error) {
	if tx != nil {
		return tx.ExecContext(ctx, db.q[name], args...)
	}
	return db.w.ExecContext(ctx, db.q[name], args...)
}

func (db *DB) event(ctx context.Context, tx *sql.Tx, merchantID, kind string, at time.Time) error {
	_, err := db.exec(ctx, tx, "insEvent", merchantID, kind, micros(at))
	return err
}

// CreateMerchant inserts a merchant with its first key, secret and
// optional provider in one transaction.
func (db *DB) CreateMerchant(ctx context.Context, nm jeton.NewMerchant) error {
	m := nm.Merchant
	return db.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := db.exec(ctx, tx, "insMerchant", m.ID, m.PartnerID, m.Name, int64(m.MaxTokenLifetime/time.Second), micros(m.CreatedAt)); err != nil {
			return fmt.Errorf("insert merchant: %w", err)
		}
		if err := db.insertKey(ctx, tx, nm.Key); err != nil {
			return err
		}
		if _, err := db.exec(ctx, tx, "insSecret", nm.Secret.ID, nm.Secret.MerchantID, base64.StdEncoding.EncodeToString(nm.Secret.Sealed), micros(nm.Secret.CreatedAt), nullMicros(nm.Secret.RetiresAt)); err != nil {
			return fmt.Errorf("insert secret: %w", err)
		}
		if p := nm.Provider; p != nil {
			if _, err := db.exec(ctx, tx, "insProvider", p.ID, p.MerchantID, hex.EncodeToString(p.CertHash), micros(p.CreatedAt), nullMicros(p.RevokedAt)); err != nil {
				return fmt.Errorf("insert provider: %w", err)
			}
		}
		return nil
	})
}

type scanner interface{ Scan(...any) error }

func scanMerchant(s scanner) (jeton.Merchant, error) {
	var m jeton.Merchant
	var life, created, coll int64
	if err := s.Scan(&m.ID, &m.PartnerID, &m.Name, &life, &created, &m.CallbackURL, &coll); err != nil {
		return m, err
	}
	m.MaxTokenLifetime = time.Duration(life) * time.Second
	m.CreatedAt = fromMicros(created)
	m.Collateral = jeton.USD(coll)
	return m, nil
}

// Merchant returns one merchant.
func (db *DB) Merchant(ctx context.Context, id string) (jeton.Merchant, error) {
	m, err := scanMerchant(db.r.QueryRowContext(ctx, db.q["getMerchant"], id))
	if errors.Is(err, sql.ErrNoRows) {
		return m, jeton.Errorf(jeton.KindNotFound, jeton.KeyMerchantNotFound, "merchant not found")
	}
	return m, err
}

// Merchants lists every merchant, oldest first.
func (db *DB) Merchants(ctx context.Context) ([]jeton.Merchant, error) {
	rows, err := db.r.QueryContext(ctx, db.q["listMerchants"])
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []jeton.Merchant
	for rows.Next() {
		m, err := scanMerchant(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// SetMaxTokenLifetime changes the longest client-token lifetime accepted.
func (db *DB) SetMaxTokenLifetime(ctx context.Context, merchantID string, d time.Duration) error {
	return db.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, "setLifetime", int64(d/time.Second), merchantID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return jeton.Errorf(jeton.KindNotFound, jeton.KeyMerchantNotFound, "merchant not found")
		}
		return db.event(ctx, tx, merchantID, jeton.EventMerchantUpdate, time.Now())
	})
}

func (db *DB) insertKey(ctx context.Context, tx *sql.Tx, k jeton.APIKey) error {
	_, err := db.exec(ctx, tx, "insKey", k.ID, k.MerchantID, hex.EncodeToString(k.Hash), k.Prefix, joinScopes(k.Scopes), micros(k.CreatedAt), nullMicros(k.ExpiresAt), nullMicros(k.RevokedAt), nullMicros(k.LastUsedAt))
	if err != nil {
		return fmt.Errorf("insert api key: %w", err)
	}
	return nil
}

func joinScopes(s []jeton.Scope) string {
	parts := make([]string, len(s))
	for i, x := range s {
		parts[i] = string(x)
	}
	return strings.Join(parts, ",")
}

func scanKey(s scanner) (jeton.APIKey, error) {
	var k jeton.APIKey
	var hash, scopes string
	var created int64
	var exp, rev, used sql.NullInt64
	if err := s.Scan(&k.ID, &k.MerchantID, &hash, &k.Prefix, &scopes, &created, &exp, &rev, &used); err != nil {
		return k, err
	}
	k.Hash, _ = hex.DecodeString(hash)
	for _, p := range strings.Split(scopes, ",") {
		if p != "" {
			k.Scopes = append(k.Scopes, jeton.Scope(p))
		}
	}
	k.CreatedAt = fromMicros(created)
	k.ExpiresAt, k.RevokedAt, k.LastUsedAt = ptrTime(exp), ptrTime(rev), ptrTime(used)
	return k, nil
}

// CreateAPIKey inserts a key.
func (db *DB) CreateAPIKey(ctx context.Context, k jeton.APIKey) error {
	return db.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error { return db.insertKey(ctx, tx, k) })
}

// APIKeyByHash finds a key by the hash of its value.
func (db *DB) APIKeyByHash(ctx context.Context, hash []byte) (jeton.APIKey, error) {
	k, err := scanKey(db.r.QueryRowContext(ctx, db.q["keyByHash"], hex.EncodeToString(hash)))
	if errors.Is(err, sql.ErrNoRows) {
		return k, notFound("api key")
	}
	return k, err
}

// APIKey returns one of a merchant's keys by id.
func (db *DB) APIKey(ctx context.Context, merchantID, id string) (jeton.APIKey, error) {
	k, err := scanKey(db.r.QueryRowContext(ctx, db.q["keyByID"], merchantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return k, notFound("api key")
	}
	return k, err
}

// APIKeys lists a merchant's keys, oldest first.
func (db *DB) APIKeys(ctx context.Context, merchantID string) ([]jeton.APIKey, error) {
	rows, err := db.r.QueryContext(ctx, db.q["listKeys"], merchantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []jeton.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RotateAPIKey inserts next and limits the old key to oldExpiresAt.
func (db *DB) RotateAPIKey(ctx context.Context, merchantID, oldID string, oldExpiresAt time.Time, next jeton.APIKey) error {
	return db.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, "expireKey", micros(oldExpiresAt), micros(oldExpiresAt), merchantID, oldID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("api key")
		}
		if err := db.insertKey(ctx, tx, next); err != nil {
			return err
		}
		return db.event(ctx, tx, merchantID, jeton.EventKeyRotated, next.CreatedAt)
	})
}

// RevokeAPIKey ends a key at at.
func (db *DB) RevokeAPIKey(ctx context.Context, merchantID, id string, at time.Time) error {
	return db.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, "revokeKey", micros(at), merchantID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := scanKey(tx.QueryRowContext(ctx, db.q["keyByID"], merchantID, id)); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					return notFound("api key")
				}
				return err
			}
			return nil // already revoked: idempotent
		}
		return db.event(ctx, tx, merchantID, jeton.EventKeyRevoked, at)
	})
}

// TouchAPIKeys records last-used times; older values never overwrite newer.
func (db *DB) TouchAPIKeys(ctx context.Context, used map[string]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	// Rows are locked in id order so that two instances flushing at once
	// cannot deadlock on PostgreSQL.
	ids := slices.Sorted(maps.Keys(used))
	return db.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, id := range ids {
			t := used[id]
			if _, err := db.exec(ctx, tx, "touchKey", micros(t), id, micros(t)); err != nil {
				return err
			}
		}
		return nil
	})
}

func scanSecret(s scanner) (jeton.Secret, error) {
	var x jeton.Secret
	var sealed string
	var created int64
	var ret sql.NullInt64
	if err := s.Scan(&x.ID, &x.MerchantID, &sealed, &created, &ret); err != nil {
		return x, err
	}
	var err error
	x.Sealed, err = base64.StdEncoding.DecodeString(sealed)
	x.CreatedAt, x.RetiresAt = fromMicros(created), ptrTime(ret)
	return x, err
}

// Secrets returns the merchant's secrets still valid at now, current first.
func (db *DB) Secrets(ctx context.Context, merchantID string, now time.Time) ([]jeton.Secret, error) {
	rows, err := db.r.QueryContext(ctx, db.q["listSecret"], merchantID, micros(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cur []jeton.Secret
	var prev []jeton.Secret
	for rows.Next() {
		s, err := scanSecret(rows)
		if err != nil {
			return nil, err
		}
		if s.RetiresAt == nil {
			cur = append(cur, s)
		} else {
			prev = append(prev, s)
		}
	}
	return append(cur, prev...), rows.Err()
}

// RotateSecret makes next the current secret.
func (db *DB) RotateSecret(ctx context.Context, merchantID string, next jeton.Secret, prevRetiresAt, now time.Time) error {
	return db.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := db.exec(ctx, tx, "retireOld", micros(now), merchantID, micros(now)); err != nil {
			return err
		}
		res, err := db.exec(ctx, tx, "retireCur", micros(prevRetiresAt), merchantID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return jeton.Errorf(jeton.KindNotFound, jeton.KeyMerchantNotFound, "merchant not found")
		}
		if _, err := db.exec(ctx, tx, "insSecret", next.ID, merchantID, base64.StdEncoding.EncodeToString(next.Sealed), micros(next.CreatedAt), nil); err != nil {
			return err
		}
		return db.event(ctx, tx, merchantID, jeton.EventSecretRotated, now)
	})
}

// CreateProvider inserts a provider.
func (db *DB) CreateProvider(ctx context.Context, p jeton.Provider) error {
	_, err := db.exec(ctx, nil, "insProvider", p.ID, p.MerchantID, hex.EncodeToString(p.CertHash), micros(p.CreatedAt), nullMicros(p.RevokedAt))
	return err
}

func scanProvider(s scanner) (jeton.Provider, error) {
	var p jeton.Provider
	var hash string
	var created int64
	var rev sql.NullInt64
	if err := s.Scan(&p.ID, &p.MerchantID, &hash, &created, &rev); err != nil {
		return p, err
	}
	p.CertHash, _ = hex.DecodeString(hash)
	p.CreatedAt, p.RevokedAt = fromMicros(created), ptrTime(rev)
	return p, nil
}

// Provider returns one of a merchant's providers.
func (db *DB) Provider(ctx context.Context, merchantID, id string) (jeton.Provider, error) {
	p, err := scanProvider(db.r.QueryRowContext(ctx, db.q["getProvider"], merchantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, notFound("provider")
	}
	return p, err
}

// upsertChunk is how many clients one multi-row upsert statement writes.
const upsertChunk = 32

// upsertSQL is the upsert of n client rows.
func (db *DB) upsertSQL(n int) string {
	return db.multiRow("upsertClients", `INSERT INTO clients (merchant_id, steam_id, trade_url, client_id, client_data, updated_at) VALUES `,
		`(?, ?, ?, ?, ?, ?)`, ",", ` ON CONFLICT (merchant_id, steam_id) DO UPDATE SET trade_url = excluded.trade_url, client_id = excluded.client_id, client_data = excluded.client_data, updated_at = excluded.updated_at`, n)
}

// upsertStmt returns the prepared upsert of n rows (n a power of two up
// to upsertChunk), preparing it once on the writer pool: a group of any
// size is written in at most log2(upsertChunk)+1 statements per chunk.
func (db *DB) upsertStmt(ctx context.Context, n int) (*sql.Stmt, error) {
	db.prepMu.Lock()
	defer db.prepMu.Unlock()
	if st := db.upserts[n]; st != nil {
		return st, nil
	}
	st, err := db.w.PrepareContext(ctx, db.upsertSQL(n))
	if err != nil {
		return nil, err
	}
	if db.upserts == nil {
		db.upserts = map[int]*sql.Stmt{}
	}
	db.upserts[n] = st
	return st, nil
}

func compareClients(a, b jeton.Client) int {
	if c := strings.Compare(a.MerchantID, b.MerchantID); c != 0 {
		return c
	}
	return strings.Compare(a.SteamID, b.SteamID)
}

// UpsertClients writes every client in one transaction; of several
// entries for the same (merchant, steamID), the last wins.
func (db *DB) UpsertClients(ctx context.Context, cs []jeton.Client) error {
	type key struct{ m, s string }
	if len(cs) > 1 {
		last := make(map[key]int, len(cs))
		for i, c := range cs {
			last[key{c.MerchantID, c.SteamID}] = i
		}
		if len(last) < len(cs) {
			dedup := make([]jeton.Client, 0, len(last))
			for i, c := range cs {
				if last[key{c.MerchantID, c.SteamID}] == i {
					dedup = append(dedup, c)
				}
			}
			cs = dedup
		}
	}
	// Lock rows in key order so that concurrent batches (on several
	// instances) cannot deadlock on PostgreSQL.
	if len(cs) > 1 && !slices.IsSortedFunc(cs, compareClients) {
		cs = slices.Clone(cs)
		slices.SortFunc(cs, compareClients)
	}
	// Prepare outside the transaction: on SQLite the transaction holds
	// the only writer connection, which preparing would wait for.
	var plan []*sql.Stmt
	for rest := len(cs); rest > 0; {
		n := chunk(rest, upsertChunk)
		st, err := db.upsertStmt(ctx, n)
		if err != nil {
			return fmt.Errorf("prepare upsert: %w", err)
		}
		plan = append(plan, st)
		rest -= n
	}
	args := make([]any, 0, upsertChunk*6)
	return db.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, st := range plan {
			n := chunk(len(cs), upsertChunk)
			args = args[:0]
			for _, c := range cs[:n] {
				data := string(c.ClientData)
				if data == "" {
					data = "{}"
				}
				args = append(args, c.MerchantID, c.SteamID, c.TradeURL, c.ClientID, data, micros(c.UpdatedAt))
			}
			if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("upsert clients: %w", err)
			}
			cs = cs[n:]
		}
		return nil
	})
}

// Client returns what the merchant last sent about one Steam user.
func (db *DB) Client(ctx context.Context, merchantID, steamID string) (jeton.Client, error) {
	var c jeton.Client
	var data string
	var upd int64
	err := db.r.QueryRowContext(ctx, db.q["getClient"], merchantID, steamID).Scan(&c.MerchantID, &c.SteamID, &c.TradeURL, &c.ClientID, &data, &upd)
	if errors.Is(err, sql.ErrNoRows) {
		return c, notFound("client")
	}
	c.ClientData, c.UpdatedAt = json.RawMessage(data), fromMicros(upd)
	return c, err
}

// RevokeTokens records a revocation (keeping the latest cut-off).
func (db *DB) RevokeTokens(ctx context.Context, r jeton.TokenRevocation) error {
	return db.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := db.exec(ctx, tx, "revokeTokens", r.MerchantID, string(r.Kind), r.Subject, r.RevokedBefore.Unix()); err != nil {
			return err
		}
		return db.event(ctx, tx, r.MerchantID, jeton.EventTokensRevoked, r.RevokedBefore)
	})
}

// TokenRevocations lists a merchant's revocations.
func (db *DB) TokenRevocations(ctx context.Context, merchantID string) ([]jeton.TokenRevocation, error) {
	rows, err := db.r.QueryContext(ctx, db.q["listRevocations"], merchantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []jeton.TokenRevocation
	for rows.Next() {
		var r jeton.TokenRevocation
		var kind string
		var before int64
		if err := rows.Scan(&r.MerchantID, &kind, &r.Subject, &before); err != nil {
			return nil, err
		}
		r.Kind, r.RevokedBefore = jeton.SubjectKind(kind), time.Unix(before, 0).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// CredentialEvents returns events after seq, oldest first.
func (db *DB) CredentialEvents(ctx context.Context, after int64, limit int) ([]jeton.CredentialEvent, error) {
	rows, err := db.r.QueryContext(ctx, db.q["listEvents"], after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []jeton.CredentialEvent
	for rows.Next() {
		var e jeton.CredentialEvent
		var at int64
		if err := rows.Scan(&e.Seq, &e.MerchantID, &e.Kind, &at); err != nil {
			return nil, err
		}
		e.At = fromMicros(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// LastCredentialEvent returns the highest event seq (0 when none).
func (db *DB) LastCredentialEvent(ctx context.Context) (int64, error) {
	var n int64
	err := db.r.QueryRowContext(ctx, db.q["lastEvent"]).Scan(&n)
	return n, err
}

func jsonText(r json.RawMessage) string {
	if len(r) == 0 {
		return "null"
	}
	return string(r)
}

// CreateSagaStore inserts a store.
func (db *DB) CreateSagaStore(ctx context.Context, s jeton.SagaStore) error {
	_, err := db.exec(ctx, nil, "insStore", s.ID, s.MerchantID, s.Name, s.Email, jsonText(s.Phone), jsonText(s.Address), s.AcquirerMID, jsonText(s.OnlineInfo), s.Status, micros(s.CreatedAt))
	return err
}

func scanStore(sc scanner) (jeton.SagaStore, error) {
	var s jeton.SagaStore
	var phone, addr, online string
	var created int64
	if err := sc.Scan(&s.ID, &s.MerchantID, &s.Name, &s.Email, &phone, &addr, &s.AcquirerMID, &online, &s.Status, &created); err != nil {
		return s, err
	}
	s.Phone, s.Address, s.OnlineInfo = json.RawMessage(phone), json.RawMessage(addr), json.RawMessage(online)
	s.CreatedAt = fromMicros(created)
	return s, nil
}

// SagaStore returns one of a merchant's stores.
func (db *DB) SagaStore(ctx context.Context, merchantID, id string) (jeton.SagaStore, error) {
	s, err := scanStore(db.r.QueryRowContext(ctx, db.q["getStore"], merchantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return s, jeton.Errorf(jeton.KindNotFound, jeton.KeyStoreNotFound, "store not found")
	}
	return s, err
}

// SagaStores lists a merchant's stores, newest first, one page at a time.
func (db *DB) SagaStores(ctx context.Context, merchantID string, page, perPage int) ([]jeton.SagaStore, int, error) {
	if page < 1 {
		page = 1
	}
	var total int
	if err := db.r.QueryRowContext(ctx, db.q["countStore"], merchantID).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := db.r.QueryContext(ctx, db.q["listStores"], merchantID, perPage, (page-1)*perPage)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []jeton.SagaStore{}
	for rows.Next() {
		s, err := scanStore(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, s)
	}
	return out, total, rows.Err()
}
