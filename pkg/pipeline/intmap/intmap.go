// Package intmap turns decoded INT telemetry reports into `int_report` rows
// of the record store and into bounded series (report counts, drops, queue
// occupancy, latencies). It is the handler of the INT receiver's workers:
// one Worker per receiver worker, called only from that worker, so it keeps
// its buffers and its flow-path memory without locks; the postcard Joiners
// are shared by the workers of a Mapper (a packet's postcards come from
// several switches, which the receiver gives to different workers).
//
// What a report becomes:
//
//   - every decoded report is one row of type "flow", "drop", "queue" or,
//     for a flow report from the sink carrying the INT stack, "int";
//   - postcards (reports with a switch id, an inner IP packet and no INT
//     stack) also go through the Mapper's intreport.Joiner; each joined
//     packet becomes one more row of type "postcard-path" when the Joiner
//     completes it (at a later Report or Flush: it waits Options.JoinWindow
//     for the other switches). A switch-local report outside postcard mode
//     therefore also yields a one-hop path: that is what the switch saw.
//
// Rows of type "int" and "postcard-path" carry the path ("0x..>0x.."),
// path_changed (the flow's switch list differs from its previous path seen
// by this worker; false for a flow's first path) and the end-to-end latency.
// These rows carry their hops in the `hops` column (see hops.go), which
// ExpandHops turns back into the rows of the path frame. A report without a
// stack has hop_count 1 and no hops text: its one hop is the row's own
// columns (LocalHop), and a postcard's hop is in its postcard-path row too.
//
// Series, aggregated per worker, merged into counters shared by all workers
// at most every second, and written through the pipeline.Sink at most every
// EmitIntervalMs (one batch per device):
//
//	int_reports_total{device,type}            counter, type flow|drop|queue|int
//	int_drops_total{device,port,reason}       counter, port = egress port of the drop report
//	int_queue_occupancy{device,queue}         gauge, max over the interval
//	int_hop_latency_ns_max{device}            gauge, max over the interval
//	int_hop_latency_ns_sum{device}, _count    counters (mean = rate(sum)/rate(count))
//	int_e2e_latency_ns_max{device}            gauge, max over the interval
//	int_e2e_latency_ns_sum{device}, _count    counters
//
// Max and sum/count were chosen over a quantile: they merge exactly across
// workers and intervals, cost no allocation per report, and the record
// store answers quantiles from the rows when a user needs them.
//
// Hop latency is attributed to the switch of each hop (its id as
// "0x%08x", the receiver's DeviceRef.ID for switches with an id): a
// sink's INT stack counts for every transit switch, a local report for its
// own switch. Postcard paths add no hop or queue figures (their postcards
// already did), only the end-to-end latency, to the device of the last hop.
// Queue occupancy comes from the report-level metadata and from each INT
// hop. Cardinality: per device at most Options.MaxPorts ports, MaxQueues
// queues and MaxReasons drop reasons get their own label value, the first
// ones seen; later ones are "other". Devices past MaxDevices are "other".
package intmap

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/netlens/netlens/pkg/decode/intreport"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pipeline"
	"github.com/netlens/netlens/pkg/records"
	"github.com/netlens/netlens/pkg/status"
)

// ReportTable is the record kind (and table name) of INT reports.
const ReportTable = "int_report"

// Record types (the "type" column and the type label of int_reports_total).
const (
	TypeFlow         = "flow"
	TypeDrop         = "drop"
	TypeQueue        = "queue"
	TypeINT          = "int"
	TypePostcardPath = "postcard-path"
)

