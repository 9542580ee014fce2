package xrmap

import (
	"strings"
	"testing"

	"github.com/netlens/netlens/pkg/model"
)

// The normative examples of the contract: the same data sent policy-driven
// and model-driven gets one series name.
func TestMetricNameContractExamples(t *testing.T) {
	for _, c := range []struct{ path, leaf, want string }{
		{"RootOper.InfraStatistics.Interface(*).Latest.GenericCounters", "BytesReceived", "xr_generic_counters_bytes_received"},
		{"Cisco-IOS-XR-infra-statsd-oper:infra-statistics/interfaces/interface/latest/generic-counters", "bytes-received", "xr_generic_counters_bytes_received"},
		{"RootOper.InfraStatistics.Interface(*).Latest.DataRate", "InputDataRate", "xr_data_rate_input_data_rate"},
		{"Cisco-IOS-XR-infra-statsd-oper:infra-statistics/interfaces/interface/latest/data-rate", "input-data-rate", "xr_data_rate_input_data_rate"},
		{"RootOper.MemorySummary.Node(*).Summary", "RAMMemory", "xr_summary_ram_memory"},
		{"Cisco-IOS-XR-nto-misc-oper:memory-summary/nodes/node/summary", "ram-memory", "xr_summary_ram_memory"},
	} {
		got, ok := MetricName(c.path, c.leaf)
		if !ok || got != c.want {
			t.Errorf("MetricName(%q, %q) = %q, %v; want %q", c.path, c.leaf, got, ok, c.want)
		}
	}
}

func TestMetricNameEdges(t *testing.T) {
	for _, c := range []struct{ path, leaf, want string }{
		// nested leaves: '/' becomes '_'
		{"Cisco-IOS-XR-procmem-oper:processes-memory/nodes/node/process-ids/process-id", "text-seg-size", "xr_process_id_text_seg_size"},
		{"openconfig-interfaces:interfaces", "interface/state/counters/in-octets", "xr_interfaces_interface_state_counters_in_octets"},
		// a module prefix inside a leaf name (augment) is a separator like any ':'
		{"openconfig-platform:components", "component/openconfig-platform-linecard:linecard/state/power-admin-state",
			"xr_components_component_openconfig_platform_linecard_linecard_state_power_admin_state"},
		// key parts holding '.', '/' and quotes are dropped before splitting
		{"RootOper.BGP.Instance({'InstanceName': 'default'}).InstanceActive.DefaultVRF.Neighbor([*])", "ConnectionState", "xr_neighbor_connection_state"},
		{"RootOper.InfraStatistics.Interface(Name='Gi0/0/0/0').Latest.GenericCounters", "PacketsSent", "xr_generic_counters_packets_sent"},
		{"Cisco-IOS-XR-ifmgr-oper:interface-properties/data-nodes/data-node[data-node-name='0/RP0/CPU0']", "mtu", "xr_data_node_mtu"},
		{"Cisco-IOS-XR-ifmgr-oper:a/b/interface[name='a.b/c]d']", "mtu", "xr_interface_mtu"},
		// native YANG path with a predicate, trailing separator
		{"/Cisco-IOS-XR-infra-statsd-oper:infra-statistics/interfaces/interface=*", "mtu", "xr_interface_mtu"},
		{"Cisco-IOS-XR-wdsysmon-fd-oper:system-monitoring/cpu-utilization/", "total-cpu-one-minute", "xr_cpu_utilization_total_cpu_one_minute"},
		// acronyms and digits
		{"RootOper.A.IPv4Stats", "IPAddressCount", "xr_ipv4_stats_ip_address_count"},
		{"RootOper.A.B", "CPUUtilization5Min", "xr_b_cpu_utilization5_min"},
		{"RootOper.A.B", "Ipv6MTU", "xr_b_ipv6_mtu"},
		{"RootOper.A.B", "InterfaceID", "xr_b_interface_id"},
		{"RootOper.A.B", "PEMAttributes", "xr_b_pem_attributes"},
		{"RootOper.A.B", "already_snake__case", "xr_b_already_snake_case"},
		{"RootOper.A.B", "with space.and-dash", "xr_b_with_space_and_dash"},
		// invalid characters dropped, runs collapsed
		{"RootOper.A.B", "Temp°Celsius", "xr_b_temp_celsius"},
		{"RootOper.A.B", "a%b", "xr_b_ab"},
		// no path (6.0.0 JSON without one): the leaf alone
		{"", "BytesReceived", "xr_bytes_received"},
		{"(*)", "x", "xr_x"},
	} {
		got, ok := MetricName(c.path, c.leaf)
		if !ok || got != c.want {
			t.Errorf("MetricName(%q, %q) = %q, %v; want %q", c.path, c.leaf, got, ok, c.want)
		}
		if ok && !model.ValidMetricName(got) {
			t.Errorf("MetricName(%q, %q) = %q is not a valid metric name", c.path, c.leaf, got)
		}
	}
}

