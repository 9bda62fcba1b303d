package sagapay

import (
	"testing"

	"github.com/jetonhq/jeton"
)

func TestRefuseCardNumbers(t *testing.T) {
	refused := []string{
		`{"referenceId":"4111111111111111"}`,
		`{"customer":{"person":{"name":{"firstName":"4111 1111 1111 1111"}}}}`,
		`{"metadata":{"pan":"5555-5555-5555-4444"}}`,
		`{"metadata":{"pan":4111111111111111}}`,
		`{"orderLines":[{"description":"card 378282246310005 on file"}]}`,
		`{"metadata":{"orderId":"4111111111111111"}}`, // an id name below the top level
		`{"metadata":{"4111111111111111":"x"}}`,       // in a key
		`{"referenceId":"4111 1111 1111 1111 1228"}`,  // with the expiry appended
		`{"referenceId":"4111.1111.1111.1111"}`,       // dotted
		`{"orderId":"4111111111111111"}`,              // not the shape of jeton's ids
	}
	for _, b := range refused {
		if err := refuseCardNumbers([]byte(b)); jeton.ErrorKey(err) != jeton.KeyCardNumber {
			t.Errorf("%s: got %v, want %s", b, err, jeton.KeyCardNumber)
		}
	}
	allowed := []string{
		`{"referenceId":"4111111111111112"}`, // fails Luhn
		`{"referenceId":"123456789012"}`,     // 12 digits
		`{"orderId":"411111111111111113"}`,   // jeton's id shape (18 digits) in an id field
		`{"terminal$id":"411111111111111113"}`,
		`{"amount":{"total":1000,"regular":1000}}`,
		`{"phoneNumber":{"code":"+46","number":"701234567"}}`,
		`{"referenceId":"123456789012345678901234567"}`, // 27 digits: no card
		`not json`,
	}
	for _, b := range allowed {
		if err := refuseCardNumbers([]byte(b)); err != nil {
			t.Errorf("%s: refused: %v", b, err)
		}
	}
}
