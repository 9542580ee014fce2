package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/pkg/ingest/intrcv"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pipeline/intmap"
	"github.com/netlens/netlens/pkg/query"
	"github.com/netlens/netlens/pkg/records"
	"github.com/netlens/netlens/pkg/server"
)

// INTReportKind is the record kind of INT telemetry reports.
const INTReportKind = server.INTTable

// errINTOff answers INT queries and resources while INT is off.
var errINTOff = errors.New("the INT receiver is off (no INT listener configured, or it failed to start; see the data source's health check)")

// intTable is the int_report table, or errINTOff.
func (d *Datasource) intTable() (*records.Table, error) {
	if d.srv.INTReports == nil {
		return nil, errINTOff
	}
	return d.srv.INTReports, nil
}

// switchNames are the data source's INT switch names overridden by the
// query's, and notices for entries of the query's text left out.
func (d *Datasource) switchNames(q query.Query) (query.SwitchNames, []data.Notice) {
	if q.SwitchNames == "" {
		return d.intNames, nil
	}
	n, errs := query.ParseSwitchNames(q.SwitchNames)
	var notices []data.Notice
	for _, err := range errs {
		notices = append(notices, data.Notice{Severity: data.NoticeSeverityWarning, Text: err.Error()})
	}
	return d.intNames.Override(n), notices
}

// intQueryPrep is what path and episodes queries share: the table, the
// instance's restriction and the names.
func (d *Datasource) intQueryPrep(q *query.Query) (*records.Table, query.SwitchNames, []data.Notice, error) {
	if q.Source != "" && q.Source != string(model.SourceINT) {
		return nil, query.SwitchNames{}, nil, badRequest{fmt.Errorf("query kind %s is about INT, not source %q", q.Kind, q.Source)}
	}
	t, err := d.intTable()
	if err != nil {
		return nil, query.SwitchNames{}, nil, err
	}
	d.restrictRecords(t, q)
	names, notices := d.switchNames(*q)
	return t, names, notices, nil
}

// pathQuery answers the network path panel: the path frame, with a live
// channel when asked.
func (d *Datasource) pathQuery(ctx context.Context, pc backend.PluginContext, dq backend.DataQuery, q query.Query) backend.DataResponse {
	t, names, notices, err := d.intQueryPrep(&q)
	if err != nil {
		return recordsError(err)
	}
	res, err := query.ExecutePath(ctx, t, query.PathRequest{
		Query: q, FromMs: dq.TimeRange.From.UnixMilli(), ToMs: dq.TimeRange.To.UnixMilli(),
		Known: knownFields(t), Names: names,
	})
	if err != nil {
		return recordsError(err)
	}
	frame := res.Frame
	frame.AppendNotices(notices...)
	if q.Live {
		path := d.shared.channels.register(liveQuery{OrgID: pc.OrgID, UID: d.uid, Live: query.LiveQuery{Query: q, Flows: res.Flows}})
		frame.Meta.Channel = "ds/" + d.uid + "/" + path
	}
	return backend.DataResponse{Frames: data.Frames{frame}}
}

// episodesQuery answers the drop and congestion annotations.
func (d *Datasource) episodesQuery(ctx context.Context, dq backend.DataQuery, q query.Query) backend.DataResponse {
	t, names, notices, err := d.intQueryPrep(&q)
	if err != nil {
		return recordsError(err)
	}
	frame, err := query.ExecuteEpisodes(ctx, t, query.EpisodesRequest{
		Query: q, FromMs: dq.TimeRange.From.UnixMilli(), ToMs: dq.TimeRange.To.UnixMilli(),
		Known: knownFields(t), Names: names,
	})
	if err != nil {
		return recordsError(err)
	}
	frame.AppendNotices(notices...)
	return backend.DataResponse{Frames: data.Frames{frame}}
}

// Live paths push at most once a second (the panel redraws each push);
// a stream learns what the panel shows from the last pathLookback, and a
// top N stream that found no flows looks again every pathReselect.
const (
	pathPush     = time.Second
	pathLookback = time.Hour
)

var pathReselect = 10 * time.Second // a variable for the tests

