package mdt

import (
	"errors"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/netlens/netlens/pkg/decode/xr"
)

// DecodeJSON decodes one MDT JSON message with default limits.
func DecodeJSON(b []byte) (*xr.Message, error) { return new(Decoder).DecodeJSON(b) }

// DecodeJSON decodes one MDT JSON message (protocols.md 1.8): header fields
// with uint64 values as strings (proto3 JSON mapping) or numbers, and
// data_json rows with "keys" (an array of one-member objects, or absent on
// OpenConfig paths) and "content". Numbers are read as exact text, so
// integers beyond 2^53 keep every digit; a message without data_json is an
// end-of-collection marker and returns no rows. Strings holding canonical
// decimal integers (the proto3 JSON form of 64-bit fields) become integer
// leaves with the text kept in S.
func (d *Decoder) DecodeJSON(b []byte) (*xr.Message, error) {
	d.reset()
	if len(b) > d.lim.MaxBytes {
		return nil, errorf(ReasonTooLarge, "%d bytes, limit %d", len(b), d.lim.MaxBytes)
	}
	d.msg.Encoding = xr.EncodingJSON
	j := jsonScanner{b: b, d: d}
	if err := j.message(); err != nil {
		return nil, err
	}
	j.ws()
	if j.i != len(j.b) {
		return nil, j.fail("data after the message")
	}
	return d.finish(), nil
}

// jsonScanner is a strict JSON reader over the whole message. It exists
// instead of encoding/json's token stream because that allocates for every
// token (a message of the real capture has thousands of leaves); here a
// leaf costs no allocation beyond its string value, and numbers stay text
// until they are parsed exactly.
type jsonScanner struct {
	b   []byte
	i   int
	d   *Decoder
	str []byte // unescaped string scratch
}

func (j *jsonScanner) fail(what string) *Error {
	return errorf(ReasonBadJSON, "%s at offset %d", what, j.i)
}

