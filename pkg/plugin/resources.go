package plugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/resource/httpadapter"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/netlens/netlens/pkg/config"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/query"
	"github.com/netlens/netlens/pkg/status"
)

// catalogWindow is how far back catalogs look when the editor gives no
// time range: long enough to find a device that streams once a day.
const catalogWindow = 25 * time.Hour

// maxCatalogValues bounds one autocomplete answer; an editor cannot show
// more, and a label with millions of values must not stall the browser.
const maxCatalogValues = 5000

func (d *Datasource) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /catalog/families", d.catalogHandler(d.families))
	mux.HandleFunc("GET /catalog/metrics", d.catalogHandler(d.metrics))
	mux.HandleFunc("GET /catalog/labels", d.catalogHandler(d.labelNames))
	mux.HandleFunc("GET /catalog/label-values", d.catalogHandler(d.labelValues))
	mux.HandleFunc("GET /devices", d.handleDevices)
	mux.HandleFunc("POST /devices/cancel", d.handleCancel)
	mux.HandleFunc("GET /status", d.handleStatus)
	mux.HandleFunc("GET /records/fields", d.handleRecordFields)
	mux.HandleFunc("GET /records/values", d.handleRecordValues)
	mux.HandleFunc("GET /ipfix/exporters", d.handleExporters)
	d.xrRoutes(mux)
	d.intRoutes(mux)
}

// catalogScope turns the common parameters (source, metric, matchers, time
// range) into store matchers, always narrowed to the instance's devices.
func (d *Datasource) catalogScope(r *http.Request) (start, end time.Time, ms []*labels.Matcher, err error) {
	q := r.URL.Query()
	end = time.Now()
	start = end.Add(-catalogWindow)
	if v := q.Get("from"); v != "" {
		ms, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil {
			return start, end, nil, fmt.Errorf("from: %q is not milliseconds", v)
		}
		start = time.UnixMilli(ms)
	}
	if v := q.Get("to"); v != "" {
		ms, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil {
			return start, end, nil, fmt.Errorf("to: %q is not milliseconds", v)
		}
		end = time.UnixMilli(ms)
	}
	var qm []query.Matcher
	if src := q.Get("source"); src != "" {
		if !validSource(src) {
			return start, end, nil, fmt.Errorf("source: unknown %q", src)
		}
		qm = append(qm, query.Matcher{Label: model.MetricNameLabel, Op: "=~", Value: regexp.QuoteMeta(src+"_") + ".+"})
	}
	if m := q.Get("metric"); m != "" {
		qm = append(qm, query.Matcher{Label: model.MetricNameLabel, Op: "=", Value: m})
	}
	if f := q.Get("family"); f != "" {
		qm = append(qm, query.Matcher{Label: "family", Op: "=", Value: f})
	}
	if raw := q.Get("matchers"); raw != "" {
		var extra []query.Matcher
		if err := json.Unmarshal([]byte(raw), &extra); err != nil {
			return start, end, nil, fmt.Errorf("matchers: %w", err)
		}
		for _, m := range extra {
			// An editor row still being filled in narrows nothing.
			if m.Label != "" && m.Value != "" {
				qm = append(qm, m)
			}
		}
	}
	if dm, ok := d.deviceMatcher(); ok {
		qm = append(qm, dm)
	}
	ms, err = toLabelMatchers(qm)
	return start, end, ms, err
}

func validSource(s string) bool {
	switch model.Source(s) {
	case model.SourceFTD, model.SourceXR, model.SourceINT, model.SourceIPFIX:
		return true
	}
	return false
}

// deviceMatcher restricts queries and catalogs to the instance's devices.
func (d *Datasource) deviceMatcher() (query.Matcher, bool) {
	if len(d.settings.Devices) == 0 {
		return query.Matcher{}, false
	}
	alts := make([]string, len(d.settings.Devices))
	for i, dev := range d.settings.Devices {
		alts[i] = regexp.QuoteMeta(dev)
	}
	return query.Matcher{Label: "device", Op: "=~", Value: strings.Join(alts, "|")}, true
}