// runPathStream pushes new observations of the channel's flows. It reads
// the channel's flows from the registry at every push: a panel refresh
// re-registers the query with the top N of that moment.
func (d *Datasource) runPathStream(ctx context.Context, channel string, lq liveQuery, sender *backend.StreamSender) error {
	t, err := d.intTable()
	if err != nil {
		return err
	}
	q := lq.Live.Query
	names, _ := d.switchNames(q)
	req := query.PathRequest{Query: q, Known: knownFields(t), Names: names}
	flows := lq.Live.Flows
	now := time.Now()
	var cur *query.PathCursor
	// start learns what the panel shows of these flows (none: of the top
	// N, which it then follows) and returns it.
	start := func(these []string) (*data.Frame, error) {
		learn := req
		learn.FromMs, learn.ToMs = now.Add(-pathLookback).UnixMilli(), now.UnixMilli()
		if len(these) > 0 {
			b, _ := json.Marshal(these)
			learn.Query.Flow = string(b)
		}
		res, err := query.ExecutePath(ctx, t, learn)
		if err != nil {
			return nil, err
		}
		flows = res.Flows
		cur = query.NewPathCursor(res, now.UnixMilli())
		return res.Frame, nil
	}
	// A top N panel whose history had no flow shows nothing: what the
	// stream finds at its start is new to it.
	showsNothing := len(flows) == 0 && q.Flow == ""
	first, err := start(flows)
	if err != nil {
		return err
	}
	tick := time.NewTicker(pathPush)
	defer tick.Stop()
	// The first tick looks whatever the version: rows flushed while the
	// stream started, newer than what it learned, are the panel's next.
	version, looked := t.Version(), false
	lastSelect := now
	var last *data.Frame
	for {
		if showsNothing && first.Rows() > 0 {
			if err := sender.SendFrame(first, data.IncludeAll); err != nil {
				return err
			}
			last = first
			d.srv.Board.Add("live_frames_sent", 1)
		}
		showsNothing = false
		select {
		case <-ctx.Done():
			return nil
		case now = <-tick.C:
		}
		if l, ok := d.shared.channels.lookup(channel); ok && len(l.Live.Flows) > 0 {
			flows = l.Live.Flows
		}
		var frame *data.Frame
		if len(flows) == 0 && q.Flow == "" {
			// The panel opened before any flow: the top N of the last
			// hour once there are some, all of it new to the panel.
			if now.Sub(lastSelect) < pathReselect {
				continue
			}
			lastSelect = now
			f, err := start(nil)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				d.srv.Board.Add("live_query_errors", 1)
				continue
			}
			if f.Rows() == 0 {
				continue
			}
			frame = f
		} else {
			v := t.Version()
			if v == version && looked {
				continue
			}
			version, looked = v, true
			f, err := cur.Next(ctx, t, req, flows, now.UnixMilli())
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				d.srv.Board.Add("live_query_errors", 1)
				continue
			}
			if f == nil {
				continue
			}
			frame = f
		}
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

// nameSeriesSwitches gives INT series a "switch" label beside "device"
// (the name, else the id) and renders the legend again when it uses it, so
// "{{switch}}" names a switch where the store only knows its id. Names are
// the query's and the data source's, which change without touching the
// stored series. Pushes of a live query that bring a new series later
// carry the store's labels only.
func (d *Datasource) nameSeriesSwitches(frames data.Frames, q query.Query) {
	if q.Source != string(model.SourceINT) {
		return
	}
	names, _ := d.switchNames(q)
	legend := q.LegendFormat
	if !strings.Contains(legend, "switch") {
		legend = ""
	}
	for _, f := range frames {
		for _, fd := range f.Fields {
			dev, ok := fd.Labels["device"]
			if !ok {
				continue
			}
			fd.Labels["switch"] = names.DeviceOr(dev)
			if legend != "" {
				if fd.Config == nil {
					fd.Config = &data.FieldConfig{}
				}
				fd.Config.DisplayNameFromDS = query.RenderLegend(legend, fd.Labels)
			}
		}
	}
}

