package records

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// TimeColumn is the built-in column holding each row's timestamp.
const TimeColumn = "time"

// MaxColumnName bounds column names (they come from IE names and the
// user's definitions file).
const MaxColumnName = 128

var (
	ErrTooManyColumns = errors.New("records: too many columns")
	ErrTypeClash      = errors.New("records: column exists with another type")
)

type colDef struct {
	name string
	typ  Type
}

// partition holds the rows whose time falls in [start, start+PartitionMs).
type partition struct {
	start      int64
	n          int
	cols       []*pcol // by column id; nil: the column has no value in this partition
	present    []uint16
	minT, maxT int64
	hot        bool
	full       bool // closed for size: rows of its span go to a newer sibling
	lastTouch  uint64
	bytes      int64
}

// Table is one record kind's store. Safe for concurrent use.
type Table struct {
	name string
	o    Options

	mu     sync.RWMutex
	cols   []colDef
	byName map[string]uint16
	parts  []*partition // by start, oldest first
	bytes  int64
	rows   int64

	evictedRows, evictedParts, refused, typeErrs int64
	// evictedBefore: rows older than this fall in a range already evicted.
	evictedBefore int64
	flushes       uint64
	lastPart      *partition
	hot           []*partition // partitions with open chunks and dictionary indexes
	reopened      int          // cooled partitions that took a late row (tests check the path ran)

	version atomic.Uint64

	// scratch for Flush (under mu): by column id, the values of the run
	// being stored
	pend []pendCol
}

// pendCol is one column's values for a run of rows: vals[r] where set[r]
// is 1; count rows are set (0: the column is null in every row).
type pendCol struct {
	vals  []uint64
	set   []uint8
	count int
}

// NewTable returns an empty table; zero Options fields take the defaults.
func NewTable(name string, o Options) *Table {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.PartitionMs <= 0 {
		o.PartitionMs = DefaultPartitionMs
	}
	if o.MaxColumns <= 0 {
		o.MaxColumns = DefaultMaxColumns
	}
	o.MaxColumns = min(o.MaxColumns, math.MaxUint16)
	if o.MaxGroups <= 0 {
		o.MaxGroups = DefaultMaxGroups
	}
	if o.MaxGroupBytes <= 0 {
		o.MaxGroupBytes = DefaultMaxGroupBytes
	}
	if o.LateMs <= 0 {
		o.LateMs = DefaultLateMs
	}
	if o.FutureMs <= 0 {
		o.FutureMs = DefaultFutureMs
	}
	if o.Now == nil {
		o.Now = func() int64 { return time.Now().UnixMilli() }
	}
	t := &Table{name: name, o: o, byName: map[string]uint16{}, evictedBefore: math.MinInt64}
	t.cols = append(t.cols, colDef{name: TimeColumn, typ: Time})
	t.byName[TimeColumn] = 0
	return t
}

// Name is the table's record kind.
func (t *Table) Name() string { return t.name }

// Column returns the column of that name, creating it; it fails when the
// column exists with another type or the table has MaxColumns columns.
func (t *Table) Column(name string, typ Type) (Col, error) {
	if typ < Uint || typ > Bool {
		return Col{}, fmt.Errorf("records: column %q: invalid type %d", name, typ)
	}
	if name == "" || len(name) > MaxColumnName {
		return Col{}, fmt.Errorf("records: column name %q: must be 1 to %d bytes", name, MaxColumnName)
	}
	t.mu.RLock()
	id, ok := t.byName[name]
	var have Type
	if ok {
		have = t.cols[id].typ
	}
	t.mu.RUnlock()
	if !ok {
		t.mu.Lock()
		defer t.mu.Unlock()
		if id, ok = t.byName[name]; ok {
			have = t.cols[id].typ
		} else {
			if len(t.cols) >= t.o.MaxColumns {
				return Col{}, fmt.Errorf("%w: %q would be column %d of at most %d", ErrTooManyColumns, name, len(t.cols)+1, t.o.MaxColumns)
			}
			id = uint16(len(t.cols))
			t.cols = append(t.cols, colDef{name: name, typ: typ})
			t.byName[name] = id
			return Col{t: t, id: id, typ: typ}, nil
		}
	}
	if have != typ {
		return Col{}, fmt.Errorf("%w: %q is %s, not %s", ErrTypeClash, name, have, typ)
	}
	return Col{t: t, id: id, typ: typ}, nil
}

// Columns lists the columns, "time" first then in creation order, with
// how many rows held have a value.
func (t *Table) Columns() []ColumnInfo {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]ColumnInfo, len(t.cols))
	for i, c := range t.cols {
		out[i] = ColumnInfo{Name: c.name, Type: c.typ}
	}
	for _, p := range t.parts {
		for id, c := range p.cols {
			if c != nil {
				out[id].Rows += c.nonNull
			}
		}
	}
	return out
}

// Stats returns the table's state and counters.
func (t *Table) Stats() Stats {
	t.mu.RLock()
	defer t.mu.RUnlock()
	s := Stats{Rows: t.rows, Bytes: t.bytes, MaxBytes: t.o.MaxBytes, Partitions: len(t.parts), Columns: len(t.cols),
		EvictedRows: t.evictedRows, EvictedPartitions: t.evictedParts, RefusedRows: t.refused, TypeErrors: t.typeErrs}
	for _, p := range t.parts {
		if p.n == 0 {
			continue
		}
		if s.OldestMs == 0 || p.minT < s.OldestMs {
			s.OldestMs = p.minT
		}
		s.NewestMs = max(s.NewestMs, p.maxT)
	}
	return s
}

