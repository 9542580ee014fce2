package intreport

import (
	"encoding/hex"
	"strings"
	"testing"
)

// hexb joins hex strings, ignoring spaces, so a test can write one header
// per line, byte by byte as the spec's diagrams draw them.
func hexb(tb testing.TB, parts ...string) []byte {
	tb.Helper()
	s := strings.ReplaceAll(strings.Join(parts, ""), " ", "")
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// Hand-computed packets shared by the tests, benchmarks and fuzz corpus.
// Each line is one header or one 4-byte word, commented with its meaning.

// localV05 is a v0.5 switch-local postcard about a UDP packet.
func localV05(tb testing.TB) []byte {
	return hexb(tb,
		"02 20 00 05", // ver 0, nproto 2 (local), F, hw_id 5
		"00 00 00 07", // seq 7
		"ff ff ff f0", // ingress ts 0xfffffff0 (about to wrap)
		"b0 12 e3 45", // switch id (seed's example VDC MAC b0:12:80:8f:e3:45)
		"00 01 00 02", // ingress port 1, egress port 2
		"03 00 01 00", // queue 3, occupancy 256
		"00 00 00 10", // egress ts 0x10 (wrapped: 32 ns after ingress)
		"02 00 00 00 00 02  02 00 00 00 00 01  08 00", // dst, src MAC, IPv4
		"45 00 00 1c  12 34 00 00  40 11 00 00",       // IPv4 ihl 5, len 28, id 0x1234, ttl 64, udp
		"0a 01 0a 0a  0a 02 02 14",                    // 10.1.10.10 > 10.2.2.20
		"9c 40 01 bb 00 08 00 00",                     // udp 40000 > 443
	)
}

// dropV05 is a v0.5 drop report about an ICMP echo behind two VLAN tags.
func dropV05(tb testing.TB) []byte {
	return hexb(tb,
		"01 80 00 01",                           // ver 0, nproto 1 (drop), D, hw_id 1
		"00 00 01 00",                           // seq 256
		"00 00 10 00",                           // ingress ts 4096
		"0a 0b 0c 0d",                           // switch id
		"00 07 00 08",                           // ingress port 7, egress port 8
		"02 3c 00 00",                           // queue 2, drop reason 60, pad
		"02 00 00 00 00 02  02 00 00 00 00 01",  // MACs
		"88 a8 00 64",                           // 802.1ad, vlan 100
		"81 00 20 c8",                           // 802.1Q, pcp 1, vlan 200
		"08 00",                                 // IPv4
		"45 b8 00 1c  00 2a 00 00  3f 01 00 00", // dscp 46 (EF), id 42, ttl 63, icmp
		"c0 a8 01 01  c0 a8 02 02",              // 192.168.1.1 > 192.168.2.2
		"08 00 00 00 00 01 00 01",               // echo request
	)
}

// intV05 is the sink's v0.5 INT report (switch-local header of the sink)
// about a TCP packet with an MSS option, marked INT by DSCP 0x17, carrying
// a stack of 3 hops with 6 instructions (bits 0-5).
func intV05(tb testing.TB) []byte {
	return hexb(tb,
		"02 20 00 00", // ver 0, nproto 2, F
		"00 00 00 01", // seq 1
		"00 00 05 00", // ingress ts
		"00 00 00 03", // sink switch id 3
		"00 05 00 06", // ports 5 > 6
		"00 00 00 00", // queue 0, occupancy 0
		"00 00 05 40", // egress ts
		"02 00 00 00 00 02  02 00 00 00 00 01  08 00",
		"45 5c 00 84  ab cd 40 00  3e 06 00 00", // dscp 0x17, len 132, id 0xabcd, DF, ttl 62, tcp
		"0a 01 01 0a  0a 02 02 14",              // 10.1.1.10 > 10.2.2.20
		"9c 40 01 bb",                           // tcp 40000 > 443
		"11 22 33 44",                           // seq
		"00 00 00 00",                           // ack
		"60 18 ff ff",                           // data offset 6 (24 bytes), PSH|ACK
		"00 00 00 00",                           // checksum, urgent
		"02 04 05 b4",                           // option MSS 1460
		"01 00 16 00",                           // shim: type 1, length 22 words (4+8+72+4 bytes)
		"00 06 08 03",                           // ver 0, ins cnt 6, max hop 8, total hop 3
		"fc 00 00 00",                           // bitmap bits 0-5
		// newest hop (switch 3, the sink) first
		"00 00 00 03", "00 05 00 06", "00 00 01 00", "01 00 00 20", "00 00 04 00", "00 00 05 00",
		// switch 2: hop latency unavailable, ingress ts near the wrap
		"00 00 00 02", "00 03 00 04", "ff ff ff ff", "00 00 00 00", "ff ff ff 00", "00 00 00 40",
		// switch 1 (first after the source)
		"00 00 00 01", "00 01 00 02", "00 00 00 80", "02 00 00 05", "00 00 01 00", "00 00 01 80",
		"06 01 bb 0a", // tail: proto tcp, dport 443, original dscp 10 (AF11)
	)
}

// intV10 is a v1.0 report (IPv6 inner packet, NProt 2, no Ethernet) with a
// drop-reason word, marked INT by UDP destination port 5000, 2 hops of
// switch id + level-2 ports + checksum complement (HopML 4).
func intV10(tb testing.TB) []byte {
	return hexb(tb,
		"16 51 01 41",              // ver 1, len 6; nprot 2, repmd 0b100010, D; F, hw_id 1
		"00 00 00 09",              // switch id 9
		"00 00 00 0a",              // seq 10
		"00 00 00 64",              // ingress ts 100
		"00 0b 00 0c",              // repmd bit 0: ports 11 > 12
		"04 05 00 00",              // repmd bit 4: queue 4, drop reason 5
		"6b 81 23 45  00 34 11 05", // v6, tc 0xb8 (dscp 46), flow label 0x12345, plen 52, udp, hop limit 5
		"20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01", // 2001:db8::1
		"20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02", // 2001:db8::2
		"c3 50 13 88 00 34 00 00",                         // udp 50000 > 5000, len 52
		"01 00 0b b8",                                     // shim: type 1, length 11 words, dscp 46
		"10 80 04 06",                                     // ver 1, M, hop ML 4, remaining 6
		"82 01 00 00",                                     // bitmap bits 0, 6, 15
		// newest hop first: switch 8
		"00 00 00 08", "00 00 01 00", "00 00 02 00", "00 00 ab cd",
		// switch 7: level-2 ports unavailable
		"00 00 00 07", "ff ff ff ff", "ff ff ff ff", "00 00 12 34",
	)
}

// int5V05 is intV05 with the benchmark's stack: 5 hops of 6 instructions
// (switch id, ports, hop latency, queue, ingress and egress timestamps).
func int5V05(tb testing.TB) []byte {
	return hexb(tb,
		"02 20 00 00", "00 00 00 01", "00 00 05 00", // v0.5 local, F, seq 1
		"00 00 00 05", "00 05 00 06", "00 00 00 00", "00 00 05 40", // sink switch 5
		"02 00 00 00 00 02  02 00 00 00 00 01  08 00",
		"45 5c 00 b4  ab cd 40 00  3c 06 00 00", // dscp 0x17, len 180, ttl 60, tcp
		"0a 01 01 0a  0a 02 02 14",
		"9c 40 01 bb  11 22 33 44  00 00 00 00  60 18 ff ff  00 00 00 00  02 04 05 b4",
		"01 00 22 00", // shim: hop-by-hop, 34 words (4+8+120+4 bytes)
		"00 06 08 05", // ins cnt 6, max 8, total 5
		"fc 00 00 00",
		"00 00 00 05 00 09 00 0a 00 00 00 10 00 00 00 01 00 00 05 00 00 00 05 10",
		"00 00 00 04 00 07 00 08 00 00 00 20 00 00 00 02 00 00 04 00 00 00 04 20",
		"00 00 00 03 00 05 00 06 00 00 00 30 00 00 00 03 00 00 03 00 00 00 03 30",
		"00 00 00 02 00 03 00 04 00 00 00 40 00 00 00 04 00 00 02 00 00 00 02 40",
		"00 00 00 01 00 01 00 02 00 00 00 50 00 00 00 05 00 00 01 00 00 00 01 50",
		"06 01 bb 17",
	)
}
