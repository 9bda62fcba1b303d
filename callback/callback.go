// Package callback delivers callbacks to merchants: AssetPay's status
// callbacks from the store's outbox, retried for about three days, and
// the INITIATED approval calls of withdrawals; and SagaPay's webhooks,
// from the same outbox, in Surfboard's envelope and signature. Every
// attempt is recorded.
package callback

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/callback/sign"
	"github.com/jetonhq/jeton/internal/batch"
	"github.com/jetonhq/jeton/internal/ids"
)

// Schedule is the wait before each retry of a status callback: fast at
// first, then hours apart, about three days in all. Attempt n+1 follows
// attempt n by Schedule[n-1].
var Schedule = []time.Duration{
	5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour,
	12 * time.Hour, 12 * time.Hour, 12 * time.Hour, 12 * time.Hour, 12 * time.Hour,
}

// MaxAttempts is how many times a status callback is tried.
var MaxAttempts = len(Schedule) + 1

// Timeouts of the calls to a merchant.
const (
	StatusTimeout   = 15 * time.Second // the vendor's "200 within 15 s"
	ApprovalTimeout = 10 * time.Second // one approval attempt
	PingTimeout     = 8 * time.Second  // the test ping
)

// Merchants is what delivery needs to know about a merchant.
type Merchants interface {
	Merchant(ctx context.Context, id string) (jeton.Merchant, error)
	// FreshMerchant bypasses the cache, for a URL set on another
	// instance a moment ago.
	FreshMerchant(ctx context.Context, id string) (jeton.Merchant, error)
	CallbackSecrets(ctx context.Context, merchantID string) ([][]byte, error)
}

// Service sends callbacks.
type Service struct {
	// Timeouts of one call, defaulting to the constants above; tests
	// shorten them.
	StatusTimeout, ApprovalTimeout, PingTimeout time.Duration
	// Workers bounds the status callbacks in flight (default 200).
	Workers int
	// Poll is how often Run looks for due callbacks it was not told
	// about: retries coming due, and callbacks stored by another
	// instance (default 250 ms).
	Poll time.Duration
	// Webhooks resolves SagaPay webhook targets; without it SagaPay
	// webhooks fail and are retried.
	Webhooks WebhookTargets

	store     jeton.CallbackStore
	merchants Merchants
	client    *http.Client
	log       *slog.Logger
	now       func() time.Time
	attempts  *batch.Batcher[jeton.CallbackResult]
	kick      chan struct{}
	freed     chan struct{}

	// dueMu guards what Due reported and Run has not claimed yet.
	dueMu sync.Mutex
	due   []string // delivery ids to claim by id
	scan  bool     // look for every due callback at the next claim
}

// New returns a Service. client nil gets a client tuned for many
// concurrent calls to few hosts. Redirects are never followed: a 3xx is
// an answer like any other non-2xx, so a callback cannot be bounced to a
// host the merchant did not configure.
func New(store jeton.CallbackStore, merchants Merchants, client *http.Client, log *slog.Logger, now func() time.Time) *Service {
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns = 0 // no total cap: keep a connection per busy worker
		tr.MaxIdleConnsPerHost = 256
		tr.MaxConnsPerHost = 0
		client = &http.Client{Transport: tr}
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if now == nil {
		now = time.Now
	}
	s := &Service{store: store, merchants: merchants, client: &c, log: log, now: now,
		StatusTimeout: StatusTimeout, ApprovalTimeout: ApprovalTimeout, PingTimeout: PingTimeout,
		Workers: 200, Poll: 250 * time.Millisecond,
		kick: make(chan struct{}, 1), freed: make(chan struct{}, 1)}
	s.attempts = batch.New(256, func(ctx context.Context, rs []jeton.CallbackResult) error {
		return store.RecordAttempts(jeton.Background(ctx), rs)
	})
	return s
}

// Close flushes recorded attempts.
func (s *Service) Close() { s.attempts.Close() }

