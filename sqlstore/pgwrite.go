package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/jetonhq/jeton"
)

// On PostgreSQL a trade change is one statement: the trade's INSERT or
// UPDATE, and its event, callbacks, approval attempts and ledger posting
// as data-modifying CTEs hanging on it. A change that moves no wallet
// then needs no BEGIN or COMMIT either: the statement is its own
// transaction. Each round trip costs jeton and PostgreSQL a write and a
// read on the socket and PostgreSQL a protocol step; under the withdrawal
// benchmark the round trips, not the rows, were most of both processes'
// CPU (a withdrawal made about 30 of them, now about 12).
//
// SQLite has no data-modifying CTEs, and its statements cost no round
// trip: it keeps one statement per row (writeChange).

// rowQueryer is a transaction, or the pool for a statement that is its
// own transaction.
type rowQueryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// pgStmt composes writes into one statement of CTEs. Its result is one
// row: the number of rows each counted CTE returned, in order.
type pgStmt struct {
	ctes   []string
	args   []any
	counts []string
}

// add appends the CTE "name AS (q)", numbering q's ? placeholders after
// those already added.
func (s *pgStmt) add(name, q string, args ...any) {
	var b strings.Builder
	b.Grow(len(name) + len(q) + 16)
	b.WriteString(name)
	b.WriteString(" AS (")
	n := len(s.args)
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	b.WriteByte(')')
	s.ctes = append(s.ctes, b.String())
	s.args = append(s.args, args...)
}

// count adds a CTE whose returned rows the statement counts.
func (s *pgStmt) count(name, q string, args ...any) {
	s.add(name, q, args...)
	s.counts = append(s.counts, name)
}

// insert adds one row of cols into table, made only if the CTE after
// returned a row ("" = always). The values' types come from the columns.
func (s *pgStmt) insert(name, table, cols, after string, args ...any) {
	q := "INSERT INTO " + table + " (" + cols + ") SELECT ?" + strings.Repeat(", ?", len(args)-1)
	if after != "" {
		q += " FROM " + after
	}
	s.add(name, q, args...)
}

// run executes the statement and returns its counts.
func (s *pgStmt) run(ctx context.Context, q rowQueryer) ([]int64, error) {
	var b strings.Builder
	b.WriteString("WITH ")
	b.WriteString(strings.Join(s.ctes, ", "))
	b.WriteString(" SELECT ")
	for i, c := range s.counts {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(SELECT count(*) FROM " + c + ")")
	}
	out := make([]int64, len(s.counts))
	dst := make([]any, len(out))
	for i := range out {
		dst[i] = &out[i]
	}
	return out, q.QueryRowContext(ctx, b.String(), s.args...).Scan(dst...)
}

// oneStatement reports whether ch is written as one statement: on
// PostgreSQL, unless two of its postings move the wallet (one statement
// may update a row only once).
func (db *DB) oneStatement(ch *jeton.TradeChange) bool {
	if db.d.name() != "postgres" {
		return false
	}
	moving := 0
	for _, p := range ch.Postings {
		if walletDelta(p) != (jeton.Wallet{}) {
			moving++
		}
	}
	return moving <= 1
}

func walletDelta(p jeton.Posting) jeton.Wallet {
	var w jeton.Wallet
	w.Apply(p)
	return w
}

const (
	eventCols    = `trade_id, seq, status, at`
	callbackIns  = `delivery_id, merchant_id, trade_id, kind, event, body, created_at, state, attempts, next_at, last_attempt, target`
	postingCols  = `id, merchant_id, trade_id, type, memo, amount, created_at`
	entryCols    = `posting_id, account, merchant_id, amount`
	walletMoveQ  = `UPDATE wallets SET available = available + ?, pending = pending + ?, escrow = escrow + ?, updated_at = ? WHERE merchant_id = ?`
	walletGuardQ = ` AND available + ? >= 0`
)

