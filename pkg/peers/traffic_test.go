package peers

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var testStart = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// parsedFrame is what the test reads back from a frame on its own,
// without the generator's code.
type parsedFrame struct {
	key      Key
	ipLen    int
	flags    uint8
	l4Sum    uint16 // one's complement sum over pseudo-header and segment: 0xffff when the checksum is right
	ipHdrSum uint16 // same over the IPv4 header
}

func parseFrame(t *testing.T, f []byte) parsedFrame {
	t.Helper()
	if len(f) < 60 {
		t.Fatalf("frame of %d bytes is shorter than the Ethernet minimum", len(f))
	}
	sum := func(s uint32, b []byte) uint16 {
		for i := 0; i+1 < len(b); i += 2 {
			s += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		if len(b)%2 == 1 {
			s += uint32(b[len(b)-1]) << 8
		}
		for s > 0xffff {
			s = s>>16 + s&0xffff
		}
		return uint16(s)
	}
	var p parsedFrame
	var l4 []byte
	var pseudo uint32
	switch binary.BigEndian.Uint16(f[12:]) {
	case 0x0800:
		ip := f[14:]
		p.ipLen = int(binary.BigEndian.Uint16(ip[2:]))
		p.key.Proto = ip[9]
		p.key.Src = netip.AddrFrom4([4]byte(ip[12:16]))
		p.key.Dst = netip.AddrFrom4([4]byte(ip[16:20]))
		p.ipHdrSum = sum(0, ip[:20])
		l4 = ip[20:p.ipLen]
		pseudo = uint32(sum(0, ip[12:20]))
	case 0x86dd:
		ip := f[14:]
		p.ipLen = 40 + int(binary.BigEndian.Uint16(ip[4:]))
		p.key.Proto = ip[6]
		p.key.Src = netip.AddrFrom16([16]byte(ip[8:24]))
		p.key.Dst = netip.AddrFrom16([16]byte(ip[24:40]))
		p.ipHdrSum = 0xffff // IPv6 has no header checksum
		l4 = ip[40:p.ipLen]
		pseudo = uint32(sum(0, ip[8:40]))
	default:
		t.Fatalf("ethertype %#x", binary.BigEndian.Uint16(f[12:]))
	}
	if 14+p.ipLen > len(f) {
		t.Fatalf("IP length %d overruns the %d-byte frame", p.ipLen, len(f))
	}
	p.key.SrcPort = binary.BigEndian.Uint16(l4[0:])
	p.key.DstPort = binary.BigEndian.Uint16(l4[2:])
	if p.key.Proto == ProtoTCP {
		p.flags = l4[13]
	}
	p.l4Sum = sum(pseudo+uint32(p.key.Proto)+uint32(len(l4)), l4)
	return p
}

// The totals Generate reports per 5-tuple are what the frames themselves
// hold, and the mix covers what the exporter tests need.
func TestGenerateTotalsMatchTheFrames(t *testing.T) {
	tr := Generate(testStart)
	got := map[Key]*Totals{}
	var sawV4, sawV6, sawSYN, sawFIN, sawUDP, sawPadded, openTCP bool
	prev := time.Time{}
	for i, p := range tr.Packets {
		if p.Time.Before(prev) {
			t.Fatalf("packet %d at %s is before the previous one at %s", i, p.Time, prev)
		}
		prev = p.Time
		f, err := p.Frame()
		if err != nil {
			t.Fatal(err)
		}
		pf := parseFrame(t, f)
		if pf.ipHdrSum != 0xffff || pf.l4Sum != 0xffff {
			t.Errorf("packet %d %s: bad checksum (IP sum %#x, L4 sum %#x)", i, pf.key, pf.ipHdrSum, pf.l4Sum)
		}
		if pf.ipLen != p.IPLen() {
			t.Errorf("packet %d: IP length field %d, IPLen() %d", i, pf.ipLen, p.IPLen())
		}
		if len(f)-14 != p.LinkPayloadLen() {
			t.Errorf("packet %d: %d bytes after the Ethernet header, LinkPayloadLen() %d", i, len(f)-14, p.LinkPayloadLen())
		}
		tot := got[pf.key]
		if tot == nil {
			tot = &Totals{FirstMs: p.Time.UnixMilli()}
			got[pf.key] = tot
		}
		tot.Packets++
		tot.Bytes += uint64(pf.ipLen)
		tot.LinkBytes += uint64(len(f) - 14)
		tot.LastMs = p.Time.UnixMilli()
		tot.Flags |= pf.flags
		sawV4 = sawV4 || pf.key.Src.Is4()
		sawV6 = sawV6 || pf.key.Src.Is6()
		sawSYN = sawSYN || pf.flags&FlagSYN != 0
		sawFIN = sawFIN || pf.flags&FlagFIN != 0
		sawUDP = sawUDP || pf.key.Proto == ProtoUDP
		sawPadded = sawPadded || len(f)-14 > pf.ipLen
	}
	for k, w := range tr.Flows {
		g := got[k]
		if g == nil {
			t.Errorf("%s: in Flows but in no frame", k)
			continue
		}
		if g.Packets != w.Packets || g.Bytes != w.Bytes || g.LinkBytes != w.LinkBytes ||
			g.FirstMs != w.FirstMs || g.LastMs != w.LastMs || g.Flags != w.Flags {
			t.Errorf("%s: frames hold %+v, Flows says %+v", k, *g, *w)
		}
		if k.Proto == ProtoTCP && w.Flags&FlagSYN != 0 && w.Flags&FlagFIN == 0 {
			openTCP = true
		}
	}
	if len(got) != len(tr.Flows) {
		t.Errorf("frames hold %d 5-tuples, Flows %d", len(got), len(tr.Flows))
	}
	for what, ok := range map[string]bool{"IPv4": sawV4, "IPv6": sawV6, "SYN": sawSYN, "FIN": sawFIN, "UDP": sawUDP,
		"an Ethernet-padded frame": sawPadded, "a TCP connection left open": openTCP} {
		if !ok {
			t.Errorf("the traffic has no %s", what)
		}
	}
	if len(tr.Flows) < 12 {
		t.Errorf("only %d 5-tuples", len(tr.Flows))
	}
}

// tshark, reading the capture the generator wrote through pcap.Writer,
// finds valid checksums and the same packets and bytes per 5-tuple.
func TestGeneratedCaptureAsTsharkReadsIt(t *testing.T) {
	tshark, err := Tshark.Path()
	if err != nil {
		t.Fatal(err)
	}
	tr := Generate(testStart)
	path := filepath.Join(t.TempDir(), "traffic.pcap")
	var buf bytes.Buffer
	if err := tr.WritePcap(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	out, err := runStdout(ctx, tshark, []string{"-n", "-r", path,
		"-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
		// Dissect only to layer 4: the payload pattern is no application protocol.
		"--disable-protocol", "dns", "--disable-protocol", "mdns", "--disable-protocol", "vxlan", "--disable-protocol", "tls",
		"--disable-protocol", "ntp", "--disable-protocol", "http", "--disable-protocol", "ssh",
		"-T", "fields", "-E", "separator=|",
		"-e", "frame.time_epoch", "-e", "ip.src", "-e", "ipv6.src", "-e", "ip.dst", "-e", "ipv6.dst",
		"-e", "ip.proto", "-e", "ipv6.nxt", "-e", "tcp.srcport", "-e", "udp.srcport", "-e", "tcp.dstport", "-e", "udp.dstport",
		"-e", "ip.len", "-e", "ipv6.plen", "-e", "tcp.flags", "-e", "ip.checksum.status", "-e", "tcp.checksum.status",
		"-e", "udp.checksum.status", "-e", "_ws.malformed"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(tr.Packets) {
		t.Fatalf("tshark read %d packets, the generator wrote %d", len(lines), len(tr.Packets))
	}
	got := map[Key]*Totals{}
	for i, line := range lines {
		f := strings.Split(line, "|")
		or := func(a, b string) string {
			if a != "" {
				return a
			}
			return b
		}
		num := func(s string) uint64 {
			v, err := strconv.ParseUint(s, 0, 64)
			if err != nil {
				t.Fatalf("packet %d: %q in %q: %v", i+1, s, line, err)
			}
			return v
		}
		k := Key{
			Src: netip.MustParseAddr(or(f[1], f[2])), Dst: netip.MustParseAddr(or(f[3], f[4])),
			Proto: uint8(num(or(f[5], f[6]))), SrcPort: uint16(num(or(f[7], f[8]))), DstPort: uint16(num(or(f[9], f[10]))),
		}
		ipLen := num(or(f[11], "0"))
		if f[12] != "" {
			ipLen = 40 + num(f[12])
		}
		for j, st := range f[14:17] {
			if st != "" && st != "1" { // 1: good (0 bad, 2 unverified)
				t.Errorf("packet %d: checksum status field %d is %s: %q", i+1, 14+j, st, line)
			}
		}
		if f[17] != "" {
			t.Errorf("packet %d: tshark marks it malformed: %q", i+1, line)
		}
		tot := got[k]
		if tot == nil {
			tot = &Totals{}
			got[k] = tot
		}
		tot.Packets++
		tot.Bytes += ipLen
		if f[13] != "" {
			tot.Flags |= uint8(num(f[13]))
		}
		if ts := tr.Packets[i].Time; f[0] != fmt.Sprintf("%d.%09d", ts.Unix(), ts.Nanosecond()) {
			t.Errorf("packet %d: tshark time %s, written %s", i+1, f[0], ts.Format(time.RFC3339Nano))
		}
	}
	for k, w := range tr.Flows {
		g := got[k]
		if g == nil || g.Packets != w.Packets || g.Bytes != w.Bytes || g.Flags != w.Flags {
			t.Errorf("%s: tshark counts %+v, generator %+v", k, g, *w)
		}
	}
	if len(got) != len(tr.Flows) {
		t.Errorf("tshark sees %d 5-tuples, generator %d", len(got), len(tr.Flows))
	}
}
