package ipfix

import (
	"bytes"
	"math"
	"slices"
)

// scopeState is what one exporter/observation domain taught us.
type scopeState struct {
	scope      Scope
	version    uint16
	transport  Transport
	templates  map[uint16]*template
	lastSeenMs int64

	// sequence numbers
	seqValid    bool
	lastSeq     uint32
	nextSeq     uint32
	lostRecords uint64
	lostPackets uint64

	// data waiting for its template
	pending      []pendingSet
	pendingBytes int

	// sampling: per sampler or selector id, and for the whole scope
	samplers     map[samplerKey]uint64
	scopeRate    uint64
	override     uint64
	apps         map[string]string // applicationId bytes -> applicationName
	systemInitMs int64

	expiredTemplates uint64
	droppedPending   uint64
}

type pendingSet struct {
	id   uint16
	data []byte
	h    hdr
}

type samplerKey struct {
	elem uint16 // ieSamplerID or ieSelectorID: the two are separate id spaces
	id   uint64
}

// rateFor resolves the sampling rate of a record: the configured override,
// else the record's own rate fields, else its sampler or selector in the
// exporter's tables, else the rate the exporter gave for the whole scope.
func (sc *scopeState) rateFor(t *template, fs []Field) uint64 {
	if sc.override > 0 {
		return sc.override
	}
	if t.hasRate {
		if r := rateOf(t, fs); r > 0 {
			return r
		}
	}
	if len(sc.samplers) > 0 {
		if t.iSelectorID >= 0 {
			if r, ok := sc.samplers[samplerKey{ieSelectorID, fs[t.iSelectorID].Uint()}]; ok {
				return r
			}
		}
		if t.iSamplerID >= 0 {
			if r, ok := sc.samplers[samplerKey{ieSamplerID, fs[t.iSamplerID].Uint()}]; ok {
				return r
			}
		}
		// An exporter with a single sampler often leaves its id out of the
		// flow records (Cisco with one sampler map): that sampler is the one.
		if len(sc.samplers) == 1 && t.iSelectorID < 0 && t.iSamplerID < 0 && !t.options {
			for _, r := range sc.samplers {
				return r
			}
		}
	}
	if sc.scopeRate > 0 {
		return sc.scopeRate
	}
	return 1
}

// rateOf reads a rate from the rate fields of a record, 0 if none is usable.
func rateOf(t *template, fs []Field) uint64 {
	if t.iInterval >= 0 {
		if v := fs[t.iInterval].Uint(); v > 0 {
			return v
		}
	}
	if t.iRandom >= 0 {
		if v := fs[t.iRandom].Uint(); v > 0 {
			return v
		}
	}
	if t.iSize >= 0 && t.iPopulation >= 0 {
		// Random n-out-of-N (RFC 5477 samplingSize / samplingPopulation).
		// Cisco sends it with samplingPacketInterval 1 beside it (sample
		// pmacct-104: 1 out of 256), so it goes first.
		if n, pop := fs[t.iSize].Uint(), fs[t.iPopulation].Uint(); n > 0 && pop >= n && pop < 1<<62 {
			return (pop + n/2) / n
		}
	}
	if t.iPktInterval >= 0 {
		// RFC 5477: select Interval packets, then skip Space packets.
		n := fs[t.iPktInterval].Uint()
		var space uint64
		if t.iPktSpace >= 0 {
			space = fs[t.iPktSpace].Uint()
		}
		if n > 0 && n < 1<<62 && space < 1<<62 {
			return 1 + (space+n/2)/n
		}
	}
	if t.iProbability >= 0 {
		if p := fs[t.iProbability].Float(); p > 0 && p <= 1 {
			return uint64(math.Round(1 / p))
		}
	}
	return 0
}

// learnOptions keeps what an options record says about sampling,
// application names and the exporter's boot time.
func (d *Decoder) learnOptions(sc *scopeState, t *template, fs []Field) {
	if t.hasRate {
		if r := rateOf(t, fs); r > 0 {
			switch {
			case t.iSelectorID >= 0:
				d.setSampler(sc, samplerKey{ieSelectorID, fs[t.iSelectorID].Uint()}, r)
			case t.iSamplerID >= 0:
				d.setSampler(sc, samplerKey{ieSamplerID, fs[t.iSamplerID].Uint()}, r)
			default:
				// Scoped by the exporter, its observation domain or a line
				// card: the rate of everything the scope sends.
				sc.scopeRate = r
			}
		}
	}
	if t.iAppID >= 0 && t.iAppName >= 0 {
		id, name := fs[t.iAppID].Value, trimNUL(fs[t.iAppName].Value)
		if old, ok := sc.apps[string(id)]; ok {
			if old != string(name) {
				sc.apps[string(id)] = string(name)
			}
		} else if len(sc.apps) < d.o.MaxApplicationsPerScope {
			if sc.apps == nil {
				sc.apps = make(map[string]string)
			}
			sc.apps[string(id)] = string(name)
		}
	}
	if t.iSysInit >= 0 {
		sc.systemInitMs = int64(fs[t.iSysInit].Uint())
	}
}

func (d *Decoder) setSampler(sc *scopeState, k samplerKey, rate uint64) {
	if _, ok := sc.samplers[k]; !ok && len(sc.samplers) >= d.o.MaxSamplersPerScope {
		return
	}
	if sc.samplers == nil {
		sc.samplers = make(map[samplerKey]uint64)
	}
	sc.samplers[k] = rate
}

func trimNUL(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// Sampler is one entry of an exporter's sampler or selector table.
type Sampler struct {
	Element uint16 `json:"element"` // 48 samplerId (flowSamplerID) or 302 selectorId
	ID      uint64 `json:"id"`
	Rate    uint64 `json:"rate"`
}

func (sc *scopeState) samplerList() []Sampler {
	out := make([]Sampler, 0, len(sc.samplers))
	for k, r := range sc.samplers {
		out = append(out, Sampler{Element: k.elem, ID: k.id, Rate: r})
	}
	slices.SortFunc(out, func(a, b Sampler) int {
		if a.Element != b.Element {
			return int(a.Element) - int(b.Element)
		}
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
	return out
}
