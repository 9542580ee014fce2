package records

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
	"strings"
)

// Group keys. A group's identity is its GroupBy values packed into a fixed
// number of 64-bit words, the same in every partition: a number is its raw
// word minus the column's smallest raw value in the query's partitions,
// plus one (0 means null), in as many bits as the column's spread needs; a
// string or an address is a query-wide id plus one, in as many bits as the
// partitions' dictionaries could number. The four columns of a
// conversation (two addresses, protocol, port) usually fit one word, so a
// group costs its key word, a hash slot and the ranking aggregate's cell
// (no allocation per group).

// keyField is where one group column sits in a key.
type keyField struct {
	typ   Type
	slot  int
	word  int
	shift uint
	width uint   // bits; 0: every row is null
	lo    uint64 // numbers: the smallest raw value
	// wide: the spread needs all 64 bits, so the raw word takes a word of
	// its own and null is a flag bit elsewhere.
	wide               bool
	flagWord           int
	flagShift          uint
	dict               bool // String or Addr: the field holds a query-wide id + 1
	nullable, anyValue bool
}

// keyer builds the group keys of a plan's rows.
type keyer struct {
	pl     *plan
	fields []keyField
	w      int // words per key, at least 1

	// dicts[field]: the query-wide ids of a String or Addr field. Each
	// field numbers its own values: its width in the key was sized from its
	// own column's dictionaries, so ids shared with another field (a source
	// and a destination address) would overflow it.
	dicts []keyDict
	// trans[partition][field]: dictionary code → id + 1 (0: not yet seen),
	// kept from the ranking pass for the second one.
	trans [][][]uint32
}

func newKeyer(pl *plan) *keyer {
	k := &keyer{pl: pl, dicts: make([]keyDict, len(pl.group)), trans: make([][][]uint32, len(pl.parts))}
	word, bit := 0, uint(0)
	place := func(width uint) (int, uint) {
		if bit+width > 64 {
			word, bit = word+1, 0
		}
		w, s := word, bit
		bit += width
		return w, s
	}
	for _, slot := range pl.group {
		f := keyField{typ: pl.types[slot], slot: slot, dict: isDict(pl.types[slot])}
		if f.dict {
			total := 0
			for pi := range pl.parts {
				total += pl.parts[pi].cols[slot].dictLen()
			}
			f.width = uint(bits.Len(uint(total)))
		} else {
			lo, hi, any := uint64(math.MaxUint64), uint64(0), false
			for pi := range pl.parts {
				cs := &pl.parts[pi].cols[slot]
				for c := range cs.nchunks() {
					if l, h, ok := cs.chunkRange(c); ok {
						lo, hi, any = min(lo, l), max(hi, h), true
					}
				}
			}
			if any {
				f.lo = lo
				if hi-lo == math.MaxUint64 {
					f.wide = true
				} else {
					f.width = uint(bits.Len64(hi - lo + 1))
				}
			}
		}
		if f.wide {
			if bit > 0 {
				word, bit = word+1, 0
			}
			f.word, f.width = word, 64
			word++
			f.flagWord, f.flagShift = place(1)
		} else {
			f.word, f.shift = place(f.width)
		}
		k.fields = append(k.fields, f)
	}
	k.w = max(1, word+min(1, int(bit)))
	return k
}

// partition prepares the code translations of partition pi.
func (k *keyer) partition(pi int) {
	if k.trans[pi] != nil {
		return
	}
	ps := &k.pl.parts[pi]
	k.trans[pi] = make([][]uint32, len(k.fields))
	for j, f := range k.fields {
		if f.dict {
			k.trans[pi][j] = make([]uint32, ps.cols[f.slot].dictLen())
		}
	}
}

// keyDict numbers the values of one String or Addr group field.
type keyDict struct {
	strs    []string
	strIdx  map[string]uint32
	addrs   []addrKey
	addrIdx map[addrKey]uint32
}

// translate returns the query-wide id + 1 of dictionary code c of field j.
func (k *keyer) translate(cs *colSnap, j int, typ Type, c uint64) uint32 {
	d := &k.dicts[j]
	if typ == Addr {
		a := cs.addrs[c]
		id, ok := d.addrIdx[a]
		if !ok {
			if d.addrIdx == nil {
				d.addrIdx = map[addrKey]uint32{}
			}
			id = uint32(len(d.addrs))
			d.addrs = append(d.addrs, a)
			d.addrIdx[a] = id
		}
		return id + 1
	}
	b := cs.strBytes(c)
	id, ok := d.strIdx[string(b)]
	if !ok {
		if d.strIdx == nil {
			d.strIdx = map[string]uint32{}
		}
		s := string(b)
		id = uint32(len(d.strs))
		d.strs = append(d.strs, s)
		d.strIdx[s] = id
	}
	return id + 1
}

// keys writes the keys of rows sel of the scanner's chunk of partition pi
// into kb (w words a row).
func (k *keyer) keys(s *scanner, pi int, sel []int32, kb []uint64) {
	clear(kb)
	w := k.w
	for j := range k.fields {
		f := &k.fields[j]
		v := s.view(f.slot)
		if f.wide {
			for r, i := range sel {
				if v.null(i) {
					kb[r*w+f.flagWord] |= 1 << f.flagShift
				} else {
					kb[r*w+f.word] = v.vals[i]
				}
			}
			continue
		}
		if f.width == 0 || v.allNull {
			continue
		}
		word, shift := f.word, f.shift
		if f.dict {
			cs := &s.ps.cols[f.slot]
			tr := k.trans[pi][j]
			for r, i := range sel {
				if v.nulls != nil && v.null(i) {
					continue
				}
				c := v.vals[i]
				t := tr[c]
				if t == 0 {
					t = k.translate(cs, j, f.typ, c)
					tr[c] = t
				}
				kb[r*w+word] |= uint64(t) << shift
			}
			continue
		}
		base := f.lo - 1
		if v.nulls == nil {
			for r, i := range sel {
				kb[r*w+word] |= (v.vals[i] - base) << shift
			}
			continue
		}
		for r, i := range sel {
			if !v.null(i) {
				kb[r*w+word] |= (v.vals[i] - base) << shift
			}
		}
	}
}

