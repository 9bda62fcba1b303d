package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jetonhq/jeton"
)

var _ jeton.TradeStore = (*DB)(nil)

const tradeCols = `id, merchant_id, type, source, status, game, client_user_id, steam_id, trade_url, items, total_price,
pre_credit, pending_credit, is_instant, coll_merchant, coll_provider, external_id, external_client_user_id, offer_id,
hold_end, reverted_by, error, created_at, updated_at, version, next_check_at, approval_attempts, approval_lease`

func init() {
	queries["insTrade"] = `INSERT INTO trades (` + tradeCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	queries["updTrade"] = `UPDATE trades SET status = ?, items = ?, total_price = ?, pre_credit = ?, pending_credit = ?, is_instant = ?,
coll_merchant = ?, coll_provider = ?, offer_id = ?, hold_end = ?, reverted_by = ?, error = ?, updated_at = ?, version = version + 1,
next_check_at = ?, approval_attempts = ?, approval_lease = ? WHERE id = ? AND version = ?`
	queries["getTradeAny"] = `SELECT ` + tradeCols + ` FROM trades WHERE id = ?`
	queries["getTradeExt"] = `SELECT ` + tradeCols + ` FROM trades WHERE merchant_id = ? AND external_id = ?`
	queries["insTradeEvent"] = `INSERT INTO trade_events (trade_id, seq, status, at) VALUES (?, ?, ?, ?)`
	queries["tradeEvents"] = `SELECT trade_id, seq, status, at FROM trade_events WHERE trade_id = ? ORDER BY seq`
	queries["dueTrades"] = `SELECT ` + tradeCols + ` FROM trades WHERE next_check_at IS NOT NULL AND next_check_at <= ? ORDER BY next_check_at LIMIT ?`
	queries["userHistory"] = `SELECT
COALESCE(SUM(CASE WHEN status = 'COMPLETED' THEN total_price ELSE 0 END), 0),
COALESCE(SUM(CASE WHEN status = 'COMPLETED' THEN 1 ELSE 0 END), 0),
COALESCE(SUM(CASE WHEN status = 'REVERTED' THEN 1 ELSE 0 END), 0),
COALESCE(MIN(created_at), 0),
COALESCE(SUM(CASE WHEN game = '730' AND status IN ('INITIATED', 'PENDING', 'ACTIVE', 'HOLD') THEN COALESCE(pre_credit, 0) ELSE 0 END), 0)
FROM trades WHERE merchant_id = ? AND steam_id = ? AND type = 'DEPOSIT' AND source = 'client'`

	queries["heldItems"] = `SELECT status, source, items FROM trades WHERE merchant_id = ? AND steam_id = ? AND type = 'DEPOSIT' AND status IN ('INITIATED', 'PENDING', 'ACTIVE', 'HOLD', 'COMPLETED')`

	queries["insWallet"] = `INSERT INTO wallets (merchant_id, available, pending, escrow, updated_at) VALUES (?, 0, 0, 0, ?) ON CONFLICT (merchant_id) DO NOTHING`
	queries["getWallet"] = `SELECT merchant_id, available, pending, escrow, updated_at FROM wallets WHERE merchant_id = ?`
	queries["moveWallet"] = `UPDATE wallets SET available = available + ?, pending = pending + ?, escrow = escrow + ?, updated_at = ? WHERE merchant_id = ?`
	queries["moveWalletGuard"] = `UPDATE wallets SET available = available + ?, pending = pending + ?, escrow = escrow + ?, updated_at = ? WHERE merchant_id = ? AND available + ? >= 0`
	queries["insPosting"] = `INSERT INTO ledger_postings (id, merchant_id, trade_id, type, memo, amount, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`
	queries["insEntry"] = `INSERT INTO ledger_entries (posting_id, account, merchant_id, amount) VALUES (?, ?, ?, ?)`
	queries["getPosting"] = `SELECT id, merchant_id, trade_id, type, memo, created_at FROM ledger_postings WHERE merchant_id = ? AND id = ?`
	queries["postingEntries"] = `SELECT account, amount FROM ledger_entries WHERE posting_id = ? ORDER BY account`
}

