package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/sqlstore"
	"github.com/jetonhq/jeton/sqlstore/storetest"
	"github.com/jetonhq/jeton/trading"
)

// TestCrashDuringTrades kills the real server process with SIGKILL again
// and again while hundreds of clients trade concurrently, restarts it each
// time, and then proves that nothing was lost or done twice:
//
//   - every trade a client was told exists (a 200, or EXTERNAL_ID_EXISTS on
//     a retry) exists exactly once and ends terminal;
//   - no withdrawal reached its trade offer without the merchant's
//     approval, and none was debited twice;
//   - every status callback jeton stored reached the merchant at least
//     once, and the merchant saw every status of every trade;
//   - jeton's ledger balances, matches the wallet, and equals what the
//     final trades imply; the merchant's own ledger, built only from the
//     callbacks it received, equals what the final trades imply.
//
// The trades are started within a few seconds and CS2 holds last 10 s, so
// more than 500 are in flight at once while the kills go on.
// JETON_CRASH_TRADES (default 800) and JETON_CRASH_KILLS (default 6) size
// it.
func TestCrashDuringTrades(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary under load for a minute or two")
	}
	crashBackends(t, runCrash)
}

// crashBackends runs a crash test against SQLite and, when
// JETON_TEST_DATABASE_URL is set, PostgreSQL: run gets the server's store
// flags and environment, and how to open the same store afterwards.
func crashBackends(t *testing.T, run func(t *testing.T, args, env []string, open func() (*sqlstore.DB, error))) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		run(t, []string{"--data", dir}, nil, func() (*sqlstore.DB, error) { return sqlstore.Open(context.Background(), "", dir) })
	})
	t.Run("postgres", func(t *testing.T) {
		if os.Getenv(storetest.EnvDatabaseURL) == "" {
			t.Skip(storetest.EnvDatabaseURL + " not set: skipping the PostgreSQL run (CI sets it)")
		}
		url := storetest.PostgresURL(t)
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		run(t, []string{"--database-url", url, "--data", t.TempDir()}, []string{"JETON_MASTER_KEY=" + hex.EncodeToString(key)},
			func() (*sqlstore.DB, error) { return sqlstore.Open(context.Background(), url, "") })
	})
}

// crashHold is the sandbox's CS2 hold in this test.
const crashHold = 10 * time.Second

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// crashServer is the jeton child process, always on the same address.
type crashServer struct {
	t    *testing.T
	args []string
	env  []string
	addr string
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
}

func newCrashServer(t *testing.T, args, env []string) *crashServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &crashServer{t: t, env: env, addr: addr, logs: &syncBuffer{}}
	s.args = append([]string{"serve", "--addr", addr, "--sandbox-accept-after", "300ms", "--sandbox-hold", crashHold.String()}, args...)
	t.Cleanup(func() { s.kill() })
	return s
}

// start runs the server and waits until it listens.
func (s *crashServer) start() {
	s.t.Helper()
	for try := 0; ; try++ {
		cmd := exec.Command(jetonBin(s.t), s.args...)
		cmd.Env = append(os.Environ(), s.env...)
		pr, pw := io.Pipe()
		cmd.Stderr, cmd.Stdout = pw, pw
		if err := cmd.Start(); err != nil {
			s.t.Fatal(err)
		}
		up := make(chan bool, 1)
		go func() {
			sc := bufio.NewScanner(pr)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				line := sc.Text()
				s.logs.Write([]byte(line + "\n"))
				if strings.Contains(line, `msg="jeton listening"`) {
					select {
					case up <- true:
					default:
					}
				}
			}
		}()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); pw.Close(); close(done) }()
		select {
		case <-up:
			s.cmd, s.done = cmd, done
			return
		case <-done:
			// The old process's port may linger for a moment.
			if try < 20 {
				time.Sleep(250 * time.Millisecond)
				continue
			}
			s.t.Fatalf("server exited at start:\n%s", tail(s.logs.String(), 4000))
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			s.t.Fatalf("server did not start:\n%s", tail(s.logs.String(), 4000))
		}
	}
}

