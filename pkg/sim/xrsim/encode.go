package xrsim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"

	"google.golang.org/protobuf/encoding/protowire"
)

// Collection is one path's data at one moment: what a router puts in one
// message (or, for compact GPB over UDP, in as many datagrams as it takes).
type Collection struct {
	Path         *Path
	Policy       string // PDT policy name
	Version      uint64 // PDT policy version (Metadata.Version)
	Identifier   string // PDT identifier / MDT node_id_str: the router's name
	Subscription string // PDT KV subscription_identifier / MDT subscription_id_str (the group's name)
	CollectionID uint64
	StartMs      int64
	EndMs        int64
	Rows         []Row
}

// JSONKeys picks the PDT JSON layout of an XR release.
type JSONKeys uint8

const (
	// JSON601 is XR 6.0.1 and later: CollectionID, Path, CollectionStartTime
	// and CollectionEndTime, and a list's name as its own level above the
	// naming values ("format 2").
	JSON601 JSONKeys = iota
	// JSON600 is XR 6.0.0: "Start Time" and "End Time" with spaces, no Path,
	// and naming values straight below the list's parent ("format 1").
	JSON600
)

// pathElem is one element of a PDT schema path.
type pathElem struct {
	name string
	kind byte // 0 plain, '*' Interface(*), '[' Neighbor([*]), '=' Instance({'InstanceName': 'default'})
}

func splitPDT(p string) []pathElem {
	var out []pathElem
	depth, start := 0, 0
	flush := func(end int) {
		e := p[start:end]
		pe := pathElem{name: e}
		if i := strings.IndexByte(e, '('); i >= 0 {
			pe.name = e[:i]
			switch arg := e[i+1 : len(e)-1]; {
			case arg == "*":
				pe.kind = '*'
			case arg == "[*]":
				pe.kind = '['
			default:
				pe.kind = '='
			}
		}
		out = append(out, pe)
	}
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '(':
			depth++
		case ')':
			depth--
		case '.':
			if depth == 0 {
				flush(i)
				start = i + 1
			}
		}
	}
	flush(len(p))
	return out
}

// tnode is the hierarchical form PDT JSON and PDT KV share: containers,
// list levels, naming values and leaves, members in order.
type tnode struct {
	name  string
	leaf  bool
	typ   LeafType
	val   Value
	ts    int64 // row timestamp, on the row's naming node
	array bool  // a JSON array of list instances; kids are its elements
	kids  []*tnode
}

func (t *tnode) child(name string) *tnode {
	for _, k := range t.kids {
		if k.name == name && !k.leaf {
			return k
		}
	}
	k := &tnode{name: name}
	t.kids = append(t.kids, k)
	return k
}

func (t *tnode) arrayChild(name string) *tnode {
	for _, k := range t.kids {
		if k.name == name && k.array {
			return k
		}
	}
	k := &tnode{name: name, array: true}
	t.kids = append(t.kids, k)
	return k
}

// pdtTree lays the rows out along the policy path, as a router's PDT
// encoder nests its data.
func pdtTree(c *Collection, keys JSONKeys, collectionTime bool) (*tnode, error) {
	elems := splitPDT(c.Path.PDT)
	root := &tnode{}
	for ri := range c.Rows {
		r := &c.Rows[ri]
		if len(r.Keys) != len(c.Path.Keys) || len(r.Values) != len(c.Path.Leaves) {
			return nil, fmt.Errorf("xrsim: row %d of %s has %d keys and %d values, want %d and %d", ri, c.Path.ID, len(r.Keys), len(r.Values), len(c.Path.Keys), len(c.Path.Leaves))
		}
		at, ki := root, 0
		var naming *tnode
		for _, e := range elems {
			switch e.kind {
			case 0:
				at = at.child(e.name)
			case '*', '=':
				if keys == JSON601 {
					at = at.child(e.name)
				}
				at = at.child(r.Keys[ki])
				naming = at
				ki++
			case '[':
				arr := at.arrayChild(e.name)
				el := &tnode{}
				arr.kids = append(arr.kids, el)
				el.kids = append(el.kids, &tnode{name: c.Path.Keys[ki].PDT, leaf: true, typ: TypeString, val: Value{S: r.Keys[ki]}})
				at, naming = el, el
				ki++
			}
		}
		if naming != nil {
			naming.ts = r.TimestampMs
		}
		if collectionTime {
			at.kids = append(at.kids, &tnode{name: "CollectionTime", leaf: true, typ: TypeUint64, val: Value{U: uint64(r.TimestampMs)}})
		}
		for li, l := range c.Path.Leaves {
			at.kids = append(at.kids, &tnode{name: l.PDT, leaf: true, typ: l.Type, val: r.Values[li]})
		}
	}
	return root, nil
}

