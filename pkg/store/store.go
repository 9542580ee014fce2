// Package store keeps Netlens' series in an embedded Prometheus TSDB and
// answers PromQL over them.
//
// Why embedded Prometheus: the TSDB (head + WAL + compacted blocks, retention
// by time and size) and the PromQL engine are what Prometheus, Mimir and
// Grafana's agents run in production, and Grafana users already write PromQL.
// Writing our own storage engine or query language would cost more and be
// worse (design.md, Store). The store knows nothing of wire formats: it takes
// model.Sample values and hands back PromQL results.
//
// Durability: Append commits once per call. The commit writes the batch to
// the WAL with a write(2) before Append returns, so a crash of the process
// (panic, kill -9, OOM kill) loses nothing that Append acknowledged. The WAL
// is fsynced when a segment is cut and at Close, not per commit, so a crash
// of the whole machine can lose the last seconds; that is Prometheus' own
// trade-off and keeps ingest fast.
//
// Limits: see Options defaults, MaxLabels, MaxNameLen, MaxLabelValueLen, the
// bounded series-ref cache (maxCachedSeries) and the metric catalog bound
// (maxCatalogEntries).
package store

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"

	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pipeline"
)

// Defaults applied by Open to zero-valued options.
const (
	DefaultRetention        = 15 * 24 * time.Hour
	DefaultOutOfOrderWindow = time.Hour
	DefaultQueryTimeout     = 30 * time.Second
	// DefaultMaxSamples bounds the samples one query may hold in memory
	// (16 bytes each, so about 800 MB at the limit); Prometheus uses the
	// same default.
	DefaultMaxSamples = 50_000_000
	// DefaultLookbackDelta is how far back an instant selector looks for a
	// sample. FTD streams every 60 s by default, so Prometheus' 5 minutes
	// covers a few missed intervals without joining unrelated gaps.
	DefaultLookbackDelta = 5 * time.Minute
	// DefaultMaxConcurrentQueries is twice the cores of the machines we run
	// on: more queries at once would only share the same CPUs while each
	// holds its memory.
	DefaultMaxConcurrentQueries = 4
)

// maxCachedSeries bounds the series-ref cache. Past it, an arbitrary entry
// is evicted per new series; evicted series still append correctly, they
// only pay for building their labels again. Entries a producer keeps in its
// own slots (model.SeriesSlot) live as long as its series entries do, so
// they are bounded by the producer's series bound (xrmap: per router).
const maxCachedSeries = 1 << 20

// Options configure Open.
type Options struct {
	Dir string
	// Retention drops blocks older than this; 0 means DefaultRetention.
	Retention time.Duration
	// RetentionSize caps blocks plus WAL on disk, in bytes; 0 means no cap.
	RetentionSize int64
	// OutOfOrderWindow accepts samples up to this much older than the
	// newest one (devices' clocks drift, batches arrive late); 0 means
	// DefaultOutOfOrderWindow, a negative value disables it.
	OutOfOrderWindow time.Duration
	Logger           log.Logger
	// QueryTimeout and MaxSamples are the PromQL engine's limits; 0 means
	// DefaultQueryTimeout and DefaultMaxSamples.
	QueryTimeout time.Duration
	MaxSamples   int
	// MaxConcurrentQueries bounds the PromQL queries running at once (each
	// may hold up to MaxSamples); more wait their turn or their context's
	// end. 0 means DefaultMaxConcurrentQueries.
	MaxConcurrentQueries int

	// blockDuration overrides the TSDB's 2h block range; tests use it to
	// cut blocks (and so exercise retention) with little data.
	blockDuration time.Duration
}

// Store is the series store. It is safe for concurrent use.
type Store struct {
	opts   Options
	log    log.Logger
	db     *tsdb.DB
	engine *promql.Engine
	cat    *catalog
	// querySlots holds one token per running query.
	querySlots chan struct{}

	seed       maphash.Seed
	cacheMu    sync.Mutex
	cache      map[uint64]*cachedSeries
	cacheLimit int
	builders   sync.Pool // *labels.ScratchBuilder

	appended atomic.Uint64
	rejected [numReasons]atomic.Uint64
}

// cachedSeries is what the hot path needs for a series it has seen: the
// TSDB's ref, the labels to fall back on when the head has dropped the ref,
// and what the catalog already knows, so known series skip validation,
// label building and the catalog.
type cachedSeries struct {
	// owner is the store that made it: a producer's slot may outlive a
	// store (tests open several), and refs mean nothing to another.
	owner   *Store
	name    string
	labels  model.Labels
	lset    labels.Labels
	ref     storage.SeriesRef
	kind    model.Kind
	hasHelp bool
}

// Open opens (or creates) the store in opts.Dir, replaying its WAL.
func Open(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("store: empty data directory")
	}
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	if opts.OutOfOrderWindow == 0 {
		opts.OutOfOrderWindow = DefaultOutOfOrderWindow
	}
	if opts.OutOfOrderWindow < 0 {
		opts.OutOfOrderWindow = 0
	}
	if opts.RetentionSize < 0 {
		opts.RetentionSize = 0
	}
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = DefaultQueryTimeout
	}
	if opts.MaxSamples <= 0 {
		opts.MaxSamples = DefaultMaxSamples
	}
	if opts.MaxConcurrentQueries <= 0 {
		opts.MaxConcurrentQueries = DefaultMaxConcurrentQueries
	}
	if opts.Logger == nil {
		opts.Logger = log.NewNullLogger()
	}
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("store: create data directory: %w", err)
	}

	to := tsdb.DefaultOptions()
	to.RetentionDuration = opts.Retention.Milliseconds()
	to.MaxBytes = opts.RetentionSize
	to.OutOfOrderTimeWindow = opts.OutOfOrderWindow.Milliseconds()
	// Queries never need isolation from a concurrent commit here: a panel
	// that sees half of a batch sees the rest on its next refresh.
	to.IsolationDisabled = true
	if opts.blockDuration > 0 {
		to.MinBlockDuration = opts.blockDuration.Milliseconds()
		to.MaxBlockDuration = opts.blockDuration.Milliseconds()
	}
	slogger := newSlogLogger(opts.Logger)
	db, err := tsdb.Open(opts.Dir, slogger, nil, to, nil)
	if err != nil {
		return nil, fmt.Errorf("store: open TSDB in %s: %w", opts.Dir, err)
	}
	cat, err := openCatalog(opts.Dir)
	if err != nil {
		if cat == nil {
			db.Close()
			return nil, fmt.Errorf("store: %w", err)
		}
		opts.Logger.Warn("Metric catalog unreadable, kinds and help texts are relearned as data arrives", "error", err)
	}
	s := &Store{
		opts: opts,
		log:  opts.Logger,
		db:   db,
		cat:  cat,
		seed: maphash.MakeSeed(),
		// The cache grows as series arrive; start small so an idle store
		// costs nothing.
		cache:      make(map[uint64]*cachedSeries, 1024),
		cacheLimit: maxCachedSeries,
		querySlots: make(chan struct{}, opts.MaxConcurrentQueries),
		engine: promql.NewEngine(promql.EngineOpts{
			Logger:               slogger,
			MaxSamples:           opts.MaxSamples,
			Timeout:              opts.QueryTimeout,
			LookbackDelta:        DefaultLookbackDelta,
			EnableAtModifier:     true,
			EnableNegativeOffset: true,
		}),
	}
	s.builders.New = func() any { b := labels.NewScratchBuilder(16); return &b }
	return s, nil
}

// Close flushes the metric catalog and closes the TSDB (which fsyncs the WAL).
func (s *Store) Close() error {
	errCat := s.cat.save()
	err := s.db.Close()
	if err != nil {
		return fmt.Errorf("store: close TSDB: %w", err)
	}
	if errCat != nil {
		return fmt.Errorf("store: %w", errCat)
	}
	return nil
}

