package pcap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"testing"
	"time"
)

// udpFrame builds an Ethernet/IPv4/UDP frame by hand (checksums left zero:
// the reader does not check them).
func udpFrame(src, dst netip.AddrPort, payload []byte) []byte {
	f := make([]byte, 14+20+8+len(payload))
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(payload)))
	ip[8] = 64
	ip[9] = 17
	s, d := src.Addr().As4(), dst.Addr().As4()
	copy(ip[12:], s[:])
	copy(ip[16:], d[:])
	udp := ip[20:]
	binary.BigEndian.PutUint16(udp[0:], src.Port())
	binary.BigEndian.PutUint16(udp[2:], dst.Port())
	binary.BigEndian.PutUint16(udp[4:], uint16(8+len(payload)))
	copy(udp[8:], payload)
	return f
}

func TestWriterFileLayout(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, LinkEthernet)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2026, 3, 4, 5, 6, 7, 891_234_567, time.UTC)
	frame := []byte{1, 2, 3, 4, 5}
	if err := w.WritePacket(ts, frame); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if len(b) != 24+16+len(frame) {
		t.Fatalf("file is %d bytes, want %d", len(b), 24+16+len(frame))
	}
	le := binary.LittleEndian
	for _, c := range []struct {
		name      string
		got, want uint32
	}{
		{"magic", le.Uint32(b[0:]), 0xa1b2c3d4},
		{"version", le.Uint32(b[4:]), 2 | 4<<16},
		{"thiszone", le.Uint32(b[8:]), 0},
		{"sigfigs", le.Uint32(b[12:]), 0},
		{"snaplen", le.Uint32(b[16:]), MaxSnapLen},
		{"linktype", le.Uint32(b[20:]), LinkEthernet},
		{"ts_sec", le.Uint32(b[24:]), uint32(ts.Unix())},
		{"ts_usec (truncated, not rounded)", le.Uint32(b[28:]), 891_234},
		{"incl_len", le.Uint32(b[32:]), 5},
		{"orig_len", le.Uint32(b[36:]), 5},
	} {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
	if !bytes.Equal(b[40:], frame) {
		t.Errorf("packet data = %x, want %x", b[40:], frame)
	}
	if w.Packets() != 1 {
		t.Errorf("Packets() = %d, want 1", w.Packets())
	}
}

// The package's Reader gets back what the Writer wrote: addresses, ports,
// payloads and microsecond timestamps, in order.
func TestWriterRoundTripThroughReader(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, LinkEthernet)
	if err != nil {
		t.Fatal(err)
	}
	type sent struct {
		ts       time.Time
		src, dst netip.AddrPort
		payload  []byte
	}
	base := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	var want []sent
	for i := range 5 {
		s := sent{
			ts:      base.Add(time.Duration(i)*1500*time.Microsecond + 999), // sub-µs part is dropped
			src:     netip.MustParseAddrPort("192.0.2.7:50000"),
			dst:     netip.AddrPortFrom(netip.MustParseAddr("198.51.100.1"), uint16(4739+i)),
			payload: bytes.Repeat([]byte{byte(i)}, 10*i+1),
		}
		want = append(want, s)
		if err := w.WritePacket(s.ts, udpFrame(s.src, s.dst, s.payload)); err != nil {
			t.Fatal(err)
		}
	}
	r, err := NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != LinkEthernet {
		t.Errorf("link type %d, want %d", r.LinkType(), LinkEthernet)
	}
	for i, s := range want {
		d, err := r.Next()
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		if d.Src != s.src || d.Dst != s.dst || !bytes.Equal(d.Payload, s.payload) {
			t.Errorf("datagram %d: %s -> %s %x, want %s -> %s %x", i, d.Src, d.Dst, d.Payload, s.src, s.dst, s.payload)
		}
		if wantNs := s.ts.Truncate(time.Microsecond).UnixNano(); d.TimeNs != wantNs {
			t.Errorf("datagram %d: time %d ns, want %d", i, d.TimeNs, wantNs)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("after the last datagram: %v, want io.EOF", err)
	}
}

// A frame longer than the snapshot length is stored cut to it, keeping its
// real length, which is how a capture marks a truncated packet.
func TestWriterTruncatesAtSnapLen(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, LinkRaw)
	if err != nil {
		t.Fatal(err)
	}
	long := make([]byte, MaxSnapLen+100)
	if err := w.WritePacket(time.Unix(1, 0), long); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	incl, orig := binary.LittleEndian.Uint32(b[32:]), binary.LittleEndian.Uint32(b[36:])
	if incl != MaxSnapLen || orig != uint32(len(long)) || len(b) != 24+16+MaxSnapLen {
		t.Errorf("incl_len %d orig_len %d file %d bytes; want %d, %d, %d", incl, orig, len(b), MaxSnapLen, len(long), 24+16+MaxSnapLen)
	}
}

func TestWriterRejectsTimesTheFormatCannotHold(t *testing.T) {
	w, err := NewWriter(io.Discard, LinkEthernet)
	if err != nil {
		t.Fatal(err)
	}
	for _, ts := range []time.Time{time.Unix(-1, 0), time.Unix(1<<32, 0)} {
		if err := w.WritePacket(ts, []byte{0}); !errors.Is(err, ErrTimestamp) {
			t.Errorf("%s: err %v, want ErrTimestamp", ts, err)
		}
	}
	if w.Packets() != 0 {
		t.Errorf("Packets() = %d after rejected packets", w.Packets())
	}
}

type failAfter struct{ n int }

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n < len(p) {
		return 0, errors.New("disk full")
	}
	f.n -= len(p)
	return len(p), nil
}

func TestWriterReportsWriteErrors(t *testing.T) {
	if _, err := NewWriter(&failAfter{n: 10}, LinkEthernet); err == nil {
		t.Error("NewWriter: no error when the file header cannot be written")
	}
	w, err := NewWriter(&failAfter{n: 24 + 16}, LinkEthernet)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WritePacket(time.Unix(1, 0), []byte{1, 2, 3}); err == nil {
		t.Error("WritePacket: no error when the packet data cannot be written")
	}
	if w.Packets() != 0 {
		t.Errorf("Packets() = %d after a failed write", w.Packets())
	}
}
