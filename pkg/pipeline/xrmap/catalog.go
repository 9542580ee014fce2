package xrmap

import (
	"sort"

	"github.com/netlens/netlens/pkg/model"
)

// PathInfo is what arrived for one path from one router.
type PathInfo struct {
	Device, Path, Policy, Subscription, Encoding string
	LastSeenMs                                   int64
	Messages                                     uint64
	Rows                                         int      // rows of the last message
	Keys                                         []string // label names of the row keys, in order of arrival
	Leaves                                       int      // distinct leaf names
}

// LeafInfo describes one leaf of a path. Kind is counter, gauge or string;
// Type is the value type last received (uint, int, float, bool, string,
// bytes); Metric is empty for string leaves and for names that make no
// metric name.
type LeafInfo struct {
	Leaf   string `json:"leaf"`
	Metric string `json:"metric"`
	Kind   string `json:"kind"`
	Type   string `json:"type"`
}

// Paths lists the paths a router sent, by path; device "" lists every
// router's, by device then path.
func (m *Mapper) Paths(device string) []PathInfo {
	var out []PathInfo
	for _, d := range m.devicesOf(device) {
		d.mu.Lock()
		for _, ps := range d.paths {
			in := ps.info
			in.Keys = append([]string(nil), in.Keys...)
			for _, ls := range ps.order {
				if !ls.isKey {
					in.Leaves++
				}
			}
			out = append(out, in)
		}
		d.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Device != out[j].Device {
			return out[i].Device < out[j].Device
		}
		return out[i].Path < out[j].Path
	})
	return out
}

// Leaves lists the leaves of a path, by leaf name; device "" merges every
// router's (a leaf seen by several routers appears once, as the first
// router by name describes it).
func (m *Mapper) Leaves(device, path string) []LeafInfo {
	var out []LeafInfo
	seen := map[string]bool{}
	for _, d := range m.devicesOf(device) {
		d.mu.Lock()
		if ps := d.paths[path]; ps != nil {
			for _, ls := range ps.order {
				if seen[ls.name] || ls.isKey {
					continue
				}
				seen[ls.name] = true
				out = append(out, ls.describe(path))
			}
		}
		d.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Leaf < out[j].Leaf })
	return out
}

// describe is a leaf's catalog entry (under its device's lock).
func (ls *leafState) describe(path string) LeafInfo {
	li := LeafInfo{Leaf: ls.name, Type: ls.typ.String()}
	if !numeric(ls.typ) {
		li.Kind = "string"
		return li
	}
	k := ls.kind
	if k == model.KindUnknown {
		k = classify(ls.typ, ls.name)
	}
	li.Kind = k.String()
	if ls.named {
		li.Metric = ls.metric
	} else {
		li.Metric, _ = MetricName(path, ls.name)
	}
	return li
}

// devicesOf returns the named router, or every router by name for "".
func (m *Mapper) devicesOf(name string) []*device {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if name != "" {
		if d := m.devices[name]; d != nil {
			return []*device{d}
		}
		return nil
	}
	out := make([]*device, 0, len(m.devices))
	for _, d := range m.devices {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}
