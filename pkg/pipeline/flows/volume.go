package flows

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/netlens/netlens/pkg/decode/ipfix"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pipeline"
	"github.com/netlens/netlens/pkg/status"
)

// Application labels that are not an application's name.
const (
	AppOther   = "other"
	AppUnknown = "unknown"
)

const (
	// trackedApps bounds the applications whose volume a device's ranking
	// follows between two emissions; an application first seen while the
	// table is full counts as "other" until the next emission makes room.
	trackedApps = 512
	// keepTracked is what a prune leaves: the busiest applications.
	keepTracked = 256
	// maxAppLabel truncates application names used as label values.
	maxAppLabel = 64
	// maxReplacements bounds how many times a device's top list may swap
	// an application out, so the number of distinct series stays bounded
	// even when the busiest applications change all day.
	maxReplacements = TopApplications
	// maxSeries bounds the volume series of one table; past it, new
	// (device, protocol, application) keys fold into their device's
	// "other"/"other" series, counted as ipfix_volume_keys_folded.
	maxSeries = 20_000
	// maxPendingApps bounds the applications a worker collects per device
	// between two flushes; more go to "other" at once.
	maxPendingApps = 1024

	protoUnknown = 256
	protoOther   = 257
)

// The receiver shards exporters to workers by address and port, but the
// device label has no port (an exporter that restarts, or reconnects over
// TCP, gets a new one and may land on another worker). Counters per device
// must therefore be shared by the workers, or two workers would each send
// their own cumulative value for the same series. Workers writing the same
// table share one group; each collects per-record counts without locks and
// merges them into the group at Flush, under one lock.
type group struct {
	mu         sync.Mutex
	series     pipeline.Appender
	board      *status.Board
	lastEmitMs atomic.Int64 // read without mu by workers deciding whether to merge
	devices    map[string]*rankState
	volume     map[volKey]*volCounter
	order      []*volCounter // emission order, stable
}

// Volumes holds the volume counters of one flow table. Every worker
// writing the table gets the same Volumes from the caller (New), so a
// device's series stay one cumulative counter whichever worker saw its
// records.
type Volumes struct{ g *group }

// NewVolumes creates the shared counters of one table: series receives them
// at most every EmitIntervalMs, board counts what they cost.
func NewVolumes(series pipeline.Appender, board *status.Board) *Volumes {
	return &Volumes{g: &group{series: series, board: board, devices: map[string]*rankState{}, volume: map[volKey]*volCounter{}}}
}

// due says whether the group's counters should go to the series store.
func (g *group) due(nowMs int64) bool { return nowMs-g.lastEmitMs.Load() >= EmitIntervalMs }

// rankState is a device's application ranking, in the group.
type rankState struct {
	apps     map[string]*appStat
	top      int // applications with their own label
	replaced int
}

type appStat struct {
	key      string // the application's text as the exporter sent it
	label    string
	bytes    uint64 // volume since the last emission, halved at each (recent volume ranks first)
	promoted bool
}

type volKey struct {
	dev   string
	proto uint16 // protoUnknown, protoOther
	app   string
}

type volCounter struct {
	labels                model.Labels
	bytes, packets, flows float64
}

// device is what one worker keeps per exporter and observation domain:
// its name and the counts not yet merged into the group.
type device struct {
	name      string
	nameBytes []byte
	pending   map[string]*pendingApp // by application text
	noApp     pendingApp             // flows without an application
	overflow  pendingApp             // applications past maxPendingApps
}

type pendingApp struct {
	key    string
	protos []pendingProto // few per application: a short list beats a map
}

func (pa *pendingApp) bytes() (n uint64) {
	for _, p := range pa.protos {
		n += p.bytes
	}
	return n
}

func (pa *pendingApp) flows() (n uint64) {
	for _, p := range pa.protos {
		n += p.flows
	}
	return n
}

type pendingProto struct {
	proto                 uint16
	bytes, packets, flows uint64
}

func (f *Flows) device(s ipfix.Scope) *device {
	if d, ok := f.devices[s]; ok {
		return d
	}
	if len(f.devices) >= maxDevices {
		// Start over rather than grow; counts not merged yet are merged
		// first so none is lost.
		f.merge()
		clear(f.devices)
	}
	name := s.Device()
	d := &device{name: name, nameBytes: []byte(name), pending: map[string]*pendingApp{}}
	d.overflow.key = "\x00other"
	f.devices[s] = d
	return d
}

