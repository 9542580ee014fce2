package intmap

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/netlens/netlens/pkg/decode/intreport"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pipeline"
	"github.com/netlens/netlens/pkg/status"
)

// Label keys past the per-device bounds, and values the report lacked.
const (
	portUnknown   = 1 << 16
	portOther     = 1<<16 + 1
	reasonUnknown = 256
	reasonOther   = 257
	queueOther    = 256
	// maxPendingDrops bounds the (port, reason) keys a worker collects per
	// device between two merges; more go to other/other at once.
	maxPendingDrops = 1024
)

type dropKey struct {
	port   uint32
	reason uint16
}

// latAgg is a latency figure: max over the interval, cumulative sum and
// count.
type latAgg struct {
	max        uint32
	sum, count uint64
}

func (l *latAgg) add(v uint32) {
	l.max = max(l.max, v)
	l.sum += uint64(v)
	l.count++
}

// wdev is what a worker collects per device between two merges.
type wdev struct {
	name  string
	nameB []byte
	dirty bool
	reps  [nTypes]uint64
	// drops and queues keep their keys' first-seen order too: the series
	// bounds admit the first values a device reported.
	drops     map[dropKey]uint64
	dropKeys  []dropKey
	queues    [256]uint32 // queue → max occupancy seen, for the queues in queueKeys
	queueSeen [4]uint64   // bitmap of queueKeys
	queueKeys []uint16
	hopLat    latAgg
	e2eLat    latAgg
}

func (d *wdev) reportsAdd(typ int) { d.reps[typ]++; d.dirty = true }

func (d *wdev) drop(port uint32, reason uint16) {
	d.dirty = true
	k := dropKey{port, reason}
	if _, ok := d.drops[k]; !ok {
		if len(d.drops) >= maxPendingDrops {
			k = dropKey{portOther, reasonOther}
		}
		if _, ok := d.drops[k]; !ok {
			d.dropKeys = append(d.dropKeys, k)
		}
	}
	d.drops[k]++
}

func (d *wdev) queue(q uint8, occ uint32) {
	d.dirty = true
	if d.queueSeen[q>>6]&(1<<(q&63)) == 0 {
		d.queueSeen[q>>6] |= 1 << (q & 63)
		d.queueKeys = append(d.queueKeys, uint16(q))
		d.queues[q] = occ
		return
	}
	d.queues[q] = max(d.queues[q], occ)
}

// pending is a worker's per-device figures, by the receiver's device id
// and, for the switches of INT hops, by switch id.
type pending struct {
	o      *Options
	byName map[string]*wdev
	byID   map[uint32]*wdev
	other  *wdev
	order  []*wdev
	// last is the device of the previous report: a worker's reports come
	// in runs of one switch (the receiver shards by switch and drains
	// batches), so one comparison often saves the map lookup.
	last *wdev
}

func newPending(o *Options) *pending {
	return &pending{o: o, byName: map[string]*wdev{}, byID: map[uint32]*wdev{}}
}

func newWdev(name string) *wdev {
	return &wdev{name: name, nameB: []byte(name), drops: map[dropKey]uint64{}}
}

// device returns the figures of a device; past MaxDevices, of "other".
func (p *pending) device(name string) *wdev {
	if name == "" {
		name = LabelUnknownPort
	}
	if d := p.last; d != nil && d.name == name {
		d.dirty = true
		return d
	}
	if d, ok := p.byName[name]; ok {
		d.dirty = true
		p.last = d
		return d
	}
	if len(p.byName) >= p.o.MaxDevices {
		if p.other == nil {
			p.other = newWdev(LabelOther)
			p.order = append(p.order, p.other)
		}
		p.other.dirty = true
		return p.other
	}
	d := newWdev(name)
	d.dirty = true
	p.byName[name] = d
	p.order = append(p.order, d)
	return d
}

// deviceByID is device(SwitchName(id)) without formatting the name again.
func (p *pending) deviceByID(id uint32) *wdev {
	if d, ok := p.byID[id]; ok {
		d.dirty = true
		return d
	}
	d := p.device(SwitchName(id))
	if len(p.byID) < p.o.MaxDevices {
		p.byID[id] = d
	}
	return d
}

type counterS struct {
	labels model.Labels
	v      float64
}

