package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jetonhq/jeton"
)

var (
	_ jeton.CallbackStore = (*DB)(nil)
	_ jeton.SandboxStore  = (*DB)(nil)
)

const callbackCols = `delivery_id, merchant_id, trade_id, kind, event, body, created_at, state, attempts, last_at, next_at, last_attempt, target`

const offerCols = `id, trade_id, game, direction, steam_id, trade_url, created_at, control, control_at`

func init() {
	queries["insCallback"] = `INSERT INTO callbacks (delivery_id, merchant_id, trade_id, kind, event, body, created_at, state, attempts, next_at, last_attempt, target) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)`
	queries["redeliver"] = `UPDATE callbacks SET state = ?, next_at = ?, last_attempt = attempts + ? WHERE merchant_id = ? AND delivery_id = ? AND state <> ?`
	queries["hasCallback"] = `SELECT 1 FROM callbacks WHERE merchant_id = ? AND delivery_id = ?`
	queries["getCallback"] = `SELECT ` + callbackCols + ` FROM callbacks WHERE merchant_id = ? AND delivery_id = ?`
	queries["attempts"] = `SELECT ` + attemptCols + ` FROM callback_attempts WHERE merchant_id = ? AND delivery_id = ? ORDER BY seq`
	queries["recentAttempts"] = `SELECT ` + attemptCols + ` FROM callback_attempts WHERE merchant_id = ? ORDER BY seq DESC LIMIT ?`
	queries["setCallbackURL"] = `UPDATE merchants SET callback_url = ? WHERE id = ?`
	queries["setCollateral"] = `UPDATE merchants SET merchant_collateral = ? WHERE id = ?`

	queries["insOffer"] = `INSERT INTO sandbox_offers (id, trade_id, game, direction, steam_id, trade_url, created_at, control, control_at) VALUES (?, ?, ?, ?, ?, ?, ?, '', 0) ON CONFLICT (trade_id) DO NOTHING RETURNING ` + offerCols
	queries["getOffer"] = `SELECT ` + offerCols + ` FROM sandbox_offers WHERE id = ?`
	queries["getOfferTrade"] = `SELECT ` + offerCols + ` FROM sandbox_offers WHERE trade_id = ?`
	queries["setControl"] = `UPDATE sandbox_offers SET control = ?, control_at = ? WHERE id = ?`
	queries["getClock"] = `SELECT offset_us FROM sandbox_clock WHERE id = 1`
	queries["insClock"] = `INSERT INTO sandbox_clock (id, offset_us) VALUES (1, 0) ON CONFLICT (id) DO NOTHING`
	queries["addClock"] = `UPDATE sandbox_clock SET offset_us = offset_us + ? WHERE id = 1`
}

// setMerchant changes one merchant setting and records a credential
// event, so every instance drops its cached copy of the merchant.
func (db *DB) setMerchant(ctx context.Context, q, merchantID string, v any) error {
	return db.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, q, v, merchantID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return jeton.Errorf(jeton.KindNotFound, jeton.KeyMerchantNotFound, "merchant not found")
		}
		return db.event(ctx, tx, merchantID, "merchant_settings", time.Now())
	})
}

// SetCallbackURL sets where the merchant's trade callbacks go.
func (db *DB) SetCallbackURL(ctx context.Context, merchantID, url string) error {
	return db.setMerchant(ctx, "setCallbackURL", merchantID, url)
}

// SetMerchantCollateral sets the instant credit the merchant backs.
func (db *DB) SetMerchantCollateral(ctx context.Context, merchantID string, amount jeton.USD) error {
	return db.setMerchant(ctx, "setCollateral", merchantID, int64(amount))
}

func scanCallback(s scanner) (jeton.Callback, error) {
	var c jeton.Callback
	var body string
	var created int64
	var last, next sql.NullInt64
	if err := s.Scan(&c.DeliveryID, &c.MerchantID, &c.TradeID, &c.Kind, &c.Event, &body, &created, &c.State, &c.Attempts, &last, &next, &c.MaxAttempts, &c.Target); err != nil {
		return c, err
	}
	c.Body = []byte(body)
	c.CreatedAt = fromMicros(created)
	c.LastAt = ptrTime(last)
	c.NextAt = ptrTime(next)
	return c, nil
}

// Callback returns one of the merchant's callbacks.
func (db *DB) Callback(ctx context.Context, merchantID, deliveryID string) (jeton.Callback, error) {
	c, err := scanCallback(db.r.QueryRowContext(ctx, db.q["getCallback"], merchantID, deliveryID))
	if errors.Is(err, sql.ErrNoRows) {
		return c, jeton.Errorf(jeton.KindNotFound, jeton.KeyDeliveryNotFound, "callback delivery not found")
	}
	return c, err
}

