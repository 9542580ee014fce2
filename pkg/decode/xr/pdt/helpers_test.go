package pdt

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/netlens/netlens/pkg/decode/xr"
)

// kv is a TelemetryField to encode in test vectors: a value (by Go type, picking the
// oneof member) or child fields.
type kv struct {
	name string
	val  any
	ts   uint64
	kids []kv
}

func (f kv) encode() []byte {
	var b []byte
	if f.ts != 0 {
		b = protowire.AppendTag(b, tfTimestamp, protowire.VarintType)
		b = protowire.AppendVarint(b, f.ts)
	}
	b = protowire.AppendTag(b, tfName, protowire.BytesType)
	b = protowire.AppendString(b, f.name)
	switch v := f.val.(type) {
	case nil:
	case []byte:
		b = protowire.AppendTag(b, tfBytes, protowire.BytesType)
		b = protowire.AppendBytes(b, v)
	case string:
		b = protowire.AppendTag(b, tfString, protowire.BytesType)
		b = protowire.AppendString(b, v)
	case bool:
		b = protowire.AppendTag(b, tfBool, protowire.VarintType)
		b = protowire.AppendVarint(b, protowire.EncodeBool(v))
	case uint32:
		b = protowire.AppendTag(b, tfUint32, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(v))
	case uint64:
		b = protowire.AppendTag(b, tfUint64, protowire.VarintType)
		b = protowire.AppendVarint(b, v)
	case int32:
		b = protowire.AppendTag(b, tfSint32, protowire.VarintType)
		b = protowire.AppendVarint(b, protowire.EncodeZigZag(int64(v))&math.MaxUint32)
	case int64:
		b = protowire.AppendTag(b, tfSint64, protowire.VarintType)
		b = protowire.AppendVarint(b, protowire.EncodeZigZag(v))
	case float64:
		b = protowire.AppendTag(b, tfDouble, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, math.Float64bits(v))
	case float32:
		b = protowire.AppendTag(b, tfFloat, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(v))
	default:
		panic("kv: unsupported value type")
	}
	for _, k := range f.kids {
		b = protowire.AppendTag(b, tfFields, protowire.BytesType)
		b = protowire.AppendBytes(b, k.encode())
	}
	return b
}

// kvMsg is a PDT key-value Telemetry message to encode.
type kvMsg struct {
	collectionID uint64
	basePath     string
	subscription string
	modelVersion string
	start, stamp uint64
	end          uint64
	fields       []kv
}

func (m kvMsg) encode() []byte {
	var b []byte
	varint := func(num protowire.Number, v uint64) {
		if v != 0 {
			b = protowire.AppendTag(b, num, protowire.VarintType)
			b = protowire.AppendVarint(b, v)
		}
	}
	str := func(num protowire.Number, s string) {
		if s != "" {
			b = protowire.AppendTag(b, num, protowire.BytesType)
			b = protowire.AppendString(b, s)
		}
	}
	varint(tmCollectionID, m.collectionID)
	str(tmBasePath, m.basePath)
	str(tmSubscription, m.subscription)
	str(tmModelVersion, m.modelVersion)
	varint(tmCollectionStartTime, m.start)
	varint(tmMsgTimestamp, m.stamp)
	for _, f := range m.fields {
		b = protowire.AppendTag(b, tmFields, protowire.BytesType)
		b = protowire.AppendBytes(b, f.encode())
	}
	varint(tmCollectionEndTime, m.end)
	return b
}

// nest wraps kids in a chain of containers: nest([]string{"RootOper","X"}, kids...).
func nest(names []string, kids ...kv) kv {
	f := kv{name: names[len(names)-1], kids: kids}
	for i := len(names) - 2; i >= 0; i-- {
		f = kv{name: names[i], kids: []kv{f}}
	}
	return f
}

func u(name string, v uint64) xr.Leaf  { return xr.Leaf{Name: name, Kind: xr.LeafUint, U: v} }
func i(name string, v int64) xr.Leaf   { return xr.Leaf{Name: name, Kind: xr.LeafInt, I: v} }
func f(name string, v float64) xr.Leaf { return xr.Leaf{Name: name, Kind: xr.LeafFloat, F: v} }
func s(name, v string) xr.Leaf         { return xr.Leaf{Name: name, Kind: xr.LeafString, S: v} }
func bl(name string, v bool) xr.Leaf   { return xr.Leaf{Name: name, Kind: xr.LeafBool, B: v} }

func checkRows(t *testing.T, got, want []xr.Row) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d:\n%s", len(got), len(want), dumpRows(got))
	}
	for k := range want {
		if !reflect.DeepEqual(normRow(got[k]), normRow(want[k])) {
			t.Errorf("row %d:\n got  %+v\n want %+v", k, got[k], want[k])
		}
	}
}

func normRow(r xr.Row) xr.Row {
	if len(r.Keys) == 0 {
		r.Keys = nil
	}
	if len(r.Content) == 0 {
		r.Content = nil
	}
	return r
}

func dumpRows(rows []xr.Row) string {
	var sb strings.Builder
	for _, r := range rows {
		sb.WriteString("  ")
		fmt.Fprintf(&sb, "%+v", r)
		sb.WriteString("\n")
	}
	return sb.String()
}

func wantReason(t *testing.T, err error, reason string) {
	t.Helper()
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("error %v (%T), want *Error with reason %s", err, err, reason)
	}
	if e.Reason != reason {
		t.Fatalf("reason %q (%v), want %q", e.Reason, e, reason)
	}
}
