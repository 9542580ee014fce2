package ipfix

import (
	"cmp"
	"net/netip"
	"slices"
)

// State is what a Decoder knows that is worth keeping across a restart:
// templates, sampler tables and application names per scope. It is
// JSON-serialisable; the receiver persists it in the data directory.
type State struct {
	Scopes []ScopeState `json:"scopes"`
}

// ScopeState is the kept state of one scope.
type ScopeState struct {
	Exporter     netip.AddrPort  `json:"exporter"`
	ODID         uint32          `json:"odid"`
	Version      uint16          `json:"version"`
	Transport    Transport       `json:"transport"`
	Templates    []TemplateState `json:"templates,omitempty"`
	Samplers     []Sampler       `json:"samplers,omitempty"`
	SamplingRate uint64          `json:"samplingRate,omitempty"` // the rate for the whole scope
	Applications []Application   `json:"applications,omitempty"`
	SystemInitMs int64           `json:"systemInitMs,omitempty"`
	LastSeenMs   int64           `json:"lastSeenMs"`
}

// TemplateState is one template as the exporter defined it.
type TemplateState struct {
	ID          uint16      `json:"id"`
	Options     bool        `json:"options,omitempty"`
	ScopeFields int         `json:"scopeFields,omitempty"` // scope fields as sent, paddingOctets included
	Fields      []FieldSpec `json:"fields"`
	LearnedMs   int64       `json:"learnedMs"`
	LastSeenMs  int64       `json:"lastSeenMs"`
}

// Application is one entry of an exporter's application table.
type Application struct {
	ID   []byte `json:"id"` // applicationId as sent: engine byte, then selector
	Name string `json:"name"`
}

// Snapshot copies the decoder's kept state, ordered by scope and id so two
// snapshots of the same state are equal.
func (d *Decoder) Snapshot() State {
	s := State{Scopes: make([]ScopeState, 0, len(d.scopes))}
	for _, sc := range d.scopes {
		ss := ScopeState{
			Exporter: sc.scope.Exporter, ODID: sc.scope.ODID, Version: sc.version, Transport: sc.transport,
			Samplers: sc.samplerList(), SamplingRate: sc.scopeRate, SystemInitMs: sc.systemInitMs, LastSeenMs: sc.lastSeenMs,
		}
		if len(ss.Samplers) == 0 {
			ss.Samplers = nil
		}
		for _, t := range sc.templates {
			ts := TemplateState{ID: t.id, Options: t.options, ScopeFields: t.scopeCount, LearnedMs: t.learnedMs, LastSeenMs: t.lastSeenMs}
			for _, sp := range t.specs {
				ts.Fields = append(ts.Fields, sp.FieldSpec)
			}
			ss.Templates = append(ss.Templates, ts)
		}
		slices.SortFunc(ss.Templates, func(a, b TemplateState) int { return cmp.Compare(a.ID, b.ID) })
		for id, name := range sc.apps {
			ss.Applications = append(ss.Applications, Application{ID: []byte(id), Name: name})
		}
		slices.SortFunc(ss.Applications, func(a, b Application) int { return cmp.Compare(string(a.ID), string(b.ID)) })
		s.Scopes = append(s.Scopes, ss)
	}
	slices.SortFunc(s.Scopes, func(a, b ScopeState) int {
		if c := a.Exporter.Compare(b.Exporter); c != 0 {
			return c
		}
		return cmp.Compare(a.ODID, b.ODID)
	})
	return s
}

// Restore loads a snapshot, before any message is decoded. Entries that
// break today's limits are left out (and returned as the error), so a
// snapshot can never do what a message could not.
func (d *Decoder) Restore(s State) error {
	var first error
	for _, ss := range s.Scopes {
		if ss.Version != 9 && ss.Version != 10 {
			first = cmp.Or(first, error(&Error{Reason: ReasonBadVersion, Detail: "restored scope"}))
			continue
		}
		key := Scope{Exporter: ss.Exporter, ODID: ss.ODID}
		sc := d.scopes[key]
		if sc == nil {
			if len(d.scopes) >= d.o.MaxScopes {
				first = cmp.Or(first, error(&Error{Reason: ReasonScopeFlood, Scope: key}))
				continue
			}
			sc = d.newScope(key)
		}
		sc.version, sc.transport, sc.lastSeenMs, sc.systemInitMs, sc.scopeRate = ss.Version, ss.Transport, ss.LastSeenMs, ss.SystemInitMs, ss.SamplingRate
		for _, ts := range ss.Templates {
			if ts.ID < 256 {
				first = cmp.Or(first, error(&Error{Reason: ReasonTemplateIDReserved, Scope: key, TemplateID: ts.ID}))
				continue
			}
			if sc.templates[ts.ID] == nil && (len(sc.templates) >= d.o.MaxTemplatesPerScope || d.templates >= d.o.MaxTemplates) {
				first = cmp.Or(first, error(&Error{Reason: ReasonTemplateFlood, Scope: key, TemplateID: ts.ID}))
				continue
			}
			t, reason := d.build(ss.Version, ts.ID, ts.Options, ts.ScopeFields, ts.Fields, ts.LearnedMs)
			if reason != "" {
				first = cmp.Or(first, error(&Error{Reason: reason, Scope: key, TemplateID: ts.ID}))
				continue
			}
			t.lastSeenMs = ts.LastSeenMs
			if sc.templates[ts.ID] == nil {
				d.templates++
			}
			sc.templates[ts.ID] = t
		}
		for _, sm := range ss.Samplers {
			if (sm.Element == ieSamplerID || sm.Element == ieSelectorID) && sm.Rate > 0 {
				d.setSampler(sc, samplerKey{sm.Element, sm.ID}, sm.Rate)
			}
		}
		for _, a := range ss.Applications {
			if len(sc.apps) >= d.o.MaxApplicationsPerScope {
				break
			}
			if sc.apps == nil {
				sc.apps = make(map[string]string)
			}
			sc.apps[string(a.ID)] = a.Name
		}
	}
	return first
}

