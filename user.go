package jeton

import (
	"context"
	"time"
)

// User is a person who signs in to one merchant's dashboard. Emails are
// unique across jeton, so a sign-in names exactly one merchant.
type User struct {
	ID         string
	MerchantID string
	Email      string
	Role       string // RoleOwner
	// PasswordHash is an argon2id PHC string; empty until the user has
	// followed the one-time setup link.
	PasswordHash string
	// SetupHash is the SHA-256 of the one-time setup token (nil once
	// used); the token itself is only ever printed.
	SetupHash      []byte
	SetupExpiresAt *time.Time
	// FailedLogins counts wrong passwords since the last success or
	// lockout; LockedUntil refuses every sign-in until then.
	FailedLogins int
	LockedUntil  *time.Time
	CreatedAt    time.Time
	LastLoginAt  *time.Time
}

// RoleOwner may do everything the dashboard offers for its merchant.
const RoleOwner = "owner"

// Session is a signed-in browser. Only the SHA-256 of the cookie's token
// is stored, so a copy of the database opens no session.
type Session struct {
	Hash       []byte
	UserID     string
	MerchantID string
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// Dashboard error keys.
const (
	KeyEmailTaken      = "EMAIL_TAKEN"
	KeySetupLinkUsed   = "SETUP_LINK_INVALID"
	KeySignInLocked    = "SIGN_IN_LOCKED"
	KeyBadCredentials  = "INVALID_EMAIL_OR_PASSWORD"
	KeyCSRFTokenFailed = "CSRF_TOKEN_INVALID"
)

// UserStore keeps dashboard users and their sessions.
type UserStore interface {
	// CreateUser stores a new user; an email already in use is
	// KeyEmailTaken.
	CreateUser(ctx context.Context, u User) error
	User(ctx context.Context, id string) (User, error)
	UserByEmail(ctx context.Context, email string) (User, error)
	UserBySetup(ctx context.Context, setupHash []byte) (User, error)
	// ResetSetup gives the user a new one-time setup token and lifts any
	// lockout; the password stays until the link is used.
	ResetSetup(ctx context.Context, userID string, setupHash []byte, expires time.Time) error
	// CompleteSetup sets the password and spends the setup token, only
	// while setupHash is still the user's; it also ends every session of
	// the user.
	CompleteSetup(ctx context.Context, userID string, setupHash []byte, passwordHash string) error
	// SignInFailed counts one wrong password; the lockAfter-th in a row
	// locks the user until lockUntil and starts the count again. It
	// returns the user as it now is.
	SignInFailed(ctx context.Context, userID string, lockAfter int, lockUntil time.Time) (User, error)
	// SignedIn clears the failure count and records the time; while a
	// lock holds at at it changes nothing and answers KeySignInLocked.
	SignedIn(ctx context.Context, userID string, at time.Time) error

	CreateSession(ctx context.Context, s Session) error
	// Session returns an unexpired session by its hash.
	Session(ctx context.Context, hash []byte, now time.Time) (Session, error)
	DeleteSession(ctx context.Context, hash []byte) error
	// DeleteExpiredSessions removes sessions that ended before now.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)
}