// kill ends the process with SIGKILL: no shutdown code runs.
func (s *crashServer) kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
	s.cmd = nil
}

// stop ends the process gracefully.
func (s *crashServer) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.t.Errorf("server did not stop on SIGTERM")
		s.kill()
	}
	s.cmd = nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// crashShop is a merchant backend that must stay correct across jeton's
// crashes: it decides each withdrawal once and gives the same verdict to
// every approval call, applies each status callback once by delivery id,
// and keeps its users' balances from the callbacks alone.
type crashShop struct {
	t      *testing.T
	secret []byte

	mu         sync.Mutex
	verdict    map[string]bool            // trade id -> approved
	debited    map[string]jeton.USD       // withdrawals debited from their user
	seen       map[string]bool            // delivery ids applied
	deliveries atomic.Int64               // status callbacks received, repeats included
	statuses   map[string]map[string]bool // trade id -> statuses seen
	ledger     jeton.USD                  // users' balances: credits - debits
}

func newCrashShop(t *testing.T) *crashShop {
	return &crashShop{t: t, verdict: map[string]bool{}, debited: map[string]jeton.USD{}, seen: map[string]bool{}, statuses: map[string]map[string]bool{}}
}

// approves is the shop's policy: one withdrawal in five is refused.
func approves(tradeID string) bool {
	h := sha256.Sum256([]byte(tradeID))
	return h[0]%5 != 0
}

func (s *crashShop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	secret := s.secret
	s.mu.Unlock()
	d, ok := receive(s.t, secret, w, r)
	if !ok {
		return
	}
	if d.ping {
		w.WriteHeader(200)
		return
	}
	tr := d.trade
	id, _ := tr["id"].(string)
	total := usdOf(tr["totalPrice"])
	s.mu.Lock()
	defer s.mu.Unlock()
	if tr["type"] == "WITHDRAW" && tr["status"] == "INITIATED" {
		ok, decided := s.verdict[id]
		if !decided {
			ok = approves(id)
			s.verdict[id] = ok
			if ok {
				s.debited[id] = total
				s.ledger -= total
			}
		}
		if !ok {
			w.WriteHeader(402)
			return
		}
		w.WriteHeader(200)
		return
	}
	s.deliveries.Add(1)
	if s.seen[d.id] {
		w.WriteHeader(200)
		return
	}
	s.seen[d.id] = true
	st, _ := tr["status"].(string)
	if s.statuses[id] == nil {
		s.statuses[id] = map[string]bool{}
	}
	s.statuses[id][st] = true
	switch {
	case tr["type"] == "DEPOSIT" && st == "HOLD":
		s.ledger += usdOf(tr["preCredit"])
	case tr["type"] == "DEPOSIT" && st == "COMPLETED" && tr["game"] == "730":
		s.ledger += usdOf(tr["pendingCredit"])
	case tr["type"] == "DEPOSIT" && st == "COMPLETED":
		s.ledger += total
	case tr["type"] == "DEPOSIT" && st == "REVERTED":
		s.ledger -= usdOf(tr["preCredit"])
	case tr["type"] == "WITHDRAW" && (st == "FAILED" || st == "DECLINED" || st == "REVERTED"):
		if amt, ok := s.debited[id]; ok {
			s.ledger += amt // refund the user
			delete(s.debited, id)
		}
	}
	w.WriteHeader(200)
}

// crashClient sends requests through restarts: a refused connection or a
// cut reply is retried; a trade request carries an externalId, so a retry
// of a request that did reach jeton is answered EXTERNAL_ID_EXISTS.
type crashClient struct {
	base string
	hc   *http.Client
	key  string
}

type crashReply struct {
	status int
	body   map[string]any
}

func (r crashReply) data() map[string]any { d, _ := r.body["data"].(map[string]any); return d }

