package mdt

import (
	"math"
	"strconv"

	"github.com/netlens/netlens/pkg/decode/xr"
	"github.com/netlens/netlens/pkg/decode/xr/xrjson"
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
	d.js.Reset(b)
	// MaxDepth counts containers below a row, which value checks itself; the
	// scanner's own bound adds the levels above (message, data_json, row,
	// keys/content) and so only limits members that are skipped.
	d.js.MaxDepth = d.lim.MaxDepth + rowLevels
	err := d.js.Object(d.header)
	if err == nil {
		err = d.js.Finish()
	}
	if err != nil {
		return nil, jsonError(err)
	}
	return d.finish(), nil
}

// rowLevels is how deep a row's keys and content sit in the message.
const rowLevels = 4

// jsonError turns the scanner's errors into the package's; errors of the
// decoder itself pass through.
func jsonError(err error) error {
	e, ok := err.(*xrjson.Error)
	switch {
	case !ok:
		return err
	case e.TooDeep:
		return errorf(ReasonTooDeep, "%s at offset %d", e.Msg, e.Offset)
	}
	return errorf(ReasonBadJSON, "%s at offset %d", e.Msg, e.Offset)
}

func (d *Decoder) header(key []byte) error {
	s := &d.js
	switch string(key) {
	case "node_id_str", "subscription_id_str", "encoding_path":
		k := string(key)
		switch s.Peek() {
		case xrjson.String:
		case xrjson.EOF:
			return s.Unexpected()
		default:
			return errorf(ReasonBadHeader, "%s is not a string", k)
		}
		v, err := s.Str()
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
		v, err := d.headerUint("collection_id")
		if err != nil {
			return err
		}
		d.msg.CollectionID = v
	case "msg_timestamp":
		v, err := d.headerUint("msg_timestamp")
		if err != nil {
			return err
		}
		if v > math.MaxInt64 {
			return errorf(ReasonBadHeader, "msg_timestamp %d out of range", v)
		}
		d.msg.MsgTimestampMs = int64(v)
	case "data_json":
		switch s.Peek() {
		case xrjson.Null:
			return s.Null()
		case xrjson.Array:
			return s.Array(d.row)
		}
		return errorf(ReasonBadJSON, "data_json is not an array at offset %d", s.Offset())
	case "data_gpb":
		return errorf(ReasonCompactGPB, "message carries compact GPB rows (data_gpb)")
	default:
		return s.Skip()
	}
	return nil
}

// headerUint reads a uint64 header field, a string in the proto3 JSON
// mapping, a number from some encoders.
func (d *Decoder) headerUint(key string) (uint64, error) {
	s := &d.js
	var text []byte
	var err error
	switch s.Peek() {
	case xrjson.String:
		text, err = s.Str()
	case xrjson.Number:
		text, err = s.Num()
	case xrjson.EOF:
		return 0, s.Unexpected()
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
func (d *Decoder) row() error {
	span := rowSpan{keyLo: len(d.leaves)}
	keyLo, keyHi, cLo, cHi := -1, -1, -1, -1
	err := d.js.Object(func(key []byte) error {
		switch string(key) {
		case "timestamp":
			v, err := d.headerUint("row timestamp")
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
			if err := d.value(0); err != nil {
				return err
			}
			if isKeys {
				keyLo, keyHi = lo, len(d.leaves)
			} else {
				cLo, cHi = lo, len(d.leaves)
			}
		default:
			return d.js.Skip()
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
func (d *Decoder) value(depth int) error {
	if depth > d.lim.MaxDepth {
		return errorf(ReasonTooDeep, "nesting deeper than %d", d.lim.MaxDepth)
	}
	s := &d.js
	var leaf xr.Leaf
	switch s.Peek() {
	case xrjson.Object:
		return s.Object(func(key []byte) error {
			n, err := d.pushName(key)
			if err != nil {
				return err
			}
			err = d.value(depth + 1)
			d.name = d.name[:n]
			return err
		})
	case xrjson.Array:
		return s.Array(func() error { return d.value(depth + 1) })
	case xrjson.String:
		v, err := s.Str()
		if err != nil {
			return err
		}
		leaf = stringLeaf(v)
	case xrjson.Number:
		text, err := s.Num()
		if err != nil {
			return err
		}
		leaf = xrjson.NumberLeaf(text)
	case xrjson.True, xrjson.False:
		b, err := s.Bool()
		if err != nil {
			return err
		}
		leaf = xr.Leaf{Kind: xr.LeafBool, B: b}
	case xrjson.Null:
		return s.Null()
	default:
		return s.Unexpected()
	}
	leaf.Name = d.intern(d.name)
	return d.addLeaf(leaf)
}

// stringLeaf follows the proto3 JSON mapping, which XR uses for 64-bit
// leaves too (the 24.4 capture sends "ram-memory": "28153942016"): a string
// that is a canonical decimal integer is a 64-bit integer. The text is kept
// in S, so a string leaf that merely consists of digits can still be shown
// as written.
func stringLeaf(b []byte) xr.Leaf {
	if canonicalInt(b) {
		if l := xrjson.NumberLeaf(b); l.Kind != xr.LeafFloat {
			l.S = string(b)
			return l
		}
	}
	return xr.Leaf{Kind: xr.LeafString, S: string(b)}
}

// canonicalInt: optional minus, then "0" or digits without a leading zero
// (so "007" and "+1" stay strings). Such text is also a JSON number, which
// NumberLeaf needs.
func canonicalInt(s []byte) bool {
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 20 || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
