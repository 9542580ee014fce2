// Package status keeps what every receiver reports about itself and about
// the devices talking to it: listeners, device state, counters and errors.
// CheckHealth, the config page and the editors read it; receivers only write.
// "Everything that moves gets a counter": one Board is handed to every
// component so none invents its own bookkeeping.
package status

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/netlens/netlens/pkg/model"
)

// Category groups device errors the way the FTD documentation groups its own
// status errors, so an operator sees the same words on both ends.
type Category string

const (
	CatSystem          Category = "system"           // no uuid/hostname, misconfiguration
	CatBuffer          Category = "buffer"           // metric conversion, store rejected, queue full
	CatAuth            Category = "auth"             // certificates
	CatStreaming       Category = "streaming"        // connection, stream, protocol order
	CatInvalidArgument Category = "invalid_argument" // bad values in a message
)

// Categories lists every category in display order.
var Categories = []Category{CatAuth, CatStreaming, CatBuffer, CatInvalidArgument, CatSystem}

// DeviceState is connected or not.
type DeviceState string

const (
	StateConnected    DeviceState = "connected"
	StateDisconnected DeviceState = "disconnected"
	StateRejected     DeviceState = "rejected"
)

// EventType is what happened to a device, for annotations and tables.
type EventType string

const (
	EventConnected    EventType = "connected"
	EventDisconnected EventType = "disconnected"
	EventCancelled    EventType = "cancelled"
	EventRejected     EventType = "rejected"
	EventError        EventType = "error"
)

// Event is one change of a device's state, or an error on its record.
type Event struct {
	Time     time.Time    `json:"time"`
	Source   model.Source `json:"source"`
	Device   string       `json:"device"`
	Hostname string       `json:"hostname,omitempty"`
	Type     EventType    `json:"type"`
	Category Category     `json:"category,omitempty"` // for errors and rejections
	Text     string       `json:"text,omitempty"`
}

// maxEvents bounds the event history kept in memory; the oldest go first.
// A restart starts a new history: events are about the collector's view of
// its devices, which a restart resets too.
const maxEvents = 10000

// noisyEventGap keeps a device that repeats the same error every batch, or
// a scanner retrying a refused handshake, from flooding the history: one
// error or rejection event per device, type and category per gap.
const noisyEventGap = time.Minute

// maxDevices bounds the registry: a scan of the listener with throwaway
// identities must not grow memory without limit. Past it the oldest
// disconnected device is forgotten.
const maxDevices = 10000

// Listener is one socket a receiver tried to open.
type Listener struct {
	Name    string    `json:"name"`    // "ftd", "xr-tcp", ...
	Network string    `json:"network"` // tcp or udp
	Address string    `json:"address"` // configured address
	Bound   string    `json:"bound,omitempty"`
	Error   string    `json:"error,omitempty"`
	Since   time.Time `json:"since"`
}

// ErrorInfo is the most recent error of one category and how many there were.
type ErrorInfo struct {
	Count  uint64    `json:"count"`
	Last   string    `json:"last"`
	LastAt time.Time `json:"lastAt"`
}

// Device is what the registry knows of one device.
type Device struct {
	Source      model.Source            `json:"source"`
	ID          string                  `json:"id"`
	Hostname    string                  `json:"hostname,omitempty"`
	Remote      string                  `json:"remote,omitempty"`
	State       DeviceState             `json:"state"`
	StateReason string                  `json:"stateReason,omitempty"`
	Since       time.Time               `json:"since"`
	LastBatch   time.Time               `json:"lastBatch,omitempty"`
	IntervalSec int64                   `json:"intervalSeconds,omitempty"`
	Batches     uint64                  `json:"batches"`
	Samples     uint64                  `json:"samples"`
	Rejected    uint64                  `json:"rejected"`
	Errors      map[Category]*ErrorInfo `json:"errors,omitempty"`

	lastNoisy map[string]time.Time // last error/rejection event by type and category
}

type key struct {
	source model.Source
	id     string
}

// Board is safe for concurrent use.
type Board struct {
	mu        sync.Mutex
	now       func() time.Time
	listeners map[string]*Listener
	devices   map[key]*Device
	counters  map[string]uint64
	events    []Event // ring of maxEvents
	nextEvent int
}

// NewBoard returns an empty board. now may be nil for the wall clock.
func NewBoard(now func() time.Time) *Board {
	if now == nil {
		now = time.Now
	}
	return &Board{now: now, listeners: map[string]*Listener{}, devices: map[key]*Device{}, counters: map[string]uint64{}}
}

// ListenerBound records a socket that is accepting traffic.
func (b *Board) ListenerBound(name, network, address, bound string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.listeners[name] = &Listener{Name: name, Network: network, Address: address, Bound: bound, Since: b.now()}
}

// ListenerFailed records a socket that could not be opened or died.
func (b *Board) ListenerFailed(name, network, address string, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.listeners[name] = &Listener{Name: name, Network: network, Address: address, Error: err.Error(), Since: b.now()}
	b.counters[name+"_listener_failures"]++
}

// Add increases a named process-wide counter.
func (b *Board) Add(counter string, delta uint64) {
	b.mu.Lock()
	b.counters[counter] += delta
	b.mu.Unlock()
}

func (b *Board) device(ref model.DeviceRef) *Device {
	k := key{ref.Source, ref.ID}
	d, ok := b.devices[k]
	if !ok {
		if len(b.devices) >= maxDevices {
			b.evictLocked()
		}
		d = &Device{Source: ref.Source, ID: ref.ID, State: StateDisconnected, Since: b.now(), Errors: map[Category]*ErrorInfo{}}
		b.devices[k] = d
	}
	if ref.Hostname != "" {
		d.Hostname = ref.Hostname
	}
	if ref.Remote != "" {
		d.Remote = ref.Remote
	}
	return d
}