func nullStr(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func nullUSD(u *jeton.USD) any {
	if u == nil {
		return nil
	}
	return int64(*u)
}

func nullBool(b *bool) any {
	if b == nil {
		return nil
	}
	if *b {
		return int64(1)
	}
	return int64(0)
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func tradeArgs(t *jeton.Trade) (items string, collM, collP any, err error) {
	b, err := json.Marshal(t.Items)
	if err != nil {
		return "", nil, nil, err
	}
	if t.Collateral != nil {
		collM, collP = int64(t.Collateral.Merchant), int64(t.Collateral.Provider)
	}
	return string(b), collM, collP, nil
}

func scanTrade(s scanner) (jeton.Trade, error) {
	var t jeton.Trade
	var items string
	var pre, pending, instant, collM, collP, hold, next, lease sql.NullInt64
	var ext, extClient, offer, reverted, errCode sql.NullString
	var created, updated, total, attempts int64
	err := s.Scan(&t.ID, &t.MerchantID, &t.Type, &t.Source, &t.Status, &t.Game, &t.ClientUserID, &t.ClientSteamID, &t.ClientTradeURL,
		&items, &total, &pre, &pending, &instant, &collM, &collP, &ext, &extClient, &offer, &hold, &reverted, &errCode,
		&created, &updated, &t.Version, &next, &attempts, &lease)
	if err != nil {
		return t, err
	}
	if err := json.Unmarshal([]byte(items), &t.Items); err != nil {
		return t, fmt.Errorf("trade %s items: %w", t.ID, err)
	}
	t.TotalPrice = jeton.USD(total)
	usd := func(v sql.NullInt64) *jeton.USD {
		if !v.Valid {
			return nil
		}
		u := jeton.USD(v.Int64)
		return &u
	}
	str := func(v sql.NullString) *string {
		if !v.Valid {
			return nil
		}
		s := v.String
		return &s
	}
	t.PreCredit, t.PendingCredit = usd(pre), usd(pending)
	if instant.Valid {
		b := instant.Int64 == 1
		t.IsInstant = &b
	}
	if collM.Valid {
		t.Collateral = &jeton.Collateral{Merchant: jeton.USD(collM.Int64), Provider: jeton.USD(collP.Int64)}
	}
	t.ExternalID, t.ExternalClientUserID, t.OfferID, t.RevertedBy, t.Error = str(ext), str(extClient), str(offer), str(reverted), str(errCode)
	t.HoldEndDate = ptrTime(hold)
	t.CreatedAt, t.UpdatedAt = fromMicros(created), fromMicros(updated)
	if next.Valid {
		t.NextCheckAt = fromMicros(next.Int64)
	}
	if lease.Valid {
		t.ApprovalLease = fromMicros(lease.Int64)
	}
	t.ApprovalAttempts = int(attempts)
	return t, nil
}

// CreateTrade stores a new trade decided under the user's lock.
func (db *DB) CreateTrade(ctx context.Context, merchantID, steamID string, history bool, decide func(jeton.UserHistory, jeton.Wallet) (jeton.TradeChange, error)) (jeton.Trade, error) {
	var out jeton.Trade
	var due []string
	// insert writes the decided change, through tx or, when tx is nil,
	// as a statement that is its own transaction.
	insert := func(ctx context.Context, tx *sql.Tx, ch jeton.TradeChange) error {
		t := ch.Trade
		items, collM, collP, err := tradeArgs(&t)
		if err != nil {
			return err
		}
		t.Version = 1
		args := []any{t.ID, t.MerchantID, string(t.Type), string(t.Source), string(t.Status), t.Game, t.ClientUserID,
			t.ClientSteamID, t.ClientTradeURL, items, int64(t.TotalPrice), nullUSD(t.PreCredit), nullUSD(t.PendingCredit), nullBool(t.IsInstant),
			collM, collP, nullStr(t.ExternalID), nullStr(t.ExternalClientUserID), nullStr(t.OfferID), nullMicros(t.HoldEndDate),
			nullStr(t.RevertedBy), nullStr(t.Error), micros(t.CreatedAt), micros(t.UpdatedAt), t.Version, nullTime(t.NextCheckAt),
			int64(t.ApprovalAttempts), nullTime(t.ApprovalLease)}
		ch.Trade = t
		one := db.oneStatement(&ch) && len(ch.Postings) == 0
		if one {
			var q rowQueryer = db.wr(ctx)
			if tx != nil {
				q = tx
			}
			err = db.writeOne(ctx, q, queries["insTrade"], args, &ch, 1)
		} else {
			_, err = tx.ExecContext(ctx, db.q["insTrade"], args...)
		}
		// Only the externalId index: one statement also inserts the
		// event and callbacks, whose keys are never expected to clash.
		if db.d.unique(err) && strings.Contains(err.Error(), "external") {
			return jeton.Errorf(jeton.KindConflict, jeton.KeyExternalIDExists, "a trade with this externalId already exists")
		}
		if err != nil {
			return fmt.Errorf("insert trade: %w", err)
		}
		if !one {
			if err := db.writeChange(ctx, tx, &ch, 1); err != nil {
				return err
			}
		}
		out, due = t, callbackIDs(ch.Callbacks)
		return nil
	}
	var err error
	if db.d.name() == "postgres" && !history {
		// Nothing to lock: the wallet read only lets a withdrawal the
		// balance cannot cover fail early (the approval's guarded debit
		// decides), so it need not share the write's transaction, and
		// the trade is one statement without BEGIN and COMMIT.
		var w jeton.Wallet
		var ch jeton.TradeChange
		if w, err = db.wallet(ctx, nil, merchantID); err != nil {
			return out, err
		}
		if ch, err = decide(jeton.UserHistory{}, w); err != nil {
			return out, err
		}
		if db.oneStatement(&ch) && len(ch.Postings) == 0 {
			err = insert(ctx, nil, ch)
		} else {
			err = db.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error { return insert(ctx, tx, ch) })
		}
	} else {
		err = db.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
			var h jeton.UserHistory
			if history {
				if err := db.d.lockKey(ctx, tx, "user:"+merchantID+":"+steamID); err != nil {
					return err
				}
				var err error
				if h, err = db.userHistory(ctx, tx, merchantID, steamID); err != nil {
					return err
				}
			}
			w, err := db.wallet(ctx, tx, merchantID)
			if err != nil {
				return err
			}
			ch, err := decide(h, w)
			if err != nil {
				return err
			}
			return insert(ctx, tx, ch)
		})
	}
	if err == nil {
		db.callbacksDue(due)
	}
	return out, err
}

