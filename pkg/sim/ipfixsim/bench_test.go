package ipfixsim

import (
	"net"
	"testing"
)

// discard is a connection that takes every write, to time the encoder alone.
type discard struct{ net.Conn }

func (discard) Write(b []byte) (int, error) { return len(b), nil }

func benchExporter(b *testing.B, conn net.Conn) *Exporter {
	e, err := New(Config{Target: "127.0.0.1:4739", SamplingRate: 100})
	if err != nil {
		b.Fatal(err)
	}
	e.conn = conn
	return e
}

func reportRecords(b *testing.B, e *Exporter) {
	t := e.Totals()
	b.ReportMetric(float64(t.Flows.Records)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(t.Messages)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(t.WireBytes)/float64(t.Flows.Records), "B/record")
}

// BenchmarkEncode is generation plus encoding of full 1400-octet messages:
// the simulator's ceiling without a socket.
func BenchmarkEncode(b *testing.B) {
	e := benchExporter(b, discard{})
	b.ReportAllocs()
	for b.Loop() {
		if err := e.sendFlows(1000, false); err != nil {
			b.Fatal(err)
		}
	}
	reportRecords(b, e)
}

// BenchmarkUDPSend is the same over the exporter's UDP socket on loopback to a
// reader that drops everything: the simulator's maximum send rate.
func BenchmarkUDPSend(b *testing.B) {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 65536)
		for {
			if _, _, err := pc.ReadFromUDPAddrPort(buf); err != nil {
				return
			}
		}
	}()
	e := benchExporter(b, nil)
	e.cfg.Target = pc.LocalAddr().String()
	conn, err := e.dial(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	e.conn = conn
	b.ReportAllocs()
	for b.Loop() {
		if err := e.sendFlows(1000, false); err != nil {
			b.Fatal(err)
		}
	}
	reportRecords(b, e)
}