type gaugeS struct {
	labels model.Labels
	v      float64
	set    bool
}

// gdev is a device's series, shared by the workers.
type gdev struct {
	name             string
	reports          [nTypes]*counterS
	ports            map[uint32]bool
	reasons          map[uint16]bool
	queueOK          map[uint16]bool
	drops            map[dropKey]*counterS
	dropOrder        []*counterS
	queues           map[uint16]*gaugeS
	queueOrder       []*gaugeS
	hopMax, e2eMax   gaugeS
	hopSum, hopCount counterS
	e2eSum, e2eCount counterS
	hasHop, hasE2E   bool
}

// group is the series of one table, shared by its workers: each worker
// merges its figures under mu at most every second, and whichever worker
// finds EmitIntervalMs passed writes them all.
type group struct {
	mu         sync.Mutex
	sink       pipeline.Sink
	board      *status.Board
	o          *Options
	lastEmitMs atomic.Int64
	devices    map[string]*gdev
	order      []*gdev
	folded     int
}

func newGroup(sink pipeline.Sink, board *status.Board, o *Options) *group {
	return &group{sink: sink, board: board, o: o, devices: map[string]*gdev{}}
}

func (g *group) due(nowMs int64) bool {
	return g.sink != nil && nowMs-g.lastEmitMs.Load() >= EmitIntervalMs
}

func (g *group) device(name string) *gdev {
	if d, ok := g.devices[name]; ok {
		return d
	}
	if len(g.devices) >= g.o.MaxDevices {
		g.folded++
		name = LabelOther
		if d, ok := g.devices[name]; ok {
			return d
		}
	}
	d := &gdev{
		name: name, ports: map[uint32]bool{}, reasons: map[uint16]bool{}, queueOK: map[uint16]bool{},
		drops: map[dropKey]*counterS{}, queues: map[uint16]*gaugeS{},
	}
	l := model.LabelsFromPairs("device", name)
	d.hopMax.labels, d.hopSum.labels, d.hopCount.labels = l, l, l
	d.e2eMax.labels, d.e2eSum.labels, d.e2eCount.labels = l, l, l
	g.devices[name] = d
	g.order = append(g.order, d)
	return d
}

// merge moves a worker's figures into the shared series and zeroes them,
// keeping their maps' keys so the steady state allocates nothing.
func (g *group) merge(p *pending) {
	if g.sink == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, w := range p.order {
		if !w.dirty {
			continue
		}
		w.dirty = false
		d := g.device(w.name)
		for t, n := range w.reps {
			if n == 0 {
				continue
			}
			if d.reports[t] == nil {
				d.reports[t] = &counterS{labels: model.LabelsFromPairs("device", d.name, "type", typeNames[t])}
			}
			d.reports[t].v += float64(n)
			w.reps[t] = 0
		}
		for _, k := range w.dropKeys {
			if n := w.drops[k]; n > 0 {
				g.dropAdd(d, k, n)
				w.drops[k] = 0
			}
		}
		if len(w.drops) > maxPendingDrops/2 {
			// Keep the steady set allocation-free, but let a long tail go.
			clear(w.drops)
			w.dropKeys = w.dropKeys[:0]
		}
		for _, q := range w.queueKeys {
			g.queueMax(d, q, w.queues[q])
		}
		w.queueSeen = [4]uint64{}
		w.queueKeys = w.queueKeys[:0]
		if w.hopLat.count > 0 {
			mergeLat(&d.hopMax, &d.hopSum, &d.hopCount, &w.hopLat)
			d.hasHop = true
		}
		if w.e2eLat.count > 0 {
			mergeLat(&d.e2eMax, &d.e2eSum, &d.e2eCount, &w.e2eLat)
			d.hasE2E = true
		}
	}
}

func mergeLat(mx *gaugeS, sum, count *counterS, l *latAgg) {
	if !mx.set || float64(l.max) > mx.v {
		mx.v, mx.set = float64(l.max), true
	}
	sum.v += float64(l.sum)
	count.v += float64(l.count)
	*l = latAgg{}
}