// Callbacks lists AssetPay status callbacks newest first.
func (db *DB) Callbacks(ctx context.Context, merchantID, tradeID string, limit, offset int) ([]jeton.Callback, int, error) {
	return db.callbacks(ctx, merchantID, tradeID, limit, offset, jeton.CallbackStatus)
}

// WebhookDeliveries lists SagaPay webhooks (to endpoints and to orders'
// callBackUrls) newest first; orderID "" for all.
func (db *DB) WebhookDeliveries(ctx context.Context, merchantID, orderID string, limit, offset int) ([]jeton.Callback, int, error) {
	return db.callbacks(ctx, merchantID, orderID, limit, offset, jeton.CallbackWebhook, jeton.CallbackOrderWebhook)
}

func (db *DB) callbacks(ctx context.Context, merchantID, subject string, limit, offset int, kinds ...string) ([]jeton.Callback, int, error) {
	cond, args := "merchant_id = ? AND kind IN (?"+strings.Repeat(", ?", len(kinds)-1)+")", []any{merchantID}
	for _, k := range kinds {
		args = append(args, k)
	}
	if subject != "" {
		cond, args = cond+" AND trade_id = ?", append(args, subject)
	}
	var total int
	if err := db.r.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) FROM callbacks WHERE `+cond), args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := db.r.QueryContext(ctx, db.d.rebind(`SELECT `+callbackCols+` FROM callbacks WHERE `+cond+` ORDER BY created_at DESC, delivery_id DESC LIMIT ? OFFSET ?`), append(args, limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []jeton.Callback
	for rows.Next() {
		c, err := scanCallback(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, c)
	}
	return out, total, rows.Err()
}

const attemptCols = `delivery_id, merchant_id, trade_id, kind, event, attempt, url, status_code, latency_us, outcome, error, at`

// CallbackAttempts lists a delivery's attempts, oldest first.
func (db *DB) CallbackAttempts(ctx context.Context, merchantID, deliveryID string) ([]jeton.CallbackAttempt, error) {
	return db.attempts(ctx, "attempts", merchantID, deliveryID)
}

// RecentAttempts lists the merchant's latest attempts of every kind
// (approvals, status callbacks, webhooks, pings), newest first.
func (db *DB) RecentAttempts(ctx context.Context, merchantID string, limit int) ([]jeton.CallbackAttempt, error) {
	return db.attempts(ctx, "recentAttempts", merchantID, limit)
}

func (db *DB) attempts(ctx context.Context, q string, args ...any) ([]jeton.CallbackAttempt, error) {
	rows, err := db.r.QueryContext(ctx, db.q[q], args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []jeton.CallbackAttempt
	for rows.Next() {
		var a jeton.CallbackAttempt
		var lat, at int64
		if err := rows.Scan(&a.DeliveryID, &a.MerchantID, &a.TradeID, &a.Kind, &a.Event, &a.Attempt, &a.URL, &a.StatusCode, &lat, &a.Outcome, &a.Error, &at); err != nil {
			return nil, err
		}
		a.Latency = time.Duration(lat) * time.Microsecond
		a.At = fromMicros(at)
		out = append(out, a)
	}
	return out, rows.Err()
}

// dueNow is the next_at of a callback due at once: the real clock's now,
// the clock the delivery workers claim by (never the trade's time, which
// is the sandbox clock and may run days ahead). New callbacks then queue
// by time with retries that came due before them, instead of always
// jumping ahead, which a sustained overload would turn into starved
// retries.
func dueNow() int64 { return time.Now().UnixMicro() }

// insertCallback stores a status callback due at once.
func (db *DB) insertCallback(ctx context.Context, tx *sql.Tx, c jeton.Callback) error {
	if c.MaxAttempts <= 0 {
		return fmt.Errorf("callback %s: no attempt budget", c.DeliveryID)
	}
	if _, err := db.exec(ctx, tx, "insCallback", c.DeliveryID, c.MerchantID, c.TradeID, c.Kind, c.Event, string(c.Body),
		micros(c.CreatedAt), jeton.CallbackPending, dueNow(), c.MaxAttempts, c.Target); err != nil {
		return fmt.Errorf("callback: %w", err)
	}
	return nil
}

// ClaimCallbacks leases up to limit due callbacks, oldest due first. On
// PostgreSQL, rows another instance is claiming at the same moment are
// skipped rather than waited for.
func (db *DB) ClaimCallbacks(ctx context.Context, now, leaseUntil time.Time, limit int) ([]jeton.Callback, error) {
	return db.claim(ctx, db.q["claimCallbacks"], micros(leaseUntil), micros(now), limit)
}

// claim runs a claiming statement as a transaction of its own and returns
// the callbacks it leased: none when it failed (on SQLite its group may
// fail to commit after the statement ran).
func (db *DB) claim(ctx context.Context, q string, args ...any) ([]jeton.Callback, error) {
	var out []jeton.Callback
	err := db.oneTx(ctx, func(ctx context.Context, tx queryer) error {
		out = out[:0]
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("claim callbacks: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scanCallback(rows)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ClaimCallbacksByID leases those of ids that are due, as ClaimCallbacks
// does, finding them by primary key: a claim that scans for due rows
// walks the index entries every claim and delivery leaves behind until
// vacuum, which made it PostgreSQL's costliest statement under load.
func (db *DB) ClaimCallbacksByID(ctx context.Context, ids []string, now, leaseUntil time.Time) ([]jeton.Callback, error) {
	var out []jeton.Callback
	for rest := ids; len(rest) > 0; {
		n := chunk(len(rest), maxRows)
		q := db.multiRow("claimByID", `UPDATE callbacks SET attempts = attempts + 1, next_at = ? WHERE delivery_id IN (SELECT delivery_id FROM callbacks WHERE delivery_id IN (`,
			`?`, ", ", `) AND next_at <= ?`+db.d.skipLocked()+`) RETURNING `+callbackCols, n)
		args := make([]any, 0, n+2)
		args = append(args, micros(leaseUntil))
		for _, id := range rest[:n] {
			args = append(args, id)
		}
		args = append(args, micros(now))
		got, err := db.claim(ctx, q, args...)
		if err != nil {
			return out, err // earlier chunks' claims are committed and go out
		}
		out = append(out, got...)
		rest = rest[n:]
	}
	return out, nil
}

// multiRow returns a statement of head followed by n copies of row
// joined by sep (and then tail), rebound and kept by name and n.
func (db *DB) multiRow(name, head, row, sep, tail string, n int) string {
	key := fmt.Sprintf("%s/%d", name, n)
	if q, ok := db.multi.Load(key); ok {
		return q.(string)
	}
	var b strings.Builder
	b.WriteString(head)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(row)
	}
	b.WriteString(tail)
	q := db.d.rebind(b.String())
	db.multi.Store(key, q)
	return q
}

// maxRows bounds the rows of one multi-row statement.
const maxRows = 64

// chunk is the largest power of two not above n or max (itself a power
// of two): multi-row statements come in few sizes, so each is prepared
// once.
func chunk(n, max int) int {
	c := max
	for c > n {
		c >>= 1
	}
	return c
}

// RecordAttempts stores a batch of attempts in one transaction: the
// attempts in multi-row inserts, and each status callback's new state in
// multi-row updates. An update applies only while the callback still
// holds that attempt, so a late answer from a lease that ran out cannot
// overwrite the state of the attempt that followed it.
func (db *DB) RecordAttempts(ctx context.Context, rs []jeton.CallbackResult) error {
	status := make([]jeton.CallbackResult, 0, len(rs))
	for _, r := range rs {
		if r.State != "" { // an attempt of a stored callback (approvals and pings have none)
			status = append(status, r)
		}
	}
	as := make([]jeton.CallbackAttempt, len(rs))
	for i, r := range rs {
		as[i] = r.Attempt
	}
	return db.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := db.insertAttempts(ctx, tx, as); err != nil {
			return err
		}
		for rest := status; len(rest) > 0; {
			n := chunk(len(rest), maxRows)
			q := db.multiRow("setCallbacks", `UPDATE callbacks SET last_at = v.l, state = v.s, next_at = v.n FROM (`,
				`SELECT CAST(? AS TEXT) AS id, CAST(? AS BIGINT) AS a, CAST(? AS BIGINT) AS l, CAST(? AS TEXT) AS s, CAST(? AS BIGINT) AS n`,
				` UNION ALL `, `) AS v WHERE callbacks.delivery_id = v.id AND callbacks.attempts = v.a`, n)
			args := make([]any, 0, 5*n)
			for _, r := range rest[:n] {
				var next any
				if r.State == jeton.CallbackPending {
					next = micros(r.NextAt)
				}
				args = append(args, r.Attempt.DeliveryID, r.Attempt.Attempt, micros(r.Attempt.At), r.State, next)
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("callback state: %w", err)
			}
			rest = rest[n:]
		}
		return nil
	})
}

// insertAttempts logs attempts in multi-row inserts.
func (db *DB) insertAttempts(ctx context.Context, tx *sql.Tx, as []jeton.CallbackAttempt) error {
	for rest := as; len(rest) > 0; {
		n := chunk(len(rest), maxRows)
		q := db.multiRow("insAttempts", `INSERT INTO callback_attempts (delivery_id, merchant_id, trade_id, kind, event, attempt, url, status_code, latency_us, outcome, error, at) VALUES `,
			`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, ", ", "", n)
		args := make([]any, 0, 12*n)
		for _, a := range rest[:n] {
			args = append(args, a.DeliveryID, a.MerchantID, a.TradeID, a.Kind, a.Event, a.Attempt, a.URL, a.StatusCode,
				a.Latency.Microseconds(), a.Outcome, a.Error, micros(a.At))
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("attempts: %w", err)
		}
		rest = rest[n:]
	}
	return nil
}

