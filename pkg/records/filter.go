package records

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Filter operators, spelled as pkg/query's Op* constants (records must not
// import pkg/query, which builds on it).
const (
	OpEqual    = "="
	OpNotEqual = "!="
	OpIn       = "in"
	OpNotIn    = "not in"
	OpCIDR     = "cidr"
	OpNotCIDR  = "not cidr"
	OpRange    = "range"
	OpLess     = "<"
	OpLessEq   = "<="
	OpGreater  = ">"
	OpGreatEq  = ">="
)

type predMode uint8

const (
	modeSet predMode = iota
	modeBounds
	modeCIDR
)

// pred is a compiled filter. Integer-like columns (Uint, Int, Time, Bool)
// compare raw words, whose order is the value order; Float compares values;
// String and Addr are evaluated once per dictionary entry of a partition.
type pred struct {
	slot int
	name string
	typ  Type
	mode predMode
	neg  bool

	rset     []uint64
	fset     []float64
	sset     []string
	aset     []netip.Addr
	prefixes []netip.Prefix
	hasLo    bool
	hasHi    bool
	loOpen   bool // lower bound excluded
	hiOpen   bool
	rlo, rhi uint64
	flo, fhi float64
	slo, shi string
	alo, ahi netip.Addr
	none     bool // bounds that no value meets (x < 0 on a uint column)
}

func filterErr(f Filter, format string, args ...any) error {
	return fmt.Errorf("records: filter %s %q: %s", f.Column, f.Op, fmt.Sprintf(format, args...))
}

// parseValue parses one filter value for typ into the pred's domains.
type parsed struct {
	raw uint64
	f   float64
	s   string
	a   netip.Addr
}

func parseValue(typ Type, s string) (parsed, error) {
	var p parsed
	if typ != String {
		s = strings.TrimSpace(s)
	}
	switch typ {
	case Uint:
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil && (strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X")) {
			v, err = strconv.ParseUint(s[2:], 16, 64)
		}
		if err != nil {
			return p, fmt.Errorf("%q is not an unsigned integer", s)
		}
		p.raw = v
	case Int:
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return p, fmt.Errorf("%q is not an integer", s)
		}
		p.raw = rawInt(v)
	case Time:
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			tm, terr := time.Parse(time.RFC3339Nano, s)
			if terr != nil {
				return p, fmt.Errorf("%q is neither unix milliseconds nor an RFC 3339 time", s)
			}
			v = tm.UnixMilli()
		}
		p.raw = rawInt(v)
	case Float:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return p, fmt.Errorf("%q is not a number", s)
		}
		p.f = v
	case Bool:
		v, err := strconv.ParseBool(s)
		if err != nil {
			return p, fmt.Errorf("%q is not true or false", s)
		}
		if v {
			p.raw = 1
		}
	case String:
		p.s = s
	case Addr:
		a, err := netip.ParseAddr(s)
		if err != nil {
			return p, fmt.Errorf("%q is not an IP address", s)
		}
		p.a = a.Unmap().WithZone("")
	}
	return p, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	var pfx netip.Prefix
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return pfx, fmt.Errorf("%q is not a CIDR prefix", s)
		}
		pfx = p
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return pfx, fmt.Errorf("%q is not a CIDR prefix", s)
		}
		pfx = netip.PrefixFrom(a, a.BitLen())
	}
	a := pfx.Addr().WithZone("")
	bits := pfx.Bits()
	if a.Is4In6() && bits >= 96 {
		a, bits = a.Unmap(), bits-96
	}
	return netip.PrefixFrom(a, bits).Masked(), nil
}

// splitRange splits "lo-hi" at the first dash where both sides parse.
func splitRange(typ Type, s string) (lo, hi parsed, err error) {
	for i := 1; i < len(s)-1; i++ {
		if s[i] != '-' {
			continue
		}
		l, err1 := parseValue(typ, s[:i])
		h, err2 := parseValue(typ, s[i+1:])
		if err1 == nil && err2 == nil {
			return l, h, nil
		}
	}
	return lo, hi, fmt.Errorf("%q is not a range lo-hi", s)
}

