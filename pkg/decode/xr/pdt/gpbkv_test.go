package pdt

import (
	"math"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/netlens/netlens/pkg/decode/xr"
)

func ifCounters(name string, ts uint64, pkts, bytes uint64) kv {
	return kv{name: name, ts: ts, kids: []kv{{name: "Latest", kids: []kv{{name: "GenericCounters", kids: []kv{
		{name: "PacketsReceived", val: pkts}, {name: "BytesReceived", val: bytes},
		{name: "InputDrops", val: uint32(3)}, {name: "CarrierTransitions", val: int32(-2)},
	}}}}}}
}

func TestGPBKVInterfaceCounters(t *testing.T) {
	b := kvMsg{
		collectionID: 77, basePath: genericCounters, subscription: "cadence", modelVersion: "6.0.1",
		start: 1447774103808, stamp: 1447774103900, end: 1447774103943,
		fields: []kv{nest([]string{"RootOper", "InfraStatistics", "Interface"},
			ifCounters("GigabitEthernet0/0/0/0", 1447774103850, 1<<53+1, math.MaxUint64),
			ifCounters("Null0", 0, 0, 0))},
	}.encode()
	msg, err := DecodeGPBKV(b)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Path != genericCounters || msg.Subscription != "cadence" || msg.CollectionID != 77 ||
		msg.MsgTimestampMs != 1447774103900 || msg.Encoding != xr.EncodingGPBKV || msg.Node != "" || msg.Policy != "" {
		t.Fatalf("header %+v", msg)
	}
	checkRows(t, msg.Rows, []xr.Row{
		{TimestampMs: 1447774103850, Keys: []xr.Leaf{s("InterfaceName", "GigabitEthernet0/0/0/0")}, Content: []xr.Leaf{
			u("PacketsReceived", 1<<53+1), u("BytesReceived", math.MaxUint64), u("InputDrops", 3), i("CarrierTransitions", -2)}},
		{TimestampMs: 1447774103900, Keys: []xr.Leaf{s("InterfaceName", "Null0")}, Content: []xr.Leaf{
			u("PacketsReceived", 0), u("BytesReceived", 0), u("InputDrops", 3), i("CarrierTransitions", -2)}},
	})
}

// Every member of the value oneof, and rows given model-driven style as keys/content.
func TestGPBKVDataRateValueTypes(t *testing.T) {
	row := func(ifname string, in uint64) kv {
		return kv{name: "Interface", kids: []kv{
			{name: "keys", kids: []kv{{name: "InterfaceName", val: ifname}}},
			{name: "content", kids: []kv{{name: "Latest", kids: []kv{{name: "DataRate", kids: []kv{
				{name: "InputDataRate", val: in}, {name: "PeakInputDataRate", val: int64(math.MinInt64)},
				{name: "LoadFactor", val: 0.25}, {name: "Reliability", val: float32(0.5)},
				{name: "Up", val: true}, {name: "Mac", val: []byte{0, 1, 0xfe}}}}}}}}}}
	}
	b := kvMsg{basePath: "RootOper.InfraStatistics.Interface(*)", start: 10,
		fields: []kv{nest([]string{"RootOper", "InfraStatistics"}, row("Gi0", 5), row("Gi1", 6))}}.encode()
	msg, err := DecodeGPBKV(b)
	if err != nil {
		t.Fatal(err)
	}
	content := func(in uint64) []xr.Leaf {
		return []xr.Leaf{u("Latest/DataRate/InputDataRate", in), i("Latest/DataRate/PeakInputDataRate", math.MinInt64),
			f("Latest/DataRate/LoadFactor", 0.25), f("Latest/DataRate/Reliability", 0.5),
			bl("Latest/DataRate/Up", true), {Name: "Latest/DataRate/Mac", Kind: xr.LeafBytes, S: "\x00\x01\xfe"}}
	}
	checkRows(t, msg.Rows, []xr.Row{
		{TimestampMs: 10, Keys: []xr.Leaf{s("InterfaceName", "Gi0")}, Content: content(5)},
		{TimestampMs: 10, Keys: []xr.Leaf{s("InterfaceName", "Gi1")}, Content: content(6)},
	})
}

