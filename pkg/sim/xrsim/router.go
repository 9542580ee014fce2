// Package xrsim is a Cisco IOS XR router streaming telemetry, for demos,
// tests and benchmarks of the Netlens collector: policy-driven telemetry
// (XR 6.x: JSON with the 6.0.0 or 6.0.1+ keys, key-value GPB and compact
// GPB, over TCP with the v1 TLV or v2 Type/Flags/Length framing and an
// optional per-connection zlib stream reset every N messages, or compact
// GPB over UDP) and model-driven telemetry (key-value GPB or JSON over the
// dial-out TCP header, or as a gRPCMdtDialout client, plaintext, TLS or
// mutual TLS). The data is the seed's example paths: interface
// counters and rates, interface state, memory per node, BGP neighbours and
// inventory, moving as a real router's would.
//
// Its encoders are its own, written from the published formats
// (shared/reference/protocols.md section 1), and share no code with
// pkg/decode/xr, so a collector that gets the protocol wrong disagrees
// with it. Every router keeps exact totals (messages per path, leaf values
// per metric, the last value of every series and string leaf) for tests to
// compare with what the collector stored.
package xrsim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Encodings a router can use.
const (
	EncJSON    = "json"
	EncGPBKV   = "gpbkv"
	EncCompact = "compact"
)

// Config describes one router and its one destination.
type Config struct {
	Name       string // hostname: PDT Identifier, MDT node_id_str
	Target     string // collector host:port
	Generation Generation
	Encoding   string      // EncJSON (default), EncGPBKV or EncCompact (PDT only)
	Transport  string      // "tcp" (default), "udp" (PDT compact only) or "grpc" (MDT gRPC dial-out)
	TLS        *tls.Config // gRPC: nil for plaintext; with Certificates for mutual TLS
	V1         bool        // PDT over TCP: XR 6.0.0 TLV framing (JSON, always zlib)
	JSONKeys   JSONKeys
	Zlib       bool // PDT over TCP: compress, one zlib stream per connection
	ResetEvery int  // with Zlib: a RESET_COMPRESSOR and a new stream after this many messages (0: never)

	Policy *Policy // default Demo(); MDT uses its groups as subscriptions of the same paths
	// Rate in messages per second, each one path's collection, the paths
	// taken in turn; 0 sends every group's paths once per its period.
	Rate  float64
	Flood bool   // send as fast as the connection takes, the paths in turn (for benchmarks); overrides Rate
	Count uint64 // messages to send, then Run returns; 0 runs until ctx ends

	Interfaces int    // default 8
	Nodes      int    // memory summary nodes; default 2
	Neighbors  int    // BGP neighbours; default 4
	Seed       uint64 // model values

	MaxDatagram int           // UDP: largest datagram payload; default 1400
	RetryMin    time.Duration // TCP: first wait before dialling again; default 1 s, doubling
	RetryMax    time.Duration // up to this; default 30 s
	LocalAddr   string        // optional source address, e.g. 127.0.0.2:0

	Now  func() time.Time                 // default time.Now
	Logf func(format string, args ...any) // optional

	// OnSent, if set, sees every message once written, on the router's
	// goroutine; it must not keep the slices.
	OnSent func(s *Sent)
}

// Sent is one message as written.
type Sent struct {
	Path       *Path
	Collection *Collection // rows of this message only (UDP splits a collection)
	Payload    []byte      // the encoded message, before compression
	Wire       []byte      // the bytes written: header(s) and (compressed) payload, or the datagram
	Reset      bool        // a compressor reset went out just before
}

// Router is one simulated router. Run it once; Totals is safe to call at
// any time from any goroutine.
type Router struct {
	cfg   Config
	model *model
	items []item

	conn      sender
	comp      Compressor
	sinceRst  int
	firstV1   bool
	collID    uint64
	device    string // the device label the collector will use
	payload   []byte
	wire      []byte
	next      int
	after     func(time.Duration) <-chan time.Time // time.After; tests move a fake clock
	running   sync.Mutex
	mu        sync.Mutex
	totals    Totals
	names     names
	connected bool
}

// sender is a connection: a net.Conn, or a gRPC dial-out stream.
type sender interface {
	Write(b []byte) (int, error)
	Close() error
}

type item struct {
	group *Group
	path  *Path
}

