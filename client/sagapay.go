package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// SagaPay's (Surfboard-shaped) surface: orders, payments and transactions
// on *SagaPay, which a client token or the merchant's credentials may
// call; terminals, webhook endpoints and the webhook delivery log on
// *API, which only the merchant's credentials may. Amounts are integers
// in minor units (4500 = 45.00).

// Amount is an order line's amount or an order's total, in minor units.
type Amount struct {
	Regular  int64  `json:"regular"`
	Total    int64  `json:"total"`
	Currency string `json:"currency"` // ISO 4217: "752" or "SEK"
	Tax      []Tax  `json:"tax,omitempty"`
}

// Tax is one tax of an order line.
type Tax struct {
	Amount     int64   `json:"amount"`
	Percentage float64 `json:"percentage"`
	Type       string  `json:"type"`
}

// OrderLine is one line of an order. A return line (a refund) has a
// negative Quantity and names the purchase it refunds.
type OrderLine struct {
	ID              string  `json:"id"`
	Name            string  `json:"name"`
	Quantity        float64 `json:"quantity,omitempty"`
	Amount          *Amount `json:"amount,omitempty"`
	ItemAmount      *Amount `json:"itemAmount,omitempty"` // the legacy shape of Amount
	PurchaseOrderID string  `json:"purchaseOrderId,omitempty"`
}

// ControlFunctions are an order's options.
type ControlFunctions struct {
	// InitiatePaymentsOptions starts the payment with the order.
	InitiatePaymentsOptions *PaymentOptions `json:"initiatePaymentsOptions,omitempty"`
	// CallBackURL receives this order's webhooks once, unretried
	// (merchant credentials only).
	CallBackURL  string `json:"callBackUrl,omitempty"`
	TipsMode     string `json:"tipsMode,omitempty"` // STANDARD, ROUNDUP, NONE
	AuthMode     string `json:"authMode,omitempty"` // AUTH or PRE-AUTH
	DelayCapture bool   `json:"delayCapture,omitempty"`
}

// PaymentOptions starts a payment together with its order.
type PaymentOptions struct {
	PaymentMethod          string        `json:"paymentMethod"`
	Amount                 int64         `json:"amount,omitempty"`
	RefundProcessingParams *RefundParams `json:"refundProcessingParams,omitempty"`
}

// RefundParams says why a card-not-present refund (CARD_NP) is made.
type RefundParams struct {
	PurchasePaymentID string `json:"purchasePaymentId,omitempty"`
	RefundReason      string `json:"refundReason"` // CUSTOMER_INITIATED_RETURN, SUSPECTED_FRAUD, ..., OTHER
	OtherReason       string `json:"otherReason,omitempty"`
}

// OrderRequest is the body of POST /orders and PUT /orders/{id}. The
// server keeps fields it does not know and echoes them; pass your own
// struct or a map to CreateOrder for those.
type OrderRequest struct {
	TerminalID       string            `json:"terminal$id"`
	ReferenceID      string            `json:"referenceId,omitempty"`
	Type             string            `json:"type,omitempty"` // purchase (default) or return
	PurchaseOrderID  string            `json:"purchaseOrderId,omitempty"`
	OrderLines       []OrderLine       `json:"orderLines,omitempty"`
	TotalOrderAmount *Amount           `json:"totalOrderAmount,omitempty"`
	ControlFunctions *ControlFunctions `json:"controlFunctions,omitempty"`
	Metadata         json.RawMessage   `json:"metadata,omitempty"`
}

// OrderCreated is the answer to CreateOrder.
type OrderCreated struct {
	OrderID   string `json:"orderId"`
	PaymentID string `json:"paymentId,omitempty"` // when the order started its payment
}

// CreateOrder creates an order: an OrderRequest, a map, or your own
// struct with terminal$id, orderLines and totalOrderAmount.
func (s *SagaPay) CreateOrder(ctx context.Context, order any) (OrderCreated, error) {
	var out OrderCreated
	err := s.call(ctx, "POST", "/orders", order, &out)
	return out, err
}

