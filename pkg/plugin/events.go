package plugin

import (
	"fmt"
	"slices"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/netlens/netlens/pkg/query"
	"github.com/netlens/netlens/pkg/status"
)

// eventLabels are what an events query can filter on: an event belongs to a
// device, not to a series, so other labels (an ad-hoc filter on interface,
// say) do not apply to it and are left out rather than hiding every event.
var eventLabels = []string{"device", "hostname"}

// eventsQuery answers an events query from the status board's history with
// one frame whose time, title, text and tags fields Grafana's annotation
// support reads by name; device, hostname and event make it a useful table.
func (d *Datasource) eventsQuery(q query.Query, tr backend.TimeRange) backend.DataResponse {
	var ms []*labels.Matcher
	for _, m := range q.Matchers {
		if !slices.Contains(eventLabels, m.Label) {
			return backend.ErrDataResponse(backend.StatusBadRequest, fmt.Sprintf("device events filter on device and hostname, not %q", m.Label))
		}
	}
	for _, m := range append(append([]query.Matcher(nil), q.Matchers...), q.AdhocFilters...) {
		if !slices.Contains(eventLabels, m.Label) || m.Value == "" {
			continue
		}
		lm, err := toLabelMatchers([]query.Matcher{m})
		if err != nil {
			return backend.ErrDataResponse(backend.StatusBadRequest, err.Error())
		}
		ms = append(ms, lm...)
	}
	for _, t := range q.EventTypes {
		switch status.EventType(t) {
		case status.EventConnected, status.EventDisconnected, status.EventCancelled, status.EventRejected, status.EventError:
		default:
			return backend.ErrDataResponse(backend.StatusBadRequest, fmt.Sprintf("unknown device event type %q", t))
		}
	}
	evs := d.srv.Board.Events(tr.From, tr.To, func(ev *status.Event) bool {
		if q.Source != "" && string(ev.Source) != q.Source {
			return false
		}
		if len(q.EventTypes) > 0 && !slices.Contains(q.EventTypes, string(ev.Type)) {
			return false
		}
		for _, m := range ms {
			v := ev.Device
			if m.Name == "hostname" {
				v = ev.Hostname
			}
			if !m.Matches(v) {
				return false
			}
		}
		return true
	})

	n := len(evs)
	times := make([]time.Time, n)
	titles, texts, tags := make([]string, n), make([]string, n), make([]string, n)
	devices, hosts, types, sources := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, ev := range evs {
		name := ev.Hostname
		if name == "" {
			name = ev.Device
		}
		times[i] = ev.Time.UTC()
		titles[i] = name + " " + string(ev.Type)
		texts[i] = ev.Text
		if ev.Category != "" {
			texts[i] = string(ev.Category) + ": " + ev.Text
		}
		tags[i] = string(ev.Source) + "," + string(ev.Type) + "," + name
		devices[i], hosts[i], types[i], sources[i] = ev.Device, ev.Hostname, string(ev.Type), string(ev.Source)
	}
	frame := data.NewFrame("events",
		data.NewField("time", nil, times),
		data.NewField("title", nil, titles),
		data.NewField("text", nil, texts),
		data.NewField("tags", nil, tags),
		data.NewField("device", nil, devices),
		data.NewField("hostname", nil, hosts),
		data.NewField("event", nil, types),
		data.NewField("source", nil, sources),
	)
	frame.SetMeta(&data.FrameMeta{Type: data.FrameTypeTable, PreferredVisualization: data.VisTypeTable})
	return backend.DataResponse{Frames: data.Frames{frame}}
}