// Columns of int_report.
const (
	ColTime           = records.TimeColumn
	ColDevice         = "device"
	ColSwitchID       = "switch_id"
	ColHwID           = "hw_id"
	ColSeq            = "seq"
	ColType           = "type"
	ColFlags          = "flags"
	ColSrcAddr        = "src_addr"
	ColDstAddr        = "dst_addr"
	ColSrcPort        = "src_port"
	ColDstPort        = "dst_port"
	ColProtocol       = "protocol"
	ColFlow           = "flow"
	ColDSCP           = "dscp"
	ColIngressPort    = "ingress_port"
	ColEgressPort     = "egress_port"
	ColQueueID        = "queue_id"
	ColQueueOccupancy = "queue_occupancy"
	ColDropReason     = "drop_reason"
	ColHopCount       = "hop_count"
	ColE2ELatency     = "e2e_latency"
	ColMaxHopLatency  = "max_hop_latency"
	ColPath           = "path"
	ColPathChanged    = "path_changed"
	ColHops           = "hops"
)

// Series names.
const (
	ReportsTotal     = "int_reports_total"
	DropsTotal       = "int_drops_total"
	QueueOccupancy   = "int_queue_occupancy"
	HopLatencyMax    = "int_hop_latency_ns_max"
	HopLatencySum    = "int_hop_latency_ns_sum"
	HopLatencyCount  = "int_hop_latency_ns_count"
	E2ELatencyMax    = "int_e2e_latency_ns_max"
	E2ELatencySum    = "int_e2e_latency_ns_sum"
	E2ELatencyCount  = "int_e2e_latency_ns_count"
	LabelOther       = "other"
	LabelUnknownPort = "unknown"
)

// EmitIntervalMs is how often series go to the sink: often enough for
// 1-minute rates, rarely enough that the series store's cost does not grow
// with the report rate.
const EmitIntervalMs = 10_000

// mergeIntervalMs is how often a worker moves its counts into the shared
// counters: the shared lock then costs nothing per report.
const mergeIntervalMs = 1_000

// Board counters.
const (
	CounterReports      = "int_map_reports"
	CounterPostcardPath = "int_map_postcard_paths"
	CounterRowsStored   = "int_map_rows_stored"
	CounterAppendErrors = "int_map_series_append_errors"
	CounterRejected     = "int_map_series_samples_rejected"
	CounterDevicesOther = "int_map_devices_folded"
)

// Options bound a Mapper; zero fields take the defaults.
type Options struct {
	// JoinWindow is how long a postcard path waits for the other switches'
	// postcards (default 100 ms); JoinPending bounds the paths waiting,
	// all workers together (default 2048: 4.5 MB of slots; more spills the
	// CPU caches, about 15 % of a postcard).
	JoinWindow  time.Duration
	JoinPending int
	// PathFlows bounds the flows whose last path one worker remembers for
	// path_changed (default 16384, least recently seen forgotten first).
	PathFlows int
	// Per device label bounds (defaults 64 ports, 32 queues, 32 reasons)
	// and the devices with series of their own (default 4096).
	MaxPorts, MaxQueues, MaxReasons, MaxDevices int
	// Context is given to the sink's Write (default context.Background()).
	Context context.Context
}

func (o *Options) defaults() {
	if o.JoinWindow <= 0 {
		o.JoinWindow = 100 * time.Millisecond
	}
	if o.JoinPending <= 0 {
		o.JoinPending = 2048
	}
	if o.PathFlows <= 0 {
		o.PathFlows = 16384
	}
	if o.MaxPorts <= 0 {
		o.MaxPorts = 64
	}
	if o.MaxQueues <= 0 {
		o.MaxQueues = 32
	}
	if o.MaxReasons <= 0 {
		o.MaxReasons = 32
	}
	if o.MaxDevices <= 0 {
		o.MaxDevices = 4096
	}
	if o.Context == nil {
		o.Context = context.Background()
	}
}

// Handler is what the INT receiver calls, one per worker and only from that
// worker (the same method set as intrcv.Handler). r is only valid during
// the call.
type Handler interface {
	Report(dev model.DeviceRef, r *intreport.Report, receivedMs int64)
	Flush(nowMs int64)
}

// Mapper holds what the workers of one int_report table share: the table's
// columns and the series counters.
type Mapper struct {
	table *records.Table
	cols  cols
	board *status.Board
	o     Options
	g     *group
	join  [joinShards]joinShard
}