// dropAdd counts drops under the device's bounded port and reason labels:
// the first MaxPorts ports and MaxReasons reasons seen keep their own.
func (g *group) dropAdd(d *gdev, k dropKey, n uint64) {
	if k.port < portUnknown && !d.ports[k.port] {
		if len(d.ports) < g.o.MaxPorts {
			d.ports[k.port] = true
		} else {
			k.port = portOther
		}
	}
	if k.reason < reasonUnknown && !d.reasons[k.reason] {
		if len(d.reasons) < g.o.MaxReasons {
			d.reasons[k.reason] = true
		} else {
			k.reason = reasonOther
		}
	}
	c := d.drops[k]
	if c == nil {
		c = &counterS{labels: model.LabelsFromPairs("device", d.name, "port", portLabel(k.port), "reason", reasonLabel(k.reason))}
		d.drops[k] = c
		d.dropOrder = append(d.dropOrder, c)
	}
	c.v += float64(n)
}

func (g *group) queueMax(d *gdev, q uint16, occ uint32) {
	if !d.queueOK[q] {
		if len(d.queueOK) < g.o.MaxQueues {
			d.queueOK[q] = true
		} else {
			q = queueOther
		}
	}
	s := d.queues[q]
	if s == nil {
		label := LabelOther
		if q != queueOther {
			label = strconv.Itoa(int(q))
		}
		s = &gaugeS{labels: model.LabelsFromPairs("device", d.name, "queue", label)}
		d.queues[q] = s
		d.queueOrder = append(d.queueOrder, s)
	}
	if !s.set || float64(occ) > s.v {
		s.v, s.set = float64(occ), true
	}
}

func portLabel(p uint32) string {
	switch p {
	case portUnknown:
		return LabelUnknownPort
	case portOther:
		return LabelOther
	}
	return strconv.Itoa(int(p))
}

func reasonLabel(r uint16) string {
	switch r {
	case reasonUnknown:
		return LabelUnknownPort
	case reasonOther:
		return LabelOther
	}
	return strconv.Itoa(int(r))
}

const (
	helpReports = "INT telemetry reports per switch and type (flow, drop, queue, int)"
	helpDrops   = "packets INT drop reports told of, per switch, egress port and drop reason"
	helpQueue   = "highest INT queue occupancy reported per switch and queue over the interval (vendor unit)"
	helpHopMax  = "highest INT hop latency of the switch over the interval, ns"
	helpHopSum  = "sum of INT hop latencies of the switch, ns"
	helpHopCnt  = "INT hop latencies of the switch summed in int_hop_latency_ns_sum"
	helpE2EMax  = "highest INT end-to-end latency of paths ending at the switch over the interval, ns"
	helpE2ESum  = "sum of INT end-to-end latencies of paths ending at the switch, ns"
	helpE2ECnt  = "INT end-to-end latencies summed in int_e2e_latency_ns_sum"
)

// emit writes every series, one batch per device, when no worker has done
// so for EmitIntervalMs. Gauges go out only when the interval saw a value.
func (g *group) emit(nowMs int64) {
	g.mu.Lock()
	if !g.due(nowMs) {
		g.mu.Unlock()
		return
	}
	g.lastEmitMs.Store(nowMs)
	folded := g.folded
	g.folded = 0
	batches := make([]model.Batch, 0, len(g.order))
	for _, d := range g.order {
		var s []model.Sample
		counter := func(name, help string, c *counterS) {
			s = append(s, model.Sample{Name: name, Labels: c.labels, TimestampMs: nowMs, Value: c.v, Kind: model.KindCounter, Help: help})
		}
		gauge := func(name, help string, x *gaugeS) {
			if x.set {
				s = append(s, model.Sample{Name: name, Labels: x.labels, TimestampMs: nowMs, Value: x.v, Kind: model.KindGauge, Help: help})
				x.set, x.v = false, 0
			}
		}
		for _, c := range d.reports {
			if c != nil {
				counter(ReportsTotal, helpReports, c)
			}
		}
		for _, c := range d.dropOrder {
			counter(DropsTotal, helpDrops, c)
		}
		for _, q := range d.queueOrder {
			gauge(QueueOccupancy, helpQueue, q)
		}
		if d.hasHop {
			gauge(HopLatencyMax, helpHopMax, &d.hopMax)
			counter(HopLatencySum, helpHopSum, &d.hopSum)
			counter(HopLatencyCount, helpHopCnt, &d.hopCount)
		}
		if d.hasE2E {
			gauge(E2ELatencyMax, helpE2EMax, &d.e2eMax)
			counter(E2ELatencySum, helpE2ESum, &d.e2eSum)
			counter(E2ELatencyCount, helpE2ECnt, &d.e2eCount)
		}
		if len(s) > 0 {
			batches = append(batches, model.Batch{Device: model.DeviceRef{Source: model.SourceINT, ID: d.name}, Samples: s, ReceivedMs: nowMs})
		}
	}
	g.mu.Unlock()
	if folded > 0 && g.board != nil {
		g.board.Add(CounterDevicesOther, uint64(folded))
	}
	for i := range batches {
		if err := g.sink.Write(g.o.Context, &batches[i]); err != nil && g.board != nil {
			g.board.Add(CounterAppendErrors, 1)
			g.board.Error(batches[i].Device, status.CatBuffer, fmt.Errorf("int series: %w", err))
		}
	}
}

