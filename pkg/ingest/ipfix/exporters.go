package ipfix

import (
	"net/netip"
	"slices"
	"strconv"
	"sync"
)

// Exporter states, as the status page and the health check show them.
const (
	StateOK      = "ok"
	StateLosing  = "losing"  // sequence gaps within the last losingWindowMs
	StateStopped = "stopped" // silent past ExporterTimeout, or its TCP connection closed
)

// Drop reasons, the keys of ExporterStatus.Drops and the suffixes of the
// board's ipfix_drops_<reason> counters. Malformed messages count under
// "malformed:<decoder reason>".
const (
	DropSocketOverflow  = "socket_overflow"  // datagrams the kernel dropped (SO_RXQ_OVFL); receiver-wide
	DropQueueFull       = "queue_full"       // datagrams dropped because the worker's queue was full
	DropNotAllowed      = "not_allowed"      // datagrams and connections from outside the allow-list; receiver-wide
	DropUnknownTemplate = "unknown_template" // data sets dropped: their template did not come in time, or the held bytes ran out
	DropTCPFraming      = "tcp_framing"      // TCP connections closed because the stream lost its framing
	dropMalformedPrefix = "malformed:"
)

// losingWindowMs is how long after a sequence gap an exporter shows as losing.
const losingWindowMs = 2 * 60 * 1000

// rateSamples and the tick make the window records/s and bytes/s are
// averaged over (10 ticks of 1 s by default).
const rateSamples = 10

// ExporterStatus is what arrived from one exporter (address, port,
// observation domain and transport).
type ExporterStatus struct {
	Device           string   `json:"device"`  // the `device` label: address and ODID
	Address          string   `json:"address"` // address:port
	Transport        string   `json:"transport"`
	ODID             uint32   `json:"odid"`
	Version          uint16   `json:"version"` // 10 IPFIX, 9 NetFlow v9; 0 before a message decoded
	Templates        []uint16 `json:"templates"`
	OptionsTemplates []uint16 `json:"optionsTemplates"`
	Messages         uint64   `json:"messages"`
	Records          uint64   `json:"records"`
	OptionsRecords   uint64   `json:"optionsRecords"`
	Bytes            uint64   `json:"bytes"`
	RecordsPerSec    float64  `json:"recordsPerSec"`
	BytesPerSec      float64  `json:"bytesPerSec"`
	LostRecords      uint64   `json:"lostRecords"`
	LostPackets      uint64   `json:"lostPackets,omitempty"` // NetFlow v9 counts packets, not records
	// HeldRecords counts the data sets (not records: how many records a
	// set holds is known only from its template) waiting for a template;
	// HeldBytes is their size.
	HeldRecords  int               `json:"heldRecords"`
	HeldBytes    int               `json:"heldBytes"`
	Drops        map[string]uint64 `json:"drops"`
	SamplingRate uint64            `json:"samplingRate"`
	FirstSeenMs  int64             `json:"firstSeenMs"`
	LastSeenMs   int64             `json:"lastSeenMs"`
	State        string            `json:"state"`
}

type exporterKey struct {
	addr netip.AddrPort
	odid uint32
	tcp  bool
}

func (k exporterKey) device() string {
	return k.addr.Addr().String() + "/" + strconv.FormatUint(uint64(k.odid), 10)
}

type rateSample struct {
	ms             int64
	records, bytes uint64
}

// exporter is one row of a worker's table; its fields are guarded by the
// table's lock.
type exporter struct {
	key                     exporterKey
	version                 uint16
	firstMs, lastMs         int64
	messages, bytes         uint64
	records, optionsRecords uint64
	lostRecords, lostPkts   uint64
	lastLossMs              int64
	heldSets, heldBytes     int
	seenDropped             uint64 // the decoder's dropped-pending total already counted
	drops                   map[string]uint64
	sampling                uint64
	templates, optTemplates []uint16
	closed                  bool // its TCP connection ended
	hist                    [rateSamples]rateSample
	histNext                int

	// What the board has been told, so each tick reports only the change,
	// and what the health series have taken.
	toldRecords, toldDrops uint64
	taken                  counts
	queueFullToldMs        int64
}

