package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jetonhq/jeton"
)

var _ jeton.PaymentStore = (*DB)(nil)

const (
	orderCols = `id, merchant_id, store_id, terminal_id, owner, type, purchase_order_id, reference_id, status, currency,
amount, tips, paid, refunded, tips_mode, callback_url, doc, created_at, updated_at, version`
	paymentCols = `id, merchant_id, order_id, terminal_id, owner, method, amount, tip, status, step, failure_reason, card,
transaction_id, void, capture, refund_reason, control, next_at, created_at, updated_at, version`
	txCols = `id, merchant_id, store_id, terminal_id, order_id, payment_id, owner, reference_id, type, amount, tip, fee,
currency, method, card, rrn, voided, receipt_key, created_at`
	terminalCols = `id, merchant_id, store_id, name, type, serial, manual, status, created_at`
	webhookCols  = `id, merchant_id, name, url, events, sealed, created_at`
)

func init() {
	queries["insOrder"] = `INSERT INTO saga_orders (` + orderCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`
	queries["refundOrder"] = `UPDATE saga_orders SET refunded = refunded + ?, version = version + 1 WHERE id = ? AND paid - refunded >= ?`
	queries["updOrder"] = `UPDATE saga_orders SET terminal_id = ?, reference_id = ?, status = ?, currency = ?, amount = ?, tips = ?, paid = ?,
tips_mode = ?, callback_url = ?, doc = ?, updated_at = ?, version = version + 1 WHERE id = ? AND version = ?`
	queries["getOrder"] = `SELECT ` + orderCols + ` FROM saga_orders WHERE merchant_id = ? AND id = ?`
	queries["insPayment"] = `INSERT INTO saga_payments (` + paymentCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`
	queries["updPayment"] = `UPDATE saga_payments SET amount = ?, tip = ?, status = ?, step = ?, failure_reason = ?, card = ?, transaction_id = ?,
void = ?, capture = ?, control = ?, next_at = ?, updated_at = ?, version = version + 1 WHERE id = ? AND version = ?`
	queries["activePayment"] = `SELECT ` + paymentCols + ` FROM saga_payments WHERE terminal_id = ? AND status IN ('PAYMENT_INITIATED', 'PAYMENT_PROCESSING', 'PAYMENT_PROCESSED') ORDER BY created_at DESC LIMIT 1`
	queries["getPayment"] = `SELECT ` + paymentCols + ` FROM saga_payments WHERE merchant_id = ? AND id = ?`
	queries["getPaymentAny"] = `SELECT ` + paymentCols + ` FROM saga_payments WHERE id = ?`
	queries["orderPayments"] = `SELECT ` + paymentCols + ` FROM saga_payments WHERE order_id = ? ORDER BY created_at, id`
	queries["duePayments"] = `SELECT id FROM saga_payments WHERE next_at IS NOT NULL AND next_at <= ? ORDER BY next_at LIMIT ?`
	queries["insTx"] = `INSERT INTO saga_transactions (` + txCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	queries["captureTx"] = `UPDATE saga_transactions SET amount = ?, fee = ?, tip = ? WHERE id = ?`
	queries["txReceipt"] = `SELECT ` + txCols + ` FROM saga_transactions WHERE receipt_key = ?`
	queries["settings"] = `SELECT merchant_id, kind, level, level_id, doc, updated_at FROM saga_settings WHERE merchant_id = ? AND kind = ?`
	queries["putSetting"] = `INSERT INTO saga_settings (merchant_id, kind, level, level_id, doc, updated_at) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (merchant_id, kind, level, level_id) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at`
	queries["delSetting"] = `DELETE FROM saga_settings WHERE merchant_id = ? AND kind = ? AND level = ? AND level_id = ?`
	queries["insOutbox"] = `INSERT INTO saga_outbox (id, merchant_id, kind, target, ref, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`
	queries["outbox"] = `SELECT id, merchant_id, kind, target, ref, body, created_at FROM saga_outbox WHERE merchant_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`
	queries["voidTx"] = `UPDATE saga_transactions SET voided = 1 WHERE id = ?`
	queries["insAdj"] = `INSERT INTO saga_adjustments (id, merchant_id, order_id, payment_id, type, amount, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`
	queries["orderAdj"] = `SELECT id, merchant_id, order_id, payment_id, type, amount, created_at FROM saga_adjustments WHERE order_id = ? ORDER BY created_at, id`
	queries["insTerminal"] = `INSERT INTO saga_terminals (` + terminalCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	queries["terminalSerial"] = `SELECT ` + terminalCols + ` FROM saga_terminals WHERE serial = ?`
	queries["getTerminal"] = `SELECT ` + terminalCols + ` FROM saga_terminals WHERE merchant_id = ? AND id = ?`
	queries["insWebhook"] = `INSERT INTO saga_webhooks (` + webhookCols + `) VALUES (?, ?, ?, ?, ?, ?, ?)`
	queries["listWebhooks"] = `SELECT ` + webhookCols + ` FROM saga_webhooks WHERE merchant_id = ? AND deleted_at IS NULL ORDER BY created_at, id`
	queries["getWebhook"] = `SELECT ` + webhookCols + ` FROM saga_webhooks WHERE merchant_id = ? AND id = ? AND deleted_at IS NULL`
	queries["delWebhook"] = `UPDATE saga_webhooks SET deleted_at = ? WHERE merchant_id = ? AND id = ? AND deleted_at IS NULL`
}

func orderArgs(o *jeton.Order) []any {
	return []any{o.ID, o.MerchantID, o.StoreID, o.TerminalID, o.Owner, string(o.Type), o.PurchaseOrderID, o.ReferenceID, string(o.Status),
		o.Currency, o.Amount, o.Tips, o.Paid, o.Refunded, o.TipsMode, o.CallbackURL, string(o.Doc), micros(o.CreatedAt), micros(o.UpdatedAt)}
}

func scanOrder(s scanner) (jeton.Order, error) {
	var o jeton.Order
	var doc string
	var created, updated int64
	err := s.Scan(&o.ID, &o.MerchantID, &o.StoreID, &o.TerminalID, &o.Owner, &o.Type, &o.PurchaseOrderID, &o.ReferenceID, &o.Status,
		&o.Currency, &o.Amount, &o.Tips, &o.Paid, &o.Refunded, &o.TipsMode, &o.CallbackURL, &doc, &created, &updated, &o.Version)
	o.Doc = json.RawMessage(doc)
	o.CreatedAt, o.UpdatedAt = fromMicros(created), fromMicros(updated)
	return o, err
}

func cardJSON(c *jeton.Card) string {
	if c == nil {
		return ""
	}
	b, _ := json.Marshal(c)
	return string(b)
}

func scanPayment(s scanner) (jeton.Payment, error) {
	var p jeton.Payment
	var card, control string
	var next sql.NullInt64
	var created, updated int64
	err := s.Scan(&p.ID, &p.MerchantID, &p.OrderID, &p.TerminalID, &p.Owner, &p.Method, &p.Amount, &p.Tip, &p.Status, &p.Step,
		&p.FailureReason, &card, &p.TransactionID, &p.Void, &p.Capture, &p.RefundReason, &control, &next, &created, &updated, &p.Version)
	if err != nil {
		return p, err
	}
	if card != "" {
		p.Card = new(jeton.Card)
		if err := json.Unmarshal([]byte(card), p.Card); err != nil {
			return p, fmt.Errorf("payment %s card: %w", p.ID, err)
		}
	}
	if next.Valid {
		p.NextAt = fromMicros(next.Int64)
	}
	if control != "" {
		p.Control = json.RawMessage(control)
	}
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	return p, nil
}

func scanTx(s scanner) (jeton.Transaction, error) {
	var t jeton.Transaction
	var card string
	var voided, created int64
	err := s.Scan(&t.ID, &t.MerchantID, &t.StoreID, &t.TerminalID, &t.OrderID, &t.PaymentID, &t.Owner, &t.ReferenceID, &t.Type,
		&t.Amount, &t.Tip, &t.Fee, &t.Currency, &t.Method, &card, &t.RRN, &voided, &t.ReceiptKey, &created)
	if err != nil {
		return t, err
	}
	if card != "" {
		if err := json.Unmarshal([]byte(card), &t.Card); err != nil {
			return t, fmt.Errorf("transaction %s card: %w", t.ID, err)
		}
	}
	t.Voided, t.CreatedAt = voided == 1, fromMicros(created)
	return t, nil
}

// errRefundExceeds refuses a refund above what is left of its purchase.
var errRefundExceeds = jeton.Errorf(jeton.KindInvalid, jeton.KeyAmountInvalid, "the refund exceeds what is left of the purchase")

// errPaymentStale fails a change whose order or payment moved on since it
// was read.
func errPaymentStale(what, id string) error {
	return jeton.Errorf(jeton.KindConflict, jeton.KeyConflict, "%s %s changed concurrently; read it again", what, id)
}

// WritePayments applies one change of the payments engine atomically.
func (db *DB) WritePayments(ctx context.Context, ch jeton.PaymentChange) error {
	err := db.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if o := ch.Order; o != nil {
			if ch.NewOrder {
				if _, err := db.exec(ctx, tx, "insOrder", orderArgs(o)...); err != nil {
					return fmt.Errorf("insert order: %w", err)
				}
			} else {
				res, err := db.exec(ctx, tx, "updOrder", o.TerminalID, o.ReferenceID, string(o.Status), o.Currency, o.Amount, o.Tips, o.Paid,
					o.TipsMode, o.CallbackURL, string(o.Doc), micros(o.UpdatedAt), o.ID, o.Version)
				if err != nil {
					return fmt.Errorf("update order: %w", err)
				}
				if n, _ := res.RowsAffected(); n != 1 {
					return errPaymentStale("order", o.ID)
				}
			}
		}
		if p := ch.Payment; p != nil {
			if ch.NewPayment {
				if _, err := db.exec(ctx, tx, "insPayment", p.ID, p.MerchantID, p.OrderID, p.TerminalID, p.Owner, p.Method, p.Amount, p.Tip,
					string(p.Status), p.Step, p.FailureReason, cardJSON(p.Card), p.TransactionID, p.Void, p.Capture, p.RefundReason,
					string(p.Control), nullTime(p.NextAt), micros(p.CreatedAt), micros(p.UpdatedAt)); err != nil {
					return fmt.Errorf("insert payment: %w", err)
				}
			} else {
				res, err := db.exec(ctx, tx, "updPayment", p.Amount, p.Tip, string(p.Status), p.Step, p.FailureReason, cardJSON(p.Card),
					p.TransactionID, p.Void, p.Capture, string(p.Control), nullTime(p.NextAt), micros(p.UpdatedAt), p.ID, p.Version)
				if err != nil {
					return fmt.Errorf("update payment: %w", err)
				}
				if n, _ := res.RowsAffected(); n != 1 {
					return errPaymentStale("payment", p.ID)
				}
			}
		}
		for _, t := range ch.Transactions {
			c := t.Card
			voided := 0
			if t.Voided {
				voided = 1
			}
			if _, err := db.exec(ctx, tx, "insTx", t.ID, t.MerchantID, t.StoreID, t.TerminalID, t.OrderID, t.PaymentID, t.Owner, t.ReferenceID,
				string(t.Type), t.Amount, t.Tip, t.Fee, t.Currency, t.Method, cardJSON(&c), t.RRN, voided, t.ReceiptKey, micros(t.CreatedAt)); err != nil {
				return fmt.Errorf("insert transaction: %w", err)
			}
		}
		if r := ch.Refund; r != nil {
			// The purchase's refunded total grows only while it stays
			// within what was paid: refunds raced side by side cannot
			// add up to more, and the purchase's version moves, so a
			// void or capture read before this refund fails.
			res, err := db.exec(ctx, tx, "refundOrder", r.Amount, r.PurchaseOrderID, r.Amount)
			if err != nil {
				return fmt.Errorf("refund: %w", err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return errRefundExceeds
			}
		}
		if c := ch.Captured; c != nil {
			if _, err := db.exec(ctx, tx, "captureTx", c.Amount, c.Fee, c.Tip, c.ID); err != nil {
				return fmt.Errorf("capture transaction: %w", err)
			}
		}
		for _, id := range ch.Voided {
			if _, err := db.exec(ctx, tx, "voidTx", id); err != nil {
				return fmt.Errorf("void transaction: %w", err)
			}
		}
		for _, a := range ch.Adjustments {
			if _, err := db.exec(ctx, tx, "insAdj", a.ID, a.MerchantID, a.OrderID, a.PaymentID, a.Type, a.Amount, micros(a.CreatedAt)); err != nil {
				return fmt.Errorf("insert adjustment: %w", err)
			}
		}
		for _, c := range ch.Webhooks {
			if err := db.insertCallback(ctx, tx, c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if ch.Order != nil {
		ch.Order.Version++
		if ch.NewOrder {
			ch.Order.Version = 1
		}
	}
	if ch.Payment != nil {
		ch.Payment.Version++
		if ch.NewPayment {
			ch.Payment.Version = 1
		}
	}
	db.callbacksDue(callbackIDs(ch.Webhooks))
	return nil
}

// Order returns one of the merchant's orders.
func (db *DB) Order(ctx context.Context, merchantID, id string) (jeton.Order, error) {
	o, err := scanOrder(db.r.QueryRowContext(ctx, db.q["getOrder"], merchantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return o, jeton.Errorf(jeton.KindNotFound, jeton.KeyOrderNotFound, "Order not found")
	}
	return o, err
}

// Payment returns one of the merchant's payments.
func (db *DB) Payment(ctx context.Context, merchantID, id string) (jeton.Payment, error) {
	p, err := scanPayment(db.r.QueryRowContext(ctx, db.q["getPayment"], merchantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, jeton.Errorf(jeton.KindNotFound, jeton.KeyPaymentNotFound, "Payment not found")
	}
	return p, err
}

// PaymentAny returns a payment whatever its merchant (the engine's own
// lookups; never reachable from a request).
func (db *DB) PaymentAny(ctx context.Context, id string) (jeton.Payment, error) {
	p, err := scanPayment(db.r.QueryRowContext(ctx, db.q["getPaymentAny"], id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, jeton.Errorf(jeton.KindNotFound, jeton.KeyPaymentNotFound, "Payment not found")
	}
	return p, err
}

// OrderPayments returns an order's payments, oldest first.
func (db *DB) OrderPayments(ctx context.Context, orderID string) ([]jeton.Payment, error) {
	rows, err := db.r.QueryContext(ctx, db.q["orderPayments"], orderID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []jeton.Payment{}
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Transactions lists transactions newest first, one page at a time.
func (db *DB) Transactions(ctx context.Context, f jeton.TransactionFilter) ([]jeton.Transaction, int, error) {
	cond, args := []string{"merchant_id = ?"}, []any{f.MerchantID}
	if f.Owner != "" {
		cond, args = append(cond, "owner = ?"), append(args, f.Owner)
	}
	if f.Ref != "" {
		cond, args = append(cond, "(order_id = ? OR payment_id = ? OR id = ?)"), append(args, f.Ref, f.Ref, f.Ref)
	}
	if f.Query != "" {
		cond = append(cond, "(order_id = ? OR payment_id = ? OR id = ? OR reference_id = ? OR CAST(amount AS TEXT) = ?)")
		args = append(args, f.Query, f.Query, f.Query, f.Query, f.Query)
	}
	if !f.From.IsZero() {
		cond, args = append(cond, "created_at >= ?"), append(args, micros(f.From))
	}
	if !f.To.IsZero() {
		cond, args = append(cond, "created_at < ?"), append(args, micros(f.To))
	}
	where := strings.Join(cond, " AND ")
	var total int
	if err := db.r.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) FROM saga_transactions WHERE `+where), args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	per := max(f.PerPage, 1)
	page := max(f.Page, 1)
	rows, err := db.r.QueryContext(ctx, db.d.rebind(`SELECT `+txCols+` FROM saga_transactions WHERE `+where+` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`),
		append(args, per, (page-1)*per)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []jeton.Transaction{}
	for rows.Next() {
		t, err := scanTx(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, t)
	}
	return out, total, rows.Err()
}

// Adjustments returns an order's adjustments, oldest first.
func (db *DB) Adjustments(ctx context.Context, orderID string) ([]jeton.Adjustment, error) {
	rows, err := db.r.QueryContext(ctx, db.q["orderAdj"], orderID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []jeton.Adjustment{}
	for rows.Next() {
		var a jeton.Adjustment
		var at int64
		if err := rows.Scan(&a.ID, &a.MerchantID, &a.OrderID, &a.PaymentID, &a.Type, &a.Amount, &at); err != nil {
			return nil, err
		}
		a.CreatedAt = fromMicros(at)
		out = append(out, a)
	}
	return out, rows.Err()
}

// DuePayments returns payments whose sandbox terminal acts by now.
func (db *DB) DuePayments(ctx context.Context, now time.Time, limit int) ([]string, error) {
	return db.dueIDs(ctx, "duePayments", now, limit)
}

func scanTerminal(s scanner) (jeton.Terminal, error) {
	var t jeton.Terminal
	var manual, created int64
	err := s.Scan(&t.ID, &t.MerchantID, &t.StoreID, &t.Name, &t.Type, &t.Serial, &manual, &t.Status, &created)
	t.Manual, t.CreatedAt = manual == 1, fromMicros(created)
	return t, err
}

// RegisterTerminal stores t, or returns the terminal already registered
// under its serial.
func (db *DB) RegisterTerminal(ctx context.Context, t jeton.Terminal) (jeton.Terminal, bool, error) {
	out, created := t, false
	err := db.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		have, err := scanTerminal(tx.QueryRowContext(ctx, db.q["terminalSerial"], t.Serial))
		if err == nil {
			out, created = have, false
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		manual := 0
		if t.Manual {
			manual = 1
		}
		if _, err := db.exec(ctx, tx, "insTerminal", t.ID, t.MerchantID, t.StoreID, t.Name, t.Type, t.Serial, manual, t.Status, micros(t.CreatedAt)); err != nil {
			return fmt.Errorf("insert terminal: %w", err)
		}
		out, created = t, true
		return nil
	})
	return out, created, err
}

// Terminal returns one of the merchant's terminals.
func (db *DB) Terminal(ctx context.Context, merchantID, id string) (jeton.Terminal, error) {
	t, err := scanTerminal(db.r.QueryRowContext(ctx, db.q["getTerminal"], merchantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, jeton.Errorf(jeton.KindNotFound, jeton.KeyTerminalNotFound, "Terminal not found")
	}
	return t, err
}

// Terminals lists a merchant's terminals (of one store, unless storeID is
// empty), newest first.
func (db *DB) Terminals(ctx context.Context, merchantID, storeID string, page, perPage int) ([]jeton.Terminal, int, error) {
	cond, args := "merchant_id = ?", []any{merchantID}
	if storeID != "" {
		cond, args = cond+" AND store_id = ?", append(args, storeID)
	}
	var total int
	if err := db.r.QueryRowContext(ctx, db.d.rebind(`SELECT COUNT(*) FROM saga_terminals WHERE `+cond), args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := db.r.QueryContext(ctx, db.d.rebind(`SELECT `+terminalCols+` FROM saga_terminals WHERE `+cond+` ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`),
		append(args, perPage, (max(page, 1)-1)*perPage)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []jeton.Terminal{}
	for rows.Next() {
		t, err := scanTerminal(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, t)
	}
	return out, total, rows.Err()
}

// CreateWebhookEndpoint stores an endpoint with its sealed secret.
func (db *DB) CreateWebhookEndpoint(ctx context.Context, e jeton.WebhookEndpoint) error {
	events, _ := json.Marshal(e.Events)
	if e.Events == nil {
		events = []byte("[]")
	}
	return db.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := db.exec(ctx, tx, "insWebhook", e.ID, e.MerchantID, e.Name, e.URL, string(events), base64.StdEncoding.EncodeToString(e.Sealed), micros(e.CreatedAt))
		return err
	})
}

func scanWebhook(s scanner) (jeton.WebhookEndpoint, error) {
	var e jeton.WebhookEndpoint
	var events, sealed string
	var created int64
	if err := s.Scan(&e.ID, &e.MerchantID, &e.Name, &e.URL, &events, &sealed, &created); err != nil {
		return e, err
	}
	if err := json.Unmarshal([]byte(events), &e.Events); err != nil {
		return e, fmt.Errorf("webhook %s events: %w", e.ID, err)
	}
	b, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil {
		return e, fmt.Errorf("webhook %s secret: %w", e.ID, err)
	}
	e.Sealed, e.CreatedAt = b, fromMicros(created)
	return e, nil
}

// WebhookEndpoints lists a merchant's endpoints, oldest first.
func (db *DB) WebhookEndpoints(ctx context.Context, merchantID string) ([]jeton.WebhookEndpoint, error) {
	rows, err := db.r.QueryContext(ctx, db.q["listWebhooks"], merchantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []jeton.WebhookEndpoint{}
	for rows.Next() {
		e, err := scanWebhook(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// WebhookEndpoint returns one of the merchant's endpoints.
func (db *DB) WebhookEndpoint(ctx context.Context, merchantID, id string) (jeton.WebhookEndpoint, error) {
	e, err := scanWebhook(db.r.QueryRowContext(ctx, db.q["getWebhook"], merchantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return e, jeton.Errorf(jeton.KindNotFound, jeton.KeyWebhookNotFound, "Webhook not found")
	}
	return e, err
}

// DeleteWebhookEndpoint retires an endpoint; webhooks already stored for
// it fail at their next attempt.
func (db *DB) DeleteWebhookEndpoint(ctx context.Context, merchantID, id string) error {
	return db.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, "delWebhook", micros(time.Now()), merchantID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return jeton.Errorf(jeton.KindNotFound, jeton.KeyWebhookNotFound, "Webhook not found")
		}
		return nil
	})
}

// TransactionByReceipt finds the transaction of a receipt page.
func (db *DB) TransactionByReceipt(ctx context.Context, key string) (jeton.Transaction, error) {
	t, err := scanTx(db.r.QueryRowContext(ctx, db.q["txReceipt"], key))
	if errors.Is(err, sql.ErrNoRows) {
		return t, jeton.Errorf(jeton.KindNotFound, jeton.KeyNotFound, "Receipt not found")
	}
	return t, err
}

// Settings returns every level of a merchant's settings of one kind.
func (db *DB) Settings(ctx context.Context, merchantID, kind string) ([]jeton.Setting, error) {
	rows, err := db.r.QueryContext(ctx, db.q["settings"], merchantID, kind)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []jeton.Setting
	for rows.Next() {
		var s jeton.Setting
		var doc string
		var at int64
		if err := rows.Scan(&s.MerchantID, &s.Kind, &s.Level, &s.LevelID, &doc, &at); err != nil {
			return nil, err
		}
		s.Doc, s.UpdatedAt = json.RawMessage(doc), fromMicros(at)
		out = append(out, s)
	}
	return out, rows.Err()
}

// PutSetting stores one level's settings, replacing what it had.
func (db *DB) PutSetting(ctx context.Context, s jeton.Setting) error {
	return db.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := db.exec(ctx, tx, "putSetting", s.MerchantID, s.Kind, s.Level, s.LevelID, string(s.Doc), micros(s.UpdatedAt))
		return err
	})
}

// DeleteSetting removes one level's settings.
func (db *DB) DeleteSetting(ctx context.Context, merchantID, kind, level, levelID string) error {
	return db.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := db.exec(ctx, tx, "delSetting", merchantID, kind, level, levelID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return jeton.Errorf(jeton.KindNotFound, jeton.KeyNotFound, "No configuration at this level")
		}
		return nil
	})
}

// AddOutbox records a receipt the sandbox sent.
func (db *DB) AddOutbox(ctx context.Context, m jeton.OutboxMessage) error {
	return db.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := db.exec(ctx, tx, "insOutbox", m.ID, m.MerchantID, m.Kind, m.Target, m.Ref, string(m.Body), micros(m.CreatedAt))
		return err
	})
}

// Outbox lists the receipts the sandbox sent for a merchant, newest first.
func (db *DB) Outbox(ctx context.Context, merchantID string, limit int) ([]jeton.OutboxMessage, error) {
	rows, err := db.r.QueryContext(ctx, db.q["outbox"], merchantID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []jeton.OutboxMessage{}
	for rows.Next() {
		var m jeton.OutboxMessage
		var body string
		var at int64
		if err := rows.Scan(&m.ID, &m.MerchantID, &m.Kind, &m.Target, &m.Ref, &body, &at); err != nil {
			return nil, err
		}
		m.Body, m.CreatedAt = json.RawMessage(body), fromMicros(at)
		out = append(out, m)
	}
	return out, rows.Err()
}

// ActivePayment returns the payment under way on a terminal.
func (db *DB) ActivePayment(ctx context.Context, terminalID string) (jeton.Payment, error) {
	p, err := scanPayment(db.r.QueryRowContext(ctx, db.q["activePayment"], terminalID))
	if errors.Is(err, sql.ErrNoRows) {
		return p, jeton.Errorf(jeton.KindNotFound, jeton.KeyPaymentNotFound, "No payment is under way on this terminal")
	}
	return p, err
}
