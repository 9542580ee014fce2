package ipfixsim

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
)

// L7 is the application-layer detail a flow carries, which picks its
// template as a Flowmon probe picks one per protocol.
type L7 uint8

const (
	L7None L7 = iota
	L7HTTP
	L7DNS
	L7TLS
	numL7
)

// Protocol numbers.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// Application is one entry of the exporter's application table (RFC 6759):
// the flow records carry Engine and Selector in applicationId, the options
// records map them to Name and Description.
type Application struct {
	Name, Description string
	Engine            uint8  // classification engine id: 1 IANA-L3, 3 IANA-L4, 13 PANA-L7 (NBAR2)
	Selector          uint32 // 24 bits: applicationId is exported in 4 octets, Cisco's usual length
	Proto             uint8
	Port              uint16
	L7                L7
	Weight            int
	// Unlisted keeps the application out of the options table, so its
	// flows carry an applicationId the collector cannot name.
	Unlisted bool
}

// ID is the applicationId value: engine octet then selector.
func (a *Application) ID() [4]byte {
	return [4]byte{a.Engine, byte(a.Selector >> 16), byte(a.Selector >> 8), byte(a.Selector)}
}

// DefaultApplications is the traffic mix: port-based classification
// (engine 3, selector = well-known port), IANA-L3 for ICMP, and NBAR2's
// ssl (13:453), the combinations seen in Cisco exports. The last one has
// no name in the table.
func DefaultApplications() []Application {
	return []Application{
		{Name: "http", Description: "Hypertext Transfer Protocol", Engine: 3, Selector: 80, Proto: ProtoTCP, Port: 80, L7: L7HTTP, Weight: 25},
		{Name: "ssl", Description: "Secure Sockets Layer / TLS", Engine: 13, Selector: 453, Proto: ProtoTCP, Port: 443, L7: L7TLS, Weight: 30},
		{Name: "dns", Description: "Domain Name System", Engine: 3, Selector: 53, Proto: ProtoUDP, Port: 53, L7: L7DNS, Weight: 20},
		{Name: "ssh", Description: "Secure Shell", Engine: 3, Selector: 22, Proto: ProtoTCP, Port: 22, Weight: 5},
		{Name: "ntp", Description: "Network Time Protocol", Engine: 3, Selector: 123, Proto: ProtoUDP, Port: 123, Weight: 5},
		{Name: "postgresql", Description: "PostgreSQL database", Engine: 3, Selector: 5432, Proto: ProtoTCP, Port: 5432, Weight: 5},
		{Name: "icmp", Description: "Internet Control Message Protocol", Engine: 1, Selector: 1, Proto: ProtoICMP, Weight: 5},
		{Name: "", Description: "", Engine: 3, Selector: 8443, Proto: ProtoTCP, Port: 8443, Weight: 5, Unlisted: true},
	}
}

// Flow is one flow record as sent. Packets and Bytes are what the exporter
// counted (sampled packets when sampling is on); the collector should
// multiply them by the sampling rate.
type Flow struct {
	StartMs, EndMs   int64
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto            uint8
	TCPFlags, ToS    uint8
	InIf, OutIf      uint32

	Packets, Bytes               uint64
	ReversePackets, ReverseBytes uint64
	BiflowDirection              uint8 // 1 initiator: Src opened the session
	EndReason                    uint8 // 1 idle timeout, 2 active timeout, 3 end detected

	App *Application

	RTTMicros, SRTMicros, Retransmissions uint32
	SynTTL, SynSize                       uint8

	L7         L7
	HTTPHost   string
	HTTPURL    string
	HTTPStatus uint16
	DNSQName   string
	DNSQType   uint16
	TLSSNI     string
	TLSVersion uint16
}

// FiveTuple identifies a flow's session.
type FiveTuple struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto            uint8
}

// Key is f's five-tuple.
func (f *Flow) Key() FiveTuple {
	return FiveTuple{Src: f.Src, Dst: f.Dst, SrcPort: f.SrcPort, DstPort: f.DstPort, Proto: f.Proto}
}

var (
	httpHosts  = []string{"www.example.com", "api.example.net", "intranet.example.org", "shop.example.com", "cdn.example.net"}
	httpPaths  = []string{"/", "/index.html", "/api/v1/orders", "/api/v1/users/42", "/static/app.js", "/login", "/search?q=netlens"}
	httpStatus = []uint16{200, 200, 200, 200, 200, 200, 301, 304, 404, 500}
	dnsNames   = []string{"www.example.com", "mail.example.org", "time.example.net", "_ldap._tcp.example.com", "api.example.net"}
	dnsTypes   = []uint16{1, 1, 1, 28, 28, 33, 15}
	tlsNames   = []string{"login.example.com", "api.example.net", "static.example.org", "vpn.example.com"}
)

// generator makes a deterministic stream of plausible flows: clients talk
// to the servers of an application, ephemeral ports, sizes by protocol.
type generator struct {
	rnd      *rand.Rand
	apps     []Application
	total    int // sum of weights
	clients4 []netip.Addr
	clients6 []netip.Addr
	servers4 []netip.Addr
	servers6 []netip.Addr
	ipv6     float64 // share of flows over IPv6
	longURL  string  // once in a while a URL past 255 octets, for the 3-octet length prefix
}

