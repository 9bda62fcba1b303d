package sign

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Canonical rewrites one JSON value the way AssetPay's canonicalize() does
// before it computes a body key, so that jeton (in Go) and a merchant's
// JavaScript verifier hash the same bytes:
//
//   - object keys sorted, recursively;
//   - no whitespace;
//   - arrays kept in order;
//   - numbers printed as JavaScript's Number.prototype.toString prints the
//     float64 they parse to (10.75, 8.6, 45, 1e+21, 1.5e-7; -0 is 0);
//   - strings escaped as JSON.stringify escapes them: only ", \ and control
//     characters, as \b \f \n \r \t or \u00xx (lowercase hex); <, >, &,
//     U+2028, U+2029 and all other non-ASCII characters are written as is;
//   - null, true and false as literals.
//
// Keys are sorted by the bytes of their UTF-8 encoding. JavaScript's default
// sort compares UTF-16 code units instead; the two orders differ only when
// keys mix characters in U+E000..U+FFFF with characters above U+FFFF, which
// no trade key does (they are ASCII).
//
// Duplicate keys keep the last value, as JSON.parse does. Invalid UTF-8 in
// strings becomes U+FFFD, and so do escaped lone surrogates ("\ud800"),
// which JSON.stringify would write back as "\ud800": Go strings cannot hold
// them. Neither occurs in a body jeton signs.
//
// A number too large for a float64 (1e400) is an error: JavaScript would
// turn it into Infinity and stringify that as null, and signing something
// other than what was sent is worse than refusing. Trailing data after the
// value is an error.
func Canonical(raw []byte) ([]byte, error) {
	if out, ok := canonicalFast(raw); ok {
		return out, nil
	}
	return canonicalGeneral(raw)
}

// canonicalGeneral decodes the whole value, then writes it sorted.
func canonicalGeneral(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep each number's exact text until we format it
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("sign: canonical JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("sign: canonical JSON: data after the top-level value")
	}
	return appendCanonical(make([]byte, 0, len(raw)), v)
}

// appendCanonical appends the canonical form of a value decoded with
// UseNumber.
func appendCanonical(dst []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		if v {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case json.Number:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil || math.IsInf(f, 0) {
			// ParseFloat underflows to ±0 without an error, like
			// JavaScript; only overflow lands here.
			return nil, fmt.Errorf("sign: canonical JSON: number %.40s does not fit a float64", string(v))
		}
		return appendJSNumber(dst, f), nil
	case string:
		return appendJSString(dst, v), nil
	case []any:
		dst = append(dst, '[')
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendCanonical(dst, e); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys) // UTF-8 byte order; see Canonical
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSString(dst, k)
			dst = append(dst, ':')
			var err error
			if dst, err = appendCanonical(dst, v[k]); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	default:
		return nil, fmt.Errorf("sign: canonical JSON: unexpected %T", v)
	}
}

// appendJSNumber appends f as ECMAScript's Number::toString(10) writes it.
// The digits are the shortest that round-trip (strconv's 'e' with
// precision -1, which like V8 picks the closest such string); only the
// layout rules differ from strconv's: plain notation for 1e-7 <= |f| <
// 1e21, otherwise d[.ddd]e±x with no exponent padding. f must be finite.
func appendJSNumber(dst []byte, f float64) []byte {
	if f == 0 {
		return append(dst, '0') // also -0
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64) // d[.ddd]e±xx
	at := bytes.IndexByte(e, 'e')
	exp, _ := strconv.Atoi(string(e[at+1:]))
	var digs [24]byte
	digits := digs[:0]
	for _, c := range e[:at] {
		if c != '.' {
			digits = append(digits, c)
		}
	}
	// In the spec's terms: digits = s, k = len(s), value = s × 10^(n−k).
	k, n := len(digits), exp+1
	switch {
	case k <= n && n <= 21:
		dst = append(dst, digits...)
		for range n - k {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(dst, digits[:n]...)
		dst = append(dst, '.')
		dst = append(dst, digits[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, '0', '.')
		for range -n {
			dst = append(dst, '0')
		}
		dst = append(dst, digits...)
	default:
		dst = append(dst, digits[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, digits[1:]...)
		}
		dst = append(dst, 'e')
		if n-1 >= 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(n-1), 10)
	}
	return dst
}

// appendJSString appends s quoted as JSON.stringify quotes it. Invalid
// UTF-8 bytes are written as U+FFFD, one per byte.
func appendJSString(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch c {
			case '"':
				dst = append(dst, '\\', '"')
			case '\\':
				dst = append(dst, '\\', '\\')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				if c < 0x20 {
					dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
				} else {
					dst = append(dst, c)
				}
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}