func (j *jsonScanner) ws() {
	for j.i < len(j.b) {
		switch j.b[j.i] {
		case ' ', '\t', '\n', '\r':
			j.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte without consuming it, 0 at the end.
func (j *jsonScanner) peek() byte {
	j.ws()
	if j.i < len(j.b) {
		return j.b[j.i]
	}
	return 0
}

func (j *jsonScanner) expect(c byte) error {
	if j.peek() != c {
		return j.fail("want " + strconv.QuoteRune(rune(c)))
	}
	j.i++
	return nil
}

// members calls fn for every member of an object, with the key (valid
// until the next string is read) and the scanner placed at the value.
func (j *jsonScanner) members(fn func(key []byte) error) error {
	if err := j.expect('{'); err != nil {
		return err
	}
	if j.peek() == '}' {
		j.i++
		return nil
	}
	for {
		if j.peek() != '"' {
			return j.fail("want an object key")
		}
		key, err := j.quoted()
		if err != nil {
			return err
		}
		if err := j.expect(':'); err != nil {
			return err
		}
		if err := fn(key); err != nil {
			return err
		}
		switch j.peek() {
		case ',':
			j.i++
		case '}':
			j.i++
			return nil
		default:
			return j.fail("want , or }")
		}
	}
}

// elements calls fn for every element of an array.
func (j *jsonScanner) elements(fn func() error) error {
	if err := j.expect('['); err != nil {
		return err
	}
	if j.peek() == ']' {
		j.i++
		return nil
	}
	for {
		if err := fn(); err != nil {
			return err
		}
		switch j.peek() {
		case ',':
			j.i++
		case ']':
			j.i++
			return nil
		default:
			return j.fail("want , or ]")
		}
	}
}

// quoted reads a string at the current position; the result aliases the
// input when there are no escapes, else the scratch buffer.
func (j *jsonScanner) quoted() ([]byte, error) {
	j.i++ // opening quote
	start := j.i
	for j.i < len(j.b) {
		c := j.b[j.i]
		switch {
		case c == '"':
			j.i++
			return j.b[start : j.i-1], nil
		case c == '\\':
			return j.escaped(start)
		case c < 0x20:
			return nil, j.fail("control character in string")
		}
		j.i++
	}
	return nil, j.fail("unterminated string")
}

func (j *jsonScanner) escaped(start int) ([]byte, error) {
	j.str = append(j.str[:0], j.b[start:j.i]...)
	for j.i < len(j.b) {
		c := j.b[j.i]
		switch {
		case c == '"':
			j.i++
			return j.str, nil
		case c < 0x20:
			return nil, j.fail("control character in string")
		case c != '\\':
			j.str = append(j.str, c)
			j.i++
			continue
		}
		if j.i+1 >= len(j.b) {
			return nil, j.fail("unterminated escape")
		}
		e := j.b[j.i+1]
		j.i += 2
		switch e {
		case '"', '\\', '/':
			j.str = append(j.str, e)
		case 'b':
			j.str = append(j.str, '\b')
		case 'f':
			j.str = append(j.str, '\f')
		case 'n':
			j.str = append(j.str, '\n')
		case 'r':
			j.str = append(j.str, '\r')
		case 't':
			j.str = append(j.str, '\t')
		case 'u':
			r, ok := j.hex4()
			if !ok {
				return nil, j.fail("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if j.i+1 < len(j.b) && j.b[j.i] == '\\' && j.b[j.i+1] == 'u' {
					j.i += 2
					if r2, ok = j.hex4(); !ok {
						return nil, j.fail("bad \\u escape")
					}
				}
				r = utf16.DecodeRune(r, r2) // U+FFFD for a lone half, as encoding/json does
			}
			j.str = utf8.AppendRune(j.str, r)
		default:
			return nil, j.fail("bad escape")
		}
	}
	return nil, j.fail("unterminated string")
}

func (j *jsonScanner) hex4() (rune, bool) {
	if j.i+4 > len(j.b) {
		return 0, false
	}
	var r rune
	for _, c := range j.b[j.i : j.i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	j.i += 4
	return r, true
}

// num reads a number by the JSON grammar and returns its text.
func (j *jsonScanner) num() ([]byte, error) {
	start := j.i
	b := j.b
	digits := func() int {
		n := 0
		for j.i < len(b) && b[j.i] >= '0' && b[j.i] <= '9' {
			j.i++
			n++
		}
		return n
	}
	if j.i < len(b) && b[j.i] == '-' {
		j.i++
	}
	if j.i < len(b) && b[j.i] == '0' {
		j.i++
	} else if digits() == 0 {
		return nil, j.fail("bad number")
	}
	if j.i < len(b) && b[j.i] == '.' {
		j.i++
		if digits() == 0 {
			return nil, j.fail("bad number")
		}
	}
	if j.i < len(b) && (b[j.i] == 'e' || b[j.i] == 'E') {
		j.i++
		if j.i < len(b) && (b[j.i] == '+' || b[j.i] == '-') {
			j.i++
		}
		if digits() == 0 {
			return nil, j.fail("bad number")
		}
	}
	return b[start:j.i], nil
}

func (j *jsonScanner) literal(word string) bool {
	if len(j.b)-j.i >= len(word) && string(j.b[j.i:j.i+len(word)]) == word {
		j.i += len(word)
		return true
	}
	return false
}

func (j *jsonScanner) message() error {
	d := j.d
	if j.peek() != '{' {
		return j.fail("want an object")
	}
	return j.members(func(key []byte) error {
		switch string(key) {
		case "node_id_str", "subscription_id_str", "encoding_path":
			k := string(key)
			if c := j.peek(); c == 0 {
				return j.fail("unexpected end of input")
			} else if c != '"' {
				return errorf(ReasonBadHeader, "%s is not a string", k)
			}
			v, err := j.quoted()
			if err != nil {
				return err
			}
			switch k {
			case "node_id_str":
				d.msg.Node = d.intern(v)
			case "subscription_id_str":
				d.msg.Subscription = d.intern(v)
			default:
				d.msg.Path = d.intern(v)
			}
		case "collection_id":
			v, err := j.headerUint("collection_id")
			if err != nil {
				return err
			}
			d.msg.CollectionID = v
		case "msg_timestamp":
			v, err := j.headerUint("msg_timestamp")
			if err != nil {
				return err
			}
			if v > math.MaxInt64 {
				return errorf(ReasonBadHeader, "msg_timestamp %d out of range", v)
			}
			d.msg.MsgTimestampMs = int64(v)
		case "data_json":
			if j.literal("null") {
				return nil
			}
			if j.peek() != '[' {
				return errorf(ReasonBadJSON, "data_json is not an array")
			}
			return j.elements(j.row)
		case "data_gpb":
			return errorf(ReasonCompactGPB, "message carries compact GPB rows (data_gpb)")
		default:
			return j.skip(0)
		}
		return nil
	})
}

// headerUint reads a uint64 header field, a string in the proto3 JSON
// mapping, a number from some encoders.
func (j *jsonScanner) headerUint(key string) (uint64, error) {
	var text []byte
	var err error
	switch c := j.peek(); {
	case c == '"':
		text, err = j.quoted()
	case c == '-' || (c >= '0' && c <= '9'):
		text, err = j.num()
	case c == 0:
		return 0, j.fail("unexpected end of input")
	default:
		return 0, errorf(ReasonBadHeader, "%s is not an unsigned integer", key)
	}
	if err != nil {
		return 0, err
	}
	u, perr := strconv.ParseUint(string(text), 10, 64)
	if perr != nil {
		return 0, errorf(ReasonBadHeader, "%s %q is not an unsigned integer", key, text)
	}
	return u, nil
}

// row reads one data_json element. Keys are moved ahead of content at the
// end when "content" came first, so both are contiguous runs of leaves.
func (j *jsonScanner) row() error {
	d := j.d
	if j.peek() != '{' {
		return j.fail("row is not an object")
	}
	span := rowSpan{keyLo: len(d.leaves)}
	keyLo, keyHi, cLo, cHi := -1, -1, -1, -1
	err := j.members(func(key []byte) error {
		switch string(key) {
		case "timestamp":
			v, err := j.headerUint("row timestamp")
			if err != nil {
				return err
			}
			if v > math.MaxInt64 {
				return errorf(ReasonBadHeader, "row timestamp %d out of range", v)
			}
			span.ts = int64(v)
		case "keys", "content":
			if (string(key) == "keys" && keyLo >= 0) || (string(key) == "content" && cLo >= 0) {
				return errorf(ReasonBadJSON, "row has %s twice", key)
			}
			lo := len(d.leaves)
			isKeys := string(key) == "keys"
			d.name = d.name[:0]
			if err := j.value(0); err != nil {
				return err
			}
			if isKeys {
				keyLo, keyHi = lo, len(d.leaves)
			} else {
				cLo, cHi = lo, len(d.leaves)
			}
		default:
			return j.skip(0)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if keyLo > cLo && cLo >= 0 {
		// content came first: rotate the keys in front of it.
		rotate(d.leaves[cLo:keyHi], keyHi-keyLo)
		keyLo, keyHi, cLo, cHi = cLo, cLo+(keyHi-keyLo), cLo+(keyHi-keyLo), keyHi
	}
	switch {
	case keyLo >= 0 && cLo >= 0:
		span.keyLo, span.keyHi, span.cLo, span.cHi = keyLo, keyHi, cLo, cHi
	case keyLo >= 0:
		span.keyLo, span.keyHi, span.cLo, span.cHi = keyLo, keyHi, keyHi, keyHi
	case cLo >= 0:
		span.keyLo, span.keyHi, span.cLo, span.cHi = cLo, cLo, cLo, cHi
	default:
		span.keyHi, span.cLo, span.cHi = span.keyLo, span.keyLo, span.keyLo
	}
	d.spans = append(d.spans, span)
	return nil
}

// rotate moves the last k elements of s to its front, keeping both runs in
// order (three reversals, no allocation).
func rotate(s []xr.Leaf, k int) {
	rev := func(s []xr.Leaf) {
		for a, b := 0, len(s)-1; a < b; a, b = a+1, b-1 {
			s[a], s[b] = s[b], s[a]
		}
	}
	rev(s)
	rev(s[:k])
	rev(s[k:])
}

// value turns one JSON value into leaves under the current name: objects
// extend the name, arrays repeat it, null is no value.
func (j *jsonScanner) value(depth int) error {
	d := j.d
	if depth > d.lim.MaxDepth {
		return errorf(ReasonTooDeep, "nesting deeper than %d", d.lim.MaxDepth)
	}
	var leaf xr.Leaf
	switch c := j.peek(); {
	case c == '{':
		return j.members(func(key []byte) error {
			n, err := d.pushName(key)
			if err != nil {
				return err
			}
			err = j.value(depth + 1)
			d.name = d.name[:n]
			return err
		})
	case c == '[':
		return j.elements(func() error { return j.value(depth + 1) })
	case c == '"':
		s, err := j.quoted()
		if err != nil {
			return err
		}
		leaf = stringLeaf(string(s))
	case c == '-' || (c >= '0' && c <= '9'):
		text, err := j.num()
		if err != nil {
			return err
		}
		if leaf, err = number(text); err != nil {
			return err
		}
	case j.literal("true"):
		leaf = xr.Leaf{Kind: xr.LeafBool, B: true}
	case j.literal("false"):
		leaf = xr.Leaf{Kind: xr.LeafBool}
	case j.literal("null"):
		return nil
	default:
		return j.fail("want a value")
	}
	leaf.Name = d.intern(d.name)
	return d.addLeaf(leaf)
}

// number keeps integers exact: non-negative ones as uint64, negative ones as
// int64; only fractions, exponents and integers beyond 64 bits become float.
func number(b []byte) (xr.Leaf, error) {
	s := string(b)
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		return xr.Leaf{Kind: xr.LeafUint, U: u}, nil
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return xr.Leaf{Kind: xr.LeafInt, I: i}, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return xr.Leaf{}, errorf(ReasonBadJSON, "number %q: %v", s, err)
	}
	return xr.Leaf{Kind: xr.LeafFloat, F: f}, nil
}

// skip consumes one value we do not keep, within the depth limit.
func (j *jsonScanner) skip(depth int) error {
	if depth > j.d.lim.MaxDepth {
		return errorf(ReasonTooDeep, "nesting deeper than %d", j.d.lim.MaxDepth)
	}
	switch c := j.peek(); {
	case c == '{':
		return j.members(func([]byte) error { return j.skip(depth + 1) })
	case c == '[':
		return j.elements(func() error { return j.skip(depth + 1) })
	case c == '"':
		_, err := j.quoted()
		return err
	case c == '-' || (c >= '0' && c <= '9'):
		_, err := j.num()
		return err
	case j.literal("true"), j.literal("false"), j.literal("null"):
		return nil
	}
	return j.fail("want a value")
}

// stringLeaf follows the proto3 JSON mapping, which XR uses for 64-bit
// leaves too (the 24.4 capture sends "ram-memory": "28153942016"): a string
// that is a canonical decimal integer is a 64-bit integer. The text is kept
// in S, so a string leaf that merely consists of digits can still be shown
// as written.
func stringLeaf(s string) xr.Leaf {
	if canonicalInt(s) {
		if l, err := number([]byte(s)); err == nil && l.Kind != xr.LeafFloat {
			l.S = s
			return l
		}
	}
	return xr.Leaf{Kind: xr.LeafString, S: s}
}

// canonicalInt: optional minus, then "0" or digits without a leading zero
// (so "007" and "+1" stay strings).
func canonicalInt(s string) bool {
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 20 || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
