package sagapay

import (
	"net/http"
	"net/url"
	"strconv"
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

// deliveryView is a webhook delivery as the log shows it.
func deliveryView(c jeton.Callback) map[string]any {
	d := map[string]any{"webhookEventId": c.DeliveryID, "eventType": c.Event, "orderId": c.TradeID, "state": c.State,
		"attempts": c.Attempts, "createdAt": c.CreatedAt.Format(time.RFC3339Nano)}
	if c.Kind == jeton.CallbackOrderWebhook {
		d["target"] = "callBackUrl"
	} else {
		d["target"] = c.Target
	}
	if c.NextAt != nil {
		d["nextAttemptAt"] = c.NextAt.Format(time.RFC3339Nano)
	}
	if c.LastAt != nil {
		d["lastAttemptAt"] = c.LastAt.Format(time.RFC3339Nano)
	}
	return d
}

// webhookDeliveries is the delivery log: every webhook with its state,
// 100 a page, newest first (orderId= narrows it to one order).
func (a *API) webhookDeliveries(w http.ResponseWriter, r *http.Request, k jeton.APIKey, m jeton.Merchant) {
	page, err := pageNumber(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	cs, total, err := a.payments.WebhookDeliveries(r.Context(), m.ID, r.URL.Query().Get("orderId"), page, PageSize)
	if err != nil {
		a.fail(w, r, jeton.Internal(err))
		return
	}
	out := make([]map[string]any, 0, len(cs))
	for _, c := range cs {
		out = append(out, deliveryView(c))
	}
	w.Header().Set("X-Page-Number", strconv.Itoa(page))
	w.Header().Set("X-Total-Items", strconv.Itoa(total))
	a.ok(w, r, http.StatusOK, out, "Webhook deliveries fetched successfully")
}

func (a *API) webhookDelivery(w http.ResponseWriter, r *http.Request, k jeton.APIKey, m jeton.Merchant) {
	c, as, err := a.payments.WebhookDelivery(r.Context(), m.ID, r.PathValue("deliveryId"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d := deliveryView(c)
	list := make([]map[string]any, 0, len(as))
	for _, x := range as {
		list = append(list, map[string]any{"attempt": x.Attempt, "url": x.URL, "statusCode": x.StatusCode, "outcome": x.Outcome,
			"error": x.Error, "latencyMs": x.Latency.Milliseconds(), "at": x.At.Format(time.RFC3339Nano)})
	}
	d["attemptLog"] = list
	a.ok(w, r, http.StatusOK, d, "Webhook delivery fetched successfully")
}

func (a *API) redeliverWebhook(w http.ResponseWriter, r *http.Request, k jeton.APIKey, m jeton.Merchant) {
	if err := a.payments.RedeliverWebhook(r.Context(), m.ID, r.PathValue("deliveryId")); err != nil {
		a.fail(w, r, err)
		return
	}
	a.ok(w, r, http.StatusOK, nil, "Webhook queued for redelivery")
}
