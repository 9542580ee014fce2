package records

import (
	"net/netip"
)

// MaxStringLen truncates longer String values.
const MaxStringLen = 65535

// Appender buffers rows for one goroutine and moves them into the table
// under one lock per Flush. It buffers at most maxBufferedRows rows (or
// maxBufferedBytes of strings) before flushing by itself.
//
// Rows are buffered column by column (a value and a set flag per row for
// each column used), so that Flush hands each column's run of values to
// the table in one piece.
type Appender struct {
	t    *Table
	ts   int64
	open bool
	// dirty: the open row has values (a row begun and not committed must
	// drop them at the next Begin)
	dirty    bool
	n        int      // committed rows buffered
	times    []uint64 // raw time of each committed row
	cols     []acol   // by column id
	used     []uint16 // ids of cols holding values
	arena    []byte
	typeErrs int64
	flushed  int
	touched  []*partition
	dest     []*partition // flush: each row's partition, nil if refused
}

// acol is one column's buffered values: vals[r] is row r's raw value
// (String: arena offset<<32 | length; Addr: the low 8 bytes, hi the high
// ones) where set[r] is 1. A column's slices may be shorter than the rows
// buffered: the missing rows are null.
type acol struct {
	typ  Type
	used bool
	vals []uint64
	hi   []uint64
	set  []uint8
}

const (
	maxBufferedRows  = 1 << 16
	maxBufferedBytes = 16 << 20
)

// NewAppender returns a writer for one goroutine.
func (t *Table) NewAppender() *Appender { return &Appender{t: t} }

// Begin starts a row stamped tsMs (unix ms); a row begun and not committed
// is dropped.
func (a *Appender) Begin(tsMs int64) {
	if a.dirty {
		a.dropOpen()
	}
	a.ts, a.open = tsMs, true
}

// dropOpen removes the open row's values.
func (a *Appender) dropOpen() {
	for _, id := range a.used {
		ac := &a.cols[id]
		if len(ac.set) > a.n {
			ac.vals, ac.set = ac.vals[:a.n], ac.set[:a.n]
			if ac.typ == Addr {
				ac.hi = ac.hi[:a.n]
			}
		}
	}
	a.dirty = false
}

// col returns the buffer of c for the open row: its slices reach the rows
// before it. ok is false (and the value dropped, counted) for a Col of
// another type or table.
func (a *Appender) col(c Col, typ Type) (ac *acol, ok bool) {
	if c.typ != typ || c.t != a.t {
		a.typeErrs++
		return nil, false
	}
	if int(c.id) >= len(a.cols) {
		a.cols = append(a.cols, make([]acol, int(c.id)+1-len(a.cols))...)
	}
	ac = &a.cols[c.id]
	if !ac.used {
		ac.used, ac.typ = true, typ
		a.used = append(a.used, c.id)
	}
	a.dirty = true
	return ac, true
}

// set stores the open row's raw value of ac (the last one wins when a
// column is set twice in a row).
func (a *Appender) set(ac *acol, v uint64) {
	r := a.n
	switch k := len(ac.set); {
	case k == r+1:
		ac.vals[r] = v
		return
	case k < r:
		ac.vals = append(ac.vals, make([]uint64, r-k)...)
		ac.set = append(ac.set, make([]uint8, r-k)...)
	}
	ac.vals = append(ac.vals, v)
	ac.set = append(ac.set, 1)
}

func (a *Appender) put(c Col, typ Type, v uint64) {
	if !a.open {
		return
	}
	if ac, ok := a.col(c, typ); ok {
		a.set(ac, v)
	}
}

func (a *Appender) Uint(c Col, v uint64) { a.put(c, Uint, v) }
func (a *Appender) Int(c Col, v int64)   { a.put(c, Int, rawInt(v)) }
func (a *Appender) Float(c Col, v float64) {
	a.put(c, Float, rawFloat(v))
}

// Time sets a Time column; on the built-in "time" column it moves the row's
// timestamp.
func (a *Appender) Time(c Col, ms int64) {
	if c.id == 0 && c.typ == Time && c.t == a.t {
		if a.open {
			a.ts = ms
		}
		return
	}
	a.put(c, Time, rawInt(ms))
}

func (a *Appender) Bool(c Col, v bool) {
	var r uint64
	if v {
		r = 1
	}
	a.put(c, Bool, r)
}

// String copies v; values past MaxStringLen are truncated.
func (a *Appender) String(c Col, v []byte) {
	if !a.open {
		return
	}
	ac, ok := a.col(c, String)
	if !ok {
		return
	}
	if len(v) > MaxStringLen {
		v = v[:MaxStringLen]
	}
	off := len(a.arena)
	a.arena = append(a.arena, v...)
	a.set(ac, uint64(off)<<32|uint64(len(v)))
}

// Addr stores v unmapped and without zone; an invalid Addr leaves the
// column null.
func (a *Appender) Addr(c Col, v netip.Addr) {
	if !v.IsValid() {
		if c.typ != Addr || c.t != a.t {
			a.typeErrs++
		}
		return
	}
	if !a.open {
		return
	}
	ac, ok := a.col(c, Addr)
	if !ok {
		return
	}
	k := keyOf(v.Unmap())
	if len(ac.hi) == a.n+1 {
		ac.hi[a.n] = k.hi
	} else {
		if d := a.n - len(ac.hi); d > 0 {
			ac.hi = append(ac.hi, make([]uint64, d)...)
		}
		ac.hi = append(ac.hi, k.hi)
	}
	a.set(ac, k.lo)
}

