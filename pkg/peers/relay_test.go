package peers

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/netlens/netlens/pkg/pcap"
)

// The relay forwards each datagram unchanged and in order, keeps a copy,
// and the capture it writes reads back through pcap.Reader with the
// sender's and the relay's addresses.
func TestRelayForwardsAndCaptures(t *testing.T) {
	sink, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	relay, err := NewRelay(sink.LocalAddr().(*net.UDPAddr).AddrPort())
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	sender, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(relay.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	from := sender.LocalAddr().(*net.UDPAddr).AddrPort()

	var sent [][]byte
	for i := range 20 {
		p := bytes.Repeat([]byte{byte(i)}, 1+i*70)
		sent = append(sent, p)
		if _, err := sender.Write(p); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 2048)
	for i, p := range sent {
		sink.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := sink.Read(buf)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		if !bytes.Equal(buf[:n], p) {
			t.Fatalf("datagram %d forwarded as %d bytes %x..., want %d bytes", i, n, buf[:min(n, 4)], len(p))
		}
	}
	if err := relay.Drain(50*time.Millisecond, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	ds := relay.Datagrams()
	if len(ds) != len(sent) {
		t.Fatalf("relay kept %d datagrams, %d sent", len(ds), len(sent))
	}

	path := filepath.Join(t.TempDir(), "relay.pcap")
	var cb bytes.Buffer
	if err := WriteDatagrams(&cb, ds); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, cb.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	back, err := pcap.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(sent) {
		t.Fatalf("capture holds %d datagrams, %d sent", len(back), len(sent))
	}
	for i, d := range back {
		if d.Src != from || d.Dst != relay.Addr() || !bytes.Equal(d.Payload, sent[i]) {
			t.Errorf("captured datagram %d: %s -> %s, %d bytes; want %s -> %s, %d bytes",
				i, d.Src, d.Dst, len(d.Payload), from, relay.Addr(), len(sent[i]))
		}
		if d.TimeNs != ds[i].Time.Truncate(time.Microsecond).UnixNano() {
			t.Errorf("captured datagram %d: time %d, relayed at %s", i, d.TimeNs, ds[i].Time)
		}
	}
}

// A capture of IPv6 datagrams is written as IPv6 frames.
func TestWriteDatagramsIPv6(t *testing.T) {
	ds := []Datagram{{
		Time: time.Unix(1_800_000_000, 0), From: netip.MustParseAddrPort("[2001:db8::7]:50000"),
		To: netip.MustParseAddrPort("[2001:db8::1]:4739"), Payload: []byte("ipfix"),
	}}
	path := filepath.Join(t.TempDir(), "v6.pcap")
	var cb bytes.Buffer
	if err := WriteDatagrams(&cb, ds); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, cb.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	back, err := pcap.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != 1 || back[0].Src != ds[0].From || back[0].Dst != ds[0].To || string(back[0].Payload) != "ipfix" {
		t.Errorf("read back %+v", back)
	}
}

// ipfixMessage is an IPFIX message of n bytes (n >= 20): the header with
// seq as its sequence number, then one data set of an unknown template
// filled with a pattern.
func ipfixMessage(seq uint32, n int) []byte {
	m := make([]byte, n)
	binary.BigEndian.PutUint16(m[0:], 10)
	binary.BigEndian.PutUint16(m[2:], uint16(n))
	binary.BigEndian.PutUint32(m[4:], 1_800_000_000)
	binary.BigEndian.PutUint32(m[8:], seq)
	binary.BigEndian.PutUint16(m[16:], 300)
	binary.BigEndian.PutUint16(m[18:], uint16(n-16))
	for i := 20; i < n; i++ {
		m[i] = byte(i)
	}
	return m
}

// The stream relay forwards a TCP connection's bytes unchanged, ends the
// collector's side when the exporter closes, and what it kept cuts back
// into the messages sent; the capture it writes is a TCP stream tshark
// reassembles into the same messages, one longer than a segment among
// them.
func TestStreamRelayForwardsAndCaptures(t *testing.T) {
	sink, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	received := make(chan []byte, 1)
	go func() {
		c, err := sink.Accept()
		if err != nil {
			received <- nil
			return
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		b, _ := io.ReadAll(c) // until the relay closes its side
		received <- b
	}()
	relay, err := NewStreamRelay(sink.Addr().(*net.TCPAddr).AddrPort())
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	conn, err := net.DialTCP("tcp", nil, net.TCPAddrFromAddrPort(relay.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	var sent []byte
	var msgs [][]byte
	for i, n := range []int{20, 300, 3*streamSegment + 17, 64, 1500} {
		m := ipfixMessage(uint32(i+1), n)
		msgs = append(msgs, m)
		sent = append(sent, m...)
		if _, err := conn.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close()
	if err := relay.Drain(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-received:
		if !bytes.Equal(got, sent) {
			t.Fatalf("collector side got %d bytes, %d sent", len(got), len(sent))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("collector side never saw the stream end")
	}
	chunks := relay.Chunks()
	var kept []byte
	for _, c := range chunks {
		kept = append(kept, c.Payload...)
	}
	split, err := SplitMessages(kept)
	if err != nil {
		t.Fatal(err)
	}
	if len(split) != len(msgs) {
		t.Fatalf("kept stream cuts into %d messages, %d sent", len(split), len(msgs))
	}
	for i := range msgs {
		if !bytes.Equal(split[i], msgs[i]) {
			t.Errorf("message %d differs", i+1)
		}
	}

	if _, err := Tshark.Path(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "stream.pcap")
	var cb bytes.Buffer
	if err := WriteStream(&cb, chunks); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, cb.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	decoded, err := TsharkDecode(context.Background(), path, "tcp", relay.Addr().Port())
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint32
	for _, m := range decoded {
		seqs = append(seqs, m.Sequence)
	}
	if fmt.Sprint(seqs) != "[1 2 3 4 5]" {
		t.Errorf("tshark reassembled messages with sequence numbers %v, want [1 2 3 4 5]", seqs)
	}
}

// A stream that does not cut into whole IPFIX messages is an error that
// says where.
func TestSplitMessagesRefusesBrokenFraming(t *testing.T) {
	good := ipfixMessage(1, 40)
	v9 := ipfixMessage(2, 40)
	binary.BigEndian.PutUint16(v9, 9)
	short := ipfixMessage(3, 40)
	binary.BigEndian.PutUint16(short[2:], 12)
	for name, stream := range map[string][]byte{
		"trailing bytes":   append(slices.Clone(good), 0, 10, 0),
		"not IPFIX":        append(slices.Clone(good), v9...),
		"length too short": short,
		"length past end":  good[:30],
	} {
		msgs, err := SplitMessages(stream)
		if err == nil {
			t.Errorf("%s: no error, %d messages", name, len(msgs))
		}
	}
	if msgs, err := SplitMessages(append(slices.Clone(good), good...)); err != nil || len(msgs) != 2 {
		t.Errorf("two whole messages: %d, %v", len(msgs), err)
	}
}
