package dashboard

import (
	"context"
	"hash/fnv"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/internal/ids"
)

// SetupTTL is how long a one-time setup link works.
const SetupTTL = 72 * time.Hour

// NewUser creates a merchant's dashboard user without a password and
// returns the one-time setup token that lets them choose one. Only the
// token's hash is stored.
func NewUser(ctx context.Context, store jeton.UserStore, merchants interface {
	Merchant(ctx context.Context, id string) (jeton.Merchant, error)
}, merchantID, email string, now time.Time) (jeton.User, string, error) {
	email, err := normEmail(email)
	if err != nil {
		return jeton.User{}, "", err
	}
	if _, err := merchants.Merchant(ctx, merchantID); err != nil {
		return jeton.User{}, "", err
	}
	tok, hash := newToken()
	exp := now.Add(SetupTTL).UTC()
	u := jeton.User{ID: "usr_" + ids.Short(), MerchantID: merchantID, Email: email, Role: jeton.RoleOwner,
		SetupHash: hash, SetupExpiresAt: &exp, CreatedAt: now.UTC()}
	if err := store.CreateUser(ctx, u); err != nil {
		return jeton.User{}, "", err
	}
	return u, tok, nil
}

// ResetUser issues a new one-time setup link for an existing user (a
// forgotten password, or a lockout to lift).
func ResetUser(ctx context.Context, store jeton.UserStore, email string, now time.Time) (jeton.User, string, error) {
	email, err := normEmail(email)
	if err != nil {
		return jeton.User{}, "", err
	}
	u, err := store.UserByEmail(ctx, email)
	if err != nil {
		return u, "", err
	}
	tok, hash := newToken()
	exp := now.Add(SetupTTL).UTC()
	if err := store.ResetSetup(ctx, u.ID, hash, exp); err != nil {
		return u, "", err
	}
	u.SetupExpiresAt = &exp
	return u, tok, nil
}

// SetupURL is the link a new user opens; the token rides in the query,
// which jeton never logs, and the page sends no Referer.
func SetupURL(baseURL, token string) string {
	return strings.TrimRight(baseURL, "/") + basePath + "/setup?token=" + url.QueryEscape(token)
}

func normEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	at := strings.LastIndexByte(s, '@')
	if len(s) > 254 || at < 1 || at == len(s)-1 || strings.ContainsAny(s, " \t\r\n<>\"") {
		return "", jeton.Errorf(jeton.KindInvalid, jeton.KeyValidationFailed, "email: must be an email address")
	}
	return s, nil
}

type loginData struct {
	form
	Email string
	Next  string
}

func (d *Dashboard) loginPage(w http.ResponseWriter, r *http.Request, csrf string) {
	d.render(w, r, nil, http.StatusOK, "login", "Sign in", loginData{form: form{Token: csrf}, Next: safeNext(r.URL.Query().Get("next"))})
}

// safeNext keeps redirects after sign-in inside the dashboard.
func safeNext(next string) string {
	if !strings.HasPrefix(next, basePath+"/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return basePath + "/"
	}
	return next
}

// maxPassword bounds what a sign-in hashes; setup refuses longer ones.
const maxPassword = 256

