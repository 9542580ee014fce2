package pdt

import (
	"math"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/netlens/netlens/pkg/decode/xr"
)

// Field numbers of the PDT key-value proto (telemetry_kv.proto, XR 6.0.x), verbatim.
const (
	tmCollectionID        = 1
	tmBasePath            = 2
	tmSubscription        = 3
	tmModelVersion        = 4
	tmCollectionStartTime = 5
	tmMsgTimestamp        = 6
	tmFields              = 14
	tmCollectionEndTime   = 15

	tfTimestamp   = 1
	tfName        = 2
	tfAugmentData = 3
	tfBytes       = 4
	tfString      = 5
	tfBool        = 6
	tfUint32      = 7
	tfUint64      = 8
	tfSint32      = 9
	tfSint64      = 10
	tfDouble      = 11
	tfFloat       = 12
	tfFields      = 15
)

// DecodeGPBKV decodes one PDT key-value GPB message (Telemetry with nested
// TelemetryFields). The message carries no router or policy name: Node and Policy stay
// empty for the receiver to fill from the connection and the policy group;
// subscription_identifier goes to Subscription and base_path to Path.
func (d *Decoder) DecodeGPBKV(b []byte) (*xr.Message, error) {
	lim := d.Limits.withDefaults()
	if len(b) > lim.MaxBytes {
		return nil, errAt(ReasonTooLarge, -1, strconv.Itoa(len(b))+" bytes, limit "+strconv.Itoa(lim.MaxBytes))
	}
	p := gpbParser{lim: lim, all: b}
	msg := &xr.Message{Encoding: xr.EncodingGPBKV}
	data := node{obj: true, kids: make([]node, 0, countFields(b, tmFields))}
	var start, stamp, end uint64
	for rest := b; len(rest) > 0; {
		num, typ, n := protowire.ConsumeTag(rest)
		if n < 0 {
			return nil, p.bad(rest, n)
		}
		off := len(b) - len(rest)
		rest = rest[n:]
		var err *Error
		switch num {
		case tmCollectionID:
			msg.CollectionID, rest, err = p.varint(rest, typ, off)
		case tmCollectionStartTime:
			start, rest, err = p.varint(rest, typ, off)
		case tmMsgTimestamp:
			stamp, rest, err = p.varint(rest, typ, off)
		case tmCollectionEndTime:
			end, rest, err = p.varint(rest, typ, off)
		case tmBasePath, tmSubscription, tmModelVersion:
			var v []byte
			v, rest, err = p.bytes(rest, typ, off)
			switch num {
			case tmBasePath:
				msg.Path = string(v)
			case tmSubscription:
				msg.Subscription = string(v)
			}
		case tmFields:
			var v []byte
			if v, rest, err = p.bytes(rest, typ, off); err == nil {
				var f node
				if f, err = p.field(v, 1); err == nil {
					data.kids = append(data.kids, f)
				}
			}
		default:
			m := protowire.ConsumeFieldValue(num, typ, rest)
			if m < 0 {
				return nil, p.bad(rest, m)
			}
			rest = rest[m:]
		}
		if err != nil {
			return nil, err
		}
	}
	for _, t := range [...]uint64{stamp, end, start} {
		if t != 0 && t <= 1<<62 {
			msg.MsgTimestampMs = int64(t)
			break
		}
	}
	if err := d.fillRows(msg, &data, lim); err != nil {
		return nil, err
	}
	return msg, nil
}

type gpbParser struct {
	lim    Limits
	all    []byte
	leaves int
	strs   strArena
}

// strArena makes strings of a message's names and short values, many per
// allocation: there is one name per field, each a few bytes. Bytes written
// to a strings.Builder never change, so each string stays valid when the
// builder is replaced; keeping one alive keeps at most its chunk.
type strArena struct{ sb strings.Builder }

const (
	arenaChunk = 1024
	arenaMax   = 128 // longer strings get their own allocation
)

func (a *strArena) str(b []byte) string {
	if len(b) > arenaMax {
		return string(b)
	}
	if a.sb.Cap()-a.sb.Len() < len(b) {
		a.sb = strings.Builder{}
		a.sb.Grow(arenaChunk)
	}
	n := a.sb.Len()
	a.sb.Write(b)
	return a.sb.String()[n:]
}

func (p *gpbParser) off(rest []byte) int { return len(p.all) - len(rest) }

func (p *gpbParser) bad(rest []byte, n int) *Error {
	return errAt(ReasonBadProtobuf, p.off(rest), protowire.ParseError(n).Error())
}

func (p *gpbParser) wireType(off int, want protowire.Type) *Error {
	return errAt(ReasonBadWireType, off, "field needs wire type "+strconv.Itoa(int(want)))
}

func (p *gpbParser) varint(b []byte, typ protowire.Type, off int) (uint64, []byte, *Error) {
	if typ != protowire.VarintType {
		return 0, b, p.wireType(off, protowire.VarintType)
	}
	v, n := protowire.ConsumeVarint(b)
	if n < 0 {
		return 0, b, p.bad(b, n)
	}
	return v, b[n:], nil
}