func (b *Board) evictLocked() {
	var oldest *key
	var at time.Time
	for k, d := range b.devices {
		if d.State == StateConnected {
			continue
		}
		if oldest == nil || d.Since.Before(at) {
			kk := k
			oldest, at = &kk, d.Since
		}
	}
	if oldest != nil {
		delete(b.devices, *oldest)
		b.counters["devices_evicted"]++
	}
}

// Connected marks a device as streaming, with its negotiated interval (0
// for a source that has none).
func (b *Board) Connected(ref model.DeviceRef, interval time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d := b.device(ref)
	d.State, d.StateReason, d.Since = StateConnected, "", b.now()
	d.IntervalSec = int64(interval / time.Second)
	text := "streaming"
	if interval > 0 { // IPFIX exporters send when they have flows, on no interval
		text = fmt.Sprintf("streaming every %s", interval)
	}
	b.eventLocked(d, EventConnected, "", text)
}

// Disconnected marks a device as gone, saying why.
func (b *Board) Disconnected(ref model.DeviceRef, reason string) {
	b.endLocked(ref, EventDisconnected, reason)
}

// Cancelled marks a device whose stream was cancelled (by it or by the
// collector, as reason says) rather than lost.
func (b *Board) Cancelled(ref model.DeviceRef, reason string) {
	b.endLocked(ref, EventCancelled, reason)
}

func (b *Board) endLocked(ref model.DeviceRef, t EventType, reason string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d := b.device(ref)
	d.State, d.StateReason, d.Since = StateDisconnected, reason, b.now()
	b.eventLocked(d, t, "", reason)
}

// Rejected marks a peer that was refused before it could stream (for
// example a certificate the CA did not sign).
func (b *Board) Rejected(ref model.DeviceRef, cat Category, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d := b.device(ref)
	d.State, d.StateReason, d.Since = StateRejected, err.Error(), b.now()
	b.errorLocked(d, cat, err)
	b.eventLocked(d, EventRejected, cat, err.Error())
}

// Batch records one accepted batch: how many samples were kept and how many
// were rejected.
func (b *Board) Batch(ref model.DeviceRef, kept, rejected int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d := b.device(ref)
	d.LastBatch = b.now()
	d.Batches++
	d.Samples += uint64(kept)
	d.Rejected += uint64(rejected)
}

// Error records an error on a device's record.
func (b *Board) Error(ref model.DeviceRef, cat Category, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errorLocked(b.device(ref), cat, err)
}

func (b *Board) errorLocked(d *Device, cat Category, err error) {
	e := d.Errors[cat]
	if e == nil {
		e = &ErrorInfo{}
		d.Errors[cat] = e
	}
	if d.State != StateRejected {
		b.eventLocked(d, EventError, cat, err.Error())
	}
	e.Count++
	e.Last = err.Error()
	e.LastAt = b.now()
	b.counters[string(d.Source)+"_errors_"+string(cat)]++
}

func (b *Board) eventLocked(d *Device, t EventType, cat Category, text string) {
	now := b.now()
	if t == EventError || t == EventRejected {
		k := string(t) + "/" + string(cat)
		if last, ok := d.lastNoisy[k]; ok && now.Sub(last) < noisyEventGap {
			return
		}
		if d.lastNoisy == nil {
			d.lastNoisy = map[string]time.Time{}
		}
		d.lastNoisy[k] = now
	}
	ev := Event{Time: now, Source: d.Source, Device: d.ID, Hostname: d.Hostname, Type: t, Category: cat, Text: text}
	if len(b.events) < maxEvents {
		b.events = append(b.events, ev)
		return
	}
	b.events[b.nextEvent] = ev
	b.nextEvent = (b.nextEvent + 1) % maxEvents
	b.counters["events_dropped"]++
}

// Events returns the events from start to end (inclusive) that keep
// accepts, oldest first.
func (b *Board) Events(start, end time.Time, keep func(*Event) bool) []Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := []Event{}
	n := len(b.events)
	for i := 0; i < n; i++ {
		ev := &b.events[(b.nextEvent+i)%n]
		if ev.Time.Before(start) || ev.Time.After(end) {
			continue
		}
		if keep == nil || keep(ev) {
			out = append(out, *ev)
		}
	}
	return out
}

// Snapshot is a copy of the board, safe to serialize.
type Snapshot struct {
	Listeners []Listener        `json:"listeners"`
	Devices   []Device          `json:"devices"`
	Counters  map[string]uint64 `json:"counters"`
}

// Snapshot copies the board's state, sorted for stable output.
func (b *Board) Snapshot() Snapshot {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := Snapshot{Counters: make(map[string]uint64, len(b.counters))}
	for _, l := range b.listeners {
		s.Listeners = append(s.Listeners, *l)
	}
	for _, d := range b.devices {
		c := *d
		c.lastNoisy = nil
		c.Errors = make(map[Category]*ErrorInfo, len(d.Errors))
		for k, v := range d.Errors {
			e := *v
			c.Errors[k] = &e
		}
		s.Devices = append(s.Devices, c)
	}
	for k, v := range b.counters {
		s.Counters[k] = v
	}
	sort.Slice(s.Listeners, func(i, j int) bool { return s.Listeners[i].Name < s.Listeners[j].Name })
	sort.Slice(s.Devices, func(i, j int) bool {
		if s.Devices[i].Source != s.Devices[j].Source {
			return s.Devices[i].Source < s.Devices[j].Source
		}
		return s.Devices[i].ID < s.Devices[j].ID
	})
	return s
}
