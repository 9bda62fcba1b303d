package storetest

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/jetonhq/jeton"
)

// users returns the store's user side; every jeton store keeps users.
func users(t *testing.T, s jeton.Store) jeton.UserStore {
	t.Helper()
	us, ok := s.(jeton.UserStore)
	if !ok {
		t.Fatalf("%T does not implement jeton.UserStore", s)
	}
	return us
}

func hashOf(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func newUser(merchantID string) jeton.User {
	id := jeton.NewID()
	return jeton.User{
		ID: "usr_" + id, MerchantID: merchantID, Email: "owner-" + id + "@example.com", Role: jeton.RoleOwner,
		SetupHash: hashOf("setup-" + id), SetupExpiresAt: ptr(base.Add(24 * time.Hour)), CreatedAt: base,
	}
}

func testProviderListRevoke(t *testing.T, s jeton.Store) {
	ctx := ctxT(t)
	a := create(t, s, base)
	b := create(t, s, base)
	p := newProvider(a.m.ID, base.Add(time.Minute))
	must(t, s.CreateProvider(ctx, p))
	ps, err := s.Providers(ctx, a.m.ID)
	must(t, err)
	if len(ps) != 2 || ps[0].ID != a.nm.Provider.ID || ps[1].ID != p.ID {
		t.Fatalf("Providers = %+v, want the first provider then %s", ps, p.ID)
	}
	checkProvider(t, ps[1], p)
	wantKind(t, "RevokeProvider(other merchant's)", s.RevokeProvider(ctx, b.m.ID, p.ID, base), jeton.KindNotFound, "")
	must(t, s.RevokeProvider(ctx, a.m.ID, p.ID, base.Add(time.Hour)))
	wantKind(t, "RevokeProvider(again)", s.RevokeProvider(ctx, a.m.ID, p.ID, base.Add(2*time.Hour)), jeton.KindNotFound, "")
	got, err := s.Provider(ctx, a.m.ID, p.ID)
	must(t, err)
	samePtrTime(t, "RevokedAt", got.RevokedAt, ptr(base.Add(time.Hour)))
	if ps, _ := s.Providers(ctx, b.m.ID); len(ps) != 1 {
		t.Fatalf("other merchant's providers = %d, want its own 1", len(ps))
	}
}

func testUsers(t *testing.T, s jeton.Store) {
	ctx := ctxT(t)
	us := users(t, s)
	a := create(t, s, base)
	u := newUser(a.m.ID)
	must(t, us.CreateUser(ctx, u))

	dup := newUser(a.m.ID)
	dup.Email = u.Email
	wantKind(t, "CreateUser(same email)", us.CreateUser(ctx, dup), jeton.KindConflict, jeton.KeyEmailTaken)
	bad := newUser("nope")
	wantErr(t, "CreateUser(unknown merchant)", us.CreateUser(ctx, bad))

	for name, get := range map[string]func() (jeton.User, error){
		"User":        func() (jeton.User, error) { return us.User(ctx, u.ID) },
		"UserByEmail": func() (jeton.User, error) { return us.UserByEmail(ctx, u.Email) },
		"UserBySetup": func() (jeton.User, error) { return us.UserBySetup(ctx, u.SetupHash) },
	} {
		got, err := get()
		must(t, err)
		if got.ID != u.ID || got.MerchantID != a.m.ID || got.Email != u.Email || got.Role != jeton.RoleOwner || got.PasswordHash != "" || string(got.SetupHash) != string(u.SetupHash) {
			t.Errorf("%s = %+v, want %+v", name, got, u)
		}
		samePtrTime(t, name+" SetupExpiresAt", got.SetupExpiresAt, u.SetupExpiresAt)
		sameTime(t, name+" CreatedAt", got.CreatedAt, base)
	}
	_, err := us.UserByEmail(ctx, "nobody@example.com")
	wantKind(t, "UserByEmail(unknown)", err, jeton.KindNotFound, "")

	// A wrong token spends nothing; the right one sets the password once.
	wantKind(t, "CompleteSetup(wrong token)", us.CompleteSetup(ctx, u.ID, hashOf("other"), "$argon2id$x"), jeton.KindNotFound, jeton.KeySetupLinkUsed)
	sess := jeton.Session{Hash: hashOf("sess-" + u.ID), UserID: u.ID, MerchantID: a.m.ID, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	must(t, us.CreateSession(ctx, sess))
	must(t, us.CompleteSetup(ctx, u.ID, u.SetupHash, "$argon2id$v=19$first"))
	wantKind(t, "CompleteSetup(again)", us.CompleteSetup(ctx, u.ID, u.SetupHash, "$argon2id$second"), jeton.KindNotFound, jeton.KeySetupLinkUsed)
	got, err := us.User(ctx, u.ID)
	must(t, err)
	if got.PasswordHash != "$argon2id$v=19$first" || got.SetupHash != nil || got.SetupExpiresAt != nil {
		t.Fatalf("after setup: %+v", got)
	}
	_, err = us.UserBySetup(ctx, u.SetupHash)
	wantKind(t, "UserBySetup(spent)", err, jeton.KindNotFound, "")
	_, err = us.Session(ctx, sess.Hash, base)
	wantKind(t, "Session(after setup)", err, jeton.KindNotFound, "")

	// A reset gives a new link; the password stays until it is used.
	must(t, us.ResetSetup(ctx, u.ID, hashOf("again"), base.Add(48*time.Hour)))
	got, err = us.UserBySetup(ctx, hashOf("again"))
	must(t, err)
	if got.PasswordHash != "$argon2id$v=19$first" {
		t.Fatalf("reset dropped the password: %+v", got)
	}
	wantKind(t, "ResetSetup(unknown)", us.ResetSetup(ctx, "usr_nope", hashOf("x"), base), jeton.KindNotFound, "")
}

func testUserLockout(t *testing.T, s jeton.Store) {
	ctx := ctxT(t)
	us := users(t, s)
	a := create(t, s, base)
	u := newUser(a.m.ID)
	must(t, us.CreateUser(ctx, u))
	until := base.Add(15 * time.Minute)
	for i := 1; i <= 2; i++ {
		got, err := us.SignInFailed(ctx, u.ID, 3, until)
		must(t, err)
		if got.FailedLogins != i || got.LockedUntil != nil {
			t.Fatalf("failure %d: %+v", i, got)
		}
	}
	got, err := us.SignInFailed(ctx, u.ID, 3, until)
	must(t, err)
	if got.FailedLogins != 0 {
		t.Fatalf("third failure left count %d, want 0 with a lock", got.FailedLogins)
	}
	samePtrTime(t, "LockedUntil", got.LockedUntil, &until)
	// A success that raced with the lock does not lift it.
	wantKind(t, "SignedIn(while locked)", us.SignedIn(ctx, u.ID, base.Add(time.Minute)), jeton.KindRateLimited, jeton.KeySignInLocked)
	must(t, us.SignedIn(ctx, u.ID, base.Add(time.Hour)))
	got, err = us.User(ctx, u.ID)
	must(t, err)
	if got.LockedUntil != nil || got.FailedLogins != 0 {
		t.Fatalf("after sign-in: %+v", got)
	}
	samePtrTime(t, "LastLoginAt", got.LastLoginAt, ptr(base.Add(time.Hour)))
	_, err = us.SignInFailed(ctx, "usr_nope", 3, until)
	wantKind(t, "SignInFailed(unknown)", err, jeton.KindNotFound, "")
}

func testSessions(t *testing.T, s jeton.Store) {
	ctx := ctxT(t)
	us := users(t, s)
	a := create(t, s, base)
	u := newUser(a.m.ID)
	must(t, us.CreateUser(ctx, u))
	live := jeton.Session{Hash: hashOf("live-" + u.ID), UserID: u.ID, MerchantID: a.m.ID, CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	old := jeton.Session{Hash: hashOf("old-" + u.ID), UserID: u.ID, MerchantID: a.m.ID, CreatedAt: base, ExpiresAt: base.Add(time.Minute)}
	must(t, us.CreateSession(ctx, live))
	must(t, us.CreateSession(ctx, old))
	got, err := us.Session(ctx, live.Hash, base.Add(30*time.Minute))
	must(t, err)
	if got.UserID != u.ID || got.MerchantID != a.m.ID || string(got.Hash) != string(live.Hash) {
		t.Fatalf("Session = %+v", got)
	}
	sameTime(t, "ExpiresAt", got.ExpiresAt, live.ExpiresAt)
	_, err = us.Session(ctx, old.Hash, base.Add(30*time.Minute))
	wantKind(t, "Session(expired)", err, jeton.KindNotFound, "")
	n, err := us.DeleteExpiredSessions(ctx, base.Add(30*time.Minute))
	must(t, err)
	if n < 1 {
		t.Fatalf("DeleteExpiredSessions removed %d, want at least the expired one", n)
	}
	must(t, us.DeleteSession(ctx, live.Hash))
	_, err = us.Session(ctx, live.Hash, base)
	wantKind(t, "Session(deleted)", err, jeton.KindNotFound, "")
	must(t, us.DeleteSession(ctx, live.Hash))
}
