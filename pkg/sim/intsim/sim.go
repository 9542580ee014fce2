package intsim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Config is a simulator: a domain and where its reports go.
type Config struct {
	Domain DomainConfig
	// Target is the collector's host:port [127.0.0.1:31337].
	Target string
	// Sources are local addresses the switches send from, in turn (switch
	// i from Sources[i%len]); each switch has its own socket either way.
	// Report v0.5 names no switch in its fixed header: a collector tells
	// switches apart by source address, so give one address per switch
	// when you can (any 127.0.0.0/8 address works on Linux loopback).
	Sources []string
	// Rate is reports per second over all switches; 0 sends as fast as
	// the sockets take them (flood, for benchmarks).
	Rate float64
	// Count stops after this many reports sent (0: until the context ends).
	Count uint64
	// Batch is the datagrams written per system call per switch [64].
	Batch int
	// NoGSO sends each datagram on its own. By default (Linux) consecutive
	// reports of one switch with the same length go down in one UDP
	// segmentation offload send; the collector still gets one datagram per
	// report, in order.
	NoGSO bool
	// TimeStep, when set, advances the simulated clock by this much per
	// packet instead of following the wall clock: runs are then the same
	// whatever the machine's speed, and a test sees the 32-bit clocks wrap
	// after a known number of packets.
	TimeStep time.Duration
	Now      func() time.Time
	Logf     func(format string, args ...any)
}

// Sim sends a domain's reports over UDP.
type Sim struct {
	cfg Config
	d   *Domain
	enc Encoding

	mu    sync.Mutex
	tally *tally
}

