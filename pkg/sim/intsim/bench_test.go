package intsim

import (
	"context"
	"net"
	"testing"
	"time"
)

func benchDomain(b *testing.B, c DomainConfig) *Domain {
	d, err := NewDomain(c)
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkEncode is one INT report with a 3-hop stack and the default
// instructions, encoded into a reused buffer.
func BenchmarkEncode(b *testing.B) {
	for _, v := range []Version{V05, V10} {
		b.Run("v"+v.String(), func(b *testing.B) {
			d := benchDomain(b, DomainConfig{Encoding: Encoding{Version: v}, DropRate: -1, LossRate: -1, CongestionEvery: -1})
			var r Report
			for i := uint64(0); r.INT.Hops != 3; i++ {
				for _, x := range d.Packet(i) {
					if x.Kind == KindINT {
						r = x
					}
				}
			}
			e := d.Config().Encoding
			buf := make([]byte, 0, MaxReportLen)
			b.ReportAllocs()
			for b.Loop() {
				buf = e.AppendReport(buf[:0], &r)
			}
			b.SetBytes(int64(len(buf)))
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
		})
	}
}

// BenchmarkGenerateEncode is the simulator without a socket: packets through
// the fabric (queues, drops, loss) and every report encoded.
func BenchmarkGenerateEncode(b *testing.B) {
	for _, mode := range []Mode{ModeINT, ModePostcard} {
		b.Run(mode.String(), func(b *testing.B) {
			d := benchDomain(b, DomainConfig{Mode: mode})
			e := d.Config().Encoding
			buf := make([]byte, 0, MaxReportLen)
			var reports, t uint64
			b.ReportAllocs()
			for b.Loop() {
				for i := range d.Packet(t) {
					buf = e.AppendReport(buf[:0], &d.out[i])
					reports++
				}
				t += 1000
			}
			b.ReportMetric(float64(reports)/b.Elapsed().Seconds(), "reports/s")
		})
	}
}

// BenchmarkUDPFlood is the whole simulator at full speed over loopback to a
// socket nobody reads (the kernel drops what overflows its buffer): what
// the simulator can offer an ingest benchmark, in reports per second. The
// mixed domain has reports of many lengths (INT mode, TCP with and without
// options, UDP, ICMP); the uniform one sends postcards of UDP flows only, all
// of one length, which segmentation offload sends 64 at a time.
func BenchmarkUDPFlood(b *testing.B) {
	uniform := DomainConfig{Mode: ModePostcard, UDPShare: 1, ICMPShare: -1, DropRate: -1, CongestionEvery: -1}
	for _, c := range []struct {
		name  string
		batch int
		noGSO bool
		dom   DomainConfig
	}{
		{"mixed/batch1", 1, true, DomainConfig{}},
		{"mixed/batch64", 64, true, DomainConfig{}},
		{"mixed/batch64-gso", 64, false, DomainConfig{}},
		{"uniform/batch64", 64, true, uniform},
		{"uniform/batch64-gso", 64, false, uniform},
	} {
		b.Run(c.name, func(b *testing.B) {
			pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				b.Fatal(err)
			}
			defer pc.Close()
			const per = 50000
			sim, err := New(Config{Target: pc.LocalAddr().String(), Count: per, Batch: c.batch, NoGSO: c.noGSO,
				TimeStep: time.Microsecond, Domain: c.dom})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := sim.Run(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			tot := sim.Totals()
			b.ReportMetric(float64(tot.Reports)/b.Elapsed().Seconds(), "reports/s")
			b.ReportMetric(float64(tot.Errors), "errors")
		})
	}
}
