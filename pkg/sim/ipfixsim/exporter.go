// Package ipfixsim is an IPFIX exporter (RFC 7011) for demos, tests and
// benchmarks of the Netlens collector: flow templates for IPv4 and IPv6,
// options templates and data for the sampler table and the application
// table (RFC 6759), biflows (RFC 5103), Flowmon enterprise elements with
// the L7 detail a Kemp LoadMaster exports (shared/seeds/004), variable-length
// and reduced-size encoding, over UDP or TCP at a chosen rate.
//
// Its encoder is its own and shares no code with pkg/decode/ipfix, so a
// collector that gets the protocol wrong disagrees with it. Every exporter
// keeps exact totals of what it put on the wire (records, packets, bytes, by
// application, protocol and five-tuple, raw and scaled by the sampling
// rate) for tests to compare with what the collector stored.
package ipfixsim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"sync"
	"time"
)

// MinMessageSize is the smallest MaxMessageSize: every record the
// generator makes fits in a message of this size.
const MinMessageSize = 512

// Config describes one exporter: one transport session to the collector
// and one observation domain.
type Config struct {
	Target    string // collector host:port
	Transport string // "udp" (default) or "tcp"
	LocalAddr string // optional source address, e.g. 127.0.0.2:0 to look like another device

	ODID uint32 // observation domain id

	Rate  float64 // flow records per second; 0 sends as fast as the socket takes them
	Count uint64  // flow records to send, then Run returns; 0 runs until the context ends

	// SamplingRate 0 or 1 is unsampled: no sampler table, no selector in
	// the records (a LoadMaster monitors all of an interface's traffic).
	// Above 1 the exporter announces 1-in-N sampling in SamplingMode.
	SamplingRate uint32
	SamplingMode SamplingMode
	SelectorID   uint32 // the sampler's id in the table and the records; default 1

	// TemplateRefresh is how often templates and options data are sent
	// again over UDP (RFC 7011 §8.4); default 60 s. Over TCP they go once
	// at the start of each connection.
	TemplateRefresh time.Duration

	MaxMessageSize int  // default 1400 octets, below a 1500-octet path MTU; 512..65535
	NoPadding      bool // by default sets are padded to 4 octets, as Cisco does

	Applications []Application // default DefaultApplications()
	Clients      int           // client addresses; default 200
	Servers      int           // server addresses; default 20
	IPv6Share    float64       // share of flows over IPv6; 0 uses 0.2, negative sends IPv4 only
	Seed         uint64

	// DataBeforeTemplate sends the first data message of each session
	// before the templates it needs, as exporters do after a collector
	// restart: the collector must hold it and decode it once they arrive.
	DataBeforeTemplate bool
	// After GapAfter data messages (once per exporter), the sequence
	// number jumps by GapRecords, as if a message were lost on the way.
	GapAfter   int
	GapRecords uint32
	// GapAfterRecords, when set, places the gap by records instead: after
	// the data message that brings the flow records sent to this many.
	// Unlike a message count it does not depend on how many records each
	// message carries, which varies with how late the sender's ticks run.
	GapAfterRecords uint64

	FlushEvery time.Duration // at a finite rate, records due are sent this often; default 20 ms
	RetryAfter time.Duration // TCP: wait before dialling again; default 1 s
	TrackFlows bool          // keep Totals.ByFiveTuple (memory grows with distinct sessions)

	Now  func() time.Time                 // export time and flow times; default time.Now
	Logf func(format string, args ...any) // optional

	// OnMessageSent, if set, sees every message once it is written whole.
	// It runs on the exporter's goroutine: it must not block nor keep m or
	// its slices after it returns.
	OnMessageSent func(m *SentMessage)
}

// SentMessage is one message as written.
type SentMessage struct {
	Header
	Data           []byte
	Flows          []Flow // the flow records it carries, in order
	Templates      int    // template and options template records
	OptionsRecords int
}

// Exporter is one simulated IPFIX device. Run it once; Totals is safe to
// call at any time from any goroutine.
type Exporter struct {
	cfg     Config
	gen     *generator
	data    [2][numL7]Template
	options []Template // sampler table (when sampled) and application table
	sampled bool

	// Send state, owned by Run's goroutine.
	conn        net.Conn
	seq         uint32
	msg         Message
	dataMsgs    int
	gapDone     bool
	recBufs     [2 * numL7][]byte
	recCounts   [2 * numL7]int
	flows       []Flow
	carry       *Flow
	scratch     []byte
	lastRefresh time.Time

	running sync.Mutex
	mu      sync.Mutex
	totals  Totals
}

