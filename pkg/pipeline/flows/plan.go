package flows

import (
	"net/netip"

	"github.com/netlens/netlens/pkg/decode/ipfix"
	"github.com/netlens/netlens/pkg/decode/ipfix/ie"
	"github.com/netlens/netlens/pkg/records"
)

// role says which fixed column (or flow property) a field feeds.
type role uint8

const (
	roleNone role = iota // stored under its element's name
	roleSrc
	roleDst
	roleSrcPort
	roleDstPort
	roleProto
	roleBytes
	rolePackets
	roleRevBytes
	roleRevPackets
	roleInIf
	roleOutIf
	roleFlags
	roleTOS
	roleStart
	roleEnd
	roleAppName
	roleAppID // feeds application and is also kept as "applicationId"
)

// kind is how a field without a fixed column is written.
type kind uint8

const (
	kindSkip kind = iota
	kindUint
	kindInt
	kindFloat
	kindBool
	kindTime
	kindAddr
	kindString
	kindMAC
	kindHex
	kindAppID
)

type step struct {
	role role
	rank int8 // which time field wins when a template has several
	kind kind
	col  records.Col
}

type elemKey struct {
	pen uint32
	id  uint16
}

// plan is what one template's fields become, resolved once: the decoder
// hands every record of a template with the same field layout.
type plan struct {
	layout []elemKey
	steps  []step
}

type planKey struct {
	scope   ipfix.Scope
	tid     uint16
	version uint16
}

// IANA ids this package maps to fixed columns.
const (
	idOctetDelta   = 1
	idPacketDelta  = 2
	idProtocol     = 4
	idTOS          = 5
	idTCPFlags     = 6
	idSrcPort      = 7
	idSrcV4        = 8
	idInIf         = 10
	idDstPort      = 11
	idDstV4        = 12
	idOutIf        = 14
	idEndSysUp     = 21
	idStartSysUp   = 22
	idSrcV6        = 27
	idDstV6        = 28
	idOctetTotal   = 85
	idPacketTotal  = 86
	idAppName      = 96
	idAppID        = 95
	idStartSec     = 150
	idEndSec       = 151
	idStartMilli   = 152
	idEndMilli     = 153
	idStartMicro   = 154
	idEndMicro     = 155
	idStartNano    = 156
	idEndNano      = 157
	idStartDeltaUs = 158
	idEndDeltaUs   = 159
	idPadding      = 210
)

// roleOf maps an element to its fixed column; rank orders time sources by
// precision so a template carrying both seconds and milliseconds keeps the
// milliseconds.
func roleOf(e *ie.Element) (role, int8) {
	if e == nil {
		return roleNone, 0
	}
	if e.PEN == ie.ReversePEN {
		switch e.ID {
		case idOctetDelta, idOctetTotal:
			return roleRevBytes, 0
		case idPacketDelta, idPacketTotal:
			return roleRevPackets, 0
		}
		return roleNone, 0
	}
	if e.PEN != 0 {
		return roleNone, 0
	}
	switch e.ID {
	case idSrcV4, idSrcV6:
		return roleSrc, 0
	case idDstV4, idDstV6:
		return roleDst, 0
	case idSrcPort:
		return roleSrcPort, 0
	case idDstPort:
		return roleDstPort, 0
	case idProtocol:
		return roleProto, 0
	case idOctetDelta, idOctetTotal:
		return roleBytes, 0
	case idPacketDelta, idPacketTotal:
		return rolePackets, 0
	case idInIf:
		return roleInIf, 0
	case idOutIf:
		return roleOutIf, 0
	case idTCPFlags:
		return roleFlags, 0
	case idTOS:
		return roleTOS, 0
	case idStartDeltaUs:
		return roleStart, 1
	case idEndDeltaUs:
		return roleEnd, 1
	case idStartSysUp:
		return roleStart, 2
	case idEndSysUp:
		return roleEnd, 2
	case idStartSec:
		return roleStart, 3
	case idEndSec:
		return roleEnd, 3
	case idStartMilli:
		return roleStart, 4
	case idEndMilli:
		return roleEnd, 4
	case idStartMicro:
		return roleStart, 5
	case idEndMicro:
		return roleEnd, 5
	case idStartNano:
		return roleStart, 6
	case idEndNano:
		return roleEnd, 6
	case idAppName:
		return roleAppName, 0
	case idAppID:
		return roleAppID, 0
	}
	return roleNone, 0
}

