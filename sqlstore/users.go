package sqlstore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jetonhq/jeton"
)

var _ jeton.UserStore = (*DB)(nil)

const userCols = `id, merchant_id, email, role, password_hash, setup_hash, setup_expires_at, failed_logins, locked_until, created_at, last_login_at`

func init() {
	queries["insUser"] = `INSERT INTO dashboard_users (` + userCols + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	queries["getUser"] = `SELECT ` + userCols + ` FROM dashboard_users WHERE id = ?`
	queries["userByEmail"] = `SELECT ` + userCols + ` FROM dashboard_users WHERE email = ?`
	queries["userBySetup"] = `SELECT ` + userCols + ` FROM dashboard_users WHERE setup_hash = ?`
	queries["resetSetup"] = `UPDATE dashboard_users SET setup_hash = ?, setup_expires_at = ?, failed_logins = 0, locked_until = NULL WHERE id = ?`
	queries["completeSetup"] = `UPDATE dashboard_users SET password_hash = ?, setup_hash = NULL, setup_expires_at = NULL, failed_logins = 0, locked_until = NULL WHERE id = ? AND setup_hash = ?`
	queries["userFailed"] = `UPDATE dashboard_users SET failed_logins = failed_logins + 1 WHERE id = ?`
	queries["userLock"] = `UPDATE dashboard_users SET failed_logins = 0, locked_until = ? WHERE id = ? AND failed_logins >= ?`
	queries["userSignedIn"] = `UPDATE dashboard_users SET failed_logins = 0, locked_until = NULL, last_login_at = ? WHERE id = ? AND (locked_until IS NULL OR locked_until <= ?)`
	queries["insSession"] = `INSERT INTO dashboard_sessions (hash, user_id, merchant_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`
	queries["getSession"] = `SELECT hash, user_id, merchant_id, created_at, expires_at FROM dashboard_sessions WHERE hash = ? AND expires_at > ?`
	queries["delSession"] = `DELETE FROM dashboard_sessions WHERE hash = ?`
	queries["delUserSessions"] = `DELETE FROM dashboard_sessions WHERE user_id = ?`
	queries["delExpiredSessions"] = `DELETE FROM dashboard_sessions WHERE expires_at <= ?`

	queries["listProviders"] = `SELECT id, merchant_id, cert_hash, created_at, revoked_at FROM providers WHERE merchant_id = ? ORDER BY created_at, id`
	queries["revokeProvider"] = `UPDATE providers SET revoked_at = ? WHERE merchant_id = ? AND id = ? AND revoked_at IS NULL`
}

// nullHex stores a hash as hex, or NULL when there is none.
func nullHex(b []byte) any {
	if b == nil {
		return nil
	}
	return hex.EncodeToString(b)
}

func scanUser(s scanner) (jeton.User, error) {
	var u jeton.User
	var setup sql.NullString
	var setupExp, locked, last sql.NullInt64
	var created int64
	if err := s.Scan(&u.ID, &u.MerchantID, &u.Email, &u.Role, &u.PasswordHash, &setup, &setupExp, &u.FailedLogins, &locked, &created, &last); err != nil {
		return u, err
	}
	if setup.Valid {
		u.SetupHash, _ = hex.DecodeString(setup.String)
	}
	u.SetupExpiresAt, u.LockedUntil, u.LastLoginAt = ptrTime(setupExp), ptrTime(locked), ptrTime(last)
	u.CreatedAt = fromMicros(created)
	return u, nil
}

// CreateUser stores a new dashboard user.
func (db *DB) CreateUser(ctx context.Context, u jeton.User) error {
	_, err := db.exec(ctx, nil, "insUser", u.ID, u.MerchantID, u.Email, u.Role, u.PasswordHash, nullHex(u.SetupHash),
		nullMicros(u.SetupExpiresAt), u.FailedLogins, nullMicros(u.LockedUntil), micros(u.CreatedAt), nullMicros(u.LastLoginAt))
	if db.d.unique(err) {
		return jeton.Errorf(jeton.KindConflict, jeton.KeyEmailTaken, "a user with this email already exists")
	}
	if err != nil {
		return fmt.Errorf("insert user: %w", err)
	}
	return nil
}

func (db *DB) user(ctx context.Context, q string, arg any) (jeton.User, error) {
	u, err := scanUser(db.r.QueryRowContext(ctx, db.q[q], arg))
	if errors.Is(err, sql.ErrNoRows) {
		return u, notFound("user")
	}
	return u, err
}

// User returns one user by ID.
func (db *DB) User(ctx context.Context, id string) (jeton.User, error) {
	return db.user(ctx, "getUser", id)
}

