// Package plugin holds the grafana-plugin-sdk-go handlers. They are thin:
// they parse requests, apply the data source instance's restrictions and
// call the process-scope services in pkg/server.
package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/instancemgmt"
	"github.com/grafana/grafana-plugin-sdk-go/backend/resource/httpadapter"

	"github.com/netlens/netlens/pkg/query"
	"github.com/netlens/netlens/pkg/server"
)

// Settings are a data source instance's jsonData: query-side settings only.
// Listeners, certificates and the store are process settings (grafana.ini),
// because they must exist before any instance does.
type Settings struct {
	// Devices restricts this data source to these device ids; empty shows all.
	Devices []string `json:"devices,omitempty"`
	// LiveEnabledByDefault is read by the query editor only.
	LiveEnabledByDefault bool `json:"liveEnabledByDefault,omitempty"`
	// IntSwitchNames names INT switches, "id=name" by line or comma
	// (query.ParseSwitchNames); a query's switchNames overrides it per id.
	IntSwitchNames string `json:"intSwitchNames,omitempty"`
}

// Datasource is one data source instance. Everything it serves comes from
// the shared server; disposing it closes nothing.
type Datasource struct {
	srv       *server.Server
	shared    *shared
	uid       string
	settings  Settings
	resources backend.CallResourceHandler
	// intNames are the settings' switch names; intNameErrs the entries
	// left out, which the health check names.
	intNames    query.SwitchNames
	intNameErrs []error
}

var (
	_ backend.QueryDataHandler      = (*Datasource)(nil)
	_ backend.CheckHealthHandler    = (*Datasource)(nil)
	_ backend.CallResourceHandler   = (*Datasource)(nil)
	_ backend.StreamHandler         = (*Datasource)(nil)
	_ instancemgmt.InstanceDisposer = (*Datasource)(nil)
)

// NewFactory returns the instance factory datasource.Manage calls on the
// first request for each data source.
func NewFactory(srv *server.Server) datasource.InstanceFactoryFunc {
	channelsFile := ""
	if srv.Store != nil {
		channelsFile = filepath.Join(srv.Config.DataDir, "live-channels.json")
	}
	sh := newShared(channelsFile)
	return func(_ context.Context, s backend.DataSourceInstanceSettings) (instancemgmt.Instance, error) {
		return newDatasource(srv, sh, s)
	}
}

// shared is what instances have in common beyond the server: Grafana may
// replace an instance (new settings) while its live channels stay open.
type shared struct {
	channels *channelRegistry
	latency  *latencyWindow
}

// maxLiveChannels bounds the registry of live queries: far more than the
// panels of every open dashboard, far less than memory would notice.
const maxLiveChannels = 4096

func newShared(channelsFile string) *shared {
	return &shared{channels: newChannelRegistry(maxLiveChannels, channelsFile), latency: newLatencyWindow(4096)}
}

func newDatasource(srv *server.Server, sh *shared, s backend.DataSourceInstanceSettings) (*Datasource, error) {
	ds := &Datasource{srv: srv, shared: sh, uid: s.UID}
	if len(s.JSONData) > 0 {
		if err := json.Unmarshal(s.JSONData, &ds.settings); err != nil {
			return nil, fmt.Errorf("data source settings: %w", err)
		}
	}
	// A typo in one name must not take the data source down: the good
	// entries apply and the health check names the others.
	ds.intNames, ds.intNameErrs = query.ParseSwitchNames(ds.settings.IntSwitchNames)
	mux := http.NewServeMux()
	ds.routes(mux)
	ds.resources = httpadapter.New(mux)
	return ds, nil
}

// Dispose implements instancemgmt.InstanceDisposer. Instances share the
// process' receivers and store, so there is nothing of their own to close.
func (d *Datasource) Dispose() {}

// CallResource serves the editors' catalogs, the device list and status.
func (d *Datasource) CallResource(ctx context.Context, req *backend.CallResourceRequest, sender backend.CallResourceResponseSender) error {
	return d.resources.CallResource(ctx, req, sender)
}
