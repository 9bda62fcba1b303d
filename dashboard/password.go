package dashboard

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// argon2id parameters: OWASP's baseline (19 MiB, 2 passes, 1 lane). They
// are written into each hash, so raising them later keeps old hashes valid.
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
)

// MinPasswordLength is the shortest password a user may set.
const MinPasswordLength = 12

// hashSlots bounds concurrent argon2 runs: each takes 19 MiB and a core,
// so a burst of sign-ins queues instead of exhausting memory.
var hashSlots = make(chan struct{}, 2)

// errBusy: no hashing slot freed up within slotWait.
var errBusy = errors.New("dashboard: password hashing is busy")

const slotWait = 5 * time.Second

// withSlot runs fn in a hashing slot; it gives up when the client has
// gone or no slot frees up in time, so a flood cannot queue forever.
func withSlot(ctx context.Context, fn func() []byte) ([]byte, error) {
	t := time.NewTimer(slotWait)
	defer t.Stop()
	select {
	case hashSlots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.C:
		return nil, errBusy
	}
	defer func() { <-hashSlots }()
	return fn(), nil
}

// HashPassword returns the PHC string of an argon2id hash of pw.
func HashPassword(pw string) (string, error) { return hashPassword(context.Background(), pw) }

func hashPassword(ctx context.Context, pw string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key, err := withSlot(ctx, func() []byte {
		return argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	})
	if err != nil {
		return "", err
	}
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPassword reports whether pw matches the PHC hash, in constant time.
// A malformed hash matches nothing.
func CheckPassword(hash, pw string) bool {
	ok, _ := checkPassword(context.Background(), hash, pw)
	return ok
}

// checkPassword is CheckPassword that gives up with the client (or when
// hashing is busy), returning an error rather than an answer.
func checkPassword(ctx context.Context, hash, pw string) (bool, error) {
	p, err := parsePHC(hash)
	if err != nil {
		return false, nil
	}
	key, err := withSlot(ctx, func() []byte {
		return argon2.IDKey([]byte(pw), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	})
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(key, p.key) == 1, nil
}

type phc struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

func parsePHC(s string) (phc, error) {
	var p phc
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return p, errors.New("not an argon2id hash")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &p.threads); err != nil {
		return p, err
	}
	// Bounds keep a tampered row from making one check take minutes.
	if p.memory < 1024 || p.memory > 256*1024 || p.time < 1 || p.time > 10 || p.threads < 1 {
		return p, errors.New("argon2id parameters out of range")
	}
	var err error
	if p.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil {
		return p, err
	}
	if p.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(p.key) < 16 || len(p.key) > 64 {
		return p, errors.New("bad argon2id key")
	}
	return p, nil
}

// dummyHash is checked against when an email is unknown, so the answer
// takes as long as for a known one and does not reveal which emails exist.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("jeton-dashboard-dummy-password")
	return h
})

// newToken returns a random URL-safe token and its SHA-256, the only form
// that is stored.
func newToken() (string, []byte) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	return tok, hashToken(tok)
}

func hashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// csrfFor derives the CSRF token of a session (or pre-session) token:
// only the holder of the HttpOnly cookie can know it, and nothing more has
// to be stored.
func csrfFor(cookieToken string) string {
	h := sha256.Sum256([]byte("jeton-dashboard-csrf\x00" + cookieToken))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
