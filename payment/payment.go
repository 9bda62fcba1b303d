// Package payment is SagaPay's payments engine: orders, payments on
// terminals, transactions and tips, with every change written together
// with the webhooks it causes. The card side (the terminal and the
// acquirer) sits behind Processor; the sandbox implements it.
package payment

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/callback"
	"github.com/jetonhq/jeton/internal/ids"
)

// Store is what the engine keeps its state in.
type Store interface {
	jeton.PaymentStore
	SagaStore(ctx context.Context, merchantID, id string) (jeton.SagaStore, error)
}

// Processor is the card side of a payment: what the terminal and the
// acquirer do next with it.
type Processor interface {
	Step(ctx context.Context, in StepInput) (Outcome, error)
}

// StepInput is a payment as its terminal sees it, with the tip screen to
// show (nil for none) and what a tester did on a manual terminal.
type StepInput struct {
	Terminal jeton.Terminal
	Order    jeton.Order
	Payment  jeton.Payment
	Tip      *TipPrompt
	Control  Control
	Now      time.Time
}

// Control is what a tester did on a manual sandbox terminal.
type Control struct {
	// TipLevel picks tip level 1 to 3; TipAmount a free amount; NoTip
	// declines to tip.
	TipLevel  int   `json:"tipLevel,omitempty"`
	TipAmount int64 `json:"tipAmount,omitempty"`
	NoTip     bool  `json:"noTip,omitempty"`
	// Card is the brand of the test card presented (VISA, MASTERCARD,
	// AMEX); empty until one is.
	Card   string `json:"card,omitempty"`
	Cancel bool   `json:"cancel,omitempty"`
}

// TipChosen says whether the tester answered the tip screen.
func (c Control) TipChosen() bool { return c.TipLevel > 0 || c.TipAmount > 0 || c.NoTip }

// Outcome is what a terminal did with a payment since its last step.
type Outcome struct {
	// Wait: nothing happened yet (a manual terminal waiting for its
	// controls); the payment is looked at again at Until, or when a
	// control arrives.
	Wait  bool
	Until time.Time
	// Events the terminal passed, in order (AWAITING_CARD, ...).
	Events []string
	Tip    int64
	Card   *jeton.Card
	// Exactly one of these ends the payment: approved (then RRN is the
	// acquirer's reference), declined with a reason, or cancelled on
	// the terminal with a reason.
	Approved  bool
	RRN       string
	Declined  string
	Cancelled string
}

// Config configures the engine.
type Config struct {
	Store     Store
	Processor Processor
	Sealer    jeton.Sealer
	// After is how long the sandbox terminal takes before it acts on a
	// new payment (0: at once).
	After time.Duration
	Now   func() time.Time
	Log   *slog.Logger
	// Workers advance payments at once (default 32); Sweep is how often
	// due payments are looked for (default 250 ms).
	Workers int
	Sweep   time.Duration
}

// Service is the payments engine.
type Service struct {
	cfg   Config
	kicks chan string
	busy  sync.Map

	// handed holds the order and payment a request has just written, for
	// the worker it kicks: the worker starts from them instead of reading
	// them back (its write still checks their versions).
	handed  sync.Map // payment id -> handoff
	handedN atomic.Int64

	endpoints *ttlCache[[]jeton.WebhookEndpoint] // by merchant
	settings  *ttlCache[[]jeton.Setting]         // by merchant and kind
	terminals *ttlCache[jeton.Terminal]          // by merchant and id
}

// Cache lifetimes: an endpoint, a setting or a terminal changed through
// another instance is seen here within this long.
const (
	settingsTTL = time.Second
	terminalTTL = 10 * time.Second
)

// New returns an engine; Run starts its workers.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 32
	}
	if cfg.Sweep <= 0 {
		cfg.Sweep = 250 * time.Millisecond
	}
	return &Service{cfg: cfg, kicks: make(chan string, 4096),
		endpoints: newTTLCache[[]jeton.WebhookEndpoint](settingsTTL), settings: newTTLCache[[]jeton.Setting](settingsTTL),
		terminals: newTTLCache[jeton.Terminal](terminalTTL)}
}

