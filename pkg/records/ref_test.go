package records

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// refTable is the naive reference the store is checked against: rows as
// maps, every query answered by looping over all of them with the plainest
// code that states the semantics (no dictionaries, chunks or sketches).
type refTable struct {
	types map[string]Type
	names []string
	rows  []refRow
}

type refRow struct {
	seq int
	v   map[string]any // "time" is int64; nulls are absent
}

func newRef() *refTable {
	return &refTable{types: map[string]Type{"time": Time}, names: []string{"time"}}
}

func (r *refTable) column(name string, typ Type) {
	if _, ok := r.types[name]; !ok {
		r.types[name] = typ
		r.names = append(r.names, name)
	}
}

func (r *refTable) add(v map[string]any) {
	r.rows = append(r.rows, refRow{seq: len(r.rows), v: v})
}

func (r *refTable) addFlow(f *flow) {
	v := map[string]any{"exporter": f.exporter, "time": f.time, "start": f.start, "src_addr": f.src, "dst_addr": f.dst,
		"protocol": f.proto, "bytes": f.bytes, "packets": f.packets, "bytes_raw": f.bytesRaw, "packets_raw": f.packetsRaw,
		"sampling_rate": f.rate, "in_if": f.inIf, "out_if": f.outIf, "tcp_flags": f.flags, "tos": f.tos, "application": f.app}
	if f.proto != 1 {
		v["src_port"], v["dst_port"] = f.sport, f.dport
	}
	if f.rtt >= 0 {
		v["rtt"] = f.rtt
	}
	r.add(v)
}

func refOfFlows(flows []flow) *refTable {
	r := newRef()
	for _, c := range []struct {
		n string
		t Type
	}{{"exporter", String}, {"start", Time}, {"src_addr", Addr}, {"dst_addr", Addr}, {"src_port", Uint}, {"dst_port", Uint},
		{"protocol", Uint}, {"bytes", Uint}, {"packets", Uint}, {"bytes_raw", Uint}, {"packets_raw", Uint}, {"sampling_rate", Uint},
		{"in_if", Uint}, {"out_if", Uint}, {"tcp_flags", Uint}, {"tos", Uint}, {"application", String}, {"rtt", Float}} {
		r.column(c.n, c.t)
	}
	for i := range flows {
		r.addFlow(&flows[i])
	}
	return r
}

// refParse parses a filter value the way the documentation says.
func refParse(typ Type, s string) (any, error) {
	if typ != String {
		s = strings.TrimSpace(s)
	}
	switch typ {
	case Uint:
		if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
			return strconv.ParseUint(h, 16, 64)
		}
		return strconv.ParseUint(s, 10, 64)
	case Int:
		return strconv.ParseInt(s, 10, 64)
	case Time:
		if v, err := strconv.ParseInt(s, 10, 64); err == nil {
			return v, nil
		}
		tm, err := time.Parse(time.RFC3339Nano, s)
		return tm.UnixMilli(), err
	case Float:
		return strconv.ParseFloat(s, 64)
	case Bool:
		return strconv.ParseBool(s)
	case Addr:
		a, err := netip.ParseAddr(s)
		return a.Unmap().WithZone(""), err
	}
	return s, nil
}

// refCompare orders two non-null values of one type.
func refCompare(a, b any) int {
	switch x := a.(type) {
	case uint64:
		return cmp.Compare(x, b.(uint64))
	case int64:
		return cmp.Compare(x, b.(int64))
	case float64:
		y := b.(float64)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		case x == y:
			return 0
		}
		return 2 // NaN: unordered
	case string:
		return strings.Compare(x, b.(string))
	case netip.Addr:
		return x.Compare(b.(netip.Addr))
	case bool:
		y := b.(bool)
		if x == y {
			return 0
		}
		if !x {
			return -1
		}
		return 1
	}
	panic(fmt.Sprintf("refCompare %T", a))
}

var errRef = errors.New("reference: bad query")