// Commit ends the row; columns not set are null.
func (a *Appender) Commit() {
	if !a.open {
		return
	}
	a.times = append(a.times, rawInt(a.ts))
	a.n++
	a.open, a.dirty = false, false
	if a.n >= maxBufferedRows || len(a.arena) >= maxBufferedBytes {
		a.flushed += a.flush()
	}
}

// Flush moves the committed rows into the table and returns how many were
// stored (rows refused for their time are counted in Stats.RefusedRows).
func (a *Appender) Flush() int {
	n := a.flush() + a.flushed
	a.flushed = 0
	return n
}

func (a *Appender) flush() int {
	if a.n == 0 && a.typeErrs == 0 {
		return 0
	}
	t := a.t
	now := t.o.Now()
	stored := 0
	n := a.n
	// Every used column reaches the last committed row.
	for _, id := range a.used {
		ac := &a.cols[id]
		if k := len(ac.set); k < n {
			ac.vals = append(ac.vals, make([]uint64, n-k)...)
			ac.set = append(ac.set, make([]uint8, n-k)...)
			if ac.typ == Addr {
				ac.hi = append(ac.hi, make([]uint64, n-len(ac.hi))...)
			}
		}
	}
	t.mu.Lock()
	t.flushes++
	t.typeErrs += a.typeErrs
	a.touched = a.touched[:0]
	// Each row's partition is decided in order, as if the rows were stored
	// one by one (storing rows changes neither accept nor partitionFor);
	// then runs of rows of one partition are stored column by column.
	dest := a.dest[:0]
	for _, raw := range a.times[:n] {
		ts := intRaw(raw)
		if !t.accept(ts, now) {
			t.refused++
			dest = append(dest, nil)
			continue
		}
		p := t.partitionFor(ts)
		if !p.hot {
			t.warm(p)
		}
		if p.lastTouch != t.flushes {
			p.lastTouch = t.flushes
			a.touched = append(a.touched, p)
		}
		dest = append(dest, p)
		stored++
	}
	for i := 0; i < n; {
		p := dest[i]
		j := i + 1
		for j < n && dest[j] == p {
			j++
		}
		if p != nil {
			a.storeRun(p, i, j)
		}
		i = j
	}
	clear(dest)
	a.dest = dest[:0]
	t.rows += int64(stored)
	t.settle(a.touched)
	if stored > 0 {
		t.version.Add(1)
	}
	t.mu.Unlock()
	clear(a.touched)
	a.typeErrs = 0
	a.keepOpen()
	return stored
}

// keepOpen empties the buffers after a flush, keeping a row begun and not
// yet committed as row 0.
func (a *Appender) keepOpen() {
	n := a.n
	a.n, a.times = 0, a.times[:0]
	keep := 0
	for _, id := range a.used {
		ac := &a.cols[id]
		if len(ac.set) > n { // the open row has a value here
			ac.vals[0], ac.set[0] = ac.vals[n], ac.set[n]
			ac.vals, ac.set = ac.vals[:1], ac.set[:1]
			if ac.typ == Addr {
				ac.hi[0], ac.hi = ac.hi[n], ac.hi[:1]
			}
			a.used[keep] = id
			keep++
			continue
		}
		ac.vals, ac.set, ac.hi = ac.vals[:0], ac.set[:0], ac.hi[:0]
		ac.used = false
	}
	a.used = a.used[:keep]
	if keep == 0 {
		a.arena = a.arena[:0]
	}
}

// storeRun stores buffered rows [i, j), all of partition p (under mu): each
// column's values go in with one call. String and Addr values become codes
// of p's dictionaries, in row order.
func (a *Appender) storeRun(p *partition, i, j int) {
	t := a.t
	p.col(0, Time)
	if len(t.pend) < len(t.cols) {
		t.pend = make([]pendCol, len(t.cols))
	}
	for _, id := range a.used {
		ac := &a.cols[id]
		if int(id) >= len(t.cols) || id == 0 || t.cols[id].typ != ac.typ {
			for _, f := range ac.set[i:j] {
				t.typeErrs += int64(f)
			}
			continue
		}
		set := ac.set[i:j]
		count := 0
		for _, f := range set {
			count += int(f)
		}
		if count == 0 {
			continue // null here; appended as null below if p has the column
		}
		pc := p.col(id, ac.typ)
		vals := ac.vals[i:j]
		switch ac.typ {
		case String:
			for r, f := range set {
				if f != 0 {
					v := vals[r]
					off, l := v>>32, v&0xffffffff
					vals[r] = pc.strCode(a.arena[off : off+l])
				}
			}
		case Addr:
			hi := ac.hi[i:j]
			for r, f := range set {
				if f != 0 {
					vals[r] = pc.addrCode(addrKey{hi[r], vals[r]})
				}
			}
		}
		t.pend[id] = pendCol{vals: vals, set: set, count: count}
	}
	k := j - i
	for _, id := range p.present {
		pc := p.cols[id]
		if id == 0 {
			pc.appendBlock(k, a.times[i:j], nil, k)
			continue
		}
		pv := &t.pend[id]
		pc.appendBlock(k, pv.vals, pv.set, pv.count) // count 0: null in these rows
		*pv = pendCol{}
	}
	for _, raw := range a.times[i:j] {
		ts := intRaw(raw)
		p.minT = min(p.minT, ts)
		p.maxT = max(p.maxT, ts)
	}
	p.n += k
}
