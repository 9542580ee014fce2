package query

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/pkg/pipeline/intmap"
	"github.com/netlens/netlens/pkg/records"
)

// Live paths. Grafana's streaming buffer appends each push to the frame
// QueryData returned, and the panel shows the newest observation per flow
// of everything it holds, so a push carries only what changed: per flow
// of the query, its newest observation that arrived since the last push,
// with path_changed against the observation shown before it. A flow
// whose packets are now dropped may send no whole path at all: a new drop
// report then repeats the flow's last observation at the drop report's
// time, with the drop marked on its switch.

// PathLiveLateness is how far behind the newest row seen a row may arrive
// and still be pushed: postcard paths are written when their join window
// (100 ms) closes, and workers flush every 100 ms. Each push reads this
// much of the table, so it is short: at a million reports a second every
// second of it is a million rows scanned.
const PathLiveLateness = 5 * time.Second

// PathCursor continues one live path query. Not safe for concurrent use;
// one stream owns it.
type PathCursor struct {
	last      map[string]*PathObservation // what the panel shows per flow
	seen      map[string]int64            // per flow, the newest row time taken into account
	watermark int64
}

// NewPathCursor starts a stream after res (the query's answer as it
// stands when the stream starts: those observations are the panel's).
func NewPathCursor(res *PathResult, nowMs int64) *PathCursor {
	c := &PathCursor{last: map[string]*PathObservation{}, seen: map[string]int64{}, watermark: nowMs}
	if res != nil {
		for f, o := range res.Observations {
			c.last[f] = o
		}
		for f, ms := range res.Seen {
			c.seen[f] = ms
		}
	}
	return c
}

// Next returns the frame to push for flows, or nil when nothing is new.
func (c *PathCursor) Next(ctx context.Context, t RecordTable, r PathRequest, flows []string, nowMs int64) (*data.Frame, error) {
	if len(flows) == 0 {
		return nil, nil
	}
	base, _, err := recordFilters(r.Query, r.Known)
	if err != nil {
		return nil, err
	}
	lateness := PathLiveLateness.Milliseconds()
	res, err := t.Query(ctx, records.Query{
		FromMs: c.watermark - lateness, ToMs: max(nowMs, c.watermark) + lateness,
		Filters: append(slices.Clip(base), records.Filter{Column: intmap.ColFlow, Op: OpIn, Values: flows}),
		Columns: pathColumns,
		Limit:   records.MaxLimit,
	})
	if errors.Is(err, records.ErrUnknownColumn) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rows := newPathRows(res)
	// Rows come newest first: per flow, the new ones in that order.
	byFlow := map[string][]int{}
	for i := range rows.n {
		f := rows.text(intmap.ColFlow, i)
		ms := rows.timeMs(i)
		c.watermark = max(c.watermark, ms)
		if seen, ok := c.seen[f]; ok && ms <= seen {
			continue
		}
		byFlow[f] = append(byFlow[f], i)
	}
	b := newPathFrameBuilder()
	pushed := 0
	for _, f := range flows {
		idx := byFlow[f]
		if len(idx) == 0 {
			continue
		}
		o := c.nextObservation(rows, idx, c.last[f], r.Names)
		c.seen[f] = max(c.seen[f], rows.timeMs(idx[0]))
		if o == nil {
			continue
		}
		c.last[f] = o
		b.add(o)
		pushed++
	}
	// Flows no longer asked for are forgotten.
	if len(c.last) > len(flows) || len(c.seen) > len(flows) {
		keep := map[string]bool{}
		for _, f := range flows {
			keep[f] = true
		}
		for f := range c.last {
			if !keep[f] {
				delete(c.last, f)
			}
		}
		for f := range c.seen {
			if !keep[f] {
				delete(c.seen, f)
			}
		}
	}
	if pushed == 0 {
		return nil, nil
	}
	frame := b.frame()
	frame.RefID = r.Query.RefID
	return frame, nil
}

// nextObservation is a flow's observation from its new rows (idx, newest
// first), given the one the panel shows (last, may be nil).
func (c *PathCursor) nextObservation(rows *pathRows, idx []int, last *PathObservation, names SwitchNames) *PathObservation {
	// The newest row of the best kind of observation there is (obsRank),
	// unless the flow was seen in a better kind before.
	pick, rank := -1, 0
	for _, i := range idx {
		if r := obsRank(rows.text(intmap.ColType, i)); r > rank {
			pick, rank = i, r
		}
	}
	if last != nil && rank < obsRank(last.Type) {
		pick = -1
	}
	var o *PathObservation
	if pick >= 0 {
		var err error
		if o, err = newObservation(rows, pick, names); err != nil {
			return nil
		}
		if last != nil {
			o.Changed = PathsDiffer(o.switches(), last.switches(), o.Dropped, last.Dropped)
		} else {
			o.Changed = rows.boolean(intmap.ColPathChanged, pick)
		}
	} else {
		// Only drop reports (or one-switch reports of a flow seen whole):
		// the last path, at the newest drop's time, if a drop is new.
		newestDrop := -1
		for _, i := range idx {
			if rows.text(intmap.ColType, i) == intmap.TypeDrop {
				newestDrop = i
				break
			}
		}
		if newestDrop < 0 || last == nil {
			return nil
		}
		o = last.clone()
		o.TimeMs = rows.timeMs(newestDrop)
		o.Changed = false
	}
	// Drops newer than the observation mark its switches, oldest first so
	// a switch keeps its newest reason.
	for k := len(idx) - 1; k >= 0; k-- {
		i := idx[k]
		if i == pick || rows.text(intmap.ColType, i) != intmap.TypeDrop || (pick >= 0 && rows.timeMs(i) <= o.TimeMs) {
			continue
		}
		o.markDrop(rows, i)
	}
	return o
}

// switches is the observation's switch list, as paths compare.
func (o *PathObservation) switches() []string {
	out := make([]string, len(o.Hops))
	for i := range o.Hops {
		out[i] = o.switchKey(&o.Hops[i])
	}
	return out
}

// clone copies o with its hops' drop marks cleared, as of no drop yet.
func (o *PathObservation) clone() *PathObservation {
	c := *o
	c.Hops = slices.Clone(o.Hops)
	for i := range c.Hops {
		c.Hops[i].Dropped, c.Hops[i].NoReason, c.Hops[i].DropReason = false, false, 0
	}
	return &c
}