// BGP neighbours: a selected instance named in the path, then repeated Neighbor fields
// whose first member is the neighbour address.
func TestGPBKVBGPNeighbors(t *testing.T) {
	const path = "RootOper.BGP.Instance({'InstanceName': 'default'}).InstanceActive.DefaultVRF.Neighbor([*])"
	nbr := func(addr string, as uint32, state string, rx uint64) kv {
		return kv{name: "Neighbor", kids: []kv{{name: "NeighborAddress", val: addr}, {name: "RemoteAS", val: as},
			{name: "ConnectionState", val: state}, {name: "MessagesReceived", val: rx}}}
	}
	b := kvMsg{basePath: path, stamp: 1000, fields: []kv{nest([]string{"RootOper", "BGP", "Instance"},
		kv{name: "default", kids: []kv{{name: "InstanceActive", kids: []kv{{name: "DefaultVRF", kids: []kv{
			nbr("10.0.0.1", 65001, "BGP_ST_ESTAB", 123456), nbr("2001:db8::2", 65002, "BGP_ST_IDLE", 0)}}}}}},
		kv{name: "other", kids: []kv{{name: "InstanceActive", kids: []kv{{name: "DefaultVRF", kids: []kv{
			nbr("10.9.9.9", 1, "BGP_ST_ESTAB", 1)}}}}}})}}.encode()
	msg, err := DecodeGPBKV(b)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, msg.Rows, []xr.Row{
		{TimestampMs: 1000, Keys: []xr.Leaf{s("InstanceName", "default"), s("NeighborAddress", "10.0.0.1")},
			Content: []xr.Leaf{u("RemoteAS", 65001), s("ConnectionState", "BGP_ST_ESTAB"), u("MessagesReceived", 123456)}},
		{TimestampMs: 1000, Keys: []xr.Leaf{s("InstanceName", "default"), s("NeighborAddress", "2001:db8::2")},
			Content: []xr.Leaf{u("RemoteAS", 65002), s("ConnectionState", "BGP_ST_IDLE"), u("MessagesReceived", 0)}},
	})
}

// Memory summary per node, node names as field names below the list's level.
func TestGPBKVMemorySummary(t *testing.T) {
	node := func(name string, free uint64) kv {
		return kv{name: name, kids: []kv{{name: "Summary", kids: []kv{
			{name: "PageSize", val: uint32(4096)}, {name: "RAMMemory", val: uint64(8 << 30)}, {name: "FreeApplicationMemory", val: free}}}}}
	}
	b := kvMsg{basePath: "RootOper.MemorySummary.Node(*).Summary", end: 42,
		fields: []kv{nest([]string{"RootOper", "MemorySummary", "Node"}, node("0/RP0/CPU0", 5<<30), node("0/0/CPU0", 6<<30))}}.encode()
	msg, err := DecodeGPBKV(b)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, msg.Rows, []xr.Row{
		{TimestampMs: 42, Keys: []xr.Leaf{s("NodeName", "0/RP0/CPU0")}, Content: []xr.Leaf{u("PageSize", 4096), u("RAMMemory", 8<<30), u("FreeApplicationMemory", 5<<30)}},
		{TimestampMs: 42, Keys: []xr.Leaf{s("NodeName", "0/0/CPU0")}, Content: []xr.Leaf{u("PageSize", 4096), u("RAMMemory", 8<<30), u("FreeApplicationMemory", 6<<30)}},
	})
}

