// Package vault holds the master key and seals secrets at rest with
// AES-256-GCM. The master key never enters the database.
package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/jetonhq/jeton"
)

// KeyFile is the master key's file name inside the data directory.
const KeyFile = "master.key"

// version prefixes every sealed value so the format can change later.
const version byte = 1

// Vault seals and opens secrets with one 32-byte master key.
type Vault struct{ aead cipher.AEAD }

var _ jeton.Sealer = (*Vault)(nil)

// New makes a Vault from a 32-byte key.
func New(key []byte) (*Vault, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("vault: master key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Vault{aead: aead}, nil
}

// ParseKey decodes a master key written as 64 hex characters or as
// standard/URL base64 of 32 bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("vault: master key must be 32 bytes as 64 hex characters or base64")
}

// LoadFile reads a master key file.
func LoadFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("vault: read master key: %w", err)
	}
	return ParseKey(string(b))
}

// LoadOrCreate reads dir/master.key, generating it (mode 0600) on first
// use. The key is written to a temporary file, synced, then linked into
// place, so no process (and no crash) ever sees a half-written key.
func LoadOrCreate(dir string) ([]byte, error) {
	path := filepath.Join(dir, KeyFile)
	if _, err := os.Stat(path); err == nil {
		return LoadFile(path)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, ".master.key-*")
	if err != nil {
		return nil, fmt.Errorf("vault: create master key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, err
	}
	if _, err := tmp.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) { // another process won the race
			return LoadFile(path)
		}
		return nil, fmt.Errorf("vault: create master key: %w", err)
	}
	if d, err := os.Open(dir); err == nil { // make the new name durable
		_ = d.Sync()
		d.Close()
	}
	return key, nil
}

// Seal encrypts plain; aad binds the result to its owner.
func (v *Vault) Seal(plain, aad []byte) ([]byte, error) {
	ns := v.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plain)+v.aead.Overhead())
	out[0] = version
	if _, err := rand.Read(out[1 : 1+ns]); err != nil {
		return nil, err
	}
	return v.aead.Seal(out, out[1:1+ns], plain, aad), nil
}

// Open decrypts a value made by Seal with the same aad.
func (v *Vault) Open(sealed, aad []byte) ([]byte, error) {
	ns := v.aead.NonceSize()
	if len(sealed) < 1+ns+v.aead.Overhead() || sealed[0] != version {
		return nil, errors.New("vault: sealed value is malformed")
	}
	plain, err := v.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], aad)
	if err != nil {
		return nil, errors.New("vault: cannot open sealed value (wrong master key?)")
	}
	return plain, nil
}
