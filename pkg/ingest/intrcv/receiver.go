// Package intrcv is the INT telemetry report receiver's transport: UDP
// sockets sharing a port, an allow-list, bounded queues to decoding
// workers, per-switch status, report loss and health series. Decoding is
// pkg/decode/intreport; what becomes of a decoded report is the Handler's
// business (pkg/pipeline/intmap).
//
// Socket readers never decode: they copy each datagram into a pooled
// buffer and queue it to the worker its switch address is sharded to, so
// one switch's reports are decoded in order and meet one SeqTracker. A
// full queue drops the datagram and counts it.
package intrcv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/netlens/netlens/pkg/decode/intreport"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pipeline"
	"github.com/netlens/netlens/pkg/status"

	"github.com/netlens/netlens/pkg/ingest/throttle"
	"github.com/netlens/netlens/pkg/ingest/udpsock"
)

// Config is the receiver's configuration; the process fills it from its
// own keys (the wiring is not this package's).
type Config struct {
	// ListenAddress is the UDP host:port reports arrive on (NX-OS sends to
	// 31337 by default).
	ListenAddress string
	// AllowedNetworks narrows the process-wide allow-list for switches;
	// empty means the list given to New applies, and both empty allow all.
	AllowedNetworks []netip.Prefix
	// Sockets share the port (SO_REUSEPORT); Workers decode, each switch
	// address always on the same one; QueueDatagrams bounds each worker's
	// queue; ReadBufferBytes is asked of each socket (SO_RCVBUF).
	Sockets, Workers, QueueDatagrams, ReadBufferBytes int
	// Decode says how INT is found inside reported packets (DSCP or ports)
	// and the most hops accepted.
	Decode intreport.Options
	// SwitchTimeout: a switch silent this long shows stopped and is told
	// disconnected to the board.
	SwitchTimeout time.Duration
}

// Handler takes decoded reports. Each worker has its own, called only
// from that worker's goroutine: Report for every decoded report (r and
// its hops are the worker's and valid during the call only; dev is the
// switch), Flush after each drained batch and every 100 ms, with the time,
// so it can close postcard paths and time buckets.
type Handler interface {
	Report(dev model.DeviceRef, r *intreport.Report, receivedMs int64)
	Flush(nowMs int64)
}

// Board counters. Drops also count per reason as CounterDropPrefix +
// reason (int_drops_queue_full, int_drops_shim_overrun, ...).
const (
	CounterUDPDatagrams   = "int_udp_datagrams"
	CounterUDPBytes       = "int_udp_bytes"
	CounterUDPReadErrors  = "int_udp_read_errors"
	CounterUDPCoalesced   = "int_udp_gro_buffers" // reads that brought several datagrams in one buffer (UDP_GRO)
	CounterReports        = "int_reports_decoded"
	CounterBadReports     = "int_reports_refused"
	CounterLostReports    = "int_lost_reports"
	CounterDropPrefix     = "int_drops_"
	CounterSwitchesForgot = "int_switches_evicted"
)

const (
	// maxSwitches bounds the status table (split over the workers).
	maxSwitches = 10000
	// notAllowedMemory bounds the refused addresses the board heard of
	// recently; each is told at most once a minute.
	notAllowedMemory = 1024
	// seqSpaces bounds each worker's SeqTracker.
	seqSpaces = 4096
)

// Option adjusts the receiver New makes.
type Option func(*options)

type options struct {
	now         func() time.Time
	tick        time.Duration // board and status
	flushTick   time.Duration // Handler.Flush when idle
	healthEvery time.Duration
	series      pipeline.Sink
	noGRO       bool
}

// WithSeries writes switch health to s as series every 10 s (Series*).
func WithSeries(s pipeline.Sink) Option { return func(o *options) { o.series = s } }

