package sign

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// canonicalFast is Canonical in one pass over the bytes: it copies what
// JSON.stringify would write the same way (plain strings, short
// integers) and rewrites only the rest, instead of decoding everything
// into maps first, which was a quarter of jeton's CPU per delivered
// callback. A duplicate key or invalid JSON returns ok false, and
// Canonical takes the general path; a fuzz test holds the two to the
// same output.
func canonicalFast(raw []byte) (out []byte, ok bool) {
	p := fastScanner{b: raw}
	p.ws()
	out, ok = p.value(make([]byte, 0, len(raw)))
	if !ok {
		return nil, false
	}
	p.ws()
	return out, p.i == len(p.b)
}

type fastScanner struct {
	b []byte
	i int
}

func (p *fastScanner) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *fastScanner) value(dst []byte) ([]byte, bool) {
	if p.i >= len(p.b) {
		return dst, false
	}
	switch c := p.b[p.i]; c {
	case '{':
		return p.object(dst)
	case '[':
		return p.array(dst)
	case '"':
		_, q, ok := p.str()
		if !ok {
			return dst, false
		}
		return append(dst, q...), true
	case 't':
		return p.literal(dst, "true")
	case 'f':
		return p.literal(dst, "false")
	case 'n':
		return p.literal(dst, "null")
	default:
		return p.number(dst)
	}
}

func (p *fastScanner) literal(dst []byte, lit string) ([]byte, bool) {
	if !bytes.HasPrefix(p.b[p.i:], []byte(lit)) {
		return dst, false
	}
	p.i += len(lit)
	return append(dst, lit...), true
}

// str reads a string and returns it decoded (for sorting keys) and as
// JSON.stringify writes it, quotes included. A string without escapes in
// valid UTF-8 is both as read; any other is decoded as the general path
// decodes it (encoding/json), then quoted by appendJSString.
func (p *fastScanner) str() (decoded, quoted []byte, ok bool) {
	start := p.i + 1
	plain := true
	for j := start; j < len(p.b); j++ {
		switch c := p.b[j]; {
		case c == '"':
			s := p.b[start:j]
			p.i = j + 1
			if plain && utf8.Valid(s) {
				return s, p.b[start-1 : j+1], true
			}
			var v string
			if json.Unmarshal(p.b[start-1:j+1], &v) != nil {
				return nil, nil, false
			}
			return []byte(v), appendJSString(nil, v), true
		case c == '\\':
			plain = false
			j++ // the escaped character cannot end the string
		case c < 0x20:
			return nil, nil, false
		}
	}
	return nil, nil, false
}

// number reads a number by JSON's grammar. An integer of at most 15
// digits is written as read (it is exact in a float64, and JavaScript
// prints it so), except -0; any other goes through appendJSNumber.
func (p *fastScanner) number(dst []byte) ([]byte, bool) {
	start, j := p.i, p.i
	if j < len(p.b) && p.b[j] == '-' {
		j++
	}
	digits := func() int {
		k := j
		for j < len(p.b) && p.b[j] >= '0' && p.b[j] <= '9' {
			j++
		}
		return j - k
	}
	intStart := j
	n := digits()
	if n == 0 || n > 1 && p.b[intStart] == '0' {
		return dst, false
	}
	integer := true
	if j < len(p.b) && p.b[j] == '.' {
		j++
		if digits() == 0 {
			return dst, false
		}
		integer = false
	}
	if j < len(p.b) && (p.b[j] == 'e' || p.b[j] == 'E') {
		j++
		if j < len(p.b) && (p.b[j] == '+' || p.b[j] == '-') {
			j++
		}
		if digits() == 0 {
			return dst, false
		}
		integer = false
	}
	tok := p.b[start:j]
	p.i = j
	if integer && n <= 15 {
		if n == 1 && p.b[intStart] == '0' {
			return append(dst, '0'), true // 0 and -0
		}
		return append(dst, tok...), true
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	if err != nil || math.IsInf(f, 0) {
		return dst, false
	}
	return appendJSNumber(dst, f), true
}

func (p *fastScanner) array(dst []byte) ([]byte, bool) {
	p.i++ // [
	dst = append(dst, '[')
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return append(dst, ']'), true
	}
	for {
		p.ws()
		var ok bool
		if dst, ok = p.value(dst); !ok {
			return dst, false
		}
		p.ws()
		if p.i >= len(p.b) {
			return dst, false
		}
		switch p.b[p.i] {
		case ',':
			p.i++
			dst = append(dst, ',')
		case ']':
			p.i++
			return append(dst, ']'), true
		default:
			return dst, false
		}
	}
}

// valueSpan returns a value's canonical form, as a slice of the input
// when it is written as read (most scalars), so members need no copies.
func (p *fastScanner) valueSpan() ([]byte, bool) {
	start := p.i
	if p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '"':
			_, q, ok := p.str()
			return q, ok
		case c == 't' || c == 'f' || c == 'n':
			out, ok := p.value(nil)
			if ok && p.i-start == len(out) {
				return p.b[start:p.i], true
			}
			return out, ok
		case c == '-' || c >= '0' && c <= '9':
			var buf [32]byte
			out, ok := p.number(buf[:0])
			if ok && string(out) == string(p.b[start:p.i]) {
				return p.b[start:p.i], true
			}
			return append([]byte(nil), out...), ok
		}
	}
	return p.value(nil)
}

// member is one key of an object (decoded, and quoted for output), with
// its value already canonical.
type member struct {
	key, quoted, val []byte
}

func (p *fastScanner) object(dst []byte) ([]byte, bool) {
	p.i++ // {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return append(dst, '{', '}'), true
	}
	members := make([]member, 0, 32)
	for {
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return dst, false
		}
		key, quoted, ok := p.str()
		if !ok {
			return dst, false
		}
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return dst, false
		}
		p.i++
		p.ws()
		val, ok := p.valueSpan()
		if !ok {
			return dst, false
		}
		members = append(members, member{key, quoted, val})
		p.ws()
		if p.i >= len(p.b) {
			return dst, false
		}
		if p.b[p.i] == '}' {
			p.i++
			break
		}
		if p.b[p.i] != ',' {
			return dst, false
		}
		p.i++
	}
	slices.SortFunc(members, func(a, b member) int { return bytes.Compare(a.key, b.key) })
	dst = append(dst, '{')
	for i, m := range members {
		if i > 0 {
			if bytes.Equal(members[i-1].key, m.key) {
				return dst, false // duplicate: the general path keeps the last
			}
			dst = append(dst, ',')
		}
		dst = append(dst, m.quoted...)
		dst = append(dst, ':')
		dst = append(dst, m.val...)
	}
	return append(dst, '}'), true
}
