package mdt

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/netlens/netlens/pkg/decode/xr"
)

// Field numbers of telemetry.proto (pkg/proto/xrpb/telemetry.proto).
const (
	fTelNodeIDStr       = 1
	fTelSubscriptionStr = 3
	fTelEncodingPath    = 6
	fTelCollectionID    = 8
	fTelMsgTimestamp    = 10
	fTelDataGPBKV       = 11
	fTelDataGPB         = 12

	fFieldTimestamp = 1
	fFieldName      = 2
	fFieldBytes     = 4
	fFieldString    = 5
	fFieldBool      = 6
	fFieldUint32    = 7
	fFieldUint64    = 8
	fFieldSint32    = 9
	fFieldSint64    = 10
	fFieldDouble    = 11
	fFieldFloat     = 12
	fFieldFields    = 15
)

// DecodeGPBKV decodes one key-value GPB Telemetry message with default limits.
func DecodeGPBKV(b []byte) (*xr.Message, error) { return new(Decoder).DecodeGPBKV(b) }

// DecodeGPBKV decodes one key-value GPB Telemetry message. It reads the wire
// format directly: no generated structs, and names and short string values
// are interned, so a field costs no allocation once its name and value have
// been seen on this Decoder.
func (d *Decoder) DecodeGPBKV(b []byte) (*xr.Message, error) {
	d.reset()
	if len(b) > d.lim.MaxBytes {
		return nil, errorf(ReasonTooLarge, "%d bytes, limit %d", len(b), d.lim.MaxBytes)
	}
	d.msg.Encoding = xr.EncodingGPBKV
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return nil, wireErr("Telemetry tag", n)
		}
		b = b[n:]
		switch {
		case typ == protowire.BytesType && (num == fTelNodeIDStr || num == fTelSubscriptionStr || num == fTelEncodingPath):
			v, n := consumeBytes(b)
			if n < 0 {
				return nil, wireErr("Telemetry string", n)
			}
			b = b[n:]
			switch num {
			case fTelNodeIDStr:
				d.msg.Node = d.intern(v)
			case fTelSubscriptionStr:
				d.msg.Subscription = d.intern(v)
			default:
				d.msg.Path = d.intern(v)
			}
		case typ == protowire.VarintType && (num == fTelCollectionID || num == fTelMsgTimestamp):
			v, n := consumeVarint(b)
			if n < 0 {
				return nil, wireErr("Telemetry varint", n)
			}
			b = b[n:]
			if num == fTelCollectionID {
				d.msg.CollectionID = v
			} else {
				if v > math.MaxInt64 {
					return nil, errorf(ReasonBadHeader, "msg_timestamp %d out of range", v)
				}
				d.msg.MsgTimestampMs = int64(v)
			}
		case typ == protowire.BytesType && num == fTelDataGPBKV:
			v, n := consumeBytes(b)
			if n < 0 {
				return nil, wireErr("data_gpbkv", n)
			}
			b = b[n:]
			if err := d.gpbRow(v); err != nil {
				return nil, err
			}
		case typ == protowire.BytesType && num == fTelDataGPB:
			v, n := consumeBytes(b)
			if n < 0 {
				return nil, wireErr("data_gpb", n)
			}
			b = b[n:]
			if len(v) > 0 {
				return nil, errorf(ReasonCompactGPB, "message carries compact GPB rows (data_gpb), which need the path's .proto")
			}
		default:
			// Unknown fields and the ones we do not keep (start/end times,
			// uuid, numeric subscription) are skipped by their wire type; a
			// known number with an unexpected type is skipped too, as
			// protobuf's own decoders treat it as unknown.
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return nil, wireErr("Telemetry field", n)
			}
			b = b[n:]
		}
	}
	return d.finish(), nil
}

func wireErr(what string, n int) *Error {
	return errorf(ReasonBadProtobuf, "%s: %v", what, protowire.ParseError(n))
}

// fieldHead is what one pass over a TelemetryField finds besides children.
type fieldHead struct {
	ts       uint64
	name     []byte
	leaf     xr.Leaf
	str      []byte // a string or bytes leaf's value, made a string by field
	hasValue bool
	hasKids  bool
}