// NewDeliveryID returns a fresh delivery id: a version-7 UUID, so the
// outbox grows at one end.
func NewDeliveryID() string { return ids.UUID() }

// Status builds the stored callback of a trade's new status: due at
// once, with its delivery id for every retry and the trade frozen as it
// was at the change.
func Status(t jeton.Trade, at time.Time) (jeton.Callback, error) {
	body, err := json.Marshal(t)
	if err != nil {
		return jeton.Callback{}, err
	}
	return jeton.Callback{DeliveryID: NewDeliveryID(), MerchantID: t.MerchantID, TradeID: t.ID, Kind: jeton.CallbackStatus,
		Event: string(t.Status), Body: body, CreatedAt: at, State: jeton.CallbackPending, MaxAttempts: MaxAttempts}, nil
}

// Redeliver sends a stored callback again, under its own delivery id,
// with a fresh budget of attempts.
func (s *Service) Redeliver(ctx context.Context, c jeton.Callback) error {
	return s.store.Redeliver(ctx, c.MerchantID, c.DeliveryID, s.now(), MaxAttempts)
}

// Body builds the callback body: {"payload": {trade, event, timestamp,
// key}}, key being the HMAC of the trade's canonical JSON.
func Body(trade json.RawMessage, event string, ts time.Time, secret []byte) ([]byte, error) {
	key, err := sign.BodyKey(secret, trade)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Grow(len(trade) + 160)
	b.WriteString(`{"payload":{"trade":`)
	b.Write(trade)
	b.WriteString(`,"event":`)
	ev, _ := json.Marshal(event)
	b.Write(ev)
	b.WriteString(`,"timestamp":"`)
	b.WriteString(sign.ISOTime(ts))
	b.WriteString(`","key":"`)
	b.WriteString(key)
	b.WriteString(`"}}`)
	return b.Bytes(), nil
}

// result is what one call to a merchant produced.
type result struct {
	status  int
	body    []byte
	latency time.Duration
	err     error
}

// post sends body to url, signed in the header with secrets.
func (s *Service) post(ctx context.Context, url, deliveryID string, body []byte, secrets [][]byte, timeout time.Duration) result {
	var h map[string]string
	if secrets != nil {
		h = map[string]string{"X-AssetPay-Signature": sign.Header(deliveryID, s.now(), body, secrets...)}
	}
	return s.send(ctx, url, body, h, timeout)
}

// send POSTs a JSON body with extra headers and reads at most 4 KiB of
// the answer.
func (s *Service) send(ctx context.Context, url string, body []byte, headers map[string]string, timeout time.Duration) result {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return result{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "jeton-callbacks/1")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return result{latency: time.Since(start), err: err}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return result{status: resp.StatusCode, body: b, latency: time.Since(start)}
}

// errText describes a failed call without secrets or the URL's query.
func errText(r result) string {
	if r.err == nil {
		if r.status >= 200 && r.status < 300 {
			return ""
		}
		return fmt.Sprintf("HTTP %d", r.status)
	}
	var te interface{ Timeout() bool }
	if errors.As(r.err, &te) && te.Timeout() || errors.Is(r.err, context.DeadlineExceeded) {
		return "timed out"
	}
	msg := r.err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}

// redact drops a URL's query and user info before it is stored or shown.
func redact(url string) string {
	if i := strings.IndexAny(url, "?#"); i >= 0 {
		url = url[:i]
	}
	if i := strings.Index(url, "://"); i >= 0 {
		if at := strings.LastIndex(url[i+3:], "@"); at >= 0 {
			url = url[:i+3] + url[i+3+at+1:]
		}
	}
	return url
}

// merchant returns the merchant, read afresh when the cached copy has no
// callback URL (one may have been set on another instance just now).
func (s *Service) merchant(ctx context.Context, id string) (jeton.Merchant, error) {
	m, err := s.merchants.Merchant(ctx, id)
	if err == nil && m.CallbackURL == "" {
		return s.merchants.FreshMerchant(ctx, id)
	}
	return m, err
}

