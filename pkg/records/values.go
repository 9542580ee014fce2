package records

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// MaxValues caps Values' limit; maxDistinctValues bounds the distinct
// values it counts.
const (
	MaxValues         = 10_000
	maxDistinctValues = 200_000
)

// Values lists the values of col held for rows in [fromMs, toMs] (toMs 0:
// no upper bound) that start with prefix, most frequent first (ties in
// value order), at most limit (0: 100) of them: the editors' autocomplete.
func (t *Table) Values(col, prefix string, fromMs, toMs int64, limit int) ([]string, error) {
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, MaxValues)
	pl, err := t.prepare(Query{FromMs: fromMs, ToMs: toMs, Columns: []string{col}})
	if err != nil {
		return nil, err
	}
	slot := pl.raw[0]
	typ := pl.types[slot]
	counts := map[string]int64{}
	s := newScanner(pl)
	var perCode []int64
	var num map[uint64]int64
	render := func(r uint64) string { return renderRaw(typ, r) }
	for pi := range pl.parts {
		ps := &pl.parts[pi]
		cs := &ps.cols[slot]
		if cs.absent {
			continue
		}
		s.partition(ps)
		if isDict(typ) {
			perCode = append(perCode[:0], make([]int64, cs.dictLen())...)
		} else if num == nil {
			num = map[uint64]int64{}
		}
		for k := range ps.chunkCount() {
			sel, _ := s.chunk(k)
			if len(sel) == 0 {
				continue
			}
			v := s.view(slot)
			for _, i := range sel {
				if v.null(i) {
					continue
				}
				r := v.vals[i]
				if isDict(typ) {
					perCode[r]++
				} else if _, ok := num[r]; ok || len(num) < maxDistinctValues {
					num[r]++
				}
			}
		}
		if isDict(typ) {
			for code, n := range perCode {
				if n == 0 {
					continue
				}
				var v string
				if typ == String {
					v = cs.str(uint64(code))
				} else {
					v = cs.addrs[code].addr().String()
				}
				if strings.HasPrefix(v, prefix) {
					counts[v] += n
				}
			}
		}
	}
	for r, n := range num {
		if v := render(r); strings.HasPrefix(v, prefix) {
			counts[v] += n
		}
	}
	type vc struct {
		v string
		n int64
	}
	all := make([]vc, 0, len(counts))
	for v, n := range counts {
		all = append(all, vc{v, n})
	}
	slices.SortFunc(all, func(a, b vc) int {
		if c := cmp.Compare(b.n, a.n); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	out := make([]string, 0, min(limit, len(all)))
	for _, e := range all[:min(limit, len(all))] {
		out = append(out, e.v)
	}
	return out, nil
}

// renderRaw spells a raw word of a non-dictionary column as a filter value.
func renderRaw(typ Type, r uint64) string {
	switch typ {
	case Uint:
		return strconv.FormatUint(r, 10)
	case Int, Time:
		return strconv.FormatInt(intRaw(r), 10)
	case Float:
		f := floatRaw(r)
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return fmt.Sprint(f)
		}
		return strconv.FormatFloat(f, 'g', -1, 64)
	case Bool:
		return strconv.FormatBool(r != 0)
	}
	return strconv.FormatUint(r, 10)
}
