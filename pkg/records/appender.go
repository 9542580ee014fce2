package records

import (
	"net/netip"
)

// MaxStringLen truncates longer String values.
const MaxStringLen = 65535

// Appender buffers rows for one goroutine and moves them into the table
// under one lock per Flush. It buffers at most maxBufferedRows rows (or
// maxBufferedBytes of strings) before flushing by itself.
type Appender struct {
	t        *Table
	ts       int64
	open     bool
	from     int
	cells    []cell
	rows     []rowRef
	arena    []byte
	typeErrs int64
	flushed  int
	touched  []*partition
	dest     []*partition // flush: each row's partition, nil if refused
}

// cell is one value of a buffered row: lo is the raw value (String: arena
// offset<<32 | length; Addr: hi and lo are the 16 bytes).
type cell struct {
	col    uint16
	typ    Type
	hi, lo uint64
}

type rowRef struct {
	ts       int64
	from, to int32
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
	a.cells = a.cells[:a.from]
	a.ts, a.open = tsMs, true
}

func (a *Appender) put(c Col, typ Type, hi, lo uint64) {
	if !a.open {
		return
	}
	if c.typ != typ || c.t != a.t {
		a.typeErrs++
		return
	}
	a.cells = append(a.cells, cell{col: c.id, typ: typ, hi: hi, lo: lo})
}

func (a *Appender) Uint(c Col, v uint64) { a.put(c, Uint, 0, v) }
func (a *Appender) Int(c Col, v int64)   { a.put(c, Int, 0, rawInt(v)) }
func (a *Appender) Float(c Col, v float64) {
	a.put(c, Float, 0, rawFloat(v))
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
	a.put(c, Time, 0, rawInt(ms))
}

func (a *Appender) Bool(c Col, v bool) {
	var r uint64
	if v {
		r = 1
	}
	a.put(c, Bool, 0, r)
}

// String copies v; values past MaxStringLen are truncated.
func (a *Appender) String(c Col, v []byte) {
	if !a.open {
		return
	}
	if c.typ != String || c.t != a.t {
		a.typeErrs++
		return
	}
	if len(v) > MaxStringLen {
		v = v[:MaxStringLen]
	}
	off := len(a.arena)
	a.arena = append(a.arena, v...)
	a.cells = append(a.cells, cell{col: c.id, typ: String, lo: uint64(off)<<32 | uint64(len(v))})
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
	k := keyOf(v.Unmap())
	a.put(c, Addr, k.hi, k.lo)
}

// Commit ends the row; columns not set are null.
func (a *Appender) Commit() {
	if !a.open {
		return
	}
	a.rows = append(a.rows, rowRef{ts: a.ts, from: int32(a.from), to: int32(len(a.cells))})
	a.from = len(a.cells)
	a.open = false
	if len(a.rows) >= maxBufferedRows || len(a.arena) >= maxBufferedBytes {
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
	if len(a.rows) == 0 && a.typeErrs == 0 {
		return 0
	}
	t := a.t
	now := t.o.Now()
	stored := 0
	t.mu.Lock()
	t.flushes++
	t.typeErrs += a.typeErrs
	a.touched = a.touched[:0]
	// Each row's partition is decided in order, as if the rows were stored
	// one by one (storing rows changes neither accept nor partitionFor);
	// then runs of rows of one partition are stored column by column.
	dest := a.dest[:0]
	for _, r := range a.rows {
		if !t.accept(r.ts, now) {
			t.refused++
			dest = append(dest, nil)
			continue
		}
		p := t.partitionFor(r.ts)
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
	for i := 0; i < len(dest); {
		p := dest[i]
		j := i + 1
		for j < len(dest) && dest[j] == p {
			j++
		}
		if p != nil {
			t.appendRun(p, a.rows[i:j], a.cells, a.arena)
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
	a.rows = a.rows[:0]
	// keep a row begun and not yet committed
	open := a.cells[a.from:]
	a.cells = append(a.cells[:0], open...)
	a.from = 0
	if len(open) == 0 {
		a.arena = a.arena[:0]
	}
	return stored
}

// runRows is how many rows appendRun stages at a time: its scratch holds a
// word and a flag per column and row.
const runRows = 128

// appendRun stores rows, all of partition p and in order (under mu). Their
// cells are staged column by column, then every column of p takes the
// block's values in one pass, instead of one call per column and row.
func (t *Table) appendRun(p *partition, rows []rowRef, cells []cell, arena []byte) {
	nc := len(t.cols)
	if len(t.runCount) < nc {
		t.runVals = make([]uint64, nc*runRows)
		t.runSet = make([]uint8, nc*runRows)
		t.runCount = make([]int, nc)
	}
	p.col(0, Time)
	for len(rows) > 0 {
		n := min(len(rows), runRows)
		blk := rows[:n]
		rows = rows[n:]
		for _, id := range p.present {
			t.stage(id, n)
		}
		tv := t.runVals[:n]
		for r, row := range blk {
			tv[r] = rawInt(row.ts)
			p.minT = min(p.minT, row.ts)
			p.maxT = max(p.maxT, row.ts)
			for _, c := range cells[row.from:row.to] {
				id := c.col
				if int(id) >= nc || id == 0 || t.cols[id].typ != c.typ {
					t.typeErrs++
					continue
				}
				var pc *pcol
				if int(id) < len(p.cols) && p.cols[id] != nil {
					pc = p.cols[id]
				} else {
					// new in p: null for the rows before this block
					pc = p.col(id, c.typ)
					t.stage(id, n)
				}
				var raw uint64
				switch c.typ {
				case String:
					off, l := c.lo>>32, c.lo&0xffffffff
					raw = pc.strCode(arena[off : off+l])
				case Addr:
					raw = pc.addrCode(addrKey{c.hi, c.lo})
				default:
					raw = c.lo
				}
				// A column set twice in a row keeps the last value.
				k := int(id)*runRows + r
				if t.runSet[k] == 0 {
					t.runSet[k] = 1
					t.runCount[id]++
				}
				t.runVals[k] = raw
			}
		}
		for _, id := range p.present {
			k := int(id) * runRows
			var set []uint8
			if id != 0 {
				set = t.runSet[k : k+n]
			}
			p.cols[id].appendBlock(t.runVals[k:k+n], set, t.runCount[id])
		}
		p.n += n
	}
}

// stage clears column id's flags for a block of n rows.
func (t *Table) stage(id uint16, n int) {
	k := int(id) * runRows
	clear(t.runSet[k : k+n])
	t.runCount[id] = 0
}