func (c *crashClient) send(ctx context.Context, method, path string, hdr map[string]string, body any) (crashReply, error) {
	for {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequestWithContext(ctx, method, c.base+path, rd)
		req.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := c.hc.Do(req)
		if err == nil {
			var m map[string]any
			derr := json.NewDecoder(resp.Body).Decode(&m)
			resp.Body.Close()
			if derr == nil && resp.StatusCode < 500 {
				return crashReply{status: resp.StatusCode, body: m}, nil
			}
		}
		if ctx.Err() != nil {
			return crashReply{}, ctx.Err()
		}
		time.Sleep(100 * time.Millisecond) // the server is down or restarting
	}
}

func crashErrKey(r crashReply) string {
	e, _ := r.body["error"].(map[string]any)
	k, _ := e["key"].(string)
	return k
}

// accepted records the trades jeton acknowledged.
type accepted struct {
	mu  sync.Mutex
	ids map[string]string // trade id -> externalId
}

func (a *accepted) add(id, ext string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if prev, ok := a.ids[id]; ok && prev != ext {
		panic("one trade id for two externalIds")
	}
	a.ids[id] = ext
}

// trade sends one trade request until jeton gives an answer about it.
// It returns "" when jeton refused the trade (nothing created).
func (c *crashClient) trade(ctx context.Context, t *testing.T, path, tok string, body map[string]any, acc *accepted) string {
	ext := body["externalId"].(string)
	for {
		r, err := c.send(ctx, "POST", path, map[string]string{"Authorization": tok}, body)
		if err != nil {
			return ""
		}
		switch k := crashErrKey(r); {
		case r.status == 200:
			id := r.data()["id"].(string)
			acc.add(id, ext)
			return id
		case k == jeton.KeyExternalIDExists:
			g, err := c.send(ctx, "GET", "/secure/trades/"+ext, map[string]string{"api-key": c.key}, nil)
			if err != nil {
				return ""
			}
			if g.status != 200 {
				t.Errorf("EXTERNAL_ID_EXISTS but %s not found: %d %v", ext, g.status, g.body)
				return ""
			}
			id := g.data()["id"].(string)
			acc.add(id, ext)
			return id
		case k == jeton.KeyTooManyActive:
			time.Sleep(300 * time.Millisecond)
		case k == jeton.KeyPriceChanged:
			return "" // the caller fetches the market again
		default:
			t.Errorf("%s %s: %d %v", path, ext, r.status, r.body)
			return ""
		}
	}
}

func runCrash(t *testing.T, args, env []string, open func() (*sqlstore.DB, error)) {
	trades := envInt("JETON_CRASH_TRADES", 800)
	kills := envInt("JETON_CRASH_KILLS", 6)
	const perUser = 4
	users := (trades + perUser - 1) / perUser

	srv := newCrashServer(t, args, env)
	srv.start()
	demo := bannerValues(t, srv.logs.String())
	merchantID, apiKey, secret := demo["merchant"], demo["key"], demo["secret"]

	shop := newCrashShop(t)
	shop.secret = []byte(secret)
	shopSrv := &http.Server{Handler: shop}
	shopLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go shopSrv.Serve(shopLn)
	t.Cleanup(func() { shopSrv.Close() })

	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	c := &crashClient{base: "http://" + srv.addr, hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}, key: apiKey}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if r, err := c.send(ctx, "PUT", "/secure/callback-url", map[string]string{"api-key": apiKey}, map[string]any{"url": "http://" + shopLn.Addr().String() + "/cb"}); err != nil || r.status != 200 {
		t.Fatalf("callback url: %v %v", err, r.body)
	}

	// The killer: SIGKILL at random moments while the clients trade and
	// while their trades run on.
	killed := make(chan int)
	go func() {
		n := 0
		defer func() { killed <- n }()
		for n < kills && ctx.Err() == nil {
			d, _ := rand.Int(rand.Reader, big.NewInt(1500))
			time.Sleep(time.Second + time.Duration(d.Int64())*time.Millisecond)
			srv.kill()
			n++
			srv.start()
		}
	}()

	acc := &accepted{ids: map[string]string{}}
	var refused atomic.Int64
	var wg sync.WaitGroup
	for u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			crashUser(ctx, t, c, u, acc, &refused)
		}()
	}
	wg.Wait()
	nKills := <-killed
	t.Logf("%d trades acknowledged, %d refused, %d kills", len(acc.ids), refused.Load(), nKills)
	if len(acc.ids) < trades*9/10 {
		t.Fatalf("only %d of %d trades were acknowledged", len(acc.ids), trades)
	}

	// Let the survivor finish: every trade terminal and every stored
	// callback delivered. Jobs cut by a kill are rescued after a minute.
	db, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	wait := time.Duration(envInt("JETON_CRASH_WAIT_SECONDS", 180)) * time.Second
	deadline := time.Now().Add(wait)
	for {
		open, pending := crashProgress(t, db, merchantID)
		if open == 0 && pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			crashStuck(t, db, merchantID)
			t.Fatalf("after %v: %d trades not terminal, %d callbacks not delivered", wait, open, pending)
		}
		time.Sleep(time.Second)
	}
	srv.stop()

	crashCheck(t, db, merchantID, acc, shop)
}

