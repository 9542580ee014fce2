package ipfix

import (
	"net/netip"
	"testing"
)

// Run with: go test ./pkg/decode/ipfix -run '^$' -bench . -benchmem
//
// Each benchmark learns the templates first (one pass over the messages),
// then decodes the same messages over and over, template refreshes
// included: the steady state of a collector. records/s is data and options
// records per second; allocs/op over records/op is allocations per record.

type countHandler struct{ n, fields int }

func (h *countHandler) Record(r *Record)  { h.n++; h.fields += len(r.Fields) }
func (h *countHandler) Options(r *Record) { h.n++; h.fields += len(r.Fields) }

type benchMsg struct {
	b    []byte
	from netip.AddrPort
}

func benchDecode(b *testing.B, msgs []benchMsg, tr Transport) {
	d := New(Options{})
	for _, m := range msgs {
		if _, err := d.Decode(m.b, m.from, tr, 0, nil); err != nil {
			b.Fatal(err)
		}
	}
	benchDecodeWith(b, d, msgs, tr)
}

func BenchmarkDecodeCapture(b *testing.B) {
	// pmacct-112 is left out: its flow data never finds a template (see
	// TestHeldDataReleasedByTemplate), so it would measure held-data drops.
	for _, name := range []string{
		"pmacct-100-IPFIXv10-CISCO.pcap",
		"pmacct-104-IPFIXv10-IPv6-CISCO-sampling_option.pcap",
		"pmacct-106-IPFIXv10-HUAWEI-vrf_name.pcap",
		"pmacct-500-IPFIXv10-BGP-CISCO-SRv6.pcap",
	} {
		b.Run(name[:10], func(b *testing.B) {
			var msgs []benchMsg
			for _, d := range datagrams(b, name) {
				msgs = append(msgs, benchMsg{d.Payload, d.Src})
			}
			benchDecode(b, msgs, UDP)
		})
	}
	b.Run("ipfixcol2", func(b *testing.B) {
		var msgs []benchMsg
		for _, m := range fileMessages(b, "ipfixcol2-example_flows.ipfix") {
			msgs = append(msgs, benchMsg{m, exporter})
		}
		benchDecode(b, msgs, File)
	})
}

// BenchmarkDecodeSynthetic30 is a busy exporter's message: 30 flow records
// of 7 fields (the template learnt before).
func BenchmarkDecodeSynthetic30(b *testing.B) {
	full := synthetic30(1, 0)
	// The same message without its template set: data only.
	data := v10(1, 0, 1700000000, full[16+4+len(flowTmpl):])
	d := New(Options{})
	d.Decode(full, exporter, UDP, 0, nil)
	benchDecodeWith(b, d, []benchMsg{{data, exporter}}, UDP)
}

func benchDecodeWith(b *testing.B, d *Decoder, msgs []benchMsg, tr Transport) {
	h := &countHandler{}
	for _, m := range msgs {
		if _, err := d.Decode(m.b, m.from, tr, 0, h); err != nil {
			b.Fatal(err)
		}
	}
	perPass := h.n
	if perPass == 0 {
		b.Fatal("no records")
	}
	var size int
	for _, m := range msgs {
		size += len(m.b)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	h.n = 0
	for b.Loop() {
		for _, m := range msgs {
			d.Decode(m.b, m.from, tr, 0, h)
		}
	}
	b.ReportMetric(float64(h.n)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(perPass), "records/op")
}
