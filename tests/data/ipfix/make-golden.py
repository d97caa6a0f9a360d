#!/usr/bin/python3
"""Writes the binary golden inputs of tdr's `ipfix` format (tests/data/ipfix/*.ipfix).

Run with Debian's python3-scapy (2.5), NOT a virtualenv's python:

    /usr/bin/python3 tests/data/ipfix/make-golden.py

Every message is built with scapy's IPFIX layers (scapy.layers.netflow): NetflowHeader with
version 10 and NetflowHeaderV10, template sets as NetflowFlowsetV9(flowSetID=2) of
NetflowTemplateV9 / NetflowTemplateFieldV9 (the enterprise bit included), options template
sets as NetflowOptionsFlowset10, data sets as NetflowDataflowsetV9 whose records are the
classes GetNetflowRecordV9 generates from the template. What scapy cannot express is built
by hand with struct, and each place says so (see also SOURCE.md):

* scapy 2.5's NetflowHeaderV10 writes a message length 2 octets short (it leaves the version
  out): `message()` builds once, then sets the length to the real one and checks it;
* elements scapy has no decoder for (natEvent, the port range elements, VRF ids, natPoolId
  ...) are raw fields of the generated record: their values are given as big-endian octets;
* a record holding the same element twice with two values (Junos's two
  observationTimeMilliseconds), variable-length fields, options data records and records of
  templates with enterprise fields are NetflowRecordV9(fieldValue=<octets built here>);
* NetflowOptionsFlowset10's automatic padding cuts its option fields: pad=b"" is passed;
* the bad header and the cut-off message at the end of handmade-protocol.ipfix are bytes.

The outputs are deterministic (no clock, no randomness): running the script again rewrites
the same files, which `git diff --exit-code tests/data/ipfix` checks.
"""

import ipaddress
import os
import struct
import sys

from scapy.all import raw
from scapy.layers.netflow import (
    GetNetflowRecordV9,
    NetflowDataflowsetV9,
    NetflowFlowsetV9,
    NetflowHeader,
    NetflowHeaderV10,
    NetflowOptionsFlowset10,
    NetflowOptionsFlowsetOptionV9,
    NetflowOptionsFlowsetScopeV9,
    NetflowRecordV9,
    NetflowTemplateFieldV9,
    NetflowTemplateV9,
)
from scapy.layers.netflow import _CustomStrFixedLenField

HERE = os.path.dirname(os.path.abspath(__file__))

# 2026-11-21T10:00:00Z
T0 = 1795255200


def message(export, seq, domain, *sets):
    """One IPFIX message: header and sets, with its true length."""
    pkt = NetflowHeader(version=10) / NetflowHeaderV10(
        ExportTime=export, flowSequence=seq, ObservationDomainID=domain
    )
    for s in sets:
        pkt = pkt / s
    n = len(raw(pkt))
    pkt[NetflowHeaderV10].length = n
    b = raw(pkt)
    assert len(b) == n and struct.unpack("!HH", b[:4]) == (10, n), b[:4].hex()
    return b


def template_set(*templates):
    """A template set (id 2) of (template id, [(element, length[, enterprise])]) pairs."""
    out = []
    for tid, fields in templates:
        tf = []
        for f in fields:
            if len(f) == 3:
                tf.append(
                    NetflowTemplateFieldV9(
                        enterpriseBit=1,
                        fieldType=f[0],
                        fieldLength=f[1],
                        enterpriseNumber=f[2],
                    )
                )
            else:
                tf.append(NetflowTemplateFieldV9(fieldType=f[0], fieldLength=f[1]))
        out.append(NetflowTemplateV9(templateID=tid, template_fields=tf))
    return NetflowFlowsetV9(flowSetID=2, templates=out)


def withdrawal_set(set_id, *ids):
    """Template withdrawal records (RFC 7011 §8.1): the id and a field count of 0."""
    tpl = [NetflowTemplateV9(templateID=i, fieldCount=0, template_fields=[]) for i in ids]
    return NetflowFlowsetV9(flowSetID=set_id, templates=tpl)


