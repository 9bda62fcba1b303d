package dashboard

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/callback"
	"github.com/jetonhq/jeton/callback/sign"
)

// Payments is the SagaPay side the dashboard drives (payment.Service).
type Payments interface {
	CreateWebhookEndpoint(ctx context.Context, merchantID, name, url string, events []string) (jeton.WebhookEndpoint, string, error)
	WebhookEndpoints(ctx context.Context, merchantID string) ([]jeton.WebhookEndpoint, error)
	WebhookEndpoint(ctx context.Context, merchantID, id string) (jeton.WebhookEndpoint, []byte, error)
	DeleteWebhookEndpoint(ctx context.Context, merchantID, id string) error
	RedeliverWebhook(ctx context.Context, merchantID, id string) error
	TerminalControls
}

// WebhookTester sends a signed test webhook (callback.Service).
type WebhookTester interface {
	TestWebhook(ctx context.Context, merchantID string, e jeton.WebhookEndpoint, secret []byte) jeton.CallbackAttempt
}

type callbacksData struct {
	form
	URL       string
	Attempts  []jeton.CallbackAttempt
	Callbacks []jeton.Callback
	Total     int
	Verify    *verifyResult
	Header    string
	Body      string
	Kind      string
	Endpoints []jeton.WebhookEndpoint
}

// verifyResult is the verifier's answer: which check fails, in words
// that never include the expected signature.
type verifyResult struct {
	OK      bool
	Reason  string
	Message string
}

func (d *Dashboard) callbacksPage(w http.ResponseWriter, r *http.Request, s *session, code int, data callbacksData) {
	ctx := r.Context()
	var err error
	if data.Attempts, err = d.cfg.Store.RecentAttempts(ctx, s.Merchant.ID, 50); err != nil {
		d.fail(w, r, s, err)
		return
	}
	if data.Callbacks, data.Total, err = d.cfg.Store.Callbacks(ctx, s.Merchant.ID, "", 50, 0); err != nil {
		d.fail(w, r, s, err)
		return
	}
	if d.cfg.Payments != nil {
		if data.Endpoints, err = d.cfg.Payments.WebhookEndpoints(ctx, s.Merchant.ID); err != nil {
			d.fail(w, r, s, err)
			return
		}
	}
	if data.URL == "" {
		data.URL = s.Merchant.CallbackURL
	}
	if data.Kind == "" {
		data.Kind = "assetpay"
	}
	d.render(w, r, s, code, "callbacks", "Callbacks", data)
}

func (d *Dashboard) callbacks(w http.ResponseWriter, r *http.Request, s *session) {
	d.callbacksPage(w, r, s, http.StatusOK, callbacksData{})
}

// setCallbackURL saves the AssetPay callback URL only after it answers
// the unsigned test ping, as the API's route does; an empty URL clears it.
func (d *Dashboard) setCallbackURL(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	u := strings.TrimSpace(r.PostFormValue("url"))
	if u != "" {
		if err := callback.ValidURL(u); err != nil {
			d.callbacksPage(w, r, s, http.StatusBadRequest, callbacksData{form: form{Err: "Callback URL " + err.Error() + "."}, URL: u})
			return
		}
		if at, ok := d.cfg.Callbacks.Ping(ctx, s.Merchant.ID, u); !ok {
			msg := "The URL did not answer the test ping with a 2xx, so it was not saved"
			if at.StatusCode > 0 {
				msg += " (it answered " + itoa(at.StatusCode) + ")"
			} else if at.Error != "" {
				msg += " (" + at.Error + ")"
			}
			d.callbacksPage(w, r, s, http.StatusBadRequest, callbacksData{form: form{Err: msg + "."}, URL: u})
			return
		}
	}
	if err := d.cfg.Store.SetCallbackURL(ctx, s.Merchant.ID, u); err != nil {
		d.fail(w, r, s, err)
		return
	}
	d.cfg.Creds.Forget(s.Merchant.ID)
	if u == "" {
		done(w, r, "/callbacks", "callback-cleared")
		return
	}
	done(w, r, "/callbacks", "callback-saved")
}

