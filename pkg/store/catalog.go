package store

import (
	"fmt"
	"path/filepath"
	"sort"
	"sync"

	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/persist"
)

// The TSDB can write metadata records to its WAL (EnableMetadataWALRecords),
// but they live only as long as the head: blocks cut by compaction keep no
// metadata, so after a few hours and a restart the kind of an older metric
// is gone. The editors need the kind (rate for counters) for every metric
// that has data, so we keep our own small catalog beside the TSDB.
const (
	catalogFile = "netlens-metadata.json"
	// maxCatalogEntries bounds the file and the memory it takes. Metric
	// names are bounded by the decoders' schemas (hundreds for FTD), so the
	// limit is only reached by a misbehaving source; the overflow is counted.
	maxCatalogEntries = 20000
	maxHelpLen        = 1024
	maxFamilyLen      = 256
)

// FamilyLabel is the label whose value names a metric's family (FTD groups
// its metrics in families such as cpu, memory, interface).
const FamilyLabel = "family"

// MetricInfo is what the editors show for a metric name.
type MetricInfo struct {
	Name   string     `json:"name"`
	Family string     `json:"family,omitempty"`
	Kind   model.Kind `json:"kind"`
	Help   string     `json:"help,omitempty"`
}

type catalogEntry struct {
	Family string `json:"family,omitempty"`
	Kind   string `json:"kind,omitempty"`
	Help   string `json:"help,omitempty"`
}

type catalogFileV1 struct {
	Version int                     `json:"version"`
	Metrics map[string]catalogEntry `json:"metrics"`
}

type catalog struct {
	path string

	mu      sync.Mutex
	entries map[string]MetricInfo
	dirty   bool
	dropped uint64 // names not added because the catalog was full
	saveErr error  // last failed save, kept for Stats
	// saveMu serializes file writes so two appenders never race on the
	// temp file.
	saveMu sync.Mutex
}

func openCatalog(dir string) (*catalog, error) {
	c := &catalog{path: filepath.Join(dir, catalogFile), entries: map[string]MetricInfo{}}
	var f catalogFileV1
	found, err := persist.ReadJSON(c.path, &f)
	if !found && err != nil {
		return nil, fmt.Errorf("read metric catalog: %w", err)
	}
	if err != nil {
		// A damaged catalog only costs kinds and help texts until the
		// metrics are seen again; it must not keep the store closed.
		return c, fmt.Errorf("metric catalog is damaged, starting empty: %w", err)
	}
	for name, e := range f.Metrics {
		if len(c.entries) >= maxCatalogEntries {
			break
		}
		c.entries[name] = MetricInfo{Name: name, Family: e.Family, Kind: model.ParseKind(e.Kind), Help: e.Help}
	}
	return c, nil
}

// observe records what a sample says about its metric. It reports whether
// the catalog changed, so the caller can save once per batch.
func (c *catalog) observe(s *model.Sample) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	cur, ok := c.entries[s.Name]
	if !ok && len(c.entries) >= maxCatalogEntries {
		c.dropped++
		return false
	}
	next := cur
	next.Name = s.Name
	if s.Kind != model.KindUnknown {
		next.Kind = s.Kind
	}
	if s.Help != "" {
		next.Help = truncate(s.Help, maxHelpLen)
	}
	if next.Family == "" {
		next.Family = truncate(s.Labels.Get(FamilyLabel), maxFamilyLen)
	}
	if ok && next == cur {
		return false
	}
	c.entries[s.Name] = next
	c.dirty = true
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func (c *catalog) get(name string) (MetricInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.entries[name]
	return m, ok
}

func (c *catalog) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// save writes the catalog if it changed, through a temp file and a rename so
// a crash leaves either the old or the new file, never half of one.
func (c *catalog) save() error {
	c.saveMu.Lock()
	defer c.saveMu.Unlock()

	c.mu.Lock()
	if !c.dirty {
		c.mu.Unlock()
		return nil
	}
	f := catalogFileV1{Version: 1, Metrics: make(map[string]catalogEntry, len(c.entries))}
	for name, m := range c.entries {
		f.Metrics[name] = catalogEntry{Family: m.Family, Kind: kindString(m.Kind), Help: m.Help}
	}
	c.dirty = false
	c.mu.Unlock()

	err := persist.WriteJSON(c.path, f)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.saveErr = err
	if err != nil {
		c.dirty = true // try again with the next change or at Close
	}
	return err
}

func kindString(k model.Kind) string {
	if k == model.KindUnknown {
		return ""
	}
	return k.String()
}

// list returns the catalog's entries for the given names, sorted by name.
// Names without an entry still appear, with an unknown kind.
func (c *catalog) list(names []string) []MetricInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]MetricInfo, 0, len(names))
	for _, n := range names {
		m, ok := c.entries[n]
		if !ok {
			m = MetricInfo{Name: n}
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