func toLabelMatchers(qm []query.Matcher) ([]*labels.Matcher, error) {
	out := make([]*labels.Matcher, 0, len(qm))
	for _, m := range qm {
		var t labels.MatchType
		switch m.Op {
		case "=", "":
			t = labels.MatchEqual
		case "!=":
			t = labels.MatchNotEqual
		case "=~":
			t = labels.MatchRegexp
		case "!~":
			t = labels.MatchNotRegexp
		default:
			return nil, fmt.Errorf("matcher on %q: unknown operator %q", m.Label, m.Op)
		}
		lm, err := labels.NewMatcher(t, m.Label, m.Value)
		if err != nil {
			return nil, fmt.Errorf("matcher on %q: %w", m.Label, err)
		}
		out = append(out, lm)
	}
	return out, nil
}

// scope is a catalog's narrowing: time range and store matchers.
type scope struct {
	start, end time.Time
	matchers   []*labels.Matcher
}

// catalogHandler wraps a catalog look-up with what every catalog does:
// refuse while the store is closed, parse the common parameters (a bad one
// is the caller's mistake, 400), and report a failing look-up as 500.
func (d *Datasource) catalogHandler(lookup func(r *http.Request, sc scope) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !d.storeReady(w) {
			return
		}
		start, end, ms, err := d.catalogScope(r)
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		body, err := lookup(r, scope{start, end, ms})
		if err != nil {
			var bad badRequest
			if errors.As(err, &bad) {
				writeError(w, http.StatusBadRequest, err)
			} else {
				writeError(w, http.StatusInternalServerError, err)
			}
			return
		}
		writeJSON(w, body)
	}
}

// badRequest marks a look-up error that is the caller's.
type badRequest struct{ error }

func (d *Datasource) families(r *http.Request, sc scope) (any, error) {
	vals, err := d.srv.Store.LabelValues(r.Context(), "family", sc.start, sc.end, sc.matchers...)
	return map[string]any{"families": capValues(vals)}, err
}

func (d *Datasource) metrics(r *http.Request, sc scope) (any, error) {
	metrics, err := d.srv.Store.Metrics(r.Context(), sc.start, sc.end, sc.matchers...)
	if len(metrics) > maxCatalogValues {
		metrics = metrics[:maxCatalogValues]
	}
	return map[string]any{"metrics": nonNil(metrics)}, err
}

func (d *Datasource) labelNames(r *http.Request, sc scope) (any, error) {
	names, err := d.srv.Store.LabelNames(r.Context(), sc.start, sc.end, sc.matchers...)
	out := []string{}
	for _, n := range names {
		if n != model.MetricNameLabel {
			out = append(out, n)
		}
	}
	return map[string]any{"labels": out}, err
}

func (d *Datasource) labelValues(r *http.Request, sc scope) (any, error) {
	label := r.URL.Query().Get("label")
	if label == "" {
		return nil, badRequest{errors.New("label: required")}
	}
	vals, err := d.srv.Store.LabelValues(r.Context(), label, sc.start, sc.end, sc.matchers...)
	return map[string]any{"values": capValues(vals)}, err
}

func capValues(v []string) []string {
	if v == nil {
		return []string{}
	}
	sort.Strings(v)
	if len(v) > maxCatalogValues {
		return v[:maxCatalogValues]
	}
	return v
}

// devices lists the registry's devices this instance may see.
func (d *Datasource) devices(source string) []status.Device {
	allowed := map[string]bool{}
	for _, id := range d.settings.Devices {
		allowed[id] = true
	}
	out := []status.Device{}
	for _, dev := range d.srv.Board.Snapshot().Devices {
		if source != "" && string(dev.Source) != source {
			continue
		}
		if len(allowed) > 0 && !allowed[dev.ID] {
			continue
		}
		out = append(out, dev)
	}
	return out
}

// maxStoredDevices bounds how many devices the store is asked to name: one
// hostname look-up each.
const maxStoredDevices = 1000

// storedDevices adds the devices the store has data from (within the
// catalog window) that have not connected since the process started, so a
// device variable still offers yesterday's devices after a restart.
func (d *Datasource) storedDevices(r *http.Request, source string, known []status.Device) ([]status.Device, error) {
	if d.srv.Store == nil || source == "" {
		return known, nil
	}
	start, end, ms, err := d.catalogScope(r)
	if err != nil {
		return nil, err
	}
	ids, err := d.srv.Store.LabelValues(r.Context(), "device", start, end, ms...)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, dev := range known {
		seen[dev.ID] = true
	}
	for i, id := range ids {
		if seen[id] || i >= maxStoredDevices {
			continue
		}
		host := ""
		dm, err := labels.NewMatcher(labels.MatchEqual, "device", id)
		if err != nil {
			return nil, err
		}
		if hosts, err := d.srv.Store.LabelValues(r.Context(), "hostname", start, end, append(ms, dm)...); err == nil && len(hosts) > 0 {
			host = hosts[len(hosts)-1]
		}
		known = append(known, status.Device{
			Source: model.Source(source), ID: id, Hostname: host,
			State: status.StateDisconnected, StateReason: "not connected since Netlens started; its data is in the store",
		})
	}
	return known, nil
}

