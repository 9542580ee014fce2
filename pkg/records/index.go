package records

import (
	"bytes"
	"hash/maphash"
)

// strSeed is the process's seed of string hashes; indexes live only in
// memory, so any seed will do.
var strSeed = maphash.MakeSeed()

func strHash(b []byte) uint32 { return uint32(maphash.Bytes(strSeed, b)) }

// strIndex maps the values of one String column of a hot partition to
// their dictionary codes. The values stay in the column's arena; the index
// is one slice of words, each a value's 32-bit hash (high half) and its
// code + 1 (low half, 0: empty slot), probed linearly and kept at most half
// full. An entry costs 8–16 bytes instead of a Go map entry and a copy of
// the string as its key, which for a nearly unique column (INT hop lists)
// was most of a row's memory and time.
type strIndex struct {
	slots []uint64
	n     int
}

func (x *strIndex) bytes() int64 { return 8 * int64(cap(x.slots)) }

// find returns the code of b, whose hash is h, looking its candidates up in
// c's arena.
func (x *strIndex) find(c *pcol, b []byte, h uint32) (uint32, bool) {
	if len(x.slots) == 0 {
		return 0, false
	}
	mask := uint32(len(x.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return 0, false
		}
		if uint32(s>>32) == h {
			code := uint32(s) - 1
			if bytes.Equal(c.strAt(code), b) {
				return code, true
			}
		}
	}
}

// insert adds code (not present) with hash h.
func (x *strIndex) insert(h, code uint32) {
	if 2*(x.n+1) > len(x.slots) {
		x.grow(max(64, 2*len(x.slots)))
	}
	x.place(uint64(h)<<32 | uint64(code+1))
	x.n++
}

func (x *strIndex) place(s uint64) {
	mask := uint32(len(x.slots) - 1)
	i := uint32(s>>32) & mask
	for x.slots[i] != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = s
}

func (x *strIndex) grow(n int) {
	old := x.slots
	x.slots = make([]uint64, n)
	for _, s := range old {
		if s != 0 {
			x.place(s)
		}
	}
}

// addrSeed randomizes addrHash per process, so that exporters cannot
// choose addresses whose hashes collide.
var addrSeed = maphash.Bytes(strSeed, []byte("addr")) | 1

func addrHash(k addrKey) uint32 {
	x := (k.hi ^ addrSeed) * 0x9e3779b97f4a7c15
	x = (x ^ k.lo ^ x>>29) * 0xbf58476d1ce4e5b9
	return uint32(x ^ x>>32)
}

// addrIndex maps the addresses of one Addr column of a hot partition to
// their dictionary codes: open addressing over code + 1 (0: empty), at
// most half full, the keys read back from the column's dictionary.
type addrIndex struct {
	slots []uint32
	n     int
}

func (x *addrIndex) bytes() int64 { return 4 * int64(cap(x.slots)) }

func (x *addrIndex) find(addrs []addrKey, k addrKey, h uint32) (uint32, bool) {
	if len(x.slots) == 0 {
		return 0, false
	}
	mask := uint32(len(x.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return 0, false
		}
		if addrs[s-1] == k {
			return s - 1, true
		}
	}
}

// insert adds code (not present), whose address is addrs[code].
func (x *addrIndex) insert(addrs []addrKey, code uint32) {
	if 2*(x.n+1) > len(x.slots) {
		old := x.slots
		x.slots = make([]uint32, max(64, 2*len(old)))
		for _, s := range old {
			if s != 0 {
				x.place(addrs, s)
			}
		}
	}
	x.place(addrs, code+1)
	x.n++
}

func (x *addrIndex) place(addrs []addrKey, s uint32) {
	mask := uint32(len(x.slots) - 1)
	i := addrHash(addrs[s-1]) & mask
	for x.slots[i] != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = s
}