// pingCallback sends the test ping to the saved URL; the attempt lands in
// the delivery log whatever it answers.
func (d *Dashboard) pingCallback(w http.ResponseWriter, r *http.Request, s *session) {
	if s.Merchant.CallbackURL == "" {
		d.callbacksPage(w, r, s, http.StatusBadRequest, callbacksData{form: form{Err: "Set a callback URL first."}})
		return
	}
	d.cfg.Callbacks.Ping(r.Context(), s.Merchant.ID, s.Merchant.CallbackURL)
	done(w, r, "/callbacks", "callback-tested")
}

// verifyCallback tells which check a pasted callback fails, against the
// merchant's own secrets: the timestamp, the secret, or an altered body.
func (d *Dashboard) verifyCallback(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	kind, header, body := r.PostFormValue("kind"), strings.TrimSpace(r.PostFormValue("header")), r.PostFormValue("body")
	data := callbacksData{Header: header, Body: body, Kind: kind}
	var res *verifyResult
	if kind == "sagapay" {
		res = d.verifyWebhook(ctx, s, r.PostFormValue("endpoint"), header, []byte(body))
	} else {
		secrets, err := d.cfg.Creds.CallbackSecrets(ctx, s.Merchant.ID)
		if err != nil {
			d.fail(w, r, s, err)
			return
		}
		if kind == "bodykey" {
			res = verifyBodyKey(secrets, []byte(body))
		} else {
			dg := sign.Explain(header, []byte(body), secrets, d.cfg.Now())
			res = &verifyResult{OK: dg.OK, Reason: string(dg.Reason), Message: dg.Message}
		}
	}
	data.Verify = res
	d.callbacksPage(w, r, s, http.StatusOK, data)
}

// verifyBodyKey checks an older-API callback's body key ([co]).
func verifyBodyKey(secrets [][]byte, body []byte) *verifyResult {
	var b struct {
		Key   string          `json:"key"`
		Trade json.RawMessage `json:"trade"`
	}
	switch {
	case json.Unmarshal(body, &b) != nil:
		return &verifyResult{Reason: string(sign.ReasonInvalidJSON), Message: "the body is not JSON"}
	case b.Key == "" || len(b.Trade) == 0:
		return &verifyResult{Reason: string(sign.ReasonMalformed), Message: "the body has no key or no trade field"}
	case !sign.VerifyBodyKey(secrets, b.Trade, b.Key):
		return &verifyResult{Reason: string(sign.ReasonSignatureMismatch), Message: "the key does not match the trade under your current or previous API secret: the secret is wrong or the trade was altered"}
	}
	return &verifyResult{OK: true, Message: "the body key matches the trade: this callback is genuine"}
}

func (d *Dashboard) verifyWebhook(ctx context.Context, s *session, endpointID, sig string, body []byte) *verifyResult {
	if d.cfg.Payments == nil {
		return &verifyResult{Message: "SagaPay webhooks run only in sandbox mode"}
	}
	_, secret, err := d.cfg.Payments.WebhookEndpoint(ctx, s.Merchant.ID, endpointID)
	switch {
	case err != nil:
		return &verifyResult{Message: "choose one of your webhook endpoints"}
	case sig == "":
		return &verifyResult{Reason: string(sign.ReasonMissingHeader), Message: "there is no " + sign.SagaPayHeader + " value"}
	case !sign.VerifySagaPay([][]byte{secret}, body, sig):
		return &verifyResult{Reason: string(sign.ReasonSignatureMismatch), Message: "the signature does not match this body under the endpoint's secret: the secret is wrong or the body was altered (even whitespace counts)"}
	case !json.Valid(body):
		return &verifyResult{Reason: string(sign.ReasonInvalidJSON), Message: "the signature matches but the body is not JSON"}
	}
	return &verifyResult{OK: true, Message: "the signature matches: this webhook is genuine"}
}

type callbackDetailData struct {
	Callback jeton.Callback
	Attempts []jeton.CallbackAttempt
	Body     string
}

func (d *Dashboard) callbackDetail(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	c, err := d.cfg.Store.Callback(ctx, s.Merchant.ID, r.PathValue("id"))
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	as, err := d.cfg.Store.CallbackAttempts(ctx, s.Merchant.ID, c.DeliveryID)
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	d.render(w, r, s, http.StatusOK, "callback", "Callback "+c.DeliveryID, callbackDetailData{Callback: c, Attempts: as, Body: string(c.Body)})
}