// Receiver is the INT report receiver. New binds its sockets; Serve runs
// it until its context ends.
type Receiver struct {
	cfg     Config
	allowed []netip.Prefix
	board   *status.Board
	log     log.Logger
	opt     options

	udp       []*net.UDPConn
	rcvbuf    int
	workers   []*worker
	readersWG sync.WaitGroup
	workersWG sync.WaitGroup
	served    atomic.Bool

	count struct {
		datagrams, bytes, readErrors          atomic.Uint64
		coalesced                             atomic.Uint64 // buffers holding several datagrams (UDP_GRO)
		reports, bad, lost                    atomic.Uint64
		socketOverflow, queueFull, notAllowed atomic.Uint64
	}
	tickMu     sync.Mutex // one tick at a time
	told       map[string]uint64
	devices    map[string]bool // board device → connected
	lastHealth time.Time

	rejected *throttle.Keyed[netip.Addr] // refusals told to the board
	logged   *throttle.Keyed[string]     // log keys, so a flood logs once a minute
}

func (r *Receiver) nowMs() int64 { return r.opt.now().UnixMilli() }

// New checks cfg and binds the sockets; nothing is read before Serve.
// allowed is the process-wide allow-list (cfg.AllowedNetworks narrows it).
// handler makes each worker's Handler.
func New(cfg Config, allowed []netip.Prefix, handler func(worker int) Handler, board *status.Board, logger log.Logger, opts ...Option) (*Receiver, error) {
	if board == nil {
		return nil, errors.New("INT receiver: a status board is required")
	}
	if handler == nil {
		return nil, errors.New("INT receiver: a handler is required")
	}
	if logger == nil {
		logger = log.NewNullLogger()
	}
	if cfg.ListenAddress == "" {
		return nil, errors.New("INT receiver: no listen address")
	}
	if cfg.Sockets < 1 || cfg.Workers < 1 || cfg.QueueDatagrams < 1 || cfg.ReadBufferBytes < 1 {
		return nil, fmt.Errorf("INT receiver: sockets (%d), workers (%d), queue (%d) and read buffer (%d) must be positive",
			cfg.Sockets, cfg.Workers, cfg.QueueDatagrams, cfg.ReadBufferBytes)
	}
	if cfg.SwitchTimeout <= 0 {
		return nil, fmt.Errorf("INT receiver: switch timeout %s must be positive", cfg.SwitchTimeout)
	}
	o := options{now: time.Now, tick: time.Second, flushTick: 100 * time.Millisecond, healthEvery: healthEvery}
	for _, fn := range opts {
		fn(&o)
	}
	if len(cfg.AllowedNetworks) > 0 {
		allowed = cfg.AllowedNetworks
	}
	r := &Receiver{
		cfg: cfg, allowed: allowed, board: board, log: logger, opt: o,
		told: map[string]uint64{}, devices: map[string]bool{},
		rejected: throttle.New[netip.Addr](60_000, notAllowedMemory), logged: throttle.New[string](60_000, 4096),
	}
	perWorker := max(maxSwitches/cfg.Workers, 16)
	for i := range cfg.Workers {
		h := handler(i)
		if h == nil {
			return nil, fmt.Errorf("INT receiver: no handler for worker %d", i)
		}
		r.workers = append(r.workers, &worker{
			id: i, r: r, q: make(chan *batch, cfg.QueueDatagrams), tab: newTable(perWorker),
			dec: intreport.NewDecoder(cfg.Decode), seq: intreport.NewSeqTracker(seqSpaces), h: h,
		})
	}
	conns, granted, err := udpsock.Listen(cfg.ListenAddress, cfg.Sockets, udpsock.Options{ReadBufferBytes: cfg.ReadBufferBytes, GRO: !o.noGRO})
	if err != nil {
		board.ListenerFailed("int-udp", "udp", cfg.ListenAddress, err)
		return nil, fmt.Errorf("INT receiver: %w", err)
	}
	r.udp, r.rcvbuf = conns, granted
	board.ListenerBound("int-udp", "udp", cfg.ListenAddress, conns[0].LocalAddr().String())
	logger.Info("INT UDP sockets bound", "address", conns[0].LocalAddr().String(), "sockets", len(conns),
		"readBufferAsked", cfg.ReadBufferBytes, "readBufferGranted", granted)
	if granted < cfg.ReadBufferBytes {
		logger.Warn("INT UDP receive buffer is smaller than asked; raise net.core.rmem_max or give the process CAP_NET_ADMIN",
			"asked", cfg.ReadBufferBytes, "granted", granted)
	}
	return r, nil
}

// UDPAddr is the bound address (with the port the OS chose for ":0").
func (r *Receiver) UDPAddr() net.Addr { return r.udp[0].LocalAddr() }

