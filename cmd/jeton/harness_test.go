package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/credential"
	"github.com/jetonhq/jeton/httpserver"
	"github.com/jetonhq/jeton/sqlstore"
	"github.com/jetonhq/jeton/sqlstore/storetest"
	"github.com/jetonhq/jeton/vault"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// clock is a movable test clock; a live one also runs with real time.
type clock struct {
	mu    sync.Mutex
	t     time.Time
	start time.Time // live when set
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.start.IsZero() {
		return c.t.Add(time.Since(c.start))
	}
	return c.t
}
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// syncBuffer collects logs from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// env is one running jeton over a real store, reached over real HTTP.
type env struct {
	t       testing.TB
	app     *app
	srv     *httptest.Server
	clock   *clock
	logs    *syncBuffer
	dataDir string // SQLite only
	backend string

	mu      sync.Mutex
	secrets []string // credentials and tokens that must never be logged or stored
}

// remember records values that must appear in no log line and no
// database file; every env checks them when its test ends.
func (e *env) remember(vals ...string) {
	e.mu.Lock()
	e.secrets = append(e.secrets, vals...)
	e.mu.Unlock()
}

// checkNoSecrets searches the logs and the SQLite files for every value
// remembered during the test.
func (e *env) checkNoSecrets() {
	e.mu.Lock()
	defer e.mu.Unlock()
	logs := e.logs.String()
	var files [][]byte
	if e.dataDir != "" {
		names, _ := filepath.Glob(filepath.Join(e.dataDir, "jeton.db*"))
		for _, n := range names {
			b, _ := os.ReadFile(n)
			files = append(files, b)
		}
	}
	for _, s := range e.secrets {
		if len(s) < 16 {
			continue
		}
		if strings.Contains(logs, s) {
			e.t.Errorf("logs contain a credential or token %.12s…", s)
		}
		for _, f := range files {
			if bytes.Contains(f, []byte(s)) {
				e.t.Errorf("database file contains a credential or token %.12s… in plain text", s)
			}
		}
	}
}

// backends runs fn against SQLite and, when JETON_TEST_DATABASE_URL is
// set, PostgreSQL.
func backends(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, newEnv(t, "sqlite")) })
	t.Run("postgres", func(t *testing.T) {
		if os.Getenv(storetest.EnvDatabaseURL) == "" {
			t.Skip(storetest.EnvDatabaseURL + " not set: skipping the PostgreSQL run (CI sets it)")
		}
		fn(t, newEnv(t, "postgres"))
	})
}

func newEnv(t testing.TB, backend string) *env {
	return newEnvWith(t, backend, appConfig{Sandbox: true, AcceptAfter: 2 * time.Second})
}

