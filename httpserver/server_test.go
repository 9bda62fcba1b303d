package httpserver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func newTestServer(cfg Config) *httptest.Server {
	s := New(cfg, NewMetrics())
	s.Mount(
		Route{Method: "GET", Path: "/client/x", Browser: true, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, RequestIDOf(w, r))
		})},
		Route{Method: "POST", Path: "/secure/x", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, err := io.ReadAll(r.Body); err != nil {
				w.WriteHeader(http.StatusRequestEntityTooLarge)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})},
	)
	return httptest.NewServer(s)
}

func get(t *testing.T, url string, hdr map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestCORSAllowList(t *testing.T) {
	srv := newTestServer(Config{AllowedOrigins: []string{"https://shop.example", "https://other.example/"}})
	defer srv.Close()
	if got := get(t, srv.URL+"/client/x", map[string]string{"Origin": "https://shop.example"}).Header.Get("Access-Control-Allow-Origin"); got != "https://shop.example" {
		t.Errorf("listed origin: %q", got)
	}
	if got := get(t, srv.URL+"/client/x", map[string]string{"Origin": "https://other.example"}).Header.Get("Access-Control-Allow-Origin"); got != "https://other.example" {
		t.Errorf("listed origin with trailing slash in config: %q", got)
	}
	resp := get(t, srv.URL+"/client/x", map[string]string{"Origin": "https://evil.example"})
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("unlisted origin allowed: %q", got)
	}
	req, _ := http.NewRequest("OPTIONS", srv.URL+"/secure/x", nil)
	req.Header.Set("Origin", "https://shop.example")
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("merchant route answered a preflight")
	}
}

func TestRequestIDAndBodyLimit(t *testing.T) {
	srv := newTestServer(Config{MaxBodyBytes: 16})
	defer srv.Close()
	resp := get(t, srv.URL+"/client/x", nil)
	body, _ := io.ReadAll(resp.Body)
	id := resp.Header.Get("X-Request-Id")
	if !validRequestID(id) || string(body) != id {
		t.Errorf("request id %q, handler saw %q", id, body)
	}
	if a, b := NewRequestID(), NewRequestID(); a == b || a[14] != '4' {
		t.Errorf("request ids: %s %s", a, b)
	}
	r, err := http.Post(srv.URL+"/secure/x", "application/json", strings.NewReader(strings.Repeat("x", 100)))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("body over the limit: %d", r.StatusCode)
	}
}

func TestReadyAndNotFound(t *testing.T) {
	down := errors.New("db down")
	srv := newTestServer(Config{Ready: func(context.Context) error { return down }})
	defer srv.Close()
	if code := get(t, srv.URL+"/readyz", nil).StatusCode; code != http.StatusServiceUnavailable {
		t.Errorf("readyz with a failing dependency: %d", code)
	}
	if code := get(t, srv.URL+"/healthz", nil).StatusCode; code != http.StatusOK {
		t.Errorf("healthz: %d", code)
	}
	resp := get(t, srv.URL+"/nope", nil)
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 404 || body["status"] != "ERROR" || body["success"] != false {
		t.Errorf("404 body: %v", body)
	}
	var doc map[string]any
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil || doc["openapi"] != "3.1.0" {
		t.Errorf("embedded OpenAPI document: %v", err)
	}
}