// AppendPDTJSON appends the collection as a policy-driven JSON message.
func AppendPDTJSON(b []byte, c *Collection, keys JSONKeys) ([]byte, error) {
	tree, err := pdtTree(c, keys, true)
	if err != nil {
		return b, err
	}
	b = append(b, `{"Policy":`...)
	b = appendJSONString(b, c.Policy)
	if keys == JSON600 {
		b = append(b, `,"Version":`...)
		b = strconv.AppendUint(b, c.Version, 10)
		b = append(b, `,"Identifier":`...)
		b = appendJSONString(b, c.Identifier)
		b = append(b, `,"Start Time":`...)
		b = strconv.AppendInt(b, c.StartMs, 10)
		b = append(b, `,"End Time":`...)
		b = strconv.AppendInt(b, c.EndMs, 10)
		b = append(b, `,"Data":`...)
		b = appendJSONTree(b, tree)
		return append(b, '}'), nil
	}
	b = append(b, `,"Version":`...)
	b = appendJSONString(b, strconv.FormatUint(c.Version, 10))
	b = append(b, `,"Identifier":`...)
	b = appendJSONString(b, c.Identifier)
	b = append(b, `,"CollectionID":`...)
	b = strconv.AppendUint(b, c.CollectionID, 10)
	b = append(b, `,"Path":`...)
	b = appendJSONString(b, c.Path.PDT)
	b = append(b, `,"CollectionStartTime":`...)
	b = strconv.AppendInt(b, c.StartMs, 10)
	b = append(b, `,"Data":`...)
	b = appendJSONTree(b, tree)
	b = append(b, `,"CollectionEndTime":`...)
	b = strconv.AppendInt(b, c.EndMs, 10)
	return append(b, '}'), nil
}

func appendJSONTree(b []byte, t *tnode) []byte {
	b = append(b, '{')
	for i, k := range t.kids {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k.name)
		b = append(b, ':')
		switch {
		case k.leaf:
			b = appendJSONValue(b, k.typ, k.val)
		case k.array:
			b = append(b, '[')
			for j, el := range k.kids {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendJSONTree(b, el)
			}
			b = append(b, ']')
		default:
			b = appendJSONTree(b, k)
		}
	}
	return append(b, '}')
}

func appendJSONValue(b []byte, t LeafType, v Value) []byte {
	switch t {
	case TypeString:
		return appendJSONString(b, v.S)
	case TypeBool:
		return strconv.AppendBool(b, v.B)
	}
	return strconv.AppendUint(b, v.U, 10)
}

// appendJSONString writes s as strict ASCII JSON: routers' receivers parse
// it as ASCII, so anything else is escaped.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\t':
			b = append(b, '\\', 't')
		case r < 0x20 || r >= 0x7f:
			for _, u := range utf16.Encode([]rune{r}) {
				b = append(b, '\\', 'u', hex[u>>12], hex[u>>8&15], hex[u>>4&15], hex[u&15])
			}
		default:
			b = append(b, byte(r))
		}
	}
	return append(b, '"')
}

// Field numbers of telemetry_kv.proto (PDT key-value, protocols.md 1.3).
const (
	kvCollectionID = 1
	kvBasePath     = 2
	kvSubscription = 3
	kvModelVersion = 4
	kvStart        = 5
	kvMsgTimestamp = 6
	kvFields       = 14
	kvEnd          = 15

	tfTimestamp = 1
	tfName      = 2
	tfBytes     = 4
	tfString    = 5
	tfBool      = 6
	tfUint32    = 7
	tfUint64    = 8
	tfFields    = 15
)

