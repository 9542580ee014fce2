package intreport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/netlens/netlens/pkg/decode/intreport"
	"github.com/netlens/netlens/pkg/pcap"
)

// The scapy vectors: testdata/scapy/gen_vectors.py builds INT telemetry
// reports with scapy from the published layouts, without our decoder, and
// writes one pcap per case plus vectors.json, the values it put on the wire.
// The committed output sits in testdata/scapy/vectors; this test runs the
// script again, checks that it still makes exactly those files, then decodes
// every report of every pcap and compares it field by field.
//
//	go test ./pkg/decode/intreport -run TestScapyVectors
//	go test ./pkg/decode/intreport -run TestScapyVectors -update-scapy   # after changing the script

var updateScapy = flag.Bool("update-scapy", false, "rewrite testdata/scapy/vectors from gen_vectors.py")

const (
	scapyScript  = "testdata/scapy/gen_vectors.py"
	scapyVectors = "testdata/scapy/vectors"
)

// scapyPython finds a python3 that can import scapy. The Debian package
// python3-scapy installs it for the system interpreter, which need not be
// the first python3 on PATH (pyenv, venvs), so /usr/bin/python3 is tried too.
func scapyPython(t *testing.T) string {
	t.Helper()
	var tried []string
	for _, c := range []string{"python3", "/usr/bin/python3"} {
		p, err := exec.LookPath(c)
		if err != nil || slices.Contains(tried, p) {
			continue
		}
		tried = append(tried, p)
		if exec.Command(p, "-c", "import scapy.all").Run() == nil {
			return p
		}
	}
	t.Fatalf("the INT report vectors need python3 with scapy (tried %v): install it with `sudo apt-get install -y python3-scapy`", tried)
	return ""
}

func TestScapyVectors(t *testing.T) {
	py := scapyPython(t)
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, scapyScript, out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", scapyScript, err, msg)
	}
	if *updateScapy {
		if err := os.RemoveAll(scapyVectors); err != nil {
			t.Fatal(err)
		}
		if err := os.CopyFS(scapyVectors, os.DirFS(out)); err != nil {
			t.Fatal(err)
		}
	}
	sameFiles(t, out, scapyVectors)

	raw, err := os.ReadFile(filepath.Join(scapyVectors, "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vf vecFile
	if err := json.Unmarshal(raw, &vf); err != nil {
		t.Fatalf("vectors.json: %v", err)
	}
	if len(vf.Cases) == 0 {
		t.Fatal("vectors.json has no cases")
	}
	for _, c := range vf.Cases {
		t.Run(c.Name, func(t *testing.T) { checkCase(t, c, vf.ReportPort) })
	}
}

// sameFiles fails unless dir got holds exactly the files of want, byte for
// byte: the committed vectors are what the script makes.
func sameFiles(t *testing.T, got, want string) {
	t.Helper()
	names := func(dir string) []string {
		es, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var n []string
		for _, e := range es {
			n = append(n, e.Name())
		}
		return n
	}
	g, w := names(got), names(want)
	if !slices.Equal(g, w) {
		t.Fatalf("the script writes %v, %s holds %v; rerun with -update-scapy and commit", g, want, w)
	}
	for _, n := range g {
		a, err := os.ReadFile(filepath.Join(got, n))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(want, n))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs from what %s writes now; rerun with -update-scapy and commit", filepath.Join(want, n), scapyScript)
		}
	}
}

