package sagapay

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/jetonhq/jeton"
	"github.com/jetonhq/jeton/payment"
)

type paymentRequest struct {
	OrderID                string          `json:"orderId"`
	PaymentMethod          string          `json:"paymentMethod"`
	TerminalID             string          `json:"terminalId"`
	Amount                 *json.Number    `json:"amount"`
	InitialOrderReference  string          `json:"initialOrderReference"`
	PaymentMethodParams    json.RawMessage `json:"paymentMethodParams"`
	RefundProcessingParams *refundParams   `json:"refundProcessingParams"`
	// RefundReason at the top level, where SagaPay's own site puts it.
	RefundReason string `json:"refundReason"`
}

// payer is the caller as the payments engine knows it.
func (c Caller) payer() payment.Caller {
	pc := payment.Caller{MerchantID: c.MerchantID}
	if c.Token != nil {
		pc.Owner = c.Token.ExternalUserID
	}
	return pc
}

func (a *API) initiatePayment(w http.ResponseWriter, r *http.Request, c Caller) {
	var req paymentRequest
	if _, err := decodeLoose(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	if req.OrderID == "" {
		a.fail(w, r, invalid("orderId is required"))
		return
	}
	o, err := a.payments.Order(r.Context(), c.payer(), req.OrderID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	in, err := paymentInput(req.PaymentMethod, req.Amount, req.RefundProcessingParams, req.RefundReason, o.Type)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	in.OrderID, in.TerminalID = o.ID, req.TerminalID
	p, err := a.payments.InitiatePaymentOn(r.Context(), c.payer(), o, in)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.ok(w, r, http.StatusCreated, map[string]any{"paymentId": p.ID}, "Payment initiated successfully")
}

// paymentView is a payment as GET /payments/{id} shows it.
func paymentView(p jeton.Payment) map[string]any {
	d := map[string]any{"paymentId": p.ID, "orderId": p.OrderID, "terminalId": p.TerminalID, "paymentMethod": p.Method,
		"paymentStatus": string(p.Status), "amount": p.Amount + p.Tip, "tip": p.Tip,
		"terminalTransactionStatus": p.Step, "createdAt": p.CreatedAt, "updatedAt": p.UpdatedAt}
	if p.FailureReason != "" {
		d["failureReason"] = p.FailureReason
	}
	if p.TransactionID != "" && p.Status == jeton.PaymentCompleted {
		d["transactionId"] = p.TransactionID
	}
	if p.Card != nil {
		d["truncatedPan"], d["cardBrand"], d["cardLabel"] = p.Card.TruncatedPan, p.Card.Brand, p.Card.Label
	}
	if p.Void != "" {
		d["voidStatus"] = p.Void
	}
	if p.Capture != "" {
		d["captureStatus"] = p.Capture
	}
	if p.RefundReason != "" {
		d["refundReason"] = p.RefundReason
	}
	return d
}

func (a *API) getPayment(w http.ResponseWriter, r *http.Request, c Caller) {
	p, err := a.payments.Payment(r.Context(), c.payer(), r.PathValue("paymentId"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.ok(w, r, http.StatusOK, paymentView(p), "Payment fetched successfully")
}

func (a *API) paymentStatus(w http.ResponseWriter, r *http.Request, c Caller) {
	p, err := a.payments.Payment(r.Context(), c.payer(), r.PathValue("paymentId"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d := map[string]any{"paymentStatus": string(p.Status)}
	if p.Status == jeton.PaymentCompleted {
		d["transactionId"] = p.TransactionID
	}
	if p.FailureReason != "" {
		d["failureReason"] = p.FailureReason
	}
	a.ok(w, r, http.StatusOK, d, "Payment status fetched successfully")
}

func (a *API) cancelPayment(w http.ResponseWriter, r *http.Request, c Caller) {
	p, err := a.payments.CancelPayment(r.Context(), c.payer(), r.PathValue("paymentId"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.ok(w, r, http.StatusOK, map[string]any{"paymentStatus": string(p.Status)}, "Payment cancelled successfully.")
}

func (a *API) voidPayment(w http.ResponseWriter, r *http.Request, c Caller) {
	st, err := a.payments.VoidPayment(r.Context(), c.payer(), r.PathValue("paymentId"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.ok(w, r, http.StatusOK, map[string]any{"voidStatus": string(st)}, "payment void status successfully retrieved from external API")
}

// transactions answers GET /transactions, /transactions/{id}/list and
// /transactions/search: newest first, 100 a page.
func (a *API) transactions(w http.ResponseWriter, r *http.Request, c Caller) {
	page, err := pageNumber(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	from, to, err := dateRange(r, false)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	f := jeton.TransactionFilter{Ref: r.PathValue("id"), From: from, To: to, Page: page, PerPage: PageSize}
	if r.URL.Path == "/transactions/search" {
		if f.Query = r.URL.Query().Get("query"); f.Query == "" {
			a.fail(w, r, invalid("query is required"))
			return
		}
	}
	txs, total, err := a.payments.Transactions(r.Context(), c.payer(), f)
	if err != nil {
		a.fail(w, r, jeton.Internal(err))
		return
	}
	if f.Ref != "" && total == 0 {
		// No transaction yet: an order or payment of the caller's still
		// answers an empty list; any other id is not found.
		if _, err := a.payments.Order(r.Context(), c.payer(), f.Ref); err != nil {
			if _, err := a.payments.Payment(r.Context(), c.payer(), f.Ref); err != nil {
				a.fail(w, r, jeton.Errorf(jeton.KindNotFound, jeton.KeyNotFound, "No order, payment or transaction %s", f.Ref))
				return
			}
		}
	}
	out := make([]map[string]any, 0, len(txs))
	for _, t := range txs {
		out = append(out, payment.TransactionView(t))
	}
	w.Header().Set("X-Page-Number", strconv.Itoa(page))
	w.Header().Set("X-Total-Items", strconv.Itoa(total))
	a.ok(w, r, http.StatusOK, out, "Transactions fetched successfully")
}
