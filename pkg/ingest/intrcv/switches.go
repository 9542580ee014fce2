package intrcv

import (
	"fmt"
	"maps"
	"net/netip"
	"sync"

	"github.com/netlens/netlens/pkg/model"
)

// Report types as counted per switch and written as the `type` label. An
// INT report from the sink is a flow report carrying an INT stack; it is
// counted as int, not flow.
const (
	TypeFlow  = "flow"
	TypeDrop  = "drop"
	TypeQueue = "queue"
	TypeINT   = "int"
)

var typeNames = [numTypes]string{TypeFlow, TypeDrop, TypeQueue, TypeINT}

const (
	typeFlow = iota
	typeDrop
	typeQueue
	typeINT
	numTypes
)

// Drop reasons of the receiver. A report the decoder refuses is counted
// under the decoder's reason (intreport.Reasons: truncated, bad_version,
// shim_overrun, ...) on the switch that sent it.
const (
	DropSocketOverflow = "socket_overflow" // datagrams the kernel dropped (SO_RXQ_OVFL); receiver-wide
	DropQueueFull      = "queue_full"      // datagrams dropped because their worker's queue was full
	DropNotAllowed     = "not_allowed"     // datagrams from outside the allow-list; receiver-wide
)

// Switch states.
const (
	StateOK      = "ok"
	StateLosing  = "losing"  // report loss within the last losingWindowMs
	StateStopped = "stopped" // silent past Config.SwitchTimeout
)

const losingWindowMs = 2 * 60 * 1000

// SwitchStatus is what arrived from one switch at one address. A switch
// is named by its switch id when its reports carry one (see Device),
// else by its address; one address sending for several switch ids (v1.0
// through a relay) has a row per id.
type SwitchStatus struct {
	Device      string            `json:"device"` // DeviceRef.ID: "0x%08x" or the address
	Address     string            `json:"address"`
	SwitchID    uint32            `json:"switchId"`
	HasSwitchID bool              `json:"hasSwitchId"`
	Reports     map[string]uint64 `json:"reports"` // by type: flow, drop, queue, int
	Bytes       uint64            `json:"bytes"`
	Drops       map[string]uint64 `json:"drops"` // by reason
	LostReports uint64            `json:"lostReports"`
	Versions    []string          `json:"versions"` // report versions seen: "0.5", "1.0"
	FirstSeenMs int64             `json:"firstSeenMs"`
	LastSeenMs  int64             `json:"lastSeenMs"`
	State       string            `json:"state"`
	// LastError is the newest decode error, with its offset and value.
	LastError string `json:"lastError,omitempty"`
}

type switchKey struct {
	addr  netip.Addr
	id    uint32
	hasID bool
}

// device names the switch as DeviceRef.ID.
func (k switchKey) device() string {
	if k.hasID {
		return fmt.Sprintf("0x%08x", k.id)
	}
	return k.addr.String()
}

// switchRow is one row of a worker's table, guarded by the table's lock.
type switchRow struct {
	key             switchKey
	ref             model.DeviceRef // built once: the handler gets it with every report
	firstMs, lastMs int64
	reports         [numTypes]uint64
	bytes           uint64
	drops           map[string]uint64
	lost            uint64
	lastLossMs      int64
	versions        uint8 // bit 0: v0.5 seen, bit 1: v1.0
	lastErr         string
	// What the board has been told, so each tick reports only the change.
	toldReports, toldDrops uint64
	errToldMs              int64 // the board hears of decode errors once a minute per row
	queueFullToldMs        int64
}

func (e *switchRow) reportTotal() uint64 {
	var n uint64
	for _, v := range e.reports {
		n += v
	}
	return n
}

func (e *switchRow) dropTotal() uint64 {
	var n uint64
	for _, v := range e.drops {
		n += v
	}
	return n
}

func (e *switchRow) state(nowMs, timeoutMs int64) string {
	if nowMs-e.lastMs > timeoutMs {
		return StateStopped
	}
	if e.lastLossMs > 0 && nowMs-e.lastLossMs <= losingWindowMs {
		return StateLosing
	}
	return StateOK
}

func (e *switchRow) status(nowMs, timeoutMs int64) SwitchStatus {
	s := SwitchStatus{
		Device: e.ref.ID, Address: e.key.addr.String(), SwitchID: e.key.id, HasSwitchID: e.key.hasID,
		Reports: make(map[string]uint64, numTypes), Bytes: e.bytes, Drops: maps.Clone(e.drops),
		LostReports: e.lost, Versions: []string{}, FirstSeenMs: e.firstMs, LastSeenMs: e.lastMs,
		State: e.state(nowMs, timeoutMs), LastError: e.lastErr,
	}
	for i, n := range e.reports {
		s.Reports[typeNames[i]] = n
	}
	if e.versions&1 != 0 {
		s.Versions = append(s.Versions, "0.5")
	}
	if e.versions&2 != 0 {
		s.Versions = append(s.Versions, "1.0")
	}
	return s
}

// table is one worker's switches. The worker writes what it decoded, the
// socket readers the queue_full drops (a switch address always lands on
// the same worker); Switches and the tick read.
type table struct {
	mu      sync.Mutex
	m       map[switchKey]*switchRow
	max     int
	evicted uint64
}

func newTable(max int) *table { return &table{m: map[switchKey]*switchRow{}, max: max} }

// getLocked returns k's row, creating it. A full table forgets the row
// silent the longest, so spoofed sources inside the allow-list cannot
// grow memory.
func (t *table) getLocked(k switchKey, nowMs int64) *switchRow {
	if e := t.m[k]; e != nil {
		return e
	}
	if len(t.m) >= t.max {
		var oldest *switchRow
		for _, e := range t.m {
			if oldest == nil || e.lastMs < oldest.lastMs {
				oldest = e
			}
		}
		delete(t.m, oldest.key)
		t.evicted++
	}
	addr := k.addr.String()
	e := &switchRow{
		key: k, firstMs: nowMs, lastMs: nowMs, drops: map[string]uint64{},
		ref: model.DeviceRef{Source: model.SourceINT, ID: k.device(), Remote: addr},
	}
	t.m[k] = e
	return e
}
