#!/usr/bin/env python3
"""Build INT telemetry report test vectors with scapy, independently of our Go decoder.

Every header layout below is written from the published layouts as summarized in
/work/shared/reference/protocols.md section 3 (P4.org Telemetry Report v0.5 and
v1.0, INT v0.5 and v1.0). Nothing here reads or imports the Go decoder: the
expected values in vectors.json are the values this script put on the wire,
plus figures derived from them by the rules written out in expect_* below.

Usage: gen_vectors.py OUTDIR

OUTDIR receives one pcap per case (Ethernet / IPv4 / UDP to port 31337
carrying one or more reports) and vectors.json describing every case. The
output is deterministic: fixed addresses, ids, timestamps and pcap record
times, and JSON with sorted keys, so a test can compare it byte for byte with
the committed copy.

Conventions of vectors.json (what the Go test relies on):
  - reports[i] describes the i-th UDP datagram of the case's pcap.
  - "error" is the expected reason for a rejected report; such a report has
    no other expected fields.
  - INT hops are listed in PATH ORDER (first switch after the source first),
    although on the wire the newest hop comes first.
  - A hop item the switch could not fill (0xFFFFFFFF on the wire) is listed
    in the hop's "unavailable" and has no value.
  - Latencies are nanoseconds modulo 2^32 (32-bit device clocks wrap).
"""

import json
import os
import struct
import sys

from scapy.fields import BitField, ByteField, IntField, ShortField
from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption_Router_Alert
from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6
from scapy.layers.l2 import Dot1AD, Dot1Q, Ether
from scapy.packet import Packet, Raw

REPORT_PORT = 31337
COLLECTOR = "192.0.2.100"
U32 = 0xFFFFFFFF
UNAVAILABLE = 0xFFFFFFFF

# Options the Go test gives the decoder unless a case says otherwise: INT is
# marked by DSCP 0x17 (the INT spec's example value) or UDP/TCP port 5000.
INT_DSCP = 0x17
INT_PORT = 5000
DEFAULT_OPTIONS = {"int_dscp": INT_DSCP, "int_dscp_mask": 0x3F, "int_ports": [INT_PORT], "max_hops": 0}


# ---------------------------------------------------------------------------
# Telemetry report headers
# ---------------------------------------------------------------------------

class TelemetryReportV05(Packet):
    """Telemetry Report fixed header v0.5, 12 octets (protocols.md 3.2)."""
    name = "TelemetryReportV05"
    fields_desc = [
        BitField("ver", 0, 4),
        BitField("nproto", 0, 4),
        BitField("d", 0, 1),
        BitField("q", 0, 1),
        BitField("f", 0, 1),
        BitField("reserved", 0, 15),
        BitField("hw_id", 0, 6),
        IntField("seq", 0),
        IntField("ingress_ts", 0),
    ]


class DropHeaderV05(Packet):
    """Telemetry Drop header (v0.5 NProto 1), 12 octets (protocols.md 3.3)."""
    name = "DropHeaderV05"
    fields_desc = [
        IntField("switch_id", 0),
        ShortField("ingress_port", 0),
        ShortField("egress_port", 0),
        ByteField("queue_id", 0),
        ByteField("drop_reason", 0),
        ShortField("pad", 0),
    ]


class LocalHeaderV05(Packet):
    """Telemetry Switch Local header (v0.5 NProto 2), 16 octets (protocols.md 3.3)."""
    name = "LocalHeaderV05"
    fields_desc = [
        IntField("switch_id", 0),
        ShortField("ingress_port", 0),
        ShortField("egress_port", 0),
        ByteField("queue_id", 0),
        BitField("queue_occupancy", 0, 24),
        IntField("egress_ts", 0),
    ]


class TelemetryReportV10(Packet):
    """Telemetry Report fixed header v1.0, 16 octets (protocols.md 3.5).

    len counts the report header in 4-byte words: the 4 fixed words plus one
    word per RepMdBits bit set. rep_md_bits bit 0 is the most significant of
    its six bits.
    """
    name = "TelemetryReportV10"
    fields_desc = [
        BitField("ver", 1, 4),
        BitField("len", 4, 4),
        BitField("nprot", 0, 3),
        BitField("rep_md_bits", 0, 6),
        BitField("reserved", 0, 6),
        BitField("d", 0, 1),
        BitField("q", 0, 1),
        BitField("f", 0, 1),
        BitField("hw_id", 0, 6),
        IntField("switch_id", 0),
        IntField("seq", 0),
        IntField("ingress_ts", 0),
    ]


# v1.0 RepMdBits words, in bit order (bit 0 first).
class RepMdPorts(Packet):
    name = "RepMdPorts"
    fields_desc = [ShortField("ingress_port", 0), ShortField("egress_port", 0)]


class RepMdWord(Packet):
    """One 32-bit value: hop latency, egress timestamp or tx utilization."""
    name = "RepMdWord"
    fields_desc = [IntField("value", 0)]


class RepMdQueue(Packet):
    name = "RepMdQueue"
    fields_desc = [ByteField("queue_id", 0), BitField("queue_occupancy", 0, 24)]


class RepMdDrop(Packet):
    name = "RepMdDrop"
    fields_desc = [ByteField("queue_id", 0), ByteField("drop_reason", 0), ShortField("pad", 0)]


# ---------------------------------------------------------------------------
# INT over TCP/UDP
# ---------------------------------------------------------------------------

class IntShimV05(Packet):
    """INT v0.5 shim for TCP/UDP; length counts shim + md header + stack + tail words."""
    name = "IntShimV05"
    fields_desc = [ByteField("type", 1), ByteField("reserved", 0), ByteField("length", 0), ByteField("reserved2", 0)]


class IntMetadataV05(Packet):
    name = "IntMetadataV05"
    fields_desc = [
        BitField("ver", 0, 4),
        BitField("rep", 0, 2),
        BitField("c", 0, 1),
        BitField("e", 0, 1),
        BitField("reserved", 0, 3),
        BitField("ins_cnt", 0, 5),
        ByteField("max_hop_cnt", 0),
        ByteField("total_hop_cnt", 0),
        ShortField("instruction_bitmap", 0),
        ShortField("reserved2", 0),
    ]


class IntTailV05(Packet):
    name = "IntTailV05"
    fields_desc = [ByteField("proto", 0), ShortField("dst_port", 0), ByteField("dscp", 0)]


class IntShimV10(Packet):
    """INT v1.0 shim for TCP/UDP; no tail, length counts shim + md header + stack words."""
    name = "IntShimV10"
    fields_desc = [
        ByteField("type", 1),
        ByteField("reserved", 0),
        ByteField("length", 0),
        BitField("dscp", 0, 6),
        BitField("reserved2", 0, 2),
    ]


