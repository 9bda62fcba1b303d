package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/callback"
	"github.com/jetonhq/jeton/sqlstore"
	"github.com/jetonhq/jeton/sqlstore/storetest"
	"github.com/jetonhq/jeton/trading"
	"github.com/jetonhq/jeton/vault"
)

// Resilience tests: callbacks to a merchant that fails and stalls, and
// two instances working one PostgreSQL database.

// --- databases and instances ----------------------------------------------

// dbSpec names one fresh database that several store handles may open.
type dbSpec struct {
	backend string
	url     string // PostgreSQL: a schema of its own
	dir     string // SQLite
}

func newDBSpec(t *testing.T, backend string) dbSpec {
	t.Helper()
	if backend == "postgres" {
		return dbSpec{backend: backend, url: storetest.PostgresURL(t)}
	}
	return dbSpec{backend: "sqlite", dir: t.TempDir()}
}

// open opens and migrates a new handle on the database; the instance
// using it closes it.
func (s dbSpec) open(t *testing.T) *sqlstore.DB {
	t.Helper()
	ctx := context.Background()
	var db *sqlstore.DB
	var err error
	if s.backend == "postgres" {
		db, err = sqlstore.OpenPostgres(ctx, s.url)
	} else {
		db, err = sqlstore.OpenSQLite(s.dir)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		t.Fatal(err)
	}
	return db
}

// raw opens a plain connection to the database, for what the store has no
// method for (every attempt of every kind).
func (s dbSpec) raw(t *testing.T) *sql.DB {
	t.Helper()
	var db *sql.DB
	var err error
	if s.backend == "postgres" {
		db, err = sql.Open("pgx", s.url)
	} else {
		db, err = sql.Open("sqlite", "file:"+filepath.Join(s.dir, sqlstore.SQLiteFile)+"?mode=ro&_pragma=busy_timeout(10000)")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// newLiveClock runs with real time.
func newLiveClock() *clock {
	return &clock{t: time.Now().UTC(), start: time.Now()}
}

func newTestVault(t *testing.T) *vault.Vault {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	v, err := vault.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// startInstance wires an app over db as newEnvWith does, lets tune adjust
// it before anything runs, serves it and runs it until the test ends.
func startInstance(t *testing.T, spec dbSpec, db *sqlstore.DB, v *vault.Vault, clk *clock, cfg appConfig) *env {
	t.Helper()
	e := &env{t: t, clock: clk, logs: &syncBuffer{}, backend: spec.backend, dataDir: spec.dir}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.Now, cfg.AccessLog, cfg.Log = clk.Now, os.Getenv("JETON_BENCH_NOLOG") == "", log
	a, err := newApp(context.Background(), db, v, cfg)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	e.app = a
	e.srv = httptest.NewServer(a.server)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		e.srv.Close()
		a.close()
		e.checkNoSecrets()
	})
	return e
}

// instanceHeader names, on every call to a merchant, the instance that
// made it.
const instanceHeader = "X-Test-Instance"

type tagTransport struct {
	name string
	next http.RoundTripper
}

func (tt tagTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(instanceHeader, tt.name)
	return tt.next.RoundTrip(r)
}

// tagged returns a callback client that names the instance in every call.
func tagged(name string) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	return &http.Client{Transport: tagTransport{name: name, next: tr}}
}

// --- a merchant backend that fails and stalls ----------------------------

// Answers of the merchant backend.
const (
	answerOK   = "200"
	answer500  = "500"
	answerHang = "hang" // processed, but answered after jeton gave up
)

// seenDelivery is what the backend saw of one status callback's delivery id.
type seenDelivery struct {
	trade, event string
	body         [32]byte // the signed body: the same on every retry
	answers      []string
	instances    []string
	applied      bool
}

// approvalCall is one approval call the backend saw.
type approvalCall struct {
	delivery, answer, instance string
}

// flakyShop is a merchant backend over real HTTP: it verifies every
// signature, keeps a ledger of what its users gained (credits minus
// debits), applies each status callback once by its delivery id, and
// answers a share of calls 500 or leaves them hanging.
type flakyShop struct {
	t       testing.TB
	secret  []byte
	srv     *httptest.Server
	fail500 float64       // share of calls answered 500
	hang    float64       // share of calls left hanging
	maxFail int           // failed answers per status delivery before it is let through (0: no cap)
	timeout time.Duration // jeton's timeout: a hang ends when jeton gives up, or half a second after this

	mu         sync.Mutex
	rng        *mrand.Rand
	pings      int
	deliveries map[string]*seenDelivery   // status callbacks by delivery id
	approvals  map[string][]*approvalCall // approval calls by trade id
	approvalID map[string]bool
	approving  map[string]int  // approval calls in flight, by trade id
	debited    map[string]bool // withdrawals the shop took the money for
	net        jeton.USD       // credits minus debits of the shop's users
	answered   map[string]int  // answers given, by answer
	byInstance map[string]int  // calls, by instance
}

