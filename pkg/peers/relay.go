package peers

import (
	"bufio"
	"encoding/binary"
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

// StreamRelay is Relay for IPFIX over TCP: it accepts the exporter's
// connections on 127.0.0.1, opens one to the collector for each, and
// forwards the bytes unchanged, keeping every chunk read (a Datagram per
// read: segments as the relay's socket delivered them, not messages).
type StreamRelay struct {
	lis       *net.TCPListener
	collector netip.AddrPort

	mu     sync.Mutex
	chunks []Datagram
	open   int // connections still being copied
	err    error
	wg     sync.WaitGroup
	conns  []net.Conn
	closed bool
}

// NewStreamRelay listens on 127.0.0.1 (port from the OS) and forwards to
// the collector's TCP address.
func NewStreamRelay(collector netip.AddrPort) (*StreamRelay, error) {
	lis, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 0)))
	if err != nil {
		return nil, fmt.Errorf("stream relay: listen: %w", err)
	}
	r := &StreamRelay{lis: lis, collector: collector}
	r.wg.Add(1)
	go r.accept()
	return r, nil
}

// Addr is where exporters connect.
func (r *StreamRelay) Addr() netip.AddrPort { return r.lis.Addr().(*net.TCPAddr).AddrPort() }

func (r *StreamRelay) accept() {
	defer r.wg.Done()
	for {
		in, err := r.lis.AcceptTCP()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				r.setErr(fmt.Errorf("stream relay: accept: %w", err))
			}
			return
		}
		out, err := net.DialTCP("tcp", nil, net.TCPAddrFromAddrPort(r.collector))
		if err != nil {
			in.Close()
			r.setErr(fmt.Errorf("stream relay: dial collector %s: %w", r.collector, err))
			return
		}
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			in.Close()
			out.Close()
			return
		}
		r.open++
		r.conns = append(r.conns, in, out)
		r.wg.Add(1)
		r.mu.Unlock()
		go r.copy(in, out)
	}
}

// copy forwards one connection until the exporter closes it, then closes
// the collector's side for writing so the receiver sees the end of the
// stream as the exporter sent it.
func (r *StreamRelay) copy(in, out *net.TCPConn) {
	defer r.wg.Done()
	defer func() {
		r.mu.Lock()
		r.open--
		r.mu.Unlock()
	}()
	from := in.RemoteAddr().(*net.TCPAddr).AddrPort()
	to := r.Addr()
	buf := make([]byte, 64<<10)
	for {
		n, err := in.Read(buf)
		if n > 0 {
			d := Datagram{Time: time.Now(), From: from, To: to, Payload: append([]byte(nil), buf[:n]...)}
			r.mu.Lock()
			r.chunks = append(r.chunks, d)
			r.mu.Unlock()
			if _, werr := out.Write(d.Payload); werr != nil {
				r.setErr(fmt.Errorf("stream relay: forward: %w", werr))
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				r.setErr(fmt.Errorf("stream relay: read: %w", err))
			}
			out.CloseWrite()
			return
		}
	}
}

func (r *StreamRelay) setErr(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
	}
}

// Drain waits (at most max) until every connection the exporter opened
// has ended, then stops the relay. The exporter has exited by then, so
// its side of each connection is closed.
func (r *StreamRelay) Drain(max time.Duration) error {
	deadline := time.Now().Add(max)
	for {
		r.mu.Lock()
		open, n := r.open, len(r.chunks)
		r.mu.Unlock()
		if open == 0 && n > 0 {
			break
		}
		if time.Now().After(deadline) {
			r.Close()
			return fmt.Errorf("stream relay: %d connections still open after %s", open, max)
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Close stops the relay and ends its connections; it is safe to call more
// than once.
func (r *StreamRelay) Close() {
	r.mu.Lock()
	r.closed = true
	conns := r.conns
	r.conns = nil
	r.mu.Unlock()
	r.lis.Close()
	for _, c := range conns {
		c.Close()
	}
	r.wg.Wait()
}

// Chunks returns a copy of the list of chunks read so far.
func (r *StreamRelay) Chunks() []Datagram {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Datagram(nil), r.chunks...)
}

// SplitMessages cuts an IPFIX byte stream into its messages by the length
// in each message header (RFC 7011 §10.4.1: TCP carries no other framing).
func SplitMessages(stream []byte) ([][]byte, error) {
	var msgs [][]byte
	for len(stream) > 0 {
		if len(stream) < 16 {
			return msgs, fmt.Errorf("stream ends with %d bytes, shorter than a message header", len(stream))
		}
		if v := binary.BigEndian.Uint16(stream); v != 10 {
			return msgs, fmt.Errorf("message %d: version %d on a stream", len(msgs)+1, v)
		}
		n := int(binary.BigEndian.Uint16(stream[2:]))
		if n < 16 || n > len(stream) {
			return msgs, fmt.Errorf("message %d: length %d with %d bytes left", len(msgs)+1, n, len(stream))
		}
		msgs = append(msgs, stream[:n])
		stream = stream[n:]
	}
	return msgs, nil
}

// streamSegment is the largest TCP payload WriteStream puts in a frame.
const streamSegment = 1448

// WriteStream writes chunks of one TCP connection as an Ethernet capture:
// a handshake, then the bytes in order as data segments (chunks longer
// than a segment split), so tshark reassembles the stream as the
// collector's socket saw it.
func WriteStream(w io.Writer, chunks []Datagram) error {
	if len(chunks) == 0 {
		return errors.New("stream: no data")
	}
	bw := bufio.NewWriter(w)
	pw, err := pcap.NewWriter(bw, pcap.LinkEthernet)
	if err != nil {
		return err
	}
	c, s := chunks[0].From, chunks[0].To
	at := chunks[0].Time.Add(-time.Millisecond)
	cseq, sseq := uint32(1), uint32(1)
	write := func(p Packet, tm time.Time) error {
		f, err := p.Frame()
		if err != nil {
			return err
		}
		return pw.WritePacket(tm, f)
	}
	hs := []Packet{
		{Src: c, Dst: s, Proto: ProtoTCP, Flags: FlagSYN, Seq: cseq - 1},
		{Src: s, Dst: c, Proto: ProtoTCP, Flags: FlagSYN | FlagACK, Seq: sseq - 1, Ack: cseq},
		{Src: c, Dst: s, Proto: ProtoTCP, Flags: FlagACK, Seq: cseq, Ack: sseq},
	}
	for _, p := range hs {
		if err := write(p, at); err != nil {
			return err
		}
	}
	for i, ch := range chunks {
		if ch.From != c || ch.To != s {
			return fmt.Errorf("stream: chunk %d is from %s to %s, not %s to %s", i+1, ch.From, ch.To, c, s)
		}
		for b := ch.Payload; len(b) > 0; {
			n := min(len(b), streamSegment)
			p := Packet{Src: c, Dst: s, Proto: ProtoTCP, Flags: FlagPSH | FlagACK, Seq: cseq, Ack: sseq, Data: b[:n]}
			if err := write(p, ch.Time); err != nil {
				return fmt.Errorf("chunk %d: %w", i+1, err)
			}
			cseq += uint32(n)
			b = b[n:]
		}
	}
	return bw.Flush()
}
