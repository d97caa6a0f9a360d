#!/usr/bin/python3
"""Builds the NetFlow v9 and IPFIX NAT event packets behind the nfdump-nat golden input and
sends them over UDP to a local nfcapd (see SOURCE.md for the exact commands).

Every value is fixed (times, addresses, ports), so the capture is the same on every run and
the expected events can be written by hand from this file. Addresses are documentation and
shared-address-space ranges. Uses scapy's NetFlow layers (python3-scapy) for the headers and
templates; data records are packed by hand from the templates below.

    /usr/bin/python3 make-capture.py [PORT [mixed|v9-blocks]]   (default 9995 mixed, to 127.0.0.1)
"""

import socket
import struct
import sys

from scapy.layers.netflow import (
    NetflowFlowsetV9,
    NetflowHeader,
    NetflowHeaderV9,
    NetflowHeaderV10,
    NetflowTemplateFieldV9,
    NetflowTemplateV9,
)

T0 = 1795255200  # 2026-11-21T10:00:00Z

# IANA IPFIX information elements (RFC 8158 and the IANA registry); natEvent values from the
# IANA "NAT Event Type" registry: 1/2 NAT translation create/delete (historic, as Cisco's
# NetFlow v9 NEL exporters send), 4/5 NAT44 session create/delete, 6/7 NAT64 session
# create/delete, 16/17 port block allocation/de-allocation.
OBS_TIME_MS = (323, 8)
NAT_EVENT = (230, 1)
INGRESS_VRF = (234, 4)
PROTO = (4, 1)
SRC4 = (8, 4)
SRC6 = (27, 16)
SPORT = (7, 2)
XSRC4 = (225, 4)
XSPORT = (227, 2)
DST4 = (12, 4)
DST6 = (28, 16)
DPORT = (11, 2)
PB_START = (361, 2)
PB_END = (362, 2)
PB_STEP = (363, 2)
PB_SIZE = (364, 2)

SESSION44 = [OBS_TIME_MS, NAT_EVENT, INGRESS_VRF, PROTO, SRC4, SPORT, XSRC4, XSPORT, DST4, DPORT]
SESSION64 = [OBS_TIME_MS, NAT_EVENT, INGRESS_VRF, PROTO, SRC6, SPORT, XSRC4, XSPORT, DST6, DPORT]
BLOCK44 = [OBS_TIME_MS, NAT_EVENT, INGRESS_VRF, SRC4, XSRC4, PB_START, PB_END, PB_STEP, PB_SIZE]


def ip4(s):
    return socket.inet_pton(socket.AF_INET, s)


def ip6(s):
    return socket.inet_pton(socket.AF_INET6, s)


def pack(fields, values):
    out = b""
    for (ie, ln), v in zip(fields, values):
        if isinstance(v, bytes):
            assert len(v) == ln, (ie, v)
            out += v
        else:
            out += v.to_bytes(ln, "big")
    return out


def template(tid, fields):
    return NetflowTemplateV9(
        templateID=tid,
        template_fields=[NetflowTemplateFieldV9(fieldType=ie, fieldLength=ln) for ie, ln in fields],
    )


def data_set(tid, records):
    body = b"".join(records)
    pad = (-(4 + len(body))) % 4
    return struct.pack("!HH", tid, 4 + len(body) + pad) + body + b"\0" * pad


def ms(secs, milli=0):
    return (T0 + secs) * 1000 + milli


def session44(t, ev, src, sport, xsrc, xsport, dst, dport, proto=6, vrf=0):
    return pack(SESSION44, [t, ev, vrf, proto, ip4(src), sport, ip4(xsrc), xsport, ip4(dst), dport])


def session64(t, ev, src, sport, xsrc, xsport, dst, dport, proto=6, vrf=0):
    return pack(SESSION64, [t, ev, vrf, proto, ip6(src), sport, ip4(xsrc), xsport, ip6(dst), dport])


def block44(t, ev, src, xsrc, start, end, step=1, vrf=0):
    return pack(BLOCK44, [t, ev, vrf, ip4(src), ip4(xsrc), start, end, step, end - start + 1])


def ipfix(seq, export, sets):
    """An IPFIX message: header, then the sets (bytes). `seq` counts the data records sent
    before this message (RFC 7011)."""
    body = b"".join(sets)
    hdr = NetflowHeader(version=10) / NetflowHeaderV10(
        length=16 + len(body), ExportTime=export, flowSequence=seq, ObservationDomainID=1
    )
    return bytes(hdr) + body


def ipfix_templates(templates):
    fs = NetflowFlowsetV9(flowSetID=2, templates=templates)
    return bytes(fs)