// joinShards: the receiver spreads reports over its workers by switch
// address, so the postcards of one packet reach different workers. The
// workers of a Mapper therefore share its Joiners, one per shard of flow
// hashes, each under its own lock (taken only for postcards): a path is
// joined whole whichever workers its postcards went through.
const (
	joinShardBits = 3
	joinShards    = 1 << joinShardBits
)

type joinShard struct {
	mu sync.Mutex
	j  *intreport.Joiner
	// paths is the path memory of the shard's postcard paths (INT rows use
	// their worker's: a flow's sink always reaches the same worker).
	paths *pathLRU
	_     [40]byte // one cache line each: the workers' locks do not share one
}

type cols struct {
	device, switchID, hwID, seq, typ, flags, src, dst, srcPort, dstPort, proto, flow, dscp,
	inPort, outPort, queue, occupancy, reason, hopCount, e2e, maxHop, path, changed, hops records.Col
}

// New creates the mapper of one int_report table. series receives the
// series (nil: no series); board counts rows and errors (may be nil).
func New(table *records.Table, series pipeline.Sink, board *status.Board, o Options) (*Mapper, error) {
	if table == nil {
		return nil, fmt.Errorf("intmap: a table is required")
	}
	o.defaults()
	m := &Mapper{table: table, board: board, o: o}
	var err error
	col := func(name string, t records.Type) records.Col {
		c, e := table.Column(name, t)
		if e != nil && err == nil {
			err = e
		}
		return c
	}
	c := &m.cols
	c.device = col(ColDevice, records.String)
	c.switchID = col(ColSwitchID, records.Uint)
	c.hwID = col(ColHwID, records.Uint)
	c.seq = col(ColSeq, records.Uint)
	c.typ = col(ColType, records.String)
	c.flags = col(ColFlags, records.String)
	c.src = col(ColSrcAddr, records.Addr)
	c.dst = col(ColDstAddr, records.Addr)
	c.srcPort = col(ColSrcPort, records.Uint)
	c.dstPort = col(ColDstPort, records.Uint)
	c.proto = col(ColProtocol, records.Uint)
	c.flow = col(ColFlow, records.String)
	c.dscp = col(ColDSCP, records.Uint)
	c.inPort = col(ColIngressPort, records.Uint)
	c.outPort = col(ColEgressPort, records.Uint)
	c.queue = col(ColQueueID, records.Uint)
	c.occupancy = col(ColQueueOccupancy, records.Uint)
	c.reason = col(ColDropReason, records.Uint)
	c.hopCount = col(ColHopCount, records.Uint)
	c.e2e = col(ColE2ELatency, records.Uint)
	c.maxHop = col(ColMaxHopLatency, records.Uint)
	c.path = col(ColPath, records.String)
	c.changed = col(ColPathChanged, records.Bool)
	c.hops = col(ColHops, records.String)
	if err != nil {
		return nil, fmt.Errorf("intmap: %w", err)
	}
	m.g = newGroup(series, board, &m.o)
	for i := range m.join {
		m.join[i].j = intreport.NewJoiner(intreport.JoinerOptions{Window: m.o.JoinWindow,
			MaxPending: max(1, (m.o.JoinPending+joinShards-1)/joinShards)})
		m.join[i].paths = newPathLRU(max(1, (m.o.PathFlows+joinShards-1)/joinShards))
	}
	return m, nil
}

// Worker returns the handler of one receiver worker.
func (m *Mapper) Worker() *Worker {
	w := &Worker{
		m:     m,
		app:   m.table.NewAppender(),
		paths: newPathLRU(m.o.PathFlows),
		pend:  newPending(&m.o),
	}
	w.emitPath = w.pathRow
	return w
}

// Worker is the Handler of one receiver worker. Not safe for concurrent use.
type Worker struct {
	m        *Mapper
	app      *records.Appender
	emitPath func(*intreport.Path)
	paths    *pathLRU // of the INT rows
	pend     *pending
	// shardPaths is the path memory of the join shard this worker holds
	shardPaths *pathLRU

	lastMergeMs int64
	// counted since the last Flush, then added to the board at once
	nReports, nPaths, nRows int

	hops  []byte // the row's hops text
	path  []byte // the row's path text
	flows flowTexts
	ids   [intreport.HopLimit]uint32
}