// crashUser makes one user's trades: deposits of its own items and
// withdrawals of market listings, alternating.
func crashUser(ctx context.Context, t *testing.T, c *crashClient, u int, acc *accepted, refused *atomic.Int64) {
	steamID := fmt.Sprintf("7656119810%07d", u)
	var id uint64
	fmt.Sscan(steamID, &id)
	token := []string{"crashOK1", "crashOK2", "crashOK3", "crashOK4", "crashOK5", "decline0", "revuser0", "revsupp0", "fail0000", "crashOK6"}[u%10]
	url := fmt.Sprintf("https://steamcommunity.com/tradeoffer/new/?partner=%d&token=%s", id-76561197960265728, token)
	r, err := c.send(ctx, "POST", "/auth/authenticate-client", map[string]string{"api-key": c.key},
		map[string]any{"clientSteamId": steamID, "clientTradeUrl": url, "clientId": "crash-" + steamID})
	if err != nil || r.status != 200 {
		t.Errorf("authenticate %s: %v %v", steamID, err, r.body)
		return
	}
	tok := "Bearer " + r.data()["token"].(string)
	game := "730"
	if u%7 == 3 {
		game = "252490" // Rust: no hold
	}
	inv, err := c.send(ctx, "GET", "/client/inventory?acceptedOnly=true&perPage=-1&game="+game, map[string]string{"Authorization": tok}, nil)
	if err != nil || inv.status != 200 {
		t.Errorf("inventory %s: %v %v", steamID, err, inv.body)
		return
	}
	items, _ := inv.data()["inventory"].([]any)
	next := 0
	for k := range 4 {
		// Spread the starts over a few seconds, so the kills fall
		// on trades in every status.
		d, _ := rand.Int(rand.Reader, big.NewInt(1500))
		time.Sleep(time.Duration(d.Int64()) * time.Millisecond)
		ext := fmt.Sprintf("crash-%d-%d", u, k)
		if k%2 == 0 && next < len(items) {
			it := items[next].(map[string]any)
			next++
			if c.trade(ctx, t, "/client/trading/deposit", tok, map[string]any{"game": game, "externalId": ext,
				"items": []any{map[string]any{"itemId": it["id"]}}}, acc) == "" {
				refused.Add(1)
			}
			continue
		}
		for try := 0; ; try++ {
			m, err := c.send(ctx, "GET", "/client/market?perPage=20&sort=priceAsc&game=730", map[string]string{"Authorization": tok}, nil)
			if err != nil {
				return
			}
			ls, _ := m.data()["items"].([]any)
			if len(ls) == 0 {
				t.Errorf("empty market: %v", m.body)
				return
			}
			body := withdrawBody(ls[(u+k)%len(ls)].(map[string]any))
			body["externalId"] = ext
			if c.trade(ctx, t, "/client/trading/withdraw", tok, body, acc) != "" {
				break
			}
			if try == 3 {
				refused.Add(1)
				break
			}
		}
	}
}

