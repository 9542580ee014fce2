package pdt

import (
	"strings"
	"testing"

	"github.com/netlens/netlens/pkg/decode/xr"
)

const genericCounters = "RootOper.InfraStatistics.Interface(*).Latest.GenericCounters"
const dataRate = "RootOper.InfraStatistics.Interface(*).Latest.DataRate"

// XR 6.0.1+ message: header keys without spaces, the list name as its own level above
// the interface names, and counters beyond 2^53 that float64 would round.
const json601 = `{
 "Policy": "NetlensDemo", "Version": "25", "Identifier": "r1-pe",
 "CollectionID": 18446744073709551615, "Path": "` + genericCounters + `",
 "CollectionStartTime": 1447774103808,
 "Data": {"RootOper": {"InfraStatistics": {"Interface": {
   "GigabitEthernet0/0/0/0": {"Latest": {"GenericCounters": {
     "PacketsReceived": 9007199254740993, "BytesReceived": 18446744073709551615,
     "InputDrops": 0, "CarrierTransitions": -1, "LastDataTime": 1447774103, "Availability": 99.5,
     "Up": true, "Description": "to r2"}}},
   "Null0": {"Latest": {"GenericCounters": {"PacketsReceived": 0, "BytesReceived": 0}}}
 }}}},
 "CollectionEndTime": 1447774103943
}`

func TestJSON601InterfaceCounters(t *testing.T) {
	msg, err := DecodeJSON([]byte(json601))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Policy != "NetlensDemo" || msg.Node != "r1-pe" || msg.Path != genericCounters ||
		msg.CollectionID != 18446744073709551615 || msg.MsgTimestampMs != 1447774103943 || msg.Encoding != xr.EncodingJSON {
		t.Fatalf("header %+v", msg)
	}
	const ts = 1447774103943
	checkRows(t, msg.Rows, []xr.Row{
		{TimestampMs: ts, Keys: []xr.Leaf{s("InterfaceName", "GigabitEthernet0/0/0/0")}, Content: []xr.Leaf{
			u("PacketsReceived", 9007199254740993), u("BytesReceived", 18446744073709551615),
			u("InputDrops", 0), i("CarrierTransitions", -1), u("LastDataTime", 1447774103), f("Availability", 99.5),
			bl("Up", true), s("Description", "to r2")}},
		{TimestampMs: ts, Keys: []xr.Leaf{s("InterfaceName", "Null0")}, Content: []xr.Leaf{
			u("PacketsReceived", 0), u("BytesReceived", 0)}},
	})
}

// XR 6.0.0 message: "Start Time"/"End Time", no Path, interface names straight below
// InfraStatistics, GenericCounters and DataRate side by side.
const json600 = `{"Policy": "mypolicy", "Version": 30, "Identifier": "c2_e",
 "Start Time": 1447774103808, "End Time": 1447774103943,
 "Data": {"RootOper": {"InfraStatistics": {
   "Null0": {"Latest": {"GenericCounters": {"PacketsReceived": 0}, "DataRate": {"InputDataRate": 0}}},
   "GigabitEthernet0/0/0/0": {"Latest": {"GenericCounters": {"PacketsReceived": 42},
     "DataRate": {"InputDataRate": 17, "OutputDataRate": 23, "Bandwidth": 1000000}}}}}}}`

func TestJSON600TakesPathFromPolicy(t *testing.T) {
	d := Decoder{Paths: []string{"RootOper.MemorySummary.Node", dataRate, genericCounters}}
	msg, err := d.DecodeJSON([]byte(json600))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Path != dataRate || msg.Policy != "mypolicy" || msg.Node != "c2_e" || msg.MsgTimestampMs != 1447774103943 {
		t.Fatalf("header %+v", msg)
	}
	const ts = 1447774103943
	checkRows(t, msg.Rows, []xr.Row{
		{TimestampMs: ts, Keys: []xr.Leaf{s("InterfaceName", "Null0")}, Content: []xr.Leaf{u("InputDataRate", 0)}},
		{TimestampMs: ts, Keys: []xr.Leaf{s("InterfaceName", "GigabitEthernet0/0/0/0")}, Content: []xr.Leaf{
			u("InputDataRate", 17), u("OutputDataRate", 23), u("Bandwidth", 1000000)}},
	})

	d.Paths = append(d.Paths, "RootOper.InfraStatistics.Interface(*).Latest")
	if msg, err = d.DecodeJSON([]byte(json600)); err != nil {
		t.Fatal(err)
	}
	if msg.Path != "RootOper.InfraStatistics.Interface(*).Latest" {
		t.Fatalf("path %q", msg.Path)
	}
	checkRows(t, msg.Rows, []xr.Row{
		{TimestampMs: ts, Keys: []xr.Leaf{s("InterfaceName", "Null0")}, Content: []xr.Leaf{
			u("GenericCounters/PacketsReceived", 0), u("DataRate/InputDataRate", 0)}},
		{TimestampMs: ts, Keys: []xr.Leaf{s("InterfaceName", "GigabitEthernet0/0/0/0")}, Content: []xr.Leaf{
			u("GenericCounters/PacketsReceived", 42), u("DataRate/InputDataRate", 17), u("DataRate/OutputDataRate", 23), u("DataRate/Bandwidth", 1000000)}},
	})

	if _, err := DecodeJSON([]byte(json600)); err == nil {
		t.Fatal("6.0.0 message without policy paths decoded")
	} else {
		wantReason(t, err, ReasonNoPath)
	}
}

