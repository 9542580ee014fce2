// Package xrjson is the strict JSON scanner the IOS XR decoders share (model-driven
// data_json in pkg/decode/xr/mdt, policy-driven messages and .policy files in
// pkg/decode/xr/pdt). It reads a whole document held in memory and hands its parts
// to the caller in order, so that:
//
//   - it accepts exactly what encoding/json accepts (RFC 8259), and strings decode
//     to the same text (escapes, surrogate pairs, invalid UTF-8 as U+FFFD);
//   - members come in the order they were written (XR puts naming values first);
//   - numbers stay text until NumberLeaf classifies them, so 64-bit integers keep
//     every digit instead of passing through float64;
//   - a string costs at most the one copy the caller makes of it, and structure
//     costs nothing: encoding/json's token stream allocates for every token, and a
//     real XR message holds tens of thousands.
//
// Nesting is bounded by Scanner.MaxDepth, so hostile input cannot grow the stack
// without limit. Everything here is a pure function of the bytes given.
package xrjson

import (
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/netlens/netlens/pkg/decode/xr"
)

// Kind is what the next value is, told by its first byte.
type Kind uint8

const (
	EOF     Kind = iota // nothing but white space is left
	Invalid             // a byte no JSON value starts with
	Object
	Array
	String
	Number
	True
	False
	Null
)

// DefaultMaxDepth bounds nesting when Scanner.MaxDepth is zero. encoding/json
// allows 10000; no XR document comes near 64.
const DefaultMaxDepth = 64

// Error says where and why the input stopped being acceptable JSON.
type Error struct {
	Offset int // byte offset in the document
	Msg    string
	// TooDeep: containers nest beyond MaxDepth. The input may well be valid
	// JSON; decoders report it apart from syntax errors.
	TooDeep bool
}

func (e *Error) Error() string { return "json: " + e.Msg + " at offset " + strconv.Itoa(e.Offset) }

// Scanner reads one document. Callers look at the next value with Peek and
// consume it with the method of its kind (Object, Array, Str, Num, Bool, Null)
// or Skip; each method first skips white space and fails on a value of another
// kind. After any error the Scanner must be Reset before further use.
//
// The zero value reads an empty document; Reset gives it another. A Scanner
// keeps a scratch buffer for strings that need rewriting, so reusing one across
// documents saves allocations.
type Scanner struct {
	// MaxDepth bounds how many containers may be open at once: the outermost
	// one is at depth 1. Zero means DefaultMaxDepth.
	MaxDepth int

	b     []byte
	i     int
	depth int
	buf   []byte
}

// Reset starts reading b from its beginning.
func (s *Scanner) Reset(b []byte) {
	s.b, s.i, s.depth = b, 0, 0
}

// Offset is the position of the next unread byte.
func (s *Scanner) Offset() int { return s.i }

func (s *Scanner) fail(msg string) *Error { return &Error{Offset: s.i, Msg: msg} }

