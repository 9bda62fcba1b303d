package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// jetonBin builds the real binary once per test run.
func jetonBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "jeton-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "jeton")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = err
			t.Logf("%s", out)
		}
	})
	if binErr != nil {
		t.Fatalf("build jeton: %v", binErr)
	}
	return binPath
}

// cliJSON runs an admin command with --json and decodes its one object.
func cliJSON(t *testing.T, dataDir string, env []string, args ...string) map[string]any {
	t.Helper()
	args = append(args, "--json")
	if args[0] != "token" { // minting is local: no store
		args = append(args, "--data", dataDir)
	}
	cmd := exec.Command(jetonBin(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("jeton %v: %v\n%s", args, err, stderr.String())
	}
	var obj map[string]any
	dec := json.NewDecoder(bytes.NewReader(out))
	if err := dec.Decode(&obj); err != nil || dec.More() {
		t.Fatalf("jeton %v: stdout is not one JSON object: %q", args, out)
	}
	return obj
}

type proc struct {
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
	base   string
}

func startServer(t *testing.T, dataDir string) *proc {
	t.Helper()
	p := &proc{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	p.cmd = exec.Command(jetonBin(t), "serve", "--data", dataDir, "--addr", "127.0.0.1:0", "--access-log", "--log-level", "debug")
	p.cmd.Stdout = p.stdout
	pr, pw := io.Pipe()
	p.cmd.Stderr = pw
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		re := regexp.MustCompile(`msg="jeton listening" addr=(\S+)`)
		for sc.Scan() {
			line := sc.Text()
			p.stderr.Write([]byte(line + "\n"))
			if m := re.FindStringSubmatch(line); m != nil {
				addr <- m[1]
			}
		}
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
		pw.Close()
	})
	select {
	case a := <-addr:
		p.base = "http://" + a
	case <-time.After(20 * time.Second):
		t.Fatalf("server did not start:\n%s", p.stderr.String())
	}
	return p
}

func (p *proc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("server exited with %v\n%s", err, p.stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("server did not stop on SIGTERM")
	}
}