// Version grows on every Flush that stored rows.
func (t *Table) Version() uint64 { return t.version.Load() }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// partitionFor finds or creates the partition of ts (under mu). A time
// span normally has one partition; when one outgrows partLimit (a rate so
// high that one span would approach the cap) it is closed and the span
// continues in a sibling, so that eviction stays gradual.
func (t *Table) partitionFor(ts int64) *partition {
	start := floorDiv(ts, t.o.PartitionMs) * t.o.PartitionMs
	if p := t.lastPart; p != nil && p.start == start && !p.full {
		return p
	}
	i := sort.Search(len(t.parts), func(i int) bool { return t.parts[i].start > start })
	if i > 0 && t.parts[i-1].start == start && !t.parts[i-1].full {
		t.lastPart = t.parts[i-1]
		return t.parts[i-1]
	}
	p := &partition{start: start, hot: true, minT: math.MaxInt64, maxT: math.MinInt64}
	t.parts = append(t.parts, nil)
	copy(t.parts[i+1:], t.parts[i:])
	t.parts[i] = p
	t.lastPart = p
	t.hot = append(t.hot, p)
	return p
}

// partLimit is the size at which a partition closes: a sixteenth of the
// cap, so that evicting one never drops more than about 6% of the rows.
func (t *Table) partLimit() int64 { return max(t.o.MaxBytes/16, 128<<10) }

// accept reports whether a row stamped ts may be stored (under mu).
func (t *Table) accept(ts, now int64) bool {
	if ts < t.evictedBefore || ts > now+t.o.FutureMs {
		return false
	}
	if len(t.parts) > 0 && ts < t.parts[0].start-t.o.LateMs {
		return false
	}
	return true
}

// hotSpan: partitions this close to the newest stay hot (open chunks and
// dictionary indexes); older ones cool once no row reached them for
// coolAfter flushes.
const (
	hotSpan   = 3
	coolAfter = 64
)

// settle recomputes the bytes of touched partitions, cools old ones and
// evicts the oldest partitions while the table is over its cap (under mu).
func (t *Table) settle(touched []*partition) {
	for _, p := range touched {
		t.bytes -= p.bytes
		p.bytes = p.size()
		t.bytes += p.bytes
		if p.bytes > t.partLimit() && !p.full {
			p.full = true
			t.cool(p)
		}
	}
	if len(t.parts) > 0 {
		edge := t.parts[len(t.parts)-1].start - (hotSpan-1)*t.o.PartitionMs
		keep := t.hot[:0]
		for _, p := range t.hot {
			if !p.hot {
				continue // cooled as full
			}
			if p.start < edge && t.flushes-p.lastTouch >= coolAfter {
				t.cool(p)
				continue
			}
			keep = append(keep, p)
		}
		clear(t.hot[len(keep):])
		t.hot = keep
	}
	for t.bytes > t.o.MaxBytes && len(t.parts) > 0 {
		t.evictOldest()
	}
}

func (t *Table) cool(p *partition) {
	for _, c := range p.cols {
		if c != nil {
			c.cool()
		}
	}
	p.hot = false
	t.bytes -= p.bytes
	p.bytes = p.size()
	t.bytes += p.bytes
}

func (t *Table) evictOldest() {
	p := t.parts[0]
	t.parts[0] = nil
	t.parts = t.parts[1:]
	if t.lastPart == p {
		t.lastPart = nil
	}
	t.bytes -= p.bytes
	t.rows -= int64(p.n)
	t.evictedRows += int64(p.n)
	t.evictedParts++
	// Rows of a span whose data was evicted are refused, unless a sibling
	// of that span still takes rows.
	if len(t.parts) == 0 || t.parts[0].start != p.start {
		t.evictedBefore = max(t.evictedBefore, p.start+t.o.PartitionMs)
	}
	if p.hot {
		for i, h := range t.hot {
			if h == p {
				t.hot = append(t.hot[:i], t.hot[i+1:]...)
				break
			}
		}
	}
}

const partitionOverhead = 200

func (p *partition) size() int64 {
	b := int64(partitionOverhead) + 8*int64(cap(p.cols)) + 2*int64(cap(p.present))
	for _, c := range p.cols {
		if c != nil {
			b += c.bytes()
		}
	}
	return b
}

func (p *partition) col(id uint16, typ Type) *pcol {
	if int(id) >= len(p.cols) {
		p.cols = append(p.cols, make([]*pcol, int(id)+1-len(p.cols))...)
	}
	c := p.cols[id]
	if c == nil {
		c = &pcol{typ: typ}
		c.appendNulls(p.n)
		p.cols[id] = c
		p.present = append(p.present, id)
	}
	return c
}

// warm makes a cooled partition take rows again (a late row reached it).
func (t *Table) warm(p *partition) {
	for _, c := range p.cols {
		if c != nil {
			c.reopen()
		}
	}
	p.hot = true
	t.hot = append(t.hot, p)
	t.reopened++
}
