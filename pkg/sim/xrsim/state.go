package xrsim

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net/netip"
	"time"
)

// Value is one leaf's value; which field counts follows the leaf's type.
type Value struct {
	U uint64
	S string
	B bool
}

// Row is one list entry of a path: its naming values, outermost first, and
// one value per leaf of the path, in the path's order.
type Row struct {
	TimestampMs int64
	Keys        []string
	Values      []Value
}

// Generation says which of the two names of an enumerated state a router
// sends: PDT bags spell IM_STATE_UP, YANG models im-state-up.
type Generation uint8

const (
	GenPDT Generation = iota
	GenMDT
)

func (g Generation) String() string {
	if g == GenMDT {
		return "mdt"
	}
	return "pdt"
}

type iface struct {
	name, baseDesc, desc, ifType string
	bandwidthKbps                uint64
	mtu                          uint32
	util, avgPkt                 float64
	phase                        float64
	up                           bool
	downUntil                    time.Time
	transitions                  uint32
	lastClear                    time.Time
	lastData                     time.Time

	pktsIn, pktsOut, bytesIn, bytesOut     float64
	mcIn, bcIn, mcOut, bcOut               float64
	inDrops, outDrops, inQDrops, outQDrops float64
	runts, giants, inErr, crc, outErr      float64

	inBps, outBps, inPps, outPps float64 // 30 s averages as the router reports them
	peakIn, peakOut              float64
}

type node struct {
	name          string
	ram, sysRAM   uint64
	free, appFree uint64
	image, boot   uint64
	reserved, io  uint64
	flash         uint64
}

type neighbor struct {
	addr        string
	as          uint32
	desc        string
	established bool
	state       int // 0 idle, 1 active, 2 established
	since       time.Time
	stateUntil  time.Time
	base        float64
	accepted    uint32
	advertised  uint32
	rx, tx      float64
	downs       uint32
	resetReason string
}

// model is one router's operational state. It moves forward with the clock
// it is given: counters grow with traffic (as 64-bit values that never
// wrap), rates follow a daily curve, interfaces and BGP sessions
// sometimes go down and come back, descriptions are sometimes edited.
type model struct {
	rng       *rand.Rand
	now       time.Time
	ifaces    []*iface
	nodes     []*node
	neighbors []*neighbor
	serial    string
	model     string
	software  string
	hardware  string
	firmware  string
	rackDesc  string
	flapEvery time.Duration
}

func newModel(name string, seed uint64, interfaces, nodes, neighbors int, start time.Time) *model {
	h := fnv.New64a()
	h.Write([]byte(name))
	m := &model{rng: rand.New(rand.NewPCG(seed, h.Sum64())), now: start, flapEvery: time.Hour}
	r := m.rng
	for i := range interfaces {
		f := &iface{up: true, lastClear: start.Add(-time.Duration(r.IntN(86400*30)) * time.Second), lastData: start}
		if i%4 == 1 {
			f.name = fmt.Sprintf("HundredGigE0/0/0/%d", i)
			f.bandwidthKbps, f.ifType, f.mtu = 100_000_000, "IFT_HUNDREDGE", 9216
		} else {
			f.name = fmt.Sprintf("GigabitEthernet0/0/0/%d", i)
			f.bandwidthKbps, f.ifType, f.mtu = 1_000_000, "IFT_GETHERNET", 1514
		}
		f.baseDesc = fmt.Sprintf("to %s-peer%d port %d", name, i/2+1, i%2)
		f.desc = f.baseDesc
		f.util = 0.05 + 0.5*r.Float64()
		f.avgPkt = 400 + 800*r.Float64()
		f.phase = 2 * math.Pi * r.Float64()
		// Counters start where a router that has run for weeks would be.
		age := float64(86400 * (1 + r.IntN(60)))
		f.bytesIn = f.util * float64(f.bandwidthKbps) * 1000 / 8 * age
		f.bytesOut = f.bytesIn * (0.6 + 0.5*r.Float64())
		f.pktsIn, f.pktsOut = f.bytesIn/f.avgPkt, f.bytesOut/f.avgPkt
		f.mcIn, f.bcIn, f.mcOut, f.bcOut = f.pktsIn*0.001, f.pktsIn*0.0001, f.pktsOut*0.001, f.pktsOut*0.00005
		f.transitions = uint32(1 + r.IntN(5))
		m.ifaces = append(m.ifaces, f)
	}
	for i := range nodes {
		nd := &node{}
		switch i {
		case 0:
			nd.name, nd.ram = "0/RP0/CPU0", 16<<30
		case 1:
			nd.name, nd.ram = "0/RP1/CPU0", 16<<30
		default:
			nd.name, nd.ram = fmt.Sprintf("0/%d/CPU0", i-2), 8<<30
		}
		nd.sysRAM = nd.ram
		nd.image, nd.boot = 512<<20, 4<<20
		nd.reserved, nd.io = 0, 32<<20
		nd.flash = 2 << 30
		nd.free = uint64(float64(nd.ram) * (0.4 + 0.2*r.Float64()))
		nd.appFree = nd.free - nd.free/8
		m.nodes = append(m.nodes, nd)
	}
	for i := range neighbors {
		nb := &neighbor{established: true, state: 2, as: uint32(65001 + i)}
		if i%4 == 3 {
			nb.addr = fmt.Sprintf("2001:db8::%x", i+1)
		} else {
			nb.addr = netip.AddrFrom4([4]byte{10, 255, byte(i / 250), byte(i%250 + 1)}).String()
		}
		nb.desc = fmt.Sprintf("AS%d transit %d", nb.as, i+1)
		nb.since = start.Add(-time.Duration(3600+r.IntN(86400*20)) * time.Second)
		nb.base = float64(1000 * (1 + r.IntN(50)))
		nb.accepted = uint32(nb.base)
		nb.advertised = uint32(500 + r.IntN(500))
		nb.rx, nb.tx = float64(10000+r.IntN(100000)), float64(10000+r.IntN(100000))
		nb.resetReason = "BGP_NONE"
		m.neighbors = append(m.neighbors, nb)
	}
	m.serial = fmt.Sprintf("FOX%04d%c%c%02d", h.Sum64()%10000, 'A'+byte(h.Sum64()>>20%26), 'A'+byte(h.Sum64()>>30%26), h.Sum64()>>40%100)
	m.model, m.rackDesc = "ASR-9006-AC-V2", "ASR 9006 4 Line Card Slot Chassis with V2 AC PEM"
	m.software, m.hardware, m.firmware = "6.1.2", "V02", "2.6"
	return m
}