// columnFor is the column type of an element stored under its name.
func columnFor(e *ie.Element) (kind, records.Type) {
	if e == nil {
		return kindSkip, 0
	}
	if e.PEN == 0 && e.ID == idAppID {
		return kindAppID, records.String
	}
	if e.PEN == 0 && e.ID == idPadding {
		return kindSkip, 0
	}
	switch e.Type {
	case ie.Unsigned8, ie.Unsigned16, ie.Unsigned32, ie.Unsigned64:
		return kindUint, records.Uint
	case ie.Signed8, ie.Signed16, ie.Signed32, ie.Signed64:
		return kindInt, records.Int
	case ie.Float32, ie.Float64:
		return kindFloat, records.Float
	case ie.Boolean:
		return kindBool, records.Bool
	case ie.DateTimeSeconds, ie.DateTimeMilliseconds, ie.DateTimeMicroseconds, ie.DateTimeNanoseconds:
		return kindTime, records.Time
	case ie.IPv4Address, ie.IPv6Address:
		return kindAddr, records.Addr
	case ie.String:
		return kindString, records.String
	case ie.MacAddress:
		return kindMAC, records.String
	}
	// octetArray, unsigned256, RFC 6313 lists and unknown elements: the raw
	// value in hex, so nothing an exporter sends is lost.
	return kindHex, records.String
}

// fixedNames are taken by the fixed columns; an element (a user definition)
// with one of these names is stored as "ie_<name>" instead.
var fixedNames = map[string]bool{
	ColExporter: true, ColTime: true, ColStart: true, ColSrcAddr: true, ColDstAddr: true,
	ColSrcPort: true, ColDstPort: true, ColProtocol: true, ColBytes: true, ColPackets: true,
	ColBytesRaw: true, ColPacketsRaw: true, ColSamplingRate: true, ColInIf: true, ColOutIf: true,
	ColTCPFlags: true, ColTOS: true, ColApplication: true, ColReverseBytes: true, ColReversePackets: true,
}

// plan returns the column plan of r's template, building it when the
// template is new or was redefined (same id, other fields).
func (f *Flows) plan(r *ipfix.Record) *plan {
	k := planKey{r.Scope, r.TemplateID, r.Version}
	if p, ok := f.plans[k]; ok && p.matches(r.Fields) {
		return p
	}
	if len(f.plans) >= maxPlans {
		clear(f.plans)
	}
	p := f.buildPlan(r.Fields)
	f.plans[k] = p
	return p
}

func (p *plan) matches(fs []ipfix.Field) bool {
	if len(fs) != len(p.layout) {
		return false
	}
	for i := range fs {
		e := fs[i].Elem
		if e == nil {
			if p.layout[i] != (elemKey{}) {
				return false
			}
			continue
		}
		if p.layout[i] != (elemKey{e.PEN, e.ID}) {
			return false
		}
	}
	return true
}

func (f *Flows) buildPlan(fs []ipfix.Field) *plan {
	p := &plan{layout: make([]elemKey, len(fs)), steps: make([]step, len(fs))}
	var taken [roleAppID + 1]bool
	for i := range fs {
		e := fs[i].Elem
		if e != nil {
			p.layout[i] = elemKey{e.PEN, e.ID}
		}
		s := &p.steps[i]
		r, rank := roleOf(e)
		// A second field of the same role (octetTotalCount beside
		// octetDeltaCount, a repeated element) keeps its own column; times
		// compete by rank instead.
		if r != roleNone && r != roleStart && r != roleEnd && taken[r] {
			r = roleNone
		}
		taken[r] = true
		s.role, s.rank = r, rank
		if r != roleNone && r != roleAppID {
			continue
		}
		k, typ := columnFor(e)
		if k == kindSkip {
			continue
		}
		name := e.Name
		if fixedNames[name] {
			name = "ie_" + name
		}
		c, err := f.table.Column(name, typ)
		if err != nil {
			// Too many columns, or the name already has another type: the
			// value is dropped, the row is kept, and it is counted.
			f.nColumnErrors++
			if s.role == roleNone {
				s.kind = kindSkip
			}
			continue
		}
		s.kind, s.col = k, c
	}
	return p
}

// flowVals collects the fixed-column values of one record before the row is
// written (its timestamp is known only after all fields are seen).
type flowVals struct {
	src, dst                             netip.Addr
	srcPort, dstPort, proto              uint64
	bytes, packets, revBytes, revPackets uint64
	inIf, outIf, flags, tos              uint64
	start, end                           int64
	startRank, endRank                   int8
	has                                  uint16
	appName, appID                       []byte
}

const (
	hasSrcPort uint16 = 1 << iota
	hasDstPort
	hasProto
	hasBytes
	hasPackets
	hasRevBytes
	hasRevPackets
	hasInIf
	hasOutIf
	hasFlags
	hasTOS
)
