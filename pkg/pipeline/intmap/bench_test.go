package intmap

import (
	"testing"
	"time"

	"github.com/netlens/netlens/pkg/decode/intreport"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/records"
	"github.com/netlens/netlens/pkg/status"
)

// benchWorker is a worker writing into a real table whose clock follows the
// reports, capped at 64 MiB so long runs reach the steady state of
// eviction, and a sink that keeps the (few) series batches.
func benchWorker(b *testing.B) (*Worker, *int64, *records.Table) {
	now := new(int64)
	*now = t0
	table := records.NewTable(ReportTable, records.Options{MaxBytes: 64 << 20, Now: func() int64 { return *now }})
	m, err := New(table, &fakeSink{}, status.NewBoard(time.Now), Options{})
	if err != nil {
		b.Fatal(err)
	}
	return m.Worker(), now, table
}

// reportTable adds the rows per report and the bytes the table holds per
// row held (at the end of the run, with eviction going on in long runs).
func reportTable(b *testing.B, table *records.Table, reports int) {
	st := table.Stats()
	b.ReportMetric(float64(st.Rows+st.EvictedRows)/float64(reports), "rows/report")
	if st.Rows > 0 {
		b.ReportMetric(float64(st.Bytes)/float64(st.Rows), "B/row-held")
	}
}

// BenchmarkReportINT: sink reports with a 3-hop stack, 1024 flows, one
// report every 10 µs of report time, flushed every 256 reports as the
// receiver does after a drained batch.
func BenchmarkReportINT(b *testing.B) {
	w, now, table := benchWorker(b)
	var rs [1024]*intreport.Report
	for i := range rs {
		rs[i] = sinkReport(0xa, uint32(0xb+i%2), 0xc)
		rs[i].Inner.SrcPort = uint16(30000 + i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r := rs[i%len(rs)]
		r.Hops[0].IngressTS = uint32(i) * 7 // every packet's timing differs
		r.Hops[2].EgressTS = 23000 + uint32(i%997)
		ms := t0 + int64(i)/100
		w.Report(sw, r, ms)
		if i%256 == 255 {
			*now = ms
			w.Flush(ms)
		}
		i++
	}
	w.FlushAll(*now)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/report")
	reportTable(b, table, b.N)
}

// BenchmarkReportPostcards: 3 postcards per packet, joined into paths.
func BenchmarkReportPostcards(b *testing.B) {
	w, now, table := benchWorker(b)
	ids := [3]uint32{0xa, 0xb, 0xc}
	var rs [3]*intreport.Report
	devs := [3]model.DeviceRef{model0(ids[0]), model0(ids[1]), model0(ids[2])}
	for h := range rs {
		rs[h] = postcard(ids[h], uint8(64-h), 0, uint32(1000*h), uint32(1000*h+300), 10)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r := rs[i%3]
		r.Inner.IPID = uint16(i / 3)
		r.Inner.SrcPort = uint16(i / 3 % 1024)
		r.Header.IngressTS += 13
		ms := t0 + int64(i)/100
		w.Report(devs[i%3], r, ms)
		if i%256 == 255 {
			*now = ms
			w.Flush(ms)
		}
		i++
	}
	w.FlushAll(*now)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/report")
	reportTable(b, table, b.N)
}
