package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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

// terminalCodes makes each fixture's registration code unique.
var terminalCodes atomic.Int64

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
		map[string]any{"registrationIdentifier": fmt.Sprintf("%06d", 100000+terminalCodes.Add(1)%800000), "terminalName": "Till 1"}) // never 9xxxxx: those are manual
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
		ids := map[any]bool{}
		for _, h := range f.hooks.all() {
			if ids[h.Env.Metadata["webhookEventId"]] {
				t.Errorf("webhook %v delivered twice", h.Env.Metadata["webhookEventId"])
			}
			ids[h.Env.Metadata["webhookEventId"]] = true
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

		// Void the same day: the merchant's to do, not the end user's.
		if v := e.do("PUT", "/payments/"+payID+"/void", u1, nil); v.Status != 403 {
			t.Errorf("void with a client token: %s", v.Raw)
		}
		if v := e.do("PUT", "/payments/"+payID+"/void", f.core, nil); v.Status != 200 || v.data()["voidStatus"] != "VOIDED" {
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
		// An end user's token may not point jeton's signed calls anywhere.
		if r := f.order(u, 3000, map[string]any{"controlFunctions": map[string]any{"callBackUrl": cb.srv.URL}}); r.Status != 403 {
			t.Errorf("client token setting callBackUrl: %s", r.Raw)
		}
		o = f.order(f.core, 3000, map[string]any{"controlFunctions": map[string]any{"callBackUrl": cb.srv.URL,
			"initiatePaymentsOptions": map[string]any{"paymentMethod": "CARD"}}})
		if o.Status != 201 || o.data()["paymentId"] == nil {
			t.Fatalf("order with payment: %s", o.Raw)
		}
		id3 := o.data()["orderId"].(string)
		f.waitPayment(t, f.core, o.data()["paymentId"].(string))
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
		if c := e.do("DELETE", "/orders/"+id3, f.core, nil); c.Status != 409 {
			t.Errorf("cancel paid order: %s", c.Raw)
		}
		// Partly paid, then a decline: the order stays partly paid and
		// cannot be cancelled with money in it.
		op := f.order(u, 2000, nil)
		opID := op.data()["orderId"].(string)
		first := e.do("POST", "/payments", u, map[string]any{"orderId": opID, "paymentMethod": "CARD", "amount": 1000})
		if st := f.waitPayment(t, u, first.data()["paymentId"].(string)); st["paymentStatus"] != "PAYMENT_COMPLETED" {
			t.Fatalf("partial payment: %v", st)
		}
		if s := e.do("GET", "/orders/"+opID+"/status", u, nil).data(); s["orderStatus"] != "PARTIAL_PAYMENT_COMPLETED" {
			t.Errorf("after a partial payment: %v", s["orderStatus"])
		}
		second := e.do("POST", "/payments", u, map[string]any{"orderId": opID, "paymentMethod": "CARD", "amount": 951})
		if st := f.waitPayment(t, u, second.data()["paymentId"].(string)); st["paymentStatus"] != "PAYMENT_FAILED" {
			t.Fatalf("declined second payment: %v", st)
		}
		if s := e.do("GET", "/orders/"+opID+"/status", u, nil).data(); s["orderStatus"] != "PARTIAL_PAYMENT_COMPLETED" || len(s["transactions"].([]any)) != 1 {
			t.Errorf("after a declined second payment: %v", s)
		}
		if c := e.do("DELETE", "/orders/"+opID, u, nil); c.Status != 409 {
			t.Errorf("cancelling a partly paid order: %s", c.Raw)
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

		// The merchant under its partner: its own, and nobody else's.
		pbase := "/partners/" + f.m.Merchant.PartnerID + "/merchants"
		if r := e.do("GET", pbase+"/"+f.m.Merchant.ID, f.admin, nil); r.Status != 200 || r.data()["merchantName"] != "Saga Shop" {
			t.Errorf("get merchant: %s", r.Raw)
		}
		if r := e.do("GET", pbase, f.admin, nil); r.Status != 200 || len(r.Body["data"].([]any)) != 1 {
			t.Errorf("list merchants: %s", r.Raw)
		}
		if r := e.do("GET", pbase+"/"+g.m.Merchant.ID, f.admin, nil); r.Status != 404 {
			t.Errorf("another partner's merchant: %s", r.Raw)
		}
		// Onboarding a merchant under the partner: approved at once, with its
		// first store and its own credentials, shown once.
		ob := e.do("POST", pbase, f.admin, map[string]any{"country": "NO", "organisation": map[string]any{"corporateId": "987654321", "legalName": "Fjord Cafe AS"},
			"controlFields": map[string]any{"store": map[string]any{"name": "Fjord Cafe", "phoneNumber": map[string]any{"code": "+47", "number": "22334455"},
				"address": map[string]any{"addressLine1": "Karl Johans gate 1", "city": "Oslo", "countryCode": "NO", "postalCode": "0154"}}}})
		if ob.Status != 201 || ob.data()["storeId"] == nil || ob.data()["apiSecret"] == nil {
			t.Fatalf("onboard: %s", ob.Raw)
		}
		e.remember(ob.data()["apiKey"].(string), ob.data()["apiSecret"].(string), ob.data()["providerCertificate"].(string))
		child := ob.data()["merchantId"].(string)
		if st := e.do("GET", pbase+"/"+child+"/status", f.admin, nil); st.data()["applicationStatus"] != "MERCHANT_CREATED" || st.data()["storeId"] != ob.data()["storeId"] {
			t.Errorf("application status: %s", st.Raw)
		}
		if l := e.do("GET", pbase, f.admin, nil); len(l.Body["data"].([]any)) != 2 {
			t.Errorf("the partner's merchants after onboarding: %s", l.Raw)
		}
		ch := map[string]string{"API-KEY": ob.data()["apiKey"].(string), "API-SECRET": ob.data()["apiSecret"].(string), "MERCHANT-ID": child}
		if r := e.do("GET", "/partners/"+f.m.Merchant.PartnerID+"/merchants/"+child+"/stores", ch, nil); r.Status != 200 || len(r.Body["data"].([]any)) != 1 {
			t.Errorf("the new merchant's own credentials: %s", r.Raw)
		}
		if r := e.do("POST", pbase, f.admin, map[string]any{"country": "Norway", "organisation": map[string]any{"corporateId": "1"}}); r.Status != 400 {
			t.Errorf("bad onboarding: %s", r.Raw)
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

// storeOf returns the store of the fixture's terminal.
func (f *sagaFixture) storeOf(t *testing.T) string {
	t.Helper()
	return f.e.do("GET", "/terminals/"+f.terminal, f.admin, nil).data()["storeId"].(string)
}

// pay creates an order of total and pays it with the card, returning the
// order and payment ids once the payment is terminal.
func (f *sagaFixture) pay(t *testing.T, hdr map[string]string, total int64, extra map[string]any) (string, string, map[string]any) {
	t.Helper()
	o := f.order(hdr, total, extra)
	if o.Status != 201 {
		t.Fatalf("order: %s", o.Raw)
	}
	id := o.data()["orderId"].(string)
	p := f.e.do("POST", "/payments", hdr, map[string]any{"orderId": id, "paymentMethod": "CARD"})
	if p.Status != 201 {
		t.Fatalf("payment: %s", p.Raw)
	}
	pid := p.data()["paymentId"].(string)
	return id, pid, f.waitPayment(t, hdr, pid)
}

// TestSagaPayTipsBrandingReceipts: tips set at three levels resolve field
// by field; the sandbox customer tips on the terminal, and the tip is an
// adjustment of the order and part of the transaction; the receipt page
// wears the store's branding; email and print land in the sandbox outbox.
func TestSagaPayTipsBrandingReceipts(t *testing.T) {
	backends(t, func(t *testing.T, e0 *env) {
		e := tradingEnv(t, e0.backend, 2*time.Second)
		f := newSagaFixture(t, e, "Tip Bar")
		store := f.storeOf(t)
		mbase := "/merchants/" + f.m.Merchant.ID
		sbase := mbase + "/stores/" + store
		tbase := sbase + "/terminals/" + f.terminal
		for _, c := range []struct {
			path string
			body map[string]any
			msg  string
		}{
			{mbase + "/tips", map[string]any{"tipConfig": "ENABLED", "tipLevel1": 10, "tipLevel2": 15, "tipLevel3": 20, "tipDisplayFormat": "PERCENTAGE"}, "MERCHANT config updated successfully"},
			{sbase + "/tips", map[string]any{"tipLevel1": 12}, "STORE config updated successfully"},
			{tbase + "/tips", map[string]any{"tipLevel2": 18}, "TERMINAL config updated successfully"},
		} {
			if r := e.do("PATCH", c.path, f.admin, c.body); r.Status != 200 || r.Body["message"] != c.msg {
				t.Fatalf("PATCH %s: %s", c.path, r.Raw)
			}
		}
		u := f.token("diner")
		got := e.do("GET", tbase+"/tips", u, nil) // client tokens read tips
		if d := got.data(); got.Status != 200 || d["tipConfig"] != "ENABLED" || d["tipLevel1"] != float64(12) || d["tipLevel2"] != float64(18) || d["tipLevel3"] != float64(20) {
			t.Fatalf("effective terminal tips: %s", got.Raw)
		}
		if d := e.do("GET", mbase+"/tips", u, nil).data(); d["tipLevel1"] != float64(10) {
			t.Errorf("merchant tips: %v", d)
		}
		if r := e.do("PATCH", mbase+"/tips", u, map[string]any{"tipLevel1": 1}); r.Status != 403 {
			t.Errorf("client token setting tips: %s", r.Raw)
		}
		for _, bad := range []map[string]any{{"tipConfig": "MAYBE"}, {"tipLevel1": 101}, {"tipLevel1": -1}, {"surprise": true}} {
			if r := e.do("PATCH", mbase+"/tips", f.admin, bad); r.Status != 400 {
				t.Errorf("bad tips %v: %s", bad, r.Raw)
			}
		}

		// The customer picks the first level (12% at this terminal).
		orderID, payID, st := f.pay(t, u, 10000, nil)
		if st["paymentStatus"] != "PAYMENT_COMPLETED" {
			t.Fatalf("tipped payment: %v", st)
		}
		if p := e.do("GET", "/payments/"+payID, u, nil).data(); p["tip"] != float64(1200) || p["amount"] != float64(11200) {
			t.Errorf("payment with tip: %v", p)
		}
		today := e.clock.Now().UTC().Format("2006-01-02")
		adj := e.do("GET", "/orders/"+orderID+"/adjustments?startDate="+today+"&endDate="+today, u, nil)
		if a := adj.Body["data"].([]any); len(a) != 1 || a[0].(map[string]any)["amount"] != float64(1200) || a[0].(map[string]any)["adjustmentType"] != "tips" {
			t.Errorf("adjustments: %s", adj.Raw)
		}
		if r := e.do("GET", "/orders/"+orderID+"/adjustments", u, nil); r.Status != 400 {
			t.Errorf("adjustments without dates: %s", r.Raw)
		}
		if o := e.do("GET", "/orders/"+orderID, u, nil).data(); o["totalOrderAmount"].(map[string]any)["total"] != float64(11200) {
			t.Errorf("order total with tip: %v", o["totalOrderAmount"])
		}
		tx := e.do("GET", "/transactions/"+payID+"/list", u, nil).Body["data"].([]any)[0].(map[string]any)
		if tx["amount"] != "11200" {
			t.Errorf("transaction with tip: %v", tx)
		}
		waitUntil(t, "SELECT_TIP event", func() bool {
			return strings.Contains(strings.Join(f.hooks.events(orderID), ","), "order.terminal.event:SELECT_TIP")
		})
		// tipsMode NONE skips the screen; ROUNDUP rounds up to a whole unit.
		_, payNone, _ := f.pay(t, u, 5000, map[string]any{"controlFunctions": map[string]any{"tipsMode": "NONE"}})
		if p := e.do("GET", "/payments/"+payNone, u, nil).data(); p["tip"] != float64(0) {
			t.Errorf("tipsMode NONE: %v", p)
		}
		_, payRound, _ := f.pay(t, u, 4530, map[string]any{"controlFunctions": map[string]any{"tipsMode": "ROUNDUP"}})
		if p := e.do("GET", "/payments/"+payRound, u, nil).data(); p["tip"] != float64(70) || p["amount"] != float64(4600) {
			t.Errorf("tipsMode ROUNDUP: %v", p)
		}

		// Branding: merchant colours, the store's own brand colour.
		if r := e.do("PATCH", mbase+"/branding", f.admin, map[string]any{"brandColor": "#112233", "accentColor": "#445566", "rectShape": "pill"}); r.Status != 200 {
			t.Fatalf("merchant branding: %s", r.Raw)
		}
		if r := e.do("PATCH", sbase+"/branding", f.admin, map[string]any{"brandColor": "#AA0000", "logoUrl": "https://cdn.example/logo.png"}); r.Status != 200 {
			t.Fatalf("store branding: %s", r.Raw)
		}
		b := e.do("GET", sbase+"/branding", u, nil).data()
		if b["brandColor"] != "#AA0000" || b["accentColor"] != "#445566" || b["rectShape"] != "PILL" {
			t.Errorf("effective store branding: %v", b)
		}
		for _, bad := range []map[string]any{{"brandColor": "red"}, {"logoUrl": "http://x/logo.png"}, {"fontType": "comic"}, {"rectShape": "round"}} {
			if r := e.do("PATCH", mbase+"/branding", f.admin, bad); r.Status != 400 {
				t.Errorf("bad branding %v: %s", bad, r.Raw)
			}
		}

		// The receipt page, by its link, without credentials.
		link := e.do("GET", "/receipts/"+orderID+"/link", u, nil)
		if link.Status != 200 {
			t.Fatalf("receipt link: %s", link.Raw)
		}
		url := link.data()["receiptURL"].(string)
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{"#AA0000", "#445566", "1.5rem", "https://cdn.example/logo.png", "112.00 752", "12.00 752", "0010", "Trial Store", "Tip Bar"} {
			if !strings.Contains(string(page), want) {
				t.Errorf("receipt page lacks %q", want)
			}
		}
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("receipt page: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if r, _ := http.Get(e.srv.URL + "/receipt/0123456789abcdef0123456789abcdef"); r.StatusCode != 404 {
			t.Errorf("unknown receipt: %d", r.StatusCode)
		}
		if r := e.do("GET", "/receipts/"+orderID+"/link", f.token("stranger"), nil); r.Status != 404 {
			t.Errorf("another user's receipt: %s", r.Raw)
		}
		// Email and print go to the sandbox outbox.
		if r := e.do("PUT", "/receipts/"+payID+"/email", u, map[string]any{"email": "diner@example.com"}); r.Status != 200 || r.Body["message"] != "Email Sent" {
			t.Errorf("email receipt: %s", r.Raw)
		}
		if r := e.do("PUT", "/receipts/"+payID+"/email", u, map[string]any{"email": "nope"}); r.Status != 400 {
			t.Errorf("bad email: %s", r.Raw)
		}
		if r := e.do("PUT", "/receipts/"+payID+"/print", u, map[string]any{"language": "sv"}); r.Status != 200 {
			t.Errorf("print receipt: %s", r.Raw)
		}
		out := e.do("GET", "/sandbox/outbox", f.core, nil)
		msgs := out.Body["data"].([]any)
		if len(msgs) != 2 || msgs[0].(map[string]any)["kind"] != "print" || msgs[0].(map[string]any)["target"] != f.terminal ||
			msgs[1].(map[string]any)["target"] != "diner@example.com" {
			t.Errorf("outbox: %s", out.Raw)
		}
		if r := e.do("GET", "/sandbox/outbox", u, nil); r.Status != 403 {
			t.Errorf("client token on the outbox: %s", r.Raw)
		}
		// Deleting the store's branding brings back the merchant's.
		if r := e.do("DELETE", sbase+"/branding", f.admin, nil); r.Status != 200 || !strings.Contains(r.Raw2(), "type STORE") {
			t.Errorf("delete store branding: %s", r.Raw)
		}
		if b := e.do("GET", sbase+"/branding", u, nil).data(); b["brandColor"] != "#112233" {
			t.Errorf("branding after delete: %v", b)
		}
	})
}

// TestSagaPayRefundsCaptureReports: refunds through return orders (in
// store with the card, online with CARD_NP) never exceed the purchase;
// delayed capture and PRE-AUTH; the reports equal the transactions.
func TestSagaPayRefundsCaptureReports(t *testing.T) {
	backends(t, func(t *testing.T, e0 *env) {
		e := tradingEnv(t, e0.backend, 2*time.Second)
		f := newSagaFixture(t, e, "Refund Shop")
		purchase, _, st := f.pay(t, f.core, 20000, nil)
		if st["paymentStatus"] != "PAYMENT_COMPLETED" {
			t.Fatalf("purchase: %v", st)
		}
		// A partial refund, the legacy way (type return + purchaseOrderId),
		// paid back card-not-present.
		ret := e.do("POST", "/orders", f.core, map[string]any{"terminal$id": f.terminal, "type": "return", "purchaseOrderId": purchase,
			"orderLines": []any{map[string]any{"id": "1", "name": "Coffee", "quantity": 1, "itemAmount": map[string]any{"regular": 5000, "total": 5000, "currency": "752"}}}})
		if ret.Status != 201 {
			t.Fatalf("return order: %s", ret.Raw)
		}
		retID := ret.data()["orderId"].(string)
		if r := e.do("POST", "/payments", f.core, map[string]any{"orderId": retID, "paymentMethod": "CARD_NP"}); r.Status != 400 {
			t.Errorf("CARD_NP without a reason: %s", r.Raw)
		}
		rp := e.do("POST", "/payments", f.core, map[string]any{"orderId": retID, "paymentMethod": "CARD_NP",
			"refundProcessingParams": map[string]any{"refundReason": "CUSTOMER_INITIATED_RETURN"}})
		if rp.Status != 201 {
			t.Fatalf("refund payment: %s", rp.Raw)
		}
		if st := f.waitPayment(t, f.core, rp.data()["paymentId"].(string)); st["paymentStatus"] != "PAYMENT_COMPLETED" {
			t.Fatalf("refund: %v", st)
		}
		// The new schema's way: negative quantity with the line's purchaseOrderId.
		over := e.do("POST", "/orders", f.core, map[string]any{"terminal$id": f.terminal,
			"orderLines": []any{map[string]any{"id": "1", "name": "Coffee", "quantity": -1, "purchaseOrderId": purchase,
				"amount": map[string]any{"regular": -15001, "total": -15001, "currency": "752"}}}})
		if over.Status != 400 || over.errKeySaga() != jeton.KeyAmountInvalid {
			t.Errorf("refund above what is left: %s", over.Raw)
		}
		rest := e.do("POST", "/orders", f.core, map[string]any{"terminal$id": f.terminal,
			"orderLines": []any{map[string]any{"id": "1", "name": "Coffee", "quantity": -1, "purchaseOrderId": purchase,
				"amount": map[string]any{"regular": -15000, "total": -15000, "currency": "752"}}},
			"controlFunctions": map[string]any{"initiatePaymentsOptions": map[string]any{"paymentMethod": "CARD"}}})
		if rest.Status != 201 {
			t.Fatalf("refund of the rest: %s", rest.Raw)
		}
		f.waitPayment(t, f.core, rest.data()["paymentId"].(string))
		if r := e.do("POST", "/orders", f.core, map[string]any{"terminal$id": f.terminal, "type": "return", "purchaseOrderId": purchase,
			"totalOrderAmount": map[string]any{"total": 1, "currency": "752"}}); r.Status != 400 {
			t.Errorf("refund of a fully refunded purchase: %s", r.Raw)
		}
		if v := e.do("PUT", "/payments/"+e.do("GET", "/orders/"+purchase+"/status", f.core, nil).data()["payments"].([]any)[0].(map[string]any)["paymentId"].(string)+"/void", f.core, nil); v.data()["voidStatus"] != "CANNOT_VOID" {
			t.Errorf("voiding a refunded purchase: %s", v.Raw)
		}
		refunds := e.do("GET", "/transactions/"+retID+"/list", f.core, nil).Body["data"].([]any)
		if len(refunds) != 1 || refunds[0].(map[string]any)["type"] != "RETURN" || refunds[0].(map[string]any)["amount"] != "5000" {
			t.Errorf("refund transaction: %v", refunds)
		}

		// Two refunds of the whole purchase, raced: one completes, the
		// other fails; the purchase is never refunded twice.
		race, _, _ := f.pay(t, f.core, 7000, nil)
		var rets []string
		for range 2 {
			r := e.do("POST", "/orders", f.core, map[string]any{"terminal$id": f.terminal, "type": "return", "purchaseOrderId": race,
				"totalOrderAmount": map[string]any{"total": 7000, "currency": "752"}})
			if r.Status != 201 {
				t.Fatalf("return order: %s", r.Raw)
			}
			rets = append(rets, r.data()["orderId"].(string))
		}
		var pays []string
		for _, r := range rets {
			pays = append(pays, e.do("POST", "/payments", f.core, map[string]any{"orderId": r, "paymentMethod": "CARD"}).data()["paymentId"].(string))
		}
		outcomes := map[any]int{}
		for _, p := range pays {
			outcomes[f.waitPayment(t, f.core, p)["paymentStatus"]]++
		}
		if outcomes["PAYMENT_COMPLETED"] != 1 || outcomes["PAYMENT_FAILED"] != 1 {
			t.Errorf("raced refunds: %v", outcomes)
		}
		if r := e.do("POST", "/orders", f.core, map[string]any{"terminal$id": f.terminal, "type": "return", "purchaseOrderId": race,
			"totalOrderAmount": map[string]any{"total": 7000, "currency": "978"}}); r.Status != 400 {
			t.Errorf("a refund in another currency: %s", r.Raw)
		}
		if r := e.do("POST", "/orders", f.token("buyer"), map[string]any{"terminal$id": f.terminal, "type": "return", "purchaseOrderId": race,
			"totalOrderAmount": map[string]any{"total": 1, "currency": "752"}}); r.Status != 403 {
			t.Errorf("a refund by a client token: %s", r.Raw)
		}

		// Delayed capture: authorized at completion, captured later; a
		// PRE-AUTH capture sets a lower final amount.
		_, delayed, _ := f.pay(t, f.core, 3000, map[string]any{"controlFunctions": map[string]any{"delayCapture": true}})
		if c := e.do("GET", "/payments/"+delayed+"/capture", f.core, nil).data(); c["captureStatus"] != "PENDING" {
			t.Errorf("delayed capture before capture: %v", c)
		}
		if r := e.do("POST", "/payments/"+delayed+"/capture", f.core, map[string]any{"amount": 100}); r.Status != 400 {
			t.Errorf("amount on a delayCapture (not PRE-AUTH) capture: %s", r.Raw)
		}
		if r := e.do("POST", "/payments/"+delayed+"/capture", f.core, nil); r.Status != 201 {
			t.Errorf("capture: %s", r.Raw)
		}
		if c := e.do("GET", "/payments/"+delayed+"/capture", f.core, nil).data(); c["captureStatus"] != "SUCCESS" {
			t.Errorf("after capture: %v", c)
		}
		_, pre, _ := f.pay(t, f.core, 8000, map[string]any{"controlFunctions": map[string]any{"authMode": "PRE-AUTH"}})
		if r := e.do("POST", "/payments/"+pre+"/capture", f.core, map[string]any{"amount": 9000}); r.Status != 400 {
			t.Errorf("capture above the authorization: %s", r.Raw)
		}
		if r := e.do("POST", "/payments/"+pre+"/capture", f.core, map[string]any{"amount": 6500}); r.Status != 201 {
			t.Fatalf("PRE-AUTH capture: %s", r.Raw)
		}
		if tx := e.do("GET", "/transactions/"+pre+"/list", f.core, nil).Body["data"].([]any)[0].(map[string]any); tx["amount"] != "6500" {
			t.Errorf("captured transaction: %v", tx)
		}
		_, plain, _ := f.pay(t, f.core, 1000, nil)
		if r := e.do("POST", "/payments/"+plain+"/capture", f.core, nil); r.Status != 409 {
			t.Errorf("capturing a payment captured with the sale: %s", r.Raw)
		}
		// A voided sale counts for nothing.
		_, voided, _ := f.pay(t, f.core, 700, nil)
		if r := e.do("PUT", "/payments/"+voided+"/void", f.core, nil); r.data()["voidStatus"] != "VOIDED" {
			t.Errorf("void: %s", r.Raw)
		}

		// The report equals the transactions: sales 20000+7000+3000+6500+1000,
		// refunds 5000+15000+7000, fees 1.49% of each (rounded down).
		rep := e.do("GET", "/partners/"+f.m.Merchant.PartnerID+"/merchants/"+f.m.Merchant.ID+"/reports", f.core, nil)
		rows := rep.Body["data"].([]any)
		if rep.Status != 200 || len(rows) != 1 {
			t.Fatalf("report: %s", rep.Raw)
		}
		row := rows[0].(map[string]any)
		fee := func(v int64) int64 { return v * 149 / 10000 }
		wantFee := fee(20000) + fee(7000) + fee(3000) + fee(6500) + fee(1000) + fee(5000) + fee(15000) + fee(7000)
		if row["totalSale"] != float64(37500) || row["totalRefund"] != float64(27000) || row["fee"] != float64(wantFee) ||
			row["payout"] != float64(37500-27000-wantFee) || row["reportType"] != "DAILY" {
			t.Errorf("report row: %v (fee want %d)", row, wantFee)
		}
		if r := e.do("GET", "/partners/"+f.m.Merchant.PartnerID+"/merchants/"+f.m.Merchant.ID+"/reports?reportType=MONTHLY", f.core, nil); r.Body["data"].([]any)[0].(map[string]any)["reportType"] != "MONTHLY" {
			t.Errorf("monthly report: %s", r.Raw)
		}
		g := newSagaFixture(t, e, "Nosy")
		if r := e.do("GET", "/partners/"+f.m.Merchant.PartnerID+"/merchants/"+f.m.Merchant.ID+"/reports", g.core, nil); r.Status != 404 {
			t.Errorf("another merchant's report: %s", r.Raw)
		}
	})
}

// TestSagaPayManualTerminal drives a manual sandbox terminal with the
// controls, as the dashboard's virtual terminal will: the tip screen and
// the card prompt wait for the tester.
func TestSagaPayManualTerminal(t *testing.T) {
	backends(t, func(t *testing.T, e0 *env) {
		e := tradingEnv(t, e0.backend, 2*time.Second)
		f := newSagaFixture(t, e, "Manual Cafe")
		store := f.storeOf(t)
		reg := e.do("POST", "/merchants/"+f.m.Merchant.ID+"/stores/"+store+"/devices", f.admin, map[string]any{"registrationIdentifier": "912345"})
		term := reg.data()["terminalId"].(string)
		if r := e.do("PATCH", "/merchants/"+f.m.Merchant.ID+"/tips", f.admin, map[string]any{"tipConfig": "ENABLED", "tipLevel1": 5, "tipLevel2": 10, "tipLevel3": 15}); r.Status != 200 {
			t.Fatal(r.Raw)
		}
		u := f.token("walk-in")
		o := f.order(u, 2000, map[string]any{"terminal$id": term})
		id := o.data()["orderId"].(string)
		p := e.do("POST", "/payments", u, map[string]any{"orderId": id, "paymentMethod": "CARD"})
		pid := p.data()["paymentId"].(string)
		waitUntil(t, "the tip screen", func() bool {
			return e.do("GET", "/payments/"+pid, u, nil).data()["terminalTransactionStatus"] == "SELECT_TIP"
		})
		// One payment at a time on a manual terminal.
		o2 := f.order(u, 100, map[string]any{"terminal$id": term})
		if r := e.do("POST", "/payments", u, map[string]any{"orderId": o2.data()["orderId"], "paymentMethod": "CARD"}); r.Status != 409 {
			t.Errorf("second payment on a busy manual terminal: %s", r.Raw)
		}
		ctl := "/sandbox/terminals/" + term
		if r := e.do("POST", ctl+"/tip", f.core, map[string]any{"tipLevel": 2, "noTip": true}); r.Status != 400 {
			t.Errorf("two tip answers: %s", r.Raw)
		}
		if r := e.do("POST", ctl+"/tip", f.core, map[string]any{"tipLevel": 2}); r.Status != 200 {
			t.Fatalf("tip control: %s", r.Raw)
		}
		waitUntil(t, "the card prompt", func() bool {
			return e.do("GET", "/payments/"+pid, u, nil).data()["terminalTransactionStatus"] == "AWAITING_CARD"
		})
		if st := e.do("GET", "/payments/"+pid+"/status", u, nil).data(); st["paymentStatus"] != "PAYMENT_INITIATED" {
			t.Errorf("before the card: %v", st)
		}
		if r := e.do("POST", ctl+"/card", f.core, map[string]any{"card": "AMEX"}); r.Status != 200 {
			t.Fatalf("card control: %s", r.Raw)
		}
		st := f.waitPayment(t, u, pid)
		pay := e.do("GET", "/payments/"+pid, u, nil).data()
		if st["paymentStatus"] != "PAYMENT_COMPLETED" || pay["tip"] != float64(200) || pay["cardBrand"] != "AMEX" || pay["truncatedPan"] != "0005" {
			t.Errorf("manual payment: %v", pay)
		}
		// Cancel on the terminal.
		p2 := e.do("POST", "/payments", u, map[string]any{"orderId": o2.data()["orderId"], "paymentMethod": "CARD"})
		if p2.Status != 201 {
			t.Fatalf("second payment: %s", p2.Raw)
		}
		if r := e.do("POST", ctl+"/cancel", f.core, nil); r.Status != 200 {
			t.Fatalf("cancel control: %s", r.Raw)
		}
		if st := f.waitPayment(t, u, p2.data()["paymentId"].(string)); st["paymentStatus"] != "PAYMENT_CANCELLED" {
			t.Errorf("cancelled on the terminal: %v", st)
		}
		// Controls need a manual terminal with a payment under way.
		if r := e.do("POST", ctl+"/card", f.core, nil); r.Status != 404 {
			t.Errorf("control with nothing under way: %s", r.Raw)
		}
		if r := e.do("POST", "/sandbox/terminals/"+f.terminal+"/card", f.core, nil); r.Status != 409 {
			t.Errorf("control on an automatic terminal: %s", r.Raw)
		}
		if r := e.do("POST", ctl+"/card", u, nil); r.Status != 403 {
			t.Errorf("client token on a control: %s", r.Raw)
		}
	})
}

// TestSagaPayWebhookLog: every webhook is in the delivery log with its
// attempts; a delivered one is redelivered under the same webhookEventId;
// a failing receiver gets its retries on the schedule.
func TestSagaPayWebhookLog(t *testing.T) {
	backends(t, func(t *testing.T, e0 *env) {
		e := tradingEnv(t, e0.backend, 2*time.Second)
		f := newSagaFixture(t, e, "Log Shop")
		orderID, _, _ := f.pay(t, f.core, 2500, nil)
		base := "/merchants/" + f.m.Merchant.ID + "/webhooks/deliveries"
		var done map[string]any
		waitUntil(t, "a delivered paymentcompleted", func() bool {
			for _, d := range e.do("GET", base+"?orderId="+orderID, f.admin, nil).Body["data"].([]any) {
				if m := d.(map[string]any); m["eventType"] == "order.paymentcompleted" && m["state"] == "delivered" {
					done = m
					return true
				}
			}
			return false
		})
		id := done["webhookEventId"].(string)
		one := e.do("GET", base+"/"+id, f.admin, nil).data()
		if log := one["attemptLog"].([]any); len(log) != 1 || log[0].(map[string]any)["statusCode"] != float64(200) {
			t.Errorf("attempt log: %v", one)
		}
		if r := e.do("POST", base+"/"+id+"/redeliver", f.core, nil); r.Status != 200 {
			t.Fatalf("redeliver: %s", r.Raw)
		}
		waitUntil(t, "the redelivery", func() bool {
			n := 0
			for _, h := range f.hooks.all() {
				if h.Env.Metadata["webhookEventId"] == id {
					n++
				}
			}
			return n == 2
		})
		if r := e.do("GET", base+"/"+id, newSagaFixture(t, e, "Someone else").admin, nil); r.Status != 404 {
			t.Errorf("another merchant's delivery: %s", r.Raw)
		}
		// A failing receiver: attempt 1 fails, the next is due 5 s later.
		f.hooks.mu.Lock()
		f.hooks.status = 500
		f.hooks.mu.Unlock()
		o2, _, _ := f.pay(t, f.core, 2600, nil)
		waitUntil(t, "a failed first attempt", func() bool {
			for _, d := range e.do("GET", base+"?orderId="+o2, f.admin, nil).Body["data"].([]any) {
				m := d.(map[string]any)
				if m["eventType"] == "order.paymentcompleted" && m["attempts"] == float64(1) && m["state"] == "pending" && m["lastAttemptAt"] != nil {
					next, _ := time.Parse(time.RFC3339Nano, m["nextAttemptAt"].(string))
					last, _ := time.Parse(time.RFC3339Nano, m["lastAttemptAt"].(string))
					if d := next.Sub(last); d < 4*time.Second || d > 6*time.Second {
						t.Errorf("first retry after %v, want 5 s", d)
					}
					if r := e.do("POST", base+"/"+m["webhookEventId"].(string)+"/redeliver", f.core, nil); r.Status != 409 {
						t.Errorf("redelivering a pending webhook: %s", r.Raw)
					}
					return true
				}
			}
			return false
		})
	})
}

// TestSeedCurl runs the seed's curl, as written, with the real curl
// binary against a running server: a real token and a real order in
// place of its placeholders.
func TestSeedCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	e := tradingEnv(t, "sqlite", 2*time.Second)
	f := newSagaFixture(t, e, "Curl Cafe")
	u := f.token("curl-user")
	o := f.order(u, 1200, nil)
	orderID := o.data()["orderId"].(string)
	tok := strings.TrimPrefix(u["Authorization"], "Bearer ")
	out, err := exec.Command(curl, "-s", "-d", "{\n\"orderId\": \""+orderID+"\",\n\"paymentMethod\": \"CARD\"\n}",
		"-H", "Content-Type: application/json",
		"-H", "Authorization: Bearer "+tok,
		e.srv.URL+"/payments").Output()
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Status string `json:"status"`
		Data   struct {
			PaymentID string `json:"paymentId"`
		} `json:"data"`
	}
	if err := json.Unmarshal(out, &r); err != nil || r.Status != "SUCCESS" || r.Data.PaymentID == "" {
		t.Fatalf("the seed's curl: %s (%v)", out, err)
	}
	if st := f.waitPayment(t, u, r.Data.PaymentID); st["paymentStatus"] != "PAYMENT_COMPLETED" {
		t.Errorf("payment from the seed's curl: %v", st)
	}
}
