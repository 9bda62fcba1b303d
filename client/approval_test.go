package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jetonhq/jeton/callback/sign"
)

const approvalTrade = `{"id":"w-1","type":"WITHDRAW","source":"client","status":"INITIATED","game":"730","merchantId":"m-1",` +
	`"clientUserId":"cu_1","clientSteamID":"76561198012345678","clientTradeUrl":"https://steamcommunity.com/tradeoffer/new/?partner=52079950\u0026token=abcd1234",` +
	`"items":[],"totalPrice":12.5,"externalId":"wd-1","externalClientUserId":null,"createdAt":"2026-03-11T09:59:58.120Z","updatedAt":"2026-03-11T09:59:58.120Z"}`

// recorder notes what the handler's functions were called with.
type recorder struct {
	mu        sync.Mutex
	decisions []string
	statuses  []string
	pings     int
	refused   []sign.Reason
}

func TestCallbackHandler(t *testing.T) {
	secret, prev := []byte("sk_current"), []byte("sk_previous")
	now := time.Date(2026, 3, 11, 10, 0, 0, 0, time.UTC)
	approval := callbackFor(t, approvalTrade, secret)
	status := callbackFor(t, testTrade, secret)
	signed := func(body []byte, secrets ...[]byte) string { return sign.Header("d-1", now, body, secrets...) }
	errNo := errors.New("database down")

	type handlerSetup struct {
		approve func(Trade) (bool, string, error)
		status  func(AssetPayCallback) error
		bodyKey bool
		secrets [][]byte
	}
	full := handlerSetup{
		approve: func(t Trade) (bool, string, error) { return t.TotalPrice <= 2000, "limit", nil },
		status:  func(AssetPayCallback) error { return nil },
		secrets: [][]byte{secret},
	}
	cases := []struct {
		name     string
		setup    handlerSetup
		method   string
		header   string
		body     []byte
		code     int
		answer   string
		decided  int // calls of Approve
		statuses int // calls of Status
		ping     bool
	}{
		{name: "approve", setup: full, header: signed(approval, secret), body: approval, code: 200, answer: `{"action":"approve"}`, decided: 1},
		{name: "reject with reason", setup: handlerSetup{approve: func(Trade) (bool, string, error) { return false, "balance too low", nil }, secrets: [][]byte{secret}},
			header: signed(approval, secret), body: approval, code: 200, answer: `{"action":"reject","reason":"balance too low"}`, decided: 1},
		{name: "reject without reason", setup: handlerSetup{approve: func(Trade) (bool, string, error) { return false, "", nil }, secrets: [][]byte{secret}},
			header: signed(approval, secret), body: approval, code: 200, answer: `{"action":"reject"}`, decided: 1},
		{name: "decision failed: retry", setup: handlerSetup{approve: func(Trade) (bool, string, error) { return true, "", errNo }, secrets: [][]byte{secret}},
			header: signed(approval, secret), body: approval, code: 503, decided: 1},
		{name: "approval with wrong secret", setup: full, header: signed(approval, []byte("sk_forged")), body: approval, code: 401, answer: "signature_mismatch"},
		{name: "approval with altered body", setup: full, header: signed(approval, secret), body: []byte(strings.Replace(string(approval), "12.5", "1.5", 1)), code: 401, answer: "signature_mismatch"},
		{name: "stale approval", setup: handlerSetup{approve: full.approve, secrets: [][]byte{secret}}, header: sign.Header("d-1", now.Add(-6*time.Minute), approval, secret), body: approval, code: 401, answer: "timestamp_out_of_range"},
		{name: "approval during rotation, old secret held", setup: handlerSetup{approve: full.approve, secrets: [][]byte{prev}}, header: signed(approval, secret, prev), body: approval, code: 200, answer: `{"action":"approve"}`, decided: 1},
		{name: "rotation with body key required", setup: handlerSetup{approve: full.approve, secrets: [][]byte{prev}, bodyKey: true}, header: signed(approval, secret, prev), body: approval, code: 401, answer: "body_key_mismatch"},
		{name: "body key required, current held", setup: handlerSetup{approve: full.approve, secrets: [][]byte{secret, prev}, bodyKey: true}, header: signed(approval, secret, prev), body: approval, code: 200, answer: `{"action":"approve"}`, decided: 1},
		{name: "approval without Approve", setup: handlerSetup{status: full.status, secrets: [][]byte{secret}}, header: signed(approval, secret), body: approval, code: 501},
		{name: "status applied", setup: full, header: signed(status, secret), body: status, code: 200, answer: `{"ok":true}`, statuses: 1},
		{name: "status not applied: retry", setup: handlerSetup{status: func(AssetPayCallback) error { return errNo }, secrets: [][]byte{secret}}, header: signed(status, secret), body: status, code: 500, statuses: 1},
		{name: "status without Status", setup: handlerSetup{approve: full.approve, secrets: [][]byte{secret}}, header: signed(status, secret), body: status, code: 501},
		{name: "status with wrong secret", setup: full, header: signed(status, prev), body: status, code: 401, answer: "signature_mismatch"},
		{name: "test ping", setup: full, body: []byte(`{"test":true,"merchantId":"m-1","timestamp":"2026-03-11T09:58:00.894Z"}`), code: 200, answer: `{"ok":true}`, ping: true},
		{name: "ping without any function", setup: handlerSetup{}, body: []byte(`{"test":true}`), code: 200, answer: `{"ok":true}`, ping: true},
		{name: "unsigned approval", setup: full, body: approval, code: 401, answer: "missing_header"},
		{name: "malformed header", setup: full, header: "s=1", body: approval, code: 401, answer: "malformed"},
		{name: "no secret configured", setup: handlerSetup{approve: full.approve}, header: signed(approval, secret), body: approval, code: 500},
		{name: "GET", setup: full, method: "GET", code: 405},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var rec recorder
			h := &CallbackHandler{Now: func() time.Time { return now }, RequireBodyKey: c.setup.bodyKey,
				Secrets: func() [][]byte { return c.setup.secrets },
				OnPing:  func(ctx context.Context, p Ping) { rec.mu.Lock(); rec.pings++; rec.mu.Unlock() },
				OnRefused: func(r *http.Request, err error) {
					rec.mu.Lock()
					rec.refused = append(rec.refused, ReasonOf(err))
					rec.mu.Unlock()
				}}
			if c.setup.approve != nil {
				h.Approve = func(ctx context.Context, t Trade) (bool, string, error) {
					rec.decisions = append(rec.decisions, t.ID)
					return c.setup.approve(t)
				}
			}
			if c.setup.status != nil {
				h.Status = func(ctx context.Context, cb AssetPayCallback) error {
					rec.statuses = append(rec.statuses, cb.DeliveryID+":"+string(cb.Trade.Status))
					return c.setup.status(cb)
				}
			}
			method := c.method
			if method == "" {
				method = "POST"
			}
			req := httptest.NewRequest(method, "/callback", strings.NewReader(string(c.body)))
			if c.header != "" {
				req.Header.Set("x-assetpay-signature", c.header) // any case
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != c.code {
				t.Fatalf("status %d, want %d (%s)", w.Code, c.code, w.Body)
			}
			if got := strings.TrimSpace(w.Body.String()); c.answer != "" && got != c.answer {
				t.Errorf("answer %s, want %s", got, c.answer)
			}
			if len(rec.decisions) != c.decided || len(rec.statuses) != c.statuses || (rec.pings == 1) != c.ping {
				t.Errorf("calls: decisions %v, statuses %v, pings %d", rec.decisions, rec.statuses, rec.pings)
			}
			if c.decided > 0 && rec.decisions[0] != "w-1" {
				t.Errorf("decided on %v", rec.decisions)
			}
			if c.statuses > 0 && rec.statuses[0] != "d-1:HOLD" {
				t.Errorf("applied %v", rec.statuses)
			}
			if c.code == 401 && (len(rec.refused) != 1 || string(rec.refused[0]) != c.answer) {
				t.Errorf("OnRefused saw %v", rec.refused)
			}
		})
	}
}

