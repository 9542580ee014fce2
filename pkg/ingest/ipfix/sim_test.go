package ipfix

import (
	"context"
	"testing"
	"time"

	"github.com/netlens/netlens/pkg/sim/ipfixsim"
)

// The simulator, an encoder written apart from our decoder, exports over
// UDP (sampled, data before its templates, one sequence gap) and over TCP;
// every record it wrote arrives, and each exporter's row adds up to what
// it put on the wire.
func TestSimulatedExportersOverUDPAndTCP(t *testing.T) {
	e := start(t, testConfig(), nil, "", nil)
	const n = 5000
	udp, err := ipfixsim.New(ipfixsim.Config{
		Target: e.s.UDPAddr().String(), Transport: "udp", LocalAddr: "127.0.0.1:0", ODID: 11,
		Rate: 100_000, Count: n, SamplingRate: 100, DataBeforeTemplate: true, GapAfter: 5, GapRecords: 7, Seed: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := ipfixsim.New(ipfixsim.Config{
		Target: e.s.TCPAddr().String(), Transport: "tcp", ODID: 12, Count: n, Seed: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	errc := make(chan error, 2)
	for _, x := range []*ipfixsim.Exporter{udp, tcp} {
		go func() { errc <- x.Run(ctx) }()
	}
	for range 2 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every simulated record", func() bool { return e.h.total.Load() == 2*n })
	e.settle()

	ut, tt := udp.Totals(), tcp.Totals()
	if got, want := e.h.octets.Load(), ut.Flows.Bytes+tt.Flows.Bytes; got != want {
		t.Errorf("octets %d, simulators sent %d", got, want)
	}
	for _, c := range []struct {
		transport string
		odid      uint32
		tot       ipfixsim.Totals
		rate      uint64
	}{{"udp", 11, ut, 100}, {"tcp", 12, tt, 1}} {
		var r ExporterStatus
		for _, x := range e.s.Exporters() {
			if x.Transport == c.transport && x.ODID == c.odid {
				r = x
			}
		}
		if r.Records != c.tot.Flows.Records || r.Messages != c.tot.Messages || r.Bytes != c.tot.WireBytes ||
			r.OptionsRecords != c.tot.OptionsRecords || r.LostRecords != c.tot.SkippedRecords ||
			r.SamplingRate != c.rate || len(r.Drops) != 0 {
			t.Errorf("%s row %+v, simulator totals %+v", c.transport, r, c.tot)
		}
		// The TCP exporter closed its connection when done: its templates
		// went with it.
		if tcp := c.transport == "tcp"; (len(r.Templates) == 0) != tcp || (r.State == StateStopped) != tcp {
			t.Errorf("%s row templates %v state %s", c.transport, r.Templates, r.State)
		}
	}
}
