package plugin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/pkg/ingest/ipfix"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/query"
	"github.com/netlens/netlens/pkg/records"
)

// Record kinds: IPFIX flows and IOS XR string leaves (INT reports:
// INTReportKind).
const (
	FlowKind    = "ipfix_flow"
	XRStateKind = "xr_state"
)

// errIPFIXOff answers records requests while the flow table does not exist.
var errIPFIXOff = errors.New("the IPFIX collector is off (no IPFIX listener configured, or it failed to start; see the data source's health check)")

// recordTable returns the table a records query or resource names: by its
// kind, else by its source (flows for ipfix and for neither, as before
// there was a second kind).
func (d *Datasource) recordTable(source, kind string) (*records.Table, error) {
	if kind == "" {
		switch model.Source(source) {
		case "", model.SourceIPFIX:
			kind = FlowKind
		case model.SourceXR:
			kind = XRStateKind
		case model.SourceINT:
			kind = INTReportKind
		default:
			return nil, badRequest{fmt.Errorf("source %q has no records", source)}
		}
	}
	switch kind {
	case FlowKind:
		if source != "" && source != string(model.SourceIPFIX) {
			return nil, badRequest{fmt.Errorf("record kind %s is not from source %q", kind, source)}
		}
		if d.srv.Flows == nil {
			return nil, errIPFIXOff
		}
		return d.srv.Flows, nil
	case XRStateKind:
		if source != "" && source != string(model.SourceXR) {
			return nil, badRequest{fmt.Errorf("record kind %s is not from source %q", kind, source)}
		}
		if d.srv.XRState == nil {
			return nil, errXROff
		}
		return d.srv.XRState, nil
	case INTReportKind:
		if source != "" && source != string(model.SourceINT) {
			return nil, badRequest{fmt.Errorf("record kind %s is not from source %q", kind, source)}
		}
		return d.intTable()
	}
	return nil, badRequest{fmt.Errorf("unknown record kind %q (want %s, %s or %s)", kind, FlowKind, XRStateKind, INTReportKind)}
}

// deviceColumn is the column holding what series call the device: the
// exporter of a flow, the router of an xr_state record, the switch that
// sent an INT report.
func deviceColumn(t *records.Table) string {
	if t.Name() == XRStateKind || t.Name() == INTReportKind {
		return "device"
	}
	return query.ExporterColumn
}

// knownFields reports which fields a table has: ad-hoc filters on others
// are about other panels.
func knownFields(t *records.Table) func(string) bool {
	var names map[string]bool
	return func(n string) bool {
		if names == nil {
			names = map[string]bool{}
			for _, c := range t.Columns() {
				names[c.Name] = true
			}
		}
		return names[n]
	}
}

// restrictRecords narrows a records query to the instance's devices: an
// exporter (address and observation domain) is the flows' device, the
// router the xr_state records'.
func (d *Datasource) restrictRecords(t *records.Table, q *query.Query) {
	if len(d.settings.Devices) > 0 {
		q.Filters = append(q.Filters, query.RecordFilter{Field: deviceColumn(t), Op: query.OpIn, Values: slices.Clone(d.settings.Devices)})
	}
}

// tableOff reports whether err says a record table does not exist
// because its receiver is off.
func tableOff(err error) bool {
	return errors.Is(err, errIPFIXOff) || errors.Is(err, errXROff) || errors.Is(err, errINTOff)
}

func recordsError(err error) backend.DataResponse {
	var bad badRequest
	if tableOff(err) || errors.As(err, &bad) {
		return backend.ErrDataResponse(backend.StatusBadRequest, err.Error())
	}
	return errorResponse(err)
}

