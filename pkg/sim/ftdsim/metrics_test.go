package ftdsim

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netlens/netlens/pkg/proto/ftdpb"
)

const testUUID = "7eb19498-2519-11ef-a8dd-b74b4d43a7e7"

// t0 is the guide's example timestamp, 1718257445000 ms.
var t0 = time.UnixMilli(1718257445000)

func newGen(interfaces, cpus int, seed int64) *generator {
	return newGenerator(testUUID, interfaces, cpus, seed, t0)
}

func tagMap(m *ftdpb.Metric) map[string]string {
	out := map[string]string{}
	for _, t := range m.Tags {
		out[t.Key] = t.Value
	}
	return out
}

func tagKeys(m *ftdpb.Metric) []string {
	var keys []string
	for _, t := range m.Tags {
		keys = append(keys, t.Key)
	}
	return keys
}

// key identifies a series within a batch.
func key(m *ftdpb.Metric) string {
	var b strings.Builder
	b.WriteString(m.MetricFamily)
	for _, t := range m.Tags {
		fmt.Fprintf(&b, "|%s=%s", t.Key, t.Value)
	}
	return b.String()
}

func TestBatchHasTheDashboardsFamiliesAndDescriptions(t *testing.T) {
	b := newGen(16, 8, 1).batch(testUUID, t0)
	if b.FtdUuid != testUUID {
		t.Errorf("ftd_uuid %q", b.FtdUuid)
	}
	if len(b.Metrics) != 479 {
		t.Errorf("%d metrics, want 479 (the guide's count)", len(b.Metrics))
	}
	type pair struct{ family, desc string }
	types := map[pair]string{}
	seen := map[string]bool{}
	for _, m := range b.Metrics {
		if m.Timestamp != 1718257445000 {
			t.Fatalf("timestamp %d, want ms since epoch 1718257445000", m.Timestamp)
		}
		if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
			t.Fatalf("%s: value %v", key(m), m.Value)
		}
		if k := key(m); seen[k] {
			t.Fatalf("duplicate series %s", k)
		} else {
			seen[k] = true
		}
		tags := tagMap(m)
		if tags["uuid"] != testUUID {
			t.Errorf("%s: uuid tag %q", key(m), tags["uuid"])
		}
		p := pair{m.MetricFamily, tags["description"]}
		if prev, ok := types[p]; ok && prev != m.MetricType {
			t.Errorf("%v is both %s and %s", p, prev, m.MetricType)
		}
		types[p] = m.MetricType
	}
	want := map[pair]string{
		{"cpu", "cpu_utilisation"}: Gauge,
		{"mem", "used_percentage"}: Gauge, {"mem", "used_bytes"}: Gauge, {"mem", "free_bytes"}: Gauge, {"mem", "total_bytes"}: Gauge,
		{"interface", "input_packets"}: Counter, {"interface", "output_packets"}: Counter,
		{"interface", "input_bytes"}: Counter, {"interface", "output_bytes"}: Counter,
		{"interface", "input_errors"}: Counter, {"interface", "output_errors"}: Counter, {"interface", "input_drops"}: Counter,
		{"interface", "input_rate_bps"}: Gauge, {"interface", "output_rate_bps"}: Gauge, {"interface", "status"}: Gauge,
		{"disk", "used_percentage"}: Gauge, {"disk", "free_bytes"}: Gauge,
		{"connections", "active_connections"}: Gauge, {"connections", "active_xlates"}: Gauge,
		{"connections", "active_tcp_connections"}: Gauge, {"connections", "active_udp_connections"}: Gauge,
		{"connections", "connections_created"}: Counter,
		{"snort", "packets_processed"}:         Counter, {"snort", "packets_dropped"}: Counter,
		{"vpn", "active_sessions"}: Gauge,
	}
	for p, typ := range want {
		if got, ok := types[p]; !ok {
			t.Errorf("missing %s/%s", p.family, p.desc)
		} else if got != typ {
			t.Errorf("%s/%s is %s, want %s", p.family, p.desc, got, typ)
		}
	}
}

