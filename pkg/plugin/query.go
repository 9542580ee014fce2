package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/pkg/query"
)

// QueryData answers panels, Explore, alert rules and variables from the
// store. Alerting calls nothing else, so even live queries return real
// history here; live ones also carry the channel that streams what follows.
func (d *Datasource) QueryData(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	resp := backend.NewQueryDataResponse()
	for _, dq := range req.Queries {
		resp.Responses[dq.RefID] = d.query(ctx, req.PluginContext, dq)
	}
	return resp, nil
}

func (d *Datasource) query(ctx context.Context, pc backend.PluginContext, dq backend.DataQuery) backend.DataResponse {
	var q query.Query
	if err := json.Unmarshal(dq.JSON, &q); err != nil {
		return backend.ErrDataResponse(backend.StatusBadRequest, fmt.Sprintf("query %s is not valid JSON: %v", dq.RefID, err))
	}
	q.RefID = dq.RefID
	switch q.Kind {
	case query.KindRecords:
		return d.recordsQuery(ctx, pc, dq, q)
	case query.KindPath:
		return d.pathQuery(ctx, pc, dq, q)
	case query.KindEpisodes:
		return d.episodesQuery(ctx, dq, q)
	}
	// The instance's device restriction narrows every selector, in code
	// mode too, the same way ad-hoc filters do, and device events alike.
	if dm, ok := d.deviceMatcher(); ok {
		q.AdhocFilters = append(q.AdhocFilters, dm)
	}
	if q.Kind == query.KindEvents {
		return d.eventsQuery(q, dq.TimeRange)
	}
	if d.srv.Store == nil {
		return backend.ErrDataResponse(backend.StatusInternal, "the series store is not open; see the data source's health check")
	}
	if q.Live && !q.Instant && q.Format != query.FormatTable {
		resp := d.liveQuery(ctx, pc, dq, q)
		d.nameSeriesSwitches(resp.Frames, q)
		return resp
	}
	frames, err := query.Execute(ctx, d.srv.Store, q, dq.TimeRange, dq.Interval, dq.MaxDataPoints)
	if err != nil {
		return errorResponse(err)
	}
	d.nameSeriesSwitches(frames, q)
	return backend.DataResponse{Frames: frames}
}

// liveQuery returns the query's history as one wide frame (the shape every
// pushed row shares) with a Grafana Live channel for the rows that follow.
func (d *Datasource) liveQuery(ctx context.Context, pc backend.PluginContext, dq backend.DataQuery, q query.Query) backend.DataResponse {
	frame, lq, err := query.LiveHistory(ctx, d.srv.Store, q, dq.TimeRange, dq.Interval, dq.MaxDataPoints)
	if err != nil {
		return errorResponse(err)
	}
	frame.RefID = dq.RefID
	path := d.shared.channels.register(liveQuery{OrgID: pc.OrgID, UID: d.uid, Live: lq})
	frame.Meta.Channel = "ds/" + d.uid + "/" + path
	return backend.DataResponse{Frames: data.Frames{frame}}
}

// errorResponse reports a failed query. Nearly every failure is the
// query's own (bad PromQL, an unknown operator, a many-to-many match), so it
// is a bad request unless the query ran out of time.
func errorResponse(err error) backend.DataResponse {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return backend.ErrDataResponse(backend.StatusTimeout, err.Error())
	}
	return backend.ErrDataResponse(backend.StatusBadRequest, err.Error())
}
