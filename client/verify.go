package client

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jetonhq/jeton/callback/sign"
)

// Verifying what jeton sends: AssetPay callbacks (signed twice, in the
// X-AssetPay-Signature header and in the body's payload.key) and SagaPay
// webhooks (x-webhook-signature). The HMACs are callback/sign's, the very
// functions jeton signs with, so the two sides cannot drift apart.

// Reasons the SDK adds to sign's, for the checks sign leaves to its
// caller. Like sign's they are sign.Reason values, so one errors.As finds
// the word to answer 401 with.
const (
	// ReasonBodyKeyMismatch: payload.key is missing or matches no secret.
	ReasonBodyKeyMismatch sign.Reason = "body_key_mismatch"
	// ReasonNotACallback: the body is JSON but has no payload.trade, or
	// a trade the SDK cannot read.
	ReasonNotACallback sign.Reason = "not_a_callback"
)

// refused wraps a reason so the message says what was refused while
// errors.Is(err, sign.ReasonSignatureMismatch) and ReasonOf still work.
func refused(what string, err error) error {
	return fmt.Errorf("client: %s refused: %w", what, err)
}

// ReasonOf returns the verification failure behind err (one of sign's
// Reason values or the SDK's), or "" when err is not one, such as
// sign.ErrNoSecret, which is a configuration error rather than a bad
// delivery. Answer 401 with the reason as the body, as the vendor's SDK
// does.
func ReasonOf(err error) sign.Reason {
	var r sign.Reason
	if errors.As(err, &r) {
		return r
	}
	return ""
}

// AssetPayCallback is one verified AssetPay call: a status callback or a
// withdrawal's approval call (see IsApproval).
type AssetPayCallback struct {
	// DeliveryID is the header's id=: the same across a status
	// callback's retries, so dedupe on it; new for every approval
	// attempt, so dedupe approvals on Trade.ID. Empty when only the body
	// key was verified.
	DeliveryID string
	// SentAt is the header's t=, when this attempt was sent.
	SentAt time.Time
	// Secret is the index of the secret that matched; 1 means jeton
	// still signs with the previous secret, so keep it a while longer.
	Secret int
	// Event is payload.event, equal to Trade.Status.
	Event string
	// Timestamp is payload.timestamp as sent: when the change happened,
	// on the sandbox clock in sandbox mode (check freshness with SentAt).
	Timestamp string
	// Trade is the trade as it was at the change.
	Trade Trade
	// RawTrade is payload.trade exactly as received.
	RawTrade json.RawMessage
	// Key is payload.key, the body signature.
	Key string
}

// IsApproval reports whether this is an approval call, which must be
// answered with a verdict, not merely acknowledged.
func (c AssetPayCallback) IsApproval() bool { return c.Trade.IsApproval() }

// callbackBody is the body of every signed AssetPay call.
type callbackBody struct {
	Payload *struct {
		Trade     json.RawMessage `json:"trade"`
		Event     string          `json:"event"`
		Timestamp string          `json:"timestamp"`
		Key       string          `json:"key"`
	} `json:"payload"`
}

// parseCallback reads a body whose signature is already good.
func parseCallback(body []byte) (AssetPayCallback, error) {
	if !json.Valid(body) {
		return AssetPayCallback{}, sign.ReasonInvalidJSON
	}
	var b callbackBody
	if err := json.Unmarshal(body, &b); err != nil || b.Payload == nil || len(b.Payload.Trade) == 0 || string(b.Payload.Trade) == "null" {
		return AssetPayCallback{}, ReasonNotACallback
	}
	c := AssetPayCallback{Event: b.Payload.Event, Timestamp: b.Payload.Timestamp, Key: b.Payload.Key, RawTrade: b.Payload.Trade}
	if err := json.Unmarshal(b.Payload.Trade, &c.Trade); err != nil {
		return AssetPayCallback{}, ReasonNotACallback
	}
	return c, nil
}

// VerifyAssetPayCallback checks an AssetPay call's X-AssetPay-Signature
// header against the raw body, exactly as the vendor's SDK does, then
// parses it. secrets are the API secrets, current first, then the
// previous one while a rotation's grace lasts; tolerance <= 0 means the
// vendor's 300 s. Pass the raw request bytes, never re-encoded JSON.
//
// On failure the error wraps a sign.Reason (missing_header, malformed,
// timestamp_out_of_range, signature_mismatch, invalid_json) or, for a
// signed JSON body without a trade, ReasonNotACallback; see ReasonOf. A
// missing or empty secret list is sign.ErrNoSecret.
//
// The header covers the whole body, payload.key included, so checking the
// key as well (VerifyAssetPayBodyKey) adds nothing but a dependency on
// the current secret alone.
func VerifyAssetPayCallback(header string, body []byte, secrets [][]byte, now time.Time, tolerance time.Duration) (AssetPayCallback, error) {
	d, err := sign.VerifyHeader(header, body, secrets, now, tolerance)
	if err != nil {
		return AssetPayCallback{}, refused("AssetPay callback", err)
	}
	c, err := parseCallback(body)
	if err != nil {
		return AssetPayCallback{}, refused("AssetPay callback", err)
	}
	c.DeliveryID, c.SentAt, c.Secret = d.ID, d.Time, d.Secret
	return c, nil
}

