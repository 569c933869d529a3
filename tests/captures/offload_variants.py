#!/usr/bin/env python3
"""offload_variants.py BLACKHOLE.pcap CLEAN.pcap OUTDIR — captures of one real
connection as other vantage points would have taken them, for tests/offload.sh
(issue #10 items 2 and 3). Only the packets change; the expected verdicts
follow from how each file was made (written to OUTDIR/expect.tsv), never from
running rdpwhy.

BLACKHOLE is tests/data/lab/13_mtu_blackhole_path.pcap: an MTU black hole
captured on the host side with offloads off. The server's 1448-byte segment
(MSS 1460 less the 12-byte timestamps option) and its 685-byte tail leave
back to back; the 1448 bytes never arrive, so the server retransmits them,
1448 bytes each time, and they are never acknowledged.

  tso_sender.pcap     as the sender captures with TSO/GSO on: the first
                      transmission of each run of back-to-back new segments
                      of the server is one super-segment (here 1448 + 685 =
                      2133 bytes, stamped when it was sent, the first); the
                      retransmissions stay 1448 (they leave one at a time).
                      Expected: mtu_blackhole.
  gro_receiver.pcap   as a host that receives the server's segments captures
                      with GRO on (the capture point's interface receives
                      them): back-to-back in-order segments with the same
                      ACK and options are merged into the first one's
                      headers, PSH/FIN ORed in, stamped when the last one
                      arrived. Expected: mtu_blackhole.
  tso_midstream.pcap  tso_sender.pcap without the three handshake packets
                      (the capture began after them): no MSS option to go
                      by, so full size comes from the retransmissions.
                      Expected: mtu_blackhole.
  receiver_loss.pcap  as the client would capture it: the server's 1448-byte
                      segments never arrive (the network dropped them),
                      everything else does. The hole is never acknowledged:
                      network loss, so no capture gap may be claimed, and no
                      retransmission is visible. (No cause is asserted.)

CLEAN is tests/data/tls_ok.pcap (its verdict is in tests/data/index.tsv).

  capture_loss.pcap   one server data segment dropped from the capture: the
                      last one before the client's first FIN whose bytes a
                      later client ACK covers (the client received it, the
                      capture did not). Expected: the original verdict, the
                      hole reported as a capture gap of that many bytes, and
                      the retransmission counts of the original capture
                      (counted here from its sequence numbers), no
                      mtu_blackhole.

expect.tsv columns: file, cause ('-' = not asserted, 'orig' = CLEAN's from
index.tsv), key=value assertions on the JSON record separated by ',' ('-'
none; 'key=absent' means the key is missing or 0).
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcapfile  # noqa: E402


def read(path):
    hdr, recs = pcapfile.read(path, ethernet=True, whole=True)
    return hdr, [Pkt(sec * 1000000 + usec, frame) for sec, usec, _, frame in recs]


def write(path, hdr, pkts):
    recs = []
    for p in pkts:
        b = p.build()
        recs.append([p.ts // 1000000, p.ts % 1000000, len(b), b])
    pcapfile.write(path, hdr, recs)


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Pkt:
    """An Ethernet/IPv4/TCP frame, split so the payload can change."""

    def __init__(self, ts, frame):
        self.ts = ts
        if frame[12:14] != b"\x08\x00" or frame[14] >> 4 != 4:
            sys.exit("only IPv4 over Ethernet is supported")
        ihl = (frame[14] & 15) * 4
        ip = frame[14:14 + ihl]
        if ip[9] != 6:
            sys.exit("only TCP is supported")
        total = struct.unpack("!H", ip[2:4])[0]
        tcp = frame[14 + ihl:14 + total]
        doff = (tcp[12] >> 4) * 4
        self.eth, self.ip, self.tcp = frame[:14], bytearray(ip), bytearray(tcp[:doff])
        self.payload = bytes(tcp[doff:])
        self.src = (bytes(ip[12:16]), struct.unpack("!H", tcp[0:2])[0])
        self.seq, self.ack = struct.unpack("!II", tcp[4:12])
        self.flags = tcp[13]

    def build(self):
        tcp = bytearray(self.tcp)
        tcp[13] = self.flags
        tcp[16:18] = b"\0\0"
        seg = bytes(tcp) + self.payload
        pseudo = bytes(self.ip[12:20]) + struct.pack("!BBH", 0, 6, len(seg))
        tcp[16:18] = struct.pack("!H", csum(pseudo + seg))
        ip = bytearray(self.ip)
        ip[2:4] = struct.pack("!H", len(ip) + len(seg))
        ip[10:12] = b"\0\0"
        ip[10:12] = struct.pack("!H", csum(bytes(ip)))
        return self.eth + bytes(ip) + bytes(tcp) + self.payload

    def options(self):
        return bytes(self.tcp[20:])


SYN, FIN, PSH, ACK = 0x02, 0x01, 0x08, 0x10
BACK_TO_BACK_US = 1000  # one burst of the sender / one NAPI poll of the receiver


def server_of(pkts):
    """The side that answered the SYN."""
    for p in pkts:
        if p.flags & SYN and p.flags & ACK:
            return p.src
    sys.exit("no SYN-ACK")


def merge(pkts, side, keep_first_ts):
    """Merges runs of back-to-back new segments of one side into one
    super-segment: contiguous sequence numbers, same ACK and options, no PSH
    or FIN before the last, within BACK_TO_BACK_US of the previous one."""
    out, highest, run = [], None, None
    for p in pkts:
        if p.src != side or not p.payload:
            out.append(p)
            continue
        end = (p.seq + len(p.payload)) & 0xFFFFFFFF
        new = highest is None or ((end - highest) & 0xFFFFFFFF) < 0x80000000 and end != highest
        fits = (run is not None and new and p.seq == (run.seq + len(run.payload)) & 0xFFFFFFFF
                and p.ack == run.ack and p.options() == run.options()
                and not run.flags & (PSH | FIN) and p.ts - run.last_ts <= BACK_TO_BACK_US
                and len(run.payload) + len(p.payload) <= 65535 - 80)
        if new:
            highest = end
        if fits:
            run.payload += p.payload
            run.flags |= p.flags & (PSH | FIN)
            run.last_ts = p.ts
            run.parts += 1
            if not keep_first_ts:
                # GRO hands the merged packet up (and to the capture) once
                # the last segment arrived: it takes that place and time.
                out.remove(run)
                run.ts = p.ts
                out.append(run)
            continue
        p.last_ts, p.parts = p.ts, 1
        run = p if new else None
        out.append(p)
    merged = [p for p in out if getattr(p, "parts", 1) > 1]
    if not merged:
        sys.exit("no back-to-back segments to merge")
    return out, merged


def count_retransmits(pkts):
    """Segments repeating bytes already seen, per side (rdpwhy counts
    retransmissions and overlaps alike)."""
    highest, n = {}, {}
    for p in pkts:
        n.setdefault(p.src, 0)
        if not p.payload:
            continue
        end = (p.seq + len(p.payload)) & 0xFFFFFFFF
        h = highest.get(p.src)
        if h is not None and ((h - p.seq) & 0xFFFFFFFF) < 0x80000000 and h != p.seq:
            n[p.src] += 1
        if h is None or ((end - h) & 0xFFFFFFFF) < 0x80000000:
            highest[p.src] = end
    return n


def main():
    blackhole, clean, out = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(out, exist_ok=True)
    expect = []

    hdr, pkts = read(blackhole)
    server = server_of(pkts)
    tso, merged = merge([Pkt(p.ts, p.build()) for p in pkts], server, True)
    # The black hole's signature must survive: the first transmission is a
    # super-segment, larger than the 1448-byte retransmissions of its head.
    head = merged[0]
    rtx = [p for p in tso if p.src == server and p.seq == head.seq and p is not head]
    if not rtx or len(head.payload) <= max(len(p.payload) for p in rtx):
        sys.exit("the merged segment is not retransmitted in smaller pieces")
    write(os.path.join(out, "tso_sender.pcap"), hdr, tso)
    full = len(rtx[0].payload)
    expect.append(("tso_sender.pcap", "mtu_blackhole",
                   "rdpwhy.tcp.mss.server=%d,rdpwhy.tcp.largest_retransmit.server=%d,"
                   "rdpwhy.capture.gaps.server=absent" % (full, full)))

    gro, _ = merge([Pkt(p.ts, p.build()) for p in pkts], server, False)
    write(os.path.join(out, "gro_receiver.pcap"), hdr, gro)
    expect.append(("gro_receiver.pcap", "mtu_blackhole",
                   "rdpwhy.tcp.mss.server=%d,rdpwhy.capture.gaps.server=absent" % full))

    # Drop everything up to the first data segment: SYN, SYN-ACK, ACK.
    first_data = next(i for i, p in enumerate(tso) if p.payload)
    if not any(p.flags & SYN for p in tso[:first_data]):
        sys.exit("no handshake before the first data")
    mid = [p for p in tso[first_data:]]
    write(os.path.join(out, "tso_midstream.pcap"), hdr, mid)
    expect.append(("tso_midstream.pcap", "mtu_blackhole",
                   "rdpwhy.midstream=true,rdpwhy.tcp.mss.server=%d" % full))

    # The client's view: the full-size segments never reach it.
    recv = [p for p in pkts if not (p.src == server and len(p.payload) == full)]
    write(os.path.join(out, "receiver_loss.pcap"), hdr, recv)
    expect.append(("receiver_loss.pcap", "-",
                   "rdpwhy.capture.gaps.server=absent,rdpwhy.capture.gap_bytes.server=absent,"
                   "rdpwhy.tcp.retransmits.server=0"))

    hdr, pkts = read(clean)
    server = server_of(pkts)
    client_fin = next(i for i, p in enumerate(pkts) if p.src != server and p.flags & FIN)
    drop = None
    for i in range(client_fin - 1, -1, -1):
        p = pkts[i]
        if p.src != server or not p.payload:
            continue
        end = (p.seq + len(p.payload)) & 0xFFFFFFFF
        if any(q.src != server and q.flags & ACK and ((q.ack - end) & 0xFFFFFFFF) < 0x80000000
               for q in pkts[i + 1:]):
            drop = i
            break
    if drop is None:
        sys.exit("no server segment acknowledged before the client's FIN")
    if any(q.src == server and q.seq == pkts[drop].seq for j, q in enumerate(pkts) if j != drop):
        sys.exit("the dropped segment is retransmitted: its bytes would not be missing")
    lost = len(pkts[drop].payload)
    kept = pkts[:drop] + pkts[drop + 1:]
    write(os.path.join(out, "capture_loss.pcap"), hdr, kept)
    n = count_retransmits(kept)
    client = next(s for s in n if s != server)
    expect.append(("capture_loss.pcap", "orig",
                   "rdpwhy.capture.gaps.server=1,rdpwhy.capture.gap_bytes.server=%d,"
                   "rdpwhy.capture.gaps.client=absent,"
                   "rdpwhy.tcp.retransmits.server=%d,rdpwhy.tcp.retransmits.client=%d"
                   % (lost, n[server], n[client])))

    with open(os.path.join(out, "expect.tsv"), "w") as f:
        for row in expect:
            f.write("\t".join(row) + "\n")


main()
