"""pcapfile.py — the one reader and writer of classic pcap files for the
scripts that derive test captures from the committed ones (clock_variants.py,
one_direction.py, offload_variants.py). Little-endian, microsecond pcap only:
what tcpdump wrote for tests/data. Records are [sec, usec, orig_len, frame]."""
import struct
import sys


def read(path, ethernet=False, whole=False):
    """(header bytes, records) of PATH; exits with a message on a format the
    scripts do not handle (ETHERNET: link type 1 only; WHOLE: no frame cut
    by the snapshot length)."""
    data = open(path, "rb").read()
    if len(data) < 24 or struct.unpack("<I", data[:4])[0] != 0xA1B2C3D4:
        sys.exit("%s: only little-endian microsecond pcap is supported" % path)
    if ethernet and struct.unpack("<I", data[20:24])[0] != 1:
        sys.exit("%s: only Ethernet captures are supported" % path)
    hdr, off, recs = data[:24], 24, []
    while off + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack("<IIII", data[off:off + 16])
        if whole and incl != orig:
            sys.exit("%s: a frame is cut by the snapshot length" % path)
        recs.append([sec, usec, orig, data[off + 16:off + 16 + incl]])
        off += 16 + incl
    return hdr, recs


def linktype(hdr):
    return struct.unpack("<I", hdr[20:24])[0]


def write(path, hdr, recs):
    """Writes RECS ([sec, usec, orig_len, frame]); the captured length is the
    frame's, orig_len is kept (a frame cut by the snapshot stays cut)."""
    with open(path, "wb") as f:
        f.write(hdr)
        for sec, usec, orig, pkt in recs:
            f.write(struct.pack("<IIII", sec, usec, len(pkt), max(orig, len(pkt))) + pkt)
