// Package goflow2bench compares our IPFIX decoder with goflow2's on the
// same packets, in one `go test -bench` run. It is a module of its own so
// goflow2 never enters the product's dependencies.
//
//	cd bench/goflow2 && go test -run '^$' -bench . -benchmem
//
// Both decoders learn the templates first (one pass over the messages) and
// then decode the same messages over and over, template refreshes included.
// records/s counts data and options records; allocs/op over records/op is
// allocations per record. goflow2 is called the way its own collector calls
// it: a bytes.Buffer over the datagram, one template system per exporter.
package goflow2bench

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"os"
	"syscall"
	"testing"

	"github.com/netlens/netlens/pkg/decode/ipfix"
	"github.com/netlens/netlens/pkg/pcap"
	"github.com/netsampler/goflow2/v2/decoders/netflow"
)

const testdata = "../../pkg/decode/ipfix/testdata/"

type message struct {
	b    []byte
	from netip.AddrPort
}

type workload struct {
	name string
	msgs []message
	// warm is decoded once to learn templates; msgs are then the steady state.
	warm []message
}

func workloads(b testing.TB) []workload {
	var ws []workload
	// pmacct-112 is left out: its flow data never finds a template in the
	// capture (the exporter restarts on a new port), so neither decoder
	// decodes records from it.
	for _, name := range []string{
		"pmacct-100-IPFIXv10-CISCO.pcap",
		"pmacct-104-IPFIXv10-IPv6-CISCO-sampling_option.pcap",
		"pmacct-106-IPFIXv10-HUAWEI-vrf_name.pcap",
		"pmacct-500-IPFIXv10-BGP-CISCO-SRv6.pcap",
	} {
		ds, err := pcap.ReadFile(testdata + name)
		if err != nil {
			b.Fatal(err)
		}
		var ms []message
		for _, d := range ds {
			if len(d.Payload) >= 2 && binary.BigEndian.Uint16(d.Payload) == 10 {
				ms = append(ms, message{d.Payload, d.Src})
			}
		}
		ws = append(ws, workload{name: name[:10], msgs: ms, warm: ms})
	}
	file, err := os.ReadFile(testdata + "ipfixcol2-example_flows.ipfix")
	if err != nil {
		b.Fatal(err)
	}
	var ms []message
	from := netip.MustParseAddrPort("192.0.2.6:4739")
	for len(file) >= 16 {
		n := int(binary.BigEndian.Uint16(file[2:]))
		if n < 16 || n > len(file) {
			b.Fatal("bad message length in the ipfixcol2 file")
		}
		ms = append(ms, message{file[:n], from})
		file = file[n:]
	}
	ws = append(ws, workload{name: "ipfixcol2", msgs: ms, warm: ms})
	full, data := synthetic30()
	from = netip.MustParseAddrPort("192.0.2.7:4739")
	ws = append(ws, workload{name: "synthetic30", msgs: []message{{data, from}}, warm: []message{{full, from}}})
	return ws
}

// synthetic30 is a busy exporter's message: 30 flow records of 7 fields
// (addresses, ports, protocol, 4-byte counters), with and without the
// template set in front.
func synthetic30() (full, data []byte) {
	be := binary.BigEndian
	tmpl := []byte{}
	tmpl = be.AppendUint16(tmpl, 300)
	tmpl = be.AppendUint16(tmpl, 7)
	for _, f := range [][2]uint16{{8, 4}, {12, 4}, {7, 2}, {11, 2}, {4, 1}, {1, 4}, {2, 4}} {
		tmpl = be.AppendUint16(tmpl, f[0])
		tmpl = be.AppendUint16(tmpl, f[1])
	}
	var recs []byte
	for i := range 30 {
		recs = append(recs, 10, 0, 0, byte(i), 10, 0, 1, byte(i))
		recs = be.AppendUint16(recs, uint16(1000+i))
		recs = be.AppendUint16(recs, 443)
		recs = append(recs, 6)
		recs = be.AppendUint32(recs, uint32(1500*i))
		recs = be.AppendUint32(recs, uint32(i+1))
	}
	set := func(id uint16, body []byte) []byte {
		return append(be.AppendUint16(be.AppendUint16(nil, id), uint16(4+len(body))), body...)
	}
	msg := func(sets ...[]byte) []byte {
		body := bytes.Join(sets, nil)
		h := be.AppendUint16(nil, 10)
		h = be.AppendUint16(h, uint16(16+len(body)))
		h = be.AppendUint32(h, 1700000000)
		h = be.AppendUint32(h, 0)
		h = be.AppendUint32(h, 1)
		return append(h, body...)
	}
	return msg(set(2, tmpl), set(300, recs)), msg(set(300, recs))
}

