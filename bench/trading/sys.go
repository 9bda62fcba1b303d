package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ------------------------------------------------------------ CPU accounting

// clkTck is USER_HZ, the unit of /proc's CPU times (100 on Linux).
const clkTck = 100

// cpuSnap is the machine's and some processes' CPU times at one moment.
type cpuSnap struct {
	at          time.Time
	busy, total uint64 // machine, in ticks (all CPUs)
	self        time.Duration
	procs       []uint64       // ticks of the watched processes, in order
	pg          map[int]uint64 // ticks of every process named postgres, by pid
}

// takeSnap reads the machine, this process, the given pids and postgres.
func takeSnap(pids ...int) cpuSnap {
	s := cpuSnap{at: time.Now()}
	s.busy, s.total = machineTicks()
	s.self = selfCPU()
	for _, p := range pids {
		s.procs = append(s.procs, pidTicks(p))
	}
	s.pg = postgresTicks()
	return s
}

// cpuUse is where the CPU went between two snapshots, in cores (1.00 =
// one core for the whole interval).
type cpuUse struct {
	wall  time.Duration
	self  float64
	procs []float64
	pg    float64
	other float64
	idle  float64
}

func between(a, b cpuSnap) cpuUse {
	u := cpuUse{wall: b.at.Sub(a.at)}
	n := float64(len(nprocsOnline()))
	if n == 0 {
		n = 1
	}
	total := float64(b.total - a.total)
	if total <= 0 {
		return u
	}
	wallTicks := total / n
	busy := float64(b.busy - a.busy)
	u.self = b.self.Seconds() - a.self.Seconds()
	u.self /= wallTicks / clkTck
	other := busy / wallTicks
	other -= u.self
	for i := range a.procs {
		c := 0.0
		if b.procs[i] >= a.procs[i] {
			c = float64(b.procs[i]-a.procs[i]) / wallTicks
		}
		u.procs = append(u.procs, c)
		other -= c
	}
	var pg uint64
	for pid, t := range b.pg {
		// A backend that started during the interval counts in full; one
		// that exited during it is lost (its last ticks are unknowable).
		if t >= a.pg[pid] {
			pg += t - a.pg[pid]
		}
	}
	u.pg = float64(pg) / wallTicks
	other -= u.pg
	u.other = math.Max(other, 0)
	u.idle = (total - busy) / wallTicks
	return u
}

// perOp is CPU microseconds per operation of cores over wall.
func perOp(cores float64, wall time.Duration, ops int) float64 {
	if ops == 0 {
		return 0
	}
	return cores * wall.Seconds() * 1e6 / float64(ops)
}

var cpuList struct {
	once sync.Once
	cpus []int
}

// nprocsOnline lists the machine's CPUs from /proc/stat.
func nprocsOnline() []int {
	cpuList.once.Do(func() {
		f, err := os.Open("/proc/stat")
		if err != nil {
			return
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			l := sc.Text()
			if strings.HasPrefix(l, "cpu") && len(l) > 3 && l[3] >= '0' && l[3] <= '9' {
				n, _ := strconv.Atoi(strings.Fields(l)[0][3:])
				cpuList.cpus = append(cpuList.cpus, n)
			}
		}
	})
	return cpuList.cpus
}

// machineTicks returns busy and total ticks of all CPUs, counted as
// bench/run.sh counts them (busy = user nice system irq softirq steal,
// total = busy + idle + iowait).
func machineTicks() (busy, total uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	v := func(i int) uint64 {
		if i >= len(f) {
			return 0
		}
		n, _ := strconv.ParseUint(f[i], 10, 64)
		return n
	}
	busy = v(1) + v(2) + v(3) + v(6) + v(7) + v(8)
	total = busy + v(4) + v(5)
	return busy, total
}

// pidTicks is utime+stime of pid (0 once it is gone).
func pidTicks(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	return statTicks(string(b))
}

func statTicks(s string) uint64 {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseUint(f[11], 10, 64)
	k, _ := strconv.ParseUint(f[12], 10, 64)
	return u + k
}