// New checks the configuration and builds the domain.
func New(cfg Config) (*Sim, error) {
	if cfg.Target == "" {
		cfg.Target = "127.0.0.1:31337"
	}
	if _, _, err := net.SplitHostPort(cfg.Target); err != nil {
		return nil, fmt.Errorf("intsim: target %q: %w", cfg.Target, err)
	}
	if cfg.Batch == 0 {
		cfg.Batch = 64
	}
	if cfg.Batch < 1 || cfg.Batch > 1024 {
		return nil, fmt.Errorf("intsim: batch %d: want 1..1024", cfg.Batch)
	}
	if !(cfg.Rate >= 0) {
		return nil, fmt.Errorf("intsim: rate %v: want ≥ 0", cfg.Rate)
	}
	if cfg.TimeStep < 0 {
		return nil, errors.New("intsim: negative time step")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	d, err := NewDomain(cfg.Domain)
	if err != nil {
		return nil, err
	}
	cfg.Domain = d.Config()
	return &Sim{cfg: cfg, d: d, enc: cfg.Domain.Encoding, tally: newTally(d)}, nil
}

// Domain is the simulated fabric (read only while Run runs).
func (s *Sim) Domain() *Domain { return s.d }

// Config returns the configuration with defaults filled in.
func (s *Sim) Config() Config { return s.cfg }

// Totals returns a copy of what has been sent so far.
func (s *Sim) Totals() Totals {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tally.snapshot(s.d.lost, s.d.packets)
}

// batchWriter is ipv4.PacketConn or ipv6.PacketConn: sendmmsg on Linux.
type batchWriter interface {
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// port is one switch's socket and the reports waiting in it.
type port struct {
	conn *net.UDPConn
	w    batchWriter
	msgs []ipv4.Message
	bufs [][MaxReportLen]byte
	iovs [][]byte
	oob  [][]byte
	runs []int // reports in each message
	pend []Report
	lens []int
	n    int
	gso  bool
	// segmented counts reports sent in segmented sends, for the totals.
	segmented uint64
}

func (s *Sim) dial(ctx context.Context) ([]*port, error) {
	raddr, err := net.ResolveUDPAddr("udp", s.cfg.Target)
	if err != nil {
		return nil, fmt.Errorf("intsim: target: %w", err)
	}
	var ports []*port
	for i := range s.d.Topo.Switches {
		var laddr *net.UDPAddr
		if len(s.cfg.Sources) > 0 {
			src := s.cfg.Sources[i%len(s.cfg.Sources)]
			ip := net.ParseIP(src)
			if ip == nil {
				closeAll(ports)
				return nil, fmt.Errorf("intsim: source %q: not an IP address", src)
			}
			laddr = &net.UDPAddr{IP: ip}
		}
		var dl net.Dialer
		if laddr != nil {
			dl.LocalAddr = laddr
		}
		c, err := dl.DialContext(ctx, "udp", raddr.String())
		if err != nil {
			closeAll(ports)
			return nil, fmt.Errorf("intsim: switch %s: %w", s.d.Topo.Switches[i].Name, err)
		}
		uc := c.(*net.UDPConn)
		p := &port{conn: uc}
		if raddr.IP.To4() != nil {
			p.w = ipv4.NewPacketConn(uc)
		} else {
			p.w = v6Writer{ipv6.NewPacketConn(uc)}
		}
		b := s.cfg.Batch
		p.msgs = make([]ipv4.Message, b)
		p.bufs = make([][MaxReportLen]byte, b)
		p.iovs = make([][]byte, b)
		p.oob = make([][]byte, b)
		p.runs = make([]int, b)
		p.pend = make([]Report, b)
		p.lens = make([]int, b)
		p.gso = gsoAvailable && !s.cfg.NoGSO
		for j := range p.oob {
			p.oob[j] = make([]byte, gsoCmsgLen)
		}
		ports = append(ports, p)
	}
	return ports, nil
}

type v6Writer struct{ c *ipv6.PacketConn }

func (w v6Writer) WriteBatch(ms []ipv4.Message, flags int) (int, error) {
	return w.c.WriteBatch(ms, flags)
}

func closeAll(ports []*port) {
	for _, p := range ports {
		p.conn.Close()
	}
}

// flush writes a switch's waiting reports and counts those written.
func (s *Sim) flush(p *port) {
	if p.n == 0 {
		return
	}
	done, err := s.write(p)
	if err != nil && p.gso && done < p.n {
		// A kernel without UDP_SEGMENT (or a path that refuses it): go on
		// one datagram per report. A second failure is the collector's.
		p.gso = false
		s.cfg.Logf("intsim: UDP segmentation offload refused (%v); sending datagrams one by one", err)
		s.account(p, 0, done, nil)
		rest := p.n - done
		copy(p.bufs[:rest], p.bufs[done:p.n])
		copy(p.lens[:rest], p.lens[done:p.n])
		copy(p.pend[:rest], p.pend[done:p.n])
		p.n = rest
		done, err = s.write(p)
	}
	s.account(p, 0, done, err)
	p.n = 0
}

func (s *Sim) account(p *port, from, to int, err error) {
	s.mu.Lock()
	for j := from; j < to; j++ {
		s.tally.add(&p.pend[j], p.lens[j])
	}
	s.tally.t.Segmented += p.segmented
	p.segmented = 0
	if err != nil {
		s.tally.t.Errors++
		s.tally.t.LastError = err.Error()
	}
	s.mu.Unlock()
}

// write sends the waiting reports, consecutive ones of equal length as one
// segmented send when it can, and returns how many reports went out.
func (s *Sim) write(p *port) (int, error) {
	for j := range p.n {
		p.iovs[j] = p.bufs[j][:p.lens[j]]
	}
	m := 0
	for k := 0; k < p.n; m++ {
		e := k + 1
		if p.gso {
			for e < p.n && p.lens[e] == p.lens[k] && e-k < 64 {
				e++
			}
		}
		msg := &p.msgs[m]
		msg.Buffers = p.iovs[k:e]
		msg.OOB = nil
		if e-k > 1 {
			msg.OOB = putGSO(p.oob[m], p.lens[k])
		}
		p.runs[m] = e - k
		k = e
	}
	sentMsgs, done := 0, 0
	for sentMsgs < m {
		k, err := p.w.WriteBatch(p.msgs[sentMsgs:m], 0)
		k = max(k, 0)
		for _, r := range p.runs[sentMsgs : sentMsgs+k] {
			done += r
			if r > 1 {
				p.segmented += uint64(r)
			}
		}
		sentMsgs += k
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// Run sends reports until the context ends or Count reports are sent. It
// returns an error only when the sockets cannot be opened; write errors
// (a collector not listening) are counted in the totals.
func (s *Sim) Run(ctx context.Context) error {
	ports, err := s.dial(ctx)
	if err != nil {
		return err
	}
	defer closeAll(ports)
	c := &s.cfg
	start := c.Now()
	var sent uint64 // reports encoded into batches
	var simNs uint64
	const chunk = 256
	for {
		if ctx.Err() != nil || (c.Count > 0 && sent >= c.Count) {
			break
		}
		budget := uint64(chunk)
		if c.Rate > 0 {
			elapsed := c.Now().Sub(start)
			want := uint64(c.Rate * elapsed.Seconds())
			if want <= sent {
				for _, p := range ports {
					s.flush(p)
				}
				wait := time.Duration(float64(sent+1-want) / c.Rate * float64(time.Second))
				t := time.NewTimer(min(max(wait, 50*time.Microsecond), 20*time.Millisecond))
				select {
				case <-ctx.Done():
				case <-t.C:
				}
				t.Stop()
				continue
			}
			budget = min(want-sent, chunk)
		}
		if c.Count > 0 {
			budget = min(budget, c.Count-sent)
		}
		if c.TimeStep == 0 {
			simNs = max(simNs, uint64(c.Now().Sub(start)))
		}
		for budget > 0 {
			// Under the lock: Totals reads the domain's packet and loss
			// counts while Run goes on (netlens-sim's periodic stats, tests).
			s.mu.Lock()
			reports := s.d.Packet(simNs)
			s.mu.Unlock()
			if c.TimeStep > 0 {
				simNs += uint64(c.TimeStep)
			} else {
				simNs++ // packets of one chunk keep their order
			}
			// A packet's reports all go, even past the chunk's budget: one
			// held back would be a sequence gap nobody lost on purpose. Only
			// Count cuts a packet short, at the very end.
			for i := range reports {
				if c.Count > 0 && sent >= c.Count {
					break
				}
				r := &reports[i]
				p := ports[r.Switch]
				buf := s.enc.AppendReport(p.bufs[p.n][:0], r)
				p.lens[p.n] = len(buf)
				p.pend[p.n] = *r
				p.n++
				budget = max(budget, 1) - 1
				sent++
				if p.n == len(p.msgs) {
					s.flush(p)
				}
			}
		}
	}
	for _, p := range ports {
		s.flush(p)
	}
	return nil
}

// Describe is one line about the domain, for logs.
func (s *Sim) Describe() string {
	c := s.cfg.Domain
	return fmt.Sprintf("%d spines, %d leaves, %d hosts per leaf, %d flows, %s mode, report v%s, instructions %#04x",
		c.Spines, c.Leaves, c.HostsPerLeaf, c.Flows, c.Mode, c.Encoding.Version, c.Encoding.Instructions)
}
