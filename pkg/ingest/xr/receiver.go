// Package xr is the Cisco IOS XR telemetry receiver's transport: one TCP
// port for policy-driven (PDT v1/v2) and model-driven (MDT) dial-out, the
// same port over UDP (bare PDT compact GPB or MDT datagrams), an
// allow-list, bounded connections, per-router status, the routers' .policy
// and .proto files, silent collection groups and health series. Framing and
// zlib are pkg/decode/xr/wire, decoding pkg/decode/xr/{pdt,mdt,compact};
// what becomes of a decoded message is the Handler's business
// (pkg/pipeline/xrmap in the product). The gRPC dial-out server
// (dialout/) hands its messages to HandleFrame.
package xr

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/netlens/netlens/pkg/config"
	"github.com/netlens/netlens/pkg/decode/xr"
	"github.com/netlens/netlens/pkg/decode/xr/wire"
	"github.com/netlens/netlens/pkg/ingest/throttle"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pipeline"
	"github.com/netlens/netlens/pkg/status"
)

// Handler takes every decoded message (*xrmap.Mapper in the product). msg
// and everything in it are valid only during the call; Write may be called
// from many connections at once. A Handler that can batch (the Mapper's
// NewWriter) gets one xrmap.Writer per TCP connection and one for the UDP
// reader, flushed after every read; HandleFrame (gRPC) writes per message.
type Handler interface {
	Write(ctx context.Context, dev model.DeviceRef, msg *xr.Message, receivedMs int64) error
}

// Board counters this receiver keeps. Drops also count per reason as
// CounterDropPrefix + reason (xr_drops_zlib_corrupt, xr_drops_bad_json).
const (
	CounterTCPAccepted     = "xr_tcp_connections_accepted"
	CounterTCPRefusedLimit = "xr_tcp_connections_refused_limit"
	CounterTCPIdleClosed   = "xr_tcp_connections_idle_closed"
	CounterTCPBytes        = "xr_tcp_bytes"
	CounterUDPDatagrams    = "xr_udp_datagrams"
	CounterUDPBytes        = "xr_udp_bytes"
	CounterUDPReadErrors   = "xr_udp_read_errors"
	CounterMessages        = "xr_messages_decoded"
	CounterResets          = "xr_compressor_resets"
	CounterHeartbeats      = "xr_heartbeats"
	CounterMissingProto    = "xr_compact_rows_missing_proto"
	CounterDropPrefix      = "xr_drops_"
)

// Receiver-level drop reasons; the rest are the reasons of pkg/decode/xr/wire
// (framing and zlib: the TCP connection was closed) and of the decoders
// (one message dropped, the connection kept).
const (
	DropNotAllowed      = "not_allowed"      // connections and datagrams from outside the allow-list; receiver-wide
	DropConnLimit       = "connection_limit" // connections closed at accept: too many open
	DropUnknownEncoding = "unknown_encoding" // a data frame whose header names no encoding we decode
	DropHandler         = "handler"          // the Handler refused a decoded message
)

const (
	// maxRouters bounds the router table; past it the longest-silent
	// router is forgotten.
	maxRouters = 10000
	// defaultTCPIdle closes a connection that sent nothing for this long,
	// unless a policy's period asks for longer (see idleTimeout).
	defaultTCPIdle = 30 * time.Minute
	// healthEvery is how often the health series are written.
	healthEvery = 10 * time.Second
	// rescanEvery is how often the policy and proto directories are checked
	// for changed files.
	rescanEvery = 30 * time.Second
	// notAllowedMemory bounds the addresses whose refusal was put on the
	// board recently.
	notAllowedMemory = 1024
	// readBuffer is one TCP read; a datagram buffer is the largest UDP payload.
	readBuffer  = 64 << 10
	maxDatagram = 65535
)

// Option adjusts the receiver New makes.
type Option func(*options)

type options struct {
	now         func() time.Time
	series      pipeline.Sink
	tick        time.Duration
	healthEvery time.Duration
	rescanEvery time.Duration
	tcpIdle     time.Duration
}

// WithSeries writes router health to s as series every 10 s (Series*).
func WithSeries(s pipeline.Sink) Option { return func(o *options) { o.series = s } }

