package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/callback/sign"
	"github.com/jetonhq/jeton/trading"
)

// shop is a merchant backend over real HTTP: it verifies every callback
// signature, keeps its own balance ledger, and answers approvals with a
// policy the test sets.
type shop struct {
	t      testing.TB
	secret []byte
	srv    *httptest.Server

	mu        sync.Mutex
	approve   func(trade map[string]any) (status int, body string) // nil: approve
	refuse    func(trade map[string]any) bool                      // status callbacks to answer 500
	events    map[string][]string                                  // trade id -> statuses seen, in order
	seen      map[string]bool                                      // delivery ids already applied
	approvals map[string]int                                       // trade id -> approval calls
	credits   jeton.USD                                            // what the shop credited users
	debits    jeton.USD                                            // what the shop took from users
	pings     int
}

func newShop(t testing.TB, secret string) *shop {
	s := &shop{t: t, secret: []byte(secret), events: map[string][]string{}, seen: map[string]bool{}, approvals: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// received is one call from jeton to a merchant backend, verified.
type received struct {
	ping  bool   // the unsigned {"test": true} ping
	id    string // the delivery id of the signature header
	raw   []byte
	event string
	trade map[string]any
}

// receive reads a call and checks everything a merchant should: the
// signature header, the body key, and that the event is the trade's
// status. When a check fails it reports it, answers the call itself and
// returns false.
func receive(t testing.TB, secret []byte, w http.ResponseWriter, r *http.Request) (received, bool) {
	raw, _ := io.ReadAll(r.Body)
	hdr := r.Header.Get(sign.AssetPayHeader)
	if hdr == "" {
		var ping map[string]any
		if json.Unmarshal(raw, &ping) == nil && ping["test"] == true {
			return received{ping: true, raw: raw}, true
		}
		t.Errorf("unsigned callback: %s", raw)
		w.WriteHeader(401)
		return received{}, false
	}
	d, err := sign.VerifyHeader(hdr, raw, [][]byte{secret}, time.Now(), 0)
	if err != nil {
		t.Errorf("callback signature: %v", err)
		w.WriteHeader(401)
		return received{}, false
	}
	var body struct {
		Payload struct {
			Trade json.RawMessage `json:"trade"`
			Event string          `json:"event"`
			Key   string          `json:"key"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Errorf("callback %s body: %v", d.ID, err)
		w.WriteHeader(400)
		return received{}, false
	}
	if !sign.VerifyBodyKey([][]byte{secret}, body.Payload.Trade, body.Payload.Key) {
		t.Errorf("callback %s: body key does not verify", d.ID)
	}
	rc := received{id: d.ID, raw: raw, event: body.Payload.Event}
	_ = json.Unmarshal(body.Payload.Trade, &rc.trade)
	if rc.trade["status"] != rc.event {
		t.Errorf("callback %s: event %s != trade status %v", d.ID, rc.event, rc.trade["status"])
	}
	return rc, true
}

func (s *shop) serve(w http.ResponseWriter, r *http.Request) {
	rc, ok := receive(s.t, s.secret, w, r)
	if !ok {
		return
	}
	if rc.ping {
		s.mu.Lock()
		s.pings++
		s.mu.Unlock()
		w.WriteHeader(200)
		return
	}
	tr, d := rc.trade, rc // d.id: the delivery id
	id, _ := tr["id"].(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refuse != nil && s.refuse(tr) {
		w.WriteHeader(500)
		return
	}
	if tr["type"] == "WITHDRAW" && tr["status"] == "INITIATED" {
		s.approvals[id]++
		status, reply := 200, ""
		if s.approve != nil {
			status, reply = s.approve(tr)
		}
		if status < 300 && reply != `{"action":"reject"}` && s.approvals[id] == 1 {
			s.debits += usdOf(tr["totalPrice"])
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, reply)
		return
	}
	if s.seen[d.id] {
		w.WriteHeader(200) // a retry of a callback already applied
		return
	}
	s.seen[d.id] = true
	s.events[id] = append(s.events[id], d.event)
	// The shop's own ledger: credit deposits as the money becomes
	// creditable; refund withdrawals that fail after approval.
	switch {
	case tr["type"] == "DEPOSIT" && tr["status"] == "HOLD":
		s.credits += usdOf(tr["preCredit"])
	case tr["type"] == "DEPOSIT" && tr["status"] == "COMPLETED" && tr["game"] == "730":
		s.credits += usdOf(tr["pendingCredit"])
	case tr["type"] == "DEPOSIT" && tr["status"] == "COMPLETED":
		s.credits += usdOf(tr["totalPrice"])
	case tr["type"] == "WITHDRAW" && (tr["status"] == "FAILED" || tr["status"] == "DECLINED" || tr["status"] == "REVERTED"):
		if s.approvals[id] > 0 && tr["error"] != "MERCHANT_REJECTED" {
			s.debits -= usdOf(tr["totalPrice"])
		}
	}
	w.WriteHeader(200)
}

func usdOf(v any) jeton.USD {
	f, _ := v.(float64)
	u, err := jeton.ParseUSD(fmt.Sprint(f))
	if err != nil {
		u, _ = jeton.ParseUSD(fmt.Sprintf("%.2f", f))
	}
	return u
}

func (s *shop) statuses(id string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.events[id]...)
}

// tradingEnv is a running server in sandbox mode with a live clock.
func tradingEnv(t *testing.T, backend string, acceptAfter time.Duration) *env {
	e := newEnvWith(t, backend, appConfig{Sandbox: true, AcceptAfter: acceptAfter})
	e.clock.mu.Lock()
	e.clock.t, e.clock.start = time.Now().UTC(), time.Now()
	e.clock.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.app.run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return e
}

// tradingMerchant makes a merchant whose callback URL is the shop's.
func (e *env) tradingMerchant(name string) (merchant, *shop) {
	m := e.merchant(name)
	s := newShop(e.t, m.APISecret)
	r := e.do("PUT", "/secure/callback-url", map[string]string{"api-key": m.APIKey}, map[string]any{"url": s.srv.URL + "/callbacks"})
	if r.Status != 200 {
		e.t.Fatalf("set callback url: %d %s", r.Status, r.Raw)
	}
	if s.pings != 1 {
		e.t.Fatalf("test ping not received")
	}
	return m, s
}

func (e *env) waitTrade(key, id string, want ...string) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := e.do("GET", "/secure/trades/"+id, map[string]string{"api-key": key}, nil)
		d := r.data()
		for _, w := range want {
			if d["status"] == w {
				return d
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("trade %s: status %v, want %v (%s)", id, d["status"], want, r.Raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitEvents waits until the shop has received exactly the status
// callbacks want, each once (callbacks of one trade may arrive out of
// order; each carries the whole trade).
func (e *env) waitEvents(s *shop, id string, want ...string) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	want = slices.Sorted(slices.Values(want))
	for {
		got := slices.Sorted(slices.Values(s.statuses(id)))
		if fmt.Sprint(got) == fmt.Sprint(want) {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("trade %s callbacks %v, want %v", id, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) balance(key string) map[string]any {
	e.t.Helper()
	r := e.do("GET", "/v1/wallets/me/balance", map[string]string{"api-key": key}, nil)
	if r.Status != 200 {
		e.t.Fatalf("balance: %d %s", r.Status, r.Raw)
	}
	return r.data()
}

// checkLedger proves the ledger balances and matches the wallet.
func (e *env) checkLedger(m merchant) {
	e.t.Helper()
	sums, err := e.app.store.LedgerSums(context.Background(), m.Merchant.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	var total jeton.USD
	for _, v := range sums {
		total += v
	}
	if total != 0 {
		e.t.Errorf("ledger does not balance: %v", sums)
	}
	w, err := e.app.store.Wallet(context.Background(), m.Merchant.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	if w.Available != sums[jeton.AccountAvailable] || w.Pending != sums[jeton.AccountPending] || w.Escrow != sums[jeton.AccountEscrow] {
		e.t.Errorf("wallet %+v != ledger %v", w, sums)
	}
}

// user is a test client: a real-looking Steam ID and its own trade URL.
func (e *env) userToken(m merchant, steamID, token string) string {
	e.t.Helper()
	var id uint64
	fmt.Sscan(steamID, &id)
	url := fmt.Sprintf("https://steamcommunity.com/tradeoffer/new/?partner=%d&token=%s", id-76561197960265728, token)
	r := e.authenticate(m.APIKey, map[string]any{"clientSteamId": steamID, "clientTradeUrl": url, "clientId": "u-" + steamID})
	if r.Status != 200 {
		e.t.Fatalf("authenticate: %d %s", r.Status, r.Raw)
	}
	return "Bearer " + r.data()["token"].(string)
}

func (e *env) firstListing(tok string) map[string]any {
	e.t.Helper()
	r := e.do("GET", "/client/market?perPage=5&sort=priceAsc&game=730", map[string]string{"Authorization": tok}, nil)
	items, _ := r.data()["items"].([]any)
	if r.Status != 200 || len(items) == 0 {
		e.t.Fatalf("market: %d %s", r.Status, r.Raw)
	}
	return items[0].(map[string]any)
}

// withdrawBody sends the listing's offer exactly as the market showed it
// (delivery included), as the docs tell clients to.
func withdrawBody(l map[string]any) map[string]any {
	off := l["offer"].(map[string]any)
	if off["delivery"] == nil {
		panic("market offers show a delivery")
	}
	return map[string]any{"items": []any{map[string]any{"itemId": l["id"], "market": l["market"], "offer": off}}, "game": "730"}
}

func TestWithdrawApprovedCompletesAfterHold(t *testing.T) {
	backends(t, func(t *testing.T, e0 *env) {
		e := tradingEnv(t, e0.backend, 100*time.Millisecond)
		m, s := e.tradingMerchant("shop")
		tok := e.userToken(m, "76561198000000001", "abcdEF12")
		l := e.firstListing(tok)
		before := e.balance(m.APIKey)["balance"].(float64)
		r := e.do("POST", "/client/trading/withdraw", map[string]string{"Authorization": tok}, withdrawBody(l))
		if r.Status != 200 || r.data()["status"] != "INITIATED" || r.data()["type"] != "WITHDRAW" {
			t.Fatalf("withdraw: %d %s", r.Status, r.Raw)
		}
		id := r.data()["id"].(string)
		d := e.waitTrade(m.APIKey, id, "HOLD")
		if d["offerID"] == nil || d["holdEndDate"] == nil {
			t.Errorf("HOLD without offerID or holdEndDate: %v", d)
		}
		price := usdOf(r.data()["totalPrice"])
		bal := e.balance(m.APIKey)
		if got := usdOf(bal["balance"]); got != usdOf(before)-price {
			t.Errorf("balance %v, want %v - %v", got, before, price)
		}
		if usdOf(bal["pendingBalance"]) != price {
			t.Errorf("pendingBalance %v, want %v", bal["pendingBalance"], price)
		}
		// The hold ends when the sandbox clock passes it.
		if r := e.do("POST", "/secure/sandbox/clock/advance", map[string]string{"api-key": m.APIKey}, map[string]any{"seconds": 8 * 86400}); r.Status != 200 {
			t.Fatalf("advance: %d %s", r.Status, r.Raw)
		}
		e.waitTrade(m.APIKey, id, "COMPLETED")
		e.waitEvents(s, id, "PENDING", "ACTIVE", "HOLD", "COMPLETED")
		bal = e.balance(m.APIKey)
		if usdOf(bal["balance"]) != usdOf(before)-price || usdOf(bal["pendingBalance"]) != 0 {
			t.Errorf("after completion: %v", bal)
		}
		s.mu.Lock()
		calls := s.approvals[id]
		s.mu.Unlock()
		if calls != 1 {
			t.Errorf("approval calls %d, want 1", calls)
		}
		e.checkLedger(m)
	})
}

func TestWithdrawRejectedAndTimedOut(t *testing.T) {
	backends(t, func(t *testing.T, e0 *env) {
		e := tradingEnv(t, e0.backend, 100*time.Millisecond)
		m, s := e.tradingMerchant("shop")
		tok := e.userToken(m, "76561198000000002", "abcdEF12")
		l := e.firstListing(tok)
		before := e.balance(m.APIKey)
		cases := []struct {
			name   string
			answer func(map[string]any) (int, string)
			err    string
			calls  int
		}{
			{"402", func(map[string]any) (int, string) { return 402, "" }, jeton.FailMerchantRejected, 1},
			{"200 reject", func(map[string]any) (int, string) { return 200, `{"action":"reject"}` }, jeton.FailMerchantRejected, 1},
			{"500", func(map[string]any) (int, string) { return 500, "" }, jeton.FailApprovalTimeout, trading.MaxApprovalAttempts},
			{"429", func(map[string]any) (int, string) { return 429, "" }, jeton.FailApprovalTimeout, trading.MaxApprovalAttempts},
		}
		for _, c := range cases {
			s.mu.Lock()
			s.approve = c.answer
			s.mu.Unlock()
			r := e.do("POST", "/client/trading/withdraw", map[string]string{"Authorization": tok}, withdrawBody(l))
			if r.Status != 200 {
				t.Fatalf("%s: withdraw %d %s", c.name, r.Status, r.Raw)
			}
			id := r.data()["id"].(string)
			d := e.waitTrade(m.APIKey, id, "FAILED")
			if d["error"] != c.err {
				t.Errorf("%s: error %v, want %s", c.name, d["error"], c.err)
			}
			e.waitEvents(s, id, "FAILED")
			s.mu.Lock()
			calls := s.approvals[id]
			s.mu.Unlock()
			if calls != c.calls {
				t.Errorf("%s: %d approval calls, want %d", c.name, calls, c.calls)
			}
		}
		after := e.balance(m.APIKey)
		if fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("balance moved without an approval: %v -> %v", before, after)
		}
		e.checkLedger(m)
	})
}

func TestDepositSplitAndReversal(t *testing.T) {
	backends(t, func(t *testing.T, e0 *env) {
		e := tradingEnv(t, e0.backend, 100*time.Millisecond)
		m, s := e.tradingMerchant("shop")
		// A user reversing during the hold (sandbox test value revuser0).
		tok := e.userToken(m, "76561198000000003", "revuser0")
		inv := e.do("GET", "/client/inventory?game=730&sort=priceDesc&acceptedOnly=true", map[string]string{"Authorization": tok}, nil)
		if inv.Status != 200 {
			t.Fatalf("inventory: %d %s", inv.Status, inv.Raw)
		}
		coll := usdOf(inv.data()["collateral"])
		items := inv.data()["inventory"].([]any)
		// Pick items worth more than the collateral, so the deposit splits.
		var pick []any
		var total jeton.USD
		for _, it := range items {
			im := it.(map[string]any)
			pick = append(pick, map[string]any{"itemId": im["id"]})
			total += usdOf(im["offer"].(map[string]any)["price"])
			if total > coll {
				break
			}
		}
		if total <= coll {
			t.Skipf("inventory worth %v does not exceed collateral %v", total, coll)
		}
		before := e.balance(m.APIKey)
		r := e.do("POST", "/client/trading/deposit", map[string]string{"Authorization": tok}, map[string]any{"items": pick, "externalId": "dep-1"})
		if r.Status != 200 {
			t.Fatalf("deposit: %d %s", r.Status, r.Raw)
		}
		d := r.data()
		if usdOf(d["preCredit"]) != coll || usdOf(d["preCredit"])+usdOf(d["pendingCredit"]) != usdOf(d["totalPrice"]) {
			t.Errorf("split: pre %v pending %v total %v collateral %v", d["preCredit"], d["pendingCredit"], d["totalPrice"], coll)
		}
		if dup := e.do("POST", "/client/trading/deposit", map[string]string{"Authorization": tok}, map[string]any{"items": pick, "externalId": "dep-1"}); dup.errKey() != "EXTERNAL_ID_EXISTS" {
			t.Errorf("duplicate externalId: %d %s", dup.Status, dup.Raw)
		}
		id := d["id"].(string)
		e.waitTrade(m.APIKey, id, "HOLD")
		bal := e.balance(m.APIKey)
		if usdOf(bal["balance"]) != usdOf(before["balance"])+coll || usdOf(bal["escrowBalance"]) != usdOf(d["pendingCredit"]) {
			t.Errorf("at HOLD: %v (pre %v pending %v)", bal, d["preCredit"], d["pendingCredit"])
		}
		// Half way through the hold the user reverses.
		e.do("POST", "/secure/sandbox/clock/advance", map[string]string{"api-key": m.APIKey}, map[string]any{"seconds": 4 * 86400})
		rv := e.waitTrade(m.APIKey, id, "REVERTED")
		if rv["revertedBy"] != "user" {
			t.Errorf("revertedBy %v", rv["revertedBy"])
		}
		e.waitEvents(s, id, "INITIATED", "ACTIVE", "HOLD", "REVERTED")
		bal = e.balance(m.APIKey)
		if usdOf(bal["escrowBalance"]) != 0 {
			t.Errorf("escrow after reversal: %v", bal)
		}
		e.checkLedger(m)
	})
}

// TestDepositGuardsControlsAndRedelivery covers what a deposit refuses
// (an item already deposited, a sixth waiting deposit), the sandbox
// controls' error keys, and redelivery of a status callback.
func TestDepositGuardsControlsAndRedelivery(t *testing.T) {
	backends(t, func(t *testing.T, e0 *env) {
		e := tradingEnv(t, e0.backend, 0) // offers wait for a control
		m, s := e.tradingMerchant("shop")
		key := map[string]string{"api-key": m.APIKey}
		tok := e.userToken(m, "76561198000000004", "abcdEF12")
		auth := map[string]string{"Authorization": tok}
		inv := e.do("GET", "/client/inventory?game=730&acceptedOnly=true&perPage=-1", auth, nil)
		items := inv.data()["inventory"].([]any)
		if len(items) < 6 {
			t.Fatalf("inventory too small: %d", len(items))
		}
		idOf := func(i int) string { return items[i].(map[string]any)["id"].(string) }
		// The first deposit's callbacks are refused until the test allows
		// them, so its INITIATED callback stays pending.
		var firstID string
		first := idOf(0)
		s.mu.Lock()
		s.refuse = func(tr map[string]any) bool {
			its, _ := tr["items"].([]any)
			return len(its) == 1 && its[0].(map[string]any)["id"] == first
		}
		s.mu.Unlock()
		dep := func(i int) reply {
			return e.do("POST", "/client/trading/deposit", auth, map[string]any{"items": []any{map[string]any{"itemId": idOf(i)}}})
		}
		r := dep(0)
		if r.Status != 200 {
			t.Fatalf("deposit: %d %s", r.Status, r.Raw)
		}
		firstID = r.data()["id"].(string)
		if again := dep(0); again.Status != 400 || again.errKey() != "ITEMS_UNAVAILABLE" {
			t.Errorf("the same item again: %d %s", again.Status, again.Raw)
		}
		inv = e.do("GET", "/client/inventory?game=730&acceptedOnly=true&perPage=-1", auth, nil)
		for _, it := range inv.data()["inventory"].([]any) {
			if it.(map[string]any)["id"] == idOf(0) {
				t.Errorf("inventory still lists the deposited item %s", idOf(0))
			}
		}
		for i := 1; i < 5; i++ {
			if r := dep(i); r.Status != 200 {
				t.Fatalf("deposit %d: %d %s", i, r.Status, r.Raw)
			}
		}
		if r := dep(5); r.Status != 429 || r.errKey() != "TOO_MANY_ACTIVE_TRADES" {
			t.Errorf("sixth waiting deposit: %d %s", r.Status, r.Raw)
		}

		// Sandbox controls.
		e.waitTrade(m.APIKey, firstID, "ACTIVE")
		ctl := func(id, action string) reply {
			return e.do("POST", "/secure/sandbox/trades/"+id+"/"+action, key, nil)
		}
		if r := ctl(firstID, "explode"); r.Status != 404 || r.errKey() != "NOT_FOUND" {
			t.Errorf("unknown action: %d %s", r.Status, r.Raw)
		}
		if r := ctl("no-such-trade", "accept"); r.Status != 404 || r.errKey() != "TRADE_NOT_FOUND" {
			t.Errorf("unknown trade: %d %s", r.Status, r.Raw)
		}
		if r := ctl(firstID, "reverse"); r.Status != 409 || r.errKey() != "OFFER_STATE_INVALID" {
			t.Errorf("reverse a pending offer: %d %s", r.Status, r.Raw)
		}
		if r := ctl(firstID, "accept"); r.Status != 200 {
			t.Fatalf("accept: %d %s", r.Status, r.Raw)
		}
		if r := ctl(firstID, "accept"); r.Status != 409 || r.errKey() != "OFFER_STATE_INVALID" {
			t.Errorf("accept twice: %d %s", r.Status, r.Raw)
		}
		e.waitTrade(m.APIKey, firstID, "HOLD")
		if r := dep(5); r.Status != 200 {
			t.Errorf("a fifth waiting deposit once one is in HOLD: %d %s", r.Status, r.Raw)
		}

		// Redelivery: refused while the callback is still pending, then
		// accepted once it is delivered, under the same delivery id.
		cbs := e.do("GET", "/secure/callbacks?tradeId="+firstID, key, nil)
		var initiated string
		for _, c := range cbs.data()["items"].([]any) {
			if c.(map[string]any)["event"] == "INITIATED" {
				initiated = c.(map[string]any)["deliveryId"].(string)
			}
		}
		if initiated == "" {
			t.Fatalf("no INITIATED callback: %s", cbs.Raw)
		}
		// Wait for the refused first attempt to be recorded.
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			r := e.do("GET", "/secure/callbacks/"+initiated, key, nil)
			if log, _ := r.data()["attemptLog"].([]any); len(log) > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no attempt recorded: %s", r.Raw)
			}
		}
		if r := e.do("POST", "/secure/callbacks/"+initiated+"/redeliver", key, nil); r.Status != 409 || r.errKey() != "DELIVERY_PENDING" {
			t.Errorf("redeliver a pending callback: %d %s", r.Status, r.Raw)
		}
		s.mu.Lock()
		s.refuse = nil
		s.mu.Unlock()
		waitState := func(want string) {
			t.Helper()
			deadline := time.Now().Add(20 * time.Second)
			for {
				r := e.do("GET", "/secure/callbacks/"+initiated, key, nil)
				if r.data()["state"] == want {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("callback %s: %s, want state %s", initiated, r.Raw, want)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		waitState("delivered") // the 5 s retry
		r = e.do("POST", "/secure/callbacks/"+initiated+"/redeliver", key, nil)
		if r.Status != 200 || r.data()["state"] != "pending" || r.data()["deliveryId"] != initiated {
			t.Fatalf("redeliver: %d %s", r.Status, r.Raw)
		}
		waitState("delivered")
		log := e.do("GET", "/secure/callbacks/"+initiated, key, nil).data()
		attempts, _ := log["attemptLog"].([]any)
		var outcomes []string
		for _, a := range attempts {
			outcomes = append(outcomes, a.(map[string]any)["outcome"].(string))
		}
		if len(outcomes) < 3 || outcomes[0] != "failed" || outcomes[len(outcomes)-1] != "delivered" {
			t.Errorf("attempts %v: want failed first and delivered last, at least 3: %v", outcomes, log)
		}
		if r := e.do("POST", "/secure/callbacks/00000000-0000-4000-8000-000000000000/redeliver", key, nil); r.Status != 404 || r.errKey() != "DELIVERY_NOT_FOUND" {
			t.Errorf("redeliver unknown: %d %s", r.Status, r.Raw)
		}
		e.checkLedger(m)
	})
}

// TestWithdrawApprovedBeyondBalance: two withdrawals that each fit the
// balance, but not together, are both approved by the merchant. One
// locks the funds; the other ends FAILED with MERCHANT_BALANCE_LOW after
// its one approval call, and nothing of it is debited.
func TestWithdrawApprovedBeyondBalance(t *testing.T) {
	backends(t, func(t *testing.T, e0 *env) {
		e := tradingEnv(t, e0.backend, 100*time.Millisecond)
		m, s := e.tradingMerchant("shop")
		tok := e.userToken(m, "76561198000000007", "abcdEF12")
		l := e.firstListing(tok)
		price := usdOf(l["offer"].(map[string]any)["price"])
		room := price * 3 / 2 // one withdrawal fits, two do not
		opening := jeton.Posting{ID: "open-tight-" + e0.backend, MerchantID: m.Merchant.ID, Type: jeton.PostOpening,
			Memo: "test: room for one withdrawal", CreatedAt: time.Now(), Entries: []jeton.Entry{
				{Account: jeton.AccountAvailable, Amount: room}, {Account: jeton.AccountFunding, Amount: -room}}}
		if w, err := e.app.store.OpenWallet(context.Background(), m.Merchant.ID, &opening); err != nil || w.Available != room {
			t.Fatalf("open wallet: %+v, %v", w, err)
		}
		// The first approval answers late, so the second withdrawal is
		// created (it fits the balance then) before the first locks funds.
		first := true
		s.mu.Lock()
		s.approve = func(map[string]any) (int, string) {
			if first {
				first = false
				time.Sleep(500 * time.Millisecond)
			}
			return 200, "{}"
		}
		s.mu.Unlock()
		var ids []string
		for range 2 {
			r := e.do("POST", "/client/trading/withdraw", map[string]string{"Authorization": tok}, withdrawBody(l))
			if r.Status != 200 {
				t.Fatalf("withdraw: %d %s", r.Status, r.Raw)
			}
			ids = append(ids, r.data()["id"].(string))
		}
		// Both verdicts come back at about the same time: whichever is
		// written first locks the funds, the other finds them gone.
		held, failed := 0, ""
		for _, id := range ids {
			d := e.waitTrade(m.APIKey, id, "HOLD", "FAILED")
			switch {
			case d["status"] == "HOLD":
				held++
			case d["error"] == jeton.FailBalanceLow:
				failed = id
			default:
				t.Errorf("withdrawal %s failed with %v, want %s", id, d["error"], jeton.FailBalanceLow)
			}
		}
		if held != 1 || failed == "" {
			t.Fatalf("%d withdrawals in HOLD and failed %q, want one of each", held, failed)
		}
		s.mu.Lock()
		calls := s.approvals[failed]
		s.mu.Unlock()
		if calls != 1 {
			t.Errorf("the refused withdrawal had %d approval calls, want 1 (one verdict, then MERCHANT_BALANCE_LOW)", calls)
		}
		if bal := e.balance(m.APIKey); usdOf(bal["balance"]) != room-price || usdOf(bal["pendingBalance"]) != price {
			t.Errorf("balance %v, want available %v and pending %v", bal, room-price, price)
		}
		e.checkLedger(m)
	})
}