func TestMetricNameRefused(t *testing.T) {
	for _, c := range []struct{ path, leaf string }{
		{"RootOper.A.B", ""},
		{"RootOper.A.B", "°é€"},
		{"RootOper.A.B", "---"},
		{"RootOper.A.B", strings.Repeat("a", MaxMetricName)},
		{"RootOper.A." + strings.Repeat("B", 150), strings.Repeat("c", 50)},
	} {
		if got, ok := MetricName(c.path, c.leaf); ok {
			t.Errorf("MetricName(%q, %q) = %q, want refused", c.path, c.leaf, got)
		}
	}
	// exactly at the limit is accepted
	leaf := strings.Repeat("a", MaxMetricName-len("xr_b_"))
	if got, ok := MetricName("RootOper.A.B", leaf); !ok || len(got) != MaxMetricName {
		t.Errorf("name of %d bytes refused: %q %v", MaxMetricName, got, ok)
	}
}

func TestLabelName(t *testing.T) {
	for in, want := range map[string]string{
		"InterfaceName":   "interface_name",
		"interface-name":  "interface_name",
		"node-name":       "node_name",
		"IPAddress":       "ip_address",
		"process-id":      "process_id",
		"name":            "name",
		"Name":            "name",
		"device":          "key_device",
		"Device":          "key_device",
		"path":            "key_path",
		"Policy":          "key_policy",
		"subscription":    "key_subscription",
		"index":           "key_index",
		"__name__":        "name",
		"":                "key",
		"°":               "key",
		"5tuple":          "key_5tuple",
		"device-name":     "device_name",
		"openconfig:name": "openconfig_name",
	} {
		got := LabelName(in)
		if got != want {
			t.Errorf("LabelName(%q) = %q, want %q", in, got, want)
		}
		if !model.ValidLabelName(got) || strings.HasPrefix(got, "__") {
			t.Errorf("LabelName(%q) = %q is not a usable label name", in, got)
		}
	}
	long := strings.Repeat("Ab", 100)
	if got := LabelName(long); got != "ab"+strings.Repeat("_ab", 99) {
		t.Errorf("long key: %q", got)
	}
}

// Names of anything a router may send stay valid, and MetricName never
// panics.
func FuzzMetricName(f *testing.F) {
	f.Add("RootOper.InfraStatistics.Interface(*).Latest.GenericCounters", "BytesReceived")
	f.Add("a:b/c[d='(']", "x/y")
	f.Add("((((", "]]]")
	f.Fuzz(func(t *testing.T, path, leaf string) {
		if n, ok := MetricName(path, leaf); ok && (!model.ValidMetricName(n) || len(n) > MaxMetricName || strings.Contains(n, "__")) {
			t.Fatalf("MetricName(%q, %q) = %q", path, leaf, n)
		}
		if l := LabelName(leaf); !model.ValidLabelName(l) || strings.HasPrefix(l, "__") {
			t.Fatalf("LabelName(%q) = %q", leaf, l)
		}
	})
}
