#!/usr/bin/env python3
"""clock_variants.py SRC.pcap OUTDIR — variants of one capture whose clock
misbehaves, for tests/clock_jumps.sh. Only timestamps change (and one frame
is added in 'outlier_arp'); the packets and their order are the source's, so
the expected verdict is the source's own (tests/data/index.tsv).

  outlier_fwd    one frame in the middle stamped a year later
  outlier_back   one frame in the middle stamped a year earlier
  outlier_arp    an ARP frame stamped ten years later inserted in the middle
  step_fwd       every frame from the middle on stamped one hour later
  step_back      every frame from the middle on stamped one hour earlier
"""
import os
import struct
import sys

YEAR = 365 * 24 * 3600
HOUR = 3600


def read(path):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic != 0xA1B2C3D4:
        sys.exit("%s: only little-endian microsecond pcap is supported" % path)
    hdr, off, recs = data[:24], 24, []
    while off + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        recs.append([sec, usec, orig, data[off + 16:off + 16 + incl]])
        off += 16 + incl
    return hdr, recs


def write(path, hdr, recs):
    with open(path, "wb") as f:
        f.write(hdr)
        for sec, usec, orig, pkt in recs:
            f.write(struct.pack("<IIII", sec, usec, len(pkt), orig) + pkt)


def main():
    src, out = sys.argv[1], sys.argv[2]
    hdr, recs = read(src)
    linktype = struct.unpack("<I", hdr[20:24])[0]
    mid = len(recs) // 2
    os.makedirs(out, exist_ok=True)

    def variant(name, fn):
        r = [list(x) for x in recs]
        fn(r)
        write(os.path.join(out, name + ".pcap"), hdr, r)

    def shift_one(delta):
        def f(r):
            r[mid][0] += delta
        return f

    def shift_from_mid(delta):
        def f(r):
            for x in r[mid:]:
                x[0] += delta
        return f

    def add_arp(r):
        if linktype != 1:
            sys.exit("outlier_arp needs an Ethernet capture")
        arp = (b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x06" +
               b"\x00\x01\x08\x00\x06\x04\x00\x01" + b"\x02\x00\x00\x00\x00\x01" +
               bytes([10, 0, 0, 1]) + b"\x00" * 6 + bytes([10, 0, 0, 2]))
        sec, usec = r[mid][0] + 10 * YEAR, r[mid][1]
        r.insert(mid, [sec, usec, len(arp), arp])

    variant("outlier_fwd", shift_one(YEAR))
    variant("outlier_back", shift_one(-YEAR))
    variant("outlier_arp", add_arp)
    variant("step_fwd", shift_from_mid(HOUR))
    variant("step_back", shift_from_mid(-HOUR))


main()
