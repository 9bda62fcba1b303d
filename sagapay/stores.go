package sagapay

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/jetonhq/jeton"
)

// PageSize is Surfboard's fixed page size.
const PageSize = 100

type phone struct {
	Code   string `json:"code"`
	Number string `json:"number"`
}

type address struct {
	CareOf       *string `json:"careOf,omitempty"`
	AddressLine1 string  `json:"addressLine1"`
	AddressLine2 *string `json:"addressLine2"`
	AddressLine3 *string `json:"addressLine3"`
	City         string  `json:"city"`
	CountryCode  string  `json:"countryCode"`
	PostalCode   string  `json:"postalCode"`
}

type onlineInfo struct {
	MerchantWebshopURL    string `json:"merchantWebshopURL"`
	PaymentPageHostURL    string `json:"paymentPageHostURL,omitempty"`
	TermsAndConditionsURL string `json:"termsAndConditionsURL"`
	PrivacyPolicyURL      string `json:"privacyPolicyURL"`
}

type storeRequest struct {
	StoreName   string      `json:"storeName"`
	Email       string      `json:"email"`
	PhoneNumber *phone      `json:"phoneNumber"`
	Address     *address    `json:"address"`
	AcquirerMID string      `json:"acquirerMID"`
	OnlineInfo  *onlineInfo `json:"onlineInfo"`
}

var (
	phoneDigits = regexp.MustCompile(`^[0-9]{5,15}$`)
	dialCode    = regexp.MustCompile(`^\+?[0-9]{1,4}$`)
	country     = regexp.MustCompile(`^[A-Z]{2}$`)
)

func (req storeRequest) validate() error {
	switch {
	case strings.TrimSpace(req.StoreName) == "" || len(req.StoreName) > 200:
		return invalid("storeName is required (at most 200 characters)")
	case req.Email != "" && !plausibleEmail(req.Email):
		return invalid("email is not a valid email address")
	case req.PhoneNumber == nil:
		return invalid("phoneNumber is required")
	case !dialCode.MatchString(req.PhoneNumber.Code):
		return invalid("phoneNumber.code must be an international dialing code such as +46")
	case !phoneDigits.MatchString(req.PhoneNumber.Number):
		return invalid("phoneNumber.number must be 5-15 digits")
	case req.Address == nil:
		return invalid("address is required")
	case strings.TrimSpace(req.Address.AddressLine1) == "":
		return invalid("address.addressLine1 is required")
	case strings.TrimSpace(req.Address.City) == "":
		return invalid("address.city is required")
	case !country.MatchString(req.Address.CountryCode):
		return invalid("address.countryCode must be a two-letter ISO country code in upper case")
	case strings.TrimSpace(req.Address.PostalCode) == "":
		return invalid("address.postalCode is required")
	}
	if o := req.OnlineInfo; o != nil {
		switch {
		case !httpsURL(o.MerchantWebshopURL):
			return invalid("onlineInfo.merchantWebshopURL must be an https URL")
		case !httpsURL(o.TermsAndConditionsURL):
			return invalid("onlineInfo.termsAndConditionsURL must be an https URL")
		case !httpsURL(o.PrivacyPolicyURL):
			return invalid("onlineInfo.privacyPolicyURL must be an https URL")
		case o.PaymentPageHostURL != "" && !httpsURL(o.PaymentPageHostURL):
			return invalid("onlineInfo.paymentPageHostURL must be an https URL")
		}
	}
	return nil
}

func httpsURL(s string) bool {
	return strings.HasPrefix(s, "https://") && len(s) > len("https://") && len(s) < 2048
}

type storeData struct {
	StoreID                string          `json:"storeId"`
	MerchantID             string          `json:"merchantId"`
	Name                   string          `json:"name"`
	Status                 string          `json:"status,omitempty"`
	OnlineOnboardingStatus string          `json:"onlineOnboardingStatus,omitempty"`
	Address                json.RawMessage `json:"address"`
	Phone                  string          `json:"phone"`
	Email                  string          `json:"email"`
	OnlineInfo             json.RawMessage `json:"onlineInfo,omitempty"`
	WebshopVerificationKey string          `json:"merchantUrlDomainVerificationKey,omitempty"`
	PageVerificationKey    string          `json:"paymentPageUrlDomainVerificationKey,omitempty"`
}