var _ Handler = (*Worker)(nil)

// Report maps one decoded report: its own row, its figures, and its
// postcard to the Joiner (which may complete earlier paths now).
func (w *Worker) Report(dev model.DeviceRef, r *intreport.Report, receivedMs int64) {
	w.nReports++
	h := &r.Header
	typ := typeOf(r)
	d := w.pend.device(dev.ID)
	d.reportsAdd(typ)

	a, c := w.app, &w.m.cols
	a.Begin(receivedMs)
	a.String(c.device, d.nameB)
	if h.HasSwitchID {
		a.Uint(c.switchID, uint64(h.SwitchID))
	}
	a.Uint(c.hwID, uint64(h.HwID))
	a.Uint(c.seq, uint64(h.Seq))
	a.String(c.typ, typeNamesB[typ])
	a.String(c.flags, flagText(h))
	k := r.Flow()
	fh := w.writeFlow(k, r.Inner.IPVersion != 0)
	if r.Inner.IPVersion != 0 {
		a.Uint(c.dscp, uint64(r.OriginalDSCP()))
	}
	if h.Md&intreport.MdPorts != 0 {
		a.Uint(c.inPort, uint64(h.IngressPort))
		a.Uint(c.outPort, uint64(h.EgressPort))
	}
	if h.Md&(intreport.MdQueue|intreport.MdDrop) != 0 {
		a.Uint(c.queue, uint64(h.QueueID))
	}
	if h.Md&intreport.MdQueue != 0 {
		a.Uint(c.occupancy, uint64(h.QueueOccupancy))
		d.queue(h.QueueID, h.QueueOccupancy)
	}
	dropped := h.Kind == intreport.KindDrop
	if dropped {
		port := uint32(portUnknown)
		if h.Md&intreport.MdPorts != 0 {
			port = uint32(h.EgressPort)
		}
		reason := uint16(reasonUnknown)
		if h.Md&intreport.MdDrop != 0 {
			reason = uint16(h.DropReason)
			a.Uint(c.reason, uint64(h.DropReason))
		}
		d.drop(port, reason)
	}

	if r.INT.Present && r.INT.HopCount > 0 {
		n := r.INT.HopCount
		// The drop happened at the reporting switch: the hop with its id,
		// else the newest hop.
		dropAt := -1
		if dropped {
			dropAt = n - 1
			if h.HasSwitchID {
				for i := range n {
					if r.Hops[i].Present&intreport.ItemSwitchID != 0 && r.Hops[i].SwitchID == h.SwitchID {
						dropAt = i
					}
				}
			}
		}
		w.hops = w.hops[:0]
		var maxLat uint32
		var hasLat bool
		for i := range n {
			hp := &r.Hops[i]
			reason := -1
			if i == dropAt {
				reason = int(h.DropReason)
			}
			w.hops = appendHop(w.hops, hp, reason)
			w.ids[i] = hp.SwitchID
			hd := d
			if hp.Present&intreport.ItemSwitchID != 0 {
				hd = w.pend.deviceByID(hp.SwitchID)
			}
			if l, ok := intreport.HopLatency(hp); ok {
				hd.hopLat.add(l)
				maxLat, hasLat = max(maxLat, l), true
			}
			if hp.Present&intreport.ItemQueue != 0 {
				hd.queue(hp.QueueID, hp.QueueOccupancy)
			}
		}
		a.Uint(c.hopCount, uint64(n))
		if hasLat {
			a.Uint(c.maxHop, uint64(maxLat))
		}
		if e, ok := intreport.EndToEnd(r); ok {
			a.Uint(c.e2e, uint64(e))
			d.e2eLat.add(e)
		}
		w.writePath(w.paths, fh, n, dropped)
		a.String(c.hops, w.hops)
	} else {
		// A local report is its switch's own hop, whose values are all in
		// the row's columns already: no hops text (see LocalHop), which
		// would be a new dictionary entry for nearly every row.
		a.Uint(c.hopCount, 1)
		if l, ok := intreport.LocalLatency(h); ok {
			a.Uint(c.maxHop, uint64(l))
			d.hopLat.add(l)
		}
	}
	a.Commit()

	if h.HasSwitchID && r.Inner.IPVersion != 0 && !r.INT.Present { // a postcard
		sh := w.lock(int(fh >> (64 - joinShardBits))) // fh hashes the joiner's flow key: no INT here
		sh.j.Add(time.UnixMilli(receivedMs), r, w.emitPath)
		sh.mu.Unlock()
	}
}