// withSwitchColumn adds the switch names to int_report frames: a "switch"
// field after every "device" field (the name, else the device itself),
// and a "switch" label beside every "device" label of a series.
func withSwitchColumn(frames data.Frames, names query.SwitchNames) {
	for _, f := range frames {
		for i := 0; i < len(f.Fields); i++ {
			fd := f.Fields[i]
			if dev, ok := fd.Labels["device"]; ok {
				fd.Labels["switch"] = names.DeviceOr(dev)
			}
			if fd.Name != "device" || fd.Type() != data.FieldTypeString && fd.Type() != data.FieldTypeNullableString {
				continue
			}
			n := fd.Len()
			var sw *data.Field
			if fd.Type() == data.FieldTypeString {
				vals := make([]string, n)
				for k := range n {
					vals[k] = names.DeviceOr(fd.At(k).(string))
				}
				sw = data.NewField("switch", fd.Labels.Copy(), vals)
			} else {
				vals := make([]*string, n)
				for k := range n {
					if p := fd.At(k).(*string); p != nil {
						s := names.DeviceOr(*p)
						vals[k] = &s
					}
				}
				sw = data.NewField("switch", fd.Labels.Copy(), vals)
			}
			f.Fields = slices.Insert(f.Fields, i+1, sw)
			i++
		}
	}
}

// intSwitch is one entry of GET int/switches: the receiver's row of a
// switch and its name from the data source's settings ("" without one).
type intSwitch struct {
	server.INTSwitch
	Name string `json:"name"`
}

// intFlow is one entry of GET int/flows.
type intFlow struct {
	Flow    string `json:"flow"`
	Reports uint64 `json:"reports"`
}

// maxINTFlows bounds GET int/flows.
const maxINTFlows = 5000

func (d *Datasource) intRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /int/switches", func(w http.ResponseWriter, r *http.Request) {
		if d.srv.INT == nil {
			writeError(w, http.StatusServiceUnavailable, errINTOff)
			return
		}
		names, _ := d.switchNames(query.Query{SwitchNames: r.URL.Query().Get("switchNames")})
		writeJSON(w, d.intSwitches(d.srv.INT, names))
	})
	mux.HandleFunc("GET /int/flows", func(w http.ResponseWriter, r *http.Request) {
		t, err := d.intTable()
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, err)
			return
		}
		flows, err := d.intFlows(r, t)
		if err != nil {
			writeRecordsError(w, err)
			return
		}
		writeJSON(w, flows)
	})
}

// intSwitches lists the switches this instance may see, by device.
func (d *Datasource) intSwitches(x server.INTService, names query.SwitchNames) []intSwitch {
	out := []intSwitch{}
	for _, s := range x.Switches() {
		if !d.mayShowDevice(s.Device) {
			continue
		}
		if s.Reports == nil {
			s.Reports = map[string]uint64{}
		}
		if s.Drops == nil {
			s.Drops = map[string]uint64{}
		}
		s.Versions = nonNil(s.Versions)
		out = append(out, intSwitch{INTSwitch: s, Name: names.Device(s.Device)})
	}
	slices.SortFunc(out, func(a, b intSwitch) int {
		return strings.Compare(a.Device+" "+a.Address, b.Device+" "+b.Address)
	})
	return out
}

// intFlows lists the flows reported in range (from, to in ms; default the
// catalog window), most reports first, at most limit (default 100).
func (d *Datasource) intFlows(r *http.Request, t *records.Table) ([]intFlow, error) {
	q := r.URL.Query()
	now := time.Now()
	from, to := now.Add(-catalogWindow).UnixMilli(), now.UnixMilli()
	for _, p := range []struct {
		key string
		dst *int64
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(p.key); v != "" {
			ms, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, badRequest{fmt.Errorf("%s: %q is not milliseconds", p.key, v)}
			}
			*p.dst = ms
		}
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, badRequest{fmt.Errorf("limit: %q is not a positive number", v)}
		}
		limit = min(n, maxINTFlows)
	}
	rq := records.Query{FromMs: from, ToMs: to, GroupBy: []string{intmap.ColFlow},
		Aggregates: []records.Aggregate{{Func: "count"}}, TopN: limit + 1} // + the reports without a flow
	if len(d.settings.Devices) > 0 {
		rq.Filters = []records.Filter{{Column: "device", Op: query.OpIn, Values: d.settings.Devices}}
	}
	res, err := t.Query(r.Context(), rq)
	if errors.Is(err, records.ErrUnknownColumn) {
		return []intFlow{}, nil
	}
	if err != nil {
		return nil, badRequest{err}
	}
	out := []intFlow{}
	var flows []string
	var counts []uint64
	for _, c := range res.Columns {
		switch c.Name {
		case intmap.ColFlow:
			flows = query.ColumnText(c)
		case "count()":
			counts, _ = c.Values.([]uint64)
		}
	}
	for i, f := range flows {
		if f == "" || i >= len(counts) || len(out) == limit {
			continue
		}
		out = append(out, intFlow{Flow: f, Reports: counts[i]})
	}
	return out, nil
}

