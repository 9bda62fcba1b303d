package credential

import (
	"context"
	"crypto/subtle"
	"errors"
	"strings"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/token"
)

// negativeTTL is how long an unknown merchant ID is remembered as unknown,
// so tokens naming random merchants do not each reach the database.
const negativeTTL = 5 * time.Second

// AuthenticateKey checks an API key value and returns its record. It
// answers MISSING_API_KEY, INVALID_API_KEY or API_KEY_REVOKED.
func (s *Service) AuthenticateKey(ctx context.Context, plain string) (jeton.APIKey, error) {
	if plain == "" {
		return jeton.APIKey{}, jeton.Errorf(jeton.KindUnauthorized, jeton.KeyMissingAPIKey, "missing API key: send it in the api-key header")
	}
	if !strings.HasPrefix(plain, KeyPrefix) || len(plain) > 256 {
		return jeton.APIKey{}, jeton.Errorf(jeton.KindUnauthorized, jeton.KeyInvalidAPIKey, "invalid API key")
	}
	h := HashKey(plain)
	hk := string(h)
	s.mu.RLock()
	k, ok := s.keys[hk]
	s.mu.RUnlock()
	if !ok {
		gen := s.gen.Load()
		var err error
		k, err = s.store.APIKeyByHash(ctx, h)
		if err != nil {
			if jeton.AsError(err).Kind == jeton.KindNotFound {
				return jeton.APIKey{}, jeton.Errorf(jeton.KindUnauthorized, jeton.KeyInvalidAPIKey, "invalid API key")
			}
			return jeton.APIKey{}, err
		}
		s.mu.Lock()
		if s.gen.Load() == gen {
			s.keys[hk] = k
		}
		s.mu.Unlock()
	}
	now := s.now()
	if !k.ActiveAt(now) {
		return jeton.APIKey{}, jeton.Errorf(jeton.KindUnauthorized, jeton.KeyAPIKeyRevoked, "API key has been revoked or has expired")
	}
	s.mu.Lock()
	s.used[k.ID] = now
	s.mu.Unlock()
	return k, nil
}

// RequireScope returns API_KEY_SCOPE_DENIED naming the missing scope.
// READ_ONLY routes also accept CORE_ACCESS and ADMIN keys.
func RequireScope(k jeton.APIKey, need jeton.Scope) error {
	if k.Has(need) {
		return nil
	}
	if need == jeton.ScopeReadOnly && (k.Has(jeton.ScopeCoreAccess) || k.Has(jeton.ScopeAdmin)) {
		return nil
	}
	return &jeton.Error{Kind: jeton.KindForbidden, Key: jeton.KeyAPIKeyScopeDenied,
		Message: "API key lacks the " + string(need) + " scope", Details: map[string]any{"requiredScope": string(need)}}
}

// AuthenticateMerchant checks SagaPay's three headers together: the key
// must be valid and belong to merchantID, and secret must be the merchant's
// API secret (the current one, or the previous one in its grace).
func (s *Service) AuthenticateMerchant(ctx context.Context, key, secret, merchantID string) (jeton.APIKey, error) {
	unauth := jeton.Errorf(jeton.KindUnauthorized, jeton.KeyInvalidCredentials, "Unauthorized access. Please provide valid credentials to access this endpoint.")
	if key == "" || secret == "" || merchantID == "" {
		return jeton.APIKey{}, unauth
	}
	k, err := s.AuthenticateKey(ctx, key)
	if err != nil {
		if e := jeton.AsError(err); e.Kind == jeton.KindUnauthorized {
			return jeton.APIKey{}, unauth
		}
		return jeton.APIKey{}, err
	}
	if k.MerchantID != merchantID {
		return jeton.APIKey{}, unauth
	}
	keys, err := s.MerchantKeys(ctx, merchantID)
	if err != nil {
		if e := jeton.AsError(err); e.Kind == jeton.KindNotFound {
			return jeton.APIKey{}, unauth
		}
		return jeton.APIKey{}, err
	}
	match := 0
	for _, sec := range keys.Secrets {
		match |= subtle.ConstantTimeCompare(sec, []byte(secret))
	}
	if match != 1 {
		return jeton.APIKey{}, unauth
	}
	return k, nil
}

