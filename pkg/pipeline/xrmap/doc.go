// Package xrmap maps normalized IOS XR telemetry messages (xr.Message, from
// any generation and encoding) to what users chart and read: numeric leaves
// become samples of the series store, string and bytes leaves become rows of
// the xr_state record table, and a catalog remembers which paths and leaves
// each router sent, for the editors.
package xrmap
