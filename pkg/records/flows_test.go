package records

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"testing"
)

// flow is one generated ipfix_flow record (contract section 4's columns).
type flow struct {
	exporter             string
	time, start          int64
	src, dst             netip.Addr
	sport, dport         uint64
	proto                uint64
	bytes, packets       uint64
	bytesRaw, packetsRaw uint64
	rate                 uint64
	inIf, outIf          uint64
	flags, tos           uint64
	app                  string
	rtt                  float64 // null when < 0
}

// flowGen produces flows with the value spread of a real network: a few
// thousand addresses (one flow in ten IPv6) chosen with a heavy head, 50 applications,
// well-known server ports, ephemeral client ports, heavy-tailed sizes,
// exporters with different sampling rates.
type flowGen struct {
	r         *rand.Rand
	addrs     []netip.Addr // IPv4, 3000
	addrs6    []netip.Addr // IPv6, 500
	zipf6     *rand.Zipf
	uniform   bool // IPv4 addresses drawn uniformly (a scan): the worst case for dictionaries
	apps      []string
	exporters []string
	rates     []uint64
	zipfAddr  *rand.Zipf
	zipfApp   *rand.Zipf
	ports     []uint64
}

func newFlowGen(seed uint64) *flowGen { return newFlowGenAddrs(seed, 3000) }

// newFlowGenAddrs draws IPv4 addresses from n (up to 65536·200).
func newFlowGenAddrs(seed uint64, n int) *flowGen {
	r := rand.New(rand.NewPCG(seed, 42))
	g := &flowGen{r: r, rates: []uint64{1, 1, 100, 1000},
		exporters: []string{"192.0.2.7/0", "192.0.2.8/0", "198.51.100.1/256", "198.51.100.2/0"},
		ports:     []uint64{443, 443, 443, 80, 53, 53, 22, 123, 8080, 3389, 993, 5060}}
	for i := range n {
		g.addrs = append(g.addrs, netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), byte(1 + (i>>16)%200)}))
	}
	for i := range 500 {
		g.addrs6 = append(g.addrs6, netip.MustParseAddr("2001:db8::"+strconv.FormatInt(int64(i+1), 16)))
	}
	for i := range 50 {
		g.apps = append(g.apps, "app-"+strconv.Itoa(i))
	}
	g.zipfAddr = rand.NewZipf(r, 1.1, 4, uint64(len(g.addrs)-1))
	g.zipf6 = rand.NewZipf(r, 1.1, 4, uint64(len(g.addrs6)-1))
	g.zipfApp = rand.NewZipf(r, 1.2, 2, uint64(len(g.apps)-1))
	return g
}

// next returns a flow ending around t.
func (g *flowGen) next(t int64) flow {
	r := g.r
	e := r.IntN(len(g.exporters))
	f := flow{exporter: g.exporters[e], rate: g.rates[e]}
	f.time = t - int64(r.IntN(2000))
	f.start = f.time - int64(r.ExpFloat64()*8000)
	if r.IntN(10) == 0 {
		f.src, f.dst = g.addrs6[g.zipf6.Uint64()], g.addrs6[g.zipf6.Uint64()]
	} else if g.uniform {
		f.src, f.dst = g.addrs[r.IntN(len(g.addrs))], g.addrs[r.IntN(len(g.addrs))]
	} else {
		f.src, f.dst = g.addrs[g.zipfAddr.Uint64()], g.addrs[g.zipfAddr.Uint64()]
	}
	switch p := r.IntN(100); {
	case p < 80:
		f.proto = 6
		f.flags = []uint64{0x1b, 0x1b, 0x1a, 0x02, 0x12, 0x18, 0x11}[r.IntN(7)]
	case p < 98:
		f.proto = 17
	default:
		f.proto = 1
	}
	if f.proto != 1 {
		f.sport = 32768 + uint64(r.IntN(28000))
		f.dport = g.ports[r.IntN(len(g.ports))]
	}
	f.packetsRaw = 1 + uint64(r.ExpFloat64()*20)
	f.bytesRaw = f.packetsRaw * uint64(40+r.IntN(1460))
	f.packets, f.bytes = f.packetsRaw*f.rate, f.bytesRaw*f.rate
	f.inIf, f.outIf = uint64(1+r.IntN(48)), uint64(1+r.IntN(48))
	if r.IntN(10) == 0 {
		f.tos = 0x2e
	}
	f.app = g.apps[g.zipfApp.Uint64()]
	f.rtt = -1
	if f.proto == 6 {
		f.rtt = math.Round(r.ExpFloat64()*30000) / 1000 // ms, 1 µs resolution
	}
	return f
}

// flowCols are the table's handles for the flow columns.
type flowCols struct {
	exporter, time, start, src, dst, sport, dport, proto, bytes, packets,
	bytesRaw, packetsRaw, rate, inIf, outIf, flags, tos, app, rtt Col
}

func newFlowCols(tb testing.TB, t *Table) flowCols {
	tb.Helper()
	col := func(name string, typ Type) Col {
		c, err := t.Column(name, typ)
		if err != nil {
			tb.Fatal(err)
		}
		return c
	}
	return flowCols{
		exporter: col("exporter", String), time: col("time", Time), start: col("start", Time),
		src: col("src_addr", Addr), dst: col("dst_addr", Addr), sport: col("src_port", Uint), dport: col("dst_port", Uint),
		proto: col("protocol", Uint), bytes: col("bytes", Uint), packets: col("packets", Uint),
		bytesRaw: col("bytes_raw", Uint), packetsRaw: col("packets_raw", Uint), rate: col("sampling_rate", Uint),
		inIf: col("in_if", Uint), outIf: col("out_if", Uint), flags: col("tcp_flags", Uint), tos: col("tos", Uint),
		app: col("application", String), rtt: col("rtt", Float),
	}
}

// appendFlow writes f the way the flow pipeline does.
func (c *flowCols) appendFlow(a *Appender, f *flow) {
	a.Begin(f.time)
	a.String(c.exporter, []byte(f.exporter))
	a.Time(c.time, f.time)
	a.Time(c.start, f.start)
	a.Addr(c.src, f.src)
	a.Addr(c.dst, f.dst)
	if f.proto != 1 {
		a.Uint(c.sport, f.sport)
		a.Uint(c.dport, f.dport)
	}
	a.Uint(c.proto, f.proto)
	a.Uint(c.bytes, f.bytes)
	a.Uint(c.packets, f.packets)
	a.Uint(c.bytesRaw, f.bytesRaw)
	a.Uint(c.packetsRaw, f.packetsRaw)
	a.Uint(c.rate, f.rate)
	a.Uint(c.inIf, f.inIf)
	a.Uint(c.outIf, f.outIf)
	a.Uint(c.flags, f.flags)
	a.Uint(c.tos, f.tos)
	a.String(c.app, []byte(f.app))
	if f.rtt >= 0 {
		a.Float(c.rtt, f.rtt)
	}
	a.Commit()
}

// fill stores n flows spread evenly over [t0, t0+spanMs), flushing every 30
// rows like a receiver flushing after each export packet, and returns them.
func fill(tb testing.TB, t *Table, seed uint64, n int, t0, spanMs int64) []flow {
	tb.Helper()
	c := newFlowCols(tb, t)
	g := newFlowGen(seed)
	a := t.NewAppender()
	flows := make([]flow, 0, n)
	for i := range n {
		f := g.next(t0 + 2000 + int64(i)*spanMs/int64(n))
		flows = append(flows, f)
		c.appendFlow(a, &f)
		if i%30 == 29 {
			a.Flush()
		}
	}
	a.Flush()
	return flows
}