// lock takes join shard i for this worker: the paths it emits are written
// by this worker, compared with the shard's path memory.
func (w *Worker) lock(i int) *joinShard {
	sh := &w.m.join[i]
	sh.mu.Lock()
	w.shardPaths = sh.paths
	return sh
}

// pathRow writes the row of one joined postcard path (under its shard's
// lock).
func (w *Worker) pathRow(p *intreport.Path) {
	w.nPaths++
	n := p.HopCount
	// A lone drop or queue report is a path of one hop that says nothing
	// its own row does not: in INT mode every spine's drop and queue
	// reports would otherwise double as one-hop postcard paths, charting
	// the spine as a sink and doubling those rows.
	if n == 0 || n == 1 && !p.Hops[0].FromPostcard() {
		return
	}
	last := &p.Hops[n-1]
	d := w.pend.deviceByID(last.SwitchID)
	a, c := w.app, &w.m.cols
	a.Begin(p.Last.UnixMilli())
	a.String(c.device, d.nameB)
	a.Uint(c.switchID, uint64(last.SwitchID))
	a.Uint(c.hwID, uint64(last.HwID))
	a.Uint(c.seq, uint64(last.Seq))
	a.String(c.typ, typeNamesB[typPath])
	if p.Dropped {
		a.String(c.flags, flagsD)
	}
	fh := w.writeFlow(p.Flow, true)
	w.hops = w.hops[:0]
	var maxLat uint32
	var hasLat, hasReason bool
	for i := range n {
		ph := &p.Hops[i]
		reason := -1
		if ph.Kind == intreport.KindDrop {
			reason = int(ph.DropReason)
			if !hasReason {
				// The packet's first drop: a later hop can only have seen
				// a copy.
				a.Uint(c.reason, uint64(ph.DropReason))
				hasReason = true
			}
		}
		w.hops = appendHop(w.hops, &ph.Hop, reason)
		w.ids[i] = ph.SwitchID
		if l, ok := intreport.HopLatency(&ph.Hop); ok {
			maxLat, hasLat = max(maxLat, l), true
		}
	}
	a.Uint(c.hopCount, uint64(n))
	if hasLat {
		a.Uint(c.maxHop, uint64(maxLat))
	}
	if e, ok := p.EndToEnd(); ok {
		a.Uint(c.e2e, uint64(e))
		d.e2eLat.add(e)
	}
	w.writePath(w.shardPaths, fh, n, p.Dropped)
	a.String(c.hops, w.hops)
	a.Commit()
}

// writeFlow sets the inner 5-tuple columns and the flow id (FlowID's
// spelling, so that a path query's flow matches the column), and returns
// the flow key's hash.
func (w *Worker) writeFlow(k intreport.FlowKey, hasIP bool) uint64 {
	if !hasIP {
		return 0
	}
	a, c := w.app, &w.m.cols
	a.Addr(c.src, k.Src)
	a.Addr(c.dst, k.Dst)
	a.Uint(c.proto, uint64(k.Protocol))
	if k.Protocol == intreport.ProtoTCP || k.Protocol == intreport.ProtoUDP {
		a.Uint(c.srcPort, uint64(k.SrcPort))
		a.Uint(c.dstPort, uint64(k.DstPort))
	}
	h := flowHash(k)
	a.String(c.flow, w.flows.text(k, h))
	return h
}