// UserByEmail returns the user with this email (as stored: the caller
// normalises it).
func (db *DB) UserByEmail(ctx context.Context, email string) (jeton.User, error) {
	return db.user(ctx, "userByEmail", email)
}

// UserBySetup returns the user whose setup token hashes to setupHash.
func (db *DB) UserBySetup(ctx context.Context, setupHash []byte) (jeton.User, error) {
	return db.user(ctx, "userBySetup", hex.EncodeToString(setupHash))
}

// one runs a single-row update and reports a missing row as not found.
func (db *DB) one(ctx context.Context, tx *sql.Tx, what, q string, args ...any) error {
	res, err := db.exec(ctx, tx, q, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return notFound(what)
	}
	return nil
}

// ResetSetup issues a new setup token and lifts any lockout.
func (db *DB) ResetSetup(ctx context.Context, userID string, setupHash []byte, expires time.Time) error {
	return db.one(ctx, nil, "user", "resetSetup", hex.EncodeToString(setupHash), micros(expires), userID)
}

// CompleteSetup sets the password, spends the token and ends the user's
// sessions, in one transaction.
func (db *DB) CompleteSetup(ctx context.Context, userID string, setupHash []byte, passwordHash string) error {
	return db.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := db.one(ctx, tx, "setup link", "completeSetup", passwordHash, userID, hex.EncodeToString(setupHash)); err != nil {
			if jeton.AsError(err).Kind == jeton.KindNotFound {
				return jeton.Errorf(jeton.KindNotFound, jeton.KeySetupLinkUsed, "this setup link has been used or replaced")
			}
			return err
		}
		_, err := db.exec(ctx, tx, "delUserSessions", userID)
		return err
	})
}

// SignInFailed counts a wrong password and locks the user at lockAfter.
func (db *DB) SignInFailed(ctx context.Context, userID string, lockAfter int, lockUntil time.Time) (jeton.User, error) {
	err := db.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := db.one(ctx, tx, "user", "userFailed", userID); err != nil {
			return err
		}
		_, err := db.exec(ctx, tx, "userLock", micros(lockUntil), userID, lockAfter)
		return err
	})
	if err != nil {
		return jeton.User{}, err
	}
	return db.User(ctx, userID)
}

// SignedIn clears the failure count, unless a lock (set by a concurrent
// attempt) holds at at.
func (db *DB) SignedIn(ctx context.Context, userID string, at time.Time) error {
	if err := db.one(ctx, nil, "user", "userSignedIn", micros(at), userID, micros(at)); err != nil {
		if _, uerr := db.User(ctx, userID); uerr == nil {
			return jeton.Errorf(jeton.KindRateLimited, jeton.KeySignInLocked, "the account is locked")
		}
		return err
	}
	return nil
}

// CreateSession stores a session.
func (db *DB) CreateSession(ctx context.Context, s jeton.Session) error {
	_, err := db.exec(ctx, nil, "insSession", hex.EncodeToString(s.Hash), s.UserID, s.MerchantID, micros(s.CreatedAt), micros(s.ExpiresAt))
	return err
}

// Session returns an unexpired session.
func (db *DB) Session(ctx context.Context, hash []byte, now time.Time) (jeton.Session, error) {
	var s jeton.Session
	var h string
	var created, expires int64
	err := db.r.QueryRowContext(ctx, db.q["getSession"], hex.EncodeToString(hash), micros(now)).Scan(&h, &s.UserID, &s.MerchantID, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return s, notFound("session")
	}
	if err != nil {
		return s, err
	}
	s.Hash, _ = hex.DecodeString(h)
	s.CreatedAt, s.ExpiresAt = fromMicros(created), fromMicros(expires)
	return s, nil
}

// DeleteSession ends a session (signing out); a missing one is fine.
func (db *DB) DeleteSession(ctx context.Context, hash []byte) error {
	_, err := db.exec(ctx, nil, "delSession", hex.EncodeToString(hash))
	return err
}

// DeleteExpiredSessions removes ended sessions.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	res, err := db.exec(ctx, nil, "delExpiredSessions", micros(now))
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// Providers lists a merchant's providers, oldest first.
func (db *DB) Providers(ctx context.Context, merchantID string) ([]jeton.Provider, error) {
	rows, err := db.r.QueryContext(ctx, db.q["listProviders"], merchantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []jeton.Provider
	for rows.Next() {
		p, err := scanProvider(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// RevokeProvider ends a provider.
func (db *DB) RevokeProvider(ctx context.Context, merchantID, id string, at time.Time) error {
	return db.one(ctx, nil, "provider", "revokeProvider", micros(at), merchantID, id)
}
