package query

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/pkg/pipeline/intmap"
	"github.com/netlens/netlens/pkg/records"
)

// Episodes are what an operator wants marked on a dashboard's time axis:
// runs of INT drop reports (one switch, egress port and drop reason) and of
// queue congestion reports (one switch and queue), each run without a gap
// over EpisodeGapMs. They come from the record store's buckets, not from
// every report: per group and EpisodeGapMs bucket the store gives the
// count and the first and last report time. A run cannot have a gap
// inside a bucket of the gap's length, and between non-empty buckets the
// gap is the next bucket's first report minus the previous one's last, so
// the episodes are exact. Over ranges too long for that many buckets the
// bucket grows, and a gap shorter than the bucket no longer splits a run
// (the frame says so).

// Episode types (an episodes query's eventTypes).
const (
	EpisodeDrop       = "drop"
	EpisodeCongestion = "congestion"
)

// Episode bounds.
const (
	EpisodeGapMs = 10_000
	MaxEpisodes  = 1000
	// maxEpisodeGroups bounds the (switch, port, reason) or (switch,
	// queue) groups, ranked by their reports.
	maxEpisodeGroups = 10_000
)

// EpisodeBucket is one group's reports in one bucket.
type EpisodeBucket struct {
	Type            string
	Device          string
	Port, Queue     string // text; "" when the reports do not carry one
	Reason          string
	FirstMs, LastMs int64
	Count           uint64
	// MaxOccupancy is the deepest queue the bucket's reports saw (congestion).
	MaxOccupancy    uint64
	HasMaxOccupancy bool
}

func (b *EpisodeBucket) sameGroup(o *EpisodeBucket) bool {
	return b.Type == o.Type && b.Device == o.Device && b.Port == o.Port && b.Queue == o.Queue && b.Reason == o.Reason
}

// Episode is a run of one group's reports.
type Episode struct {
	EpisodeBucket // FirstMs and LastMs span the run; Count and MaxOccupancy are over it
}

// JoinEpisodes joins each group's buckets into runs without a gap over
// gapMs. Buckets may come in any order.
func JoinEpisodes(buckets []EpisodeBucket, gapMs int64) []Episode {
	bs := slices.Clone(buckets)
	slices.SortFunc(bs, func(a, b EpisodeBucket) int {
		return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.Device, b.Device), cmp.Compare(a.Port, b.Port),
			cmp.Compare(a.Queue, b.Queue), cmp.Compare(a.Reason, b.Reason), cmp.Compare(a.FirstMs, b.FirstMs))
	})
	var out []Episode
	for i := range bs {
		b := &bs[i]
		if n := len(out); n > 0 {
			e := &out[n-1]
			if e.sameGroup(b) && b.FirstMs-e.LastMs <= gapMs {
				e.LastMs = max(e.LastMs, b.LastMs)
				e.Count += b.Count
				if b.HasMaxOccupancy && (!e.HasMaxOccupancy || b.MaxOccupancy > e.MaxOccupancy) {
					e.MaxOccupancy, e.HasMaxOccupancy = b.MaxOccupancy, true
				}
				continue
			}
		}
		out = append(out, Episode{*b})
	}
	// Newest first, as annotations are read.
	slices.SortStableFunc(out, func(a, b Episode) int {
		return cmp.Or(cmp.Compare(b.FirstMs, a.FirstMs), cmp.Compare(b.LastMs, a.LastMs))
	})
	return out
}

// EpisodesRequest is an episodes query resolved against one request.
type EpisodesRequest struct {
	Query        Query
	FromMs, ToMs int64
	Known        func(string) bool
	Names        SwitchNames
}

// ExecuteEpisodes finds the drop and congestion episodes of an int_report
// table in range, newest first, at most MaxEpisodes.
func ExecuteEpisodes(ctx context.Context, t RecordTable, r EpisodesRequest) (*data.Frame, error) {
	q := r.Query
	if r.ToMs <= r.FromMs {
		return nil, fmt.Errorf("query %s: empty time range", q.RefID)
	}
	types := q.EventTypes
	if len(types) == 0 {
		types = []string{EpisodeDrop, EpisodeCongestion}
	}
	for _, typ := range types {
		if typ != EpisodeDrop && typ != EpisodeCongestion {
			return nil, fmt.Errorf("query %s: unknown episode type %q (want %s or %s)", q.RefID, typ, EpisodeDrop, EpisodeCongestion)
		}
	}
	base, notices, err := recordFilters(q, r.Known)
	if err != nil {
		return nil, err
	}
	bucket := int64(EpisodeGapMs)
	if n := (r.ToMs - r.FromMs) / bucket; n > records.MaxBuckets/2 {
		bucket = ((r.ToMs-r.FromMs)/(records.MaxBuckets/2) + 999) / 1000 * 1000
		notices = append(notices, data.Notice{Severity: data.NoticeSeverityInfo,
			Text: fmt.Sprintf("over this range reports are joined per %s: gaps shorter than that do not split an episode", time.Duration(bucket)*time.Millisecond)})
	}
	var all []EpisodeBucket
	for _, typ := range slices.Compact(slices.Sorted(slices.Values(types))) {
		bs, truncated, err := episodeBuckets(ctx, t, base, typ, r.FromMs, r.ToMs, bucket)
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", q.RefID, err)
		}
		if truncated {
			notices = append(notices, data.Notice{Severity: data.NoticeSeverityInfo,
				Text: fmt.Sprintf("%s episodes: only the groups with the most reports are shown", typ)})
		}
		all = append(all, bs...)
	}
	eps := JoinEpisodes(all, EpisodeGapMs)
	if len(eps) > MaxEpisodes {
		notices = append(notices, data.Notice{Severity: data.NoticeSeverityInfo,
			Text: fmt.Sprintf("showing the newest %d of %d episodes", MaxEpisodes, len(eps))})
		eps = eps[:MaxEpisodes]
	}
	f := EpisodesFrame(eps, r.Names)
	f.RefID = q.RefID
	f.Meta.Notices = append(f.Meta.Notices, notices...)
	return f, nil
}

// episodeBuckets asks the store for one episode type's buckets.
func episodeBuckets(ctx context.Context, t RecordTable, base []records.Filter, typ string, from, to, bucketMs int64) ([]EpisodeBucket, bool, error) {
	rq := records.Query{FromMs: from, ToMs: to, BucketMs: bucketMs,
		Aggregates: []records.Aggregate{{Func: "count"}, {Func: "min", Column: records.TimeColumn}, {Func: "max", Column: records.TimeColumn}}}
	reportType := intmap.TypeDrop
	if typ == EpisodeDrop {
		rq.GroupBy = []string{intmap.ColDevice, intmap.ColEgressPort, intmap.ColDropReason}
	} else {
		reportType = intmap.TypeQueue
		rq.GroupBy = []string{intmap.ColDevice, intmap.ColQueueID}
		rq.Aggregates = append(rq.Aggregates, records.Aggregate{Func: "max", Column: intmap.ColQueueOccupancy})
	}
	rq.Filters = append(slices.Clip(base), records.Filter{Column: intmap.ColType, Op: OpEqual, Values: []string{reportType}})
	// The store bounds occupied cells (records.MaxCells), not the grid:
	// reports come in runs, so most buckets of a group are empty.
	rq.TopN = maxEpisodeGroups
	res, err := t.Query(ctx, rq)
	if errors.Is(err, records.ErrUnknownColumn) {
		return nil, false, nil // no such report yet
	}
	if err != nil {
		return nil, false, err
	}
	get := func(name string) (records.ResultColumn, error) {
		c, ok := column(res, name)
		if !ok {
			return c, fmt.Errorf("the record store's answer has no column %s", name)
		}
		return c, nil
	}
	groups := make([][]string, len(rq.GroupBy))
	for i, g := range rq.GroupBy {
		c, err := get(g)
		if err != nil {
			return nil, false, err
		}
		groups[i] = textValues(c)
	}
	var cnt, first, last, occ records.ResultColumn
	for _, p := range []struct {
		dst  *records.ResultColumn
		name string
	}{{&cnt, "count()"}, {&first, "min(time)"}, {&last, "max(time)"}} {
		if *p.dst, err = get(p.name); err != nil {
			return nil, false, err
		}
	}
	counts, _ := cnt.Values.([]uint64)
	firsts, _ := first.Values.([]int64)
	lasts, _ := last.Values.([]int64)
	var occs []uint64
	if typ == EpisodeCongestion {
		if occ, err = get("max(" + intmap.ColQueueOccupancy + ")"); err != nil {
			return nil, false, err
		}
		occs, _ = occ.Values.([]uint64)
	}
	out := make([]EpisodeBucket, 0, len(counts))
	for i := range counts {
		if i >= len(firsts) || i >= len(lasts) || (i < len(res.Other) && res.Other[i]) {
			continue
		}
		b := EpisodeBucket{Type: typ, Device: groups[0][i], FirstMs: firsts[i], LastMs: lasts[i], Count: counts[i]}
		if typ == EpisodeDrop {
			b.Port, b.Reason = groups[1][i], groups[2][i]
		} else {
			b.Queue = groups[1][i]
			if i < len(occs) && !(i < len(occ.Null) && occ.Null[i]) {
				b.MaxOccupancy, b.HasMaxOccupancy = occs[i], true
			}
		}
		out = append(out, b)
	}
	return out, res.Truncated, nil
}

