package intreport

import (
	"encoding/binary"
	"testing"
	"time"
)

// Run with: go test ./pkg/decode/intreport -run '^$' -fuzz FuzzDecode -fuzztime 60s
// (and -fuzz FuzzJoin).

func seeds(tb testing.TB) [][]byte {
	return [][]byte{localV05(tb), dropV05(tb), intV05(tb), int5V05(tb), intV10(tb)}
}

var fuzzOpts = Options{INTDSCP: 0x17, INTDSCPMask: 0x3f, INTPorts: []uint16{5000}, MaxHops: 16}

// FuzzDecode: any bytes decode or fail with a listed reason, and what
// decodes stays inside its own bounds.
func FuzzDecode(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	listed := map[string]bool{}
	for _, r := range Reasons() {
		listed[r] = true
	}
	d := NewDecoder(fuzzOpts)
	var r Report
	f.Fuzz(func(t *testing.T, b []byte) {
		err := d.Decode(b, &r)
		if err != nil {
			if e, ok := err.(*Error); !ok || !listed[e.Reason] || e.Offset < 0 || e.Offset > len(b) {
				t.Fatalf("error %v (%T) not a listed reason inside the report", err, err)
			}
			return
		}
		if r.Header.Version > V10 || r.INT.HopCount < 0 || r.INT.HopCount > fuzzOpts.MaxHops {
			t.Fatalf("version %d hops %d", r.Header.Version, r.INT.HopCount)
		}
		if r.INT.Present {
			if r.INT.Offset+int(r.INT.ShimLen)*4 > len(b) {
				t.Fatalf("shim at %d of %d words past %d bytes", r.INT.Offset, r.INT.ShimLen, len(b))
			}
			for i := range r.INT.HopCount {
				h := &r.Hops[i]
				if (h.Present|h.Unavailable) != r.INT.Items || h.Present&h.Unavailable != 0 {
					t.Fatalf("hop %d items %b/%b vs %b", i, h.Present, h.Unavailable, r.INT.Items)
				}
			}
		}
	})
}

// FuzzJoin: a stream of postcards (decoded from the fuzz bytes, each one
// cut from the input by a 2-byte length, with a time step) never holds more
// than MaxPending paths, and every path has distinct switches in TTL order.
func FuzzJoin(f *testing.F) {
	var stream []byte
	for _, s := range seeds(f) {
		stream = binary.BigEndian.AppendUint16(stream, uint16(len(s)))
		stream = append(stream, 5) // ms
		stream = append(stream, s...)
	}
	f.Add(stream)
	d := NewDecoder(Options{})
	f.Fuzz(func(t *testing.T, b []byte) {
		j := NewJoiner(JoinerOptions{Window: 10 * time.Millisecond, MaxPending: 8})
		now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
		check := func(p *Path) {
			if p.HopCount < 1 || p.HopCount > HopLimit {
				t.Fatalf("hops %d", p.HopCount)
			}
			for i := 1; i < p.HopCount; i++ {
				if p.Hops[i].TTL > p.Hops[i-1].TTL {
					t.Fatalf("hop %d TTL %d after %d", i, p.Hops[i].TTL, p.Hops[i-1].TTL)
				}
				for k := range i {
					if p.Hops[k].SwitchID == p.Hops[i].SwitchID {
						t.Fatalf("switch %d twice", p.Hops[i].SwitchID)
					}
				}
			}
		}
		var r Report
		for len(b) >= 3 {
			n := int(binary.BigEndian.Uint16(b))
			now = now.Add(time.Duration(b[2]) * time.Millisecond)
			b = b[3:]
			n = min(n, len(b))
			pkt := b[:n]
			b = b[n:]
			if d.Decode(pkt, &r) != nil {
				continue
			}
			j.Add(now, &r, check)
			if j.Pending() > 8 {
				t.Fatalf("pending %d", j.Pending())
			}
		}
		j.FlushAll(check)
		if j.Pending() != 0 {
			t.Fatalf("pending %d after FlushAll", j.Pending())
		}
	})
}