// queryer is a transaction or a pool.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// heldItems fills h's ActiveDeposits and Held from the user's deposits.
func (db *DB) heldItems(ctx context.Context, q queryer, merchantID, steamID string, h *jeton.UserHistory) error {
	rows, err := q.QueryContext(ctx, db.q["heldItems"], merchantID, steamID)
	if err != nil {
		return fmt.Errorf("held items: %w", err)
	}
	defer rows.Close()
	h.Held = map[string]bool{}
	for rows.Next() {
		var status, source, raw string
		if err := rows.Scan(&status, &source, &raw); err != nil {
			return err
		}
		if source == string(jeton.SourceClient) && (status == string(jeton.StatusInitiated) || status == string(jeton.StatusActive)) {
			h.ActiveDeposits++
		}
		var items []struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(raw), &items); err != nil {
			return fmt.Errorf("held items: %w", err)
		}
		for _, it := range items {
			h.Held[it.ID] = true
		}
	}
	return rows.Err()
}

// errStale says the trade changed between the read and the write.
var errStale = errors.New("trade changed since it was read")

// optimisticTries is how often UpdateTrade decides outside the write
// transaction (from the caller's copy, then from a fresh read) before it
// reads under lock instead.
const optimisticTries = 2

// UpdateTrade writes what change decides about the trade as it is now,
// starting from read, the trade as the caller last read it (only its ID
// is needed).
//
// The read and the decision happen outside the write transaction (on
// SQLite on a reader connection, beside the one writer, which then only
// writes), and the write applies only if the trade is still at the
// version read. A trade changed meanwhile is read and decided again; the
// last try reads it inside the transaction, under lock, so an update
// always ends. change may therefore run more than once and must not
// carry state from one run to the next.
func (db *DB) UpdateTrade(ctx context.Context, read jeton.Trade, change func(jeton.Trade) (*jeton.TradeChange, error)) (jeton.Trade, error) {
	id := read.ID
	for try := range optimisticTries {
		t := read
		// The caller's copy must not see change's edits to its items.
		t.Items = slices.Clone(t.Items)
		if try > 0 || t.Version == 0 {
			var err error
			if t, err = db.TradeAny(ctx, id); err != nil {
				return t, err
			}
		}
		ch, err := change(t)
		if err != nil || ch == nil {
			return t, err
		}
		w, err := newTradeWrite(t.Version, ch)
		if err != nil {
			return jeton.Trade{}, err
		}
		w.one = db.oneStatement(ch)
		switch {
		case len(ch.Postings) > 0:
			err = db.walletTx(ctx, w.run(db))
		case w.one:
			err = w.write(ctx, db, db.wr(ctx)) // its own transaction
		default:
			err = db.inTx(ctx, w.run(db))
		}
		if errors.Is(err, errStale) {
			continue
		}
		return db.written(w, err)
	}
	var w *tradeWrite
	var unchanged jeton.Trade
	// Decided under the trade's lock, the change may move the wallet: it
	// goes with the wallet changes, so a plain transaction never holds a
	// trade's lock while it waits for the wallet row a group holds (a
	// deadlock on PostgreSQL).
	err := db.walletTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		t, err := scanTrade(tx.QueryRowContext(ctx, db.q["getTradeAny"]+db.d.forUpdate(), id))
		if errors.Is(err, sql.ErrNoRows) {
			return jeton.Errorf(jeton.KindNotFound, jeton.KeyTradeNotFound, "trade not found")
		}
		if err != nil {
			return err
		}
		w, unchanged = nil, t
		ch, err := change(t)
		if err != nil || ch == nil {
			return err
		}
		if w, err = newTradeWrite(t.Version, ch); err != nil {
			return err
		}
		w.one = db.oneStatement(ch)
		return w.run(db)(ctx, tx)
	})
	if w == nil {
		return unchanged, err
	}
	return db.written(w, err)
}

