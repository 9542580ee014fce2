package intmap

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netlens/netlens/pkg/decode/intreport"
	"github.com/netlens/netlens/pkg/pcap"
)

// FuzzExpandHops: any text gives hops or ErrBadHops, never a panic, and
// what it accepts it gives back unchanged when encoded again.
func FuzzExpandHops(f *testing.F) {
	f.Add("a,1,2,1000,0,100,0,1000,;b,2,3,2000,1,200,10000,12000,7")
	f.Add("a,,,,,,,,")
	f.Add(";;")
	f.Fuzz(func(t *testing.T, s string) {
		hops, err := ExpandHops(nil, s, nil)
		if err != nil {
			return
		}
		var b []byte
		for i := range hops {
			h := &hops[i]
			if h.Hop != i {
				t.Fatalf("hop %d numbered %d", i, h.Hop)
			}
			if h.HasIngressPort != h.HasEgressPort || h.HasQueueID != h.HasQueueOccupancy ||
				h.HasIngressTS && h.HasEgressTS && !h.HasHopLatency {
				// We write ports and queue fields in pairs, and a latency
				// whenever both timestamps are there; other text is accepted
				// but not ours to round-trip.
				return
			}
			var hp intreport.Hop
			set := func(ok bool, it intreport.Item) {
				if ok {
					hp.Present |= it
				}
			}
			set(h.HasSwitchID, intreport.ItemSwitchID)
			set(h.HasIngressPort, intreport.ItemPorts)
			set(h.HasHopLatency, intreport.ItemHopLatency)
			set(h.HasQueueID, intreport.ItemQueue)
			set(h.HasIngressTS, intreport.ItemIngressTS)
			set(h.HasEgressTS, intreport.ItemEgressTS)
			hp.SwitchID, hp.IngressPort, hp.EgressPort, hp.HopLatency = h.SwitchID, h.IngressPort, h.EgressPort, h.HopLatency
			hp.QueueID, hp.QueueOccupancy, hp.IngressTS, hp.EgressTS = h.QueueID, h.QueueOccupancy, h.IngressTS, h.EgressTS
			reason := -1
			if h.Dropped {
				reason = int(h.DropReason)
			}
			b = appendHop(b, &hp, reason)
		}
		again, err := ExpandHops(nil, string(b), nil)
		if err != nil || len(again) != len(hops) {
			t.Fatalf("re-encoded %q: %v, %d hops, want %d", b, err, len(again), len(hops))
		}
		for i := range again {
			if again[i] != hops[i] {
				t.Fatalf("hop %d: %+v, want %+v", i, again[i], hops[i])
			}
		}
	})
}

// FuzzReport: whatever the decoder accepts, a worker maps without a panic,
// one row per report plus the paths it joins.
func FuzzReport(f *testing.F) {
	entries, _ := os.ReadDir(scapyDir)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".pcap") {
			continue
		}
		dgs, err := pcap.ReadFile(filepath.Join(scapyDir, e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		for _, dg := range dgs {
			f.Add(dg.Payload, uint8(3))
		}
	}
	d := intreport.NewDecoder(intreport.Options{INTDSCP: 23, INTDSCPMask: 63, INTPorts: []uint16{5000}})
	f.Fuzz(func(t *testing.T, b []byte, times uint8) {
		e := newEnv(t, Options{MaxPorts: 2, MaxQueues: 2, MaxReasons: 2, MaxDevices: 2, PathFlows: 2, JoinPending: 2})
		var r intreport.Report
		if d.Decode(b, &r) != nil {
			return
		}
		n := int(times%4) + 1
		for i := range n {
			e.w.Report(sw, &r, t0+int64(i))
			e.w.Flush(t0 + int64(i))
		}
		e.w.FlushAll(t0 + 20_000)
		rows := e.table.Stats().Rows
		if rows < int64(n) || rows > 2*int64(n) {
			t.Fatalf("%d rows for %d reports", rows, n)
		}
	})
}
