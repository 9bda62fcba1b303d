package sqlstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/sqlstore/sqltest"
)

// TestGroupCommitIsolation runs many trade creations at once on SQLite,
// where they share commits: some collide on an externalId, some fail in
// their decision, one comes with a cancelled context. Each must get its
// own outcome, and exactly the successful ones must be stored, with
// their callbacks.
func TestGroupCommitIsolation(t *testing.T) {
	db := sqltest.SQLite(t, t.TempDir())
	ctx := testCtx(t)
	now := time.Now().UTC().Truncate(time.Microsecond)
	m := walletMerchant(t, ctx, db, "group", now)
	refused := fmt.Errorf("refused by decide")
	create := func(ctx context.Context, i int, ext string, fail bool) error {
		tr := jeton.Trade{ID: fmt.Sprintf("g-%03d", i), MerchantID: m.ID, Type: jeton.Deposit, Source: jeton.SourceClient,
			Status: jeton.StatusInitiated, Game: "730", ClientSteamID: fmt.Sprint(76561198000000000 + i), CreatedAt: now, UpdatedAt: now}
		if ext != "" {
			tr.ExternalID = &ext
		}
		c := jeton.Callback{DeliveryID: "cb-" + tr.ID, MerchantID: m.ID, TradeID: tr.ID, Kind: jeton.CallbackStatus,
			Event: "INITIATED", Body: []byte(`{}`), CreatedAt: now, State: jeton.CallbackPending, MaxAttempts: 15}
		_, err := db.CreateTrade(ctx, m.ID, tr.ClientSteamID, true, func(jeton.UserHistory, jeton.Wallet) (jeton.TradeChange, error) {
			if fail {
				return jeton.TradeChange{}, refused
			}
			return jeton.TradeChange{Trade: tr, Event: tr.Status, Callbacks: []jeton.Callback{c}}, nil
		})
		return err
	}
	const n = 120
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ext := fmt.Sprintf("ext-%d", i)
			if i%3 == 0 {
				ext = "shared" // one of these wins
			}
			errs[i] = create(ctx, i, ext, i%10 == 7)
		}()
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	cerr := create(cancelled, n, "", false)
	wg.Wait()

	if cerr == nil {
		t.Errorf("a trade created under a cancelled context reported success")
	}
	won := 0
	for i, err := range errs {
		switch {
		case i%10 == 7:
			if err != refused {
				t.Errorf("trade %d: err %v, want the decision's own error", i, err)
			}
		case i%3 == 0 && err == nil:
			won++
		case i%3 == 0:
			if jeton.ErrorKey(err) != jeton.KeyExternalIDExists {
				t.Errorf("trade %d: err %v, want EXTERNAL_ID_EXISTS", i, err)
			}
		case err != nil:
			t.Errorf("trade %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Errorf("%d trades won the shared externalId, want 1", won)
	}
	for i := 0; i <= n; i++ {
		id := fmt.Sprintf("g-%03d", i)
		_, err := db.Trade(ctx, m.ID, id)
		stored := err == nil
		want := i < n && errs[i] == nil
		if stored != want {
			t.Errorf("trade %s: stored %v, want %v (create err %v)", id, stored, want, err)
		}
		_, cerr := db.Callback(ctx, m.ID, "cb-"+id)
		if (cerr == nil) != want {
			t.Errorf("callback of %s: stored %v, want %v", id, cerr == nil, want)
		}
	}
}