// VerifyAssetPayBodyKey checks an AssetPay call by its body alone, as
// integrations of the older API do: payload.key must be the HMAC of the
// trade's canonical JSON under one of the secrets. jeton computes the key
// with the current secret only, so during a rotation only the new secret
// verifies it. There is no timestamp to check and no delivery id: dedupe
// on (Trade.ID, Event).
func VerifyAssetPayBodyKey(body []byte, secrets [][]byte) (AssetPayCallback, error) {
	if !hasSecret(secrets) {
		return AssetPayCallback{}, refused("AssetPay callback", sign.ErrNoSecret)
	}
	c, err := parseCallback(body)
	if err != nil {
		return AssetPayCallback{}, refused("AssetPay callback", err)
	}
	if c.Secret = bodyKeySecret(secrets, c.RawTrade, c.Key); c.Secret < 0 {
		return AssetPayCallback{}, refused("AssetPay callback", ReasonBodyKeyMismatch)
	}
	return c, nil
}

// bodyKeySecret returns the index of the secret that signed key, or -1.
// Every secret is tried, without stopping at a match.
func bodyKeySecret(secrets [][]byte, trade []byte, key string) int {
	found := -1
	for i, s := range secrets {
		if len(s) > 0 && sign.VerifyBodyKey([][]byte{s}, trade, key) && found < 0 {
			found = i
		}
	}
	return found
}

// Ping is the unsigned {"test": true} call jeton makes when a callback
// URL is saved.
type Ping struct {
	Test       bool   `json:"test"`
	MerchantID string `json:"merchantId"`
	Timestamp  string `json:"timestamp"`
}

// ParsePing recognises the test ping: no signature header and a JSON
// object body with "test": true. It is the one unsigned call jeton makes;
// acknowledge it with a 2xx (else the URL is not saved) and act on
// nothing in it, since anyone can send one.
func ParsePing(header string, body []byte) (Ping, bool) {
	if header != "" {
		return Ping{}, false
	}
	var p Ping
	if json.Unmarshal(body, &p) != nil || !p.Test {
		return Ping{}, false
	}
	return p, true
}

// SagaPayWebhook is one verified SagaPay webhook, in Surfboard's envelope.
type SagaPayWebhook struct {
	EventType string          `json:"eventType"` // e.g. order.paymentcompleted
	Metadata  WebhookMetadata `json:"metadata"`
	// Data is the event's data as sent; see Event for its common fields.
	Data json.RawMessage `json:"data"`
}

// WebhookMetadata is the envelope's metadata.
type WebhookMetadata struct {
	EventID         string `json:"eventId"` // the event's, the same at every endpoint
	Created         int64  `json:"created"` // Unix milliseconds of this attempt
	RetryAttempt    int    `json:"retryAttempt"`
	TerminalID      string `json:"terminalId,omitempty"`
	OriginalCreated int64  `json:"originalCreated,omitempty"`
	// WebhookEventID is the delivery's, the same across its retries:
	// dedupe on it.
	WebhookEventID string `json:"webhookEventId"`
}

// WebhookEvent holds the fields most webhook events carry in data.
type WebhookEvent struct {
	OrderID                   string `json:"orderId"`
	MerchantID                string `json:"merchantId"`
	PaymentID                 string `json:"paymentId,omitempty"`
	PaymentStatus             string `json:"paymentStatus,omitempty"`
	OrderStatus               string `json:"orderStatus,omitempty"`
	PaymentMethod             string `json:"paymentMethod,omitempty"`
	ReferenceID               string `json:"referenceId,omitempty"`
	TerminalTransactionStatus string `json:"terminalTransactionStatus,omitempty"` // order.terminal.event
}

// Event decodes the common fields of Data; read Data yourself for the
// rest (transactionDetails, failedTransactionDetails, metadata, ...).
func (w SagaPayWebhook) Event() (WebhookEvent, error) {
	var e WebhookEvent
	err := json.Unmarshal(w.Data, &e)
	return e, err
}

// VerifySagaPayWebhook checks a SagaPay webhook's x-webhook-signature (the
// base64 HMAC-SHA512 of the raw body under the endpoint's secret) and
// parses it. secrets may hold several endpoint secrets; any match is
// valid. Errors wrap sign's reasons: missing_header, malformed (not the
// base64 of 64 bytes), signature_mismatch, invalid_json; see ReasonOf.
func VerifySagaPayWebhook(signature string, body []byte, secrets [][]byte) (SagaPayWebhook, error) {
	const what = "SagaPay webhook"
	switch {
	case !hasSecret(secrets):
		return SagaPayWebhook{}, refused(what, sign.ErrNoSecret)
	case strings.TrimSpace(signature) == "":
		return SagaPayWebhook{}, refused(what, sign.ReasonMissingHeader)
	}
	if raw, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSpace(signature)); err != nil || len(raw) != 64 {
		return SagaPayWebhook{}, refused(what, sign.ReasonMalformed)
	}
	if !sign.VerifySagaPay(secrets, body, signature) {
		return SagaPayWebhook{}, refused(what, sign.ReasonSignatureMismatch)
	}
	var w SagaPayWebhook
	if err := json.Unmarshal(body, &w); err != nil {
		return SagaPayWebhook{}, refused(what, sign.ReasonInvalidJSON)
	}
	return w, nil
}

func hasSecret(secrets [][]byte) bool {
	for _, s := range secrets {
		if len(s) > 0 {
			return true
		}
	}
	return false
}

// Secrets returns a fixed secret list for the handlers: the current
// secret first, then the previous one while a rotation's grace lasts.
// Empty strings are dropped, so an unset environment variable adds no
// secret anyone could compute.
func Secrets(secrets ...string) func() [][]byte {
	var out [][]byte
	for _, s := range secrets {
		if s != "" {
			out = append(out, []byte(s))
		}
	}
	return func() [][]byte { return out }
}
