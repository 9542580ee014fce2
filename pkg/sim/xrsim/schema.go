package xrsim

import "strings"

// LeafType is a leaf's type on the wire: it picks the KV oneof member and
// the compact row's field type.
type LeafType uint8

const (
	TypeUint32 LeafType = iota
	TypeUint64
	TypeString
	TypeBool
)

func (t LeafType) proto() string {
	switch t {
	case TypeUint32:
		return "uint32"
	case TypeUint64:
		return "uint64"
	case TypeBool:
		return "bool"
	}
	return "string"
}

// Name is one leaf's or key's name in the three spellings IOS XR uses:
// PDT schema names (CamelCase, JSON members and KV names), YANG names (MDT),
// and the field name of the compact .proto (snake case).
type Name struct {
	PDT, MDT, Proto string
}

// Leaf describes one data leaf of a path.
type Leaf struct {
	Name
	Type LeafType
}

// Path is one of the sensor paths the router serves, in both generations.
type Path struct {
	ID     string // short name used by flags and tests: counters, rates, interfaces, memory, bgp, inventory
	PDT    string // policy path as in the .policy file
	Schema string // compact schema path: the policy path without naming parameters
	MDT    string // model-driven sensor path (encoding_path)
	// Keys are the naming parameters, outermost first. PathElement is the
	// compact .proto's path_element option of the key field.
	Keys        []Key
	Leaves      []Leaf
	ProtoFile   string // file name under provisioning/xr/protos
	ProtoMsg    string // row message name
	ProtoHeader string // comment line at the top of the .proto
}

// Key is one naming parameter.
type Key struct {
	Name
	PathElement string
}

func n(pdt, mdt string) Name {
	return Name{PDT: pdt, MDT: mdt, Proto: strings.ReplaceAll(mdt, "-", "_")}
}

func lf(t LeafType, pdt, mdt string) Leaf { return Leaf{Name: n(pdt, mdt), Type: t} }

