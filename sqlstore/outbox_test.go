package sqlstore_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jetonhq/jeton"
)

// TestCallbackOutbox walks stored callbacks through claims, leases,
// retries, stale answers, redelivery and batched records on both
// backends.
func TestCallbackOutbox(t *testing.T) {
	for name, open := range bothStores() {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			ctx := testCtx(t)
			// The claims below run at "now" and later; a callback is due
			// from when it is stored (real time), so "now" is set a little
			// ahead of every store in this test.
			now := time.Now().UTC().Truncate(time.Microsecond).Add(2 * time.Second)
			m := walletMerchant(t, ctx, db, "outbox", now)
			kicks := 0
			var told []string
			db.OnCallbacks(func(ids []string) { kicks++; told = ids })
			// A trade far in the sandbox's future still makes its callback
			// due at once: due times are the delivery clock's, not the
			// trade's.
			future := now.Add(30 * 24 * time.Hour)
			store := func(i int) string {
				t.Helper()
				tr := jeton.Trade{ID: fmt.Sprintf("t-%03d", i), MerchantID: m.ID, Type: jeton.Deposit, Source: jeton.SourceClient,
					Status: jeton.StatusInitiated, Game: "730", ClientSteamID: fmt.Sprint(76561198000000000 + i), CreatedAt: future, UpdatedAt: future}
				c := jeton.Callback{DeliveryID: fmt.Sprintf("d-%03d", i), MerchantID: m.ID, TradeID: tr.ID, Kind: jeton.CallbackStatus,
					Event: "INITIATED", Body: []byte(`{"id":"` + tr.ID + `"}`), CreatedAt: future, State: jeton.CallbackPending, MaxAttempts: 3}
				if _, err := db.CreateTrade(ctx, m.ID, tr.ClientSteamID, true, func(jeton.UserHistory, jeton.Wallet) (jeton.TradeChange, error) {
					return jeton.TradeChange{Trade: tr, Event: tr.Status, Callbacks: []jeton.Callback{c}}, nil
				}); err != nil {
					t.Fatal(err)
				}
				return c.DeliveryID
			}
			claim := func(at time.Time, limit int) []jeton.Callback {
				t.Helper()
				cs, err := db.ClaimCallbacks(ctx, at, at.Add(20*time.Second), limit)
				if err != nil {
					t.Fatal(err)
				}
				return cs
			}
			record := func(rs ...jeton.CallbackResult) {
				t.Helper()
				if err := db.RecordAttempts(ctx, rs); err != nil {
					t.Fatal(err)
				}
			}
			result := func(c jeton.Callback, attempt int, state string, at, next time.Time) jeton.CallbackResult {
				return jeton.CallbackResult{State: state, NextAt: next, Attempt: jeton.CallbackAttempt{DeliveryID: c.DeliveryID, MerchantID: m.ID,
					TradeID: c.TradeID, Kind: jeton.CallbackStatus, Event: c.Event, Attempt: attempt, URL: "http://shop.test/cb",
					StatusCode: 500, Outcome: "failed", At: at}}
			}

			id := store(0)
			if kicks != 1 || len(told) != 1 || told[0] != id {
				t.Fatalf("OnCallbacks called %d times after one change, with %v; want once with [%s]", kicks, told, id)
			}
			cs := claim(now, 10)
			if len(cs) != 1 || cs[0].DeliveryID != id || cs[0].Attempts != 1 || cs[0].MaxAttempts != 3 || string(cs[0].Body) != `{"id":"t-000"}` {
				t.Fatalf("first claim = %+v", cs)
			}
			if again := claim(now, 10); len(again) != 0 {
				t.Fatalf("a leased callback was claimed again: %+v", again)
			}
			// Attempt 1 fails; the retry is due a second later.
			record(result(cs[0], 1, jeton.CallbackPending, now, now.Add(time.Second)))
			if early := claim(now.Add(500*time.Millisecond), 10); len(early) != 0 {
				t.Fatalf("claimed before its retry was due: %+v", early)
			}
			cs = claim(now.Add(2*time.Second), 10)
			if len(cs) != 1 || cs[0].Attempts != 2 {
				t.Fatalf("retry claim = %+v", cs)
			}
			// A late answer to attempt 1 (its lease ran out) must not
			// touch the callback attempt 2 now holds.
			record(result(cs[0], 1, jeton.CallbackDelivered, now.Add(3*time.Second), time.Time{}))
			c, err := db.Callback(ctx, m.ID, id)
			if err != nil || c.State != jeton.CallbackPending || c.NextAt == nil {
				t.Fatalf("after a stale answer: %+v, %v", c, err)
			}
			if err := db.Redeliver(ctx, m.ID, id, now, 3); jeton.ErrorKey(err) != jeton.KeyDeliveryPending {
				t.Fatalf("redeliver while pending: %v", err)
			}
			ok := result(cs[0], 2, jeton.CallbackDelivered, now.Add(4*time.Second), time.Time{})
			ok.Attempt.StatusCode, ok.Attempt.Outcome = 200, "delivered"
			record(ok)
			c, err = db.Callback(ctx, m.ID, id)
			if err != nil || c.State != jeton.CallbackDelivered || c.NextAt != nil || c.LastAt == nil || !c.LastAt.Equal(now.Add(4*time.Second)) || c.Attempts != 2 {
				t.Fatalf("after delivery: %+v, %v", c, err)
			}
			as, err := db.CallbackAttempts(ctx, m.ID, id)
			if err != nil || len(as) != 3 {
				t.Fatalf("attempt log: %d entries (%v), want 3 (every answer is logged)", len(as), err)
			}
			if cs := claim(now.Add(time.Hour), 10); len(cs) != 0 {
				t.Fatalf("a delivered callback was claimed: %+v", cs)
			}

			// Redelivery makes it due with a fresh budget; running out of
			// it leaves the callback failed.
			kicks = 0
			if err := db.Redeliver(ctx, m.ID, id, now.Add(5*time.Second), 1); err != nil {
				t.Fatal(err)
			}
			if kicks != 1 || len(told) != 1 || told[0] != id {
				t.Fatalf("redelivery did not call OnCallbacks with its id: %d, %v", kicks, told)
			}
			cs = claim(now.Add(5*time.Second), 10)
			if len(cs) != 1 || cs[0].Attempts != 3 || cs[0].MaxAttempts != 3 {
				t.Fatalf("redelivery claim = %+v", cs)
			}
			record(result(cs[0], 3, jeton.CallbackFailed, now.Add(6*time.Second), time.Time{}))
			if c, _ := db.Callback(ctx, m.ID, id); c.State != jeton.CallbackFailed || c.NextAt != nil {
				t.Fatalf("after the last attempt: %+v", c)
			}
			if err := db.Redeliver(ctx, m.ID, "d-none", now, 1); jeton.ErrorKey(err) != jeton.KeyDeliveryNotFound {
				t.Fatalf("redeliver unknown: %v", err)
			}

			// Claims by id take the named callbacks that are due, once
			// per lease, and nothing else.
			a, b, other := store(100), store(101), store(102)
			byID := func(at time.Time, ids ...string) []string {
				t.Helper()
				cs, err := db.ClaimCallbacksByID(ctx, ids, at, at.Add(20*time.Second))
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, c := range cs {
					if c.Attempts != 1 || c.State != jeton.CallbackPending || len(c.Body) == 0 {
						t.Errorf("claimed by id: %+v", c)
					}
					got = append(got, c.DeliveryID)
				}
				slices.Sort(got)
				return got
			}
			if got := byID(now, a, b, "d-none", id); !slices.Equal(got, []string{a, b}) {
				t.Fatalf("claim by id = %v, want [%s %s]", got, a, b)
			}
			if got := byID(now, a, b); len(got) != 0 {
				t.Fatalf("leased callbacks claimed by id again: %v", got)
			}
			if cs := claim(now, 10); len(cs) != 1 || cs[0].DeliveryID != other {
				t.Fatalf("a scan after claims by id = %+v, want only %s", cs, other)
			}
			for _, c := range []string{a, b, other} {
				r := result(jeton.Callback{DeliveryID: c, Event: "INITIATED"}, 1, jeton.CallbackDelivered, now, time.Time{})
				r.Attempt.Outcome = "delivered"
				record(r)
			}

			// 70 callbacks: claims honour the limit, and one record of 70
			// results (split into power-of-two statements) settles them.
			for i := 1; i <= 70; i++ {
				store(i)
			}
			at := now.Add(10 * time.Second)
			first := claim(at, 50)
			rest := claim(at, 50)
			if len(first) != 50 || len(rest) != 20 {
				t.Fatalf("claims of 50: got %d and %d, want 50 and 20", len(first), len(rest))
			}
			var rs []jeton.CallbackResult
			for _, c := range append(first, rest...) {
				r := result(c, 1, jeton.CallbackDelivered, at, time.Time{})
				r.Attempt.Outcome = "delivered"
				rs = append(rs, r)
			}
			// An approval attempt in the same batch is logged without a
			// callback row.
			rs = append(rs, jeton.CallbackResult{Attempt: jeton.CallbackAttempt{DeliveryID: "approval-1", MerchantID: m.ID, TradeID: "t-w",
				Kind: jeton.CallbackApproval, Event: "INITIATED", Attempt: 1, Outcome: "approved", At: at}})
			record(rs...)
			list, total, err := db.Callbacks(ctx, m.ID, "", 100, 0)
			if err != nil || total != 74 {
				t.Fatalf("callbacks: %d (%v)", total, err)
			}
			for _, c := range list {
				if c.DeliveryID != id && (c.State != jeton.CallbackDelivered || c.NextAt != nil || c.Attempts != 1) {
					t.Fatalf("after the batch: %+v", c)
				}
			}
			if as, err := db.CallbackAttempts(ctx, m.ID, "approval-1"); err != nil || len(as) != 1 {
				t.Fatalf("approval attempt: %+v, %v", as, err)
			}
		})
	}
}
