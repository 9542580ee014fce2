package records

import (
	"bytes"
	"encoding/binary"
	"math"
	"net/netip"
)

// addrKey is an address as 16 bytes, IPv4 as IPv4-mapped IPv6: Addr values
// are unmapped on append, so a mapped key always means an IPv4 address.
type addrKey struct{ hi, lo uint64 }

func keyOf(a netip.Addr) addrKey {
	b := a.As16()
	return addrKey{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func (k addrKey) addr() netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], k.hi)
	binary.BigEndian.PutUint64(b[8:], k.lo)
	return netip.AddrFrom16(b).Unmap()
}

// pcol is one column of one partition. Writers only append: a reader that
// copied the slice headers under the table lock keeps reading the rows it
// saw while a writer appends behind them or replaces a slice (packing,
// growth, reopening), because nothing already written is modified in place.
type pcol struct {
	typ     Type
	chunks  []*packed
	packedB int64 // bytes of chunks

	// open chunk: raw values, and one byte a row for nulls (nil while no
	// row of the open chunk is null); lo/hi over non-null values (lo > hi
	// while there is none).
	vals   []uint64
	nulls  []uint8
	lo, hi uint64

	nonNull int64

	// Dictionaries (String, Addr): code → value, append-only. The index
	// maps value → code exist only while the partition is hot.
	arena []byte   // String: values back to back
	ends  []uint32 // String: end offset of value i in arena
	sidx  *strIndex
	// last is the String code appended last (valid while ends is not
	// empty): runs of one value skip the index.
	last uint32
	// strN counts String values appended past the last-value shortcut.
	// unique: the column proved nearly unique in this partition (see
	// uniqueAfter): it keeps no index, only recent, a small cache of codes
	// by hash (while hot) that catches values repeated soon.
	strN   uint64
	unique bool
	recent []uint32 // code + 1 by hash, 0: empty
	addrs  []addrKey
	aidx   *addrIndex
	// lastAddr is the Addr code appended last (valid while addrs is not
	// empty).
	lastAddr uint32
}

// rows is the number of rows held (sealed and open).
func (c *pcol) rows() int {
	n := len(c.vals)
	for _, p := range c.chunks {
		n += int(p.n)
	}
	return n
}

func (c *pcol) bytes() int64 {
	b := int64(120) + c.packedB + 8*int64(cap(c.chunks)) + 8*int64(cap(c.vals)) + int64(cap(c.nulls))
	b += int64(cap(c.arena)) + 4*int64(cap(c.ends)) + 16*int64(cap(c.addrs))
	if c.sidx != nil {
		b += c.sidx.bytes()
	}
	b += 4 * int64(cap(c.recent))
	if c.aidx != nil {
		b += c.aidx.bytes()
	}
	return b
}

// appendRaw adds one row; null rows carry no value.
func (c *pcol) appendRaw(v uint64, null bool) {
	if len(c.vals) == 0 {
		c.lo, c.hi = math.MaxUint64, 0
	}
	if len(c.vals) == cap(c.vals) {
		c.grow()
	}
	if null {
		if c.nulls == nil {
			c.nulls = make([]uint8, len(c.vals), cap(c.vals))
		}
		c.vals = append(c.vals, 0)
		c.nulls = append(c.nulls, 1)
	} else {
		c.vals = append(c.vals, v)
		if c.nulls != nil {
			c.nulls = append(c.nulls, 0)
		}
		c.lo, c.hi = min(c.lo, v), max(c.hi, v)
		c.nonNull++
	}
	if len(c.vals) == chunkRows {
		c.seal()
	}
}