def octets(value, length):
    if isinstance(value, bytes):
        assert len(value) == length
        return value
    return value.to_bytes(length, "big")


def records(tid, fields, rows):
    """A data set of template `tid` (its fields as given to template_set), one record per
    row of values, through the record class scapy generates from the template."""
    cls = GetNetflowRecordV9(template_set((tid, fields)))
    recs = []
    for row in rows:
        assert len(row) == len(fields)
        kw = {}
        for f, (field, value) in zip(cls.fields_desc, zip(fields, row)):
            if isinstance(f, _CustomStrFixedLenField):
                value = octets(value, field[1])
            assert f.name not in kw, "same element twice: build the record by hand"
            kw[f.name] = value
        rec = cls(**kw)
        assert len(raw(rec)) == sum(x[1] for x in fields), (tid, row)
        recs.append(rec)
    return NetflowDataflowsetV9(templateID=tid, records=recs)


def hand_records(tid, blobs):
    """A data set whose records are octets built here (see the module doc)."""
    return NetflowDataflowsetV9(
        templateID=tid, records=[NetflowRecordV9(fieldValue=b) for b in blobs]
    )


def ms(t):
    """A dateTimeMilliseconds value from seconds (scapy's N9UTCTimeField writes the integer
    it is given, in the field's unit)."""
    return int(round(t * 1000))


def v4(s):
    return ipaddress.IPv4Address(s).packed


def v6(s):
    return ipaddress.IPv6Address(s).packed


def write(name, messages):
    path = os.path.join(HERE, name)
    with open(path, "wb") as f:
        for m in messages:
            f.write(m)
    print(f"{name}: {len(messages)} messages, {sum(map(len, messages))} octets", file=sys.stderr)


# ---------------------------------------------------------------------------------------
# VPP NAT plugin (src/plugins/nat/lib/ipfix_logging.c): one template per message, one data
# set per message, the sequence number counting data messages (not records), domain 1.
# Template ids in the order nat_ipfix_logging_enable_disable() registers the reports.
VPP_NAT44 = [(323, 8), (230, 1), (8, 4), (225, 4), (4, 1), (7, 2), (227, 2), (234, 4)]
VPP_ADDR_EXHAUSTED = [(323, 8), (230, 1), (283, 4)]
VPP_MAX_SESSIONS = [(323, 8), (230, 1), (466, 4), (471, 4)]
VPP_MAX_BIBS = [(323, 8), (230, 1), (466, 4), (472, 4)]
VPP_NAT64_BIB = [(323, 8), (230, 1), (27, 16), (225, 4), (4, 1), (7, 2), (227, 2), (234, 4)]
VPP_NAT64_SES = [
    (323, 8), (230, 1), (27, 16), (225, 4), (4, 1), (7, 2), (227, 2),
    (28, 16), (226, 4), (11, 2), (228, 2), (234, 4),
]


def nat44(t, ev, inside, public, proto, sport, xport):
    return [ms(t), ev, inside, public, proto, sport, xport, 0]


