package ipfix

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/status"
)

// TCP limits. An IPFIX message states its length in 16 bits, so none is
// longer than 64 KiB; a length shorter than the header is lost framing.
const (
	defaultMaxTCPConns = 256
	// defaultTCPIdle closes a connection that sends nothing, not even a
	// template refresh, for this long; the exporter reconnects and sends
	// its templates again (RFC 7011 §8.1).
	defaultTCPIdle = 30 * time.Minute
	// defaultTCPBody bounds how long the rest of a message may take once
	// its header has arrived, so a peer cannot hold a buffer by trickling.
	defaultTCPBody = 30 * time.Second
)

func (s *Server) acceptTCP() {
	defer s.readersWG.Done()
	for {
		c, err := s.tcpLis.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.logEvery("tcp-accept", "IPFIX TCP accept failed", "error", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		from := tcpPeer(c)
		if s.allowed != nil && !s.allowed(from.Addr()) {
			c.Close()
			s.notAllowed(from.Addr())
			continue
		}
		s.connMu.Lock()
		if s.stopping || len(s.conns) >= s.opt.maxTCPConns {
			stopping := s.stopping
			s.connMu.Unlock()
			c.Close()
			if !stopping {
				s.board.Add(CounterTCPRefusedLimit, 1)
				s.logEvery("tcp-limit", "IPFIX TCP connection refused: too many connections", "remote", from, "limit", s.opt.maxTCPConns)
			}
			continue
		}
		s.conns[c] = struct{}{}
		s.connMu.Unlock()
		s.board.Add(CounterTCPAccepted, 1)
		s.readersWG.Add(1)
		go s.serveTCP(c, from)
	}
}

func tcpPeer(c net.Conn) netip.AddrPort {
	ap := c.RemoteAddr().(*net.TCPAddr).AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// serveTCP frames one connection's stream by the IPFIX length field and
// hands each message to the worker of its exporter. Unlike UDP it waits
// when the worker's queue is full: TCP's flow control then slows the
// exporter instead of the collector dropping what TCP promised to deliver.
func (s *Server) serveTCP(c net.Conn, from netip.AddrPort) {
	defer s.readersWG.Done()
	w := s.workers[s.shard(from)]
	sent := false
	defer func() {
		c.Close()
		s.connMu.Lock()
		delete(s.conns, c)
		s.connMu.Unlock()
		if sent {
			// Templates are scoped by the connection: the worker forgets
			// them once it has decoded everything before this notice.
			w.q <- item{from: from, tcp: true, closed: true}
		}
	}()
	var hdr [ipfixHeaderLen]byte
	for {
		c.SetReadDeadline(s.now().Add(s.opt.tcpIdle))
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			switch {
			case errors.Is(err, io.EOF):
			case errors.Is(err, os.ErrDeadlineExceeded) && !s.isStopping():
				s.board.Add(CounterTCPIdleClosed, 1)
			case errors.Is(err, io.ErrUnexpectedEOF):
				s.tcpFraming(w, from, hdr[:], fmt.Errorf("connection ended inside a message header"))
			}
			return
		}
		version := binary.BigEndian.Uint16(hdr[:])
		length := int(binary.BigEndian.Uint16(hdr[2:]))
		switch {
		case version == versionNetFlow9:
			// A NetFlow v9 header has no length: a stream of them cannot
			// be framed, and RFC 3954 defines no TCP transport.
			s.tcpFraming(w, from, hdr[:], errors.New("NetFlow v9 over TCP cannot be framed (no length field)"))
			return
		case version != versionIPFIX:
			s.tcpFraming(w, from, hdr[:], fmt.Errorf("version %d where an IPFIX message header should start", version))
			return
		case length < ipfixHeaderLen:
			s.tcpFraming(w, from, hdr[:], fmt.Errorf("message length %d is shorter than the header", length))
			return
		}
		p := getBuf(length)
		copy(*p, hdr[:])
		c.SetReadDeadline(s.now().Add(s.opt.tcpBody))
		if _, err := io.ReadFull(c, (*p)[ipfixHeaderLen:]); err != nil {
			putBuf(p)
			if !s.isStopping() {
				s.tcpFraming(w, from, hdr[:], fmt.Errorf("message of %d bytes cut short: %w", length, err))
			}
			return
		}
		s.count.tcpMessages.Add(1)
		s.count.tcpBytes.Add(uint64(length))
		w.q <- item{buf: p, from: from, tcp: true, rcvMs: s.nowMs()}
		sent = true
	}
}

// tcpFraming counts a connection closed because its stream lost framing.
// The exporter's row is the header's observation domain when the header
// is IPFIX, else domain 0.
func (s *Server) tcpFraming(w *worker, from netip.AddrPort, hdr []byte, err error) {
	h, _ := peekHeader(hdr)
	if h.version != versionIPFIX {
		h.odid = 0
	}
	key := exporterKey{addr: from, odid: h.odid, tcp: true}
	s.logEvery("tcp-framing", "IPFIX TCP stream lost framing; connection closed", "remote", from, "error", err)
	ref := model.DeviceRef{Source: model.SourceIPFIX, ID: key.device(), Remote: from.String()}
	s.board.Error(ref, status.CatStreaming, fmt.Errorf("TCP stream lost framing, connection closed: %w", err))
	s.board.Add(CounterDropPrefix+DropTCPFraming, 1)
	w.tab.drop(key, DropTCPFraming, 1, s.nowMs()) // last: tests wait on this count
}