// crashProgress counts trades not yet terminal and callbacks not yet
// delivered.
func crashProgress(t *testing.T, db *sqlstore.DB, merchantID string) (open, pending int) {
	ctx := context.Background()
	ts, _, err := db.Trades(ctx, jeton.TradeFilter{MerchantID: merchantID, Limit: 100000})
	if err != nil {
		t.Logf("progress: %v", err)
		return 1, 1
	}
	for _, tr := range ts {
		if !tr.Status.Terminal() {
			open++
		}
	}
	cbs, _, err := db.Callbacks(ctx, merchantID, "", 100000, 0)
	if err != nil {
		t.Logf("progress: %v", err)
		return open, 1
	}
	for _, cb := range cbs {
		if cb.State != jeton.CallbackDelivered {
			pending++
		}
	}
	return open, pending
}

func crashCheck(t *testing.T, db *sqlstore.DB, merchantID string, acc *accepted, shop *crashShop) {
	ctx := context.Background()
	ts, _, err := db.Trades(ctx, jeton.TradeFilter{MerchantID: merchantID, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]jeton.Trade{}
	byExt := map[string]int{}
	for _, tr := range ts {
		byID[tr.ID] = tr
		if tr.ExternalID != nil {
			byExt[*tr.ExternalID]++
		}
	}
	// Every acknowledged trade exists, once.
	for id, ext := range acc.ids {
		if _, ok := byID[id]; !ok {
			t.Errorf("acknowledged trade %s (%s) is lost", id, ext)
		}
		if byExt[ext] != 1 {
			t.Errorf("externalId %s has %d trades", ext, byExt[ext])
		}
	}
	cbs, _, err := db.Callbacks(ctx, merchantID, "", 100000, 0)
	if err != nil {
		t.Fatal(err)
	}
	cbEvents := map[string]map[string]bool{}
	for _, cb := range cbs {
		if cbEvents[cb.TradeID] == nil {
			cbEvents[cb.TradeID] = map[string]bool{}
		}
		if cbEvents[cb.TradeID][cb.Event] {
			t.Errorf("trade %s: two status callbacks for %s", cb.TradeID, cb.Event)
		}
		cbEvents[cb.TradeID][cb.Event] = true
	}
	shop.mu.Lock()
	defer shop.mu.Unlock()
	for _, cb := range cbs {
		if !shop.seen[cb.DeliveryID] {
			t.Errorf("callback %s (%s %s) never reached the merchant", cb.DeliveryID, cb.TradeID, cb.Event)
		}
	}

	w, err := db.Wallet(ctx, merchantID)
	if err != nil {
		t.Fatal(err)
	}
	var wantWallet, wantShop jeton.USD
	wantWallet = trading.SandboxBalance
	counts := map[string]int{}
	for _, tr := range ts {
		counts[string(tr.Type)+" "+string(tr.Status)]++
		evs, err := db.TradeEvents(ctx, tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		// Every status the trade went through has its callback, and the
		// merchant saw each (a withdrawal's INITIATED is its approval call).
		for _, ev := range evs {
			st := string(ev.Status)
			if tr.Type == jeton.Withdraw && st == "INITIATED" {
				continue
			}
			if !cbEvents[tr.ID][st] {
				t.Errorf("trade %s: no status callback for %s", tr.ID, st)
			}
			if !shop.statuses[tr.ID][st] {
				t.Errorf("trade %s: the merchant never saw %s", tr.ID, st)
			}
		}
		if !tr.Status.Terminal() {
			t.Errorf("trade %s is still %s", tr.ID, tr.Status)
		}
		if tr.Type == jeton.Withdraw {
			approved, asked := shop.verdict[tr.ID]
			if tr.OfferID != nil && !(asked && approved) {
				t.Errorf("withdrawal %s was bought (offer %s, %s) without the merchant's approval", tr.ID, *tr.OfferID, tr.Status)
			}
			if tr.Error != nil && *tr.Error == jeton.FailMerchantRejected && approved {
				t.Errorf("withdrawal %s: approved but failed MERCHANT_REJECTED", tr.ID)
			}
			switch tr.Status {
			case jeton.StatusCompleted:
				wantWallet -= tr.TotalPrice
				wantShop -= tr.TotalPrice
			case jeton.StatusDeclined:
				wantWallet -= trading.DeclinePenalty(tr.TotalPrice)
			}
			continue
		}
		pre, _ := tr.Credits()
		switch tr.Status {
		case jeton.StatusCompleted:
			wantWallet += tr.TotalPrice
			wantShop += tr.TotalPrice
		case jeton.StatusReverted:
			// The provider's share of the instant credit stays with the
			// merchant; the rest was taken back.
			if tr.Collateral != nil && tr.Source == jeton.SourceClient {
				wantWallet += min(tr.Collateral.Provider, pre)
			}
		}
	}
	most := inFlight(ts)
	t.Logf("final trades: %v; callbacks %d (received %d times); at most %d trades in flight at once", counts, len(cbs), shop.deliveries.Load(), most)
	if len(ts) >= 800 && most < 500 {
		t.Errorf("at most %d trades were in flight at once, want 500", most)
	}
	if got := w.Available + w.Pending + w.Escrow; got != wantWallet || w.Pending != 0 || w.Escrow != 0 {
		t.Errorf("jeton wallet %+v (total %v), want total %v with nothing pending or in escrow", w, got, wantWallet)
	}
	if shop.ledger != wantShop {
		t.Errorf("merchant's ledger %v, want %v", shop.ledger, wantShop)
	}
	sums, err := db.LedgerSums(ctx, merchantID)
	if err != nil {
		t.Fatal(err)
	}
	var total jeton.USD
	for _, v := range sums {
		total += v
	}
	if total != 0 {
		t.Errorf("ledger does not balance: %v", sums)
	}
	if w.Available != sums[jeton.AccountAvailable] || w.Pending != sums[jeton.AccountPending] || w.Escrow != sums[jeton.AccountEscrow] {
		t.Errorf("wallet %+v != ledger %v", w, sums)
	}
	if counts["WITHDRAW COMPLETED"] == 0 || counts["DEPOSIT COMPLETED"] == 0 || counts["WITHDRAW FAILED"] == 0 {
		t.Errorf("the mix did not exercise the main paths: %v", counts)
	}
}

// inFlight is the largest number of trades that were open at one moment.
func inFlight(ts []jeton.Trade) int {
	type edge struct {
		at time.Time
		d  int
	}
	var es []edge
	for _, tr := range ts {
		es = append(es, edge{tr.CreatedAt, 1}, edge{tr.UpdatedAt, -1})
	}
	slices.SortFunc(es, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.d - b.d
	})
	n, best := 0, 0
	for _, e := range es {
		n += e.d
		best = max(best, n)
	}
	return best
}

// crashStuck describes the trades that did not finish.
func crashStuck(t *testing.T, db *sqlstore.DB, merchantID string) {
	ctx := context.Background()
	ts, _, _ := db.Trades(ctx, jeton.TradeFilter{MerchantID: merchantID, Limit: 100000})
	n := 0
	for _, tr := range ts {
		if tr.Status.Terminal() || n >= 10 {
			continue
		}
		n++
		evs, _ := db.TradeEvents(ctx, tr.ID)
		var path []string
		for _, ev := range evs {
			path = append(path, string(ev.Status))
		}
		offer := "-"
		if tr.OfferID != nil {
			o, err := db.SandboxOffer(ctx, *tr.OfferID)
			offer = fmt.Sprintf("%s %+v %v", *tr.OfferID, o, err)
		}
		t.Logf("stuck %s %s %s game %s url %s: events %v next %v attempts %d lease %v hold %v updated %v offer %s",
			tr.ID, tr.Type, tr.Status, tr.Game, tr.ClientTradeURL, path, tr.NextCheckAt, tr.ApprovalAttempts, tr.ApprovalLease, tr.HoldEndDate, tr.UpdatedAt, offer)
	}
}
