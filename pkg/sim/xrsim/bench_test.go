package xrsim

import (
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// One GenericCounters message of 2 interfaces (42 leaves) in each encoding.
func BenchmarkEncode(b *testing.B) {
	pdt := collection(&testing.T{}, "counters", GenPDT, 2)
	mdt := collection(&testing.T{}, "counters", GenMDT, 2)
	var buf []byte
	var comp Compressor
	cases := []struct {
		name string
		enc  func() ([]byte, error)
	}{
		{"pdt-json", func() ([]byte, error) { return AppendPDTJSON(buf[:0], pdt, JSON601) }},
		{"pdt-json-zlib", func() ([]byte, error) {
			b, err := AppendPDTJSON(buf[:0], pdt, JSON601)
			return comp.Compress(b), err
		}},
		{"pdt-gpbkv", func() ([]byte, error) { return AppendPDTKV(buf[:0], pdt) }},
		{"pdt-compact", func() ([]byte, error) {
			m, _, err := CompactMessages(pdt, 0)
			return m[0], err
		}},
		{"mdt-gpbkv", func() ([]byte, error) { return AppendMDTKV(buf[:0], mdt) }},
		{"mdt-json", func() ([]byte, error) { return AppendMDTJSON(buf[:0], mdt) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			comp.Reset()
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				out, err := c.enc()
				if err != nil {
					b.Fatal(err)
				}
				n = len(out)
			}
			b.ReportMetric(float64(n), "bytes/msg")
		})
	}
}

// A router flooding a loopback receiver that discards: how many messages
// a second the simulator can drive a collector with.
func BenchmarkFloodTCP(b *testing.B) {
	for _, c := range []struct {
		name string
		cfg  Config
	}{
		{"pdt-json-zlib", Config{Zlib: true, ResetEvery: 1000}},
		{"pdt-gpbkv", Config{Encoding: EncGPBKV}},
		{"mdt-gpbkv", Config{Generation: GenMDT, Encoding: EncGPBKV}},
	} {
		b.Run(c.name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			go func() {
				for {
					conn, err := ln.Accept()
					if err != nil {
						return
					}
					go io.Copy(io.Discard, conn)
				}
			}()
			cfg := c.cfg
			cfg.Name, cfg.Target, cfg.Flood, cfg.Interfaces, cfg.Count = "bench", ln.Addr().String(), true, 2, uint64(b.N)
			r, err := New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			b.ReportAllocs()
			b.ResetTimer()
			r.Run(ctx)
			b.StopTimer()
			t := r.Totals()
			b.ReportMetric(float64(t.Messages)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(float64(t.Leaves)/float64(t.Messages), "leaves/msg")
		})
	}
}
