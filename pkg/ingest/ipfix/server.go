// Package ipfix is the IPFIX and NetFlow v9 collector's transport: UDP
// sockets sharing a port, TCP connections framed by the IPFIX length field,
// an allow-list, bounded queues to decoding workers, per-exporter status,
// and templates that survive a restart. Decoding is pkg/decode/ipfix; what
// becomes of a decoded record is the Handler's business (pkg/pipeline/flows).
//
// Socket readers never decode: they copy each datagram into a pooled buffer
// and queue it to the worker its exporter (address and port) is sharded to,
// so one exporter's messages are decoded in order by one decoder. A full
// queue drops the datagram and counts it.
package ipfix

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/netlens/netlens/pkg/config"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pipeline"
	"github.com/netlens/netlens/pkg/status"

	"github.com/netlens/netlens/pkg/ingest/throttle"
	"github.com/netlens/netlens/pkg/ingest/udpsock"
)

// Board counters this receiver keeps. Drops also count per reason as
// CounterDropPrefix + reason, with the ':' of malformed reasons written '_'
// (ipfix_drops_malformed_bad_set_length).
const (
	CounterUDPDatagrams    = "ipfix_udp_datagrams"
	CounterUDPBytes        = "ipfix_udp_bytes"
	CounterTCPMessages     = "ipfix_tcp_messages"
	CounterTCPBytes        = "ipfix_tcp_bytes"
	CounterMessages        = "ipfix_messages_decoded"
	CounterRecords         = "ipfix_records"
	CounterLostRecords     = "ipfix_lost_records"
	CounterLostPackets     = "ipfix_lost_packets"
	CounterDropPrefix      = "ipfix_drops_"
	CounterTCPAccepted     = "ipfix_tcp_connections_accepted"
	CounterTCPRefusedLimit = "ipfix_tcp_connections_refused_limit"
	CounterTCPIdleClosed   = "ipfix_tcp_connections_idle_closed"
	CounterUDPReadErrors   = "ipfix_udp_read_errors"
	CounterFlushErrors     = "ipfix_handler_flush_errors"
	CounterTemplateSaves   = "ipfix_template_saves"
	CounterTemplateSaveErr = "ipfix_template_save_errors"
	CounterExportersForgot = "ipfix_exporters_evicted"
)

// boardReason is a drop reason as a counter suffix.
func boardReason(reason string) string { return strings.ReplaceAll(reason, ":", "_") }

const (
	// maxExporters bounds the status table (split evenly over workers).
	maxExporters = 10000
	// defaultSaveEvery is how often changed templates are written out.
	defaultSaveEvery = 30 * time.Second
	// notAllowedMemory bounds the addresses whose refusal was put on the
	// board recently; each is put there at most once a minute.
	notAllowedMemory = 1024
)

// options are what tests in this package adjust; New uses the defaults.
type options struct {
	now         func() time.Time
	tick        time.Duration
	saveEvery   time.Duration
	maxTCPConns int
	tcpIdle     time.Duration
	tcpBody     time.Duration
	engine      func(worker int) engine
	// readGate, when set, holds the UDP readers until it is closed, so a
	// test can fill a socket's buffer until the kernel drops.
	readGate chan struct{}
	// series receives the exporter health series every healthEvery; nil
	// writes none (WithSeries).
	series      pipeline.Appender
	healthEvery time.Duration
}

func defaultOptions() options {
	return options{
		now: time.Now, tick: time.Second, saveEvery: defaultSaveEvery, healthEvery: defaultHealthEvery,
		maxTCPConns: defaultMaxTCPConns, tcpIdle: defaultTCPIdle, tcpBody: defaultTCPBody,
	}
}