func call(t *testing.T, method, url string, hdr map[string]string, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rd)
	for k, v := range hdr {
		req.Header[k] = []string{v}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func errKeyOf(m map[string]any) string {
	if e, ok := m["error"].(map[string]any); ok {
		return e["key"].(string)
	}
	s, _ := m["key"].(string)
	return s
}

// eventually retries f until it returns "" or the deadline passes (the
// server applies changes made by other processes within about a second).
func eventually(t *testing.T, what string, f func() string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		if last = f(); last == "" {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("%s: %s", what, last)
}

var bannerRe = map[string]*regexp.Regexp{
	"merchant": regexp.MustCompile(`merchant ID\s+(\S+)`),
	"partner":  regexp.MustCompile(`partner ID\s+(\S+)`),
	"key":      regexp.MustCompile(`API key\s+(ap_\S+)`),
	"secret":   regexp.MustCompile(`API secret\s+(sk_\S+)`),
	"provider": regexp.MustCompile(`provider ID\s+(\S+)`),
	"cert":     regexp.MustCompile(`provider certificate\s+(\S+)`),
	"setup":    regexp.MustCompile(`(http://\S+/dashboard/setup\?token=\S+)`),
}

// bannerValues reads the demo merchant's credentials, every one of
// bannerRe, from the first-start banner.
func bannerValues(t *testing.T, banner string) map[string]string {
	t.Helper()
	demo := map[string]string{}
	for k, re := range bannerRe {
		m := re.FindStringSubmatch(banner)
		if m == nil {
			t.Fatalf("banner lacks %s:\n%s", k, banner)
		}
		demo[k] = m[1]
	}
	return demo
}

// TestCLIEndToEnd runs the real binary: first start and its banner, the
// admin commands against the store the server is using, both token
// endpoints, graceful shutdown, and finally searches the database files
// and the logs for every credential and token the run produced.
func TestCLIEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	data := t.TempDir()
	srv := startServer(t, data)
	var banner string
	for i := 0; i < 100 && !strings.Contains(banner, "Dashboard:"); i++ {
		time.Sleep(50 * time.Millisecond) // stdout is copied by another goroutine
		banner = srv.stdout.String()
	}
	demo := bannerValues(t, banner)
	if info, err := os.Stat(filepath.Join(data, "master.key")); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("master key file: %v %v", info, err)
	}
	var secrets []string // everything that must never be stored or logged in plain text
	secrets = append(secrets, demo["key"], demo["secret"], demo["cert"], demo["setup"][strings.Index(demo["setup"], "=")+1:])

	// The banner's dashboard link opens the owner's setup form.
	if res, err := http.Get(demo["setup"]); err != nil || res.StatusCode != 200 {
		t.Fatalf("dashboard setup link: %v %v", res, err)
	} else {
		res.Body.Close()
	}

	// The banner's curl lines work as printed (run the same requests).
	steam := `{"clientSteamId":"76561198012345678","clientTradeUrl":"https://steamcommunity.com/tradeoffer/new/?partner=52079950&token=AbCdEfGh","clientId":"user-123"}`
	code, body := call(t, "POST", srv.base+"/auth/authenticate-client", map[string]string{"api-key": demo["key"], "Content-Type": "application/json"}, steam)
	if code != 200 {
		t.Fatalf("authenticate-client: %d %v", code, body)
	}
	tok := body["data"].(map[string]any)["token"].(string)
	secrets = append(secrets, tok)
	if code, body := call(t, "GET", srv.base+"/client/me", map[string]string{"Authorization": tok}, ""); code != 200 {
		t.Fatalf("/client/me: %d %v", code, body)
	}
	sagaHdr := map[string]string{"API-KEY": demo["key"], "API-SECRET": demo["secret"], "MERCHANT-ID": demo["merchant"], "Content-Type": "application/json"}
	code, body = call(t, "POST", srv.base+"/partners/"+demo["partner"]+"/token", sagaHdr,
		`{"providerId":"`+demo["provider"]+`","providerCertificate":"`+demo["cert"]+`","externalUserId":"user-123"}`)
	if code != 200 || body["status"] != "SUCCESS" {
		t.Fatalf("sagapay token: %d %v", code, body)
	}
	secrets = append(secrets, body["data"].(map[string]any)["token"].(string))
	// Failed attempts must not leak what was sent either.
	call(t, "GET", srv.base+"/client/me", map[string]string{"Authorization": tok + "x"}, "")
	call(t, "POST", srv.base+"/auth/authenticate-client", map[string]string{"api-key": demo["key"] + "x"}, steam)

	// Admin commands work on the same store while the server runs.
	mc := cliJSON(t, data, nil, "merchant", "create", "--name", "Second")
	for _, k := range []string{"merchantId", "partnerId", "apiKey", "apiSecret", "providerId", "providerCertificate"} {
		if s, _ := mc[k].(string); s == "" {
			t.Fatalf("merchant create lacks %s: %v", k, mc)
		}
	}
	mid := mc["merchantId"].(string)
	secrets = append(secrets, mc["apiKey"].(string), mc["apiSecret"].(string), mc["providerCertificate"].(string))
	if !strings.HasPrefix(mc["apiKey"].(string), "ap_") || len(mc["apiKey"].(string)) < 3+43 {
		t.Errorf("api key shape: %v", mc["apiKey"])
	}

	ro := cliJSON(t, data, nil, "key", "create", "--merchant", mid, "--scopes", "READ_ONLY")
	secrets = append(secrets, ro["apiKey"].(string))
	if code, body := call(t, "POST", srv.base+"/auth/authenticate-client", map[string]string{"api-key": ro["apiKey"].(string)}, steam); code != 403 || errKeyOf(body) != "API_KEY_SCOPE_DENIED" {
		t.Errorf("READ_ONLY key on CORE_ACCESS route: %d %v", code, body)
	}

	rot := cliJSON(t, data, nil, "key", "rotate", "--merchant", mid, "--key", mc["apiKeyId"].(string), "--grace", "1h")
	secrets = append(secrets, rot["apiKey"].(string))
	for _, k := range []string{mc["apiKey"].(string), rot["apiKey"].(string)} {
		if code, body := call(t, "POST", srv.base+"/auth/authenticate-client", map[string]string{"api-key": k}, steam); code != 200 {
			t.Errorf("key during rotation grace: %d %v", code, body)
		}
	}
	list := cliJSON(t, data, nil, "key", "list", "--merchant", mid)
	if n := len(list["keys"].([]any)); n != 3 {
		t.Errorf("key list: %d keys: %v", n, list)
	}
	if raw, _ := json.Marshal(list); bytes.Contains(raw, []byte(rot["apiKey"].(string))) {
		t.Errorf("key list shows a key value")
	}
	cliJSON(t, data, nil, "key", "revoke", "--merchant", mid, "--key", rot["apiKeyId"].(string))
	eventually(t, "revoked key still accepted", func() string {
		code, body := call(t, "POST", srv.base+"/auth/authenticate-client", map[string]string{"api-key": rot["apiKey"].(string)}, steam)
		if code == 401 && errKeyOf(body) == "API_KEY_REVOKED" {
			return ""
		}
		return fmt.Sprintf("%d %s", code, errKeyOf(body))
	})

	// token mint (Go SDK) with the secret from the environment.
	minted := cliJSON(t, data, []string{"JETON_API_SECRET=" + mc["apiSecret"].(string)}, "token", "mint", "--merchant", mid,
		"--steam-id", "76561198012345678", "--trade-url", "https://steamcommunity.com/tradeoffer/new/?partner=52079950&token=AbCdEfGh", "--ttl", "1h")
	mtok := minted["token"].(string)
	secrets = append(secrets, mtok)
	if code, body := call(t, "GET", srv.base+"/client/me", map[string]string{"Authorization": "Bearer " + mtok}, ""); code != 200 || body["data"].(map[string]any)["merchantId"] != mid {
		t.Errorf("CLI-minted token: %d %v", code, body)
	}

	// Secret rotation with no grace: the old secret's tokens stop working.
	ns := cliJSON(t, data, nil, "secret", "rotate", "--merchant", mid, "--grace", "0s")
	secrets = append(secrets, ns["apiSecret"].(string))
	eventually(t, "token of a retired secret still accepted", func() string {
		code, body := call(t, "GET", srv.base+"/client/me", map[string]string{"Authorization": mtok}, "")
		if code == 401 && errKeyOf(body) == "INVALID_TOKEN" {
			return ""
		}
		return fmt.Sprintf("%d %s", code, errKeyOf(body))
	})

	pc := cliJSON(t, data, nil, "provider", "create", "--merchant", mid)
	secrets = append(secrets, pc["providerCertificate"].(string))
	code, body = call(t, "POST", srv.base+"/partners/"+mc["partnerId"].(string)+"/token",
		map[string]string{"API-KEY": mc["apiKey"].(string), "API-SECRET": ns["apiSecret"].(string), "MERCHANT-ID": mid},
		`{"providerId":"`+pc["providerId"].(string)+`","providerCertificate":"`+pc["providerCertificate"].(string)+`","externalUserId":"u9"}`)
	if code != 200 {
		t.Errorf("new provider: %d %v", code, body)
	}

	srv.stop(t)
	if !strings.Contains(srv.stderr.String(), "msg=stopped") {
		t.Errorf("no clean shutdown in logs:\n%s", srv.stderr.String())
	}

	// Restart on the same data: no second banner, credentials still work.
	srv2 := startServer(t, data)
	if strings.Contains(srv2.stdout.String(), "demo merchant") {
		t.Errorf("banner printed twice")
	}
	if code, _ := call(t, "GET", srv2.base+"/client/me", map[string]string{"Authorization": tok}, ""); code != 200 {
		t.Errorf("token after restart: %d", code)
	}
	srv2.stop(t)

	// Nothing secret in the database files or the logs.
	logs := srv.stderr.String() + srv2.stderr.String()
	if !strings.Contains(logs, "route=\"GET /client/me\"") {
		t.Fatalf("access log missing; the search below would prove nothing:\n%s", logs)
	}
	files, _ := filepath.Glob(filepath.Join(data, "jeton.db*"))
	if len(files) == 0 {
		t.Fatal("no database files")
	}
	for _, s := range secrets {
		if s == "" {
			t.Fatal("empty secret in the list")
		}
		if strings.Contains(logs, s) {
			t.Errorf("logs contain a credential or token %.12s…", s)
		}
		for _, f := range files {
			b, _ := os.ReadFile(f)
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s contains a credential or token %.12s… in plain text", filepath.Base(f), s)
			}
		}
	}
}
