package query

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/pkg/records"
)

// Live records. Grafana's streaming buffer appends every pushed row to the
// frame QueryData returned, so the history and the pushes share one shape
// and never overlap:
//   - raw rows: one table frame, oldest first (the buffer appends at the
//     end and drops from the start); pushes carry the rows that arrived
//     since, found by time with a lateness window and deduplicated, since
//     flows from different exporters arrive out of time order;
//   - time buckets: one timeseries-wide frame (a time field, then one field
//     per group and aggregate, sorted by name and labels) holding complete
//     buckets only; each push is the buckets completed since. A bucket is
//     complete RecordsLiveGrace after its end, which gives exporters' late
//     flows that long to arrive; later ones show on the next refresh.
// Aggregates over the whole range have no sensible append form and are not
// live: they answer as usual, with a notice.

// Live records limits.
const (
	// RecordsLiveGrace is how long after its end a bucket is pushed.
	RecordsLiveGrace = 2 * time.Second
	// RecordsLiveLateness is how far behind the newest pushed row a raw row
	// may arrive and still be pushed.
	RecordsLiveLateness = 30 * time.Second
	// maxSeenRows bounds the fingerprints a raw stream keeps to recognise
	// rows it pushed; past it the oldest are forgotten (and a late row may
	// then be pushed twice, never lost).
	maxSeenRows = 200_000
)

// RecordsLiveable reports whether a records query can stream.
func RecordsLiveable(q Query) bool {
	return q.Kind == KindRecords && !IsRecordValues(q) && (len(q.Aggregates) == 0 || (q.Bucket != "" && len(q.Aggregates) > 0))
}

// LiveRecordsHistory answers a live records query: its history as one
// frame of the shape pushes append to, and what a stream needs to go on.
// nowMs is the current time (a parameter so tests control it).
func LiveRecordsHistory(ctx context.Context, t RecordTable, q Query, tr backend.TimeRange, interval time.Duration, maxDataPoints int64, known func(string) bool, nowMs int64) (*data.Frame, LiveQuery, error) {
	if !RecordsLiveable(q) {
		return nil, LiveQuery{}, fmt.Errorf("query %s: only raw rows and time buckets stream live", q.RefID)
	}
	p, err := PlanRecords(q, tr, interval, maxDataPoints, known)
	if err != nil {
		return nil, LiveQuery{}, err
	}
	lq := LiveQuery{Query: q}
	var frame *data.Frame
	if p.Bucketed() {
		lq.BucketMs = p.Query.BucketMs
		complete := completeBefore(nowMs, p.Query.BucketMs)
		if p.Query.ToMs == 0 || p.Query.ToMs >= complete {
			p.Query.ToMs = complete - 1
		}
		if p.Query.ToMs < p.Query.FromMs {
			p.Query.FromMs = p.Query.ToMs
		}
		res, err := queryOrEmpty(ctx, t, p)
		if err != nil {
			return nil, LiveQuery{}, fmt.Errorf("query %s: %w", q.RefID, err)
		}
		frame, err = p.wideFrame(res)
		if err != nil {
			return nil, LiveQuery{}, err
		}
	} else {
		res, err := queryOrEmpty(ctx, t, p)
		if err != nil {
			return nil, LiveQuery{}, fmt.Errorf("query %s: %w", q.RefID, err)
		}
		reverseResult(res)
		if frame, err = rawFrame(res); err != nil {
			return nil, LiveQuery{}, err
		}
	}
	frame.RefID = q.RefID
	frame.Meta.Notices = append(frame.Meta.Notices, p.Notices...)
	return frame, lq, nil
}

// queryOrEmpty runs the plan; a field no record holds yet makes an empty
// answer, so a live panel opened before the first flow still streams.
func queryOrEmpty(ctx context.Context, t RecordTable, p RecordsPlan) (*records.Result, error) {
	res, err := t.Query(ctx, p.Query)
	if errors.Is(err, records.ErrUnknownColumn) {
		return p.emptyResult(), nil
	}
	return res, err
}