// postgresTicks reads the CPU of every process named postgres.
func postgresTicks() map[int]uint64 {
	ds, _ := os.ReadDir("/proc")
	out := map[int]uint64{}
	for _, d := range ds {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil || !strings.Contains(string(b), "(postgres)") {
			continue
		}
		out[pid] = statTicks(string(b))
	}
	return out
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// background measures how busy the machine is over d, in cores.
func background(d time.Duration) float64 {
	a := takeSnap()
	time.Sleep(d)
	b := takeSnap()
	n := float64(len(nprocsOnline()))
	total := float64(b.total - a.total)
	if total == 0 || n == 0 {
		return 0
	}
	return float64(b.busy-a.busy) / (total / n)
}

// ------------------------------------------------------------ processes

// procs tracks every process this program started, to stop them all.
type procs struct {
	mu   sync.Mutex
	list []*exec.Cmd
}

// start runs path with args and env (the environment is replaced, not
// extended); stdin may be nil. The child gets SIGKILL if this program
// dies first.
func (p *procs) start(path string, args, env []string, stdin io.Reader, stdout, stderr io.Writer) (*exec.Cmd, error) {
	cmd := exec.Command(path, args...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.list = append(p.list, cmd)
	p.mu.Unlock()
	return cmd, nil
}

// stop sends SIGTERM, then SIGKILL after 10 s, and waits.
func (p *procs) stop(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	p.mu.Lock()
	for i, c := range p.list {
		if c == cmd {
			p.list = append(p.list[:i], p.list[i+1:]...)
			break
		}
	}
	p.mu.Unlock()
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func (p *procs) stopAll() {
	p.mu.Lock()
	list := append([]*exec.Cmd(nil), p.list...)
	p.mu.Unlock()
	for i := len(list) - 1; i >= 0; i-- {
		p.stop(list[i])
	}
}

// cleanEnv is this process's environment without JETON_*, GOMAXPROCS and
// GOGC, as bench/run.sh starts its servers, plus extra.
func cleanEnv(extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "JETON_") || strings.HasPrefix(kv, "GOMAXPROCS=") || strings.HasPrefix(kv, "GOGC=") {
			continue
		}
		out = append(out, kv)
	}
	return append(out, extra...)
}

// ------------------------------------------------------------ PostgreSQL

// pgDatabase is a fresh database created for one run.
type pgDatabase struct {
	admin, name, url string
}

func createPG(ctx context.Context, admin, name string) (*pgDatabase, error) {
	u, err := url.Parse(admin)
	if err != nil {
		return nil, fmt.Errorf("postgres url: %w", err)
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
		return nil, fmt.Errorf("create database %s: %w", name, err)
	}
	u.Path = "/" + name
	return &pgDatabase{admin: admin, name: name, url: u.String()}, nil
}

func (p *pgDatabase) drop() error {
	if p == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := sql.Open("pgx", p.admin)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+p.name+`" WITH (FORCE)`)
	return err
}

func pgVersion(ctx context.Context, u string) string {
	db, err := sql.Open("pgx", u)
	if err != nil {
		return "?"
	}
	defer db.Close()
	var v string
	if err := db.QueryRowContext(ctx, "SHOW server_version").Scan(&v); err != nil {
		return "?"
	}
	return v
}

// ------------------------------------------------------------ source identity

// sourceDigest hashes the module's .go files outside bench/ exactly as
// bench/run.sh does (sha256sum of each ./path in byte order, hashed
// again, first 16 hex digits), so results files of both can be matched.
func sourceDigest(root string) (string, error) {
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if rel == "bench" || rel == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ".go") {
			paths = append(paths, "./"+filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(paths)
	h := sha256.New()
	for _, p := range paths {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			return "", err
		}
		s := sha256.Sum256(b)
		fmt.Fprintf(h, "%s  %s\n", hex.EncodeToString(s[:]), p)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// sourceCommit names HEAD (read with git rev-parse only) and says whether
// files outside bench/ differ from it.
func sourceCommit(root string) string {
	out, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "no commit"
	}
	c := strings.TrimSpace(string(out))
	st, err := exec.Command("git", "-C", root, "status", "--porcelain", "--", ".", ":!bench").Output()
	if err == nil && len(strings.TrimSpace(string(st))) > 0 {
		c += " + uncommitted changes"
	}
	return c
}

// moduleRoot finds the directory of go.mod from the working directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/jetonhq/jeton\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the jeton module (github.com/jetonhq/jeton)")
		}
		dir = parent
	}
}

// ------------------------------------------------------------ statistics

// dist is a latency distribution.
type dist []time.Duration

func (d dist) sorted() dist {
	out := append(dist(nil), d...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// q is the q-quantile (nearest rank) of a sorted distribution.
func (d dist) q(q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(d)))) - 1
	i = max(0, min(i, len(d)-1))
	return d[i]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/1e6) }
