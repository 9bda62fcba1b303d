// Package dashboard is the merchant's web UI at /dashboard: where the
// vendors' docs send merchants to find their merchant ID, manage API keys
// and scopes, rotate secrets, set callback URLs and read what jeton did.
//
// It is server-rendered from templates embedded in the binary; the few
// lines of JavaScript (copy buttons) are a convenience, every page and
// form works without them. Users sign in with an email and a password
// (argon2id); the first owner of a merchant is created on the command line
// (`jeton user create`), which prints a one-time setup link.
//
// Security: sessions are random tokens kept only as SHA-256 hashes;
// cookies are HttpOnly and SameSite=Strict, and Secure behind TLS. Every
// form carries a CSRF token derived from the session (or, before sign-in,
// from a pre-session cookie), and cross-origin POSTs are refused as well.
// Sign-in is throttled per client address and locks an account after
// repeated wrong passwords. Every query is scoped to the session's
// merchant, so a user never sees another merchant's data.
package dashboard
