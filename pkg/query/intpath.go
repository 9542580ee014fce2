package query

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/pkg/pipeline/intmap"
	"github.com/netlens/netlens/pkg/records"
)

// Path queries answer the network path panel from int_report rows: one
// table frame ("the path frame", notes/int-contracts.md), one row per hop
// per flow observation. Per selected flow it holds
//   - the newest observation: the newest row of type int (a sink's report
//     with the whole stack) or postcard-path (joined postcards); a flow
//     seen only in one-switch reports (flow, queue, drop) gets the newest
//     of those as a one-hop observation;
//   - the newest earlier observation whose path differs, when the range
//     holds one: the panel shows it as the previous path. "Differs"
//     compares what both reached when one was cut short by a drop, as the
//     panel does, so a dropped packet's partial path is not a change;
//   - drops: a drop report of the flow newer than its newest observation
//     marks dropped and drop_reason on the hop of the switch that sent it.
//
// Without flows named, the flows are the top N by their worst end-to-end
// latency in range (max e2e_latency), then, when fewer than N have one,
// by their worst hop latency (max max_hop_latency).
//
// The store answers this in a few passes whatever the table holds: an
// aggregate finds each flow's newest row per (type, path, flags, device),
// which is enough to choose the observations, and raw queries then fetch
// only those rows, by flow and time, in windows of nearby times.

// Path query bounds.
const (
	DefaultPathTopN = 20
	MaxPathFlows    = 500
	// maxPathGroups bounds the (flow, type, path, flags, device) groups of
	// the selection pass, newest first: 500 flows with a few paths each,
	// reported by a few switches, are far fewer.
	maxPathGroups = 100_000
	// pathWindowMs and maxWindowTimes cut the fetch of the chosen rows into
	// queries over nearby times: a window is a partition at most, and its
	// time filter a short list.
	pathWindowMs   = 60_000
	maxWindowTimes = 256
)

// pathColumns are the int_report columns a path frame is built from.
var pathColumns = []string{
	records.TimeColumn, intmap.ColFlow, intmap.ColType, intmap.ColPath, intmap.ColFlags, intmap.ColDevice,
	intmap.ColSrcAddr, intmap.ColDstAddr, intmap.ColProtocol, intmap.ColSrcPort, intmap.ColDstPort,
	intmap.ColSwitchID, intmap.ColIngressPort, intmap.ColEgressPort, intmap.ColQueueID, intmap.ColQueueOccupancy,
	intmap.ColDropReason, intmap.ColE2ELatency, intmap.ColMaxHopLatency, intmap.ColPathChanged, intmap.ColHops,
}

// PathFields are the path frame's fields, in order.
var PathFields = []string{
	"time", "flow", "src_addr", "dst_addr", "protocol", "src_port", "dst_port",
	"hop", "switch", "switch_id", "ingress_port", "egress_port", "hop_latency",
	"queue_id", "queue_occupancy", "e2e_latency", "dropped", "drop_reason", "path_changed",
}

// ParseFlows reads a path query's flow text: one flow id, a JSON array of
// them (the frontend's spelling of a multi-value variable), or Grafana's
// {a,b}. Empty entries, Grafana's "all" placeholders and variables left
// unreplaced ("$flow": no flow id starts with "$") are left out;
// duplicates count once.
func ParseFlows(s string) []string {
	s = strings.TrimSpace(s)
	var raw []string
	switch {
	case s == "" || strings.HasPrefix(s, "$") || s == "*" || s == "All":
		return nil
	case strings.HasPrefix(s, "[") && json.Unmarshal([]byte(s), &raw) == nil:
	case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
		raw = strings.Split(s[1:len(s)-1], ",")
	default:
		raw = []string{s}
	}
	out := make([]string, 0, len(raw))
	for _, f := range raw {
		f = strings.TrimSpace(f)
		if f == "" || strings.HasPrefix(f, "$") || slices.Contains(out, f) {
			continue
		}
		out = append(out, f)
	}
	return out
}

// PathRequest is a path query resolved against one request.
type PathRequest struct {
	Query        Query
	FromMs, ToMs int64
	// Known reports the table's fields (ad-hoc filters on others are left out).
	Known func(string) bool
	// Names names switches: the data source's, overridden by the query's.
	Names SwitchNames
}