class IntMetadataV10(Packet):
    name = "IntMetadataV10"
    fields_desc = [
        BitField("ver", 1, 4),
        BitField("rep", 0, 2),
        BitField("c", 0, 1),
        BitField("e", 0, 1),
        BitField("m", 0, 1),
        BitField("reserved", 0, 10),
        BitField("hop_ml", 0, 5),
        ByteField("remaining_hop_cnt", 0),
        ShortField("instruction_bitmap", 0),
        ShortField("reserved2", 0),
    ]


# Per-hop metadata items.
class MdSwitchID(Packet):
    name = "MdSwitchID"
    fields_desc = [IntField("switch_id", 0)]


class MdPorts(Packet):
    name = "MdPorts"
    fields_desc = [ShortField("ingress_port", 0), ShortField("egress_port", 0)]


class MdU32(Packet):
    """Hop latency, ingress/egress timestamp, tx utilization, checksum complement."""
    name = "MdU32"
    fields_desc = [IntField("value", 0)]


class MdQueue(Packet):
    name = "MdQueue"
    fields_desc = [ByteField("queue_id", 0), BitField("queue_occupancy", 0, 24)]


class MdL2Ports(Packet):
    """v1.0 bit 6: level-2 ingress and egress port ids, 32 bits each."""
    name = "MdL2Ports"
    fields_desc = [IntField("ingress_port", 0), IntField("egress_port", 0)]


# Instruction bits (bit 0 = most significant bit of the 16-bit bitmap) and
# the names vectors.json uses for them.
ITEM_NAMES = {
    0: "switch_id", 1: "ports", 2: "hop_latency", 3: "queue", 4: "ingress_ts",
    5: "egress_ts", 6: "bit6", 7: "tx_util", 15: "checksum",
}


def bitmap_of(bits):
    bm = 0
    for b in bits:
        bm |= 0x8000 >> b
    return bm


def hop_words(version, bits):
    """Words one hop adds: one per item, v1.0 bit 6 takes two."""
    return sum(2 if (version == 1 and b == 6) else 1 for b in bits)


def hop_bytes(version, bits, hop):
    """Encode one hop's items in instruction-bit order. hop maps item name to
    its value (a dict for split items) or to None for unavailable."""
    out = b""
    for b in sorted(bits):
        name = ITEM_NAMES[b]
        v = hop[name]
        if v is None:
            out += b"\xff" * (8 if (version == 1 and b == 6) else 4)
            continue
        if b == 0:
            out += bytes(MdSwitchID(switch_id=v))
        elif b == 1:
            out += bytes(MdPorts(ingress_port=v["ingress"], egress_port=v["egress"]))
        elif b == 3:
            out += bytes(MdQueue(queue_id=v["id"], queue_occupancy=v["occupancy"]))
        elif b == 6 and version == 1:
            out += bytes(MdL2Ports(ingress_port=v["ingress"], egress_port=v["egress"]))
        elif b == 6:
            # v0.5: "queue id + queue congestion status", one 4-byte value
            # whose split the spec does not give; the raw word is expected.
            out += bytes(MdU32(value=v))
        else:
            out += bytes(MdU32(value=v))
    return out


def visible(bits, hop):
    """The items of hop that the instruction bits ask for: what a collector can see."""
    return {ITEM_NAMES[b]: hop[ITEM_NAMES[b]] for b in bits}


def expect_hop(version, bits, hop):
    """The expected decoded hop: item values by field, and which items were unavailable."""
    e = {"present": [], "unavailable": []}
    for b in sorted(bits):
        name = ITEM_NAMES[b]
        v = hop[name]
        if v is None:
            e["unavailable"].append(name)
            continue
        e["present"].append(name)
        if b == 1:
            e["ingress_port"], e["egress_port"] = v["ingress"], v["egress"]
        elif b == 3:
            e["queue_id"], e["queue_occupancy"] = v["id"], v["occupancy"]
        elif b == 6 and version == 1:
            e["l2_ingress_port"], e["l2_egress_port"] = v["ingress"], v["egress"]
        elif b == 6:
            e["bit6_word"] = v
        else:
            e[name] = v
    e["latency"] = hop_latency(visible(bits, hop))
    return e


def hop_latency(hop):
    """Hop latency: the hop-latency word when there is one, else egress minus
    ingress timestamp modulo 2^32, else unknown (None)."""
    if hop.get("hop_latency") is not None:
        return hop["hop_latency"]
    ig, eg = hop.get("ingress_ts"), hop.get("egress_ts")
    if ig is not None and eg is not None:
        return (eg - ig) % 2**32
    return None


def e2e_latency(path_hops):
    """End to end, path order: last hop's egress minus first hop's ingress
    timestamp modulo 2^32 when both are known (synchronized clocks), else the
    sum of the hop latencies when all are known, else unknown."""
    if not path_hops:
        return None
    ig, eg = path_hops[0].get("ingress_ts"), path_hops[-1].get("egress_ts")
    if ig is not None and eg is not None:
        return (eg - ig) % 2**32
    lats = [hop_latency(h) for h in path_hops]
    if any(l is None for l in lats):
        return None
    return sum(lats) % 2**32


def full_hop(i, version, wrap=False):
    """A hop with every item filled, values derived from i (1-based, path order)."""
    ig = (0x10000000 * i + 0x100) % 2**32
    eg = (ig + 500 + 100 * i) % 2**32
    if wrap:
        ig, eg = 0xFFFFFF00, 0x00000180  # egress after the wrap: 640 ns
    h = {
        "switch_id": 0xB0120000 + i,
        "ports": {"ingress": 10 + i, "egress": 20 + i},
        "hop_latency": 400 + 10 * i,
        "queue": {"id": i % 8, "occupancy": 0x010000 * i + 0x23},  # above 16 bits
        "ingress_ts": ig,
        "egress_ts": eg,
        "tx_util": 1000 * i,
        "checksum": 0x0000BEEF + i,
    }
    if version == 1:
        h["bit6"] = {"ingress": 0x00010000 + i, "egress": 0x00020000 + i}
    else:
        h["bit6"] = (i << 24) | (0x000300 + i)
    return h