// The seed's own illustration: list instances as array elements whose naming values
// come first, a per-row CollectionTime, and a two-level naming path.
func TestJSONSeedArrayInstances(t *testing.T) {
	msg, err := DecodeJSON([]byte(`{"Policy": "p", "Path": "Interfaces(*).Counters.Protocols('IPv4')", "CollectionEndTime": 99,
	 "Data": { "Interfaces": [
	  { "Name": "GigabitEthernet0/0/0/1", "Counters": { "Protocols": [
	    { "ProtoName": "IPv4", "CollectionTime": 12345678, "InputPkts": 100, "InputBytes": 200 } ] } },
	  { "Name": "GigabitEthernet0/0/0/2", "Counters": { "Protocols": [
	    { "ProtoName": "IPv4", "CollectionTime": 12345679, "InputPkts": 400, "InputBytes": 500 } ] } } ] } }`))
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, msg.Rows, []xr.Row{
		{TimestampMs: 12345678, Keys: []xr.Leaf{s("Name", "GigabitEthernet0/0/0/1"), s("ProtoName", "IPv4")},
			Content: []xr.Leaf{u("InputPkts", 100), u("InputBytes", 200)}},
		{TimestampMs: 12345679, Keys: []xr.Leaf{s("Name", "GigabitEthernet0/0/0/2"), s("ProtoName", "IPv4")},
			Content: []xr.Leaf{u("InputPkts", 400), u("InputBytes", 500)}},
	})
}

