package sqlstore_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jetonhq/jeton"
)

// TestUpdateTradeStale: UpdateTrade decides from the caller's copy, and
// when the trade has moved on since, decides again from what is stored,
// never writing over a change it did not see. Events keep unique,
// ordered seqs without reading the last one. Many concurrent updates of
// one trade all land, each exactly once.
func TestUpdateTradeStale(t *testing.T) {
	for name, open := range bothStores() {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			ctx := testCtx(t)
			now := time.Now().UTC().Truncate(time.Microsecond)
			m := walletMerchant(t, ctx, db, "stale", now)
			tr := jeton.Trade{ID: "t-stale", MerchantID: m.ID, Type: jeton.Withdraw, Source: jeton.SourceClient,
				Status: jeton.StatusInitiated, Game: "730", ClientSteamID: "76561198000000001", CreatedAt: now, UpdatedAt: now}
			v1, err := db.CreateTrade(ctx, m.ID, tr.ClientSteamID, false, func(jeton.UserHistory, jeton.Wallet) (jeton.TradeChange, error) {
				return jeton.TradeChange{Trade: tr, Event: tr.Status}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			// Someone else moves the trade on (from an id only: the store reads it).
			v2, err := db.UpdateTrade(ctx, jeton.Trade{ID: tr.ID}, func(t jeton.Trade) (*jeton.TradeChange, error) {
				t.ApprovalAttempts = 1
				return &jeton.TradeChange{Trade: t}, nil
			})
			if err != nil || v2.Version != 2 {
				t.Fatalf("second writer: version %d, %v", v2.Version, err)
			}
			// A caller still holding version 1 decides twice: from its copy,
			// then from the stored trade, whose change it keeps.
			var seen []int
			v3, err := db.UpdateTrade(ctx, v1, func(t jeton.Trade) (*jeton.TradeChange, error) {
				seen = append(seen, t.Version)
				if err := t.Move(jeton.StatusPending, t.UpdatedAt.Add(time.Second)); err != nil {
					return nil, err
				}
				return &jeton.TradeChange{Trade: t, Event: t.Status}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(seen) != 2 || seen[0] != 1 || seen[1] != 2 {
				t.Fatalf("change saw versions %v, want [1 2]", seen)
			}
			if v3.Version != 3 || v3.Status != jeton.StatusPending || v3.ApprovalAttempts != 1 {
				t.Fatalf("after the stale update: version %d, status %s, attempts %d", v3.Version, v3.Status, v3.ApprovalAttempts)
			}
			// A decision of "no change" writes nothing.
			same, err := db.UpdateTrade(ctx, v3, func(jeton.Trade) (*jeton.TradeChange, error) { return nil, nil })
			if err != nil || same.Version != 3 {
				t.Fatalf("no-op update: version %d, %v", same.Version, err)
			}
			// Concurrent updates from the same stale copy: each lands once.
			const n = 24
			var wg sync.WaitGroup
			var runs atomic.Int64
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := db.UpdateTrade(ctx, v3, func(t jeton.Trade) (*jeton.TradeChange, error) {
						runs.Add(1)
						t.ApprovalAttempts++
						return &jeton.TradeChange{Trade: t}, nil
					}); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			got, err := db.TradeAny(ctx, tr.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.ApprovalAttempts != 1+n || got.Version != 3+n {
				t.Fatalf("after %d concurrent updates: attempts %d (want %d), version %d (want %d); change ran %d times",
					n, got.ApprovalAttempts, 1+n, got.Version, 3+n, runs.Load())
			}
			evs, err := db.TradeEvents(ctx, tr.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 2 || evs[0].Status != jeton.StatusInitiated || evs[1].Status != jeton.StatusPending || evs[0].Seq >= evs[1].Seq {
				t.Fatalf("events %+v", evs)
			}
		})
	}
}