// Queryable is the TSDB as PromQL and the label APIs see it.
func (s *Store) Queryable() storage.Queryable { return s.db }

// Engine is the PromQL engine configured with the store's limits.
func (s *Store) Engine() *promql.Engine { return s.engine }

var _ pipeline.Appender = (*Store)(nil)

// Append writes samples in one TSDB transaction. A sample the TSDB or the
// validation rejects is counted and skipped; the rest are kept. The error is
// non-nil only when nothing could be kept (a cancelled context before the
// first write, or a failed WAL write), in which case the whole batch is
// counted as rejected.
func (s *Store) Append(ctx context.Context, samples []model.Sample) (pipeline.AppendResult, error) {
	var res pipeline.AppendResult
	if len(samples) == 0 {
		return res, nil
	}
	if err := ctx.Err(); err != nil {
		s.rejected[reasonOther].Add(uint64(len(samples)))
		return pipeline.AppendResult{Rejected: len(samples), FirstError: err}, err
	}
	app := s.db.Appender(ctx)
	b := s.builders.Get().(*labels.ScratchBuilder)
	defer s.builders.Put(b)
	var h maphash.Hash
	h.SetSeed(s.seed)
	catalogChanged := false

	for i := range samples {
		sm := &samples[i]
		// A producer's slot, when it holds this store's entry for this
		// very series, spares the hash and the shared cache's lock.
		cs := s.fromSlot(sm)
		hashed := cs == nil
		var key uint64
		var cached *cachedSeries // found by hash, for the slot
		if hashed {
			key = s.hashSample(&h, sm)
			cached = s.lookup(key, sm)
			cs = cached
		}
		var err error
		if cs == nil {
			if err = validate(sm); err == nil {
				cs = &cachedSeries{owner: s, name: sm.Name, labels: sm.Labels, lset: buildLabels(b, sm)}
			}
		} else {
			err = validateValue(sm)
		}
		if err != nil {
			s.reject(&res, reasonInvalid, err)
			continue
		}
		ref, err := app.Append(cs.ref, cs.lset, sm.TimestampMs, sm.Value)
		if err != nil {
			r := classify(err)
			s.reject(&res, r, fmt.Errorf("%s at %s: %w", seriesString(sm), time.UnixMilli(sm.TimestampMs).UTC().Format(time.RFC3339Nano), err))
			continue
		}
		res.Appended++
		// The catalog hears about a series when it is new to this process
		// and when its kind changes or its first help text arrives; a help
		// text that later changes is not picked up until a restart.
		if ref != cs.ref || (sm.Kind != model.KindUnknown && sm.Kind != cs.kind) || (sm.Help != "" && !cs.hasHelp) {
			catalogChanged = s.cat.observe(sm) || catalogChanged
			// A fresh struct, not an update in place: other appenders may
			// be reading the cached one.
			next := *cs
			next.ref = ref
			if sm.Kind != model.KindUnknown {
				next.kind = sm.Kind
			}
			next.hasHelp = next.hasHelp || sm.Help != ""
			if !hashed {
				key = s.hashSample(&h, sm)
			}
			s.remember(key, &next)
			if sm.Slot != nil {
				sm.Slot.Store(&next)
			}
		} else if cached != nil && sm.Slot != nil {
			// (cached, not cs: a series new to the cache stays off the
			// heap until remember's copy.)
			sm.Slot.Store(cached)
		}
	}

	if err := app.Commit(); err != nil {
		// Nothing of the batch reached the WAL.
		s.rejected[reasonOther].Add(uint64(res.Appended))
		err = fmt.Errorf("store: commit %d samples to the WAL: %w", res.Appended, err)
		return pipeline.AppendResult{Rejected: len(samples), FirstError: err}, err
	}
	s.appended.Add(uint64(res.Appended))
	if catalogChanged {
		if err := s.cat.save(); err != nil {
			// The samples are safe; only kinds and help may need relearning
			// after a restart. Save is retried with the next change.
			s.log.Warn("Saving the metric catalog failed", "error", err)
		}
	}
	return res, nil
}