func checkCase(t *testing.T, c vecCase, port int) {
	dgs, err := pcap.ReadFile(filepath.Join(scapyVectors, c.Pcap))
	if err != nil {
		t.Fatal(err)
	}
	if len(dgs) != len(c.Reports) {
		t.Fatalf("%s holds %d datagrams, vectors.json describes %d", c.Pcap, len(dgs), len(c.Reports))
	}
	d := intreport.NewDecoder(intreport.Options{
		INTDSCP: c.Options.IntDSCP, INTDSCPMask: c.Options.IntDSCPMask,
		INTPorts: c.Options.IntPorts, MaxHops: c.Options.MaxHops,
	})
	j := intreport.NewJoiner(intreport.JoinerOptions{Window: time.Second})
	var paths []vecPath
	emit := func(p *intreport.Path) { paths = append(paths, pathVec(p)) }
	var r intreport.Report
	for i, dg := range dgs {
		if int(dg.Dst.Port()) != port {
			t.Errorf("report %d: sent to port %d, want %d", i, dg.Dst.Port(), port)
		}
		want := c.Reports[i]
		var got vecReport
		if err := d.Decode(dg.Payload, &r); err != nil {
			var e *intreport.Error
			if !errors.As(err, &e) {
				t.Fatalf("report %d: error %v is not an *intreport.Error", i, err)
			}
			got.Error = e.Reason
		} else {
			got = reportVec(&r)
			if c.Paths != nil {
				j.Add(time.Unix(0, dg.TimeNs), &r, emit)
			}
		}
		for _, m := range diffJSON(t, want, got) {
			t.Errorf("report %d: %s", i, m)
		}
	}
	if c.Paths == nil {
		return
	}
	j.FlushAll(emit)
	sort.Slice(paths, func(a, b int) bool { return paths[a].IPID < paths[b].IPID })
	for _, m := range diffJSON(t, c.Paths, paths) {
		t.Errorf("joined paths: %s", m)
	}
}

// The shape of vectors.json. Optional values are pointers: absent and null
// compare equal, so the decoded side fills only what the wire carried.

type vecFile struct {
	ReportPort int       `json:"report_port"`
	Cases      []vecCase `json:"cases"`
}

type vecCase struct {
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Pcap        string      `json:"pcap"`
	Options     vecOptions  `json:"options"`
	Reports     []vecReport `json:"reports"`
	Paths       []vecPath   `json:"paths"`
}

type vecOptions struct {
	IntDSCP     uint8    `json:"int_dscp"`
	IntDSCPMask uint8    `json:"int_dscp_mask"`
	IntPorts    []uint16 `json:"int_ports"`
	MaxHops     int      `json:"max_hops"`
}

type vecReport struct {
	Error  string     `json:"error,omitempty"`
	Header *vecHeader `json:"header,omitempty"`
	Inner  *vecInner  `json:"inner,omitempty"`
	INT    *vecINT    `json:"int,omitempty"`
}

type vecHeader struct {
	Version        uint8    `json:"version"`
	NProto         uint8    `json:"nproto"`
	Kind           string   `json:"kind"`
	Dropped        bool     `json:"dropped"`
	Congested      bool     `json:"congested"`
	Tracked        bool     `json:"tracked"`
	HwID           uint8    `json:"hw_id"`
	RepMdBits      uint8    `json:"rep_md_bits"`
	Seq            uint32   `json:"seq"`
	IngressTS      uint32   `json:"ingress_ts"`
	SwitchID       *uint32  `json:"switch_id"`
	Md             []string `json:"md"`
	IngressPort    *uint16  `json:"ingress_port,omitempty"`
	EgressPort     *uint16  `json:"egress_port,omitempty"`
	HopLatency     *uint32  `json:"hop_latency,omitempty"`
	QueueID        *uint8   `json:"queue_id,omitempty"`
	QueueOccupancy *uint32  `json:"queue_occupancy,omitempty"`
	EgressTS       *uint32  `json:"egress_ts,omitempty"`
	DropReason     *uint8   `json:"drop_reason,omitempty"`
	TxUtil         *uint32  `json:"tx_util,omitempty"`
	LocalLatency   *uint32  `json:"local_latency"`
}

type vecInner struct {
	HasEthernet bool     `json:"has_ethernet"`
	DstMAC      string   `json:"dst_mac,omitempty"`
	SrcMAC      string   `json:"src_mac,omitempty"`
	VLANs       []uint16 `json:"vlans,omitempty"`
	EtherType   uint16   `json:"ether_type,omitempty"`
	IPVersion   uint8    `json:"ip_version"`
	Src         string   `json:"src"`
	Dst         string   `json:"dst"`
	Protocol    uint8    `json:"protocol"`
	DSCP        uint8    `json:"dscp"`
	ECN         uint8    `json:"ecn"`
	TTL         uint8    `json:"ttl"`
	IPID        *uint16  `json:"ip_id,omitempty"`
	FlowLabel   *uint32  `json:"flow_label,omitempty"`
	SrcPort     *uint16  `json:"src_port,omitempty"`
	DstPort     *uint16  `json:"dst_port,omitempty"`
	TCPSeq      *uint32  `json:"tcp_seq,omitempty"`
	TCPFlags    *uint8   `json:"tcp_flags,omitempty"`
	ICMPType    *uint8   `json:"icmp_type,omitempty"`
	ICMPCode    *uint8   `json:"icmp_code,omitempty"`
}

