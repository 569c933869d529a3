#!/usr/bin/env python3
"""Cut and move packets of classic pcap files, for tests/cli_behaviour.sh.

    pcaptool.py slice IN OUT FIRST-LAST AT
        writes frames FIRST..LAST (1-based, inclusive; LAST may be '$' for the
        last frame) of IN to OUT, every timestamp moved by the same amount so
        that frame FIRST lands at AT (seconds since the epoch, decimal, micro-
        second precision). Relative timing inside the slice is kept.
    pcaptool.py first IN / pcaptool.py last IN
        prints the timestamp of IN's first / last frame (seconds, 6 decimals).

Only classic little- or big-endian microsecond pcap (what tests/data holds);
the pieces are merged in time order with mergecap afterwards. Nothing here
looks at the packets' contents: expectations come from the slicing plan.
"""
import struct
import sys


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic == b"\xd4\xc3\xb2\xa1":
        e = "<"
    elif magic == b"\xa1\xb2\xc3\xd4":
        e = ">"
    else:
        sys.exit(f"{path}: not a microsecond classic pcap")
    hdr = data[:24]
    frames = []
    off = 24
    while off + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack(e + "IIII", data[off:off + 16])
        body = data[off + 16:off + 16 + incl]
        if len(body) != incl:
            sys.exit(f"{path}: truncated frame at offset {off}")
        frames.append((sec * 1000000 + usec, orig, body))
        off += 16 + incl
    return e, hdr, frames


def main():
    if len(sys.argv) == 3 and sys.argv[1] in ("first", "last"):
        _, _, frames = read(sys.argv[2])
        t = frames[0 if sys.argv[1] == "first" else -1][0]
        print(f"{t // 1000000}.{t % 1000000:06d}")
        return
    if len(sys.argv) != 6 or sys.argv[1] != "slice":
        sys.exit(__doc__)
    _, src, dst, rng, at = sys.argv[1:]
    e, hdr, frames = read(src)
    first_s, last_s = rng.split("-")
    first = int(first_s)
    last = len(frames) if last_s == "$" else int(last_s)
    if not 1 <= first <= last <= len(frames):
        sys.exit(f"{src}: bad range {rng} ({len(frames)} frames)")
    sec_s, _, frac = at.partition(".")
    at_us = int(sec_s) * 1000000 + int((frac + "000000")[:6])
    delta = at_us - frames[first - 1][0]
    with open(dst, "wb") as f:
        f.write(hdr)
        for ts, orig, body in frames[first - 1:last]:
            ts += delta
            f.write(struct.pack(e + "IIII", ts // 1000000, ts % 1000000, len(body), orig))
            f.write(body)


if __name__ == "__main__":
    main()
