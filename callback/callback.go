// Package callback delivers AssetPay trade callbacks to merchants: status
// callbacks as durable River jobs retried for about three days, and the
// INITIATED approval calls of withdrawals. Every attempt is recorded.
package callback

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/callback/sign"
	"github.com/jetonhq/jeton/internal/batch"
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

// Queue is the River queue status callbacks run in.
const Queue = "callbacks"

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

	store     jeton.CallbackStore
	merchants Merchants
	client    *http.Client
	log       *slog.Logger
	now       func() time.Time
	attempts  *batch.Batcher[record]
}

// record is one attempt to store, with the state it leaves its callback in.
type record struct {
	a     jeton.CallbackAttempt
	state string
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
		StatusTimeout: StatusTimeout, ApprovalTimeout: ApprovalTimeout, PingTimeout: PingTimeout}
	s.attempts = batch.New(256, s.commitAttempts)
	return s
}

// Close flushes recorded attempts.
func (s *Service) Close() { s.attempts.Close() }

func (s *Service) commitAttempts(ctx context.Context, rs []record) error {
	as := make([]jeton.CallbackAttempt, len(rs))
	var delivered, failed []string
	for i, r := range rs {
		as[i] = r.a
		switch r.state {
		case jeton.CallbackDelivered:
			delivered = append(delivered, r.a.DeliveryID)
		case jeton.CallbackFailed:
			failed = append(failed, r.a.DeliveryID)
		}
	}
	return s.store.RecordAttempts(ctx, as, delivered, failed)
}

// NewDeliveryID returns a fresh delivery id.
func NewDeliveryID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Deliver is the durable job of one status callback. The trade is frozen
// as it was at the change; the delivery id stays the same across retries.
type Deliver struct {
	DeliveryID string          `json:"deliveryId"`
	MerchantID string          `json:"merchantId"`
	TradeID    string          `json:"tradeId"`
	Event      string          `json:"event"`
	Trade      json.RawMessage `json:"trade"`
	Timestamp  time.Time       `json:"timestamp"`
}

// Kind names the job for River.
func (Deliver) Kind() string { return "callback.deliver" }

// InsertOpts puts status callbacks on their own queue with their own
// attempt budget.
func (Deliver) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: MaxAttempts}
}

// Status builds the stored callback and its job for a trade's new status.
func Status(t jeton.Trade, at time.Time) (jeton.Callback, Deliver, error) {
	body, err := json.Marshal(t)
	if err != nil {
		return jeton.Callback{}, Deliver{}, err
	}
	d := Deliver{DeliveryID: NewDeliveryID(), MerchantID: t.MerchantID, TradeID: t.ID, Event: string(t.Status), Trade: body, Timestamp: at}
	c := jeton.Callback{DeliveryID: d.DeliveryID, MerchantID: t.MerchantID, TradeID: t.ID, Kind: jeton.CallbackStatus,
		Event: d.Event, Body: body, CreatedAt: at, State: jeton.CallbackPending}
	return c, d, nil
}

// Redelivery is the job that sends a stored callback again.
func Redelivery(c jeton.Callback) Deliver {
	return Deliver{DeliveryID: c.DeliveryID, MerchantID: c.MerchantID, TradeID: c.TradeID, Event: c.Event, Trade: c.Body, Timestamp: c.CreatedAt}
}

// Redeliver sends a stored callback again, under its own delivery id.
func (s *Service) Redeliver(ctx context.Context, c jeton.Callback) error {
	return s.store.Redeliver(ctx, c.MerchantID, c.DeliveryID, Redelivery(c))
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
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return result{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "jeton-callbacks/1")
	if secrets != nil {
		req.Header.Set("X-AssetPay-Signature", sign.Header(deliveryID, s.now(), body, secrets...))
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

// Worker works Deliver jobs.
type Worker struct {
	river.WorkerDefaults[Deliver]
	S *Service
}

// Timeout bounds one delivery job beyond the HTTP timeout.
func (w *Worker) Timeout(*river.Job[Deliver]) time.Duration { return w.S.StatusTimeout + 5*time.Second }

// NextRetry follows Schedule.
func (w *Worker) NextRetry(job *river.Job[Deliver]) time.Time {
	i := job.Attempt - 1
	if i < 0 {
		i = 0
	}
	if i >= len(Schedule) {
		i = len(Schedule) - 1
	}
	return time.Now().Add(Schedule[i])
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

// errNoURL makes River retry while the merchant has no callback URL.
var errNoURL = errors.New("no callback URL set")

// Work sends one status callback.
func (w *Worker) Work(ctx context.Context, job *river.Job[Deliver]) error {
	return w.S.deliver(ctx, job.Args, job.Attempt, job.Attempt >= job.MaxAttempts)
}

// deliver makes one attempt and records it, whatever went wrong, so the
// last attempt always leaves its callback delivered or failed.
func (s *Service) deliver(ctx context.Context, d Deliver, attempt int, last bool) error {
	a := jeton.CallbackAttempt{DeliveryID: d.DeliveryID, MerchantID: d.MerchantID, TradeID: d.TradeID, Kind: jeton.CallbackStatus,
		Event: d.Event, Attempt: attempt, At: s.now()}
	var r result
	m, err := s.merchant(ctx, d.MerchantID)
	switch {
	case err != nil:
		r.err = err
	case m.CallbackURL == "":
		r.err = errNoURL
	default:
		a.URL = redact(m.CallbackURL)
		var body []byte
		secrets, err := s.merchants.CallbackSecrets(ctx, d.MerchantID)
		if err == nil {
			body, err = Body(d.Trade, d.Event, d.Timestamp, secrets[0])
		}
		if err != nil {
			r.err = err
			break
		}
		r = s.post(ctx, m.CallbackURL, d.DeliveryID, body, secrets, s.StatusTimeout)
	}
	a.StatusCode, a.Latency, a.Error = r.status, r.latency, errText(r)
	ok := r.err == nil && r.status >= 200 && r.status < 300
	state := ""
	switch {
	case ok:
		a.Outcome, state = "delivered", jeton.CallbackDelivered
	case last:
		a.Outcome, state = "failed", jeton.CallbackFailed
	default:
		a.Outcome = "failed"
	}
	if err := s.attempts.Add(ctx, record{a: a, state: state}); err != nil {
		s.log.Warn("callback attempt not recorded", "delivery", d.DeliveryID, "err", err)
	}
	if ok {
		return nil
	}
	if r.err != nil {
		return fmt.Errorf("callback %s: %s", d.DeliveryID, a.Error)
	}
	return fmt.Errorf("callback %s: HTTP %d", d.DeliveryID, r.status)
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
// An attempt that cannot call (no URL, an unreadable merchant) is
// recorded as failed too, so the delivery log explains every attempt the
// trade used.
func (s *Service) Approve(ctx context.Context, t jeton.Trade, attempt int) (Verdict, error) {
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
	if err := s.attempts.Add(ctx, record{a: a}); err != nil {
		s.log.Warn("approval attempt not recorded", "trade", t.ID, "err", err)
	}
	return v, err
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
	if err := s.attempts.Add(ctx, record{a: a}); err != nil {
		s.log.Warn("ping attempt not recorded", "err", err)
	}
	return a, ok
}