def vpp_nat44():
    m = []
    # Template refresh: every report's template in a message of its own (sequence not moved).
    m.append(message(T0, 0, 1, template_set((256, VPP_NAT44))))
    m.append(message(T0, 0, 1, template_set((257, VPP_ADDR_EXHAUSTED))))
    m.append(message(T0, 0, 1, template_set((258, VPP_MAX_SESSIONS))))
    m.append(message(T0, 0, 1, template_set((259, VPP_MAX_BIBS))))
    # NAT44-ED sessions being created (natEvent 4): TCP 6, UDP 17, ICMP 1 (the port is the
    # ICMP identifier).
    m.append(message(T0 + 1, 0, 1, records(256, VPP_NAT44, [
        nat44(T0 + 0.125, 4, "100.64.0.10", "198.51.100.1", 6, 49152, 1025),
        nat44(T0 + 0.250, 4, "100.64.0.11", "198.51.100.1", 17, 5353, 1026),
        nat44(T0 + 0.375, 4, "100.64.0.12", "198.51.100.1", 6, 51000, 1027),
        nat44(T0 + 0.500, 4, "100.64.0.13", "198.51.100.2", 1, 771, 1024),
        nat44(T0 + 0.999, 4, "100.64.0.10", "198.51.100.1", 6, 49153, 1028),
        nat44(T0 + 1.000, 4, "100.64.0.14", "198.51.100.2", 17, 40000, 1025),
    ])))
    m.append(message(T0 + 3, 1, 1, records(256, VPP_NAT44, [
        nat44(T0 + 2.001, 4, "100.64.0.15", "198.51.100.2", 6, 33000, 1026),
        nat44(T0 + 2.002, 4, "100.64.0.16", "198.51.100.3", 6, 33001, 1024),
        nat44(T0 + 2.500, 5, "100.64.0.11", "198.51.100.1", 17, 5353, 1026),
        nat44(T0 + 2.750, 4, "100.64.0.17", "198.51.100.3", 17, 123, 1025),
        nat44(T0 + 2.900, 4, "100.64.0.11", "198.51.100.1", 17, 5353, 1029),
        nat44(T0 + 2.999, 4, "100.64.0.18", "198.51.100.3", 6, 60000, 1026),
    ])))
    # The pool ran out (natEvent 3) and the session limit was hit (natEvent 13, quota
    # event 1 = max session entries); VPP copies both u32 values in host order (x86: little
    # endian), as ipfix_logging.c does.
    m.append(message(T0 + 5, 2, 1, records(257, VPP_ADDR_EXHAUSTED, [
        [ms(T0 + 4.5), 3, 0],
    ])))
    m.append(message(T0 + 6, 3, 1, records(258, VPP_MAX_SESSIONS, [
        [ms(T0 + 5.25), 13, struct.pack("<I", 1), struct.pack("<I", 10000)],
    ])))
    # Sessions expiring (natEvent 5).
    m.append(message(T0 + 71, 4, 1, records(256, VPP_NAT44, [
        nat44(T0 + 70.010, 5, "100.64.0.10", "198.51.100.1", 6, 49152, 1025),
        nat44(T0 + 70.020, 5, "100.64.0.12", "198.51.100.1", 6, 51000, 1027),
        nat44(T0 + 70.030, 5, "100.64.0.13", "198.51.100.2", 1, 771, 1024),
        nat44(T0 + 70.040, 5, "100.64.0.10", "198.51.100.1", 6, 49153, 1028),
        nat44(T0 + 70.050, 5, "100.64.0.14", "198.51.100.2", 17, 40000, 1025),
        nat44(T0 + 70.060, 5, "100.64.0.15", "198.51.100.2", 6, 33000, 1026),
        nat44(T0 + 70.070, 5, "100.64.0.16", "198.51.100.3", 6, 33001, 1024),
        nat44(T0 + 70.080, 5, "100.64.0.17", "198.51.100.3", 17, 123, 1025),
    ])))
    return m


def vpp_nat64():
    m = []
    m.append(message(T0, 0, 1, template_set((260, VPP_NAT64_BIB))))
    m.append(message(T0, 0, 1, template_set((261, VPP_NAT64_SES))))
    # A BIB entry, then its session (natEvent 10, 6), then both gone (7, 11).
    m.append(message(T0 + 10, 0, 1, records(260, VPP_NAT64_BIB, [
        [ms(T0 + 9.5), 10, "2001:db8:1::10", "203.0.113.5", 6, 50000, 20000, 0],
        [ms(T0 + 9.6), 10, "2001:db8:1::11", "203.0.113.5", 17, 50001, 20001, 0],
    ])))
    m.append(message(T0 + 10, 1, 1, records(261, VPP_NAT64_SES, [
        [ms(T0 + 9.5), 6, "2001:db8:1::10", "203.0.113.5", 6, 50000, 20000,
         "64:ff9b::c000:221", "192.0.2.33", 443, 443, 0],
    ])))
    m.append(message(T0 + 310, 2, 1, records(261, VPP_NAT64_SES, [
        [ms(T0 + 309.5), 7, "2001:db8:1::10", "203.0.113.5", 6, 50000, 20000,
         "64:ff9b::c000:221", "192.0.2.33", 443, 443, 0],
    ])))
    m.append(message(T0 + 330, 3, 1, records(260, VPP_NAT64_BIB, [
        [ms(T0 + 329.5), 11, "2001:db8:1::10", "203.0.113.5", 6, 50000, 20000, 0],
    ])))
    return m


