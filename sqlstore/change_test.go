package sqlstore_test

import (
	"testing"
	"time"

	"github.com/jetonhq/jeton"
)

// TestTradeChangeAtomic: a trade change is written whole or not at all,
// on both stores (on PostgreSQL it is one statement, see pgwrite.go). A
// guarded debit the wallet cannot cover writes nothing; a change decided
// from a stale copy is decided again and written once; a change that
// lands writes its trade, event, posting, entries, wallet move, callback
// and approval attempt together.
func TestTradeChangeAtomic(t *testing.T) {
	for name, open := range bothStores() {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			ctx := testCtx(t)
			now := time.Now().UTC().Truncate(time.Microsecond)
			m := jeton.Merchant{ID: "m-atomic", PartnerID: "p", Name: "atomic", MaxTokenLifetime: time.Hour, CreatedAt: now}
			if err := db.CreateMerchant(ctx, jeton.NewMerchant{Merchant: m,
				Key:    jeton.APIKey{ID: "k-atomic", MerchantID: m.ID, Hash: []byte("hash-atomic"), Prefix: "ap_", Scopes: []jeton.Scope{jeton.ScopeCoreAccess}, CreatedAt: now},
				Secret: jeton.Secret{ID: "s-atomic", MerchantID: m.ID, Sealed: []byte{9}, CreatedAt: now}}); err != nil {
				t.Fatal(err)
			}
			opening := jeton.Posting{ID: "p-open", MerchantID: m.ID, Type: jeton.PostOpening, Memo: "opening", CreatedAt: now,
				Entries: []jeton.Entry{{Account: jeton.AccountAvailable, Amount: 1000}, {Account: jeton.AccountFunding, Amount: -1000}}}
			if _, err := db.OpenWallet(ctx, m.ID, &opening); err != nil {
				t.Fatal(err)
			}

			create := func(id string, price jeton.USD) jeton.Trade {
				t.Helper()
				tr := jeton.Trade{ID: id, MerchantID: m.ID, Type: jeton.Withdraw, Source: jeton.SourceClient, Status: jeton.StatusInitiated,
					Game: "730", ClientSteamID: "76561198000000001", TotalPrice: price, CreatedAt: now, UpdatedAt: now}
				got, err := db.CreateTrade(ctx, m.ID, tr.ClientSteamID, false, func(_ jeton.UserHistory, w jeton.Wallet) (jeton.TradeChange, error) {
					if w.Available != 1000 {
						t.Errorf("wallet read at create: %d", w.Available)
					}
					return jeton.TradeChange{Trade: tr, Event: tr.Status}, nil
				})
				if err != nil {
					t.Fatal(err)
				}
				return got
			}
			// approve debits the wallet with a guard, as an approval does.
			approve := func(tag string) func(jeton.Trade) (*jeton.TradeChange, error) {
				return func(t jeton.Trade) (*jeton.TradeChange, error) {
					at := now.Add(time.Second)
					if err := t.Move(jeton.StatusPending, at); err != nil {
						return nil, err
					}
					return &jeton.TradeChange{Trade: t, Event: t.Status,
						Postings: []jeton.Posting{{ID: "p-" + tag, MerchantID: m.ID, TradeID: t.ID, Type: jeton.PostWithdrawal, Guard: true, Memo: "locked", CreatedAt: at,
							Entries: []jeton.Entry{{Account: jeton.AccountAvailable, Amount: -t.TotalPrice}, {Account: jeton.AccountPending, Amount: t.TotalPrice}}}},
						Callbacks: []jeton.Callback{{DeliveryID: "d-" + tag, MerchantID: m.ID, TradeID: t.ID, Kind: "status", Event: "PENDING",
							Body: []byte(`{"id":"` + t.ID + `"}`), CreatedAt: at, MaxAttempts: 15}},
						Attempts: []jeton.CallbackAttempt{{DeliveryID: "a-" + tag, MerchantID: m.ID, TradeID: t.ID, Kind: "approval", Event: "INITIATED",
							Attempt: 1, URL: "http://127.0.0.1/cb", StatusCode: 200, Latency: time.Millisecond, Outcome: "approved", At: at}},
					}, nil
				}
			}
			nothingFrom := func(tr jeton.Trade, tag string, version int) {
				t.Helper()
				got, err := db.TradeAny(ctx, tr.ID)
				if err != nil || got.Status != jeton.StatusInitiated || got.Version != version {
					t.Errorf("trade after a refused change: %s v%d, %v", got.Status, got.Version, err)
				}
				if evs, _ := db.TradeEvents(ctx, tr.ID); len(evs) != 1 {
					t.Errorf("events after a refused change: %+v", evs)
				}
				if _, err := db.Posting(ctx, m.ID, "p-"+tag); jeton.ErrorKey(err) != jeton.KeyNotFound {
					t.Errorf("posting of a refused change: %v", err)
				}
				if cbs, _, _ := db.Callbacks(ctx, m.ID, tr.ID, 10, 0); len(cbs) != 0 {
					t.Errorf("callbacks of a refused change: %+v", cbs)
				}
				if as, _ := db.CallbackAttempts(ctx, m.ID, "a-"+tag); len(as) != 0 {
					t.Errorf("attempts of a refused change: %+v", as)
				}
			}

			// Too dear: the guard refuses and nothing is written.
			dear := create("t-dear", 1500)
			change := approve("dear")
			if _, err := db.UpdateTrade(ctx, dear, change); jeton.ErrorKey(err) != jeton.KeyBalanceLow {
				t.Fatalf("debit beyond the balance: %v", err)
			}
			nothingFrom(dear, "dear", 1)

			// A stale copy is decided again even when its debit could not
			// be covered: the guard speaks only for the trade as it is.
			staleDear, err := db.UpdateTrade(ctx, jeton.Trade{ID: dear.ID}, func(t jeton.Trade) (*jeton.TradeChange, error) {
				t.ApprovalAttempts = 2
				return &jeton.TradeChange{Trade: t}, nil
			})
			if err != nil || staleDear.Version != 2 {
				t.Fatalf("moving the dear trade on: v%d, %v", staleDear.Version, err)
			}
			var versions []int
			if _, err := db.UpdateTrade(ctx, dear, func(t jeton.Trade) (*jeton.TradeChange, error) {
				versions = append(versions, t.Version)
				if t.ApprovalAttempts == 2 {
					return nil, nil // the fresh trade needs nothing
				}
				return change(t)
			}); err != nil || len(versions) != 2 || versions[0] != 1 || versions[1] != 2 {
				t.Fatalf("stale copy with a debit beyond the balance: decided from %v, %v", versions, err)
			}
			nothingFrom(dear, "dear", 2)

			// Affordable, from a stale copy: decided again, written once.
			ok := create("t-ok", 400)
			if _, err := db.UpdateTrade(ctx, jeton.Trade{ID: ok.ID}, func(t jeton.Trade) (*jeton.TradeChange, error) {
				t.ApprovalAttempts = 1
				return &jeton.TradeChange{Trade: t}, nil
			}); err != nil {
				t.Fatal(err)
			}
			runs := 0
			change = approve("ok")
			got, err := db.UpdateTrade(ctx, ok, func(t jeton.Trade) (*jeton.TradeChange, error) { runs++; return change(t) })
			if err != nil {
				t.Fatal(err)
			}
			if runs != 2 || got.Version != 3 || got.Status != jeton.StatusPending || got.ApprovalAttempts != 1 {
				t.Fatalf("approved from a stale copy: %d runs, v%d %s attempts %d", runs, got.Version, got.Status, got.ApprovalAttempts)
			}
			w, err := db.Wallet(ctx, m.ID)
			if err != nil || w.Available != 600 || w.Pending != 400 {
				t.Fatalf("wallet after the debit: %+v, %v", w, err)
			}
			sums, err := db.LedgerSums(ctx, m.ID)
			if err != nil || sums[jeton.AccountAvailable] != 600 || sums[jeton.AccountPending] != 400 || sums[jeton.AccountFunding] != -1000 {
				t.Fatalf("ledger after the debit: %v, %v", sums, err)
			}
			if evs, _ := db.TradeEvents(ctx, ok.ID); len(evs) != 2 || evs[1].Status != jeton.StatusPending || evs[1].Seq != 3 {
				t.Fatalf("events: %+v", evs)
			}
			cbs, _, err := db.Callbacks(ctx, m.ID, ok.ID, 10, 0)
			if err != nil || len(cbs) != 1 || cbs[0].DeliveryID != "d-ok" || cbs[0].State != jeton.CallbackPending || cbs[0].NextAt == nil {
				t.Fatalf("callbacks: %+v, %v", cbs, err)
			}
			as, err := db.CallbackAttempts(ctx, m.ID, "a-ok")
			if err != nil || len(as) != 1 || as[0].Outcome != "approved" || as[0].Latency != time.Millisecond {
				t.Fatalf("attempts: %+v, %v", as, err)
			}
			// The same change again finds the trade moved on: the guard
			// never sees it, and nothing more is debited.
			if _, err := db.UpdateTrade(ctx, got, func(t jeton.Trade) (*jeton.TradeChange, error) {
				if t.Status != jeton.StatusInitiated {
					return nil, nil
				}
				return change(t)
			}); err != nil {
				t.Fatal(err)
			}
			if w, _ := db.Wallet(ctx, m.ID); w.Available != 600 {
				t.Fatalf("wallet after a repeated approval: %+v", w)
			}

			// A duplicate externalId is refused with its key and writes nothing.
			ext := "order-1"
			for i, id := range []string{"t-ext1", "t-ext2"} {
				tr := jeton.Trade{ID: id, MerchantID: m.ID, Type: jeton.Withdraw, Source: jeton.SourceClient, Status: jeton.StatusInitiated,
					Game: "730", ClientSteamID: "76561198000000001", ExternalID: &ext, CreatedAt: now, UpdatedAt: now}
				_, err := db.CreateTrade(ctx, m.ID, tr.ClientSteamID, false, func(jeton.UserHistory, jeton.Wallet) (jeton.TradeChange, error) {
					return jeton.TradeChange{Trade: tr, Event: tr.Status}, nil
				})
				if i == 1 && jeton.ErrorKey(err) != jeton.KeyExternalIDExists || i == 0 && err != nil {
					t.Fatalf("trade %d with externalId: %v", i, err)
				}
			}
			if evs, _ := db.TradeEvents(ctx, "t-ext2"); len(evs) != 0 {
				t.Fatalf("events of a refused trade: %+v", evs)
			}
			if got, err := db.TradeByExternalID(ctx, m.ID, ext); err != nil || got.ID != "t-ext1" {
				t.Fatalf("by externalId: %s, %v", got.ID, err)
			}
			if _, err := db.TradeByExternalID(ctx, m.ID, "t-ext1"); jeton.ErrorKey(err) != jeton.KeyTradeNotFound {
				t.Fatalf("an id is not an externalId: %v", err)
			}
			if _, err := db.TradeByExternalID(ctx, "m-other", ext); jeton.ErrorKey(err) != jeton.KeyTradeNotFound {
				t.Fatalf("another merchant's externalId: %v", err)
			}
		})
	}
}