// tradeWrite is one trade change ready to write, its arguments built
// before the write transaction.
type tradeWrite struct {
	ch   *jeton.TradeChange
	from int
	args []any
	one  bool // written as one statement (see writeOne)
}

func newTradeWrite(from int, ch *jeton.TradeChange) (*tradeWrite, error) {
	n := &ch.Trade
	items, collM, collP, err := tradeArgs(n)
	if err != nil {
		return nil, err
	}
	args := []any{string(n.Status), items, int64(n.TotalPrice), nullUSD(n.PreCredit), nullUSD(n.PendingCredit),
		nullBool(n.IsInstant), collM, collP, nullStr(n.OfferID), nullMicros(n.HoldEndDate), nullStr(n.RevertedBy), nullStr(n.Error),
		micros(n.UpdatedAt), nullTime(n.NextCheckAt), int64(n.ApprovalAttempts), nullTime(n.ApprovalLease), n.ID, from}
	n.Version = from + 1
	return &tradeWrite{ch: ch, from: from, args: args}, nil
}

// run writes the change if the trade is still at the version it was
// decided from. The event's seq is the trade's new version: versions only
// grow, and a trade has at most one event per version, so seqs stay
// unique and in order without reading the last one.
func (w *tradeWrite) run(db *DB) func(context.Context, *sql.Tx) error {
	return func(ctx context.Context, tx *sql.Tx) error {
		if w.one {
			return w.write(ctx, db, tx)
		}
		res, err := db.exec(ctx, tx, "updTrade", w.args...)
		if err != nil {
			return fmt.Errorf("update trade: %w", err)
		}
		if k, _ := res.RowsAffected(); k != 1 {
			return errStale
		}
		return db.writeChange(ctx, tx, w.ch, int(w.ch.Trade.Version))
	}
}

// write writes a one-statement change through q.
func (w *tradeWrite) write(ctx context.Context, db *DB, q rowQueryer) error {
	err := db.writeOne(ctx, q, queries["updTrade"], w.args, w.ch, int(w.ch.Trade.Version))
	if err != nil && !errors.Is(err, errStale) && jeton.ErrorKey(err) == "" {
		err = fmt.Errorf("update trade: %w", err)
	}
	return err
}

// written is the outcome of a tradeWrite, waking the dispatcher when it
// stored callbacks.
func (db *DB) written(w *tradeWrite, err error) (jeton.Trade, error) {
	if err != nil {
		if errors.Is(err, errStale) {
			err = jeton.Errorf(jeton.KindConflict, jeton.KeyConflict, "trade %s changed concurrently", w.ch.Trade.ID)
		}
		return jeton.Trade{}, err
	}
	db.callbacksDue(callbackIDs(w.ch.Callbacks))
	return w.ch.Trade, nil
}

