// Package flows turns decoded IPFIX and NetFlow v9 records into `ipfix_flow`
// rows of the record store and into bounded volume counters of the series
// store. One Flows serves one receiver worker; it is not safe for
// concurrent use, which is what lets it reuse every buffer between records.
package flows

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/bits"
	"strconv"

	"github.com/netlens/netlens/pkg/decode/ipfix"
	"github.com/netlens/netlens/pkg/pipeline"
	"github.com/netlens/netlens/pkg/records"
	"github.com/netlens/netlens/pkg/status"
)

// Kind is the record kind (and table name) of flow records.
const Kind = "ipfix_flow"

// Series names.
const (
	BytesTotal   = "ipfix_bytes_total"
	PacketsTotal = "ipfix_packets_total"
	FlowsTotal   = "ipfix_flows_total"
)

// EmitIntervalMs is how often volume counters go to the series store: often
// enough for 1-minute rates, rarely enough that the series store's write
// cost does not grow with the flow rate.
const EmitIntervalMs = 10_000

// mergeIntervalMs is how often a worker moves its counts into the counters
// it shares with the other workers: rarely enough that the shared lock and
// the walk over its devices' applications cost nothing per message.
const mergeIntervalMs = 1_000

// Limits that keep memory bounded whatever exporters send.
const (
	// TopApplications is how many applications per device get their own
	// series; the rest add up under "other".
	TopApplications = 50
	// maxPlans bounds the per-template column plans of one worker; past it
	// the cache starts over (plans are cheap to rebuild).
	maxPlans = 4096
	// maxDevices bounds the per-device state of one worker.
	maxDevices = 4096
)

// Fixed column names of ipfix_flow (contract section 4).
const (
	ColExporter       = "exporter"
	ColTime           = records.TimeColumn
	ColStart          = "start"
	ColSrcAddr        = "src_addr"
	ColDstAddr        = "dst_addr"
	ColSrcPort        = "src_port"
	ColDstPort        = "dst_port"
	ColProtocol       = "protocol"
	ColBytes          = "bytes"
	ColPackets        = "packets"
	ColBytesRaw       = "bytes_raw"
	ColPacketsRaw     = "packets_raw"
	ColSamplingRate   = "sampling_rate"
	ColInIf           = "in_if"
	ColOutIf          = "out_if"
	ColTCPFlags       = "tcp_flags"
	ColTOS            = "tos"
	ColApplication    = "application"
	ColReverseBytes   = "reverse_bytes"
	ColReversePackets = "reverse_packets"
)

// Flows is the ipfix.Handler of one receiver worker.
type Flows struct {
	table  *records.Table
	app    *records.Appender
	series pipeline.Appender
	board  *status.Board

	fixed fixedCols
	plans map[planKey]*plan

	devices     map[ipfix.Scope]*device
	group       *group // volume counters shared with the other workers of this table
	lastMergeMs int64
	mergeBuf    []*pendingApp

	// counted since the last Flush, then added to the board at once
	nRecords, nOptions, nColumnErrors, nRowsFlushed int

	vals   flowVals
	buf    []byte // scratch for hex and MAC text of one field
	appBuf []byte // the record's application text, alive until the record is counted
}

type fixedCols struct {
	exporter, start, src, dst, srcPort, dstPort, proto, bytes, packets, bytesRaw, packetsRaw,
	rate, inIf, outIf, flags, tos, app, revBytes, revPackets records.Col
}

// New creates the handler of one worker. table is the shared ipfix_flow
// table; vol the table's volume counters, shared by all its workers.
func New(table *records.Table, vol *Volumes) (*Flows, error) {
	if table == nil || vol == nil || vol.g.series == nil || vol.g.board == nil {
		return nil, fmt.Errorf("flows: a table and volumes with a series store and a board are required")
	}
	f := &Flows{
		table:   table,
		app:     table.NewAppender(),
		series:  vol.g.series,
		board:   vol.g.board,
		plans:   map[planKey]*plan{},
		devices: map[ipfix.Scope]*device{},
		group:   vol.g,
	}
	var err error
	col := func(name string, t records.Type) records.Col {
		c, e := table.Column(name, t)
		if e != nil && err == nil {
			err = e
		}
		return c
	}
	fc := &f.fixed
	fc.exporter = col(ColExporter, records.String)
	fc.start = col(ColStart, records.Time)
	fc.src = col(ColSrcAddr, records.Addr)
	fc.dst = col(ColDstAddr, records.Addr)
	fc.srcPort = col(ColSrcPort, records.Uint)
	fc.dstPort = col(ColDstPort, records.Uint)
	fc.proto = col(ColProtocol, records.Uint)
	fc.bytes = col(ColBytes, records.Uint)
	fc.packets = col(ColPackets, records.Uint)
	fc.bytesRaw = col(ColBytesRaw, records.Uint)
	fc.packetsRaw = col(ColPacketsRaw, records.Uint)
	fc.rate = col(ColSamplingRate, records.Uint)
	fc.inIf = col(ColInIf, records.Uint)
	fc.outIf = col(ColOutIf, records.Uint)
	fc.flags = col(ColTCPFlags, records.Uint)
	fc.tos = col(ColTOS, records.Uint)
	fc.app = col(ColApplication, records.String)
	fc.revBytes = col(ColReverseBytes, records.Uint)
	fc.revPackets = col(ColReversePackets, records.Uint)
	if err != nil {
		return nil, fmt.Errorf("flows: %w", err)
	}
	return f, nil
}

