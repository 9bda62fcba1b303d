package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/callback"
	"github.com/jetonhq/jeton/sqlstore"
)

// The withdrawals benchmark drives the jeton binary (`jeton serve` in
// sandbox mode, as shipped) over real HTTP at a fixed rate, open loop,
// with the receiver as the merchant backend answering approval calls 200
// {} at once. For every withdrawal it measures:
//
//	(a) request arrival at jeton -> approval call arrival at the merchant.
//	    Arrival at jeton is read from jeton's own access log (its JSON
//	    "time" minus "duration": when the handler chain began).
//	(b) the merchant's approval answer (written and flushed) -> PENDING in
//	    the store: the PENDING event's time in trade_events (the trade's
//	    updatedAt, microseconds; taken after the answer was read and the
//	    attempt recorded, just before the PENDING transaction). Two
//	    bracketing figures go with it: the sandbox offer's created_at (the
//	    first thing stamped after the PENDING transaction committed) and
//	    the arrival of the PENDING status callback at the merchant.
//
// All times are CLOCK_REALTIME of processes on the same machine.

type wdConfig struct {
	rate        int
	duration    time.Duration
	warmup      time.Duration
	users       int
	jetonBin    string
	profileDir  string
	stamp       string
	acceptAfter string
}

type wdResult struct {
	backend      string
	rate         int
	sent, ok     int
	errs         map[string]int
	sendWall     time.Duration
	achieved     float64 // requests sent per second
	floorN       int
	floorOneWay  dist
	floorRTT     dist
	floorBack    dist
	aJeton       dist    // request arrival at jeton -> approval arrival
	aClient      dist    // request sent by the client -> approval arrival
	aCreate      dist    // request arrival -> trade created (INITIATED event time)
	aAfterCreate dist    // trade created -> approval arrival
	bUpdated     dist    // approval answer -> PENDING event time (updatedAt)
	bOffer       dist    // approval answer -> sandbox offer created (after the PENDING commit)
	bCallback    dist    // approval answer -> PENDING status callback arrival
	respLat      dist    // withdraw request: client send -> response
	approvalRate float64 // approval calls per second jeton made during the run
	missing      map[string]int
	cpu          cpuUse // self = generator, procs[0] = jeton, procs[1] = receiver
	cpuN         int
	logWarn      int
	profiles     []string
}

// jetonProc is a running `jeton serve`.
type jetonProc struct {
	cmd       *exec.Cmd
	base      string
	pprof     string
	stderr    string
	storeArgs []string
	env       []string
}

func storeFlags(backend, dir string, pg *pgDatabase) []string {
	if backend == "postgres" {
		return []string{"--database-url", pg.url}
	}
	return []string{"--data", dir}
}

// cli runs one jeton admin command and returns its stdout.
func cli(ctx context.Context, bin string, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("jeton %s: %w: %s%s", strings.Join(args[:2], " "), err, out, stderr.Bytes())
	}
	return out, nil
}