// recordsQuery answers a records query: raw rows, aggregates, a variable's
// values, or a live channel with its history.
func (d *Datasource) recordsQuery(ctx context.Context, pc backend.PluginContext, dq backend.DataQuery, q query.Query) backend.DataResponse {
	t, err := d.recordTable(q.Source, q.RecordKind)
	if err != nil {
		return recordsError(err)
	}
	d.restrictRecords(t, &q)
	if query.IsRecordValues(q) {
		vals, err := d.recordValues(ctx, t, q.Field, "", dq.TimeRange.From.UnixMilli(), dq.TimeRange.To.UnixMilli(), maxCatalogValues)
		if err != nil {
			return recordsError(err)
		}
		return backend.DataResponse{Frames: data.Frames{query.RecordValuesFrame(dq.RefID, q.Field, vals)}}
	}
	known := knownFields(t)
	if q.Live && query.RecordsLiveable(q) {
		frame, lq, err := query.LiveRecordsHistory(ctx, t, q, dq.TimeRange, dq.Interval, dq.MaxDataPoints, known, time.Now().UnixMilli())
		if err != nil {
			return recordsError(err)
		}
		path := d.shared.channels.register(liveQuery{OrgID: pc.OrgID, UID: d.uid, Live: lq})
		frame.Meta.Channel = "ds/" + d.uid + "/" + path
		d.nameSwitches(t, q, data.Frames{frame}, true)
		return backend.DataResponse{Frames: data.Frames{frame}}
	}
	frames, err := query.ExecuteRecords(ctx, t, q, dq.TimeRange, dq.Interval, dq.MaxDataPoints, known)
	if err != nil {
		return recordsError(err)
	}
	d.nameSwitches(t, q, frames, true)
	if q.Live {
		frames[0].AppendNotices(data.Notice{Severity: data.NoticeSeverityInfo,
			Text: "aggregates over the whole range do not stream; add a time bucket or refresh the panel"})
	}
	return backend.DataResponse{Frames: frames}
}

// nameSwitches adds the switch names to an int_report answer (see
// withSwitchColumn); notices says whether to name the query's bad entries.
func (d *Datasource) nameSwitches(t *records.Table, q query.Query, frames data.Frames, notices bool) {
	if t.Name() != INTReportKind || len(frames) == 0 {
		return
	}
	names, bad := d.switchNames(q)
	withSwitchColumn(frames, names)
	if notices {
		frames[0].AppendNotices(bad...)
	}
}

// recordValues lists a field's values, most frequent first. A restricted
// instance must not see other devices' values, and the table's own value
// index knows nothing of devices, so it asks a grouped count.
func (d *Datasource) recordValues(ctx context.Context, t *records.Table, field, prefix string, fromMs, toMs int64, limit int) ([]string, error) {
	if field == "" {
		return nil, badRequest{errors.New("field: required")}
	}
	if len(d.settings.Devices) == 0 {
		vals, err := t.Values(field, prefix, fromMs, toMs, limit)
		if errors.Is(err, records.ErrUnknownColumn) {
			return []string{}, nil // not arrived yet: nothing to offer
		}
		if err != nil {
			return nil, badRequest{err}
		}
		return nonNil(vals), nil
	}
	res, err := t.Query(ctx, records.Query{
		FromMs: fromMs, ToMs: toMs, GroupBy: []string{field},
		Filters:    []records.Filter{{Column: deviceColumn(t), Op: query.OpIn, Values: d.settings.Devices}},
		Aggregates: []records.Aggregate{{Func: "count"}}, TopN: query.MaxRecordGroups,
	})
	if errors.Is(err, records.ErrUnknownColumn) {
		return []string{}, nil
	}
	if err != nil {
		return nil, badRequest{err}
	}
	out := []string{}
	for _, c := range res.Columns {
		if c.Name != field {
			continue
		}
		for i, v := range query.ColumnText(c) {
			if len(out) == limit {
				break
			}
			if (i >= len(c.Null) || !c.Null[i]) && strings.HasPrefix(v, prefix) {
				out = append(out, v)
			}
		}
	}
	return out, nil
}

// recordField is one entry of GET records/fields.
type recordField struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Rows int64  `json:"rows"`
}