// terminal reads one of the merchant's terminals, cached.
func (s *Service) terminal(ctx context.Context, merchantID, id string) (jeton.Terminal, error) {
	return s.terminals.get(merchantID+"\x00"+id, func() (jeton.Terminal, error) { return s.cfg.Store.Terminal(ctx, merchantID, id) })
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Microsecond) }

// Caller is who acts: a merchant with API credentials (Owner empty) or
// one of its end users with a client token (Owner its externalUserId).
type Caller struct {
	MerchantID string
	Owner      string
}

// visible hides what a client token did not create behind "not found",
// as another merchant's ids are.
func (c Caller) visible(owner string) bool { return c.Owner == "" || c.Owner == owner }

// Order returns an order the caller may see.
func (s *Service) Order(ctx context.Context, c Caller, id string) (jeton.Order, error) {
	o, err := s.cfg.Store.Order(ctx, c.MerchantID, id)
	if err == nil && !c.visible(o.Owner) {
		return jeton.Order{}, notFound(jeton.KeyOrderNotFound, "Order")
	}
	return o, err
}

// Payment returns a payment the caller may see.
func (s *Service) Payment(ctx context.Context, c Caller, id string) (jeton.Payment, error) {
	p, err := s.cfg.Store.Payment(ctx, c.MerchantID, id)
	if err == nil && !c.visible(p.Owner) {
		return jeton.Payment{}, notFound(jeton.KeyPaymentNotFound, "Payment")
	}
	return p, err
}

// OrderPayments returns the payments of an order the caller has read.
func (s *Service) OrderPayments(ctx context.Context, o jeton.Order) ([]jeton.Payment, error) {
	return s.cfg.Store.OrderPayments(ctx, o.ID)
}

// Adjustments returns an order's tips.
func (s *Service) Adjustments(ctx context.Context, o jeton.Order) ([]jeton.Adjustment, error) {
	return s.cfg.Store.Adjustments(ctx, o.ID)
}

// Transactions lists what the caller may see.
func (s *Service) Transactions(ctx context.Context, c Caller, f jeton.TransactionFilter) ([]jeton.Transaction, int, error) {
	f.MerchantID, f.Owner = c.MerchantID, c.Owner
	return s.cfg.Store.Transactions(ctx, f)
}

func notFound(key, what string) error {
	return jeton.Errorf(jeton.KindNotFound, key, "%s not found", what)
}

func conflict(key, format string, args ...any) error {
	return jeton.Errorf(jeton.KindConflict, key, format, args...)
}

// merchantOnly keeps refunds, voids, captures and callback URLs to the
// merchant's own credentials: an end user's token must not pay itself
// back or point jeton's signed calls at an address of its choosing.
func merchantOnly(c Caller, what string) error {
	if c.Owner != "" {
		return jeton.Errorf(jeton.KindForbidden, jeton.KeyForbidden, "%s are the merchant's: use the API credentials", what)
	}
	return nil
}

// afterEnd is an order's status once a payment on it failed or was
// cancelled: still partly paid if an earlier payment brought money in.
func afterEnd(o jeton.Order, status jeton.OrderStatus) jeton.OrderStatus {
	if o.Paid > 0 {
		return jeton.OrderPartialPaymentCompleted
	}
	return status
}

// OrderInput is a validated order from the API.
type OrderInput struct {
	TerminalID      string
	Type            jeton.OrderType
	PurchaseOrderID string
	ReferenceID     string
	Currency        string
	Amount          int64
	TipsMode        string
	CallbackURL     string
	Doc             json.RawMessage
	// Pay starts a payment in the same call
	// (controlFunctions.initiatePaymentsOptions).
	Pay *PaymentInput
}

// PaymentInput is a validated payment request.
type PaymentInput struct {
	OrderID      string
	Method       string
	TerminalID   string
	Amount       int64 // 0: what is left to pay
	RefundReason string
}