// withTCPIdle replaces the idle timeout, for tests.
func withTCPIdle(d time.Duration) Option { return func(o *options) { o.tcpIdle = d } }

// withClock makes tests independent of the wall clock.
func withClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// Receiver is the IOS XR TCP/UDP receiver. New binds its sockets and loads
// the policy and proto directories; Serve runs it until its context ends.
type Receiver struct {
	cfg     config.XR
	allowed []netip.Prefix
	h       Handler
	board   *status.Board
	log     log.Logger
	opt     options
	max     int
	startMs int64

	tcpLis net.Listener
	udp    *net.UDPConn

	files atomic.Pointer[catalog] // policies and protos, replaced whole on reload
	dirMu sync.Mutex              // one reload at a time
	dirFP string                  // fingerprint of the directories last loaded

	decoders sync.Pool // *decoders for HandleFrame callers without their own

	connMu   sync.Mutex
	conns    map[net.Conn]struct{}
	stopping bool
	wg       sync.WaitGroup

	routers routerTable
	groups  groupTable

	count struct {
		tcpBytes, udpDatagrams, udpBytes, udpReadErrors atomic.Uint64
		accepted, refusedLimit, idleClosed              atomic.Uint64
		messages, resets, heartbeats, missingProto      atomic.Uint64
	}
	dropMu sync.Mutex
	drops  map[string]uint64 // receiver-wide, by reason

	tickMu     sync.Mutex
	told       map[string]uint64
	devices    map[string]bool // board device → connected
	healthLast int64

	rejected *throttle.Keyed[netip.Addr] // refusals told to the board
	logged   *throttle.Keyed[string]     // log keys, so a flood logs once a minute
}

// New binds the configured TCP and UDP listeners (empty addresses are off)
// and loads cfg.PolicyDir and cfg.ProtoDir. Bad files do not fail New:
// their problems are reported by Policies and ProtoFiles. allowed is the
// global allow-list, used when cfg.AllowedNetworks is empty; both empty
// admit every peer.
func New(cfg config.XR, allowed []netip.Prefix, h Handler, board *status.Board, logger log.Logger, opts ...Option) (*Receiver, error) {
	if h == nil {
		return nil, errors.New("xr receiver: a handler is required")
	}
	if board == nil {
		return nil, errors.New("xr receiver: a status board is required")
	}
	if logger == nil {
		logger = log.NewNullLogger()
	}
	o := options{now: time.Now, tick: time.Second, healthEvery: healthEvery, rescanEvery: rescanEvery}
	for _, f := range opts {
		f(&o)
	}
	if len(cfg.AllowedNetworks) > 0 {
		allowed = cfg.AllowedNetworks
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = 256
	}
	if cfg.RouterTimeout <= 0 {
		cfg.RouterTimeout = 5 * time.Minute
	}
	r := &Receiver{
		cfg: cfg, allowed: allowed, h: h, board: board, log: logger, opt: o,
		max: cfg.MaxMessageBytes, conns: map[net.Conn]struct{}{},
		drops: map[string]uint64{}, told: map[string]uint64{}, devices: map[string]bool{},
		rejected: throttle.New[netip.Addr](60_000, notAllowedMemory), logged: throttle.New[string](60_000, 4096),
	}
	if r.max <= 0 {
		r.max = wire.DefaultMaxLength
	}
	r.startMs = r.nowMs()
	r.routers.init()
	r.groups.init()
	r.decoders.New = func() any { return r.newDecoders() }
	r.reload(true)

	if cfg.TCPListenAddress != "" {
		lis, err := net.Listen("tcp", cfg.TCPListenAddress)
		if err != nil {
			board.ListenerFailed("xr-tcp", "tcp", cfg.TCPListenAddress, err)
			return nil, fmt.Errorf("xr receiver: listening on %s/tcp: %w", cfg.TCPListenAddress, err)
		}
		r.tcpLis = lis
		board.ListenerBound("xr-tcp", "tcp", cfg.TCPListenAddress, lis.Addr().String())
	}
	if cfg.UDPListenAddress != "" {
		ua, err := net.ResolveUDPAddr("udp", cfg.UDPListenAddress)
		var c *net.UDPConn
		if err == nil {
			c, err = net.ListenUDP("udp", ua)
		}
		if err != nil {
			if r.tcpLis != nil {
				r.tcpLis.Close()
			}
			board.ListenerFailed("xr-udp", "udp", cfg.UDPListenAddress, err)
			return nil, fmt.Errorf("xr receiver: listening on %s/udp: %w", cfg.UDPListenAddress, err)
		}
		r.udp = c
		board.ListenerBound("xr-udp", "udp", cfg.UDPListenAddress, c.LocalAddr().String())
	}
	return r, nil
}

