package compact

import (
	"math"
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/netlens/netlens/pkg/decode/xr"
)

// Router-style .proto files for the tests: one row message per schema path, Cisco's
// options, naming fields below tag 50 and data from 50.
const genericProto = `// generated for RootOper.InfraStatistics.Interface.Latest.GenericCounters
import "cisco.proto";

message ifstatsbag_generic {
  option (cisco_msg).schema_path = "RootOper.InfraStatistics.Interface.Latest.GenericCounters";
  optional string interface_name = 1 [(cisco_field).path_element="RootOper.InfraStatistics.Interface(InterfaceName)"];
  optional uint64 packets_received = 50 [(cisco_field).name="PacketsReceived"];
  optional uint64 bytes_received   = 51 [(cisco_field).name="BytesReceived"];
  optional uint64 packets_sent     = 52 [(cisco_field).name="PacketsSent"];
  optional uint64 bytes_sent       = 53 [(cisco_field).name="BytesSent"];
  optional uint32 input_drops      = 54 [(cisco_field).name="InputDrops"];
  optional uint64 last_data_time   = 55;
}
`

// The BGP neighbour bag exercises a package, nested and repeated messages, enums,
// packed fields and every scalar type; its schema path is written with the naming
// parts that headers may leave out.
const bgpProto = `syntax = "proto2";
package xr.bgp;
import "cisco.proto";

enum bgp_conn_state {
  BGP_ST_IDLE = 1;
  BGP_ST_ESTAB = 6;
}

message bgp_prefix_counts {
  optional uint32 accepted = 1 [(cisco_field).name="PrefixesAccepted"];
  optional uint32 denied   = 2 [(cisco_field).name="PrefixesDenied"];
}

message bgp_af {
  optional string af_name = 1 [(cisco_field).name="AFName"];
  optional bgp_prefix_counts counts = 2 [(cisco_field).name="PrefixCounts"];
}

message bgp_nbr_bag {
  option (cisco_msg).schema_path = "RootOper.BGP.Instance({'InstanceName': 'default'}).InstanceActive.DefaultVRF.Neighbor([*])";
  optional string instance_name    = 1 [(cisco_field).path_element="RootOper.BGP.Instance(InstanceName)"];
  optional string neighbor_address = 2 [(cisco_field).name="NeighborAddress"];
  optional bgp_conn_state connection_state = 50 [(cisco_field).name="ConnectionState"];
  optional sint64 clock_offset = 51;
  optional double uptime_ratio = 52 [(cisco_field).name="UptimeRatio"];
  optional bool is_ebgp = 53 [(cisco_field).name="IsEBGP"];
  repeated bgp_af af = 54 [(cisco_field).name="AF"];
  repeated uint32 hold_times = 55 [packed=true, (cisco_field).name="HoldTimes"];
  optional bytes router_id_raw = 56;
  optional sfixed32 delta = 57;
  optional fixed64 big = 58 [(cisco_field).name="Big"];
  optional float loss = 59;
  optional int32 neg = 60;
  optional sint32 small = 61;
  optional int64 wide = 62;
  optional sfixed64 wider = 63;
  optional fixed32 mask = 64;
}
`

const memoryProto = `syntax = "proto2";
import "cisco.proto";

message nto_misc_shmem_summary {
  option (cisco_msg).schema_path = "RootOper.MemorySummary.Node(*).Summary";
  optional string node_name = 1 [(cisco_field).path_element="RootOper.MemorySummary.Node(NodeName)"];
  optional uint32 page_size = 50 [(cisco_field).name="PageSize"];
  optional uint64 ram_memory = 51 [(cisco_field).name="RAMMemory"];
  optional uint64 free_physical_memory = 52 [(cisco_field).name="FreePhysicalMemory"];
}
`

func testFiles() map[string][]byte {
	return map[string][]byte{
		"infrastatistics_generic.proto": []byte(genericProto),
		"bgp_neighbor.proto":            []byte(bgpProto),
		"memory_summary.proto":          []byte(memoryProto),
	}
}

func mustCompile(t testing.TB, files map[string][]byte) *Schema {
	t.Helper()
	s, err := Compile(files)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return s
}

// Hand encoding, independent of the decoder: a row is a list of fields appended with
// protowire, a table a path and rows, a header the envelope of protocols.md 1.3.

type enc []byte

func (e enc) varint(num protowire.Number, v uint64) enc {
	return protowire.AppendVarint(protowire.AppendTag(e, num, protowire.VarintType), v)
}
func (e enc) str(num protowire.Number, s string) enc {
	return protowire.AppendString(protowire.AppendTag(e, num, protowire.BytesType), s)
}
func (e enc) bytes(num protowire.Number, b []byte) enc {
	return protowire.AppendBytes(protowire.AppendTag(e, num, protowire.BytesType), b)
}
func (e enc) fixed32(num protowire.Number, v uint32) enc {
	return protowire.AppendFixed32(protowire.AppendTag(e, num, protowire.Fixed32Type), v)
}
func (e enc) fixed64(num protowire.Number, v uint64) enc {
	return protowire.AppendFixed64(protowire.AppendTag(e, num, protowire.Fixed64Type), v)
}
func (e enc) double(num protowire.Number, f float64) enc { return e.fixed64(num, math.Float64bits(f)) }

type header struct {
	encoding   uint64
	noEncoding bool
	policy     string
	version    string
	identifier string
	start, end uint64
	tables     []table
}

type table struct {
	path string
	rows []enc
}

func (h header) bytes() []byte {
	var e enc
	if !h.noEncoding {
		w := h.encoding
		if w == 0 {
			w = EncodingWord
		}
		e = e.varint(thEncoding, w)
	}
	e = e.str(thPolicyName, h.policy).str(thVersion, h.version).str(thIdentifier, h.identifier)
	e = e.varint(thStartTime, h.start).varint(thEndTime, h.end)
	for _, t := range h.tables {
		var te enc
		te = te.str(ttPolicyPath, t.path)
		for _, r := range t.rows {
			te = te.bytes(ttRow, r)
		}
		e = e.bytes(thTables, te)
	}
	return e
}

func lu(name string, v uint64) xr.Leaf  { return xr.Leaf{Name: name, Kind: xr.LeafUint, U: v} }
func li(name string, v int64) xr.Leaf   { return xr.Leaf{Name: name, Kind: xr.LeafInt, I: v} }
func lf(name string, v float64) xr.Leaf { return xr.Leaf{Name: name, Kind: xr.LeafFloat, F: v} }
func lb(name string, v bool) xr.Leaf    { return xr.Leaf{Name: name, Kind: xr.LeafBool, B: v} }
func ls(name, v string) xr.Leaf         { return xr.Leaf{Name: name, Kind: xr.LeafString, S: v} }

func checkRows(t *testing.T, got []xr.Row, want []xr.Row) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(got), len(want), got)
	}
	for k := range want {
		if !reflect.DeepEqual(got[k], want[k]) {
			t.Errorf("row %d:\n got  %+v\n want %+v", k, got[k], want[k])
		}
	}
}
