package client

import (
	"errors"
	"math/big"
	"strconv"
)

// USD is an amount of US cents. AssetPay sends prices as dollar numbers
// (53.36); decoding them into a float would round, so the SDK keeps them
// as whole cents, exactly as jeton does inside.
type USD int64

// Dollars builds a USD amount from whole dollars and cents, for readable
// literals: Dollars(53, 36) is $53.36.
func Dollars(dollars, cents int64) USD { return USD(dollars*100 + cents) }

// String writes the amount as the API does: a dollar number without
// trailing zeros (53.36, 8.6, 45, -1.5).
func (u USD) String() string {
	return strconv.FormatFloat(float64(u)/100, 'f', -1, 64)
}

// MarshalJSON writes the amount as the dollar number the API expects.
func (u USD) MarshalJSON() ([]byte, error) { return []byte(u.String()), nil }

// UnmarshalJSON reads a dollar number exactly (no float rounding). It
// refuses amounts with fractions of a cent rather than round them, and
// accepts negative amounts, which ledger entries carry.
func (u *USD) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if n := len(s); n >= 2 && s[0] == '"' && s[n-1] == '"' {
		s = s[1 : n-1] // a quoted amount, as some vendors send
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return errors.New("client: amount " + strconv.Quote(s) + " is not a number")
	}
	r.Mul(r, big.NewRat(100, 1))
	if !r.IsInt() || !r.Num().IsInt64() {
		return errors.New("client: amount " + s + " is not a whole number of cents")
	}
	*u = USD(r.Num().Int64())
	return nil
}