# ---------------------------------------------------------------------------------------
# Junos (MS-MPC / MX-SPC3) IPFIX NAT logging: draft-ietf-behave-ipfix-nat-logging-02 natEvent
# values, elements from Juniper's mapping tables; two service PICs = two observation domains.
# The field ORDER of these templates is tdr's reconstruction (Juniper's tables were not read
# whole), see SOURCE.md.
JUNOS_NAT44_SES = [
    (323, 8), (230, 1), (234, 4), (235, 4), (8, 4), (225, 4), (4, 1), (7, 2), (227, 2),
    (12, 4), (226, 4), (11, 2), (228, 2),
]
JUNOS_PBA = [
    (323, 8), (230, 1), (234, 4), (8, 4), (225, 4), (361, 2), (362, 2), (363, 2), (364, 2),
    (284, 64), (323, 8),
]
JUNOS_ADDR_BIND = [(323, 8), (230, 1), (234, 4), (8, 4), (225, 4)]
JUNOS_PORTS_EXHAUSTED = [(323, 8), (230, 1), (225, 4), (4, 1)]


def junos_pba_record(t_event_ms, ev, inside, public, start, end, step, num, pool, t_alloc_ms):
    """By hand: the template holds observationTimeMilliseconds twice with two values."""
    return (
        struct.pack("!QBI", t_event_ms, ev, 0)
        + v4(inside)
        + v4(public)
        + struct.pack("!HHHH", start, end, step, num)
        + pool.encode().ljust(64, b"\0")
        + struct.pack("!Q", t_alloc_ms)
    )


def junos():
    m = []
    for dom in (8, 9):
        m.append(message(T0 + 20, 100 if dom == 8 else 7, dom, template_set(
            (256, JUNOS_NAT44_SES), (257, JUNOS_PBA), (258, JUNOS_ADDR_BIND),
            (259, JUNOS_PORTS_EXHAUSTED))))
    # PIC 8: port blocks allocated (14), a session logged as well (1), then released (15, 2).
    t = (T0 + 21) * 1000
    m.append(message(T0 + 21, 100, 8, hand_records(257, [
        junos_pba_record(t + 5, 14, "100.64.1.10", "203.0.113.10", 1024, 1535, 1, 512, "cgn-pool", t + 5),
        junos_pba_record(t + 9, 14, "100.64.1.11", "203.0.113.10", 1536, 2047, 1, 512, "cgn-pool", t + 9),
    ])))
    m.append(message(T0 + 22, 102, 8, records(256, JUNOS_NAT44_SES, [
        [ms(T0 + 22.25), 1, 0, 0, "100.64.1.10", "203.0.113.10", 6, 41000, 1030,
         "192.0.2.80", "192.0.2.80", 80, 80],
    ])))
    # PIC 9, another observation domain with the same template ids: an address binding
    # (12) and its session.
    m.append(message(T0 + 23, 7, 9, records(258, JUNOS_ADDR_BIND, [
        [ms(T0 + 23.5), 12, 0, "100.64.2.20", "203.0.113.20"],
    ])))
    m.append(message(T0 + 24, 8, 9, records(256, JUNOS_NAT44_SES, [
        [ms(T0 + 24.0), 1, 0, 0, "100.64.2.20", "203.0.113.20", 17, 5060, 5060,
         "192.0.2.90", "192.0.2.90", 5060, 5060],
    ])))
    # Ports exhausted on 203.0.113.10 (10): no binding.
    m.append(message(T0 + 25, 103, 8, records(259, JUNOS_PORTS_EXHAUSTED, [
        [ms(T0 + 25.0), 10, "203.0.113.10", 6],
    ])))
    # Releases: the block's first time is the release, its second the allocation.
    t2 = (T0 + 3600) * 1000
    m.append(message(T0 + 3600, 104, 8, records(256, JUNOS_NAT44_SES, [
        [ms(T0 + 3599.0), 2, 0, 0, "100.64.1.10", "203.0.113.10", 6, 41000, 1030,
         "192.0.2.80", "192.0.2.80", 80, 80],
    ])))
    m.append(message(T0 + 3600, 105, 8, hand_records(257, [
        junos_pba_record(t2 + 1, 15, "100.64.1.10", "203.0.113.10", 1024, 1535, 1, 512, "cgn-pool", t + 5),
    ])))
    m.append(message(T0 + 3601, 9, 9, records(258, JUNOS_ADDR_BIND, [
        [ms(T0 + 3601.0), 13, 0, "100.64.2.20", "203.0.113.20"],
    ])))
    return m