// Redeliver makes a delivered or failed callback due at now with extra
// attempts. A callback still pending is already being retried; making it
// due again would deliver it twice at once, so that is refused.
func (db *DB) Redeliver(ctx context.Context, merchantID, deliveryID string, now time.Time, extra int) error {
	err := db.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, "redeliver", jeton.CallbackPending, micros(now), extra, merchantID, deliveryID, jeton.CallbackPending)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			var one int
			if tx.QueryRowContext(ctx, db.q["hasCallback"], merchantID, deliveryID).Scan(&one) == nil {
				return jeton.Errorf(jeton.KindConflict, jeton.KeyDeliveryPending, "callback %s is still being delivered; it is retried on its schedule", deliveryID)
			}
			return jeton.Errorf(jeton.KindNotFound, jeton.KeyDeliveryNotFound, "callback delivery not found")
		}
		return nil
	})
	if err == nil {
		db.callbacksDue([]string{deliveryID})
	}
	return err
}

func scanOffer(s scanner) (jeton.SandboxOffer, error) {
	var o jeton.SandboxOffer
	var created, controlAt int64
	err := s.Scan(&o.ID, &o.TradeID, &o.Game, &o.Direction, &o.SteamID, &o.TradeURL, &created, &o.Control, &controlAt)
	o.CreatedAt = fromMicros(created)
	if controlAt != 0 {
		o.ControlAt = fromMicros(controlAt)
	}
	return o, err
}

