package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/jetonhq/jeton/callback/sign"
)

// ApprovalFunc decides a withdrawal waiting in INITIATED: approve it
// (having taken Trade.TotalPrice from your user's balance) or reject it,
// with a reason for your logs and jeton's. It is called once per
// approval attempt, and each attempt carries a new delivery id, so it
// must give the same verdict every time for one Trade.ID: store the
// verdict, debit once. An error answers 503, which jeton counts as a
// failed attempt (three of them end the trade APPROVAL_TIMEOUT, nothing
// bought).
type ApprovalFunc func(ctx context.Context, t Trade) (approve bool, reason string, err error)

// StatusFunc applies a verified status callback: credit a deposit, refund
// a withdrawal that failed after approval, and so on. Return nil only once
// the callback is applied (or was already, under the same DeliveryID):
// any error answers 500 and jeton retries it for about three days.
type StatusFunc func(ctx context.Context, c AssetPayCallback) error

// CallbackHandler is a merchant's callback URL as an http.Handler. jeton
// sends three kinds of call to that one URL, and the handler tells them
// apart:
//
//   - the unsigned {"test": true} ping when the URL is saved: answered
//     200 (after OnPing, if set), since the URL is saved only on a 2xx;
//   - an approval call (a WITHDRAW trade in INITIATED): verified, then
//     Approve decides, answered 200 {"action":"approve"} or 200
//     {"action":"reject","reason":…};
//   - a status callback: verified, then Status applies it, answered 200
//     only when it returned nil, so jeton retries otherwise.
//
// A call that fails verification is answered 401 with the reason word
// (signature_mismatch, timestamp_out_of_range, …). Note that a 401 to an
// approval call rejects the withdrawal, as jeton's docs say: a forged or
// stale approval request is never approved.
//
// A kind of call with no function set is answered 501, which jeton treats
// as a failed attempt: an approval call is then never approved by
// accident (a bare 2xx would approve it), and a status callback is not
// lost but retried and visible in the delivery log.
type CallbackHandler struct {
	// Secrets returns the API secrets, current first, then the previous
	// one during a rotation's grace; it is called for every request, so
	// a rotation needs no restart. See Secrets for a fixed list.
	Secrets func() [][]byte
	// Approve decides approval calls.
	Approve ApprovalFunc
	// Status applies status callbacks.
	Status StatusFunc
	// OnPing, if set, sees each test ping; it cannot refuse it.
	OnPing func(ctx context.Context, p Ping)
	// OnRefused, if set, sees every call refused and why (for your logs
	// or metrics); the handler has answered it already.
	OnRefused func(r *http.Request, err error)
	// Tolerance bounds the clock difference accepted (default 300 s).
	Tolerance time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// RequireBodyKey also checks payload.key. It is off by default: the
	// header already covers the whole body, and jeton computes the key
	// with the current secret only, so it would refuse deliveries during
	// a rotation that the header's s1= still vouches for.
	RequireBodyKey bool
	// MaxBodyBytes bounds the body read (default 1 MiB).
	MaxBodyBytes int64
}

// ApprovalHandler answers INITIATED approval calls from decide, after
// verifying their signature with secrets, and pings with 200. Status
// callbacks reach the same URL: set CallbackHandler.Status to apply them
// (this handler answers them 501, so jeton keeps them for later).
func ApprovalHandler(secrets func() [][]byte, decide ApprovalFunc) *CallbackHandler {
	return &CallbackHandler{Secrets: secrets, Approve: decide}
}

// StatusHandler verifies status callbacks and hands them to apply,
// answering 2xx only when it returns nil. Approval calls are answered 501
// (never approved); use CallbackHandler with Approve to decide them.
func StatusHandler(secrets func() [][]byte, apply StatusFunc) *CallbackHandler {
	return &CallbackHandler{Secrets: secrets, Status: apply}
}

// verdict is the body of an answer to an approval call, in the vendor
// SDK's words.
type verdict struct {
	Action string `json:"action"` // approve or reject
	Reason string `json:"reason,omitempty"`
}

