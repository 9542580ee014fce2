package xrsim

import "testing"

// The examples of the contract (notes/xr2-contracts.md, "Series naming").
func TestMetricNameContractExamples(t *testing.T) {
	cases := []struct{ path, leaf, want string }{
		{"RootOper.InfraStatistics.Interface(*).Latest.GenericCounters", "BytesReceived", "xr_generic_counters_bytes_received"},
		{"Cisco-IOS-XR-infra-statsd-oper:infra-statistics/interfaces/interface/latest/generic-counters", "bytes-received", "xr_generic_counters_bytes_received"},
		{"RootOper.InfraStatistics.Interface(*).Latest.DataRate", "InputDataRate", "xr_data_rate_input_data_rate"},
		{"Cisco-IOS-XR-infra-statsd-oper:infra-statistics/interfaces/interface/latest/data-rate", "input-data-rate", "xr_data_rate_input_data_rate"},
		{"RootOper.MemorySummary.Node(*).Summary", "RAMMemory", "xr_summary_ram_memory"},
		{"Cisco-IOS-XR-nto-misc-oper:memory-summary/nodes/node/summary", "ram-memory", "xr_summary_ram_memory"},
		{"RootOper.BGP.Instance({'InstanceName': 'default'}).InstanceActive.DefaultVRF.Neighbor([*])", "RemoteAS", "xr_neighbor_remote_as"},
		{"Cisco-IOS-XR-ipv4-bgp-oper:bgp/instances/instance/instance-active/default-vrf/neighbors/neighbor", "remote-as", "xr_neighbor_remote_as"},
		{"RootOper.InfraStatistics.Interface(*).Latest", "GenericCounters/CRCErrors", "xr_latest_generic_counters_crc_errors"},
		{"Foo.Destination(IPAddress=1.1.1.1, Port=2000)", "Leaf1", "xr_destination_leaf1"},
		{"RootOper.Interfaces.Interface(*)", "MTU", "xr_interface_mtu"},
	}
	for _, c := range cases {
		if got, ok := MetricName(c.path, c.leaf); got != c.want || !ok {
			t.Errorf("MetricName(%q, %q) = %q %v, want %q", c.path, c.leaf, got, ok, c.want)
		}
	}
	if got, _ := MetricName("a.B", "x\x00é!y"); got != "xr_b_xy" {
		t.Errorf("invalid characters kept: %q", got)
	}
	long := ""
	for range 210 {
		long += "a"
	}
	if _, ok := MetricName("a.B", long); ok {
		t.Error("a name over 200 characters is accepted")
	}
	for key, want := range map[string]string{"InterfaceName": "interface_name", "interface-name": "interface_name",
		"NeighborAddress": "neighbor_address", "Path": "key_path", "device": "key_device", "index": "key_index"} {
		if got := LabelName(key); got != want {
			t.Errorf("LabelName(%q) = %q, want %q", key, got, want)
		}
	}
}

// Whatever the generation or encoding, one leaf is one metric and one
// naming parameter one label, so a dashboard works for every router.
func TestGenerationsAgreeOnNames(t *testing.T) {
	for _, p := range Paths {
		for _, l := range p.Leaves {
			pdt, _ := MetricName(p.PDT, l.PDT)
			mdt, _ := MetricName(p.MDT, l.MDT)
			compact, _ := MetricName(p.Schema, l.PDT)
			if pdt != mdt || pdt != compact {
				t.Errorf("%s %s: PDT %s, MDT %s, compact %s", p.ID, l.PDT, pdt, mdt, compact)
			}
			if snake(l.PDT) != l.Proto {
				t.Errorf("%s: schema name %s and field name %s disagree", p.ID, l.PDT, l.Proto)
			}
		}
		for _, k := range p.Keys {
			// Inventory's rack is named "name" in the YANG model and
			// RackName by the PDT schema, as on real routers.
			if LabelName(k.PDT) != LabelName(k.MDT) && p.ID != "inventory" {
				t.Errorf("%s key %s / %s", p.ID, k.PDT, k.MDT)
			}
		}
	}
}