def v9(seq, uptime, export, count, flowsets):
    hdr = NetflowHeader(version=9) / NetflowHeaderV9(
        count=count, sysUptime=uptime, unixSecs=export, packageSequence=seq, SourceID=7
    )
    return bytes(hdr) + b"".join(flowsets)


def packets():
    # IPFIX: templates, then NAT44 sessions, NAT64 sessions and NAT44 port blocks.
    yield ipfix(0, T0, [ipfix_templates([template(256, SESSION44), template(257, SESSION64), template(258, BLOCK44)])])
    yield ipfix(0, T0 + 1, [
        data_set(258, [
            block44(ms(0), 16, "100.64.12.34", "203.0.113.17", 20480, 20735),
            block44(ms(2, 250), 16, "100.64.12.35", "203.0.113.17", 20736, 20991),
        ]),
        data_set(256, [
            session44(ms(3, 500), 4, "100.64.12.34", 51000, "203.0.113.17", 20481, "192.0.2.80", 443),
            session44(ms(4), 4, "100.64.12.36", 40000, "203.0.113.18", 1030, "192.0.2.53", 53, proto=17),
        ]),
        data_set(257, [
            session64(ms(5), 6, "2001:db8:1::42", 50123, "203.0.113.19", 2048, "64:ff9b::c000:250", 80),
        ]),
    ])
    yield ipfix(5, T0 + 301, [
        data_set(256, [
            session44(ms(300, 999), 5, "100.64.12.34", 51000, "203.0.113.17", 20481, "192.0.2.80", 443),
            session44(ms(301), 5, "100.64.12.36", 40000, "203.0.113.18", 1030, "192.0.2.53", 53, proto=17),
        ]),
        data_set(257, [
            session64(ms(302), 7, "2001:db8:1::42", 50123, "203.0.113.19", 2048, "64:ff9b::c000:250", 80),
        ]),
        data_set(258, [
            block44(ms(600), 17, "100.64.12.34", "203.0.113.17", 20480, 20735),
        ]),
    ])
    # NetFlow v9 (Cisco NEL style: natEvent 1 create / 2 delete) from another exporter id.
    tmpl = NetflowFlowsetV9(templates=[template(260, SESSION44), template(261, BLOCK44)])
    yield v9(0, 1000, T0 + 10, 2, [bytes(tmpl)])
    yield v9(1, 2000, T0 + 11, 3, [
        data_set(260, [
            session44(ms(10), 1, "100.64.200.7", 33000, "198.51.100.44", 40961, "192.0.2.25", 25),
            session44(ms(70), 2, "100.64.200.7", 33000, "198.51.100.44", 40961, "192.0.2.25", 25),
        ]),
        data_set(261, [
            block44(ms(11), 16, "100.64.200.8", "198.51.100.44", 42240, 43519),
        ]),
    ])


def v9_blocks():
    """NetFlow v9 only: a CGNAT's port blocks (natEvent 16/17) for eight subscribers, seven of
    them released later, and two translations (natEvent 1/2), from exporter source id 9."""
    tmpl = NetflowFlowsetV9(templates=[template(270, BLOCK44), template(271, SESSION44)])
    yield v9(0, 5000, T0 + 3600, 2, [bytes(tmpl)])
    allocs = [
        block44(ms(3600 + i), 16, f"100.64.1.{10 + i}", "198.51.100.60", 1024 + 512 * i, 1535 + 512 * i)
        for i in range(8)
    ]
    yield v9(1, 6000, T0 + 3610, 9, [
        data_set(270, allocs),
        data_set(271, [session44(ms(3608), 1, "100.64.1.99", 45000, "198.51.100.61", 61000, "192.0.2.99", 123, proto=17)]),
    ])
    releases = [
        block44(ms(7200 + i), 17, f"100.64.1.{10 + i}", "198.51.100.60", 1024 + 512 * i, 1535 + 512 * i)
        for i in range(7)
    ]
    yield v9(2, 9000, T0 + 7210, 8, [
        data_set(270, releases),
        data_set(271, [session44(ms(7207), 2, "100.64.1.99", 45000, "198.51.100.61", 61000, "192.0.2.99", 123, proto=17)]),
    ])


SCENARIOS = {"mixed": packets, "v9-blocks": v9_blocks}


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9995
    scenario = SCENARIOS[sys.argv[2] if len(sys.argv) > 2 else "mixed"]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for p in scenario():
        s.sendto(p, ("127.0.0.1", port))
    print("sent")


if __name__ == "__main__":
    main()