func (d *Datasource) handleDevices(w http.ResponseWriter, r *http.Request) {
	source := r.URL.Query().Get("source")
	devs, err := d.storedDevices(r, source, d.devices(source))
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	writeJSON(w, map[string]any{"devices": devs})
}

// handleCancel is the collector-initiated cancellation of one FTD device's
// stream, for an operator who wants a device to stop (it retries on its own
// schedule, five minutes per the FTD guide). Only Admins may do it: it
// interrupts data for everyone.
func (d *Datasource) handleCancel(w http.ResponseWriter, r *http.Request) {
	if u := httpadapter.UserFromContext(r.Context()); u != nil && u.Role != "Admin" {
		writeError(w, http.StatusForbidden, errors.New("only an Admin may cancel a device's stream"))
		return
	}
	id := r.URL.Query().Get("id")
	if id == "" {
		writeError(w, http.StatusBadRequest, errors.New("id: required"))
		return
	}
	if len(d.settings.Devices) > 0 && !slices.Contains(d.settings.Devices, id) {
		writeError(w, http.StatusNotFound, fmt.Errorf("device %q is not visible through this data source", id))
		return
	}
	if d.srv.FTD == nil {
		writeError(w, http.StatusServiceUnavailable, errors.New("the FTD receiver is not running"))
		return
	}
	if err := d.srv.FTD.Cancel(id); err != nil {
		writeError(w, http.StatusConflict, err)
		return
	}
	writeJSON(w, map[string]string{"cancelled": id})
}

// setting is one process setting as the config page shows it.
type setting struct {
	Key     string `json:"key"`
	Value   string `json:"value"`
	Default string `json:"default"`
	Help    string `json:"help"`
}

// mayReadSettings keeps the process settings (file paths, allowed
// networks) from Viewers, who can query the data source but have no
// business with how the server is set up. Grafana names the user on every
// request from a browser; a request without one comes from Grafana itself.
func mayReadSettings(r *http.Request) bool {
	u := httpadapter.UserFromContext(r.Context())
	return u == nil || u.Role == "Admin" || u.Role == "Editor"
}

func (d *Datasource) handleStatus(w http.ResponseWriter, r *http.Request) {
	snap := d.srv.Board.Snapshot()
	settings := make([]setting, 0, len(config.Keys))
	for _, k := range config.Keys {
		v := d.srv.Config.Value(k.Name)
		if !mayReadSettings(r) {
			v = ""
		}
		settings = append(settings, setting{Key: k.Name, Value: v, Default: k.Default, Help: k.Help})
	}
	problems := make([]string, 0, len(d.srv.Problems))
	for _, p := range d.srv.Problems {
		problems = append(problems, p.Error())
	}
	body := map[string]any{
		"listeners": nonNil(snap.Listeners),
		"devices":   d.devices(""),
		"counters":  snap.Counters,
		"settings":  settings,
		"problems":  problems,
		"live":      d.liveStats(),
		"ipfix":     d.ipfixStatus(),
		"xr":        d.xrStatus(time.Now()),
		"int":       d.intStatus(),
	}
	if d.srv.Store != nil {
		body["store"] = d.srv.Store.Stats()
	}
	writeJSON(w, body)
}

// liveStats are the hub's totals plus how long recent batches took to
// reach a live stream's frame.
func (d *Datasource) liveStats() map[string]any {
	h := d.srv.Hub.Stats()
	return map[string]any{
		"subscriptions":     h.Subscriptions,
		"ticks":             h.Ticks,
		"ticksDropped":      h.Dropped,
		"batchToFrameP50Ms": float64(d.shared.latency.Percentile(50).Microseconds()) / 1000,
		"batchToFrameP99Ms": float64(d.shared.latency.Percentile(99).Microseconds()) / 1000,
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (d *Datasource) storeReady(w http.ResponseWriter) bool {
	if d.srv.Store == nil {
		writeError(w, http.StatusServiceUnavailable, errors.New("the series store is not open; see the data source's health check"))
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

func writeError(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}
