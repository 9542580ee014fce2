package intreport_test

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/netlens/netlens/pkg/decode/intreport"
)

func Example() {
	// A v0.5 switch-local postcard from switch 0xb012e345 about a UDP packet.
	pkt, _ := hex.DecodeString(strings.Join([]string{
		"022000050000000700000100",                 // fixed header: nproto 2, F, hw_id 5, seq 7, ingress ts 0x100
		"b012e345000100020300010000000180",         // switch-local header: ports 1>2, queue 3 occ 256, egress ts 0x180
		"020000000002020000000001" + "0800",        // Ethernet
		"4500001c12340000401100000a010a0a0a020214", // IPv4 10.1.10.10 > 10.2.2.20
		"9c4001bb00080000",                         // UDP 40000 > 443
	}, ""))
	d := intreport.NewDecoder(intreport.Options{INTDSCP: 0x17, INTDSCPMask: 0x3f})
	var r intreport.Report // reuse one per worker: Decode does not allocate
	if err := d.Decode(pkt, &r); err != nil {
		fmt.Println(err)
		return
	}
	lat, _ := intreport.LocalLatency(&r.Header)
	fmt.Printf("%s report from switch %#x: %s:%d > %s:%d, latency %d ns\n", r.Header.Kind, r.Header.SwitchID,
		r.Inner.Src, r.Inner.SrcPort, r.Inner.Dst, r.Inner.DstPort, lat)

	j := intreport.NewJoiner(intreport.JoinerOptions{Window: 50 * time.Millisecond})
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	j.Add(now, &r, nil)
	j.Flush(now.Add(time.Second), func(p *intreport.Path) {
		fmt.Printf("path of %d hop(s), first switch %#x\n", p.HopCount, p.Hops[0].SwitchID)
	})
	// Output:
	// flow report from switch 0xb012e345: 10.1.10.10:40000 > 10.2.2.20:443, latency 128 ns
	// path of 1 hop(s), first switch 0xb012e345
}
