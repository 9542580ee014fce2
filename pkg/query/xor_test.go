package query

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// xorChunk encodes samples the way the TSDB does.
func xorChunk(t testing.TB, ts []int64, vs []float64) *chunkenc.XORChunk {
	t.Helper()
	c := chunkenc.NewXORChunk()
	app, err := c.Appender()
	if err != nil {
		t.Fatal(err)
	}
	for i := range ts {
		app.Append(0, ts[i], vs[i])
	}
	return c
}

// checkDecode decodes c with decodeXOR and with chunkenc's iterator and
// fails on any difference, bit for bit.
func checkDecode(t testing.TB, c chunkenc.Chunk) {
	t.Helper()
	gotT, gotV, ok := decodeXOR(c.Bytes(), nil, nil, nil)
	if !ok {
		t.Fatalf("decodeXOR refused a chunk chunkenc wrote (%d bytes)", len(c.Bytes()))
	}
	it := c.Iterator(nil)
	i := 0
	for it.Next() == chunkenc.ValFloat {
		wt, wv := it.At()
		if i >= len(gotT) {
			t.Fatalf("decodeXOR found %d samples, chunkenc more", len(gotT))
		}
		if gotT[i] != wt || math.Float64bits(gotV[i]) != math.Float64bits(wv) {
			t.Fatalf("sample %d: %v@%d, chunkenc has %v@%d", i, gotV[i], gotT[i], wv, wt)
		}
		i++
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if i != len(gotT) {
		t.Fatalf("decodeXOR found %d samples, chunkenc %d", len(gotT), i)
	}
}

func TestDecodeXORRoundTrip(t *testing.T) {
	for name, tc := range map[string]struct {
		ts []int64
		vs []float64
	}{
		"empty":  {},
		"one":    {[]int64{-5}, []float64{math.Pi}},
		"two":    {[]int64{1000, 2000}, []float64{1, 1}},
		"steady": {[]int64{0, 10_000, 20_000, 30_000, 40_000}, []float64{0, 100, 200, 300, 400}},
		// Each delta-of-delta width: 0, 14, 17, 20 and 64 bits, both signs.
		"dod widths": {
			[]int64{0, 10, 20, 8_000, 9_000, 80_000, 90_000, 600_000, 610_000, 1 << 40, 1<<40 + 1, 1<<40 + 2},
			[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
		},
		"values": {
			[]int64{1, 2, 3, 4, 5, 6, 7, 8},
			[]float64{0, math.MaxFloat64, -0.0, math.SmallestNonzeroFloat64, math.Inf(1), math.NaN(), -1e300, 0},
		},
	} {
		t.Run(name, func(t *testing.T) { checkDecode(t, xorChunk(t, tc.ts, tc.vs)) })
	}
}

func TestDecodeXORRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for range 2000 {
		n := r.IntN(200)
		ts := make([]int64, n)
		vs := make([]float64, n)
		cur := r.Int64N(1<<50) - 1<<49
		v := 0.0
		for i := range n {
			ts[i] = cur
			switch r.IntN(4) {
			case 0:
				cur += 1 + r.Int64N(100)
			case 1:
				cur += 10_000
			case 2:
				cur += 1 + r.Int64N(1<<35)
			default:
				cur += 1 + r.Int64N(60_000)
			}
			switch r.IntN(5) {
			case 0: // unchanged
			case 1:
				v = math.Float64frombits(r.Uint64())
			case 2:
				v += float64(r.IntN(1000))
			case 3:
				v = float64(r.Int64N(1 << 53))
			default:
				v *= -1.5
			}
			vs[i] = v
		}
		checkDecode(t, xorChunk(t, ts, vs))
	}
}

// FuzzDecodeXOR feeds the decoder arbitrary bytes (it must not panic or
// run past them) and, read as samples, checks it against chunkenc.
func FuzzDecodeXOR(f *testing.F) {
	f.Add([]byte{0, 2, 0x80, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0x14})
	f.Add(xorChunk(f, []int64{0, 10, 20, 8_000}, []float64{1, 2, 2, -7}).Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<16 {
			return
		}
		ts, _, ok := decodeXOR(b, nil, nil, nil)
		if len(b) >= 2 && ok && len(ts) != int(b[0])<<8|int(b[1]) {
			t.Fatalf("decoded %d samples, header says %d", len(ts), int(b[0])<<8|int(b[1]))
		}
		// The same bytes as samples: 12 bytes each.
		var sts []int64
		var svs []float64
		last := int64(math.MinInt64)
		for i := 0; i+12 <= len(b) && len(sts) < 1000; i += 12 {
			d := int64(b[i])<<24 | int64(b[i+1])<<16 | int64(b[i+2])<<8 | int64(b[i+3])
			tt := last + 1 + d
			if last == math.MinInt64 {
				tt = d - 1<<31
			}
			last = tt
			sts = append(sts, tt)
			var bits uint64
			for _, c := range b[i+4 : i+12] {
				bits = bits<<8 | uint64(c)
			}
			svs = append(svs, math.Float64frombits(bits))
		}
		checkDecode(t, xorChunk(t, sts, svs))
	})
}

// BenchmarkDecodeXOR compares decodeXOR with chunkenc's iterator on a
// chunk of 120 counter samples 10 s apart, the benchmark data's shape.
func BenchmarkDecodeXOR(b *testing.B) {
	ts := make([]int64, 120)
	vs := make([]float64, 120)
	for i := range ts {
		ts[i] = t0.UnixMilli() + int64(i)*10_000
		vs[i] = float64(i * 3000)
	}
	c := xorChunk(b, ts, vs)
	b.Run("decodeXOR", func(b *testing.B) {
		var dt []int64
		var dv []float64
		var pad []byte
		for b.Loop() {
			dt, dv, _ = decodeXOR(c.Bytes(), dt[:0], dv[:0], &pad)
		}
	})
	b.Run("chunkenc", func(b *testing.B) {
		var it chunkenc.Iterator
		var dt []int64
		var dv []float64
		for b.Loop() {
			dt, dv = dt[:0], dv[:0]
			it = c.Iterator(it)
			for it.Next() == chunkenc.ValFloat {
				t, v := it.At()
				dt = append(dt, t)
				dv = append(dv, v)
			}
		}
	})
}
