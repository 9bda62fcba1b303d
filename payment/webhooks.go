package payment

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/callback"
	"github.com/jetonhq/jeton/internal/ids"
)

// Webhook endpoints: where a merchant's SagaPay webhooks go. Each has its
// own secret, sealed at rest and shown once.

// aad binds a sealed webhook secret to its endpoint.
func aad(e jeton.WebhookEndpoint) []byte {
	return []byte("jeton/webhook-secret/v1:" + e.MerchantID + ":" + e.ID)
}

// CreateWebhookEndpoint stores an endpoint and returns it with its secret,
// which is never shown again.
func (s *Service) CreateWebhookEndpoint(ctx context.Context, merchantID, name, url string, events []string) (jeton.WebhookEndpoint, string, error) {
	for _, ev := range events {
		if !knownEvent(ev) {
			return jeton.WebhookEndpoint{}, "", jeton.Errorf(jeton.KindInvalid, jeton.KeyValidationFailed,
				"events: unknown event type %q (known: %s)", ev, strings.Join(callback.WebhookEvents, ", "))
		}
	}
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return jeton.WebhookEndpoint{}, "", jeton.Internal(err)
	}
	secret := "whsec_" + base64.RawURLEncoding.EncodeToString(b[:])
	e := jeton.WebhookEndpoint{ID: ids.Short(), MerchantID: merchantID, Name: name, URL: url, Events: events, CreatedAt: s.now()}
	sealed, err := s.cfg.Sealer.Seal([]byte(secret), aad(e))
	if err != nil {
		return jeton.WebhookEndpoint{}, "", jeton.Internal(err)
	}
	e.Sealed = sealed
	defer s.endpoints.drop(merchantID)
	if err := s.cfg.Store.CreateWebhookEndpoint(ctx, e); err != nil {
		return jeton.WebhookEndpoint{}, "", jeton.Internal(err)
	}
	return e, secret, nil
}

func knownEvent(ev string) bool {
	for _, k := range callback.WebhookEvents {
		if k == ev {
			return true
		}
	}
	return false
}

// WebhookEndpoints lists the merchant's endpoints.
func (s *Service) WebhookEndpoints(ctx context.Context, merchantID string) ([]jeton.WebhookEndpoint, error) {
	return s.cfg.Store.WebhookEndpoints(ctx, merchantID)
}

// WebhookEndpoint returns one endpoint with its unsealed secret.
func (s *Service) WebhookEndpoint(ctx context.Context, merchantID, id string) (jeton.WebhookEndpoint, []byte, error) {
	e, err := s.cfg.Store.WebhookEndpoint(ctx, merchantID, id)
	if err != nil {
		return e, nil, err
	}
	secret, err := s.cfg.Sealer.Open(e.Sealed, aad(e))
	if err != nil {
		return e, nil, jeton.Internal(err)
	}
	return e, secret, nil
}

// DeleteWebhookEndpoint retires an endpoint.
func (s *Service) DeleteWebhookEndpoint(ctx context.Context, merchantID, id string) error {
	defer s.endpoints.drop(merchantID)
	return s.cfg.Store.DeleteWebhookEndpoint(ctx, merchantID, id)
}

// WebhookTarget implements callback.WebhookTargets.
func (s *Service) WebhookTarget(ctx context.Context, merchantID, endpointID string) (string, []byte, error) {
	e, secret, err := s.WebhookEndpoint(ctx, merchantID, endpointID)
	return e.URL, secret, err
}

// OrderWebhookSecret implements callback.WebhookTargets: per-order
// callbacks are signed with the merchant's oldest endpoint's secret.
func (s *Service) OrderWebhookSecret(ctx context.Context, merchantID string) ([]byte, error) {
	eps, err := s.cfg.Store.WebhookEndpoints(ctx, merchantID)
	if err != nil || len(eps) == 0 {
		return nil, err
	}
	secret, err := s.cfg.Sealer.Open(eps[0].Sealed, aad(eps[0]))
	if err != nil {
		return nil, jeton.Internal(err)
	}
	return secret, nil
}

var _ callback.WebhookTargets = (*Service)(nil)

// WebhookDeliveries lists the merchant's webhooks (one page of perPage,
// newest first) with their delivery state.
func (s *Service) WebhookDeliveries(ctx context.Context, merchantID, orderID string, page, perPage int) ([]jeton.Callback, int, error) {
	return s.cfg.Store.WebhookDeliveries(ctx, merchantID, orderID, perPage, (max(page, 1)-1)*perPage)
}

// WebhookDelivery returns one webhook with every attempt made.
func (s *Service) WebhookDelivery(ctx context.Context, merchantID, id string) (jeton.Callback, []jeton.CallbackAttempt, error) {
	c, err := s.cfg.Store.Callback(ctx, merchantID, id)
	if err == nil && c.Kind != jeton.CallbackWebhook && c.Kind != jeton.CallbackOrderWebhook {
		err = jeton.Errorf(jeton.KindNotFound, jeton.KeyDeliveryNotFound, "Webhook delivery not found")
	}
	if err != nil {
		return c, nil, err
	}
	as, err := s.cfg.Store.CallbackAttempts(ctx, merchantID, id)
	return c, as, err
}

// RedeliverWebhook sends a delivered or failed webhook again, under the
// same webhookEventId, with a fresh schedule of retries.
func (s *Service) RedeliverWebhook(ctx context.Context, merchantID, id string) error {
	if _, _, err := s.WebhookDelivery(ctx, merchantID, id); err != nil {
		return err
	}
	return s.cfg.Store.Redeliver(ctx, merchantID, id, time.Now(), callback.WebhookMaxAttempts)
}
