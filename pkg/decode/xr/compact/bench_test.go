package compact

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/netlens/netlens/pkg/decode/xr"
)

const benchPath = "RootOper.InfraStatistics.Interface(*).Latest.Wide"

// benchProto is a row message of 50 leaves: the interface name key and 49 data fields
// (40 uint64 counters, 4 uint32, 2 strings, 2 doubles, a bool).
func benchProto() string {
	var b strings.Builder
	b.WriteString("syntax = \"proto2\";\nimport \"cisco.proto\";\nmessage wide_bag {\n")
	b.WriteString("  option (cisco_msg).schema_path = \"" + benchPath + "\";\n")
	b.WriteString("  optional string interface_name = 1 [(cisco_field).path_element=\"RootOper.InfraStatistics.Interface(InterfaceName)\"];\n")
	for k := range 49 {
		typ := "uint64"
		switch {
		case k >= 40 && k < 44:
			typ = "uint32"
		case k == 44 || k == 45:
			typ = "string"
		case k == 46 || k == 47:
			typ = "double"
		case k == 48:
			typ = "bool"
		}
		fmt.Fprintf(&b, "  optional %s f%d = %d [(cisco_field).name=\"Field%d\"];\n", typ, k, 50+k, k)
	}
	b.WriteString("}\n")
	return b.String()
}

func benchRow(n int) enc {
	r := enc(nil).str(1, fmt.Sprintf("GigabitEthernet0/0/0/%d", n))
	for k := range 49 {
		num := protowire.Number(50 + k)
		switch {
		case k < 40:
			r = r.varint(num, uint64(n)<<40+uint64(k)*1_000_003)
		case k < 44:
			r = r.varint(num, uint64(k*n))
		case k < 46:
			r = r.str(num, "up")
		case k < 48:
			r = r.double(num, float64(n)/3)
		default:
			r = r.varint(num, 1)
		}
	}
	return r
}

const benchRows = 100

func benchInput(tb testing.TB) (*Schema, []byte) {
	sch := mustCompile(tb, map[string][]byte{"wide.proto": []byte(benchProto())})
	rows := make([]enc, benchRows)
	for n := range rows {
		rows[n] = benchRow(n)
	}
	return sch, header{policy: "Bench", identifier: "xr-bench", end: 1, tables: []table{{path: benchPath, rows: rows}}}.bytes()
}

// reportPerRow adds ns/row and allocs/field, from the memory statistics around the loop.
func reportPerRow(b *testing.B, before runtime.MemStats) {
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchRows), "ns/row")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N*benchRows*50), "allocs/field")
}

// BenchmarkDecode: one header of 100 rows of 50 leaves through the descriptor-driven
// protowire walk.
func BenchmarkDecode(b *testing.B) {
	sch, in := benchInput(b)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		msgs, _, err := sch.Decode(in)
		if err != nil || len(msgs[0].Rows) != benchRows {
			b.Fatal(err)
		}
	}
	reportPerRow(b, before)
}

// BenchmarkDecodeDynamicpb: the same header, rows unmarshalled into dynamicpb messages
// and walked into the same leaves, for comparison with the protowire walk.
func BenchmarkDecodeDynamicpb(b *testing.B) {
	sch, in := benchInput(b)
	plan := sch.byPath[normalizePath(benchPath)]
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		msgs, err := dynamicDecode(plan, in)
		if err != nil || len(msgs[0].Rows) != benchRows {
			b.Fatal(err)
		}
	}
	reportPerRow(b, before)
}

// dynamicDecode is the reference: header and tables by hand, rows by dynamicpb, leaves
// named by the plan. Singular fields come out in field-number order, as dynamicpb
// ranges them.
func dynamicDecode(plan *msgPlan, in []byte) ([]*xr.Message, error) {
	var msgs []*xr.Message
	for rest := in; len(rest) > 0; {
		num, typ, n := protowire.ConsumeTag(rest)
		rest = rest[n:]
		if num != thTables {
			rest = rest[protowire.ConsumeFieldValue(num, typ, rest):]
			continue
		}
		tb, m := protowire.ConsumeBytes(rest)
		rest = rest[m:]
		msg := &xr.Message{Encoding: xr.EncodingGPBCompact}
		for tr := tb; len(tr) > 0; {
			num, typ, n := protowire.ConsumeTag(tr)
			tr = tr[n:]
			if num != ttRow {
				tr = tr[protowire.ConsumeFieldValue(num, typ, tr):]
				continue
			}
			row, m := protowire.ConsumeBytes(tr)
			tr = tr[m:]
			dm := dynamicpb.NewMessage(plan.md)
			if err := proto.Unmarshal(row, dm); err != nil {
				return nil, err
			}
			var r xr.Row
			walkDynamic(plan, dm, &r)
			msg.Rows = append(msg.Rows, r)
		}
		msgs = append(msgs, msg)
	}
	return msgs, nil
}

