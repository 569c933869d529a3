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
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pcapfile import linktype, read, write  # noqa: E402

YEAR = 365 * 24 * 3600
HOUR = 3600


def main():
    src, out = sys.argv[1], sys.argv[2]
    hdr, recs = read(src)
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
        if linktype(hdr) != 1:
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
