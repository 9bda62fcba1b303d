package callback

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/callback/sign"
)

// SagaPay webhooks travel through the same outbox and dispatcher as
// AssetPay's status callbacks, with Surfboard's envelope and signature.

// SagaPay webhook event types.
const (
	EventOrderUpdated     = "order.updated"
	EventPaymentInitiated = "order.paymentinitiated"
	EventPaymentProcessed = "order.paymentprocessed"
	EventPaymentCompleted = "order.paymentcompleted"
	EventPaymentFailed    = "order.paymentfailed"
	EventPaymentCancelled = "order.paymentcancelled"
	EventOrderCancelled   = "order.cancelled"
	EventTerminal         = "order.terminal.event"
	EventTestWebhook      = "test.webhook"
)

// WebhookEvents lists the event types an endpoint may subscribe to.
var WebhookEvents = []string{EventOrderUpdated, EventPaymentInitiated, EventPaymentProcessed, EventPaymentCompleted,
	EventPaymentFailed, EventPaymentCancelled, EventOrderCancelled, EventTerminal}

// WebhookSchedule is the wait before each retry of a console webhook, as
// Surfboard's guide gives it: 5 s after the first failure, then 30, 60
// and 90 s. After the last attempt it stays failed until redelivered.
var WebhookSchedule = []time.Duration{5 * time.Second, 30 * time.Second, 60 * time.Second, 90 * time.Second}

// WebhookMaxAttempts is how many times a console webhook is tried; a
// per-order callBackUrl is tried once, as the reference says.
var WebhookMaxAttempts = len(WebhookSchedule) + 1

// WebhookTimeout bounds one webhook call.
const WebhookTimeout = 10 * time.Second

// WebhookTargets resolves where a SagaPay webhook goes and the secret that
// signs it.
type WebhookTargets interface {
	// WebhookTarget returns a console endpoint's URL and secret.
	WebhookTarget(ctx context.Context, merchantID, endpointID string) (url string, secret []byte, err error)
	// OrderWebhookSecret returns the secret that signs per-order
	// callbacks: the merchant's oldest endpoint's (Surfboard signs them
	// with the console's secret); nil when it has no endpoint, and the
	// callback goes unsigned.
	OrderWebhookSecret(ctx context.Context, merchantID string) ([]byte, error)
}

// storedWebhook is what the outbox keeps of a webhook: everything of its
// envelope but the metadata that belongs to each attempt.
type storedWebhook struct {
	EventID         string          `json:"eventId"`
	TerminalID      string          `json:"terminalId,omitempty"`
	OriginalCreated int64           `json:"originalCreated"`
	Data            json.RawMessage `json:"data"`
}

// WebhookMetadata is Surfboard's envelope metadata.
type WebhookMetadata struct {
	EventID         string `json:"eventId"`
	Created         int64  `json:"created"`
	RetryAttempt    int    `json:"retryAttempt"`
	TerminalID      string `json:"terminalId,omitempty"`
	OriginalCreated int64  `json:"originalCreated,omitempty"`
	WebhookEventID  string `json:"webhookEventId"`
}

// WebhookEnvelope is a SagaPay webhook body.
type WebhookEnvelope struct {
	EventType string          `json:"eventType"`
	Metadata  WebhookMetadata `json:"metadata"`
	Data      json.RawMessage `json:"data"`
}

