package query

import (
	"encoding/binary"
	"math"
	"slices"
)

// decodeXOR appends every sample of a Prometheus XOR (Gorilla) chunk to ts
// and vs. Decoding samples is the largest part of the fast path's cost; this
// decoder keeps 64 bits of the stream in a register and decodes a chunk in
// one call instead of through an interface call per sample. ok is false
// when the bytes end early or are malformed; the caller then reads the
// chunk through chunkenc, which reports the error. pad is scratch space
// kept between calls.
//
// The format, as Prometheus writes it (tsdb/chunkenc/xor.go):
//   - 2 bytes, big endian: the number of samples;
//   - sample 0: timestamp as a signed varint, value as its 64 bits;
//   - sample 1: timestamp delta as an unsigned varint, value XOR-coded;
//   - later samples: delta of deltas in a prefix code ('0': 0; '10': 14
//     bits; '110': 17 bits; '1110': 20 bits; '1111': 64 bits, the shorter
//     ones two's complement), then the value XOR-coded.
//
// A value XOR-codes against the previous value: '0' when equal; '10' and
// the meaningful bits when they fit the previous leading/trailing zero
// window; '11', 5 bits of leading zeros, 6 bits of meaningful-bit count
// (0 meaning 64) and the meaningful bits otherwise.
func decodeXOR(b []byte, ts []int64, vs []float64, pad *[]byte) ([]int64, []float64, bool) {
	if len(b) < 2 {
		return ts, vs, false
	}
	n := int(binary.BigEndian.Uint16(b))
	if n == 0 {
		return ts, vs, true
	}
	// Zero padding lets every read skip its end-of-stream check: a sample
	// takes at most 145 bits, which four refills of up to 8 bytes cover,
	// and whether the reads stayed inside b is checked once at the end.
	var local []byte
	if pad == nil {
		pad = &local
	}
	*pad = append(append((*pad)[:0], b[2:]...), make([]byte, xorPadding)...)
	r := bitReader{src: *pad}

	t, ok := r.varint()
	if !ok {
		return ts, vs, false
	}
	r.refill()
	bits := r.take(32) << 32
	r.refill()
	bits |= r.take(32)
	ts = append(ts, t)
	vs = append(vs, math.Float64frombits(bits))
	if n == 1 {
		return ts, vs, r.within(len(b) - 2)
	}
	ud, ok := r.uvarint()
	if !ok {
		return ts, vs, false
	}
	delta := int64(ud)
	t += delta
	var leading, trailing uint
	if bits, leading, trailing, ok = r.xorValue(bits, leading, trailing); !ok {
		return ts, vs, false
	}
	ts = append(ts, t)
	vs = append(vs, math.Float64frombits(bits))
	// The loop works on a copy of the reader that only inlined methods
	// touch, so the compiler can keep it in registers.
	q := r
	ts, vs = slices.Grow(ts, n-2), slices.Grow(vs, n-2)
	for i := 2; i < n; i++ {
		if len(q.src) < xorPadding-8 {
			return ts, vs, false // read past the chunk's end: malformed
		}
		q.refill()
		switch {
		case q.take(1) == 0:
		case q.take(1) == 0:
			delta += signed(q.take(14), 14)
		case q.take(1) == 0:
			delta += signed(q.take(17), 17)
		case q.take(1) == 0:
			delta += signed(q.take(20), 20)
		default:
			hi := q.take(32)
			q.refill()
			delta += int64(hi<<32 | q.take(32))
		}
		t += delta
		// The value, as xorValue reads it, written out here because a
		// call per sample costs as much as the decoding.
		q.refill()
		if q.take(1) == 1 {
			if q.take(1) == 1 {
				lead := uint(q.take(5))
				sig := uint(q.take(6))
				if sig == 0 {
					sig = 64
				}
				if lead+sig > 64 {
					return ts, vs, false
				}
				leading, trailing = lead, 64-lead-sig
			}
			sig := 64 - leading - trailing
			var v uint64
			if sig > 44 {
				v = q.take(sig-32) << 32
				q.refill()
				v |= q.take(32)
			} else {
				v = q.take(sig)
			}
			bits ^= v << trailing
		}
		ts = append(ts, t)
		vs = append(vs, math.Float64frombits(bits))
	}
	return ts, vs, q.within(len(b) - 2)
}

// xorPadding is the zero bytes appended to a chunk before decoding.
const xorPadding = 40

// signed reads a two's complement number of size bits, as the XOR chunk
// writes delta of deltas: its range is -(2^(size-1)-1) to 2^(size-1).
func signed(v uint64, size uint) int64 {
	if v > 1<<(size-1) {
		v -= 1 << size
	}
	return int64(v)
}

// bitReader reads a big-endian bit stream from a zero-padded buffer.
type bitReader struct {
	src  []byte // bytes not yet loaded into buf
	buf  uint64 // the next bits, left-aligned
	n    uint   // how many bits of buf are valid
	read int    // bytes loaded from src so far
}

// refill tops buf up to at least 57 valid bits. The caller makes sure src
// holds 8 more bytes.
func (r *bitReader) refill() {
	if r.n < 57 {
		w := binary.BigEndian.Uint64(r.src)
		r.buf |= w >> r.n
		k := (64 - r.n) >> 3
		r.src = r.src[k:]
		r.read += int(k)
		r.n += k << 3
	}
}

// take returns the next k bits, 1 <= k <= r.n.
func (r *bitReader) take(k uint) uint64 {
	v := r.buf >> (64 - k)
	r.buf <<= k
	r.n -= k
	return v
}

// within reports whether every bit taken lay in the first size bytes.
func (r *bitReader) within(size int) bool {
	return r.read*8-int(r.n) <= size*8
}

func (r *bitReader) uvarint() (uint64, bool) {
	var x uint64
	for shift := uint(0); shift < 70; shift += 7 {
		r.refill()
		c := r.take(8)
		x |= (c & 0x7f) << shift
		if c < 0x80 {
			return x, true
		}
	}
	return 0, false // longer than any uint64
}

func (r *bitReader) varint() (int64, bool) {
	ux, ok := r.uvarint()
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x, ok
}

// xorValue decodes one XOR-coded value against prev. ok is false for a
// malformed window.
func (r *bitReader) xorValue(prev uint64, leading, trailing uint) (uint64, uint, uint, bool) {
	r.refill()
	if r.take(1) == 0 {
		return prev, leading, trailing, true
	}
	if r.take(1) == 1 {
		lead := uint(r.take(5))
		sig := uint(r.take(6))
		if sig == 0 {
			sig = 64
		}
		if lead+sig > 64 {
			return prev, leading, trailing, false
		}
		leading, trailing = lead, 64-lead-sig
	}
	sig := 64 - leading - trailing
	var v uint64
	if sig > 44 { // more than the 57 - 13 bits certainly buffered
		v = r.take(sig-32) << 32
		r.refill()
		v |= r.take(32)
	} else {
		v = r.take(sig)
	}
	return prev ^ v<<trailing, leading, trailing, true
}