// New checks cfg and fills in its defaults.
func New(cfg Config) (*Router, error) {
	if _, _, err := net.SplitHostPort(cfg.Target); err != nil {
		return nil, fmt.Errorf("xrsim: target %q: %w", cfg.Target, err)
	}
	if cfg.Name == "" {
		return nil, errors.New("xrsim: a router needs a name")
	}
	if cfg.Encoding == "" {
		cfg.Encoding = EncJSON
	}
	if cfg.Transport == "" {
		cfg.Transport = "tcp"
	}
	switch {
	case cfg.Encoding != EncJSON && cfg.Encoding != EncGPBKV && cfg.Encoding != EncCompact:
		return nil, fmt.Errorf("xrsim: encoding %q: want json, gpbkv or compact", cfg.Encoding)
	case cfg.Transport != "tcp" && cfg.Transport != "udp" && cfg.Transport != "grpc":
		return nil, fmt.Errorf("xrsim: transport %q: want tcp, udp or grpc", cfg.Transport)
	case cfg.Transport == "grpc" && cfg.Generation != GenMDT:
		return nil, errors.New("xrsim: gRPC dial-out is model-driven only")
	case cfg.TLS != nil && cfg.Transport != "grpc":
		return nil, errors.New("xrsim: TLS is for gRPC dial-out only")
	case cfg.Generation == GenMDT && cfg.Encoding == EncCompact:
		return nil, errors.New("xrsim: model-driven compact GPB is not simulated (use json or gpbkv)")
	case cfg.Generation == GenMDT && (cfg.Zlib || cfg.V1 || cfg.Transport == "udp"):
		return nil, errors.New("xrsim: model-driven telemetry goes over TCP or gRPC, without compression or v1 framing")
	case cfg.Transport == "udp" && (cfg.Encoding != EncCompact || cfg.Zlib || cfg.V1):
		return nil, errors.New("xrsim: policy-driven UDP carries compact GPB only, uncompressed")
	case cfg.V1 && cfg.Encoding != EncJSON:
		return nil, errors.New("xrsim: v1 framing (XR 6.0.0) carries JSON only")
	case cfg.ResetEvery < 0 || cfg.Rate < 0 || math.IsNaN(cfg.Rate) || math.IsInf(cfg.Rate, 0):
		return nil, errors.New("xrsim: reset interval and rate must not be negative")
	}
	if cfg.V1 {
		cfg.Zlib = true // XR 6.0.0 always compresses
	}
	if cfg.Policy == nil {
		cfg.Policy = Demo()
	}
	if cfg.Interfaces == 0 {
		cfg.Interfaces = 8
	}
	if cfg.Nodes == 0 {
		cfg.Nodes = 2
	}
	if cfg.Neighbors == 0 {
		cfg.Neighbors = 4
	}
	if cfg.Interfaces < 1 || cfg.Interfaces > 10000 || cfg.Nodes < 1 || cfg.Nodes > 64 || cfg.Neighbors < 1 || cfg.Neighbors > 10000 {
		return nil, errors.New("xrsim: want 1..10000 interfaces, 1..64 nodes, 1..10000 neighbours")
	}
	if cfg.MaxDatagram == 0 {
		cfg.MaxDatagram = 1400
	}
	if cfg.MaxDatagram < 256 || cfg.MaxDatagram > 65507 {
		return nil, fmt.Errorf("xrsim: datagram size %d: want 256..65507", cfg.MaxDatagram)
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = time.Second
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = max(cfg.RetryMin, 30*time.Second)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	r := &Router{cfg: cfg, model: newModel(cfg.Name, cfg.Seed, cfg.Interfaces, cfg.Nodes, cfg.Neighbors, cfg.Now()), after: time.After, names: names{}}
	for gi := range cfg.Policy.Groups {
		g := &cfg.Policy.Groups[gi]
		for _, p := range g.Paths {
			r.items = append(r.items, item{g, p})
		}
	}
	if len(r.items) == 0 {
		return nil, errNoPaths
	}
	r.totals = Totals{ByPath: map[string]uint64{}, ByMetric: map[string]uint64{}, Series: map[string]SeriesValue{}, States: map[string]StateValue{}}
	return r, nil
}

// Config is the configuration with defaults filled in.
func (r *Router) Config() Config { return r.cfg }

// Totals is a copy of what has been sent so far.
func (r *Router) Totals() Totals {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.totals.clone()
}

// Connected says whether a TCP connection is up (UDP: while running).
func (r *Router) Connected() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.connected
}

func (r *Router) fault(err error) {
	r.mu.Lock()
	r.totals.Errors++
	r.totals.LastError = err.Error()
	r.mu.Unlock()
}

func (r *Router) done() bool {
	if r.cfg.Count == 0 {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.totals.Messages >= r.cfg.Count
}

// Run sends until Count messages are out or ctx ends, and returns nil
// then. A TCP connection that fails or that the collector closes is
// dialled again after a wait that doubles from RetryMin to RetryMax and
// starts over once a connection has carried a message.
func (r *Router) Run(ctx context.Context) error {
	if !r.running.TryLock() {
		return errors.New("xrsim: router already running")
	}
	defer r.running.Unlock()
	wait := r.cfg.RetryMin
	for ctx.Err() == nil && !r.done() {
		before := r.Totals().Messages
		err := r.session(ctx)
		r.mu.Lock()
		conn := r.conn
		r.conn = nil
		r.connected = false
		sent := r.totals.Messages - before
		r.mu.Unlock()
		if conn != nil {
			conn.Close() // a gRPC stream waits for the collector to end it
		}
		if err == nil || ctx.Err() != nil {
			break
		}
		r.fault(err)
		if sent > 0 {
			wait = r.cfg.RetryMin
		}
		r.cfg.Logf("xr router %s: %v; again in %v", r.cfg.Name, err, wait)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, r.cfg.RetryMax)
	}
	return nil
}

