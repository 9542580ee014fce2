package xr

import (
	"cmp"
	"slices"
	"sync"
	"time"
)

// SilentGroup is a collection group of a loaded policy that a router
// stopped sending for three of its periods, or (Router "") that no router
// has sent since the policy was loaded three periods ago.
type SilentGroup struct {
	Router string        `json:"router"`
	Policy string        `json:"policy"`
	Group  string        `json:"group"`
	Period time.Duration `json:"period"`
	// LastSeenMs is the group's last message from Router, 0 when none came;
	// SinceMs is when the silence began (that message, else the policy's load).
	LastSeenMs int64 `json:"lastSeenMs"`
	SinceMs    int64 `json:"sinceMs"`
}

type pgKey struct{ policy, group string }

// groupTable is when each router last sent each group.
type groupTable struct {
	mu   sync.Mutex
	last map[pgKey]map[string]int64
	n    int
}

// maxGroupEntries bounds (router, policy, group) entries; only groups of
// loaded policies enter, so it is reached only by a swarm of routers.
const maxGroupEntries = 200000

func (t *groupTable) init() { t.last = map[pgKey]map[string]int64{} }

func (t *groupTable) refresh(router string, g groupRef, nowMs int64) {
	k := pgKey{g.policy, g.group}
	t.mu.Lock()
	m := t.last[k]
	if m == nil {
		m = map[string]int64{}
		t.last[k] = m
	}
	if _, ok := m[router]; ok || t.n < maxGroupEntries {
		if !ok {
			t.n++
		}
		m[router] = max(m[router], nowMs)
	}
	t.mu.Unlock()
}

// SilentGroups lists, for every group of every loaded policy, the routers
// that have not sent it for three periods, and the group itself (Router "")
// when no router ever sent it and three periods have passed since its
// policy was loaded. Sorted by policy, group and router.
func (r *Receiver) SilentGroups(nowMs int64) []SilentGroup {
	cat := r.files.Load()
	out := []SilentGroup{}
	r.groups.mu.Lock()
	defer r.groups.mu.Unlock()
	for name, lp := range cat.loaded {
		for _, g := range lp.pol.Groups {
			after := g.SilentAfter().Milliseconds()
			seen := r.groups.last[pgKey{name, g.Name}]
			if len(seen) == 0 {
				since := max(lp.loadedMs, r.startMs)
				if nowMs-since > after {
					out = append(out, SilentGroup{Policy: name, Group: g.Name, Period: g.Period, SinceMs: since})
				}
				continue
			}
			for router, last := range seen {
				if nowMs-last > after {
					out = append(out, SilentGroup{Router: router, Policy: name, Group: g.Name, Period: g.Period, LastSeenMs: last, SinceMs: last})
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b SilentGroup) int {
		return cmp.Or(cmp.Compare(a.Policy, b.Policy), cmp.Compare(a.Group, b.Group), cmp.Compare(a.Router, b.Router))
	})
	return out
}

// groupHealth is one group's silence and period, for
// xr_group_silence_seconds and xr_group_period_seconds: an alert rule divides
// the one by the other to find groups silent for three periods, which it
// could not do from the silence alone.
type groupHealth struct{ silence, period float64 }

// groupSilence is, per group of a loaded policy, seconds since any router
// last sent it (or since its policy was loaded), and the group's period.
func (r *Receiver) groupSilence(nowMs int64) map[pgKey]groupHealth {
	cat := r.files.Load()
	out := map[pgKey]groupHealth{}
	r.groups.mu.Lock()
	defer r.groups.mu.Unlock()
	for name, lp := range cat.loaded {
		for _, g := range lp.pol.Groups {
			k := pgKey{name, g.Name}
			last := max(lp.loadedMs, r.startMs)
			for _, ms := range r.groups.last[k] {
				last = max(last, ms)
			}
			out[k] = groupHealth{silence: max(0, float64(nowMs-last)/1000), period: g.Period.Seconds()}
		}
	}
	return out
}
