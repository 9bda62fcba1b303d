package sagapay

import (
	"net/http"
	"strconv"
	"time"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/payment"
)

// Merchants under a partner. jeton's API credentials belong to one
// merchant, so these routes show the caller's own merchant; a partner
// onboards more with `jeton merchant create --partner`.

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

func (a *API) getMerchant(w http.ResponseWriter, r *http.Request, k jeton.APIKey, m jeton.Merchant) {
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
	out := []map[string]any{}
	if page == 1 {
		d, err := a.merchantView(r, m)
		if err != nil {
			a.fail(w, r, jeton.Internal(err))
			return
		}
		out = append(out, d)
	}
	w.Header().Set("X-Page-Number", strconv.Itoa(page))
	w.Header().Set("X-Total-Items", "1")
	a.ok(w, r, http.StatusOK, out, "Merchants fetched successfully")
}
