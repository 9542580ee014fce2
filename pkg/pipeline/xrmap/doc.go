// Package xrmap maps normalized IOS XR telemetry messages (xr.Message, from
// any generation and encoding) to what users chart and read: numeric leaves
// become samples of the series store, string and bytes leaves become rows of
// the xr_state record table, and a catalog remembers which paths and leaves
// each router sent, for the editors.
//
// # Series
//
// Names and labels follow xr2-contracts.md, "Series naming" (MetricName,
// LabelName): one series per (router, path, row keys, leaf, index), labels
// device, path, policy (policy-driven only), subscription, one per row key,
// and index for a leaf repeated inside one row. Samples take the row's
// time, else the message's, else the receive time. Kind is Counter for an
// integer leaf whose last name element has a word of counterWords and none
// of gaugeWords (kind.go lists both), else Gauge.
//
// Two additions to the contract, both needed by the real IOS XR 24.4
// capture: OpenConfig containers come as rows without keys, one per list
// entry, the YANG list keys inside the content; those keys
// (interface/name, subinterface/index, address/ip; see promote) become
// labels <entry>_<key> (interface_name, ...) instead of samples or state.
// Without them, the 11 rows of one openconfig-interfaces message would
// write 11 values to each series at one time. And a string leaf repeated
// in a row carries its index in an xr_state column "index".
//
// # String leaves: records, not series
//
// States, descriptions, addresses and names are kept in the xr_state
// table, one row per (row, leaf) with columns device, path, policy,
// subscription, leaf, value and one per row key, rather than as series
// with the value in a label (the Prometheus "info metric" habit):
//   - a value in a label makes a new series at every change (an interface
//     flapping, a neighbour's state machine), which the cardinality bound
//     would soon refuse, and PromQL cannot show the text as a table cell;
//   - the record store keeps text cheaply (dictionary codes per partition),
//     filters and groups on any column, and answers "last value per key"
//     and state timelines, which is what the editor offers for them.
//
// A row is written when the value changes or StateRefresh (60 s) after the
// last write of the same (router, path, keys, leaf, index), so that any
// window of a minute holds every current state while an unchanged state
// costs one row a minute, not one per message.
//
// # Bounds
//
// Per router: MaxSeriesPerRouter series and as many tracked string leaves
// and row identities (past them: dropped, counted as xr_series_dropped or
// xr_state_dropped, reason series_limit on the router's error record);
// MaxPathsPerDevice paths and MaxLeavesPerPath leaf names per path in the
// catalog, which also holds the name caches (past them:
// xr_catalog_dropped); row plans within 4 × MaxSeriesPerRouter steps. Routers past
// maxDevices forget the one silent longest.
//
// # Speed
//
// Each row identity keeps plans of the row shapes it arrived in: which
// series or tracker entry each leaf position goes to. A row shaped like
// one before maps with one name comparison per leaf (decoders intern leaf
// names, so most are pointer checks) and no allocation; samples and
// buffers are pooled per Write, and label sets are built once per series
// and shared by its samples (the store keeps them, so they are never
// reused for another series). Each series also keeps a model.SeriesSlot
// that its samples carry, so the store finds its own entry for the series
// without hashing the labels or taking its cache lock.
//
// Receivers that read a stream (TCP, UDP) use a Writer per connection:
// messages are mapped as they come and the samples of one socket read are
// written as one batch, one store commit, instead of one per message (see
// Writer for why no guarantee is lost).
package xrmap