// advance moves the model to now; time never goes backwards.
func (m *model) advance(now time.Time) {
	dt := now.Sub(m.now).Seconds()
	if dt <= 0 {
		return
	}
	m.now = now
	r := m.rng
	flap := dt / m.flapEvery.Seconds()
	day := 2 * math.Pi * float64(now.Unix()%86400) / 86400
	for _, f := range m.ifaces {
		if !f.up && now.After(f.downUntil) {
			f.up = true
			f.transitions++
		} else if f.up && r.Float64() < flap {
			f.up = false
			f.transitions++
			f.downUntil = now.Add(time.Duration(30+r.IntN(90)) * time.Second)
		}
		// Descriptions are edited now and then, and put back later.
		if r.Float64() < dt/1800 {
			if f.desc == f.baseDesc {
				f.desc = f.baseDesc + " (maintenance)"
			} else {
				f.desc = f.baseDesc
			}
		}
		if !f.up {
			f.inBps, f.outBps, f.inPps, f.outPps = 0, 0, 0, 0
			continue
		}
		f.lastData = now
		f.util = min(0.9, max(0.01, f.util+0.01*(r.Float64()-0.5)*math.Sqrt(dt)))
		load := f.util * (0.75 + 0.25*math.Sin(day+f.phase))
		bw := float64(f.bandwidthKbps) * 1000
		inBps := load * bw
		outBps := inBps * (0.6 + 0.1*math.Sin(day+2*f.phase))
		inB, outB := inBps*dt/8, outBps*dt/8
		inP, outP := inB/f.avgPkt, outB/f.avgPkt
		f.bytesIn += inB
		f.bytesOut += outB
		f.pktsIn += inP
		f.pktsOut += outP
		f.mcIn += inP * 0.001
		f.bcIn += inP * 0.0001
		f.mcOut += outP * 0.001
		f.bcOut += outP * 0.00005
		f.inDrops += inP * 1e-7
		f.outDrops += outP * 2e-7
		f.inQDrops += inP * 5e-8
		f.outQDrops += outP * 1e-7
		f.runts += inP * 1e-9
		f.giants += inP * 1e-9
		f.crc += inP * 2e-9
		f.inErr += inP * 3e-9
		f.outErr += outP * 1e-9
		// The router's rates are exponentially decayed averages over its load interval.
		a := 1 - math.Exp(-dt/30)
		f.inBps += a * (inBps - f.inBps)
		f.outBps += a * (outBps - f.outBps)
		f.inPps += a * (inBps/8/f.avgPkt - f.inPps)
		f.outPps += a * (outBps/8/f.avgPkt - f.outPps)
		f.peakIn, f.peakOut = max(f.peakIn, f.inBps), max(f.peakOut, f.outBps)
	}
	for _, nd := range m.nodes {
		target := float64(nd.ram) * (0.45 + 0.1*math.Sin(day))
		free := float64(nd.free) + 0.05*(target-float64(nd.free))*min(dt, 20) + float64(nd.ram)*0.002*(r.Float64()-0.5)
		nd.free = uint64(min(float64(nd.ram)*0.9, max(float64(nd.ram)*0.1, free)))
		nd.appFree = nd.free - nd.free/8
	}
	for _, nb := range m.neighbors {
		switch nb.state {
		case 2:
			if r.Float64() < flap/2 {
				nb.state, nb.established = 0, false
				nb.downs++
				nb.resetReason = "BGP_HOLD_TIMER_EXPIRED"
				nb.stateUntil = now.Add(time.Duration(20+r.IntN(40)) * time.Second)
				nb.accepted = 0
				continue
			}
			nb.accepted = uint32(max(0, nb.base+nb.base*0.02*math.Sin(day*7+float64(nb.as))+float64(r.IntN(20))-10))
			nb.rx += dt/60 + float64(r.IntN(1+int(dt)))
			nb.tx += dt / 60
		case 0, 1:
			if now.After(nb.stateUntil) {
				nb.state++
				if nb.state == 2 {
					nb.established, nb.since = true, now
				} else {
					nb.stateUntil = now.Add(time.Duration(5+r.IntN(10)) * time.Second)
				}
			}
		}
	}
}