func (db *DB) writeChange(ctx context.Context, tx *sql.Tx, ch *jeton.TradeChange, seq int) error {
	t := ch.Trade
	if ch.Event != "" {
		if _, err := db.exec(ctx, tx, "insTradeEvent", t.ID, seq, string(ch.Event), micros(t.UpdatedAt)); err != nil {
			return fmt.Errorf("trade event: %w", err)
		}
	}
	for _, p := range ch.Postings {
		if err := db.post(ctx, tx, p); err != nil {
			return err
		}
	}
	for _, c := range ch.Callbacks {
		if err := db.insertCallback(ctx, tx, c); err != nil {
			return err
		}
	}
	return db.insertAttempts(ctx, tx, ch.Attempts)
}

// post writes one balanced posting and moves the wallet with it.
func (db *DB) post(ctx context.Context, tx *sql.Tx, p jeton.Posting) error {
	if !p.Balanced() {
		return fmt.Errorf("posting %s does not balance", p.ID)
	}
	if _, err := db.exec(ctx, tx, "insPosting", p.ID, p.MerchantID, p.TradeID, p.Type, p.Memo, int64(p.Amount()), micros(p.CreatedAt)); err != nil {
		return fmt.Errorf("posting: %w", err)
	}
	var w jeton.Wallet
	for _, e := range p.Entries {
		if _, err := db.exec(ctx, tx, "insEntry", p.ID, e.Account, p.MerchantID, int64(e.Amount)); err != nil {
			return fmt.Errorf("ledger entry: %w", err)
		}
	}
	w.Apply(p)
	if w.Available == 0 && w.Pending == 0 && w.Escrow == 0 {
		return nil
	}
	q, args := "moveWallet", []any{int64(w.Available), int64(w.Pending), int64(w.Escrow), micros(p.CreatedAt), p.MerchantID}
	if p.Guard {
		q, args = "moveWalletGuard", append(args, int64(w.Available))
	}
	res, err := db.exec(ctx, tx, q, args...)
	if err != nil {
		return fmt.Errorf("wallet: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		if p.Guard {
			return jeton.Errorf(jeton.KindInvalid, jeton.KeyBalanceLow, "the merchant balance cannot cover %s", p.Amount())
		}
		return fmt.Errorf("wallet of %s missing", p.MerchantID)
	}
	return nil
}

func (db *DB) wallet(ctx context.Context, tx *sql.Tx, merchantID string) (jeton.Wallet, error) {
	var w jeton.Wallet
	var a, p, e, at int64
	var row *sql.Row
	if tx != nil {
		row = tx.QueryRowContext(ctx, db.q["getWallet"], merchantID)
	} else {
		row = db.r.QueryRowContext(ctx, db.q["getWallet"], merchantID)
	}
	err := row.Scan(&w.MerchantID, &a, &p, &e, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return jeton.Wallet{MerchantID: merchantID}, nil
	}
	if err != nil {
		return w, fmt.Errorf("wallet: %w", err)
	}
	w.Available, w.Pending, w.Escrow, w.UpdatedAt = jeton.USD(a), jeton.USD(p), jeton.USD(e), fromMicros(at)
	return w, nil
}

// OpenWallet creates the wallet, with its opening posting, once.
func (db *DB) OpenWallet(ctx context.Context, merchantID string, opening *jeton.Posting) (jeton.Wallet, error) {
	var w jeton.Wallet
	// It moves the wallet it opens, so it goes with the other wallet
	// changes (see walletTx).
	err := db.walletTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, "insWallet", merchantID, micros(time.Now()))
		if err != nil {
			return fmt.Errorf("open wallet: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 && opening != nil {
			if err := db.post(ctx, tx, *opening); err != nil {
				return err
			}
		}
		w, err = db.wallet(ctx, tx, merchantID)
		return err
	})
	return w, err
}

// Wallet returns the merchant's balances (zero when never opened).
func (db *DB) Wallet(ctx context.Context, merchantID string) (jeton.Wallet, error) {
	return db.wallet(ctx, nil, merchantID)
}