// CreateOrder stores a new order, and its first payment when asked.
func (s *Service) CreateOrder(ctx context.Context, c Caller, in OrderInput) (jeton.Order, *jeton.Payment, error) {
	if in.CallbackURL != "" {
		if err := merchantOnly(c, "callback URLs"); err != nil {
			return jeton.Order{}, nil, err
		}
	}
	t, err := s.terminal(ctx, c.MerchantID, in.TerminalID)
	if err != nil {
		return jeton.Order{}, nil, err
	}
	if in.Type == jeton.OrderReturn {
		if err := merchantOnly(c, "refunds"); err != nil {
			return jeton.Order{}, nil, err
		}
		p, err := s.cfg.Store.Order(ctx, c.MerchantID, in.PurchaseOrderID)
		if err != nil {
			return jeton.Order{}, nil, jeton.Errorf(jeton.KindInvalid, jeton.KeyOrderNotFound, "purchaseOrderId: no such purchase order")
		}
		if p.Type != jeton.OrderPurchase || p.Paid == 0 {
			return jeton.Order{}, nil, jeton.Errorf(jeton.KindInvalid, jeton.KeyOrderState, "purchaseOrderId: the purchase has nothing paid to refund")
		}
		if p.Currency != in.Currency {
			return jeton.Order{}, nil, jeton.Errorf(jeton.KindInvalid, jeton.KeyAmountInvalid, "a refund is in the purchase's currency (%s)", p.Currency)
		}
		ps, err := s.cfg.Store.OrderPayments(ctx, p.ID)
		if err != nil {
			return jeton.Order{}, nil, err
		}
		for _, x := range ps {
			if x.Capture == "PENDING" && x.Void == "" {
				return jeton.Order{}, nil, conflict(jeton.KeyPaymentState, "the purchase has a payment not captured yet: capture or void it instead of refunding")
			}
		}
		if left := refundable(p); in.Amount > left {
			return jeton.Order{}, nil, jeton.Errorf(jeton.KindInvalid, jeton.KeyAmountInvalid, "a refund cannot exceed what is left of the purchase (%d)", left)
		}
	}
	now := s.now()
	o := jeton.Order{ID: ids.Short(), MerchantID: c.MerchantID, StoreID: t.StoreID, TerminalID: t.ID, Owner: c.Owner, Type: in.Type,
		PurchaseOrderID: in.PurchaseOrderID, ReferenceID: in.ReferenceID, Status: jeton.OrderPending, Currency: in.Currency,
		Amount: in.Amount, TipsMode: in.TipsMode, CallbackURL: in.CallbackURL, Doc: in.Doc, CreatedAt: now, UpdatedAt: now}
	ch := jeton.PaymentChange{Order: &o, NewOrder: true}
	var p *jeton.Payment
	if in.Pay != nil {
		if err := s.terminalFree(ctx, t); err != nil {
			return jeton.Order{}, nil, err
		}
		pay := *in.Pay
		pay.OrderID = o.ID
		np, err := s.newPayment(ctx, c, &o, t, pay, now)
		if err != nil {
			return jeton.Order{}, nil, err
		}
		p = np
		ch.Payment, ch.NewPayment = p, true
		if ch.Webhooks, err = s.initiatedWebhooks(ctx, o, *p, now); err != nil {
			return jeton.Order{}, nil, err
		}
	}
	if err := s.cfg.Store.WritePayments(ctx, ch); err != nil {
		return jeton.Order{}, nil, err
	}
	if p != nil {
		s.hand(o, *p)
	}
	return o, p, nil
}

// handoff is what a request hands the worker it kicks.
type handoff struct {
	o jeton.Order
	p jeton.Payment
}

// maxHanded bounds the handoffs held: beyond it, workers read from the
// store, and memory stays flat however far the terminals fall behind.
const maxHanded = 4096

