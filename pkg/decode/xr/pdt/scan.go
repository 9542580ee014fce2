package pdt

import (
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/netlens/netlens/pkg/decode/xr"
)

// jsonParser builds a node tree from strict JSON (RFC 8259), keeping member order
// (naming values come first in list instances, and leaves keep their order) and exact
// 64-bit integers. It is hand-written because encoding/json's token stream allocates
// for every token and gives no member order with maps.
type jsonParser struct {
	b      []byte
	i      int
	lim    Limits
	leaves int
}

func (p *jsonParser) document() (node, error) {
	p.ws()
	root, err := p.value(1)
	if err != nil {
		return node{}, err
	}
	p.ws()
	if p.i != len(p.b) {
		return node{}, p.fail("data after the message")
	}
	return root, nil
}

func (p *jsonParser) fail(detail string) *Error { return errAt(ReasonBadJSON, p.i, detail) }

func (p *jsonParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (node, error) {
	if p.i >= len(p.b) {
		return node{}, p.fail("unexpected end of input")
	}
	switch c := p.b[p.i]; {
	case c == '{' || c == '[':
		if depth > p.lim.MaxDepth {
			return node{}, errAt(ReasonTooDeep, p.i, "nesting over "+strconv.Itoa(p.lim.MaxDepth))
		}
		return p.container(depth)
	case c == 'n':
		if err := p.literal("null"); err != nil {
			return node{}, err
		}
		return node{null: true}, nil
	}
	p.leaves++
	if p.leaves > p.lim.MaxLeaves {
		return node{}, errAt(ReasonTooManyLeaves, p.i, "over "+strconv.Itoa(p.lim.MaxLeaves)+" values")
	}
	switch c := p.b[p.i]; {
	case c == '"':
		s, err := p.str()
		return node{leaf: xr.Leaf{Kind: xr.LeafString, S: s}}, err
	case c == 't':
		return node{leaf: xr.Leaf{Kind: xr.LeafBool, B: true}}, p.literal("true")
	case c == 'f':
		return node{leaf: xr.Leaf{Kind: xr.LeafBool}}, p.literal("false")
	case c == '-' || c >= '0' && c <= '9':
		l, err := p.number()
		return node{leaf: l}, err
	}
	return node{}, p.fail("unexpected character " + strconv.QuoteRune(rune(p.b[p.i])))
}

func (p *jsonParser) literal(word string) error {
	if len(p.b)-p.i < len(word) || string(p.b[p.i:p.i+len(word)]) != word {
		return p.fail("invalid literal")
	}
	p.i += len(word)
	return nil
}

func (p *jsonParser) container(depth int) (node, error) {
	obj := p.b[p.i] == '{'
	end := byte(']')
	if obj {
		end = '}'
	}
	n := node{obj: obj, arr: !obj}
	p.i++
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == end {
		p.i++
		return n, nil
	}
	for {
		var name string
		if obj {
			if p.i >= len(p.b) || p.b[p.i] != '"' {
				return node{}, p.fail("expected a member name")
			}
			var err error
			if name, err = p.str(); err != nil {
				return node{}, err
			}
			p.ws()
			if p.i >= len(p.b) || p.b[p.i] != ':' {
				return node{}, p.fail("expected ':'")
			}
			p.i++
			p.ws()
		}
		c, err := p.value(depth + 1)
		if err != nil {
			return node{}, err
		}
		c.name = name
		n.kids = append(n.kids, c)
		p.ws()
		if p.i >= len(p.b) {
			return node{}, p.fail("unexpected end of input")
		}
		switch p.b[p.i] {
		case ',':
			p.i++
			p.ws()
		case end:
			p.i++
			return n, nil
		default:
			return node{}, p.fail("expected ',' or '" + string(end) + "'")
		}
	}
}

// str reads a string at p.i (on its opening quote). Strings without escapes are
// copied once; invalid UTF-8 is replaced so that names and values are valid text.
func (p *jsonParser) str() (string, error) {
	p.i++
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			raw := p.b[start:p.i]
			p.i++
			if !utf8.Valid(raw) {
				return string(toValidUTF8(raw)), nil
			}
			return string(raw), nil
		case c == '\\':
			return p.escaped(start)
		case c < 0x20:
			return "", p.fail("control character in string")
		}
		p.i++
	}
	return "", p.fail("unterminated string")
}

func (p *jsonParser) escaped(start int) (string, error) {
	out := append([]byte(nil), p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(toValidUTF8(out)), nil
		case c < 0x20:
			return "", p.fail("control character in string")
		case c != '\\':
			out = append(out, c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.b) {
			break
		}
		e := p.b[p.i+1]
		p.i += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.fail("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
					save := p.i
					p.i += 2
					if r2, ok = p.hex4(); !ok {
						return "", p.fail("bad \\u escape")
					}
					if utf16.DecodeRune(r, r2) == utf8.RuneError {
						p.i, r2 = save, -1
					}
				}
				if r2 >= 0 {
					r = utf16.DecodeRune(r, r2)
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", p.fail("bad escape")
		}
	}
	return "", p.fail("unterminated string")
}

func (p *jsonParser) hex4() (rune, bool) {
	if len(p.b)-p.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range p.b[p.i : p.i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	p.i += 4
	return r, true
}

func toValidUTF8(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		out = utf8.AppendRune(out, r)
		b = b[n:]
	}
	return out
}

// number reads a JSON number, exact for integers that fit 64 bits: unsigned when
// non-negative, signed when negative, float for fractions, exponents and beyond.
func (p *jsonParser) number() (xr.Leaf, error) {
	start := p.i
	neg := p.b[p.i] == '-'
	if neg {
		p.i++
	}
	digits := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	if p.i == digits || p.b[digits] == '0' && p.i-digits > 1 {
		return xr.Leaf{}, p.fail("bad number")
	}
	integer := true
	if p.i < len(p.b) && p.b[p.i] == '.' {
		integer = false
		p.i++
		if !p.digits() {
			return xr.Leaf{}, p.fail("bad number")
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		integer = false
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if !p.digits() {
			return xr.Leaf{}, p.fail("bad number")
		}
	}
	if integer {
		var u uint64
		ok := true
		for _, c := range p.b[digits:p.i] {
			d := uint64(c - '0')
			if u > (math.MaxUint64-d)/10 {
				ok = false
				break
			}
			u = u*10 + d
		}
		switch {
		case ok && !neg:
			return xr.Leaf{Kind: xr.LeafUint, U: u}, nil
		case ok && u <= 1<<63:
			return xr.Leaf{Kind: xr.LeafInt, I: int64(-u)}, nil
		}
	}
	f, _ := strconv.ParseFloat(string(p.b[start:p.i]), 64) // syntax checked above; out of range gives ±Inf
	return xr.Leaf{Kind: xr.LeafFloat, F: f}, nil
}

func (p *jsonParser) digits() bool {
	s := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	return p.i > s
}