func newEnvWith(t testing.TB, backend string, cfg appConfig) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, clock: &clock{t: time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)}, logs: &syncBuffer{}, backend: backend}
	var db *sqlstore.DB
	var err error
	if backend == "postgres" {
		db, err = sqlstore.OpenPostgres(ctx, storetest.PostgresURL(t))
	} else {
		e.dataDir = t.TempDir()
		db, err = sqlstore.OpenSQLite(e.dataDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	v, _ := vault.New(key)
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.Now, cfg.AccessLog, cfg.Log = e.clock.Now, os.Getenv("JETON_BENCH_NOLOG") == "", log
	e.app, err = newApp(ctx, db, v, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(e.app.server)
	t.Cleanup(func() {
		e.srv.Close()
		e.app.close()
		e.checkNoSecrets()
	})
	return e
}

// merchant is a test merchant with all its credentials.
type merchant struct {
	credential.NewMerchant
	admin string // an ADMIN key
}

func (e *env) merchant(name string) merchant {
	e.t.Helper()
	nm, err := e.app.creds.CreateMerchant(context.Background(), name, "", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	admin, _, err := e.app.creds.CreateKey(context.Background(), nm.Merchant.ID, []jeton.Scope{jeton.ScopeAdmin})
	if err != nil {
		e.t.Fatal(err)
	}
	e.remember(nm.APIKey, nm.APISecret, nm.ProviderCertificate, admin)
	return merchant{NewMerchant: nm, admin: admin}
}

// reply is a decoded response.
type reply struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    []byte
}

// errKey reads the error key of either surface's error body.
func (r reply) errKey() string {
	if e, ok := r.Body["error"].(map[string]any); ok {
		s, _ := e["key"].(string)
		return s
	}
	s, _ := r.Body["key"].(string)
	return s
}

func (r reply) data() map[string]any {
	d, _ := r.Body["data"].(map[string]any)
	return d
}

// do sends a request with raw (non-canonicalised) header names.
func (e *env) do(method, path string, hdr map[string]string, body any) reply {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header[k] = []string{v}
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	_ = json.Unmarshal(raw, &r.Body)
	if tok, ok := r.data()["token"].(string); ok {
		e.remember(tok)
	}
	if a := req.Header.Get("Authorization"); a != "" {
		e.remember(strings.TrimPrefix(a, "Bearer "))
	}
	if resp.Header.Get("X-Request-Id") == "" {
		e.t.Errorf("%s %s: no X-Request-Id header", method, path)
	}
	if id, ok := r.Body["requestId"]; ok && id != resp.Header.Get("X-Request-Id") {
		e.t.Errorf("%s %s: body requestId %v != header %s", method, path, id, resp.Header.Get("X-Request-Id"))
	}
	conform(e.t, req, r)
	return r
}

// --- OpenAPI conformance -------------------------------------------------

var (
	specOnce sync.Once
	specDoc  map[string]any
	schemas  *jsonschema.Compiler
	compiled sync.Map // location -> *jsonschema.Schema
)

func loadSpec(t testing.TB) map[string]any {
	specOnce.Do(func() {
		if err := json.Unmarshal(httpserver.OpenAPI(), &specDoc); err != nil {
			panic(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(httpserver.OpenAPI()))
		if err != nil {
			panic(err)
		}
		schemas = jsonschema.NewCompiler()
		schemas.DefaultDraft(jsonschema.Draft2020)
		if err := schemas.AddResource("mem://openapi.json", doc); err != nil {
			panic(err)
		}
	})
	return specDoc
}

func ptrEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// conform checks a reply against the documented schema of its route,
// method and status; an undocumented status fails the test.
func conform(t testing.TB, req *http.Request, r reply) {
	t.Helper()
	spec := loadSpec(t)
	pattern := matchPath(spec, req.URL.Path)
	if pattern == "" {
		if r.Status != http.StatusNotFound {
			t.Errorf("%s %s: path not in openapi.json", req.Method, req.URL.Path)
		}
		return
	}
	if req.Method == http.MethodOptions {
		return
	}
	op, ok := spec["paths"].(map[string]any)[pattern].(map[string]any)[strings.ToLower(req.Method)].(map[string]any)
	if !ok {
		t.Errorf("%s %s: method not in openapi.json", req.Method, pattern)
		return
	}
	code := fmt.Sprint(r.Status)
	resp, ok := op["responses"].(map[string]any)[code].(map[string]any)
	if !ok {
		t.Errorf("%s %s: status %d not documented in openapi.json (body %s)", req.Method, pattern, r.Status, r.Raw)
		return
	}
	content, _ := resp["content"].(map[string]any)
	if _, isJSON := content["application/json"]; !isJSON {
		return
	}
	loc := "mem://openapi.json#/paths/" + ptrEscape(pattern) + "/" + strings.ToLower(req.Method) + "/responses/" + code + "/content/application~1json/schema"
	var sch *jsonschema.Schema
	if v, ok := compiled.Load(loc); ok {
		sch = v.(*jsonschema.Schema)
	} else {
		var err error
		sch, err = schemas.Compile(loc)
		if err != nil {
			t.Fatalf("compile %s: %v", loc, err)
		}
		compiled.Store(loc, sch)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.Raw))
	if err != nil {
		t.Errorf("%s %s: reply is not JSON: %s", req.Method, pattern, r.Raw)
		return
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("%s %s %d: reply does not match openapi.json: %v\nbody: %s", req.Method, pattern, r.Status, err, r.Raw)
	}
}

// matchPath finds the documented path template matching a concrete path.
func matchPath(spec map[string]any, path string) string {
	segs := strings.Split(path, "/")
	best := ""
	for p := range spec["paths"].(map[string]any) {
		ps := strings.Split(p, "/")
		if len(ps) != len(segs) {
			continue
		}
		ok, literal := true, 0
		for i := range ps {
			if strings.HasPrefix(ps[i], "{") {
				continue
			}
			if ps[i] != segs[i] {
				ok = false
				break
			}
			literal++
		}
		if ok && (best == "" || literal > strings.Count(best, "/")-strings.Count(best, "{")) {
			best = p
		}
	}
	return best
}

func b64dec(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

// signRaw signs arbitrary claims as a merchant would with jose.
func signRaw(t *testing.T, secret, merchantID string, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(map[string]any{"alg": "HS256", "userId": merchantID})
	p, _ := json.Marshal(claims)
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}
