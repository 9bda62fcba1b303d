package payment

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/callback"
	"github.com/jetonhq/jeton/internal/ids"
)

// errStale: the payment moved on while it was being advanced; whoever
// moved it left it due if there is more to do.
var errStale = errors.New("payment changed meanwhile")

// FeeRate is the sandbox's processing fee, in hundredths of a percent of
// the amount charged (tip included): 1.49%, rounded down.
const FeeRate = 149

// Fee is the sandbox fee on an amount.
func Fee(amount int64) int64 {
	if amount < 0 {
		amount = -amount
	}
	return amount/10000*FeeRate + amount%10000*FeeRate/10000
}

// advance moves one payment as far as its terminal has gone.
func (s *Service) advance(ctx context.Context, id string) error {
	var o jeton.Order
	var p jeton.Payment
	if h, ok := s.unhand(id); ok {
		o, p = h.o, h.p
	} else {
		var err error
		if p, err = s.cfg.Store.PaymentAny(ctx, id); err != nil {
			return err
		}
		if p.Status.Terminal() || p.NextAt.IsZero() || p.NextAt.After(s.now()) {
			return nil
		}
		if o, err = s.cfg.Store.Order(ctx, p.MerchantID, p.OrderID); err != nil {
			return err
		}
	}
	if p.Status.Terminal() || p.NextAt.IsZero() || p.NextAt.After(s.now()) {
		return nil
	}
	if p.Status == jeton.PaymentProcessed {
		return s.complete(ctx, o, p)
	}
	t, err := s.terminal(ctx, p.MerchantID, p.TerminalID)
	if err != nil {
		return err
	}
	tip, err := s.tipPrompt(ctx, o, t)
	if err != nil {
		return err
	}
	in := StepInput{Terminal: t, Order: o, Payment: p, Tip: tip, Now: s.now()}
	if len(p.Control) > 0 {
		if err := json.Unmarshal(p.Control, &in.Control); err != nil {
			return err
		}
	}
	out, err := s.cfg.Processor.Step(ctx, in)
	if err != nil {
		return err
	}
	if out.Tip < 0 || out.Tip > p.Amount {
		return errors.New("processor chose a tip out of range")
	}
	now := s.now()
	ch := jeton.PaymentChange{Order: &o, Payment: &p}
	for _, ev := range out.Events {
		p.Step = ev
		hooks, err := s.webhooks(ctx, o, callback.EventTerminal, t.ID, terminalData(o, p, ev), now)
		if err != nil {
			return err
		}
		ch.Webhooks = append(ch.Webhooks, hooks...)
	}
	p.UpdatedAt = now
	if out.Card != nil {
		c := *out.Card
		p.Card = &c
	}
	switch {
	case out.Wait:
		p.NextAt = out.Until
		if !p.NextAt.After(now) {
			p.NextAt = now.Add(time.Second)
		}
	case out.Approved:
		if out.Tip > 0 {
			p.Tip = out.Tip
			o.Tips += out.Tip
			ch.Adjustments = append(ch.Adjustments, jeton.Adjustment{ID: ids.Short(), MerchantID: o.MerchantID, OrderID: o.ID,
				PaymentID: p.ID, Type: "TIPS", Amount: out.Tip, CreatedAt: now})
		}
		if err := p.Move(jeton.PaymentProcessing, now); err != nil {
			return err
		}
		if err := p.Move(jeton.PaymentProcessed, now); err != nil {
			return err
		}
		p.TransactionID = ids.Short()
		o.Status, o.UpdatedAt = jeton.OrderPaymentProcessed, now
		d := paymentData(o, p)
		if p.Card != nil {
			d["truncatedPan"] = p.Card.TruncatedPan
		}
		hooks, err := s.webhooks(ctx, o, callback.EventPaymentProcessed, t.ID, d, now)
		if err != nil {
			return err
		}
		ch.Webhooks = append(ch.Webhooks, hooks...)
		// The sandbox acquirer settles at once: the payment completes in
		// the same write (both statuses are still announced, in order).
		if err := s.completeInto(ctx, &ch, now); err != nil {
			return err
		}
	case out.Declined != "" || out.Cancelled != "":
		to, ev, reason, key := jeton.PaymentFailed, callback.EventPaymentFailed, out.Declined, "failedTransactionDetails"
		ostatus := jeton.OrderPaymentFailed
		if out.Cancelled != "" {
			to, ev, reason, key, ostatus = jeton.PaymentCancelled, callback.EventPaymentCancelled, out.Cancelled, "cancelledTransactionDetails", jeton.OrderPaymentCancelled
		}
		if err := p.Move(to, now); err != nil {
			return err
		}
		p.FailureReason = reason
		o.Status, o.UpdatedAt = afterEnd(o, ostatus), now
		hooks, err := s.webhooks(ctx, o, ev, t.ID, failedData(o, p, key), now)
		if err != nil {
			return err
		}
		ch.Webhooks = append(ch.Webhooks, hooks...)
	default:
		return errors.New("processor gave no outcome")
	}
	err = s.write(ctx, ch)
	if ch.Refund != nil && jeton.ErrorKey(err) == jeton.KeyAmountInvalid {
		// Another refund of the purchase completed first and left too
		// little: this one fails.
		return s.failRefund(ctx, id)
	}
	return err
}