// Trade returns one of the merchant's trades. It looks the id up alone
// and checks the merchant after: with (merchant_id, id) a PostgreSQL
// generic plan made while the table was empty scanned the merchant's
// trades by another index instead of using the primary key.
func (db *DB) Trade(ctx context.Context, merchantID, id string) (jeton.Trade, error) {
	t, err := scanTrade(db.r.QueryRowContext(ctx, db.q["getTradeAny"], id))
	if errors.Is(err, sql.ErrNoRows) || err == nil && t.MerchantID != merchantID {
		return jeton.Trade{}, jeton.Errorf(jeton.KindNotFound, jeton.KeyTradeNotFound, "trade not found")
	}
	return t, err
}

// TradeByRef finds a trade by id, then by externalId.
func (db *DB) TradeByRef(ctx context.Context, merchantID, ref string) (jeton.Trade, error) {
	t, err := db.Trade(ctx, merchantID, ref)
	if jeton.ErrorKey(err) != jeton.KeyTradeNotFound {
		return t, err
	}
	return db.TradeByExternalID(ctx, merchantID, ref)
}

// TradeByExternalID finds a trade by its externalId.
func (db *DB) TradeByExternalID(ctx context.Context, merchantID, externalID string) (jeton.Trade, error) {
	// Planned for its values each time (see dialect.planned).
	t, err := scanTrade(db.r.QueryRowContext(ctx, db.q["getTradeExt"], db.d.planned(merchantID, externalID)...))
	if errors.Is(err, sql.ErrNoRows) {
		return t, jeton.Errorf(jeton.KindNotFound, jeton.KeyTradeNotFound, "trade not found")
	}
	return t, err
}