// New checks cfg and fills in its defaults.
func New(cfg Config) (*Exporter, error) {
	if _, _, err := net.SplitHostPort(cfg.Target); err != nil {
		return nil, fmt.Errorf("ipfixsim: target %q: %w", cfg.Target, err)
	}
	switch cfg.Transport {
	case "":
		cfg.Transport = "udp"
	case "udp", "tcp":
	default:
		return nil, fmt.Errorf("ipfixsim: transport %q: want udp or tcp", cfg.Transport)
	}
	if cfg.Rate < 0 || math.IsNaN(cfg.Rate) || math.IsInf(cfg.Rate, 0) {
		return nil, fmt.Errorf("ipfixsim: rate %v: want a finite number ≥ 0", cfg.Rate)
	}
	if cfg.SamplingMode > SamplingRandomInterval {
		return nil, fmt.Errorf("ipfixsim: unknown %v", cfg.SamplingMode)
	}
	if cfg.SelectorID == 0 {
		cfg.SelectorID = 1
	}
	if (cfg.SamplingMode == SamplingInterval || cfg.SamplingMode == SamplingRandomInterval) && cfg.SelectorID > 255 {
		return nil, fmt.Errorf("ipfixsim: selector id %d does not fit samplerId's one octet", cfg.SelectorID)
	}
	if cfg.TemplateRefresh == 0 {
		cfg.TemplateRefresh = time.Minute
	}
	if cfg.MaxMessageSize == 0 {
		cfg.MaxMessageSize = 1400
	}
	// The longest record (IPv6 HTTP with a 300-octet URL) needs about 470
	// octets with the headers.
	if cfg.MaxMessageSize < MinMessageSize || cfg.MaxMessageSize > MaxMessageLength {
		return nil, fmt.Errorf("ipfixsim: message size %d: want %d..%d", cfg.MaxMessageSize, MinMessageSize, MaxMessageLength)
	}
	if cfg.Applications == nil {
		cfg.Applications = DefaultApplications()
	}
	weights := 0
	for _, a := range cfg.Applications {
		if a.Weight < 0 || a.Selector > 0xFFFFFF {
			return nil, fmt.Errorf("ipfixsim: application %q: negative weight or selector past 24 bits", a.Name)
		}
		weights += a.Weight
	}
	if weights == 0 {
		return nil, errors.New("ipfixsim: no application has a weight above 0")
	}
	if cfg.Clients == 0 {
		cfg.Clients = 200
	}
	if cfg.Servers == 0 {
		cfg.Servers = 20
	}
	if cfg.Clients < 1 || cfg.Clients > 65536 || cfg.Servers < 1 || cfg.Servers > 254 {
		return nil, fmt.Errorf("ipfixsim: %d clients and %d servers: want 1..65536 and 1..254", cfg.Clients, cfg.Servers)
	}
	switch {
	case cfg.IPv6Share == 0:
		cfg.IPv6Share = 0.2
	case cfg.IPv6Share < 0:
		cfg.IPv6Share = 0
	case cfg.IPv6Share > 1:
		return nil, fmt.Errorf("ipfixsim: IPv6 share %v is above 1", cfg.IPv6Share)
	}
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = 20 * time.Millisecond
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}

	e := &Exporter{cfg: cfg, sampled: cfg.SamplingRate > 1}
	e.gen = newGenerator(cfg.Seed, cfg.Applications, cfg.Clients, cfg.Servers, cfg.IPv6Share)
	var sel *Field
	if e.sampled {
		f := cfg.SamplingMode.selectorField()
		sel = &f
		e.options = append(e.options, cfg.SamplingMode.samplingTemplate())
	}
	e.options = append(e.options, applicationTemplate())
	for v := range 2 {
		for l7 := range numL7 {
			e.data[v][l7] = dataTemplate(v == 1, l7, sel)
		}
	}
	for _, t := range e.Templates() {
		if err := t.Validate(); err != nil {
			return nil, fmt.Errorf("ipfixsim: %w", err)
		}
		// The largest record must fit in a message with its set header.
		if HeaderLen+SetHeaderLen+len(t.AppendRecord(nil))+3 > cfg.MaxMessageSize {
			return nil, fmt.Errorf("ipfixsim: message size %d is too small for template %d", cfg.MaxMessageSize, t.ID)
		}
	}
	e.totals.ByApplication = map[string]Counts{}
	e.totals.ByProtocol = map[uint8]Counts{}
	if cfg.TrackFlows {
		e.totals.ByFiveTuple = map[FiveTuple]Counts{}
	}
	return e, nil
}

