package ipfixsim

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pdmlField is one node of tshark's PDML output.
type pdmlField struct {
	Name     string      `xml:"name,attr"`
	Show     string      `xml:"show,attr"`
	ShowName string      `xml:"showname,attr"`
	Value    string      `xml:"value,attr"`
	Fields   []pdmlField `xml:"field"`
}

type pdml struct {
	Packets []struct {
		Protos []pdmlField `xml:"proto"`
	} `xml:"packet"`
}

// tsharkRecord is one record as Wireshark's cflow dissector read it: its
// fields flattened, in wire order, as "name=show" with the raw value for
// Flowmon elements, which Wireshark does not name.
type tsharkRecord []string

func flatten(f pdmlField, out *tsharkRecord) {
	switch {
	case f.Name == "cflow.enterprise_private_entry":
		typ, _, _ := strings.Cut(strings.TrimPrefix(f.ShowName[strings.Index(f.ShowName, "Type "):], "Type "), ":")
		*out = append(*out, "flowmon"+typ+"="+f.Value)
	case strings.Contains(f.ShowName, "(Reverse"):
		*out = append(*out, "reverse."+strings.TrimPrefix(f.Name, "cflow.")+"="+f.Show)
	case strings.HasPrefix(f.Name, "cflow.") && !strings.HasPrefix(f.Name, "cflow.tcpflags.") &&
		f.Name != "cflow.timedelta" && f.Name != "cflow.string_len_short" && f.Name != "cflow.string_len_long":
		*out = append(*out, strings.TrimPrefix(f.Name, "cflow.")+"="+f.Show)
	}
	for _, c := range f.Fields {
		flatten(c, out)
	}
}

// tsharkDecode runs tshark over a pcap of msgs and returns, per message,
// its header fields and its data records by set id.
type tsharkMessage struct {
	header  map[string]string
	records map[string][]tsharkRecord // by flowset id
	errors  []string                  // malformed-packet and expert errors
}

func tsharkDecode(t *testing.T, msgs [][]byte) []tsharkMessage {
	t.Helper()
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Fatalf("tshark not found (%v): install Debian's tshark (DEBIAN_FRONTEND=noninteractive apt-get install -y tshark); it is the independent decoder this test checks the encoder against", err)
	}
	path := filepath.Join(t.TempDir(), "export.pcap")
	writePcap(t, path, 4739, msgs)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "tshark", "-n", "-r", path, "-d", "udp.port==4739,cflow", "-T", "pdml")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, stderr.String())
	}
	var doc pdml
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("tshark's PDML: %v", err)
	}
	var res []tsharkMessage
	for _, p := range doc.Packets {
		m := tsharkMessage{header: map[string]string{}, records: map[string][]tsharkRecord{}}
		for _, proto := range p.Protos {
			if proto.Name == "_ws.malformed" || proto.Name == "_ws.expert" {
				m.errors = append(m.errors, proto.ShowName)
			}
			if proto.Name != "cflow" {
				continue
			}
			for _, f := range proto.Fields {
				if f.Name != "" {
					m.header[strings.TrimPrefix(f.Name, "cflow.")] = f.Show
					continue
				}
				// A set: its id, then one unnamed node per record.
				var id string
				for _, c := range f.Fields {
					switch {
					case c.Name == "cflow.flowset_id":
						id = c.Show
					case c.Name == "" && strings.HasPrefix(c.Show, "Flow "):
						var r tsharkRecord
						for _, g := range c.Fields {
							flatten(g, &r)
						}
						m.records[id] = append(m.records[id], r)
					case c.Name == "_ws.expert" || c.Name == "_ws.malformed":
						m.errors = append(m.errors, c.ShowName)
					}
				}
			}
		}
		res = append(res, m)
	}
	return res
}

