#!/usr/bin/env python3
"""one_direction.py SRC.pcap OUTDIR — the two halves of a capture, for
tests/one_direction.sh: what a SPAN port mirroring one side, asymmetric
routing or tcpdump on one leg would have recorded.

  OUTDIR/NAME-client_only.pcap   only the packets the client sent
  OUTDIR/NAME-server_only.pcap   only the packets the server sent

The client of each TCP connection is the sender of its SYN (or, without
one, the side whose peer uses port 3389). Packets are kept or dropped whole,
with their timestamps; nothing else changes. Little-endian microsecond pcap
with Ethernet (VLAN tags allowed), IPv4 or IPv6; other frames (ARP, ...)
go to both halves.
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapfile  # noqa: E402

RDP_PORT = 3389


def tcp_of(frame):
    """(src, sport, dst, dport, flags) of a TCP frame, or None."""
    off, etype = 14, struct.unpack(">H", frame[12:14])[0] if len(frame) >= 14 else 0
    while etype in (0x8100, 0x88A8) and len(frame) >= off + 4:
        etype = struct.unpack(">H", frame[off + 2:off + 4])[0]
        off += 4
    if etype == 0x0800 and len(frame) >= off + 20:
        ihl = (frame[off] & 0x0F) * 4
        if frame[off + 9] != 6:
            return None
        src, dst, t = frame[off + 12:off + 16], frame[off + 16:off + 20], off + ihl
    elif etype == 0x86DD and len(frame) >= off + 40:
        if frame[off + 6] != 6:
            return None
        src, dst, t = frame[off + 8:off + 24], frame[off + 24:off + 40], off + 40
    else:
        return None
    if len(frame) < t + 14:
        return None
    sport, dport = struct.unpack(">HH", frame[t:t + 4])
    return (src, sport, dst, dport, frame[t + 13])


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: one_direction.py SRC.pcap OUTDIR")
    src, out = sys.argv[1], sys.argv[2]
    hdr, recs = pcapfile.read(src, ethernet=True)
    clients = {}  # connection key -> client endpoint
    for rec in recs:
        t = tcp_of(rec[3])
        if not t:
            continue
        a, b = (t[0], t[1]), (t[2], t[3])
        key = frozenset((a, b))
        if key in clients:
            continue
        if t[4] & 0x02:  # SYN: its sender is the client; SYN-ACK: its receiver
            clients[key] = b if t[4] & 0x10 else a
        elif t[3] == RDP_PORT:
            clients[key] = a
        elif t[1] == RDP_PORT:
            clients[key] = b
    halves = {"client_only": [], "server_only": []}
    for rec in recs:
        t = tcp_of(rec[3])
        if not t or frozenset(((t[0], t[1]), (t[2], t[3]))) not in clients:
            for h in halves.values():
                h.append(rec)
            continue
        from_client = clients[frozenset(((t[0], t[1]), (t[2], t[3])))] == (t[0], t[1])
        halves["client_only" if from_client else "server_only"].append(rec)
    os.makedirs(out, exist_ok=True)
    name = os.path.splitext(os.path.basename(src))[0]
    for half, r in halves.items():
        pcapfile.write(os.path.join(out, "%s-%s.pcap" % (name, half)), hdr, r)


if __name__ == "__main__":
    main()
