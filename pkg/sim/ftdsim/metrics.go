package ftdsim

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/netlens/netlens/pkg/proto/ftdpb"
)

// Metric types as the device spells them.
const (
	Counter = "Counter"
	Gauge   = "Gauge"
)

// Interface metrics, in the order they are sent. The first ten are the
// (family, description) pairs the dashboards depend on; the rest are what
// "show interface" also reports on an FTD and make a batch as large as the
// guide's ("received metric batch of count=479").
const (
	ifInPackets = iota
	ifOutPackets
	ifInBytes
	ifOutBytes
	ifInErrors
	ifOutErrors
	ifInDrops
	ifInRateBps
	ifOutRateBps
	ifStatus
	ifOutDrops
	ifInRatePps
	ifOutRatePps
	ifInBroadcast
	ifOutBroadcast
	ifInMulticast
	ifOutMulticast
	ifInCRC
	ifInOverruns
	ifInNoBuffer
	ifOutUnderruns
	ifOutCollisions
	ifMTU
	ifMetricCount
)

var ifMetrics = [ifMetricCount]struct{ desc, typ string }{
	ifInPackets:     {"input_packets", Counter},
	ifOutPackets:    {"output_packets", Counter},
	ifInBytes:       {"input_bytes", Counter},
	ifOutBytes:      {"output_bytes", Counter},
	ifInErrors:      {"input_errors", Counter},
	ifOutErrors:     {"output_errors", Counter},
	ifInDrops:       {"input_drops", Counter},
	ifInRateBps:     {"input_rate_bps", Gauge},
	ifOutRateBps:    {"output_rate_bps", Gauge},
	ifStatus:        {"status", Gauge},
	ifOutDrops:      {"output_drops", Counter},
	ifInRatePps:     {"input_rate_pps", Gauge},
	ifOutRatePps:    {"output_rate_pps", Gauge},
	ifInBroadcast:   {"input_broadcast_packets", Counter},
	ifOutBroadcast:  {"output_broadcast_packets", Counter},
	ifInMulticast:   {"input_multicast_packets", Counter},
	ifOutMulticast:  {"output_multicast_packets", Counter},
	ifInCRC:         {"input_crc_errors", Counter},
	ifInOverruns:    {"input_overruns", Counter},
	ifInNoBuffer:    {"input_no_buffer", Counter},
	ifOutUnderruns:  {"output_underruns", Counter},
	ifOutCollisions: {"output_collisions", Counter},
	ifMTU:           {"mtu", Gauge},
}

var processes = [...]string{"lina", "snort", "system"}

// Per process: typical CPU percent, memory size and typical memory use.
var processProfile = [len(processes)]struct {
	cpuMean  float64
	memTotal float64
	memMean  float64
}{
	{cpuMean: 12, memTotal: 6 << 30, memMean: 48},
	{cpuMean: 30, memTotal: 12 << 30, memMean: 62},
	{cpuMean: 4, memTotal: 32 << 30, memMean: 71},
}

var partitions = [...]struct {
	name  string
	total float64
	used  float64 // starting fraction
}{
	{"/ngfw", 40 << 30, 0.38},
	{"/mnt/disk0", 180 << 30, 0.22},
	{"/mnt/boot", 2 << 30, 0.41},
	{"/ngfw/var/log", 20 << 30, 0.55},
}

var interfaceNames = [...]string{"inside", "outside", "dmz", "guest", "servers", "voice", "partner", "backup"}

const (
	gigabit = 1e9
	day     = 24 * time.Hour
)

// series is the fixed part of one metric: everything but value and time.
// Tags are built once and shared by every batch: protobuf messages are
// immutable once handed out, and sharing keeps Batch at a few allocations.
type series struct {
	family, typ string
	tags        []*ftdpb.Tag
}

type ifaceState struct {
	base        int // index of its first series
	up          bool
	meanBps     float64 // long-run input rate
	outRatio    float64 // output rate relative to input
	avgPkt      float64 // bytes per packet
	inBps       float64
	outBps      float64
	v           [ifMetricCount]float64
	errorChance float64 // per batch
}

// generator is the simulated device's state. Counters are floats holding
// whole numbers (exact up to 2^53, years of gigabit traffic) and only grow.
type generator struct {
	mu     sync.Mutex
	rng    *rand.Rand
	series []series
	vals   []float64
	last   time.Time

	ifaces []ifaceState
	cpuIdx int       // first cpu series
	cpu    []float64 // process-major, then core
	memIdx int
	memPct [len(processes)]float64
	diskIx int
	disk   [len(partitions)]float64 // used bytes
	connIx int
	conn   struct {
		active, peak, created, xlatesCreated, denied, closed float64
	}
	snortIx int
	snort   [][5]float64 // processed, dropped, allowed, blocked, fastpathed
	vpnIx   int
	vpn     [2][4]float64 // active, created, input bytes, output bytes
}