// Options counts an options record. What options carry (sampling rates,
// application names, the exporter's boot time) the decoder has already
// applied to the data records; they are not flows.
func (f *Flows) Options(r *ipfix.Record) { f.nOptions++ }

// Record stores one flow and adds it to the volume counters.
func (f *Flows) Record(r *ipfix.Record) {
	f.nRecords++
	p := f.plan(r)
	v := &f.vals
	*v = flowVals{}
	rate := r.SamplingRate
	if rate == 0 {
		rate = 1
	}
	for i := range p.steps {
		s := &p.steps[i]
		if s.role == roleNone {
			continue
		}
		fl := r.Fields[i]
		switch s.role {
		case roleSrc:
			v.src = fl.Addr()
		case roleDst:
			v.dst = fl.Addr()
		case roleSrcPort:
			v.srcPort, v.has = fl.Uint(), v.has|hasSrcPort
		case roleDstPort:
			v.dstPort, v.has = fl.Uint(), v.has|hasDstPort
		case roleProto:
			v.proto, v.has = fl.Uint(), v.has|hasProto
		case roleBytes:
			v.bytes, v.has = fl.Uint(), v.has|hasBytes
		case rolePackets:
			v.packets, v.has = fl.Uint(), v.has|hasPackets
		case roleRevBytes:
			v.revBytes, v.has = fl.Uint(), v.has|hasRevBytes
		case roleRevPackets:
			v.revPackets, v.has = fl.Uint(), v.has|hasRevPackets
		case roleInIf:
			v.inIf, v.has = fl.Uint(), v.has|hasInIf
		case roleOutIf:
			v.outIf, v.has = fl.Uint(), v.has|hasOutIf
		case roleFlags:
			v.flags, v.has = fl.Uint(), v.has|hasFlags
		case roleTOS:
			v.tos, v.has = fl.Uint(), v.has|hasTOS
		case roleStart, roleEnd:
			t := fl.TimeMs(r.ExportTimeSec, r.SystemInitMs)
			if t <= 0 {
				break
			}
			if s.role == roleStart && s.rank > v.startRank {
				v.start, v.startRank = t, s.rank
			} else if s.role == roleEnd && s.rank > v.endRank {
				v.end, v.endRank = t, s.rank
			}
		case roleAppName:
			if v.appName == nil {
				v.appName = trimNUL(fl.Value)
			}
		case roleAppID:
			if v.appID == nil {
				v.appID = fl.Value
			}
		}
	}

	end := v.end
	if end == 0 {
		// No flow time the exporter gave us: the export time is the closest
		// thing it said, then our own receive time.
		end = int64(r.ExportTimeSec) * 1000
		if end == 0 {
			end = r.ReceivedMs
		}
	}
	bytes, packets := scale(v.bytes, rate), scale(v.packets, rate)

	d := f.device(r.Scope)
	a, fc := f.app, &f.fixed
	a.Begin(end)
	a.String(fc.exporter, d.nameBytes)
	if v.start != 0 {
		a.Time(fc.start, v.start)
	}
	a.Addr(fc.src, v.src)
	a.Addr(fc.dst, v.dst)
	if v.has&hasSrcPort != 0 {
		a.Uint(fc.srcPort, v.srcPort)
	}
	if v.has&hasDstPort != 0 {
		a.Uint(fc.dstPort, v.dstPort)
	}
	if v.has&hasProto != 0 {
		a.Uint(fc.proto, v.proto)
	}
	if v.has&hasBytes != 0 {
		a.Uint(fc.bytes, bytes)
		a.Uint(fc.bytesRaw, v.bytes)
	}
	if v.has&hasPackets != 0 {
		a.Uint(fc.packets, packets)
		a.Uint(fc.packetsRaw, v.packets)
	}
	a.Uint(fc.rate, rate)
	if v.has&hasInIf != 0 {
		a.Uint(fc.inIf, v.inIf)
	}
	if v.has&hasOutIf != 0 {
		a.Uint(fc.outIf, v.outIf)
	}
	if v.has&hasFlags != 0 {
		a.Uint(fc.flags, v.flags)
	}
	if v.has&hasTOS != 0 {
		a.Uint(fc.tos, v.tos)
	}
	if v.has&hasRevBytes != 0 {
		a.Uint(fc.revBytes, scale(v.revBytes, rate))
	}
	if v.has&hasRevPackets != 0 {
		a.Uint(fc.revPackets, scale(v.revPackets, rate))
	}
	// The application's name: the exporter's options table first, then a
	// name in the record itself, then the RFC 6759 id as "engine:selector".
	app := f.appBuf[:0]
	switch {
	case r.Application != "":
		app = append(app, r.Application...)
	case len(v.appName) > 0:
		app = append(app, v.appName...)
	case len(v.appID) > 0:
		app = appendAppID(app, v.appID)
	}
	if len(app) > 0 {
		a.String(fc.app, app)
	}
	f.appBuf = app

	for i := range p.steps {
		s := &p.steps[i]
		if s.role != roleNone && s.role != roleAppID || s.kind == kindSkip {
			continue
		}
		f.writeField(s, r.Fields[i])
	}
	a.Commit()

	// A biflow is traffic in both directions: the volume counters carry
	// both, so a LoadMaster's biflows and a router's uniflows chart alike.
	f.count(d, v, bytes+scale(v.revBytes, rate), packets+scale(v.revPackets, rate), app)
}