func compileFilter(f Filter, slot int, typ Type) (*pred, error) {
	p := &pred{slot: slot, name: f.Column, typ: typ}
	if len(f.Values) == 0 {
		return nil, filterErr(f, "needs a value")
	}
	one := func() error {
		if len(f.Values) != 1 {
			return filterErr(f, "takes one value, got %d", len(f.Values))
		}
		return nil
	}
	switch f.Op {
	case OpEqual, OpIn, OpNotEqual, OpNotIn:
		p.mode = modeSet
		p.neg = f.Op == OpNotEqual || f.Op == OpNotIn
		for _, s := range f.Values {
			v, err := parseValue(typ, s)
			if err != nil {
				return nil, filterErr(f, "%v for a %s column", err, typ)
			}
			switch typ {
			case Float:
				p.fset = append(p.fset, v.f)
			case String:
				p.sset = append(p.sset, v.s)
			case Addr:
				p.aset = append(p.aset, v.a)
			default:
				p.rset = append(p.rset, v.raw)
			}
		}
	case OpCIDR, OpNotCIDR:
		if typ != Addr {
			return nil, filterErr(f, "needs an addr column, %s is %s", f.Column, typ)
		}
		p.mode = modeCIDR
		p.neg = f.Op == OpNotCIDR
		for _, s := range f.Values {
			pfx, err := parsePrefix(s)
			if err != nil {
				return nil, filterErr(f, "%v", err)
			}
			p.prefixes = append(p.prefixes, pfx)
		}
	case OpRange:
		if err := one(); err != nil {
			return nil, err
		}
		if typ == String || typ == Bool {
			return nil, filterErr(f, "needs a number, time or addr column, %s is %s", f.Column, typ)
		}
		lo, hi, err := splitRange(typ, f.Values[0])
		if err != nil {
			return nil, filterErr(f, "%v", err)
		}
		p.mode = modeBounds
		p.hasLo, p.hasHi = true, true
		p.set(lo, true)
		p.set(hi, false)
		if p.empty() {
			return nil, filterErr(f, "%q: low end above high end", f.Values[0])
		}
	case OpLess, OpLessEq, OpGreater, OpGreatEq:
		if err := one(); err != nil {
			return nil, err
		}
		if typ == Bool {
			return nil, filterErr(f, "needs an ordered column, %s is bool", f.Column)
		}
		v, err := parseValue(typ, f.Values[0])
		if err != nil {
			return nil, filterErr(f, "%v for a %s column", err, typ)
		}
		p.mode = modeBounds
		lower := f.Op == OpGreater || f.Op == OpGreatEq
		p.set(v, lower)
		if lower {
			p.hasLo, p.loOpen = true, f.Op == OpGreater
		} else {
			p.hasHi, p.hiOpen = true, f.Op == OpLess
		}
		p.tighten()
	default:
		return nil, filterErr(f, "unknown operator (want = != in \"not in\" cidr \"not cidr\" range < <= > >=)")
	}
	return p, nil
}

func (p *pred) set(v parsed, lower bool) {
	if lower {
		p.rlo, p.flo, p.slo, p.alo = v.raw, v.f, v.s, v.a
	} else {
		p.rhi, p.fhi, p.shi, p.ahi = v.raw, v.f, v.s, v.a
	}
}

// tighten turns open integer bounds into closed ones.
func (p *pred) tighten() {
	switch p.typ {
	case Uint, Int, Time:
	default:
		return
	}
	if p.hasLo && p.loOpen {
		if p.rlo == math.MaxUint64 {
			p.none = true
		}
		p.rlo++
		p.loOpen = false
	}
	if p.hasHi && p.hiOpen {
		if p.rhi == 0 {
			p.none = true
		}
		p.rhi--
		p.hiOpen = false
	}
}

