package xr

import (
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// RouterStatus is what arrived from one router: the message's node name
// (node_id_str, PDT Identifier), or its address when it sends none.
type RouterStatus struct {
	Device      string   `json:"device"`
	Remote      string   `json:"remote"` // address:port of the last frame
	Transports  []string `json:"transports"`
	Generations []string `json:"generations"` // pdt_v1, pdt_v2, pdt_udp, mdt
	Encodings   []string `json:"encodings"`   // json, gpbkv, gpb-compact
	FirstSeenMs int64    `json:"firstSeenMs"`
	LastSeenMs  int64    `json:"lastSeenMs"`
	// Messages counts decoded messages (one per frame), Bytes their
	// payloads once inflated.
	Messages uint64            `json:"messages"`
	Bytes    uint64            `json:"bytes"`
	Drops    map[string]uint64 `json:"drops"`
	// MissingProtos counts compact GPB tables skipped because no .proto
	// describes their policy path, by path.
	MissingProtos map[string]uint64 `json:"missingProtos"`
	// Stopped is true once the router has been silent for longer than
	// xr_router_timeout, or three periods of the slowest policy group it
	// sends, whichever is longer.
	Stopped bool `json:"stopped"`
}

// router is one row of the table.
type router struct {
	device, remote                     string
	transports, generations, encodings []string
	firstMs, lastMs                    int64
	messages, bytes                    uint64
	drops, missing                     map[string]uint64
	maxPeriod                          time.Duration
	// told* are what the board has heard of already.
	toldMessages, toldDrops uint64
	dropTotal               uint64
}

// seenFrame is what a frame tells about its router before decoding.
type seenFrame struct {
	transport, generation, encoding, remote string
	bytes                                   uint64
	ms                                      int64
}

// routerTable holds routers by device, and the device last heard from each
// address, so a frame that fails before it names its router (framing,
// zlib, a decoding error) is counted on the right row.
type routerTable struct {
	mu     sync.Mutex
	m      map[string]*router
	byAddr map[netip.Addr]string
}

func (t *routerTable) init() {
	t.m = map[string]*router{}
	t.byAddr = map[netip.Addr]string{}
}

// deviceOf is the router last heard from a, else a itself.
func (t *routerTable) deviceOf(a netip.Addr) string {
	t.mu.Lock()
	dev, ok := t.byAddr[a]
	t.mu.Unlock()
	if ok {
		return dev
	}
	return a.String()
}

// getLocked returns dev's row, making room for it when the table is full.
func (t *routerTable) getLocked(dev string, nowMs int64) *router {
	r := t.m[dev]
	if r == nil {
		if len(t.m) >= maxRouters {
			var oldest *router
			for _, o := range t.m {
				if oldest == nil || o.lastMs < oldest.lastMs {
					oldest = o
				}
			}
			delete(t.m, oldest.device)
		}
		r = &router{device: dev, firstMs: nowMs, drops: map[string]uint64{}, missing: map[string]uint64{}}
		t.m[dev] = r
	}
	return r
}

func addTo(set []string, s string) []string {
	if s == "" || slices.Contains(set, s) {
		return set
	}
	return append(set, s)
}

// decoded records a decoded message of dev, which is now the router of
// address a.
func (t *routerTable) decoded(dev string, a netip.Addr, f seenFrame) {
	t.mu.Lock()
	if t.byAddr[a] != dev {
		if len(t.byAddr) >= 2*maxRouters {
			clear(t.byAddr)
		}
		t.byAddr[a] = dev
	}
	t.heardLocked(dev, f, true)
	t.mu.Unlock()
}

// heard records a frame of dev that was no message (reset, heartbeat,
// refused).
func (t *routerTable) heard(dev string, f seenFrame) {
	t.mu.Lock()
	t.heardLocked(dev, f, false)
	t.mu.Unlock()
}

func (t *routerTable) heardLocked(dev string, f seenFrame, decoded bool) {
	r := t.getLocked(dev, f.ms)
	r.remote = f.remote
	r.transports = addTo(r.transports, f.transport)
	r.generations = addTo(r.generations, f.generation)
	r.encodings = addTo(r.encodings, f.encoding)
	r.lastMs = max(r.lastMs, f.ms)
	if decoded {
		r.messages++
		r.bytes += f.bytes
	}
}

func (t *routerTable) drop(dev, remote, reason string, n uint64, nowMs int64) {
	t.mu.Lock()
	r := t.getLocked(dev, nowMs)
	if remote != "" {
		r.remote = remote
	}
	r.drops[reason] += n
	r.dropTotal += n
	r.lastMs = max(r.lastMs, nowMs)
	t.mu.Unlock()
}

// maxMissingPaths bounds a router's missing-proto paths (a router cannot
// make the table grow by naming made-up paths).
const maxMissingPaths = 256

func (t *routerTable) missingProto(dev, path string) {
	t.mu.Lock()
	if r := t.m[dev]; r != nil {
		if _, ok := r.missing[path]; ok || len(r.missing) < maxMissingPaths {
			r.missing[path]++
		} else {
			r.missing["(other paths)"]++
		}
	}
	t.mu.Unlock()
}

// period notes the period of a policy group dev sends, which stretches how
// long it may stay silent.
func (t *routerTable) period(dev string, p time.Duration) {
	t.mu.Lock()
	if r := t.m[dev]; r != nil && p > r.maxPeriod {
		r.maxPeriod = p
	}
	t.mu.Unlock()
}

func (r *router) timeout(base time.Duration) int64 {
	return max(base, 3*r.maxPeriod).Milliseconds()
}

func (r *router) status(nowMs int64, base time.Duration) RouterStatus {
	return RouterStatus{
		Device: r.device, Remote: r.remote,
		Transports: slices.Sorted(slices.Values(r.transports)), Generations: slices.Sorted(slices.Values(r.generations)),
		Encodings: slices.Sorted(slices.Values(r.encodings)), FirstSeenMs: r.firstMs, LastSeenMs: r.lastMs,
		Messages: r.messages, Bytes: r.bytes, Drops: maps.Clone(r.drops), MissingProtos: maps.Clone(r.missing),
		Stopped: nowMs-r.lastMs > r.timeout(base),
	}
}

// Routers lists every router heard from, sorted by device.
func (r *Receiver) Routers() []RouterStatus {
	nowMs := r.nowMs()
	t := &r.routers
	t.mu.Lock()
	out := make([]RouterStatus, 0, len(t.m))
	for _, x := range t.m {
		out = append(out, x.status(nowMs, r.cfg.RouterTimeout))
	}
	t.mu.Unlock()
	slices.SortFunc(out, func(a, b RouterStatus) int { return strings.Compare(a.Device, b.Device) })
	return out
}