func (s *Scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next skips white space and returns the next byte, 0 at the end (a NUL byte
// is never valid outside strings, so the two need no telling apart).
func (s *Scanner) next() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// Peek skips white space and says what the next value is.
func (s *Scanner) Peek() Kind {
	s.ws()
	if s.i >= len(s.b) {
		return EOF
	}
	switch c := s.b[s.i]; c {
	case '{':
		return Object
	case '[':
		return Array
	case '"':
		return String
	case 't':
		return True
	case 'f':
		return False
	case 'n':
		return Null
	default:
		if c == '-' || c >= '0' && c <= '9' {
			return Number
		}
	}
	return Invalid
}

// Unexpected is the error for a value the caller has no use for at this point:
// the end of input, or the byte found.
func (s *Scanner) Unexpected() *Error {
	if c := s.next(); c != 0 || s.i < len(s.b) {
		return s.fail("unexpected character " + strconv.QuoteRune(rune(c)))
	}
	return s.fail("unexpected end of input")
}

// Finish checks that nothing but white space follows the document.
func (s *Scanner) Finish() error {
	if s.ws(); s.i != len(s.b) {
		return s.fail("data after the document")
	}
	return nil
}

// Object reads an object, calling fn once per member in document order with
// the member's name and the Scanner placed at its value, which fn must consume.
// name is valid until the next string is read; fn's error ends the reading and
// is returned as it is. Duplicate names are passed on: what they mean is the
// caller's choice (encoding/json keeps the last).
func (s *Scanner) Object(fn func(name []byte) error) error {
	more, err := s.open('{', '}')
	for more && err == nil {
		if s.next() != '"' {
			return s.fail("want a member name")
		}
		name, serr := s.str()
		if serr != nil {
			return serr
		}
		if s.next() != ':' {
			return s.fail("want ':'")
		}
		s.i++
		if ferr := fn(name); ferr != nil {
			return ferr
		}
		more, err = s.after('}')
	}
	return err
}

// Array reads an array, calling fn once per element with the Scanner placed at
// the element, which fn must consume.
func (s *Scanner) Array(fn func() error) error {
	more, err := s.open('[', ']')
	for more && err == nil {
		if ferr := fn(); ferr != nil {
			return ferr
		}
		more, err = s.after(']')
	}
	return err
}

// open consumes a container's opening byte, and its closing one too when it is
// empty; more says whether items follow.
func (s *Scanner) open(open, close byte) (more bool, err error) {
	if s.next() != open {
		return false, s.fail("want " + strconv.QuoteRune(rune(open)))
	}
	max := s.MaxDepth
	if max <= 0 {
		max = DefaultMaxDepth
	}
	if s.depth >= max {
		return false, &Error{Offset: s.i, Msg: "nesting deeper than " + strconv.Itoa(max), TooDeep: true}
	}
	s.depth++
	s.i++
	if s.next() == close {
		s.i++
		s.depth--
		return false, nil
	}
	return true, nil
}

// after consumes what follows an item: a comma (more items) or the closing byte.
func (s *Scanner) after(close byte) (more bool, err error) {
	switch s.next() {
	case ',':
		s.i++
		return true, nil
	case close:
		s.i++
		s.depth--
		return false, nil
	}
	return false, s.fail("want ',' or " + strconv.QuoteRune(rune(close)))
}

// Skip reads one value of any kind and drops it.
func (s *Scanner) Skip() error {
	var err error
	switch s.Peek() {
	case Object:
		return s.Object(func([]byte) error { return s.Skip() })
	case Array:
		return s.Array(s.Skip)
	case String:
		_, err = s.Str()
	case Number:
		_, err = s.Num()
	case True, False:
		_, err = s.Bool()
	case Null:
		err = s.Null()
	default:
		err = s.Unexpected()
	}
	return err
}

// Bool reads true or false.
func (s *Scanner) Bool() (bool, error) {
	switch {
	case s.literal("true"):
		return true, nil
	case s.literal("false"):
		return false, nil
	}
	return false, s.fail("want true or false")
}

// Null reads null.
func (s *Scanner) Null() error {
	if !s.literal("null") {
		return s.fail("want null")
	}
	return nil
}

func (s *Scanner) literal(word string) bool {
	s.ws()
	if len(s.b)-s.i >= len(word) && string(s.b[s.i:s.i+len(word)]) == word {
		s.i += len(word)
		return true
	}
	return false
}

// Num reads a number and returns its text, checked against the JSON grammar
// (no leading zeros, no '+', digits on both sides of '.', an exponent with
// digits); NumberLeaf gives its value.
func (s *Scanner) Num() ([]byte, error) {
	s.ws()
	start, b := s.i, s.b
	if s.i < len(b) && b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(b) && b[s.i] == '0':
		s.i++
	case !s.digits():
		return nil, s.fail("bad number")
	}
	if s.i < len(b) && b[s.i] == '.' {
		s.i++
		if !s.digits() {
			return nil, s.fail("bad number")
		}
	}
	if s.i < len(b) && (b[s.i] == 'e' || b[s.i] == 'E') {
		s.i++
		if s.i < len(b) && (b[s.i] == '+' || b[s.i] == '-') {
			s.i++
		}
		if !s.digits() {
			return nil, s.fail("bad number")
		}
	}
	return b[start:s.i], nil
}

func (s *Scanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

// NumberLeaf classifies a number's text as Num returns it, keeping integers
// exact: a non-negative integer that fits 64 bits is LeafUint, a negative one
// that fits is LeafInt ("-0" too), anything else (fraction, exponent, beyond 64
// bits) is LeafFloat, ±Inf when out of float64's range as well.
func NumberLeaf(text []byte) xr.Leaf {
	digits, neg := text, len(text) > 0 && text[0] == '-'
	if neg {
		digits = text[1:]
	}
	var u uint64
	exact := len(digits) > 0
	for _, c := range digits {
		if c < '0' || c > '9' {
			exact = false
			break
		}
		d := uint64(c - '0')
		if u > (math.MaxUint64-d)/10 {
			exact = false
			break
		}
		u = u*10 + d
	}
	switch {
	case exact && !neg:
		return xr.Leaf{Kind: xr.LeafUint, U: u}
	case exact && u <= 1<<63:
		return xr.Leaf{Kind: xr.LeafInt, I: int64(-u)}
	}
	// The grammar was checked by Num, so the only error left is ErrRange, whose
	// result (±Inf, or 0 on underflow) is the value wanted.
	f, _ := strconv.ParseFloat(string(text), 64)
	return xr.Leaf{Kind: xr.LeafFloat, F: f}
}

// Str reads a string and returns its decoded text. The result aliases the input
// when the string needs no rewriting (no escapes, valid UTF-8), else the
// Scanner's scratch buffer; either way it is valid until the next string is read.
func (s *Scanner) Str() ([]byte, error) {
	if s.next() != '"' {
		return nil, s.fail("want a string")
	}
	return s.str()
}

// plain marks the bytes a string may hold as they are: not the closing quote,
// not a backslash, no control character, ASCII (anything else needs a check).
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str reads the string whose opening quote is at s.i.
func (s *Scanner) str() ([]byte, error) {
	s.i++
	start, b := s.i, s.b
	ascii := true
	for i := start; i < len(b); i++ {
		c := b[i]
		if plain[c] {
			continue
		}
		switch {
		case c == '"':
			raw := b[start:i]
			if ascii || utf8.Valid(raw) {
				s.i = i + 1
				return raw, nil
			}
			return s.rewrite(start)
		case c == '\\':
			return s.rewrite(start)
		case c < 0x20:
			s.i = i
			return nil, s.fail("control character in string")
		}
		ascii = false
	}
	s.i = len(b)
	return nil, s.fail("unterminated string")
}

// rewrite decodes the string from start (just after its opening quote) into
// the scratch buffer the way encoding/json does: escapes resolved, a surrogate
// pair joined, and a lone surrogate or each byte of invalid UTF-8 replaced by
// U+FFFD.
func (s *Scanner) rewrite(start int) ([]byte, error) {
	out := s.buf[:0]
	b := s.b
	s.i = start
	for s.i < len(b) {
		c := b[s.i]
		switch {
		case c == '"':
			s.i++
			s.buf = out // kept for the next string that needs rewriting
			return out, nil
		case c < 0x20:
			return nil, s.fail("control character in string")
		case c < 0x80 && c != '\\':
			out = append(out, c)
			s.i++
			continue
		case c >= 0x80:
			r, n := utf8.DecodeRune(b[s.i:])
			out = utf8.AppendRune(out, r) // RuneError for an invalid byte, as encoding/json
			s.i += n
			continue
		}
		if s.i+1 >= len(b) {
			break
		}
		e := b[s.i+1]
		s.i += 2
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
			r, ok := s.hex4(s.i)
			if !ok {
				return nil, s.fail("bad \\u escape")
			}
			s.i += 4
			if utf16.IsSurrogate(r) {
				// Joined only with a following low half; otherwise that escape is
				// read on its own, next time round.
				r2, ok := rune(-1), false
				if s.i+1 < len(b) && b[s.i] == '\\' && b[s.i+1] == 'u' {
					r2, ok = s.hex4(s.i + 2)
				}
				if r = utf16.DecodeRune(r, r2); ok && r != utf8.RuneError {
					s.i += 6
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			s.i -= 2
			return nil, s.fail("bad escape")
		}
	}
	return nil, s.fail("unterminated string")
}

// hex4 reads the four hex digits at i.
func (s *Scanner) hex4(i int) (rune, bool) {
	if len(s.b)-i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s.b[i : i+4] {
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
	return r, true
}