// waitLog waits for a JSON log line with msg in path and returns it.
func waitLog(path, msg string, deadline time.Time) (map[string]any, error) {
	for {
		b, _ := os.ReadFile(path)
		for _, l := range bytes.Split(b, []byte("\n")) {
			var m map[string]any
			if json.Unmarshal(l, &m) == nil && m["msg"] == msg {
				return m, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no %q in %s: %s", msg, path, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func startJeton(p *procs, bin, work, name string, storeArgs, env []string, acceptAfter string, profile bool) (*jetonProc, error) {
	j := &jetonProc{stderr: filepath.Join(work, name+".err"), storeArgs: storeArgs, env: env}
	out, err := os.Create(filepath.Join(work, name+".out"))
	if err != nil {
		return nil, err
	}
	errf, err := os.Create(j.stderr)
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--access-log", "--log-format", "json",
		"--sandbox-accept-after", acceptAfter}, storeArgs...)
	if profile {
		args = append(args, "--pprof-addr", "127.0.0.1:0")
	}
	j.cmd, err = p.start(bin, args, env, nil, out, errf)
	if err != nil {
		return nil, err
	}
	m, err := waitLog(j.stderr, "jeton listening", time.Now().Add(30*time.Second))
	if err != nil {
		p.stop(j.cmd)
		return nil, err
	}
	j.base = "http://" + fmt.Sprint(m["addr"])
	if profile {
		if m, err := waitLog(j.stderr, "pprof listening", time.Now().Add(5*time.Second)); err == nil {
			j.pprof = "http://" + fmt.Sprint(m["addr"])
		}
	}
	return j, nil
}

// listing is a market listing a withdrawal names.
type listing struct {
	ID     string `json:"id"`
	Market int    `json:"market"`
	Offer  struct {
		Price     json.RawMessage `json:"price"`
		Reference string          `json:"reference"`
	} `json:"offer"`
}

type apiReply struct {
	Success bool            `json:"success"`
	Data    json.RawMessage `json:"data"`
	Error   *struct {
		Key string `json:"key"`
	} `json:"error"`
}

func call(ctx context.Context, c *http.Client, method, url string, hdr map[string]string, body []byte, into any) (*http.Response, apiReply, error) {
	var rep apiReply
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return nil, rep, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, rep, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp, rep, err
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		return resp, rep, fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, raw)
	}
	if !rep.Success {
		return resp, rep, fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, raw)
	}
	if into != nil {
		err = json.Unmarshal(rep.Data, into)
	}
	return resp, rep, err
}

// openLoop calls fn(i) for i < n, starting call i at start + i/rate
// whether or not earlier calls have returned, and stops starting calls
// after limit. It returns when every started call has returned.
func openLoop(ctx context.Context, n, rate int, limit time.Duration, fn func(i int)) (started int, wall time.Duration) {
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > 0 {
			time.Sleep(d)
		}
		if ctx.Err() != nil || time.Since(start) > limit {
			break
		}
		started++
		wg.Add(1)
		go func() { defer wg.Done(); fn(i) }()
	}
	wall = time.Since(start)
	wg.Wait()
	return started, wall
}

// sent is what the generator saw of one withdrawal.
type sent struct {
	at, resp  time.Time
	status    int
	requestID string
	tradeID   string
	errKey    string
}