// appendBlock adds k rows: row r is vals[r] where set[r] != 0 and null
// elsewhere; count is how many are set (k: every row, set unused; 0: every
// row null, vals and set unused). The chunk comes out as if the rows were
// appended one by one.
func (c *pcol) appendBlock(k int, vals []uint64, set []uint8, count int) {
	mixed := count != k && count != 0
	for k > 0 {
		if len(c.vals) == 0 {
			c.lo, c.hi = math.MaxUint64, 0
		}
		if len(c.vals) == cap(c.vals) {
			c.grow()
		}
		m := min(k, cap(c.vals)-len(c.vals))
		base := len(c.vals)
		c.vals = c.vals[:base+m]
		dst := c.vals[base:]
		all, none := count == k, count == 0
		var sset []uint8
		if mixed {
			sset = set[:m]
			all, none = true, true
			for _, f := range sset {
				if f == 0 {
					all = false
				} else {
					none = false
				}
			}
		}
		switch {
		case all:
			seg := vals[:m]
			copy(dst, seg)
			lo, hi := c.lo, c.hi
			for _, v := range seg {
				lo, hi = min(lo, v), max(hi, v)
			}
			c.lo, c.hi = lo, hi
			if c.nulls != nil {
				c.nulls = c.nulls[:base+m]
				clear(c.nulls[base:])
			}
			c.nonNull += int64(m)
		case none:
			clear(dst)
			if c.nulls == nil {
				c.nulls = make([]uint8, base, cap(c.vals))
			}
			c.nulls = c.nulls[:base+m]
			nb := c.nulls[base:]
			for i := range nb {
				nb[i] = 1
			}
		default:
			if c.nulls == nil {
				c.nulls = make([]uint8, base, cap(c.vals))
			}
			c.nulls = c.nulls[:base+m]
			nb := c.nulls[base:]
			lo, hi := c.lo, c.hi
			nn := 0
			for i, v := range vals[:m] {
				if sset[i] != 0 {
					dst[i], nb[i] = v, 0
					lo, hi = min(lo, v), max(hi, v)
					nn++
				} else {
					dst[i], nb[i] = 0, 1
				}
			}
			c.lo, c.hi = lo, hi
			c.nonNull += int64(nn)
		}
		if count != 0 {
			vals = vals[m:]
		}
		if mixed {
			set = set[m:]
		} else if count != 0 {
			count -= m // stays equal to k
		}
		k -= m
		if len(c.vals) == chunkRows {
			c.seal()
		}
	}
}

// grow makes room in the open chunk, never past chunkRows (append's own
// growth would overshoot it, and a chunk must seal at exactly chunkRows).
// A partition's first chunk grows from small, so a quiet table stays small;
// once a chunk has filled, the next is allocated whole.
func (c *pcol) grow() {
	n := min(256, chunkRows)
	if len(c.chunks) > 0 {
		n = chunkRows
	}
	n = min(max(n, 2*cap(c.vals)), chunkRows)
	vals := make([]uint64, len(c.vals), n)
	copy(vals, c.vals)
	c.vals = vals
	if c.nulls != nil {
		nulls := make([]uint8, len(c.nulls), n)
		copy(nulls, c.nulls)
		c.nulls = nulls
	}
}

// appendNulls adds n null rows (a column that appears in a partition after
// its first rows).
func (c *pcol) appendNulls(n int) {
	for ; n > 0 && len(c.vals) > 0; n-- {
		c.appendRaw(0, true)
	}
	for ; n >= chunkRows; n -= chunkRows {
		c.addChunk(&packed{n: int32(chunkRows), allNull: true})
	}
	for ; n > 0; n-- {
		c.appendRaw(0, true)
	}
}

func (c *pcol) addChunk(p *packed) {
	c.chunks = append(c.chunks, p)
	c.packedB += p.bytes()
}

// seal packs the open chunk. The open slices are dropped, not reused: a
// reader may still hold them. An empty open chunk just gives its buffer up.
func (c *pcol) seal() {
	if len(c.vals) > 0 {
		c.addChunk(pack(c.vals, c.nulls))
	}
	c.vals, c.nulls = nil, nil
}