// writePath sets path and path_changed from w.ids[:n], comparing with the
// flow's previous path in paths; partial: the packet was dropped at the
// last of them. fh is the flow's flowHash.
func (w *Worker) writePath(paths *pathLRU, fh uint64, n int, partial bool) {
	a, c := w.app, &w.m.cols
	w.path = appendPath(w.path[:0], w.ids[:n])
	changed := paths.observe(fh, w.ids[:n], partial)
	a.String(c.path, w.path)
	a.Bool(c.changed, changed)
}

// flowTextSlots is the size of a worker's cache of flow ids (a power of 2).
const flowTextSlots = 4096

// flowTexts caches the flow column's text of the flows seen recently, by
// flow hash: a few thousand flows make most reports, and spelling two
// addresses for every row was a tenth of a report's time.
type flowTexts struct {
	slots []flowText
}

type flowText struct {
	h    uint64
	key  intreport.FlowKey
	text []byte
}

func (f *flowTexts) text(k intreport.FlowKey, h uint64) []byte {
	if f.slots == nil {
		f.slots = make([]flowText, flowTextSlots)
	}
	s := &f.slots[h&(flowTextSlots-1)]
	if s.text == nil || s.h != h || s.key != k {
		s.h, s.key = h, k
		s.text = appendFlowID(s.text[:0], k.Src, k.Dst, k.Protocol, k.SrcPort, k.DstPort)
	}
	return s.text
}

// Flush emits the postcard paths whose window has passed, moves buffered
// rows into the table, counts on the board and, at most every second,
// merges this worker's figures into the shared counters, which go to the
// sink at most every EmitIntervalMs.
func (w *Worker) Flush(nowMs int64) {
	now := time.UnixMilli(nowMs)
	for i := range w.m.join {
		sh := w.lock(i)
		sh.j.Flush(now, w.emitPath)
		sh.mu.Unlock()
	}
	w.nRows += w.app.Flush()
	if b := w.m.board; b != nil {
		if w.nReports > 0 {
			b.Add(CounterReports, uint64(w.nReports))
		}
		if w.nPaths > 0 {
			b.Add(CounterPostcardPath, uint64(w.nPaths))
		}
		if w.nRows > 0 {
			b.Add(CounterRowsStored, uint64(w.nRows))
		}
	}
	w.nReports, w.nPaths, w.nRows = 0, 0, 0
	if nowMs-w.lastMergeMs < mergeIntervalMs && !w.m.g.due(nowMs) {
		return
	}
	w.lastMergeMs = nowMs
	w.m.g.merge(w.pend)
	w.m.g.emit(nowMs)
}

// FlushAll emits every pending postcard path and flushes, as at shutdown.
func (w *Worker) FlushAll(nowMs int64) {
	for i := range w.m.join {
		sh := w.lock(i)
		sh.j.FlushAll(w.emitPath)
		sh.mu.Unlock()
	}
	w.Flush(nowMs)
}

const (
	typFlow = iota
	typDrop
	typQueue
	typINT
	typPath
	nTypes
)

var typeNames = [nTypes]string{TypeFlow, TypeDrop, TypeQueue, TypeINT, TypePostcardPath}

var typeNamesB = func() (b [nTypes][]byte) {
	for i, s := range typeNames {
		b[i] = []byte(s)
	}
	return b
}()

func typeOf(r *intreport.Report) int {
	switch {
	case r.Header.Kind == intreport.KindDrop:
		return typDrop
	case r.Header.Kind == intreport.KindQueue:
		return typQueue
	case r.INT.Present:
		return typINT
	}
	return typFlow
}

var flagsD = []byte("D")

// flagTexts are the report flags as letters, D (dropped), Q (congested),
// F (tracked flow), in that order: the 8 combinations made once.
var flagTexts = func() (t [8][]byte) {
	for i := range t {
		var b []byte
		if i&1 != 0 {
			b = append(b, 'D')
		}
		if i&2 != 0 {
			b = append(b, 'Q')
		}
		if i&4 != 0 {
			b = append(b, 'F')
		}
		t[i] = b
	}
	return t
}()