func TestApprovalAndStatusHandlers(t *testing.T) {
	secret := []byte("sk_current")
	approval := callbackFor(t, approvalTrade, secret)
	status := callbackFor(t, testTrade, secret)
	serve := func(h http.Handler, body []byte) int {
		req := httptest.NewRequest("POST", "/", strings.NewReader(string(body)))
		req.Header.Set(sign.AssetPayHeader, sign.Header("d", time.Now(), body, secret))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	ah := ApprovalHandler(Secrets(string(secret)), func(context.Context, Trade) (bool, string, error) { return true, "", nil })
	sh := StatusHandler(Secrets(string(secret)), func(context.Context, AssetPayCallback) error { return nil })
	// Each answers its own kind, and leaves the other to be retried:
	// a status handler never approves a withdrawal by a bare 2xx.
	if a, s := serve(ah, approval), serve(ah, status); a != 200 || s != 501 {
		t.Errorf("approval handler: %d %d", a, s)
	}
	if a, s := serve(sh, approval), serve(sh, status); a != 501 || s != 200 {
		t.Errorf("status handler: %d %d", a, s)
	}
}

func TestSagaPayWebhookHandler(t *testing.T) {
	secret := []byte("whsec_a")
	body := []byte(`{"eventType":"order.paymentcompleted","metadata":{"eventId":"e","created":1,"retryAttempt":0,"webhookEventId":"w"},"data":{"orderId":"o"}}`)
	var got []string
	fail := false
	h := SagaPayWebhookHandler(Secrets(string(secret)), func(ctx context.Context, w SagaPayWebhook) error {
		got = append(got, w.Metadata.WebhookEventID)
		if fail {
			return errors.New("not now")
		}
		return nil
	})
	cases := []struct {
		name, sig string
		fail      bool
		code      int
		answer    string
	}{
		{"good", sign.SagaPay(secret, body), false, 200, `{"ok":true}`},
		{"apply failed", sign.SagaPay(secret, body), true, 500, ""},
		{"wrong secret", sign.SagaPay([]byte("whsec_b"), body), false, 401, "signature_mismatch"},
		{"unsigned", "", false, 401, "missing_header"},
	}
	for _, c := range cases {
		got, fail = nil, c.fail
		req := httptest.NewRequest("POST", "/", strings.NewReader(string(body)))
		if c.sig != "" {
			req.Header.Set("X-Webhook-Signature", c.sig)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != c.code || c.answer != "" && strings.TrimSpace(w.Body.String()) != c.answer {
			t.Errorf("%s: %d %s", c.name, w.Code, w.Body)
		}
		if applied := len(got) == 1 && got[0] == "w"; applied != (c.code != 401) {
			t.Errorf("%s: applied %v", c.name, got)
		}
	}
}
