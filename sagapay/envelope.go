package sagapay

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/httpserver"
)

type okEnvelope struct {
	Status  string `json:"status"`
	Data    any    `json:"data"`
	Message string `json:"message"`
}

// errEnvelope is Surfboard's error body; key is jeton's stable error key,
// an addition clients may branch on (message wording may change).
type errEnvelope struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Key     string `json:"key,omitempty"`
}

// Statuses maps error kinds to Surfboard's HTTP codes.
var Statuses = map[jeton.Kind]int{
	jeton.KindInvalid:      http.StatusBadRequest,
	jeton.KindUnauthorized: http.StatusUnauthorized,
	jeton.KindForbidden:    http.StatusForbidden,
	jeton.KindNotFound:     http.StatusNotFound,
	jeton.KindConflict:     http.StatusConflict,
	jeton.KindRateLimited:  http.StatusTooManyRequests,
	jeton.KindInternal:     http.StatusInternalServerError,
	jeton.KindUnavailable:  http.StatusServiceUnavailable,
}

var jsonCT = []string{"application/json; charset=utf-8"}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header()["Content-Type"] = jsonCT
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func (a *API) ok(w http.ResponseWriter, r *http.Request, status int, data any, msg string) {
	writeJSON(w, status, okEnvelope{Status: "SUCCESS", Data: data, Message: msg})
}

func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := jeton.AsError(err)
	status, ok := Statuses[e.Kind]
	if !ok {
		status = http.StatusInternalServerError
	}
	msg := e.Message
	if e.Kind == jeton.KindInternal && r.Context().Err() != nil {
		// The client went away mid-request (its work was not committed
		// unless its batch already was); nobody reads this reply.
		a.log.DebugContext(r.Context(), "client gone", "requestId", httpserver.RequestIDOf(w, r), "route", r.Pattern)
	} else if e.Kind == jeton.KindInternal {
		a.log.ErrorContext(r.Context(), "internal error", "requestId", httpserver.RequestIDOf(w, r), "route", r.Pattern, "err", e.Err)
		msg = "Internal server error"
	}
	for name, why := range e.Fields { // one field is enough for Surfboard's single message
		msg = name + " " + why
		break
	}
	writeJSON(w, status, errEnvelope{Status: "ERROR", Message: msg, Key: e.Key})
}

// decode reads a JSON object into v, refusing unknown fields.
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return invalid("request body is too large")
		}
		return invalid("cannot read request body")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		switch {
		case errors.As(err, &ute):
			return invalid(ute.Field + " must be a " + ute.Type.Kind().String())
		case bytes.HasPrefix(bytes.TrimSpace([]byte(err.Error())), []byte("json: unknown field")):
			return invalid(err.Error()[len("json: "):])
		default:
			return invalid("request body must be a JSON object")
		}
	}
	if dec.More() {
		return invalid("request body must be one JSON object")
	}
	return nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