// Paths are the six paths of the seed's examples, in the order the policy
// lists them. Leaf names are those real routers send (YANG names from the
// Cisco-IOS-XR-*-oper models, schema names from the XR 6.x bags); the PDT and
// MDT spellings of one leaf map to the same metric under the naming rule.
var Paths = []*Path{
	{
		ID:     "counters",
		PDT:    "RootOper.InfraStatistics.Interface(*).Latest.GenericCounters",
		Schema: "RootOper.InfraStatistics.Interface.Latest.GenericCounters",
		MDT:    "Cisco-IOS-XR-infra-statsd-oper:infra-statistics/interfaces/interface/latest/generic-counters",
		Keys:   []Key{{n("InterfaceName", "interface-name"), "RootOper.InfraStatistics.Interface(InterfaceName)"}},
		Leaves: []Leaf{
			lf(TypeUint64, "PacketsReceived", "packets-received"),
			lf(TypeUint64, "BytesReceived", "bytes-received"),
			lf(TypeUint64, "PacketsSent", "packets-sent"),
			lf(TypeUint64, "BytesSent", "bytes-sent"),
			lf(TypeUint64, "MulticastPacketsReceived", "multicast-packets-received"),
			lf(TypeUint64, "BroadcastPacketsReceived", "broadcast-packets-received"),
			lf(TypeUint64, "MulticastPacketsSent", "multicast-packets-sent"),
			lf(TypeUint64, "BroadcastPacketsSent", "broadcast-packets-sent"),
			lf(TypeUint32, "OutputDrops", "output-drops"),
			lf(TypeUint32, "OutputQueueDrops", "output-queue-drops"),
			lf(TypeUint32, "InputDrops", "input-drops"),
			lf(TypeUint32, "InputQueueDrops", "input-queue-drops"),
			lf(TypeUint32, "RuntPacketsReceived", "runt-packets-received"),
			lf(TypeUint32, "GiantPacketsReceived", "giant-packets-received"),
			lf(TypeUint32, "InputErrors", "input-errors"),
			lf(TypeUint32, "CRCErrors", "crc-errors"),
			lf(TypeUint32, "OutputErrors", "output-errors"),
			lf(TypeUint32, "CarrierTransitions", "carrier-transitions"),
			lf(TypeUint32, "AvailabilityFlag", "availability-flag"),
			lf(TypeUint32, "LastDataTime", "last-data-time"),
			lf(TypeUint32, "SecondsSinceLastClearCounters", "seconds-since-last-clear-counters"),
		},
		ProtoFile: "infrastatistics_generic.proto", ProtoMsg: "ifstatsbag_generic",
	},
	{
		ID:     "rates",
		PDT:    "RootOper.InfraStatistics.Interface(*).Latest.DataRate",
		Schema: "RootOper.InfraStatistics.Interface.Latest.DataRate",
		MDT:    "Cisco-IOS-XR-infra-statsd-oper:infra-statistics/interfaces/interface/latest/data-rate",
		Keys:   []Key{{n("InterfaceName", "interface-name"), "RootOper.InfraStatistics.Interface(InterfaceName)"}},
		Leaves: []Leaf{
			lf(TypeUint64, "InputDataRate", "input-data-rate"),
			lf(TypeUint64, "InputPacketRate", "input-packet-rate"),
			lf(TypeUint64, "OutputDataRate", "output-data-rate"),
			lf(TypeUint64, "OutputPacketRate", "output-packet-rate"),
			lf(TypeUint64, "PeakInputDataRate", "peak-input-data-rate"),
			lf(TypeUint64, "PeakOutputDataRate", "peak-output-data-rate"),
			lf(TypeUint32, "Bandwidth", "bandwidth"),
			lf(TypeUint32, "LoadInterval", "load-interval"),
			lf(TypeUint32, "InputLoad", "input-load"),
			lf(TypeUint32, "OutputLoad", "output-load"),
			lf(TypeUint32, "Reliability", "reliability"),
		},
		ProtoFile: "infrastatistics_datarate.proto", ProtoMsg: "ifstatsbag_datarate",
	},
	{
		ID:     "interfaces",
		PDT:    "RootOper.Interfaces.Interface(*)",
		Schema: "RootOper.Interfaces.Interface",
		MDT:    "Cisco-IOS-XR-pfi-im-cmd-oper:interfaces/interface-xr/interface",
		Keys:   []Key{{n("InterfaceName", "interface-name"), "RootOper.Interfaces.Interface(InterfaceName)"}},
		Leaves: []Leaf{
			lf(TypeString, "State", "state"),
			lf(TypeString, "LineState", "line-state"),
			lf(TypeString, "Description", "description"),
			lf(TypeString, "InterfaceType", "interface-type"),
			lf(TypeUint32, "MTU", "mtu"),
			lf(TypeUint32, "Bandwidth", "bandwidth"),
			lf(TypeUint32, "StateTransitionCount", "state-transition-count"),
			lf(TypeBool, "IsL2Looped", "is-l2-looped"),
		},
		ProtoFile: "interfaces.proto", ProtoMsg: "im_cmd_info",
	},
	{
		ID:     "memory",
		PDT:    "RootOper.MemorySummary.Node(*).Summary",
		Schema: "RootOper.MemorySummary.Node.Summary",
		MDT:    "Cisco-IOS-XR-nto-misc-oper:memory-summary/nodes/node/summary",
		Keys:   []Key{{n("NodeName", "node-name"), "RootOper.MemorySummary.Node(NodeName)"}},
		Leaves: []Leaf{
			lf(TypeUint32, "PageSize", "page-size"),
			lf(TypeUint64, "RAMMemory", "ram-memory"),
			lf(TypeUint64, "FreePhysicalMemory", "free-physical-memory"),
			lf(TypeUint64, "SystemRAMMemory", "system-ram-memory"),
			lf(TypeUint64, "FreeApplicationMemory", "free-application-memory"),
			lf(TypeUint64, "ImageMemory", "image-memory"),
			lf(TypeUint64, "BootRAMSize", "boot-ram-size"),
			lf(TypeUint64, "ReservedMemory", "reserved-memory"),
			lf(TypeUint64, "IOMemory", "io-memory"),
			lf(TypeUint64, "FlashSystem", "flash-system"),
		},
		ProtoFile: "memory_summary.proto", ProtoMsg: "nto_misc_shmem_summary",
	},
	{
		ID:     "bgp",
		PDT:    "RootOper.BGP.Instance({'InstanceName': 'default'}).InstanceActive.DefaultVRF.Neighbor([*])",
		Schema: "RootOper.BGP.Instance.InstanceActive.DefaultVRF.Neighbor",
		MDT:    "Cisco-IOS-XR-ipv4-bgp-oper:bgp/instances/instance/instance-active/default-vrf/neighbors/neighbor",
		Keys: []Key{
			{n("InstanceName", "instance-name"), "RootOper.BGP.Instance(InstanceName)"},
			{n("NeighborAddress", "neighbor-address"), "RootOper.BGP.Instance(InstanceName).InstanceActive.DefaultVRF.Neighbor(NeighborAddress)"},
		},
		Leaves: []Leaf{
			lf(TypeUint32, "RemoteAS", "remote-as"),
			lf(TypeString, "ConnectionState", "connection-state"),
			lf(TypeString, "Description", "description"),
			lf(TypeUint32, "ConnectionEstablishedTime", "connection-established-time"),
			lf(TypeUint32, "PrefixesAccepted", "prefixes-accepted"),
			lf(TypeUint32, "PrefixesAdvertised", "prefixes-advertised"),
			lf(TypeUint32, "MessagesReceived", "messages-received"),
			lf(TypeUint32, "MessagesSent", "messages-sent"),
			lf(TypeUint32, "ConnectionDownCount", "connection-down-count"),
			lf(TypeString, "ResetReason", "reset-reason"),
		},
		ProtoFile: "bgp_neighbor.proto", ProtoMsg: "bgp_nbr_bag",
	},
	{
		ID:     "inventory",
		PDT:    "RootOper.PlatformInventory.Rack(*).Attributes.BasicInfo",
		Schema: "RootOper.PlatformInventory.Rack.Attributes.BasicInfo",
		MDT:    "Cisco-IOS-XR-invmgr-oper:inventory/racks/rack/attributes/basic-info",
		Keys:   []Key{{Name{PDT: "RackName", MDT: "name", Proto: "rack_name"}, "RootOper.PlatformInventory.Rack(RackName)"}},
		Leaves: []Leaf{
			lf(TypeString, "Name", "name"),
			lf(TypeString, "Description", "description"),
			lf(TypeString, "ModelName", "model-name"),
			lf(TypeString, "HardwareRevision", "hardware-revision"),
			lf(TypeString, "SerialNumber", "serial-number"),
			lf(TypeString, "FirmwareRevision", "firmware-revision"),
			lf(TypeString, "SoftwareRevision", "software-revision"),
			lf(TypeString, "VendorType", "vendor-type"),
			lf(TypeBool, "IsFieldReplaceableUnit", "is-field-replaceable-unit"),
		},
		ProtoFile: "inventory_basic_info.proto", ProtoMsg: "inv_phys_info",
	},
}

