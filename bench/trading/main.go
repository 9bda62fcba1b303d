// Command trading runs jeton's two trading benchmarks on 127.0.0.1, each
// against a floor measured in the same run, bounded in count and time:
//
//	callbacks    status callbacks delivered per second, end to end: stored
//	             in the same transaction as a trade change, claimed and
//	             delivered by jeton's callback dispatcher to a merchant
//	             backend (a separate process answering 200 at once),
//	             attempts recorded. Floor: raw POSTs of the same bodies to
//	             the same backend with the same concurrency.
//	withdrawals  jeton's latency at a fixed withdrawal rate against `jeton
//	             serve` in sandbox mode over real HTTP: request arrival to
//	             the approval call at the merchant, and the merchant's answer
//	             to PENDING. Floor: a plain POST to the same backend.
//
// Run from the module root:
//
//	go run ./bench/trading                      # SQLite
//	JETON_BENCH_DATABASE_URL='postgres://...' go run ./bench/trading
//
// See bench/README.md, section "Trading benchmarks".
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Targets (issue 3).
const (
	targetCallbacksSQLite   = 2000 // callbacks/s
	targetCallbacksPostgres = 5000
	targetWithdrawP99       = 10 * time.Millisecond
	targetWithdrawRate      = 500 // withdrawals/s
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "receiver" {
		runReceiver(os.Args[2:])
		return
	}
	os.Exit(run())
}