func TestBatchTagsFollowTheGuide(t *testing.T) {
	b := newGen(16, 8, 1).batch(testUUID, t0)
	wantKeys := map[string][]string{
		"cpu":         {"cpu", "description", "process", "rcpu", "uuid"},
		"interface":   {"duplex mode", "interface", "interface_description", "interface_name", "interface type", "mac address", "uuid", "description"},
		"mem":         {"description", "process", "uuid"},
		"disk":        {"description", "partition", "uuid"},
		"connections": {"description", "uuid"},
		"snort":       {"description", "instance", "uuid"},
		"vpn":         {"description", "type", "uuid"},
	}
	values := map[string]map[string]bool{}
	for _, m := range b.Metrics {
		if want := wantKeys[m.MetricFamily]; !slices.Equal(tagKeys(m), want) {
			t.Fatalf("%s tags %q, want %q", m.MetricFamily, tagKeys(m), want)
		}
		for k, v := range tagMap(m) {
			if values[k] == nil {
				values[k] = map[string]bool{}
			}
			values[k][v] = true
		}
	}
	// The guide's interface example, field by field.
	var gi0 *ftdpb.Metric
	for _, m := range b.Metrics {
		if tm := tagMap(m); m.MetricFamily == "interface" && tm["interface"] == "GigabitEthernet0/0" && tm["description"] == "input_packets" {
			gi0 = m
		}
	}
	if gi0 == nil {
		t.Fatal("no input_packets for GigabitEthernet0/0")
	}
	tm := tagMap(gi0)
	if tm["duplex mode"] != "FULL" || tm["interface_description"] != "" || tm["interface_name"] != "inside interface" ||
		tm["interface type"] != "GigabitEthernet" || len(tm["mac address"]) != len("0050.5683.0a21") || gi0.MetricType != "Counter" {
		t.Errorf("GigabitEthernet0/0 input_packets = %v", gi0)
	}
	for _, p := range []string{"lina", "snort", "system"} {
		if !values["process"][p] {
			t.Errorf("no process %q", p)
		}
	}
	if !values["rcpu"]["x86_cpu0"] || !values["rcpu"]["x86_cpu7"] || !values["interface"]["GigabitEthernet0/15"] {
		t.Errorf("cores or interfaces missing: rcpu %v", values["rcpu"])
	}
	if !values["type"]["ravpn"] || !values["type"]["s2s"] || !values["partition"]["/ngfw"] || !values["partition"]["/mnt/disk0"] {
		t.Errorf("vpn types %v partitions %v", values["type"], values["partition"])
	}
}

func TestBatchSizeFollowsTheConfiguration(t *testing.T) {
	for _, c := range []struct{ ifaces, cpus int }{{1, 1}, {4, 2}, {48, 16}} {
		b := newGen(c.ifaces, c.cpus, 1).batch(testUUID, t0)
		want := c.ifaces*ifMetricCount + 3*c.cpus + 12 + 4*len(partitions) + len(connMetrics) + c.cpus*len(snortMetrics) + 2*len(vpnMetrics)
		if len(b.Metrics) != want {
			t.Errorf("%d interfaces, %d CPUs: %d metrics, want %d", c.ifaces, c.cpus, len(b.Metrics), want)
		}
	}
}

