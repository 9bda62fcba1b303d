package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jetonhq/jeton/client"
)

// sdkBackend is a merchant backend built only from the Go SDK: its
// callback URL is a client.CallbackHandler over real HTTP, which verifies
// every call from the real server (header and body key), decides
// approvals and applies status callbacks once per delivery id.
type sdkBackend struct {
	srv *httptest.Server

	mu        sync.Mutex
	secrets   [][]byte
	verdicts  map[string]bool                 // trade id -> the one verdict given
	decisions map[string]int                  // trade id -> approval calls decided
	applied   map[string]bool                 // delivery ids applied
	received  map[string]int                  // delivery id -> status callbacks received
	statuses  map[string][]client.TradeStatus // trade id -> statuses applied
	pings     int
	refused   []string // reasons of refused calls
}

func newSDKBackend(t *testing.T, secret string) *sdkBackend {
	b := &sdkBackend{secrets: [][]byte{[]byte(secret)}, verdicts: map[string]bool{}, decisions: map[string]int{},
		applied: map[string]bool{}, received: map[string]int{}, statuses: map[string][]client.TradeStatus{}}
	h := &client.CallbackHandler{
		Secrets:        func() [][]byte { b.mu.Lock(); defer b.mu.Unlock(); return b.secrets },
		RequireBodyKey: true, // both of jeton's signatures, checked on every call
		Approve: func(ctx context.Context, tr client.Trade) (bool, string, error) {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.decisions[tr.ID]++
			if v, ok := b.verdicts[tr.ID]; ok {
				return v, "same verdict as before", nil
			}
			ok := tr.ExternalID == nil || !strings.HasPrefix(*tr.ExternalID, "reject-")
			b.verdicts[tr.ID] = ok
			return ok, "over this user's limit", nil
		},
		Status: func(ctx context.Context, c client.AssetPayCallback) error {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.received[c.DeliveryID]++
			if c.Event != string(c.Trade.Status) {
				return fmt.Errorf("event %s for a trade in %s", c.Event, c.Trade.Status)
			}
			if !b.applied[c.DeliveryID] {
				b.applied[c.DeliveryID] = true
				b.statuses[c.Trade.ID] = append(b.statuses[c.Trade.ID], c.Trade.Status)
			}
			return nil
		},
		OnPing: func(context.Context, client.Ping) { b.mu.Lock(); b.pings++; b.mu.Unlock() },
		OnRefused: func(r *http.Request, err error) {
			b.mu.Lock()
			b.refused = append(b.refused, string(client.ReasonOf(err)))
			b.mu.Unlock()
		},
	}
	b.srv = httptest.NewServer(h)
	t.Cleanup(b.srv.Close)
	return b
}

func (b *sdkBackend) setSecrets(s ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.secrets = nil
	for _, x := range s {
		b.secrets = append(b.secrets, []byte(x))
	}
}

// statusesOf returns the statuses applied for a trade, sorted (callbacks
// of one trade may arrive in any order).
func (b *sdkBackend) statusesOf(id string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, s := range b.statuses[id] {
		out = append(out, string(s))
	}
	slices.Sort(out)
	return out
}

func (b *sdkBackend) decisionsOf(id string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.decisions[id]
}

func (b *sdkBackend) waitStatuses(t *testing.T, id string, want ...string) {
	t.Helper()
	slices.Sort(want)
	waitUntil(t, fmt.Sprintf("callbacks %v of trade %s", want, id), func() bool {
		return fmt.Sprint(b.statusesOf(id)) == fmt.Sprint(want)
	})
}