func runWithdrawals(ctx context.Context, cfg wdConfig, backend, work string, pg *pgDatabase, p *procs, say func(string, ...any)) (*wdResult, error) {
	res := &wdResult{backend: backend, rate: cfg.rate, errs: map[string]int{}, missing: map[string]int{}}
	rerr, err := os.Create(filepath.Join(work, "receiver-wd-"+backend+".err"))
	if err != nil {
		return nil, err
	}
	defer rerr.Close()
	rp, rclose, err := startReceiver(p, true, rerr)
	if err != nil {
		return nil, err
	}
	defer rclose.Close()

	dir := filepath.Join(work, "withdrawals-"+backend)
	env := cleanEnv()
	if backend == "postgres" {
		k := make([]byte, 32)
		_, _ = rand.Read(k)
		env = cleanEnv("JETON_MASTER_KEY=" + hex.EncodeToString(k))
	}
	sf := storeFlags(backend, dir, pg)
	out, err := cli(ctx, cfg.jetonBin, env, append([]string{"merchant", "create", "--name", "bench withdrawals", "--json"}, sf...)...)
	if err != nil {
		return nil, err
	}
	var m struct {
		MerchantID string `json:"merchantId"`
		APIKey     string `json:"apiKey"`
	}
	if err := json.Unmarshal(out, &m); err != nil || m.APIKey == "" {
		return nil, fmt.Errorf("merchant create printed %s", out)
	}
	cbURL := rp.base + "/callbacks"
	if _, err := cli(ctx, cfg.jetonBin, env, append([]string{"merchant", "set-callback", "--merchant", m.MerchantID, "--url", cbURL, "--json"}, sf...)...); err != nil {
		return nil, err
	}
	j, err := startJeton(p, cfg.jetonBin, work, "jeton-wd-"+backend, sf, env, cfg.acceptAfter, cfg.profileDir != "")
	if err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			p.stop(j.cmd)
		}
	}()
	jpid := j.cmd.Process.Pid
	say("withdrawals %s: jeton serve at %s (pid %d), merchant backend at %s", backend, j.base, jpid, rp.base)

	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 1024
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	// Users: one client token each.
	toks := make([]string, cfg.users)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var authErr error
	sem := make(chan struct{}, 8)
	for i := range toks {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			id := uint64(76561198000000000) + uint64(i)
			body := fmt.Sprintf(`{"clientSteamId":"%d","clientTradeUrl":"https://steamcommunity.com/tradeoffer/new/?partner=%d&token=AbCdEfGh","clientId":"bench-%d"}`,
				id, id-76561197960265728, i)
			var d struct {
				Token string `json:"token"`
			}
			_, _, err := call(ctx, client, "POST", j.base+"/auth/authenticate-client", map[string]string{"api-key": m.APIKey}, []byte(body), &d)
			mu.Lock()
			if err != nil && authErr == nil {
				authErr = err
			}
			toks[i] = "Bearer " + d.Token
			mu.Unlock()
		}()
	}
	wg.Wait()
	if authErr != nil {
		return nil, authErr
	}
	var market struct {
		Items []listing `json:"items"`
	}
	if _, _, err := call(ctx, client, "GET", j.base+"/client/market?perPage=20&sort=priceAsc&game=730", map[string]string{"Authorization": toks[0]}, nil, &market); err != nil {
		return nil, err
	}
	if len(market.Items) == 0 {
		return nil, errors.New("the sandbox market listed nothing")
	}
	body := func(phase string, i int) []byte {
		l := market.Items[i%len(market.Items)]
		return fmt.Appendf(nil, `{"items":[{"itemId":%q,"market":%d,"offer":{"price":%s,"reference":%q}}],"game":"730","externalId":"%s-%d"}`,
			l.ID, l.Market, l.Offer.Price, l.Offer.Reference, phase, i)
	}
	withdraw := func(phase string, i int, s *sent) {
		req, _ := http.NewRequestWithContext(ctx, "POST", j.base+"/client/trading/withdraw", bytes.NewReader(body(phase, i)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", toks[i%len(toks)])
		s.at = time.Now()
		resp, err := client.Do(req)
		if err != nil {
			s.errKey = "transport: " + err.Error()
			return
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		s.resp = time.Now()
		s.status, s.requestID = resp.StatusCode, resp.Header.Get("X-Request-Id")
		var rep struct {
			Success bool `json:"success"`
			Data    struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			} `json:"data"`
			Error *struct {
				Key string `json:"key"`
			} `json:"error"`
		}
		_ = json.Unmarshal(raw, &rep)
		switch {
		case rep.Success && rep.Data.ID != "":
			s.tradeID = rep.Data.ID
		case rep.Error != nil:
			s.errKey = rep.Error.Key
		default:
			s.errKey = fmt.Sprintf("HTTP %d", resp.StatusCode)
		}
	}
	n := int(float64(cfg.rate) * cfg.duration.Seconds())

	// Floor: a plain POST of an approval-sized body to the same merchant
	// backend, at the same rate, answered as approvals are.
	say("withdrawals %s: floor, %d POSTs to the merchant backend at %d/s", backend, n, cfg.rate)
	floorBody, err := approvalSizedBody(m.MerchantID)
	if err != nil {
		return nil, err
	}
	floorSent := make([]sent, n)
	if err := rp.reset(); err != nil {
		return nil, err
	}
	started, _ := openLoop(ctx, n, cfg.rate, cfg.duration+5*time.Second, func(i int) {
		req, _ := http.NewRequestWithContext(ctx, "POST", rp.base+"/floor", bytes.NewReader(floorBody))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Bench-Seq", itoa(i))
		s := &floorSent[i]
		s.at = time.Now()
		resp, err := client.Do(req)
		if err != nil {
			s.errKey = err.Error()
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		s.resp = time.Now()
		s.status = resp.StatusCode
	})
	evs, err := rp.events()
	if err != nil {
		return nil, err
	}
	for _, e := range evs {
		if e.Kind != "floor" {
			continue
		}
		var i int
		if _, err := fmt.Sscan(e.Ext, &i); err != nil || i < 0 || i >= started || floorSent[i].status != 200 {
			continue
		}
		s := floorSent[i]
		res.floorOneWay = append(res.floorOneWay, unixNano(e.Arrive).Sub(s.at))
		res.floorRTT = append(res.floorRTT, s.resp.Sub(s.at))
		res.floorBack = append(res.floorBack, s.resp.Sub(unixNano(e.Answer)))
	}
	res.floorN = len(res.floorRTT)

	// Warm-up at the same rate.
	if cfg.warmup > 0 {
		wn := int(float64(cfg.rate) * cfg.warmup.Seconds())
		say("withdrawals %s: warm-up, %d withdrawals at %d/s", backend, wn, cfg.rate)
		ws := make([]sent, wn)
		openLoop(ctx, wn, cfg.rate, cfg.warmup+5*time.Second, func(i int) { withdraw("warm", i, &ws[i]) })
		okw := 0
		for _, s := range ws {
			if s.tradeID != "" {
				okw++
			}
		}
		if okw == 0 {
			return nil, fmt.Errorf("warm-up: no withdrawal succeeded (first: %+v)", ws[0])
		}
		time.Sleep(3 * time.Second) // let the warm-up trades reach PENDING and ACTIVE
	}
	if err := rp.resetPrefix("wd-"); err != nil {
		return nil, err
	}

	// Measured run.
	say("withdrawals %s: measuring, %d withdrawals at %d/s (open loop)", backend, n, cfg.rate)
	var prof chan string
	if j.pprof != "" {
		prof = make(chan string, 1)
		go func() {
			path := filepath.Join(cfg.profileDir, "withdrawals-jeton-"+backend+"-"+cfg.stamp+".pprof")
			if err := fetchProfile(j.pprof, cfg.duration, path); err != nil {
				say("profile: %v", err)
				path = ""
			}
			prof <- path
		}()
	}
	ss := make([]sent, n)
	a := takeSnap(jpid, rp.pid)
	started, res.sendWall = openLoop(ctx, n, cfg.rate, cfg.duration+5*time.Second, func(i int) { withdraw("wd", i, &ss[i]) })
	res.sent = started
	res.achieved = float64(started) / res.sendWall.Seconds()
	ok := map[string]int{} // trade id -> index
	for i := range started {
		s := ss[i]
		if s.tradeID != "" {
			ok[s.tradeID] = i
		} else {
			res.errs[s.errKey]++
		}
	}
	res.ok = len(ok)
	// Wait for every approval call and the PENDING and ACTIVE callbacks
	// (ACTIVE follows the sandbox offer, so every offer then exists).
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := rp.stats()
		if err != nil {
			return nil, err
		}
		n := int64(res.ok)
		if st.Approvals >= n && st.Statuses["PENDING"] >= n && st.Statuses["ACTIVE"] >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	b := takeSnap(jpid, rp.pid)
	res.cpu, res.cpuN = between(a, b), res.ok
	if prof != nil {
		if path := <-prof; path != "" {
			res.profiles = append(res.profiles, path)
		}
	}
	evs, err = rp.events()
	if err != nil {
		return nil, err
	}
	stopAt := time.Now()
	p.stop(j.cmd)
	stopped = true

	// Request arrival at jeton, from its access log.
	arrive := map[string]time.Time{}
	lf, err := os.Open(j.stderr)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(lf)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l struct {
			Time      time.Time `json:"time"`
			Level     string    `json:"level"`
			Msg       string    `json:"msg"`
			RequestID string    `json:"requestId"`
			Route     string    `json:"route"`
			Duration  int64     `json:"duration"`
		}
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue
		}
		// Warnings from the shutdown (deliveries cut short) do not count.
		if (l.Level == "WARN" || l.Level == "ERROR") && l.Time.Before(stopAt) {
			res.logWarn++
		}
		if l.Msg == "request" && l.Route == "POST /client/trading/withdraw" {
			arrive[l.RequestID] = l.Time.Add(-time.Duration(l.Duration))
		}
	}
	lf.Close()

	// The merchant backend's view.
	approval := map[string]event{} // trade id -> first approval call
	pending := map[string]event{}  // trade id -> PENDING callback
	for _, e := range evs {
		if _, mine := ok[e.Trade]; !mine {
			continue
		}
		switch {
		case e.Kind == "approval":
			if _, seen := approval[e.Trade]; !seen {
				approval[e.Trade] = e
			}
		case e.Kind == "status" && e.Event == "PENDING":
			pending[e.Trade] = e
		}
	}

	// The store's view.
	db, err := sqlstore.Open(ctx, func() string {
		if pg != nil && backend == "postgres" {
			return pg.url
		}
		return ""
	}(), dir)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	for id, i := range ok {
		s := ss[i]
		res.respLat = append(res.respLat, s.resp.Sub(s.at))
		ap, hasAp := approval[id]
		if !hasAp {
			res.missing["approval call"]++
			continue
		}
		apAt := unixNano(ap.Arrive)
		res.aClient = append(res.aClient, apAt.Sub(s.at))
		if in, has := arrive[s.requestID]; has {
			res.aJeton = append(res.aJeton, apAt.Sub(in))
			if evs, err := db.TradeEvents(ctx, id); err == nil {
				for _, ev := range evs {
					switch ev.Status {
					case jeton.StatusInitiated:
						res.aCreate = append(res.aCreate, ev.At.Sub(in))
						res.aAfterCreate = append(res.aAfterCreate, apAt.Sub(ev.At))
					case jeton.StatusPending:
						res.bUpdated = append(res.bUpdated, ev.At.Sub(unixNano(ap.Answer)))
					}
				}
			}
		} else {
			res.missing["access log line"]++
		}
		if t, err := db.TradeAny(ctx, id); err == nil && t.OfferID != nil {
			if o, err := db.SandboxOffer(ctx, *t.OfferID); err == nil {
				res.bOffer = append(res.bOffer, o.CreatedAt.Sub(unixNano(ap.Answer)))
			}
		} else {
			res.missing["offer"]++
		}
		if pe, has := pending[id]; has {
			res.bCallback = append(res.bCallback, unixNano(pe.Arrive).Sub(unixNano(ap.Answer)))
		} else {
			res.missing["PENDING callback"]++
		}
	}
	var first, last int64
	for _, e := range approval {
		if first == 0 || e.Arrive < first {
			first = e.Arrive
		}
		if e.Arrive > last {
			last = e.Arrive
		}
	}
	if len(approval) > 1 && last > first {
		res.approvalRate = float64(len(approval)-1) / (float64(last-first) / 1e9)
	}
	if len(res.bUpdated) < len(res.aJeton) {
		res.missing["PENDING event"] += len(res.aJeton) - len(res.bUpdated)
	}
	for _, d := range []*dist{&res.floorOneWay, &res.floorRTT, &res.floorBack, &res.aJeton, &res.aClient, &res.aCreate,
		&res.aAfterCreate, &res.bUpdated, &res.bOffer, &res.bCallback, &res.respLat} {
		*d = d.sorted()
	}
	return res, nil
}

// approvalSizedBody is a callback body as large as an approval call's.
func approvalSizedBody(merchantID string) ([]byte, error) {
	t := benchTrade(merchantID, 0, time.Now().UTC())
	t.Type, t.PreCredit, t.PendingCredit, t.IsInstant, t.Collateral = jeton.Withdraw, nil, nil, nil, nil
	ext := "wd-0000"
	t.ExternalID = &ext
	raw, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	return callback.Body(raw, string(t.Status), t.UpdatedAt, secret)
}

func fetchProfile(base string, d time.Duration, path string) error {
	c := &http.Client{Timeout: d + 30*time.Second}
	resp, err := c.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, int(d.Seconds())))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("pprof: HTTP %d", resp.StatusCode)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