// count adds one flow to its device's pending counts. app is the
// application's text (empty when unknown); looking it up by string(app)
// does not allocate.
func (f *Flows) count(d *device, v *flowVals, bytes, packets uint64, app []byte) {
	pa := &d.noApp
	if len(app) > 0 {
		if len(app) > maxAppLabel {
			n := maxAppLabel
			for n > 0 && !utf8.RuneStart(app[n]) {
				n--
			}
			app = app[:n]
		}
		p, ok := d.pending[string(app)]
		switch {
		case ok:
			pa = p
		case len(d.pending) < maxPendingApps:
			pa = &pendingApp{key: string(app)}
			d.pending[pa.key] = pa
		default:
			pa = &d.overflow
		}
	}
	proto := uint16(protoUnknown)
	if v.has&hasProto != 0 && v.proto < 256 {
		proto = uint16(v.proto)
	}
	for i := range pa.protos {
		if p := &pa.protos[i]; p.proto == proto {
			p.bytes += bytes
			p.packets += packets
			p.flows++
			return
		}
	}
	pa.protos = append(pa.protos, pendingProto{proto: proto, bytes: bytes, packets: packets, flows: 1})
}

// merge moves every device's pending counts into the group's counters.
func (f *Flows) merge() {
	g := f.group
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, d := range f.devices {
		rs := g.devices[d.name]
		if rs == nil {
			if len(g.devices) >= maxDevices {
				clear(g.devices)
			}
			rs = &rankState{apps: map[string]*appStat{}}
			g.devices[d.name] = rs
		}
		g.add(d.name, rs, &d.noApp, AppUnknown)
		g.add(d.name, rs, &d.overflow, AppOther)
		// Busiest first, so a device's free places in the top list and in
		// the ranking go to the applications that carry its traffic.
		byVolume := f.mergeBuf[:0]
		for _, pa := range d.pending {
			if pa.bytes() > 0 || pa.flows() > 0 {
				byVolume = append(byVolume, pa)
			}
		}
		sort.Slice(byVolume, func(i, j int) bool {
			if bi, bj := byVolume[i].bytes(), byVolume[j].bytes(); bi != bj {
				return bi > bj
			}
			return byVolume[i].key < byVolume[j].key
		})
		for _, pa := range byVolume {
			g.add(d.name, rs, pa, "")
		}
		clear(byVolume)
		f.mergeBuf = byVolume[:0]
		if len(d.pending) > maxPendingApps/2 {
			// Keep the steady set allocation-free, but let a long tail go.
			clear(d.pending)
		}
	}
}

// add merges one application's pending counts; label is fixed ("unknown",
// "other") or "" to decide from the device's ranking.
func (g *group) add(dev string, rs *rankState, pa *pendingApp, label string) {
	if label == "" {
		label = rs.labelFor(pa)
	}
	for i := range pa.protos {
		p := &pa.protos[i]
		if p.flows == 0 {
			continue
		}
		k := volKey{dev, p.proto, label}
		c, ok := g.volume[k]
		if !ok && len(g.volume) >= maxSeries {
			// Many devices each with many protocols: fold what does not fit
			// into one series per device rather than grow.
			k = volKey{dev, protoOther, AppOther}
			c, ok = g.volume[k]
			g.board.Add("ipfix_volume_keys_folded", 1)
		}
		if !ok {
			c = &volCounter{labels: model.LabelsFromPairs(
				"device", dev, "protocol", protocolName(k.proto), "application", k.app)}
			g.volume[k] = c
			g.order = append(g.order, c)
		}
		c.bytes += float64(p.bytes)
		c.packets += float64(p.packets)
		c.flows += float64(p.flows)
		*p = pendingProto{proto: p.proto}
	}
}

// labelFor tracks an application's volume and says which label its flows
// carry: its own name while it is in the device's top list, else "other".
// While the list has room an application joins it with its first flows;
// rank decides who replaces whom later.
func (rs *rankState) labelFor(pa *pendingApp) string {
	bytes := pa.bytes()
	st, ok := rs.apps[pa.key]
	if !ok {
		if len(rs.apps) >= trackedApps {
			return AppOther
		}
		// Label values must be UTF-8; exporters' names need not be.
		st = &appStat{key: pa.key, label: strings.ToValidUTF8(pa.key, "\uFFFD"), promoted: rs.top < TopApplications}
		if st.promoted {
			rs.top++
		}
		rs.apps[pa.key] = st
	}
	st.bytes += bytes
	if st.promoted {
		return st.label
	}
	return AppOther
}