func (d *Dashboard) login(w http.ResponseWriter, r *http.Request, csrf string) {
	ctx := r.Context()
	email, pw := strings.ToLower(strings.TrimSpace(r.PostFormValue("email"))), r.PostFormValue("password")
	data := loginData{form: form{Token: csrf}, Email: email, Next: safeNext(r.PostFormValue("next"))}
	again := func(code int, msg string) {
		data.Err = msg
		d.render(w, r, nil, code, "login", "Sign in", data)
	}
	wrong := func() { again(http.StatusUnauthorized, "Wrong email or password.") }
	// Known and unknown emails lock alike, with the same words, so the
	// answer does not tell which accounts exist.
	locked := func(wait time.Duration) {
		w.Header().Set("Retry-After", itoa(int(wait.Round(time.Second)/time.Second)))
		again(http.StatusTooManyRequests, "This account is locked after repeated wrong passwords. Try again in "+minutes(wait)+", or ask for a new setup link.")
	}
	now := d.cfg.Now()
	// Every attempt is counted before its hash runs, so parallel tries
	// cannot outnumber the limits; a success takes its count back.
	addr := d.clientAddr(r)
	if wait, _ := d.throttle.take(addr, now); wait > 0 {
		w.Header().Set("Retry-After", itoa(int(wait.Round(time.Second)/time.Second)))
		again(http.StatusTooManyRequests, "Too many failed sign-ins from your address. Try again in "+minutes(wait)+".")
		return
	}
	if len(pw) > maxPassword || len(email) > 254 {
		wrong()
		return
	}
	u, err := d.cfg.Store.UserByEmail(ctx, email)
	if err != nil && jeton.AsError(err).Kind != jeton.KindNotFound {
		d.fail(w, r, nil, err)
		return
	}
	if err != nil || u.PasswordHash == "" {
		wait, n := d.unknown.take(email, now)
		if wait > 0 {
			locked(wait)
			return
		}
		if _, err := checkPassword(ctx, dummyHash(), pw); err != nil { // the same time as for a real user
			d.busy(w, r)
			return
		}
		if n >= d.cfg.LockAfter {
			locked(d.cfg.LockFor)
			return
		}
		wrong()
		return
	}
	// One attempt at a time per account on this instance; the account
	// is read again once it is this attempt's turn.
	unlock := d.accountLock(u.ID)
	defer unlock()
	if u, err = d.cfg.Store.User(ctx, u.ID); err != nil {
		d.fail(w, r, nil, err)
		return
	}
	if u.LockedUntil != nil && now.Before(*u.LockedUntil) {
		locked(u.LockedUntil.Sub(now))
		return
	}
	ok, err := checkPassword(ctx, u.PasswordHash, pw)
	if err != nil {
		d.busy(w, r)
		return
	}
	if !ok {
		u, err = d.cfg.Store.SignInFailed(ctx, u.ID, d.cfg.LockAfter, now.Add(d.cfg.LockFor))
		if err != nil {
			d.fail(w, r, nil, err)
			return
		}
		if u.LockedUntil != nil && now.Before(*u.LockedUntil) {
			d.cfg.Log.Warn("dashboard: account locked after failed sign-ins", "user", u.ID)
			locked(d.cfg.LockFor)
			return
		}
		wrong()
		return
	}
	if err := d.cfg.Store.SignedIn(ctx, u.ID, now); err != nil {
		if jeton.ErrorKey(err) == jeton.KeySignInLocked {
			locked(d.cfg.LockFor)
			return
		}
		d.fail(w, r, nil, err)
		return
	}
	d.throttle.forgive(addr)
	if err := d.startSession(w, r, u); err != nil {
		d.fail(w, r, nil, err)
		return
	}
	http.Redirect(w, r, data.Next, http.StatusSeeOther)
}

// busy answers when no hashing slot freed up in time or the client left.
func (d *Dashboard) busy(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", "5")
	d.status(w, r, nil, http.StatusServiceUnavailable, "Sign-in is busy; try again in a moment.")
}

// accountLock serialises sign-in attempts on one account (striped
// locks: bounded memory whatever the number of accounts).
func (d *Dashboard) accountLock(userID string) func() {
	h := fnv.New32a()
	h.Write([]byte(userID))
	m := &d.accounts[h.Sum32()%uint32(len(d.accounts))]
	m.Lock()
	return m.Unlock
}

func minutes(d time.Duration) string {
	m := int(d.Round(time.Minute) / time.Minute)
	if m <= 1 {
		return "a minute"
	}
	return itoa(m) + " minutes"
}

// startSession stores a new session and sets its cookie; the
// pre-session cookie is dropped so its CSRF seed is not reused.
func (d *Dashboard) startSession(w http.ResponseWriter, r *http.Request, u jeton.User) error {
	tok, hash := newToken()
	now := d.cfg.Now().UTC()
	s := jeton.Session{Hash: hash, UserID: u.ID, MerchantID: u.MerchantID, CreatedAt: now, ExpiresAt: now.Add(d.cfg.SessionTTL)}
	if err := d.cfg.Store.CreateSession(r.Context(), s); err != nil {
		return err
	}
	setCookie(w, r, sessionCookie, tok, int(d.cfg.SessionTTL/time.Second))
	setCookie(w, r, preCookie, "", -1)
	return nil
}

func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request, s *session) {
	if err := d.cfg.Store.DeleteSession(r.Context(), s.Hash); err != nil {
		d.fail(w, r, s, err)
		return
	}
	setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, basePath+"/login?done=signed-out", http.StatusSeeOther)
}

type setupData struct {
	form
	Email      string
	SetupToken string
	MinLength  int
}

