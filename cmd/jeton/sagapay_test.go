package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/callback/sign"
)

// hookReceiver is a merchant's webhook endpoint over real HTTP: it keeps
// every webhook with the result of verifying its signature.
type hookReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	secret []byte
	got    []receivedHook
	status int // answer (default 200)
}

type receivedHook struct {
	Signed   bool
	Verified bool
	Env      struct {
		EventType string         `json:"eventType"`
		Metadata  map[string]any `json:"metadata"`
		Data      map[string]any `json:"data"`
	}
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{status: 200}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		var rh receivedHook
		sig := r.Header.Get("x-webhook-signature")
		rh.Signed = sig != ""
		rh.Verified = h.secret != nil && sign.VerifySagaPay([][]byte{h.secret}, body, sig)
		if err := json.Unmarshal(body, &rh.Env); err != nil {
			t.Errorf("webhook body is not JSON: %s", body)
		}
		h.got = append(h.got, rh)
		w.WriteHeader(h.status)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) setSecret(s string) { h.mu.Lock(); h.secret = []byte(s); h.mu.Unlock() }

// events returns the event types received for an order, in order.
func (h *hookReceiver) events(orderID string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, g := range h.got {
		if g.Env.Data["orderId"] == orderID {
			ev := g.Env.EventType
			if s, ok := g.Env.Data["terminalTransactionStatus"].(string); ok {
				ev += ":" + s
			}
			out = append(out, ev)
		}
	}
	return out
}

func (h *hookReceiver) all() []receivedHook {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]receivedHook(nil), h.got...)
}

// sagaFixture is a merchant with a store, a sandbox terminal and a
// webhook endpoint.
type sagaFixture struct {
	e        *env
	m        merchant
	admin    map[string]string
	core     map[string]string
	terminal string
	hooks    *hookReceiver
}

func newSagaFixture(t *testing.T, e *env, name string) *sagaFixture {
	f := &sagaFixture{e: e, m: e.merchant(name)}
	f.admin = map[string]string{"API-KEY": f.m.admin, "API-SECRET": f.m.APISecret, "MERCHANT-ID": f.m.Merchant.ID}
	f.core = map[string]string{"API-KEY": f.m.APIKey, "API-SECRET": f.m.APISecret, "MERCHANT-ID": f.m.Merchant.ID}
	st := e.do("POST", "/partners/"+f.m.Merchant.PartnerID+"/merchants/"+f.m.Merchant.ID+"/stores", f.admin, storeBody())
	if st.Status != 201 {
		t.Fatalf("store: %s", st.Raw)
	}
	storeID := st.data()["storeId"].(string)
	reg := e.do("POST", "/merchants/"+f.m.Merchant.ID+"/stores/"+storeID+"/devices", f.admin,
		map[string]any{"registrationIdentifier": fmt.Sprintf("%06d", time.Now().UnixNano()%900000+100000), "terminalName": "Till 1"})
	if reg.Status != 201 || reg.data()["registrationStatus"] != "REGISTERED" {
		t.Fatalf("register terminal: %s", reg.Raw)
	}
	f.terminal = reg.data()["terminalId"].(string)
	f.hooks = newHookReceiver(t)
	wh := e.do("POST", "/merchants/"+f.m.Merchant.ID+"/webhooks", f.admin, map[string]any{"name": "backend", "url": f.hooks.srv.URL})
	if wh.Status != 201 || wh.data()["secret"] == nil {
		t.Fatalf("webhook endpoint: %s", wh.Raw)
	}
	secret := wh.data()["secret"].(string)
	e.remember(secret)
	f.hooks.setSecret(secret)
	return f
}

// token mints a SagaPay client token for an end user.
func (f *sagaFixture) token(user string) map[string]string {
	r := f.e.do("POST", "/partners/"+f.m.Merchant.PartnerID+"/token", f.core,
		map[string]any{"providerId": f.m.ProviderID, "providerCertificate": f.m.ProviderCertificate, "externalUserId": user})
	if r.Status != 200 {
		f.e.t.Fatalf("token: %s", r.Raw)
	}
	return map[string]string{"Authorization": "Bearer " + r.data()["token"].(string)}
}