// pathLRU remembers the last whole path of the flows a worker saw most
// recently: enough to say whether a path changed, and whether the part of
// a path a dropped packet travelled is the start of the previous one.
type pathLRU struct {
	slots []pathSlot
	// index is by a hash of the flow key (hashing the key's addresses in
	// the map was a fifth of a report's time); two flows of one hash share
	// a slot, each seeing the other's path as its previous one only while
	// both are remembered: unlikely enough with 64 bits.
	index      map[uint64]int32
	head, tail int32 // most and least recently seen; -1 when empty
	n          int
}

type pathSlot struct {
	key        uint64
	n          uint8
	ids        [intreport.HopLimit]uint32
	prev, next int32
}

func newPathLRU(n int) *pathLRU {
	return &pathLRU{slots: make([]pathSlot, n), index: make(map[uint64]int32, n), head: -1, tail: -1}
}

// observe records k's path and says whether it differs from k's previous
// one (false for a flow not remembered). A partial path (the packet was
// dropped on the way) is changed only when it is not the start of the
// previous path, and is not remembered: the next whole path compares with
// the last whole one.
// fk is the flow's flowHash.
func (l *pathLRU) observe(fk uint64, ids []uint32, partial bool) bool {
	if i, ok := l.index[fk]; ok {
		s := &l.slots[i]
		prev := s.ids[:s.n]
		var changed bool
		if partial {
			changed = len(ids) > len(prev) || !slices.Equal(prev[:len(ids)], ids)
		} else {
			changed = !slices.Equal(prev, ids)
			s.n = uint8(copy(s.ids[:], ids))
		}
		l.unlink(i)
		l.pushFront(i)
		return changed
	}
	if partial {
		return false
	}
	var i int32
	if l.n < len(l.slots) {
		i = int32(l.n)
		l.n++
	} else {
		i = l.tail
		delete(l.index, l.slots[i].key)
		l.unlink(i)
	}
	s := &l.slots[i]
	s.key = fk
	s.n = uint8(copy(s.ids[:], ids))
	l.pushFront(i)
	l.index[fk] = i
	return false
}

func (l *pathLRU) unlink(i int32) {
	s := &l.slots[i]
	if s.prev >= 0 {
		l.slots[s.prev].next = s.next
	} else {
		l.head = s.next
	}
	if s.next >= 0 {
		l.slots[s.next].prev = s.prev
	} else {
		l.tail = s.prev
	}
}

func (l *pathLRU) pushFront(i int32) {
	s := &l.slots[i]
	s.prev, s.next = -1, l.head
	if l.head >= 0 {
		l.slots[l.head].prev = i
	} else {
		l.tail = i
	}
	l.head = i
}

// flowHash mixes a flow key into 64 bits (the splitmix64 finalizer over
// each word).
func flowHash(k intreport.FlowKey) uint64 {
	mix := func(h, v uint64) uint64 {
		h ^= v
		h ^= h >> 30
		h *= 0xbf58476d1ce4e5b9
		h ^= h >> 27
		h *= 0x94d049bb133111eb
		return h ^ h>>31
	}
	s, d := k.Src.As16(), k.Dst.As16()
	h := uint64(k.Protocol)<<32 | uint64(k.SrcPort)<<16 | uint64(k.DstPort)
	h = mix(h, be64(s[:8]))
	h = mix(h, be64(s[8:]))
	h = mix(h, be64(d[:8]))
	return mix(h, be64(d[8:]))
}

func be64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }
