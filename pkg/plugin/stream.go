package plugin

import (
	"context"
	"fmt"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/netlens/netlens/pkg/live"
	"github.com/netlens/netlens/pkg/query"
	"github.com/netlens/netlens/pkg/store"
)

// SubscribeStream admits a browser to a live channel that QueryData created
// for the same organization. Grafana runs one RunStream per channel and
// shares it among all subscribers.
func (d *Datasource) SubscribeStream(_ context.Context, req *backend.SubscribeStreamRequest) (*backend.SubscribeStreamResponse, error) {
	lq, ok := d.shared.channels.lookup(req.Path)
	if !ok {
		return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusNotFound}, nil
	}
	if lq.OrgID != req.PluginContext.OrgID || lq.UID != d.uid {
		return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusPermissionDenied}, nil
	}
	return &backend.SubscribeStreamResponse{Status: backend.SubscribeStreamStatusOK}, nil
}

// PublishStream is refused: the stream's data comes from devices only.
func (d *Datasource) PublishStream(context.Context, *backend.PublishStreamRequest) (*backend.PublishStreamResponse, error) {
	return &backend.PublishStreamResponse{Status: backend.PublishStreamStatusPermissionDenied}, nil
}

// RunStream re-evaluates the channel's query whenever the store gets new
// data for a metric it reads, and pushes the newest row.
func (d *Datasource) RunStream(ctx context.Context, req *backend.RunStreamRequest, sender *backend.StreamSender) error {
	lq, ok := d.shared.channels.lookup(req.Path)
	if !ok {
		return fmt.Errorf("live channel %q is unknown (the plugin restarted?); refresh the panel", req.Path)
	}
	switch lq.Live.Query.Kind {
	case query.KindRecords:
		return d.runRecordsStream(ctx, lq, sender)
	case query.KindPath:
		return d.runPathStream(ctx, req.Path, lq, sender)
	}
	if d.srv.Store == nil {
		return fmt.Errorf("the series store is not open")
	}
	interest, err := interestOf(lq.Live.Expr)
	if err != nil {
		return err
	}
	sub := d.srv.Hub.Subscribe(interest, d.srv.Config.LiveBufferFrames)
	defer sub.Close()

	var last *data.Frame
	for {
		select {
		case <-ctx.Done():
			return nil
		case tick := <-sub.C:
			frame, err := query.LiveRows(ctx, d.srv.Store, lq.Live, time.UnixMilli(tick.TimestampMs))
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				d.srv.Board.Add("live_query_errors", 1)
				continue
			}
			if len(frame.Fields) < 2 {
				continue // nothing to plot at this instant
			}
			include := data.IncludeDataOnly
			if !query.SameSchema(frame, last) {
				include = data.IncludeAll
			}
			if err := sender.SendFrame(frame, include); err != nil {
				return err
			}
			last = frame
			d.srv.Board.Add("live_frames_sent", 1)
			d.shared.latency.observe(time.Since(time.UnixMilli(tick.ReceivedMs)))
		}
	}
}

// interestOf lists the metric names an expression reads, so the stream is
// woken only by batches that can change its answer.
func interestOf(expr string) (live.Interest, error) {
	e, err := store.ParseExpr(expr)
	if err != nil {
		return live.Interest{}, err
	}
	in := live.Interest{Names: map[string]struct{}{}}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
				name = m.Value
			}
		}
		if name == "" {
			in.All = true
		} else {
			in.Names[name] = struct{}{}
		}
		return nil
	})
	return in, nil
}