// ReadBuffer is the receive buffer asked of each socket and the one the
// kernel granted (capped by net.core.rmem_max without CAP_NET_ADMIN).
func (r *Receiver) ReadBuffer() (asked, granted int) { return r.cfg.ReadBufferBytes, r.rcvbuf }

// Serve reads, decodes and hands on reports until ctx ends, then closes
// the sockets, lets the workers decode what is queued and flush their
// handlers, and writes the last health series. It runs once.
func (r *Receiver) Serve(ctx context.Context) error {
	if !r.served.CompareAndSwap(false, true) {
		return errors.New("INT receiver: Serve called twice")
	}
	r.lastHealth = r.opt.now()
	for _, w := range r.workers {
		r.workersWG.Add(1)
		go w.run(r.opt.flushTick)
	}
	for _, c := range r.udp {
		r.readersWG.Add(1)
		go r.readUDP(c)
	}
	t := time.NewTicker(r.opt.tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			for _, c := range r.udp {
				c.Close()
			}
			r.readersWG.Wait()
			for _, w := range r.workers {
				close(w.q)
			}
			r.workersWG.Wait()
			r.tick(true)
			return nil
		case <-t.C:
			r.tick(false)
		}
	}
}

func (r *Receiver) allowedAddr(a netip.Addr) bool {
	if len(r.allowed) == 0 {
		return true
	}
	for _, p := range r.allowed {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// queueFull counts a datagram its worker had no room for, on the row of
// the switch its fixed header names (else its address). The log and the
// board hear of it once a minute per row; the row's count is exact.
func (r *Receiver) queueFull(w *worker, addr netip.Addr, msg []byte, nowMs int64) {
	key := switchKey{addr: addr}
	if id, ok := peekSwitch(msg); ok {
		key.id, key.hasID = id, true
	}
	w.tab.mu.Lock()
	e := w.tab.getLocked(key, nowMs)
	e.drops[DropQueueFull]++
	e.lastMs = max(e.lastMs, nowMs)
	report := nowMs-e.queueFullToldMs >= 60_000
	if report {
		e.queueFullToldMs = nowMs
	}
	ref := e.ref
	w.tab.mu.Unlock()
	r.count.queueFull.Add(1) // after the row, so whoever sees the total sees the row
	if report {
		r.log.Warn("INT worker queue full; reports dropped", "switch", ref.ID, "address", addr, "worker", w.id, "queue", r.cfg.QueueDatagrams)
		r.board.Error(ref, status.CatBuffer, fmt.Errorf("worker %d queue full (%d datagrams): reports dropped", w.id, r.cfg.QueueDatagrams))
	}
}

// notAllowed counts traffic from outside the allow-list. Such peers get
// no switch row (a scan must not push real switches out of the table);
// the board records them as rejected, once a minute per address.
func (r *Receiver) notAllowed(addr netip.Addr) {
	defer r.count.notAllowed.Add(1)
	if r.rejected.Allow(addr, r.nowMs()) {
		ref := model.DeviceRef{Source: model.SourceINT, ID: "peer:" + addr.String(), Remote: addr.String()}
		r.board.Rejected(ref, status.CatAuth, fmt.Errorf("telemetry reports from %s refused: not in the INT allowed networks / allowed_networks", addr))
	}
}

// logEvery logs at most once a minute per key.
func (r *Receiver) logEvery(key, msg string, args ...any) {
	if r.logged.Allow(key, r.nowMs()) {
		r.log.Warn(msg, args...)
	}
}

// Switches lists every switch row, sorted by device and address.
func (r *Receiver) Switches() []SwitchStatus {
	nowMs := r.nowMs()
	timeout := r.cfg.SwitchTimeout.Milliseconds()
	out := []SwitchStatus{}
	for _, w := range r.workers {
		w.tab.mu.Lock()
		for _, e := range w.tab.m {
			out = append(out, e.status(nowMs, timeout))
		}
		w.tab.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Device != out[j].Device {
			return out[i].Device < out[j].Device
		}
		return out[i].Address < out[j].Address
	})
	return out
}

// Drops is the receiver-wide count of one drop reason: socket_overflow,
// queue_full, not_allowed, or a decoder reason summed over the switches.
func (r *Receiver) Drops(reason string) uint64 {
	switch reason {
	case DropSocketOverflow:
		return r.count.socketOverflow.Load()
	case DropQueueFull:
		return r.count.queueFull.Load()
	case DropNotAllowed:
		return r.count.notAllowed.Load()
	}
	var n uint64
	for _, w := range r.workers {
		w.tab.mu.Lock()
		for _, e := range w.tab.m {
			n += e.drops[reason]
		}
		w.tab.mu.Unlock()
	}
	return n
}

// tick moves counters to the board, tells it which switches started or
// stopped sending, and every healthEvery writes the health series (force:
// at the end of Serve, so the last counts are kept).
func (r *Receiver) tick(force bool) {
	r.tickMu.Lock()
	defer r.tickMu.Unlock()
	r.publishCounters()
	nowMs := r.nowMs()
	timeout := r.cfg.SwitchTimeout.Milliseconds()
	type dev struct {
		ref              model.DeviceRef
		up               bool
		lastMs           int64
		reports, refused uint64
	}
	devs := map[string]*dev{}
	var evicted uint64
	for _, w := range r.workers {
		w.tab.mu.Lock()
		evicted += w.tab.evicted
		w.tab.evicted = 0
		for _, e := range w.tab.m {
			d := devs[e.ref.ID]
			if d == nil {
				d = &dev{ref: e.ref}
				devs[e.ref.ID] = d
			}
			if e.state(nowMs, timeout) != StateStopped {
				d.up = true
			}
			if e.lastMs >= d.lastMs {
				d.lastMs, d.ref = e.lastMs, e.ref
			}
			rt, dt := e.reportTotal(), e.dropTotal()
			d.reports += rt - e.toldReports
			d.refused += dt - e.toldDrops
			e.toldReports, e.toldDrops = rt, dt
		}
		w.tab.mu.Unlock()
	}
	if evicted > 0 {
		r.board.Add(CounterSwitchesForgot, evicted)
	}
	for id, d := range devs {
		if d.reports > 0 || d.refused > 0 {
			r.board.Batch(d.ref, int(d.reports), int(d.refused))
		}
		was := r.devices[id]
		switch {
		case d.up && !was:
			r.board.Connected(d.ref, 0)
		case !d.up && was:
			r.board.Disconnected(d.ref, fmt.Sprintf("silent for more than %s", r.cfg.SwitchTimeout))
		}
		r.devices[id] = d.up
	}
	for id := range r.devices {
		if devs[id] == nil {
			delete(r.devices, id)
		}
	}
	if r.opt.series != nil && (force || r.opt.now().Sub(r.lastHealth) >= r.opt.healthEvery) {
		r.lastHealth = r.opt.now()
		r.writeHealth(nowMs)
	}
}

func (r *Receiver) publishCounters() {
	c := &r.count
	vals := map[string]uint64{
		CounterUDPDatagrams: c.datagrams.Load(), CounterUDPBytes: c.bytes.Load(), CounterUDPReadErrors: c.readErrors.Load(),
		CounterUDPCoalesced: c.coalesced.Load(),
		CounterReports:      c.reports.Load(), CounterBadReports: c.bad.Load(), CounterLostReports: c.lost.Load(),
		CounterDropPrefix + DropSocketOverflow: c.socketOverflow.Load(),
		CounterDropPrefix + DropQueueFull:      c.queueFull.Load(),
		CounterDropPrefix + DropNotAllowed:     c.notAllowed.Load(),
	}
	for _, reason := range intreport.Reasons() {
		vals[CounterDropPrefix+reason] = r.Drops(reason)
	}
	for name, v := range vals {
		if d := v - r.told[name]; v > r.told[name] && d > 0 {
			r.board.Add(name, d)
			r.told[name] = v
		}
	}
}

// withoutGRO leaves UDP_GRO off, so the benchmark can measure datagrams
// delivered one by one (what a sender the kernel cannot coalesce gets).
func withoutGRO() Option { return func(o *options) { o.noGRO = true } }

// withHealthEvery writes the health series more often, for tests.
func withHealthEvery(d time.Duration) Option {
	return func(o *options) { o.healthEvery, o.tick = d, min(o.tick, d) }
}