// Order is an order as GET /orders/{id} echoes it. Raw holds the whole
// reply, for fields of Surfboard's schema the SDK does not name.
type Order struct {
	OrderID          string            `json:"orderId"`
	TerminalID       string            `json:"terminal$id"`
	ReferenceID      string            `json:"referenceId,omitempty"`
	OrderStatus      string            `json:"orderStatus"`
	Date             time.Time         `json:"date"`
	OrderLines       []OrderLine       `json:"orderLines,omitempty"`
	TotalOrderAmount Amount            `json:"totalOrderAmount"` // Total includes tips
	Adjustments      []OrderAdjustment `json:"adjustments"`
	ControlFunctions json.RawMessage   `json:"controlFunctions,omitempty"`
	Metadata         json.RawMessage   `json:"metadata,omitempty"`
	Raw              json.RawMessage   `json:"-"`
}

// UnmarshalJSON decodes the named fields and keeps the whole reply in Raw.
func (o *Order) UnmarshalJSON(b []byte) error {
	type plain Order
	if err := json.Unmarshal(b, (*plain)(o)); err != nil {
		return err
	}
	o.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// OrderAdjustment is a change to an order's total made at payment: a tip.
type OrderAdjustment struct {
	AdjustmentID string `json:"adjustmentId"`
	Type         string `json:"type"`
	Value        string `json:"value"` // minor units, as a string
}

// GetOrder reads an order.
func (s *SagaPay) GetOrder(ctx context.Context, orderID string) (Order, error) {
	var out Order
	err := s.call(ctx, "GET", "/orders/"+url.PathEscape(orderID), nil, &out)
	return out, err
}

// UpdateOrder replaces a PENDING order's lines and options.
func (s *SagaPay) UpdateOrder(ctx context.Context, orderID string, order any) error {
	return s.call(ctx, "PUT", "/orders/"+url.PathEscape(orderID), order, nil)
}

// CancelOrder cancels an order no money came in for.
func (s *SagaPay) CancelOrder(ctx context.Context, orderID string) error {
	return s.call(ctx, "DELETE", "/orders/"+url.PathEscape(orderID), nil, nil)
}

// OrderStatus is the data of GET /orders/{id}/status: where the order
// stands, its payments and, once paid, its transactions.
type OrderStatus struct {
	OrderStatus  string          `json:"orderStatus"`
	Payments     []OrderPayment  `json:"payments"`
	PaymentIDs   []string        `json:"paymentIds,omitempty"`
	Transactions []Transaction   `json:"transactions,omitempty"`
	OrderLines   json.RawMessage `json:"orderLines,omitempty"`
}

// OrderPayment is one payment of an order, as its status lists it.
type OrderPayment struct {
	PaymentID     string `json:"paymentId"`
	PaymentStatus string `json:"paymentStatus"`
	PaymentMethod string `json:"paymentMethod"`
	Amount        int64  `json:"amount"` // the tip included
	FailureReason string `json:"failureReason,omitempty"`
}

// OrderStatus reads an order's status, payments and transactions.
func (s *SagaPay) OrderStatus(ctx context.Context, orderID string) (OrderStatus, error) {
	var out OrderStatus
	err := s.call(ctx, "GET", "/orders/"+url.PathEscape(orderID)+"/status", nil, &out)
	return out, err
}

// Adjustment is a tip recorded on an order.
type Adjustment struct {
	AdjustmentID   string `json:"adjustmentId"`
	AdjustmentType string `json:"adjustmentType"`
	Amount         int64  `json:"amount"`
}

// OrderAdjustments lists an order's adjustments made in a range of UTC
// days (yyyy-mm-dd, both inclusive).
func (s *SagaPay) OrderAdjustments(ctx context.Context, orderID, startDate, endDate string) ([]Adjustment, error) {
	v := url.Values{}
	set(v, "startDate", startDate)
	set(v, "endDate", endDate)
	var out []Adjustment
	err := s.call(ctx, "GET", withQuery("/orders/"+url.PathEscape(orderID)+"/adjustments", v), nil, &out)
	return out, err
}

// PaymentRequest is the body of POST /payments.
type PaymentRequest struct {
	OrderID                string        `json:"orderId"`
	PaymentMethod          string        `json:"paymentMethod"` // CARD, or CARD_NP for refunds
	TerminalID             string        `json:"terminalId,omitempty"`
	Amount                 int64         `json:"amount,omitempty"` // part of the order; 0: all that is due
	RefundProcessingParams *RefundParams `json:"refundProcessingParams,omitempty"`
}

// InitiatePayment starts a payment on an order and returns its id.
func (s *SagaPay) InitiatePayment(ctx context.Context, req PaymentRequest) (string, error) {
	var out struct {
		PaymentID string `json:"paymentId"`
	}
	err := s.call(ctx, "POST", "/payments", req, &out)
	return out.PaymentID, err
}

// Payment statuses, in the order a payment passes them.
const (
	PaymentInitiated  = "PAYMENT_INITIATED"
	PaymentProcessing = "PAYMENT_PROCESSING"
	PaymentProcessed  = "PAYMENT_PROCESSED"
	PaymentCompleted  = "PAYMENT_COMPLETED"
	PaymentFailed     = "PAYMENT_FAILED"
	PaymentCancelled  = "PAYMENT_CANCELLED"
)

// PaymentStatus is the answer to GET /payments/{id}/status.
type PaymentStatus struct {
	PaymentStatus string `json:"paymentStatus"`
	TransactionID string `json:"transactionId,omitempty"`
	FailureReason string `json:"failureReason,omitempty"`
}

// Done reports whether the payment reached a status nothing follows, so
// a poller knows when to stop.
func (p PaymentStatus) Done() bool {
	switch p.PaymentStatus {
	case PaymentCompleted, PaymentFailed, PaymentCancelled:
		return true
	}
	return false
}

// PaymentStatus reads a payment's status.
func (s *SagaPay) PaymentStatus(ctx context.Context, paymentID string) (PaymentStatus, error) {
	var out PaymentStatus
	err := s.call(ctx, "GET", "/payments/"+url.PathEscape(paymentID)+"/status", nil, &out)
	return out, err
}

// Payment is a payment as GET /payments/{id} shows it.
type Payment struct {
	PaymentID                 string    `json:"paymentId"`
	OrderID                   string    `json:"orderId"`
	TerminalID                string    `json:"terminalId"`
	PaymentMethod             string    `json:"paymentMethod"`
	PaymentStatus             string    `json:"paymentStatus"`
	Amount                    int64     `json:"amount"` // the tip included
	Tip                       int64     `json:"tip"`
	TerminalTransactionStatus string    `json:"terminalTransactionStatus"` // the terminal's last event
	FailureReason             string    `json:"failureReason,omitempty"`
	TransactionID             string    `json:"transactionId,omitempty"`
	TruncatedPan              string    `json:"truncatedPan,omitempty"`
	CardBrand                 string    `json:"cardBrand,omitempty"`
	CardLabel                 string    `json:"cardLabel,omitempty"`
	VoidStatus                string    `json:"voidStatus,omitempty"`
	CaptureStatus             string    `json:"captureStatus,omitempty"`
	RefundReason              string    `json:"refundReason,omitempty"`
	CreatedAt                 time.Time `json:"createdAt"`
	UpdatedAt                 time.Time `json:"updatedAt"`
}

// GetPayment reads a payment.
func (s *SagaPay) GetPayment(ctx context.Context, paymentID string) (Payment, error) {
	var out Payment
	err := s.call(ctx, "GET", "/payments/"+url.PathEscape(paymentID), nil, &out)
	return out, err
}

// CancelPayment aborts a payment before it completes and returns the
// status it ends in (a completed payment stays PAYMENT_COMPLETED).
func (s *SagaPay) CancelPayment(ctx context.Context, paymentID string) (string, error) {
	var out PaymentStatus
	err := s.call(ctx, "DELETE", "/payments/"+url.PathEscape(paymentID), nil, &out)
	return out.PaymentStatus, err
}

// VoidPayment reverses a completed payment the same day (merchant
// credentials only) and returns the void status, VOIDED.
func (s *SagaPay) VoidPayment(ctx context.Context, paymentID string) (string, error) {
	var out struct {
		VoidStatus string `json:"voidStatus"`
	}
	err := s.call(ctx, "PUT", "/payments/"+url.PathEscape(paymentID)+"/void", nil, &out)
	return out.VoidStatus, err
}

// CapturePayment captures a delayed-capture payment (merchant
// credentials only); amount 0 captures what was authorized, another
// amount sets a PRE-AUTH payment's final amount.
func (s *SagaPay) CapturePayment(ctx context.Context, paymentID string, amount int64) error {
	var body any
	if amount != 0 {
		body = map[string]int64{"amount": amount}
	}
	return s.call(ctx, "POST", "/payments/"+url.PathEscape(paymentID)+"/capture", body, nil)
}

// CaptureStatus reads a payment's capture status: PENDING or SUCCESS.
func (s *SagaPay) CaptureStatus(ctx context.Context, paymentID string) (string, error) {
	var out struct {
		CaptureStatus string `json:"captureStatus"`
	}
	err := s.call(ctx, "GET", "/payments/"+url.PathEscape(paymentID)+"/capture", nil, &out)
	return out.CaptureStatus, err
}

// Transaction is money that moved: a completed purchase or refund.
type Transaction struct {
	TransactionID        string    `json:"transactionId"`
	MerchantID           string    `json:"merchantId"`
	StoreID              string    `json:"storeId"`
	TerminalID           string    `json:"terminalId"`
	OrderID              string    `json:"orderId"`
	PaymentID            string    `json:"paymentId"`
	ReferenceID          string    `json:"referenceId"`
	RRN                  string    `json:"rrn"`
	Amount               int64     `json:"amount,string"` // the tip included
	Fee                  int64     `json:"fee,string"`
	Currency             string    `json:"currency"`
	Method               string    `json:"method"`
	Type                 string    `json:"type"` // PURCHASE or RETURN
	Timestamp            time.Time `json:"timestamp"`
	Voided               bool      `json:"voided"`
	SettlementStatus     string    `json:"settlementStatus"`
	TruncatedPan         string    `json:"truncatedPan"`
	CardLabel            string    `json:"cardLabel"`
	CardBrand            string    `json:"cardBrand"`
	CardUsage            string    `json:"cardUsage"`
	PosEntryMode         string    `json:"posEntryMode"`
	CustomerResponseCode string    `json:"customerResponseCode"`
	AuthMode             string    `json:"authMode"`
}

// TransactionPage is one page (100 rows, newest first) of transactions.
type TransactionPage struct {
	Transactions []Transaction
	Page         int // X-Page-Number
	Total        int // X-Total-Items: all matches
}

// TransactionQuery selects transactions.
type TransactionQuery struct {
	StartDate, EndDate string // UTC days, yyyy-mm-dd, both inclusive; both or neither
	Page               int    // from 1
}

// Transactions lists the caller's transactions (a client token: its
// user's own).
func (s *SagaPay) Transactions(ctx context.Context, q TransactionQuery) (TransactionPage, error) {
	v := url.Values{}
	set(v, "startDate", q.StartDate)
	set(v, "endDate", q.EndDate)
	return s.transactions(ctx, withQuery("/transactions", v), q.Page)
}

// OrderTransactions lists the transactions of an order, payment or
// transaction id.
func (s *SagaPay) OrderTransactions(ctx context.Context, id string, page int) (TransactionPage, error) {
	return s.transactions(ctx, "/transactions/"+url.PathEscape(id)+"/list", page)
}

// SearchTransactions finds transactions by a reference, e.g. the order's
// referenceId.
func (s *SagaPay) SearchTransactions(ctx context.Context, query string, page int) (TransactionPage, error) {
	return s.transactions(ctx, withQuery("/transactions/search", url.Values{"query": {query}}), page)
}

func (s *SagaPay) transactions(ctx context.Context, path string, page int) (TransactionPage, error) {
	var out TransactionPage
	h, err := s.send(ctx, "GET", path, pageHeader(page), nil, &out.Transactions)
	out.Page, out.Total = pageOf(h)
	return out, err
}

// ReceiptLink returns the address of the receipt page of a transaction,
// payment or order.
func (s *SagaPay) ReceiptLink(ctx context.Context, id string) (string, error) {
	var out struct {
		ReceiptURL string `json:"receiptURL"`
	}
	err := s.call(ctx, "GET", "/receipts/"+url.PathEscape(id)+"/link", nil, &out)
	return out.ReceiptURL, err
}

// EmailReceipt sends a receipt to an address (the sandbox outbox in
// sandbox mode).
func (s *SagaPay) EmailReceipt(ctx context.Context, id, email string) error {
	return s.call(ctx, "PUT", "/receipts/"+url.PathEscape(id)+"/email", map[string]string{"email": email}, nil)
}

// ---- merchant administration (API credentials) ----

func (a *API) saga(ctx context.Context, method, path string, body, out any) error {
	return a.do(ctx, method, path, a.sagaHeaders(), body, out)
}

func (a *API) merchantPath() string { return "/merchants/" + url.PathEscape(a.MerchantID) }

// Terminal is a payment terminal registered to a store.
type Terminal struct {
	TerminalID             string   `json:"terminalId"`
	TerminalType           string   `json:"terminalType"`
	TerminalName           string   `json:"terminalName"`
	StoreID                string   `json:"storeId"`
	SerialNo               string   `json:"serialNo"`
	TerminalStatus         string   `json:"terminalStatus"`
	TerminalPaymentMethods []string `json:"terminalPaymentMethods"`
	StartDate              string   `json:"startDate"`
	SoftwareVersion        string   `json:"softwareVersion"`
	DeviceVendor           string   `json:"deviceVendor"`
	DeviceModel            string   `json:"deviceModel"`
}

// TerminalRegistration is the answer to RegisterTerminal.
type TerminalRegistration struct {
	TerminalID         string `json:"terminalId"`
	RegistrationStatus string `json:"registrationStatus"` // REGISTERED or ALREADY_REGISTERED
}

// RegisterTerminal registers the terminal showing code (6 digits, or a
// SurfPad's serial number) to a store.
func (a *API) RegisterTerminal(ctx context.Context, storeID, code, name string) (TerminalRegistration, error) {
	var out TerminalRegistration
	err := a.saga(ctx, "POST", a.merchantPath()+"/stores/"+url.PathEscape(storeID)+"/devices",
		map[string]string{"registrationIdentifier": code, "terminalName": name}, &out)
	return out, err
}

// TerminalRegistrationCode hands out a code a terminal app registers
// with (in the sandbox, any unused 6-digit code) and its deep link.
func (a *API) TerminalRegistrationCode(ctx context.Context, storeID string) (code, link string, err error) {
	var out struct {
		Code string `json:"registrationCode"`
		Link string `json:"registrationLink"`
	}
	err = a.saga(ctx, "GET", a.merchantPath()+"/stores/"+url.PathEscape(storeID)+"/device-registration", nil, &out)
	return out.Code, out.Link, err
}

// TerminalPage is one page (100 rows) of terminals.
type TerminalPage struct {
	Terminals []Terminal
	Page      int
	Total     int
}

// Terminals lists the merchant's terminals; storeID "" for every store.
func (a *API) Terminals(ctx context.Context, storeID string, page int) (TerminalPage, error) {
	path := a.merchantPath() + "/terminals"
	if storeID != "" {
		path = a.merchantPath() + "/stores/" + url.PathEscape(storeID) + "/terminals"
	}
	h := a.sagaHeaders()
	for k, v := range pageHeader(page) {
		h[k] = v
	}
	var out TerminalPage
	rh, err := a.send(ctx, "GET", path, h, nil, &out.Terminals)
	out.Page, out.Total = pageOf(rh)
	return out, err
}

// Terminal reads one terminal.
func (a *API) Terminal(ctx context.Context, terminalID string) (Terminal, error) {
	var out Terminal
	err := a.saga(ctx, "GET", "/terminals/"+url.PathEscape(terminalID), nil, &out)
	return out, err
}

// WebhookEndpointRequest is the body that creates a webhook endpoint.
type WebhookEndpointRequest struct {
	Name   string   `json:"name,omitempty"`
	URL    string   `json:"url"`
	Events []string `json:"events,omitempty"` // empty: every event
}

// WebhookEndpoint is a receiver of the merchant's SagaPay webhooks.
type WebhookEndpoint struct {
	WebhookID string    `json:"webhookId"`
	Name      string    `json:"name"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	CreatedAt time.Time `json:"createdAt"`
	// Secret signs the endpoint's webhooks. Only CreateWebhookEndpoint
	// returns it, once: store it then.
	Secret string `json:"secret,omitempty"`
}

// CreateWebhookEndpoint registers a webhook receiver and returns it with
// its signing secret, which is never shown again.
func (a *API) CreateWebhookEndpoint(ctx context.Context, req WebhookEndpointRequest) (WebhookEndpoint, error) {
	var out WebhookEndpoint
	err := a.saga(ctx, "POST", a.merchantPath()+"/webhooks", req, &out)
	return out, err
}

// WebhookEndpoints lists the merchant's webhook receivers (without
// secrets).
func (a *API) WebhookEndpoints(ctx context.Context) ([]WebhookEndpoint, error) {
	var out []WebhookEndpoint
	err := a.saga(ctx, "GET", a.merchantPath()+"/webhooks", nil, &out)
	return out, err
}

// DeleteWebhookEndpoint removes a webhook receiver; its pending webhooks
// fail.
func (a *API) DeleteWebhookEndpoint(ctx context.Context, webhookID string) error {
	return a.saga(ctx, "DELETE", a.merchantPath()+"/webhooks/"+url.PathEscape(webhookID), nil, nil)
}

// WebhookTest is what an endpoint answered to the test.webhook event.
type WebhookTest struct {
	Delivered      bool   `json:"delivered"`
	StatusCode     int    `json:"statusCode"`
	Error          string `json:"error"`
	WebhookEventID string `json:"webhookEventId"`
}

// TestWebhookEndpoint sends the unretried test.webhook event to an
// endpoint now and reports its answer: the way to check a receiver and
// its secret before real events depend on it.
func (a *API) TestWebhookEndpoint(ctx context.Context, webhookID string) (WebhookTest, error) {
	var out WebhookTest
	err := a.saga(ctx, "POST", a.merchantPath()+"/webhooks/"+url.PathEscape(webhookID)+"/test", nil, &out)
	return out, err
}

// WebhookDelivery is one webhook in the delivery log.
type WebhookDelivery struct {
	WebhookEventID string           `json:"webhookEventId"` // the same across retries: dedupe on it
	EventType      string           `json:"eventType"`
	OrderID        string           `json:"orderId"`
	Target         string           `json:"target"` // an endpoint id, or callBackUrl
	State          string           `json:"state"`  // pending, delivered or failed
	Attempts       int              `json:"attempts"`
	CreatedAt      time.Time        `json:"createdAt"`
	NextAttemptAt  *time.Time       `json:"nextAttemptAt,omitempty"`
	LastAttemptAt  *time.Time       `json:"lastAttemptAt,omitempty"`
	AttemptLog     []WebhookAttempt `json:"attemptLog,omitempty"` // only from WebhookDelivery
}

// WebhookAttempt is one HTTP call made to deliver a webhook.
type WebhookAttempt struct {
	Attempt    int       `json:"attempt"`
	URL        string    `json:"url"`
	StatusCode int       `json:"statusCode"`
	Outcome    string    `json:"outcome"`
	Error      string    `json:"error"`
	LatencyMs  int64     `json:"latencyMs"`
	At         time.Time `json:"at"`
}

// WebhookDeliveryPage is one page (100 rows, newest first) of the log.
type WebhookDeliveryPage struct {
	Deliveries []WebhookDelivery
	Page       int
	Total      int
}

// WebhookDeliveries lists the webhook delivery log; orderID "" for all.
func (a *API) WebhookDeliveries(ctx context.Context, orderID string, page int) (WebhookDeliveryPage, error) {
	v := url.Values{}
	set(v, "orderId", orderID)
	h := a.sagaHeaders()
	for k, x := range pageHeader(page) {
		h[k] = x
	}
	var out WebhookDeliveryPage
	rh, err := a.send(ctx, "GET", withQuery(a.merchantPath()+"/webhooks/deliveries", v), h, nil, &out.Deliveries)
	out.Page, out.Total = pageOf(rh)
	return out, err
}

// WebhookDelivery reads one webhook with its attempt log.
func (a *API) WebhookDelivery(ctx context.Context, webhookEventID string) (WebhookDelivery, error) {
	var out WebhookDelivery
	err := a.saga(ctx, "GET", a.merchantPath()+"/webhooks/deliveries/"+url.PathEscape(webhookEventID), nil, &out)
	return out, err
}

// RedeliverWebhook queues a delivered or failed webhook again under the
// same webhookEventId.
func (a *API) RedeliverWebhook(ctx context.Context, webhookEventID string) error {
	return a.saga(ctx, "POST", a.merchantPath()+"/webhooks/deliveries/"+url.PathEscape(webhookEventID)+"/redeliver", nil, nil)
}

// pageHeader asks for one page of a Surfboard list.
func pageHeader(page int) http.Header {
	if page <= 1 {
		return nil
	}
	return http.Header{"X-Page-Number": {strconv.Itoa(page)}}
}

// pageOf reads a Surfboard list reply's page number and total.
func pageOf(h http.Header) (page, total int) {
	if h == nil {
		return 0, 0
	}
	page, _ = strconv.Atoi(h.Get("X-Page-Number"))
	total, _ = strconv.Atoi(h.Get("X-Total-Items"))
	return page, total
}