// Templates lists every template the exporter sends: data templates
// first, then options templates.
func (e *Exporter) Templates() []Template {
	var ts []Template
	for v := range 2 {
		ts = append(ts, e.data[v][:]...)
	}
	return append(ts, e.options...)
}

// SamplingRate is the rate the collector should scale this exporter's counters by.
func (e *Exporter) SamplingRate() uint64 {
	if e.sampled {
		return uint64(e.cfg.SamplingRate)
	}
	return 1
}

// Config is the configuration with defaults filled in.
func (e *Exporter) Config() Config { return e.cfg }

// Totals is a copy of what has been sent so far.
func (e *Exporter) Totals() Totals {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.totals.clone()
}

func (e *Exporter) fault(err error) {
	e.mu.Lock()
	e.totals.Errors++
	e.totals.LastError = err.Error()
	e.mu.Unlock()
}

// Run exports until Count flow records have been sent or ctx ends, and
// returns nil then. Over TCP a lost connection is dialled again after
// RetryAfter (a new transport session: templates again, sequence from 0);
// over UDP write errors are counted and sending goes on.
func (e *Exporter) Run(ctx context.Context) error {
	if !e.running.TryLock() {
		return errors.New("ipfixsim: exporter already running")
	}
	defer e.running.Unlock()
	for ctx.Err() == nil && !e.done() {
		err := e.session(ctx)
		e.mu.Lock()
		if e.conn != nil {
			e.conn.Close()
			e.conn = nil
		}
		e.mu.Unlock()
		if err == nil || ctx.Err() != nil {
			break
		}
		e.fault(err)
		e.cfg.Logf("ipfix exporter odid %d: %v; again in %v", e.cfg.ODID, err, e.cfg.RetryAfter)
		select {
		case <-ctx.Done():
		case <-time.After(e.cfg.RetryAfter):
		}
	}
	return nil
}

// LocalAddr is the exporter's socket address while a session is up. Over
// UDP its host is unspecified unless Config.LocalAddr names one; the
// collector sees the address the route gives.
func (e *Exporter) LocalAddr() net.Addr {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.conn == nil {
		return nil
	}
	return e.conn.LocalAddr()
}

func (e *Exporter) done() bool {
	if e.cfg.Count == 0 {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.totals.Flows.Records >= e.cfg.Count
}

func (e *Exporter) remaining() uint64 {
	if e.cfg.Count == 0 {
		return math.MaxUint64
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cfg.Count - min(e.cfg.Count, e.totals.Flows.Records)
}

// session runs one transport session; it returns an error only when the
// session broke (TCP), nil when it finished or ctx ended.
func (e *Exporter) session(ctx context.Context) error {
	conn, err := e.dial(ctx)
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.conn = conn
	e.totals.Sessions++
	e.mu.Unlock()
	if e.cfg.Transport == "tcp" {
		// A new transport session starts its own sequence (RFC 7011 §3.1).
		e.seq = 0
		e.syncSequence()
		// The collector closing the connection is noticed on the next write;
		// reading drains anything it sends so the window never fills.
		go drain(conn)
	}

	if e.cfg.DataBeforeTemplate {
		if err := e.sendFlows(min(10, e.remaining()), true); err != nil {
			return err
		}
	}
	if err := e.sendTemplates(); err != nil {
		return err
	}

	start := e.cfg.Now()
	var due float64 // records owed at the configured rate
	last := start
	for !e.done() {
		if ctx.Err() != nil {
			return nil
		}
		if e.cfg.Transport == "udp" && e.cfg.Now().Sub(e.lastRefresh) >= e.cfg.TemplateRefresh {
			if u, ok := e.conn.(*udpSender); ok {
				u.resolve() // a collector that moved (a container restarted) is found again
			}
			if err := e.sendTemplates(); err != nil {
				return err
			}
		}
		var n uint64
		if e.cfg.Rate == 0 {
			n = 1 << 16 // as many as fill messages; the loop comes back at once
		} else {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(e.cfg.FlushEvery):
			}
			now := e.cfg.Now()
			due += e.cfg.Rate * now.Sub(last).Seconds()
			last = now
			n = uint64(due)
			due -= float64(n)
		}
		n = min(n, e.remaining())
		if n == 0 {
			continue
		}
		if err := e.sendFlows(n, false); err != nil {
			return err
		}
	}
	return nil
}

// dial opens the transport. UDP goes out of an unconnected socket, as
// devices send: fire and forget, no ICMP errors turning into failed writes
// while the collector is down, so no template refresh is lost to one.
func (e *Exporter) dial(ctx context.Context) (net.Conn, error) {
	if e.cfg.Transport == "tcp" {
		d := net.Dialer{}
		if e.cfg.LocalAddr != "" {
			a, err := net.ResolveTCPAddr("tcp", e.cfg.LocalAddr)
			if err != nil {
				return nil, fmt.Errorf("local address %q: %w", e.cfg.LocalAddr, err)
			}
			d.LocalAddr = a
		}
		return d.DialContext(ctx, "tcp", e.cfg.Target)
	}
	var local *net.UDPAddr
	if e.cfg.LocalAddr != "" {
		a, err := net.ResolveUDPAddr("udp", e.cfg.LocalAddr)
		if err != nil {
			return nil, fmt.Errorf("local address %q: %w", e.cfg.LocalAddr, err)
		}
		local = a
	}
	to, err := net.ResolveUDPAddr("udp", e.cfg.Target)
	if err != nil {
		return nil, err
	}
	pc, err := net.ListenUDP("udp", local)
	if err != nil {
		return nil, err
	}
	return &udpSender{UDPConn: pc, target: e.cfg.Target, to: unmap(to.AddrPort())}, nil
}

// udpSender writes every datagram to the collector's address.
type udpSender struct {
	*net.UDPConn
	target string
	to     netip.AddrPort
}

// Write sends to a netip.AddrPort, the form that does not allocate.
func (u *udpSender) Write(b []byte) (int, error) { return u.WriteToUDPAddrPort(b, u.to) }

func (u *udpSender) resolve() {
	if to, err := net.ResolveUDPAddr("udp", u.target); err == nil {
		u.to = unmap(to.AddrPort())
	}
}

// unmap keeps an IPv4 target IPv4, which a socket bound to an IPv4 source needs.
func unmap(ap netip.AddrPort) netip.AddrPort { return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()) }

