#!/usr/bin/env python3
"""Write a large, deterministic benchmark capture for `rdpwhy replay`.

The capture (Ethernet / IPv4 / TCP, classic pcap, microsecond timestamps) is
made from the real RDP connections in tests/data:

* short connections: every capture listed in tests/data/index.tsv is a
  template; each generated connection is one of them replayed with a new
  client address and port, a new server address, new initial sequence
  numbers (every seq/ack is remapped) and a shifted start time. A small
  share of them (--perturb) get one payload segment split in two, sent
  second half first (out of order), then the first half again
  (a retransmission).
* long sessions: tls_ok.pcap up to the client's closing close_notify, then
  bulk bidirectional TLS application data (records of type 0x17 filled with
  random bytes, cut into 1448-byte segments, ACKed every second segment,
  with a few out-of-order pairs and spurious retransmissions), then the
  original close (seq/ack shifted by the bulk bytes, timestamps by its
  duration).

Long sessions take whatever --size-mb leaves after the short connections.
All packets of all connections are merged in timestamp order. Checksums are
correct. The same arguments (and --seed) always give the same bytes.

Beside FILE it writes FILE.info.json (arguments, packet and connection
counts) and FILE.expected.tsv: one line per generated connection
with its 4-tuple, template and the verdict index.tsv gives for the template,
and the payload bytes each side sent; bench/check_records.py compares
rdpwhy's JSON output with it.

python3 stdlib only.
"""
import argparse
import array
import heapq
import json
import os
import random
import struct
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(REPO, "tests", "data")

SYN, FIN, RST, PSH, ACK = 0x02, 0x01, 0x04, 0x08, 0x10
MSS = 1448
SNAPLEN = 262144
US = 1_000_000


# ---- a tiny pcap reader ----------------------------------------------------

