// Package mdt decodes IOS XR model-driven telemetry payloads (the Telemetry
// message of telemetry.proto, after the 12-byte MDT header) into xr.Message:
// self-describing key-value GPB (data_gpbkv) and JSON (data_json). Both are
// pure functions of bytes with limits on size, nesting and leaves, so a
// router (or an attacker) cannot make one message cost unbounded memory.
//
// Rows follow the convention of XR and of the reference receivers: each
// top-level element is one row whose children named "keys" and "content"
// hold the naming parameters and the data; nested containers become
// slash-joined leaf names, and elements of a repeated container repeat the
// same name in order.
package mdt

import (
	"fmt"

	"github.com/netlens/netlens/pkg/decode/xr"
	"github.com/netlens/netlens/pkg/decode/xr/xrjson"
)

// Limits bound what one message may cost. Zero fields take the defaults.
type Limits struct {
	MaxBytes  int // payload size; real XR messages exceed 600 KB
	MaxDepth  int // nesting of containers below a row
	MaxLeaves int // leaves (keys and content) in one message
	MaxName   int // bytes of a leaf's slash-joined name
}

// DefaultLimits fit the largest messages seen from real routers with room to
// spare (protocols.md 1.6 recommends budgeting 16 MiB).
// Names are bounded apart from depth because every leaf's name is a copy
// of its whole path: without a cap, deep containers with long names make
// the names cost depth times leaves times length, far beyond the input size.
// Real YANG paths below a row stay under a few hundred bytes.
var DefaultLimits = Limits{MaxBytes: 16 << 20, MaxDepth: 32, MaxLeaves: 1 << 20, MaxName: 1024}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	if l.MaxLeaves <= 0 {
		l.MaxLeaves = DefaultLimits.MaxLeaves
	}
	if l.MaxName <= 0 {
		l.MaxName = DefaultLimits.MaxName
	}
	return l
}

// Stable reasons, meant as counter labels.
const (
	ReasonTooLarge      = "too_large"
	ReasonTooDeep       = "too_deep"
	ReasonTooManyLeaves = "too_many_leaves"
	ReasonNameTooLong   = "name_too_long"
	ReasonBadProtobuf   = "bad_protobuf"
	ReasonBadJSON       = "bad_json"
	ReasonBadHeader     = "bad_header" // a header field of the wrong type or range
	ReasonCompactGPB    = "compact_gpb"
)

// Reasons lists every Reason, for registering counters up front.
var Reasons = []string{
	ReasonTooLarge, ReasonTooDeep, ReasonTooManyLeaves, ReasonNameTooLong,
	ReasonBadProtobuf, ReasonBadJSON, ReasonBadHeader, ReasonCompactGPB,
}

// Error is what every decoder here returns on bad input.
type Error struct {
	Reason string
	Detail string
}

func (e *Error) Error() string { return "xr mdt: " + e.Reason + ": " + e.Detail }

func errorf(reason, format string, args ...any) *Error {
	return &Error{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// rowSpan records a row while its leaves are still being appended: the
// leaves slice may move when it grows, so rows take their sub-slices only
// once the message is complete.
type rowSpan struct {
	ts                     int64
	keyLo, keyHi, cLo, cHi int
}

type rowKid struct{ b, name []byte }

// Decoder decodes many messages while reusing its buffers. The Message it
// returns (and every slice in it) is valid until the next call on the same
// Decoder; strings in it stay valid forever. A Decoder is not safe for
// concurrent use; keep one per connection.
type Decoder struct {
	Limits Limits

	lim    Limits
	msg    xr.Message
	leaves []xr.Leaf
	spans  []rowSpan
	rows   []xr.Row
	name   []byte
	count  int // leaves so far in this message, against MaxLeaves
	names  map[string]string
	values map[string]string
	// rowKids are the children of the row being decoded, in wire order.
	rowKids []rowKid
	js      xrjson.Scanner // kept for its scratch buffer
}

// NewDecoder returns a Decoder with the given limits (zero fields: defaults).
func NewDecoder(l Limits) *Decoder { return &Decoder{Limits: l} }

func (d *Decoder) reset() {
	d.lim = d.Limits.withDefaults()
	d.msg = xr.Message{}
	d.leaves = d.leaves[:0]
	d.count = 0
	d.spans = d.spans[:0]
	d.name = d.name[:0]
	if d.names == nil || len(d.names) > 1<<14 {
		// Leaf names repeat from message to message of one path; interning them
		// saves an allocation per leaf. The cap keeps a stream of made-up names
		// from growing the table without bound.
		d.names = make(map[string]string)
	}
}

// intern returns b as a string, allocating only the first time it is seen.
func (d *Decoder) intern(b []byte) string {
	if s, ok := d.names[string(b)]; ok {
		return s
	}
	s := string(b)
	d.names[s] = s
	return s
}

// Bounds of the string value table: states, interface names, addresses and
// the like repeat from message to message and are short; longer values
// (descriptions, dumps) are copied each time. The table is emptied when full,
// so values that never repeat cost it a bounded amount of memory.
const (
	maxInternedValue  = 64
	maxInternedValues = 4096
)

// internValue returns a string leaf's value, shared with an equal earlier one
// when short.
func (d *Decoder) internValue(b []byte) string {
	if len(b) > maxInternedValue {
		return string(b)
	}
	if s, ok := d.values[string(b)]; ok {
		return s
	}
	if d.values == nil {
		d.values = make(map[string]string)
	} else if len(d.values) >= maxInternedValues {
		clear(d.values)
	}
	s := string(b)
	d.values[s] = s
	return s
}

func (d *Decoder) addLeaf(l xr.Leaf) error {
	if d.count >= d.lim.MaxLeaves {
		return errorf(ReasonTooManyLeaves, "more than %d leaves", d.lim.MaxLeaves)
	}
	d.count++
	d.leaves = append(d.leaves, l)
	return nil
}

// finish turns the recorded spans into rows and returns the message.
func (d *Decoder) finish() *xr.Message {
	if cap(d.rows) < len(d.spans) {
		d.rows = make([]xr.Row, len(d.spans))
	}
	d.rows = d.rows[:len(d.spans)]
	for i, s := range d.spans {
		ts := s.ts
		if ts == 0 {
			ts = d.msg.MsgTimestampMs
		}
		d.rows[i] = xr.Row{
			TimestampMs: ts,
			Keys:        d.leaves[s.keyLo:s.keyHi:s.keyHi],
			Content:     d.leaves[s.cLo:s.cHi:s.cHi],
		}
	}
	if len(d.rows) > 0 {
		d.msg.Rows = d.rows
	}
	return &d.msg
}

// pushName appends "/"+part (or part at the root) and returns the previous
// length, to be restored with d.name = d.name[:n].
func (d *Decoder) pushName(part []byte) (int, error) {
	n := len(d.name)
	if n+1+len(part) > d.lim.MaxName {
		return n, errorf(ReasonNameTooLong, "leaf name longer than %d bytes", d.lim.MaxName)
	}
	if n > 0 {
		d.name = append(d.name, '/')
	}
	d.name = append(d.name, part...)
	return n, nil
}