func (e *exporter) state(nowMs, timeoutMs int64) string {
	if e.closed || nowMs-e.lastMs > timeoutMs {
		return StateStopped
	}
	if e.lastLossMs > 0 && nowMs-e.lastLossMs <= losingWindowMs {
		return StateLosing
	}
	return StateOK
}

func (e *exporter) dropTotal() uint64 {
	var n uint64
	for _, v := range e.drops {
		n += v
	}
	return n
}

// sample records the totals once a tick, for the rates.
func (e *exporter) sample(nowMs int64) {
	e.hist[e.histNext] = rateSample{ms: nowMs, records: e.records, bytes: e.bytes}
	e.histNext = (e.histNext + 1) % rateSamples
}

// rates averages over the window the samples cover. A stopped exporter
// sends nothing, so its rates are zero whatever the window says.
func (e *exporter) rates(nowMs, timeoutMs int64) (recs, bytes float64) {
	if e.state(nowMs, timeoutMs) == StateStopped {
		return 0, 0
	}
	oldest := e.hist[e.histNext] // the ring's next slot is its oldest
	if oldest.ms == 0 {
		oldest = e.hist[0]
	}
	if oldest.ms == 0 || nowMs <= oldest.ms {
		return 0, 0
	}
	dt := float64(nowMs-oldest.ms) / 1000
	return float64(e.records-oldest.records) / dt, float64(e.bytes-oldest.bytes) / dt
}

func (e *exporter) status(nowMs, timeoutMs int64) ExporterStatus {
	tr := "udp"
	if e.key.tcp {
		tr = "tcp"
	}
	s := ExporterStatus{
		Device: e.key.device(), Address: e.key.addr.String(), Transport: tr, ODID: e.key.odid,
		Version: e.version, Templates: slices.Clone(e.templates), OptionsTemplates: slices.Clone(e.optTemplates),
		Messages: e.messages, Records: e.records, OptionsRecords: e.optionsRecords, Bytes: e.bytes,
		LostRecords: e.lostRecords, LostPackets: e.lostPkts, HeldRecords: e.heldSets, HeldBytes: e.heldBytes,
		Drops: make(map[string]uint64, len(e.drops)), SamplingRate: e.sampling,
		FirstSeenMs: e.firstMs, LastSeenMs: e.lastMs, State: e.state(nowMs, timeoutMs),
	}
	if s.Templates == nil {
		s.Templates = []uint16{}
	}
	if s.OptionsTemplates == nil {
		s.OptionsTemplates = []uint16{}
	}
	for k, v := range e.drops {
		s.Drops[k] = v
	}
	s.RecordsPerSec, s.BytesPerSec = e.rates(nowMs, timeoutMs)
	return s
}

// table is one worker's exporters. The worker writes what it decoded; the
// socket readers write drops (an exporter always lands on the same worker,
// so it has one row); Exporters and the tick read.
type table struct {
	mu      sync.Mutex
	m       map[exporterKey]*exporter
	max     int
	evicted uint64 // rows forgotten to stay under max, for the board
	// gone keeps what forgotten rows had counted for the health series;
	// nil when the receiver writes none.
	gone *retired
}

func newTable(max int) *table {
	return &table{m: map[exporterKey]*exporter{}, max: max}
}

// getLocked returns the row for k, creating it. A full table forgets the
// row silent the longest, so a scan of spoofed sources cannot grow memory.
func (t *table) getLocked(k exporterKey, nowMs int64) *exporter {
	if e := t.m[k]; e != nil {
		return e
	}
	if len(t.m) >= t.max {
		var oldest *exporter
		for _, e := range t.m {
			if oldest == nil || e.lastMs < oldest.lastMs {
				oldest = e
			}
		}
		t.retireLocked(oldest)
		delete(t.m, oldest.key)
		t.evicted++
	}
	e := &exporter{key: k, firstMs: nowMs, lastMs: nowMs, drops: map[string]uint64{}}
	t.m[k] = e
	return e
}

// drop counts n dropped units of reason on k's row.
func (t *table) drop(k exporterKey, reason string, n uint64, nowMs int64) {
	t.mu.Lock()
	e := t.getLocked(k, nowMs)
	e.drops[reason] += n
	e.lastMs = max(e.lastMs, nowMs)
	t.mu.Unlock()
}