// hand kicks the worker of a payment just written, with its state.
func (s *Service) hand(o jeton.Order, p jeton.Payment) {
	if p.NextAt.IsZero() {
		return
	}
	if !p.NextAt.After(s.now()) && s.handedN.Load() < maxHanded {
		s.handed.Store(p.ID, handoff{o, p})
		s.handedN.Add(1)
		if !s.kick(p.ID) {
			s.unhand(p.ID) // not queued: the sweeper reads it from the store
		}
		return
	}
	s.kickAt(p.ID, p.NextAt)
}

// unhand drops a payment's handoff, if any, and returns it.
func (s *Service) unhand(id string) (handoff, bool) {
	h, ok := s.handed.LoadAndDelete(id)
	if !ok {
		return handoff{}, false
	}
	s.handedN.Add(-1)
	return h.(handoff), true
}

// UpdateOrder replaces an order that no payment has started on.
func (s *Service) UpdateOrder(ctx context.Context, c Caller, id string, in OrderInput) (jeton.Order, error) {
	o, err := s.Order(ctx, c, id)
	if err != nil {
		return o, err
	}
	if o.Status != jeton.OrderPending {
		return o, conflict(jeton.KeyOrderState, "the order can no longer be updated: a payment was initiated (status %s)", o.Status)
	}
	if o.Type == jeton.OrderReturn || in.Type == jeton.OrderReturn {
		return o, conflict(jeton.KeyOrderState, "a return order is not updated: cancel it and create another")
	}
	if in.CallbackURL != "" && in.CallbackURL != o.CallbackURL {
		if err := merchantOnly(c, "callback URLs"); err != nil {
			return o, err
		}
	}
	t, err := s.terminal(ctx, c.MerchantID, in.TerminalID)
	if err != nil {
		return o, err
	}
	now := s.now()
	o.TerminalID, o.StoreID, o.ReferenceID, o.Currency, o.Amount = t.ID, t.StoreID, in.ReferenceID, in.Currency, in.Amount
	o.TipsMode, o.CallbackURL, o.Doc, o.UpdatedAt = in.TipsMode, in.CallbackURL, in.Doc, now
	hooks, err := s.webhooks(ctx, o, callback.EventOrderUpdated, "", orderData(o, nil), now)
	if err != nil {
		return o, err
	}
	return o, s.cfg.Store.WritePayments(ctx, jeton.PaymentChange{Order: &o, Webhooks: hooks})
}

// CancelOrder cancels an order not paid yet, and the payment under way on
// it.
func (s *Service) CancelOrder(ctx context.Context, c Caller, id string) (jeton.Order, error) {
	o, err := s.Order(ctx, c, id)
	if err != nil {
		return o, err
	}
	switch {
	case o.Status == jeton.OrderCancelled:
		return o, nil
	case o.Paid > 0 || o.Status == jeton.OrderPaymentCompleted || o.Status == jeton.OrderPartialPaymentCompleted || o.Status == jeton.OrderPaymentProcessed:
		return o, conflict(jeton.KeyOrderState, "a paid order cannot be cancelled; refund it with a return order")
	}
	now := s.now()
	ch := jeton.PaymentChange{Order: &o}
	ps, err := s.cfg.Store.OrderPayments(ctx, o.ID)
	if err != nil {
		return o, err
	}
	for i := range ps {
		if p := ps[i]; !p.Status.Terminal() {
			if err := p.Move(jeton.PaymentCancelled, now); err != nil {
				return o, err
			}
			p.FailureReason = "Cancelled by the merchant"
			ch.Payment = &p
			break
		}
	}
	o.Status, o.UpdatedAt = jeton.OrderCancelled, now
	if ch.Webhooks, err = s.webhooks(ctx, o, callback.EventOrderCancelled, "", orderData(o, nil), now); err != nil {
		return o, err
	}
	return o, s.cfg.Store.WritePayments(ctx, ch)
}

// InitiatePayment starts a payment on an order.
func (s *Service) InitiatePayment(ctx context.Context, c Caller, in PaymentInput) (jeton.Payment, error) {
	o, err := s.Order(ctx, c, in.OrderID)
	if err != nil {
		return jeton.Payment{}, err
	}
	return s.InitiatePaymentOn(ctx, c, o, in)
}

