package sagapay

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/jetonhq/jeton"
)

// jeton never stores a card number: a request body that holds one, in
// any value or key, is refused before anything is stored. A card number
// here is 13 to 19 digits (spaces, dashes, dots, slashes or underscores
// between them allowed) that pass the Luhn check, alone or at the start of
// a run of up to 23 digits (a number with its expiry or code appended).
// Top-level ids in the shape jeton issues are not checked: an 18-digit id
// made only of decimal digits can pass the Luhn check by chance.

// idFields are the top-level fields that carry ids jeton issued.
var idFields = map[string]bool{
	"terminal$id": true, "terminalId": true, "orderId": true, "paymentId": true, "purchaseOrderId": true,
	"purchasePaymentId": true, "transactionId": true, "storeId": true, "merchantId": true,
}

// jetonID reports whether s has the shape of an id jeton issues.
func jetonID(s string) bool { return len(s) == 18 && strings.Trim(s, "0123456789abcdef") == "" }

// refuseCardNumbers scans a raw JSON body for card numbers.
func refuseCardNumbers(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil // not JSON: the decoder that follows says so
	}
	if top, ok := v.(map[string]any); ok {
		for k, e := range top {
			if id, isStr := e.(string); idFields[k] && isStr && jetonID(id) {
				delete(top, k) // jeton's own id, not a card
			}
		}
	}
	if holdsCard(v) {
		return jeton.Errorf(jeton.KindInvalid, jeton.KeyCardNumber,
			"the request holds what looks like a card number; jeton never takes card numbers: the card is presented on the terminal")
	}
	return nil
}

func holdsCard(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if cardLike(k) || holdsCard(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if holdsCard(e) {
				return true
			}
		}
	case string:
		return cardLike(x)
	case json.Number:
		return cardLike(x.String())
	}
	return false
}

// cardLike reports whether s contains a run that is a card number.
func cardLike(s string) bool {
	digits := make([]byte, 0, 32)
	check := func() bool {
		defer func() { digits = digits[:0] }()
		if len(digits) < 13 || len(digits) > 23 {
			return false
		}
		for n := 13; n <= min(19, len(digits)); n++ {
			if luhn(digits[:n]) {
				return true
			}
		}
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		case strings.IndexByte(" -./_", c) >= 0 && len(digits) > 0:
		default:
			if check() {
				return true
			}
		}
	}
	return check()
}

func luhn(d []byte) bool {
	sum := 0
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if (len(d)-1-i)%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}
