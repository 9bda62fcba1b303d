package payment

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"math"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/callback"
	"github.com/jetonhq/jeton/internal/ids"
)

// Capture captures a delayed-capture (or PRE-AUTH) payment. amount,
// when not 0, sets the final amount of a PRE-AUTH payment, at most what
// was authorized. The sandbox acquirer captures at once.
func (s *Service) Capture(ctx context.Context, c Caller, id string, amount int64) error {
	if err := merchantOnly(c, "captures"); err != nil {
		return err
	}
	for {
		p, err := s.Payment(ctx, c, id)
		if err != nil {
			return err
		}
		switch {
		case p.Capture == "":
			return conflict(jeton.KeyPaymentState, "the payment was captured with the sale: only delayCapture and PRE-AUTH payments are captured later")
		case p.Capture == "SUCCESS":
			return nil
		case p.Status != jeton.PaymentCompleted:
			return conflict(jeton.KeyPaymentState, "the payment is %s: only an authorized (completed) payment is captured", p.Status)
		case p.Void != "":
			return conflict(jeton.KeyPaymentState, "the payment was voided")
		}
		o, err := s.cfg.Store.Order(ctx, c.MerchantID, p.OrderID)
		if err != nil {
			return err
		}
		charged := p.Amount + p.Tip
		final := charged
		if amount != 0 {
			if authMode(o.Doc) != "PRE-AUTH" {
				return jeton.Errorf(jeton.KindInvalid, jeton.KeyAmountInvalid, "amount: only a PRE-AUTH payment's capture sets its amount")
			}
			if amount < 0 || amount > charged {
				return jeton.Errorf(jeton.KindInvalid, jeton.KeyAmountInvalid, "amount: at most the %d authorized", charged)
			}
			final = amount
		}
		if o.Paid-(charged-final) < o.Refunded {
			return jeton.Errorf(jeton.KindInvalid, jeton.KeyAmountInvalid, "amount: %d is refunded already", o.Refunded)
		}
		now := s.now()
		p.Capture, p.UpdatedAt = "SUCCESS", now
		ch := jeton.PaymentChange{Order: &o, Payment: &p}
		if final != charged {
			p.Amount = final - p.Tip
			if p.Amount < 0 { // the final amount is below the tip: the tip shrinks
				o.Tips -= p.Tip - final
				p.Tip, p.Amount = final, 0
			}
			o.Paid -= charged - final
			o.UpdatedAt = now
			ch.Captured = &jeton.Transaction{ID: p.TransactionID, Amount: final, Fee: Fee(final), Tip: p.Tip}
			if ch.Webhooks, err = s.webhooks(ctx, o, callback.EventOrderUpdated, "", orderData(o, nil), now); err != nil {
				return err
			}
		}
		err = s.cfg.Store.WritePayments(ctx, ch)
		if jeton.ErrorKey(err) == jeton.KeyConflict {
			continue
		}
		return err
	}
}

func authMode(doc json.RawMessage) string {
	var d struct {
		ControlFunctions struct {
			AuthMode string `json:"authMode"`
		} `json:"controlFunctions"`
	}
	_ = json.Unmarshal(doc, &d)
	return d.ControlFunctions.AuthMode
}

// refundable is what is left to refund of a purchase.
func refundable(purchase jeton.Order) int64 { return purchase.Paid - purchase.Refunded }

func receiptKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ReportRow is one settlement report: the totals of one day or month of
// transactions. Amounts are minor units; voided transactions count for
// nothing.
type ReportRow struct {
	PayoutID    string
	Type        string // DAILY or MONTHLY
	Start, End  time.Time
	TotalSale   int64 // purchases, tips included
	TotalRefund int64
	Tips        int64
	Fee         int64
	Payout      int64 // sales - refunds - fees
	Count       int
}

// errOverflow refuses a total that would not fit.
var errOverflow = jeton.Errorf(jeton.KindInvalid, jeton.KeyAmountInvalid, "the totals of this period overflow; ask for a shorter period")

