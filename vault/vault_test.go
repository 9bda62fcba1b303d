package vault_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jetonhq/jeton/vault"
)

func randKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func newVault(t *testing.T, key []byte) *vault.Vault {
	t.Helper()
	v, err := vault.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSealOpen(t *testing.T) {
	v := newVault(t, randKey(t))
	aad := []byte("jeton/secret/v1:m1:s1")
	for _, plain := range [][]byte{[]byte("sk_hello"), {}, bytes.Repeat([]byte{0, 0xff}, 4096)} {
		sealed, err := v.Seal(plain, aad)
		if err != nil {
			t.Fatal(err)
		}
		if len(plain) >= 8 && bytes.Contains(sealed, plain) {
			t.Error("sealed value contains the plain text")
		}
		got, err := v.Open(sealed, aad)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if !bytes.Equal(got, plain) {
			t.Errorf("Open = %q, want %q", got, plain)
		}
	}
	// A fresh nonce each time: sealing twice gives different bytes.
	a, err := v.Seal([]byte("same"), aad)
	if err != nil {
		t.Fatal(err)
	}
	b, err := v.Seal([]byte("same"), aad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, b) {
		t.Error("two seals of one value are identical (nonce reuse)")
	}
	for _, s := range [][]byte{a, b} {
		if got, err := v.Open(s, aad); err != nil || string(got) != "same" {
			t.Errorf("Open = %q, %v", got, err)
		}
	}
}

func TestSameKeyOpens(t *testing.T) {
	key := randKey(t)
	sealed, err := newVault(t, key).Seal([]byte("sk_value"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := newVault(t, bytes.Clone(key)).Open(sealed, []byte("aad"))
	if err != nil || string(got) != "sk_value" {
		t.Errorf("another Vault with the same key: %q, %v", got, err)
	}
}

func TestOpenFailures(t *testing.T) {
	key := randKey(t)
	v := newVault(t, key)
	aad := []byte("jeton/secret/v1:m1:s1")
	sealed, err := v.Seal([]byte("sk_secret_value"), aad)
	if err != nil {
		t.Fatal(err)
	}

	// Wrong aad: the value was moved to another owner.
	for _, other := range [][]byte{[]byte("jeton/secret/v1:m2:s1"), nil, append(bytes.Clone(aad), 0)} {
		if _, err := v.Open(sealed, other); err == nil {
			t.Errorf("Open with aad %q succeeded", other)
		}
	}
	// Wrong key.
	if _, err := newVault(t, randKey(t)).Open(sealed, aad); err == nil {
		t.Error("Open with another key succeeded")
	}
	// Any tampered byte: version, nonce, ciphertext or tag.
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x01
		if _, err := v.Open(bad, aad); err == nil {
			t.Errorf("Open succeeded with byte %d flipped", i)
		}
	}
	// Truncated, extended, empty.
	for _, bad := range [][]byte{nil, sealed[:1], sealed[:len(sealed)-1], append(bytes.Clone(sealed), 0)} {
		if _, err := v.Open(bad, aad); err == nil {
			t.Errorf("Open succeeded on %d bytes", len(bad))
		}
	}
	// The original still opens: nothing above changed it.
	if _, err := v.Open(sealed, aad); err != nil {
		t.Errorf("original no longer opens: %v", err)
	}
}

func TestNewKeyLength(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := vault.New(make([]byte, n)); err == nil {
			t.Errorf("New accepted a %d-byte key", n)
		}
	}
}

func TestLoadOrCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "new") // does not exist yet
	key, err := vault.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != 32 || bytes.Equal(key, make([]byte, 32)) {
		t.Fatalf("key = %x", key)
	}
	path := filepath.Join(dir, vault.KeyFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("%s mode = %o, want 600", vault.KeyFile, got)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode = %v, %v; want 700", fi.Mode().Perm(), err)
	}
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(content) != hex.EncodeToString(key)+"\n" {
		t.Errorf("file holds %q, want the key in hex", content)
	}

	// Reload: the same key, the file untouched.
	again, err := vault.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, key) {
		t.Error("LoadOrCreate made a new key instead of loading the file")
	}
	loaded, err := vault.LoadFile(path)
	if err != nil || !bytes.Equal(loaded, key) {
		t.Errorf("LoadFile = %x, %v", loaded, err)
	}
	// A sealed value survives the "restart".
	sealed, err := newVault(t, key).Seal([]byte("sk_x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newVault(t, again).Open(sealed, nil); err != nil {
		t.Errorf("reloaded key cannot open: %v", err)
	}

	// Another directory gets another key.
	other, err := vault.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(other, key) {
		t.Error("two data directories got the same key")
	}

	// A corrupt key file is an error, never silently replaced.
	if err := os.WriteFile(path, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := vault.LoadOrCreate(dir); err == nil {
		t.Error("LoadOrCreate accepted a corrupt key file")
	}
	if b, _ := os.ReadFile(path); string(b) != "not a key\n" {
		t.Error("LoadOrCreate overwrote a corrupt key file")
	}
	if _, err := vault.LoadFile(filepath.Join(dir, "missing.key")); err == nil {
		t.Error("LoadFile of a missing file succeeded")
	}
}

// TestLoadOrCreateConcurrent starts several "processes" on one fresh data
// directory at once: all must end up with the one key.
//
// Regression: LoadOrCreate once created master.key before writing it, so
// a concurrent caller could read it empty; it now links a synced
// temporary file into place.
func TestLoadOrCreateConcurrent(t *testing.T) {
	for round := 0; round < 100; round++ {
		dir := t.TempDir()
		keys := make([][]byte, 8)
		errs := make([]error, len(keys))
		var wg sync.WaitGroup
		for i := range keys {
			wg.Add(1)
			go func() {
				defer wg.Done()
				keys[i], errs[i] = vault.LoadOrCreate(dir)
			}()
		}
		wg.Wait()
		for i := range keys {
			if errs[i] != nil {
				t.Fatalf("round %d, caller %d: %v", round, i, errs[i])
			}
			if !bytes.Equal(keys[i], keys[0]) {
				t.Fatalf("round %d: callers got different keys", round)
			}
		}
	}
}

func TestParseKey(t *testing.T) {
	// 0xfb bytes make '+' and '/' in standard base64, '-' and '_' in URL
	// base64, so each alphabet is really exercised.
	key := bytes.Repeat([]byte{0xfb, 0xff, 0xbf}, 11)[:32]
	valid := map[string]string{
		"hex":              hex.EncodeToString(key),
		"HEX":              strings.ToUpper(hex.EncodeToString(key)),
		"hex with newline": "  " + hex.EncodeToString(key) + "\n",
		"std base64":       base64.StdEncoding.EncodeToString(key),
		"raw std base64":   base64.RawStdEncoding.EncodeToString(key),
		"url base64":       base64.URLEncoding.EncodeToString(key),
		"raw url base64":   base64.RawURLEncoding.EncodeToString(key) + "\r\n",
	}
	if !strings.ContainsAny(valid["std base64"], "+/") || !strings.ContainsAny(valid["url base64"], "-_") {
		t.Fatal("test key does not exercise the base64 alphabets")
	}
	for name, s := range valid {
		got, err := vault.ParseKey(s)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Equal(got, key) {
			t.Errorf("%s: key = %x, want %x", name, got, key)
		}
	}
	invalid := map[string]string{
		"empty":          "",
		"short hex":      hex.EncodeToString(key[:31]),
		"long hex":       hex.EncodeToString(append(bytes.Clone(key), 1)),
		"odd hex":        hex.EncodeToString(key)[:63],
		"short base64":   base64.StdEncoding.EncodeToString(key[:16]),
		"long base64":    base64.StdEncoding.EncodeToString(append(bytes.Clone(key), 1)),
		"garbage":        "correct horse battery staple",
		"hex with space": hex.EncodeToString(key[:16]) + " " + hex.EncodeToString(key[16:]),
	}
	for name, s := range invalid {
		if got, err := vault.ParseKey(s); err == nil {
			t.Errorf("%s: ParseKey(%q) = %x, want an error", name, s, got)
		}
	}
}