func u(v float64) Value { return Value{U: uint64(v)} }
func u32(v float64) Value {
	return Value{U: uint64(uint32(min(v, math.MaxUint32)))}
}
func s(v string) Value { return Value{S: v} }

// rows reads the model for one path, the enumerated states in the
// spelling of gen.
func (m *model) rows(p *Path, gen Generation) []Row {
	ts := m.now.UnixMilli()
	var out []Row
	add := func(keys []string, vals ...Value) {
		out = append(out, Row{TimestampMs: ts, Keys: keys, Values: vals})
	}
	switch p.ID {
	case "counters":
		for _, f := range m.ifaces {
			avail := 0.0
			if f.up {
				avail = 1
			}
			add([]string{f.name}, u(f.pktsIn), u(f.bytesIn), u(f.pktsOut), u(f.bytesOut),
				u(f.mcIn), u(f.bcIn), u(f.mcOut), u(f.bcOut),
				u32(f.outDrops), u32(f.outQDrops), u32(f.inDrops), u32(f.inQDrops),
				u32(f.runts), u32(f.giants), u32(f.inErr), u32(f.crc), u32(f.outErr),
				u32(float64(f.transitions)), u32(avail), u32(float64(f.lastData.Unix())),
				u32(m.now.Sub(f.lastClear).Seconds()))
		}
	case "rates":
		for _, f := range m.ifaces {
			bw := float64(f.bandwidthKbps) * 1000
			add([]string{f.name}, u(f.inBps/1000), u(f.inPps), u(f.outBps/1000), u(f.outPps),
				u(f.peakIn/1000), u(f.peakOut/1000), u32(float64(f.bandwidthKbps)), u32(30),
				u32(255*f.inBps/bw), u32(255*f.outBps/bw), u32(255))
		}
	case "interfaces":
		for _, f := range m.ifaces {
			state := "IM_STATE_UP"
			if !f.up {
				state = "IM_STATE_DOWN"
			}
			add([]string{f.name}, s(enumName(state, gen)), s(enumName(state, gen)), s(f.desc), s(f.ifType),
				u32(float64(f.mtu)), u32(float64(f.bandwidthKbps)), u32(float64(f.transitions)), Value{B: false})
		}
	case "memory":
		for _, nd := range m.nodes {
			add([]string{nd.name}, u(4096), u(float64(nd.ram)), u(float64(nd.free)), u(float64(nd.sysRAM)),
				u(float64(nd.appFree)), u(float64(nd.image)), u(float64(nd.boot)), u(float64(nd.reserved)),
				u(float64(nd.io)), u(float64(nd.flash)))
		}
	case "bgp":
		for _, nb := range m.neighbors {
			state := [...]string{"BGP_ST_IDLE", "BGP_ST_ACTIVE", "BGP_ST_ESTAB"}[nb.state]
			up := 0.0
			if nb.established {
				up = m.now.Sub(nb.since).Seconds()
			}
			add([]string{"default", nb.addr}, u32(float64(nb.as)), s(enumName(state, gen)), s(nb.desc),
				u32(up), u32(float64(nb.accepted)), u32(float64(nb.advertised)), u32(nb.rx), u32(nb.tx),
				u32(float64(nb.downs)), s(enumName(nb.resetReason, gen)))
		}
	case "inventory":
		add([]string{"0"}, s("Rack 0"), s(m.rackDesc), s(m.model), s(m.hardware), s(m.serial), s(m.firmware),
			s(m.software), s("cevChassisASR9006"), Value{B: true})
	}
	return out
}

// enumName spells an enumeration as the generation does: XR bags name
// them IM_STATE_UP, YANG models im-state-up.
func enumName(e string, gen Generation) string {
	if gen == GenPDT {
		return e
	}
	b := []byte(e)
	for i, c := range b {
		switch {
		case c == '_':
			b[i] = '-'
		case c >= 'A' && c <= 'Z':
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