// completeBefore is the end of the newest bucket complete at nowMs.
func completeBefore(nowMs, bucketMs int64) int64 {
	return floorDiv(nowMs-RecordsLiveGrace.Milliseconds(), bucketMs) * bucketMs
}

// wideFrame joins the per-group series of a bucketed answer into one
// timeseries-wide frame, fields sorted by name and labels so a push lines
// up with the history.
func (p RecordsPlan) wideFrame(res *records.Result) (*data.Frame, error) {
	multi, err := p.seriesFrames(res)
	if err != nil {
		return nil, err
	}
	var vals []*data.Field
	for _, f := range multi {
		if len(f.Fields) == 2 && f.Fields[1].Len() > 0 {
			vals = append(vals, f.Fields[1])
		}
	}
	slices.SortStableFunc(vals, func(a, b *data.Field) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Labels.String(), b.Labels.String()))
	})
	fields := []*data.Field{multi[0].Fields[0]}
	if len(vals) == 0 {
		fields[0] = data.NewField(data.TimeSeriesTimeFieldName, nil, []time.Time{})
	}
	f := data.NewFrame("", append(fields, vals...)...)
	f.Meta = recordsMeta(data.FrameTypeTimeSeriesWide)
	return f, nil
}

// reverseResult turns the store's newest-first rows oldest-first.
func reverseResult(res *records.Result) {
	for _, c := range res.Columns {
		switch v := c.Values.(type) {
		case []int64:
			slices.Reverse(v)
		case []uint64:
			slices.Reverse(v)
		case []float64:
			slices.Reverse(v)
		case []string:
			slices.Reverse(v)
		case []bool:
			slices.Reverse(v)
		}
		slices.Reverse(c.Null)
	}
}

// RecordsCursor continues one live records query: it knows what it has
// pushed. Not safe for concurrent use; one stream owns it.
type RecordsCursor struct {
	lq    LiveQuery
	known func(string) bool
	// Buckets: the start of the first bucket not yet pushed.
	next int64
	// Raw rows: the newest row time seen and the fingerprints of rows
	// pushed within the lateness window.
	watermark int64
	seen      map[uint64]int64
	// Overflows counts pushes that could not carry every new raw row (more
	// arrived between two pushes than the query's limit): a live table shows
	// the newest, and a refresh shows them all.
	Overflows uint64
}

// NewRecordsCursor starts a stream of lq at nowMs. A raw stream first
// learns the rows already there, so the subscriber's history (which
// QueryData gave it) is not pushed again.
func NewRecordsCursor(ctx context.Context, t RecordTable, lq LiveQuery, known func(string) bool, nowMs int64) (*RecordsCursor, error) {
	c := &RecordsCursor{lq: lq, known: known, seen: map[uint64]int64{}}
	if lq.BucketMs > 0 {
		c.next = completeBefore(nowMs, lq.BucketMs)
		return c, nil
	}
	c.watermark = nowMs
	_, err := c.rawRows(ctx, t, nowMs)
	return c, err
}

// Next returns the frame to push at nowMs, or nil when nothing is new.
func (c *RecordsCursor) Next(ctx context.Context, t RecordTable, nowMs int64) (*data.Frame, error) {
	if c.lq.BucketMs > 0 {
		return c.buckets(ctx, t, nowMs)
	}
	return c.rawRows(ctx, t, nowMs)
}

// plan rebuilds the query's plan for a window.
func (c *RecordsCursor) plan(fromMs, toMs int64) (RecordsPlan, error) {
	q := c.lq.Query
	if c.lq.BucketMs > 0 {
		q.Bucket = (time.Duration(c.lq.BucketMs) * time.Millisecond).String()
	}
	tr := backend.TimeRange{From: time.UnixMilli(fromMs), To: time.UnixMilli(toMs)}
	return PlanRecords(q, tr, 0, 0, c.known)
}

