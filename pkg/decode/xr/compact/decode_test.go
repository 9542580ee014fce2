package compact

import (
	"errors"
	"math"
	"reflect"
	"strconv"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/netlens/netlens/pkg/decode/xr"
)

// Interface counters as a router sends them: the header names the path with (*), the
// .proto without; the interface name is a naming field (tag 1, path_element) and
// becomes the key InterfaceName; counters keep all 64 bits.
func TestDecodeGenericCounters(t *testing.T) {
	sch := mustCompile(t, testFiles())
	const big = 1<<63 + 12345 // above 2^53: float64 would round it
	h := header{policy: "NetlensPolicy", version: "25", identifier: "xr-pe1", start: 1447774103808, end: 1447774103943,
		tables: []table{{
			path: "RootOper.InfraStatistics.Interface(*).Latest.GenericCounters",
			rows: []enc{
				enc(nil).str(1, "GigabitEthernet0/0/0/0").varint(50, 1234).varint(51, big).varint(52, 99).varint(53, 1<<53+1).varint(54, 7).varint(55, 1447774100),
				enc(nil).str(1, "Null0").varint(50, 0).varint(51, 0),
			},
		}},
	}
	msgs, missing, err := sch.Decode(h.bytes())
	if err != nil || len(missing) != 0 || len(msgs) != 1 {
		t.Fatalf("Decode: %d msgs, missing %v, err %v", len(msgs), missing, err)
	}
	m := msgs[0]
	want := xr.Message{Node: "xr-pe1", Policy: "NetlensPolicy", Path: "RootOper.InfraStatistics.Interface(*).Latest.GenericCounters",
		MsgTimestampMs: 1447774103943, Encoding: xr.EncodingGPBCompact}
	if m.Node != want.Node || m.Policy != want.Policy || m.Path != want.Path || m.MsgTimestampMs != want.MsgTimestampMs ||
		m.Encoding != want.Encoding || m.Subscription != "" || m.CollectionID != 0 {
		t.Fatalf("header: %+v", m)
	}
	checkRows(t, m.Rows, []xr.Row{
		{TimestampMs: 1447774103943, Keys: []xr.Leaf{ls("InterfaceName", "GigabitEthernet0/0/0/0")}, Content: []xr.Leaf{
			lu("PacketsReceived", 1234), lu("BytesReceived", big), lu("PacketsSent", 99), lu("BytesSent", 1<<53+1),
			lu("InputDrops", 7), lu("last_data_time", 1447774100)}},
		{TimestampMs: 1447774103943, Keys: []xr.Leaf{ls("InterfaceName", "Null0")}, Content: []xr.Leaf{
			lu("PacketsReceived", 0), lu("BytesReceived", 0)}},
	})
}