// Server is the IPFIX receiver. New starts it; Shutdown stops it.
type Server struct {
	cfg      config.IPFIX
	allowed  func(netip.Addr) bool
	board    *status.Board
	log      log.Logger
	opt      options
	tmplPath string // "" when there is no data directory

	udp       []*net.UDPConn
	rcvbuf    int // granted, see ReadBuffer
	tcpLis    net.Listener
	workers   []*worker
	readersWG sync.WaitGroup // socket readers, the accept loop, connections
	workersWG sync.WaitGroup
	bgWG      sync.WaitGroup // tick and saver
	quit      chan struct{}
	stopOnce  sync.Once
	discard   atomic.Bool // past the shutdown deadline: drain without decoding

	connMu   sync.Mutex
	conns    map[net.Conn]struct{}
	stopping bool

	count struct {
		udpDatagrams, udpBytes, tcpMessages, tcpBytes atomic.Uint64
		messages, records                             atomic.Uint64
		socketOverflow, queueFull, notAllowed         atomic.Uint64
	}
	tickMu  sync.Mutex        // one tick at a time: the loop, Shutdown, tests
	told    map[string]uint64 // counters already added to the board
	devices map[string]bool   // board device → connected
	health  health            // the health series' ledger, under tickMu

	rejected *throttle.Keyed[netip.Addr] // refusals told to the board
	logged   *throttle.Keyed[string]     // log keys, so a flood logs once a minute
}

func (s *Server) nowMs() int64   { return s.opt.now().UnixMilli() }
func (s *Server) now() time.Time { return s.opt.now() }

// newServer binds the sockets, restores templates and starts readers and
// workers.
func newServer(cfg config.IPFIX, allowed func(netip.Addr) bool, dataDir string, board *status.Board, logger log.Logger, opt options) (*Server, error) {
	if board == nil {
		return nil, errors.New("ipfix receiver: a status board is required")
	}
	if logger == nil {
		logger = log.NewNullLogger()
	}
	if cfg.UDPListenAddress == "" && cfg.TCPListenAddress == "" {
		return nil, errors.New("ipfix receiver: ipfix_udp_listen_address and ipfix_tcp_listen_address are both off")
	}
	if cfg.Workers < 1 || cfg.QueueDatagrams < 1 {
		return nil, fmt.Errorf("ipfix receiver: ipfix_workers (%d) and ipfix_queue_datagrams (%d) must be positive", cfg.Workers, cfg.QueueDatagrams)
	}
	if cfg.UDPListenAddress != "" && cfg.UDPSockets < 1 {
		return nil, fmt.Errorf("ipfix receiver: ipfix_udp_sockets %d must be positive", cfg.UDPSockets)
	}
	if cfg.ExporterTimeout <= 0 {
		return nil, fmt.Errorf("ipfix receiver: ipfix_exporter_timeout %s must be positive", cfg.ExporterTimeout)
	}
	s := &Server{
		cfg: cfg, allowed: allowed, board: board, log: logger, opt: opt,
		quit: make(chan struct{}), conns: map[net.Conn]struct{}{}, told: map[string]uint64{},
		rejected: throttle.New[netip.Addr](60_000, notAllowedMemory), logged: throttle.New[string](60_000, 4096), devices: map[string]bool{},
		health: health{devs: map[string]*devHealth{}, receiver: map[string]uint64{}},
	}
	if dataDir != "" {
		s.tmplPath = templatesPath(dataDir)
	}
	perWorker := max(maxExporters/cfg.Workers, 16)
	for i := range cfg.Workers {
		eng := opt.engine(i)
		tab := newTable(perWorker)
		if opt.series != nil {
			tab.gone = &retired{devs: map[string]*retiredDev{}}
		}
		s.workers = append(s.workers, &worker{
			id: i, s: s, q: make(chan item, cfg.QueueDatagrams), ctl: make(chan func(*worker)), done: make(chan struct{}),
			tab: tab, eng: eng, udp: eng.newDecoder(), tcp: map[netip.AddrPort]decoder{},
		})
	}
	s.restoreTemplates()

	if cfg.UDPListenAddress != "" {
		conns, granted, err := udpsock.Listen(cfg.UDPListenAddress, cfg.UDPSockets, udpsock.Options{ReadBufferBytes: cfg.ReadBufferBytes})
		if err != nil {
			board.ListenerFailed("ipfix-udp", "udp", cfg.UDPListenAddress, err)
			return nil, fmt.Errorf("ipfix receiver: %w", err)
		}
		s.udp, s.rcvbuf = conns, granted
		board.ListenerBound("ipfix-udp", "udp", cfg.UDPListenAddress, conns[0].LocalAddr().String())
		logger.Info("IPFIX UDP sockets bound", "address", conns[0].LocalAddr().String(), "sockets", len(conns),
			"readBufferAsked", cfg.ReadBufferBytes, "readBufferGranted", granted)
		if granted < cfg.ReadBufferBytes {
			logger.Warn("IPFIX UDP receive buffer is smaller than asked; raise net.core.rmem_max or give the process CAP_NET_ADMIN",
				"asked", cfg.ReadBufferBytes, "granted", granted)
		}
	}
	if cfg.TCPListenAddress != "" {
		lis, err := net.Listen("tcp", cfg.TCPListenAddress)
		if err != nil {
			for _, c := range s.udp {
				c.Close()
			}
			board.ListenerFailed("ipfix-tcp", "tcp", cfg.TCPListenAddress, err)
			return nil, fmt.Errorf("ipfix receiver: listening on %s: %w", cfg.TCPListenAddress, err)
		}
		s.tcpLis = lis
		board.ListenerBound("ipfix-tcp", "tcp", cfg.TCPListenAddress, lis.Addr().String())
	}

	for _, w := range s.workers {
		s.workersWG.Add(1)
		go w.run(opt.tick)
	}
	for _, c := range s.udp {
		s.readersWG.Add(1)
		go s.readUDP(c)
	}
	if s.tcpLis != nil {
		s.readersWG.Add(1)
		go s.acceptTCP()
	}
	s.bgWG.Add(2)
	go s.tickLoop()
	go s.saveLoop()
	return s, nil
}