type vecINT struct {
	ShimType        uint8    `json:"shim_type"`
	ShimLen         uint8    `json:"shim_len"`
	ShimDSCP        *uint8   `json:"shim_dscp,omitempty"`
	Version         uint8    `json:"version"`
	Rep             uint8    `json:"rep"`
	Copy            bool     `json:"copy"`
	MaxHopExceeded  bool     `json:"max_hop_exceeded"`
	MTUExceeded     *bool    `json:"mtu_exceeded,omitempty"`
	Instructions    uint16   `json:"instructions"`
	HopWords        uint8    `json:"hop_words"`
	MaxHopCnt       *uint8   `json:"max_hop_cnt,omitempty"`
	TotalHopCnt     *uint8   `json:"total_hop_cnt,omitempty"`
	RemainingHopCnt *uint8   `json:"remaining_hop_cnt,omitempty"`
	Tail            *vecTail `json:"tail,omitempty"`
	Hops            []vecHop `json:"hops"`
	E2ELatency      *uint32  `json:"e2e_latency"`
	// DetectedBy is the marker that found the stack ("dscp", "port"), and
	// the original DSCP and destination port the source saved.
	DetectedBy      string `json:"detected_by"`
	OriginalDSCP    uint8  `json:"original_dscp"`
	OriginalDstPort uint16 `json:"original_dst_port"`
}

type vecTail struct {
	Proto   uint8  `json:"proto"`
	DstPort uint16 `json:"dst_port"`
	DSCP    uint8  `json:"dscp"`
}

type vecHop struct {
	Present        []string `json:"present"`
	Unavailable    []string `json:"unavailable"`
	SwitchID       *uint32  `json:"switch_id,omitempty"`
	IngressPort    *uint16  `json:"ingress_port,omitempty"`
	EgressPort     *uint16  `json:"egress_port,omitempty"`
	HopLatency     *uint32  `json:"hop_latency,omitempty"`
	QueueID        *uint8   `json:"queue_id,omitempty"`
	QueueOccupancy *uint32  `json:"queue_occupancy,omitempty"`
	IngressTS      *uint32  `json:"ingress_ts,omitempty"`
	EgressTS       *uint32  `json:"egress_ts,omitempty"`
	Bit6Word       *uint32  `json:"bit6_word,omitempty"`
	L2IngressPort  *uint32  `json:"l2_ingress_port,omitempty"`
	L2EgressPort   *uint32  `json:"l2_egress_port,omitempty"`
	TxUtil         *uint32  `json:"tx_util,omitempty"`
	Checksum       *uint32  `json:"checksum,omitempty"`
	Latency        *uint32  `json:"latency"`
}

type vecPath struct {
	IPID         uint16    `json:"ip_id"`
	SwitchIDs    []uint32  `json:"switch_ids"`
	Dropped      bool      `json:"dropped"`
	HopLatencies []*uint32 `json:"hop_latencies"`
	E2ELatency   *uint32   `json:"e2e_latency"`
}

func vptr[T any](v T) *T { return &v }

func vokPtr(v uint32, ok bool) *uint32 {
	if !ok {
		return nil
	}
	return &v
}

// The vector names of report-level metadata (intreport.Md bits, in order)
// and of INT items (instruction bits).
var (
	mdNames   = []string{"ports", "hop_latency", "queue", "egress_ts", "drop", "tx_util"}
	itemNames = map[intreport.Item]string{
		intreport.ItemSwitchID: "switch_id", intreport.ItemPorts: "ports", intreport.ItemHopLatency: "hop_latency",
		intreport.ItemQueue: "queue", intreport.ItemIngressTS: "ingress_ts", intreport.ItemEgressTS: "egress_ts",
		intreport.ItemBit6: "bit6", intreport.ItemTxUtil: "tx_util", intreport.ItemChecksum: "checksum",
	}
)

func itemList(set intreport.Item) []string {
	out := []string{}
	for bit := range 16 {
		it := intreport.Item(1) << bit
		if set&it == 0 {
			continue
		}
		name, ok := itemNames[it]
		if !ok {
			name = fmt.Sprintf("bit%d", bit)
		}
		out = append(out, name)
	}
	return out
}