# ---------------------------------------------------------------------------------------
# RFC 8158 §4 templates with the IANA natEvent values: port blocks (16/17), address
# bindings (14/15), NAT44 BIB (8/9), and events without a binding (12, 18).
RFC_PBA = [(323, 8), (230, 1), (234, 4), (8, 4), (225, 4), (361, 2), (362, 2), (363, 2), (364, 2)]
RFC_ADDR_BIND = [(323, 8), (230, 1), (234, 4), (8, 4), (225, 4)]
RFC_NAT44_BIB = [(323, 8), (230, 1), (234, 4), (8, 4), (225, 4), (4, 1), (7, 2), (227, 2)]
RFC_PORTS_EXHAUSTED = [(323, 8), (230, 1), (225, 4), (4, 1)]
RFC_THRESHOLD = [(323, 8), (230, 1), (467, 4), (476, 4)]


def rfc8158():
    m = []
    m.append(message(T0 + 100, 0, 5, template_set(
        (300, RFC_PBA), (301, RFC_ADDR_BIND), (302, RFC_NAT44_BIB),
        (303, RFC_PORTS_EXHAUSTED), (304, RFC_THRESHOLD))))
    m.append(message(T0 + 101, 0, 5, records(300, RFC_PBA, [
        # Contiguous block.
        [ms(T0 + 100.5), 16, 0, "100.64.3.1", "198.51.100.50", 2048, 2559, 1, 512],
        # Every 4th port of 4096..8191 (a step over 1 still spans start..end).
        [ms(T0 + 100.6), 16, 0, "100.64.3.2", "198.51.100.50", 4096, 8191, 4, 1024],
        # End not specified (0): start + (num - 1) * step = 10000 + 255 * 2 = 10510.
        [ms(T0 + 100.7), 16, 0, "100.64.3.3", "198.51.100.50", 10000, 0, 2, 256],
    ])))
    m.append(message(T0 + 102, 3, 5, records(301, RFC_ADDR_BIND, [
        [ms(T0 + 101.0), 14, 0, "100.64.3.4", "198.51.100.51"],
    ]), records(302, RFC_NAT44_BIB, [
        [ms(T0 + 101.5), 8, 0, "100.64.3.4", "198.51.100.51", 17, 3478, 3478],
    ])))
    m.append(message(T0 + 103, 5, 5, records(303, RFC_PORTS_EXHAUSTED, [
        [ms(T0 + 102.0), 12, "198.51.100.50", 6],
    ]), records(304, RFC_THRESHOLD, [
        [ms(T0 + 102.0), 18, 1, 90],
        [ms(T0 + 102.2), 18, 1, 91],
    ])))
    m.append(message(T0 + 900, 8, 5, records(300, RFC_PBA, [
        [ms(T0 + 899.0), 17, 0, "100.64.3.1", "198.51.100.50", 2048, 2559, 1, 512],
        [ms(T0 + 899.1), 17, 0, "100.64.3.3", "198.51.100.50", 10000, 0, 2, 256],
    ]), records(302, RFC_NAT44_BIB, [
        [ms(T0 + 899.2), 9, 0, "100.64.3.4", "198.51.100.51", 17, 3478, 3478],
    ]), records(301, RFC_ADDR_BIND, [
        [ms(T0 + 899.3), 15, 0, "100.64.3.4", "198.51.100.51"],
    ])))
    # nfdump issue #521's record: natEvent 1 ("NAT translation create") with portRangeStart
    # 1536, portRangeEnd 0, step 1, 512 ports.
    m.append(message(T0 + 901, 12, 5, records(300, RFC_PBA, [
        [ms(T0 + 900.5), 1, 0, "100.66.79.193", "198.51.100.52", 1536, 0, 1, 512],
    ])))
    return m


