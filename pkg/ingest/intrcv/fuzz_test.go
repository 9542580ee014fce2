package intrcv

import (
	"net/netip"
	"testing"
	"time"

	"github.com/netlens/netlens/pkg/decode/intreport"
	"github.com/netlens/netlens/pkg/sim/intsim"
	"github.com/netlens/netlens/pkg/status"
)

// Whatever a datagram holds, the worker neither panics nor loses it: it is
// either handed on or counted as a drop with a decoder reason on a row.
//
//	go test ./pkg/ingest/intrcv -run '^$' -fuzz FuzzWorkerHandle -fuzztime 60s
func FuzzWorkerHandle(f *testing.F) {
	for _, mode := range []intsim.Mode{intsim.ModeINT, intsim.ModePostcard} {
		for _, ver := range []intsim.Version{intsim.V05, intsim.V10} {
			d, err := intsim.NewDomain(intsim.DomainConfig{Mode: mode, Encoding: intsim.Encoding{Version: ver}, Flows: 4})
			if err != nil {
				f.Fatal(err)
			}
			enc := d.Config().Encoding
			for _, r := range d.Packet(0) {
				f.Add(enc.AppendReport(nil, &r))
			}
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0x20, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		c := &counter{}
		cfg := testConfig()
		rc := &Receiver{cfg: cfg, board: status.NewBoard(nil), opt: options{now: time.Now}}
		w := &worker{r: rc, tab: newTable(16), dec: intreport.NewDecoder(cfg.Decode), seq: intreport.NewSeqTracker(16), h: countWorker{c}}
		from := netip.MustParseAddr("192.0.2.1")
		for range 2 { // twice: the second one meets the first's sequence number
			w.handle(b, from, 1)
		}
		var handled, dropped uint64
		for _, e := range w.tab.m {
			handled += e.reportTotal()
			dropped += e.dropTotal()
			if e.ref.Remote != "192.0.2.1" {
				t.Fatalf("row remote %q", e.ref.Remote)
			}
		}
		if handled != c.n.Load() || handled+dropped != 2 {
			t.Fatalf("handled %d (handler %d) + dropped %d, want 2", handled, c.n.Load(), dropped)
		}
	})
}