// reportVec expresses a decoded Report in the vectors' terms.
func reportVec(r *intreport.Report) vecReport {
	h := &r.Header
	vh := &vecHeader{
		Version: h.Version, NProto: h.NProto, Kind: h.Kind.String(), Dropped: h.Dropped,
		Congested: h.Congested, Tracked: h.Tracked, HwID: h.HwID, RepMdBits: h.RepMdBits,
		Seq: h.Seq, IngressTS: h.IngressTS, Md: []string{},
		LocalLatency: vokPtr(intreport.LocalLatency(h)),
	}
	if h.HasSwitchID {
		vh.SwitchID = vptr(h.SwitchID)
	}
	for i, n := range mdNames {
		if h.Md&(1<<i) != 0 {
			vh.Md = append(vh.Md, n)
		}
	}
	if h.Md&intreport.MdPorts != 0 {
		vh.IngressPort, vh.EgressPort = vptr(h.IngressPort), vptr(h.EgressPort)
	}
	if h.Md&intreport.MdHopLatency != 0 {
		vh.HopLatency = vptr(h.HopLatency)
	}
	if h.Md&(intreport.MdQueue|intreport.MdDrop) != 0 {
		vh.QueueID = vptr(h.QueueID)
	}
	if h.Md&intreport.MdQueue != 0 {
		vh.QueueOccupancy = vptr(h.QueueOccupancy)
	}
	if h.Md&intreport.MdEgressTS != 0 {
		vh.EgressTS = vptr(h.EgressTS)
	}
	if h.Md&intreport.MdDrop != 0 {
		vh.DropReason = vptr(h.DropReason)
	}
	if h.Md&intreport.MdTxUtil != 0 {
		vh.TxUtil = vptr(h.TxUtil)
	}

	p := &r.Inner
	vi := &vecInner{
		HasEthernet: p.HasEthernet, IPVersion: p.IPVersion, Src: p.Src.String(), Dst: p.Dst.String(),
		Protocol: p.Protocol, DSCP: p.DSCP, ECN: p.ECN, TTL: p.TTL,
	}
	if p.HasEthernet {
		vi.DstMAC, vi.SrcMAC = net.HardwareAddr(p.DstMAC[:]).String(), net.HardwareAddr(p.SrcMAC[:]).String()
		vi.VLANs = p.VLAN[:p.NVLAN]
		vi.EtherType = p.EtherType
	}
	switch p.IPVersion {
	case 4:
		vi.IPID = vptr(p.IPID)
	case 6:
		vi.FlowLabel = vptr(p.FlowLabel)
	}
	switch p.Protocol {
	case intreport.ProtoTCP:
		vi.TCPSeq, vi.TCPFlags = vptr(p.TCPSeq), vptr(p.TCPFlags)
		fallthrough
	case intreport.ProtoUDP:
		vi.SrcPort, vi.DstPort = vptr(p.SrcPort), vptr(p.DstPort)
	case intreport.ProtoICMP, intreport.ProtoICMPv6:
		vi.ICMPType, vi.ICMPCode = vptr(p.ICMPType), vptr(p.ICMPCode)
	}
	out := vecReport{Header: vh, Inner: vi}
	if !r.INT.Present {
		return out
	}

	t := &r.INT
	vt := &vecINT{
		ShimType: t.ShimType, ShimLen: t.ShimLen, Version: t.Version, Rep: t.Rep, Copy: t.Copy,
		MaxHopExceeded: t.MaxHopExceeded, Instructions: t.Instructions, HopWords: t.HopWords,
		Hops: []vecHop{}, E2ELatency: vokPtr(intreport.EndToEnd(r)),
	}
	if t.Version == 1 {
		vt.ShimDSCP, vt.MTUExceeded, vt.RemainingHopCnt = vptr(t.ShimDSCP), vptr(t.MTUExceeded), vptr(t.RemainingHopCnt)
	} else {
		vt.MaxHopCnt, vt.TotalHopCnt = vptr(t.MaxHopCnt), vptr(t.TotalHopCnt)
	}
	switch {
	case t.ByDSCP && t.ByPort:
		vt.DetectedBy = "dscp+port"
	case t.ByDSCP:
		vt.DetectedBy = "dscp"
	case t.ByPort:
		vt.DetectedBy = "port"
	default:
		vt.DetectedBy = "none"
	}
	vt.OriginalDSCP = r.OriginalDSCP()
	vt.OriginalDstPort = r.Flow().DstPort
	if t.HasTail {
		vt.Tail = &vecTail{Proto: t.TailProto, DstPort: t.TailDstPort, DSCP: t.TailDSCP}
	}
	for i := range t.HopCount {
		vt.Hops = append(vt.Hops, hopVec(&r.Hops[i], t.Version))
	}
	out.INT = vt
	return out
}