func (r *refTable) match(f Filter) (func(refRow) bool, error) {
	typ, ok := r.types[f.Column]
	if !ok || len(f.Values) == 0 {
		return nil, errRef
	}
	neg := false
	var test func(any) bool
	switch f.Op {
	case "=", "in", "!=", "not in":
		neg = f.Op == "!=" || f.Op == "not in"
		var want []any
		for _, s := range f.Values {
			v, err := refParse(typ, s)
			if err != nil {
				return nil, errRef
			}
			want = append(want, v)
		}
		test = func(v any) bool {
			for _, w := range want {
				if refCompare(v, w) == 0 {
					return true
				}
			}
			return false
		}
	case "cidr", "not cidr":
		if typ != Addr {
			return nil, errRef
		}
		neg = f.Op == "not cidr"
		var ps []netip.Prefix
		for _, s := range f.Values {
			s = strings.TrimSpace(s)
			if !strings.Contains(s, "/") {
				a, err := netip.ParseAddr(s)
				if err != nil {
					return nil, errRef
				}
				s = a.String() + "/" + strconv.Itoa(a.BitLen())
			}
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, errRef
			}
			if p.Addr().Is4In6() && p.Bits() >= 96 {
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			ps = append(ps, p.Masked())
		}
		test = func(v any) bool {
			for _, p := range ps {
				if p.Contains(v.(netip.Addr)) {
					return true
				}
			}
			return false
		}
	case "range":
		if len(f.Values) != 1 || typ == String || typ == Bool {
			return nil, errRef
		}
		s := f.Values[0]
		var lo, hi any
		found := false
		for i := 1; i < len(s)-1 && !found; i++ {
			if s[i] == '-' {
				l, e1 := refParse(typ, s[:i])
				h, e2 := refParse(typ, s[i+1:])
				if e1 == nil && e2 == nil {
					lo, hi, found = l, h, true
				}
			}
		}
		if !found || refCompare(lo, hi) == 1 {
			return nil, errRef
		}
		test = func(v any) bool { c1, c2 := refCompare(v, lo), refCompare(v, hi); return c1 >= 0 && c1 != 2 && c2 <= 0 }
	case "<", "<=", ">", ">=":
		if len(f.Values) != 1 || typ == Bool {
			return nil, errRef
		}
		w, err := refParse(typ, f.Values[0])
		if err != nil {
			return nil, errRef
		}
		test = func(v any) bool {
			c := refCompare(v, w)
			if c == 2 {
				return false
			}
			switch f.Op {
			case "<":
				return c < 0
			case "<=":
				return c <= 0
			case ">":
				return c > 0
			}
			return c >= 0
		}
	default:
		return nil, errRef
	}
	return func(row refRow) bool {
		v, ok := row.v[f.Column]
		if !ok {
			return neg
		}
		return test(v) != neg
	}, nil
}

// refKey identifies a group value (not an order).
func refKey(v any, ok bool) string {
	if !ok {
		return "null|"
	}
	if a, isAddr := v.(netip.Addr); isAddr {
		return "addr:" + a.String() + "|"
	}
	return fmt.Sprintf("%T:%v|", v, v)
}