// UDPAddr is the bound UDP address (with the port the OS chose for ":0"),
// nil when UDP is off.
func (s *Server) UDPAddr() net.Addr {
	if len(s.udp) == 0 {
		return nil
	}
	return s.udp[0].LocalAddr()
}

// TCPAddr is the bound TCP address, nil when TCP is off.
func (s *Server) TCPAddr() net.Addr {
	if s.tcpLis == nil {
		return nil
	}
	return s.tcpLis.Addr()
}

// ReadBuffer is the UDP receive buffer asked for each socket and the one
// the kernel granted (capped by net.core.rmem_max without CAP_NET_ADMIN).
func (s *Server) ReadBuffer() (asked, granted int) { return s.cfg.ReadBufferBytes, s.rcvbuf }

// shard is the worker of an exporter address and port (FNV-1a): the same
// exporter always lands on the same worker, whichever socket read it.
func (s *Server) shard(ap netip.AddrPort) int {
	if len(s.workers) == 1 {
		return 0
	}
	a := ap.Addr().As16()
	h := uint32(2166136261)
	for _, b := range a {
		h = (h ^ uint32(b)) * 16777619
	}
	h = (h ^ uint32(ap.Port()>>8)) * 16777619
	h = (h ^ uint32(ap.Port()&0xff)) * 16777619
	return int(h % uint32(len(s.workers)))
}

func (s *Server) isStopping() bool {
	select {
	case <-s.quit:
		return true
	default:
		return false
	}
}