// waitTradeSDK polls a trade through the SDK until it reaches status.
func waitTradeSDK(t *testing.T, api *client.API, id string, status client.TradeStatus) client.Trade {
	t.Helper()
	var tr client.Trade
	waitUntil(t, fmt.Sprintf("trade %s %s", id, status), func() bool {
		var err error
		tr, err = api.Trade(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Status != status && tr.Status.Terminal() {
			t.Fatalf("trade %s ended %s (error %v), want %s", id, tr.Status, tr.Error, status)
		}
		return tr.Status == status
	})
	return tr
}

// sdkUser is an end user's AssetPay session: tokens minted locally with
// the merchant's secret, refreshed before expiry.
func sdkUser(e *env, m merchant, steamID string) *client.AssetPay {
	var id uint64
	fmt.Sscan(steamID, &id)
	u := client.Client{SteamID: steamID, TradeURL: fmt.Sprintf("https://steamcommunity.com/tradeoffer/new/?partner=%d&token=abcdEF12", id-76561197960265728),
		ClientID: "u-" + steamID}
	src := client.MintedTokens(m.APISecret, m.Merchant.ID, u, time.Hour)
	remembered := client.TokenSourceFunc(func(ctx context.Context) (client.Token, error) {
		tok, err := src.Token(ctx)
		e.remember(tok.Value)
		return tok, err
	})
	return &client.AssetPay{BaseURL: e.srv.URL, Tokens: client.NewCachedTokenSource(remembered)}
}

// TestSDKApprovalAndStatusCallbacks runs withdrawals against the real
// server with a merchant backend made of client.CallbackHandler: the test
// ping saves the URL, an approval lets the trade proceed, a rejection and
// a refused signature end it FAILED/MERCHANT_REJECTED, and every status
// callback verifies, is applied once, and can be redelivered.
func TestSDKApprovalAndStatusCallbacks(t *testing.T) {
	e := tradingEnv(t, "sqlite", 100*time.Millisecond)
	m := e.merchant("SDK shop")
	ctx := context.Background()
	api := &client.API{BaseURL: e.srv.URL, APIKey: m.APIKey}
	b := newSDKBackend(t, m.APISecret)

	// The URL is saved only because the handler acknowledges the
	// unsigned test ping.
	cu, err := api.SetCallbackURL(ctx, b.srv.URL+"/assetpay")
	b.mu.Lock()
	pings := b.pings
	b.mu.Unlock()
	if err != nil || cu.CallbackURL != b.srv.URL+"/assetpay" || cu.Test.Outcome != "delivered" || cu.Test.StatusCode != 200 || pings != 1 {
		t.Fatalf("SetCallbackURL: %+v %v (pings %d)", cu, err, pings)
	}
	_, err = api.SetCallbackURL(ctx, "http://127.0.0.1:1/nothing")
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.Key != "CALLBACK_URL_TEST_FAILED" || apiErr.Details["error"] == nil {
		t.Errorf("unreachable callback URL: %#v", err)
	}

	user := sdkUser(e, m, "76561198000000041")
	me, err := user.Me(ctx)
	if err != nil || me.SteamID != "76561198000000041" || me.MerchantID != m.Merchant.ID {
		t.Fatalf("Me: %+v %v", me, err)
	}
	mk, err := user.Market(ctx, client.ItemQuery{Game: "730", PerPage: 5, Sort: "priceAsc"})
	if err != nil || len(mk.Items) == 0 || mk.Count < len(mk.Items) {
		t.Fatalf("Market: %+v %v", mk, err)
	}
	l := mk.Items[0]
	if l.Market == nil || l.Offer.Price <= 0 || l.Offer.Reference == "" {
		t.Fatalf("listing: %+v", l)
	}
	before, err := api.Balance(ctx)
	if err != nil || before.Currency != "USD" {
		t.Fatalf("Balance: %+v %v", before, err)
	}

	// Approved: the funds are locked and the trade goes on to its hold.
	wd, err := user.Withdraw(ctx, client.TradeRequest{Items: []client.TradeItemRequest{l.WithdrawItem()}, Game: "730", ExternalID: "sdk-ok-1"})
	if err != nil || wd.Status != client.StatusInitiated || wd.Type != client.TypeWithdraw || wd.TotalPrice != l.Offer.Price {
		t.Fatalf("Withdraw: %+v %v", wd, err)
	}
	held := waitTradeSDK(t, api, wd.ID, client.StatusHold)
	if held.OfferID == nil || held.HoldEndDate == nil || held.Items[0].PurchaseStatus != client.StatusHold {
		t.Errorf("trade in HOLD: %+v", held)
	}
	b.waitStatuses(t, wd.ID, "PENDING", "ACTIVE", "HOLD")
	if n := b.decisionsOf(wd.ID); n != 1 {
		t.Errorf("approval calls decided: %d, want 1", n)
	}
	bal, err := api.Balance(ctx)
	if err != nil || bal.Balance != before.Balance-wd.TotalPrice || bal.PendingBalance != before.PendingBalance+wd.TotalPrice {
		t.Errorf("balance after approval: %+v, before %+v, price %v", bal, before, wd.TotalPrice)
	}
	if got, err := user.Trade(ctx, wd.ID); err != nil || got.ID != wd.ID {
		t.Errorf("user's Trade: %+v %v", got, err)
	}
	if list, err := user.Trades(ctx, client.TradeQuery{Type: client.TypeWithdraw}); err != nil || list.Count != 1 || list.Trades[0].ID != wd.ID {
		t.Errorf("user's Trades: %+v %v", list, err)
	}

	// Rejected by the decision function.
	rj, err := user.Withdraw(ctx, client.TradeRequest{Items: []client.TradeItemRequest{l.WithdrawItem()}, Game: "730", ExternalID: "reject-sdk-1"})
	if err != nil {
		t.Fatal(err)
	}
	failed := waitTradeSDK(t, api, rj.ID, client.StatusFailed)
	if failed.Error == nil || *failed.Error != client.FailMerchantRejected {
		t.Errorf("rejected trade: %+v", failed)
	}
	b.waitStatuses(t, rj.ID, "FAILED")
	if n := b.decisionsOf(rj.ID); n != 1 {
		t.Errorf("rejection decided %d times", n)
	}

	// By ref: id and externalId, in one call; unknown refs left out.
	refs, err := api.TradesByRef(ctx, wd.ID, "reject-sdk-1", "no-such-ref")
	if err != nil || len(refs) != 2 {
		t.Errorf("TradesByRef: %+v %v", refs, err)
	}
	if one, err := api.TradesByRef(ctx, "no-such-ref"); err != nil || len(one) != 0 {
		t.Errorf("TradesByRef of nothing: %+v %v", one, err)
	}

	// The backend's secret is wrong: the approval call is refused with
	// 401 before any decision, which rejects the withdrawal; its FAILED
	// status callback is refused too and retried until the secret is
	// right again.
	b.setSecrets("sk_not_the_merchants")
	bad, err := user.Withdraw(ctx, client.TradeRequest{Items: []client.TradeItemRequest{l.WithdrawItem()}, Game: "730", ExternalID: "sdk-badsig"})
	if err != nil {
		t.Fatal(err)
	}
	failed = waitTradeSDK(t, api, bad.ID, client.StatusFailed)
	if failed.Error == nil || *failed.Error != client.FailMerchantRejected || b.decisionsOf(bad.ID) != 0 {
		t.Errorf("approval with a bad signature: %+v, %d decisions", failed, b.decisionsOf(bad.ID))
	}
	var cb client.CallbackDelivery
	waitUntil(t, "the refused FAILED callback in the log", func() bool {
		list, err := api.Callbacks(ctx, bad.ID, 10, 0)
		if err != nil {
			t.Fatal(err)
		}
		if list.Count != 1 {
			return false
		}
		cb, err = api.Callback(ctx, list.Items[0].DeliveryID)
		return err == nil && len(cb.AttemptLog) > 0
	})
	if a := cb.AttemptLog[0]; a.StatusCode != 401 || a.Error != "HTTP 401" || cb.Event != "FAILED" || cb.Trade.ID != bad.ID {
		t.Errorf("refused callback: %+v", cb)
	}
	b.mu.Lock()
	refused := slices.Clone(b.refused)
	b.mu.Unlock()
	if len(refused) < 2 || refused[0] != "signature_mismatch" {
		t.Errorf("refusals seen by the backend: %v", refused)
	}
	// Rotation: the backend holds the right secret again (after a wrong
	// one); the retry, due 5 s after the refusal, verifies.
	b.setSecrets("sk_not_the_merchants", m.APISecret)
	b.waitStatuses(t, bad.ID, "FAILED")

	// The delivery log through the SDK, and a redelivery: the same
	// delivery id comes back and is not applied twice.
	log, err := api.Callbacks(ctx, wd.ID, 0, 0)
	if err != nil || log.Count != 3 || len(log.Items) != 3 {
		t.Fatalf("Callbacks: %+v %v", log, err)
	}
	var hold client.CallbackDelivery
	for _, c := range log.Items {
		if c.Trade.ID != wd.ID || c.Kind != "status" || c.Event != string(c.Trade.Status) {
			t.Errorf("log entry: %+v", c)
		}
		if c.Event == "HOLD" {
			hold = c
		}
	}
	waitUntil(t, "HOLD delivered", func() bool {
		c, err := api.Callback(ctx, hold.DeliveryID)
		return err == nil && c.State == "delivered"
	})
	rd, err := api.RedeliverCallback(ctx, hold.DeliveryID)
	if err != nil || rd.State != "pending" || rd.DeliveryID != hold.DeliveryID {
		t.Fatalf("RedeliverCallback: %+v %v", rd, err)
	}
	waitUntil(t, "the redelivery", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.received[hold.DeliveryID] == 2
	})
	b.waitStatuses(t, wd.ID, "PENDING", "ACTIVE", "HOLD")
	if _, err := api.RedeliverCallback(ctx, "00000000-0000-0000-0000-000000000000"); !errors.As(err, &apiErr) || apiErr.Key != "DELIVERY_NOT_FOUND" || apiErr.Status != 404 {
		t.Errorf("redeliver unknown: %v", err)
	}

	// The hold ends on the sandbox clock: COMPLETED arrives, verified.
	if _, err := api.AdvanceSandboxClock(ctx, 8*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	waitTradeSDK(t, api, wd.ID, client.StatusCompleted)
	b.waitStatuses(t, wd.ID, "PENDING", "ACTIVE", "HOLD", "COMPLETED")

	// The ledger shows the withdrawal's postings.
	lp, err := api.LedgerTransactions(ctx, client.LedgerQuery{Limit: 100})
	if err != nil || lp.Pagination.Total == 0 || len(lp.Items) == 0 {
		t.Fatalf("LedgerTransactions: %+v %v", lp, err)
	}
	var mine *client.LedgerTransaction
	for i, it := range lp.Items {
		if it.TradeID != nil && *it.TradeID == wd.ID {
			mine = &lp.Items[i]
		}
	}
	if mine == nil {
		t.Fatalf("no ledger posting of trade %s in %+v", wd.ID, lp.Items)
	}
	var sum client.USD
	for _, en := range mine.Entries {
		sum += en.Amount
	}
	if sum != 0 {
		t.Errorf("posting %s does not balance: %+v", mine.ID, mine.Entries)
	}
	if one, err := api.LedgerTransaction(ctx, mine.ID); err != nil || one.ID != mine.ID || one.Type != mine.Type {
		t.Errorf("LedgerTransaction: %+v %v", one, err)
	}
	e.checkLedger(m)
}

// TestSDKAssetPayRoutes calls the rest of the AssetPay surface through the
// SDK against the real server: the market and inventory routes of both
// kinds of caller, prices, trade URL checks, a client deposit, and the
// merchant's own sell and buy (the buy approved by the SDK's handler).
func TestSDKAssetPayRoutes(t *testing.T) {
	e := tradingEnv(t, "sqlite", 100*time.Millisecond)
	m := e.merchant("SDK routes")
	ctx := context.Background()
	api := &client.API{BaseURL: e.srv.URL, APIKey: m.APIKey}
	b := newSDKBackend(t, m.APISecret)
	if _, err := api.SetCallbackURL(ctx, b.srv.URL); err != nil {
		t.Fatal(err)
	}
	user := sdkUser(e, m, "76561198000000042")
	const sellerURL = "https://steamcommunity.com/tradeoffer/new/?partner=39734316&token=abcdEF12" // 76561198000000044

	chk, err := api.CheckTradeURL(ctx, sellerURL, false)
	if err != nil || chk.SteamID != "76561198000000044" || chk.CanTrade == nil {
		t.Errorf("CheckTradeURL: %+v %v", chk, err)
	}
	prices, err := api.Prices(ctx, "730")
	if err != nil || len(prices) == 0 {
		t.Fatalf("Prices: %v %v", len(prices), err)
	}
	withdrawable := 0
	for _, p := range prices {
		if p.Withdraw.Standard != nil || p.Withdraw.Instant != nil {
			withdrawable++
		}
	}
	if withdrawable == 0 {
		t.Errorf("no CS2 price row has a withdraw price")
	}
	if rust, err := api.Prices(ctx, "252490"); err != nil || len(rust) == 0 {
		t.Errorf("Rust prices: %d %v", len(rust), err)
	}

	inv, err := user.Inventory(ctx, client.ItemQuery{Game: "730", AcceptedOnly: true, Sort: "priceDesc"})
	if err != nil || len(inv.Inventory) == 0 || inv.Inventory[0].Accepted == nil || !*inv.Inventory[0].Accepted {
		t.Fatalf("user Inventory: %+v %v", inv, err)
	}
	same, err := api.Inventory(ctx, client.ItemQuery{Game: "730", AcceptedOnly: true, Sort: "priceDesc",
		TradeURL: "https://steamcommunity.com/tradeoffer/new/?partner=39734314&token=abcdEF12"})
	if err != nil || same.Count != inv.Count || same.Inventory[0].ID != inv.Inventory[0].ID {
		t.Errorf("merchant Inventory of the same user: %+v %v", same, err)
	}
	mk, err := api.Market(ctx, client.ItemQuery{Game: "730", PerPage: 3, Sort: "priceAsc", MinPrice: client.Dollars(1, 0)})
	if err != nil || len(mk.Items) == 0 || mk.Items[0].Offer.Price < client.Dollars(1, 0) {
		t.Fatalf("merchant Market: %+v %v", mk, err)
	}
	l := mk.Items[0]
	for name, call := range map[string]func() ([]client.Item, error){
		"merchant": func() ([]client.Item, error) {
			return api.MarketItem(ctx, client.ListingQuery{ItemID: l.MarketHashName})
		},
		"user": func() ([]client.Item, error) {
			return user.MarketItem(ctx, client.ListingQuery{ItemID: l.MarketHashName})
		},
	} {
		if ls, err := call(); err != nil || len(ls) == 0 || ls[0].MarketHashName != l.MarketHashName {
			t.Errorf("%s MarketItem: %+v %v", name, ls, err)
		}
	}
	word := strings.Fields(l.MarketHashName)[0]
	if s, err := api.MarketSuggestions(ctx, "730", word); err != nil || len(s) == 0 {
		t.Errorf("merchant MarketSuggestions(%q): %+v %v", word, s, err)
	}
	if s, err := user.MarketSuggestions(ctx, "730", word); err != nil || len(s) == 0 {
		t.Errorf("user MarketSuggestions(%q): %+v %v", word, s, err)
	}

	// A client deposit is announced from INITIATED on.
	dep, err := user.Deposit(ctx, client.TradeRequest{Items: []client.TradeItemRequest{inv.Inventory[0].DepositItem()}, Game: "730", ExternalID: "sdk-dep-1"})
	if err != nil || dep.Type != client.TypeDeposit || dep.Status != client.StatusInitiated {
		t.Fatalf("Deposit: %+v %v", dep, err)
	}
	waitTradeSDK(t, api, dep.ID, client.StatusHold)
	b.waitStatuses(t, dep.ID, "INITIATED", "ACTIVE", "HOLD")

	// The merchant's own trades: a sell, and a buy that waits for the
	// approval handler like any withdrawal.
	sellerInv, err := api.Inventory(ctx, client.ItemQuery{Game: "730", AcceptedOnly: true, TradeURL: sellerURL})
	if err != nil || len(sellerInv.Inventory) == 0 {
		t.Fatalf("seller inventory: %v", err)
	}
	sell, err := api.Sell(ctx, client.TradeRequest{Items: []client.TradeItemRequest{sellerInv.Inventory[0].DepositItem()}, Game: "730", TradeURL: sellerURL, ExternalID: "sdk-sell-1"})
	if err != nil || sell.Source != "self" || sell.Type != client.TypeDeposit {
		t.Fatalf("Sell: %+v %v", sell, err)
	}
	buy, err := api.Buy(ctx, client.TradeRequest{Items: []client.TradeItemRequest{l.WithdrawItem()}, Game: "730", TradeURL: sellerURL, ExternalID: "sdk-buy-1"})
	if err != nil || buy.Source != "self" || buy.Status != client.StatusInitiated {
		t.Fatalf("Buy: %+v %v", buy, err)
	}
	waitTradeSDK(t, api, buy.ID, client.StatusHold)
	if b.decisionsOf(buy.ID) != 1 {
		t.Errorf("buy approval calls: %d", b.decisionsOf(buy.ID))
	}
	page, err := api.Trades(ctx, client.TradeQuery{Limit: 1})
	if err != nil || len(page.Items) != 1 || page.NextCursor == nil || page.Items[0].ID != buy.ID {
		t.Fatalf("Trades page 1: %+v %v", page, err)
	}
	page2, err := api.Trades(ctx, client.TradeQuery{Limit: 1, Cursor: *page.NextCursor})
	if err != nil || len(page2.Items) != 1 || page2.Items[0].ID != sell.ID {
		t.Errorf("Trades page 2: %+v %v", page2, err)
	}
	if ds, err := api.Trades(ctx, client.TradeQuery{Type: client.TypeDeposit}); err != nil || len(ds.Items) != 1 || ds.Items[0].ID != sell.ID {
		t.Errorf("Trades of type DEPOSIT: %+v %v", ds, err)
	}

	// A sandbox control through the SDK: the seller reverses the sell in
	// its hold.
	waitTradeSDK(t, api, sell.ID, client.StatusHold)
	if _, err := api.SandboxTrade(ctx, sell.ID, client.SandboxReverse); err != nil {
		t.Fatalf("SandboxTrade: %v", err)
	}
	waitTradeSDK(t, api, sell.ID, client.StatusReverted)

	// Typed errors from the trading routes.
	_, err = user.Withdraw(ctx, client.TradeRequest{Items: []client.TradeItemRequest{{ItemID: "x"}}})
	var apiErr *client.Error
	if !errors.As(err, &apiErr) || apiErr.Key != "VALIDATION_FAILED" || len(apiErr.Fields) == 0 {
		t.Errorf("invalid withdrawal: %#v", err)
	}
	if _, err := user.Trade(ctx, sell.ID); !errors.As(err, &apiErr) || apiErr.Key != "TRADE_NOT_FOUND" {
		t.Errorf("a user reading the merchant's trade: %v", err)
	}
}

// sdkHooks is a SagaPay webhook endpoint made of
// client.SagaPayWebhookHandler over real HTTP.
type sdkHooks struct {
	srv     *httptest.Server
	mu      sync.Mutex
	secrets [][]byte
	got     []client.SagaPayWebhook
}

func newSDKHooks(t *testing.T) *sdkHooks {
	h := &sdkHooks{}
	h.srv = httptest.NewServer(client.SagaPayWebhookHandler(
		func() [][]byte { h.mu.Lock(); defer h.mu.Unlock(); return h.secrets },
		func(ctx context.Context, w client.SagaPayWebhook) error {
			h.mu.Lock()
			h.got = append(h.got, w)
			h.mu.Unlock()
			return nil
		}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *sdkHooks) setSecret(s string) { h.mu.Lock(); h.secrets = [][]byte{[]byte(s)}; h.mu.Unlock() }

// find returns the verified webhooks that match.
func (h *sdkHooks) find(match func(client.SagaPayWebhook, client.WebhookEvent) bool) []client.SagaPayWebhook {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []client.SagaPayWebhook
	for _, w := range h.got {
		ev, _ := w.Event()
		if match(w, ev) {
			out = append(out, w)
		}
	}
	return out
}

// TestSDKSagaPay drives SagaPay through the SDK against the real server:
// webhook endpoints and terminals with the merchant's credentials, an
// order paid on a sandbox terminal, and webhooks verified by
// client.SagaPayWebhookHandler (a wrong secret answered 401).
func TestSDKSagaPay(t *testing.T) {
	e := tradingEnv(t, "sqlite", 100*time.Millisecond)
	f := newSagaFixture(t, e, "SDK Cafe")
	ctx := context.Background()
	admin := &client.API{BaseURL: e.srv.URL, APIKey: f.m.admin, APISecret: f.m.APISecret, MerchantID: f.m.Merchant.ID}
	core := &client.API{BaseURL: e.srv.URL, APIKey: f.m.APIKey, APISecret: f.m.APISecret, MerchantID: f.m.Merchant.ID}
	var apiErr *client.Error

	// Webhook endpoints: the secret comes once, with the creation.
	hooks := newSDKHooks(t)
	ep, err := admin.CreateWebhookEndpoint(ctx, client.WebhookEndpointRequest{Name: "sdk", URL: hooks.srv.URL})
	if err != nil || ep.WebhookID == "" || ep.Secret == "" || ep.URL != hooks.srv.URL || len(ep.Events) != 0 {
		t.Fatalf("CreateWebhookEndpoint: %+v %v", ep, err)
	}
	e.remember(ep.Secret)
	hooks.setSecret(ep.Secret)
	test, err := admin.TestWebhookEndpoint(ctx, ep.WebhookID)
	if err != nil || !test.Delivered || test.StatusCode != 200 || test.WebhookEventID == "" {
		t.Fatalf("TestWebhookEndpoint: %+v %v", test, err)
	}
	if got := hooks.find(func(w client.SagaPayWebhook, _ client.WebhookEvent) bool {
		return w.EventType == "test.webhook" && w.Metadata.WebhookEventID == test.WebhookEventID
	}); len(got) != 1 {
		t.Errorf("test.webhook not verified by the handler")
	}
	eps, err := admin.WebhookEndpoints(ctx)
	if err != nil || len(eps) != 2 {
		t.Fatalf("WebhookEndpoints: %+v %v", eps, err)
	}
	for _, x := range eps {
		if x.Secret != "" {
			t.Errorf("a listed endpoint shows its secret")
		}
	}
	if _, err := core.CreateWebhookEndpoint(ctx, client.WebhookEndpointRequest{URL: "https://x.example"}); !errors.As(err, &apiErr) || apiErr.Status != 403 {
		t.Errorf("a CORE_ACCESS key creating an endpoint: %v", err)
	}

	// A receiver holding the wrong secret answers 401 with the reason.
	wrong := newSDKHooks(t)
	wrong.setSecret("whsec_not_this_one")
	ep2, err := admin.CreateWebhookEndpoint(ctx, client.WebhookEndpointRequest{URL: wrong.srv.URL, Events: []string{"order.paymentcompleted"}})
	if err != nil {
		t.Fatal(err)
	}
	e.remember(ep2.Secret)
	if tw, err := admin.TestWebhookEndpoint(ctx, ep2.WebhookID); err != nil || tw.Delivered || tw.StatusCode != 401 {
		t.Errorf("test webhook to a receiver with the wrong secret: %+v %v", tw, err)
	}
	if err := admin.DeleteWebhookEndpoint(ctx, ep2.WebhookID); err != nil {
		t.Fatal(err)
	}
	if err := admin.DeleteWebhookEndpoint(ctx, ep2.WebhookID); !errors.As(err, &apiErr) || apiErr.Status != 404 {
		t.Errorf("deleting twice: %v", err)
	}

	// Terminals.
	tm, err := admin.Terminal(ctx, f.terminal)
	if err != nil || tm.TerminalID != f.terminal || tm.StoreID == "" || tm.TerminalName != "Till 1" {
		t.Fatalf("Terminal: %+v %v", tm, err)
	}
	reg, err := admin.RegisterTerminal(ctx, tm.StoreID, fmt.Sprintf("%06d", 100000+terminalCodes.Add(1)%800000), "Till 2")
	if err != nil || reg.RegistrationStatus != "REGISTERED" {
		t.Fatalf("RegisterTerminal: %+v %v", reg, err)
	}
	all, err := admin.Terminals(ctx, "", 0)
	if err != nil || all.Total != 2 || len(all.Terminals) != 2 || all.Page != 1 {
		t.Errorf("Terminals: %+v %v", all, err)
	}
	if st, err := admin.Terminals(ctx, tm.StoreID, 1); err != nil || st.Total != 2 {
		t.Errorf("store Terminals: %+v %v", st, err)
	}
	if code, link, err := admin.TerminalRegistrationCode(ctx, tm.StoreID); err != nil || len(code) != 6 || !strings.Contains(link, code) {
		t.Errorf("TerminalRegistrationCode: %q %q %v", code, link, err)
	}

	// An order paid on the sandbox terminal, by the merchant's backend.
	sp := core.SagaPay()
	line := func(total int64) client.OrderRequest {
		return client.OrderRequest{TerminalID: f.terminal, ReferenceID: "sdk-ref-1",
			OrderLines:       []client.OrderLine{{ID: "1", Name: "Coffee", Quantity: 1, Amount: &client.Amount{Regular: total, Total: total, Currency: "752"}}},
			TotalOrderAmount: &client.Amount{Regular: total, Total: total, Currency: "752"}, Metadata: []byte(`{"table":"9"}`)}
	}
	oc, err := sp.CreateOrder(ctx, line(4500))
	if err != nil || oc.OrderID == "" || oc.PaymentID != "" {
		t.Fatalf("CreateOrder: %+v %v", oc, err)
	}
	if err := sp.UpdateOrder(ctx, oc.OrderID, line(3000)); err != nil {
		t.Fatalf("UpdateOrder: %v", err)
	}
	o, err := sp.GetOrder(ctx, oc.OrderID)
	if err != nil || o.OrderID != oc.OrderID || o.TerminalID != f.terminal || o.OrderStatus != "PENDING" || o.TotalOrderAmount.Total != 3000 ||
		o.ReferenceID != "sdk-ref-1" || string(o.Metadata) != `{"table":"9"}` || o.Date.IsZero() || len(o.Raw) == 0 || o.OrderLines[0].Amount.Total != 3000 {
		t.Fatalf("GetOrder: %+v %v", o, err)
	}
	pid, err := sp.InitiatePayment(ctx, client.PaymentRequest{OrderID: oc.OrderID, PaymentMethod: "CARD"})
	if err != nil || pid == "" {
		t.Fatalf("InitiatePayment: %v", err)
	}
	var ps client.PaymentStatus
	waitUntil(t, "the payment", func() bool {
		ps, err = sp.PaymentStatus(ctx, pid)
		return err == nil && ps.Done()
	})
	if ps.PaymentStatus != client.PaymentCompleted || ps.TransactionID == "" {
		t.Fatalf("payment: %+v", ps)
	}
	p, err := sp.GetPayment(ctx, pid)
	if err != nil || p.Amount != 3000 || p.CardBrand != "VISA" || p.TruncatedPan != "0010" || p.TransactionID != ps.TransactionID || p.OrderID != oc.OrderID {
		t.Errorf("GetPayment: %+v %v", p, err)
	}
	os, err := sp.OrderStatus(ctx, oc.OrderID)
	if err != nil || os.OrderStatus != "PAYMENT_COMPLETED" || len(os.Payments) != 1 || len(os.PaymentIDs) != 1 || len(os.Transactions) != 1 ||
		os.Transactions[0].Amount != 3000 || os.Transactions[0].Currency != "752" || os.Transactions[0].Timestamp.IsZero() {
		t.Errorf("OrderStatus: %+v %v", os, err)
	}
	for name, call := range map[string]func() (client.TransactionPage, error){
		"all":    func() (client.TransactionPage, error) { return sp.Transactions(ctx, client.TransactionQuery{}) },
		"order":  func() (client.TransactionPage, error) { return sp.OrderTransactions(ctx, oc.OrderID, 0) },
		"search": func() (client.TransactionPage, error) { return sp.SearchTransactions(ctx, "sdk-ref-1", 0) },
	} {
		tp, err := call()
		if err != nil || tp.Total != 1 || tp.Page != 1 || len(tp.Transactions) != 1 || tp.Transactions[0].TransactionID != ps.TransactionID {
			t.Errorf("%s transactions: %+v %v", name, tp, err)
		}
	}
	if link, err := sp.ReceiptLink(ctx, pid); err != nil || !strings.Contains(link, "/receipt/") {
		t.Errorf("ReceiptLink: %q %v", link, err)
	}
	if st, err := sp.CaptureStatus(ctx, pid); err != nil || st != "SUCCESS" {
		t.Errorf("CaptureStatus: %q %v", st, err)
	}

	// Delayed capture: the order starts its payment, which completes as
	// an authorization until captured.
	dc := line(2000)
	dc.ReferenceID = "sdk-ref-2"
	dc.ControlFunctions = &client.ControlFunctions{DelayCapture: true, InitiatePaymentsOptions: &client.PaymentOptions{PaymentMethod: "CARD"}}
	dco, err := sp.CreateOrder(ctx, dc)
	if err != nil || dco.PaymentID == "" {
		t.Fatalf("order with its payment: %+v %v", dco, err)
	}
	waitUntil(t, "the authorization", func() bool {
		st, err := sp.PaymentStatus(ctx, dco.PaymentID)
		return err == nil && st.PaymentStatus == client.PaymentCompleted
	})
	if st, err := sp.CaptureStatus(ctx, dco.PaymentID); err != nil || st != "PENDING" {
		t.Errorf("before capture: %q %v", st, err)
	}
	if err := sp.CapturePayment(ctx, dco.PaymentID, 0); err != nil {
		t.Fatalf("CapturePayment: %v", err)
	}
	if st, err := sp.CaptureStatus(ctx, dco.PaymentID); err != nil || st != "SUCCESS" {
		t.Errorf("after capture: %q %v", st, err)
	}
	if err := sp.CapturePayment(ctx, pid, 0); !errors.As(err, &apiErr) || apiErr.Status != 409 {
		t.Errorf("capturing a sale: %v", err)
	}

	// The flow's webhooks reached the SDK's handler, verified.
	var done []client.SagaPayWebhook
	waitUntil(t, "order.paymentcompleted", func() bool {
		done = hooks.find(func(w client.SagaPayWebhook, ev client.WebhookEvent) bool {
			return w.EventType == "order.paymentcompleted" && ev.OrderID == oc.OrderID && ev.PaymentStatus == client.PaymentCompleted
		})
		return len(done) == 1
	})
	deliveries, err := admin.WebhookDeliveries(ctx, oc.OrderID, 0)
	if err != nil || deliveries.Total == 0 || len(deliveries.Deliveries) != deliveries.Total {
		t.Fatalf("WebhookDeliveries: %+v %v", deliveries, err)
	}
	id := done[0].Metadata.WebhookEventID
	waitUntil(t, "the delivery logged as delivered", func() bool {
		d, err := admin.WebhookDelivery(ctx, id)
		return err == nil && d.State == "delivered" && len(d.AttemptLog) == 1 && d.AttemptLog[0].StatusCode == 200 && d.Target == ep.WebhookID
	})
	if err := core.RedeliverWebhook(ctx, id); err != nil {
		t.Fatalf("RedeliverWebhook: %v", err)
	}
	waitUntil(t, "the redelivered webhook", func() bool {
		return len(hooks.find(func(w client.SagaPayWebhook, _ client.WebhookEvent) bool { return w.Metadata.WebhookEventID == id })) == 2
	})

	// Reversing and cancelling.
	if st, err := sp.VoidPayment(ctx, pid); err != nil || st != "VOIDED" {
		t.Errorf("VoidPayment: %q %v", st, err)
	}
	if st, err := sp.CancelPayment(ctx, pid); err != nil || st != client.PaymentCompleted {
		t.Errorf("CancelPayment of a completed payment: %q %v", st, err)
	}
	if adj, err := sp.OrderAdjustments(ctx, oc.OrderID, "2020-01-01", "2099-12-31"); err != nil || len(adj) != 0 {
		t.Errorf("OrderAdjustments: %+v %v", adj, err)
	}

	// An end user's app, with tokens minted locally: its own orders, and
	// never the merchant's powers.
	app := &client.SagaPay{BaseURL: e.srv.URL, Tokens: client.NewCachedTokenSource(client.TokenSourceFunc(func(ctx context.Context) (client.Token, error) {
		tok, err := client.MintedSagaPayTokens(f.m.APISecret, f.m.Merchant.ID, "sdk-user", "", time.Hour).Token(ctx)
		e.remember(tok.Value)
		return tok, err
	}))}
	uo, err := app.CreateOrder(ctx, line(1200))
	if err != nil {
		t.Fatalf("user CreateOrder: %v", err)
	}
	if err := app.CancelOrder(ctx, uo.OrderID); err != nil {
		t.Fatalf("CancelOrder: %v", err)
	}
	if o, err := sp.GetOrder(ctx, uo.OrderID); err != nil || o.OrderStatus != "CANCELLED" {
		t.Errorf("cancelled order: %+v %v", o, err)
	}
	if _, err := app.GetOrder(ctx, oc.OrderID); !errors.As(err, &apiErr) || apiErr.Status != 404 {
		t.Errorf("a user reading the merchant's order: %v", err)
	}
	if _, err := app.VoidPayment(ctx, pid); !errors.As(err, &apiErr) || apiErr.Status != 403 {
		t.Errorf("a user voiding: %v", err)
	}
}