// InitiatePaymentOn starts a payment on o, an order the caller has just
// read (it is written only if it has not changed since).
func (s *Service) InitiatePaymentOn(ctx context.Context, c Caller, o jeton.Order, in PaymentInput) (jeton.Payment, error) {
	tid := o.TerminalID
	if in.TerminalID != "" {
		tid = in.TerminalID
	}
	t, err := s.terminal(ctx, c.MerchantID, tid)
	if err != nil {
		return jeton.Payment{}, err
	}
	if err := s.terminalFree(ctx, t); err != nil {
		return jeton.Payment{}, err
	}
	now := s.now()
	p, err := s.newPayment(ctx, c, &o, t, in, now)
	if err != nil {
		return jeton.Payment{}, err
	}
	hooks, err := s.initiatedWebhooks(ctx, o, *p, now)
	if err != nil {
		return jeton.Payment{}, err
	}
	if err := s.cfg.Store.WritePayments(ctx, jeton.PaymentChange{Order: &o, Payment: p, NewPayment: true, Webhooks: hooks}); err != nil {
		if jeton.ErrorKey(err) == jeton.KeyConflict {
			// Another payment started on this order at the same moment.
			return jeton.Payment{}, conflict(jeton.KeyPaymentPending, "a payment is already in progress on this order")
		}
		return jeton.Payment{}, err
	}
	s.hand(o, *p)
	return *p, nil
}

// terminalFree refuses a second payment on a manual terminal: a tester
// works one payment at a time, as on a real terminal. Virtual automatic
// terminals take any number at once.
func (s *Service) terminalFree(ctx context.Context, t jeton.Terminal) error {
	if !t.Manual {
		return nil
	}
	_, err := s.cfg.Store.ActivePayment(ctx, t.ID)
	switch jeton.ErrorKey(err) {
	case jeton.KeyPaymentNotFound:
		return nil
	case "":
		return conflict(jeton.KeyPaymentPending, "terminal %s is busy with another payment; cancel it or wait", t.ID)
	}
	return err
}

// Control records what a tester did on a manual terminal, for the
// payment under way on it, and has the terminal act on it at once.
func (s *Service) Control(ctx context.Context, merchantID, terminalID string, apply func(*Control) error) (jeton.Payment, error) {
	t, err := s.cfg.Store.Terminal(ctx, merchantID, terminalID)
	if err != nil {
		return jeton.Payment{}, err
	}
	if !t.Manual {
		return jeton.Payment{}, conflict(jeton.KeyPaymentState, "terminal %s acts by itself; controls drive manual terminals (registered with a code starting with 9)", t.ID)
	}
	for {
		p, err := s.cfg.Store.ActivePayment(ctx, t.ID)
		if err != nil {
			return p, err
		}
		var c Control
		if len(p.Control) > 0 {
			if err := json.Unmarshal(p.Control, &c); err != nil {
				return p, jeton.Internal(err)
			}
		}
		if err := apply(&c); err != nil {
			return p, err
		}
		if p.Control, err = json.Marshal(c); err != nil {
			return p, err
		}
		now := s.now()
		p.NextAt, p.UpdatedAt = now, now
		err = s.cfg.Store.WritePayments(ctx, jeton.PaymentChange{Payment: &p})
		if jeton.ErrorKey(err) == jeton.KeyConflict {
			continue
		}
		if err == nil {
			s.kick(p.ID)
		}
		return p, err
	}
}