def int_v05(bits, path_hops, tail, max_hop_cnt=16, total_hop_cnt=None, ins_cnt=None,
            length=None, stack_hops=None, rep=0, c=0, e=0):
    """shim + metadata header + stack (newest hop first) + tail, and the expected INT."""
    wire_hops = path_hops if stack_hops is None else stack_hops
    stack = b"".join(hop_bytes(0, bits, h) for h in reversed(wire_hops))
    n_ins = len(bits) if ins_cnt is None else ins_cnt
    total = len(path_hops) if total_hop_cnt is None else total_hop_cnt
    words = 4 + len(stack) // 4 if length is None else length
    data = (bytes(IntShimV05(type=1, length=words))
            + bytes(IntMetadataV05(rep=rep, c=c, e=e, ins_cnt=n_ins, max_hop_cnt=max_hop_cnt,
                                   total_hop_cnt=total, instruction_bitmap=bitmap_of(bits)))
            + stack
            + bytes(IntTailV05(proto=tail["proto"], dst_port=tail["dst_port"], dscp=tail["dscp"])))
    exp = {
        "shim_type": 1, "shim_len": words, "version": 0, "rep": rep, "copy": bool(c),
        "max_hop_exceeded": bool(e), "instructions": bitmap_of(bits), "hop_words": n_ins,
        "max_hop_cnt": max_hop_cnt, "total_hop_cnt": total,
        "tail": {"proto": tail["proto"], "dst_port": tail["dst_port"], "dscp": tail["dscp"]},
        "hops": [expect_hop(0, bits, h) for h in path_hops],
        "e2e_latency": e2e_latency([visible(bits, h) for h in path_hops]),
    }
    return data, exp


def int_v10(bits, path_hops, orig_dscp, remaining, hop_ml=None, length=None, m=0, e=0):
    """shim + metadata header + stack (newest hop first), and the expected INT."""
    stack = b"".join(hop_bytes(1, bits, h) for h in reversed(path_hops))
    ml = hop_words(1, bits) if hop_ml is None else hop_ml
    words = 3 + len(stack) // 4 if length is None else length
    data = (bytes(IntShimV10(type=1, length=words, dscp=orig_dscp))
            + bytes(IntMetadataV10(m=m, e=e, hop_ml=ml, remaining_hop_cnt=remaining,
                                   instruction_bitmap=bitmap_of(bits)))
            + stack)
    exp = {
        "shim_type": 1, "shim_len": words, "shim_dscp": orig_dscp, "version": 1, "rep": 0,
        "copy": False, "max_hop_exceeded": bool(e), "mtu_exceeded": bool(m),
        "instructions": bitmap_of(bits), "hop_words": ml, "remaining_hop_cnt": remaining,
        "hops": [expect_hop(1, bits, h) for h in path_hops],
        "e2e_latency": e2e_latency([visible(bits, h) for h in path_hops]),
    }
    return data, exp


# ---------------------------------------------------------------------------
# Inner packets
# ---------------------------------------------------------------------------

MAC_DST, MAC_SRC = "02:00:00:00:00:02", "02:00:00:00:00:01"
TCP_OPTIONS = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (123456789, 0)), ("NOP", None), ("WScale", 7)]
PAYLOAD = b"netlens INT vector"


def ether(vlans=(), v6=False):
    """Inner Ethernet with 0, 1 (802.1Q) or 2 (802.1ad outer, 802.1Q inner) tags."""
    p = Ether(dst=MAC_DST, src=MAC_SRC)
    if len(vlans) == 2:
        p = p / Dot1AD(vlan=vlans[0]) / Dot1Q(vlan=vlans[1])
    elif len(vlans) == 1:
        p = p / Dot1Q(vlan=vlans[0])
    exp = {"dst_mac": MAC_DST, "src_mac": MAC_SRC, "vlans": list(vlans),
           "ether_type": 0x86DD if v6 else 0x0800}
    return p, exp


def ipv4(src, dst, dscp, ttl, ipid, ecn=0, options=None, proto=None):
    p = IP(src=src, dst=dst, tos=(dscp << 2) | ecn, ttl=ttl, id=ipid, flags="DF", options=options or [])
    if proto is not None:
        p.proto = proto
    exp = {"ip_version": 4, "src": src, "dst": dst, "dscp": dscp, "ecn": ecn, "ttl": ttl, "ip_id": ipid}
    return p, exp


def ipv6(src, dst, dscp, hlim, fl, ecn=0):
    p = IPv6(src=src, dst=dst, tc=(dscp << 2) | ecn, hlim=hlim, fl=fl)
    exp = {"ip_version": 6, "src": src, "dst": dst, "dscp": dscp, "ecn": ecn, "ttl": hlim, "flow_label": fl}
    return p, exp


def tcp(sport, dport, seq, options=True):
    p = TCP(sport=sport, dport=dport, seq=seq, ack=0x01020304, flags="PA", window=8192,
            options=TCP_OPTIONS if options else [])
    exp = {"protocol": 6, "src_port": sport, "dst_port": dport, "tcp_seq": seq, "tcp_flags": 0x18}
    return p, exp


def udp(sport, dport):
    return UDP(sport=sport, dport=dport), {"protocol": 17, "src_port": sport, "dst_port": dport}


def icmpv6_echo(ident, seqno):
    return ICMPv6EchoRequest(id=ident, seq=seqno), {"protocol": 58, "icmp_type": 128, "icmp_code": 0}


def icmp_echo(ident, seqno):
    return ICMP(type=8, code=0, id=ident, seq=seqno), {"protocol": 1, "icmp_type": 8, "icmp_code": 0}


def inner(l2, l3, l4, int_data=b"", payload=PAYLOAD):
    """Bytes of the reported packet (INT right after the L4 header, TCP
    options included) and its expected summary. l2 is None when the copy
    starts at IP (v1.0 NProt 1/2)."""
    exp = {"has_ethernet": l2 is not None}
    pkt = l3[0] / l4[0] / Raw(int_data + payload)
    if l2 is not None:
        pkt = l2[0] / pkt
        exp.update(l2[1])
    exp.update(l3[1])
    exp.update(l4[1])
    return bytes(pkt), exp


# ---------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------

def kind_of(dropped, congested, drop_md):
    if dropped or drop_md:
        return "drop"
    if congested:
        return "queue"
    return "flow"


def report_v05(seq, ig_ts, hw_id=0, d=0, q=0, f=0, drop=None, local=None, nproto=None, ver=0):
    """Fixed header v0.5 + optional drop or switch-local header, and the expected header."""
    if nproto is None:
        nproto = 1 if drop else 2 if local else 0
    data = bytes(TelemetryReportV05(ver=ver, nproto=nproto, d=d, q=q, f=f, hw_id=hw_id, seq=seq, ingress_ts=ig_ts))
    exp = {"version": ver, "nproto": nproto, "dropped": bool(d), "congested": bool(q), "tracked": bool(f),
           "hw_id": hw_id, "seq": seq, "ingress_ts": ig_ts, "rep_md_bits": 0, "switch_id": None, "md": [],
           "kind": kind_of(d, q, drop is not None), "local_latency": None}
    if drop:
        data += bytes(DropHeaderV05(**drop))
        exp.update(switch_id=drop["switch_id"], md=["ports", "drop"], ingress_port=drop["ingress_port"],
                   egress_port=drop["egress_port"], queue_id=drop["queue_id"], drop_reason=drop["drop_reason"])
    if local:
        data += bytes(LocalHeaderV05(**local))
        exp.update(switch_id=local["switch_id"], md=["ports", "queue", "egress_ts"],
                   ingress_port=local["ingress_port"], egress_port=local["egress_port"],
                   queue_id=local["queue_id"], queue_occupancy=local["queue_occupancy"],
                   egress_ts=local["egress_ts"], local_latency=(local["egress_ts"] - ig_ts) % 2**32)
    return data, exp


