package intreport

import (
	"testing"
	"time"
)

// Run with: go test ./pkg/decode/intreport -run '^$' -bench . -benchmem -cpu 1
//
// Each benchmark decodes one hand-made report over and over into one
// reused Report, as a receiver's worker does. reports/s is per core.

func benchDecode(b *testing.B, o Options, pkt []byte, wantHops int) {
	d := NewDecoder(o)
	var r Report
	if err := d.Decode(pkt, &r); err != nil {
		b.Fatal(err)
	}
	if r.INT.HopCount != wantHops {
		b.Fatalf("hops %d, want %d", r.INT.HopCount, wantHops)
	}
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	start := time.Now()
	n := 0
	for b.Loop() {
		if err := d.Decode(pkt, &r); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "reports/s")
}

func BenchmarkDecode(b *testing.B) {
	intOpts := Options{INTDSCP: 0x17, INTDSCPMask: 0x3f}
	b.Run("int_v05_5hops_6ins", func(b *testing.B) { benchDecode(b, intOpts, int5V05(b), 5) })
	b.Run("int_v10_ipv6_2hops", func(b *testing.B) { benchDecode(b, Options{INTPorts: []uint16{5000}}, intV10(b), 2) })
	b.Run("drop_v05", func(b *testing.B) { benchDecode(b, intOpts, dropV05(b), 0) })
	b.Run("postcard_v05", func(b *testing.B) { benchDecode(b, intOpts, localV05(b), 0) })
}

// BenchmarkJoin joins postcards of 3 switches per packet, a new packet
// every 3 postcards, with time moving so paths expire in steady state.
func BenchmarkJoin(b *testing.B) {
	d := NewDecoder(Options{})
	var r Report
	if err := d.Decode(localV05(b), &r); err != nil {
		b.Fatal(err)
	}
	j := NewJoiner(JoinerOptions{Window: time.Millisecond, MaxPending: 1024})
	paths := 0
	emit := func(*Path) { paths++ }
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	start := time.Now()
	n := 0
	for b.Loop() {
		r.Header.SwitchID = uint32(n % 3)
		r.Inner.TTL = uint8(64 - n%3)
		r.Inner.IPID = uint16(n / 3)
		now = now.Add(time.Microsecond)
		j.Add(now, &r, emit)
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "postcards/s")
	if paths == 0 && n > 3000 {
		b.Fatal("no path emitted")
	}
}

// BenchmarkJoinCongested is BenchmarkJoin with the middle switch congested:
// it sends a queue report before its postcard about every packet, and
// the two merge into its one hop.
func BenchmarkJoinCongested(b *testing.B) {
	d := NewDecoder(Options{})
	var r Report
	if err := d.Decode(localV05(b), &r); err != nil {
		b.Fatal(err)
	}
	j := NewJoiner(JoinerOptions{Window: time.Millisecond, MaxPending: 1024})
	paths, hops := 0, 0
	emit := func(p *Path) { paths++; hops += p.HopCount }
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	sw := [4]uint32{0, 1, 1, 2}
	kind := [4]Kind{KindFlow, KindQueue, KindFlow, KindFlow}
	b.ReportAllocs()
	start := time.Now()
	n := 0
	for b.Loop() {
		k := n % 4
		r.Header.SwitchID, r.Header.Kind = sw[k], kind[k]
		r.Inner.TTL = uint8(64 - sw[k])
		r.Inner.IPID = uint16(n / 4)
		now = now.Add(time.Microsecond)
		j.Add(now, &r, emit)
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "reports/s")
	if st := j.Stats(); n > 4000 && (paths == 0 || hops != 3*paths || st.Repeats != 0) {
		b.Fatalf("%d paths of %d hops, stats %+v: want 3 hops each, no repeats", paths, hops, st)
	}
}