// PathResult is a path query's answer: the frame and the flows it is
// about, in the panel's order (the live stream follows the same flows).
type PathResult struct {
	Frame *data.Frame
	Flows []string
	// Observations are the newest observation of each flow that has one,
	// the live stream's starting point.
	Observations map[string]*PathObservation
	// Seen is, per flow, the time of its newest row in range: the frame
	// took into account everything up to it.
	Seen map[string]int64
}

// ExecutePath runs a path query on an int_report table.
func ExecutePath(ctx context.Context, t RecordTable, r PathRequest) (*PathResult, error) {
	q := r.Query
	if r.ToMs < r.FromMs {
		return nil, fmt.Errorf("query %s: empty time range", q.RefID)
	}
	base, notices, err := recordFilters(q, r.Known)
	if err != nil {
		return nil, err
	}
	flows := ParseFlows(q.Flow)
	if len(flows) > MaxPathFlows {
		notices = append(notices, data.Notice{Severity: data.NoticeSeverityWarning,
			Text: fmt.Sprintf("at most %d flows are shown; %d were asked for", MaxPathFlows, len(flows))})
		flows = flows[:MaxPathFlows]
	}
	res := &PathResult{Observations: map[string]*PathObservation{}, Seen: map[string]int64{}}
	if len(flows) == 0 {
		n := q.TopN
		switch {
		case n < 0:
			return nil, fmt.Errorf("query %s: top N %d is negative", q.RefID, n)
		case n == 0:
			n = DefaultPathTopN
		case n > MaxPathFlows:
			notices = append(notices, data.Notice{Severity: data.NoticeSeverityWarning,
				Text: fmt.Sprintf("at most %d flows are shown; top %d was lowered", MaxPathFlows, n)})
			n = MaxPathFlows
		}
		flows, err = topFlows(ctx, t, base, r.FromMs, r.ToMs, n)
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", q.RefID, err)
		}
	}
	res.Flows = flows
	b := newPathFrameBuilder()
	if len(flows) > 0 {
		picks, err := pickFlows(ctx, t, base, flows, r.FromMs, r.ToMs)
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", q.RefID, err)
		}
		rows, err := fetchPicked(ctx, t, base, picks, r.FromMs, r.ToMs)
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", q.RefID, err)
		}
		bad, missing := 0, 0
		for _, f := range flows {
			p, ok := picks[f]
			if !ok || p.Newest == nil {
				continue
			}
			newest, prev, err := observe(p, rows, r.Names)
			if errors.Is(err, errRowNotFound) {
				missing++
				continue
			}
			if err != nil {
				bad++
				continue
			}
			res.Observations[f] = newest
			res.Seen[f] = p.LatestMs
			b.add(newest)
			if prev != nil {
				b.add(prev)
			}
		}
		if bad > 0 {
			notices = append(notices, data.Notice{Severity: data.NoticeSeverityWarning,
				Text: fmt.Sprintf("%d flows left out: their rows' hops could not be read", bad)})
		}
		if missing > 0 {
			notices = append(notices, data.Notice{Severity: data.NoticeSeverityInfo,
				Text: fmt.Sprintf("%d flows left out: their newest rows were evicted meanwhile, or too many rows share their times; refresh", missing)})
		}
	}
	f := b.frame()
	f.RefID = q.RefID
	f.Meta.Notices = append(f.Meta.Notices, notices...)
	res.Frame = f
	return res, nil
}

// obsRank orders the row types as observations of a flow's path. A flow
// with INT reports from its sink is seen whole by them: its other
// switches' local, queue and drop reports also come out of the postcard
// joiner as one-hop paths, which are not its path. A flow in postcard mode
// has no INT reports, so its joined postcard paths are its observations.
// A flow seen only in one-switch reports the joiner could not take (no
// switch id) is seen through those.
func obsRank(typ string) int {
	switch typ {
	case intmap.TypeINT:
		return 3
	case intmap.TypePostcardPath:
		return 2
	case intmap.TypeFlow, intmap.TypeQueue, intmap.TypeDrop:
		return 1
	}
	return 0
}

// topFlows ranks flows by their worst end-to-end latency, then those
// without one by their worst hop latency.
func topFlows(ctx context.Context, t RecordTable, base []records.Filter, from, to int64, n int) ([]string, error) {
	var out []string
	for _, col := range []string{intmap.ColE2ELatency, intmap.ColMaxHopLatency} {
		res, err := t.Query(ctx, records.Query{
			FromMs: from, ToMs: to,
			Filters:    append(slices.Clip(base), records.Filter{Column: col, Op: OpGreatEq, Values: []string{"0"}}),
			GroupBy:    []string{intmap.ColFlow},
			Aggregates: []records.Aggregate{{Func: "max", Column: col}},
			// One more: the reports without an inner packet (no flow) are
			// a group too.
			TopN: n + len(out) + 1,
		})
		if errors.Is(err, records.ErrUnknownColumn) {
			continue // nothing reported it yet
		}
		if err != nil {
			return nil, err
		}
		fc, ok := column(res, intmap.ColFlow)
		if !ok {
			return nil, fmt.Errorf("the record store's answer has no flow column")
		}
		vals, _ := fc.Values.([]string)
		for i, f := range vals {
			if len(out) == n {
				return out, nil
			}
			if (i < len(fc.Null) && fc.Null[i]) || f == "" || slices.Contains(out, f) {
				continue
			}
			out = append(out, f)
		}
	}
	return out, nil
}

// PathGroup is one (flow, type, path, flags, device) of a flow's rows in
// range, with the time of its newest row: what the choice of
// observations needs to know before any row is fetched.
type PathGroup struct {
	Flow, Type, Path, Flags, Device string
	TimeMs                          int64
}

// dropped: the path was cut short by a drop (postcard paths flag it).
func (g *PathGroup) dropped() bool {
	return strings.Contains(g.Flags, "D") || g.Type == intmap.TypeDrop
}

// PathPick is what a flow's frame rows come from.
type PathPick struct {
	// Newest is the newest observation: the newest INT report of the
	// flow, else its newest postcard path, else its newest one-switch
	// report (see obsRank).
	Newest *PathGroup
	// Previous is the newest earlier observation whose path differs.
	Previous *PathGroup
	// Drops are the newest drop report per switch newer than Newest.
	Drops []*PathGroup
	// LatestMs is the flow's newest row of any type.
	LatestMs int64
}

// PickPaths chooses, per flow, the rows of its path frame from the
// flow's groups.
func PickPaths(groups []PathGroup) map[string]*PathPick {
	byFlow := map[string][]*PathGroup{}
	for i := range groups {
		g := &groups[i]
		byFlow[g.Flow] = append(byFlow[g.Flow], g)
	}
	out := make(map[string]*PathPick, len(byFlow))
	for f, gs := range byFlow {
		// Newest first; equal times in a fixed order so answers repeat.
		slices.SortStableFunc(gs, func(a, b *PathGroup) int {
			if a.TimeMs != b.TimeMs {
				if a.TimeMs > b.TimeMs {
					return -1
				}
				return 1
			}
			return cmp.Or(strings.Compare(a.Type, b.Type), strings.Compare(a.Path, b.Path),
				strings.Compare(a.Device, b.Device), strings.Compare(a.Flags, b.Flags))
		})
		p := &PathPick{LatestMs: gs[0].TimeMs}
		rank := 0
		for _, g := range gs {
			rank = max(rank, obsRank(g.Type))
		}
		if rank == 0 {
			continue
		}
		for _, g := range gs {
			if obsRank(g.Type) != rank {
				continue
			}
			if p.Newest == nil {
				p.Newest = g
				if rank == 1 {
					// A one-switch view: its own drop shows on it.
					break
				}
				continue
			}
			if g.TimeMs < p.Newest.TimeMs && PathsDiffer(splitPath(p.Newest.Path), splitPath(g.Path), p.Newest.dropped(), g.dropped()) {
				p.Previous = g
				break
			}
		}
		if rank > 1 {
			seen := map[string]bool{}
			for _, g := range gs {
				if g.TimeMs <= p.Newest.TimeMs {
					break
				}
				if g.Type == intmap.TypeDrop && !seen[g.Device] {
					seen[g.Device] = true
					p.Drops = append(p.Drops, g)
				}
			}
		}
		out[f] = p
	}
	return out
}

func splitPath(p string) []string {
	if p == "" {
		return nil
	}
	return strings.Split(p, ">")
}

// PathsDiffer compares two switch lists as the panel does: a path cut
// short by a drop is compared on what both reached, and it differs only
// when the shorter of the two did not stop because of its own drop.
func PathsDiffer(newest, previous []string, newestDropped, prevDropped bool) bool {
	if !newestDropped && !prevDropped {
		return !slices.Equal(newest, previous)
	}
	n := min(len(newest), len(previous))
	if !slices.Equal(newest[:n], previous[:n]) {
		return true
	}
	return (len(newest) < len(previous) && !newestDropped) || (len(previous) < len(newest) && !prevDropped)
}

// pickFlows runs the selection pass for flows.
func pickFlows(ctx context.Context, t RecordTable, base []records.Filter, flows []string, from, to int64) (map[string]*PathPick, error) {
	res, err := t.Query(ctx, records.Query{
		FromMs: from, ToMs: to,
		Filters:    append(slices.Clip(base), records.Filter{Column: intmap.ColFlow, Op: OpIn, Values: flows}),
		GroupBy:    []string{intmap.ColFlow, intmap.ColType, intmap.ColPath, intmap.ColFlags, intmap.ColDevice},
		Aggregates: []records.Aggregate{{Func: "max", Column: records.TimeColumn}},
		TopN:       maxPathGroups,
	})
	if errors.Is(err, records.ErrUnknownColumn) {
		return map[string]*PathPick{}, nil
	}
	if err != nil {
		return nil, err
	}
	text := func(name string) ([]string, error) {
		c, ok := column(res, name)
		if !ok {
			return nil, fmt.Errorf("the record store's answer has no column %s", name)
		}
		return textValues(c), nil
	}
	var cols [5][]string
	for i, n := range []string{intmap.ColFlow, intmap.ColType, intmap.ColPath, intmap.ColFlags, intmap.ColDevice} {
		if cols[i], err = text(n); err != nil {
			return nil, err
		}
	}
	tc, ok := column(res, "max(time)")
	if !ok {
		return nil, fmt.Errorf("the record store's answer has no column max(time)")
	}
	times, _ := tc.Values.([]int64)
	groups := make([]PathGroup, 0, len(times))
	for i, ms := range times {
		groups = append(groups, PathGroup{Flow: cols[0][i], Type: cols[1][i], Path: cols[2][i], Flags: cols[3][i], Device: cols[4][i], TimeMs: ms})
	}
	return PickPaths(groups), nil
}

// pathRowKey identifies the row a group's time points at.
type pathRowKey struct {
	flow, typ, path, flags, device string
	ms                             int64
}

func (g *PathGroup) key() pathRowKey {
	return pathRowKey{g.Flow, g.Type, g.Path, g.Flags, g.Device, g.TimeMs}
}

// fetchPicked fetches the picked rows: by flow and time, in windows of
// nearby times, so each query reads only the chunks holding them.
func fetchPicked(ctx context.Context, t RecordTable, base []records.Filter, picks map[string]*PathPick, from, to int64) (map[pathRowKey]pathRow, error) {
	want := map[pathRowKey]bool{}
	type need struct {
		ms   int64
		flow string
	}
	var needs []need
	for _, p := range picks {
		for _, g := range append([]*PathGroup{p.Newest, p.Previous}, p.Drops...) {
			if g == nil || want[g.key()] {
				continue
			}
			want[g.key()] = true
			needs = append(needs, need{g.TimeMs, g.Flow})
		}
	}
	slices.SortFunc(needs, func(a, b need) int {
		if a.ms != b.ms {
			if a.ms < b.ms {
				return -1
			}
			return 1
		}
		return strings.Compare(a.flow, b.flow)
	})
	out := make(map[pathRowKey]pathRow, len(want))
	for i := 0; i < len(needs); {
		j := i
		var times, flows []string
		for j < len(needs) && needs[j].ms-needs[i].ms <= pathWindowMs && len(times) < maxWindowTimes {
			ts := strconv.FormatInt(needs[j].ms, 10)
			if len(times) == 0 || times[len(times)-1] != ts {
				times = append(times, ts)
			}
			if !slices.Contains(flows, needs[j].flow) {
				flows = append(flows, needs[j].flow)
			}
			j++
		}
		res, err := t.Query(ctx, records.Query{
			FromMs: max(from, needs[i].ms), ToMs: min(to, needs[j-1].ms),
			Filters: append(slices.Clip(base),
				records.Filter{Column: intmap.ColFlow, Op: OpIn, Values: flows},
				records.Filter{Column: records.TimeColumn, Op: OpIn, Values: times}),
			Columns: pathColumns,
			Limit:   records.MaxLimit,
		})
		if err != nil {
			return nil, err
		}
		rr := newPathRows(res)
		for k := range rr.n {
			key := rr.key(k)
			if want[key] {
				if _, dup := out[key]; !dup {
					out[key] = pathRow{rr, k}
				}
			}
		}
		i = j
	}
	return out, nil
}

// pathRows reads a raw answer of pathColumns by name.
type pathRows struct {
	n    int
	cols map[string]records.ResultColumn
}

func newPathRows(res *records.Result) *pathRows {
	r := &pathRows{cols: make(map[string]records.ResultColumn, len(res.Columns))}
	for _, c := range res.Columns {
		r.cols[c.Name] = c
		r.n = max(r.n, c.Len())
	}
	return r
}

func (r *pathRows) null(c records.ResultColumn, i int) bool { return i < len(c.Null) && c.Null[i] }

func (r *pathRows) uint(name string, i int) (uint64, bool) {
	c, ok := r.cols[name]
	if !ok || r.null(c, i) {
		return 0, false
	}
	v, ok := c.Values.([]uint64)
	if !ok || i >= len(v) {
		return 0, false
	}
	return v[i], true
}

func (r *pathRows) str(name string, i int) (string, bool) {
	c, ok := r.cols[name]
	if !ok || r.null(c, i) {
		return "", false
	}
	v, ok := c.Values.([]string)
	if !ok || i >= len(v) {
		return "", false
	}
	return v[i], true
}

func (r *pathRows) boolean(name string, i int) bool {
	c, ok := r.cols[name]
	if !ok || r.null(c, i) {
		return false
	}
	v, ok := c.Values.([]bool)
	return ok && i < len(v) && v[i]
}

func (r *pathRows) timeMs(i int) int64 {
	c := r.cols[records.TimeColumn]
	v, _ := c.Values.([]int64)
	if i < len(v) {
		return v[i]
	}
	return 0
}

func (r *pathRows) text(name string, i int) string {
	s, _ := r.str(name, i)
	return s
}

func (r *pathRows) key(i int) pathRowKey {
	return pathRowKey{r.text(intmap.ColFlow, i), r.text(intmap.ColType, i), r.text(intmap.ColPath, i),
		r.text(intmap.ColFlags, i), r.text(intmap.ColDevice, i), r.timeMs(i)}
}

// pathRow is one fetched row.
type pathRow struct {
	r *pathRows
	i int
}

// PathHop is one hop of an observation; NoReason marks a drop whose
// report gave no reason.
type PathHop struct {
	intmap.HopRow
	NoReason bool
}

// PathObservation is one flow observation, as its frame rows show it.
type PathObservation struct {
	TimeMs             int64
	Flow               string
	Type, Path, Device string
	Src, Dst           *string
	Protocol           *string
	SrcPort, DstPort   *float64
	E2E                *float64
	Hops               []PathHop
	// Changed: the frame shows the flow's path as changed (see observe).
	Changed bool
	// Dropped: the observation's path was cut short by a drop.
	Dropped bool
}

// switchKey is a hop's device string: its switch id as "0x%08x", else
// the device of the row it came from.
func (o *PathObservation) switchKey(h *PathHop) string {
	if h.HasSwitchID {
		return intmap.SwitchName(h.SwitchID)
	}
	return o.Device
}