// writeField stores a field that has no fixed column in the column of its
// element's name, converted by the element's type.
func (f *Flows) writeField(s *step, fl ipfix.Field) {
	a := f.app
	val := fl.Value
	switch s.kind {
	case kindUint:
		if len(val) > 8 {
			f.writeHex(s.col, val)
			return
		}
		a.Uint(s.col, fl.Uint())
	case kindInt:
		a.Int(s.col, fl.Int())
	case kindFloat:
		a.Float(s.col, fl.Float())
	case kindBool:
		// RFC 7011: 1 is true, 2 is false; anything else is no value.
		if len(val) == 1 && (val[0] == 1 || val[0] == 2) {
			a.Bool(s.col, val[0] == 1)
		}
	case kindTime:
		if t := fl.TimeMs(0); t > 0 {
			a.Time(s.col, t)
		}
	case kindAddr:
		a.Addr(s.col, fl.Addr())
	case kindString:
		a.String(s.col, trimNUL(val))
	case kindMAC:
		if len(val) != 6 {
			f.writeHex(s.col, val)
			return
		}
		const hexd = "0123456789abcdef"
		b := f.buf[:0]
		for i, c := range val {
			if i > 0 {
				b = append(b, ':')
			}
			b = append(b, hexd[c>>4], hexd[c&15])
		}
		a.String(s.col, b)
		f.buf = b
	case kindAppID:
		if len(val) > 0 {
			f.buf = appendAppID(f.buf[:0], val)
			a.String(s.col, f.buf)
		}
	default:
		f.writeHex(s.col, val)
	}
}

func (f *Flows) writeHex(c records.Col, v []byte) {
	if c.Type() != records.String {
		return
	}
	f.buf = hex.AppendEncode(f.buf[:0], v)
	f.app.String(c, f.buf)
}

// scale multiplies a sampled count by the sampling rate, saturating rather
// than wrapping for absurd rates.
func scale(v, rate uint64) uint64 {
	hi, lo := bits.Mul64(v, rate)
	if hi != 0 {
		return ^uint64(0)
	}
	return lo
}

// appendAppID renders an RFC 6759 applicationId: the classification
// engine, then the selector as a number ("13:453"), with the PEN of engine
// 20 (PANA-L7-PEN) in between ("20:9:12"). Selectors longer than 8 bytes
// are written in hex.
func appendAppID(b, v []byte) []byte {
	engine := v[0]
	b = strconv.AppendUint(b, uint64(engine), 10)
	sel := v[1:]
	if engine == 20 && len(sel) >= 4 {
		b = append(b, ':')
		b = strconv.AppendUint(b, uint64(sel[0])<<24|uint64(sel[1])<<16|uint64(sel[2])<<8|uint64(sel[3]), 10)
		sel = sel[4:]
	}
	if len(sel) == 0 {
		return b
	}
	b = append(b, ':')
	if len(sel) > 8 {
		return hex.AppendEncode(b, sel)
	}
	var x uint64
	for _, c := range sel {
		x = x<<8 | uint64(c)
	}
	return strconv.AppendUint(b, x, 10)
}

func trimNUL(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	return b
}

// Flush moves buffered rows into the table, adds this worker's counts to the
// status board, at most every second merges its volume counts into the
// counters shared by the table's workers and, at most every EmitIntervalMs
// across them, appends those counters to the series store. The receiver
// calls it after each message or batch.
func (f *Flows) Flush(ctx context.Context, nowMs int64) error {
	f.nRowsFlushed += f.app.Flush()
	if f.nRecords > 0 {
		f.board.Add("ipfix_flow_records", uint64(f.nRecords))
	}
	if f.nOptions > 0 {
		f.board.Add("ipfix_options_records", uint64(f.nOptions))
	}
	if f.nRowsFlushed > 0 {
		f.board.Add("ipfix_flow_rows_stored", uint64(f.nRowsFlushed))
	}
	if f.nColumnErrors > 0 {
		f.board.Add("ipfix_flow_column_errors", uint64(f.nColumnErrors))
	}
	f.nRecords, f.nOptions, f.nRowsFlushed, f.nColumnErrors = 0, 0, 0, 0
	if nowMs-f.lastMergeMs < mergeIntervalMs && !f.group.due(nowMs) {
		return nil
	}
	f.lastMergeMs = nowMs
	return f.emit(ctx, nowMs)
}

var _ ipfix.Handler = (*Flows)(nil)
