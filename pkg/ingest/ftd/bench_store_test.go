package ftd

import (
	"encoding/binary"
	"runtime"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/netlens/netlens/pkg/live"
	"github.com/netlens/netlens/pkg/pipeline"
	"github.com/netlens/netlens/pkg/status"
	"github.com/netlens/netlens/pkg/store"
)

// BenchmarkIngestToStore is BenchmarkIngest with the real pipeline behind
// the receiver: every batch is converted, appended to the TSDB (WAL
// included) and announced to the live hub before it is acknowledged. Each
// batch carries new timestamps (rewritten in place in the pre-encoded
// bytes), so the store does real appends rather than ignoring duplicates.
//
//	go test -run '^$' -bench IngestToStore -benchmem -cpu 1 ./pkg/ingest/ftd
func BenchmarkIngestToStore(b *testing.B) {
	st, err := store.Open(store.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	board := status.NewBoard(nil)
	e := newEnvWithSink(b, nil, nil, pipeline.New(st, live.NewHub(), board))
	d := e.benchDevice(b, "7eb19498-2519-11ef-a8dd-b74b4d43a7e7")
	offsets := timestampOffsets(b, d.payload.b)
	if len(offsets) != d.metrics {
		b.Fatalf("found %d timestamps in a batch of %d metrics", len(offsets), d.metrics)
	}
	// Start well after the warm-up batch and step 10 s per batch: the
	// varints keep their length for far longer than any run.
	ts := time.Now().Add(time.Minute).UnixMilli()
	sent := 0
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	for b.Loop() {
		ts += 10_000
		for _, off := range offsets {
			putVarint6(d.payload.b[off:], uint64(ts))
		}
		d.roundTrip(b)
		sent++
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(sent*d.metrics)/elapsed.Seconds(), "metrics/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(sent*d.metrics), "allocs/metric")
	stats := st.Stats()
	if stats.Rejected.Total() != 0 {
		b.Fatalf("store rejected %d samples: %+v", stats.Rejected.Total(), stats.Rejected)
	}
	if want := uint64((sent + 1) * d.metrics); stats.SamplesAppended != want {
		b.Fatalf("store appended %d samples, want %d", stats.SamplesAppended, want)
	}
}

// timestampOffsets finds the byte offset of every Metric.timestamp varint
// in an encoded DataResponse (field 2 holds the metrics, field 1 of each
// is its timestamp), checking each is 6 bytes long.
func timestampOffsets(b *testing.B, raw []byte) []int {
	b.Helper()
	var out []int
	for pos := 0; pos < len(raw); {
		num, typ, n := protowire.ConsumeTag(raw[pos:])
		if n < 0 {
			b.Fatal("bad tag")
		}
		pos += n
		if num != 2 || typ != protowire.BytesType {
			m := protowire.ConsumeFieldValue(num, typ, raw[pos:])
			if m < 0 {
				b.Fatal("bad field")
			}
			pos += m
			continue
		}
		msg, m := protowire.ConsumeBytes(raw[pos:])
		if m < 0 {
			b.Fatal("bad metric")
		}
		base := pos + m - len(msg)
		for p := 0; p < len(msg); {
			fnum, ftyp, k := protowire.ConsumeTag(msg[p:])
			p += k
			if fnum == 1 && ftyp == protowire.VarintType {
				_, vl := protowire.ConsumeVarint(msg[p:])
				if vl != 6 {
					b.Fatalf("timestamp varint is %d bytes, want 6", vl)
				}
				out = append(out, base+p)
			}
			p += protowire.ConsumeFieldValue(fnum, ftyp, msg[p:])
		}
		pos += m
	}
	return out
}

// putVarint6 writes v as a varint padded to exactly six bytes.
func putVarint6(dst []byte, v uint64) {
	var tmp [binary.MaxVarintLen64]byte
	n := binary.PutUvarint(tmp[:], v)
	if n != 6 {
		panic("timestamp does not fit a 6-byte varint")
	}
	copy(dst, tmp[:6])
}