func newFlakyShop(t testing.TB, secret string, seed uint64, fail500, hang float64, maxFail int, timeout time.Duration) *flakyShop {
	s := &flakyShop{t: t, secret: []byte(secret), fail500: fail500, hang: hang, maxFail: maxFail, timeout: timeout,
		rng: mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), deliveries: map[string]*seenDelivery{},
		approvals: map[string][]*approvalCall{}, approvalID: map[string]bool{}, approving: map[string]int{}, debited: map[string]bool{},
		answered: map[string]int{}, byInstance: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// pick draws an answer; failed counts the failed answers already given
// to this delivery.
func (s *flakyShop) pick(failed int) string {
	if s.maxFail > 0 && failed >= s.maxFail {
		return answerOK
	}
	switch x := s.rng.Float64(); {
	case x < s.fail500:
		return answer500
	case x < s.fail500+s.hang:
		return answerHang
	}
	return answerOK
}

func (s *flakyShop) serve(w http.ResponseWriter, r *http.Request) {
	instance := r.Header.Get(instanceHeader)
	d, ok := receive(s.t, s.secret, w, r)
	if !ok {
		return
	}
	if d.ping {
		s.mu.Lock()
		s.pings++
		s.mu.Unlock()
		w.WriteHeader(200)
		return
	}
	raw, tr := d.raw, d.trade
	id, _ := tr["id"].(string)
	s.mu.Lock()
	s.byInstance[instance]++
	var answer string
	if tr["type"] == "WITHDRAW" && tr["status"] == "INITIATED" {
		// An approval call: a new delivery id each attempt. The shop
		// takes the money once per withdrawal, when it first approves
		// (even if its answer then comes too late).
		if s.approvalID[d.id] {
			s.t.Errorf("trade %s: approval delivery id %s used twice", id, d.id)
		}
		s.approvalID[d.id] = true
		// One attempt at a time: the lease keeps other instances out
		// while a call is in flight, and the next attempt waits a second
		// after one fails.
		if s.approving[id] > 0 {
			s.t.Errorf("trade %s: approval call %s (from %q) while another is in flight", id, d.id, instance)
		}
		s.approving[id]++
		defer func() { s.mu.Lock(); s.approving[id]--; s.mu.Unlock() }()
		answer = s.pick(-1)
		s.approvals[id] = append(s.approvals[id], &approvalCall{delivery: d.id, answer: answer, instance: instance})
		if answer != answer500 && !s.debited[id] {
			s.debited[id] = true
			s.net -= usdOf(tr["totalPrice"])
		}
	} else {
		sum := sha256.Sum256(raw)
		dl := s.deliveries[d.id]
		if dl == nil {
			dl = &seenDelivery{trade: id, event: d.event, body: sum}
			s.deliveries[d.id] = dl
		} else if dl.trade != id || dl.event != d.event || dl.body != sum {
			s.t.Errorf("delivery id %s reused: first %s %s, now %s %s (same body %v)", d.id, dl.trade, dl.event, id, d.event, dl.body == sum)
		}
		failed := 0
		for _, a := range dl.answers {
			if a != answerOK {
				failed++
			}
		}
		answer = s.pick(failed)
		dl.answers = append(dl.answers, answer)
		dl.instances = append(dl.instances, instance)
		if answer != answer500 && !dl.applied {
			dl.applied = true
			s.apply(id, tr)
		}
	}
	s.answered[answer]++
	s.mu.Unlock()

	switch answer {
	case answer500:
		w.WriteHeader(500)
	case answerHang:
		select {
		case <-r.Context().Done(): // jeton gave up
		case <-time.After(s.timeout + 500*time.Millisecond):
		}
	default:
		w.WriteHeader(200)
	}
}

// apply books one status callback in the shop's ledger, as
// trading_test.go's shop does: deposits are credited as the money becomes
// creditable, withdrawals refunded when they fail after the shop took
// the money.
func (s *flakyShop) apply(id string, tr map[string]any) {
	switch {
	case tr["type"] == "DEPOSIT" && tr["status"] == "HOLD":
		s.net += usdOf(tr["preCredit"])
	case tr["type"] == "DEPOSIT" && tr["status"] == "COMPLETED" && tr["game"] == "730":
		s.net += usdOf(tr["pendingCredit"])
	case tr["type"] == "DEPOSIT" && tr["status"] == "COMPLETED":
		s.net += usdOf(tr["totalPrice"])
	case tr["type"] == "WITHDRAW" && (tr["status"] == "FAILED" || tr["status"] == "DECLINED" || tr["status"] == "REVERTED"):
		if s.debited[id] {
			s.net += usdOf(tr["totalPrice"])
		}
	}
}

// shopNet is what the shop's users should have gained from trades that
// all ended, if every callback was applied exactly once.
func shopNet(trades map[string]jeton.Trade) jeton.USD {
	var n jeton.USD
	for _, t := range trades {
		pre, pending := t.Credits()
		switch {
		case t.Type == jeton.Deposit && t.Status == jeton.StatusCompleted:
			n += pre + pending
		case t.Type == jeton.Deposit && t.Status == jeton.StatusReverted:
			n += pre // credited at HOLD; the shop does not claw it back
		case t.Type == jeton.Withdraw && t.Status == jeton.StatusCompleted:
			n -= t.TotalPrice
		}
	}
	return n
}

// --- running a batch of trades --------------------------------------------

// tradeUser is one user of the batch: a Steam ID, a trade URL token that
// picks how the sandbox behaves, and the instance that authenticated it.
type tradeUser struct {
	steamID, token string
	auth           string
	items          []string // deposit-able items, unused so far
	listings       []map[string]any
}

// newUsers authenticates n users, the i-th on envs[i%len(envs)], with
// tokens taken in turn from tokens. Their Steam IDs count up from base,
// passing over accounts with fewer than 3 items to deposit.
func newUsers(t *testing.T, envs []*env, m merchant, base uint64, n int, tokens []string) []*tradeUser {
	t.Helper()
	var us []*tradeUser
	for id := base; len(us) < n; id++ {
		if id > base+uint64(4*n) {
			t.Fatalf("too few sandbox accounts from %d with 3 items to deposit", base)
		}
		e := envs[len(us)%len(envs)]
		u := &tradeUser{steamID: fmt.Sprint(id), token: tokens[len(us)%len(tokens)]}
		u.auth = e.userToken(m, u.steamID, u.token)
		h := map[string]string{"Authorization": u.auth}
		inv := e.do("GET", "/client/inventory?game=730&acceptedOnly=true&perPage=-1", h, nil)
		items, _ := inv.data()["inventory"].([]any)
		if inv.Status != 200 {
			t.Fatalf("inventory of %s: %d %.300s", u.steamID, inv.Status, inv.Raw)
		}
		if len(items) < 3 {
			continue
		}
		for _, it := range items {
			u.items = append(u.items, it.(map[string]any)["id"].(string))
		}
		mk := e.do("GET", "/client/market?perPage=10&sort=priceAsc&game=730", h, nil)
		ls, _ := mk.data()["items"].([]any)
		if mk.Status != 200 || len(ls) == 0 {
			t.Fatalf("market: %d %.300s", mk.Status, mk.Raw)
		}
		for _, l := range ls {
			u.listings = append(u.listings, l.(map[string]any))
		}
		us = append(us, u)
	}
	return us
}

// startTrade starts the r-th deposit or withdrawal of u on e.
func startTrade(t *testing.T, e *env, u *tradeUser, deposit bool, r int) string {
	t.Helper()
	h := map[string]string{"Authorization": u.auth}
	var rep reply
	if deposit {
		rep = e.do("POST", "/client/trading/deposit", h, map[string]any{"items": []any{map[string]any{"itemId": u.items[r]}}})
	} else {
		rep = e.do("POST", "/client/trading/withdraw", h, withdrawBody(u.listings[r%len(u.listings)]))
	}
	id, _ := rep.data()["id"].(string)
	if rep.Status != 200 || id == "" {
		t.Fatalf("%s of %s (token %s) on %s: %d %s", map[bool]string{true: "deposit", false: "withdrawal"}[deposit], u.steamID, u.token, e.srv.URL, rep.Status, rep.Raw)
	}
	return id
}

// waitTerminal waits until every trade has ended and returns them.
func waitTerminal(t *testing.T, e *env, merchantID string, ids []string, within time.Duration) map[string]jeton.Trade {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(within)
	out := map[string]jeton.Trade{}
	for {
		var open []string
		for _, id := range ids {
			if _, done := out[id]; done {
				continue
			}
			tr, err := e.app.store.Trade(ctx, merchantID, id)
			if err != nil {
				t.Fatalf("trade %s: %v", id, err)
			}
			if tr.Status.Terminal() {
				out[id] = tr
			} else {
				open = append(open, id+" "+string(tr.Status))
			}
		}
		if len(open) == 0 {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d trades still open after %s: %v", len(open), len(ids), within, open)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitDelivered waits until every stored callback of the merchant is
// delivered and returns them by trade.
func waitDelivered(t *testing.T, e *env, merchantID string, within time.Duration) map[string][]jeton.Callback {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		cbs, total, err := e.app.store.Callbacks(context.Background(), merchantID, "", 10000, 0)
		if err != nil {
			t.Fatal(err)
		}
		var waiting []string
		for _, c := range cbs {
			if c.State != jeton.CallbackDelivered {
				waiting = append(waiting, c.DeliveryID+" "+c.Event+" "+c.State)
			}
		}
		if len(waiting) == 0 && total == len(cbs) {
			byTrade := map[string][]jeton.Callback{}
			for _, c := range cbs {
				byTrade[c.TradeID] = append(byTrade[c.TradeID], c)
			}
			return byTrade
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d callbacks not delivered after %s: %v", len(waiting), total, within, waiting)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// attemptRow is one stored attempt of any kind.
type attemptRow struct {
	delivery, trade, kind, event, outcome, errText string
	attempt, status                                int
}

func attemptRows(t *testing.T, raw *sql.DB, merchantID string) []attemptRow {
	t.Helper()
	rows, err := raw.QueryContext(context.Background(), `SELECT delivery_id, merchant_id, trade_id, kind, event, attempt, status_code, outcome, error FROM callback_attempts ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []attemptRow
	for rows.Next() {
		var a attemptRow
		var mid string
		if err := rows.Scan(&a.delivery, &mid, &a.trade, &a.kind, &a.event, &a.attempt, &a.status, &a.outcome, &a.errText); err != nil {
			t.Fatal(err)
		}
		if mid == merchantID {
			out = append(out, a)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkDeliveries proves, for trades that all ended and callbacks that
// were all delivered: every status in every trade's timeline has exactly
// one stored callback (a withdrawal's INITIATED is its approval call
// instead); the shop applied each one, under the stored delivery id, and
// saw no other; each delivery id was called as many times as attempts
// are stored, numbered 1..n with only the last delivered; no
// (delivery id, attempt) is stored twice; approval calls match the
// trade's attempt count and the stored approval attempts.
func checkDeliveries(t *testing.T, e *env, m merchant, s *flakyShop, raw *sql.DB, trades map[string]jeton.Trade, cbs map[string][]jeton.Callback) {
	t.Helper()
	ctx := context.Background()
	key := map[string]string{"api-key": m.APIKey}
	rows := attemptRows(t, raw, m.Merchant.ID)
	statusRows := map[string][]attemptRow{}
	approvalRows := map[string][]attemptRow{}
	seen := map[string]bool{}
	for _, a := range rows {
		k := a.kind + " " + a.delivery + " " + fmt.Sprint(a.attempt)
		if seen[k] {
			t.Errorf("attempt stored twice: %s (trade %s)", k, a.trade)
		}
		seen[k] = true
		switch a.kind {
		case jeton.CallbackStatus:
			statusRows[a.delivery] = append(statusRows[a.delivery], a)
		case jeton.CallbackApproval:
			approvalRows[a.trade] = append(approvalRows[a.trade], a)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	stored := map[string]bool{}
	for id, tr := range trades {
		evs, err := e.app.store.TradeEvents(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var timeline, want []string
		for _, ev := range evs {
			timeline = append(timeline, string(ev.Status))
			if !(tr.Type == jeton.Withdraw && ev.Status == jeton.StatusInitiated) {
				want = append(want, string(ev.Status))
			}
		}
		if len(slices.Compact(slices.Sorted(slices.Values(timeline)))) != len(timeline) {
			t.Errorf("trade %s: a status twice in its timeline %v", id, timeline)
		}
		if len(timeline) == 0 || timeline[len(timeline)-1] != string(tr.Status) {
			t.Errorf("trade %s: timeline %v does not end in %s", id, timeline, tr.Status)
		}
		// The stored callbacks, through the API as a merchant reads them.
		r := e.do("GET", "/secure/callbacks?tradeId="+id, key, nil)
		items, _ := r.data()["items"].([]any)
		var apiEvents, gotEvents []string
		for _, it := range items {
			c := it.(map[string]any)
			apiEvents = append(apiEvents, fmt.Sprint(c["event"]))
			if c["state"] != jeton.CallbackDelivered {
				t.Errorf("trade %s: callback %v %v is %v through the API", id, c["deliveryId"], c["event"], c["state"])
			}
		}
		for _, c := range cbs[id] {
			stored[c.DeliveryID] = true
			gotEvents = append(gotEvents, c.Event)
			dl := s.deliveries[c.DeliveryID]
			switch {
			case dl == nil:
				t.Errorf("trade %s: callback %s %s delivered but never seen by the shop", id, c.DeliveryID, c.Event)
				continue
			case !dl.applied:
				t.Errorf("trade %s: callback %s %s never applied by the shop (answers %v)", id, c.DeliveryID, c.Event, dl.answers)
			case dl.trade != id || dl.event != c.Event:
				t.Errorf("callback %s: stored %s %s, shop saw %s %s", c.DeliveryID, id, c.Event, dl.trade, dl.event)
			}
			as := statusRows[c.DeliveryID]
			if len(as) != len(dl.answers) || c.Attempts != len(dl.answers) {
				t.Errorf("callback %s (%s %s): shop called %d times %v by %v, %d attempts stored, counter %d",
					c.DeliveryID, id, c.Event, len(dl.answers), dl.answers, dl.instances, len(as), c.Attempts)
			}
			for i, a := range as {
				want := "failed"
				if i == len(as)-1 {
					want = "delivered"
				}
				if a.attempt != i+1 || a.outcome != want || a.trade != id || a.event != c.Event {
					t.Errorf("callback %s attempt %d stored as %+v, want attempt %d %s", c.DeliveryID, i+1, a, i+1, want)
				}
				if i < len(dl.answers) && !agrees(dl.answers[i], a, "delivered") {
					t.Errorf("callback %s attempt %d: the shop answered %s, stored as %+v", c.DeliveryID, i+1, dl.answers[i], a)
				}
			}
		}
		slices.Sort(want)
		slices.Sort(gotEvents)
		slices.Sort(apiEvents)
		if fmt.Sprint(gotEvents) != fmt.Sprint(want) || fmt.Sprint(apiEvents) != fmt.Sprint(want) {
			t.Errorf("trade %s (%s %s): timeline %v, stored callbacks %v, through the API %v", id, tr.Type, tr.Status, timeline, gotEvents, apiEvents)
		}

		// Approval calls.
		calls, ars := s.approvals[id], approvalRows[id]
		if tr.Type != jeton.Withdraw {
			if len(calls) != 0 || len(ars) != 0 {
				t.Errorf("deposit %s: %d approval calls, %d approval attempts stored", id, len(calls), len(ars))
			}
			continue
		}
		full, err := e.app.store.TradeAny(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(calls) == 0 || len(calls) > trading.MaxApprovalAttempts || len(calls) != full.ApprovalAttempts || len(ars) != len(calls) {
			t.Errorf("withdrawal %s (%s): %d approval calls, trade counts %d attempts, %d attempts stored", id, tr.Status, len(calls), full.ApprovalAttempts, len(ars))
		}
		// An answer that came after its lease is recorded after the next
		// attempt's row: the attempt number, not the row order, says
		// which call a row is.
		ars = slices.Clone(ars)
		slices.SortStableFunc(ars, func(x, y attemptRow) int { return x.attempt - y.attempt })
		for i, a := range ars {
			if a.attempt != i+1 {
				t.Errorf("withdrawal %s: approval attempt %d stored as attempt %d", id, i+1, a.attempt)
			}
			if i < len(calls) && a.delivery != calls[i].delivery {
				t.Errorf("withdrawal %s: approval attempt %d stored under %s, called under %s", id, i+1, a.delivery, calls[i].delivery)
			}
			if i < len(calls) && !agrees(calls[i].answer, a, "approved") {
				t.Errorf("withdrawal %s approval attempt %d: the shop answered %s, stored as %+v", id, i+1, calls[i].answer, a)
			}
		}
		approved := slices.Contains(timeline, string(jeton.StatusPending))
		answeredOK := slices.ContainsFunc(calls, func(c *approvalCall) bool { return c.answer != answer500 })
		if approved && !answeredOK {
			t.Errorf("withdrawal %s approved, but the shop only answered %v", id, calls)
		}
		if tr.Error != nil && *tr.Error == jeton.FailApprovalTimeout && len(calls) != trading.MaxApprovalAttempts {
			t.Errorf("withdrawal %s timed out after %d approval calls", id, len(calls))
		}
	}
	for id, dl := range s.deliveries {
		if !stored[id] {
			t.Errorf("shop saw callback %s (%s %s) that is not stored", id, dl.trade, dl.event)
		}
	}
	if want := shopNet(trades); s.net != want {
		t.Errorf("the shop's users gained %v, the trades say %v: a callback applied twice or never", s.net, want)
	}
}

// agrees reports whether a stored attempt records what the shop answered:
// a 500 as a failed HTTP 500, a hang as timed out, a 200 as ok (a 500 or
// a 200 may also be timed out, should a busy machine have taken longer
// than jeton's timeout to answer).
func agrees(answer string, a attemptRow, ok string) bool {
	timedOut := a.outcome == "failed" && a.errText == "timed out" && a.status == 0
	switch answer {
	case answer500:
		return a.outcome == "failed" && a.status == 500 && a.errText == "HTTP 500" || timedOut
	case answerHang:
		return timedOut
	}
	return a.outcome == ok && a.status == 200 || timedOut
}

// batchSummary describes a finished batch for the test log.
func batchSummary(trades map[string]jeton.Trade, s *flakyShop) string {
	n := map[string]int{}
	for _, tr := range trades {
		k := string(tr.Type) + " " + string(tr.Status)
		if tr.Error != nil {
			k += " " + *tr.Error
		}
		n[k]++
	}
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %d; ", k, n[k])
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	retried := 0
	for _, dl := range s.deliveries {
		if len(dl.answers) > 1 {
			retried++
		}
	}
	fmt.Fprintf(&b, "answers %v; %d deliveries, %d retried; calls by instance %v", s.answered, len(s.deliveries), retried, s.byInstance)
	return b.String()
}

// tokens of the batch's users: healthy, reversing, declining and failing
// accounts (see sandbox/tradeurl.go).
var batchTokens = []string{"abcdEF12", "revuser0", "decline0", "abcdEF13", "fail0000", "revsupp0", "abcdEF14", "decline0"}

// --- the tests ------------------------------------------------------------

// fastRetries makes status callbacks retry within a fifth of a second
// instead of after 5 s, 30 s, ... until the test ends. The schedule keeps
// its length, so callback.MaxAttempts still holds.
func fastRetries(t *testing.T) {
	saved := callback.Schedule
	fast := make([]time.Duration, len(saved))
	for i := range fast {
		fast[i] = 200 * time.Millisecond
	}
	callback.Schedule = fast
	t.Cleanup(func() { callback.Schedule = saved })
}

// shortTimeout is jeton's status and approval timeout in these tests, so
// that a merchant that hangs costs 1.5 s rather than 15 s or 10 s.
const shortTimeout = 1500 * time.Millisecond

func shortTimeouts(cfg appConfig) appConfig {
	cfg.StatusTimeout, cfg.ApprovalTimeout = shortTimeout, shortTimeout
	return cfg
}

// setCallbackURL points the merchant's callbacks at s through e.
func setCallbackURL(t *testing.T, e *env, m merchant, s *flakyShop) string {
	t.Helper()
	url := s.srv.URL + "/callbacks"
	if r := e.do("PUT", "/secure/callback-url", map[string]string{"api-key": m.APIKey}, map[string]any{"url": url}); r.Status != 200 {
		t.Fatalf("set callback url: %d %s", r.Status, r.Raw)
	}
	return url
}

// TestFlakyMerchant runs a batch of deposits and withdrawals against a
// merchant that answers 30% of calls 500 and lets 20% time out, and
// proves every status callback is eventually delivered and applied once,
// under a delivery id that stays the same across retries, with the
// ledgers of jeton and the shop in agreement.
func TestFlakyMerchant(t *testing.T) {
	fastRetries(t)
	backends(t, func(t *testing.T, e0 *env) {
		start := time.Now()
		spec := newDBSpec(t, e0.backend)
		raw := spec.raw(t)
		e := startInstance(t, spec, spec.open(t), newTestVault(t), newLiveClock(),
			shortTimeouts(appConfig{Sandbox: true, AcceptAfter: 100 * time.Millisecond, Hold: time.Second}))
		m := e.merchant("flaky")
		seed := uint64(time.Now().UnixNano())
		t.Logf("seed %d", seed)
		// At most 4 failed answers per status delivery: the 15 attempts
		// the schedule allows are then never exhausted.
		s := newFlakyShop(t, m.APISecret, seed, 0.3, 0.2, 4, shortTimeout)
		setCallbackURL(t, e, m, s)
		users := newUsers(t, []*env{e}, m, 76561198000100000, 8, batchTokens)
		var ids []string
		for r := 0; r < 3; r++ {
			for _, u := range users {
				ids = append(ids, startTrade(t, e, u, true, r), startTrade(t, e, u, false, r))
			}
		}
		trades := waitTerminal(t, e, m.Merchant.ID, ids, 40*time.Second)
		cbs := waitDelivered(t, e, m.Merchant.ID, 30*time.Second)
		checkDeliveries(t, e, m, s, raw, trades, cbs)
		e.checkLedger(m)
		s.mu.Lock()
		n500, nhang := s.answered[answer500], s.answered[answerHang]
		s.mu.Unlock()
		if n500 == 0 || nhang == 0 {
			t.Errorf("the merchant never failed (%d × 500, %d hangs): the test proved nothing", n500, nhang)
		}
		t.Logf("%d trades in %s: %s", len(ids), time.Since(start).Round(time.Millisecond), batchSummary(trades, s))
	})
}

// TestTwoInstancesSharePostgres runs two instances over one PostgreSQL
// database and starts trades on both, for two merchants: one that always
// answers 200 and one that fails and stalls as in TestFlakyMerchant. All
// trades end, and every callback attempt is made once, by one instance:
// each status delivery id reaches the steady merchant exactly once and
// each of its withdrawals gets one approval call; for both merchants the
// calls of each delivery id match the attempts stored, no (delivery id,
// attempt) is stored twice, and approval calls match the trade's count.
func TestTwoInstancesSharePostgres(t *testing.T) {
	if os.Getenv(storetest.EnvDatabaseURL) == "" {
		t.Skip(storetest.EnvDatabaseURL + " not set: two instances need a shared PostgreSQL (e.g. " +
			storetest.EnvDatabaseURL + "=postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	fastRetries(t)
	start := time.Now()
	spec := newDBSpec(t, "postgres")
	raw := spec.raw(t)
	v, clk := newTestVault(t), newLiveClock() // the same master key on every instance
	cfg := shortTimeouts(appConfig{Sandbox: true, AcceptAfter: 100 * time.Millisecond, Hold: time.Second})
	cfgA, cfgB := cfg, cfg
	cfgA.CallbackClient, cfgB.CallbackClient = tagged("A"), tagged("B")
	a := startInstance(t, spec, spec.open(t), v, clk, cfgA)
	b := startInstance(t, spec, spec.open(t), v, clk, cfgB)
	envs := []*env{a, b}
	name := map[*env]string{a: "A", b: "B"}

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	steady, flaky := a.merchant("steady"), b.merchant("flaky")
	for _, m := range []merchant{steady, flaky} {
		a.remember(m.APIKey, m.APISecret, m.ProviderCertificate, m.admin)
		b.remember(m.APIKey, m.APISecret, m.ProviderCertificate, m.admin)
	}
	ss := newFlakyShop(t, steady.APISecret, seed, 0, 0, 0, shortTimeout) // always 200
	fs := newFlakyShop(t, flaky.APISecret, seed+1, 0.3, 0.2, 4, shortTimeout)
	urls := map[string]string{steady.Merchant.ID: setCallbackURL(t, a, steady, ss), flaky.Merchant.ID: setCallbackURL(t, b, flaky, fs)}
	// Each instance learns of the other's change from the credential
	// events (about a second).
	deadline := time.Now().Add(15 * time.Second)
	for _, e := range envs {
		for id, url := range urls {
			for {
				got, err := e.app.creds.Merchant(context.Background(), id)
				if err == nil && got.CallbackURL == url {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("instance %s never saw merchant %s's callback URL: %+v %v", name[e], id, got, err)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}

	steadyUsers := newUsers(t, envs, steady, 76561198000200000, 8, batchTokens)
	flakyUsers := newUsers(t, envs, flaky, 76561198000300000, 8, batchTokens)
	var steadyIDs, flakyIDs []string
	on := map[string]string{} // trade id -> the instance it was started on
	for r := 0; r < 2; r++ {
		for i := range steadyUsers {
			for k, dep := range []bool{true, false} {
				e := envs[(i+r+k)%2]
				id := startTrade(t, e, steadyUsers[i], dep, r)
				steadyIDs, on[id] = append(steadyIDs, id), name[e]
				e = envs[(i+r+k+1)%2]
				id = startTrade(t, e, flakyUsers[i], dep, r)
				flakyIDs, on[id] = append(flakyIDs, id), name[e]
			}
		}
	}
	for _, c := range []struct {
		m   merchant
		s   *flakyShop
		ids []string
	}{{steady, ss, steadyIDs}, {flaky, fs, flakyIDs}} {
		trades := waitTerminal(t, envs[0], c.m.Merchant.ID, c.ids, 40*time.Second)
		cbs := waitDelivered(t, envs[1], c.m.Merchant.ID, 30*time.Second)
		checkDeliveries(t, a, c.m, c.s, raw, trades, cbs)
		a.checkLedger(c.m)
		c.s.mu.Lock()
		if c.s.byInstance[""] != 0 {
			t.Errorf("%s: %d calls not made by either instance", c.m.Merchant.Name, c.s.byInstance[""])
		}
		if total := c.s.byInstance["A"] + c.s.byInstance["B"]; total >= 20 && (c.s.byInstance["A"] == 0 || c.s.byInstance["B"] == 0) {
			t.Errorf("%s: one instance made every call (%v): the instances did not share the work", c.m.Merchant.Name, c.s.byInstance)
		}
		c.s.mu.Unlock()
		t.Logf("%s: %d trades: %s", c.m.Merchant.Name, len(c.ids), batchSummary(trades, c.s))
	}

	// The steady merchant always answers at once: one call per delivery.
	ss.mu.Lock()
	for id, dl := range ss.deliveries {
		if len(dl.answers) != 1 {
			t.Errorf("callback %s (%s %s, trade started on %s) reached the merchant %d times, from %v", id, dl.trade, dl.event, on[dl.trade], len(dl.answers), dl.instances)
		}
	}
	for id, calls := range ss.approvals {
		if len(calls) != 1 {
			var from []string
			for _, c := range calls {
				from = append(from, c.instance)
			}
			t.Errorf("withdrawal %s (started on %s): %d approval calls, from %v; the merchant always approves at once", id, on[id], len(calls), from)
		}
	}
	ss.mu.Unlock()
	t.Logf("%d trades in %s", len(on), time.Since(start).Round(time.Millisecond))
}

// TestCallbackURLReachesEveryInstance sets a merchant's callback URL
// through one instance and trades through the other at once: the trade's
// every status must have its callback, and a withdrawal must be accepted.
// The other instance's cached merchant learns of the URL only at its next
// credential sync, so the status callbacks must not depend on it, and the
// withdrawal reads the merchant afresh before refusing.
func TestCallbackURLReachesEveryInstance(t *testing.T) {
	if os.Getenv(storetest.EnvDatabaseURL) == "" {
		t.Skip(storetest.EnvDatabaseURL + " not set: two instances need a shared PostgreSQL")
	}
	spec := newDBSpec(t, "postgres")
	v, clk := newTestVault(t), newLiveClock()
	cfg := appConfig{Sandbox: true, AcceptAfter: 100 * time.Millisecond, Hold: time.Second}
	a := startInstance(t, spec, spec.open(t), v, clk, cfg)
	b := startInstance(t, spec, spec.open(t), v, clk, cfg)
	m := a.merchant("m")
	b.remember(m.APIKey, m.APISecret, m.ProviderCertificate, m.admin)
	users := newUsers(t, []*env{b}, m, 76561198000400000, 1, []string{"abcdEF12"}) // B has served the merchant
	s := newFlakyShop(t, m.APISecret, 1, 0, 0, 0, callback.StatusTimeout)
	setCallbackURL(t, a, m, s)
	// The merchant's next requests land on B.
	id := startTrade(t, b, users[0], true, 0)
	if r := b.do("POST", "/client/trading/withdraw", map[string]string{"Authorization": users[0].auth}, withdrawBody(users[0].listings[0])); r.Status != 200 {
		t.Errorf("withdrawal through B just after the URL was set through A: %d %s", r.Status, r.Raw)
	}
	tr := waitTerminal(t, a, m.Merchant.ID, []string{id}, 20*time.Second)[id]
	cbs := waitDelivered(t, a, m.Merchant.ID, 20*time.Second)[id]
	evs, err := a.app.store.TradeEvents(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var timeline, got []string
	for _, ev := range evs {
		timeline = append(timeline, string(ev.Status))
	}
	for _, c := range cbs {
		got = append(got, c.Event)
	}
	slices.Sort(got)
	if want := slices.Sorted(slices.Values(timeline)); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("deposit %s (%s) through B: timeline %v, callbacks stored %v", id, tr.Status, timeline, got)
	}
}