// reopen turns a partial last chunk back into the open chunk. The chunk list
// is copied so that readers holding the old one never see a slot change.
func (c *pcol) reopen() {
	if len(c.vals) != 0 || len(c.chunks) == 0 {
		return
	}
	last := c.chunks[len(c.chunks)-1]
	if int(last.n) >= chunkRows {
		return
	}
	c.vals, c.nulls = last.unpack()
	c.lo, c.hi = last.base, last.max
	if last.allNull {
		c.lo, c.hi = math.MaxUint64, 0
	}
	c.packedB -= last.bytes()
	c.chunks = append([]*packed(nil), c.chunks[:len(c.chunks)-1]...)
}

// uniqueAfter: when a String column of a partition reaches this many
// distinct values while fewer than 1 in 16 of its values repeated one, it
// stops indexing them (nearly unique text such as INT hop lists): looking
// each value up in an index of millions costs a cache miss, and the index
// more memory than the few repeats it would save. A variable so that tests
// reach it with a few hundred rows.
var uniqueAfter = 1 << 16

// recentSlots is the size of a nearly unique column's cache of recent
// values (a power of 2).
const recentSlots = 1024

// strCode returns the dictionary code of a string value, adding it if new.
// A nearly unique column may add a value it already holds under another
// code: queries read codes only through their values, so a value with two
// codes answers like one.
func (c *pcol) strCode(b []byte) uint64 {
	if len(c.ends) > 0 && bytes.Equal(c.strAt(c.last), b) {
		return uint64(c.last)
	}
	c.strN++
	h := strHash(b)
	if c.unique {
		if c.recent == nil {
			c.recent = make([]uint32, recentSlots)
		}
		r := &c.recent[h&(recentSlots-1)]
		if *r != 0 && bytes.Equal(c.strAt(*r-1), b) {
			c.last = *r - 1
			return uint64(c.last)
		}
		c.last = c.addStr(b)
		*r = c.last + 1
		return uint64(c.last)
	}
	if c.sidx == nil {
		c.buildIndex()
	}
	code, ok := c.sidx.find(c, b, h)
	if !ok {
		code = c.addStr(b)
		c.sidx.insert(h, code)
		if len(c.ends) == uniqueAfter && 16*uint64(len(c.ends)) > 15*c.strN {
			c.unique, c.sidx = true, nil
		}
	}
	c.last = code
	return uint64(code)
}

// addStr appends a new dictionary value and returns its code.
func (c *pcol) addStr(b []byte) uint32 {
	code := uint32(len(c.ends))
	c.arena = append(grown(c.arena, len(b)), b...)
	c.ends = append(grown(c.ends, 1), uint32(len(c.arena)))
	return code
}

// grown returns s with room for n more elements, doubling its capacity
// when it must grow: append grows large slices by a quarter, so a
// dictionary of tens of megabytes was copied four or five times over
// while it filled. The slack lasts only while the partition is hot (cool
// trims it) and is counted in the table's bytes like any capacity.
func grown[T any](s []T, n int) []T {
	if len(s)+n <= cap(s) {
		return s
	}
	g := make([]T, len(s), max(2*cap(s), len(s)+n, 64))
	copy(g, s)
	return g
}

// strAt is the value of dictionary code i.
func (c *pcol) strAt(i uint32) []byte {
	start := uint32(0)
	if i > 0 {
		start = c.ends[i-1]
	}
	return c.arena[start:c.ends[i]]
}

func (c *pcol) addrCode(k addrKey) uint64 {
	if len(c.addrs) > 0 && c.addrs[c.lastAddr] == k {
		return uint64(c.lastAddr)
	}
	if c.aidx == nil {
		c.buildIndex()
	}
	code, ok := c.aidx.find(c.addrs, k, addrHash(k))
	if !ok {
		code = uint32(len(c.addrs))
		c.addrs = append(c.addrs, k)
		c.aidx.insert(c.addrs, code)
	}
	c.lastAddr = code
	return uint64(code)
}