// Seed: "a naming parameter with multiple keys ... would be represented by nesting
// each key in order", and the object form of the same Interfaces example.
func TestJSONSeedNestedKeys(t *testing.T) {
	msg, err := DecodeJSON([]byte(`{"Path": "Foo.Destination(IPAddress=*, Port=*)",
	 "Data": {"Foo": {"Destination": {"1.1.1.1": {"2000": {"Leaf1": 100}}, "2.2.2.2": {"53": {"Leaf1": 7}}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, msg.Rows, []xr.Row{
		{Keys: []xr.Leaf{s("IPAddress", "1.1.1.1"), s("Port", "2000")}, Content: []xr.Leaf{u("Leaf1", 100)}},
		{Keys: []xr.Leaf{s("IPAddress", "2.2.2.2"), s("Port", "53")}, Content: []xr.Leaf{u("Leaf1", 7)}},
	})

	msg, err = DecodeJSON([]byte(`{"Path": "Interfaces(*).Counters.Protocols(*)", "Data": {"Interfaces": {
	  "GigabitEthernet0/0/0/1": {"Counters": {"Protocols": {"IPv4": {"CollectionTime": 12345678, "InputPkts": 100, "InputBytes": 200}}}},
	  "GigabitEthernet0/0/0/2": {"Counters": {"Protocols": {"IPv4": {"CollectionTime": 12345678, "InputPkts": 400, "InputBytes": 500}}}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, msg.Rows, []xr.Row{
		{TimestampMs: 12345678, Keys: []xr.Leaf{s("InterfacesName", "GigabitEthernet0/0/0/1"), s("ProtocolsName", "IPv4")},
			Content: []xr.Leaf{u("InputPkts", 100), u("InputBytes", 200)}},
		{TimestampMs: 12345678, Keys: []xr.Leaf{s("InterfacesName", "GigabitEthernet0/0/0/2"), s("ProtocolsName", "IPv4")},
			Content: []xr.Leaf{u("InputPkts", 400), u("InputBytes", 500)}},
	})
}

// Inventory: four naming levels, nested containers and a repeated container below the
// path, whose elements repeat one leaf name.
func TestJSONInventory(t *testing.T) {
	const path = "RootOper.PlatformInventory.Rack(*).Slot(*).Card(*).Sensor(*).Attributes.BasicInfo"
	msg, err := DecodeJSON([]byte(`{"Policy": "inv", "Path": "` + path + `", "CollectionStartTime": 5, "Data": {"RootOper": {"PlatformInventory": {
	 "Rack": {"0": {"Slot": {"RP0": {"Card": {"0": {"Sensor": {
	   "0": {"Attributes": {"BasicInfo": {"Name": "Inlet0", "SerialNumber": "FOC1", "Env": {"Value": -5, "Unit": "celsius"}, "Alarms": [1, 2]}}},
	   "1": {"Attributes": {"BasicInfo": {"Name": "Hotspot0", "SerialNumber": null}}}}}}}}}}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	keys := func(sensor string) []xr.Leaf {
		return []xr.Leaf{s("RackName", "0"), s("SlotName", "RP0"), s("CardName", "0"), s("SensorName", sensor)}
	}
	checkRows(t, msg.Rows, []xr.Row{
		{TimestampMs: 5, Keys: keys("0"), Content: []xr.Leaf{s("Name", "Inlet0"), s("SerialNumber", "FOC1"),
			i("Env/Value", -5), s("Env/Unit", "celsius"), u("Alarms", 1), u("Alarms", 2)}},
		{TimestampMs: 5, Keys: keys("1"), Content: []xr.Leaf{s("Name", "Hotspot0")}},
	})
}

func TestJSONSelectedNamingValueFilters(t *testing.T) {
	msg, err := DecodeJSON([]byte(`{"Path": "RootOper.InfraStatistics.Interface(*).Latest.Protocol(['IPV4_UNICAST'])",
	 "Data": {"RootOper": {"InfraStatistics": {"Interface": {"Gi0": {"Latest": {"Protocol": {
	   "IPV4_UNICAST": {"BytesReceived": 1}, "IPV6_UNICAST": {"BytesReceived": 2}}}}}}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, msg.Rows, []xr.Row{
		{Keys: []xr.Leaf{s("InterfaceName", "Gi0"), s("ProtocolName", "IPV4_UNICAST")}, Content: []xr.Leaf{u("BytesReceived", 1)}},
	})
}

func TestJSONEndOfCollectionHasNoRows(t *testing.T) {
	msg, err := DecodeJSON([]byte(`{"Policy": "p", "CollectionID": 7, "Path": "` + genericCounters + `", "CollectionEndTime": 9}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Rows) != 0 || msg.CollectionID != 7 || msg.MsgTimestampMs != 9 {
		t.Fatalf("%+v", msg)
	}
}

func TestJSONErrors(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 70) + "1" + strings.Repeat("}", 70)
	cases := []struct {
		name, in, reason string
		lim              Limits
	}{
		{"syntax", `{"Path": }`, ReasonBadJSON, Limits{}},
		{"truncated", `{"Path": "x"`, ReasonBadJSON, Limits{}},
		{"not an object", `[1,2]`, ReasonBadJSON, Limits{}},
		{"trailing data", `{} {}`, ReasonBadJSON, Limits{}},
		{"empty", ``, ReasonBadJSON, Limits{}},
		{"too large", json601, ReasonTooLarge, Limits{MaxBytes: 100}},
		{"too deep", deep, ReasonTooDeep, Limits{}},
		{"too many leaves", json601, ReasonTooManyLeaves, Limits{MaxLeaves: 10}},
		{"header type", `{"CollectionID": "abc"}`, ReasonBadHeader, Limits{}},
		{"header object", `{"Policy": {}}`, ReasonBadHeader, Limits{}},
		{"negative time", `{"CollectionStartTime": -1}`, ReasonBadHeader, Limits{}},
		{"bad path", `{"Path": "RootOper..Interfaces", "Data": {"RootOper": {}}}`, ReasonBadPath, Limits{}},
		{"path too long", `{"Path": "` + strings.Repeat("A.", MaxPathElements) + `B", "Data": {"A": 1}}`, ReasonBadPath, Limits{}},
		{"naming values multiply leaves", `{"Path": "A(*).X(*).Y(*)", "Data": {"A": {"a1": {"X": {"x1": {"Y": {"y1": 1, "y2": 2}}}}}}}`, ReasonTooManyLeaves, Limits{MaxLeaves: 3}},
		{"only empty containers", `{"Path": "A", "Data": {"A": {"B": {}}}}`, ReasonPathMismatch, Limits{}},
		{"path mismatch", `{"Path": "` + genericCounters + `", "Data": {"RootOper": {"MemorySummary": {"Free": 1}}}}`, ReasonPathMismatch, Limits{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg, err := (&Decoder{Limits: c.lim}).DecodeJSON([]byte(c.in))
			if err == nil {
				t.Fatalf("decoded %+v", msg)
			}
			wantReason(t, err, c.reason)
		})
	}
}