func run() int {
	var (
		benches    = flag.String("bench", "callbacks,withdrawals", "benchmarks to run (comma-separated)")
		backendsF  = flag.String("backends", "", "sqlite,postgres (default: sqlite, and postgres when JETON_BENCH_DATABASE_URL or JETON_TEST_DATABASE_URL is set)")
		n          = flag.Int("callbacks", 20000, "callbacks per measured callbacks run (streaming and backlog each)")
		warmup     = flag.Int("callbacks-warmup", 1000, "callbacks of the warm-up (and of the floor's warm-up)")
		producers  = flag.Int("producers", 16, "goroutines writing trade changes in the callbacks benchmark")
		rates      = flag.String("rate", "500", "withdrawals per second, open loop (a comma-separated list runs each)")
		duration   = flag.Duration("duration", 10*time.Second, "measured withdrawal run")
		wdWarmup   = flag.Duration("warmup", 2*time.Second, "withdrawal warm-up at the same rate (0 = none)")
		users      = flag.Int("users", 200, "distinct clients making withdrawals")
		accept     = flag.String("sandbox-accept-after", "2s", "jeton serve --sandbox-accept-after (its default)")
		jetonBin   = flag.String("jeton", "", "jeton binary to run (default: built from this module into a temp dir)")
		profileDir = flag.String("cpuprofile-dir", "", "write CPU profiles of the measured runs here")
		outF       = flag.String("out", "", `results file (default bench/results-trading-<UTC date-time>.txt; "-" = stdout only)`)
		limit      = flag.Duration("timeout", 15*time.Minute, "stop everything after this long")
		strict     = flag.Bool("strict", false, "exit 1 when a target is missed")
		keep       = flag.Bool("keep", false, "keep the work directory (logs, databases) and print its path")
	)
	flag.Parse()
	say := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "[trading %s] %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	fail := func(err error) int { say("error: %v", err); return 2 }
	var rateList []int
	for _, s := range strings.Split(*rates, ",") {
		var r int
		if _, err := fmt.Sscan(strings.TrimSpace(s), &r); err != nil || r <= 0 {
			return fail(fmt.Errorf("-rate %q: want positive integers", *rates))
		}
		rateList = append(rateList, r)
	}
	if *n <= 0 || *warmup <= 0 || *producers <= 0 || *users <= 0 || *duration <= 0 {
		return fail(fmt.Errorf("-callbacks, -callbacks-warmup, -producers, -users and -duration must be positive"))
	}
	// As `jeton serve` does, unless GOGC says otherwise.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	root, err := moduleRoot()
	if err != nil {
		return fail(err)
	}
	stamp := time.Now().UTC().Format("20060102-150405")
	out := *outF
	if out == "" {
		out = filepath.Join(root, "bench", "results-trading-"+stamp+".txt")
	}
	pgAdmin := os.Getenv("JETON_BENCH_DATABASE_URL")
	if pgAdmin == "" {
		pgAdmin = os.Getenv("JETON_TEST_DATABASE_URL")
	}
	var backends []string
	if *backendsF == "" {
		backends = []string{"sqlite"}
		if pgAdmin != "" {
			backends = append(backends, "postgres")
		}
	} else {
		backends = strings.Split(*backendsF, ",")
	}
	for _, b := range backends {
		if b != "sqlite" && b != "postgres" {
			return fail(fmt.Errorf("unknown backend %q", b))
		}
		if b == "postgres" && pgAdmin == "" {
			return fail(fmt.Errorf("postgres needs JETON_BENCH_DATABASE_URL or JETON_TEST_DATABASE_URL"))
		}
	}
	want := map[string]bool{}
	for _, b := range strings.Split(*benches, ",") {
		want[strings.TrimSpace(b)] = true
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *limit)
	defer cancel()
	var p procs
	defer p.stopAll()
	work, err := os.MkdirTemp("", "jeton-trading-bench.")
	if err != nil {
		return fail(err)
	}
	defer func() {
		if *keep {
			say("work directory kept: %s", work)
			return
		}
		os.RemoveAll(work)
	}()
	if *profileDir != "" {
		if err := os.MkdirAll(*profileDir, 0o755); err != nil {
			return fail(err)
		}
	}
	// A watchdog: whatever happens, the run ends.
	go func() {
		<-ctx.Done()
		time.Sleep(30 * time.Second)
		say("still running 30 s after the deadline or signal; stopping children and exiting")
		p.stopAll()
		os.Exit(3)
	}()

	rep := &report{stamp: stamp, backends: backends}
	rep.commit = sourceCommit(root)
	rep.digest, _ = sourceDigest(root)
	rep.background = background(2 * time.Second)
	say("background load: %.2f cores busy before the runs", rep.background)
	if pgAdmin != "" && contains(backends, "postgres") {
		rep.pgVersion = pgVersion(ctx, pgAdmin)
	}
	// onBackend runs one benchmark on backend b: on PostgreSQL in a fresh
	// database named after kind, dropped afterwards. On failure it shows
	// the end of logPath.
	onBackend := func(b, kind, logPath string, run func(pg *pgDatabase) error) error {
		var pg *pgDatabase
		if b == "postgres" {
			var err error
			pg, err = createPG(ctx, pgAdmin, fmt.Sprintf("jeton_bench_%s_%s_%d", kind, strings.ReplaceAll(stamp, "-", "_"), os.Getpid()))
			if err != nil {
				return err
			}
		}
		err := run(pg)
		if derr := pg.drop(); derr != nil {
			say("drop database: %v", derr)
		}
		if err != nil {
			printTail(logPath, say)
		}
		return err
	}

	if want["callbacks"] {
		rerr, err := os.Create(filepath.Join(work, "receiver-callbacks.err"))
		if err != nil {
			return fail(err)
		}
		rp, rclose, err := startReceiver(&p, false, rerr)
		if err != nil {
			return fail(err)
		}
		cfg := cbConfig{n: *n, warmup: *warmup, producers: *producers, concurrency: callbackWorkers, profileDir: *profileDir, stamp: stamp}
		rep.cb = cfg
		for _, b := range backends {
			err := onBackend(b, "cb", filepath.Join(work, "callbacks-"+b+".log"), func(pg *pgDatabase) error {
				r, err := runCallbacks(ctx, cfg, b, work, pg, rp, say)
				if err == nil {
					rep.callbacks = append(rep.callbacks, r)
				}
				return err
			})
			if err != nil {
				return fail(err)
			}
		}
		rclose.Close()
		rerr.Close()
	}

	if want["withdrawals"] {
		bin := *jetonBin
		if bin == "" {
			bin = filepath.Join(work, "jeton")
			say("building jeton")
			cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/jeton")
			cmd.Dir, cmd.Stdout, cmd.Stderr = root, os.Stderr, os.Stderr
			if err := cmd.Run(); err != nil {
				return fail(fmt.Errorf("go build ./cmd/jeton: %w", err))
			}
		}
		cfg := wdConfig{duration: *duration, warmup: *wdWarmup, users: *users, jetonBin: bin,
			profileDir: *profileDir, stamp: stamp, acceptAfter: *accept}
		rep.wd = cfg
		for _, rate := range rateList {
			cfg.rate = rate
			for _, b := range backends {
				err := onBackend(b, "wd", filepath.Join(work, "jeton-wd-"+b+".err"), func(pg *pgDatabase) error {
					r, err := runWithdrawals(ctx, cfg, b, work, pg, &p, say)
					if err == nil {
						rep.withdrawals = append(rep.withdrawals, r)
					}
					return err
				})
				if err != nil {
					return fail(err)
				}
			}
		}
	}

	var w io.Writer = os.Stdout
	var f *os.File
	if out != "-" {
		if f, err = os.Create(out); err != nil {
			return fail(err)
		}
		w = io.MultiWriter(os.Stdout, f)
	}
	missed := rep.write(w)
	if f != nil {
		f.Close()
		say("results written to %s", out)
	}
	if missed && *strict {
		return 1
	}
	return 0
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func printTail(path string, say func(string, ...any)) {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	say("tail of %s:\n%s", path, b)
}

// ------------------------------------------------------------ report

type report struct {
	stamp, commit, digest, pgVersion string
	background                       float64
	backends                         []string
	cb                               cbConfig
	wd                               wdConfig
	callbacks                        []*cbResult
	withdrawals                      []*wdResult
}

func (r *report) write(w io.Writer) (missed bool) {
	pf := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	pf("jeton trading benchmarks (%s)\n\n", time.Now().UTC().Format(time.RFC3339))
	pf("machine     %d cores (%s), %s, %s\n", runtime.NumCPU(), cpuModel(), memTotal(), kernel())
	pf("go          %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	pf("source      %s; sha256 of the module's .go files (bench/ excluded): %s\n", r.commit, r.digest)
	pf("background  %.2f of %d cores busy during the 2 s before the first run (0 = quiet machine)\n", r.background, len(nprocsOnline()))
	pf("processes   GOMAXPROCS unset everywhere; jeton, the merchant backend, the generator%s share the same cores\n",
		map[bool]string{true: " and PostgreSQL " + r.pgVersion, false: ""}[r.pgVersion != ""])
	pf("\n")
	target := func(ok bool, format string, args ...any) {
		s := "PASS"
		if !ok {
			s, missed = "FAIL", true
		}
		pf("  %s  %s\n", s, fmt.Sprintf(format, args...))
	}

	if len(r.callbacks) > 0 {
		pf("== callbacks: status callbacks delivered per second, end to end\n\n")
		pf("pipeline    in this process, wired as cmd/jeton/app.go wireTrading: sqlstore, credential, callback.Service,\n")
		pf("            the callback dispatcher (Workers %d, claims of up to 256, woken by the store's commits); GOGC 400 as jeton serve\n", callbackWorkers)
		pf("enqueue     %d producers; each callback is one sqlstore.CreateTrade transaction (a deposit at INITIATED with its\n", r.cb.producers)
		pf("            callback row, from callback.Status), as the engine writes them\n")
		pf("receiver    a separate process on 127.0.0.1: reads the body, counts signed calls and delivery ids, answers 200\n")
		pf("floor       raw POSTs of the same bodies and headers to the same receiver from %d goroutines, with jeton's client settings\n", r.cb.concurrency)
		pf("runs        %d callbacks each after a %d-callback warm-up; body %d bytes\n\n", r.cb.n, r.cb.warmup, r.callbacks[0].bodyBytes)
		pf("%-9s %10s %12s %8s %12s %12s %8s %12s\n", "backend", "floor/s", "streaming/s", "x floor", "enqueue/s", "backlog/s", "x floor", "durable s")
		for _, c := range r.callbacks {
			pf("%-9s %10.0f %12.0f %8.3f %12.0f %12.0f %8.3f %12.2f\n", c.backend, c.floorRate, c.streamRate, c.streamRate/c.floorRate,
				c.streamEnq, c.backlogRate, c.backlogRate/c.floorRate, c.durableWall.Seconds())
		}
		pf("\nstreaming   N / (last receipt - first enqueue): producers enqueue while the workers deliver; bound by the producers' trade transactions\n")
		pf("enqueue/s   the producers' commit rate during the streaming run\n")
		pf("backlog/s   N stored with the workers stopped (at the 'backlog enqueue' rate), then N / (last receipt - worker start):\n")
		pf("            the delivery rate, against the floor's (the targets)\n")
		pf("durable s   first enqueue -> every streamed callback delivered in the store, its attempt recorded, nothing left due\n\n")
		pf("where the CPU went, in cores (of %d), and CPU microseconds per callback\n", len(nprocsOnline()))
		pf("%-9s %-10s %6s %8s %8s %6s %6s %12s %12s %12s\n", "backend", "run", "jeton", "receiver", "postgres", "other", "idle", "jeton us/cb", "recv us/cb", "pg us/cb")
		for _, c := range r.callbacks {
			for _, x := range []struct {
				name string
				u    cpuUse
			}{{"floor", c.floorCPU}, {"streaming", c.streamCPU}, {"backlog", c.backlogCPU}} {
				pf("%-9s %-10s %6.2f %8.2f %8.2f %6.2f %6.2f %12.1f %12.1f %12.1f\n", c.backend, x.name, x.u.self, x.u.procs[0], x.u.pg, x.u.other, x.u.idle,
					perOp(x.u.self, x.u.wall, c.n), perOp(x.u.procs[0], x.u.wall, c.n), perOp(x.u.pg, x.u.wall, c.n))
			}
		}
		pf("(floor rows: the jeton column is the raw sender)\n")
		pf("backlog enqueue/s: ")
		for i, c := range r.callbacks {
			if i > 0 {
				pf(", ")
			}
			pf("%s %.0f", c.backend, c.backlogEnq)
		}
		pf("\nchecks: ")
		for i, c := range r.callbacks {
			if i > 0 {
				pf("; ")
			}
			pf("%s: %d callbacks delivered in the store, %d delivered attempts, %d of %d callbacks settled, %d duplicate receipts, %d jeton warnings",
				c.backend, c.delivered, c.attempts, c.settled, c.stored, c.dups, c.warnings)
		}
		pf("\nconnections: ")
		for i, c := range r.callbacks {
			if i > 0 {
				pf("; ")
			}
			pf("%s: the receiver accepted %d TCP connections in the floor run, %d streaming, %d backlog; %d failed delivery attempts (retried on the schedule), %d floor requests retried after a transport error",
				c.backend, c.floorConns, c.streamConns, c.backlogConns, c.failedAttempts, c.floorRetried)
		}
		pf("\n\ntargets\n")
		for _, c := range r.callbacks {
			t := float64(targetCallbacksSQLite)
			if c.backend == "postgres" {
				t = targetCallbacksPostgres
			}
			target(c.backlogRate >= t, "callbacks on %s >= %.0f/s delivered end to end (stored -> claimed -> signed POST -> receipt -> attempt recorded): %.0f/s",
				c.backend, t, c.backlogRate)
			lag := c.durableWall - time.Duration(float64(r.cb.n)/c.streamEnq*float64(time.Second))
			pf("  (info) streaming on %s: %.0f/s = the producers' commit rate (%.0f/s); every callback delivered and recorded %.0f ms after the last commit\n",
				c.backend, c.streamRate, c.streamEnq, float64(lag.Microseconds())/1000)
			total := int64(r.cb.warmup + 2*r.cb.n)
			target(c.delivered == total && c.settled == total && c.attempts == total && c.dups == 0,
				"callbacks on %s: every callback delivered once, recorded and settled (%d/%d)", c.backend, c.delivered, total)
		}
		for _, c := range r.callbacks {
			for _, p := range c.profiles {
				pf("profile     %s\n", p)
			}
		}
		pf("\n")
	}

	if len(r.withdrawals) > 0 {
		pf("== withdrawals: jeton's latency at a fixed withdrawal rate (target: at %d/s)\n\n", targetWithdrawRate)
		pf("server      jeton serve (sandbox mode, --sandbox-accept-after %s, --access-log --log-format json), built from this tree\n", r.wd.acceptAfter)
		pf("load        open loop at the rate shown for %s after a %s warm-up at that rate, %d clients, each withdrawal one cheapest listing\n", r.wd.duration, r.wd.warmup, r.wd.users)
		pf("merchant    a separate process on 127.0.0.1 answering each approval 200 {} at once (written and flushed)\n\n")
		for _, x := range r.withdrawals {
			pf("-- %s at %d/s: %d sent in %.2f s (%.0f/s), %d accepted; errors: %s; not measured: %s; jeton warnings/errors logged: %d\n",
				x.backend, x.rate, x.sent, x.sendWall.Seconds(), x.achieved, x.ok, counts(x.errs), counts(x.missing), x.logWarn)
			pf("   jeton made the approval calls at %.0f/s (first to last)\n", x.approvalRate)
			pf("%-62s %7s %7s %7s %7s %7s\n", "latency, ms", "n", "p50", "p90", "p99", "max")
			row := func(name string, d dist) {
				pf("%-62s %7d %7s %7s %7s %7s\n", name, len(d), ms(d.q(0.5)), ms(d.q(0.9)), ms(d.q(0.99)), ms(d.q(1)))
			}
			row("floor: POST to the merchant, sent -> arrived (one way)", x.floorOneWay)
			row("floor: POST to the merchant, round trip", x.floorRTT)
			row("floor: answer written -> response read by the sender", x.floorBack)
			row("(a) request arrived at jeton -> approval call at merchant", x.aJeton)
			row("    of which: arrived -> trade created (INITIATED time)", x.aCreate)
			row("    of which: trade created -> approval call at merchant", x.aAfterCreate)
			row("(a') request sent by client -> approval call at merchant", x.aClient)
			row("(b) approval answered -> PENDING (trade updatedAt)", x.bUpdated)
			row("(b+) approval answered -> sandbox offer created (after commit)", x.bOffer)
			row("(b') approval answered -> PENDING callback at merchant", x.bCallback)
			row("withdraw request round trip at the client", x.respLat)
			u := x.cpu
			pf("CPU over %.1f s, cores: jeton %.2f, merchant %.2f, generator %.2f, postgres %.2f, other %.2f, idle %.2f;\n",
				u.wall.Seconds(), u.procs[0], u.procs[1], u.self, u.pg, u.other, u.idle)
			pf("  per withdrawal: jeton %.0f us, postgres %.0f us\n\n", perOp(u.procs[0], u.wall, x.cpuN), perOp(u.pg, u.wall, x.cpuN))
		}
		pf("targets (p99 <= %s at %d/s; runs at other rates are diagnostics and checked against the same bound)\n", targetWithdrawP99, targetWithdrawRate)
		for _, x := range r.withdrawals {
			target(len(x.aJeton) > 0 && x.aJeton.q(0.99) <= targetWithdrawP99, "withdrawals on %s at %d/s (a) request -> approval call p99: %s ms", x.backend, x.rate, ms(x.aJeton.q(0.99)))
			target(len(x.bUpdated) > 0 && x.bUpdated.q(0.99) <= targetWithdrawP99, "withdrawals on %s at %d/s (b) approval answer -> PENDING p99: %s ms", x.backend, x.rate, ms(x.bUpdated.q(0.99)))
			target(x.ok == x.sent, "withdrawals on %s at %d/s: every request accepted (%d/%d)", x.backend, x.rate, x.ok, x.sent)
		}
		for _, x := range r.withdrawals {
			for _, p := range x.profiles {
				pf("profile     %s\n", p)
			}
		}
	}
	return missed
}

// counts prints a map of counts in key order, "none" when empty.
func counts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", k, m[k])
	}
	return b.String()
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func memTotal() string {
	b, _ := os.ReadFile("/proc/meminfo")
	var kb float64
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "MemTotal:") {
			fmt.Sscan(strings.TrimPrefix(l, "MemTotal:"), &kb)
		}
	}
	return fmt.Sprintf("%.1f GiB", kb/1048576)
}

func kernel() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return "Linux " + strings.TrimSpace(string(b))
}