func (s *Store) reject(res *pipeline.AppendResult, r reason, err error) {
	s.rejected[r].Add(1)
	res.Rejected++
	if res.FirstError == nil {
		res.FirstError = err
	}
}

// hashSample keys the series cache by name and labels without building
// anything.
func (s *Store) hashSample(h *maphash.Hash, sm *model.Sample) uint64 {
	h.Reset()
	h.WriteString(sm.Name)
	for _, l := range sm.Labels {
		h.WriteByte(0xff)
		h.WriteString(l.Name)
		h.WriteByte(0xfe)
		h.WriteString(l.Value)
	}
	return h.Sum64()
}

// lookup returns the cached series for sm, comparing the labels so a hash
// collision can never send a sample to the wrong series.
func (s *Store) lookup(key uint64, sm *model.Sample) *cachedSeries {
	s.cacheMu.Lock()
	cs := s.cache[key]
	s.cacheMu.Unlock()
	if cs == nil || !cs.is(sm) {
		return nil
	}
	return cs
}

// fromSlot returns the series sm's slot holds when it is this store's entry
// for sm's name and labels: the check compares every label, which for a
// producer that hands the same strings each time is a pointer comparison
// per string.
func (s *Store) fromSlot(sm *model.Sample) *cachedSeries {
	if sm.Slot == nil {
		return nil
	}
	cs, _ := sm.Slot.Load().(*cachedSeries)
	if cs == nil || cs.owner != s || !cs.is(sm) {
		return nil
	}
	return cs
}

// is says whether cs is the series of sm.
func (cs *cachedSeries) is(sm *model.Sample) bool {
	if !sameString(cs.name, sm.Name) || len(cs.labels) != len(sm.Labels) {
		return false
	}
	for i := range cs.labels {
		a, b := &cs.labels[i], &sm.Labels[i]
		if !sameString(a.Name, b.Name) || !sameString(a.Value, b.Value) {
			return false
		}
	}
	return true
}

// sameString is a == b, without comparing bytes when both share them (the
// cache's copy of a label set shares its strings with the producer's).
func sameString(a, b string) bool {
	return len(a) == len(b) && (unsafe.StringData(a) == unsafe.StringData(b) || a == b)
}

func (s *Store) remember(key uint64, cs *cachedSeries) {
	// Keep our own copy of the label slice: the caller may reuse its batch.
	if len(cs.labels) > 0 {
		cs.labels = append(model.Labels(nil), cs.labels...)
	}
	s.cacheMu.Lock()
	defer s.cacheMu.Unlock()
	if _, ok := s.cache[key]; !ok && len(s.cache) >= s.cacheLimit {
		for k := range s.cache {
			delete(s.cache, k)
			break
		}
	}
	s.cache[key] = cs
}

func buildLabels(b *labels.ScratchBuilder, sm *model.Sample) labels.Labels {
	b.Reset()
	b.Add(labels.MetricName, sm.Name)
	for _, l := range sm.Labels {
		b.Add(l.Name, l.Value)
	}
	// Validation guarantees sorted labels; __name__ sorts before any name
	// that validation allows, so no Sort is needed.
	return b.Labels()
}

func seriesString(sm *model.Sample) string {
	b := make([]byte, 0, 64)
	b = append(b, sm.Name...)
	b = append(b, '{')
	for i, l := range sm.Labels {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, l.Name...)
		b = append(b, '=')
		b = fmt.Appendf(b, "%q", l.Value)
	}
	return string(append(b, '}'))
}

// reason is why a sample was not stored.
type reason int

const (
	reasonOutOfBounds reason = iota // before the head's window with out-of-order off
	reasonOutOfOrder                // older than the series' newest sample, out-of-order off
	reasonTooOld                    // older than the out-of-order window
	reasonDuplicate                 // same timestamp, different value
	reasonInvalid                   // names, labels or value the store does not accept
	reasonOther                     // anything else: WAL failure, cancelled context
	numReasons
)