// newObservation reads row i as an observation: its hops text, else the
// row's own one hop (LocalHop).
func newObservation(r *pathRows, i int, names SwitchNames) (*PathObservation, error) {
	o := &PathObservation{
		TimeMs: r.timeMs(i), Flow: r.text(intmap.ColFlow, i), Type: r.text(intmap.ColType, i),
		Path: r.text(intmap.ColPath, i), Device: r.text(intmap.ColDevice, i),
	}
	if s, ok := r.str(intmap.ColSrcAddr, i); ok {
		o.Src = &s
	}
	if s, ok := r.str(intmap.ColDstAddr, i); ok {
		o.Dst = &s
	}
	proto, hasProto := r.uint(intmap.ColProtocol, i)
	if hasProto {
		s := intmap.ProtocolName(uint8(proto))
		o.Protocol = &s
	}
	num := func(name string) *float64 {
		if v, ok := r.uint(name, i); ok {
			f := float64(v)
			return &f
		}
		return nil
	}
	o.SrcPort, o.DstPort, o.E2E = num(intmap.ColSrcPort), num(intmap.ColDstPort), num(intmap.ColE2ELatency)
	flags := r.text(intmap.ColFlags, i)
	o.Dropped = strings.Contains(flags, "D") || o.Type == intmap.TypeDrop
	hops := r.text(intmap.ColHops, i)
	if hops != "" {
		hs, err := intmap.ExpandHops(nil, hops, names.ID)
		if err != nil {
			return nil, err
		}
		for _, h := range hs {
			o.Hops = append(o.Hops, PathHop{HopRow: h})
		}
	} else {
		h := intmap.LocalHop(func(name string) (uint64, bool) { return r.uint(name, i) }, names.ID)
		ph := PathHop{HopRow: h}
		if !h.HasSwitchID {
			ph.Switch = names.DeviceOr(o.Device)
		}
		if o.Type == intmap.TypeDrop && !h.Dropped {
			// A drop report without its reason still says where.
			ph.Dropped, ph.NoReason = true, true
		}
		o.Hops = append(o.Hops, ph)
	}
	return o, nil
}

// markDrop marks a newer drop report's switch on the observation's path;
// a switch not on it (the path moved since) is left out.
func (o *PathObservation) markDrop(r *pathRows, i int) {
	dev := r.text(intmap.ColDevice, i)
	if id, ok := r.uint(intmap.ColSwitchID, i); ok {
		dev = intmap.SwitchName(uint32(id))
	}
	reason, hasReason := r.uint(intmap.ColDropReason, i)
	for k := range o.Hops {
		h := &o.Hops[k]
		if o.switchKey(h) != dev {
			continue
		}
		h.Dropped, h.NoReason, h.DropReason = true, !hasReason, uint8(reason)
		return
	}
}

var errRowNotFound = errors.New("the newest row was not found")

// observe builds a flow's observations from its picked rows. The newest
// shows path_changed when the frame also holds an earlier, different path
// of the flow, or when its row says the path changed (the previous one
// may be out of range); the previous one's rows keep what their row says.
func observe(p *PathPick, rows map[pathRowKey]pathRow, names SwitchNames) (newest, prev *PathObservation, err error) {
	nr, ok := rows[p.Newest.key()]
	if !ok {
		return nil, nil, errRowNotFound
	}
	if newest, err = newObservation(nr.r, nr.i, names); err != nil {
		return nil, nil, err
	}
	newest.Changed = nr.r.boolean(intmap.ColPathChanged, nr.i)
	if p.Previous != nil {
		if pr, ok := rows[p.Previous.key()]; ok {
			if prev, err = newObservation(pr.r, pr.i, names); err != nil {
				prev, err = nil, nil // the newest still stands
			} else {
				prev.Changed = pr.r.boolean(intmap.ColPathChanged, pr.i)
				newest.Changed = true
			}
		}
	}
	// Oldest first, so the newest drop of a switch is the one left marked.
	for k := len(p.Drops) - 1; k >= 0; k-- {
		if dr, ok := rows[p.Drops[k].key()]; ok {
			newest.markDrop(dr.r, dr.i)
		}
	}
	return newest, prev, nil
}

// pathFrameBuilder collects observations into the path frame.
type pathFrameBuilder struct {
	time                                         []time.Time
	flow                                         []string
	src, dst, proto, sw, reason                  []*string
	srcPort, dstPort, swID, inPort, outPort, lat []*float64
	queue, occ, e2e                              []*float64
	hop                                          []float64
	dropped, changed                             []bool
	slab                                         []float64
}