// errNoURL fails an attempt while the merchant has no callback URL; the
// callback is retried on its schedule.
var errNoURL = errors.New("no callback URL set")

// deliver makes one attempt of a claimed status callback and returns it
// with what it leaves the callback as, whatever went wrong, so the last
// attempt always leaves its callback delivered or failed once recorded.
func (s *Service) deliver(ctx context.Context, c jeton.Callback) jeton.CallbackResult {
	if c.Kind == jeton.CallbackWebhook || c.Kind == jeton.CallbackOrderWebhook {
		return s.deliverWebhook(ctx, c)
	}
	a := jeton.CallbackAttempt{DeliveryID: c.DeliveryID, MerchantID: c.MerchantID, TradeID: c.TradeID, Kind: jeton.CallbackStatus,
		Event: c.Event, Attempt: c.Attempts, At: s.now()}
	var r result
	m, err := s.merchant(ctx, c.MerchantID)
	switch {
	case err != nil:
		r.err = err
	case m.CallbackURL == "":
		r.err = errNoURL
	default:
		a.URL = redact(m.CallbackURL)
		var body []byte
		secrets, err := s.merchants.CallbackSecrets(ctx, c.MerchantID)
		if err == nil {
			body, err = Body(c.Body, c.Event, c.CreatedAt, secrets[0])
		}
		if err != nil {
			r.err = err
			break
		}
		r = s.post(ctx, m.CallbackURL, c.DeliveryID, body, secrets, s.StatusTimeout)
	}
	a.StatusCode, a.Latency, a.Error = r.status, r.latency, errText(r)
	var res jeton.CallbackResult
	switch {
	case r.err == nil && r.status >= 200 && r.status < 300:
		a.Outcome, res.State = "delivered", jeton.CallbackDelivered
	case c.Attempts >= c.MaxAttempts:
		a.Outcome, res.State = "failed", jeton.CallbackFailed
	default:
		// A redelivery raised MaxAttempts by a full budget: its retries
		// follow the schedule from the start again.
		n := c.Attempts - (c.MaxAttempts - MaxAttempts)
		a.Outcome, res.State, res.NextAt = "failed", jeton.CallbackPending, s.now().Add(RetryAfter(n))
	}
	res.Attempt = a
	return res
}

// record stores an attempt, and what it leaves its callback as, with the
// next group of attempts. Until a status attempt is stored its callback
// stays leased, so no one attempts it again meanwhile.
func (s *Service) record(ctx context.Context, res jeton.CallbackResult) {
	if err := s.attempts.Add(ctx, res); err != nil {
		s.log.Warn("callback attempt not recorded", "delivery", res.Attempt.DeliveryID, "kind", res.Attempt.Kind, "err", err)
	}
}

// RetryAfter is the wait after a failed attempt n (from 1) of a status
// callback.
func RetryAfter(n int) time.Duration {
	return Schedule[min(max(n-1, 0), len(Schedule)-1)]
}

// Verdict is a merchant's answer to an approval call.
type Verdict int

// Verdicts.
const (
	// Failed: no usable answer (timeout, 5xx, 408, 429, network); the
	// attempt counts toward the three.
	Failed Verdict = iota
	Approved
	Rejected
)

func (v Verdict) String() string {
	return [...]string{"failed", "approved", "rejected"}[v]
}

