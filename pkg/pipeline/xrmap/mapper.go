package xrmap

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/maphash"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/netlens/netlens/pkg/decode/xr"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pipeline"
	"github.com/netlens/netlens/pkg/records"
	"github.com/netlens/netlens/pkg/status"
)

// StateTable is the record kind (and table name) of string leaves.
const StateTable = "xr_state"

// Fixed columns of xr_state; every row key adds a column of its label name.
const (
	ColDevice       = "device"
	ColPath         = "path"
	ColPolicy       = "policy"
	ColSubscription = "subscription"
	ColLeaf         = "leaf"
	ColValue        = "value"
	// ColIndex holds the position of a string leaf repeated inside one row
	// (the contract's index label, for records).
	ColIndex = "index"
)

// Board counters.
const (
	CounterSamples        = "xr_samples_mapped"
	CounterStateRows      = "xr_state_rows"
	CounterSeriesDropped  = "xr_series_dropped"  // reason series_limit
	CounterStateDropped   = "xr_state_dropped"   // reason series_limit, on the change tracker
	CounterNamesRefused   = "xr_names_refused"   // leaf names that make no metric name
	CounterCatalogDropped = "xr_catalog_dropped" // leaves of paths or leaves past the catalog bounds
	CounterColumnErrors   = "xr_state_column_errors"
)

// Defaults and bounds.
const (
	DefaultMaxSeriesPerRouter = 100_000
	DefaultStateRefresh       = 60 * time.Second
	// MaxPathsPerDevice and MaxLeavesPerPath bound the catalog, which also
	// holds the name caches: leaves of paths (or leaf names) past them are
	// dropped and counted, so a router inventing names cannot grow memory.
	MaxPathsPerDevice = 4096
	MaxLeavesPerPath  = 4096
	// maxDevices bounds the routers remembered; past it the one silent the
	// longest is forgotten.
	maxDevices = 4096
	// maxKeyLabels bounds the key names one path lists in its PathInfo.
	maxKeyLabels = 64
	// maxPooledSamples caps the sample buffer a pooled scratch keeps.
	maxPooledSamples = 1 << 16
	// errorEveryMs spaces the device error records of one router's drops:
	// the counters say how many, the record says why.
	errorEveryMs = 10_000
)

// Options configure a Mapper; zero fields take the defaults.
type Options struct {
	// MaxSeriesPerRouter bounds the distinct series of one router, and the
	// entries of its xr_state change tracker.
	MaxSeriesPerRouter int
	// StateRefresh is how long after its last write a string leaf that did
	// not change is written again, so a "current state" query over any
	// window of that length finds every leaf.
	StateRefresh time.Duration
}

// Mapper turns xr.Messages into samples, xr_state rows and a catalog. Safe
// for concurrent use: state is kept per router under the router's lock, so
// connections of different routers do not wait for one another.
type Mapper struct {
	series pipeline.Sink
	state  *records.Table
	board  *status.Board
	o      Options
	seed   maphash.Seed

	cols      fixedCols
	colsErr   error
	refreshMs int64
	scratch   sync.Pool
	mu        sync.RWMutex
	devices   map[string]*device
}

type fixedCols struct {
	device, path, policy, subscription, leaf, value, index records.Col
}