// maxINTHealthLines bounds each kind of INT warning, as for XR.
const maxINTHealthLines = maxXRHealthLines

// intHealth adds what an operator must hear about INT: where the receiver
// listens, switches silent or losing reports, what the receiver dropped,
// and names in the settings it could not read.
func (d *Datasource) intHealth(r *healthReport) {
	for _, err := range d.intNameErrs {
		r.Warnings = append(r.Warnings, "intSwitchNames: "+err.Error())
	}
	x := d.srv.INT
	if x == nil {
		return
	}
	switches := d.intSwitches(x, d.intNames)
	var warn []string
	sending := 0
	for _, s := range switches {
		name := s.Device
		if s.Name != "" {
			name = s.Name + " (" + s.Device + ")"
		}
		switch s.State {
		case intrcv.StateStopped:
			warn = append(warn, fmt.Sprintf("INT switch %s at %s stopped sending; last seen %s",
				name, s.Address, time.UnixMilli(s.LastSeenMs).UTC().Format(time.RFC3339)))
		case intrcv.StateLosing:
			sending++
			warn = append(warn, fmt.Sprintf("INT switch %s at %s is losing reports: %d missing by sequence numbers%s",
				name, s.Address, s.LostReports, dropsText(s.Drops)))
		default:
			sending++
			if len(s.Drops) > 0 {
				warn = append(warn, fmt.Sprintf("INT switch %s at %s: the receiver dropped%s", name, s.Address, dropsText(s.Drops)))
			}
		}
	}
	r.Warnings = append(r.Warnings, capLines(warn, "more INT switches stopped, losing reports or with drops")...)
	// The receiver's own drops; the decoder's are on their switches above.
	var parts []string
	rd := x.ReceiverDrops()
	for _, reason := range []string{intrcv.DropSocketOverflow, intrcv.DropQueueFull, intrcv.DropNotAllowed} {
		if n := rd[reason]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, reason))
		}
	}
	if len(parts) > 0 {
		r.Warnings = append(r.Warnings, "INT receiver dropped datagrams: "+strings.Join(parts, ", "))
	}
	r.Notes = append(r.Notes, fmt.Sprintf("INT receiver on %s/udp: %d of %d switches sending", x.Addr(), sending, len(switches)))
	if d.srv.INTReports != nil {
		r.Notes = append(r.Notes, fmt.Sprintf("int_report table holds %d records", d.srv.INTReports.Stats().Rows))
	}
}

// intStatus is the status page's INT section.
func (d *Datasource) intStatus() map[string]any {
	out := map[string]any{"enabled": d.srv.INT != nil}
	if d.srv.INT == nil {
		return out
	}
	x := d.srv.INT
	switches := d.intSwitches(x, d.intNames)
	states := map[string]int{intrcv.StateOK: 0, intrcv.StateLosing: 0, intrcv.StateStopped: 0}
	var lost uint64
	for _, s := range switches {
		states[s.State]++
		lost += s.LostReports
	}
	out["address"] = x.Addr()
	out["switches"] = switches
	out["states"] = states
	out["lostReports"] = lost
	out["receiverDrops"] = x.ReceiverDrops()
	if d.srv.INTReports != nil {
		out["reports"] = d.srv.INTReports.Stats()
	}
	return out
}
