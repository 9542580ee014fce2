package records

import (
	"encoding/binary"
	"math"
)

// Every column value is held as a 64-bit "raw" word whose meaning depends on
// the column type: Uint as is; Int and Time with the sign bit flipped, so the
// unsigned order of raw words is the signed order of values (min, max and
// frame-of-reference packing work on raw words for every integer type);
// Float as its IEEE bits; Bool as 0 or 1; String and Addr as a code into the
// partition's dictionary.
const signFlip = 1 << 63

func rawInt(v int64) uint64 { return uint64(v) ^ signFlip }
func intRaw(r uint64) int64 { return int64(r ^ signFlip) }

func rawFloat(v float64) uint64 { return math.Float64bits(v) }
func floatRaw(r uint64) float64 { return math.Float64frombits(r) }

// chunkRows is the number of rows of a sealed chunk. A partition's rows are
// cut into chunks of this size; the last one stays an open []uint64 while the
// partition takes rows, and is packed when full or when the partition cools.
// A variable only so that tests can shrink chunks and cross chunk
// boundaries with a few hundred rows.
var chunkRows = 4096

// packed is a sealed chunk of one column: frame of reference (every value
// minus the chunk's minimum) in the narrowest width that holds the chunk's
// spread, 0 bytes when all values are equal. Dictionary codes, ports,
// counters and times inside one partition all pack to 0-4 bytes a value.
type packed struct {
	n       int32
	width   uint8 // bytes per value: 0, 1, 2, 4 or 8
	allNull bool
	base    uint64 // smallest non-null raw value
	max     uint64 // largest non-null raw value
	data    []byte
	nulls   []uint64 // bit i set: row i is null; nil when no row is
}

const packedOverhead = 80 // the struct and its pointer in the chunk list

func (p *packed) bytes() int64 {
	return packedOverhead + int64(cap(p.data)) + 8*int64(cap(p.nulls))
}

func widthFor(spread uint64) uint8 {
	switch {
	case spread == 0:
		return 0
	case spread <= math.MaxUint8:
		return 1
	case spread <= math.MaxUint16:
		return 2
	case spread <= math.MaxUint32:
		return 4
	}
	return 8
}

// pack seals vals; nulls (nil or one byte a row, non-zero = null) marks
// null rows, whose raw values are ignored.
func pack(vals []uint64, nulls []uint8) *packed {
	p := &packed{n: int32(len(vals))}
	lo, hi := uint64(math.MaxUint64), uint64(0)
	nonNull := len(vals)
	if nulls == nil {
		for _, v := range vals {
			lo, hi = min(lo, v), max(hi, v)
		}
	} else {
		nonNull = 0
		for i, v := range vals {
			if nulls[i] != 0 {
				continue
			}
			nonNull++
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if nonNull == 0 {
		p.allNull = true
		return p
	}
	p.base, p.max = lo, hi
	if nonNull < len(vals) {
		p.nulls = make([]uint64, (len(vals)+63)/64)
		for i := range vals {
			if nulls[i] != 0 {
				p.nulls[i>>6] |= 1 << (i & 63)
			}
		}
	}
	p.width = widthFor(hi - lo)
	if p.width == 0 {
		return p
	}
	// One loop per width, without a branch per value: null rows are
	// written as lo (0 after the subtraction) by a pass of their own.
	p.data = make([]byte, len(vals)*int(p.width))
	switch p.width {
	case 1:
		d := p.data[:len(vals)]
		for i, v := range vals {
			d[i] = byte(v - lo)
		}
	case 2:
		d := p.data[:2*len(vals)]
		for i, v := range vals {
			binary.LittleEndian.PutUint16(d[2*i:], uint16(v-lo))
		}
	case 4:
		d := p.data[:4*len(vals)]
		for i, v := range vals {
			binary.LittleEndian.PutUint32(d[4*i:], uint32(v-lo))
		}
	default:
		d := p.data[:8*len(vals)]
		for i, v := range vals {
			binary.LittleEndian.PutUint64(d[8*i:], v-lo)
		}
	}
	if p.nulls != nil {
		w := int(p.width)
		for i := range vals {
			if p.nulls[i>>6]&(1<<(i&63)) != 0 {
				clear(p.data[w*i : w*i+w])
			}
		}
	}
	return p
}

// decode writes the chunk's raw values into dst (len ≥ n) and returns
// dst[:n]; null rows hold base.
func (p *packed) decode(dst []uint64) []uint64 {
	n := int(p.n)
	dst = dst[:n]
	b := p.base
	switch p.width {
	case 0:
		for i := range dst {
			dst[i] = b
		}
	case 1:
		for i, d := range p.data[:n] {
			dst[i] = b + uint64(d)
		}
	case 2:
		d := p.data[:2*n]
		for i := range dst {
			dst[i] = b + uint64(binary.LittleEndian.Uint16(d[2*i:]))
		}
	case 4:
		d := p.data[:4*n]
		for i := range dst {
			dst[i] = b + uint64(binary.LittleEndian.Uint32(d[4*i:]))
		}
	default:
		d := p.data[:8*n]
		for i := range dst {
			dst[i] = b + binary.LittleEndian.Uint64(d[8*i:])
		}
	}
	return dst
}

// unpack turns a sealed chunk back into an open one (a late row reopened its
// partition).
func (p *packed) unpack() (vals []uint64, nulls []uint8) {
	vals = p.decode(make([]uint64, p.n, max(int(p.n)*2, 64)))
	if p.allNull || p.nulls != nil {
		nulls = make([]uint8, p.n, cap(vals))
		for i := range nulls {
			if p.allNull || p.nulls[i>>6]&(1<<(i&63)) != 0 {
				nulls[i] = 1
			}
		}
	}
	return vals, nulls
}

// view is one chunk of one column as a query reads it.
type view struct {
	vals    []uint64
	nulls   []uint64 // bitmap, nil when no row is null
	allNull bool
}

func (v *view) null(i int32) bool {
	return v.allNull || (v.nulls != nil && v.nulls[i>>6]&(1<<(uint(i)&63)) != 0)
}

// bitmapOf converts an open chunk's null bytes into a bitmap in dst.
func bitmapOf(nulls []uint8, dst []uint64) []uint64 {
	dst = dst[:(len(nulls)+63)/64]
	clear(dst)
	for i, n := range nulls {
		if n != 0 {
			dst[i>>6] |= 1 << (i & 63)
		}
	}
	return dst
}
