package mdt

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"

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
	j := &jsonReader{dec: json.NewDecoder(bytes.NewReader(b)), d: d}
	j.dec.UseNumber()
	if err := j.message(); err != nil {
		return nil, err
	}
	if _, err := j.dec.Token(); err != io.EOF {
		return nil, errorf(ReasonBadJSON, "data after the message")
	}
	return d.finish(), nil
}

type jsonReader struct {
	dec *json.Decoder
	d   *Decoder
}

func (j *jsonReader) token() (json.Token, error) {
	t, err := j.dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errorf(ReasonBadJSON, "unexpected end of input")
		}
		return nil, errorf(ReasonBadJSON, "%v", err)
	}
	return t, nil
}

func (j *jsonReader) expect(want json.Delim) error {
	t, err := j.token()
	if err != nil {
		return err
	}
	if t != want {
		return errorf(ReasonBadJSON, "want %v, got %v", want, t)
	}
	return nil
}

func (j *jsonReader) message() error {
	if err := j.expect('{'); err != nil {
		return err
	}
	for j.dec.More() {
		t, err := j.token()
		if err != nil {
			return err
		}
		key, _ := t.(string)
		switch key {
		case "node_id_str", "subscription_id_str", "encoding_path":
			s, err := j.headerString(key)
			if err != nil {
				return err
			}
			switch key {
			case "node_id_str":
				j.d.msg.Node = s
			case "subscription_id_str":
				j.d.msg.Subscription = s
			default:
				j.d.msg.Path = s
			}
		case "collection_id":
			v, err := j.headerUint(key)
			if err != nil {
				return err
			}
			j.d.msg.CollectionID = v
		case "msg_timestamp":
			v, err := j.headerUint(key)
			if err != nil {
				return err
			}
			if v > math.MaxInt64 {
				return errorf(ReasonBadHeader, "msg_timestamp %d out of range", v)
			}
			j.d.msg.MsgTimestampMs = int64(v)
		case "data_json":
			if err := j.rows(); err != nil {
				return err
			}
		case "data_gpb":
			return errorf(ReasonCompactGPB, "message carries compact GPB rows (data_gpb)")
		default:
			if err := j.skip(0); err != nil {
				return err
			}
		}
	}
	return j.expect('}')
}

func (j *jsonReader) headerString(key string) (string, error) {
	t, err := j.token()
	if err != nil {
		return "", err
	}
	s, ok := t.(string)
	if !ok {
		return "", errorf(ReasonBadHeader, "%s is %T, want a string", key, t)
	}
	return s, nil
}

// headerUint reads a uint64 header field, a string in the proto3 JSON
// mapping, a number from some encoders.
func (j *jsonReader) headerUint(key string) (uint64, error) {
	t, err := j.token()
	if err != nil {
		return 0, err
	}
	var s string
	switch v := t.(type) {
	case string:
		s = v
	case json.Number:
		s = string(v)
	default:
		return 0, errorf(ReasonBadHeader, "%s is %T, want an unsigned integer", key, t)
	}
	u, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, errorf(ReasonBadHeader, "%s %q is not an unsigned integer", key, s)
	}
	return u, nil
}

func (j *jsonReader) rows() error {
	t, err := j.token()
	if err != nil {
		return err
	}
	if t == nil { // "data_json": null
		return nil
	}
	if t != json.Delim('[') {
		return errorf(ReasonBadJSON, "data_json is %v, want an array", t)
	}
	for j.dec.More() {
		if err := j.row(); err != nil {
			return err
		}
	}
	return j.expect(']')
}

// row reads one data_json element. Keys are buffered apart from content
// only in the rare case that "content" comes first; otherwise both go
// straight into the leaves buffer as contiguous runs.
func (j *jsonReader) row() error {
	if err := j.expect('{'); err != nil {
		return err
	}
	d := j.d
	span := rowSpan{keyLo: len(d.leaves), keyHi: len(d.leaves), cLo: len(d.leaves), cHi: len(d.leaves)}
	var keys, content []xr.Leaf
	for j.dec.More() {
		t, err := j.token()
		if err != nil {
			return err
		}
		key, _ := t.(string)
		switch key {
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
			lo := len(d.leaves)
			d.name = d.name[:0]
			if err := j.value(0); err != nil {
				return err
			}
			got := d.leaves[lo:]
			if key == "keys" {
				keys = append(keys, got...)
			} else {
				content = append(content, got...)
			}
			d.leaves = d.leaves[:lo]
		default:
			if err := j.skip(0); err != nil {
				return err
			}
		}
	}
	span.keyLo = len(d.leaves)
	d.leaves = append(d.leaves, keys...)
	span.keyHi = len(d.leaves)
	span.cLo = span.keyHi
	d.leaves = append(d.leaves, content...)
	span.cHi = len(d.leaves)
	d.spans = append(d.spans, span)
	return j.expect('}')
}

// value turns one JSON value into leaves under the current name: objects
// extend the name, arrays repeat it, null is no value.
func (j *jsonReader) value(depth int) error {
	d := j.d
	if depth > d.lim.MaxDepth {
		return errorf(ReasonTooDeep, "nesting deeper than %d", d.lim.MaxDepth)
	}
	t, err := j.token()
	if err != nil {
		return err
	}
	var leaf xr.Leaf
	switch v := t.(type) {
	case json.Delim:
		switch v {
		case '{':
			for j.dec.More() {
				kt, err := j.token()
				if err != nil {
					return err
				}
				k, _ := kt.(string)
				n := d.pushName([]byte(k))
				if err := j.value(depth + 1); err != nil {
					return err
				}
				d.name = d.name[:n]
			}
			return j.expect('}')
		case '[':
			for j.dec.More() {
				if err := j.value(depth + 1); err != nil {
					return err
				}
			}
			return j.expect(']')
		}
		return errorf(ReasonBadJSON, "unexpected %v", v)
	case nil:
		return nil
	case bool:
		leaf = xr.Leaf{Kind: xr.LeafBool, B: v}
	case string:
		leaf = stringLeaf(v)
	case json.Number:
		leaf, err = number(string(v))
		if err != nil {
			return err
		}
	}
	leaf.Name = d.intern(d.name)
	return d.addLeaf(leaf)
}

// number keeps integers exact: non-negative ones as uint64, negative ones as
// int64; only fractions, exponents and integers beyond 64 bits become float.
func number(s string) (xr.Leaf, error) {
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
func (j *jsonReader) skip(depth int) error {
	if depth > j.d.lim.MaxDepth {
		return errorf(ReasonTooDeep, "nesting deeper than %d", j.d.lim.MaxDepth)
	}
	t, err := j.token()
	if err != nil {
		return err
	}
	if dl, ok := t.(json.Delim); ok && (dl == '{' || dl == '[') {
		for j.dec.More() {
			if dl == '{' {
				if _, err := j.token(); err != nil {
					return err
				}
			}
			if err := j.skip(depth + 1); err != nil {
				return err
			}
		}
		_, err := j.token()
		return err
	}
	return nil
}

// stringLeaf follows the proto3 JSON mapping, which XR uses for 64-bit
// leaves too (the 24.4 capture sends "ram-memory": "28153942016"): a string
// that is a canonical decimal integer is a 64-bit integer. The text is kept
// in S, so a string leaf that merely consists of digits can still be shown
// as written.
func stringLeaf(s string) xr.Leaf {
	if canonicalInt(s) {
		if l, err := number(s); err == nil && l.Kind != xr.LeafFloat {
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