REP_MD_NAMES = ["ports", "hop_latency", "queue", "egress_ts", "drop", "tx_util"]


def report_v10(nprot, switch_id, seq, ig_ts, hw_id=0, d=0, q=0, f=0, md=None, length=None, ver=1):
    """Fixed header v1.0 + RepMdBits words, and the expected header. md maps
    REP_MD_NAMES to values (ports/queue/drop are dicts)."""
    md = md or {}
    bits = 0
    words = b""
    exp = {"version": ver, "nproto": nprot, "dropped": bool(d), "congested": bool(q), "tracked": bool(f),
           "hw_id": hw_id, "seq": seq, "ingress_ts": ig_ts, "switch_id": switch_id, "md": [],
           "kind": kind_of(d, q, "drop" in md), "local_latency": None}
    for i, name in enumerate(REP_MD_NAMES):
        if name not in md:
            continue
        v = md[name]
        bits |= 0x20 >> i
        exp["md"].append(name)
        if name == "ports":
            words += bytes(RepMdPorts(ingress_port=v["ingress"], egress_port=v["egress"]))
            exp["ingress_port"], exp["egress_port"] = v["ingress"], v["egress"]
        elif name == "queue":
            words += bytes(RepMdQueue(queue_id=v["id"], queue_occupancy=v["occupancy"]))
            exp["queue_id"], exp["queue_occupancy"] = v["id"], v["occupancy"]
        elif name == "drop":
            words += bytes(RepMdDrop(queue_id=v["queue_id"], drop_reason=v["reason"]))
            exp["queue_id"], exp["drop_reason"] = v["queue_id"], v["reason"]
        else:
            words += bytes(RepMdWord(value=v))
            exp[name] = v
    if "hop_latency" in md:
        exp["local_latency"] = md["hop_latency"]
    elif "egress_ts" in md:
        exp["local_latency"] = (md["egress_ts"] - ig_ts) % 2**32
    exp["rep_md_bits"] = bits
    n = 4 + len(words) // 4 if length is None else length
    data = bytes(TelemetryReportV10(ver=ver, len=n, nprot=nprot, rep_md_bits=bits, d=d, q=q, f=f, hw_id=hw_id,
                                    switch_id=switch_id, seq=seq, ingress_ts=ig_ts)) + words
    return data, exp


def good(report, inner_pkt, int_exp=None, switch_addr="10.255.0.1"):
    if int_exp is not None:
        add_original(int_exp, inner_pkt[1])
    return {"switch_addr": switch_addr, "bytes": report[0] + inner_pkt[0],
            "expect": {"header": report[1], "inner": inner_pkt[1], "int": int_exp}}


def add_original(int_exp, inner_exp):
    """Which marker made the INT source insert the stack, and what it saved:
    marking by DSCP overwrites the DSCP and keeps the original in the v0.5
    tail or the v1.0 shim; marking by port overwrites the destination port
    and keeps the original in the v0.5 tail (v1.0 has no place for it)."""
    by_dscp = inner_exp["dscp"] == INT_DSCP
    by_port = inner_exp.get("dst_port") == INT_PORT
    int_exp["detected_by"] = "dscp" if by_dscp else "port" if by_port else "none"
    if by_dscp:
        int_exp["original_dscp"] = int_exp["tail"]["dscp"] if int_exp["version"] == 0 else int_exp["shim_dscp"]
    else:
        int_exp["original_dscp"] = inner_exp["dscp"]
    if by_port and int_exp["version"] == 0:
        int_exp["original_dst_port"] = int_exp["tail"]["dst_port"]
    else:
        int_exp["original_dst_port"] = inner_exp["dst_port"]


def bad(data, reason, switch_addr="10.255.0.1"):
    return {"switch_addr": switch_addr, "bytes": data, "expect": {"error": reason}}


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------

ALL_V05 = list(range(8))          # every v0.5 instruction bit
ALL_V10 = list(range(8))          # bits 0-7 (bit 6 = level-2 ports, 8 bytes)
TS_BITS = [0, 4, 5]               # switch id, ingress and egress timestamps

SEED_SWITCH = 0xB012E345           # the seed's example: VDC MAC b0:12:80:8f:e3:45


def case_v05_flow_eth_tcp_options():
    # NProto 0: no switch id; DSCP 10 is not the INT marker, so no INT is searched.
    r = report_v05(seq=1, ig_ts=1000, hw_id=3, f=1)
    p = inner(ether(), ipv4("10.1.1.10", "10.2.2.20", 10, 64, 0x0101), tcp(40000, 443, 0x11223344))
    return [good(r, p)], "v0.5 flow report (NProto 0, F) about a TCP packet with options, no INT"


def case_v05_flow_local_udp_vlan():
    r = report_v05(seq=2, ig_ts=2000, hw_id=1, f=1,
                   local={"switch_id": SEED_SWITCH, "ingress_port": 1, "egress_port": 2, "queue_id": 3,
                          "queue_occupancy": 256, "egress_ts": 2750})
    p = inner(ether((100,)), ipv4("10.1.1.11", "10.2.2.21", 0, 63, 0x0202), udp(40001, 53))
    return [good(r, p)], "v0.5 local flow report (switch-local header, F) about UDP behind one 802.1Q tag"


def case_v05_flow_local_icmp_qinq():
    r = report_v05(seq=3, ig_ts=3000, hw_id=2, f=1,
                   local={"switch_id": 0x0A0B0C0D, "ingress_port": 7, "egress_port": 8, "queue_id": 1,
                          "queue_occupancy": 12, "egress_ts": 3100})
    p = inner(ether((100, 200)), ipv4("192.168.1.1", "192.168.2.2", 46, 62, 0x0303), icmp_echo(7, 1))
    return [good(r, p)], "v0.5 local flow report about an ICMP echo behind two VLAN tags (802.1ad + 802.1Q)"


def case_v05_drop():
    r = report_v05(seq=4, ig_ts=4096, hw_id=1, d=1,
                   drop={"switch_id": SEED_SWITCH, "ingress_port": 7, "egress_port": 8, "queue_id": 2,
                         "drop_reason": 60})
    p = inner(ether(), ipv4("10.1.1.12", "10.2.2.22", 0, 64, 0x0404), tcp(40002, 80, 0x55667788))
    return [good(r, p)], "v0.5 drop report (NProto 1, D, reason 60) about TCP"


