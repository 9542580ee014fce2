// Package e2e drives the built backend binary the way Grafana does: it
// starts the executable through go-plugin's handshake with GF_PLUGIN_*
// settings in its environment, lets simulated devices dial in, and calls
// the plugin's gRPC services (CheckHealth, CallResource, QueryData,
// SubscribeStream, RunStream) as Grafana's plugin client would.
package e2e