// failRefund ends a refund FAILED when its purchase has too little left.
func (s *Service) failRefund(ctx context.Context, id string) error {
	p, err := s.cfg.Store.PaymentAny(ctx, id)
	if err != nil || p.Status.Terminal() {
		return err
	}
	o, err := s.cfg.Store.Order(ctx, p.MerchantID, p.OrderID)
	if err != nil {
		return err
	}
	ch := jeton.PaymentChange{Order: &o, Payment: &p}
	if err := s.failInto(ctx, &ch, "Refund exceeds what is left of the purchase", s.now()); err != nil {
		return err
	}
	return s.write(ctx, ch)
}

// complete ends a payment left authorized (PROCESSED).
func (s *Service) complete(ctx context.Context, o jeton.Order, p jeton.Payment) error {
	ch := jeton.PaymentChange{Order: &o, Payment: &p}
	if err := s.completeInto(ctx, &ch, s.now()); err != nil {
		return err
	}
	return s.write(ctx, ch)
}

// completeInto ends the authorized payment of ch: the transaction is
// stored and the order paid; a refund that would exceed what is left of
// its purchase fails instead.
func (s *Service) completeInto(ctx context.Context, ch *jeton.PaymentChange, now time.Time) error {
	o, p := ch.Order, ch.Payment
	charged := p.Amount + p.Tip
	if o.Type == jeton.OrderReturn {
		// Refunds started side by side must not add up to more than
		// the purchase: the last to complete is refused.
		purchase, err := s.cfg.Store.Order(ctx, o.MerchantID, o.PurchaseOrderID)
		if err != nil {
			return err
		}
		if charged > refundable(purchase) {
			return s.failInto(ctx, ch, "Refund exceeds what is left of the purchase", now)
		}
		// The write itself checks it again, against refunds raced.
		ch.Refund = &jeton.RefundClaim{PurchaseOrderID: purchase.ID, Amount: charged}
	}
	if err := p.Move(jeton.PaymentCompleted, now); err != nil {
		return err
	}
	o.Paid += charged
	o.UpdatedAt = now
	switch {
	case o.Paid >= o.Amount+o.Tips:
		o.Status = jeton.OrderPaymentCompleted
	default:
		o.Status = jeton.OrderPartialPaymentCompleted
	}
	tx := jeton.Transaction{ID: p.TransactionID, MerchantID: o.MerchantID, StoreID: o.StoreID, TerminalID: p.TerminalID, OrderID: o.ID,
		PaymentID: p.ID, Owner: p.Owner, ReferenceID: o.ReferenceID, Type: o.Type, Amount: charged, Tip: p.Tip, Fee: Fee(charged),
		Currency: o.Currency, Method: p.Method, RRN: rrn(p.TransactionID), ReceiptKey: receiptKey(), CreatedAt: now}
	if p.Card != nil {
		tx.Card = *p.Card
	}
	d := paymentData(*o, *p)
	d["amount"] = strconv.FormatInt(charged, 10)
	d["type"] = string(o.Type)
	d["transactionDetails"] = []any{TransactionView(tx)}
	if p.Card != nil {
		d["truncatedPan"] = p.Card.TruncatedPan
	}
	hooks, err := s.webhooks(ctx, *o, callback.EventPaymentCompleted, p.TerminalID, d, now)
	if err != nil {
		return err
	}
	ch.Transactions = append(ch.Transactions, tx)
	ch.Webhooks = append(ch.Webhooks, hooks...)
	return nil
}

// failInto ends the authorized payment of ch FAILED after all.
func (s *Service) failInto(ctx context.Context, ch *jeton.PaymentChange, reason string, now time.Time) error {
	o, p := ch.Order, ch.Payment
	if err := p.Move(jeton.PaymentFailed, now); err != nil {
		return err
	}
	p.FailureReason = reason
	o.Status, o.UpdatedAt = afterEnd(*o, jeton.OrderPaymentFailed), now
	hooks, err := s.webhooks(ctx, *o, callback.EventPaymentFailed, p.TerminalID, failedData(*o, *p, "failedTransactionDetails"), now)
	if err != nil {
		return err
	}
	ch.Webhooks = append(ch.Webhooks, hooks...)
	return nil
}

// write stores a change of the engine; a conflict means someone else
// (a cancellation, another worker) moved the payment first.
func (s *Service) write(ctx context.Context, ch jeton.PaymentChange) error {
	err := s.cfg.Store.WritePayments(ctx, ch)
	if jeton.ErrorKey(err) == jeton.KeyConflict {
		return errStale
	}
	return err
}