// verificationKey derives a store's domain verification value: stable,
// public, and not secret (it is published in DNS by the merchant).
func verificationKey(storeID, which string) string {
	h := sha256.Sum256([]byte("jeton/domain-verification/v1:" + storeID + ":" + which))
	return hex.EncodeToString(h[:])
}

func toStoreData(s jeton.SagaStore, withKeys bool) storeData {
	var p phone
	_ = json.Unmarshal(s.Phone, &p)
	d := storeData{StoreID: s.ID, MerchantID: s.MerchantID, Name: s.Name, Status: s.Status, Address: s.Address,
		Phone: strings.TrimSpace(p.Code + " " + p.Number), Email: s.Email}
	if len(s.OnlineInfo) > 0 && string(s.OnlineInfo) != "null" {
		d.OnlineInfo = s.OnlineInfo
		d.OnlineOnboardingStatus = "APPROVED" // sandbox: online stores are approved at once
	}
	if withKeys {
		d.WebshopVerificationKey = verificationKey(s.ID, "webshop")
		d.PageVerificationKey = verificationKey(s.ID, "paymentpage")
	}
	return d
}

func (a *API) createStore(w http.ResponseWriter, r *http.Request, k jeton.APIKey, m jeton.Merchant) {
	var req storeRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := req.validate(); err != nil {
		a.fail(w, r, err)
		return
	}
	s, err := a.newStore(r, m.ID, req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d := toStoreData(s, true)
	d.Status, d.OnlineOnboardingStatus, d.OnlineInfo = "", "", nil
	a.ok(w, r, http.StatusCreated, d, "Store Created Successfully")
}

// newStore stores a validated store of a merchant.
func (a *API) newStore(r *http.Request, merchantID string, req storeRequest) (jeton.SagaStore, error) {
	ph, _ := json.Marshal(req.PhoneNumber)
	ad, _ := json.Marshal(req.Address)
	var on json.RawMessage
	if req.OnlineInfo != nil {
		on, _ = json.Marshal(req.OnlineInfo)
	}
	s := jeton.SagaStore{ID: jeton.NewID(), MerchantID: merchantID, Name: strings.TrimSpace(req.StoreName), Email: req.Email,
		Phone: ph, Address: ad, AcquirerMID: req.AcquirerMID, OnlineInfo: on, Status: "ACTIVE", CreatedAt: a.now().UTC()}
	if err := a.store.CreateSagaStore(r.Context(), s); err != nil {
		return s, jeton.Internal(err)
	}
	return s, nil
}

func (a *API) listStores(w http.ResponseWriter, r *http.Request, k jeton.APIKey, m jeton.Merchant) {
	page, err := pageNumber(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	stores, total, err := a.store.SagaStores(r.Context(), m.ID, page, PageSize)
	if err != nil {
		a.fail(w, r, jeton.Internal(err))
		return
	}
	out := make([]storeData, 0, len(stores))
	for _, s := range stores {
		d := toStoreData(s, false)
		d.Status, d.OnlineOnboardingStatus = "", ""
		out = append(out, d)
	}
	w.Header().Set("X-Page-Number", strconv.Itoa(page))
	w.Header().Set("X-Total-Items", strconv.Itoa(total))
	a.ok(w, r, http.StatusOK, out, "Fetched stores successfully")
}

func (a *API) getStore(w http.ResponseWriter, r *http.Request, k jeton.APIKey, m jeton.Merchant) {
	s, err := a.store.SagaStore(r.Context(), m.ID, r.PathValue("storeId"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.ok(w, r, http.StatusOK, toStoreData(s, false), "Fetched store by ID")
}