func hopVec(h *intreport.Hop, version uint8) vecHop {
	v := vecHop{Present: itemList(h.Present), Unavailable: itemList(h.Unavailable),
		Latency: vokPtr(intreport.HopLatency(h))}
	has := func(it intreport.Item) bool { return h.Present&it != 0 }
	if has(intreport.ItemSwitchID) {
		v.SwitchID = vptr(h.SwitchID)
	}
	if has(intreport.ItemPorts) {
		v.IngressPort, v.EgressPort = vptr(h.IngressPort), vptr(h.EgressPort)
	}
	if has(intreport.ItemHopLatency) {
		v.HopLatency = vptr(h.HopLatency)
	}
	if has(intreport.ItemQueue) {
		v.QueueID, v.QueueOccupancy = vptr(h.QueueID), vptr(h.QueueOccupancy)
	}
	if has(intreport.ItemIngressTS) {
		v.IngressTS = vptr(h.IngressTS)
	}
	if has(intreport.ItemEgressTS) {
		v.EgressTS = vptr(h.EgressTS)
	}
	if has(intreport.ItemBit6) {
		if version == 1 {
			v.L2IngressPort, v.L2EgressPort = vptr(h.L2IngressPort), vptr(h.L2EgressPort)
		} else {
			// v0.5 gives bit 6 one 4-byte value; the vector holds the raw word.
			v.Bit6Word = vptr(uint32(h.CongestionQueue)<<24 | h.Congestion)
		}
	}
	if has(intreport.ItemTxUtil) {
		v.TxUtil = vptr(h.TxUtil)
	}
	if has(intreport.ItemChecksum) {
		v.Checksum = vptr(h.Checksum)
	}
	return v
}

func pathVec(p *intreport.Path) vecPath {
	v := vecPath{IPID: p.IPID, Dropped: p.Dropped, E2ELatency: vokPtr(p.EndToEnd())}
	for i := range p.HopCount {
		v.SwitchIDs = append(v.SwitchIDs, p.Hops[i].SwitchID)
		v.HopLatencies = append(v.HopLatencies, vokPtr(intreport.HopLatency(&p.Hops[i].Hop)))
	}
	return v
}

// diffJSON compares want and got through the same JSON shape and lists
// every field that differs by its path, e.g. "int.hops[1].latency".
func diffJSON(t *testing.T, want, got any) []string {
	t.Helper()
	norm := func(v any) any {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var out any
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	var out []string
	walkDiff("", norm(want), norm(got), &out)
	return out
}

func walkDiff(path string, want, got any, out *[]string) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s: got %s, want %s", path, show(got), show(want)))
			return
		}
		keys := map[string]bool{}
		for k := range w {
			keys[k] = true
		}
		for k := range g {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			walkDiff(strings.TrimPrefix(path+"."+k, "."), w[k], g[k], out)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			*out = append(*out, fmt.Sprintf("%s: got %s, want %s", path, show(got), show(want)))
			return
		}
		for i := range w {
			walkDiff(fmt.Sprintf("%s[%d]", path, i), w[i], g[i], out)
		}
	default:
		if show(want) != show(got) {
			*out = append(*out, fmt.Sprintf("%s: got %s, want %s", path, show(got), show(want)))
		}
	}
}

func show(v any) string {
	if f, ok := v.(float64); ok && f == float64(int64(f)) {
		// JSON numbers come back as float64; show integers as such, with hex
		// beside them, since most fields are ids, timestamps or bitmaps.
		return fmt.Sprintf("%d (%#x)", int64(f), int64(f))
	}
	b, _ := json.Marshal(v)
	return string(b)
}