def case_v05_queue_congestion():
    r = report_v05(seq=5, ig_ts=5000, hw_id=4, q=1,
                   local={"switch_id": 0x00000042, "ingress_port": 3, "egress_port": 4, "queue_id": 7,
                          "queue_occupancy": 0x123456, "egress_ts": 5000 + 81920})
    p = inner(ether(), ipv4("10.1.1.13", "10.2.2.23", 0, 64, 0x0505), udp(40003, 9000))
    return [good(r, p)], "v0.5 queue congestion report (Q, switch-local) with a 24-bit occupancy"


def case_v05_local_wrapped_ts():
    r = report_v05(seq=6, ig_ts=0xFFFFFFF0, hw_id=5, f=1,
                   local={"switch_id": 0x00000043, "ingress_port": 1, "egress_port": 2, "queue_id": 0,
                          "queue_occupancy": 1, "egress_ts": 0x00000010})
    p = inner(ether(), ipv4("10.1.1.14", "10.2.2.24", 0, 64, 0x0606), udp(40004, 443))
    return [good(r, p)], "v0.5 switch-local report whose egress timestamp wrapped past 2^32 (latency 32 ns)"


def case_v05_int_3hop_all_bits_dscp():
    hops = [full_hop(i, 0) for i in (1, 2, 3)]
    data, iexp = int_v05(ALL_V05, hops, {"proto": 6, "dst_port": 443, "dscp": 10})
    r = report_v05(seq=7, ig_ts=0x40000000, f=1)
    p = inner(ether(), ipv4("10.1.1.10", "10.2.2.20", INT_DSCP, 62, 0x0707), tcp(40000, 443, 0x0A0B0C0D), data)
    return [good(r, p, iexp)], "v0.5 INT report from the sink: 3-hop stack, all 8 instruction bits, TCP with options, INT by DSCP"


def case_v05_int_5hop_all_bits_port_local():
    hops = [full_hop(i, 0) for i in (1, 2, 3, 4, 5)]
    # MaxHopCnt 5 is reached, and a sixth switch set E instead of adding a hop.
    data, iexp = int_v05(ALL_V05, hops, {"proto": 17, "dst_port": 4791, "dscp": 0}, max_hop_cnt=5, e=1)
    r = report_v05(seq=8, ig_ts=0x50000000, hw_id=1, f=1,
                   local={"switch_id": 0xB0120005, "ingress_port": 25, "egress_port": 26, "queue_id": 5,
                          "queue_occupancy": 0x050023, "egress_ts": 0x50000000 + 1000})
    p = inner(ether(), ipv4("10.1.1.15", "10.2.2.25", 0, 60, 0x0808), udp(40005, INT_PORT), data)
    return [good(r, p, iexp)], ("v0.5 INT report from the sink with its switch-local header: 5-hop stack, all 8 bits, "
                                "UDP, INT by destination port, MaxHopCnt reached and E set")


def case_v05_int_wrapped():
    hops = [full_hop(1, 0), full_hop(2, 0, wrap=True), full_hop(3, 0)]
    hops[0]["ingress_ts"], hops[0]["egress_ts"] = 0xFFFFF000, 0xFFFFF200
    hops[2]["ingress_ts"], hops[2]["egress_ts"] = 0x00000400, 0x00000700
    data, iexp = int_v05(TS_BITS, hops, {"proto": 6, "dst_port": 22, "dscp": 0})
    r = report_v05(seq=9, ig_ts=0x00000800, f=1)
    p = inner(ether(), ipv4("10.1.1.16", "10.2.2.26", INT_DSCP, 61, 0x0909), tcp(40006, 22, 0x01010101), data)
    return [good(r, p, iexp)], ("v0.5 INT: timestamps wrap inside hop 2 (egress < ingress) and between hops; "
                                "no hop-latency word, so latencies come from timestamps modulo 2^32")


def case_v05_int_unavailable():
    bits = [0, 1, 2, 3, 4, 5]
    hops = [full_hop(i, 0) for i in (1, 2, 3)]
    hops[1]["hop_latency"] = None      # falls back to egress - ingress
    hops[1]["queue"] = None
    hops[2]["hop_latency"] = None      # and no egress either: latency unknown
    hops[2]["egress_ts"] = None
    hops[0]["ports"] = None
    data, iexp = int_v05(bits, hops, {"proto": 6, "dst_port": 443, "dscp": 0})
    r = report_v05(seq=10, ig_ts=0x60000000, f=1)
    p = inner(ether(), ipv4("10.1.1.17", "10.2.2.27", INT_DSCP, 62, 0x0A0A), tcp(40007, 443, 0x02020202), data)
    return [good(r, p, iexp)], "v0.5 INT with 0xFFFFFFFF (unavailable) items in every hop"


def case_v10_flow_repmd():
    md = {"ports": {"ingress": 5, "egress": 6}, "hop_latency": 777, "queue": {"id": 2, "occupancy": 0x0ABCDE},
          "egress_ts": 0x7000_0309, "tx_util": 4242}
    r = report_v10(0, SEED_SWITCH, 11, 0x70000000, hw_id=6, f=1, md=md)
    p = inner(ether(), ipv4("10.1.1.18", "10.2.2.28", 0, 64, 0x0B0B), tcp(40008, 443, 0x03030303))
    return [good(r, p)], "v1.0 flow report, NProt 0 (Ethernet), RepMdBits ports, hop latency, queue, egress ts, tx util"


def case_v10_drop():
    md = {"ports": {"ingress": 9, "egress": 10}, "drop": {"queue_id": 4, "reason": 71}}
    r = report_v10(1, 0x00000044, 12, 0x71000000, hw_id=2, d=1, md=md)
    p = inner(None, ipv4("10.1.1.19", "10.2.2.29", 0, 64, 0x0C0C), udp(40009, 123))
    return [good(r, p)], "v1.0 drop report, NProt 1 (IPv4 copy without Ethernet), RepMdBits ports + drop reason"


def case_v10_queue_congestion():
    md = {"queue": {"id": 6, "occupancy": 0xFEDCBA}, "egress_ts": 0x00000100}
    r = report_v10(0, 0x00000045, 13, 0xFFFFFE00, hw_id=1, q=1, md=md)
    p = inner(ether(), ipv4("10.1.1.20", "10.2.2.30", 0, 64, 0x0D0D), udp(40010, 443))
    return [good(r, p)], "v1.0 queue congestion report (Q), egress timestamp wrapped (local latency 512 ns)"