// ModelVersion is what the PDT KV messages announce.
const ModelVersion = "6.1.2"

// AppendPDTKV appends the collection as a policy-driven key-value GPB
// message (Telemetry/TelemetryField of telemetry_kv.proto), its fields
// nested as the JSON of XR 6.0.1 is.
func AppendPDTKV(b []byte, c *Collection) ([]byte, error) {
	tree, err := pdtTree(c, JSON601, false)
	if err != nil {
		return b, err
	}
	b = protowire.AppendTag(b, kvCollectionID, protowire.VarintType)
	b = protowire.AppendVarint(b, c.CollectionID)
	b = appendString(b, kvBasePath, c.Path.PDT)
	if c.Subscription != "" {
		b = appendString(b, kvSubscription, c.Subscription)
	}
	b = appendString(b, kvModelVersion, ModelVersion)
	b = protowire.AppendTag(b, kvStart, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(c.StartMs))
	b = protowire.AppendTag(b, kvMsgTimestamp, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(c.EndMs))
	for _, k := range tree.kids {
		b = appendKVNode(b, kvFields, k)
	}
	b = protowire.AppendTag(b, kvEnd, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(c.EndMs)), nil
}

// appendKVNode writes one TelemetryField; a list of instances becomes
// repeated fields of the list's name.
func appendKVNode(b []byte, tag protowire.Number, t *tnode) []byte {
	if t.array {
		for _, el := range t.kids {
			el.name = t.name
			b = appendKVNode(b, tag, el)
		}
		return b
	}
	b = protowire.AppendTag(b, tag, protowire.BytesType)
	return appendSized(b, func(b []byte) []byte {
		if t.ts != 0 {
			b = protowire.AppendTag(b, tfTimestamp, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(t.ts))
		}
		b = appendString(b, tfName, t.name)
		if t.leaf {
			return appendKVValue(b, t.typ, t.val)
		}
		for _, k := range t.kids {
			b = appendKVNode(b, tfFields, k)
		}
		return b
	})
}

func appendKVValue(b []byte, t LeafType, v Value) []byte {
	switch t {
	case TypeString:
		return appendString(b, tfString, v.S)
	case TypeBool:
		b = protowire.AppendTag(b, tfBool, protowire.VarintType)
		return protowire.AppendVarint(b, protowire.EncodeBool(v.B))
	case TypeUint32:
		b = protowire.AppendTag(b, tfUint32, protowire.VarintType)
	default:
		b = protowire.AppendTag(b, tfUint64, protowire.VarintType)
	}
	return protowire.AppendVarint(b, v.U)
}