// TestValuesEvolveLikeADevice follows a device through a simulated day of
// one-minute batches.
func TestValuesEvolveLikeADevice(t *testing.T) {
	g := newGen(16, 8, 7)
	prev := map[string]float64{}
	var prevTS time.Time
	errorsSeen := false
	changed := map[string]bool{}
	rateChecks := 0
	for i := range 24 * 60 {
		ts := t0.Add(time.Duration(i) * time.Minute)
		b := g.batch(testUUID, ts)
		byKey := map[string]float64{}
		for _, m := range b.Metrics {
			k := key(m)
			byKey[k] = m.Value
			tags := tagMap(m)
			d := tags["description"]
			if m.Value < 0 || m.Value != math.Trunc(m.Value) && m.MetricType == Counter {
				t.Fatalf("batch %d %s = %v: counters are whole and non-negative", i, k, m.Value)
			}
			if old, ok := prev[k]; ok {
				if m.MetricType == Counter && m.Value < old {
					t.Fatalf("batch %d: counter %s went back from %v to %v", i, k, old, m.Value)
				}
				if m.Value != old {
					changed[m.MetricFamily+"/"+d] = true
				}
				if d == "input_errors" && m.Value > old {
					errorsSeen = true
				}
			}
			switch {
			case d == "cpu_utilisation", d == "used_percentage":
				if m.Value < 0 || m.Value > 100 {
					t.Fatalf("%s = %v, out of 0..100", k, m.Value)
				}
			case d == "status":
				if m.Value != 0 && m.Value != 1 {
					t.Fatalf("%s = %v", k, m.Value)
				}
			case d == "input_rate_bps", d == "output_rate_bps":
				if m.Value > 1e9 {
					t.Fatalf("%s = %v, beyond a gigabit interface", k, m.Value)
				}
			}
		}
		// Rates agree with counters: bytes over the minute match the rate
		// gauge to within the walk's movement.
		if i > 0 {
			inside := "interface|duplex mode=FULL|interface=GigabitEthernet0/0|interface_description=|interface_name=inside interface|interface type=GigabitEthernet"
			for k, v := range byKey {
				if strings.HasPrefix(k, inside) && strings.HasSuffix(k, "description=input_bytes") {
					rate := byKey[strings.Replace(k, "input_bytes", "input_rate_bps", 1)]
					rateChecks++
					got := (v - prev[k]) * 8 / ts.Sub(prevTS).Seconds()
					if math.Abs(got-rate) > 0.01*rate+8 {
						t.Fatalf("batch %d: input_bytes grew at %.0f bit/s, rate gauge says %.0f", i, got, rate)
					}
				}
			}
		}
		prev, prevTS = byKey, ts
	}
	if rateChecks != 24*60-1 {
		t.Errorf("checked the inside interface's rate %d times, want every batch", rateChecks)
	}
	if !errorsSeen {
		t.Error("no interface errors in a day; the guide's dashboards expect occasional ones")
	}
	for _, fd := range []string{"cpu/cpu_utilisation", "interface/input_packets", "interface/input_rate_bps", "mem/used_bytes",
		"disk/used_percentage", "connections/active_connections", "connections/connections_created", "snort/packets_processed", "vpn/active_sessions"} {
		if !changed[fd] {
			t.Errorf("%s never changed in a day", fd)
		}
	}
}

func TestMemoryAndDiskAddUp(t *testing.T) {
	b := newGen(16, 8, 3).batch(testUUID, t0.Add(time.Minute))
	sums := map[string]map[string]float64{}
	for _, m := range b.Metrics {
		tm := tagMap(m)
		if m.MetricFamily != "mem" {
			continue
		}
		if sums[tm["process"]] == nil {
			sums[tm["process"]] = map[string]float64{}
		}
		sums[tm["process"]][tm["description"]] = m.Value
	}
	for p, s := range sums {
		if s["used_bytes"]+s["free_bytes"] != s["total_bytes"] || s["total_bytes"] <= 0 {
			t.Errorf("%s: used %v + free %v != total %v", p, s["used_bytes"], s["free_bytes"], s["total_bytes"])
		}
		if pct := s["used_bytes"] / s["total_bytes"] * 100; math.Abs(pct-s["used_percentage"]) > 0.1 {
			t.Errorf("%s: used_percentage %v, bytes say %v", p, s["used_percentage"], pct)
		}
	}
}

func TestBatchIsDeterministicForASeed(t *testing.T) {
	a, b, c := newGen(16, 8, 42), newGen(16, 8, 42), newGen(16, 8, 43)
	var differs bool
	for i := range 5 {
		ts := t0.Add(time.Duration(i) * time.Minute)
		ba, bb, bc := a.batch(testUUID, ts), b.batch(testUUID, ts), c.batch(testUUID, ts)
		for j := range ba.Metrics {
			if ba.Metrics[j].Value != bb.Metrics[j].Value {
				t.Fatalf("same seed, batch %d metric %d: %v vs %v", i, j, ba.Metrics[j].Value, bb.Metrics[j].Value)
			}
			differs = differs || ba.Metrics[j].Value != bc.Metrics[j].Value
		}
	}
	if !differs {
		t.Error("seeds 42 and 43 gave the same values")
	}
}

func TestClockGoingBackDoesNotDecreaseCounters(t *testing.T) {
	g := newGen(4, 2, 1)
	first := g.batch(testUUID, t0.Add(time.Hour))
	back := g.batch(testUUID, t0)
	for i, m := range back.Metrics {
		if m.MetricType == Counter && m.Value < first.Metrics[i].Value {
			t.Fatalf("%s went back from %v to %v", key(m), first.Metrics[i].Value, m.Value)
		}
	}
}

func BenchmarkBatch(b *testing.B) {
	g := newGen(16, 8, 1)
	ts := t0
	var n int
	for b.Loop() {
		ts = ts.Add(time.Minute)
		n += len(g.batch(testUUID, ts).Metrics)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "metrics/s")
}