func newGenerator(uuid string, interfaces, cpus int, seed int64, start time.Time) *generator {
	h := fnv.New64a()
	h.Write([]byte(uuid))
	g := &generator{rng: rand.New(rand.NewPCG(uint64(seed), h.Sum64()))}
	uuidTag := &ftdpb.Tag{Key: "uuid", Value: uuid}
	desc := map[string]*ftdpb.Tag{}
	descTag := func(d string) *ftdpb.Tag {
		if t, ok := desc[d]; ok {
			return t
		}
		t := &ftdpb.Tag{Key: "description", Value: d}
		desc[d] = t
		return t
	}
	add := func(family, typ string, tags ...*ftdpb.Tag) int {
		g.series = append(g.series, series{family: family, typ: typ, tags: tags})
		return len(g.series) - 1
	}
	uptime := time.Duration(1+g.rng.IntN(60)) * day

	// cpu: one utilisation gauge per process and core, tags as in the
	// guide's example metric.
	g.cpuIdx = len(g.series)
	for _, p := range processes {
		procTag := &ftdpb.Tag{Key: "process", Value: p}
		for c := range cpus {
			add("cpu", Gauge,
				&ftdpb.Tag{Key: "cpu", Value: "CPU" + strconv.Itoa(c)},
				descTag("cpu_utilisation"),
				procTag,
				&ftdpb.Tag{Key: "rcpu", Value: "x86_cpu" + strconv.Itoa(c)},
				uuidTag)
		}
	}
	g.cpu = make([]float64, len(processes)*cpus)
	for i := range g.cpu {
		g.cpu[i] = processProfile[i/cpus].cpuMean * (0.7 + 0.6*g.rng.Float64())
	}

	g.memIdx = len(g.series)
	for i, p := range processes {
		procTag := &ftdpb.Tag{Key: "process", Value: p}
		for _, d := range []string{"used_percentage", "used_bytes", "free_bytes", "total_bytes"} {
			add("mem", Gauge, descTag(d), procTag, uuidTag)
		}
		g.memPct[i] = processProfile[i].memMean + 4*g.rng.NormFloat64()
	}

	// Interfaces: GigabitEthernet0/0 is inside, 0/1 outside, as in the
	// guide's log. The last quarter is not cabled: status 0, no traffic.
	g.ifaces = make([]ifaceState, interfaces)
	macHi := g.rng.IntN(256)
	for i := range g.ifaces {
		st := &g.ifaces[i]
		name := fmt.Sprintf("data%d interface", i)
		if i < len(interfaceNames) {
			name = interfaceNames[i] + " interface"
		}
		st.up = interfaces < 4 || i < (interfaces*3+3)/4
		duplex := "FULL"
		if !st.up {
			duplex = "AUTO"
		}
		ifTags := []*ftdpb.Tag{
			{Key: "duplex mode", Value: duplex},
			{Key: "interface", Value: "GigabitEthernet0/" + strconv.Itoa(i)},
			{Key: "interface_description"},
			{Key: "interface_name", Value: name},
			{Key: "interface type", Value: "GigabitEthernet"},
			{Key: "mac address", Value: fmt.Sprintf("0050.56%02x.%04x", macHi, 0x0a21+i)},
			uuidTag,
		}
		st.base = len(g.series)
		for m := range ifMetrics {
			tags := append(ifTags[:len(ifTags):len(ifTags)], descTag(ifMetrics[m].desc))
			add("interface", ifMetrics[m].typ, tags...)
		}
		st.v[ifMTU] = 1500
		st.avgPkt = 350 + 550*g.rng.Float64()
		st.outRatio = 0.5 + 0.8*g.rng.Float64()
		st.errorChance = 0.01 + 0.04*g.rng.Float64()
		switch {
		case !st.up:
		case i == 0, i == 1:
			st.meanBps = 120e6 + 80e6*g.rng.Float64()
		case i == 2:
			st.meanBps = 20e6 + 40e6*g.rng.Float64()
		default:
			st.meanBps = 0.5e6 + 15e6*g.rng.Float64()
		}
		st.inBps, st.outBps = st.meanBps, st.meanBps*st.outRatio
		if st.up {
			// Counters as if the device had been up for a while, so that
			// they look like a real box's and not like a fresh boot.
			st.advance(g.rng, uptime.Seconds(), 1)
		}
	}

	g.diskIx = len(g.series)
	for i, p := range partitions {
		partTag := &ftdpb.Tag{Key: "partition", Value: p.name}
		for _, d := range []string{"used_percentage", "free_bytes", "used_bytes", "total_bytes"} {
			add("disk", Gauge, descTag(d), partTag, uuidTag)
		}
		g.disk[i] = p.total * p.used
	}

	g.connIx = len(g.series)
	for _, c := range connMetrics {
		add("connections", c.typ, descTag(c.desc), uuidTag)
	}
	g.conn.active = g.targetConnections(1)
	g.conn.peak = g.conn.active * 1.4
	g.conn.created = math.Floor(g.conn.active / 30 * uptime.Seconds())
	g.conn.xlatesCreated = math.Floor(g.conn.created * 0.6)
	g.conn.denied = math.Floor(g.conn.created * 0.002)
	g.conn.closed = g.conn.created - math.Floor(g.conn.active)

	g.snortIx = len(g.series)
	g.snort = make([][5]float64, cpus)
	for i := range cpus {
		instTag := &ftdpb.Tag{Key: "instance", Value: strconv.Itoa(i)}
		for _, d := range snortMetrics {
			add("snort", Counter, descTag(d), instTag, uuidTag)
		}
	}
	g.advanceSnort(uptime.Seconds())

	g.vpnIx = len(g.series)
	for i, t := range []string{"ravpn", "s2s"} {
		typeTag := &ftdpb.Tag{Key: "type", Value: t}
		for j, d := range vpnMetrics {
			typ := Counter
			if j == 0 {
				typ = Gauge
			}
			add("vpn", typ, descTag(d), typeTag, uuidTag)
		}
		g.vpn[i][0] = []float64{40, 6}[i]
		g.vpn[i][1] = math.Floor(g.vpn[i][0] * uptime.Hours() / 4)
		g.vpn[i][2] = math.Floor(g.vpn[i][0] * 20e3 * uptime.Seconds())
		g.vpn[i][3] = math.Floor(g.vpn[i][0] * 8e3 * uptime.Seconds())
	}

	g.vals = make([]float64, len(g.series))
	g.last = start
	g.fill()
	return g
}

