package assetpay

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/credential"
	"github.com/jetonhq/jeton/httpserver"
	"github.com/jetonhq/jeton/token"
)

// ClientWriter stores an authenticated client's latest data durably.
type ClientWriter interface {
	Add(ctx context.Context, c jeton.Client) error
}

// API is the AssetPay surface.
type API struct {
	creds    *credential.Service
	verifier *token.Verifier
	clients  ClientWriter
	now      func() time.Time
	log      *slog.Logger
	trading  *Trading
}

// New makes the surface. now may be nil.
func New(creds *credential.Service, verifier *token.Verifier, clients ClientWriter, now func() time.Time, log *slog.Logger) *API {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &API{creds: creds, verifier: verifier, clients: clients, now: now, log: log}
}

// Routes returns every route of the surface.
func (a *API) Routes() []httpserver.Route {
	routes := []httpserver.Route{
		{Method: "GET", Path: "/health", Handler: http.HandlerFunc(a.health), Browser: true},
		{Method: "POST", Path: "/auth/authenticate-client", Handler: a.withKey(jeton.ScopeCoreAccess, a.authenticateClient)},
		{Method: "GET", Path: "/client/me", Handler: a.withToken(a.me), Browser: true},
		{Method: "POST", Path: "/secure/clients/revoke-tokens", Handler: a.withKey(jeton.ScopeAdmin, a.revokeTokens)},
	}
	for _, r := range a.tradingRoutes() {
		routes = append(routes, httpserver.Route{Method: r.Method, Path: r.Path, Handler: r.Handler, Browser: r.Browser})
	}
	return routes
}

type keyHandler func(w http.ResponseWriter, r *http.Request, k jeton.APIKey)
type tokenHandler func(w http.ResponseWriter, r *http.Request, t *jeton.ClientToken)

// withKey authenticates the api-key header and checks the scope.
func (a *API) withKey(scope jeton.Scope, h keyHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, err := a.creds.AuthenticateKey(r.Context(), r.Header.Get("api-key"))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if err := credential.RequireScope(k, scope); err != nil {
			a.fail(w, r, err)
			return
		}
		h(w, r, k)
	})
}

// withToken verifies the client token of the Authorization header.
func (a *API) withToken(h tokenHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := token.ExtractBearer(r.Header.Get("Authorization"))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		t, err := a.verifier.Verify(r.Context(), raw)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if t.Surface != jeton.SurfaceAssetPay {
			a.fail(w, r, jeton.Errorf(jeton.KindUnauthorized, jeton.KeyTokenWrongSurface, "this is a SagaPay token; /client routes need an AssetPay client token"))
			return
		}
		h(w, r, t)
	})
}

type healthData struct {
	Status string `json:"status"`
}

func (a *API) health(w http.ResponseWriter, r *http.Request) {
	a.ok(w, r, healthData{Status: "ok"})
}