// refGroupCompare orders groups of equal rank: values column by column,
// nulls first, addresses by their 16-byte form.
func refGroupCompare(a, b *refCell) int {
	for j := range a.gvals {
		if a.gnull[j] || b.gnull[j] {
			if a.gnull[j] != b.gnull[j] {
				if a.gnull[j] {
					return -1
				}
				return 1
			}
			continue
		}
		var c int
		switch x := a.gvals[j].(type) {
		case float64:
			c = cmp.Compare(x, b.gvals[j].(float64))
		case netip.Addr:
			x16, y16 := x.As16(), b.gvals[j].(netip.Addr).As16()
			c = bytes.Compare(x16[:], y16[:])
		default:
			c = refCompare(a.gvals[j], b.gvals[j])
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

func refNum(v any) float64 {
	switch x := v.(type) {
	case uint64:
		return float64(x)
	case int64:
		return float64(x)
	case float64:
		return x
	}
	panic("refNum")
}

type refCell struct {
	group  string
	gvals  []any
	gnull  []bool
	bucket int64
	vals   [][]any // per aggregate: the non-null values (count(): one per row)
}

// refAgg computes one aggregate from all values of a cell.
func refAgg(fn string, typ Type, vals []any) (any, bool) {
	switch fn {
	case "count":
		return uint64(len(vals)), true
	}
	if len(vals) == 0 {
		return nil, false
	}
	switch fn {
	case "sum":
		switch typ {
		case Uint:
			var s uint64
			for _, v := range vals {
				s += v.(uint64)
			}
			return s, true
		case Int:
			var s int64
			for _, v := range vals {
				s += v.(int64)
			}
			return s, true
		}
		var s float64
		for _, v := range vals {
			s += v.(float64)
		}
		return s, true
	case "avg":
		var s float64
		for _, v := range vals {
			s += refNum(v)
		}
		return s / float64(len(vals)), true
	case "min", "max":
		best := vals[0]
		for _, v := range vals[1:] {
			c := refCompare(v, best)
			if c == 2 { // NaN involved: a number beats NaN
				if f, ok := best.(float64); ok && math.IsNaN(f) {
					best = v
				}
				continue
			}
			if fn == "min" && c < 0 || fn == "max" && c > 0 {
				best = v
			}
		}
		return best, true
	}
	q := map[string]float64{"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}[fn]
	fs := make([]float64, len(vals))
	for i, v := range vals {
		fs[i] = refNum(v)
	}
	slices.SortFunc(fs, cmpNaNLast)
	idx := int(math.Ceil(q*float64(len(fs)))) - 1
	idx = max(0, min(idx, len(fs)-1))
	return fs[idx], true
}

func (r *refTable) query(q Query) (*Result, error) {
	to := q.ToMs
	if to == 0 {
		to = math.MaxInt64
	}
	if to < q.FromMs || q.BucketMs < 0 || q.TopN < 0 || q.Limit < 0 {
		return nil, errRef
	}
	if len(q.Aggregates) == 0 && (len(q.GroupBy) > 0 || q.BucketMs > 0 || q.TopN > 0) {
		return nil, errRef
	}
	var preds []func(refRow) bool
	for _, f := range q.Filters {
		m, err := r.match(f)
		if err != nil {
			return nil, err
		}
		preds = append(preds, m)
	}
	for _, g := range q.GroupBy {
		if _, ok := r.types[g]; !ok {
			return nil, errRef
		}
	}
	for _, a := range q.Aggregates {
		typ, ok := r.types[a.Column]
		if a.Column != "" && !ok {
			return nil, errRef
		}
		num := typ == Uint || typ == Int || typ == Float
		switch a.Func {
		case "count":
		case "sum", "avg", "p50", "p90", "p95", "p99":
			if !num {
				return nil, errRef
			}
		case "min", "max":
			if !num && typ != Time {
				return nil, errRef
			}
		default:
			return nil, errRef
		}
	}
	cols := q.Columns
	if len(q.Aggregates) == 0 {
		if len(cols) == 0 {
			cols = r.names
		}
		for _, c := range cols {
			if _, ok := r.types[c]; !ok {
				return nil, errRef
			}
		}
	}
	var rows []refRow
	scanned := 0
	for _, row := range r.rows {
		ts := row.v["time"].(int64)
		if ts < q.FromMs || ts > to {
			continue
		}
		scanned++
		ok := true
		for _, p := range preds {
			ok = ok && p(row)
		}
		if ok {
			rows = append(rows, row)
		}
	}
	res := &Result{RowsScanned: scanned}
	if len(q.Aggregates) == 0 {
		limit := q.Limit
		if limit == 0 {
			limit = DefaultLimit
		}
		limit = min(limit, MaxLimit)
		slices.SortFunc(rows, func(a, b refRow) int {
			if c := cmp.Compare(b.v["time"].(int64), a.v["time"].(int64)); c != 0 {
				return c
			}
			return cmp.Compare(b.seq, a.seq)
		})
		res.Truncated = len(rows) > limit
		rows = rows[:min(limit, len(rows))]
		for _, c := range cols {
			b := newBuilder(r.types[c], len(rows))
			for _, row := range rows {
				refPut(b, row.v[c], row.v[c] != nil)
			}
			res.Columns = append(res.Columns, b.column(c))
		}
		return res, nil
	}
	cells := map[string]*refCell{}
	var order []string
	for _, row := range rows {
		key := ""
		var gv []any
		var gn []bool
		for _, g := range q.GroupBy {
			v, ok := row.v[g]
			key += refKey(v, ok)
			gv, gn = append(gv, v), append(gn, !ok)
		}
		var b int64
		if q.BucketMs > 0 {
			b = floorDiv(row.v["time"].(int64), q.BucketMs)
		}
		ck := key + "|" + strconv.FormatInt(b, 10)
		c := cells[ck]
		if c == nil {
			c = &refCell{group: key, gvals: gv, gnull: gn, bucket: b, vals: make([][]any, len(q.Aggregates))}
			cells[ck] = c
			order = append(order, ck)
		}
		for j, a := range q.Aggregates {
			if a.Column == "" {
				c.vals[j] = append(c.vals[j], true)
			} else if v, ok := row.v[a.Column]; ok {
				c.vals[j] = append(c.vals[j], v)
			}
		}
	}
	// group → all values of the first aggregate, for ranking
	type group struct {
		key   string
		cells []*refCell
		first []any
		rank  float64
		ok    bool
	}
	groups := map[string]*group{}
	var gorder []*group
	for _, ck := range order {
		c := cells[ck]
		g := groups[c.group]
		if g == nil {
			g = &group{key: c.group}
			groups[c.group] = g
			gorder = append(gorder, g)
		}
		g.cells = append(g.cells, c)
		g.first = append(g.first, c.vals[0]...)
	}
	a0 := q.Aggregates[0]
	for _, g := range gorder {
		v, ok := refAgg(a0.Func, r.types[a0.Column], g.first)
		if ok {
			g.rank = refNum(v)
			g.ok = !math.IsNaN(g.rank)
		}
	}
	slices.SortFunc(gorder, func(a, b *group) int {
		if a.ok != b.ok {
			if a.ok {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(b.rank, a.rank); c != 0 {
			return c
		}
		return refGroupCompare(a.cells[0], b.cells[0])
	})
	top, rest := gorder, []*group(nil)
	if q.TopN > 0 && len(gorder) > q.TopN {
		top, rest = gorder[:q.TopN], gorder[q.TopN:]
		res.Truncated = !q.Other
	}
	var out []*refCell
	var other []bool
	for _, g := range top {
		slices.SortFunc(g.cells, func(a, b *refCell) int { return cmp.Compare(a.bucket, b.bucket) })
		for _, c := range g.cells {
			out = append(out, c)
			other = append(other, false)
		}
	}
	if q.Other && len(rest) > 0 {
		ob := map[int64]*refCell{}
		var obs []*refCell
		for _, g := range rest {
			for _, c := range g.cells {
				o := ob[c.bucket]
				if o == nil {
					o = &refCell{bucket: c.bucket, vals: make([][]any, len(q.Aggregates)), gnull: slices.Repeat([]bool{true}, len(q.GroupBy)), gvals: make([]any, len(q.GroupBy))}
					ob[c.bucket] = o
					obs = append(obs, o)
				}
				for j := range o.vals {
					o.vals[j] = append(o.vals[j], c.vals[j]...)
				}
			}
		}
		slices.SortFunc(obs, func(a, b *refCell) int { return cmp.Compare(a.bucket, b.bucket) })
		for _, o := range obs {
			out = append(out, o)
			other = append(other, true)
		}
		res.Other = other
	}
	if q.BucketMs > 0 {
		b := newBuilder(Time, len(out))
		for _, c := range out {
			b.i = append(b.i, c.bucket*q.BucketMs)
			b.nulls = append(b.nulls, false)
		}
		res.Columns = append(res.Columns, b.column("time"))
	}
	for j, g := range q.GroupBy {
		b := newBuilder(r.types[g], len(out))
		for _, c := range out {
			refPut(b, c.gvals[j], !c.gnull[j])
		}
		res.Columns = append(res.Columns, b.column(g))
	}
	for j, a := range q.Aggregates {
		typ := r.types[a.Column]
		rt := typ
		switch a.Func {
		case "count":
			rt = Uint
		case "avg", "p50", "p90", "p95", "p99":
			rt = Float
		}
		b := newBuilder(rt, len(out))
		for _, c := range out {
			v, ok := refAgg(a.Func, typ, c.vals[j])
			if ok && rt == Float {
				v = refNum(v)
			}
			refPut(b, v, ok)
		}
		res.Columns = append(res.Columns, b.column(a.Func+"("+a.Column+")"))
	}
	return res, nil
}

func refPut(b *builder, v any, ok bool) {
	if !ok {
		b.null()
		return
	}
	switch x := v.(type) {
	case uint64:
		b.u = append(b.u, x)
	case int64:
		b.i = append(b.i, x)
	case float64:
		b.f = append(b.f, x)
	case string:
		b.s = append(b.s, x)
	case netip.Addr:
		b.s = append(b.s, x.String())
	case bool:
		b.b = append(b.b, x)
	}
	b.nulls = append(b.nulls, false)
}

// sameResult reports how got differs from want ("" when it agrees): float
// sums may differ in rounding, quantiles by the sketch's relative error
// (cells past sketchExact values), raw results may say Truncated when rows
// were left unexamined.
func sameResult(q Query, got, want *Result) string {
	if len(got.Columns) != len(want.Columns) {
		return fmt.Sprintf("%d columns, want %d", len(got.Columns), len(want.Columns))
	}
	if got.RowsScanned > want.RowsScanned {
		return fmt.Sprintf("scanned %d rows, more than the %d in range", got.RowsScanned, want.RowsScanned)
	}
	if len(q.Aggregates) > 0 && got.RowsScanned != want.RowsScanned {
		return fmt.Sprintf("scanned %d rows, want %d", got.RowsScanned, want.RowsScanned)
	}
	if got.Truncated != want.Truncated && !(len(q.Aggregates) == 0 && got.Truncated) {
		return fmt.Sprintf("truncated %v, want %v", got.Truncated, want.Truncated)
	}
	if !slices.Equal(got.Other, want.Other) {
		return fmt.Sprintf("other %v, want %v", got.Other, want.Other)
	}
	for ci, w := range want.Columns {
		g := got.Columns[ci]
		if g.Name != w.Name || g.Type != w.Type {
			return fmt.Sprintf("column %d is %s %s, want %s %s", ci, g.Name, g.Type, w.Name, w.Type)
		}
		if g.Len() != w.Len() {
			return fmt.Sprintf("column %s has %d rows, want %d", w.Name, g.Len(), w.Len())
		}
		quant := strings.HasPrefix(w.Name, "p") && strings.Contains(w.Name, "(") && len(q.Aggregates) > 0
		for i := range w.Len() {
			gn, wn := g.Null != nil && g.Null[i], w.Null != nil && w.Null[i]
			if gn != wn {
				return fmt.Sprintf("column %s row %d: null %v, want %v", w.Name, i, gn, wn)
			}
			if wn {
				continue
			}
			switch wv := w.Values.(type) {
			case []float64:
				a, b := g.Values.([]float64)[i], wv[i]
				if math.IsNaN(a) && math.IsNaN(b) || a == b {
					continue
				}
				tol := 1e-9 * math.Max(1, math.Abs(b))
				if quant {
					tol = SketchRelativeError*math.Abs(b) + 1e-9
				}
				if math.Abs(a-b) > tol {
					return fmt.Sprintf("column %s row %d: %v, want %v", w.Name, i, a, b)
				}
			default:
				if fmt.Sprint(rowOf(g, i)) != fmt.Sprint(rowOf(w, i)) {
					return fmt.Sprintf("column %s row %d: %v, want %v", w.Name, i, rowOf(g, i), rowOf(w, i))
				}
			}
		}
	}
	return ""
}

func rowOf(c ResultColumn, i int) any {
	switch v := c.Values.(type) {
	case []uint64:
		return v[i]
	case []int64:
		return v[i]
	case []float64:
		return v[i]
	case []string:
		return v[i]
	case []bool:
		return v[i]
	}
	return nil
}

// checkQuery runs q on both and fails on any disagreement.
func checkQuery(t testing.TB, tab *Table, ref *refTable, q Query) *Result {
	t.Helper()
	got, err := tab.Query(t.Context(), q)
	want, werr := ref.query(q)
	if (err != nil) != (werr != nil) {
		t.Fatalf("query %+v: error %v, reference error %v", q, err, werr)
	}
	if err != nil {
		return nil
	}
	if d := sameResult(q, got, want); d != "" {
		t.Fatalf("query %+v: %s", q, d)
	}
	return got
}

// renderRefRow spells a row with every column, nulls included.
func renderRefRow(r *refTable, row refRow) string {
	var b strings.Builder
	for _, n := range r.names {
		v, ok := row.v[n]
		if a, isAddr := v.(netip.Addr); isAddr {
			v = a.String()
		}
		fmt.Fprintf(&b, "%s=%v/%v ", n, v, ok)
	}
	return b.String()
}

// resultRows turns a raw result (all columns) back into reference rows.
func resultRows(res *Result) []refRow {
	n := 0
	if len(res.Columns) > 0 {
		n = res.Columns[0].Len()
	}
	rows := make([]refRow, n)
	for i := range rows {
		rows[i].v = map[string]any{}
		for _, c := range res.Columns {
			if c.Null != nil && c.Null[i] {
				continue
			}
			v := rowOf(c, i)
			if c.Type == Addr {
				v = netip.MustParseAddr(v.(string))
			}
			rows[i].v[c.Name] = v
		}
	}
	return rows
}
