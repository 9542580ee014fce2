package query

import (
	"context"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/netlens/netlens/pkg/records"
)

// liveTable is a small flow table (time, exporter, bytes): enough to
// follow rows through a live stream.
type liveTable struct {
	*records.Table
	app             *records.Appender
	exporter, bytes records.Col
}

func newLiveTable(t *testing.T) *liveTable {
	t.Helper()
	tab := records.NewTable("ipfix_flow", records.Options{})
	lt := &liveTable{Table: tab, app: tab.NewAppender()}
	var err error
	if lt.exporter, err = tab.Column("exporter", records.String); err != nil {
		t.Fatal(err)
	}
	if lt.bytes, err = tab.Column("bytes", records.Uint); err != nil {
		t.Fatal(err)
	}
	return lt
}

func (lt *liveTable) add(ms int64, exporter string, bytes uint64) {
	lt.app.Begin(ms)
	lt.app.String(lt.exporter, []byte(exporter))
	lt.app.Uint(lt.bytes, bytes)
	lt.app.Commit()
	lt.app.Flush()
}

// A raw stream pushes each row once: rows already there when it starts
// were in the subscriber's history, and a row from a slow exporter that
// arrives behind newer ones is still pushed (within the lateness window).
func TestRecordsCursorPushesEachRowOnce(t *testing.T) {
	lt := newLiveTable(t)
	now := time.Now().UnixMilli()
	lt.add(now-5000, "a", 1)
	q := Query{Kind: KindRecords, Columns: []string{"time", "exporter", "bytes"}, Live: true}
	frame, lq, err := LiveRecordsHistory(context.Background(), lt, q,
		backend.TimeRange{From: time.UnixMilli(now - 60_000), To: time.UnixMilli(now)}, time.Second, 1000, nil, now)
	if err != nil || frame.Rows() != 1 {
		t.Fatalf("history: %v rows, %v", frame.Rows(), err)
	}
	cur, err := NewRecordsCursor(context.Background(), lt, lq, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := cur.Next(context.Background(), lt, now); f != nil {
		t.Fatalf("the history's row was pushed again: %d rows", f.Rows())
	}
	lt.add(now+1000, "a", 2)
	f, err := cur.Next(context.Background(), lt, now+1100)
	if err != nil || f == nil || f.Rows() != 1 {
		t.Fatalf("new row: %v %v", f, err)
	}
	lt.add(now-2000, "slow", 3) // behind the newest pushed row
	f, _ = cur.Next(context.Background(), lt, now+1200)
	if f == nil || f.Rows() != 1 || f.Fields[1].At(0) != "slow" {
		t.Fatalf("late row: %v", f)
	}
	if f, _ := cur.Next(context.Background(), lt, now+1300); f != nil {
		t.Fatalf("nothing new, yet %d rows pushed", f.Rows())
	}
}

// A bucketed stream pushes each bucket once it is complete, as one wide
// row per bucket, and never the bucket still filling.
func TestRecordsCursorPushesCompleteBuckets(t *testing.T) {
	lt := newLiveTable(t)
	t0 := time.Now().Truncate(10 * time.Second).UnixMilli()
	q := Query{Kind: KindRecords, GroupBy: []string{"exporter"}, Aggregates: []RecordAggregate{{Func: "sum", Field: "bytes"}}, Bucket: "10s", Live: true}
	_, lq, err := LiveRecordsHistory(context.Background(), lt, q,
		backend.TimeRange{From: time.UnixMilli(t0 - 60_000), To: time.UnixMilli(t0)}, time.Second, 1000, nil, t0+RecordsLiveGrace.Milliseconds())
	if err != nil || lq.BucketMs != 10_000 {
		t.Fatalf("history: %+v %v", lq, err)
	}
	cur, err := NewRecordsCursor(context.Background(), lt, lq, nil, t0+RecordsLiveGrace.Milliseconds())
	if err != nil {
		t.Fatal(err)
	}
	lt.add(t0+1000, "a", 5)
	lt.add(t0+9000, "a", 7)
	lt.add(t0+12000, "a", 100) // the next bucket
	if f, _ := cur.Next(context.Background(), lt, t0+10_000); f != nil {
		t.Fatal("a bucket was pushed before its grace ran out")
	}
	f, err := cur.Next(context.Background(), lt, t0+10_000+RecordsLiveGrace.Milliseconds())
	if err != nil || f == nil || f.Rows() != 1 || len(f.Fields) != 2 {
		t.Fatalf("complete bucket: %v %v", f, err)
	}
	if v := f.Fields[1].At(0).(*float64); *v != 12 || f.Fields[0].At(0).(time.Time).UnixMilli() != t0 {
		t.Fatalf("bucket %v = %v, want 12 at %d", f.Fields[0].At(0), *v, t0)
	}
	if f, _ := cur.Next(context.Background(), lt, t0+10_000+RecordsLiveGrace.Milliseconds()+100); f != nil {
		t.Fatal("the same bucket was pushed twice")
	}
}
