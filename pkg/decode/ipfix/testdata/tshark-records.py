#!/usr/bin/env python3
"""Writes <capture>.tshark.tsv: what Wireshark's own IPFIX dissector decodes
from each capture, one line per record (data and options, in message
order), so the decoder's tests compare every record against an independent
decoder. Regenerate with tshark 4.x:

    cd pkg/decode/ipfix/testdata && python3 tshark-records.py

Columns: frame, first source address, first destination address, first
source port, first destination port, protocol number, octets, packets,
input and output interface; empty where the record has no such field.
"""
import re
import subprocess
import sys

FILES = {
    "pmacct-100-IPFIXv10-CISCO.pcap": ["-d", "udp.port==9991,cflow"],
    "pmacct-104-IPFIXv10-IPv6-CISCO-sampling_option.pcap": ["-d", "udp.port==9992,cflow"],
    "pmacct-106-IPFIXv10-HUAWEI-vrf_name.pcap": ["-d", "udp.port==40000,cflow"],
    "pmacct-112-IPFIXv10-CISCO-options-map-reassignment.pcap": ["-d", "udp.port==9991,cflow"],
    "pmacct-500-IPFIXv10-BGP-CISCO-SRv6.pcap": ["-d", "udp.port==9992,cflow"],
    "ipfixcol2-example_flows.ipfix": [],
}
KEYS = ["SrcAddr", "DstAddr", "SrcPort", "DstPort", "Protocol", "Octets", "Packets", "InputInt", "OutputInt"]

for name, args in FILES.items():
    out = subprocess.run(["tshark", "-r", name, "-V"] + args, capture_output=True, text=True, check=True).stdout
    rows, frame, rec = [], None, None
    for line in out.splitlines():
        m = re.match(r"^Frame (\d+):", line)
        if m:
            frame = m.group(1)
            continue
        if re.match(r"^ {8}Flow \d+$", line):
            rec = {"frame": frame}
            rows.append(rec)
            continue
        m = re.match(r"^ {12}([A-Za-z][A-Za-z ]*): (.*)$", line)
        if rec is not None and m and m.group(1) in KEYS and m.group(1) not in rec:
            v = m.group(2)
            if m.group(1) in ("SrcPort", "DstPort"):
                v = v.split(" ")[0]
            if m.group(1) == "Protocol":
                v = re.search(r"\((\d+)\)", v).group(1)
            rec[m.group(1)] = v
        elif not line.startswith(" " * 12):
            rec = None
    with open(name.rsplit(".", 1)[0] + ".tshark.tsv", "w") as f:
        for r in rows:
            f.write("\t".join([r["frame"]] + [r.get(k, "") for k in KEYS]) + "\n")
    print(name, len(rows), file=sys.stderr)
