package assetpay

import (
	"encoding/json"
	"net/http"
	"sort"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/httpserver"
)

type okEnvelope struct {
	RequestID string `json:"requestId"`
	Success   bool   `json:"success"`
	Data      any    `json:"data"`
}

type errBody struct {
	Code    int               `json:"code"`
	Key     string            `json:"key"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
	Details map[string]any    `json:"details,omitempty"`
}

type errEnvelope struct {
	RequestID string  `json:"requestId"`
	Success   bool    `json:"success"`
	Error     errBody `json:"error"`
}

var jsonCT = []string{"application/json; charset=utf-8"}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header()["Content-Type"] = jsonCT
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func (a *API) ok(w http.ResponseWriter, r *http.Request, data any) {
	writeJSON(w, http.StatusOK, okEnvelope{RequestID: httpserver.RequestIDOf(w, r), Success: true, Data: data})
}

// maxFields caps the fields map, as the vendor does; message names the first 5.
const maxFields = 20

func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := jeton.AsError(err)
	key, c := lookup(e)
	msg := e.Message
	if e.Kind == jeton.KindInternal && r.Context().Err() != nil {
		// The client went away mid-request (its work was not committed
		// unless its batch already was); nobody reads this reply.
		a.log.DebugContext(r.Context(), "client gone", "requestId", httpserver.RequestIDOf(w, r), "route", r.Pattern)
	} else if e.Kind == jeton.KindInternal {
		a.log.ErrorContext(r.Context(), "internal error", "requestId", httpserver.RequestIDOf(w, r), "route", r.Pattern, "err", e.Err)
		msg = "internal server error"
	}
	fields := e.Fields
	if len(fields) > 0 {
		names := make([]string, 0, len(fields))
		for k := range fields {
			names = append(names, k)
		}
		sort.Strings(names)
		if len(names) > maxFields {
			trimmed := make(map[string]string, maxFields)
			for _, n := range names[:maxFields] {
				trimmed[n] = fields[n]
			}
			fields, names = trimmed, names[:maxFields]
		}
		msg = "validation failed: "
		for i, n := range names {
			if i == 5 {
				msg += "; ..."
				break
			}
			if i > 0 {
				msg += "; "
			}
			msg += n + ": " + fields[n]
		}
	}
	if e.Kind == jeton.KindRateLimited {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, c.Status, errEnvelope{
		RequestID: httpserver.RequestIDOf(w, r),
		Error:     errBody{Code: c.Code, Key: key, Message: msg, Fields: fields, Details: e.Details},
	})
}
