package httpserver

import (
	"net/http"

	"github.com/jetonhq/jeton/internal/ids"
)

// RequestIDOf returns the id of the request being answered on w: the
// X-Request-Id reply header that every request gets before its handler runs.
func RequestIDOf(w http.ResponseWriter, r *http.Request) string {
	if v := w.Header()["X-Request-Id"]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// NewRequestID returns a random UUIDv4.
func NewRequestID() string { return ids.Random() }

// validRequestID accepts a caller's id when it is a UUID (the vendor SDK
// sends a UUIDv4 and reuses it across retries).
func validRequestID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = NewRequestID()
		}
		// The id travels in the reply header, where RequestIDOf reads it:
		// no copy of the request, no new context, on every request.
		w.Header()["X-Request-Id"] = []string{id}
		next.ServeHTTP(w, r)
	})
}