// queueFull counts a datagram its worker had no room for. The log and the
// board's device record hear of it at most once a minute per exporter row
// (the row's count is exact), so an overload does not also format and
// lock for every datagram it drops.
func (s *Server) queueFull(w *worker, from netip.AddrPort, msg []byte, nowMs int64) {
	s.count.queueFull.Add(1)
	h, _ := peekHeader(msg)
	key := exporterKey{addr: from, odid: h.odid}
	w.tab.mu.Lock()
	e := w.tab.getLocked(key, nowMs)
	e.drops[DropQueueFull]++
	e.lastMs = max(e.lastMs, nowMs)
	report := nowMs-e.queueFullToldMs >= 60_000
	if report {
		e.queueFullToldMs = nowMs
	}
	w.tab.mu.Unlock()
	if report {
		s.log.Warn("IPFIX worker queue full; datagrams dropped", "exporter", from, "worker", w.id, "queue", s.cfg.QueueDatagrams)
		ref := model.DeviceRef{Source: model.SourceIPFIX, ID: key.device(), Remote: from.String()}
		s.board.Error(ref, status.CatBuffer, fmt.Errorf("worker %d queue full (%d datagrams): datagrams dropped", w.id, s.cfg.QueueDatagrams))
	}
}

// notAllowed counts traffic from outside the allow-list. Such peers get no
// exporter row (a scan must not push real exporters out of the table); the
// board records them as rejected, once a minute per address.
func (s *Server) notAllowed(addr netip.Addr) {
	defer s.count.notAllowed.Add(1) // after the board heard of it, for tests that wait on the count
	if s.rejected.Allow(addr, s.nowMs()) {
		ref := model.DeviceRef{Source: model.SourceIPFIX, ID: "peer:" + addr.String(), Remote: addr.String()}
		s.board.Rejected(ref, status.CatAuth, fmt.Errorf("traffic from %s refused: not in ipfix_allowed_networks / allowed_networks", addr))
	}
}

// logEvery logs at most once a minute per key and says whether it did.
func (s *Server) logEvery(key, msg string, args ...any) bool {
	if !s.logged.Allow(key, s.nowMs()) {
		return false
	}
	s.log.Warn(msg, args...)
	return true
}

// Exporters lists every exporter row, sorted by device, address and
// transport.
func (s *Server) Exporters() []ExporterStatus {
	nowMs := s.nowMs()
	timeout := s.cfg.ExporterTimeout.Milliseconds()
	out := []ExporterStatus{}
	for _, w := range s.workers {
		w.tab.mu.Lock()
		for _, e := range w.tab.m {
			out = append(out, e.status(nowMs, timeout))
		}
		w.tab.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Device != b.Device {
			return a.Device < b.Device
		}
		if a.Address != b.Address {
			return a.Address < b.Address
		}
		return a.Transport < b.Transport
	})
	return out
}

func (s *Server) tickLoop() {
	defer s.bgWG.Done()
	t := time.NewTicker(s.opt.tick)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
			s.tick()
		}
	}
}

// tick moves counters to the board and tells it of exporters that started
// or stopped sending. A device (address and ODID) is connected while any
// of its rows (ports, transports) is not stopped. Every healthEvery it
// also writes the health series.
func (s *Server) tick() { s.tickHealth(false) }