// Trades lists trades newest first, with the total matching count.
func (db *DB) Trades(ctx context.Context, f jeton.TradeFilter) ([]jeton.Trade, int, error) {
	where := []string{"merchant_id = ?"}
	args := []any{f.MerchantID}
	if f.SteamID != "" {
		where, args = append(where, "steam_id = ?"), append(args, f.SteamID)
	}
	if f.Source != "" {
		where, args = append(where, "source = ?"), append(args, string(f.Source))
	}
	if f.Type != "" {
		where, args = append(where, "type = ?"), append(args, string(f.Type))
	}
	if f.Game != "" {
		where, args = append(where, "game = ?"), append(args, f.Game)
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := db.r.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) FROM trades WHERE `+cond), args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	if !f.BeforeAt.IsZero() {
		cond += " AND (created_at < ? OR (created_at = ? AND id < ?))"
		args = append(args, micros(f.BeforeAt), micros(f.BeforeAt), f.BeforeID)
	}
	args = append(args, f.Limit, f.Offset)
	rows, err := db.r.QueryContext(ctx, db.d.rebind(`SELECT `+tradeCols+` FROM trades WHERE `+cond+` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`), args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []jeton.Trade
	for rows.Next() {
		t, err := scanTrade(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, t)
	}
	return out, total, rows.Err()
}

// TradeEvents returns a trade's status timeline, oldest first.
func (db *DB) TradeEvents(ctx context.Context, tradeID string) ([]jeton.TradeEvent, error) {
	rows, err := db.r.QueryContext(ctx, db.q["tradeEvents"], tradeID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []jeton.TradeEvent
	for rows.Next() {
		var e jeton.TradeEvent
		var at int64
		if err := rows.Scan(&e.TradeID, &e.Seq, &e.Status, &at); err != nil {
			return nil, err
		}
		e.At = fromMicros(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// DueTrades returns open trades whose next check has come.
func (db *DB) DueTrades(ctx context.Context, now time.Time, limit int) ([]jeton.Trade, error) {
	rows, err := db.rd(ctx).QueryContext(ctx, db.q["dueTrades"], micros(now), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []jeton.Trade
	for rows.Next() {
		t, err := scanTrade(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// dueIDs runs a named query of the ids due at now, oldest due first.
func (db *DB) dueIDs(ctx context.Context, query string, now time.Time, limit int) ([]string, error) {
	rows, err := db.rd(ctx).QueryContext(ctx, db.q[query], micros(now), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// Postings lists the merchant's ledger postings, newest first.
func (db *DB) Postings(ctx context.Context, merchantID string, f jeton.PostingFilter) ([]jeton.Posting, int, error) {
	where := []string{"merchant_id = ?"}
	args := []any{merchantID}
	if f.Type != "" {
		where, args = append(where, "type = ?"), append(args, f.Type)
	}
	if !f.From.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, micros(f.From))
	}
	if !f.To.IsZero() {
		where, args = append(where, "created_at <= ?"), append(args, micros(f.To))
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := db.r.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) FROM ledger_postings WHERE `+cond), args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	args = append(args, f.Limit, f.Offset)
	rows, err := db.r.QueryContext(ctx, db.d.rebind(`SELECT id, merchant_id, trade_id, type, memo, created_at FROM ledger_postings WHERE `+cond+` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`), args...)
	if err != nil {
		return nil, 0, err
	}
	var out []jeton.Posting
	for rows.Next() {
		p, err := scanPosting(rows)
		if err != nil {
			rows.Close()
			return nil, 0, err
		}
		out = append(out, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	for i := range out {
		if out[i].Entries, err = db.entries(ctx, out[i].ID); err != nil {
			return nil, 0, err
		}
	}
	return out, total, nil
}

func scanPosting(s scanner) (jeton.Posting, error) {
	var p jeton.Posting
	var at int64
	err := s.Scan(&p.ID, &p.MerchantID, &p.TradeID, &p.Type, &p.Memo, &at)
	p.CreatedAt = fromMicros(at)
	return p, err
}

func (db *DB) entries(ctx context.Context, postingID string) ([]jeton.Entry, error) {
	rows, err := db.r.QueryContext(ctx, db.q["postingEntries"], postingID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []jeton.Entry
	for rows.Next() {
		var e jeton.Entry
		var a int64
		if err := rows.Scan(&e.Account, &a); err != nil {
			return nil, err
		}
		e.Amount = jeton.USD(a)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Posting returns one posting with its entries.
func (db *DB) Posting(ctx context.Context, merchantID, id string) (jeton.Posting, error) {
	p, err := scanPosting(db.r.QueryRowContext(ctx, db.q["getPosting"], merchantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, jeton.Errorf(jeton.KindNotFound, jeton.KeyNotFound, "ledger transaction not found")
	}
	if err != nil {
		return p, err
	}
	p.Entries, err = db.entries(ctx, id)
	return p, err
}

// LedgerSums returns the sum of every ledger entry by account, for
// proving that the ledger balances.
func (db *DB) LedgerSums(ctx context.Context, merchantID string) (map[string]jeton.USD, error) {
	rows, err := db.r.QueryContext(ctx, db.d.rebind(`SELECT account, COALESCE(SUM(amount), 0) FROM ledger_entries WHERE merchant_id = ? GROUP BY account`), merchantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]jeton.USD{}
	for rows.Next() {
		var a string
		var v int64
		if err := rows.Scan(&a, &v); err != nil {
			return nil, err
		}
		out[a] = jeton.USD(v)
	}
	return out, rows.Err()
}

// TradeAny returns a trade by id whatever its merchant (the engine's own
// lookups; never reachable from a request).
func (db *DB) TradeAny(ctx context.Context, id string) (jeton.Trade, error) {
	t, err := scanTrade(db.rd(ctx).QueryRowContext(ctx, db.q["getTradeAny"], id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, jeton.Errorf(jeton.KindNotFound, jeton.KeyTradeNotFound, "trade not found")
	}
	return t, err
}

// UserHistory returns what the risk model reads about one user now.
func (db *DB) UserHistory(ctx context.Context, merchantID, steamID string) (jeton.UserHistory, error) {
	return db.userHistory(ctx, db.r, merchantID, steamID)
}

func (db *DB) userHistory(ctx context.Context, q queryer, merchantID, steamID string) (jeton.UserHistory, error) {
	var h jeton.UserHistory
	var settled, exposure, first int64
	if err := q.QueryRowContext(ctx, db.q["userHistory"], merchantID, steamID).Scan(&settled, &h.SettledCount, &h.Reversals, &first, &exposure); err != nil {
		return h, fmt.Errorf("user history: %w", err)
	}
	h.SettledDeposits, h.Exposure = jeton.USD(settled), jeton.USD(exposure)
	if first > 0 {
		h.FirstSeen = fromMicros(first)
	}
	if err := db.heldItems(ctx, q, merchantID, steamID, &h); err != nil {
		return h, err
	}
	return h, nil
}
