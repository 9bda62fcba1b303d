package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jetonhq/jeton"
)

var (
	_ jeton.CallbackStore = (*DB)(nil)
	_ jeton.SandboxStore  = (*DB)(nil)
)

const callbackCols = `delivery_id, merchant_id, trade_id, kind, event, body, created_at, state, attempts, last_at`

func init() {
	queries["insCallback"] = `INSERT INTO callbacks (delivery_id, merchant_id, trade_id, kind, event, body, created_at, state, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)`
	queries["getCallback"] = `SELECT ` + callbackCols + ` FROM callbacks WHERE merchant_id = ? AND delivery_id = ?`
	queries["insAttempt"] = `INSERT INTO callback_attempts (delivery_id, merchant_id, trade_id, kind, event, attempt, url, status_code, latency_us, outcome, error, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	queries["touchCallback"] = `UPDATE callbacks SET attempts = attempts + 1, last_at = ?, state = CASE WHEN ? = '' THEN state ELSE ? END WHERE delivery_id = ?`
	queries["stateCallback"] = `UPDATE callbacks SET state = ? WHERE delivery_id = ?`
	queries["attempts"] = `SELECT delivery_id, merchant_id, trade_id, kind, event, attempt, url, status_code, latency_us, outcome, error, at FROM callback_attempts WHERE merchant_id = ? AND delivery_id = ? ORDER BY seq`
	queries["setCallbackURL"] = `UPDATE merchants SET callback_url = ? WHERE id = ?`
	queries["setCollateral"] = `UPDATE merchants SET merchant_collateral = ? WHERE id = ?`

	queries["insOffer"] = `INSERT INTO sandbox_offers (id, trade_id, game, direction, steam_id, trade_url, created_at, control, control_at) VALUES (?, ?, ?, ?, ?, ?, ?, '', 0) ON CONFLICT (trade_id) DO NOTHING`
	queries["getOffer"] = `SELECT id, trade_id, game, direction, steam_id, trade_url, created_at, control, control_at FROM sandbox_offers WHERE id = ?`
	queries["getOfferTrade"] = `SELECT id, trade_id, game, direction, steam_id, trade_url, created_at, control, control_at FROM sandbox_offers WHERE trade_id = ?`
	queries["setControl"] = `UPDATE sandbox_offers SET control = ?, control_at = ? WHERE id = ?`
	queries["getClock"] = `SELECT offset_us FROM sandbox_clock WHERE id = 1`
	queries["insClock"] = `INSERT INTO sandbox_clock (id, offset_us) VALUES (1, 0) ON CONFLICT (id) DO NOTHING`
	queries["addClock"] = `UPDATE sandbox_clock SET offset_us = offset_us + ? WHERE id = 1`
}

// setMerchant changes one merchant setting and records a credential
// event, so every instance drops its cached copy of the merchant.
func (db *DB) setMerchant(ctx context.Context, q, merchantID string, v any) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
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
	var last sql.NullInt64
	if err := s.Scan(&c.DeliveryID, &c.MerchantID, &c.TradeID, &c.Kind, &c.Event, &body, &created, &c.State, &c.Attempts, &last); err != nil {
		return c, err
	}
	c.Body = []byte(body)
	c.CreatedAt = fromMicros(created)
	c.LastAt = ptrTime(last)
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

// Callbacks lists callbacks newest first.
func (db *DB) Callbacks(ctx context.Context, merchantID, tradeID string, limit, offset int) ([]jeton.Callback, int, error) {
	cond, args := "merchant_id = ?", []any{merchantID}
	if tradeID != "" {
		cond, args = cond+" AND trade_id = ?", append(args, tradeID)
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

// CallbackAttempts lists a delivery's attempts, oldest first.
func (db *DB) CallbackAttempts(ctx context.Context, merchantID, deliveryID string) ([]jeton.CallbackAttempt, error) {
	rows, err := db.r.QueryContext(ctx, db.q["attempts"], merchantID, deliveryID)
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

// RecordAttempts stores a batch of attempts in one transaction.
//
// A status attempt updates its callback's count, time and (when it ends
// the delivery) state in one statement.
func (db *DB) RecordAttempts(ctx context.Context, as []jeton.CallbackAttempt, delivered, failed []string) error {
	ends := make(map[string]string, len(delivered)+len(failed))
	for _, id := range delivered {
		ends[id] = jeton.CallbackDelivered
	}
	for _, id := range failed {
		ends[id] = jeton.CallbackFailed
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		for _, a := range as {
			if _, err := db.exec(ctx, tx, "insAttempt", a.DeliveryID, a.MerchantID, a.TradeID, a.Kind, a.Event, a.Attempt, a.URL, a.StatusCode,
				a.Latency.Microseconds(), a.Outcome, a.Error, micros(a.At)); err != nil {
				return fmt.Errorf("attempt: %w", err)
			}
			if a.Kind != jeton.CallbackStatus {
				continue
			}
			end := ends[a.DeliveryID]
			delete(ends, a.DeliveryID)
			if _, err := db.exec(ctx, tx, "touchCallback", micros(a.At), end, end, a.DeliveryID); err != nil {
				return err
			}
		}
		for id, state := range ends { // ended without an attempt in this batch
			if _, err := db.exec(ctx, tx, "stateCallback", state, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// Redeliver marks a delivered or failed callback pending and enqueues its
// delivery again. A callback still pending already has a job retrying it;
// a second one would deliver it twice at once, so that is refused.
func (db *DB) Redeliver(ctx context.Context, merchantID, deliveryID string, job jeton.Job) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, db.d.rebind(`UPDATE callbacks SET state = ? WHERE merchant_id = ? AND delivery_id = ? AND state <> ?`),
			jeton.CallbackPending, merchantID, deliveryID, jeton.CallbackPending)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			var one int
			err := tx.QueryRowContext(ctx, db.d.rebind(`SELECT 1 FROM callbacks WHERE merchant_id = ? AND delivery_id = ?`), merchantID, deliveryID).Scan(&one)
			if err == nil {
				return jeton.Errorf(jeton.KindConflict, jeton.KeyDeliveryPending, "callback %s is still being delivered; it is retried on its schedule", deliveryID)
			}
			return jeton.Errorf(jeton.KindNotFound, jeton.KeyDeliveryNotFound, "callback delivery not found")
		}
		return db.insertJobs(ctx, tx, []jeton.Job{job})
	})
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
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := db.exec(ctx, tx, "insOffer", o.ID, o.TradeID, o.Game, o.Direction, o.SteamID, o.TradeURL, micros(o.CreatedAt)); err != nil {
			return fmt.Errorf("sandbox offer: %w", err)
		}
		var err error
		out, err = scanOffer(tx.QueryRowContext(ctx, db.q["getOfferTrade"], o.TradeID))
		return err
	})
	return out, err
}

// SandboxOffer returns one sandbox offer.
func (db *DB) SandboxOffer(ctx context.Context, id string) (jeton.SandboxOffer, error) {
	o, err := scanOffer(db.r.QueryRowContext(ctx, db.q["getOffer"], id))
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
	err := db.inTx(ctx, func(tx *sql.Tx) error {
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