type counter struct{ n int }

func (c *counter) Record(r *ipfix.Record)  { c.n++ }
func (c *counter) Options(r *ipfix.Record) { c.n++ }

func BenchmarkDecode(b *testing.B) {
	for _, w := range workloads(b) {
		b.Run(w.name+"/netlens", func(b *testing.B) { benchNetlens(b, w) })
		b.Run(w.name+"/goflow2", func(b *testing.B) { benchGoflow2(b, w) })
	}
}

func benchNetlens(b *testing.B, w workload) {
	pass := netlensPass(b, w)
	report(b, w, pass(), pass)
}

// netlensPass learns w's templates and returns one decoding pass over its
// messages, which counts the records decoded.
func netlensPass(tb testing.TB, w workload) func() int {
	d := ipfix.New(ipfix.Options{})
	for _, m := range w.warm {
		if _, err := d.Decode(m.b, m.from, ipfix.UDP, 0, nil); err != nil {
			tb.Fatal(err)
		}
	}
	h := &counter{}
	return func() int {
		h.n = 0
		for _, m := range w.msgs {
			d.Decode(m.b, m.from, ipfix.UDP, 0, h)
		}
		return h.n
	}
}

func benchGoflow2(b *testing.B, w workload) {
	pass := goflow2Pass(b, w)
	report(b, w, pass(), pass)
}

// goflow2Pass is netlensPass with goflow2's decoder.
func goflow2Pass(tb testing.TB, w workload) func() int {
	systems := map[netip.AddrPort]netflow.NetFlowTemplateSystem{}
	decode := func(m message) (int, error) {
		ts := systems[m.from]
		if ts == nil {
			ts = netflow.CreateTemplateSystem()
			systems[m.from] = ts
		}
		var v9 netflow.NFv9Packet
		var p netflow.IPFIXPacket
		if err := netflow.DecodeMessageVersion(bytes.NewBuffer(m.b), ts, &v9, &p); err != nil {
			return 0, err
		}
		n := 0
		for _, fs := range p.FlowSets {
			switch s := fs.(type) {
			case netflow.DataFlowSet:
				n += len(s.Records)
			case netflow.OptionsDataFlowSet:
				n += len(s.Records)
			}
		}
		return n, nil
	}
	for _, m := range w.warm {
		if _, err := decode(m); err != nil {
			tb.Fatal(err)
		}
	}
	return func() int {
		total := 0
		for _, m := range w.msgs {
			n, _ := decode(m)
			total += n
		}
		return total
	}
}

// The comparison is fair only if both decoders find the same records in
// every workload.
func TestBothDecodersFindTheSameRecords(t *testing.T) {
	for _, w := range workloads(t) {
		ours, theirs := netlensPass(t, w)(), goflow2Pass(t, w)()
		if ours == 0 || ours != theirs {
			t.Errorf("%s: netlens decodes %d records a pass, goflow2 %d", w.name, ours, theirs)
		}
	}
}

func report(b *testing.B, w workload, perPass int, pass func() int) {
	if perPass == 0 {
		b.Fatal("no records decoded")
	}
	size := 0
	for _, m := range w.msgs {
		size += len(m.b)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	records := 0
	cpu0 := cpuSeconds()
	for b.Loop() {
		records += pass()
	}
	cpu := cpuSeconds() - cpu0
	if records != perPass*b.N {
		b.Fatalf("decoded %d records in %d passes, want %d a pass", records, b.N, perPass)
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
	// The machine is shared: CPU time of this process (garbage collection
	// included) bends less under other load than wall time does.
	b.ReportMetric(float64(records)/cpu, "records/cpu-s")
	b.ReportMetric(float64(perPass), "records/op")
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