func newPathFrameBuilder() *pathFrameBuilder { return &pathFrameBuilder{} }

// num is v as a nullable frame number. The values live in slabs, so a
// 5000-row frame costs a few allocations instead of one per cell.
func (b *pathFrameBuilder) num(ok bool, v uint64) *float64 {
	if !ok {
		return nil
	}
	if len(b.slab) == cap(b.slab) {
		b.slab = make([]float64, 0, 1024)
	}
	b.slab = append(b.slab, float64(v))
	return &b.slab[len(b.slab)-1]
}

func (b *pathFrameBuilder) add(o *PathObservation) {
	t := time.UnixMilli(o.TimeMs).UTC()
	num := b.num
	for k := range o.Hops {
		h := &o.Hops[k]
		b.time = append(b.time, t)
		b.flow = append(b.flow, o.Flow)
		b.src, b.dst, b.proto = append(b.src, o.Src), append(b.dst, o.Dst), append(b.proto, o.Protocol)
		b.srcPort, b.dstPort = append(b.srcPort, o.SrcPort), append(b.dstPort, o.DstPort)
		b.hop = append(b.hop, float64(h.Hop))
		var sw *string
		if h.Switch != "" {
			s := h.Switch
			sw = &s
		}
		b.sw = append(b.sw, sw)
		b.swID = append(b.swID, num(h.HasSwitchID, uint64(h.SwitchID)))
		b.inPort = append(b.inPort, num(h.HasIngressPort, uint64(h.IngressPort)))
		b.outPort = append(b.outPort, num(h.HasEgressPort, uint64(h.EgressPort)))
		b.lat = append(b.lat, num(h.HasHopLatency, uint64(h.HopLatency)))
		b.queue = append(b.queue, num(h.HasQueueID, uint64(h.QueueID)))
		b.occ = append(b.occ, num(h.HasQueueOccupancy, uint64(h.QueueOccupancy)))
		b.e2e = append(b.e2e, o.E2E)
		b.dropped = append(b.dropped, h.Dropped)
		var reason *string
		if h.Dropped && !h.NoReason {
			s := strconv.Itoa(int(h.DropReason))
			reason = &s
		}
		b.reason = append(b.reason, reason)
		b.changed = append(b.changed, o.Changed)
	}
}

// frame is the path frame, fields in PathFields order; latencies carry
// the ns unit so the panel and tables show them as durations.
func (b *pathFrameBuilder) frame() *data.Frame {
	ns := &data.FieldConfig{Unit: "ns"}
	f := data.NewFrame("int_path",
		data.NewField("time", nil, nonNilSlice(b.time)),
		data.NewField("flow", nil, nonNilSlice(b.flow)),
		data.NewField("src_addr", nil, nonNilSlice(b.src)),
		data.NewField("dst_addr", nil, nonNilSlice(b.dst)),
		data.NewField("protocol", nil, nonNilSlice(b.proto)),
		data.NewField("src_port", nil, nonNilSlice(b.srcPort)),
		data.NewField("dst_port", nil, nonNilSlice(b.dstPort)),
		data.NewField("hop", nil, nonNilSlice(b.hop)),
		data.NewField("switch", nil, nonNilSlice(b.sw)),
		data.NewField("switch_id", nil, nonNilSlice(b.swID)),
		data.NewField("ingress_port", nil, nonNilSlice(b.inPort)),
		data.NewField("egress_port", nil, nonNilSlice(b.outPort)),
		data.NewField("hop_latency", nil, nonNilSlice(b.lat)).SetConfig(ns),
		data.NewField("queue_id", nil, nonNilSlice(b.queue)),
		data.NewField("queue_occupancy", nil, nonNilSlice(b.occ)),
		data.NewField("e2e_latency", nil, nonNilSlice(b.e2e)).SetConfig(&data.FieldConfig{Unit: "ns"}),
		data.NewField("dropped", nil, nonNilSlice(b.dropped)),
		data.NewField("drop_reason", nil, nonNilSlice(b.reason)),
		data.NewField("path_changed", nil, nonNilSlice(b.changed)),
	)
	f.Meta = recordsMeta(data.FrameTypeTable)
	return f
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