func flagText(h *intreport.Header) []byte {
	i := 0
	if h.Dropped {
		i |= 1
	}
	if h.Congested {
		i |= 2
	}
	if h.Tracked {
		i |= 4
	}
	return flagTexts[i]
}

// LocalHop is the path frame hop of a row without hops text (a flow, drop
// or queue report of one switch, without an INT stack), read from the
// row's columns through col (value and whether it is not null). The
// switch's timestamps are not kept for such rows.
func LocalHop(col func(name string) (uint64, bool), names func(id uint32) string) HopRow {
	var h HopRow
	var v uint64
	v, h.HasSwitchID = col(ColSwitchID)
	h.SwitchID = uint32(v)
	v, h.HasIngressPort = col(ColIngressPort)
	h.IngressPort = uint16(v)
	v, h.HasEgressPort = col(ColEgressPort)
	h.EgressPort = uint16(v)
	v, h.HasHopLatency = col(ColMaxHopLatency)
	h.HopLatency = uint32(v)
	v, h.HasQueueID = col(ColQueueID)
	h.QueueID = uint8(v)
	v, h.HasQueueOccupancy = col(ColQueueOccupancy)
	h.QueueOccupancy = uint32(v)
	v, h.Dropped = col(ColDropReason)
	h.DropReason = uint8(v)
	if h.HasSwitchID {
		if names != nil {
			h.Switch = names(h.SwitchID)
		}
		if h.Switch == "" {
			h.Switch = SwitchName(h.SwitchID)
		}
	}
	return h
}

// SwitchName is a switch id as device names and paths spell it.
func SwitchName(id uint32) string {
	return string(appendSwitchID(make([]byte, 0, 10), id))
}

func appendSwitchID(b []byte, id uint32) []byte {
	const hexd = "0123456789abcdef"
	b = append(b, '0', 'x')
	for s := 28; s >= 0; s -= 4 {
		b = append(b, hexd[id>>uint(s)&15])
	}
	return b
}

func appendPath(b []byte, ids []uint32) []byte {
	for i, id := range ids {
		if i > 0 {
			b = append(b, '>')
		}
		b = appendSwitchID(b, id)
	}
	return b
}

// FlowID is the path frame's flow id: "10.1.1.10:40000 > 10.2.2.20:443 tcp";
// ports only for TCP and UDP.
func FlowID(src, dst netip.Addr, protocol uint8, srcPort, dstPort uint16) string {
	return string(appendFlowID(nil, src, dst, protocol, srcPort, dstPort))
}

func appendFlowID(b []byte, src, dst netip.Addr, protocol uint8, srcPort, dstPort uint16) []byte {
	ports := protocol == intreport.ProtoTCP || protocol == intreport.ProtoUDP
	b = appendEndpoint(b, src, srcPort, ports)
	b = append(b, " > "...)
	b = appendEndpoint(b, dst, dstPort, ports)
	b = append(b, ' ')
	return append(b, ProtocolName(protocol)...)
}

func appendEndpoint(b []byte, a netip.Addr, port uint16, withPort bool) []byte {
	if !withPort {
		return a.AppendTo(b)
	}
	if a.Is6() && !a.Is4In6() {
		b = append(b, '[')
		b = a.AppendTo(b)
		b = append(b, ']')
	} else {
		b = a.Unmap().AppendTo(b)
	}
	b = append(b, ':')
	return strconv.AppendUint(b, uint64(port), 10)
}

// ProtocolName is the path frame's protocol: tcp, udp, icmp, ipv6-icmp, or
// the number.
func ProtocolName(p uint8) string {
	switch p {
	case intreport.ProtoTCP:
		return "tcp"
	case intreport.ProtoUDP:
		return "udp"
	case intreport.ProtoICMP:
		return "icmp"
	case intreport.ProtoICMPv6:
		return "ipv6-icmp"
	}
	return strconv.Itoa(int(p))
}