func (c *RecordsCursor) buckets(ctx context.Context, t RecordTable, nowMs int64) (*data.Frame, error) {
	complete := completeBefore(nowMs, c.lq.BucketMs)
	if complete <= c.next {
		return nil, nil
	}
	p, err := c.plan(c.next, complete-1)
	if err != nil {
		return nil, err
	}
	if p.Query.BucketMs != c.lq.BucketMs {
		return nil, fmt.Errorf("live bucket %d ms became %d ms", c.lq.BucketMs, p.Query.BucketMs)
	}
	res, err := queryOrEmpty(ctx, t, p)
	if err != nil {
		return nil, err
	}
	c.next = complete
	f, err := p.wideFrame(res)
	if err != nil || len(f.Fields) < 2 {
		return nil, err
	}
	return f, nil
}

func (c *RecordsCursor) rawRows(ctx context.Context, t RecordTable, nowMs int64) (*data.Frame, error) {
	from := c.watermark - RecordsLiveLateness.Milliseconds()
	p, err := c.plan(from, max(nowMs, c.watermark)+RecordsLiveLateness.Milliseconds())
	if err != nil {
		return nil, err
	}
	res, err := queryOrEmpty(ctx, t, p)
	if err != nil {
		return nil, err
	}
	tc, ok := column(res, "time")
	times, _ := tc.Values.([]int64)
	if !ok || len(times) == 0 {
		return nil, nil
	}
	fps := rowFingerprints(res)
	keep := make([]bool, len(times))
	fresh := 0
	for i, ms := range times {
		if _, dup := c.seen[fps[i]]; dup {
			continue
		}
		keep[i] = true
		fresh++
		c.seen[fps[i]] = ms
		c.watermark = max(c.watermark, ms)
	}
	c.forget()
	if res.Truncated && fresh == len(times) {
		c.Overflows++
	}
	if fresh == 0 {
		return nil, nil
	}
	selectRows(res, keep)
	reverseResult(res)
	return rawFrame(res)
}

// forget drops fingerprints older than the lateness window, and the
// oldest beyond maxSeenRows.
func (c *RecordsCursor) forget() {
	horizon := c.watermark - RecordsLiveLateness.Milliseconds()
	for fp, ms := range c.seen {
		if ms < horizon {
			delete(c.seen, fp)
		}
	}
	if len(c.seen) <= maxSeenRows {
		return
	}
	ts := make([]int64, 0, len(c.seen))
	for _, ms := range c.seen {
		ts = append(ts, ms)
	}
	slices.Sort(ts)
	cut := ts[len(ts)-maxSeenRows]
	for fp, ms := range c.seen {
		if ms < cut {
			delete(c.seen, fp)
		}
	}
}

// rowFingerprints hashes each row's values: a row pushed once is known by
// them when the lateness window returns it again.
func rowFingerprints(res *records.Result) []uint64 {
	n := 0
	if len(res.Columns) > 0 {
		n = res.Columns[0].Len()
	}
	hs := make([]uint64, n)
	text := make([][]string, len(res.Columns))
	for i, c := range res.Columns {
		text[i] = textValues(c)
	}
	h := fnv.New64a()
	for r := range n {
		h.Reset()
		for i, c := range res.Columns {
			h.Write([]byte(c.Name))
			h.Write([]byte{0})
			h.Write([]byte(text[i][r]))
			if r < len(c.Null) && c.Null[r] {
				h.Write([]byte{1})
			}
			h.Write([]byte{0})
		}
		hs[r] = h.Sum64()
	}
	return hs
}

// selectRows keeps the rows marked in keep, in place.
func selectRows(res *records.Result, keep []bool) {
	for i := range res.Columns {
		c := &res.Columns[i]
		switch v := c.Values.(type) {
		case []int64:
			c.Values = pick(v, keep)
		case []uint64:
			c.Values = pick(v, keep)
		case []float64:
			c.Values = pick(v, keep)
		case []string:
			c.Values = pick(v, keep)
		case []bool:
			c.Values = pick(v, keep)
		}
		if c.Null != nil {
			c.Null = pick(c.Null, keep)
		}
	}
}

func pick[T any](v []T, keep []bool) []T {
	out := v[:0]
	for i, x := range v {
		if keep[i] {
			out = append(out, x)
		}
	}
	return out
}
