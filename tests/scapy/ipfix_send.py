#!/usr/bin/python3
"""Sends the IPFIX datagrams of tests/ipfix_collector.rs to a running `tdr serve`, built with
scapy's IPFIX layers (Debian python3-scapy 2.5), independently of tdr's parser.

    /usr/bin/python3 tests/scapy/ipfix_send.py PORT BASE_TIME

From 127.0.0.1 (one exporter, one source port), observation domain 1, RFC 8158 natEvent values:
  1. a data set of template 256 before the template (sequence 0): quarantined;
  2. templates 256 (NAT44 session, VPP's layout) and 257 (port block), sequence 1;
  3. a NAT44 session create 100.64.9.2 -> 198.51.100.90:2000 and a port block allocation
     100.64.9.3 -> 198.51.100.91:4096-4607 (sequence 1, two records);
  4. a NAT44 session create 100.64.9.4 -> 198.51.100.90:2001 with sequence 6: three records
     (3, 4, 5) lost on the way.
From 127.0.0.2 (outside the listener's allow): a template message, dropped unread.
As in tests/data/ipfix/make-golden.py: scapy 2.5 writes the message length 2 octets short, so
it is set here; raw elements (natEvent, ports, ranges, VRF) are given as big-endian octets.
"""

import socket
import struct
import sys

from scapy.all import raw
from scapy.layers.netflow import (
    GetNetflowRecordV9,
    NetflowDataflowsetV9,
    NetflowFlowsetV9,
    NetflowHeader,
    NetflowHeaderV10,
    NetflowTemplateFieldV9,
    NetflowTemplateV9,
)
from scapy.layers.netflow import _CustomStrFixedLenField

NAT44 = [(323, 8), (230, 1), (8, 4), (225, 4), (4, 1), (7, 2), (227, 2), (234, 4)]
PBA = [(323, 8), (230, 1), (8, 4), (225, 4), (361, 2), (362, 2), (363, 2), (364, 2)]


def template_set(*templates):
    return NetflowFlowsetV9(flowSetID=2, templates=[
        NetflowTemplateV9(templateID=tid, template_fields=[
            NetflowTemplateFieldV9(fieldType=ie, fieldLength=n) for ie, n in fields])
        for tid, fields in templates])


def records(tid, fields, rows):
    cls = GetNetflowRecordV9(template_set((tid, fields)))
    recs = []
    for row in rows:
        kw = {}
        for f, (ie, n), v in zip(cls.fields_desc, fields, row):
            if isinstance(f, _CustomStrFixedLenField):
                v = v.to_bytes(n, "big")
            kw[f.name] = v
        recs.append(cls(**kw))
    return NetflowDataflowsetV9(templateID=tid, records=recs)


def message(export, seq, *sets):
    pkt = NetflowHeader(version=10) / NetflowHeaderV10(
        ExportTime=export, flowSequence=seq, ObservationDomainID=1)
    for s in sets:
        pkt = pkt / s
    n = len(raw(pkt))
    pkt[NetflowHeaderV10].length = n
    b = raw(pkt)
    assert struct.unpack("!HH", b[:4]) == (10, n)
    return b


def main():
    port, t = int(sys.argv[1]), int(sys.argv[2])
    ms = t * 1000
    templates = template_set((256, NAT44), (257, PBA))
    exporter = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    exporter.bind(("127.0.0.1", 0))
    for m in [
        message(t, 0, records(256, NAT44, [[ms, 4, "100.64.9.1", "198.51.100.90", 6, 40000, 1025, 0]])),
        message(t, 1, templates),
        message(t, 1,
                records(256, NAT44, [[ms, 4, "100.64.9.2", "198.51.100.90", 6, 40001, 2000, 0]]),
                records(257, PBA, [[ms, 16, "100.64.9.3", "198.51.100.91", 4096, 4607, 1, 512]])),
        message(t + 1, 6, records(256, NAT44, [[ms + 1000, 4, "100.64.9.4", "198.51.100.90", 17, 5353, 2001, 0]])),
    ]:
        exporter.sendto(m, ("127.0.0.1", port))
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stranger.bind(("127.0.0.2", 0))
    stranger.sendto(message(t, 0, templates), ("127.0.0.1", port))


if __name__ == "__main__":
    main()