func walkDynamic(p *msgPlan, dm protoreflect.Message, r *xr.Row) {
	fds := p.md.Fields()
	for k := 0; k < fds.Len(); k++ {
		fd := fds.Get(k)
		if !dm.Has(fd) {
			continue
		}
		f := p.field(fd.Number())
		put := func(v protoreflect.Value) {
			if f.conv == convMessage || f.conv == convGroup {
				walkDynamic(f.childPlan(), v.Message(), r)
				return
			}
			l := xr.Leaf{Name: f.leaf}
			switch f.conv {
			case convBool:
				l.Kind, l.B = xr.LeafBool, v.Bool()
			case convEnum:
				l.Kind = xr.LeafString
				if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
					l.S = string(ev.Name())
				} else {
					l.S = fmt.Sprint(int32(v.Enum()))
				}
			case convInt32, convInt64, convSint32, convSint64, convSfixed32, convSfixed64:
				l.Kind, l.I = xr.LeafInt, v.Int()
			case convUint32, convUint64, convFixed32, convFixed64:
				l.Kind, l.U = xr.LeafUint, v.Uint()
			case convFloat, convDouble:
				l.Kind, l.F = xr.LeafFloat, v.Float()
			case convString:
				l.Kind, l.S = xr.LeafString, v.String()
			case convBytes:
				l.Kind, l.S = xr.LeafBytes, string(v.Bytes())
			}
			if f.key {
				r.Keys = append(r.Keys, l)
			} else {
				r.Content = append(r.Content, l)
			}
		}
		v := dm.Get(fd)
		if fd.IsList() {
			for j := 0; j < v.List().Len(); j++ {
				put(v.List().Get(j))
			}
			continue
		}
		put(v)
	}
}

// The protowire walk and dynamicpb agree on every leaf of well-formed rows in which
// fields arrive in number order (dynamicpb ranges fields by number, the walk keeps wire
// order): the benchmark rows, and the BGP row with nesting, repetition and every type.
func TestDecodeAgreesWithDynamicpb(t *testing.T) {
	sch, in := benchInput(t)
	check := func(sch *Schema, path string, in []byte) {
		t.Helper()
		got, _, err := sch.Decode(in)
		if err != nil {
			t.Fatal(err)
		}
		want, err := dynamicDecode(sch.byPath[normalizePath(path)], in)
		if err != nil {
			t.Fatal(err)
		}
		if len(got[0].Rows) != len(want[0].Rows) {
			t.Fatalf("%d rows, dynamicpb %d", len(got[0].Rows), len(want[0].Rows))
		}
		for k, w := range want[0].Rows {
			g := got[0].Rows[k]
			g.TimestampMs = 0
			checkRows(t, []xr.Row{g}, []xr.Row{w})
		}
	}
	check(sch, benchPath, in)
	bgp := enc(nil).str(1, "default").str(2, "192.0.2.1").varint(50, 1).varint(51, protowire.EncodeZigZag(math.MinInt64)).
		double(52, math.Inf(1)).varint(53, 0).
		bytes(54, enc(nil).str(1, "a").bytes(2, enc(nil).varint(1, 1).varint(2, 2))).bytes(54, enc(nil).str(1, "b")).
		bytes(55, []byte{1, 0x80, 0x01}).bytes(56, nil).fixed32(57, 5).fixed64(58, 1<<60).
		fixed32(59, math.Float32bits(-0.5)).varint(60, 1<<31).varint(61, protowire.EncodeZigZag(math.MinInt32)).
		varint(62, math.MaxUint64).fixed64(63, 3).fixed32(64, 7)
	path := "RootOper.BGP.Instance.InstanceActive.DefaultVRF.Neighbor"
	check(mustCompile(t, testFiles()), path, header{tables: []table{{path: path, rows: []enc{bgp}}}}.bytes())
}

// BenchmarkCompile: the three example files plus the 50-field bag, as on a reload of
// the proto directory.
func BenchmarkCompile(b *testing.B) {
	files := testFiles()
	files["wide.proto"] = []byte(benchProto())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(files); err != nil {
			b.Fatal(err)
		}
	}
}
