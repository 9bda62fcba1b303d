package payment_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/payment"
	"github.com/jetonhq/jeton/sqlstore"
	"github.com/jetonhq/jeton/sqlstore/sqltest"
	"github.com/jetonhq/jeton/terminal"
)

// ledger is the test's own account of what the operations it made should
// have moved, kept apart from jeton's transactions.
type ledger struct{ sales, refunds, tips, fees int64 }

type world struct {
	t    *testing.T
	ctx  context.Context
	db   *sqlstore.DB
	svc  *payment.Service
	c    payment.Caller
	term string
}

func newWorld(t *testing.T) *world {
	db := sqltest.SQLite(t, t.TempDir())
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Microsecond)
	m := jeton.Merchant{ID: "m-report", PartnerID: "p", Name: "report", MaxTokenLifetime: time.Hour, CreatedAt: now}
	if err := db.CreateMerchant(ctx, jeton.NewMerchant{Merchant: m,
		Key:    jeton.APIKey{ID: "k-report", MerchantID: m.ID, Hash: []byte{3}, Prefix: "ap_", Scopes: []jeton.Scope{jeton.ScopeCoreAccess}, CreatedAt: now},
		Secret: jeton.Secret{ID: "s-report", MerchantID: m.ID, Sealed: []byte{9}, CreatedAt: now}}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateSagaStore(ctx, jeton.SagaStore{ID: "st-1", MerchantID: m.ID, Name: "Shop", Phone: json.RawMessage(`{}`),
		Address: json.RawMessage(`{}`), Status: "ACTIVE", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	// A fixed noon, so voids are always within their day.
	var tick time.Duration
	clock := func() time.Time {
		tick += time.Millisecond
		return time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC).Add(tick)
	}
	svc := payment.New(payment.Config{Store: db, Processor: terminal.New(), Now: clock})
	tm, _, err := svc.RegisterTerminal(ctx, jeton.Terminal{ID: "term-1", MerchantID: m.ID, StoreID: "st-1", Name: "Till", Type: "checkoutX",
		Serial: "123456", Status: "REGISTERED", CreatedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, ctx: ctx, db: db, svc: svc, c: payment.Caller{MerchantID: m.ID}, term: tm.ID}
}

// settle advances a payment until it is terminal.
func (w *world) settle(id string) jeton.Payment {
	w.t.Helper()
	for range 10 {
		if err := payment.Advance(w.svc, w.ctx, id); err != nil {
			w.t.Fatal(err)
		}
		p, err := w.db.PaymentAny(w.ctx, id)
		if err != nil {
			w.t.Fatal(err)
		}
		if p.Status.Terminal() {
			return p
		}
	}
	w.t.Fatalf("payment %s never settled", id)
	return jeton.Payment{}
}

func (w *world) order(typ jeton.OrderType, purchase string, amount int64, tipsMode string) (jeton.Order, error) {
	o, _, err := w.svc.CreateOrder(w.ctx, w.c, payment.OrderInput{TerminalID: w.term, Type: typ, PurchaseOrderID: purchase,
		Currency: "752", Amount: amount, TipsMode: tipsMode, Doc: json.RawMessage(`{}`)})
	return o, err
}

func (w *world) pay(o jeton.Order, method, reason string) jeton.Payment {
	w.t.Helper()
	p, err := w.svc.InitiatePayment(w.ctx, w.c, payment.PaymentInput{OrderID: o.ID, Method: method, RefundReason: reason})
	if err != nil {
		w.t.Fatal(err)
	}
	return w.settle(p.ID)
}

// expected is what the sandbox does with an amount (docs/sagapay.md).
func expected(amount int64) jeton.PaymentStatus {
	switch amount % 100 {
	case terminal.DeclineInsufficientFunds, terminal.DeclineExpiredCard, terminal.DeclineDoNotHonour, terminal.DeclineWrongPIN:
		return jeton.PaymentFailed
	case terminal.CancelOnTerminal, terminal.CancelTimeout:
		return jeton.PaymentCancelled
	}
	return jeton.PaymentCompleted
}

// TestReportEqualsLedger: for random sets of orders, payments, tips,
// declines, voids and refunds, the settlement report equals the test's
// own ledger of what was done, and equals the sum of the transactions.
func TestReportEqualsLedger(t *testing.T) {
	for seed := range uint64(6) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			w := newWorld(t)
			r := rand.New(rand.NewPCG(seed, 42))
			tip := int64(5 + r.IntN(20))
			if err := w.svc.PatchSetting(w.ctx, w.c.MerchantID, jeton.SettingTips, "", "",
				&payment.TipConfig{TipConfig: ptr("ENABLED"), TipLevel1: &tip}); err != nil {
				t.Fatal(err)
			}
			var want ledger
			type paid struct {
				order   jeton.Order
				payment jeton.Payment
				left    int64
			}
			var purchases []*paid
			for range 40 {
				switch op := r.IntN(10); {
				case op < 5: // a purchase, sometimes a test amount that declines
					amount := int64(100 + r.IntN(100000))
					if r.IntN(6) == 0 {
						amount = amount/100*100 + terminal.DeclineInsufficientFunds
					}
					modes := []string{"", "NONE", "ROUNDUP", "STANDARD"}
					o, err := w.order(jeton.OrderPurchase, "", amount, modes[r.IntN(len(modes))])
					if err != nil {
						t.Fatal(err)
					}
					p := w.pay(o, "CARD", "")
					if want := expected(amount); p.Status != want {
						t.Fatalf("purchase of %d: %s (%s), want %s", amount, p.Status, p.FailureReason, want)
					}
					if p.Status != jeton.PaymentCompleted {
						continue
					}
					charged := p.Amount + p.Tip
					want.sales += charged
					want.tips += p.Tip
					want.fees += payment.Fee(charged)
					purchases = append(purchases, &paid{order: o, payment: p, left: charged})
				case op < 7 && len(purchases) > 0: // void a sale (the same day)
					i := r.IntN(len(purchases))
					pp := purchases[i]
					if pp.left != pp.payment.Amount+pp.payment.Tip {
						continue // refunded already: keep it simple, void only untouched sales
					}
					st, err := w.svc.VoidPayment(w.ctx, w.c, pp.payment.ID)
					if err != nil || st != payment.Voided {
						t.Fatalf("void: %s %v", st, err)
					}
					charged := pp.payment.Amount + pp.payment.Tip
					want.sales -= charged
					want.tips -= pp.payment.Tip
					want.fees -= payment.Fee(charged)
					purchases = append(purchases[:i], purchases[i+1:]...)
				case len(purchases) > 0: // refund part or all of what is left
					pp := purchases[r.IntN(len(purchases))]
					if pp.left == 0 {
						continue
					}
					amount := 1 + r.Int64N(pp.left)
					for amount > 0 && expected(amount) != jeton.PaymentCompleted {
						amount-- // keep refunds clear of the test amounts
					}
					if amount == 0 {
						continue
					}
					o, err := w.order(jeton.OrderReturn, pp.order.ID, amount, "")
					if err != nil {
						t.Fatalf("refund %d of %d left: %v", amount, pp.left, err)
					}
					p := w.pay(o, "CARD_NP", "CUSTOMER_INITIATED_RETURN")
					if p.Status != jeton.PaymentCompleted || p.Tip != 0 {
						t.Fatalf("refund: %s %s tip %d", p.Status, p.FailureReason, p.Tip)
					}
					pp.left -= amount
					want.refunds += amount
					want.fees += payment.Fee(amount)
					// A refund above what is left is refused.
					if _, err := w.order(jeton.OrderReturn, pp.order.ID, pp.left+1, ""); jeton.ErrorKey(err) != jeton.KeyAmountInvalid {
						t.Fatalf("over-refund: %v", err)
					}
				}
			}
			rows, err := w.svc.Report(w.ctx, w.c, time.Time{}, time.Time{}, true)
			if err != nil {
				t.Fatal(err)
			}
			var got ledger
			for _, row := range rows {
				got.sales += row.TotalSale
				got.refunds += row.TotalRefund
				got.tips += row.Tips
				got.fees += row.Fee
				if row.Payout != row.TotalSale-row.TotalRefund-row.Fee {
					t.Errorf("payout %d != %d - %d - %d", row.Payout, row.TotalSale, row.TotalRefund, row.Fee)
				}
			}
			if got != want {
				t.Errorf("report %+v, ledger %+v", got, want)
			}
			// And the transactions themselves, listed page by page.
			var sum ledger
			for page := 1; ; page++ {
				txs, total, err := w.svc.Transactions(w.ctx, w.c, jeton.TransactionFilter{Page: page, PerPage: 7})
				if err != nil {
					t.Fatal(err)
				}
				for _, x := range txs {
					if x.Voided {
						continue
					}
					if x.Type == jeton.OrderReturn {
						sum.refunds += x.Amount
					} else {
						sum.sales += x.Amount
						sum.tips += x.Tip
					}
					sum.fees += x.Fee
				}
				if page*7 >= total {
					break
				}
			}
			if sum != want {
				t.Errorf("transactions %+v, ledger %+v", sum, want)
			}
		})
	}
}

// TestFee: the sandbox fee is 1.49% rounded down, exact for amounts up
// to the largest jeton takes, with no overflow.
func TestFee(t *testing.T) {
	for _, c := range []struct{ amount, fee int64 }{{0, 0}, {67, 0}, {68, 1}, {10000, 149}, {12345, 183}, {-10000, 149},
		{1_000_000_000_000, 14_900_000_000}, {math.MaxInt64, math.MaxInt64/10000*149 + math.MaxInt64%10000*149/10000}} {
		if got := payment.Fee(c.amount); got != c.fee {
			t.Errorf("Fee(%d) = %d, want %d", c.amount, got, c.fee)
		}
	}
}

func ptr[T any](v T) *T { return &v }