// Nested and repeated messages give slash-joined, repeated names; enums give their
// value names; every scalar type keeps its sign and width. Keys: a path_element field
// named by its naming parameter, and a tag < 50 field named by its cisco name.
func TestDecodeNestedRepeatedEnum(t *testing.T) {
	sch := mustCompile(t, testFiles())
	af := func(name string, acc, den uint64) enc {
		return enc(nil).str(1, name).bytes(2, enc(nil).varint(1, acc).varint(2, den))
	}
	var packed []byte
	for _, v := range []uint64{90, 180, 3} {
		packed = protowire.AppendVarint(packed, v)
	}
	row := enc(nil).str(1, "default").str(2, "192.0.2.1").
		varint(50, 6).
		varint(51, protowire.EncodeZigZag(-42)).
		double(52, 0.25).
		varint(53, 1).
		bytes(54, af("IPv4Unicast", 100, 2)).
		bytes(54, af("VPNv4Unicast", 7, 0)).
		bytes(55, packed).
		varint(55, 4). // a non-packed element after the packed ones: parsers take both
		bytes(56, []byte{10, 0, 0, 1}).
		fixed32(57, uint32(0xffffffff)). // sfixed32 -1
		fixed64(58, math.MaxUint64).
		fixed32(59, math.Float32bits(1.5)).
		varint(60, uint64(0xffffffffffffffff)). // int32 -1 travels as a 10-byte varint
		varint(61, protowire.EncodeZigZag(-7)).
		varint(62, uint64(1<<62)).
		fixed64(63, uint64(1)<<63). // sfixed64 min
		fixed32(64, 0xffffff00).
		varint(50, 99) // an enum number the .proto does not name
	h := header{policy: "BGP", identifier: "xr-pe2", start: 1000, end: 0, tables: []table{{
		path: "RootOper.BGP.Instance.InstanceActive.DefaultVRF.Neighbor", rows: []enc{row},
	}}}
	msgs, missing, err := sch.Decode(h.bytes())
	if err != nil || len(missing) != 0 || len(msgs) != 1 {
		t.Fatalf("Decode: %d msgs, missing %v, err %v", len(msgs), missing, err)
	}
	if msgs[0].MsgTimestampMs != 1000 {
		t.Errorf("timestamp %d, want start_time 1000 when end_time is 0", msgs[0].MsgTimestampMs)
	}
	checkRows(t, msgs[0].Rows, []xr.Row{{TimestampMs: 1000,
		Keys: []xr.Leaf{ls("InstanceName", "default"), ls("NeighborAddress", "192.0.2.1")},
		Content: []xr.Leaf{
			ls("ConnectionState", "BGP_ST_ESTAB"),
			li("clock_offset", -42),
			lf("UptimeRatio", 0.25),
			lb("IsEBGP", true),
			ls("AF/AFName", "IPv4Unicast"), lu("AF/PrefixCounts/PrefixesAccepted", 100), lu("AF/PrefixCounts/PrefixesDenied", 2),
			ls("AF/AFName", "VPNv4Unicast"), lu("AF/PrefixCounts/PrefixesAccepted", 7), lu("AF/PrefixCounts/PrefixesDenied", 0),
			lu("HoldTimes", 90), lu("HoldTimes", 180), lu("HoldTimes", 3), lu("HoldTimes", 4),
			{Name: "router_id_raw", Kind: xr.LeafBytes, S: "\x0a\x00\x00\x01"},
			li("delta", -1),
			lu("Big", math.MaxUint64),
			lf("loss", 1.5),
			li("neg", -1),
			li("small", -7),
			li("wide", 1<<62),
			li("wider", math.MinInt64),
			lu("mask", 0xffffff00),
			ls("ConnectionState", "99"),
		}}})
}

// The memory summary: the path that the dashboard's xr_summary_ram_memory comes from.
// Two tables in one header become two Messages of the same path, in order.
func TestDecodeMemorySummary(t *testing.T) {
	sch := mustCompile(t, testFiles())
	h := header{policy: "Mem", identifier: "xr-pe1", end: 1700000000000, tables: []table{
		{path: "RootOper.MemorySummary.Node(*).Summary", rows: []enc{
			enc(nil).str(1, "0/RP0/CPU0").varint(50, 4096).varint(51, 34359738368).varint(52, 17179869184),
		}},
		{path: "RootOper.MemorySummary.Node.Summary", rows: []enc{
			enc(nil).str(1, "0/0/CPU0").varint(51, 8589934592),
		}},
	}}
	msgs, _, err := sch.Decode(h.bytes())
	if err != nil || len(msgs) != 2 {
		t.Fatalf("Decode: %d msgs, err %v", len(msgs), err)
	}
	checkRows(t, msgs[0].Rows, []xr.Row{{TimestampMs: 1700000000000, Keys: []xr.Leaf{ls("NodeName", "0/RP0/CPU0")},
		Content: []xr.Leaf{lu("PageSize", 4096), lu("RAMMemory", 34359738368), lu("FreePhysicalMemory", 17179869184)}}})
	checkRows(t, msgs[1].Rows, []xr.Row{{TimestampMs: 1700000000000, Keys: []xr.Leaf{ls("NodeName", "0/0/CPU0")},
		Content: []xr.Leaf{lu("RAMMemory", 8589934592)}}})
	if msgs[1].Path != "RootOper.MemorySummary.Node.Summary" {
		t.Errorf("path %q, want it as sent", msgs[1].Path)
	}
}