// newPayment checks that a payment may start on o and moves o to
// PAYMENT_INITIATED.
func (s *Service) newPayment(ctx context.Context, c Caller, o *jeton.Order, t jeton.Terminal, in PaymentInput, now time.Time) (*jeton.Payment, error) {
	if !o.Status.Open() {
		if o.Status == jeton.OrderPaymentInitiated {
			return nil, conflict(jeton.KeyPaymentPending, "a payment is already in progress on this order")
		}
		return nil, conflict(jeton.KeyOrderState, "no payment can start on an order in status %s", o.Status)
	}
	due := o.Due()
	amount := in.Amount
	if amount == 0 {
		amount = due
	}
	switch {
	case amount <= 0:
		return nil, conflict(jeton.KeyOrderState, "nothing is left to pay on this order")
	case amount > due:
		return nil, jeton.Errorf(jeton.KindInvalid, jeton.KeyAmountInvalid, "amount %d is more than the %d left to pay", amount, due)
	case in.Amount != 0 && o.Type == jeton.OrderReturn:
		return nil, jeton.Errorf(jeton.KindInvalid, jeton.KeyAmountInvalid, "amount: a refund is paid in one payment")
	}
	owner := c.Owner
	if owner == "" {
		owner = o.Owner
	}
	p := &jeton.Payment{ID: ids.Short(), MerchantID: o.MerchantID, OrderID: o.ID, TerminalID: t.ID, Owner: owner, Method: in.Method,
		Amount: amount, Status: jeton.PaymentInitiated, Step: "STARTED", RefundReason: in.RefundReason,
		NextAt: now.Add(s.cfg.After), CreatedAt: now, UpdatedAt: now}
	if delayCapture(o.Doc) {
		p.Capture = "PENDING"
	}
	o.Status, o.UpdatedAt = jeton.OrderPaymentInitiated, now
	return p, nil
}

// delayCapture reads controlFunctions.delayCapture / authMode PRE-AUTH.
func delayCapture(doc json.RawMessage) bool {
	var d struct {
		ControlFunctions struct {
			DelayCapture bool   `json:"delayCapture"`
			AuthMode     string `json:"authMode"`
		} `json:"controlFunctions"`
	}
	_ = json.Unmarshal(doc, &d)
	return d.ControlFunctions.DelayCapture || d.ControlFunctions.AuthMode == "PRE-AUTH"
}

// CancelPayment cancels a payment that has not completed. It answers the
// payment as it stands: a completed or failed payment is not cancelled.
func (s *Service) CancelPayment(ctx context.Context, c Caller, id string) (jeton.Payment, error) {
	for {
		p, err := s.Payment(ctx, c, id)
		if err != nil || p.Status.Terminal() {
			return p, err
		}
		o, err := s.cfg.Store.Order(ctx, c.MerchantID, p.OrderID)
		if err != nil {
			return p, err
		}
		now := s.now()
		if err := p.Move(jeton.PaymentCancelled, now); err != nil {
			return p, err
		}
		p.FailureReason = "Cancelled by the merchant"
		o.Status, o.UpdatedAt = afterEnd(o, jeton.OrderPaymentCancelled), now
		hooks, err := s.webhooks(ctx, o, callback.EventPaymentCancelled, p.TerminalID, failedData(o, p, "cancelledTransactionDetails"), now)
		if err != nil {
			return p, err
		}
		err = s.cfg.Store.WritePayments(ctx, jeton.PaymentChange{Order: &o, Payment: &p, Webhooks: hooks})
		if jeton.ErrorKey(err) == jeton.KeyConflict {
			continue // the terminal moved it meanwhile: look again
		}
		return p, err
	}
}

// VoidStatus is the answer to a void.
type VoidStatus string

// Void statuses.
const (
	VoidInitiated VoidStatus = "VOID_INITIATED"
	CannotVoid    VoidStatus = "CANNOT_VOID"
	Voided        VoidStatus = "VOIDED"
)

// cet is the time zone of the void deadline.
var cet = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Stockholm"); err == nil {
		return l
	}
	return time.FixedZone("CET", 3600)
}()