// scanField reads a TelemetryField's scalar parts. Children (field 15) are
// only noted: their names need this field's name, which the wire does not
// promise to put first, so they are walked in a second pass.
// It fills *h rather than returning one: the head is large enough that
// copying it out costs as much as reading a leaf.
func (d *Decoder) scanField(b []byte, h *fieldHead) error {
	*h = fieldHead{}
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		if n < 0 {
			return wireErr("TelemetryField tag", n)
		}
		b = b[n:]
		switch typ {
		case protowire.VarintType:
			v, n := consumeVarint(b)
			if n < 0 {
				return wireErr("TelemetryField varint", n)
			}
			b = b[n:]
			switch num {
			case fFieldTimestamp:
				h.ts = v
			case fFieldBool:
				h.leaf, h.hasValue = xr.Leaf{Kind: xr.LeafBool, B: v != 0}, true
			case fFieldUint32:
				h.leaf, h.hasValue = xr.Leaf{Kind: xr.LeafUint, U: uint64(uint32(v))}, true
			case fFieldUint64:
				h.leaf, h.hasValue = xr.Leaf{Kind: xr.LeafUint, U: v}, true
			case fFieldSint32:
				h.leaf, h.hasValue = xr.Leaf{Kind: xr.LeafInt, I: int64(int32(protowire.DecodeZigZag(v & math.MaxUint32)))}, true
			case fFieldSint64:
				h.leaf, h.hasValue = xr.Leaf{Kind: xr.LeafInt, I: protowire.DecodeZigZag(v)}, true
			}
		case protowire.Fixed64Type:
			v, n := protowire.ConsumeFixed64(b)
			if n < 0 {
				return wireErr("TelemetryField fixed64", n)
			}
			b = b[n:]
			if num == fFieldDouble {
				h.leaf, h.hasValue = xr.Leaf{Kind: xr.LeafFloat, F: math.Float64frombits(v)}, true
			}
		case protowire.Fixed32Type:
			v, n := protowire.ConsumeFixed32(b)
			if n < 0 {
				return wireErr("TelemetryField fixed32", n)
			}
			b = b[n:]
			if num == fFieldFloat {
				h.leaf, h.hasValue = xr.Leaf{Kind: xr.LeafFloat, F: float64(math.Float32frombits(v))}, true
			}
		case protowire.BytesType:
			v, n := consumeBytes(b)
			if n < 0 {
				return wireErr("TelemetryField bytes", n)
			}
			b = b[n:]
			switch num {
			case fFieldName:
				h.name = v
			case fFieldString:
				h.leaf, h.str, h.hasValue = xr.Leaf{Kind: xr.LeafString}, v, true
			case fFieldBytes:
				h.leaf, h.str, h.hasValue = xr.Leaf{Kind: xr.LeafBytes}, v, true
			case fFieldFields:
				h.hasKids = true
			}
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return wireErr("TelemetryField field", n)
			}
			b = b[n:]
		}
	}
	return nil
}

// nextChild returns the next child (field 15) of a TelemetryField that
// scanField has already validated, and the rest of the field.
func nextChild(b []byte) (child, rest []byte, ok bool) {
	for len(b) > 0 {
		num, typ, n := consumeTag(b)
		b = b[n:]
		if num == fFieldFields && typ == protowire.BytesType {
			v, n := consumeBytes(b)
			return v, b[n:], true
		}
		b = b[protowire.ConsumeFieldValue(num, typ, b):]
	}
	return nil, nil, false
}