// expectRecord is how Wireshark should show f.
func expectRecord(f *Flow, selector uint32, mode SamplingMode) tsharkRecord {
	src, dst := "srcaddr", "dstaddr"
	if f.Src.Is6() {
		src, dst = "srcaddrv6", "dstaddrv6"
	}
	r := tsharkRecord{
		fmt.Sprintf("abstimestart=%s", wsTime(f.StartMs)),
		fmt.Sprintf("abstimeend=%s", wsTime(f.EndMs)),
		src + "=" + f.Src.String(), dst + "=" + f.Dst.String(),
		fmt.Sprintf("srcport=%d", f.SrcPort), fmt.Sprintf("dstport=%d", f.DstPort),
		fmt.Sprintf("protocol=%d", f.Proto), fmt.Sprintf("tcpflags=0x%02x", f.TCPFlags), fmt.Sprintf("tos=0x%02x", f.ToS),
		fmt.Sprintf("inputint=%d", f.InIf), fmt.Sprintf("outputint=%d", f.OutIf),
		fmt.Sprintf("octets=%d", f.Bytes), fmt.Sprintf("packets=%d", f.Packets),
		fmt.Sprintf("reverse.octets=%d", f.ReverseBytes), fmt.Sprintf("reverse.packets=%d", f.ReversePackets),
		fmt.Sprintf("biflow_direction=%d", f.BiflowDirection), fmt.Sprintf("flow_end_reason=%d", f.EndReason),
		fmt.Sprintf("appl_id.classification_engine_id=%d", f.App.Engine),
		fmt.Sprintf("appl_id.selector_id=%s", colonHex(uint64(f.App.Selector), 3)),
	}
	if mode == SamplingInterval || mode == SamplingRandomInterval {
		r = append(r, fmt.Sprintf("sampler_id=%d", selector))
	} else {
		r = append(r, fmt.Sprintf("selector_id=%d", selector))
	}
	r = append(r,
		fmt.Sprintf("flowmon69=%08x", f.RTTMicros), fmt.Sprintf("flowmon70=%08x", f.SRTMicros),
		fmt.Sprintf("flowmon71=%08x", f.Retransmissions), fmt.Sprintf("flowmon81=%02x", f.SynTTL),
		fmt.Sprintf("flowmon80=%02x", f.SynSize))
	switch f.L7 {
	case L7HTTP:
		r = append(r, "flowmon1="+fmt.Sprintf("%x", f.HTTPHost), "flowmon2="+fmt.Sprintf("%x", f.HTTPURL), fmt.Sprintf("flowmon12=%04x", f.HTTPStatus))
	case L7DNS:
		r = append(r, "flowmon121="+fmt.Sprintf("%x", f.DNSQName), fmt.Sprintf("flowmon122=%04x", f.DNSQType))
	case L7TLS:
		// Wireshark shows no entry for a zero-length value (a client without SNI).
		if f.TLSSNI != "" {
			r = append(r, "flowmon338="+fmt.Sprintf("%x", f.TLSSNI))
		}
		r = append(r, fmt.Sprintf("flowmon333=%04x", f.TLSVersion))
	}
	return r
}

func wsTime(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("Jan _2, 2006 15:04:05.000000000 UTC")
}

func colonHex(v uint64, n int) string {
	parts := make([]string, n)
	for i := range n {
		parts[i] = fmt.Sprintf("%02x", byte(v>>(8*(n-1-i))))
	}
	return strings.Join(parts, ":")
}