func (p *gpbParser) bytes(b []byte, typ protowire.Type, off int) ([]byte, []byte, *Error) {
	if typ != protowire.BytesType {
		return nil, b, p.wireType(off, protowire.BytesType)
	}
	v, n := protowire.ConsumeBytes(b)
	if n < 0 {
		return nil, b, p.bad(b, n)
	}
	return v, b[n:], nil
}

// field decodes one TelemetryField: a container when it has child fields, else a leaf
// of the oneof member present (the last one wins, as protobuf merging says).
func (p *gpbParser) field(b []byte, depth int) (node, *Error) {
	if depth > p.lim.MaxDepth {
		return node{}, errAt(ReasonTooDeep, p.off(b), "nesting over "+strconv.Itoa(p.lim.MaxDepth))
	}
	n := node{kids: make([]node, 0, countFields(b, tfFields))}
	hasValue := false
	for rest := b; len(rest) > 0; {
		num, typ, m := protowire.ConsumeTag(rest)
		if m < 0 {
			return node{}, p.bad(rest, m)
		}
		off := p.off(rest)
		rest = rest[m:]
		var err *Error
		var u uint64
		switch num {
		case tfTimestamp:
			if u, rest, err = p.varint(rest, typ, off); err == nil && u <= 1<<62 {
				n.ts = int64(u)
			}
		case tfName, tfBytes, tfString:
			var v []byte
			if v, rest, err = p.bytes(rest, typ, off); err == nil {
				switch num {
				case tfName:
					n.name = p.strs.str(v)
				case tfBytes:
					n.leaf, hasValue = xr.Leaf{Kind: xr.LeafBytes, S: p.strs.str(v)}, true
				case tfString:
					n.leaf, hasValue = xr.Leaf{Kind: xr.LeafString, S: p.strs.str(v)}, true
				}
			}
		case tfAugmentData:
			_, rest, err = p.varint(rest, typ, off)
		case tfBool, tfUint32, tfUint64, tfSint32, tfSint64:
			if u, rest, err = p.varint(rest, typ, off); err == nil {
				hasValue = true
				switch num {
				case tfBool:
					n.leaf = xr.Leaf{Kind: xr.LeafBool, B: u != 0}
				case tfUint32:
					n.leaf = xr.Leaf{Kind: xr.LeafUint, U: uint64(uint32(u))}
				case tfUint64:
					n.leaf = xr.Leaf{Kind: xr.LeafUint, U: u}
				case tfSint32:
					n.leaf = xr.Leaf{Kind: xr.LeafInt, I: int64(int32(protowire.DecodeZigZag(u & math.MaxUint32)))}
				case tfSint64:
					n.leaf = xr.Leaf{Kind: xr.LeafInt, I: protowire.DecodeZigZag(u)}
				}
			}
		case tfDouble:
			if typ != protowire.Fixed64Type {
				return node{}, p.wireType(off, protowire.Fixed64Type)
			}
			v, m := protowire.ConsumeFixed64(rest)
			if m < 0 {
				return node{}, p.bad(rest, m)
			}
			rest, hasValue = rest[m:], true
			n.leaf = xr.Leaf{Kind: xr.LeafFloat, F: math.Float64frombits(v)}
		case tfFloat:
			if typ != protowire.Fixed32Type {
				return node{}, p.wireType(off, protowire.Fixed32Type)
			}
			v, m := protowire.ConsumeFixed32(rest)
			if m < 0 {
				return node{}, p.bad(rest, m)
			}
			rest, hasValue = rest[m:], true
			n.leaf = xr.Leaf{Kind: xr.LeafFloat, F: float64(math.Float32frombits(v))}
		case tfFields:
			var v []byte
			if v, rest, err = p.bytes(rest, typ, off); err == nil {
				var c node
				if c, err = p.field(v, depth+1); err == nil {
					n.kids = append(n.kids, c)
				}
			}
		default:
			m := protowire.ConsumeFieldValue(num, typ, rest)
			if m < 0 {
				return node{}, p.bad(rest, m)
			}
			rest = rest[m:]
		}
		if err != nil {
			return node{}, err
		}
	}
	switch {
	case len(n.kids) > 0:
		n.obj = true
	case hasValue:
		p.leaves++
		if p.leaves > p.lim.MaxLeaves {
			return node{}, errAt(ReasonTooManyLeaves, p.off(b), "over "+strconv.Itoa(p.lim.MaxLeaves)+" values")
		}
	default:
		n.null = true
	}
	return n, nil
}

// countFields counts the occurrences of field num, so child slices are allocated once
// at their final size. Malformed input stops the count; the decode then reports it.
func countFields(b []byte, num protowire.Number) int {
	c := 0
	for len(b) > 0 {
		n, typ, m := protowire.ConsumeTag(b)
		if m < 0 {
			return c
		}
		b = b[m:]
		m = protowire.ConsumeFieldValue(n, typ, b)
		if m < 0 {
			return c
		}
		b = b[m:]
		if n == num {
			c++
		}
	}
	return c
}
