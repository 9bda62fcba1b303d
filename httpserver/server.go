package httpserver

import (
	"context"
	_ "embed"
	"encoding/json"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Route is one endpoint a surface serves. Browser says the route is
// called from browsers with a client token, so it gets CORS.
type Route struct {
	Method  string
	Path    string // net/http pattern path, e.g. /client/me or /orders/{orderId}
	Handler http.Handler
	Browser bool
	// Page says the route serves HTML to people (the dashboard), not the
	// API: it is left out of the OpenAPI document.
	Page bool
}

// Config configures the shared server.
type Config struct {
	// AllowedOrigins for CORS on browser routes; empty or "*" = any
	// origin, without credentials (client tokens travel in a header).
	AllowedOrigins []string
	// AccessLog logs one line per request (off by default: it costs more
	// than the rest of a cached-token request).
	AccessLog bool
	// MaxBodyBytes bounds request bodies (default 1 MiB).
	MaxBodyBytes int64
	// Ready reports whether dependencies answer, for /readyz.
	Ready func(context.Context) error
	Log   *slog.Logger
}

// Server mounts surfaces on one mux with the shared middleware.
type Server struct {
	cfg     Config
	mux     *http.ServeMux
	metrics *Metrics
	routes  []Route
	handler http.Handler
	anyOrig bool
	origins map[string]bool
}

//go:embed openapi.json
var openapiDoc []byte

// OpenAPI returns the served OpenAPI document of jeton's routes.
func OpenAPI() []byte { return openapiDoc }

// New makes a server with the health, metrics and OpenAPI routes.
func New(cfg Config, m *Metrics) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), metrics: m, origins: map[string]bool{}}
	s.anyOrig = len(cfg.AllowedOrigins) == 0
	for _, o := range cfg.AllowedOrigins {
		if o == "*" {
			s.anyOrig = true
		}
		s.origins[strings.TrimRight(o, "/")] = true
	}
	s.Mount(
		Route{Method: "GET", Path: "/healthz", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		})},
		Route{Method: "GET", Path: "/readyz", Handler: http.HandlerFunc(s.ready)},
		Route{Method: "GET", Path: "/metrics", Handler: promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})},
		Route{Method: "GET", Path: "/openapi.json", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Access-Control-Allow-Origin", "*")
			_, _ = w.Write(openapiDoc)
		})},
	)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// Unknown routes answer in a shape both surfaces' clients read:
		// AssetPay's {success:false, error} and SagaPay's {status, message}.
		msg := "no route " + r.Method + " " + r.URL.Path
		writeJSON(w, http.StatusNotFound, map[string]any{"requestId": RequestIDOf(w, r), "success": false,
			"status": "ERROR", "message": msg,
			"error": map[string]any{"code": 1004, "key": "NOT_FOUND", "message": msg}})
	})
	s.handler = withRequestID(s.observe(s.mux))
	return s
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.cfg.Ready(ctx); err != nil {
			s.cfg.Log.Warn("not ready", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Mount registers routes. Browser routes also answer CORS preflights.
func (s *Server) Mount(routes ...Route) {
	preflight := map[string]bool{}
	for _, rt := range s.routes {
		if rt.Browser {
			preflight[rt.Path] = true
		}
	}
	for _, rt := range routes {
		h := limitBody(rt.Handler, s.cfg.MaxBodyBytes)
		if rt.Browser {
			h = s.cors(h)
			if !preflight[rt.Path] {
				preflight[rt.Path] = true
				s.mux.Handle("OPTIONS "+rt.Path, s.cors(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.WriteHeader(http.StatusNoContent)
				})))
			}
		}
		s.mux.Handle(rt.Method+" "+rt.Path, h)
		s.routes = append(s.routes, rt)
	}
}

// limitBody bounds request bodies; bodiless requests (most GETs) skip
// the wrapper and the request copy it makes.
func limitBody(h http.Handler, n int64) http.Handler {
	limited := http.MaxBytesHandler(h, n)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			h.ServeHTTP(w, r)
			return
		}
		limited.ServeHTTP(w, r)
	})
}

// Routes lists every mounted route (for the OpenAPI conformance test).
func (s *Server) Routes() []Route {
	out := append([]Route(nil), s.routes...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}

// ServeHTTP serves every mounted route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

var (
	corsMethods = []string{"GET, POST, PUT, PATCH, DELETE, OPTIONS"}
	corsHeaders = []string{"Authorization, Content-Type, X-Request-Id, X-Page-Number"}
	corsExpose  = []string{"X-Request-Id, X-Page-Number, X-Total-Items"}
	corsMaxAge  = []string{"600"}
	corsStar    = []string{"*"}
	corsVary    = []string{"Origin"}
)

func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		h := w.Header()
		if origin != "" {
			switch {
			case s.anyOrig:
				h["Access-Control-Allow-Origin"] = corsStar
			case s.origins[origin]:
				h["Access-Control-Allow-Origin"] = []string{origin}
				h["Vary"] = corsVary
			}
			if r.Method == http.MethodOptions {
				h["Access-Control-Allow-Methods"] = corsMethods
				h["Access-Control-Allow-Headers"] = corsHeaders
				h["Access-Control-Max-Age"] = corsMaxAge
			} else {
				h["Access-Control-Expose-Headers"] = corsExpose
			}
		}
		next.ServeHTTP(w, r)
	})
}

var swPool = sync.Pool{New: func() any { return new(statusWriter) }}

func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := swPool.Get().(*statusWriter)
		*sw = statusWriter{ResponseWriter: w}
		defer func() { *sw = statusWriter{}; swPool.Put(sw) }()
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" || route == "/" {
			route = "unmatched"
		}
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		d := time.Since(start)
		s.metrics.counter(route, sw.code).Inc()
		s.metrics.hist(route).Observe(d.Seconds())
		if s.cfg.AccessLog || sw.code >= 500 {
			// Paths carry ids only; headers, bodies and queries are never
			// logged, so no key, secret or token can reach the log.
			lvl := slog.LevelInfo
			if sw.code >= 500 {
				lvl = slog.LevelError
			}
			s.cfg.Log.LogAttrs(r.Context(), lvl, "request", slog.String("requestId", RequestIDOf(sw, r)),
				slog.String("method", r.Method), slog.String("route", route), slog.String("path", r.URL.Path),
				slog.Int("status", sw.code), slog.Duration("duration", d))
		}
	})
}