// setupUser finds the user of a live setup token.
func (d *Dashboard) setupUser(ctx context.Context, tok string) (jeton.User, error) {
	invalid := jeton.Errorf(jeton.KindNotFound, jeton.KeySetupLinkUsed, "This setup link is not valid: it was used, replaced or has expired. Ask for a new one (jeton user reset).")
	if tok == "" || len(tok) > 100 {
		return jeton.User{}, invalid
	}
	u, err := d.cfg.Store.UserBySetup(ctx, hashToken(tok))
	if jeton.AsError(err).Kind == jeton.KindNotFound || err == nil && (u.SetupExpiresAt == nil || !d.cfg.Now().Before(*u.SetupExpiresAt)) {
		return u, invalid
	}
	return u, err
}

func (d *Dashboard) setupPage(w http.ResponseWriter, r *http.Request, csrf string) {
	tok := r.URL.Query().Get("token")
	u, err := d.setupUser(r.Context(), tok)
	if err != nil {
		d.fail(w, r, nil, err)
		return
	}
	d.render(w, r, nil, http.StatusOK, "setup", "Set your password", setupData{form: form{Token: csrf}, Email: u.Email, SetupToken: tok, MinLength: MinPasswordLength})
}

func (d *Dashboard) setup(w http.ResponseWriter, r *http.Request, csrf string) {
	ctx := r.Context()
	tok := r.PostFormValue("token")
	u, err := d.setupUser(ctx, tok)
	if err != nil {
		d.fail(w, r, nil, err)
		return
	}
	pw := r.PostFormValue("password")
	data := setupData{form: form{Token: csrf}, Email: u.Email, SetupToken: tok, MinLength: MinPasswordLength}
	switch {
	case len([]rune(pw)) < MinPasswordLength:
		data.Err = "The password must have at least " + itoa(MinPasswordLength) + " characters."
	case len(pw) > 256:
		data.Err = "The password must have at most 256 bytes."
	case pw != r.PostFormValue("confirm"):
		data.Err = "The two passwords differ."
	case strings.EqualFold(pw, u.Email):
		data.Err = "The password must not be your email."
	}
	if data.Err != "" {
		d.render(w, r, nil, http.StatusBadRequest, "setup", "Set your password", data)
		return
	}
	hash, err := hashPassword(ctx, pw)
	if err != nil {
		d.busy(w, r)
		return
	}
	if err == nil {
		err = d.cfg.Store.CompleteSetup(ctx, u.ID, hashToken(tok), hash)
	}
	if err == nil {
		err = d.startSession(w, r, u)
	}
	if err != nil {
		d.fail(w, r, nil, err)
		return
	}
	done(w, r, "/", "password-set")
}

// throttle counts sign-in attempts per key (a client address, or an
// email that has no account) in a sliding window. It lives in memory: an
// account's own lockout is in the store and holds across instances; this
// one slows a single address down.
type throttle struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	hits   map[string][]time.Time
}

// maxKeys bounds the throttle's memory under a flood of addresses.
const maxKeys = 100_000

func newThrottle(max int, window time.Duration) *throttle {
	return &throttle{max: max, window: window, hits: map[string][]time.Time{}}
}

func (t *throttle) recent(key string, now time.Time) []time.Time {
	ts := t.hits[key]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= t.window {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(t.hits, key)
	} else {
		t.hits[key] = ts
	}
	return ts
}

// blocked returns how long key must wait, or 0.
func (t *throttle) blocked(key string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.wait(t.recent(key, now), now)
}

func (t *throttle) wait(ts []time.Time, now time.Time) time.Duration {
	if len(ts) < t.max {
		return 0
	}
	return ts[len(ts)-t.max].Add(t.window).Sub(now)
}

// take counts one attempt unless key must wait; it returns the wait (0
// when the attempt was counted) and the attempts now in the window.
func (t *throttle) take(key string, now time.Time) (time.Duration, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ts := t.recent(key, now)
	if w := t.wait(ts, now); w > 0 {
		return w, len(ts)
	}
	if len(t.hits) >= maxKeys {
		for k := range t.hits {
			t.recent(k, now)
		}
		if len(t.hits) >= maxKeys {
			t.hits = map[string][]time.Time{} // still full of live keys: a flood; start over
		}
	}
	t.hits[key] = append(ts, now)
	return 0, len(ts) + 1
}

// forgive takes back the newest attempt of key (it succeeded).
func (t *throttle) forgive(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ts := t.hits[key]; len(ts) > 0 {
		if len(ts) == 1 {
			delete(t.hits, key)
		} else {
			t.hits[key] = ts[:len(ts)-1]
		}
	}
}
