package flows

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/netlens/netlens/pkg/decode/ipfix"
	"github.com/netlens/netlens/pkg/model"
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
	// maxSeries bounds the volume series of one worker; past it, new
	// (device, protocol, application) keys fold into their device's
	// "other"/"other" series, counted as ipfix_volume_keys_folded.
	maxSeries  = 20_000
	protoOther = 257
)

// device is what one worker keeps per exporter and observation domain.
type device struct {
	name      string
	nameBytes []byte
	index     int32
	apps      map[string]*appStat
	top       int // applications with their own label
	replaced  int
}

type appStat struct {
	key      string // the application's text as the exporter sent it
	label    string
	bytes    uint64 // volume since the last emission, halved at each (recent volume ranks first)
	promoted bool
}

type volKey struct {
	dev   int32
	proto uint16 // 256: unknown
	app   string
}

type volCounter struct {
	labels                model.Labels
	bytes, packets, flows float64
}

func (f *Flows) device(s ipfix.Scope) *device {
	if d, ok := f.devices[s]; ok {
		return d
	}
	name := s.Device()
	// Two exporter ports of one device (a restart) share the device's state
	// and series.
	d, ok := f.byName[name]
	if !ok {
		if len(f.byName) >= maxDevices {
			// Start over rather than grow: counters are cumulative per key,
			// and a series store copes with a counter that starts again.
			clear(f.devices)
			clear(f.byName)
			clear(f.volume)
			f.order = f.order[:0]
		}
		d = &device{name: name, nameBytes: []byte(name), index: int32(len(f.byName)), apps: map[string]*appStat{}}
		f.byName[name] = d
	}
	if len(f.devices) >= 4*maxDevices {
		clear(f.devices)
	}
	f.devices[s] = d
	return d
}

// count adds one flow to its volume counter. app is the application's
// text (empty when unknown); looking it up by string(app) does not allocate.
func (f *Flows) count(d *device, v *flowVals, bytes, packets uint64, app []byte) {
	label := AppUnknown
	if len(app) > 0 {
		if len(app) > maxAppLabel {
			n := maxAppLabel
			for n > 0 && !utf8.RuneStart(app[n]) {
				n--
			}
			app = app[:n]
		}
		st, ok := d.apps[string(app)]
		if !ok && len(d.apps) < trackedApps {
			// While the top list has room, an application gets its own series
			// from its first flow; ranking only decides who replaces whom.
			// Label values must be UTF-8; exporters' names need not be.
			key := string(app)
			st = &appStat{key: key, label: strings.ToValidUTF8(key, "\uFFFD"), promoted: d.top < TopApplications}
			if st.promoted {
				d.top++
			}
			d.apps[key] = st
		}
		label = AppOther
		if st != nil {
			st.bytes += bytes
			if st.promoted {
				label = st.label
			}
		}
	}
	known := v.has&hasProto != 0 && v.proto < 256
	proto := uint16(256) // no protocol field
	if known {
		proto = uint16(v.proto)
	}
	k := volKey{d.index, proto, label}
	c, ok := f.volume[k]
	if !ok && len(f.volume) >= maxSeries {
		// Many devices each with many protocols: fold what does not fit into
		// one series per device rather than grow.
		k = volKey{d.index, protoOther, AppOther}
		c, ok = f.volume[k]
		f.nFolded++
	}
	if !ok {
		c = &volCounter{labels: model.LabelsFromPairs(
			"device", d.name, "protocol", protocolName(k.proto, known), "application", k.app)}
		f.volume[k] = c
		f.order = append(f.order, c)
	}
	c.bytes += float64(bytes)
	c.packets += float64(packets)
	c.flows++
}

// rank re-evaluates a device's top applications from the volume seen since
// the last emission. The first TopApplications applications seen are
// promoted at once (count); after that, promotion is sticky (a series does not flap), an
// application replaces the weakest of a full list only when it carried more
// than twice its volume, and replacements are capped per device, so the
// number of application labels a device ever has is at most
// TopApplications + maxReplacements, plus "other" and "unknown".
func (d *device) rank() {
	if len(d.apps) == 0 {
		return
	}
	all := make([]*appStat, 0, len(d.apps))
	for _, st := range d.apps {
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
		if d.top < TopApplications {
			st.promoted = true
			d.top++
			continue
		}
		if d.replaced >= maxReplacements {
			break
		}
		// The weakest promoted application, from the bottom of the ranking.
		for j := len(all) - 1; j > i; j-- {
			w := all[j]
			if w.promoted && st.bytes > 2*w.bytes {
				w.promoted = false
				st.promoted = true
				d.replaced++
				break
			}
		}
	}
	// Halve so recent volume ranks first, and forget the quiet tail so new
	// applications can be tracked.
	over := len(d.apps) > keepTracked
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
		delete(d.apps, st.key)
	}
}

func (f *Flows) emit(ctx context.Context, nowMs int64) error {
	for _, d := range f.byName {
		d.rank()
	}
	s := f.samples[:0]
	for _, c := range f.order {
		s = append(s,
			model.Sample{Name: BytesTotal, Labels: c.labels, TimestampMs: nowMs, Value: c.bytes, Kind: model.KindCounter,
				Help: "bytes of IPFIX flows (scaled by the sampling rate) per device, protocol and application"},
			model.Sample{Name: PacketsTotal, Labels: c.labels, TimestampMs: nowMs, Value: c.packets, Kind: model.KindCounter,
				Help: "packets of IPFIX flows (scaled by the sampling rate) per device, protocol and application"},
			model.Sample{Name: FlowsTotal, Labels: c.labels, TimestampMs: nowMs, Value: c.flows, Kind: model.KindCounter,
				Help: "IPFIX flow records per device, protocol and application"},
		)
	}
	f.samples = s
	res, err := f.series.Append(ctx, s)
	if err != nil {
		f.board.Add("ipfix_volume_append_errors", 1)
		return fmt.Errorf("flows: volume series: %w", err)
	}
	if res.Rejected > 0 {
		f.board.Add("ipfix_volume_samples_rejected", uint64(res.Rejected))
		if res.FirstError != nil {
			f.board.Error(model.DeviceRef{Source: model.SourceIPFIX, ID: "volume"}, status.CatBuffer,
				fmt.Errorf("series store rejected %d of %d volume samples: %w", res.Rejected, len(s), res.FirstError))
		}
	}
	return nil
}

// protocolName is the IANA keyword of common protocols (lower case, as
// users type them), the number otherwise, "unknown" when the flow had none.
func protocolName(p uint16, known bool) string {
	switch {
	case p == protoOther:
		return AppOther
	case !known || p > 255:
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