# ---------------------------------------------------------------------------------------
# Cisco CGN (vCGN, plugins/vcgn/cnat_logging.h in VPP 17.01): add and delete records in
# templates of their own, without natEvent. Template ids as cnat_logging.h defines them.
CISCO_ADD = [(234, 4), (235, 4), (8, 4), (225, 4), (7, 2), (227, 2), (4, 1)]
CISCO_DEL = [(234, 4), (8, 4), (7, 2), (4, 1)]
CISCO_BULK_ADD = [(234, 4), (235, 4), (8, 4), (225, 4), (361, 2), (362, 2)]
CISCO_BULK_DEL = [(234, 4), (8, 4), (361, 2)]


def cisco():
    m = []
    m.append(message(T0 + 200, 0, 0x1234, template_set(
        (256, CISCO_ADD), (257, CISCO_DEL), (265, CISCO_BULK_ADD), (266, CISCO_BULK_DEL))))
    m.append(message(T0 + 201, 0, 0x1234, records(265, CISCO_BULK_ADD, [
        [1, 2, "100.64.4.1", "198.51.100.60", 1024, 1535],
        [1, 2, "100.64.4.2", "198.51.100.60", 1536, 2047],
    ])))
    m.append(message(T0 + 202, 2, 0x1234, records(256, CISCO_ADD, [
        [1, 2, "100.64.4.3", "198.51.100.61", 40000, 2000, 6],
    ])))
    m.append(message(T0 + 300, 3, 0x1234, records(266, CISCO_BULK_DEL, [
        [1, "100.64.4.1", 1024],
    ]), records(257, CISCO_DEL, [
        [1, "100.64.4.3", 40000, 6],
    ])))
    return m


# ---------------------------------------------------------------------------------------
# Protocol cases, in the layout of RFC 8158's NAT44 session template (hand-made).
RFC_NAT44_SES = [(323, 8), (230, 1), (8, 4), (225, 4), (4, 1), (7, 2), (227, 2)]
VARLEN = [(323, 8), (284, 65535), (5, 4, 2636), (230, 1), (8, 4), (225, 4), (227, 2)]


def ses(t, ev, inside, public, xport):
    return [ms(t), ev, inside, public, 6, 40000, xport]


def varlen_record(t_ms, pool, ev, inside, public, xport):
    """By hand: a variable-length natPoolName and an enterprise element."""
    name = pool.encode()
    head = struct.pack("!B", len(name)) if len(name) < 255 else struct.pack("!BH", 255, len(name))
    return (
        struct.pack("!Q", t_ms) + head + name + struct.pack("!I", 0xDEADBEEF)
        + struct.pack("!B", ev) + v4(inside) + v4(public) + struct.pack("!H", xport)
    )


