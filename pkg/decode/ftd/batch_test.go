package ftd

import (
	"fmt"

	"github.com/netlens/netlens/pkg/proto/ftdpb"
)

// The device of the FTD guide's examples.
const (
	seedUUID     = "7eb19498-2519-11ef-a8dd-b74b4d43a7e7"
	seedHostname = "firepower"
	seedTime     = int64(1718257445000)
)

func tag(k, v string) *ftdpb.Tag { return &ftdpb.Tag{Key: k, Value: v} }

// seedCPU is the guide's cpu example. The guide's text shows the cpu tag as
// "CPU))", a PDF extraction artefact; "CPU0" is what the prose names.
func seedCPU() *ftdpb.Metric {
	return &ftdpb.Metric{
		Timestamp: seedTime, MetricFamily: "cpu", Value: 0.7, MetricType: "Gauge",
		Tags: []*ftdpb.Tag{
			tag("cpu", "CPU0"), tag("description", "cpu_utilisation"), tag("process", "lina"),
			tag("rcpu", "x86_cpu0"), tag("uuid", seedUUID),
		},
	}
}

// seedInterface is the guide's interface example, logged by its collector.
func seedInterface() *ftdpb.Metric {
	return &ftdpb.Metric{
		Timestamp: seedTime, MetricFamily: "interface", Value: 35386, MetricType: "Counter",
		Tags: []*ftdpb.Tag{
			tag("duplex mode", "FULL"), tag("interface", "GigabitEthernet0/0"), tag("interface_description", ""),
			tag("interface_name", "inside interface"), tag("interface type", "GigabitEthernet"),
			tag("mac address", "0050.5683.0a21"), tag("uuid", seedUUID), tag("description", "input_packets"),
		},
	}
}

// realisticBatch builds a batch shaped like the one in the guide's log
// ("received metric batch of count=479"): per-core CPU, memory, disk, and a
// block of counters and gauges per interface.
func realisticBatch(uuid string, ts int64) *ftdpb.DataResponse {
	r := &ftdpb.DataResponse{FtdUuid: uuid}
	add := func(family, desc, typ string, v float64, tags ...*ftdpb.Tag) {
		tags = append(tags, tag("uuid", uuid), tag("description", desc))
		r.Metrics = append(r.Metrics, &ftdpb.Metric{Timestamp: ts, MetricFamily: family, Value: v, MetricType: typ, Tags: tags})
	}
	for c := range 8 {
		for _, p := range []string{"lina", "snort", "system"} {
			add("cpu", "cpu_utilisation", "Gauge", float64(c)*1.5, tag("cpu", fmt.Sprintf("CPU%d", c)), tag("process", p), tag("rcpu", fmt.Sprintf("x86_cpu%d", c)))
		}
	}
	for _, d := range []string{"total", "used", "free", "cached", "buffers", "swap_used", "available", "shared", "slab"} {
		add("memory", d, "Gauge", 1<<30, tag("process", "system"))
	}
	for _, m := range []string{"/", "/ngfw", "/var/log", "/mnt/disk0"} {
		for _, d := range []string{"disk_total", "disk_used", "disk_free"} {
			add("disk", d, "Gauge", 5e9, tag("mount", m))
		}
	}
	add("system", "uptime_seconds", "Counter", 86400)
	add("system", "temperature_celsius", "Gauge", 41)
	counters := []string{
		"input_packets", "output_packets", "input_bytes", "output_bytes", "input_errors", "output_errors",
		"input_drops", "output_drops", "input_broadcasts", "output_broadcasts", "collisions", "crc_errors",
		"runts", "giants", "overruns", "underruns", "input_multicasts", "output_multicasts",
	}
	gauges := []string{"input_rate_pps", "output_rate_pps", "input_rate_bps", "output_rate_bps", "link_status", "speed"}
	for i := range 18 {
		itf := fmt.Sprintf("GigabitEthernet0/%d", i)
		common := []*ftdpb.Tag{
			tag("duplex mode", "FULL"), tag("interface", itf), tag("interface_description", ""),
			tag("interface_name", fmt.Sprintf("zone%d interface", i)), tag("interface type", "GigabitEthernet"),
			tag("mac address", fmt.Sprintf("0050.5683.0a%02x", i)),
		}
		for j, d := range counters {
			add("interface", d, "Counter", float64(35386+i*1000+j), common...)
		}
		for j, d := range gauges {
			add("interface", d, "Gauge", float64(j), common...)
		}
	}
	return r
}