def case_v10_flow_icmp():
    r = report_v10(1, 0x00000046, 14, 0x72000000, f=1)
    p = inner(None, ipv4("10.1.1.21", "10.2.2.31", 0, 64, 0x0E0E), icmp_echo(9, 3))
    return [good(r, p)], "v1.0 flow report, NProt 1, ICMP echo, no RepMdBits"


def case_v10_int_ipv4_all_bits():
    hops = [full_hop(i, 1) for i in (1, 2, 3, 4)]
    data, iexp = int_v10(ALL_V10, hops, orig_dscp=10, remaining=4, m=1)
    r = report_v10(1, 0xB0120004, 15, 0x73000000, hw_id=63, f=1)
    p = inner(None, ipv4("10.1.1.22", "10.2.2.32", INT_DSCP, 60, 0x0F0F), tcp(40011, 443, 0x04040404), data)
    return [good(r, p, iexp)], ("v1.0 INT over IPv4 (NProt 1): 4 hops, bits 0-7 (HopML 9: level-2 ports take 8 bytes), "
                                "RemainingHopCnt 4, M (MTU exceeded) set, TCP options, INT by DSCP, hw_id 63")


def case_v10_int_ipv6_eth_port():
    bits = [0, 1, 2, 3]
    hops = [full_hop(i, 1) for i in (1, 2, 3)]
    data, iexp = int_v10(bits, hops, orig_dscp=0, remaining=5)
    r = report_v10(0, 0xB0120003, 16, 0x74000000, hw_id=3, f=1, md={"ports": {"ingress": 1, "egress": 2}})
    p = inner(ether(v6=True), ipv6("2001:db8:1::10", "2001:db8:2::20", 0, 61, 0x12345), udp(40012, INT_PORT), data)
    return [good(r, p, iexp)], "v1.0 INT over Ethernet + IPv6 (EtherType 0x86DD), UDP, 3 hops, INT by port"


def case_v10_int_ipv6_checksum_wrapped():
    bits = [0, 4, 5, 15]
    hops = [full_hop(i, 1) for i in (1, 2, 3)]
    hops[1]["ingress_ts"], hops[1]["egress_ts"] = 0xFFFFFFC0, 0x00000040  # 128 ns across the wrap
    data, iexp = int_v10(bits, hops, orig_dscp=34, remaining=2)
    r = report_v10(2, 0xB0120003, 17, 0x75000000, f=1)
    p = inner(None, ipv6("2001:db8:1::11", "2001:db8:2::21", INT_DSCP, 60, 0xABCDE), tcp(40013, 443, 0x05050505), data)
    return [good(r, p, iexp)], ("v1.0 INT over IPv6 (NProt 2), TCP with options, bits 0,4,5 and 15 (checksum "
                                "complement, last word of each hop), wrapped timestamps, INT by DSCP")


def case_v05_int_ipv4_options_rep_copy():
    hops = [full_hop(i, 0) for i in (1, 2)]
    data, iexp = int_v05([0, 1, 3], hops, {"proto": 17, "dst_port": 53, "dscp": 8}, rep=2, c=1)
    r = report_v05(seq=0xFFFFFFFF, ig_ts=0x11111111, hw_id=63, f=1)
    p = inner(ether(), ipv4("10.1.1.23", "10.2.2.33", INT_DSCP, 62, 0x1010, ecn=3, options=[IPOption_Router_Alert()]),
              udp(40014, 53), data)
    return [good(r, p, iexp)], ("v0.5 INT after UDP in an IPv4 packet with options (IHL 6) and ECN 3; Rep 2 and C "
                                "set; seq 0xFFFFFFFF and hw_id 63 (field maxima)")


def case_v05_int_8hops_at_limit():
    hops = [full_hop(i, 0) for i in range(1, 9)]
    data, iexp = int_v05([0, 2], hops, {"proto": 6, "dst_port": 443, "dscp": 0}, max_hop_cnt=8)
    r = report_v05(seq=18, ig_ts=0x12000000, f=1)
    p = inner(ether(), ipv4("10.1.1.24", "10.2.2.34", INT_DSCP, 56, 0x1111), tcp(40015, 443, 0x07070707), data)
    return [good(r, p, iexp)], "v0.5 INT with exactly 8 hops, the decoder's max_hops 8 and MaxHopCnt 8: accepted"


def case_v10_flow_ipv6_icmpv6():
    md = {"queue": {"id": 1, "occupancy": 3}}
    r = report_v10(2, 0x00000047, 19, 0x76000000, f=1, md=md)
    p = inner(None, ipv6("2001:db8:1::12", "2001:db8:2::22", 46, 64, 0), icmpv6_echo(11, 2))
    return [good(r, p)], "v1.0 flow report, NProt 2 (IPv6 copy), ICMPv6 echo, RepMdBits queue"


def postcard_v05(seq, switch_id, ttl, ipid, ig, eg, port_in, port_out, qocc, tcp_seq):
    r = report_v05(seq=seq, ig_ts=ig, hw_id=0, f=1,
                   local={"switch_id": switch_id, "ingress_port": port_in, "egress_port": port_out, "queue_id": 1,
                          "queue_occupancy": qocc, "egress_ts": eg})
    p = inner(ether(), ipv4("10.1.1.30", "10.2.2.40", 0, ttl, ipid), tcp(41000, 443, tcp_seq))
    return good(r, p, switch_addr="10.255.0.%d" % (switch_id & 0xFF))


def case_postcards_v05():
    # Two packets of one flow (IP ids 0x2001, 0x2002), each reported by the
    # 3 switches on its path (TTL 64, 63, 62 as each switch saw it), arriving
    # interleaved and out of hop order. Timestamps wrap between switches 2 and 3.
    sw = [0xB0120011, 0xB0120012, 0xB0120013]
    times = {
        0x2001: [(0xFFFFF000, 0xFFFFF400), (0xFFFFFA00, 0xFFFFFF00), (0x00000300, 0x00000500)],
        0x2002: [(0x00100000, 0x00100300), (0x00100800, 0x00100A00), (0x00101000, 0x00101100)],
    }
    order = [(0x2001, 1), (0x2001, 0), (0x2002, 0), (0x2001, 2), (0x2002, 2), (0x2002, 1)]
    reports, seqs = [], [100, 200, 300]
    for ipid, h in order:
        ig, eg = times[ipid][h]
        seqs[h] += 1
        reports.append(postcard_v05(seqs[h], sw[h], 64 - h, ipid, ig, eg, 10 + h, 20 + h, 100 * (h + 1),
                                    0x10000000 + ipid))
    paths = []
    for ipid in (0x2001, 0x2002):
        hops = [{"switch_id": sw[h], "ingress_ts": times[ipid][h][0], "egress_ts": times[ipid][h][1]} for h in range(3)]
        paths.append({"ip_id": ipid, "switch_ids": sw, "dropped": False,
                      "hop_latencies": [hop_latency(x) for x in hops], "e2e_latency": e2e_latency(hops)})
    return reports, "v0.5 postcards: 2 packets x 3 switches (switch-local headers), interleaved, out of hop order", paths