func (p *pred) empty() bool {
	switch p.typ {
	case Float:
		return p.flo > p.fhi
	case Addr:
		return p.alo.Compare(p.ahi) > 0
	}
	return p.rlo > p.rhi
}

// matchRaw: Uint, Int, Time, Bool (non-null values; the caller applies neg).
func (p *pred) matchRaw(r uint64) bool {
	if p.mode == modeSet {
		for _, v := range p.rset {
			if v == r {
				return true
			}
		}
		return false
	}
	if p.none {
		return false
	}
	return (!p.hasLo || r >= p.rlo) && (!p.hasHi || r <= p.rhi)
}

func (p *pred) matchFloat(f float64) bool {
	if p.mode == modeSet {
		for _, v := range p.fset {
			if v == f {
				return true
			}
		}
		return false
	}
	if p.hasLo && !(f > p.flo || !p.loOpen && f == p.flo) {
		return false
	}
	if p.hasHi && !(f < p.fhi || !p.hiOpen && f == p.fhi) {
		return false
	}
	return true
}

func (p *pred) matchString(s string) bool {
	if p.mode == modeSet {
		for _, v := range p.sset {
			if v == s {
				return true
			}
		}
		return false
	}
	if p.hasLo && !(s > p.slo || !p.loOpen && s == p.slo) {
		return false
	}
	if p.hasHi && !(s < p.shi || !p.hiOpen && s == p.shi) {
		return false
	}
	return true
}

func (p *pred) matchAddr(a netip.Addr) bool {
	switch p.mode {
	case modeSet:
		for _, v := range p.aset {
			if v == a {
				return true
			}
		}
		return false
	case modeCIDR:
		for _, pfx := range p.prefixes {
			if pfx.Contains(a) {
				return true
			}
		}
		return false
	}
	if p.hasLo {
		c := a.Compare(p.alo)
		if c < 0 || c == 0 && p.loOpen {
			return false
		}
	}
	if p.hasHi {
		c := a.Compare(p.ahi)
		if c > 0 || c == 0 && p.hiOpen {
			return false
		}
	}
	return true
}

// dictTable evaluates p on every dictionary entry of a String or Addr
// column snapshot (neg applied).
func (p *pred) dictTable(s *colSnap, dst []bool) []bool {
	n := s.dictLen()
	dst = dst[:0]
	for code := range n {
		var m bool
		if p.typ == String {
			m = p.matchString(s.str(uint64(code)))
		} else {
			m = p.matchAddr(s.addrs[code].addr())
		}
		dst = append(dst, m != p.neg)
	}
	return dst
}

// filter keeps the rows of sel that p admits; table is the dictionary
// table for String and Addr.
func (p *pred) filter(v *view, sel []int32, table []bool) []int32 {
	out := sel[:0]
	if v.allNull {
		if p.neg {
			return sel
		}
		return out
	}
	switch p.typ {
	case String, Addr:
		for _, i := range sel {
			if v.null(i) {
				if p.neg {
					out = append(out, i)
				}
				continue
			}
			if table[v.vals[i]] {
				out = append(out, i)
			}
		}
	case Float:
		for _, i := range sel {
			if v.null(i) {
				if p.neg {
					out = append(out, i)
				}
				continue
			}
			if p.matchFloat(floatRaw(v.vals[i])) != p.neg {
				out = append(out, i)
			}
		}
	default:
		if v.nulls == nil && p.mode == modeBounds && !p.neg && !p.none {
			lo, hi := uint64(0), uint64(math.MaxUint64)
			if p.hasLo {
				lo = p.rlo
			}
			if p.hasHi {
				hi = p.rhi
			}
			for _, i := range sel {
				if r := v.vals[i]; r >= lo && r <= hi {
					out = append(out, i)
				}
			}
			return out
		}
		for _, i := range sel {
			if v.null(i) {
				if p.neg {
					out = append(out, i)
				}
				continue
			}
			if p.matchRaw(v.vals[i]) != p.neg {
				out = append(out, i)
			}
		}
	}
	return out
}