// ServeHTTP verifies one call from jeton and answers it; see
// CallbackHandler.
func (h *CallbackHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, ok := readBody(w, r, h.MaxBodyBytes)
	if !ok {
		return
	}
	header := r.Header.Get(sign.AssetPayHeader)
	if p, ok := ParsePing(header, body); ok {
		if h.OnPing != nil {
			h.OnPing(r.Context(), p)
		}
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
		return
	}
	c, err := h.verify(header, body)
	if err != nil {
		h.refuse(w, r, err)
		return
	}
	if c.IsApproval() {
		h.approve(w, r, c)
		return
	}
	if h.Status == nil {
		http.Error(w, "status callbacks are not handled here", http.StatusNotImplemented)
		return
	}
	if err := h.Status(r.Context(), c); err != nil {
		http.Error(w, "callback not applied; retry later", http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (h *CallbackHandler) verify(header string, body []byte) (AssetPayCallback, error) {
	var secrets [][]byte
	if h.Secrets != nil {
		secrets = h.Secrets()
	}
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	c, err := VerifyAssetPayCallback(header, body, secrets, now, h.Tolerance)
	if err == nil && h.RequireBodyKey && bodyKeySecret(secrets, c.RawTrade, c.Key) < 0 {
		err = refused("AssetPay callback", ReasonBodyKeyMismatch)
	}
	return c, err
}

func (h *CallbackHandler) approve(w http.ResponseWriter, r *http.Request, c AssetPayCallback) {
	if h.Approve == nil {
		http.Error(w, "approval calls are not handled here", http.StatusNotImplemented)
		return
	}
	ok, reason, err := h.Approve(r.Context(), c.Trade)
	switch {
	case err != nil:
		http.Error(w, "no decision; retry", http.StatusServiceUnavailable)
	case ok:
		writeJSON(w, http.StatusOK, verdict{Action: "approve"})
	default:
		writeJSON(w, http.StatusOK, verdict{Action: "reject", Reason: reason})
	}
}

// refuse answers a call that failed verification and reports it.
func (h *CallbackHandler) refuse(w http.ResponseWriter, r *http.Request, err error) {
	refuse(w, err)
	if h.OnRefused != nil {
		h.OnRefused(r, err)
	}
}

// refuse answers 401 with the reason word, or 500 when no secret is
// configured (the sender is not at fault, and jeton retries).
func refuse(w http.ResponseWriter, err error) {
	if reason := ReasonOf(err); reason != "" {
		http.Error(w, string(reason), http.StatusUnauthorized)
		return
	}
	if errors.Is(err, sign.ErrNoSecret) {
		http.Error(w, "no secret configured", http.StatusInternalServerError)
		return
	}
	http.Error(w, "refused", http.StatusUnauthorized)
}

// WebhookFunc applies a verified SagaPay webhook. Return nil only once it
// is applied (or was already, under the same WebhookEventID); an error
// answers 500 and jeton retries after 5, 30, 60 and 90 s.
type WebhookFunc func(ctx context.Context, w SagaPayWebhook) error

// SagaPayWebhookHandler is a SagaPay webhook endpoint as an http.Handler:
// it verifies x-webhook-signature with secrets (the endpoint's secret, as
// CreateWebhookEndpoint returned it), answers 401 with the reason word
// when that fails, and otherwise hands the webhook to apply, answering
// 200 only when it returns nil. Unsigned webhooks (per-order callBackUrl
// calls of a merchant with no endpoint) are refused: nothing vouches
// for them.
func SagaPayWebhookHandler(secrets func() [][]byte, apply WebhookFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		body, ok := readBody(w, r, 0)
		if !ok {
			return
		}
		var s [][]byte
		if secrets != nil {
			s = secrets()
		}
		wh, err := VerifySagaPayWebhook(r.Header.Get(sign.SagaPayHeader), body, s)
		if err != nil {
			refuse(w, err)
			return
		}
		if err := apply(r.Context(), wh); err != nil {
			http.Error(w, "webhook not applied; retry later", http.StatusInternalServerError)
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
}

// readBody reads the raw body, the bytes that were signed.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	if limit <= 0 {
		limit = 1 << 20
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "cannot read body", http.StatusBadRequest)
		}
		return nil, false
	}
	return body, true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