// Merchant returns a merchant, from the cache when possible.
func (s *Service) Merchant(ctx context.Context, id string) (jeton.Merchant, error) {
	e, err := s.entry(ctx, id)
	if err != nil {
		return jeton.Merchant{}, err
	}
	return e.merchant, nil
}

// SigningSecret returns the merchant's current API secret, which signs
// the tokens jeton issues.
func (s *Service) SigningSecret(ctx context.Context, merchantID string) ([]byte, error) {
	e, err := s.entry(ctx, merchantID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	for _, sec := range e.secrets {
		if sec.retiresAt == nil || now.Before(*sec.retiresAt) {
			return sec.plain, nil
		}
	}
	return nil, jeton.Errorf(jeton.KindInternal, jeton.KeyServerError, "merchant has no API secret")
}

// CallbackSecrets returns the secrets that sign callbacks: the current
// one first, then the previous one while its grace period lasts (it signs
// the s1 signature, so receivers still holding it verify).
func (s *Service) CallbackSecrets(ctx context.Context, merchantID string) ([][]byte, error) {
	e, err := s.entry(ctx, merchantID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var cur, prev []byte
	for _, sec := range e.secrets {
		switch {
		case sec.retiresAt == nil:
			cur = sec.plain
		case now.Before(*sec.retiresAt) && prev == nil:
			prev = sec.plain
		}
	}
	if cur == nil {
		return nil, jeton.Errorf(jeton.KindInternal, jeton.KeyServerError, "merchant has no API secret")
	}
	if prev == nil {
		return [][]byte{cur}, nil
	}
	return [][]byte{cur, prev}, nil
}

// Forget drops the cached merchant, so the next lookup reads the store
// (other instances follow within a sync interval, by credential event).
func (s *Service) Forget(merchantID string) { s.dropMerchant(merchantID) }

// FreshMerchant reads the merchant from the store, not the cache: for a
// decision that a change made on another instance in the last second must
// not miss (a callback URL just set).
func (s *Service) FreshMerchant(ctx context.Context, merchantID string) (jeton.Merchant, error) {
	s.dropMerchant(merchantID)
	return s.Merchant(ctx, merchantID)
}

// MerchantKeys implements token.Keyring.
func (s *Service) MerchantKeys(ctx context.Context, merchantID string) (*token.MerchantKeys, error) {
	e, err := s.entry(ctx, merchantID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if mk := e.keys.Load(); mk != nil {
		if until := e.keysUntil.Load(); until == 0 || now.UnixNano() < until {
			return mk, nil
		}
	}
	mk := &token.MerchantKeys{MerchantID: merchantID, MaxLifetime: e.merchant.MaxTokenLifetime, Revoked: e.revoked}
	var until int64
	for _, sec := range e.secrets {
		if sec.retiresAt == nil || now.Before(*sec.retiresAt) {
			mk.Secrets = append(mk.Secrets, sec.plain)
			if sec.retiresAt != nil && (until == 0 || sec.retiresAt.UnixNano() < until) {
				until = sec.retiresAt.UnixNano()
			}
		}
	}
	e.keysUntil.Store(until)
	e.keys.Store(mk)
	return mk, nil
}

func (s *Service) entry(ctx context.Context, id string) (*merchantEntry, error) {
	s.mu.RLock()
	e := s.merchant[id]
	s.mu.RUnlock()
	if e != nil {
		if !e.missing {
			return e, nil
		}
		if s.now().Before(e.until) {
			return nil, jeton.Errorf(jeton.KindNotFound, jeton.KeyMerchantNotFound, "merchant not found")
		}
	}
	gen := s.gen.Load()
	e, err := s.load(ctx, id)
	if err != nil {
		if jeton.AsError(err).Kind == jeton.KindNotFound {
			s.mu.Lock()
			if len(s.merchant) < 100_000 {
				s.merchant[id] = &merchantEntry{missing: true, until: s.now().Add(negativeTTL)}
			}
			s.mu.Unlock()
		}
		return nil, err
	}
	s.mu.Lock()
	if s.gen.Load() == gen {
		s.merchant[id] = e
	}
	s.mu.Unlock()
	return e, nil
}

func (s *Service) load(ctx context.Context, id string) (*merchantEntry, error) {
	m, err := s.store.Merchant(ctx, id)
	if err != nil {
		return nil, err
	}
	secs, err := s.store.Secrets(ctx, id, s.now())
	if err != nil {
		return nil, err
	}
	e := &merchantEntry{merchant: m, revoked: map[string]int64{}}
	for _, sec := range secs {
		plain, err := s.sealer.Open(sec.Sealed, secretAAD(id, sec.ID))
		if err != nil {
			return nil, jeton.Internal(errors.New("cannot open merchant secret: " + err.Error()))
		}
		e.secrets = append(e.secrets, openSecret{plain: plain, retiresAt: sec.RetiresAt})
	}
	revs, err := s.store.TokenRevocations(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, r := range revs {
		e.revoked[token.RevocationKey(r.Kind, r.Subject)] = r.RevokedBefore.Unix()
	}
	return e, nil
}

func (s *Service) dropKeys(merchantID string) {
	s.mu.Lock()
	s.gen.Add(1)
	for h, k := range s.keys {
		if k.MerchantID == merchantID {
			delete(s.keys, h)
		}
	}
	s.mu.Unlock()
}

func (s *Service) dropMerchant(merchantID string) {
	s.mu.Lock()
	s.gen.Add(1)
	delete(s.merchant, merchantID)
	s.mu.Unlock()
	s.dropKeys(merchantID)
	if s.OnChange != nil {
		s.OnChange(merchantID)
	}
}

// Sync applies credential changes made by other processes (other
// instances, or admin commands run against the same store) and retires
// secrets whose grace has ended. The server calls it every second or so.
func (s *Service) Sync(ctx context.Context) error {
	// Secrets past their grace: forget the merchant so verification and
	// the token cache stop accepting tokens signed with them.
	now := s.now()
	var retired []string
	s.mu.RLock()
	for id, e := range s.merchant {
		for _, sec := range e.secrets {
			if sec.retiresAt != nil && !now.Before(*sec.retiresAt) {
				retired = append(retired, id)
				break
			}
		}
	}
	s.mu.RUnlock()
	for _, id := range retired {
		s.dropMerchant(id)
	}

	// Events from every writer. PostgreSQL may commit sequence numbers out
	// of order, so re-read a window behind the highest seen and skip the
	// ones already applied.
	from := s.lastSeq - 256
	if from < 0 {
		from = 0
	}
	for {
		evs, err := s.store.CredentialEvents(ctx, from, 500)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if s.seen[ev.Seq] {
				continue
			}
			s.seen[ev.Seq] = true
			s.dropMerchant(ev.MerchantID)
			if ev.Seq > s.lastSeq {
				s.lastSeq = ev.Seq
			}
		}
		if len(evs) < 500 {
			break
		}
		from = evs[len(evs)-1].Seq
	}
	for seq := range s.seen {
		if seq < s.lastSeq-1024 {
			delete(s.seen, seq)
		}
	}
	return nil
}

// Prime marks every existing event as applied; call it once at start.
func (s *Service) Prime(ctx context.Context) error {
	seq, err := s.store.LastCredentialEvent(ctx)
	if err != nil {
		return err
	}
	s.lastSeq = seq
	from := seq - 256
	if from < 0 {
		from = 0
	}
	evs, err := s.store.CredentialEvents(ctx, from, 1000)
	if err != nil {
		return err
	}
	for _, ev := range evs {
		s.seen[ev.Seq] = true
	}
	return nil
}

// FlushUsage writes batched last-used times of API keys.
func (s *Service) FlushUsage(ctx context.Context) error {
	s.mu.Lock()
	if len(s.used) == 0 {
		s.mu.Unlock()
		return nil
	}
	used := s.used
	s.used = map[string]time.Time{}
	s.mu.Unlock()
	if err := s.store.TouchAPIKeys(ctx, used); err != nil {
		s.mu.Lock() // keep them for the next flush, unless newer ones came
		for id, t := range used {
			if cur, ok := s.used[id]; !ok || cur.Before(t) {
				s.used[id] = t
			}
		}
		s.mu.Unlock()
		return err
	}
	return nil
}

// Run syncs and flushes every interval until ctx ends, then flushes once.
func (s *Service) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := s.FlushUsage(fctx); err != nil {
				s.log.Error("flush api key usage", "err", err)
			}
			cancel()
			return
		case <-t.C:
			if err := s.Sync(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("credential sync failed", "err", err)
			}
			if err := s.FlushUsage(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("flush api key usage failed", "err", err)
			}
		}
	}
}