func appendString(b []byte, tag protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, tag, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// appendSized writes a length-delimited body produced by body, with its
// length as a varint in front. The body is built in place and moved once
// its length is known.
func appendSized(b []byte, body func([]byte) []byte) []byte {
	start := len(b)
	b = body(b)
	n := len(b) - start
	sz := protowire.SizeVarint(uint64(n))
	b = append(b, make([]byte, sz)...)
	copy(b[start+sz:], b[start:start+n])
	protowire.AppendVarint(b[start:start], uint64(n))
	return b
}

// Compact GPB: TelemetryHeader/TelemetryTable of telemetry.proto
// (protocols.md 1.3), rows per the path's .proto (ProtoFiles).
const (
	CompactEncoding = 0x87654321

	thEncoding   = 1
	thPolicyName = 2
	thVersion    = 3
	thIdentifier = 4
	thStart      = 5
	thEnd        = 6
	thTables     = 7
	ttPolicyPath = 1
	ttRow        = 2

	// FirstDataTag is the tag of a compact row's first data field; keys
	// come before it, from 1.
	FirstDataTag = 50
)

// ErrRowTooLarge says a compact row does not fit in one datagram: rows
// cannot be split (seed 001), so the collection cannot go over UDP.
var ErrRowTooLarge = errors.New("xrsim: a compact GPB row does not fit in one datagram")

// AppendCompactRow appends one row message of the path's .proto.
func AppendCompactRow(b []byte, p *Path, r *Row) []byte {
	for i, k := range r.Keys {
		b = appendString(b, protowire.Number(i+1), k)
	}
	for i, l := range p.Leaves {
		tag := protowire.Number(FirstDataTag + i)
		v := r.Values[i]
		switch l.Type {
		case TypeString:
			b = appendString(b, tag, v.S)
		case TypeBool:
			b = protowire.AppendTag(b, tag, protowire.VarintType)
			b = protowire.AppendVarint(b, protowire.EncodeBool(v.B))
		default:
			b = protowire.AppendTag(b, tag, protowire.VarintType)
			b = protowire.AppendVarint(b, v.U)
		}
	}
	return b
}

// CompactMessages encodes the collection as policy-driven compact GPB:
// one TelemetryHeader if max is 0 (TCP), else as many as it takes for each
// to stay within max bytes (UDP), each with its share of the rows. It
// returns the messages and how many rows each carries.
func CompactMessages(c *Collection, max int) ([][]byte, []int, error) {
	var rows [][]byte
	for i := range c.Rows {
		r := &c.Rows[i]
		if len(r.Keys) != len(c.Path.Keys) || len(r.Values) != len(c.Path.Leaves) {
			return nil, nil, fmt.Errorf("xrsim: row %d of %s does not match its path", i, c.Path.ID)
		}
		rows = append(rows, AppendCompactRow(nil, c.Path, r))
	}
	header := func() []byte {
		var b []byte
		b = protowire.AppendTag(b, thEncoding, protowire.VarintType)
		b = protowire.AppendVarint(b, CompactEncoding)
		b = appendString(b, thPolicyName, c.Policy)
		b = appendString(b, thVersion, strconv.FormatUint(c.Version, 10))
		b = appendString(b, thIdentifier, c.Identifier)
		b = protowire.AppendTag(b, thStart, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(c.StartMs))
		b = protowire.AppendTag(b, thEnd, protowire.VarintType)
		return protowire.AppendVarint(b, uint64(c.EndMs))
	}
	// table is the TelemetryTable of rows[from:to], with its tag and length.
	table := func(b []byte, from, to int) []byte {
		b = protowire.AppendTag(b, thTables, protowire.BytesType)
		return appendSized(b, func(b []byte) []byte {
			b = appendString(b, ttPolicyPath, c.Path.Schema)
			for _, r := range rows[from:to] {
				b = protowire.AppendTag(b, ttRow, protowire.BytesType)
				b = protowire.AppendBytes(b, r)
			}
			return b
		})
	}
	if max <= 0 {
		return [][]byte{table(header(), 0, len(rows))}, []int{len(rows)}, nil
	}
	var msgs [][]byte
	var counts []int
	h := header()
	pathLen := protowire.SizeTag(ttPolicyPath) + protowire.SizeBytes(len(c.Path.Schema))
	for from := 0; from < len(rows) || (from == 0 && len(rows) == 0); {
		body := pathLen
		to := from
		for to < len(rows) {
			add := protowire.SizeTag(ttRow) + protowire.SizeBytes(len(rows[to]))
			if len(h)+protowire.SizeTag(thTables)+protowire.SizeBytes(body+add) > max {
				break
			}
			body += add
			to++
		}
		if to == from && len(rows) > 0 {
			return nil, nil, ErrRowTooLarge
		}
		msgs = append(msgs, table(append([]byte(nil), h...), from, to))
		counts = append(counts, to-from)
		from = to
		if len(rows) == 0 {
			break
		}
	}
	return msgs, counts, nil
}

// Field numbers of the model-driven telemetry.proto (protocols.md 1.7).
const (
	mdtNodeID       = 1
	mdtSubscription = 3
	mdtEncodingPath = 6
	mdtCollectionID = 8
	mdtStart        = 9
	mdtMsgTimestamp = 10
	mdtDataGPBKV    = 11
	mdtEnd          = 13
)

// AppendMDTKV appends the collection as a model-driven Telemetry message
// with self-describing key-value rows: one data_gpbkv element per row with
// children "keys" and "content".
func AppendMDTKV(b []byte, c *Collection) ([]byte, error) {
	b = appendString(b, mdtNodeID, c.Identifier)
	if c.Subscription != "" {
		b = appendString(b, mdtSubscription, c.Subscription)
	}
	b = appendString(b, mdtEncodingPath, c.Path.MDT)
	b = protowire.AppendTag(b, mdtCollectionID, protowire.VarintType)
	b = protowire.AppendVarint(b, c.CollectionID)
	b = protowire.AppendTag(b, mdtStart, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(c.StartMs))
	b = protowire.AppendTag(b, mdtMsgTimestamp, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(c.StartMs))
	for ri := range c.Rows {
		r := &c.Rows[ri]
		if len(r.Keys) != len(c.Path.Keys) || len(r.Values) != len(c.Path.Leaves) {
			return b, fmt.Errorf("xrsim: row %d of %s does not match its path", ri, c.Path.ID)
		}
		b = protowire.AppendTag(b, mdtDataGPBKV, protowire.BytesType)
		b = appendSized(b, func(b []byte) []byte {
			b = protowire.AppendTag(b, tfTimestamp, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(r.TimestampMs))
			b = protowire.AppendTag(b, tfFields, protowire.BytesType)
			b = appendSized(b, func(b []byte) []byte {
				b = appendString(b, tfName, "keys")
				for i, k := range c.Path.Keys {
					b = protowire.AppendTag(b, tfFields, protowire.BytesType)
					b = appendSized(b, func(b []byte) []byte {
						b = appendString(b, tfName, k.MDT)
						return appendString(b, tfString, r.Keys[i])
					})
				}
				return b
			})
			b = protowire.AppendTag(b, tfFields, protowire.BytesType)
			return appendSized(b, func(b []byte) []byte {
				b = appendString(b, tfName, "content")
				for i, l := range c.Path.Leaves {
					b = protowire.AppendTag(b, tfFields, protowire.BytesType)
					b = appendSized(b, func(b []byte) []byte {
						b = appendString(b, tfName, l.MDT)
						return appendKVValue(b, l.Type, r.Values[i])
					})
				}
				return b
			})
		})
	}
	b = protowire.AppendTag(b, mdtEnd, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(c.EndMs)), nil
}

// AppendMDTJSON appends the collection as model-driven JSON as IOS XR
// writes it: uint64 header fields and row timestamps as strings (the
// proto3 JSON mapping), keys as an array of one-member objects, leaves as
// JSON numbers, strings and booleans.
func AppendMDTJSON(b []byte, c *Collection) ([]byte, error) {
	b = append(b, `{"node_id_str":`...)
	b = appendJSONString(b, c.Identifier)
	if c.Subscription != "" {
		b = append(b, `,"subscription_id_str":`...)
		b = appendJSONString(b, c.Subscription)
	}
	b = append(b, `,"encoding_path":`...)
	b = appendJSONString(b, c.Path.MDT)
	b = append(b, `,"collection_id":"`...)
	b = strconv.AppendUint(b, c.CollectionID, 10)
	b = append(b, `","collection_start_time":"`...)
	b = strconv.AppendInt(b, c.StartMs, 10)
	b = append(b, `","msg_timestamp":"`...)
	b = strconv.AppendInt(b, c.StartMs, 10)
	b = append(b, `","data_json":[`...)
	for ri := range c.Rows {
		r := &c.Rows[ri]
		if len(r.Keys) != len(c.Path.Keys) || len(r.Values) != len(c.Path.Leaves) {
			return b, fmt.Errorf("xrsim: row %d of %s does not match its path", ri, c.Path.ID)
		}
		if ri > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"timestamp":"`...)
		b = strconv.AppendInt(b, r.TimestampMs, 10)
		b = append(b, `","keys":[`...)
		for i, k := range c.Path.Keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			b = appendJSONString(b, k.MDT)
			b = append(b, ':')
			b = appendJSONString(b, r.Keys[i])
			b = append(b, '}')
		}
		b = append(b, `],"content":{`...)
		for i, l := range c.Path.Leaves {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, l.MDT)
			b = append(b, ':')
			b = appendJSONValue(b, l.Type, r.Values[i])
		}
		b = append(b, "}}"...)
	}
	b = append(b, `],"collection_end_time":"`...)
	b = strconv.AppendInt(b, c.EndMs, 10)
	return append(b, `"}`...), nil
}