// A table whose path has no .proto is reported in missing (each path once) and the
// other tables still decode; a nil Schema reports every table missing.
func TestDecodeMissingProto(t *testing.T) {
	sch := mustCompile(t, testFiles())
	h := header{policy: "P", identifier: "r", end: 5, tables: []table{
		{path: "RootOper.Interfaces.Interface(*)", rows: []enc{enc(nil).str(1, "Gi0").varint(50, 1)}},
		{path: "RootOper.MemorySummary.Node(*).Summary", rows: []enc{enc(nil).str(1, "0/RP0/CPU0").varint(51, 1)}},
		{path: "RootOper.Interfaces.Interface(*)", rows: []enc{enc(nil).str(1, "Gi1")}},
	}}
	msgs, missing, err := sch.Decode(h.bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(missing, []string{"RootOper.Interfaces.Interface(*)"}) {
		t.Errorf("missing %q", missing)
	}
	if len(msgs) != 1 || msgs[0].Path != "RootOper.MemorySummary.Node(*).Summary" || len(msgs[0].Rows) != 1 {
		t.Errorf("msgs %+v", msgs)
	}

	var none *Schema
	msgs, missing, err = none.Decode(h.bytes())
	if err != nil || len(msgs) != 0 ||
		!reflect.DeepEqual(missing, []string{"RootOper.Interfaces.Interface(*)", "RootOper.MemorySummary.Node(*).Summary"}) {
		t.Errorf("nil schema: msgs %v missing %q err %v", msgs, missing, err)
	}
	if none.Paths() != nil || none.Files() != nil {
		t.Error("nil schema lists paths or files")
	}

	// Many distinct paths, each sent twice: listed once each, in order of arrival.
	var many header
	var want []string
	for n := range 40 {
		p := "RootOper.P" + strconv.Itoa(n%20)
		many.tables = append(many.tables, table{path: p})
		if n < 20 {
			want = append(want, p)
		}
	}
	if _, missing, err := sch.Decode(many.bytes()); err != nil || !reflect.DeepEqual(missing, want) {
		t.Errorf("many missing: %q, %v", missing, err)
	}
}

// Every rejection carries a reason from Reasons; none panics.
func TestDecodeErrors(t *testing.T) {
	sch := mustCompile(t, testFiles())
	good := header{policy: "P", identifier: "r", end: 5, tables: []table{
		{path: "RootOper.MemorySummary.Node(*).Summary", rows: []enc{enc(nil).str(1, "n").varint(51, 1)}},
	}}
	withRow := func(row enc) []byte {
		h := good
		h.tables = []table{{path: "RootOper.MemorySummary.Node(*).Summary", rows: []enc{row}}}
		return h.bytes()
	}
	wrongEncoding := good
	wrongEncoding.encoding = 0x12345678
	noEncoding := good
	noEncoding.noEncoding = true
	small := *sch
	small.Limits = Limits{MaxBytes: 10}
	fewLeaves := *sch
	fewLeaves.Limits = Limits{MaxRowLeaves: 2}
	fewRows := *sch
	fewRows.Limits = Limits{MaxRows: 1}
	oneTable := *sch
	oneTable.Limits = Limits{MaxTables: 1}
	twoRows := good
	twoRows.tables = []table{{path: "RootOper.MemorySummary.Node.Summary", rows: []enc{enc(nil).varint(51, 1), enc(nil).varint(51, 2)}}}

	cases := []struct {
		name   string
		sch    *Schema
		in     []byte
		reason string
	}{
		{"truncated header", sch, good.bytes()[:20], ReasonBadGPB},
		{"encoding as bytes", sch, enc(nil).str(thEncoding, "x"), ReasonBadGPB},
		{"wrong encoding word", sch, wrongEncoding.bytes(), ReasonBadEncodingWord},
		{"no encoding word", sch, noEncoding.bytes(), ReasonBadEncodingWord},
		{"empty input", sch, nil, ReasonBadEncodingWord},
		{"too large", &small, good.bytes(), ReasonTooLarge},
		{"table not protobuf", sch, enc(nil).varint(thEncoding, EncodingWord).bytes(thTables, []byte{0x0a, 0x05, 'a'}), ReasonBadGPB},
		{"row not protobuf", sch, withRow(enc{0x80}), ReasonBadRow},
		{"row value truncated", sch, withRow(enc{0x98, 0x03, 0x80}), ReasonBadRow},
		{"string field as varint", sch, withRow(enc(nil).varint(1, 5)), ReasonSchemaMismatch},
		{"uint64 field as fixed32", sch, withRow(enc(nil).fixed32(51, 5)), ReasonSchemaMismatch},
		{"row leaves over limit", &fewLeaves, withRow(enc(nil).str(1, "n").varint(50, 1).varint(51, 2)), ReasonTooManyLeaves},
		{"rows over limit", &fewRows, twoRows.bytes(), ReasonTooManyRows},
		{"tables over limit", &oneTable, header{tables: []table{{path: "a"}, {path: "b"}}}.bytes(), ReasonTooManyTables},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msgs, _, err := c.sch.Decode(c.in)
			var e *Error
			if !errors.As(err, &e) || e.Reason != c.reason || msgs != nil {
				t.Fatalf("got msgs %v err %v, want reason %s", msgs, err, c.reason)
			}
		})
	}
}