// rank re-evaluates a device's top applications from the volume seen since
// the last emission. Promotion is sticky (a series does not flap), an
// application replaces the weakest of a full list only when it carried more
// than twice its volume, and replacements are capped per device, so the
// number of application labels a device ever has is at most
// TopApplications + maxReplacements, plus "other" and "unknown".
func (rs *rankState) rank() {
	if len(rs.apps) == 0 {
		return
	}
	all := make([]*appStat, 0, len(rs.apps))
	for _, st := range rs.apps {
		all = append(all, st)
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].bytes != all[j].bytes {
			return all[i].bytes > all[j].bytes
		}
		return all[i].key < all[j].key
	})
	for i, st := range all {
		if i >= TopApplications || st.bytes == 0 {
			break
		}
		if st.promoted {
			continue
		}
		if rs.top < TopApplications {
			st.promoted = true
			rs.top++
			continue
		}
		if rs.replaced >= maxReplacements {
			break
		}
		// The weakest promoted application, from the bottom of the ranking.
		for j := len(all) - 1; j > i; j-- {
			w := all[j]
			if w.promoted && st.bytes > 2*w.bytes {
				w.promoted = false
				st.promoted = true
				rs.replaced++
				break
			}
		}
	}
	// Halve so recent volume ranks first, and forget the quiet tail so new
	// applications can be tracked.
	over := len(rs.apps) > keepTracked
	kept := 0
	for _, st := range all {
		st.bytes /= 2
		if !over {
			continue
		}
		if st.promoted || kept < keepTracked {
			kept++
			continue
		}
		delete(rs.apps, st.key)
	}
}

// emit merges this worker's counts and, when no worker of the group has
// done so for EmitIntervalMs, appends every counter of the group.
func (f *Flows) emit(ctx context.Context, nowMs int64) error {
	f.merge()
	g := f.group
	g.mu.Lock()
	if !g.due(nowMs) || len(g.order) == 0 {
		g.mu.Unlock()
		return nil
	}
	g.lastEmitMs.Store(nowMs)
	for _, rs := range g.devices {
		rs.rank()
	}
	s := make([]model.Sample, 0, 3*len(g.order))
	for _, c := range g.order {
		s = append(s,
			model.Sample{Name: BytesTotal, Labels: c.labels, TimestampMs: nowMs, Value: c.bytes, Kind: model.KindCounter,
				Help: "bytes of IPFIX flows, both directions of biflows, scaled by the sampling rate, per device, protocol and application"},
			model.Sample{Name: PacketsTotal, Labels: c.labels, TimestampMs: nowMs, Value: c.packets, Kind: model.KindCounter,
				Help: "packets of IPFIX flows, both directions of biflows, scaled by the sampling rate, per device, protocol and application"},
			model.Sample{Name: FlowsTotal, Labels: c.labels, TimestampMs: nowMs, Value: c.flows, Kind: model.KindCounter,
				Help: "IPFIX flow records per device, protocol and application"},
		)
	}
	g.mu.Unlock()
	res, err := g.series.Append(ctx, s)
	if err != nil {
		g.board.Add("ipfix_volume_append_errors", 1)
		return fmt.Errorf("flows: volume series: %w", err)
	}
	if res.Rejected > 0 {
		g.board.Add("ipfix_volume_samples_rejected", uint64(res.Rejected))
		if res.FirstError != nil {
			g.board.Error(model.DeviceRef{Source: model.SourceIPFIX, ID: "volume"}, status.CatBuffer,
				fmt.Errorf("series store rejected %d of %d volume samples: %w", res.Rejected, len(s), res.FirstError))
		}
	}
	return nil
}

// protocolName is the IANA keyword of common protocols (lower case, as
// users type them), the number otherwise.
func protocolName(p uint16) string {
	switch {
	case p == protoOther:
		return AppOther
	case p > 255:
		return "unknown"
	}
	return protocolNames[p]
}

var protocolNames = func() (n [256]string) {
	for i := range n {
		n[i] = strconv.Itoa(i)
	}
	for p, name := range map[uint8]string{
		1: "icmp", 2: "igmp", 4: "ipip", 6: "tcp", 17: "udp", 41: "ipv6", 47: "gre", 50: "esp",
		51: "ah", 58: "ipv6-icmp", 89: "ospf", 103: "pim", 112: "vrrp", 132: "sctp", 136: "udplite",
	} {
		n[p] = name
	}
	return n
}()