func (c *pcol) buildIndex() {
	switch c.typ {
	case String:
		n := 64
		for n < 2*len(c.ends) {
			n *= 2
		}
		c.sidx = &strIndex{slots: make([]uint64, n)}
		for i := range c.ends { // values of a dictionary are distinct
			c.sidx.insert(strHash(c.strAt(uint32(i))), uint32(i))
		}
	case Addr:
		n := 64
		for n < 2*len(c.addrs) {
			n *= 2
		}
		c.aidx = &addrIndex{slots: make([]uint32, n)}
		for i := range c.addrs { // values of a dictionary are distinct
			c.aidx.insert(c.addrs, uint32(i))
		}
	}
}

// cool packs the open chunk and drops the dictionary index; the dictionary
// slices are trimmed to their length.
func (c *pcol) cool() {
	c.seal()
	c.sidx, c.aidx, c.recent = nil, nil, nil
	if cap(c.arena) > len(c.arena) {
		c.arena = append([]byte(nil), c.arena...)
	}
	if cap(c.ends) > len(c.ends) {
		c.ends = append([]uint32(nil), c.ends...)
	}
	if cap(c.addrs) > len(c.addrs) {
		c.addrs = append([]addrKey(nil), c.addrs...)
	}
	if cap(c.chunks) > len(c.chunks) {
		c.chunks = append([]*packed(nil), c.chunks...)
	}
}

// colSnap is what a query copies of a pcol under the read lock.
type colSnap struct {
	typ    Type
	absent bool // the partition has no such column: every row is null
	chunks []*packed
	vals   []uint64
	nulls  []uint8
	lo, hi uint64
	anyVal bool
	arena  []byte
	ends   []uint32
	addrs  []addrKey
}

func (c *pcol) snap() colSnap {
	return colSnap{typ: c.typ, chunks: c.chunks, vals: c.vals, nulls: c.nulls, lo: c.lo, hi: c.hi, anyVal: len(c.vals) > 0 && c.lo <= c.hi,
		arena: c.arena, ends: c.ends, addrs: c.addrs}
}

// nchunks counts the sealed chunks and the open one.
func (s *colSnap) nchunks() int {
	n := len(s.chunks)
	if len(s.vals) > 0 {
		n++
	}
	return n
}

// chunk returns chunk k as a view, decoding into buf (chunkRows long) and
// bitmapping open nulls into nbuf (chunkRows/64 long). rows is the chunk's
// row count (used when the column is absent).
func (s *colSnap) chunk(k int, rows int, buf []uint64, nbuf []uint64) view {
	if s.absent {
		return view{vals: buf[:rows], allNull: true}
	}
	if k < len(s.chunks) {
		p := s.chunks[k]
		if p.allNull {
			return view{vals: buf[:p.n], allNull: true}
		}
		return view{vals: p.decode(buf), nulls: p.nulls}
	}
	v := view{vals: s.vals}
	if s.nulls != nil {
		v.nulls = bitmapOf(s.nulls, nbuf)
	}
	return v
}

// chunkRange is the raw min and max of chunk k's non-null values; ok is
// false when the chunk is all null.
func (s *colSnap) chunkRange(k int) (lo, hi uint64, ok bool) {
	if s.absent {
		return 0, 0, false
	}
	if k < len(s.chunks) {
		p := s.chunks[k]
		return p.base, p.max, !p.allNull
	}
	return s.lo, s.hi, s.anyVal
}

func (s *colSnap) str(code uint64) string {
	start := uint32(0)
	if code > 0 {
		start = s.ends[code-1]
	}
	return string(s.arena[start:s.ends[code]])
}

func (s *colSnap) strBytes(code uint64) []byte {
	start := uint32(0)
	if code > 0 {
		start = s.ends[code-1]
	}
	return s.arena[start:s.ends[code]]
}

func (s *colSnap) dictLen() int {
	switch s.typ {
	case String:
		return len(s.ends)
	case Addr:
		return len(s.addrs)
	}
	return 0
}