// Unknown fields are skipped, as protobuf readers must, at both levels.
func TestGPBKVSkipsUnknownFields(t *testing.T) {
	field := ifCounters("Gi0", 0, 1, 2).encode()
	field = protowire.AppendTag(field, 99, protowire.Fixed32Type)
	field = protowire.AppendFixed32(field, 7)
	b := kvMsg{basePath: "RootOper.InfraStatistics.Interface(*)"}.encode()
	b = protowire.AppendTag(b, 20, protowire.BytesType)
	b = protowire.AppendString(b, "future")
	// An empty TelemetryField: no name, no value, nothing to walk.
	b = protowire.AppendTag(b, tmFields, protowire.BytesType)
	b = protowire.AppendBytes(b, nil)
	b = protowire.AppendTag(b, tmFields, protowire.BytesType)
	b = protowire.AppendBytes(b, wrapRaw([]string{"RootOper", "InfraStatistics", "Interface"}, field))
	msg, err := DecodeGPBKV(b)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, msg.Rows, []xr.Row{{Keys: []xr.Leaf{s("InterfaceName", "Gi0")}, Content: []xr.Leaf{
		u("Latest/GenericCounters/PacketsReceived", 1), u("Latest/GenericCounters/BytesReceived", 2),
		u("Latest/GenericCounters/InputDrops", 3), i("Latest/GenericCounters/CarrierTransitions", -2)}}})
}

// wrapRaw nests an already encoded TelemetryField below named containers.
func wrapRaw(names []string, field []byte) []byte {
	for k := len(names) - 1; k >= 0; k-- {
		var b []byte
		b = protowire.AppendTag(b, tfName, protowire.BytesType)
		b = protowire.AppendString(b, names[k])
		b = protowire.AppendTag(b, tfFields, protowire.BytesType)
		field = protowire.AppendBytes(b, field)
	}
	return field
}

func TestGPBKVErrors(t *testing.T) {
	good := kvMsg{basePath: genericCounters, fields: []kv{nest([]string{"RootOper", "InfraStatistics", "Interface"},
		ifCounters("Gi0", 0, 1, 2))}}.encode()
	deep := kv{name: "x", val: uint64(1)}
	for range 70 {
		deep = kv{name: "x", kids: []kv{deep}}
	}
	wrongType := protowire.AppendTag(nil, tmCollectionID, protowire.BytesType)
	wrongType = protowire.AppendString(wrongType, "x")
	badField := protowire.AppendTag(nil, tfDouble, protowire.VarintType)
	badField = protowire.AppendVarint(badField, 1)
	cases := []struct {
		name   string
		in     []byte
		reason string
		lim    Limits
	}{
		{"truncated", good[:len(good)-3], ReasonBadProtobuf, Limits{}},
		{"bad tag", []byte{0x80}, ReasonBadProtobuf, Limits{}},
		{"field number zero", []byte{0x00, 0x01}, ReasonBadProtobuf, Limits{}},
		{"wrong wire type", wrongType, ReasonBadWireType, Limits{}},
		{"wrong wire type in field", protowire.AppendBytes(protowire.AppendTag(nil, tmFields, protowire.BytesType), badField), ReasonBadWireType, Limits{}},
		{"too large", good, ReasonTooLarge, Limits{MaxBytes: 10}},
		{"too deep", kvMsg{fields: []kv{deep}}.encode(), ReasonTooDeep, Limits{}},
		{"too many leaves", good, ReasonTooManyLeaves, Limits{MaxLeaves: 3}},
		{"path mismatch", kvMsg{basePath: dataRate, fields: []kv{{name: "Other", val: "x"}}}.encode(), ReasonPathMismatch, Limits{}},
		{"no path", kvMsg{fields: []kv{{name: "Other", val: "x"}}}.encode(), ReasonNoPath, Limits{}},
		{"bad path", kvMsg{basePath: "RootOper.Interface(*", fields: []kv{{name: "Other", val: "x"}}}.encode(), ReasonBadPath, Limits{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg, err := (&Decoder{Limits: c.lim}).DecodeGPBKV(c.in)
			if err == nil {
				t.Fatalf("decoded %+v", msg)
			}
			wantReason(t, err, c.reason)
		})
	}
}
