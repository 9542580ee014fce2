package plugin

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sync"
	"time"

	"github.com/netlens/netlens/pkg/persist"
	"github.com/netlens/netlens/pkg/query"
)

// liveQuery is what a live channel streams: the query as QueryData saw it,
// reduced to the PromQL it runs and the settings it ran with.
type liveQuery struct {
	OrgID int64           `json:"orgId"`
	UID   string          `json:"uid"`
	Live  query.LiveQuery `json:"live"`
	Seen  time.Time       `json:"seen"`
}

// channelRegistry maps channel keys to live queries. A Grafana Live channel
// path is limited to 160 characters of a narrow alphabet, too little for a
// query, so QueryData registers the query under a hash and puts only the
// hash in meta.channel. The registry is bounded (least recently used goes
// first) and kept in the data directory: when the plugin process restarts,
// Grafana re-subscribes the open dashboards' channels, and their streams
// resume instead of failing until someone reloads the page.
type channelRegistry struct {
	mu      sync.Mutex
	max     int
	entries map[string]*liveQuery
	path    string // "" keeps the registry in memory only
	saveMu  sync.Mutex
	saveErr error
}

func newChannelRegistry(max int, path string) *channelRegistry {
	r := &channelRegistry{max: max, entries: map[string]*liveQuery{}, path: path}
	if path == "" {
		return r
	}
	var saved map[string]*liveQuery
	if _, err := persist.ReadJSON(path, &saved); err != nil {
		// Lost channels cost a page reload, not data: start empty.
		r.saveErr = err
		return r
	}
	for k, v := range saved {
		if len(r.entries) >= max {
			break
		}
		if v != nil {
			r.entries[k] = v
		}
	}
	return r
}

// register returns the channel path (without the ds/<uid>/ prefix).
func (r *channelRegistry) register(lq liveQuery) string {
	q := lq.Live.Query
	q.RefID, q.Live = "", false
	b, _ := json.Marshal(struct {
		Org      int64
		UID      string
		Q        query.Query
		Expr     string
		BucketMs int64 `json:",omitempty"`
	}{lq.OrgID, lq.UID, q, lq.Live.Expr, lq.Live.BucketMs})
	sum := sha256.Sum256(b)
	key := hex.EncodeToString(sum[:12])
	r.mu.Lock()
	lq.Seen = time.Now()
	_, known := r.entries[key]
	if !known && len(r.entries) >= r.max {
		r.evictLocked()
	}
	r.entries[key] = &lq
	var snapshot map[string]liveQuery
	if !known && r.path != "" {
		snapshot = make(map[string]liveQuery, len(r.entries))
		for k, v := range r.entries {
			snapshot[k] = *v
		}
	}
	r.mu.Unlock()
	if snapshot != nil {
		r.save(snapshot)
	}
	return "live/" + key
}

// save writes the registry when a new channel appears; a failure is kept
// for the status page and retried with the next new channel.
func (r *channelRegistry) save(snapshot map[string]liveQuery) {
	r.saveMu.Lock()
	defer r.saveMu.Unlock()
	err := persist.WriteJSON(r.path, snapshot)
	r.mu.Lock()
	r.saveErr = err
	r.mu.Unlock()
}

func (r *channelRegistry) lookup(path string) (liveQuery, bool) {
	const prefix = "live/"
	if len(path) <= len(prefix) || path[:len(prefix)] != prefix {
		return liveQuery{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	lq, ok := r.entries[path[len(prefix):]]
	if !ok {
		return liveQuery{}, false
	}
	lq.Seen = time.Now()
	return *lq, true
}

func (r *channelRegistry) evictLocked() {
	var oldest string
	var at time.Time
	for k, e := range r.entries {
		if oldest == "" || e.Seen.Before(at) {
			oldest, at = k, e.Seen
		}
	}
	delete(r.entries, oldest)
}
