package plugin

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sync"
	"time"

	"github.com/netlens/netlens/pkg/query"
)

// liveQuery is what a live channel streams: the query as QueryData saw it,
// reduced to the PromQL it runs and the settings it ran with.
type liveQuery struct {
	OrgID  int64
	UID    string
	Query  query.Query
	Expr   string
	Legend string
	// StepMs is the resolution QueryData used; streams need it for nothing
	// but keeping $__interval stable in the expression they re-run.
	StepMs int64
	seen   time.Time
}

// channelRegistry maps channel keys to live queries. A Grafana Live channel
// path is limited to 160 characters of a narrow alphabet, too little for a
// query, so QueryData registers the query under a hash and puts only the
// hash in meta.channel. The registry is bounded; the least recently used
// entry goes first, and a browser whose entry is gone re-registers it on
// its next query.
type channelRegistry struct {
	mu      sync.Mutex
	max     int
	entries map[string]*liveQuery
}

func newChannelRegistry(max int) *channelRegistry {
	return &channelRegistry{max: max, entries: map[string]*liveQuery{}}
}

// register returns the channel path (without the ds/<uid>/ prefix).
func (r *channelRegistry) register(lq liveQuery) string {
	q := lq.Query
	q.RefID, q.Live = "", false
	b, _ := json.Marshal(struct {
		Org  int64
		UID  string
		Q    query.Query
		Expr string
	}{lq.OrgID, lq.UID, q, lq.Expr})
	sum := sha256.Sum256(b)
	key := hex.EncodeToString(sum[:12])
	r.mu.Lock()
	defer r.mu.Unlock()
	lq.seen = time.Now()
	if _, ok := r.entries[key]; !ok && len(r.entries) >= r.max {
		r.evictLocked()
	}
	r.entries[key] = &lq
	return "live/" + key
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
	lq.seen = time.Now()
	return *lq, true
}

func (r *channelRegistry) evictLocked() {
	var oldest string
	var at time.Time
	for k, e := range r.entries {
		if oldest == "" || e.seen.Before(at) {
			oldest, at = k, e.seen
		}
	}
	delete(r.entries, oldest)
}
