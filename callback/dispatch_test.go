package callback_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/callback"
	"github.com/jetonhq/jeton/callback/sign"
	"github.com/jetonhq/jeton/credential"
	"github.com/jetonhq/jeton/sqlstore"
	"github.com/jetonhq/jeton/sqlstore/sqltest"
	"github.com/jetonhq/jeton/vault"
)

// fixture is a real SQLite store with one merchant whose callback URL is
// an httptest server answering with answer.
type fixture struct {
	db      *sqlstore.DB
	creds   *credential.Service
	cb      *callback.Service
	m       string
	secrets [][]byte
}

func setup(t *testing.T, answer http.HandlerFunc) *fixture {
	t.Helper()
	db := sqltest.SQLite(t, t.TempDir())
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	v, err := vault.New(key)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	ctx := context.Background()
	creds := credential.New(db, v, nil, log)
	if err := creds.Prime(ctx); err != nil {
		t.Fatal(err)
	}
	nm, err := creds.CreateMerchant(ctx, "dispatch test", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(answer)
	t.Cleanup(srv.Close)
	if err := db.SetCallbackURL(ctx, nm.Merchant.ID, srv.URL+"/cb"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.OpenWallet(ctx, nm.Merchant.ID, nil); err != nil {
		t.Fatal(err)
	}
	secrets, err := creds.CallbackSecrets(ctx, nm.Merchant.ID)
	if err != nil {
		t.Fatal(err)
	}
	cb := callback.New(db, creds, nil, log, nil)
	db.OnCallbacks(cb.Due)
	return &fixture{db: db, creds: creds, cb: cb, m: nm.Merchant.ID, secrets: secrets}
}

// store writes n trades, each with its status callback, as the engine does.
func (f *fixture) store(t *testing.T, from, n int) []string {
	t.Helper()
	var ids []string
	for i := from; i < from+n; i++ {
		now := time.Now().UTC().Truncate(time.Microsecond)
		tr := jeton.Trade{ID: fmt.Sprintf("trade-%04d", i), MerchantID: f.m, Type: jeton.Deposit, Source: jeton.SourceClient,
			Status: jeton.StatusInitiated, Game: "730", ClientSteamID: fmt.Sprint(76561198000000000 + i), CreatedAt: now, UpdatedAt: now}
		c, err := callback.Status(tr, now)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.CreateTrade(context.Background(), f.m, tr.ClientSteamID, false, func(jeton.UserHistory, jeton.Wallet) (jeton.TradeChange, error) {
			return jeton.TradeChange{Trade: tr, Event: tr.Status, Callbacks: []jeton.Callback{c}}, nil
		}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.DeliveryID)
	}
	return ids
}

// run starts the dispatcher; the returned func stops it and flushes the
// recorded attempts.
func (f *fixture) run() func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.cb.Run(ctx) }()
	return func() { cancel(); <-done; f.cb.Close() }
}

func waitFor(t *testing.T, what string, within time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDispatchDeliversEachOnce stores 300 callbacks, some before the
// dispatcher starts and some while it runs, against a slow merchant,
// and checks: each delivery id arrives once, signed, with the body
// stored; no more than Workers calls are in flight; every callback ends
// delivered with one recorded attempt.
func TestDispatchDeliversEachOnce(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	var inflight, peak atomic.Int64
	var f *fixture
	f = setup(t, func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		body, _ := io.ReadAll(r.Body)
		d, err := sign.VerifyHeader(r.Header.Get(sign.AssetPayHeader), body, f.secrets, time.Now(), time.Minute)
		if err != nil {
			t.Errorf("bad signature: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
		mu.Lock()
		seen[d.ID]++
		mu.Unlock()
	})
	f.cb.Workers = 8
	ids := f.store(t, 0, 150)
	stop := f.run()
	ids = append(ids, f.store(t, 150, 150)...)
	waitFor(t, "every callback delivered", 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == len(ids)
	})
	stop()
	if p := peak.Load(); p > 8 {
		t.Errorf("%d calls in flight at once, want at most Workers (8)", p)
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("%s received %d times", id, seen[id])
		}
		c, err := f.db.Callback(context.Background(), f.m, id)
		if err != nil || c.State != jeton.CallbackDelivered || c.Attempts != 1 || c.NextAt != nil {
			t.Fatalf("%s after delivery: %+v, %v", id, c, err)
		}
		as, err := f.db.CallbackAttempts(context.Background(), f.m, id)
		if err != nil || len(as) != 1 || as[0].Outcome != "delivered" || as[0].StatusCode != 200 {
			t.Fatalf("%s attempts: %+v, %v", id, as, err)
		}
	}
}

// TestDispatchSchedulesRetry: a merchant answering 500 leaves the
// callback pending, its failed attempt recorded and the next one due
// after the first wait of the schedule.
func TestDispatchSchedulesRetry(t *testing.T) {
	var calls atomic.Int64
	f := setup(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	})
	ids := f.store(t, 0, 3)
	stop := f.run()
	waitFor(t, "three recorded attempts", 10*time.Second, func() bool {
		n := 0
		for _, id := range ids {
			as, _ := f.db.CallbackAttempts(context.Background(), f.m, id)
			n += len(as)
		}
		return n == 3
	})
	stop()
	if n := calls.Load(); n != 3 {
		t.Errorf("%d calls, want 3 (one each; the retries are %v away)", n, callback.RetryAfter(1))
	}
	for _, id := range ids {
		c, err := f.db.Callback(context.Background(), f.m, id)
		if err != nil || c.State != jeton.CallbackPending || c.Attempts != 1 || c.NextAt == nil || c.LastAt == nil {
			t.Fatalf("after a failed attempt: %+v, %v", c, err)
		}
		if wait := c.NextAt.Sub(*c.LastAt); wait < callback.RetryAfter(1)-time.Second || wait > callback.RetryAfter(1)+time.Second {
			t.Errorf("next attempt %v after the failed one, want about %v", wait, callback.RetryAfter(1))
		}
		as, _ := f.db.CallbackAttempts(context.Background(), f.m, id)
		if as[0].Outcome != "failed" || as[0].Error != "HTTP 500" || as[0].Attempt != 1 {
			t.Errorf("attempt: %+v", as[0])
		}
	}
}