// EpisodesFrame is the annotations frame: time and timeEnd span the run;
// title, text and tags (comma text, as device events give) are what
// Grafana shows; device, switch, type and count make it a useful table.
func EpisodesFrame(eps []Episode, names SwitchNames) *data.Frame {
	n := len(eps)
	starts, ends := make([]time.Time, n), make([]time.Time, n)
	titles, texts, tags := make([]string, n), make([]string, n), make([]string, n)
	devices, switches, types := make([]string, n), make([]string, n), make([]string, n)
	counts := make([]uint64, n)
	for i, e := range eps {
		sw := names.DeviceOr(e.Device)
		starts[i], ends[i] = time.UnixMilli(e.FirstMs).UTC(), time.UnixMilli(e.LastMs).UTC()
		span := time.Duration(e.LastMs-e.FirstMs) * time.Millisecond
		var title, text strings.Builder
		title.WriteString(sw)
		if e.Type == EpisodeDrop {
			title.WriteString(" drops")
			if e.Port != "" {
				title.WriteString(" on port " + e.Port)
			}
			if e.Reason != "" {
				title.WriteString(", reason " + e.Reason)
			}
			fmt.Fprintf(&text, "%d drop reports over %s", e.Count, span)
		} else {
			title.WriteString(" congestion")
			if e.Queue != "" {
				title.WriteString(" on queue " + e.Queue)
			}
			fmt.Fprintf(&text, "%d queue reports over %s", e.Count, span)
			if e.HasMaxOccupancy {
				fmt.Fprintf(&text, ", deepest queue %d", e.MaxOccupancy)
			}
		}
		titles[i], texts[i] = title.String(), text.String()
		tags[i] = "int," + e.Type + "," + sw
		devices[i], switches[i], types[i], counts[i] = e.Device, sw, e.Type, e.Count
	}
	f := data.NewFrame("int_episodes",
		data.NewField("time", nil, starts),
		data.NewField("timeEnd", nil, ends),
		data.NewField("title", nil, titles),
		data.NewField("text", nil, texts),
		data.NewField("tags", nil, tags),
		data.NewField("device", nil, devices),
		data.NewField("switch", nil, switches),
		data.NewField("type", nil, types),
		data.NewField("count", nil, counts),
	)
	f.Meta = recordsMeta(data.FrameTypeTable)
	return f
}
