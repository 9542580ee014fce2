// Command gpx_netlens is the Netlens data source backend and, at the same
// time, the collector the devices dial in to.
package main

import (
	"os"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/netlens/netlens/pkg/config"
	"github.com/netlens/netlens/pkg/plugin"
	"github.com/netlens/netlens/pkg/server"
)

// PluginID must match src/datasource/plugin.json.
const PluginID = "netlens-telemetry-datasource"

// shutdownTimeout stays under the 2 s Grafana waits before it kills a
// plugin process, so acknowledgements and the store's close get their turn.
const shutdownTimeout = 1500 * time.Millisecond

func main() {
	logger := log.DefaultLogger
	// Nothing may be written to stdout before Manage: go-plugin's handshake
	// line goes there. The SDK logger writes to stderr.
	cfg, cfgErr := config.FromEnv(os.LookupEnv)
	srv := server.Start(cfg, cfgErr, logger)

	err := datasource.Manage(PluginID, plugin.NewFactory(srv), datasource.ManageOpts{})
	if serr := srv.Shutdown(shutdownTimeout); serr != nil {
		logger.Error("Netlens shutdown", "error", serr.Error())
	}
	if err != nil {
		logger.Error("Netlens backend stopped", "error", err.Error())
		os.Exit(1)
	}
}