func newGenerator(seed uint64, apps []Application, clients, servers int, ipv6 float64) *generator {
	g := &generator{rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), apps: apps, ipv6: ipv6}
	for _, a := range apps {
		g.total += a.Weight
	}
	for i := range clients {
		g.clients4 = append(g.clients4, netip.AddrFrom4([4]byte{10, 10, byte(i >> 8), byte(i)}))
		g.clients6 = append(g.clients6, ip6(0x2001_0db8_0001_0000, uint64(i+1)))
	}
	for i := range servers {
		g.servers4 = append(g.servers4, netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)}))
		g.servers6 = append(g.servers6, ip6(0x2001_0db8_0002_0000, uint64(i+1)))
	}
	long := make([]byte, 0, 300)
	long = append(long, "/reports/export?columns="...)
	for len(long) < 300 {
		long = append(long, "src_addr,dst_addr,"...)
	}
	g.longURL = string(long)
	return g
}

func ip6(hi, lo uint64) netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], hi)
	binary.BigEndian.PutUint64(b[8:], lo)
	return netip.AddrFrom16(b)
}

func (g *generator) pick() *Application {
	n := g.rnd.IntN(g.total)
	for i := range g.apps {
		if n < g.apps[i].Weight {
			return &g.apps[i]
		}
		n -= g.apps[i].Weight
	}
	return &g.apps[len(g.apps)-1]
}

func (g *generator) between(lo, hi int) int { return lo + g.rnd.IntN(hi-lo+1) }

// next fills f with a new flow that ended shortly before nowMs.
func (g *generator) next(f *Flow, nowMs int64) {
	a := g.pick()
	*f = Flow{App: a, Proto: a.Proto, DstPort: a.Port, L7: a.L7, BiflowDirection: 1}
	appIndex := int(a.Selector) * 7
	if g.rnd.Float64() < g.ipv6 {
		f.Src = g.clients6[g.rnd.IntN(len(g.clients6))]
		f.Dst = g.servers6[(appIndex+g.rnd.IntN(3))%len(g.servers6)]
		if f.Proto == ProtoICMP {
			f.Proto = ProtoICMPv6
		}
	} else {
		f.Src = g.clients4[g.rnd.IntN(len(g.clients4))]
		f.Dst = g.servers4[(appIndex+g.rnd.IntN(3))%len(g.servers4)]
	}
	f.InIf = uint32(g.between(1, 4))
	f.OutIf = uint32(g.between(5, 8))
	if g.rnd.IntN(10) == 0 {
		f.ToS = 46 << 2 // EF
	}
	f.EndMs = nowMs - int64(g.rnd.IntN(1000))
	switch f.Proto {
	case ProtoTCP:
		f.SrcPort = uint16(g.between(32768, 60999))
		f.Packets = uint64(g.between(4, 120))
		f.Bytes = f.Packets * uint64(g.between(60, 1400))
		f.ReversePackets = f.Packets * uint64(g.between(8, 15)) / 10
		f.ReverseBytes = f.ReversePackets * uint64(g.between(200, 1500))
		f.TCPFlags = 0x1b // FIN PSH ACK SYN
		f.EndReason = 3
		if g.rnd.IntN(20) == 0 {
			f.TCPFlags = 0x16 // SYN RST ACK: refused
			f.EndReason = 3
		}
		f.RTTMicros = uint32(g.between(300, 80_000))
		f.SRTMicros = uint32(g.between(1_000, 300_000))
		if g.rnd.IntN(8) == 0 {
			f.Retransmissions = uint32(g.between(1, 5))
		}
		f.SynTTL = []uint8{64, 128, 255}[g.rnd.IntN(3)]
		f.SynSize = []uint8{60, 52, 44}[g.rnd.IntN(3)]
		f.StartMs = f.EndMs - int64(g.between(20, 60_000))
	case ProtoUDP:
		f.SrcPort = uint16(g.between(32768, 60999))
		f.Packets = uint64(g.between(1, 3))
		f.Bytes = f.Packets * uint64(g.between(60, 120))
		f.ReversePackets = f.Packets
		f.ReverseBytes = f.ReversePackets * uint64(g.between(80, 512))
		f.EndReason = 1
		f.StartMs = f.EndMs - int64(g.between(0, 200))
	default: // ICMP echo: type 8 code 0 in the destination port, as exporters put it
		f.DstPort = 8 << 8
		if f.Proto == ProtoICMPv6 {
			f.DstPort = 128 << 8
		}
		f.Packets = uint64(g.between(1, 10))
		f.Bytes = f.Packets * 84
		f.ReversePackets = f.Packets
		f.ReverseBytes = f.Bytes
		f.EndReason = 1
		f.StartMs = f.EndMs - int64(f.Packets)*1000
	}
	switch f.L7 {
	case L7HTTP:
		f.HTTPHost = httpHosts[g.rnd.IntN(len(httpHosts))]
		f.HTTPURL = httpPaths[g.rnd.IntN(len(httpPaths))]
		if g.rnd.IntN(50) == 0 {
			f.HTTPURL = g.longURL
		}
		f.HTTPStatus = httpStatus[g.rnd.IntN(len(httpStatus))]
	case L7DNS:
		f.DNSQName = dnsNames[g.rnd.IntN(len(dnsNames))]
		f.DNSQType = dnsTypes[g.rnd.IntN(len(dnsTypes))]
	case L7TLS:
		f.TLSSNI = tlsNames[g.rnd.IntN(len(tlsNames))]
		f.TLSVersion = []uint16{0x0303, 0x0304, 0x0304}[g.rnd.IntN(3)]
		if g.rnd.IntN(10) == 0 {
			f.TLSSNI = "" // a client without SNI: a zero-length value (RFC 7011 §7 allows it)
		}
	}
}
