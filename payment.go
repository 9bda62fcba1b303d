package jeton

import (
	"context"
	"encoding/json"
	"time"
)

// SagaPay's orders, payments and transactions (Surfboard's model). Amounts
// are integers in minor units, as the API sends them.

// OrderStatus is where an order stands, as Surfboard names it.
type OrderStatus string

// Order statuses.
const (
	OrderPending                 OrderStatus = "PENDING"
	OrderPaymentInitiated        OrderStatus = "PAYMENT_INITIATED"
	OrderPaymentProcessed        OrderStatus = "PAYMENT_PROCESSED"
	OrderPaymentCompleted        OrderStatus = "PAYMENT_COMPLETED"
	OrderPartialPaymentCompleted OrderStatus = "PARTIAL_PAYMENT_COMPLETED"
	OrderPaymentFailed           OrderStatus = "PAYMENT_FAILED"
	OrderPaymentCancelled        OrderStatus = "PAYMENT_CANCELLED"
	OrderCancelled               OrderStatus = "CANCELLED"
)

// Open says whether a payment may still be started on an order in s: a
// new payment may follow a failed or cancelled one.
func (s OrderStatus) Open() bool {
	switch s {
	case OrderPending, OrderPaymentFailed, OrderPaymentCancelled, OrderPartialPaymentCompleted:
		return true
	}
	return false
}

// OrderType tells a purchase from a return (a refund).
type OrderType string

// Order types.
const (
	OrderPurchase OrderType = "PURCHASE"
	OrderReturn   OrderType = "RETURN"
)

// Order is a SagaPay order. Doc holds the order as the API echoes it
// (terminal$id, orderLines, totalOrderAmount, customer, controlFunctions,
// ...); the columns beside it are what jeton decides on.
type Order struct {
	ID         string
	MerchantID string
	StoreID    string
	TerminalID string
	// Owner is the externalUserId of the client token that created the
	// order; empty when API credentials did. A client token sees only
	// its own orders.
	Owner           string
	Type            OrderType
	PurchaseOrderID string
	ReferenceID     string
	Status          OrderStatus
	Currency        string
	// Amount is totalOrderAmount.total as given, before adjustments
	// (tips); Tips is the sum of its tip adjustments; Paid what its
	// completed payments brought in, tips included.
	Amount int64
	Tips   int64
	Paid   int64
	// Refunded is what return orders have paid back on this purchase.
	Refunded    int64
	TipsMode    string
	CallbackURL string
	Doc         json.RawMessage
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Version     int
}

// Due is what is left to pay on the order, before tips.
func (o Order) Due() int64 { return o.Amount + o.Tips - o.Paid }

// PaymentStatus is where a payment stands.
type PaymentStatus string

// Payment statuses, in the order a payment passes them.
const (
	PaymentInitiated  PaymentStatus = "PAYMENT_INITIATED"
	PaymentProcessing PaymentStatus = "PAYMENT_PROCESSING"
	PaymentProcessed  PaymentStatus = "PAYMENT_PROCESSED"
	PaymentCompleted  PaymentStatus = "PAYMENT_COMPLETED"
	PaymentFailed     PaymentStatus = "PAYMENT_FAILED"
	PaymentCancelled  PaymentStatus = "PAYMENT_CANCELLED"
)

// Terminal says whether no further status can follow s.
func (s PaymentStatus) Terminal() bool {
	return s == PaymentCompleted || s == PaymentFailed || s == PaymentCancelled
}

var paymentMoves = map[PaymentStatus][]PaymentStatus{
	PaymentInitiated:  {PaymentProcessing, PaymentFailed, PaymentCancelled},
	PaymentProcessing: {PaymentProcessed, PaymentFailed, PaymentCancelled},
	PaymentProcessed:  {PaymentCompleted, PaymentFailed, PaymentCancelled},
}