func classify(err error) reason {
	switch {
	case errors.Is(err, storage.ErrOutOfBounds):
		return reasonOutOfBounds
	case errors.Is(err, storage.ErrOutOfOrderSample):
		return reasonOutOfOrder
	case errors.Is(err, storage.ErrTooOldSample):
		return reasonTooOld
	case errors.Is(err, storage.ErrDuplicateSampleForTimestamp):
		return reasonDuplicate
	case errors.Is(err, tsdb.ErrInvalidSample):
		return reasonInvalid
	default:
		return reasonOther
	}
}

// Rejections counts rejected samples by reason.
type Rejections struct {
	OutOfBounds uint64 `json:"outOfBounds"`
	OutOfOrder  uint64 `json:"outOfOrder"`
	TooOld      uint64 `json:"tooOld"`
	Duplicate   uint64 `json:"duplicate"`
	Invalid     uint64 `json:"invalid"`
	Other       uint64 `json:"other"`
}

// Total is the sum over all reasons.
func (r Rejections) Total() uint64 {
	return r.OutOfBounds + r.OutOfOrder + r.TooOld + r.Duplicate + r.Invalid + r.Other
}

// Stats is the store's state for health checks and the status board.
type Stats struct {
	HeadSeries       uint64        `json:"headSeries"`
	HeadMinTime      time.Time     `json:"headMinTime"`
	HeadMaxTime      time.Time     `json:"headMaxTime"`
	SamplesAppended  uint64        `json:"samplesAppended"`
	Rejected         Rejections    `json:"rejected"`
	Blocks           int           `json:"blocks"`
	WALBytes         int64         `json:"walBytes"`
	DiskBytes        int64         `json:"diskBytes"`
	Retention        time.Duration `json:"retention"`
	RetentionSize    int64         `json:"retentionSize"`
	OutOfOrderWindow time.Duration `json:"outOfOrderWindow"`
	CachedSeries     int           `json:"cachedSeries"`
	CatalogMetrics   int           `json:"catalogMetrics"`
	CatalogDropped   uint64        `json:"catalogDropped"`
	CatalogError     string        `json:"catalogError,omitempty"`
}

// Stats walks the data directory for sizes, so call it for health and
// status pages, not per sample.
func (s *Store) Stats() Stats {
	head := s.db.Head()
	st := Stats{
		HeadSeries:      head.NumSeries(),
		SamplesAppended: s.appended.Load(),
		Rejected: Rejections{
			OutOfBounds: s.rejected[reasonOutOfBounds].Load(),
			OutOfOrder:  s.rejected[reasonOutOfOrder].Load(),
			TooOld:      s.rejected[reasonTooOld].Load(),
			Duplicate:   s.rejected[reasonDuplicate].Load(),
			Invalid:     s.rejected[reasonInvalid].Load(),
			Other:       s.rejected[reasonOther].Load(),
		},
		Blocks:           len(s.db.Blocks()),
		WALBytes:         dirSize(filepath.Join(s.opts.Dir, "wal")),
		DiskBytes:        dirSize(s.opts.Dir),
		Retention:        s.opts.Retention,
		RetentionSize:    s.opts.RetentionSize,
		OutOfOrderWindow: s.opts.OutOfOrderWindow,
	}
	if st.HeadSeries > 0 {
		st.HeadMinTime = time.UnixMilli(head.MinTime()).UTC()
		st.HeadMaxTime = time.UnixMilli(head.MaxTime()).UTC()
	}
	s.cacheMu.Lock()
	st.CachedSeries = len(s.cache)
	s.cacheMu.Unlock()
	s.cat.mu.Lock()
	st.CatalogMetrics = len(s.cat.entries)
	st.CatalogDropped = s.cat.dropped
	if s.cat.saveErr != nil {
		st.CatalogError = s.cat.saveErr.Error()
	}
	s.cat.mu.Unlock()
	return st
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // files come and go under compaction; count what is there
		}
		if !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