def read_pcap(path):
    """(linktype, [(ts_us, bytes)]) of a classic pcap file."""
    with open(path, "rb") as f:
        buf = f.read()
    magic = buf[:4]
    table = {
        b"\xd4\xc3\xb2\xa1": ("<", 1), b"\xa1\xb2\xc3\xd4": (">", 1),
        b"\x4d\x3c\xb2\xa1": ("<", 1000), b"\xa1\xb2\x3c\x4d": (">", 1000),
    }
    if magic not in table:
        raise SystemExit(f"{path}: not a classic pcap file (pcapng is not supported here)")
    endian, ns_div = table[magic]
    linktype = struct.unpack(endian + "I", buf[20:24])[0] & 0x0FFFFFFF
    pkts = []
    off = 24
    rec = struct.Struct(endian + "IIII")
    while off + 16 <= len(buf):
        sec, frac, caplen, _wirelen = rec.unpack_from(buf, off)
        off += 16
        if off + caplen > len(buf):
            break
        pkts.append((sec * US + frac // ns_div, buf[off:off + caplen]))
        off += caplen
    return linktype, pkts


class Pkt:
    __slots__ = ("ts", "dir", "tos", "ipid", "ipflags", "ttl", "seq", "ack", "flags",
                 "win", "urg", "opts", "payload", "sack")


def sack_edges(opts):
    """Offsets of the SACK block edges (4-byte sequence numbers) in TCP options."""
    out = []
    i = 0
    while i < len(opts):
        kind = opts[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(opts) or opts[i + 1] < 2:
            break
        n = opts[i + 1]
        if kind == 5:
            out.extend(range(i + 2, i + n, 4))
        i += n
    return out


def remap_opts(p, fn):
    """p.opts with its SACK edges (relative to the peer's ISN) mapped by fn."""
    if not p.sack:
        return p.opts
    b = bytearray(p.opts)
    for off, rel in p.sack:
        struct.pack_into("!I", b, off, fn(rel) & 0xFFFFFFFF)
    return bytes(b)


def parse_template(path):
    """The packets of the one TCP connection in path, relative to its start,
    with seq/ack relative to each side's initial sequence number."""
    linktype, raw = read_pcap(path)
    if linktype != 1:
        raise SystemExit(f"{path}: link type {linktype}, only Ethernet is supported")
    pkts = []
    client = None
    for ts, b in raw:
        if len(b) < 14 + 20 or b[12:14] != b"\x08\x00":
            continue
        ip = b[14:]
        ihl = (ip[0] & 15) * 4
        if ip[9] != 6:
            continue
        total = struct.unpack("!H", ip[2:4])[0]
        tcp = ip[ihl:total]
        doff = (tcp[12] >> 4) * 4
        src, dst = ip[12:16], ip[16:20]
        sport, dport = struct.unpack("!HH", tcp[:4])
        p = Pkt()
        p.ts = ts
        p.tos = ip[1]
        p.ipid = struct.unpack("!H", ip[4:6])[0]
        p.ipflags = struct.unpack("!H", ip[6:8])[0]
        p.ttl = ip[8]
        p.seq, p.ack = struct.unpack("!II", tcp[4:12])
        p.flags = tcp[13]
        p.win, p.urg = struct.unpack("!H2xH", tcp[14:20])
        p.opts = bytes(tcp[20:doff])
        p.payload = bytes(tcp[doff:])
        if client is None:
            if p.flags & SYN and not p.flags & ACK:
                client = (src, sport)
            elif dport == 3389:
                client = (src, sport)
            else:
                client = (dst, dport)
        p.dir = 0 if (src, sport) == client else 1
        pkts.append(p)
    if not pkts:
        raise SystemExit(f"{path}: no TCP packet")
    # Initial sequence numbers: a side that never sent a SYN keeps its
    # numbers as they are (a RST answering a SYN carries seq 0).
    isn = [None, None]
    for p in pkts:
        if p.flags & SYN and isn[p.dir] is None:
            isn[p.dir] = p.seq
    t0 = pkts[0].ts
    sent = [0, 0]  # payload bytes: span of sequence space after the SYN
    for p in pkts:
        p.ts -= t0
        if isn[p.dir] is not None:
            p.seq = (p.seq - isn[p.dir]) & 0xFFFFFFFF
            if p.payload:
                end = p.seq + len(p.payload) - 1 - (1 if p.flags & SYN else 0)
                sent[p.dir] = max(sent[p.dir], end)
        if p.flags & ACK and isn[1 - p.dir] is not None:
            p.ack = (p.ack - isn[1 - p.dir]) & 0xFFFFFFFF
        # SACK blocks acknowledge the peer's sequence numbers.
        p.sack = []
        if isn[1 - p.dir] is not None:
            for off in sack_edges(p.opts):
                v = struct.unpack_from("!I", p.opts, off)[0]
                p.sack.append((off, (v - isn[1 - p.dir]) & 0xFFFFFFFF))
    # Connections with a ClientHello (what the tshark peer looks for).
    tls = any(p.dir == 0 and p.payload[:1] == b"\x16" and p.payload[5:6] == b"\x01"
              for p in pkts)
    return {"pkts": pkts, "has_isn": [isn[0] is not None, isn[1] is not None], "tls": tls,
            "bytes": sent, "duration": pkts[-1].ts}


# ---- packet writer ----------------------------------------------------------

def fold(s):
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def sum16(b):
    if len(b) & 1:
        b = b + b"\0"
    return sum(array.array("H", b))


ETH = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
ETH_REV = b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x02" + b"\x08\x00"
REC = struct.Struct("<IIII")
IPH = struct.Struct("!BBHHHBBH4s4s")
TCPH = struct.Struct("!HHIIBBHHH")


def ip_checksum(hdr):
    s = fold(sum16(hdr))
    ck = ~s & 0xFFFF
    # array('H') sums native-order words; the result is byte-order consistent.
    return struct.pack("=H", ck)


def build(ts, src, dst, sport, dport, seq, ack, flags, win, opts, payload,
          ttl=64, ipid=0, ipflags=0x4000, tos=0, urg=0, eth=ETH):
    """One pcap record (header + frame)."""
    doff = 20 + len(opts)
    tcp = TCPH.pack(sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, (doff // 4) << 4,
                    flags, win, 0, urg) + opts
    tcplen = doff + len(payload)
    pseudo = src + dst + struct.pack("!BBH", 0, 6, tcplen)
    s = fold(sum16(pseudo + tcp) + (sum16(payload) if payload else 0))
    ck = struct.pack("=H", ~s & 0xFFFF)
    tcp = tcp[:16] + ck + tcp[18:]
    ip = IPH.pack(0x45, tos, 20 + tcplen, ipid, ipflags, ttl, 6, 0, src, dst)
    ip = ip[:10] + ip_checksum(ip) + ip[12:]
    frame_len = 14 + 20 + tcplen
    return REC.pack(ts // US, ts % US, frame_len, frame_len) + eth + ip + tcp + payload


# ---- short connections --------------------------------------------------------

def replay_template(tpl, conn, rng, perturb):
    """Packets of one replicated connection (generator of (ts, record))."""
    cip, cport, sip, sport = conn["cip"], conn["cport"], conn["sip"], conn["sport"]
    base = conn["start"]
    newisn = [rng.getrandbits(32), rng.getrandbits(32)]
    has = tpl["has_isn"]
    pkts = tpl["pkts"]
    # One payload segment of this replica split, reordered and retransmitted.
    victim = -1
    if perturb:
        cands = [i for i, p in enumerate(pkts)
                 if len(p.payload) >= 2 and not p.flags & (SYN | FIN | RST)]
        if cands:
            victim = rng.choice(cands)
    conn["perturbed"] = victim >= 0

    def mapseq(d, v):
        return (v + newisn[d]) & 0xFFFFFFFF if has[d] else v

    for i, p in enumerate(pkts):
        d = p.dir
        if d == 0:
            src, dst, sp, dp, eth = cip, sip, cport, sport, ETH
        else:
            src, dst, sp, dp, eth = sip, cip, sport, cport, ETH_REV
        seq = mapseq(d, p.seq)
        ack = mapseq(1 - d, p.ack) if p.flags & ACK else p.ack
        opts = remap_opts(p, lambda v, d=d: mapseq(1 - d, v))
        ts = base + p.ts
        if i != victim:
            yield ts, build(ts, src, dst, sp, dp, seq, ack, p.flags, p.win, opts, p.payload,
                            p.ttl, p.ipid, p.ipflags, p.tos, p.urg, eth)
            continue
        k = len(p.payload) // 2
        first, second = p.payload[:k], p.payload[k:]
        yield ts, build(ts, src, dst, sp, dp, seq + k, ack, p.flags, p.win, opts, second,
                        p.ttl, p.ipid, p.ipflags, p.tos, p.urg, eth)
        yield ts, build(ts, src, dst, sp, dp, seq, ack, p.flags & ~PSH, p.win, opts, first,
                        p.ttl, (p.ipid + 1) & 0xFFFF, p.ipflags, p.tos, p.urg, eth)
        yield ts, build(ts, src, dst, sp, dp, seq, ack, p.flags & ~PSH, p.win, opts, first,
                        p.ttl, (p.ipid + 2) & 0xFFFF, p.ipflags, p.tos, p.urg, eth)


def template_size(tpl):
    return sum(16 + 14 + 20 + 20 + len(p.opts) + len(p.payload) for p in tpl["pkts"])


# ---- long sessions ---------------------------------------------------------------

def split_tls_ok(tpl):
    """Index of the first packet of tls_ok's close: the client's last payload
    segment before its first FIN (the close_notify)."""
    pkts = tpl["pkts"]
    fin = next(i for i, p in enumerate(pkts) if p.dir == 0 and p.flags & FIN)
    return max(i for i in range(fin) if pkts[i].dir == 0 and pkts[i].payload)


class Pool:
    """Random record bodies: slices of one seeded random buffer."""

    def __init__(self, rng, size=8 << 20):
        self.buf = rng.randbytes(size)
        self.rng = rng

    def body(self, n):
        off = self.rng.randrange(0, len(self.buf) - n)
        return self.buf[off:off + n]


def tls_records(pool, rng, nbytes):
    """About nbytes of TLS 1.3 application-data records (whole records)."""
    out = []
    have = 0
    while have < nbytes:
        # Mostly full records (2^14 + type + 16-byte tag), some smaller ones.
        n = 16401 if rng.random() < 0.8 else rng.randrange(40, 16401)
        out.append(b"\x17\x03\x03" + struct.pack("!H", n))
        out.append(pool.body(n))
        have += 5 + n
    return b"".join(out)


def long_session(tpl, split, conn, rng, pool, bulk_c2s, bulk_s2c, duration_us, opts_ooo):
    """tls_ok's set-up, bulk encrypted data both ways, tls_ok's close."""
    cip, cport, sip, sport = conn["cip"], conn["cport"], conn["sip"], conn["sport"]
    base = conn["start"]
    isn = [rng.getrandbits(32), rng.getrandbits(32)]
    pkts = tpl["pkts"]
    # By direction: 0 = client -> server, 1 = server -> client.
    ends = [(cip, sip, cport, sport, ETH), (sip, cip, sport, cport, ETH_REV)]

    def emit(p, ts, seq_shift, ack_shift):
        d = p.dir
        src, dst, sp, dp, eth = ends[d]
        seq = p.seq + isn[d] + seq_shift[d]
        ack = p.ack + isn[1 - d] + ack_shift[1 - d] if p.flags & ACK else p.ack
        opts = remap_opts(p, lambda v: v + isn[1 - d] + ack_shift[1 - d])
        return build(ts, src, dst, sp, dp, seq, ack, p.flags, p.win, opts, p.payload,
                     p.ttl, p.ipid, p.ipflags, p.tos, p.urg, eth)

    zero = [0, 0]
    for p in pkts[:split]:
        yield base + p.ts, emit(p, base + p.ts, zero, zero)

    # Bulk: where each side's stream stands after the set-up.
    nxt = [0, 0]
    for p in pkts[:split]:
        if p.payload:
            nxt[p.dir] = max(nxt[p.dir], p.seq + len(p.payload))
    nxt = [nxt[0] + isn[0], nxt[1] + isn[1]]
    start_next = list(nxt)
    t = base + pkts[split - 1].ts + 1000
    t_begin = t
    total_payload = bulk_c2s + bulk_s2c
    n_segs = max(1, total_payload // MSS)
    # Spread the bulk over duration_us: one data segment every dt, its ACK
    # (every second segment) 30 us after it.
    dt = max(2, duration_us // n_segs)
    ttl = [pkts[0].ttl, pkts[1].ttl if len(pkts) > 1 else 64]
    ipid = [rng.getrandbits(16), rng.getrandbits(16)]
    sent = [0, 0]
    target = [bulk_c2s, bulk_s2c]
    ooo_every, rtx_every = opts_ooo
    seg_no = 0
    recent = [[], []]  # last segments per direction, for retransmissions

    def tsopt(ts, d):
        return b"\x01\x01\x08\x0a" + struct.pack("!II", (ts // 1000 + 7919 * d) & 0xFFFFFFFF,
                                                 (ts // 1000 + 7919 * (1 - d) - 1) & 0xFFFFFFFF)

    def data_pkt(d, ts, seq, payload, flags=ACK):
        src, dst, sp, dp, eth = ends[d]
        ipid[d] = (ipid[d] + 1) & 0xFFFF
        return build(ts, src, dst, sp, dp, seq, nxt[1 - d], flags, 512, tsopt(ts, d), payload,
                     ttl[d], ipid[d], 0x4000, 0, 0, eth)

    while sent[0] < target[0] or sent[1] < target[1]:
        # The direction furthest behind its share sends the next flight.
        d = 0 if sent[0] * max(1, target[1]) < sent[1] * max(1, target[0]) else 1
        if sent[d] >= target[d]:
            d = 1 - d
        want = min(target[d] - sent[d], rng.randrange(16 << 10, 128 << 10))
        stream = tls_records(pool, rng, max(want, 1))
        segs = [stream[i:i + MSS] for i in range(0, len(stream), MSS)]
        i = 0
        unacked = 0
        while i < len(segs):
            seg_no += 1
            if ooo_every and seg_no % ooo_every == 0 and i + 1 < len(segs):
                # Out of order: the next segment overtakes this one.
                a, b = segs[i], segs[i + 1]
                t += dt
                yield t, data_pkt(d, t, nxt[d] + len(a), b)
                t += dt
                yield t, data_pkt(d, t, nxt[d], a, ACK | PSH)
                recent[d].append((nxt[d], a))
                recent[d].append((nxt[d] + len(a), b))
                nxt[d] += len(a) + len(b)
                i += 2
                unacked += 2
            else:
                s = segs[i]
                t += dt
                yield t, data_pkt(d, t, nxt[d], s, ACK | PSH if len(s) < MSS else ACK)
                recent[d].append((nxt[d], s))
                nxt[d] += len(s)
                i += 1
                unacked += 1
            if rtx_every and seg_no % rtx_every == 0 and len(recent[d]) > 4:
                # A spurious retransmission of a segment sent a little earlier.
                rseq, rs = recent[d][-4]
                t += dt
                yield t, data_pkt(d, t, rseq, rs)
            del recent[d][:-8]
            if unacked >= 2 or i == len(segs):
                t += 30
                yield t, data_pkt(1 - d, t, nxt[1 - d], b"")
                unacked = 0
        sent[d] += len(stream)

    shift = [nxt[0] - start_next[0], nxt[1] - start_next[1]]
    conn["bulk"] = shift
    tshift = t - (base + pkts[split - 1].ts) + 1000
    for p in pkts[split:]:
        ts = base + p.ts + tshift
        yield ts, emit(p, ts, shift, shift)
    conn["bulk_us"] = t - t_begin


# ---- main -----------------------------------------------------------------------------

def read_index():
    rows = []
    with open(os.path.join(DATA, "index.tsv")) as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            if not line.strip():
                continue
            rows.append(dict(zip(header, line.rstrip("\n").split("\t"))))
    return rows


def ip4(a, b, c, d):
    return bytes((a, b, c, d))


def ipstr(b):
    return ".".join(str(x) for x in b)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mb", type=float, default=1024,
                    help="target file size in MiB (default 1024)")
    ap.add_argument("--short", type=int, default=20000,
                    help="short connections replicated from tests/data (default 20000)")
    ap.add_argument("--long", type=int, default=8,
                    help="long TLS sessions carrying the bulk data (default 8)")
    ap.add_argument("--duration", type=float, default=300,
                    help="seconds of capture time the connections are spread over (default 300)")
    ap.add_argument("--c2s-share", type=float, default=0.2,
                    help="share of the bulk bytes sent by the clients (default 0.2)")
    ap.add_argument("--perturb", type=float, default=0.05,
                    help="share of short connections with one segment split, "
                         "reordered and retransmitted (default 0.05)")
    ap.add_argument("--ooo-every", type=int, default=997,
                    help="in the bulk, one out-of-order pair every N segments (0: none)")
    ap.add_argument("--rtx-every", type=int, default=1009,
                    help="in the bulk, one spurious retransmission every N segments (0: none)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--output", default="/tmp/rdpwhy-bench.pcap")
    a = ap.parse_args()

    t_start = time.time()
    rng = random.Random(a.seed)
    index = read_index()
    templates = {}
    for row in index:
        templates[row["file"]] = parse_template(os.path.join(DATA, row["file"]))
    names = [row["file"] for row in index]
    verdict = {row["file"]: row for row in index}
    if "tls_ok.pcap" not in templates:
        raise SystemExit("tests/data/tls_ok.pcap is needed for the long sessions")
    tls_ok = templates["tls_ok.pcap"]
    split = split_tls_ok(tls_ok)

    dur_us = int(a.duration * US)
    t0 = 1_700_000_000 * US  # 2023-11-14: after the expired certificate's notAfter

    # Client addresses: 4096 clients in 10.1.0.0/20, each using its own ports
    # upwards from 49152; 8 servers. Every 4-tuple is unique.
    next_port = {}
    conns = []

    def new_conn(kind, tpl_name, start):
        while True:
            k = rng.randrange(4096)
            port = next_port.get(k, 49152)
            if port <= 65535:
                break
        next_port[k] = port + 1
        c = {"kind": kind, "template": tpl_name, "start": start,
             "cip": ip4(10, 1, k >> 8, k & 255), "cport": port,
             "sip": ip4(192, 168, 10, 1 + rng.randrange(8)), "sport": 3389}
        conns.append(c)
        return c

    shorts = []
    for _ in range(a.short):
        name = rng.choice(names)
        start = t0 + rng.randrange(dur_us)
        shorts.append(new_conn("short", name, start))
    short_bytes = sum(template_size(templates[c["template"]]) for c in shorts)
    longs = []
    for j in range(a.long):
        longs.append(new_conn("long", "tls_ok.pcap", t0 + rng.randrange(min(dur_us, 10 * US))))

    target = int(a.size_mb * (1 << 20))
    long_fixed = a.long * template_size(tls_ok)
    # Per 1448 payload bytes: the data frame (16 + 14 + 20 + 32 + 1448) and
    # half an ACK frame (16 + 66).
    per_payload = (16 + 66 + MSS + 41) / MSS
    bulk_total = max(0, int((target - 24 - short_bytes - long_fixed) / per_payload))
    if bulk_total == 0:
        print(f"warning: the short connections alone take {short_bytes / (1 << 20):.0f} MiB: "
              f"no bulk data (raise --size-mb or lower --short)", file=sys.stderr)
    per_long = bulk_total // a.long if a.long else 0
    bulk_c2s = int(per_long * a.c2s_share)
    bulk_s2c = per_long - bulk_c2s

    pool = Pool(rng)
    gens = []
    for c in shorts:
        crng = random.Random(rng.getrandbits(64))
        gens.append(replay_template(templates[c["template"]], c, crng,
                                    crng.random() < a.perturb))
    for c in longs:
        crng = random.Random(rng.getrandbits(64))
        span = max(US, dur_us - (c["start"] - t0) - 2 * US)
        gens.append(long_session(tls_ok, split, c, crng, pool, bulk_c2s, bulk_s2c, span,
                                 (a.ooo_every, a.rtx_every)))

    tmp = a.output + ".part"
    n_pkts = 0
    with open(tmp, "wb", buffering=8 << 20) as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, 1))
        batch = []
        for _ts, rec in heapq.merge(*gens, key=lambda x: x[0]):
            batch.append(rec)
            if len(batch) >= 4096:
                f.write(b"".join(batch))
                n_pkts += len(batch)
                batch = []
        f.write(b"".join(batch))
        n_pkts += len(batch)
    os.replace(tmp, a.output)

    # What rdpwhy should say about each connection.
    with open(a.output + ".expected.tsv", "w") as f:
        f.write("client_ip\tclient_port\tserver_ip\tserver_port\tkind\ttemplate\tperturbed\t"
                "cause\tclosed_by\tclose_kind\tphase\tclient_bytes\tserver_bytes\n")
        for c in conns:
            tpl = templates[c["template"]]
            v = verdict[c["template"]]
            cb, sb = tpl["bytes"]
            if c["kind"] == "long":
                cb += c["bulk"][0]
                sb += c["bulk"][1]
            f.write("\t".join(str(x) for x in (
                ipstr(c["cip"]), c["cport"], ipstr(c["sip"]), c["sport"], c["kind"],
                c["template"], int(c.get("perturbed", False)), v["cause"], v["closed_by"],
                v["close_kind"], v["phase"], cb, sb)) + "\n")
    size = os.path.getsize(a.output)
    info = dict(vars(a))
    info.update(packets=n_pkts, bytes=size, connections=len(conns),
                tls_connections=sum(1 for c in conns if templates[c["template"]]["tls"]),
                generator_seconds=round(time.time() - t_start, 1))
    with open(a.output + ".info.json", "w") as f:
        json.dump(info, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"{a.output}: {size / (1 << 20):.1f} MiB, {n_pkts} packets, {len(conns)} connections "
          f"({a.short} short, {a.long} long), {time.time() - t_start:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