// writeOne writes ch as one statement through q. tradeQ is the trade's
// own write, an INSERT or an UPDATE … WHERE (with ? placeholders), and
// targs its arguments; seq is the event's. The trade's UPDATE waits on
// the wallet's, so a guard that fails writes nothing; every other row
// hangs on the trade's. A change with a posting must run inside a
// transaction: should the trade be stale after the wallet moved, the
// caller's rollback undoes the move. An INSERT takes no posting.
func (db *DB) writeOne(ctx context.Context, q rowQueryer, tradeQ string, targs []any, ch *jeton.TradeChange, seq int) error {
	s := &pgStmt{}
	wallet := -1 // the posting that moves the wallet
	for i, p := range ch.Postings {
		if !p.Balanced() {
			return fmt.Errorf("posting %s does not balance", p.ID)
		}
		if d := walletDelta(p); d != (jeton.Wallet{}) {
			mq, args := walletMoveQ, []any{int64(d.Available), int64(d.Pending), int64(d.Escrow), micros(p.CreatedAt), p.MerchantID}
			if p.Guard {
				mq, args = mq+walletGuardQ, append(args, int64(d.Available))
			}
			s.count("w", mq+" RETURNING 1", args...)
			wallet = i
		}
	}
	if wallet >= 0 {
		if !strings.HasPrefix(tradeQ, "UPDATE") {
			return fmt.Errorf("trade %s: a new trade moves no wallet", ch.Trade.ID)
		}
		// The wallet's guard must not answer for a stale trade: the trade
		// is checked at the version it was decided from (the UPDATE's
		// last two arguments, id and version), and a stale one is
		// reported as such whatever the wallet holds.
		s.count("v", "SELECT 1 FROM trades WHERE id = ? AND version = ?", targs[len(targs)-2:]...)
		tradeQ += " AND EXISTS (SELECT 1 FROM w)"
	}
	s.count("t", tradeQ+" RETURNING id", targs...)
	t := ch.Trade
	for i, p := range ch.Postings {
		name := "p" + strconv.Itoa(i)
		s.insert(name, "ledger_postings", postingCols, "t", p.ID, p.MerchantID, p.TradeID, p.Type, p.Memo, int64(p.Amount()), micros(p.CreatedAt))
		for j, e := range p.Entries {
			s.insert(name+"e"+strconv.Itoa(j), "ledger_entries", entryCols, "t", p.ID, e.Account, p.MerchantID, int64(e.Amount))
		}
	}
	if ch.Event != "" {
		s.insert("ev", "trade_events", eventCols, "t", t.ID, seq, string(ch.Event), micros(t.UpdatedAt))
	}
	for i, c := range ch.Callbacks {
		if c.MaxAttempts <= 0 {
			return fmt.Errorf("callback %s: no attempt budget", c.DeliveryID)
		}
		s.insert("c"+strconv.Itoa(i), "callbacks", callbackIns, "t", c.DeliveryID, c.MerchantID, c.TradeID, c.Kind, c.Event, string(c.Body),
			micros(c.CreatedAt), jeton.CallbackPending, int64(0), dueNow(), c.MaxAttempts, c.Target)
	}
	for i, a := range ch.Attempts {
		s.insert("a"+strconv.Itoa(i), "callback_attempts", attemptCols, "t", a.DeliveryID, a.MerchantID, a.TradeID, a.Kind, a.Event, a.Attempt,
			a.URL, a.StatusCode, a.Latency.Microseconds(), a.Outcome, a.Error, micros(a.At))
	}
	counts, err := s.run(ctx, q)
	if err != nil {
		return err
	}
	if wallet >= 0 && counts[1] == 0 {
		return errStale
	}
	if wallet >= 0 && counts[0] == 0 {
		if p := ch.Postings[wallet]; p.Guard {
			return jeton.Errorf(jeton.KindInvalid, jeton.KeyBalanceLow, "the merchant balance cannot cover %s", p.Amount())
		}
		return fmt.Errorf("wallet of %s missing", t.MerchantID)
	}
	if counts[len(counts)-1] != 1 {
		return errStale
	}
	return nil
}
