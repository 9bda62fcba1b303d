package main

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jetonhq/jeton/client"
	jetonjs "github.com/jetonhq/jeton/sdk/js"
)

// static is the web page: index.html, app.js and style.css. /jeton.js is
// the browser SDK as sdk/js builds it.
//
//go:embed static
var static embed.FS

// tokenTTL is how long a client token minted for the page lives. The
// browser SDK fetches a new one shortly before it expires.
const tokenTTL = 15 * time.Minute

const sessionCookie = "merchant_session"

// server is the shop's backend: its own sign-in, the user's balance, the
// client tokens for the browser, and the callback URL jeton calls.
type server struct {
	users      []User
	ledger     *Ledger
	merchantID string
	apiSecret  string // signs client tokens and verifies callbacks
	jetonURL   string // where the browser calls jeton
	secure     bool   // cookies only over https
	log        *slog.Logger
	now        func() time.Time

	mu       sync.Mutex
	sessions map[string]string // session id → user name; a restart signs everyone out
}

func (s *server) routes() http.Handler {
	page, _ := fs.Sub(static, "static")
	mux := http.NewServeMux()
	mux.Handle("GET /", http.FileServerFS(page))
	mux.HandleFunc("GET /jeton.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		_, _ = w.Write(jetonjs.JetonJS)
	})
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("GET /api/me", s.me)
	mux.HandleFunc("POST /api/jeton-token", s.jetonToken)
	mux.Handle("POST /jeton/callback", s.callbacks())
	return s.headers(mux)
}

// headers sets a strict Content-Security-Policy: the page runs only its
// own scripts and talks only to this backend and to jeton.
func (s *server) headers(next http.Handler) http.Handler {
	jeton := s.jetonURL
	if u, err := url.Parse(jeton); err == nil {
		jeton = u.Scheme + "://" + u.Host
	}
	csp := "default-src 'self'; connect-src 'self' " + jeton + "; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// callbacks is the callback URL. client.CallbackHandler verifies every
// signature with the API secret (answering 401 otherwise), answers the
// unsigned test ping, and routes approval calls and status callbacks.
func (s *server) callbacks() http.Handler {
	return &client.CallbackHandler{
		Secrets: client.Secrets(s.apiSecret),
		Approve: func(_ context.Context, t client.Trade) (bool, string, error) {
			v, err := s.ledger.Approve(t)
			if err != nil {
				s.log.Error("approval not decided", "trade", t.ID, "err", err) // answered 503: jeton asks again
				return false, "", err
			}
			s.log.Info("approval", "trade", t.ID, "user", v.User, "price", t.TotalPrice.String(), "approve", v.Approve, "reason", v.Reason)
			return v.Approve, v.Reason, nil
		},
		Status: func(_ context.Context, c client.AssetPayCallback) error {
			s.log.Info("callback", "trade", c.Trade.ID, "type", c.Trade.Type, "status", c.Trade.Status, "delivery", c.DeliveryID)
			return s.ledger.Apply(c.Trade) // an error answers 500: jeton retries
		},
		OnPing: func(context.Context, client.Ping) { s.log.Info("test ping from jeton") },
		OnRefused: func(_ *http.Request, err error) {
			s.log.Warn("callback refused", "reason", string(client.ReasonOf(err)))
		},
	}
}

// login signs a user in with a session cookie: HttpOnly (scripts cannot
// read it) and SameSite=Strict (other sites cannot send it, so they
// cannot get tokens for the user).
func (s *server) login(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	// JSON only: another site's form cannot send it without a CORS
	// preflight, which this backend never grants (no login CSRF).
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		writeJSON(w, http.StatusUnsupportedMediaType, map[string]string{"error": "send JSON"})
		return
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "send {username, password}"})
		return
	}
	u := findUser(s.users, in.Username, in.Password)
	if u == nil {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "wrong user name or password"})
		return
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	s.mu.Lock()
	s.sessions[id] = u.Name
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true,
		Secure: s.secure, SameSite: http.SameSiteStrictMode, MaxAge: 12 * 3600})
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.mu.Lock()
		delete(s.sessions, c.Value)
		s.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", HttpOnly: true,
		Secure: s.secure, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
}

// user is the signed-in user, or nil (then 401 is answered).
func (s *server) user(w http.ResponseWriter, r *http.Request) *User {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.mu.Lock()
		name := s.sessions[c.Value]
		s.mu.Unlock()
		for i, u := range s.users {
			if name != "" && u.Name == name {
				return &s.users[i]
			}
		}
	}
	writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "not signed in"})
	return nil
}

// me is what the page shows: the user, the balance and the ledger,
// newest entry first, and where jeton is.
func (s *server) me(w http.ResponseWriter, r *http.Request) {
	u := s.user(w, r)
	if u == nil {
		return
	}
	a, _ := s.ledger.Account(u.Name)
	slices.Reverse(a.Entries)
	writeJSON(w, http.StatusOK, map[string]any{
		"user":     map[string]string{"name": u.Name, "steamId": u.SteamID, "tradeUrl": u.TradeURL},
		"balance":  a.Balance,
		"entries":  a.Entries,
		"jetonUrl": s.jetonURL,
	})
}

// jetonToken is the getToken of the browser SDK. The token is signed
// here with the API secret (client.MintToken) rather than asked from
// POST /auth/authenticate-client: the backend holds the secret anyway to
// verify callbacks, minting needs no round trip to jeton, and jeton
// accepts the token exactly like one of its own (and still enforces its
// lifetime limit and revocations). clientId is our user name, so every
// trade and callback names the user; clientData feeds the risk model.
func (s *server) jetonToken(w http.ResponseWriter, r *http.Request) {
	u := s.user(w, r)
	if u == nil {
		return
	}
	now := s.now()
	tok, err := client.MintToken(s.apiSecret, s.merchantID, client.Client{
		SteamID: u.SteamID, TradeURL: u.TradeURL, ClientID: u.Name,
		ClientData: client.RawClientData(u.ClientData),
	}, tokenTTL, now)
	if err != nil {
		s.log.Error("minting a client token", "user", u.Name, "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "cannot mint a token"})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]string{"token": tok, "expiresAt": now.Add(tokenTTL).UTC().Format(time.RFC3339)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