// rrn is the sandbox acquirer's retrieval reference number: 12 digits
// derived from the transaction id.
func rrn(txID string) string {
	var n uint64
	for _, c := range txID {
		n = n*31 + uint64(c)
	}
	return strconv.FormatUint(100000000000+n%900000000000, 10)
}

// webhooks builds the outbox rows of one event for every endpoint of the
// merchant that takes it, and for the order's callBackUrl.
func (s *Service) webhooks(ctx context.Context, o jeton.Order, event, terminalID string, data any, now time.Time) ([]jeton.Callback, error) {
	eps, err := s.endpoints.get(o.MerchantID, func() ([]jeton.WebhookEndpoint, error) {
		return s.cfg.Store.WebhookEndpoints(ctx, o.MerchantID)
	})
	if err != nil {
		return nil, err
	}
	return callback.Webhooks(o.MerchantID, o.ID, event, terminalID, data, now, eps, o.CallbackURL)
}

func (s *Service) initiatedWebhooks(ctx context.Context, o jeton.Order, p jeton.Payment, now time.Time) ([]jeton.Callback, error) {
	d := paymentData(o, p)
	d["orderStatus"] = string(jeton.OrderPaymentInitiated)
	hooks, err := s.webhooks(ctx, o, callback.EventPaymentInitiated, p.TerminalID, d, now)
	if err != nil {
		return nil, err
	}
	more, err := s.webhooks(ctx, o, callback.EventTerminal, p.TerminalID, terminalData(o, p, p.Step), now)
	return append(hooks, more...), err
}

// adjustmentsView is an order's adjustments as webhooks carry them.
func adjustmentsView(o jeton.Order) []map[string]string {
	out := []map[string]string{}
	if o.Tips != 0 {
		out = append(out, map[string]string{"adjustmentType": "TIPS", "amount": strconv.FormatInt(o.Tips, 10)})
	}
	return out
}

// orderMetadata is the order's own metadata object, as given.
func orderMetadata(o jeton.Order) json.RawMessage {
	var d struct {
		Metadata json.RawMessage `json:"metadata"`
	}
	_ = json.Unmarshal(o.Doc, &d)
	if len(d.Metadata) == 0 {
		return json.RawMessage(`{}`)
	}
	return d.Metadata
}

func orderData(o jeton.Order, extra map[string]any) map[string]any {
	d := map[string]any{"orderId": o.ID, "merchantId": o.MerchantID, "referenceId": o.ReferenceID,
		"adjustments": adjustmentsView(o), "metadata": orderMetadata(o)}
	if o.Status == jeton.OrderCancelled {
		d["orderStatus"] = string(o.Status)
	}
	for k, v := range extra {
		d[k] = v
	}
	return d
}

func paymentData(o jeton.Order, p jeton.Payment) map[string]any {
	return orderData(o, map[string]any{"paymentId": p.ID, "paymentStatus": string(p.Status), "orderStatus": string(o.Status),
		"paymentMethod": p.Method})
}

func terminalData(o jeton.Order, p jeton.Payment, event string) map[string]any {
	return map[string]any{"orderId": o.ID, "merchantId": o.MerchantID, "paymentId": p.ID, "orderStatus": string(o.Status),
		"metadata": orderMetadata(o), "terminalTransactionStatus": event}
}

func failedData(o jeton.Order, p jeton.Payment, key string) map[string]any {
	det := map[string]any{"paymentId": p.ID, "terminalId": p.TerminalID, "amount": p.Amount, "currency": o.Currency,
		"method": p.Method, "customerResponseDescription": p.FailureReason}
	if p.Card != nil {
		det["cardLabel"], det["cardBrand"], det["posEntryMode"] = p.Card.Label, p.Card.Brand, p.Card.EntryMode
	}
	return orderData(o, map[string]any{"paymentId": p.ID, "orderStatus": string(o.Status), key: det})
}

// TransactionView is a transaction as the API and webhooks show it.
func TransactionView(t jeton.Transaction) map[string]any {
	return map[string]any{
		"transactionId": t.ID, "merchantId": t.MerchantID, "storeId": t.StoreID, "terminalId": t.TerminalID,
		"orderId": t.OrderID, "paymentId": t.PaymentID, "referenceId": t.ReferenceID, "rrn": t.RRN,
		"amount": strconv.FormatInt(t.Amount, 10), "currency": t.Currency, "method": t.Method, "type": string(t.Type),
		"timestamp": t.CreatedAt.Format("2006-01-02T15:04:05.000Z07:00"), "voided": t.Voided,
		"fee": strconv.FormatInt(t.Fee, 10), "settlementStatus": "NOT_SETTLED",
		"truncatedPan": t.Card.TruncatedPan, "cardLabel": t.Card.Label, "cardBrand": t.Card.Brand, "cardUsage": t.Card.Usage,
		"posEntryMode": t.Card.EntryMode, "customerResponseCode": "00", "authMode": "ISSUER",
	}
}