func (r *Receiver) nowMs() int64 { return r.opt.now().UnixMilli() }

// TCPAddr is the bound TCP address (with the port the OS chose for ":0"),
// nil when TCP is off.
func (r *Receiver) TCPAddr() net.Addr {
	if r.tcpLis == nil {
		return nil
	}
	return r.tcpLis.Addr()
}

// UDPAddr is the bound UDP address, nil when UDP is off.
func (r *Receiver) UDPAddr() net.Addr {
	if r.udp == nil {
		return nil
	}
	return r.udp.LocalAddr()
}

// Allowed reports whether a peer may send: inside xr_allowed_networks, or
// allowed_networks when that is empty, or anyone when both are.
func (r *Receiver) Allowed(a netip.Addr) bool {
	if len(r.allowed) == 0 {
		return true
	}
	a = a.Unmap()
	for _, p := range r.allowed {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Serve accepts connections and reads datagrams until ctx ends; then it
// closes the sockets and every connection, waits for them, writes the last
// health series and returns nil.
func (r *Receiver) Serve(ctx context.Context) error {
	if r.tcpLis != nil {
		r.wg.Add(1)
		go r.acceptTCP(ctx)
	}
	if r.udp != nil {
		r.wg.Add(1)
		go r.readUDP(ctx)
	}
	t := time.NewTicker(r.opt.tick)
	defer t.Stop()
	lastScan := r.opt.now()
	for {
		select {
		case <-ctx.Done():
			r.shutdown()
			return nil
		case <-t.C:
			if now := r.opt.now(); now.Sub(lastScan) >= r.opt.rescanEvery {
				lastScan = now
				r.reload(false)
			}
			r.tick(false)
		}
	}
}

func (r *Receiver) shutdown() {
	r.connMu.Lock()
	r.stopping = true
	for c := range r.conns {
		c.Close()
	}
	r.connMu.Unlock()
	if r.tcpLis != nil {
		r.tcpLis.Close()
	}
	if r.udp != nil {
		r.udp.Close()
	}
	r.wg.Wait()
	r.tick(true)
}

// drop counts one dropped thing receiver-wide and, when dev is not empty,
// on the router's row.
// The router's row is counted first, so whoever sees the receiver-wide
// count sees the row's too.
func (r *Receiver) drop(dev, remote, reason string, n uint64) {
	if dev != "" {
		r.routers.drop(dev, remote, reason, n, r.nowMs())
	}
	r.dropMu.Lock()
	r.drops[reason] += n
	r.dropMu.Unlock()
}

// Drops is the receiver-wide count of one drop reason.
func (r *Receiver) Drops(reason string) uint64 {
	r.dropMu.Lock()
	defer r.dropMu.Unlock()
	return r.drops[reason]
}

// notAllowed counts traffic from outside the allow-list. Such peers get no
// router row (a scan must not push real routers out of the table); the
// board records them as rejected, once a minute per address.
func (r *Receiver) notAllowed(addr netip.Addr) {
	if r.rejected.Allow(addr, r.nowMs()) {
		ref := model.DeviceRef{Source: model.SourceXR, ID: "peer:" + addr.String(), Remote: addr.String()}
		r.board.Rejected(ref, status.CatAuth, fmt.Errorf("traffic from %s refused: not in xr_allowed_networks / allowed_networks", addr))
	}
	r.drop("", "", DropNotAllowed, 1) // last: tests wait on this count
}

// logEvery logs at most once a minute per key.
func (r *Receiver) logEvery(key, msg string, args ...any) {
	if r.logged.Allow(key, r.nowMs()) {
		r.log.Warn(msg, args...)
	}
}

// boardReason makes a reason safe as a counter suffix.
func boardReason(reason string) string {
	return strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' {
			return c
		}
		return '_'
	}, reason)
}