// Webhooks builds the outbox rows of one event: one for each endpoint
// that takes it, each with its own delivery id (the webhookEventId), and
// one for the order's callBackUrl when it has one. The rows share the
// event's eventId.
func Webhooks(merchantID, orderID, eventType, terminalID string, data any, at time.Time,
	endpoints []jeton.WebhookEndpoint, orderURL string) ([]jeton.Callback, error) {
	wanted := orderURL != ""
	for _, e := range endpoints {
		wanted = wanted || e.Wants(eventType)
	}
	if !wanted {
		return nil, nil // nobody listens: nothing to build
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(storedWebhook{EventID: NewDeliveryID(), TerminalID: terminalID, OriginalCreated: at.UnixMilli(), Data: raw})
	if err != nil {
		return nil, err
	}
	row := func(kind, target string, attempts int) jeton.Callback {
		return jeton.Callback{DeliveryID: NewDeliveryID(), MerchantID: merchantID, TradeID: orderID, Kind: kind, Event: eventType,
			Body: body, CreatedAt: at, State: jeton.CallbackPending, MaxAttempts: attempts, Target: target}
	}
	var out []jeton.Callback
	for _, e := range endpoints {
		if e.Wants(eventType) {
			out = append(out, row(jeton.CallbackWebhook, e.ID, WebhookMaxAttempts))
		}
	}
	if orderURL != "" {
		out = append(out, row(jeton.CallbackOrderWebhook, orderURL, 1))
	}
	return out, nil
}

// WebhookBody is the body of one attempt of a stored webhook: attempt 1
// has retryAttempt 0.
func WebhookBody(c jeton.Callback, attempt int, now time.Time) ([]byte, error) {
	var s storedWebhook
	if err := json.Unmarshal(c.Body, &s); err != nil {
		return nil, err
	}
	return json.Marshal(WebhookEnvelope{EventType: c.Event, Data: s.Data, Metadata: WebhookMetadata{
		EventID: s.EventID, Created: now.UnixMilli(), RetryAttempt: max(attempt-1, 0), TerminalID: s.TerminalID,
		OriginalCreated: s.OriginalCreated, WebhookEventID: c.DeliveryID}})
}

// errNoEndpoint fails an attempt whose endpoint was deleted.
var errNoEndpoint = errors.New("webhook endpoint deleted")

// deliverWebhook makes one attempt of a claimed SagaPay webhook.
func (s *Service) deliverWebhook(ctx context.Context, c jeton.Callback) jeton.CallbackResult {
	a := jeton.CallbackAttempt{DeliveryID: c.DeliveryID, MerchantID: c.MerchantID, TradeID: c.TradeID, Kind: c.Kind,
		Event: c.Event, Attempt: c.Attempts, At: s.now()}
	var r result
	url, secret, err := s.webhookTarget(ctx, c)
	var body []byte
	if err == nil {
		a.URL = redact(url)
		body, err = WebhookBody(c, c.Attempts, a.At)
	}
	if err != nil {
		r.err = err
	} else {
		r = s.postWebhook(ctx, url, body, secret)
	}
	a.StatusCode, a.Latency, a.Error = r.status, r.latency, errText(r)
	var res jeton.CallbackResult
	switch {
	case r.err == nil && r.status >= 200 && r.status < 300:
		a.Outcome, res.State = "delivered", jeton.CallbackDelivered
	case c.Attempts >= c.MaxAttempts || errors.Is(r.err, errNoEndpoint):
		a.Outcome, res.State = "failed", jeton.CallbackFailed
	default:
		n := c.Attempts - (c.MaxAttempts - WebhookMaxAttempts)
		a.Outcome, res.State, res.NextAt = "failed", jeton.CallbackPending, s.now().Add(WebhookSchedule[min(max(n-1, 0), len(WebhookSchedule)-1)])
	}
	res.Attempt = a
	return res
}

func (s *Service) webhookTarget(ctx context.Context, c jeton.Callback) (string, []byte, error) {
	if s.Webhooks == nil {
		return "", nil, errors.New("webhooks are not wired")
	}
	if c.Kind == jeton.CallbackOrderWebhook {
		secret, err := s.Webhooks.OrderWebhookSecret(ctx, c.MerchantID)
		return c.Target, secret, err
	}
	url, secret, err := s.Webhooks.WebhookTarget(ctx, c.MerchantID, c.Target)
	if jeton.ErrorKey(err) == jeton.KeyWebhookNotFound {
		err = errNoEndpoint
	}
	return url, secret, err
}

// postWebhook sends a SagaPay webhook, signed when there is a secret.
func (s *Service) postWebhook(ctx context.Context, url string, body, secret []byte) result {
	var h map[string]string
	if secret != nil {
		h = map[string]string{"x-webhook-signature": sign.SagaPay(secret, body)}
	}
	return s.send(ctx, url, body, h, WebhookTimeout)
}

// TestWebhook sends the unretried test.webhook event to an endpoint and
// reports the attempt.
func (s *Service) TestWebhook(ctx context.Context, merchantID string, e jeton.WebhookEndpoint, secret []byte) jeton.CallbackAttempt {
	now := s.now()
	id := NewDeliveryID()
	body, _ := json.Marshal(WebhookEnvelope{EventType: EventTestWebhook, Data: json.RawMessage(`{}`),
		Metadata: WebhookMetadata{EventID: NewDeliveryID(), Created: now.UnixMilli(), WebhookEventID: id}})
	r := s.postWebhook(ctx, e.URL, body, secret)
	a := jeton.CallbackAttempt{DeliveryID: id, MerchantID: merchantID, Kind: "webhook_test", Event: EventTestWebhook, Attempt: 1,
		URL: redact(e.URL), StatusCode: r.status, Latency: r.latency, Error: errText(r), At: now, Outcome: "failed"}
	if r.err == nil && r.status >= 200 && r.status < 300 {
		a.Outcome = "delivered"
	}
	s.record(ctx, jeton.CallbackResult{Attempt: a})
	return a
}