// New returns a Mapper writing samples to series (the store and live hub)
// and string leaves to state (the xr_state table; nil keeps none), counting
// on board.
func New(series pipeline.Sink, state *records.Table, board *status.Board, o Options) *Mapper {
	if o.MaxSeriesPerRouter <= 0 {
		o.MaxSeriesPerRouter = DefaultMaxSeriesPerRouter
	}
	if o.StateRefresh <= 0 {
		o.StateRefresh = DefaultStateRefresh
	}
	m := &Mapper{series: series, state: state, board: board, o: o, seed: maphash.MakeSeed(),
		refreshMs: o.StateRefresh.Milliseconds(), devices: map[string]*device{}}
	if state != nil {
		var err error
		col := func(name string) records.Col {
			c, e := state.Column(name, records.String)
			if e != nil && err == nil {
				err = e
			}
			return c
		}
		m.cols = fixedCols{device: col(ColDevice), path: col(ColPath), policy: col(ColPolicy),
			subscription: col(ColSubscription), leaf: col(ColLeaf), value: col(ColValue)}
		if c, e := state.Column(ColIndex, records.Uint); e == nil {
			m.cols.index = c
		} else if err == nil {
			err = e
		}
		m.colsErr = err
	}
	m.scratch.New = func() any {
		s := &scratch{}
		if state != nil {
			s.app = state.NewAppender()
		}
		return s
	}
	return m
}

// scratch is what one Write reuses from the pool: the batch and its samples
// (the sink does not keep them once Write returns), buffers for keys and
// values, and a record appender.
type scratch struct {
	batch   model.Batch
	samples []model.Sample
	ident   []byte
	val     []byte
	hex     []byte
	leaves  []*leafState
	promo   []int
	plan    []step // a row's plan past the router's plan budget
	app     *records.Appender
	counts  counts
}

type counts struct {
	stateRows, seriesDropped, stateDropped, refused, catalogDropped, colErrs int
}

// device is one router's state, under its own lock.
type device struct {
	mu         sync.Mutex
	name       string
	nameVal    []byte
	lastSeenMs int64
	paths      map[string]*pathState
	series     map[entryKey]*seriesEntry
	tracker    map[entryKey]*stateEntry
	rowSets    int
	planSteps  int
	lastErrMs  int64
	refusedErr string
}

type entryKey struct {
	row   *rowSet
	leaf  *leafState
	index int32
}

// pathState is the catalog entry of one path and the caches of its names.
type pathState struct {
	info    PathInfo
	leaves  map[string]*leafState
	order   []*leafState
	keys    map[string]*keyInfo
	rows    map[string]*rowSet // by identity: policy, subscription, key names and values
	gen     uint32             // row generation, for counting repeated leaves
	pathVal []byte             // the path as a record value
}

type leafState struct {
	name    string
	typ     xr.Kind
	kind    model.Kind // of a numeric leaf, fixed when first seen numeric
	metric  string
	named   bool // metric computed (ok or refused)
	nameOK  bool
	isState bool // seen as string or bytes
	isKey   bool // a promoted list key: a label, not a leaf of the catalog
	gen     uint32
	n, seen int32
	nameVal []byte
}

type keyInfo struct {
	label string
	col   records.Col
	colOK bool
}

// rowSet is one series identity below a path (policy, subscription and row
// keys): its labels, its xr_state key columns and, as plans, what each leaf
// position became in the row shapes last seen, so that a row shaped like
// one before maps without a lookup per leaf.
type rowSet struct {
	labels  model.Labels
	keyCols []keyCol
	plans   [][]step
	next    int // the plan to replace when all maxPlans are taken
}

// maxPlans is how many row shapes one identity keeps plans for: OpenConfig
// rows of one interface come in a few shapes (interface counters, one per
// subinterface, ...) that alternate within every message.
const maxPlans = 4

// find returns the plan made for rows shaped like content, or nil.
func (rs *rowSet) find(content []xr.Leaf) []step {
	for _, p := range rs.plans {
		if planFits(p, content) {
			return p
		}
	}
	return nil
}

type keyCol struct {
	col records.Col
	val []byte
}

type step struct {
	name   string
	leaf   *leafState
	action action
	series *seriesEntry
	state  *stateEntry
	index  int32
	num    bool // the leaf was numeric
}

type action uint8

const (
	actSample action = iota
	actState
	actSkip    // a promoted list key, or a string leaf with no table to go to
	actDrop    // series or tracker limit
	actRefused // no metric name
	actCatalog // leaf past the catalog bound
	actColumn  // xr_state's own columns could not be made (a table shared with another schema)
)

type seriesEntry struct {
	name   string
	labels model.Labels
	kind   model.Kind
	// slot is the store's entry for the series, kept here so the store
	// skips its own lookup on every later sample.
	slot model.SeriesSlot
}

// stateEntry is the change tracker of one string leaf: a hash of the value
// last written (a collision would skip one change until the refresh) and
// when.
type stateEntry struct {
	hash   uint64
	lastMs int64
}

// Write maps one message: numeric leaves to one batch written to the series
// sink (it returns once the sink has it), string and bytes leaves to
// xr_state rows when they changed or StateRefresh after their last write.
// receivedMs is the clock: it stamps rows without a time and decides
// refreshes. Safe for concurrent use by many connections.
func (m *Mapper) Write(ctx context.Context, dev model.DeviceRef, msg *xr.Message, receivedMs int64) error {
	sc := m.scratch.Get().(*scratch)
	sc.samples = sc.samples[:0]
	name := m.mapMessage(sc, dev, msg, receivedMs)
	n := len(sc.samples)
	err := m.store(ctx, sc, dev, receivedMs)
	sc.release()
	m.scratch.Put(sc)
	if err != nil {
		return fmt.Errorf("xr %s %s: %d samples not stored: %w", name, msg.Path, n, err)
	}
	return nil
}

// mapMessage maps msg: its samples are appended to sc.samples, its
// xr_state rows written, and everything but the samples (counted once
// stored) counted on the board. It returns the router's name.
func (m *Mapper) mapMessage(sc *scratch, dev model.DeviceRef, msg *xr.Message, receivedMs int64) string {
	name := msg.Node
	if name == "" {
		name = dev.ID
	}
	d := m.device(name, receivedMs)
	sc.counts = counts{}

	d.mu.Lock()
	d.lastSeenMs = max(d.lastSeenMs, receivedMs)
	ps := d.path(msg, receivedMs)
	if ps == nil {
		for i := range msg.Rows {
			sc.counts.catalogDropped += len(msg.Rows[i].Content)
		}
	} else {
		for i := range msg.Rows {
			m.row(sc, d, ps, msg, &msg.Rows[i], receivedMs)
		}
	}
	errNow := (sc.counts.seriesDropped+sc.counts.stateDropped+sc.counts.refused > 0) && receivedMs-d.lastErrMs >= errorEveryMs
	if errNow {
		d.lastErrMs = receivedMs
	}
	refused := d.refusedErr
	d.mu.Unlock()

	if sc.counts.stateRows > 0 {
		sc.app.Flush()
	}
	m.count(dev, &sc.counts, errNow, refused)
	return name
}

// store writes sc.samples as one batch (one store commit) and counts them
// once the sink has them.
func (m *Mapper) store(ctx context.Context, sc *scratch, dev model.DeviceRef, receivedMs int64) error {
	if len(sc.samples) == 0 {
		return nil
	}
	sc.batch = model.Batch{Device: dev, Samples: sc.samples, ReceivedMs: receivedMs}
	err := m.series.Write(ctx, &sc.batch)
	sc.batch = model.Batch{}
	if err == nil && m.board != nil {
		m.board.Add(CounterSamples, uint64(len(sc.samples)))
	}
	return err
}

// release empties the sample buffer, dropping it when one huge message
// grew it: it must not stay pinned in the pool or a connection's writer.
func (sc *scratch) release() {
	sc.samples = sc.samples[:0]
	if cap(sc.samples) > maxPooledSamples {
		sc.samples = nil
	}
}

// count moves one message's figures to the board.
func (m *Mapper) count(dev model.DeviceRef, c *counts, errNow bool, refused string) {
	b := m.board
	if b == nil {
		return
	}
	// The receiver records messages per router on the board (Batch); the
	// mapper counts what became of their leaves (samples once stored).
	if c.stateRows > 0 {
		b.Add(CounterStateRows, uint64(c.stateRows))
	}
	if c.seriesDropped > 0 {
		b.Add(CounterSeriesDropped, uint64(c.seriesDropped))
	}
	if c.stateDropped > 0 {
		b.Add(CounterStateDropped, uint64(c.stateDropped))
	}
	if c.refused > 0 {
		b.Add(CounterNamesRefused, uint64(c.refused))
	}
	if c.catalogDropped > 0 {
		b.Add(CounterCatalogDropped, uint64(c.catalogDropped))
	}
	if c.colErrs > 0 {
		b.Add(CounterColumnErrors, uint64(c.colErrs))
	}
	if !errNow {
		return
	}
	if n := c.seriesDropped + c.stateDropped; n > 0 {
		b.Error(dev, status.CatBuffer, fmt.Errorf("series_limit: %d leaves dropped, the router has reached %d series (xr_max_series_per_router)", n, m.o.MaxSeriesPerRouter))
	}
	if c.refused > 0 {
		b.Error(dev, status.CatInvalidArgument, fmt.Errorf("name_refused: %d leaves make no metric name (longer than %d or no usable character), e.g. %q", c.refused, MaxMetricName, refused))
	}
}

// device finds or creates a router's state.
func (m *Mapper) device(name string, nowMs int64) *device {
	m.mu.RLock()
	d := m.devices[name]
	m.mu.RUnlock()
	if d != nil {
		return d
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if d = m.devices[name]; d != nil {
		return d
	}
	if len(m.devices) >= maxDevices {
		var oldest *device
		var oldestMs int64
		for _, o := range m.devices {
			o.mu.Lock()
			seen := o.lastSeenMs
			o.mu.Unlock()
			if oldest == nil || seen < oldestMs {
				oldest, oldestMs = o, seen
			}
		}
		delete(m.devices, oldest.name)
	}
	d = &device{name: name, nameVal: []byte(name), lastSeenMs: nowMs, paths: map[string]*pathState{},
		series: map[entryKey]*seriesEntry{}, tracker: map[entryKey]*stateEntry{}}
	m.devices[name] = d
	return d
}

// path returns the catalog entry of msg's path, updated for this message;
// nil past MaxPathsPerDevice (under d.mu).
func (d *device) path(msg *xr.Message, nowMs int64) *pathState {
	ps := d.paths[msg.Path]
	if ps == nil {
		if len(d.paths) >= MaxPathsPerDevice {
			return nil
		}
		ps = &pathState{info: PathInfo{Device: d.name, Path: msg.Path}, leaves: map[string]*leafState{},
			keys: map[string]*keyInfo{}, rows: map[string]*rowSet{}, pathVal: []byte(msg.Path)}
		d.paths[msg.Path] = ps
	}
	in := &ps.info
	if in.Policy != msg.Policy {
		in.Policy = msg.Policy
	}
	if in.Subscription != msg.Subscription {
		in.Subscription = msg.Subscription
	}
	in.Encoding = msg.Encoding.String()
	in.LastSeenMs = max(in.LastSeenMs, nowMs)
	in.Messages++
	in.Rows = len(msg.Rows)
	return ps
}

// maxPromoted bounds the list keys taken from one keyless row; keyScan is
// how many leaves at the start of the row may be keys. Encoders put a list
// entry's keys first (IOS XR does), and the bound keeps the search linear
// in the row's size: each candidate is checked against every leaf.
const (
	maxPromoted = 4
	keyScan     = 16
)

// promote finds the list keys of a keyless row and returns their positions
// in its content. OpenConfig paths subscribed at a container
// (openconfig-interfaces:interfaces, openconfig-platform:components) come
// as rows without keys, one per list entry (IOS XR even splits an
// interface into one row per subinterface and address), each entry's YANG
// key inside the content. Without them every interface's counters would
// land in one series. A list key is a leaf <entry>/<k>, occurring once in
// the row, right below an element other than state or config, that either
// is named name or index (interface/name, subinterface/index,
// component/name) or has its OpenConfig twin <entry>/state/<k> or
// <entry>/config/<k> in the row (address/ip). Its label is
// "<entry>_<k>": interface_name, subinterface_index, address_ip.
func promote(dst []int, r *xr.Row) []int {
	dst = dst[:0]
	if len(r.Keys) > 0 {
		return dst
	}
	for i := range min(len(r.Content), keyScan) {
		if len(dst) == maxPromoted {
			break
		}
		l := &r.Content[i]
		if l.Kind == xr.LeafBytes {
			continue
		}
		n := l.Name
		slash := lastIndex(n, '/')
		if slash <= 0 {
			continue
		}
		entry, k := n[:slash], n[slash+1:]
		el := entry[lastIndex(entry, '/')+1:]
		if el == "state" || el == "config" || k == "" {
			continue
		}
		isKey := k == "name" || k == "index"
		once := true
		for j := range r.Content {
			if j == i {
				continue
			}
			o := r.Content[j].Name
			if o == n {
				once = false
				break
			}
			if !isKey && isTwin(o, entry, k) {
				isKey = true
			}
		}
		if once && isKey {
			dst = append(dst, i)
		}
	}
	return dst
}

// isTwin says whether o is entry + "/state/" + k or entry + "/config/" + k.
func isTwin(o, entry, k string) bool {
	if len(o) != len(entry)+len("/state/")+len(k) && len(o) != len(entry)+len("/config/")+len(k) {
		return false
	}
	if o[:len(entry)] != entry || o[len(o)-len(k):] != k || o[len(o)-len(k)-1] != '/' {
		return false
	}
	mid := o[len(entry) : len(o)-len(k)]
	return mid == "/state/" || mid == "/config/"
}

// promotedLabel is the label of a promoted list key: its element and its
// own name, without a module prefix.
func promotedLabel(n string) string {
	i := lastIndex(n, '/')
	el := n[:i]
	el = el[lastIndex(el, '/')+1:]
	el = el[lastIndex(el, ':')+1:]
	return LabelName(el + "_" + n[i+1:])
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// row maps one row (under d.mu).
func (m *Mapper) row(sc *scratch, d *device, ps *pathState, msg *xr.Message, r *xr.Row, nowMs int64) {
	ts := r.TimestampMs
	if ts == 0 {
		ts = msg.MsgTimestampMs
	}
	if ts == 0 {
		ts = nowMs
	}
	sc.promo = promote(sc.promo, r)
	promoted := sc.promo
	rs := m.rowSet(sc, d, ps, msg, r, promoted)
	if rs == nil {
		for i := range r.Content {
			if numeric(r.Content[i].Kind) {
				sc.counts.seriesDropped++
			} else {
				sc.counts.stateDropped++
			}
		}
		return
	}
	plan := rs.find(r.Content)
	if plan == nil {
		plan = m.replan(sc, d, ps, rs, r, promoted)
	}
	for i := range plan {
		st := &plan[i]
		l := &r.Content[i]
		if st.leaf.typ != l.Kind {
			st.leaf.typ = l.Kind
		}
		switch st.action {
		case actSample:
			se := st.series
			var v float64
			switch l.Kind {
			case xr.LeafUint:
				v = float64(l.U)
			case xr.LeafInt:
				v = float64(l.I)
			case xr.LeafFloat:
				v = l.F
			case xr.LeafBool:
				if l.B {
					v = 1
				}
			}
			sc.samples = append(sc.samples, model.Sample{Name: se.name, Labels: se.labels, TimestampMs: ts, Value: v, Kind: se.kind, Slot: &se.slot})
		case actState:
			m.stateLeaf(sc, d, ps, rs, st, msg, l, ts, nowMs)
		case actDrop:
			if numeric(l.Kind) {
				sc.counts.seriesDropped++
			} else {
				sc.counts.stateDropped++
			}
		case actRefused:
			sc.counts.refused++
			if d.refusedErr == "" {
				d.refusedErr = l.Name[:min(len(l.Name), 80)]
			}
		case actCatalog:
			sc.counts.catalogDropped++
		case actColumn:
			sc.counts.colErrs++
		}
	}
}

// planFits says whether the row has the shape the plan was made for: the
// same leaf names in the same order, each numeric where it was numeric.
// Decoders intern leaf names, so the comparisons are mostly pointer checks.
func planFits(plan []step, content []xr.Leaf) bool {
	if len(plan) != len(content) {
		return false
	}
	for i := range plan {
		st := &plan[i]
		l := &content[i]
		if st.name != l.Name || st.num != numeric(l.Kind) {
			return false
		}
	}
	return true
}

// rowSet finds or creates the identity of a row (under d.mu): nil when the
// router has reached its series bound.
func (m *Mapper) rowSet(sc *scratch, d *device, ps *pathState, msg *xr.Message, r *xr.Row, promoted []int) *rowSet {
	// Each part length-prefixed: names and values may hold any byte.
	b := sc.ident[:0]
	b = appendPart(b, msg.Policy)
	b = appendPart(b, msg.Subscription)
	for i := range r.Keys {
		k := &r.Keys[i]
		b = appendPart(b, k.Name)
		sc.val = appendValue(sc.val[:0], k)
		b = appendPart(b, sc.val)
	}
	for _, i := range promoted {
		l := &r.Content[i]
		b = appendPart(b, l.Name)
		sc.val = appendValue(sc.val[:0], l)
		b = appendPart(b, sc.val)
	}
	sc.ident = b
	if rs := ps.rows[string(b)]; rs != nil {
		return rs
	}
	if d.rowSets >= m.o.MaxSeriesPerRouter {
		return nil
	}
	d.rowSets++
	rs := &rowSet{}
	ls := make(model.Labels, 0, 4+len(r.Keys)+1)
	ls = append(ls, model.Label{Name: "device", Value: d.name}, model.Label{Name: "path", Value: msg.Path})
	if msg.Policy != "" {
		ls = append(ls, model.Label{Name: "policy", Value: msg.Policy})
	}
	if msg.Subscription != "" {
		ls = append(ls, model.Label{Name: "subscription", Value: msg.Subscription})
	}
	addKey := func(name string, value []byte, promoted bool) {
		ki := m.keyInfo(sc, ps, name, promoted)
		v := string(value)
		ls = append(ls, model.Label{Name: ki.label, Value: v})
		if ki.colOK {
			rs.keyCols = append(rs.keyCols, keyCol{col: ki.col, val: []byte(v)})
		}
	}
	for i := range r.Keys {
		k := &r.Keys[i]
		sc.val = appendValue(sc.val[:0], k)
		addKey(k.Name, sc.val, false)
	}
	for _, i := range promoted {
		sc.val = appendValue(sc.val[:0], &r.Content[i])
		addKey(r.Content[i].Name, sc.val, true)
	}
	rs.labels = ls.Sort()
	ps.rows[string(b)] = rs
	return rs
}

// keyInfo returns the label and state column of a key name (under d.mu).
func (m *Mapper) keyInfo(sc *scratch, ps *pathState, name string, promoted bool) *keyInfo {
	if ki := ps.keys[name]; ki != nil {
		return ki
	}
	ki := &keyInfo{label: LabelName(name)}
	if promoted {
		ki.label = promotedLabel(name)
	}
	if len(ps.keys) < maxKeyLabels {
		ps.keys[name] = ki
		seen := false
		for _, k := range ps.info.Keys {
			seen = seen || k == ki.label
		}
		if !seen {
			ps.info.Keys = append(ps.info.Keys, ki.label)
		}
	}
	if m.state != nil {
		col := ki.label
		switch col {
		case ColLeaf, ColValue, records.TimeColumn:
			// fixed columns of xr_state that are not reserved labels
			col = "key_" + col
		}
		c, err := m.state.Column(col, records.String)
		if err != nil {
			sc.counts.colErrs++
		} else {
			ki.col, ki.colOK = c, true
		}
	}
	return ki
}

// replan rebuilds a row set's plan for the shape of r (under d.mu).
func (m *Mapper) replan(sc *scratch, d *device, ps *pathState, rs *rowSet, r *xr.Row, promoted []int) []step {
	ps.gen++
	gen := ps.gen
	sc.leaves = sc.leaves[:0]
	// First pass: the leaf state of every leaf and how often its name
	// occurs in the row, for the index label of repeated containers.
	for i := range r.Content {
		l := &r.Content[i]
		ls := ps.leaves[l.Name]
		if ls == nil && len(ps.leaves) < MaxLeavesPerPath {
			ls = &leafState{name: l.Name, typ: l.Kind, nameVal: []byte(l.Name)}
			ps.leaves[l.Name] = ls
			ps.order = append(ps.order, ls)
		}
		if ls != nil {
			if ls.gen != gen {
				ls.gen, ls.n, ls.seen = gen, 0, 0
			}
			ls.n++
		}
		sc.leaves = append(sc.leaves, ls)
	}
	// Plans are kept while the router's steps stay within its budget;
	// past it the row is mapped through a scratch plan, slower but bounded.
	keep := true
	replaced := 0
	if len(rs.plans) == maxPlans {
		replaced = len(rs.plans[rs.next])
	}
	if d.planSteps-replaced+len(r.Content) > m.planBudget() {
		keep = false
	}
	var plan []step
	switch {
	case !keep:
		plan = sc.plan[:0]
	case len(rs.plans) < maxPlans:
		rs.plans = append(rs.plans, nil)
		rs.next = len(rs.plans) - 1
		fallthrough
	default:
		plan = rs.plans[rs.next][:0]
	}
	for i := range r.Content {
		l := &r.Content[i]
		ls := sc.leaves[i]
		st := step{name: l.Name, leaf: ls, index: -1, num: numeric(l.Kind)}
		switch {
		case contains(promoted, i):
			st.action = actSkip
			if ls == nil {
				st.leaf = &leafState{name: l.Name}
			}
			st.leaf.isKey = true
		case ls == nil:
			st.action = actCatalog
			st.leaf = &leafState{name: l.Name, typ: l.Kind}
		default:
			if ls.n > 1 {
				st.index = ls.seen
				ls.seen++
			}
			if numeric(l.Kind) {
				m.planSample(d, ps, rs, ls, l, &st)
			} else {
				m.planState(d, rs, ls, &st)
			}
		}
		plan = append(plan, st)
	}
	if !keep {
		sc.plan = plan
		return plan
	}
	d.planSteps += len(plan) - replaced
	rs.plans[rs.next] = plan
	rs.next = (rs.next + 1) % maxPlans
	return plan
}

// planBudget bounds the plan steps one router keeps: enough for every
// series and tracked string leaf in a few row shapes.
func (m *Mapper) planBudget() int { return 4 * m.o.MaxSeriesPerRouter }

func (m *Mapper) planSample(d *device, ps *pathState, rs *rowSet, ls *leafState, l *xr.Leaf, st *step) {
	if !ls.named {
		ls.metric, ls.nameOK = MetricName(ps.info.Path, l.Name)
		ls.named = true
	}
	if ls.kind == model.KindUnknown {
		ls.kind = classify(l.Kind, l.Name)
	}
	if !ls.nameOK {
		st.action = actRefused
		return
	}
	k := entryKey{row: rs, leaf: ls, index: st.index}
	se := d.series[k]
	if se == nil {
		if len(d.series) >= m.o.MaxSeriesPerRouter {
			st.action = actDrop
			return
		}
		labels := rs.labels
		if st.index >= 0 {
			labels = make(model.Labels, len(rs.labels), len(rs.labels)+1)
			copy(labels, rs.labels)
			labels = append(labels, model.Label{Name: "index", Value: indexText(st.index)}).Sort()
		}
		se = &seriesEntry{name: ls.metric, labels: labels, kind: ls.kind}
		d.series[k] = se
	}
	st.action, st.series = actSample, se
}

func (m *Mapper) planState(d *device, rs *rowSet, ls *leafState, st *step) {
	ls.isState = true
	if m.state == nil {
		st.action = actSkip
		return
	}
	if m.colsErr != nil {
		st.action = actColumn
		return
	}
	k := entryKey{row: rs, leaf: ls, index: st.index}
	se := d.tracker[k]
	if se == nil {
		if len(d.tracker) >= m.o.MaxSeriesPerRouter {
			st.action = actDrop
			return
		}
		se = &stateEntry{lastMs: math.MinInt64}
		d.tracker[k] = se
	}
	st.action, st.state = actState, se
}

// stateLeaf writes a string leaf's record when its value changed or when
// StateRefresh passed since its last write (under d.mu).
func (m *Mapper) stateLeaf(sc *scratch, d *device, ps *pathState, rs *rowSet, st *step, msg *xr.Message, l *xr.Leaf, ts, nowMs int64) {
	h := maphash.String(m.seed, l.S)
	se := st.state
	if se.hash == h && se.lastMs != math.MinInt64 && nowMs-se.lastMs < m.refreshMs {
		return
	}
	se.hash, se.lastMs = h, nowMs
	a, c := sc.app, &m.cols
	a.Begin(ts)
	a.String(c.device, d.nameVal)
	a.String(c.path, ps.pathVal)
	if msg.Policy != "" {
		a.String(c.policy, bytesOf(sc, msg.Policy))
	}
	if msg.Subscription != "" {
		a.String(c.subscription, bytesOf(sc, msg.Subscription))
	}
	a.String(c.leaf, st.leaf.nameVal)
	if l.Kind == xr.LeafBytes {
		sc.val = append(sc.val[:0], l.S...)
		sc.hex = hex.AppendEncode(sc.hex[:0], sc.val)
		a.String(c.value, sc.hex)
	} else {
		a.String(c.value, bytesOf(sc, l.S))
	}
	if st.index >= 0 {
		a.Uint(c.index, uint64(st.index))
	}
	for i := range rs.keyCols {
		a.String(rs.keyCols[i].col, rs.keyCols[i].val)
	}
	a.Commit()
	sc.counts.stateRows++
}

// bytesOf copies s into a scratch buffer for the appender, which copies it
// into its arena at once: a conversion would allocate.
func bytesOf(sc *scratch, s string) []byte {
	sc.val = append(sc.val[:0], s...)
	return sc.val
}

var smallIndex [256]string

func init() {
	for i := range smallIndex {
		smallIndex[i] = strconv.Itoa(i)
	}
}

func indexText(i int32) string {
	if i >= 0 && int(i) < len(smallIndex) {
		return smallIndex[i]
	}
	return strconv.Itoa(int(i))
}

func appendPart[S string | []byte](b []byte, s S) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendValue renders a key's value as its label text.
func appendValue(b []byte, l *xr.Leaf) []byte {
	switch l.Kind {
	case xr.LeafUint:
		return strconv.AppendUint(b, l.U, 10)
	case xr.LeafInt:
		return strconv.AppendInt(b, l.I, 10)
	case xr.LeafFloat:
		return strconv.AppendFloat(b, l.F, 'g', -1, 64)
	case xr.LeafBool:
		return strconv.AppendBool(b, l.B)
	case xr.LeafBytes:
		return hex.AppendEncode(b, []byte(l.S))
	}
	return append(b, l.S...)
}