var connMetrics = [...]struct{ desc, typ string }{
	{"active_connections", Gauge},
	{"active_xlates", Gauge},
	{"active_tcp_connections", Gauge},
	{"active_udp_connections", Gauge},
	{"connections_created", Counter},
	{"active_icmp_connections", Gauge},
	{"embryonic_connections", Gauge},
	{"xlates_created", Counter},
	{"connections_denied", Counter},
	{"connections_closed", Counter},
	{"max_connections", Gauge},
}

var snortMetrics = [...]string{"packets_processed", "packets_dropped", "packets_allowed", "packets_blocked", "packets_fastpathed"}

var vpnMetrics = [...]string{"active_sessions", "sessions_created", "input_bytes", "output_bytes"}

// load is the share of the day's peak traffic at t: quiet at night, busy
// in office hours, so a day of demo data has a recognisable shape.
func load(t time.Time) float64 {
	h := float64(t.Hour()) + float64(t.Minute())/60
	return 0.55 + 0.45*math.Sin(2*math.Pi*(h-8)/24)
}

// advance moves one interface forward by dt seconds at the given load.
func (st *ifaceState) advance(rng *rand.Rand, dt, load float64) {
	if !st.up {
		st.inBps, st.outBps = 0, 0
		st.v[ifStatus], st.v[ifInRateBps], st.v[ifOutRateBps], st.v[ifInRatePps], st.v[ifOutRatePps] = 0, 0, 0, 0, 0
		return
	}
	// Mean-reverting walk around the load-scaled mean, with rare bursts.
	target := st.meanBps * load
	st.inBps += 0.3*(target-st.inBps) + 0.08*target*rng.NormFloat64()
	if rng.Float64() < 0.02 {
		st.inBps *= 1.5 + rng.Float64()
	}
	st.inBps = math.Min(math.Max(st.inBps, 0.02*st.meanBps), gigabit)
	st.outBps = math.Min(st.inBps*st.outRatio*(1+0.05*rng.NormFloat64()), gigabit)
	if st.outBps < 0 {
		st.outBps = 0
	}

	inPps, outPps := st.inBps/8/st.avgPkt, st.outBps/8/st.avgPkt
	v := &st.v
	v[ifStatus] = 1
	v[ifInRateBps], v[ifOutRateBps] = math.Round(st.inBps), math.Round(st.outBps)
	v[ifInRatePps], v[ifOutRatePps] = math.Round(inPps), math.Round(outPps)
	if dt <= 0 {
		return
	}
	inPkts, outPkts := math.Floor(inPps*dt), math.Floor(outPps*dt)
	v[ifInPackets] += inPkts
	v[ifOutPackets] += outPkts
	v[ifInBytes] += math.Floor(st.inBps / 8 * dt)
	v[ifOutBytes] += math.Floor(st.outBps / 8 * dt)
	v[ifInBroadcast] += math.Floor(inPkts * 0.001)
	v[ifOutBroadcast] += math.Floor(outPkts * 0.0005)
	v[ifInMulticast] += math.Floor(inPkts * 0.004)
	v[ifOutMulticast] += math.Floor(outPkts * 0.002)
	// Drops follow utilisation: almost none when idle, more near line rate.
	util := st.inBps / gigabit
	v[ifInDrops] += math.Floor(inPkts * 1e-5 * (1 + 50*util*util))
	v[ifOutDrops] += math.Floor(outPkts * 5e-6 * (1 + 50*util*util))
	if util > 0.6 {
		n := math.Floor(inPkts * 1e-6 * util)
		v[ifInOverruns] += n
		v[ifInNoBuffer] += n
	}
	// Occasional bursts of errors, as from a bad cable or a duplex fault.
	// Catching up on a long stretch (the initial uptime) adds the expected
	// count instead of one burst.
	if dt > 600 {
		n := math.Floor(st.errorChance * dt / 60 * 10)
		v[ifInErrors] += n
		v[ifInCRC] += math.Floor(n / 3)
		n = math.Floor(n / 5)
		v[ifOutErrors] += n
		v[ifOutUnderruns] += math.Floor(n / 2)
		v[ifOutCollisions] += n - math.Floor(n/2)
		return
	}
	if rng.Float64() < st.errorChance {
		n := float64(1 + rng.IntN(20))
		v[ifInErrors] += n
		v[ifInCRC] += math.Floor(n * rng.Float64())
	}
	if rng.Float64() < st.errorChance/5 {
		n := float64(1 + rng.IntN(5))
		v[ifOutErrors] += n
		v[ifOutUnderruns] += math.Floor(n / 2)
		v[ifOutCollisions] += n - math.Floor(n/2)
	}
}