func (d *Datasource) handleRecordFields(w http.ResponseWriter, r *http.Request) {
	t, err := d.recordTable(r.URL.Query().Get("source"), r.URL.Query().Get("kind"))
	if err != nil {
		writeRecordsError(w, err)
		return
	}
	cols := t.Columns()
	out := make([]recordField, 0, len(cols))
	for _, c := range cols {
		out = append(out, recordField{Name: c.Name, Type: c.Type.String(), Rows: c.Rows})
	}
	// Most filled first: the fields every flow has lead the editor's menu,
	// a vendor field one exporter sends once comes last.
	slices.SortFunc(out, func(a, b recordField) int {
		return cmp.Or(cmp.Compare(b.Rows, a.Rows), strings.Compare(a.Name, b.Name))
	})
	writeJSON(w, out)
}

func (d *Datasource) handleRecordValues(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	t, err := d.recordTable(q.Get("source"), q.Get("kind"))
	if err != nil {
		writeRecordsError(w, err)
		return
	}
	now := time.Now()
	from, to := now.Add(-catalogWindow).UnixMilli(), now.UnixMilli()
	limit := 100
	for _, p := range []struct {
		key string
		dst *int64
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(p.key); v != "" {
			ms, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				writeError(w, http.StatusBadRequest, fmt.Errorf("%s: %q is not milliseconds", p.key, v))
				return
			}
			*p.dst = ms
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, fmt.Errorf("limit: %q is not a positive number", v))
			return
		}
		limit = min(n, maxCatalogValues)
	}
	vals, err := d.recordValues(r.Context(), t, q.Get("field"), q.Get("prefix"), from, to, limit)
	if err != nil {
		writeRecordsError(w, err)
		return
	}
	writeJSON(w, vals)
}

func writeRecordsError(w http.ResponseWriter, err error) {
	var bad badRequest
	switch {
	case tableOff(err):
		writeError(w, http.StatusServiceUnavailable, err)
	case errors.As(err, &bad):
		writeError(w, http.StatusBadRequest, err)
	default:
		writeError(w, http.StatusInternalServerError, err)
	}
}

// exporters lists the IPFIX exporters this instance may see.
func (d *Datasource) exporters() []ipfix.ExporterStatus {
	if d.srv.IPFIX == nil {
		return []ipfix.ExporterStatus{}
	}
	out := []ipfix.ExporterStatus{}
	for _, e := range d.srv.IPFIX.Exporters() {
		if len(d.settings.Devices) == 0 || slices.Contains(d.settings.Devices, e.Device) {
			out = append(out, e)
		}
	}
	return out
}

func (d *Datasource) handleExporters(w http.ResponseWriter, r *http.Request) {
	if d.srv.IPFIX == nil {
		writeError(w, http.StatusServiceUnavailable, errIPFIXOff)
		return
	}
	writeJSON(w, d.exporters())
}

// ipfixStatus is the status page's IPFIX section: exporters by state and
// the flow table's figures (rows, memory, evictions).
func (d *Datasource) ipfixStatus() map[string]any {
	states := map[string]int{ipfix.StateOK: 0, ipfix.StateLosing: 0, ipfix.StateStopped: 0}
	var recordsPerSec float64
	var lost uint64
	exps := d.exporters()
	for _, e := range exps {
		states[e.State]++
		recordsPerSec += e.RecordsPerSec
		lost += e.LostRecords + e.LostPackets
	}
	out := map[string]any{
		"enabled":       d.srv.IPFIX != nil,
		"exporters":     len(exps),
		"states":        states,
		"recordsPerSec": recordsPerSec,
		"lostRecords":   lost,
	}
	if d.srv.Flows != nil {
		out["flows"] = d.srv.Flows.Stats()
	}
	if d.srv.IPFIX != nil {
		asked, granted := d.srv.IPFIX.ReadBuffer()
		out["udpReadBuffer"] = map[string]int{"asked": asked, "granted": granted}
	}
	return out
}

// ipfixHealth adds what an operator must hear about exporters: one that
// went silent, or one losing export packets (sequence gaps) or having its
// records dropped by the receiver.
func (d *Datasource) ipfixHealth(r *healthReport) {
	if d.srv.IPFIX == nil {
		return
	}
	exps := d.exporters()
	ok := 0
	for _, e := range exps {
		switch e.State {
		case ipfix.StateStopped:
			r.Warnings = append(r.Warnings, fmt.Sprintf("IPFIX exporter %s (%s) stopped sending; last seen %s",
				e.Device, e.Address, time.UnixMilli(e.LastSeenMs).UTC().Format(time.RFC3339)))
		case ipfix.StateLosing:
			r.Warnings = append(r.Warnings, fmt.Sprintf("IPFIX exporter %s (%s) is losing export packets: %d records missing by sequence numbers%s",
				e.Device, e.Address, e.LostRecords+e.LostPackets, dropsText(e.Drops)))
		default:
			ok++
			if len(e.Drops) > 0 {
				r.Warnings = append(r.Warnings, fmt.Sprintf("IPFIX exporter %s (%s): the receiver dropped%s",
					e.Device, e.Address, dropsText(e.Drops)))
			}
		}
	}
	r.Notes = append(r.Notes, fmt.Sprintf("%d of %d IPFIX exporters sending", ok, len(exps)))
	// The kernel caps the socket buffer at net.core.rmem_max: a burst
	// larger than what it grants is lost before the receiver sees it
	// (counted as socket_overflow).
	if asked, granted := d.srv.IPFIX.ReadBuffer(); granted > 0 && granted < asked {
		r.Notes = append(r.Notes, fmt.Sprintf("IPFIX UDP receive buffer is %d KiB of the %d KiB asked; raise net.core.rmem_max for bursts", granted>>10, asked>>10))
	}
	if d.srv.Flows != nil {
		st := d.srv.Flows.Stats()
		r.Notes = append(r.Notes, fmt.Sprintf("flow table holds %d records", st.Rows))
	}
}

func dropsText(drops map[string]uint64) string {
	if len(drops) == 0 {
		return ""
	}
	keys := make([]string, 0, len(drops))
	for k := range drops {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", drops[k], k)
	}
	return "; dropped " + strings.Join(parts, ", ")
}

// recordsPoll is how often a live records stream looks for new rows: the
// table's version says whether anything was flushed since.
const recordsPoll = 500 * time.Millisecond

// runRecordsStream pushes a live records query's new rows, or its newly
// completed buckets, until the last subscriber leaves. It polls the table's
// version instead of queueing notifications, so a slow browser costs at
// most one pending push of at most the query's limit of rows; pushes that
// could not carry every new row are counted.
func (d *Datasource) runRecordsStream(ctx context.Context, lq liveQuery, sender *backend.StreamSender) error {
	t, err := d.recordTable(lq.Live.Query.Source, lq.Live.Query.RecordKind)
	if err != nil {
		return err
	}
	known := knownFields(t)
	cur, err := query.NewRecordsCursor(ctx, t, lq.Live, known, time.Now().UnixMilli())
	if err != nil {
		return err
	}
	tick := time.NewTicker(recordsPoll)
	defer tick.Stop()
	version := t.Version()
	var last *data.Frame
	overflows := cur.Overflows
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		v := t.Version()
		if lq.Live.BucketMs == 0 && v == version {
			continue // raw rows: nothing flushed since the last look
		}
		version = v
		frame, err := cur.Next(ctx, t, time.Now().UnixMilli())
		if cur.Overflows != overflows {
			d.srv.Board.Add("live_records_overflows", cur.Overflows-overflows)
			overflows = cur.Overflows
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			d.srv.Board.Add("live_query_errors", 1)
			continue
		}
		if frame == nil {
			continue
		}
		d.nameSwitches(t, lq.Live.Query, data.Frames{frame}, false)
		include := data.IncludeDataOnly
		if !sameColumns(frame, last) {
			include = data.IncludeAll
		}
		if err := sender.SendFrame(frame, include); err != nil {
			return err
		}
		last = frame
		d.srv.Board.Add("live_frames_sent", 1)
	}
}

// sameColumns reports whether a push may leave the schema out: same
// fields, names, labels and types.
func sameColumns(a, b *data.Frame) bool {
	if !query.SameSchema(a, b) {
		return false
	}
	for i := range a.Fields {
		if a.Fields[i].Type() != b.Fields[i].Type() {
			return false
		}
	}
	return true
}
