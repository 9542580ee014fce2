package wire

import (
	"testing"
)

const benchMsgs = 1000

// benchStream is benchMsgs PDT v2 frames of 50-leaf JSON messages, compressed
// as one sync-flushed stream or not.
func benchStream(b *testing.B, compressed bool) (stream []byte, frames [][]byte, plain int) {
	var r router
	for i := range benchMsgs {
		m := leaves50(i)
		plain += len(m)
		if compressed {
			z := r.compress(b, m)
			frames = append(frames, z)
			stream = append(stream, pdtV2(2, FlagZlib, z)...)
		} else {
			stream = append(stream, pdtV2(2, 0, m)...)
		}
	}
	return stream, frames, plain
}

// feedReads feeds the stream in reads of 16 KiB, as a socket would deliver it.
func feedReads(b *testing.B, feed func([]byte, func(Frame) error) error, stream []byte, emit func(Frame) error) {
	for rest := stream; len(rest) > 0; rest = rest[min(16<<10, len(rest)):] {
		if err := feed(rest[:min(16<<10, len(rest))], emit); err != nil {
			b.Fatal(err)
		}
	}
}

func reportMsgs(b *testing.B) {
	b.ReportMetric(float64(benchMsgs*b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func BenchmarkFramerPDTv2(b *testing.B) {
	stream, _, _ := benchStream(b, false)
	n := 0
	emit := func(Frame) error { n++; return nil }
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		var f Framer
		feedReads(b, f.Feed, stream, emit)
	}
	if n != benchMsgs*b.N {
		b.Fatalf("%d frames", n)
	}
	reportMsgs(b)
}

// One connection's worth of zlib-compressed 50-leaf messages through
// framing and inflating; bytes/s counts the inflated output.
func BenchmarkConnZlib50Leaves(b *testing.B) {
	stream, _, plain := benchStream(b, true)
	n := 0
	emit := func(Frame) error { n++; return nil }
	b.SetBytes(int64(plain))
	b.ReportAllocs()
	for b.Loop() {
		c := NewConn(0)
		feedReads(b, c.Feed, stream, emit)
		c.Close()
	}
	if n != benchMsgs*b.N {
		b.Fatalf("%d frames", n)
	}
	reportMsgs(b)
}

// Inflating alone, on a long-lived stream (no per-connection setup).
func BenchmarkInflate50Leaves(b *testing.B) {
	_, frames, plain := benchStream(b, true)
	var z Inflater
	defer z.Close()
	b.SetBytes(int64(plain))
	b.ReportAllocs()
	for b.Loop() {
		z.Reset()
		for _, p := range frames {
			if _, err := z.Inflate(p); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportMsgs(b)
}

func BenchmarkSniff(b *testing.B) {
	d := mdt(1, 2, 0, leaves50(1))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Sniff(d, 0); err != nil {
			b.Fatal(err)
		}
	}
}