// targetConnections is how many connections the traffic carries.
func (g *generator) targetConnections(load float64) float64 {
	var bps float64
	for i := range g.ifaces {
		bps += g.ifaces[i].inBps
	}
	return 800 + 4000*load + bps/40e3
}

func (g *generator) advanceSnort(dt float64) {
	var pps float64
	for i := range g.ifaces {
		st := &g.ifaces[i]
		if st.up {
			pps += st.inBps / 8 / st.avgPkt
		}
	}
	if dt <= 0 || len(g.snort) == 0 {
		return
	}
	per := pps * dt / float64(len(g.snort))
	for i := range g.snort {
		s := &g.snort[i]
		n := math.Floor(per * (0.85 + 0.3*g.rng.Float64()))
		dropped := math.Floor(n * 2e-4 * g.rng.Float64())
		blocked := math.Floor(n * 0.004 * (0.5 + g.rng.Float64()))
		fast := math.Floor(n * 0.3)
		s[0] += n
		s[1] += dropped
		s[2] += n - dropped - blocked - fast
		s[3] += blocked
		s[4] += fast
	}
}

// walk moves a gauge toward mean, with noise, within [lo, hi].
func walk(rng *rand.Rand, x, mean, noise, lo, hi float64) float64 {
	x += 0.25*(mean-x) + noise*rng.NormFloat64()
	return math.Min(math.Max(x, lo), hi)
}

