package peers

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/netlens/netlens/pkg/pcap"
)

// Datagram is one UDP datagram an exporter sent.
type Datagram struct {
	Time     time.Time
	From, To netip.AddrPort
	Payload  []byte
}

// Relay stands between an exporter and the collector on loopback: it
// keeps a copy of every datagram and forwards it unchanged, so a test can
// hand the very bytes the collector received to tshark and to the decoder.
// The collector sees the relay's address as the exporter's.
type Relay struct {
	in, out *net.UDPConn
	to      netip.AddrPort

	mu        sync.Mutex
	datagrams []Datagram
	err       error
	done      chan struct{}
}

// relayMaxDatagram is the largest UDP payload over IPv4.
const relayMaxDatagram = 65507

// NewRelay listens on 127.0.0.1 (port from the OS) and forwards to
// collector.
func NewRelay(collector netip.AddrPort) (*Relay, error) {
	in, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 0)))
	if err != nil {
		return nil, fmt.Errorf("relay: listen: %w", err)
	}
	out, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(collector))
	if err != nil {
		in.Close()
		return nil, fmt.Errorf("relay: dial collector %s: %w", collector, err)
	}
	r := &Relay{in: in, out: out, to: in.LocalAddr().(*net.UDPAddr).AddrPort(), done: make(chan struct{})}
	go r.loop()
	return r, nil
}

// Addr is where exporters send.
func (r *Relay) Addr() netip.AddrPort { return r.to }

func (r *Relay) loop() {
	defer close(r.done)
	buf := make([]byte, relayMaxDatagram+1)
	for {
		n, from, err := r.in.ReadFromUDPAddrPort(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) && !errors.Is(err, os.ErrDeadlineExceeded) {
				r.setErr(fmt.Errorf("relay: read: %w", err))
			}
			return
		}
		d := Datagram{Time: time.Now(), From: from, To: r.to, Payload: append([]byte(nil), buf[:n]...)}
		if _, err := r.out.Write(d.Payload); err != nil {
			r.setErr(fmt.Errorf("relay: forward datagram %d: %w", len(r.Datagrams())+1, err))
		}
		r.mu.Lock()
		r.datagrams = append(r.datagrams, d)
		r.mu.Unlock()
	}
}

func (r *Relay) setErr(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
	}
}

// Drain waits until no datagram has arrived for quiet (at most max in
// all), then stops reading. Over loopback an exporter's datagrams are in
// the relay's socket buffer by the time the exporter has exited, so a short
// quiet period after that is enough.
func (r *Relay) Drain(quiet, max time.Duration) error {
	deadline := time.Now().Add(max)
	last := -1
	for {
		n := len(r.Datagrams())
		if n == last {
			break
		}
		if time.Now().After(deadline) {
			r.Close()
			return fmt.Errorf("relay: datagrams still arriving after %s", max)
		}
		last = n
		time.Sleep(quiet)
	}
	r.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Close stops the relay; it is safe to call more than once.
func (r *Relay) Close() {
	r.in.Close()
	<-r.done
	r.out.Close()
}

// Datagrams returns a copy of the list of datagrams received so far.
func (r *Relay) Datagrams() []Datagram {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Datagram(nil), r.datagrams...)
}

// WriteDatagrams writes datagrams as an Ethernet capture of IPv4 or IPv6
// UDP packets, as a capture on the collector's interface would show them.
func WriteDatagrams(w io.Writer, ds []Datagram) error {
	bw := bufio.NewWriter(w)
	pw, err := pcap.NewWriter(bw, pcap.LinkEthernet)
	if err != nil {
		return err
	}
	for i, d := range ds {
		f, err := Packet{Src: d.From, Dst: d.To, Proto: ProtoUDP, Data: d.Payload}.Frame()
		if err != nil {
			return fmt.Errorf("datagram %d: %w", i+1, err)
		}
		if err := pw.WritePacket(d.Time, f); err != nil {
			return err
		}
	}
	return bw.Flush()
}