// Nesting deeper than MaxDepth is refused, on a message type that contains itself.
func TestDecodeTooDeep(t *testing.T) {
	sch := mustCompile(t, map[string][]byte{"tree.proto": []byte(`syntax = "proto2";
import "cisco.proto";
message node {
  optional uint32 v = 1;
  optional node child = 2;
}
message tree_bag {
  option (cisco_msg).schema_path = "RootOper.Tree.Node";
  optional string name = 1 [(cisco_field).path_element="RootOper.Tree.Node(Name)"];
  optional node root = 50 [(cisco_field).name="Root"];
}
`)})
	row := func(depth int) enc {
		n := enc(nil).varint(1, 1)
		for range depth {
			n = enc(nil).varint(1, 1).bytes(2, n)
		}
		return enc(nil).str(1, "t").bytes(50, n)
	}
	h := func(r enc) []byte {
		return header{tables: []table{{path: "RootOper.Tree.Node(*)", rows: []enc{r}}}}.bytes()
	}
	msgs, _, err := sch.Decode(h(row(3)))
	if err != nil {
		t.Fatal(err)
	}
	content := msgs[0].Rows[0].Content
	wantLast := lu("Root/child/child/child/v", 1)
	if len(content) != 4 || content[0] != lu("Root/v", 1) || content[3] != wantLast {
		t.Fatalf("content %+v", content)
	}
	_, _, err = sch.Decode(h(row(DefaultLimits.MaxDepth + 1)))
	var e *Error
	if !errors.As(err, &e) || e.Reason != ReasonTooDeep {
		t.Fatalf("err %v, want too_deep", err)
	}
}

// Fields the .proto does not know (a router newer than its files) are skipped, groups
// included, and the known fields around them still decode.
func TestDecodeSkipsUnknownFields(t *testing.T) {
	sch := mustCompile(t, testFiles())
	group := protowire.AppendTag(nil, 120, protowire.StartGroupType)
	group = protowire.AppendVarint(protowire.AppendTag(group, 1, protowire.VarintType), 5)
	group = protowire.AppendTag(group, 120, protowire.EndGroupType)
	row := enc(nil).str(1, "0/RP0/CPU0").varint(99, 1).fixed64(100, 2).str(101, "new")
	row = append(row, group...)
	row = row.varint(51, 77)
	msgs, _, err := sch.Decode(header{tables: []table{{path: "RootOper.MemorySummary.Node.Summary", rows: []enc{row}}}}.bytes())
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, msgs[0].Rows, []xr.Row{{Keys: []xr.Leaf{ls("NodeName", "0/RP0/CPU0")}, Content: []xr.Leaf{lu("RAMMemory", 77)}}})
}

// One Schema serves many connections at once (run with -race): the lazily built
// plans of nested messages are shared safely.
func TestDecodeConcurrent(t *testing.T) {
	sch := mustCompile(t, testFiles())
	in := fuzzSeeds()[1]
	want, _, err := sch.Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	fresh := mustCompile(t, testFiles())
	done := make(chan []*xr.Message)
	for range 4 {
		go func() {
			got, _, _ := fresh.Decode(in)
			done <- got
		}()
	}
	for range 4 {
		got := <-done
		if len(got) != 1 || !reflect.DeepEqual(got[0].Rows, want[0].Rows) {
			t.Errorf("concurrent decode: %+v", got)
		}
	}
}

// A map field decodes as repeated Name/key and Name/value leaves, entry by entry.
func TestDecodeMapField(t *testing.T) {
	sch := mustCompile(t, map[string][]byte{"m.proto": []byte(`syntax = "proto3";
import "cisco.proto";
message m_bag {
  option (cisco_msg).schema_path = "RootOper.M";
  map<string, uint64> drops = 50 [(cisco_field).name = "Drops"];
}
`)})
	entry := func(k string, v uint64) enc { return enc(nil).str(1, k).varint(2, v) }
	row := enc(nil).bytes(50, entry("tail", 3)).bytes(50, entry("red", 1<<60))
	msgs, _, err := sch.Decode(header{tables: []table{{path: "RootOper.M", rows: []enc{row}}}}.bytes())
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, msgs[0].Rows, []xr.Row{{Content: []xr.Leaf{
		ls("Drops/key", "tail"), lu("Drops/value", 3), ls("Drops/key", "red"), lu("Drops/value", 1<<60)}}})
}