func drain(c net.Conn) {
	buf := make([]byte, 512)
	for {
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
}

func (e *Exporter) syncSequence() {
	e.mu.Lock()
	e.totals.NextSequence = e.seq
	e.mu.Unlock()
}

// write puts one message on the wire and books it. A failed UDP write is
// counted and forgotten; a failed TCP write ends the session.
func (e *Exporter) write(flows []Flow, templates, optionsTemplates, options int) error {
	b := e.msg.Bytes()
	h := Header{ODID: e.cfg.ODID}
	h.ExportTime, h.Sequence = exportTime(b), e.seq
	_, err := e.conn.Write(b)
	if err != nil {
		if e.cfg.Transport == "tcp" {
			return err
		}
		e.fault(err)
		return nil
	}
	records := e.msg.Records()
	e.seq += uint32(records)
	rate := e.SamplingRate()
	e.mu.Lock()
	t := &e.totals
	t.Messages++
	t.WireBytes += uint64(len(b))
	t.TemplateRecords += uint64(templates)
	t.OptionsTemplateRecords += uint64(optionsTemplates)
	t.OptionsRecords += uint64(options)
	for i := range flows {
		f := &flows[i]
		t.Flows.add(f, rate)
		name := ""
		if !f.App.Unlisted {
			name = f.App.Name
		}
		c := t.ByApplication[name]
		c.add(f, rate)
		t.ByApplication[name] = c
		c = t.ByProtocol[f.Proto]
		c.add(f, rate)
		t.ByProtocol[f.Proto] = c
		if t.ByFiveTuple != nil {
			c = t.ByFiveTuple[f.Key()]
			c.add(f, rate)
			t.ByFiveTuple[f.Key()] = c
		}
	}
	t.NextSequence = e.seq
	e.mu.Unlock()
	if e.cfg.OnMessageSent != nil {
		e.cfg.OnMessageSent(&SentMessage{Header: h, Data: b, Flows: flows, Templates: templates + optionsTemplates, OptionsRecords: options})
	}
	return nil
}

func exportTime(msg []byte) uint32 {
	return uint32(msg[4])<<24 | uint32(msg[5])<<16 | uint32(msg[6])<<8 | uint32(msg[7])
}

func (e *Exporter) header() Header {
	return Header{ExportTime: uint32(e.cfg.Now().Unix()), Sequence: e.seq, ODID: e.cfg.ODID}
}