func add(a, b int64) (int64, bool) {
	if b > 0 && a > math.MaxInt64-b || b < 0 && a < math.MinInt64-b {
		return 0, false
	}
	return a + b, true
}

// Report sums the caller's transactions from from to to (exclusive) by
// UTC day or month, newest period first.
func (s *Service) Report(ctx context.Context, c Caller, from, to time.Time, monthly bool) ([]ReportRow, error) {
	if to.IsZero() {
		to = s.now() // pinned: what completes while the report pages is left out
	}
	byPeriod := map[time.Time]*ReportRow{}
	for page := 1; ; page++ {
		txs, total, err := s.Transactions(ctx, c, jeton.TransactionFilter{From: from, To: to, Page: page, PerPage: 1000})
		if err != nil {
			return nil, err
		}
		for _, t := range txs {
			if t.Voided {
				continue
			}
			day := t.CreatedAt.UTC().Truncate(24 * time.Hour)
			start, end := day, day.AddDate(0, 0, 1)
			if monthly {
				start = time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, time.UTC)
				end = start.AddDate(0, 1, 0)
			}
			r := byPeriod[start]
			if r == nil {
				r = &ReportRow{Start: start, End: end, Type: "DAILY"}
				if monthly {
					r.Type = "MONTHLY"
				}
				byPeriod[start] = r
			}
			var ok1, ok2, ok3 bool
			if t.Type == jeton.OrderReturn {
				r.TotalRefund, ok1 = add(r.TotalRefund, t.Amount)
				ok2 = true
			} else {
				r.TotalSale, ok1 = add(r.TotalSale, t.Amount)
				r.Tips, ok2 = add(r.Tips, t.Tip)
			}
			r.Fee, ok3 = add(r.Fee, t.Fee)
			if !ok1 || !ok2 || !ok3 {
				return nil, errOverflow
			}
			r.Count++
		}
		if page*1000 >= total {
			break
		}
	}
	out := make([]ReportRow, 0, len(byPeriod))
	for _, r := range byPeriod {
		p, ok1 := add(r.TotalSale, -r.TotalRefund)
		p, ok2 := add(p, -r.Fee)
		if !ok1 || !ok2 {
			return nil, errOverflow
		}
		r.Payout = p
		r.PayoutID = c.MerchantID[:min(8, len(c.MerchantID))] + r.Start.Format("20060102") + r.Type[:1]
		out = append(out, *r)
	}
	sortRows(out)
	return out, nil
}

func sortRows(rs []ReportRow) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rs[j].Start.After(rs[j-1].Start); j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

// Receipt finds the transaction a receipt id names (a transaction,
// payment or order id) among what the caller may see.
func (s *Service) Receipt(ctx context.Context, c Caller, id string) (jeton.Transaction, error) {
	txs, _, err := s.Transactions(ctx, c, jeton.TransactionFilter{Ref: id, PerPage: 1})
	if err != nil {
		return jeton.Transaction{}, err
	}
	if len(txs) == 0 {
		return jeton.Transaction{}, notFound(jeton.KeyNotFound, "Receipt")
	}
	return txs[0], nil
}

// ReceiptByKey finds the transaction of a receipt page.
func (s *Service) ReceiptByKey(ctx context.Context, key string) (jeton.Transaction, error) {
	return s.cfg.Store.TransactionByReceipt(ctx, key)
}

// SendReceipt records a receipt sent by email or to a terminal's printer
// in the sandbox outbox.
func (s *Service) SendReceipt(ctx context.Context, t jeton.Transaction, kind, target string, body any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return s.cfg.Store.AddOutbox(ctx, jeton.OutboxMessage{ID: ids.Short(), MerchantID: t.MerchantID, Kind: kind, Target: target, Ref: t.ID, Body: raw, CreatedAt: s.now()})
}

// Outbox lists what the sandbox sent instead of mailing or printing.
func (s *Service) Outbox(ctx context.Context, merchantID string) ([]jeton.OutboxMessage, error) {
	return s.cfg.Store.Outbox(ctx, merchantID, 100)
}