// Approve makes one approval attempt for a withdrawal in INITIATED, with a
// new delivery id, and classifies the answer: a 2xx approves unless its
// body is {"action":"reject"}; a 4xx other than 408 and 429 rejects;
// anything else fails the attempt.
//
// It returns the attempt for the caller to record, ideally with the
// change the verdict causes (RecordAttempt otherwise). An attempt that
// cannot call (no URL, an unreadable merchant) is failed too, so the
// delivery log explains every attempt the trade used.
func (s *Service) Approve(ctx context.Context, t jeton.Trade, attempt int) (Verdict, jeton.CallbackAttempt, error) {
	now := s.now()
	id := NewDeliveryID()
	a := jeton.CallbackAttempt{DeliveryID: id, MerchantID: t.MerchantID, TradeID: t.ID, Kind: jeton.CallbackApproval,
		Event: string(t.Status), Attempt: attempt, At: now}
	r, err := s.approvalCall(ctx, t, id, now, &a)
	if err != nil {
		r.err = err
	}
	v := classify(r)
	a.StatusCode, a.Latency, a.Outcome, a.Error = r.status, r.latency, v.String(), errText(r)
	if v != Failed {
		a.Error = ""
	}
	return v, a, err
}

// RecordAttempt stores an attempt no change carried, with the next group.
func (s *Service) RecordAttempt(ctx context.Context, a jeton.CallbackAttempt) {
	s.record(ctx, jeton.CallbackResult{Attempt: a})
}

// approvalCall signs and posts one approval call; an error means no call
// was made.
func (s *Service) approvalCall(ctx context.Context, t jeton.Trade, id string, now time.Time, a *jeton.CallbackAttempt) (result, error) {
	m, err := s.merchant(ctx, t.MerchantID)
	if err != nil {
		return result{}, err
	}
	if m.CallbackURL == "" {
		return result{}, errNoURL
	}
	a.URL = redact(m.CallbackURL)
	secrets, err := s.merchants.CallbackSecrets(ctx, t.MerchantID)
	if err != nil {
		return result{}, err
	}
	trade, err := json.Marshal(t)
	if err != nil {
		return result{}, err
	}
	body, err := Body(trade, string(t.Status), now, secrets[0])
	if err != nil {
		return result{}, err
	}
	return s.post(ctx, m.CallbackURL, id, body, secrets, s.ApprovalTimeout), nil
}

func classify(r result) Verdict {
	switch {
	case r.err != nil:
		return Failed
	case r.status >= 200 && r.status < 300:
		var ans struct {
			Action string `json:"action"`
		}
		if json.Unmarshal(r.body, &ans) == nil && strings.EqualFold(ans.Action, "reject") {
			return Rejected
		}
		return Approved
	case r.status >= 400 && r.status < 500 && r.status != http.StatusRequestTimeout && r.status != http.StatusTooManyRequests:
		return Rejected
	}
	return Failed
}

// Ping posts the unsigned {"test": true} body to url and reports whether
// it answered 2xx within PingTimeout.
func (s *Service) Ping(ctx context.Context, merchantID, url string) (jeton.CallbackAttempt, bool) {
	body := []byte(`{"test":true,"merchantId":"` + merchantID + `","timestamp":"` + sign.ISOTime(s.now()) + `"}`)
	id := NewDeliveryID()
	r := s.post(ctx, url, id, body, nil, s.PingTimeout)
	ok := r.err == nil && r.status >= 200 && r.status < 300
	a := jeton.CallbackAttempt{DeliveryID: id, MerchantID: merchantID, Kind: jeton.CallbackTest, Event: "TEST", Attempt: 1,
		URL: redact(url), StatusCode: r.status, Latency: r.latency, Error: errText(r), At: s.now(), Outcome: "failed"}
	if ok {
		a.Outcome = "delivered"
	}
	s.RecordAttempt(ctx, a)
	return a, ok
}

// ValidURL accepts absolute http(s) callback URLs without credentials;
// the API, the CLI and the dashboard all check URLs with it.
func ValidURL(u string) error {
	if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		return errors.New("must be an http:// or https:// URL")
	}
	if len(u) > 2048 {
		return errors.New("must be at most 2048 characters")
	}
	rest := u[strings.Index(u, "://")+3:]
	if host, _, _ := strings.Cut(rest, "/"); host == "" || strings.Contains(host, "@") {
		return errors.New("must name a host and no user info")
	}
	return nil
}