def case_postcards_v10_drop():
    # One UDP packet over IPv4 (NProt 1) reported by 3 switches; the third drops it.
    sw = [0xB0120021, 0xB0120022, 0xB0120023]
    reports = []
    for h in (2, 0, 1):
        ig = 0x20000000 + 0x1000 * h
        if h == 2:
            md = {"ports": {"ingress": 12, "egress": 22}, "drop": {"queue_id": 3, "reason": 80}}
            r = report_v10(1, sw[h], 50 + h, ig, d=1, md=md)
        else:
            md = {"ports": {"ingress": 10 + h, "egress": 20 + h}, "hop_latency": 300 + h,
                  "queue": {"id": 3, "occupancy": 50 * (h + 1)}, "egress_ts": ig + 300 + h}
            r = report_v10(1, sw[h], 50 + h, ig, f=1, md=md)
        p = inner(None, ipv4("10.1.1.31", "10.2.2.41", 0, 64 - h, 0x3001), udp(41001, 8080))
        reports.append(good(r, p, switch_addr="10.255.0.%d" % (sw[h] & 0xFF)))
    hops = [{"switch_id": sw[0], "hop_latency": 300, "ingress_ts": 0x20000000, "egress_ts": 0x20000000 + 300},
            {"switch_id": sw[1], "hop_latency": 301, "ingress_ts": 0x20001000, "egress_ts": 0x20001000 + 301},
            {"switch_id": sw[2], "ingress_ts": 0x20002000}]
    paths = [{"ip_id": 0x3001, "switch_ids": sw, "dropped": True,
              "hop_latencies": [hop_latency(x) for x in hops], "e2e_latency": e2e_latency(hops)}]
    return reports, "v1.0 postcards: one UDP packet, 3 switches, the last one reports a drop (reason 80)", paths


# Bad reports: each must be rejected with the given reason, never crash.

def v05_int_report(data, dscp=INT_DSCP, proto="tcp"):
    r = report_v05(seq=90, ig_ts=0x1000, f=1)
    l4 = tcp(40100, 443, 0x06060606) if proto == "tcp" else udp(40100, 443)
    return r[0] + inner(ether(), ipv4("10.1.1.90", "10.2.2.90", dscp, 62, 0x5A5A), l4, data, payload=b"")[0]


def v10_int_report(data):
    r = report_v10(1, 0x0000005A, 91, 0x1000, f=1)
    return r[0] + inner(None, ipv4("10.1.1.91", "10.2.2.91", INT_DSCP, 62, 0x5B5B), tcp(40101, 443, 7), data,
                        payload=b"")[0]


def case_bad_truncated():
    full = report_v05(seq=1, ig_ts=2, f=1)[0]
    local = report_v05(seq=1, ig_ts=2, f=1, local={"switch_id": 1, "ingress_port": 1, "egress_port": 2,
                                                   "queue_id": 0, "queue_occupancy": 0, "egress_ts": 3})[0]
    v10 = report_v10(0, 1, 2, 3, md={"ports": {"ingress": 1, "egress": 2}, "hop_latency": 5,
                                     "egress_ts": 6})[0]
    hops = [full_hop(i, 0) for i in (1, 2)]
    int_ok = v05_int_report(int_v05(TS_BITS, hops, {"proto": 6, "dst_port": 443, "dscp": 0})[0])
    return [bad(full[:8], "truncated"),            # fixed header cut
            bad(local[:22], "truncated"),          # switch-local header cut
            bad(v10[:20], "truncated"),            # v1.0 RepMdBits words cut
            bad(local + bytes(ether()[0])[:10], "truncated"),  # inner Ethernet cut
            bad(int_ok[:12 + 14 + 10], "truncated")], \
        "truncated headers: fixed, switch-local, v1.0 metadata words, inner Ethernet, inner IPv4"