// Wireshark's IPFIX dissector, an implementation that shares nothing with
// ours, reads every message the exporter writes: headers, sequence
// numbers, each flow record field by field (biflow reverse counters, the
// application id, Flowmon elements with one- and three-octet length
// prefixes), the sampler table and the application table.
func TestTsharkReadsWhatTheExporterWrites(t *testing.T) {
	// One exporter per sampling mode, each its own observation domain, all
	// in one capture so tshark runs once.
	modes := []SamplingMode{SamplingCisco, SamplingPSAMP, SamplingInterval, SamplingRandomInterval}
	var msgs [][]byte
	var sent []SentMessage
	exporters := map[string]*Exporter{}
	for _, mode := range modes {
		odid := 70 + uint32(mode)
		e := loopbackExporter(t, Config{Count: 1500, SamplingRate: 512, SamplingMode: mode, SelectorID: 9, ODID: odid, Seed: uint64(mode) + 3,
			OnMessageSent: func(m *SentMessage) {
				msgs = append(msgs, bytes.Clone(m.Data))
				c := *m
				c.Flows = append([]Flow(nil), m.Flows...)
				sent = append(sent, c)
			}})
		if err := e.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		exporters[strconv.Itoa(int(odid))] = e
	}
	got := tsharkDecode(t, msgs)
	if len(got) != len(sent) {
		t.Fatalf("tshark read %d messages of %d", len(got), len(sent))
	}
	flows := map[string]int{}
	longURLs := 0
	options := map[string]tsharkMessage{} // every message's records, by observation domain
	for i, m := range got {
		s := sent[i]
		odid := strconv.FormatUint(uint64(s.ODID), 10)
		e := exporters[odid]
		mode := e.cfg.SamplingMode
		if len(m.errors) > 0 {
			t.Errorf("message %d: tshark reports %v", i, m.errors)
		}
		if m.header["version"] != "10" || m.header["len"] != strconv.Itoa(len(s.Data)) ||
			m.header["sequence"] != strconv.FormatUint(uint64(s.Sequence), 10) || m.header["od_id"] != odid {
			t.Errorf("message %d: header %v; sent length %d sequence %d domain %s", i, m.header, len(s.Data), s.Sequence, odid)
		}
		var records []tsharkRecord
		for v := range 2 {
			for l7 := range numL7 {
				records = append(records, m.records[strconv.Itoa(int(DataTemplateID(v == 1, l7)))]...)
			}
		}
		if len(records) != len(s.Flows) {
			t.Fatalf("message %d: tshark found %d flow records, %d were sent", i, len(records), len(s.Flows))
		}
		// Records go out grouped by template in this same order.
		for j, r := range records {
			f := &s.Flows[indexInSetOrder(s.Flows, j)]
			want := expectRecord(f, 9, mode)
			if strings.Join(r, "\n") != strings.Join(want, "\n") {
				t.Fatalf("%v: message %d record %d:\ntshark:\n%s\nwant:\n%s", mode, i, j, strings.Join(r, "\n"), strings.Join(want, "\n"))
			}
			if len(f.HTTPURL) >= 255 {
				longURLs++
			}
		}
		flows[odid] += len(records)
		o, ok := options[odid]
		if !ok {
			o = tsharkMessage{records: map[string][]tsharkRecord{}}
			options[odid] = o
		}
		for id, rs := range m.records {
			o.records[id] = append(o.records[id], rs...)
		}
	}
	for odid, e := range exporters {
		checkTsharkOptions(t, options[odid], e.cfg.SamplingMode, e)
		if flows[odid] != 1500 {
			t.Errorf("%v: %d flow records checked of 1500", e.cfg.SamplingMode, flows[odid])
		}
	}
	if longURLs == 0 {
		t.Error("no URL past 255 octets was checked")
	}
}

// indexInSetOrder maps the j-th record on the wire to its flow: the
// message holds the flows' records grouped by template, in template order.
func indexInSetOrder(flows []Flow, j int) int {
	for v := range 2 {
		for l7 := range numL7 {
			for i := range flows {
				if flows[i].Src.Is6() == (v == 1) && flows[i].L7 == l7 {
					if j == 0 {
						return i
					}
					j--
				}
			}
		}
	}
	return -1
}

func checkTsharkOptions(t *testing.T, m tsharkMessage, mode SamplingMode, e *Exporter) {
	t.Helper()
	sampling := m.records[strconv.Itoa(TemplateIDSampling)]
	if len(sampling) != 1 {
		t.Fatalf("sampler table: %d records", len(sampling))
	}
	want := map[SamplingMode][]string{
		SamplingCisco: {"selector_id=9", "sampling_packet_interval=1", "selector_algorithm=3", "sampling_size=1",
			"sampling_population=512", "sampler_name=" + samplerName, "selector_name=" + samplerName},
		SamplingPSAMP:          {"selector_id=9", "selector_algorithm=1", "sampling_packet_interval=1", "sampling_packet_space=511"},
		SamplingInterval:       {"sampler_id=9", "sampling_interval=512", "sampling_algorithm=1"},
		SamplingRandomInterval: {"sampler_id=9", "sampler_mode=2", "sampler_random_interval=512"},
	}[mode]
	if strings.Join(sampling[0], " ") != strings.Join(want, " ") {
		t.Errorf("sampler table record %v, want %v", sampling[0], want)
	}
	apps := m.records[strconv.Itoa(TemplateIDApplications)]
	var names []string
	for _, r := range apps {
		for _, kv := range r {
			if v, ok := strings.CutPrefix(kv, "appl_name="); ok {
				names = append(names, v)
			}
		}
	}
	var listed []string
	for _, a := range e.cfg.Applications {
		if !a.Unlisted {
			listed = append(listed, a.Name)
		}
	}
	if strings.Join(names, ",") != strings.Join(listed, ",") {
		t.Errorf("application table names %v, want %v", names, listed)
	}
}