// field is column j of a key: null, or its raw word (numbers) or
// query-wide id (strings, addresses).
func (k *keyer) field(key []uint64, j int) (null bool, v uint64) {
	f := &k.fields[j]
	if f.wide {
		return key[f.flagWord]>>f.flagShift&1 != 0, key[f.word]
	}
	if f.width == 0 {
		return true, 0
	}
	x := key[f.word] >> f.shift & (^uint64(0) >> (64 - f.width))
	if x == 0 {
		return true, 0
	}
	if f.dict {
		return false, x - 1
	}
	return false, x - 1 + f.lo
}

// compare orders groups by their values, column by column, nulls first:
// the tie-break between groups of equal rank.
func (k *keyer) compare(a, b []uint64) int {
	for j, f := range k.fields {
		an, av := k.field(a, j)
		bn, bv := k.field(b, j)
		if an || bn {
			if an != bn {
				if an {
					return -1
				}
				return 1
			}
			continue
		}
		var c int
		switch f.typ {
		case String:
			c = strings.Compare(k.dicts[j].strs[av], k.dicts[j].strs[bv])
		case Addr:
			x, y := k.dicts[j].addrs[av], k.dicts[j].addrs[bv]
			c = cmp.Or(cmp.Compare(x.hi, y.hi), cmp.Compare(x.lo, y.lo))
		case Float:
			c = cmp.Compare(floatRaw(av), floatRaw(bv))
		default:
			c = cmp.Compare(av, bv)
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// output appends a key's values to the builders.
func (k *keyer) output(key []uint64, bs []*builder) {
	for j, f := range k.fields {
		null, v := k.field(key, j)
		switch {
		case null:
			bs[j].null()
		case f.typ == String:
			bs[j].str(k.dicts[j].strs[v])
		case f.typ == Addr:
			bs[j].str(k.dicts[j].addrs[v].addr().String())
		default:
			bs[j].raw(v)
		}
	}
}

// keyTable maps keys of w words to dense ids 0, 1, ... in insertion order:
// open addressing with linear probing over int32 slots (id + 1, 0 empty),
// at most three quarters full, and the keys back to back.
type keyTable struct {
	w     int
	n     int
	keys  []uint64
	slots []int32
	shift uint // 64 - log2(len(slots))
}

func newKeyTable(w, hint int) *keyTable {
	size := 16
	for size < 2*hint {
		size *= 2
	}
	return &keyTable{w: w, slots: make([]int32, size), shift: uint(64 - bits.TrailingZeros(uint(size))), keys: make([]uint64, 0, w*max(hint, 8))}
}

func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func hashKey(k []uint64) uint64 {
	h := uint64(0x9e3779b97f4a7c15)
	for _, x := range k {
		h = mix64(h ^ x)
	}
	return h
}

func (t *keyTable) key(id int32) []uint64 { return t.keys[int(id)*t.w : int(id+1)*t.w] }

// bytes is the table's memory.
func (t *keyTable) bytes() int64 { return 4*int64(cap(t.slots)) + 8*int64(cap(t.keys)) }

// find returns key's id, or -1.
func (t *keyTable) find(key []uint64) int32 {
	mask := len(t.slots) - 1
	i := int(hashKey(key) >> t.shift)
	for {
		s := t.slots[i]
		if s == 0 {
			return -1
		}
		if t.equal(s-1, key) {
			return s - 1
		}
		i = (i + 1) & mask
	}
}

func (t *keyTable) equal(id int32, key []uint64) bool {
	if t.w == 1 {
		return t.keys[id] == key[0]
	}
	o := int(id) * t.w
	for j, x := range key {
		if t.keys[o+j] != x {
			return false
		}
	}
	return true
}

// ids finds or adds the keys in kb (w words each), writing their ids.
func (t *keyTable) ids(kb []uint64, ids []int32) {
	w := t.w
	for r := range ids {
		if 4*(t.n+1) > 3*len(t.slots) {
			t.grow()
		}
		key := kb[r*w : (r+1)*w]
		mask := len(t.slots) - 1
		i := int(hashKey(key) >> t.shift)
		for {
			s := t.slots[i]
			if s == 0 {
				if len(t.keys)+w > cap(t.keys) {
					// double: append's gentler growth of large slices
					// would copy the keys several times more
					t.keys = slices.Grow(t.keys, max(cap(t.keys), 16*w))
				}
				t.keys = append(t.keys, key...)
				t.n++
				t.slots[i] = int32(t.n)
				ids[r] = int32(t.n - 1)
				break
			}
			if t.equal(s-1, key) {
				ids[r] = s - 1
				break
			}
			i = (i + 1) & mask
		}
	}
}

func (t *keyTable) grow() {
	size := 2 * len(t.slots)
	t.slots = make([]int32, size)
	t.shift--
	mask := size - 1
	for id := range t.n {
		i := int(hashKey(t.key(int32(id))) >> t.shift)
		for t.slots[i] != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = int32(id + 1)
	}
}
