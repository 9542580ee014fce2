package peers

import (
	"bytes"
	"net"
	"net/netip"
	"os"
	"path/filepath"
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