// VoidPayment reverses a completed payment on the day it was made (until
// 23:50 CET), or a delayed-capture payment before its capture; never a
// purchase already refunded in part.
func (s *Service) VoidPayment(ctx context.Context, c Caller, id string) (VoidStatus, error) {
	if err := merchantOnly(c, "voids"); err != nil {
		return "", err
	}
	for {
		p, err := s.Payment(ctx, c, id)
		if err != nil {
			return "", err
		}
		if p.Void == string(Voided) {
			return Voided, nil
		}
		now := s.now()
		if p.Status != jeton.PaymentCompleted || !canVoid(p, now) {
			return CannotVoid, nil
		}
		o, err := s.cfg.Store.Order(ctx, c.MerchantID, p.OrderID)
		if err != nil {
			return "", err
		}
		if o.Refunded > 0 {
			return CannotVoid, nil // refunded in part already: voiding would pay it back twice
		}
		p.Void, p.UpdatedAt = string(Voided), now
		o.Paid -= p.Amount + p.Tip
		o.Tips -= p.Tip
		o.UpdatedAt = now
		ch := jeton.PaymentChange{Order: &o, Payment: &p, Voided: []string{p.TransactionID}}
		if ch.Webhooks, err = s.webhooks(ctx, o, callback.EventOrderUpdated, "", orderData(o, nil), now); err != nil {
			return "", err
		}
		err = s.cfg.Store.WritePayments(ctx, ch)
		if jeton.ErrorKey(err) == jeton.KeyConflict {
			continue
		}
		if err != nil {
			return "", err
		}
		return Voided, nil
	}
}

func canVoid(p jeton.Payment, now time.Time) bool {
	if p.Capture == "PENDING" {
		return true
	}
	day := p.UpdatedAt.In(cet)
	deadline := time.Date(day.Year(), day.Month(), day.Day(), 23, 50, 0, 0, cet)
	return now.Before(deadline)
}

// kickAt asks a worker to look at a payment once it is due.
func (s *Service) kickAt(id string, at time.Time) {
	if at.IsZero() {
		return
	}
	if d := at.Sub(s.now()); d > 0 {
		time.AfterFunc(d, func() { s.kick(id) })
		return
	}
	s.kick(id)
}

// kick queues a payment for a worker and reports whether it did; a full
// queue leaves it to the sweeper.
func (s *Service) kick(id string) bool {
	select {
	case s.kicks <- id:
		return true
	default:
		return false
	}
}

// Run advances due payments until ctx ends.
func (s *Service) Run(ctx context.Context) {
	ctx = jeton.Background(ctx)
	for range s.cfg.Workers {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case id := <-s.kicks:
					if _, busy := s.busy.LoadOrStore(id, true); busy {
						s.unhand(id) // the worker on it reads what it needs
						continue
					}
					if err := s.advance(ctx, id); err != nil && ctx.Err() == nil && !errors.Is(err, errStale) {
						s.cfg.Log.Warn("advance payment", "payment", id, "err", err)
					}
					s.busy.Delete(id)
				}
			}
		}()
	}
	tick := time.NewTicker(s.cfg.Sweep)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			due, err := s.cfg.Store.DuePayments(ctx, s.now(), 1000)
			if err != nil {
				if ctx.Err() == nil {
					s.cfg.Log.Warn("due payments", "err", err)
				}
				continue
			}
			for _, id := range due {
				if _, busy := s.busy.Load(id); !busy {
					s.kick(id)
				}
			}
		}
	}
}

// RegisterTerminal registers a terminal, or finds the one registered
// under the same identifier (created false).
func (s *Service) RegisterTerminal(ctx context.Context, t jeton.Terminal) (jeton.Terminal, bool, error) {
	return s.cfg.Store.RegisterTerminal(ctx, t)
}

// Terminal returns one of the merchant's terminals.
func (s *Service) Terminal(ctx context.Context, merchantID, id string) (jeton.Terminal, error) {
	return s.cfg.Store.Terminal(ctx, merchantID, id)
}

// Terminals lists the merchant's terminals (of one store, or all).
func (s *Service) Terminals(ctx context.Context, merchantID, storeID string, page, perPage int) ([]jeton.Terminal, int, error) {
	return s.cfg.Store.Terminals(ctx, merchantID, storeID, page, perPage)
}