func (d *Dashboard) redeliver(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	c, err := d.cfg.Store.Callback(ctx, s.Merchant.ID, r.PathValue("id"))
	if err == nil {
		switch {
		case c.Kind != jeton.CallbackWebhook && c.Kind != jeton.CallbackOrderWebhook:
			err = d.cfg.Callbacks.Redeliver(ctx, c)
		case d.cfg.Payments != nil:
			err = d.cfg.Payments.RedeliverWebhook(ctx, s.Merchant.ID, c.DeliveryID)
		default:
			err = jeton.Errorf(jeton.KindNotFound, jeton.KeyNotFound, "SagaPay webhooks run only in sandbox mode")
		}
	}
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	done(w, r, "/callbacks/"+c.DeliveryID, "redelivered")
}

type webhooksData struct {
	Endpoints  []jeton.WebhookEndpoint
	Events     []string
	Deliveries []jeton.Callback
	Total      int
}

func (d *Dashboard) webhooks(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	eps, err := d.cfg.Payments.WebhookEndpoints(ctx, s.Merchant.ID)
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	ds, n, err := d.cfg.Store.WebhookDeliveries(ctx, s.Merchant.ID, "", 50, 0)
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	d.render(w, r, s, http.StatusOK, "webhooks", "SagaPay webhooks", webhooksData{Endpoints: eps, Events: callback.WebhookEvents, Deliveries: ds, Total: n})
}

func (d *Dashboard) createWebhook(w http.ResponseWriter, r *http.Request, s *session) {
	u := strings.TrimSpace(r.PostFormValue("url"))
	if err := callback.ValidURL(u); err != nil {
		d.fail(w, r, s, jeton.Errorf(jeton.KindInvalid, jeton.KeyValidationFailed, "URL %s", err.Error()))
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	if len(name) > 100 {
		d.fail(w, r, s, jeton.Errorf(jeton.KindInvalid, jeton.KeyValidationFailed, "the name is at most 100 characters"))
		return
	}
	if name == "" {
		name = u
	}
	e, secret, err := d.cfg.Payments.CreateWebhookEndpoint(r.Context(), s.Merchant.ID, name, u, r.PostForm["event"])
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	d.showOnce(w, r, s, shown{Title: "New webhook endpoint", Label: "Webhook secret", Value: secret,
		Extra: [][2]string{{"Endpoint ID", e.ID}, {"URL", e.URL}},
		Note:  "Copy the secret now: it signs x-webhook-signature and is not shown again.", Back: "/webhooks", BackTo: "Webhooks"})
}

func (d *Dashboard) deleteWebhook(w http.ResponseWriter, r *http.Request, s *session) {
	if err := d.cfg.Payments.DeleteWebhookEndpoint(r.Context(), s.Merchant.ID, r.PathValue("id")); err != nil {
		d.fail(w, r, s, err)
		return
	}
	done(w, r, "/webhooks", "webhook-deleted")
}

func (d *Dashboard) testWebhook(w http.ResponseWriter, r *http.Request, s *session) {
	tester, ok := d.cfg.Callbacks.(WebhookTester)
	if !ok {
		d.status(w, r, s, http.StatusNotFound, "Test webhooks are not available.")
		return
	}
	e, secret, err := d.cfg.Payments.WebhookEndpoint(r.Context(), s.Merchant.ID, r.PathValue("id"))
	if err != nil {
		d.fail(w, r, s, err)
		return
	}
	tester.TestWebhook(r.Context(), s.Merchant.ID, e, secret)
	done(w, r, "/callbacks", "webhook-tested")
}

func (d *Dashboard) redeliverWebhook(w http.ResponseWriter, r *http.Request, s *session) {
	if err := d.cfg.Payments.RedeliverWebhook(r.Context(), s.Merchant.ID, r.PathValue("id")); err != nil {
		d.fail(w, r, s, err)
		return
	}
	done(w, r, "/webhooks", "webhook-redeliver")
}