func (r *Router) dial(ctx context.Context) (sender, error) {
	if r.cfg.Transport == "grpc" {
		return dialGRPC(ctx, r.cfg.Target, r.cfg.TLS, r.cfg.Logf, r.cfg.Name)
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	if r.cfg.LocalAddr != "" {
		var err error
		if r.cfg.Transport == "udp" {
			d.LocalAddr, err = net.ResolveUDPAddr("udp", r.cfg.LocalAddr)
		} else {
			d.LocalAddr, err = net.ResolveTCPAddr("tcp", r.cfg.LocalAddr)
		}
		if err != nil {
			return nil, fmt.Errorf("local address %q: %w", r.cfg.LocalAddr, err)
		}
	}
	return d.DialContext(ctx, r.cfg.Transport, r.cfg.Target)
}

// session runs one connection; it returns an error only when the
// connection broke, nil when the count was reached or ctx ended.
func (r *Router) session(ctx context.Context) error {
	conn, err := r.dial(ctx)
	if err != nil {
		return err
	}
	r.device = r.cfg.Name
	nc, isNet := conn.(net.Conn)
	if r.cfg.Generation == GenPDT && r.cfg.Encoding == EncGPBKV && isNet {
		// PDT key-value messages name no router: the collector knows it by address.
		if ap, err := netip.ParseAddrPort(nc.LocalAddr().String()); err == nil {
			r.device = ap.Addr().Unmap().String()
		}
	}
	r.mu.Lock()
	r.conn = conn
	r.connected = true
	r.totals.Connections++
	r.mu.Unlock()
	// A new connection is a new zlib stream, on both sides.
	r.comp.Reset()
	r.sinceRst = 0
	r.firstV1 = r.cfg.V1
	if r.cfg.Transport == "tcp" {
		conn := nc
		// Reading notices the collector closing the connection, so that
		// the next write fails instead of filling a dead socket.
		go func() {
			buf := make([]byte, 512)
			for {
				if _, err := conn.Read(buf); err != nil {
					conn.Close()
					return
				}
			}
		}()
	}
	if r.cfg.Rate > 0 || r.cfg.Flood {
		return r.runRate(ctx)
	}
	return r.runPeriods(ctx)
}

// runPeriods sends each group's paths once at the start and then once per
// the group's period, as a router follows its policy.
func (r *Router) runPeriods(ctx context.Context) error {
	groups := r.cfg.Policy.Groups
	due := make([]time.Time, len(groups))
	now := r.cfg.Now()
	for i := range due {
		due[i] = now
	}
	for !r.done() {
		gi := 0
		for i := range due {
			if due[i].Before(due[gi]) {
				gi = i
			}
		}
		if d := due[gi].Sub(r.cfg.Now()); d > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-r.after(d):
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		g := &groups[gi]
		for _, p := range g.Paths {
			if r.done() {
				return nil
			}
			if err := r.send(g, p); err != nil {
				return err
			}
		}
		due[gi] = due[gi].Add(g.Period)
		if now := r.cfg.Now(); due[gi].Before(now) {
			due[gi] = now.Add(g.Period) // after a stall, no burst of late collections
		}
	}
	return nil
}

// runRate sends Rate messages a second, the policy's paths in turn.
func (r *Router) runRate(ctx context.Context) error {
	tick := min(max(time.Duration(float64(time.Second)/r.cfg.Rate), 10*time.Millisecond), time.Second)
	owed := 1.0 // the first message goes at once
	last := r.cfg.Now()
	for !r.done() {
		if r.cfg.Flood {
			owed = 1024 // then look at ctx again
		}
		for ; owed >= 1; owed-- {
			if r.done() || ctx.Err() != nil {
				return nil
			}
			it := r.items[r.next%len(r.items)]
			r.next++
			if err := r.send(it.group, it.path); err != nil {
				return err
			}
		}
		if r.cfg.Flood {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(tick):
		}
		now := r.cfg.Now()
		owed += r.cfg.Rate * now.Sub(last).Seconds()
		last = now
	}
	return nil
}

// send collects one path and writes it as the router's encoding and
// transport want.
func (r *Router) send(g *Group, p *Path) error {
	now := r.cfg.Now()
	r.model.advance(now)
	r.collID++
	c := &Collection{
		Path: p, Policy: r.cfg.Policy.Name, Version: r.cfg.Policy.Version, Identifier: r.cfg.Name,
		Subscription: g.Name, CollectionID: r.collID, StartMs: now.UnixMilli(),
		Rows: r.model.rows(p, r.cfg.Generation),
	}
	c.EndMs = c.StartMs + 1 + int64(len(c.Rows))/64
	// Policy-driven messages carry the policy's name (JSON, compact) or
	// nothing (KV), and never the group: the collector finds both in its
	// copy of the policy file, by path, as the totals assume.
	l := labelsOf{device: r.device, gen: r.cfg.Generation}
	var err error
	switch {
	case r.cfg.Generation == GenMDT:
		l.path, l.subscription = p.MDT, g.Name
		encap := uint16(MDTEncapGPB)
		if r.cfg.Encoding == EncJSON {
			r.payload, err = AppendMDTJSON(r.payload[:0], c)
			encap = MDTEncapJSON
		} else {
			r.payload, err = AppendMDTKV(r.payload[:0], c)
		}
		if err != nil {
			return err
		}
		if r.cfg.Transport == "grpc" {
			// gRPC frames the message itself: no dial-out header.
			r.wire = append(r.wire[:0], r.payload...)
		} else {
			r.wire = AppendMDT(r.wire[:0], encap, r.payload)
		}
		return r.write(l, c, false)
	case r.cfg.Encoding == EncCompact:
		l.path, l.policy, l.subscription = p.Schema, c.Policy, g.Name
		max := 0
		if r.cfg.Transport == "udp" {
			max = r.cfg.MaxDatagram
		}
		msgs, counts, err := CompactMessages(c, max)
		if err != nil {
			return err
		}
		rows := c.Rows
		for i, m := range msgs {
			part := *c
			part.Rows, rows = rows[:counts[i]], rows[counts[i]:]
			r.payload = m
			if r.cfg.Transport == "udp" {
				r.wire = append(r.wire[:0], m...)
				if err := r.write(l, &part, false); err != nil {
					return err
				}
				continue
			}
			if err := r.writePDT(l, &part, PDTGPBCompact); err != nil {
				return err
			}
		}
		return nil
	case r.cfg.Encoding == EncGPBKV:
		l.path, l.policy, l.subscription = p.PDT, c.Policy, g.Name
		if r.payload, err = AppendPDTKV(r.payload[:0], c); err != nil {
			return err
		}
		return r.writePDT(l, c, PDTGPBKV)
	default:
		l.path, l.policy, l.subscription = p.PDT, c.Policy, g.Name
		if r.payload, err = AppendPDTJSON(r.payload[:0], c, r.cfg.JSONKeys); err != nil {
			return err
		}
		return r.writePDT(l, c, PDTJSON)
	}
}

// writePDT frames r.payload for PDT over TCP: compressed or not, v1 or v2,
// with a compressor reset first when one is due.
func (r *Router) writePDT(l labelsOf, c *Collection, typ uint32) error {
	reset := false
	if r.cfg.Zlib && r.cfg.ResetEvery > 0 && r.sinceRst >= r.cfg.ResetEvery {
		reset = true
		r.comp.Reset()
		r.sinceRst = 0
	}
	body := r.payload
	flags := uint32(0)
	if r.cfg.Zlib {
		body = r.comp.Compress(r.payload)
		flags = FlagZlib
		r.sinceRst++
	}
	r.wire = r.wire[:0]
	if r.cfg.V1 {
		// XR 6.0.0 starts each connection with a reset TLV; receivers
		// create their inflater on it.
		r.wire = AppendPDTv1(r.wire, reset || r.firstV1, body)
		reset = reset || r.firstV1
		r.firstV1 = false
	} else {
		if reset {
			r.wire = AppendPDTv2(r.wire, PDTReset, 0, nil)
		}
		r.wire = AppendPDTv2(r.wire, typ, flags, body)
	}
	return r.write(l, c, reset)
}

// write puts r.wire on the connection and books it. A failed write ends
// the session: over UDP too, since a connected UDP socket fails once the
// collector's port refuses, and dialling again resolves the collector's
// name again (a restarted container may have a new address).
func (r *Router) write(l labelsOf, c *Collection, reset bool) error {
	if _, err := r.conn.Write(r.wire); err != nil {
		return err
	}
	r.mu.Lock()
	if reset {
		r.totals.Resets++
	}
	r.totals.book(l, c.Path, c.Rows, len(r.wire), r.names)
	r.mu.Unlock()
	if r.cfg.OnSent != nil {
		r.cfg.OnSent(&Sent{Path: c.Path, Collection: c, Payload: r.payload, Wire: r.wire, Reset: reset})
	}
	return nil
}