def case_bad_ins_cnt():
    hops = [full_hop(i, 0) for i in (1, 2)]
    # The bitmap has 3 bits, InsCnt says 2, and the stack and shim are sized
    # for 2 words a hop: only the count and the bitmap disagree.
    stack = b"".join(bytes(MdU32(value=h["switch_id"])) + bytes(MdU32(value=h["ingress_ts"])) for h in reversed(hops))
    d05 = (bytes(IntShimV05(length=4 + len(stack) // 4))
           + bytes(IntMetadataV05(ins_cnt=2, max_hop_cnt=8, total_hop_cnt=2, instruction_bitmap=bitmap_of([0, 4, 5])))
           + stack + bytes(IntTailV05(proto=6, dst_port=443)))
    hops10 = [full_hop(i, 1) for i in (1, 2)]
    d10 = int_v10([0, 1, 2], hops10, 0, 6, hop_ml=2)[0]
    return [bad(v05_int_report(d05), "ins_cnt_mismatch"), bad(v10_int_report(d10), "ins_cnt_mismatch")], \
        "instruction count disagreeing with the bitmap: v0.5 InsCnt 2 for 3 bits, v1.0 HopML 2 for 3 words"


def case_bad_too_many_hops():
    hops5 = [full_hop(i, 0) for i in range(1, 6)]
    over_max = int_v05([0], hops5, {"proto": 6, "dst_port": 443, "dscp": 0}, max_hop_cnt=4)[0]
    hops10 = [full_hop(i, 0) for i in range(1, 11)]
    over_opt = int_v05([0], hops10, {"proto": 6, "dst_port": 443, "dscp": 0}, max_hop_cnt=16)[0]
    hops10v = [full_hop(i, 1) for i in range(1, 11)]
    over_opt10 = int_v10([0], hops10v, 0, 6)[0]
    return [bad(v05_int_report(over_max), "too_many_hops"),
            bad(v05_int_report(over_opt), "too_many_hops"),
            bad(v10_int_report(over_opt10), "too_many_hops")], \
        ("hop count beyond the maximum: v0.5 TotalHopCnt 5 > MaxHopCnt 4; 10 hops with the decoder's "
         "max_hops 8 (v0.5 and v1.0)")


def case_bad_stack_overrun():
    # The shim and the packet hold 3 hops of 1 word; the header claims 5.
    hops = [full_hop(i, 0) for i in (1, 2, 3)]
    d = int_v05([0], hops, {"proto": 6, "dst_port": 443, "dscp": 0}, total_hop_cnt=5)[0]
    return [bad(v05_int_report(d), "stack_overrun")], "v0.5 stack (TotalHopCnt 5) longer than the shim and the packet (3 hops)"


def case_bad_version():
    r = bytes(TelemetryReportV05(ver=3, f=1, seq=1, ingress_ts=2))
    p = inner(ether(), ipv4("10.1.1.92", "10.2.2.92", 0, 64, 1), udp(1, 2))[0]
    r2 = bytes(TelemetryReportV10(ver=2, len=4, switch_id=1, seq=1, ingress_ts=2))
    return [bad(r + p, "bad_version"), bad(r2 + p, "bad_version")], "unknown report versions 3 and 2"


def case_bad_nproto():
    p = inner(ether(), ipv4("10.1.1.93", "10.2.2.93", 0, 64, 1), udp(1, 2))[0]
    r05 = bytes(TelemetryReportV05(nproto=5, f=1, seq=1, ingress_ts=2))
    r10 = bytes(TelemetryReportV10(nprot=3, len=4, switch_id=1, seq=1, ingress_ts=2))
    return [bad(r05 + p, "bad_nproto"), bad(r10 + p, "bad_nproto")], "unknown next protocol: v0.5 NProto 5, v1.0 NProt 3"


def case_bad_inner():
    r = report_v05(seq=1, ig_ts=2, f=1)[0]
    gre = inner(ether(), ipv4("10.1.1.94", "10.2.2.94", 0, 64, 1, proto=47), udp(1, 2))[0]
    arp = bytes(Ether(dst=MAC_DST, src=MAC_SRC, type=0x0806)) + b"\x00" * 28
    hops = [full_hop(i, 0) for i in (1, 2)]
    d = bytearray(int_v05(TS_BITS, hops, {"proto": 6, "dst_port": 443, "dscp": 0})[0])
    d[4] |= 0x10  # metadata header version 1 inside a v0.5 report
    return [bad(r + gre, "unknown_l4"), bad(r + arp, "bad_ethertype"),
            bad(v05_int_report(bytes(d)), "bad_int_version")], \
        ("unknown inner headers: IPv4 protocol 47 (GRE), EtherType 0x0806 (ARP), INT metadata version 1 "
         "in a v0.5 report")


def case_bad_shim_overrun():
    hops = [full_hop(i, 0) for i in (1, 2)]
    d05 = int_v05(TS_BITS, hops, {"proto": 6, "dst_port": 443, "dscp": 0}, length=40)[0]
    hops10 = [full_hop(i, 1) for i in (1, 2)]
    d10 = int_v10(TS_BITS, hops10, 0, 6, length=30)[0]
    return [bad(v05_int_report(d05), "shim_overrun"), bad(v10_int_report(d10), "shim_overrun")], \
        "shim length past the payload: v0.5 40 words, v1.0 30 words, both in packets far shorter"


CASES = [
    ("v05_flow_eth_tcp_options", case_v05_flow_eth_tcp_options, None),
    ("v05_flow_local_udp_vlan", case_v05_flow_local_udp_vlan, None),
    ("v05_flow_local_icmp_qinq", case_v05_flow_local_icmp_qinq, None),
    ("v05_drop", case_v05_drop, None),
    ("v05_queue_congestion", case_v05_queue_congestion, None),
    ("v05_local_wrapped_ts", case_v05_local_wrapped_ts, None),
    ("v05_int_3hop_all_bits_dscp", case_v05_int_3hop_all_bits_dscp, None),
    ("v05_int_5hop_all_bits_port_local", case_v05_int_5hop_all_bits_port_local, None),
    ("v05_int_wrapped", case_v05_int_wrapped, None),
    ("v05_int_unavailable", case_v05_int_unavailable, None),
    ("v05_int_ipv4_options_rep_copy", case_v05_int_ipv4_options_rep_copy, None),
    ("v05_int_8hops_at_limit", case_v05_int_8hops_at_limit, {"max_hops": 8}),
    ("v10_flow_repmd", case_v10_flow_repmd, None),
    ("v10_drop", case_v10_drop, None),
    ("v10_queue_congestion", case_v10_queue_congestion, None),
    ("v10_flow_icmp", case_v10_flow_icmp, None),
    ("v10_flow_ipv6_icmpv6", case_v10_flow_ipv6_icmpv6, None),
    ("v10_int_ipv4_all_bits", case_v10_int_ipv4_all_bits, None),
    ("v10_int_ipv6_eth_port", case_v10_int_ipv6_eth_port, None),
    ("v10_int_ipv6_checksum_wrapped", case_v10_int_ipv6_checksum_wrapped, None),
    ("postcards_v05", case_postcards_v05, None),
    ("postcards_v10_drop", case_postcards_v10_drop, None),
    ("bad_truncated", case_bad_truncated, None),
    ("bad_ins_cnt", case_bad_ins_cnt, None),
    ("bad_too_many_hops", case_bad_too_many_hops, {"max_hops": 8}),
    ("bad_stack_overrun", case_bad_stack_overrun, None),
    ("bad_version", case_bad_version, None),
    ("bad_nproto", case_bad_nproto, None),
    ("bad_shim_overrun", case_bad_shim_overrun, None),
    ("bad_inner", case_bad_inner, None),
]

# pcap record times: case k, report i at BASE + k seconds + i milliseconds.
PCAP_BASE = 1764000000


def write_pcap(path, frames, case_index):
    """Classic libpcap, microsecond timestamps, Ethernet link type."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, frame in enumerate(frames):
            f.write(struct.pack("<IIII", PCAP_BASE + case_index, 1000 * i, len(frame), len(frame)))
            f.write(frame)


def outer(switch_addr, report, sport):
    """The report as the collector receives it: Ethernet / IPv4 / UDP 31337."""
    return bytes(Ether(dst="02:00:00:00:00:64", src="02:00:00:00:00:fe")
                 / IP(src=switch_addr, dst=COLLECTOR, id=1, ttl=64)
                 / UDP(sport=sport, dport=REPORT_PORT)
                 / Raw(report))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen_vectors.py OUTDIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    cases = []
    for k, (name, fn, opts) in enumerate(CASES):
        res = fn()
        reports, desc = res[0], res[1]
        paths = res[2] if len(res) > 2 else None
        frames = [outer(r["switch_addr"], r["bytes"], 10000 + i) for i, r in enumerate(reports)]
        pcap = name + ".pcap"
        write_pcap(os.path.join(out, pcap), frames, k)
        options = dict(DEFAULT_OPTIONS)
        options.update(opts or {})
        c = {"name": name, "description": desc, "pcap": pcap, "options": options,
             "reports": [r["expect"] for r in reports]}
        if paths is not None:
            c["paths"] = paths
        cases.append(c)
    with open(os.path.join(out, "vectors.json"), "w") as f:
        json.dump({"report_port": REPORT_PORT, "cases": cases}, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