// ExpireStats counts what one Expire call removed.
type ExpireStats struct {
	Templates   int // UDP templates past their lifetime
	PendingSets int // held data sets past their TTL
	Scopes      int // scopes forgotten: nothing left and silent past the template lifetime
}

// Expire removes UDP templates not refreshed within the template lifetime,
// held data older than the pending TTL, and scopes with nothing left.
func (d *Decoder) Expire(nowMs int64) ExpireStats {
	var st ExpireStats
	for key, sc := range d.scopes {
		if sc.transport == UDP {
			for id, t := range sc.templates {
				if nowMs-t.lastSeenMs >= d.o.TemplateLifetimeMs {
					delete(sc.templates, id)
					d.templates--
					sc.expiredTemplates++
					st.Templates++
				}
			}
		}
		keep := sc.pending[:0]
		for _, p := range sc.pending {
			if nowMs-p.h.receivedMs >= d.o.PendingTTLMs {
				sc.pendingBytes -= len(p.data) + 64
				d.pendingBytes -= len(p.data) + 64
				sc.droppedPending++
				st.PendingSets++
				continue
			}
			keep = append(keep, p)
		}
		clear(sc.pending[len(keep):])
		sc.pending = keep
		if len(sc.templates) == 0 && len(sc.pending) == 0 && nowMs-sc.lastSeenMs >= d.o.TemplateLifetimeMs {
			delete(d.scopes, key)
			if d.last == sc {
				d.last = nil
			}
			st.Scopes++
		}
	}
	return st
}

// Forget drops every scope of an exporter transport session, as RFC 7011
// asks when a TCP connection closes: its templates die with it.
func (d *Decoder) Forget(exporter netip.AddrPort) {
	for key, sc := range d.scopes {
		if key.Exporter == exporter {
			d.templates -= len(sc.templates)
			d.pendingBytes -= sc.pendingBytes
			delete(d.scopes, key)
		}
	}
	if d.last != nil && d.last.scope.Exporter == exporter {
		d.last = nil
	}
}

// ScopeStatus is what the status pages show about one scope.
type ScopeStatus struct {
	Scope            Scope
	Version          uint16
	Transport        Transport
	Templates        []uint16 // data template ids
	OptionsTemplates []uint16
	HeldSets         int // data sets waiting for their template
	HeldBytes        int
	LastSequence     uint32
	LostRecords      uint64 // IPFIX sequence gaps, total
	LostPackets      uint64 // NetFlow v9 sequence gaps, total
	Samplers         []Sampler
	SamplingRate     uint64 // the rate for the whole scope, 0 if the exporter gave none
	Override         uint64 // the configured override, 0 if none
	Applications     int
	ExpiredTemplates uint64
	DroppedPending   uint64 // held sets dropped: pending bytes full or TTL passed
	LastSeenMs       int64
}

// Scopes lists every scope, ordered by exporter and domain.
func (d *Decoder) Scopes() []ScopeStatus {
	out := make([]ScopeStatus, 0, len(d.scopes))
	for _, sc := range d.scopes {
		s := ScopeStatus{
			Scope: sc.scope, Version: sc.version, Transport: sc.transport, HeldSets: len(sc.pending), HeldBytes: sc.pendingBytes,
			LastSequence: sc.lastSeq, LostRecords: sc.lostRecords, LostPackets: sc.lostPackets, Samplers: sc.samplerList(),
			SamplingRate: sc.scopeRate, Override: sc.override, Applications: len(sc.apps), ExpiredTemplates: sc.expiredTemplates,
			DroppedPending: sc.droppedPending, LastSeenMs: sc.lastSeenMs,
		}
		for id, t := range sc.templates {
			if t.options {
				s.OptionsTemplates = append(s.OptionsTemplates, id)
			} else {
				s.Templates = append(s.Templates, id)
			}
		}
		slices.Sort(s.Templates)
		slices.Sort(s.OptionsTemplates)
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b ScopeStatus) int {
		if c := a.Scope.Exporter.Compare(b.Scope.Exporter); c != 0 {
			return c
		}
		return cmp.Compare(a.Scope.ODID, b.Scope.ODID)
	})
	return out
}
