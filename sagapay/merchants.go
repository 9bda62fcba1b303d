package sagapay

import (
	"net/http"
	"strconv"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/payment"
)

// Merchants under a partner. jeton's API credentials belong to one
// merchant; an ADMIN key of any merchant of a partner acts for the
// partner here: it onboards merchants under it (demo applications are
// approved at once, as in Surfboard's test environment) and reads them.

func (a *API) merchantView(r *http.Request, m jeton.Merchant) (map[string]any, error) {
	d := map[string]any{"merchantId": m.ID, "partnerId": m.PartnerID, "merchantName": m.Name,
		"createdAt": m.CreatedAt.Format(time.RFC3339)}
	if a.payments != nil {
		txs, total, err := a.payments.Transactions(r.Context(), payment.Caller{MerchantID: m.ID}, jeton.TransactionFilter{PerPage: 1})
		if err != nil {
			return nil, err
		}
		d["totalNumberOfTransaction"] = total
		if len(txs) > 0 {
			d["lastTransactionAt"] = txs[0].CreatedAt.Format(time.RFC3339)
		}
	}
	return d, nil
}

// sibling reads a merchant of the caller's partner; any other is "not
// found".
func (a *API) sibling(r *http.Request, m jeton.Merchant, id string) (jeton.Merchant, error) {
	t, err := a.creds.Merchant(r.Context(), id)
	if err != nil || t.PartnerID != m.PartnerID {
		return jeton.Merchant{}, jeton.Errorf(jeton.KindNotFound, jeton.KeyMerchantNotFound, "Merchant not found")
	}
	return t, nil
}

func (a *API) getMerchant(w http.ResponseWriter, r *http.Request, k jeton.APIKey, m jeton.Merchant) {
	m, err := a.sibling(r, m, r.PathValue("target"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d, err := a.merchantView(r, m)
	if err != nil {
		a.fail(w, r, jeton.Internal(err))
		return
	}
	a.ok(w, r, http.StatusOK, d, "Merchant fetched successfully")
}

func (a *API) listMerchants(w http.ResponseWriter, r *http.Request, k jeton.APIKey, m jeton.Merchant) {
	page, err := pageNumber(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	all, err := a.store.Merchants(r.Context())
	if err != nil {
		a.fail(w, r, jeton.Internal(err))
		return
	}
	var mine []jeton.Merchant
	for _, x := range all {
		if x.PartnerID == m.PartnerID {
			mine = append(mine, x)
		}
	}
	total := len(mine)
	out := []map[string]any{}
	for _, x := range mine[min((page-1)*PageSize, total):min(page*PageSize, total)] {
		d, err := a.merchantView(r, x)
		if err != nil {
			a.fail(w, r, jeton.Internal(err))
			return
		}
		out = append(out, d)
	}
	w.Header().Set("X-Page-Number", strconv.Itoa(page))
	w.Header().Set("X-Total-Items", strconv.Itoa(total))
	a.ok(w, r, http.StatusOK, out, "Merchants fetched successfully")
}

type onboardStore struct {
	Name        string      `json:"name"`
	Email       string      `json:"email"`
	PhoneNumber *phone      `json:"phoneNumber"`
	Address     *address    `json:"address"`
	OnlineInfo  *onlineInfo `json:"onlineInfo"`
}

type onboardRequest struct {
	Country      string `json:"country"`
	Organisation *struct {
		CorporateID string `json:"corporateId"`
		LegalName   string `json:"legalName"`
	} `json:"organisation"`
	ControlFields *struct {
		Store *onboardStore `json:"store"`
	} `json:"controlFields"`
}

// onboard creates a merchant under the caller's partner, with its first
// store when controlFields.store is given. The answer carries the new
// merchant's credentials, shown this once (jeton's addition: Surfboard's
// partner credentials act for their merchants; jeton's are per merchant).
func (a *API) onboard(w http.ResponseWriter, r *http.Request, k jeton.APIKey, m jeton.Merchant) {
	var req onboardRequest
	if _, err := decodeLoose(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	switch {
	case !country.MatchString(req.Country):
		a.fail(w, r, invalid("country is required: a two-letter ISO country code such as NO"))
		return
	case req.Organisation == nil || req.Organisation.CorporateID == "":
		a.fail(w, r, invalid("organisation.corporateId is required"))
		return
	}
	name := req.Organisation.LegalName
	if name == "" {
		name = req.Organisation.CorporateID
	}
	var st *storeRequest
	if req.ControlFields != nil && req.ControlFields.Store != nil {
		s := req.ControlFields.Store
		st = &storeRequest{StoreName: s.Name, Email: s.Email, PhoneNumber: s.PhoneNumber, Address: s.Address, OnlineInfo: s.OnlineInfo}
		if err := st.validate(); err != nil {
			a.fail(w, r, jeton.Errorf(jeton.KindInvalid, jeton.KeyValidationFailed, "controlFields.store: %s", jeton.AsError(err).Message))
			return
		}
	}
	nm, err := a.creds.CreateMerchant(r.Context(), name, m.PartnerID, []jeton.Scope{jeton.ScopeCoreAccess, jeton.ScopeReadOnly, jeton.ScopeAdmin})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d := map[string]any{"applicationId": nm.Merchant.ID, "merchantId": nm.Merchant.ID, "webKybUrl": "",
		"apiKey": nm.APIKey, "apiSecret": nm.APISecret, "providerId": nm.ProviderID, "providerCertificate": nm.ProviderCertificate}
	if st != nil {
		s, err := a.newStore(r, nm.Merchant.ID, *st)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		d["storeId"] = s.ID
	}
	a.ok(w, r, http.StatusCreated, d, "Merchant application created; store the credentials now, they are not shown again")
}

// applicationStatus answers an onboarding's status: demo applications
// are approved at once.
func (a *API) applicationStatus(w http.ResponseWriter, r *http.Request, k jeton.APIKey, m jeton.Merchant) {
	t, err := a.sibling(r, m, r.PathValue("target"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d := map[string]any{"applicationStatus": "MERCHANT_CREATED", "merchantId": t.ID}
	if ss, _, err := a.store.SagaStores(r.Context(), t.ID, 1, 1); err == nil && len(ss) > 0 {
		d["storeId"] = ss[0].ID
	}
	a.ok(w, r, http.StatusOK, d, "Application status fetched successfully")
}