// tickHealth is tick; force writes the health series even if not due (at
// shutdown, so the last counts are kept).
func (s *Server) tickHealth(force bool) {
	s.tickMu.Lock()
	defer s.tickMu.Unlock()
	s.publishCounters()
	nowMs := s.nowMs()
	hr := s.healthRound(nowMs, force)
	timeout := s.cfg.ExporterTimeout.Milliseconds()
	type dev struct {
		up             bool
		remote         string
		lastMs         int64
		records, drops uint64
		closed         bool
	}
	devs := map[string]*dev{}
	var evicted uint64
	for _, w := range s.workers {
		w.tab.mu.Lock()
		evicted += w.tab.evicted
		w.tab.evicted = 0
		if hr != nil {
			hr.tableLocked(w.tab)
		}
		for _, e := range w.tab.m {
			if hr != nil {
				hr.rowLocked(e)
			}
			id := e.key.device()
			d := devs[id]
			if d == nil {
				d = &dev{}
				devs[id] = d
			}
			if e.state(nowMs, timeout) != StateStopped {
				d.up = true
			}
			if e.lastMs >= d.lastMs {
				d.lastMs, d.remote, d.closed = e.lastMs, e.key.addr.String(), e.closed
			}
			dt := e.dropTotal()
			d.records += e.records - e.toldRecords
			d.drops += dt - e.toldDrops
			e.toldRecords, e.toldDrops = e.records, dt
		}
		w.tab.mu.Unlock()
	}
	if evicted > 0 {
		s.board.Add(CounterExportersForgot, evicted)
	}
	for id, d := range devs {
		ref := model.DeviceRef{Source: model.SourceIPFIX, ID: id, Remote: d.remote}
		if d.records > 0 || d.drops > 0 {
			s.board.Batch(ref, int(d.records), int(d.drops))
		}
		was := s.devices[id]
		switch {
		case d.up && !was:
			s.board.Connected(ref, 0)
		case !d.up && was:
			reason := fmt.Sprintf("silent for more than %s", s.cfg.ExporterTimeout)
			if d.closed && nowMs-d.lastMs <= timeout {
				reason = "TCP connection closed"
			}
			s.board.Disconnected(ref, reason)
		}
		s.devices[id] = d.up
	}
	for id := range s.devices {
		if devs[id] == nil { // its rows are gone, after it was seen stopped
			delete(s.devices, id)
		}
	}
	if hr != nil {
		s.writeHealth(hr, nowMs)
	}
}

func (s *Server) publishCounters() {
	c := &s.count
	for name, v := range map[string]uint64{
		CounterUDPDatagrams: c.udpDatagrams.Load(), CounterUDPBytes: c.udpBytes.Load(),
		CounterTCPMessages: c.tcpMessages.Load(), CounterTCPBytes: c.tcpBytes.Load(),
		CounterMessages: c.messages.Load(), CounterRecords: c.records.Load(),
		CounterDropPrefix + DropSocketOverflow: c.socketOverflow.Load(),
		CounterDropPrefix + DropQueueFull:      c.queueFull.Load(),
		CounterDropPrefix + DropNotAllowed:     c.notAllowed.Load(),
	} {
		if d := v - s.told[name]; d > 0 {
			s.board.Add(name, d)
			s.told[name] = v
		}
	}
}

// Drops is the receiver-wide count of one drop reason, including those no
// exporter row can hold (socket_overflow, not_allowed).
func (s *Server) Drops(reason string) uint64 {
	switch reason {
	case DropSocketOverflow:
		return s.count.socketOverflow.Load()
	case DropQueueFull:
		return s.count.queueFull.Load()
	case DropNotAllowed:
		return s.count.notAllowed.Load()
	}
	var n uint64
	for _, w := range s.workers {
		w.tab.mu.Lock()
		for _, e := range w.tab.m {
			n += e.drops[reason]
		}
		w.tab.mu.Unlock()
	}
	return n
}

// Shutdown stops reading (sockets and connections close), lets the
// workers decode what is queued and flush their handlers, and saves the
// templates. Past ctx's deadline the rest of the queues is discarded
// undecoded; the templates are still saved.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	s.stopOnce.Do(func() {
		close(s.quit)
		s.connMu.Lock()
		s.stopping = true
		for c := range s.conns {
			c.Close()
		}
		s.connMu.Unlock()
		for _, c := range s.udp {
			c.Close()
		}
		if s.tcpLis != nil {
			s.tcpLis.Close()
		}
		s.readersWG.Wait()
		for _, w := range s.workers {
			close(w.q)
		}
		done := make(chan struct{})
		go func() { s.workersWG.Wait(); close(done) }()
		select {
		case <-done:
		case <-ctx.Done():
			s.discard.Store(true)
			<-done
			err = fmt.Errorf("ipfix receiver: queues not drained by the shutdown deadline; the rest was discarded: %w", ctx.Err())
		}
		s.bgWG.Wait()
		s.tickHealth(true)
		if e := s.saveTemplates(true); e != nil {
			err = errors.Join(err, e)
		}
	})
	return err
}