// CanMovePayment says whether a payment may go from one status to another.
func CanMovePayment(from, to PaymentStatus) bool {
	for _, s := range paymentMoves[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Card is what a payment may keep of the card that paid it: never the
// number, only its brand and last four digits.
type Card struct {
	Brand        string `json:"cardBrand"`
	Label        string `json:"cardLabel"`
	TruncatedPan string `json:"truncatedPan"`
	Usage        string `json:"cardUsage"`
	EntryMode    string `json:"posEntryMode"`
}

// Payment is one attempt to pay (or refund) an order on a terminal.
type Payment struct {
	ID         string
	MerchantID string
	OrderID    string
	TerminalID string
	Owner      string
	Method     string
	// Amount is what the payment asks for, before a tip; Tip what the
	// customer added on the terminal.
	Amount int64
	Tip    int64
	Status PaymentStatus
	// Step is the terminal's last event (STARTED, AWAITING_CARD, ...).
	Step          string
	FailureReason string
	Card          *Card
	TransactionID string
	// Void is "" or VOIDED; Capture "" (captured with the sale), PENDING
	// (a delayed capture not yet made) or SUCCESS.
	Void    string
	Capture string
	// RefundReason is set on a refund (CARD_NP) payment.
	RefundReason string
	// Control is what a tester did on a manual sandbox terminal (the
	// tip chosen, the card presented, a cancellation), for its
	// processor to read.
	Control json.RawMessage
	// NextAt is when the sandbox terminal acts next; zero when it waits
	// for nothing (a terminal status, or a control in manual mode).
	NextAt    time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int
}

// Move changes p's status if the state machine allows it.
func (p *Payment) Move(to PaymentStatus, now time.Time) error {
	if !CanMovePayment(p.Status, to) {
		return Errorf(KindConflict, KeyPaymentState, "payment %s cannot move from %s to %s", p.ID, p.Status, to)
	}
	p.Status, p.UpdatedAt = to, now
	if to.Terminal() {
		p.NextAt = time.Time{}
	}
	return nil
}

// Transaction is money that moved: a completed purchase or refund.
type Transaction struct {
	ID          string
	MerchantID  string
	StoreID     string
	TerminalID  string
	OrderID     string
	PaymentID   string
	Owner       string
	ReferenceID string
	// Type is PURCHASE or RETURN. Amount is what the card was charged
	// (or refunded), the tip included; Fee the sandbox processing fee.
	Type     OrderType
	Amount   int64
	Tip      int64
	Fee      int64
	Currency string
	Method   string
	Card     Card
	RRN      string
	Voided   bool
	// ReceiptKey is the unguessable part of the receipt page's address.
	ReceiptKey string
	CreatedAt  time.Time
}

// Adjustment is a change to an order's total made at payment: a tip.
type Adjustment struct {
	ID         string
	MerchantID string
	OrderID    string
	PaymentID  string
	Type       string
	Amount     int64
	CreatedAt  time.Time
}

// Terminal is a payment terminal registered to a store.
type Terminal struct {
	ID         string
	MerchantID string
	StoreID    string
	Name       string
	Type       string
	// Serial is the registration identifier it was registered with.
	Serial string
	// Manual terminals wait for sandbox controls (present a card, pick
	// a tip); others act by themselves.
	Manual    bool
	Status    string
	CreatedAt time.Time
}

// WebhookEndpoint is a merchant's SagaPay webhook receiver. Its secret is
// sealed at rest and shown once, when the endpoint is created.
type WebhookEndpoint struct {
	ID         string
	MerchantID string
	Name       string
	URL        string
	// Events it takes; empty takes every event.
	Events    []string
	Sealed    []byte
	CreatedAt time.Time
}

// Wants says whether the endpoint takes events of type t.
func (e WebhookEndpoint) Wants(t string) bool {
	if len(e.Events) == 0 {
		return true
	}
	for _, x := range e.Events {
		if x == t {
			return true
		}
	}
	return false
}

// Callback kinds of SagaPay's webhooks, beside AssetPay's status
// callbacks: a console webhook goes to an endpoint and is retried; a
// per-order callback goes to the order's callBackUrl once.
const (
	CallbackWebhook      = "webhook"
	CallbackOrderWebhook = "order_webhook"
)

// PaymentChange is one atomic write of the payments engine: an order
// and/or payment at the version they were read (0 for a new one), with
// what the change adds and the webhooks it causes.
type PaymentChange struct {
	Order        *Order
	NewOrder     bool
	Payment      *Payment
	NewPayment   bool
	Transactions []Transaction
	Adjustments  []Adjustment
	// Voided marks transactions voided.
	Voided []string
	// Captured sets the final amount, fee and tip of a delayed-capture
	// transaction.
	Captured *Transaction
	// Refund adds a completed refund to its purchase's refunded total,
	// and fails the change with AMOUNT_INVALID if that would exceed what
	// the purchase paid.
	Refund   *RefundClaim
	Webhooks []Callback
}

// RefundClaim is a refund's share of its purchase.
type RefundClaim struct {
	PurchaseOrderID string
	Amount          int64
}

// Setting is one level's configuration of one kind (tips, branding):
// Surfboard's levels MERCHANT, STORE and TERMINAL, each overriding the
// one above it field by field.
type Setting struct {
	MerchantID string
	Kind       string
	Level      string
	LevelID    string
	Doc        json.RawMessage
	UpdatedAt  time.Time
}

// Setting kinds and levels.
const (
	SettingTips     = "tips"
	SettingBranding = "branding"
	LevelMerchant   = "MERCHANT"
	LevelStore      = "STORE"
	LevelTerminal   = "TERMINAL"
)

// OutboxMessage is a receipt the sandbox sent instead of a mail server or
// a printer: kind email (Target the address) or print (Target the
// terminal).
type OutboxMessage struct {
	ID         string
	MerchantID string
	Kind       string
	Target     string
	Ref        string
	Body       json.RawMessage
	CreatedAt  time.Time
}

// PaymentStore keeps SagaPay's orders, payments, transactions and
// terminals.
type PaymentStore interface {
	// WritePayments applies a change if its order and payment are still
	// at the versions they were read at; otherwise it fails with
	// KindConflict and writes nothing.
	WritePayments(ctx context.Context, ch PaymentChange) error
	Order(ctx context.Context, merchantID, id string) (Order, error)
	Payment(ctx context.Context, merchantID, id string) (Payment, error)
	PaymentAny(ctx context.Context, id string) (Payment, error)
	OrderPayments(ctx context.Context, orderID string) ([]Payment, error)
	// ActivePayment returns the payment under way on a terminal.
	ActivePayment(ctx context.Context, terminalID string) (Payment, error)
	// Transactions lists a merchant's transactions newest first; owner
	// "" for all, ref "" for all, else those of that order, payment or
	// transaction id.
	Transactions(ctx context.Context, f TransactionFilter) ([]Transaction, int, error)
	Adjustments(ctx context.Context, orderID string) ([]Adjustment, error)
	// DuePayments returns payments whose terminal acts at or before now.
	DuePayments(ctx context.Context, now time.Time, limit int) ([]string, error)

	// RegisterTerminal stores t unless its serial is registered already,
	// in which case it returns the registered one and false.
	RegisterTerminal(ctx context.Context, t Terminal) (Terminal, bool, error)
	Terminal(ctx context.Context, merchantID, id string) (Terminal, error)
	Terminals(ctx context.Context, merchantID, storeID string, page, perPage int) ([]Terminal, int, error)

	TransactionByReceipt(ctx context.Context, key string) (Transaction, error)

	// Settings returns a merchant's settings of one kind, every level.
	Settings(ctx context.Context, merchantID, kind string) ([]Setting, error)
	PutSetting(ctx context.Context, s Setting) error
	DeleteSetting(ctx context.Context, merchantID, kind, level, levelID string) error
	AddOutbox(ctx context.Context, m OutboxMessage) error
	Outbox(ctx context.Context, merchantID string, limit int) ([]OutboxMessage, error)

	// WebhookDeliveries lists a merchant's webhooks, newest first;
	// orderID "" for all.
	WebhookDeliveries(ctx context.Context, merchantID, orderID string, limit, offset int) ([]Callback, int, error)
	Callback(ctx context.Context, merchantID, deliveryID string) (Callback, error)
	CallbackAttempts(ctx context.Context, merchantID, deliveryID string) ([]CallbackAttempt, error)
	Redeliver(ctx context.Context, merchantID, deliveryID string, now time.Time, extra int) error

	CreateWebhookEndpoint(ctx context.Context, e WebhookEndpoint) error
	WebhookEndpoints(ctx context.Context, merchantID string) ([]WebhookEndpoint, error)
	WebhookEndpoint(ctx context.Context, merchantID, id string) (WebhookEndpoint, error)
	DeleteWebhookEndpoint(ctx context.Context, merchantID, id string) error
}

// TransactionFilter selects transactions.
type TransactionFilter struct {
	MerchantID string
	Owner      string
	Ref        string
	Query      string
	From, To   time.Time
	Page       int
	PerPage    int
}
