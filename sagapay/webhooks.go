package sagapay

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jetonhq/jeton"
)

// Webhook endpoints: Surfboard registers them in its console; jeton
// serves the same as administrative routes. The secret is in the answer
// to the creation and nowhere else, ever.

type webhookRequest struct {
	Name   string   `json:"name"`
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

func webhookView(e jeton.WebhookEndpoint) map[string]any {
	events := e.Events
	if events == nil {
		events = []string{}
	}
	return map[string]any{"webhookId": e.ID, "name": e.Name, "url": e.URL, "events": events, "createdAt": e.CreatedAt.Format(time.RFC3339)}
}

func (a *API) createWebhook(w http.ResponseWriter, r *http.Request, k jeton.APIKey, m jeton.Merchant) {
	var req webhookRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	u, err := url.Parse(req.URL)
	switch {
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(req.URL) > 2048:
		a.fail(w, r, invalid("url must be an absolute http(s) URL"))
		return
	case len(req.Name) > 100:
		a.fail(w, r, invalid("name is at most 100 characters"))
		return
	}
	name := strings.TrimSpace(req.Name)
	if name == "" {
		name = u.Host
	}
	e, secret, err := a.payments.CreateWebhookEndpoint(r.Context(), m.ID, name, req.URL, req.Events)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d := webhookView(e)
	d["secret"] = secret
	a.ok(w, r, http.StatusCreated, d, "Webhook created successfully; store the secret now, it is not shown again")
}

func (a *API) listWebhooks(w http.ResponseWriter, r *http.Request, k jeton.APIKey, m jeton.Merchant) {
	eps, err := a.payments.WebhookEndpoints(r.Context(), m.ID)
	if err != nil {
		a.fail(w, r, jeton.Internal(err))
		return
	}
	out := make([]map[string]any, 0, len(eps))
	for _, e := range eps {
		out = append(out, webhookView(e))
	}
	a.ok(w, r, http.StatusOK, out, "Webhooks fetched successfully")
}

func (a *API) deleteWebhook(w http.ResponseWriter, r *http.Request, k jeton.APIKey, m jeton.Merchant) {
	if err := a.payments.DeleteWebhookEndpoint(r.Context(), m.ID, r.PathValue("webhookId")); err != nil {
		a.fail(w, r, err)
		return
	}
	a.ok(w, r, http.StatusOK, nil, "Webhook deleted successfully")
}

// testWebhook sends test.webhook to the endpoint at once and reports what
// its receiver answered.
func (a *API) testWebhook(w http.ResponseWriter, r *http.Request, k jeton.APIKey, m jeton.Merchant) {
	e, secret, err := a.payments.WebhookEndpoint(r.Context(), m.ID, r.PathValue("webhookId"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	at := a.webhooks.TestWebhook(r.Context(), m.ID, e, secret)
	a.ok(w, r, http.StatusOK, map[string]any{"delivered": at.Outcome == "delivered", "statusCode": at.StatusCode, "error": at.Error,
		"webhookEventId": at.DeliveryID}, "Test webhook sent")
}