// gpbRow decodes one data_gpbkv element: a row whose children "keys" and
// "content" carry the leaves. Other children go to Content under their own
// name, so nothing a sender puts at row level is lost.
func (d *Decoder) gpbRow(b []byte) error {
	var h fieldHead
	if err := d.scanField(b, &h); err != nil {
		return err
	}
	if h.ts > math.MaxInt64 {
		return errorf(ReasonBadHeader, "row timestamp %d out of range", h.ts)
	}
	span := rowSpan{ts: int64(h.ts), keyLo: len(d.leaves)}
	// Two passes, keys first, so that Keys and Content are contiguous runs
	// of the leaves buffer whatever order the sender used. The first pass
	// scans (and so validates) every child and notes its name for the second.
	kids := d.rowKids[:0]
	for c, rest, ok := nextChild(b); ok; c, rest, ok = nextChild(rest) {
		var ch fieldHead
		if err := d.scanField(c, &ch); err != nil {
			return err
		}
		kids = append(kids, rowKid{b: c, name: ch.name})
		if string(ch.name) == "keys" {
			if err := d.children(c, 1); err != nil {
				return err
			}
		}
	}
	d.rowKids = kids
	span.keyHi = len(d.leaves)
	span.cLo = span.keyHi
	for _, k := range kids {
		switch string(k.name) {
		case "keys":
		case "content":
			if err := d.children(k.b, 1); err != nil {
				return err
			}
		default:
			if err := d.field(k.b, 1); err != nil {
				return err
			}
		}
	}
	span.cHi = len(d.leaves)
	d.spans = append(d.spans, span)
	return nil
}

// children walks the children of a container; at a root (keys, content)
// the container's own name is not part of leaf names.
func (d *Decoder) children(b []byte, depth int) error {
	for c, rest, ok := nextChild(b); ok; c, rest, ok = nextChild(rest) {
		if err := d.field(c, depth); err != nil {
			return err
		}
	}
	return nil
}

// field turns one TelemetryField into leaves under the current name.
func (d *Decoder) field(b []byte, depth int) error {
	if depth > d.lim.MaxDepth {
		return errorf(ReasonTooDeep, "nesting deeper than %d", d.lim.MaxDepth)
	}
	var h fieldHead
	if err := d.scanField(b, &h); err != nil {
		return err
	}
	n, err := d.pushName(h.name)
	if err != nil {
		return err
	}
	if h.hasValue {
		// The leaf in the same place of the previous message nearly always
		// has the same name, and often the same string value: comparing
		// with it is cheaper than the intern tables' hashing.
		var prev *xr.Leaf
		if i := len(d.leaves); i < cap(d.leaves) {
			prev = &d.leaves[:i+1][i]
		}
		if prev != nil && prev.Name == string(d.name) {
			h.leaf.Name = prev.Name
		} else {
			h.leaf.Name = d.intern(d.name)
		}
		if h.leaf.Kind == xr.LeafString || h.leaf.Kind == xr.LeafBytes {
			if prev != nil && prev.Kind == h.leaf.Kind && prev.S == string(h.str) {
				h.leaf.S = prev.S
			} else {
				h.leaf.S = d.internValue(h.str)
			}
		}
		if err := d.addLeaf(h.leaf); err != nil {
			return err
		}
	}
	if h.hasKids {
		if err := d.children(b, depth+1); err != nil {
			return err
		}
	}
	d.name = d.name[:n]
	return nil
}

// Fast paths for the one-byte tags, lengths and varints that make up most
// of a key-value message (every TelemetryField number is below 16, and
// leaves are short); anything else, errors included, goes to protowire.
// protowire's own functions are too large to be inlined.

func consumeTag(b []byte) (protowire.Number, protowire.Type, int) {
	if len(b) > 0 && b[0] >= 1<<3 && b[0] < 0x80 {
		return protowire.Number(b[0] >> 3), protowire.Type(b[0] & 7), 1
	}
	return protowire.ConsumeTag(b)
}

func consumeBytes(b []byte) ([]byte, int) {
	if len(b) > 0 && b[0] < 0x80 && int(b[0]) < len(b) {
		n := int(b[0])
		return b[1 : 1+n : 1+n], 1 + n
	}
	return protowire.ConsumeBytes(b)
}

func consumeVarint(b []byte) (uint64, int) {
	if len(b) > 0 && b[0] < 0x80 {
		return uint64(b[0]), 1
	}
	return protowire.ConsumeVarint(b)
}