// step advances the whole device to ts.
func (g *generator) step(ts time.Time) {
	dt := ts.Sub(g.last).Seconds()
	if dt < 0 {
		dt = 0 // a clock that goes back must not make counters go back
	} else {
		g.last = ts
	}
	l := load(ts)
	for i := range g.ifaces {
		g.ifaces[i].advance(g.rng, dt, l)
	}
	g.advanceSnort(dt)

	cpus := len(g.cpu) / len(processes)
	for i := range g.cpu {
		p := i / cpus
		mean := processProfile[p].cpuMean * (0.5 + l)
		g.cpu[i] = walk(g.rng, g.cpu[i], mean, 0.15*mean, 0, 100)
	}
	for i := range g.memPct {
		g.memPct[i] = walk(g.rng, g.memPct[i], processProfile[i].memMean, 1, 5, 98)
	}
	for i, p := range partitions {
		// Logs grow a few kB/s; rotation now and then frees a slice.
		g.disk[i] += dt * 4e3 * g.rng.Float64()
		if g.disk[i] > p.total*0.9 || g.rng.Float64() < 0.002 {
			g.disk[i] -= p.total * 0.05
		}
		g.disk[i] = math.Min(math.Max(math.Floor(g.disk[i]), p.total*0.05), p.total)
	}

	c := &g.conn
	before := math.Floor(c.active)
	c.active = walk(g.rng, c.active, g.targetConnections(l), 0.03*c.active, 0, 1e6)
	c.peak = math.Max(c.peak, c.active)
	opened := math.Floor(c.active / 30 * dt * (0.9 + 0.2*g.rng.Float64()))
	now := math.Floor(c.active)
	closed := opened - (now - before)
	if closed < 0 {
		opened, closed = now-before, 0
	}
	c.created += opened
	c.closed += closed
	c.xlatesCreated += math.Floor(opened * 0.6)
	c.denied += math.Floor(opened * 0.002 * g.rng.Float64())

	for i := range g.vpn {
		v := &g.vpn[i]
		prev := v[0]
		if i == 0 {
			v[0] = math.Round(walk(g.rng, v[0], 40*(0.3+l), 3, 0, 500))
		} else if g.rng.Float64() < 0.01 {
			v[0] = math.Max(0, v[0]-1) // a site-to-site tunnel flaps
		} else {
			v[0] = 6
		}
		v[1] += math.Max(0, v[0]-prev) + math.Floor(v[0]*dt/14400*g.rng.Float64())
		v[2] += math.Floor(v[0] * 20e3 * dt * g.rng.Float64())
		v[3] += math.Floor(v[0] * 8e3 * dt * g.rng.Float64())
	}
	g.fill()
}

// fill copies the state into the value slice, series by series.
func (g *generator) fill() {
	v := g.vals
	for i := range g.cpu {
		v[g.cpuIdx+i] = math.Round(g.cpu[i]*10) / 10
	}
	for i := range g.memPct {
		total := processProfile[i].memTotal
		used := math.Floor(total * g.memPct[i] / 100)
		b := g.memIdx + 4*i
		v[b], v[b+1], v[b+2], v[b+3] = math.Round(used/total*1000)/10, used, total-used, total
	}
	for i := range g.ifaces {
		st := &g.ifaces[i]
		copy(v[st.base:st.base+ifMetricCount], st.v[:])
	}
	for i, p := range partitions {
		used := g.disk[i]
		b := g.diskIx + 4*i
		v[b], v[b+1], v[b+2], v[b+3] = math.Round(used/p.total*1000)/10, p.total-used, used, p.total
	}
	c := &g.conn
	active := math.Floor(c.active)
	tcp := math.Floor(active * 0.75)
	udp := math.Floor(active * 0.22)
	copy(v[g.connIx:], []float64{
		active, math.Floor(active * 0.6), tcp, udp, c.created,
		active - tcp - udp, math.Floor(active * 0.015), c.xlatesCreated, c.denied, c.closed, math.Floor(c.peak),
	})
	for i := range g.snort {
		copy(v[g.snortIx+i*len(snortMetrics):], g.snort[i][:])
	}
	for i := range g.vpn {
		copy(v[g.vpnIx+i*len(vpnMetrics):], g.vpn[i][:])
	}
}

// batch advances the device to ts and returns its metrics. One slab holds
// every Metric, so a batch costs a handful of allocations however large.
func (g *generator) batch(uuid string, ts time.Time) *ftdpb.DataResponse {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.step(ts)
	ms := ts.UnixMilli()
	slab := make([]ftdpb.Metric, len(g.series))
	out := make([]*ftdpb.Metric, len(g.series))
	for i := range slab {
		m, s := &slab[i], &g.series[i]
		m.Timestamp = ms
		m.MetricFamily = s.family
		m.Value = g.vals[i]
		m.Tags = s.tags
		m.MetricType = s.typ
		out[i] = m
	}
	return &ftdpb.DataResponse{FtdUuid: uuid, Metrics: out}
}