// PathByID finds a path by its short name, its PDT, schema or MDT path.
func PathByID(s string) *Path {
	for _, p := range Paths {
		if s == p.ID || s == p.PDT || s == p.Schema || s == p.MDT {
			return p
		}
	}
	return nil
}

// MetricName is the contract's series naming rule (notes/xr2-contracts.md,
// "Series naming"), written here on its own so that the simulator's totals
// do not depend on the collector's mapper: xr_ + snake(last element of the
// path) + _ + snake(leaf name with / as _). ok is false for names over 200
// characters, which the collector refuses.
func MetricName(path, leaf string) (string, bool) {
	m := "xr_" + snake(lastElement(path)) + "_" + snake(strings.ReplaceAll(leaf, "/", "_"))
	m = collapse(m)
	return m, len(m) <= 200
}

// LabelName is the label a naming parameter becomes.
func LabelName(key string) string {
	l := collapse(snake(key))
	switch l {
	case "device", "path", "policy", "subscription", "index", "__name__":
		return "key_" + l
	}
	return l
}

func lastElement(path string) string {
	// Drop naming parameters first: their values may hold '.' or '/'.
	var b strings.Builder
	depth := 0
	for _, r := range path {
		switch r {
		case '(', '[', '{':
			depth++
			continue
		case ')', ']', '}':
			depth--
			continue
		}
		if depth == 0 {
			b.WriteRune(r)
		}
	}
	p := b.String()
	sep := "."
	if strings.Contains(p, "/") {
		sep = "/"
	}
	parts := strings.Split(strings.Trim(p, sep), sep)
	last := parts[len(parts)-1]
	if i := strings.LastIndexByte(last, ':'); i >= 0 {
		last = last[i+1:]
	}
	if i := strings.IndexByte(last, '='); i >= 0 {
		last = last[:i]
	}
	return last
}

// snake turns CamelCase into camel_case, keeping acronyms together
// (RAMMemory → ram_memory), and separators into '_'.
func snake(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		switch {
		case isUpper(r):
			if i > 0 {
				prev := rs[i-1]
				nextLower := i+1 < len(rs) && isLower(rs[i+1])
				if isLower(prev) || isDigit(prev) || (isUpper(prev) && nextLower) {
					b.WriteByte('_')
				}
			}
			b.WriteRune(r + 'a' - 'A')
		case isLower(r), isDigit(r), r == '_':
			b.WriteRune(r)
		case r == '-', r == '.', r == ':', r == '/', r == ' ':
			b.WriteByte('_')
		}
	}
	return b.String()
}

func collapse(s string) string {
	for strings.Contains(s, "__") {
		s = strings.ReplaceAll(s, "__", "_")
	}
	return strings.Trim(s, "_")
}

func isUpper(r rune) bool { return r >= 'A' && r <= 'Z' }
func isLower(r rune) bool { return r >= 'a' && r <= 'z' }
func isDigit(r rune) bool { return r >= '0' && r <= '9' }