def handmade():
    m = []
    # 1. A data set before its template (the collector started after the exporter sent it):
    #    rejected, parse.ipfix.unknown_template.
    m.append(message(T0 + 400, 50, 1, records(256, RFC_NAT44_SES, [
        ses(T0 + 399.0, 4, "100.64.5.1", "198.51.100.70", 3000),
    ])))
    # 2. The template, then data: 2 records (sequence 51, 52).
    m.append(message(T0 + 401, 51, 1, template_set((256, RFC_NAT44_SES))))
    m.append(message(T0 + 402, 51, 1, records(256, RFC_NAT44_SES, [
        ses(T0 + 401.0, 4, "100.64.5.2", "198.51.100.70", 3001),
        ses(T0 + 401.5, 4, "100.64.5.3", "198.51.100.70", 3002),
    ])))
    # 3. A gap: 53 expected, 57 comes (4 records lost).
    m.append(message(T0 + 403, 57, 1, records(256, RFC_NAT44_SES, [
        ses(T0 + 402.0, 5, "100.64.5.2", "198.51.100.70", 3001),
    ])))
    # 4. Domain 2 defines template 256 otherwise (a port block); domain 1 is unaffected.
    m.append(message(T0 + 404, 0, 2, template_set((256, RFC_PBA))))
    m.append(message(T0 + 405, 0, 2, records(256, RFC_PBA, [
        [ms(T0 + 404.0), 16, 0, "100.64.6.1", "198.51.100.80", 5000, 5999, 1, 1000],
    ])))
    m.append(message(T0 + 405, 58, 1, records(256, RFC_NAT44_SES, [
        ses(T0 + 404.5, 5, "100.64.5.3", "198.51.100.70", 3002),
    ])))
    # 5. Domain 1 withdraws 256; its next data set of 256 is rejected.
    m.append(message(T0 + 406, 59, 1, withdrawal_set(2, 256)))
    m.append(message(T0 + 407, 59, 1, records(256, RFC_NAT44_SES, [
        ses(T0 + 406.0, 4, "100.64.5.4", "198.51.100.70", 3003),
    ])))
    # 6. Redefined as a port block template, with a variable-length template beside it.
    m.append(message(T0 + 408, 60, 1, template_set((256, RFC_PBA), (257, VARLEN))))
    m.append(message(T0 + 409, 60, 1, records(256, RFC_PBA, [
        [ms(T0 + 408.0), 16, 0, "100.64.5.4", "198.51.100.71", 7000, 7099, 1, 100],
    ]), hand_records(257, [
        varlen_record((T0 + 408) * 1000 + 500, "pool-a", 4, "100.64.5.5", "198.51.100.72", 4000),
        varlen_record((T0 + 408) * 1000 + 600, "p" * 300, 4, "100.64.5.6", "198.51.100.72", 4001),
    ])))
    # 7. An options template (exporter statistics, scope observationDomainId) and its data:
    #    read past, no event, so the message marks coverage at its export time.
    opt = NetflowOptionsFlowset10(
        templateID=400,
        scopes=[NetflowOptionsFlowsetScopeV9(scopeFieldType=149, scopeFieldlength=4)],
        options=[NetflowOptionsFlowsetOptionV9(optionFieldType=41, optionFieldlength=8)],
        pad=b"",
    )
    m.append(message(T0 + 410, 63, 1, opt, hand_records(400, [struct.pack("!IQ", 1, 63)])))
    # 8. All templates withdrawn (id 2): domain 1's port block data is rejected again.
    m.append(message(T0 + 411, 64, 1, withdrawal_set(2, 2)))
    m.append(message(T0 + 412, 64, 1, records(256, RFC_PBA, [
        [ms(T0 + 411.0), 17, 0, "100.64.5.4", "198.51.100.71", 7000, 7099, 1, 100],
    ])))
    # 9. Bytes that are no message (a line of text written into the stream by mistake),
    #    then a message again, then a message cut off at the end of the file.
    m.append(b"not an ipfix message\n")
    m.append(message(T0 + 413, 1, 2, records(256, RFC_PBA, [
        [ms(T0 + 412.0), 17, 0, "100.64.6.1", "198.51.100.80", 5000, 5999, 1, 1000],
    ])))
    cut = message(T0 + 414, 2, 2, records(256, RFC_PBA, [
        [ms(T0 + 413.0), 16, 0, "100.64.6.2", "198.51.100.80", 6000, 6999, 1, 1000],
    ]))
    m.append(cut[:30])
    return m


def main():
    write("vpp-nat44.ipfix", vpp_nat44())
    write("vpp-nat64.ipfix", vpp_nat64())
    write("junos-draft02.ipfix", junos())
    write("rfc8158-blocks.ipfix", rfc8158())
    write("cisco-cgn-bulk.ipfix", cisco())
    write("handmade-protocol.ipfix", handmade())


if __name__ == "__main__":
    main()