// SaveSandboxOffer stores o once per trade and returns the stored offer.
func (db *DB) SaveSandboxOffer(ctx context.Context, o jeton.SandboxOffer) (jeton.SandboxOffer, error) {
	var out jeton.SandboxOffer
	err := db.lazyTx(ctx, func(ctx context.Context, q queryer) error {
		var err error
		out, err = scanOffer(q.QueryRowContext(ctx, db.q["insOffer"], o.ID, o.TradeID, o.Game, o.Direction, o.SteamID, o.TradeURL, micros(o.CreatedAt)))
		if errors.Is(err, sql.ErrNoRows) { // the trade's offer was sent before
			out, err = scanOffer(q.QueryRowContext(ctx, db.q["getOfferTrade"], o.TradeID))
		}
		if err != nil {
			return fmt.Errorf("sandbox offer: %w", err)
		}
		return nil
	})
	return out, err
}

// SandboxOffer returns one sandbox offer.
func (db *DB) SandboxOffer(ctx context.Context, id string) (jeton.SandboxOffer, error) {
	o, err := scanOffer(db.rd(ctx).QueryRowContext(ctx, db.q["getOffer"], id))
	if errors.Is(err, sql.ErrNoRows) {
		return o, jeton.Errorf(jeton.KindNotFound, jeton.KeyOfferNotFound, "offer not found")
	}
	return o, err
}

// SetSandboxControl records a tester's decision on an offer.
func (db *DB) SetSandboxControl(ctx context.Context, id, control string, at time.Time) error {
	res, err := db.exec(ctx, nil, "setControl", control, micros(at), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return jeton.Errorf(jeton.KindNotFound, jeton.KeyOfferNotFound, "offer not found")
	}
	return nil
}

// SandboxClock returns the sandbox clock's offset from real time.
func (db *DB) SandboxClock(ctx context.Context) (time.Duration, error) {
	var us int64
	err := db.r.QueryRowContext(ctx, db.q["getClock"]).Scan(&us)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return time.Duration(us) * time.Microsecond, err
}

// AdvanceSandboxClock moves the sandbox clock forward by d.
func (db *DB) AdvanceSandboxClock(ctx context.Context, d time.Duration) (time.Duration, error) {
	var us int64
	err := db.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := db.exec(ctx, tx, "insClock"); err != nil {
			return err
		}
		if _, err := db.exec(ctx, tx, "addClock", d.Microseconds()); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, db.q["getClock"]).Scan(&us)
	})
	return time.Duration(us) * time.Microsecond, err
}
