package jeton

import (
	"context"
	"encoding/json"
	"time"
)

// Callback kinds.
const (
	CallbackStatus   = "status"   // a trade status change; retried for days
	CallbackApproval = "approval" // the INITIATED approval call of a withdrawal
	CallbackTest     = "test"     // the unsigned ping when a URL is saved
)

// Callback states.
const (
	CallbackPending   = "pending"
	CallbackDelivered = "delivered"
	CallbackFailed    = "failed" // retries exhausted; redeliverable
)

// Callback is one status callback to deliver: its delivery id stays the
// same across retries, and Body is the trade as it was at the change.
type Callback struct {
	DeliveryID string          `json:"deliveryId"`
	MerchantID string          `json:"merchantId"`
	TradeID    string          `json:"tradeId"`
	Kind       string          `json:"kind"`
	Event      string          `json:"event"`
	Body       json.RawMessage `json:"trade"`
	CreatedAt  time.Time       `json:"createdAt"`
	State      string          `json:"state"`
	Attempts   int             `json:"attempts"`
	LastAt     *time.Time      `json:"lastAttemptAt"`
	// NextAt is when the next attempt is due; nil once delivered or
	// failed.
	NextAt *time.Time `json:"nextAttemptAt,omitempty"`
	// MaxAttempts is the attempt number after which a failing delivery
	// stops (a redelivery raises it).
	MaxAttempts int `json:"-"`
	// Target is where a SagaPay webhook goes: an endpoint id, or the
	// order's callBackUrl; empty for AssetPay's status callbacks, which go
	// to the merchant's callback URL.
	Target string `json:"-"`
}

// CallbackAttempt is one HTTP call made to a merchant's callback URL.
type CallbackAttempt struct {
	DeliveryID string        `json:"deliveryId"`
	MerchantID string        `json:"-"`
	TradeID    string        `json:"tradeId"`
	Kind       string        `json:"kind"`
	Event      string        `json:"event"`
	Attempt    int           `json:"attempt"`
	URL        string        `json:"url"`
	StatusCode int           `json:"statusCode"`
	Latency    time.Duration `json:"-"`
	// Outcome is delivered, failed, approved or rejected.
	Outcome string    `json:"outcome"`
	Error   string    `json:"error,omitempty"`
	At      time.Time `json:"at"`
}

// CallbackStore keeps callbacks and every attempt made to deliver them.
type CallbackStore interface {
	SetCallbackURL(ctx context.Context, merchantID, url string) error
	SetMerchantCollateral(ctx context.Context, merchantID string, amount USD) error
	Callback(ctx context.Context, merchantID, deliveryID string) (Callback, error)
	// Callbacks lists a merchant's callbacks, newest first; tradeID ""
	// for all.
	Callbacks(ctx context.Context, merchantID, tradeID string, limit, offset int) ([]Callback, int, error)
	CallbackAttempts(ctx context.Context, merchantID, deliveryID string) ([]CallbackAttempt, error)
	// RecentAttempts lists the merchant's latest attempts of every kind,
	// newest first, for the dashboard's delivery log.
	RecentAttempts(ctx context.Context, merchantID string, limit int) ([]CallbackAttempt, error)
	// ClaimCallbacks takes up to limit callbacks due at now for one
	// attempt each: it counts the attempt and moves their NextAt to
	// leaseUntil, so no other worker or instance takes them meanwhile and
	// a crash mid-call only delays them.
	ClaimCallbacks(ctx context.Context, now, leaseUntil time.Time, limit int) ([]Callback, error)
	// ClaimCallbacksByID claims, as ClaimCallbacks does, those of ids
	// that are due at now: the callbacks a commit just made due.
	ClaimCallbacksByID(ctx context.Context, ids []string, now, leaseUntil time.Time) ([]Callback, error)
	// RecordAttempts stores attempts and what they leave their callbacks
	// as, in one transaction.
	RecordAttempts(ctx context.Context, rs []CallbackResult) error
	// Redeliver makes a delivered or failed callback due again, with
	// extra attempts.
	Redeliver(ctx context.Context, merchantID, deliveryID string, now time.Time, extra int) error
}

// CallbackResult is one attempt with what it leaves its status callback
// as: delivered, failed (retries ran out), or pending until NextAt.
// Attempts of other kinds (approval calls, pings) have no callback row
// and leave State empty.
type CallbackResult struct {
	Attempt CallbackAttempt
	State   string
	NextAt  time.Time
}