func (f *sagaFixture) order(hdr map[string]string, total int64, extra map[string]any) reply {
	body := map[string]any{
		"terminal$id": f.terminal,
		"referenceId": "ref-" + fmt.Sprint(total),
		"orderLines": []any{map[string]any{"id": "1", "name": "Coffee", "quantity": 1,
			"amount": map[string]any{"regular": total, "total": total, "currency": "752", "tax": []any{map[string]any{"amount": 0, "percentage": 25, "type": "VAT"}}}}},
		"totalOrderAmount": map[string]any{"regular": total, "total": total, "currency": "752"},
	}
	for k, v := range extra {
		body[k] = v
	}
	return f.e.do("POST", "/orders", hdr, body)
}

// waitPayment polls the payment's status until it is terminal.
func (f *sagaFixture) waitPayment(t *testing.T, hdr map[string]string, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := f.e.do("GET", "/payments/"+id+"/status", hdr, nil)
		if r.Status != 200 {
			t.Fatalf("payment status: %s", r.Raw)
		}
		switch r.data()["paymentStatus"] {
		case "PAYMENT_COMPLETED", "PAYMENT_FAILED", "PAYMENT_CANCELLED":
			return r.data()
		}
		if time.Now().After(deadline) {
			t.Fatalf("payment %s still %v", id, r.data()["paymentStatus"])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSagaPayPaymentFlow runs the seed's flow against real HTTP: a client
// app with a token for its user creates an order and pays it on a
// sandbox terminal with the seed's exact body; the merchant's webhook
// receiver verifies every signature with Surfboard's scheme.
func TestSagaPayPaymentFlow(t *testing.T) {
	backends(t, func(t *testing.T, e0 *env) {
		e := tradingEnv(t, e0.backend, 2*time.Second)
		f := newSagaFixture(t, e, "Saga Cafe")
		u1 := f.token("user-1")

		o := f.order(u1, 12500, map[string]any{"metadata": map[string]any{"table": "7"}})
		if o.Status != 201 || o.Body["message"] != "Order created successfully" {
			t.Fatalf("create order: %d %s", o.Status, o.Raw)
		}
		orderID := o.data()["orderId"].(string)
		// The seed's curl body, exactly.
		p := e.do("POST", "/payments", u1, `{"orderId": "`+orderID+`", "paymentMethod": "CARD"}`)
		if p.Status != 201 || p.Body["status"] != "SUCCESS" {
			t.Fatalf("initiate payment: %d %s", p.Status, p.Raw)
		}
		payID := p.data()["paymentId"].(string)
		st := f.waitPayment(t, u1, payID)
		if st["paymentStatus"] != "PAYMENT_COMPLETED" || st["transactionId"] == "" {
			t.Fatalf("payment: %v", st)
		}
		os := e.do("GET", "/orders/"+orderID+"/status", u1, nil)
		if os.data()["orderStatus"] != "PAYMENT_COMPLETED" || len(os.data()["transactions"].([]any)) != 1 || len(os.data()["paymentIds"].([]any)) != 1 {
			t.Fatalf("order status: %s", os.Raw)
		}
		tx := os.data()["transactions"].([]any)[0].(map[string]any)
		if tx["amount"] != "12500" || tx["currency"] != "752" || tx["type"] != "PURCHASE" || tx["truncatedPan"] != "0010" || tx["voided"] != false {
			t.Errorf("transaction: %v", tx)
		}
		if g := e.do("GET", "/orders/"+orderID, u1, nil); g.Status != 200 || g.data()["referenceId"] != "ref-12500" || g.data()["orderStatus"] != "PAYMENT_COMPLETED" {
			t.Errorf("get order: %s", g.Raw)
		}
		if g := e.do("GET", "/payments/"+payID, u1, nil); g.data()["amount"] != float64(12500) || g.data()["cardBrand"] != "VISA" {
			t.Errorf("get payment: %s", g.Raw)
		}

		// Webhooks: every event of the flow, each once and signed. They
		// are delivered concurrently, so in any order.
		want := []string{"order.paymentinitiated", "order.terminal.event:STARTED", "order.terminal.event:AWAITING_CARD",
			"order.terminal.event:CARD_PRESENTED", "order.terminal.event:AUTHORIZING", "order.terminal.event:AUTHORIZED",
			"order.paymentprocessed", "order.paymentcompleted"}
		waitUntil(t, "the flow's webhooks", func() bool { return len(f.hooks.events(orderID)) >= len(want) })
		got := f.hooks.events(orderID)
		slices.Sort(got)
		slices.Sort(want)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("webhooks:\n got %v\nwant %v", got, want)
		}
		for _, h := range f.hooks.all() {
			if !h.Verified {
				t.Errorf("webhook %s: signature does not verify", h.Env.EventType)
			}
			md := h.Env.Metadata
			if md["eventId"] == "" || md["webhookEventId"] == "" || md["retryAttempt"] != float64(0) || md["created"] == nil {
				t.Errorf("webhook metadata: %v", md)
			}
			if h.Env.EventType == "order.paymentcompleted" {
				d := h.Env.Data
				if d["amount"] != "12500" || d["paymentStatus"] != "PAYMENT_COMPLETED" || len(d["transactionDetails"].([]any)) != 1 {
					t.Errorf("paymentcompleted data: %v", d)
				}
				if md := d["metadata"].(map[string]any); md["table"] != "7" {
					t.Errorf("order metadata not carried: %v", d["metadata"])
				}
			}
		}

		// Transactions: the user's own, newest first.
		if l := e.do("GET", "/transactions", u1, nil); l.Status != 200 || len(l.Body["data"].([]any)) != 1 || l.Header.Get("X-Total-Items") != "1" {
			t.Errorf("transactions: %s", l.Raw)
		}
		if l := e.do("GET", "/transactions/"+orderID+"/list", f.core, nil); len(l.Body["data"].([]any)) != 1 {
			t.Errorf("transactions of the order: %s", l.Raw)
		}
		if l := e.do("GET", "/transactions/search?query=ref-12500", f.core, nil); len(l.Body["data"].([]any)) != 1 {
			t.Errorf("search by reference: %s", l.Raw)
		}

		// Ownership: another user of the merchant sees nothing of user-1;
		// the merchant sees all; another merchant gets 404.
		u2 := f.token("user-2")
		for _, path := range []string{"/orders/" + orderID, "/orders/" + orderID + "/status", "/payments/" + payID, "/payments/" + payID + "/status"} {
			if r := e.do("GET", path, u2, nil); r.Status != 404 {
				t.Errorf("user-2 on %s: %d %s", path, r.Status, r.Raw)
			}
			if r := e.do("GET", path, f.core, nil); r.Status != 200 {
				t.Errorf("merchant on %s: %d %s", path, r.Status, r.Raw)
			}
		}
		if l := e.do("GET", "/transactions", u2, nil); len(l.Body["data"].([]any)) != 0 {
			t.Errorf("user-2 sees user-1's transactions: %s", l.Raw)
		}
		if r := e.do("POST", "/payments", u2, map[string]any{"orderId": orderID, "paymentMethod": "CARD"}); r.Status != 404 {
			t.Errorf("user-2 paying user-1's order: %s", r.Raw)
		}
		g := newSagaFixture(t, e, "Other Cafe")
		if r := e.do("GET", "/orders/"+orderID, g.core, nil); r.Status != 404 {
			t.Errorf("other merchant: %s", r.Raw)
		}
		if r := g.order(g.core, 100, map[string]any{"terminal$id": f.terminal}); r.Status != 404 {
			t.Errorf("other merchant's terminal: %s", r.Raw)
		}

		// Void the same day.
		if v := e.do("PUT", "/payments/"+payID+"/void", u1, nil); v.Status != 200 || v.data()["voidStatus"] != "VOIDED" {
			t.Errorf("void: %s", v.Raw)
		}
		if l := e.do("GET", "/transactions/"+payID+"/list", f.core, nil); l.Body["data"].([]any)[0].(map[string]any)["voided"] != true {
			t.Errorf("voided transaction: %s", l.Raw)
		}
		// Cancelling a completed payment answers its status.
		if c := e.do("DELETE", "/payments/"+payID, u1, nil); c.Status != 200 || c.data()["paymentStatus"] != "PAYMENT_COMPLETED" {
			t.Errorf("cancel completed: %s", c.Raw)
		}
	})
}

// TestSagaPayDeclinesAndCancels walks the documented test amounts, order
// updates and cancellations, per-order callbacks, the legacy order shape
// and the refusals.
func TestSagaPayDeclinesAndCancels(t *testing.T) {
	backends(t, func(t *testing.T, e0 *env) {
		e := tradingEnv(t, e0.backend, 2*time.Second)
		f := newSagaFixture(t, e, "Saga Bar")
		u := f.token("guest")

		// Declined by test amount: 51 = insufficient funds.
		o := f.order(u, 1051, nil)
		id := o.data()["orderId"].(string)
		p := e.do("POST", "/payments", u, map[string]any{"orderId": id, "paymentMethod": "CARD"})
		st := f.waitPayment(t, u, p.data()["paymentId"].(string))
		if st["paymentStatus"] != "PAYMENT_FAILED" || st["failureReason"] != "Insufficient funds" {
			t.Errorf("declined: %v", st)
		}
		if s := e.do("GET", "/orders/"+id+"/status", u, nil); s.data()["orderStatus"] != "PAYMENT_FAILED" || s.data()["transactions"] != nil {
			t.Errorf("order after decline: %s", s.Raw)
		}
		waitUntil(t, "paymentfailed webhook", func() bool { return strings.Contains(strings.Join(f.hooks.events(id), ","), "order.paymentfailed") })
		// Cancelled on the terminal: 91.
		o = f.order(u, 2091, nil)
		id2 := o.data()["orderId"].(string)
		p = e.do("POST", "/payments", u, map[string]any{"orderId": id2, "paymentMethod": "CARD"})
		if st := f.waitPayment(t, u, p.data()["paymentId"].(string)); st["paymentStatus"] != "PAYMENT_CANCELLED" {
			t.Errorf("cancelled on terminal: %v", st)
		}

		// The payment started with the order, and a per-order callback.
		cb := newHookReceiver(t)
		cb.setSecret(string(f.hooks.secret))
		o = f.order(u, 3000, map[string]any{"controlFunctions": map[string]any{"callBackUrl": cb.srv.URL,
			"initiatePaymentsOptions": map[string]any{"paymentMethod": "CARD"}}})
		if o.Status != 201 || o.data()["paymentId"] == nil {
			t.Fatalf("order with payment: %s", o.Raw)
		}
		id3 := o.data()["orderId"].(string)
		f.waitPayment(t, u, o.data()["paymentId"].(string))
		waitUntil(t, "per-order callbacks", func() bool { return strings.Contains(strings.Join(cb.events(id3), ","), "order.paymentcompleted") })
		for _, h := range cb.all() {
			if !h.Verified {
				t.Errorf("per-order callback %s: signature does not verify", h.Env.EventType)
			}
		}

		// Update, then cancel, an order no payment has started on.
		o = f.order(u, 500, nil)
		id4 := o.data()["orderId"].(string)
		up := f.e.do("PUT", "/orders/"+id4, u, map[string]any{"terminal$id": f.terminal, "referenceId": "changed",
			"orderLines": []any{map[string]any{"id": "1", "name": "Tea", "amount": map[string]any{"regular": 700, "total": 700, "currency": "752"}}}})
		if up.Status != 201 {
			t.Errorf("update order: %s", up.Raw)
		}
		if g := e.do("GET", "/orders/"+id4, u, nil); g.data()["referenceId"] != "changed" || g.data()["totalOrderAmount"].(map[string]any)["total"] != float64(700) {
			t.Errorf("updated order: %s", g.Raw)
		}
		if c := e.do("DELETE", "/orders/"+id4, u, nil); c.Status != 200 {
			t.Errorf("cancel order: %s", c.Raw)
		}
		if r := e.do("POST", "/payments", u, map[string]any{"orderId": id4, "paymentMethod": "CARD"}); r.Status != 409 {
			t.Errorf("payment on a cancelled order: %s", r.Raw)
		}
		waitUntil(t, "order.updated and order.cancelled", func() bool {
			ev := strings.Join(f.hooks.events(id4), ",")
			return strings.Contains(ev, "order.updated") && strings.Contains(ev, "order.cancelled")
		})
		// A paid order cannot be cancelled or updated.
		if c := e.do("DELETE", "/orders/"+id3, u, nil); c.Status != 409 {
			t.Errorf("cancel paid order: %s", c.Raw)
		}

		// SagaPay's own site sends the legacy shape: itemAmount, type, NOK.
		legacy := e.do("POST", "/orders", f.core, map[string]any{"terminal$id": f.terminal, "type": "purchase", "referenceId": "web-1",
			"orderLines": []any{map[string]any{"id": "sku", "name": "Donation", "quantity": 1,
				"itemAmount": map[string]any{"regular": 10000, "total": 10000, "currency": "NOK", "tax": []any{}}}}})
		if legacy.Status != 201 {
			t.Errorf("legacy order: %s", legacy.Raw)
		}

		// Refusals, with nothing stored.
		before := len(e.do("GET", "/transactions", f.core, nil).Body["data"].([]any))
		refusals := []struct {
			name   string
			hdr    map[string]string
			body   map[string]any
			status int
			key    string
		}{
			{"card number", u, map[string]any{"referenceId": "4111 1111 1111 1111"}, 400, jeton.KeyCardNumber},
			{"no terminal", u, map[string]any{"terminal$id": ""}, 400, jeton.KeyValidationFailed},
			{"unknown terminal", u, map[string]any{"terminal$id": "ffffffffffffffffff"}, 404, jeton.KeyTerminalNotFound},
			{"fractional amount", u, map[string]any{"totalOrderAmount": map[string]any{"total": 10.5, "currency": "752"}}, 400, jeton.KeyValidationFailed},
			{"bad currency", u, map[string]any{"totalOrderAmount": map[string]any{"total": 100, "currency": "kr"}}, 400, jeton.KeyValidationFailed},
			{"bad tipsMode", u, map[string]any{"controlFunctions": map[string]any{"tipsMode": "ALWAYS"}}, 400, jeton.KeyValidationFailed},
			{"huge amount", u, map[string]any{"totalOrderAmount": map[string]any{"total": 1e15, "currency": "752"}}, 400, jeton.KeyValidationFailed},
		}
		for _, c := range refusals {
			r := f.order(c.hdr, 100, c.body)
			if r.Status != c.status || r.errKeySaga() != c.key {
				t.Errorf("%s: want %d %s, got %d %s", c.name, c.status, c.key, r.Status, r.Raw)
			}
		}
		if r := e.do("POST", "/payments", u, map[string]any{"orderId": id, "paymentMethod": "SWISH"}); r.Status != 400 {
			t.Errorf("unsupported method: %s", r.Raw)
		}
		if after := len(e.do("GET", "/transactions", f.core, nil).Body["data"].([]any)); after != before {
			t.Errorf("refusals stored transactions: %d -> %d", before, after)
		}
		// A READ_ONLY key reads but does not write; client tokens never
		// administer.
		ro, _, err := e.app.creds.CreateKey(t.Context(), f.m.Merchant.ID, []jeton.Scope{jeton.ScopeReadOnly})
		if err != nil {
			t.Fatal(err)
		}
		roh := map[string]string{"API-KEY": ro, "API-SECRET": f.m.APISecret, "MERCHANT-ID": f.m.Merchant.ID}
		if r := f.order(roh, 100, nil); r.Status != 403 {
			t.Errorf("READ_ONLY creating an order: %s", r.Raw)
		}
		if r := e.do("GET", "/orders/"+id, roh, nil); r.Status != 200 {
			t.Errorf("READ_ONLY reading an order: %s", r.Raw)
		}
		if r := e.do("GET", "/terminals/"+f.terminal, u, nil); r.Status != 403 {
			t.Errorf("client token on a terminal route: %s", r.Raw)
		}
	})
}

// TestSagaPayTerminalsAndWebhookEndpoints covers registration codes and
// the endpoint administration, with the test ping verified.
func TestSagaPayTerminalsAndWebhookEndpoints(t *testing.T) {
	backends(t, func(t *testing.T, e0 *env) {
		e := tradingEnv(t, e0.backend, 2*time.Second)
		f := newSagaFixture(t, e, "Saga Shop")
		storeID := e.do("GET", "/terminals/"+f.terminal, f.admin, nil).data()["storeId"].(string)
		base := "/merchants/" + f.m.Merchant.ID + "/stores/" + storeID
		code := e.do("GET", base+"/device-registration", f.admin, nil)
		if code.Status != 200 || len(code.data()["registrationCode"].(string)) != 6 {
			t.Fatalf("registration code: %s", code.Raw)
		}
		c := code.data()["registrationCode"].(string)
		first := e.do("POST", base+"/devices", f.admin, map[string]any{"registrationIdentifier": c})
		again := e.do("POST", base+"/devices", f.admin, map[string]any{"registrationIdentifier": c})
		if first.data()["registrationStatus"] != "REGISTERED" || again.data()["registrationStatus"] != "ALREADY_REGISTERED" ||
			first.data()["terminalId"] != again.data()["terminalId"] {
			t.Errorf("register twice: %s / %s", first.Raw, again.Raw)
		}
		if r := e.do("POST", base+"/devices", f.admin, map[string]any{"registrationIdentifier": "000000"}); r.Status != 404 {
			t.Errorf("code on no terminal: %s", r.Raw)
		}
		if r := e.do("POST", base+"/devices", f.admin, map[string]any{"registrationIdentifier": "12"}); r.Status != 400 {
			t.Errorf("bad code: %s", r.Raw)
		}
		g := newSagaFixture(t, e, "Thief")
		gstore := e.do("GET", "/terminals/"+g.terminal, g.admin, nil).data()["storeId"].(string)
		if r := e.do("POST", "/merchants/"+g.m.Merchant.ID+"/stores/"+gstore+"/devices", g.admin, map[string]any{"registrationIdentifier": c}); r.Status != 409 {
			t.Errorf("another merchant taking the terminal: %s", r.Raw)
		}
		if r := e.do("GET", "/terminals/"+f.terminal, g.admin, nil); r.Status != 404 {
			t.Errorf("another merchant's terminal: %s", r.Raw)
		}
		if l := e.do("GET", base+"/terminals", f.admin, nil); l.Header.Get("X-Total-Items") != "2" {
			t.Errorf("store terminals: %s", l.Raw)
		}

		// Endpoints: the secret is shown once, the test ping verifies.
		list := e.do("GET", "/merchants/"+f.m.Merchant.ID+"/webhooks", f.admin, nil)
		eps := list.Body["data"].([]any)
		if len(eps) != 1 || strings.Contains(string(list.Raw), "whsec_") {
			t.Fatalf("list endpoints shows a secret or misses one: %s", list.Raw)
		}
		whID := eps[0].(map[string]any)["webhookId"].(string)
		ping := e.do("POST", "/merchants/"+f.m.Merchant.ID+"/webhooks/"+whID+"/test", f.admin, nil)
		if ping.Status != 200 || ping.data()["delivered"] != true {
			t.Fatalf("test webhook: %s", ping.Raw)
		}
		hs := f.hooks.all()
		if last := hs[len(hs)-1]; last.Env.EventType != "test.webhook" || !last.Verified {
			t.Errorf("test webhook received: %+v", last)
		}
		if r := e.do("POST", "/merchants/"+f.m.Merchant.ID+"/webhooks", f.admin, map[string]any{"url": "ftp://x"}); r.Status != 400 {
			t.Errorf("bad URL: %s", r.Raw)
		}
		if r := e.do("POST", "/merchants/"+f.m.Merchant.ID+"/webhooks", f.admin, map[string]any{"url": "https://x.example", "events": []string{"order.nope"}}); r.Status != 400 {
			t.Errorf("unknown event: %s", r.Raw)
		}
		if r := e.do("POST", "/merchants/"+f.m.Merchant.ID+"/webhooks", f.core, map[string]any{"url": "https://x.example"}); r.Status != 403 {
			t.Errorf("CORE_ACCESS creating an endpoint: %s", r.Raw)
		}
		if r := e.do("DELETE", "/merchants/"+f.m.Merchant.ID+"/webhooks/"+whID, f.admin, nil); r.Status != 200 {
			t.Errorf("delete endpoint: %s", r.Raw)
		}
		if r := e.do("DELETE", "/merchants/"+f.m.Merchant.ID+"/webhooks/"+whID, f.admin, nil); r.Status != 404 {
			t.Errorf("delete twice: %s", r.Raw)
		}
	})
}

// errKeySaga is the key of a SagaPay error reply.
func (r reply) errKeySaga() string {
	k, _ := r.Body["key"].(string)
	return k
}
