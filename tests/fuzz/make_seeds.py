#!/usr/bin/env python3
"""Seed corpora of the fuzz targets (python3, standard library only).

    tests/fuzz/make_seeds.py [--out DIR] [PCAP...]

Reads the committed captures (default: tests/data/*.pcap, real xrdp/xfreerdp
connections, and tests/fuzz/seed_pcaps/*.pcap, openssl s_server/s_client on
127.0.0.1 captured with tcpdump -i lo) and writes small seeds into
DIR/<target>/ (default tests/fuzz/corpus):

  fuzz_x224        every TPKT packet of the X.224 phase, plus hand-made TPDUs
  fuzz_tls_hello   ClientHello / ServerHello / HelloRetryRequest bodies
  fuzz_tls_cert    Certificate message bodies and single DER certificates
  fuzz_tls_stream  the TLS byte stream of each direction, with split headers
  fuzz_session     event scripts of whole connections, plus synthetic ones
  fuzz_decode      frames in every supported link type and encapsulation
  fuzz_capture     packet sequences: raw frames and harness-built segments
  fuzz_json        strings for the escaper
  fuzz_paths       connection scripts (the proxy path against the packet path)

The input formats are described at the top of each fuzz_<target>.c. Files
are named after their content and overwritten; other files in the corpus
directories (regressions found by fuzzing) are left alone. Output is
deterministic for the same captures.
"""
import argparse
import glob
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# --------------------------------------------------------------- pcap input


def read_pcap(path):
    """[(ts_us, linktype, frame)] of a classic pcap file."""
    data = open(path, 'rb').read()
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        e = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        e = '>'
    else:
        raise ValueError('%s: not a classic pcap file' % path)
    nano = magic in (b'\x4d\x3c\xb2\xa1', b'\xa1\xb2\x3c\x4d')
    linktype = struct.unpack(e + 'I', data[20:24])[0] & 0x0FFFFFFF
    off, out = 24, []
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(e + 'IIII', data[off:off + 16])
        off += 16
        frame = data[off:off + incl]
        off += incl
        us = sec * 1000000 + (frac // 1000 if nano else frac)
        out.append((us, linktype, frame))
    return out


class Seg:
    pass


def decode(linktype, f):
    """TCP segment of an Ethernet/SLL/raw/loopback frame, or None."""
    if linktype == 1:
        et, p = struct.unpack('>H', f[12:14])[0], f[14:]
        while et in (0x8100, 0x88A8):
            et, p = struct.unpack('>H', p[2:4])[0], p[4:]
    elif linktype == 113:
        et, p = struct.unpack('>H', f[14:16])[0], f[16:]
    elif linktype == 276:
        et, p = struct.unpack('>H', f[0:2])[0], f[20:]
    elif linktype in (12, 14, 101):
        et, p = (0x0800 if f[0] >> 4 == 4 else 0x86DD), f
    elif linktype in (0, 108):
        et, p = (0x0800 if f[4] >> 4 == 4 else 0x86DD), f[4:]
    else:
        return None
    s = Seg()
    if et == 0x0800:
        ihl = (p[0] & 15) * 4
        total = struct.unpack('>H', p[2:4])[0]
        if p[9] != 6:
            return None
        s.ttl, s.src, s.dst, s.v6 = p[8], p[12:16], p[16:20], False
        s.ip = p[:total]
        t = p[ihl:total]
    elif et == 0x86DD:
        if p[6] != 6:
            return None
        plen = struct.unpack('>H', p[4:6])[0]
        s.ttl, s.src, s.dst, s.v6 = p[7], p[8:24], p[24:40], True
        s.ip = p[:40 + plen]
        t = p[40:40 + plen]
    else:
        return None
    s.sport, s.dport, s.seq, s.ack = struct.unpack('>HHII', t[:12])
    doff = (t[12] >> 4) * 4
    s.flags = t[13] & 0x1F
    s.payload = bytes(t[doff:])
    return s


class Flow:
    """One TCP connection: events in time order and each side's stream."""

    def __init__(self, name):
        self.name = name
        self.events = []  # (ts, dir, kind, payload-or-ttl)
        self.packets = []  # (ts, dir, seg, frame, linktype)
        self.stream = [b'', b'']
        self.isn = [None, None]
        self.next = [None, None]


def flows_of(path):
    name = os.path.splitext(os.path.basename(path))[0]
    flows, order = {}, []
    for ts, lt, frame in read_pcap(path):
        s = decode(lt, frame)
        if s is None:
            continue
        key = tuple(sorted([(s.src, s.sport), (s.dst, s.dport)]))
        fl = flows.get(key)
        if fl is None:
            fl = Flow(name if not order else '%s-%d' % (name, len(order)))
            # The client is the SYN sender, else the higher port.
            if s.flags & 2 and not s.flags & 0x10:
                fl.client = (s.src, s.sport)
            else:
                fl.client = (s.src, s.sport) if s.sport > s.dport else (s.dst, s.dport)
            flows[key] = fl
            order.append(key)
        d = 0 if (s.src, s.sport) == fl.client else 1
        fl.packets.append((ts, d, s, frame, lt))
        if s.flags & 2:
            fl.isn[d] = s.seq
            fl.next[d] = (s.seq + 1) & 0xFFFFFFFF
            fl.events.append((ts, d, 'syn', None))
            continue
        if fl.isn[d] is None:
            fl.isn[d] = (s.seq - 1) & 0xFFFFFFFF
            fl.next[d] = s.seq
        if s.payload:
            # In-order, non-repeated bytes only (loopback captures).
            rel = (s.seq - fl.next[d]) & 0xFFFFFFFF
            if rel == 0:
                fl.stream[d] += s.payload
                fl.next[d] = (fl.next[d] + len(s.payload)) & 0xFFFFFFFF
                fl.events.append((ts, d, 'data', s.payload))
            elif rel > 0x80000000 and (0x100000000 - rel) < len(s.payload):
                new = s.payload[0x100000000 - rel:]
                fl.stream[d] += new
                fl.next[d] = (fl.next[d] + len(new)) & 0xFFFFFFFF
                fl.events.append((ts, d, 'data', new))
        if s.flags & 4:
            fl.events.append((ts, d, 'rst', s.ttl))
        elif s.flags & 1:
            fl.events.append((ts, d, 'fin', None))
    return [flows[k] for k in order]


# ----------------------------------------------------------- protocol bits


def tpkts(stream):
    """Leading TPKT packets of a stream, and the offset after them."""
    out, off = [], 0
    while off + 4 <= len(stream) and stream[off] == 3 and stream[off + 1] == 0:
        n = struct.unpack('>H', stream[off + 2:off + 4])[0]
        if n < 4 or off + n > len(stream):
            break
        out.append(stream[off:off + n])
        off += n
    return out, off


def tls_part(stream):
    _, off = tpkts(stream)
    rest = stream[off:]
    if len(rest) >= 3 and 20 <= rest[0] <= 24 and rest[1] == 3:
        return rest
    return b''


def handshakes(tls):
    """Cleartext handshake messages (type, body) before the first CCS."""
    hs, off = b'', 0
    while off + 5 <= len(tls):
        typ, ln = tls[off], struct.unpack('>H', tls[off + 3:off + 5])[0]
        body = tls[off + 5:off + 5 + ln]
        off += 5 + ln
        if typ == 20:
            break
        if typ == 22:
            hs += body
    out, off = [], 0
    while off + 4 <= len(hs):
        typ = hs[off]
        ln = int.from_bytes(hs[off + 1:off + 4], 'big')
        if off + 4 + ln > len(hs):
            break
        out.append((typ, hs[off + 4:off + 4 + ln]))
        off += 4 + ln
    return out


def cert_ders(body):
    out, off = [], 3
    while off + 3 <= len(body):
        ln = int.from_bytes(body[off:off + 3], 'big')
        out.append(body[off + 3:off + 3 + ln])
        off += 3 + ln
    return out


def u16(v):
    return struct.pack('<H', v & 0xFFFF)


def u24be(v):
    return v.to_bytes(3, 'big')


def tls_record(typ, body, ver=0x0303):
    return bytes([typ]) + struct.pack('>HH', ver, len(body)) + body


def handshake(typ, body):
    return bytes([typ]) + u24be(len(body)) + body


# X.224 (MS-RDPBCGR 2.2.1.1 / 2.2.1.2)
CR_BRIEF = bytes.fromhex(
    '0300002c27e00000000000436f6f6b69653a206d737473686173683d656c746f6e730d0a'
    '0100080000000000')


def tpkt(tpdu):
    return b'\x03\x00' + struct.pack('>H', 4 + len(tpdu)) + tpdu


def cr(user, li_covers=True):
    hdr = b'\xe0\x00\x00\x00\x00\x00'
    li = len(hdr) + (len(user) if li_covers else 0)
    return tpkt(bytes([li]) + hdr + user)


def neg_req(protocols, flags=0):
    return bytes([1, flags]) + u16(8) + struct.pack('<I', protocols)


def cc(user=b''):
    return tpkt(bytes([6 + len(user)]) + b'\xd0\x00\x00\x12\x34\x00' + user)


def neg_rsp(selected, flags=0x1f):
    return bytes([2, flags]) + u16(8) + struct.pack('<I', selected)


def neg_failure(code):
    return bytes([3, 0]) + u16(8) + struct.pack('<I', code)


CORRELATION = bytes([6, 0]) + u16(36) + bytes(range(1, 17)) + bytes(16)

X224_SYNTH = {
    'cr-brief-eltons': CR_BRIEF,
    'cr-cookie-only': cr(b'Cookie: mstshash=alice\r\n'),
    'cr-no-user-data': cr(b''),
    'cr-neg-only-hybrid-ex': cr(neg_req(0xb)),
    'cr-routing-token': cr(b'Cookie: msts=3640205228.15629.0000\r\n' + neg_req(3)),
    'cr-correlation': cr(b'Cookie: mstshash=bob\r\n' + neg_req(0xb, 0x08) + CORRELATION),
    'cr-restricted-admin': cr(b'Cookie: mstshash=admin\r\n' + neg_req(2, 0x01)),
    'cr-user-data-outside-li': cr(b'Cookie: mstshash=x\r\n' + neg_req(1), li_covers=False),
    'cr-utf8-cookie': cr('Cookie: mstshash=j\u00fcrgen\u202e\\"\r\n'.encode() + neg_req(1)),
    'cc-no-neg': cc(),
    'cc-rsp-ssl': cc(neg_rsp(1)),
    'cc-rsp-hybrid': cc(neg_rsp(2)),
    'cc-rsp-rdsaad': cc(neg_rsp(0x10)),
    'cc-failure-ssl-required': cc(neg_failure(1)),
    'cc-failure-hybrid-required': cc(neg_failure(5)),
    'cc-failure-unknown': cc(neg_failure(0x77)),
    'dr': tpkt(b'\x06\x80\x00\x00\x12\x34\x01'),
    'dt-mcs': tpkt(b'\x02\xf0\x80' + bytes.fromhex('7f65820100')),
    'er': tpkt(b'\x02\x70'),
    'tpkt-short-length': b'\x03\x00\x00\x05\x01\xe0',
}

# ------------------------------------------------------------- other seeds


def ipv4(src, dst, payload, ttl=64, proto=6, frag=0):
    hdr = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), 0x1234, frag, ttl, proto, 0,
                      bytes(src), bytes(dst))
    return hdr + payload


def ipv6(src, dst, payload, nh=6, hlim=64):
    return struct.pack('>IHBB16s16s', 0x60000000, len(payload), nh, hlim, bytes(src),
                       bytes(dst)) + payload


def tcp(sport, dport, seq, ack, flags, payload=b''):
    return struct.pack('>HHIIBBHHH', sport, dport, seq, ack, 5 << 4, flags, 65535, 0,
                       0) + payload


V4C, V4S = [10, 0, 0, 1], [10, 0, 0, 2]
V6C = [0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [1]
V6S = [0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [2]
ETH = b'\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x01'

# fuzz_decode: index of the link type in its dlts[] table.
DLT_INDEX = {1: 0, 113: 1, 276: 2, 12: 3, 101: 4, 228: 5, 229: 6, 0: 7, 108: 8, 14: 9}


def link_frames(ip, v6):
    """The IP packet in every link type fuzz_decode knows, {name: (dlt, frame)}."""
    et = 0x86DD if v6 else 0x0800
    af_le = struct.pack('<I', 30 if v6 else 2)
    af_be = struct.pack('>I', 24 if v6 else 2)
    return {
        'eth': (1, ETH + struct.pack('>H', et) + ip),
        'eth-vlan': (1, ETH + b'\x81\x00\x00\x64' + struct.pack('>H', et) + ip),
        'eth-qinq': (1, ETH + b'\x88\xa8\x00\x0a\x81\x00\x00\x64' + struct.pack('>H', et) + ip),
        'eth-pppoe': (1, ETH + b'\x88\x64\x11\x00\x00\x01' + struct.pack('>H', len(ip) + 2) +
                      (b'\x00\x57' if v6 else b'\x00\x21') + ip),
        'eth-mpls': (1, ETH + b'\x88\x47\x00\x01\x01\x40' + ip),
        'sll': (113, b'\x00\x00\x03\x04\x00\x06' + bytes(8) + struct.pack('>H', et) + ip),
        'sll2': (276, struct.pack('>H', et) + b'\x00\x00' + struct.pack('>I', 1) +
                 b'\x03\x04\x00\x06' + bytes(8) + ip),
        'raw12': (12, ip),
        'raw101': (101, ip),
        'ipv': (229 if v6 else 228, ip),
        'null': (0, af_le + ip),
        'loop': (108, af_be + ip),
    }


def session_script(fl, cfg=0x00, fmt=0, pat=0x5a, now=0, ts0=None, max_events=400):
    ev = fl.events[:max_events]
    ts = ts0 if ts0 is not None else (ev[0][0] if ev else 1700000000000000)
    hdr = bytes([cfg, 0x00]) + struct.pack('<QI', ts, now) + bytes([fmt, pat])
    out = bytearray(hdr)
    for t, d, kind, arg in ev:
        delta = max(0, t - ts)
        dt = 0
        while dt < 15 and (4 ** dt) - 1 < delta:
            dt += 1
        ts += 4 ** dt - 1
        op = dt << 4 | d
        if kind == 'data':
            for i in range(0, len(arg), 0xFFFF):
                chunk = arg[i:i + 0xFFFF]
                if len(chunk) <= 255:
                    out += bytes([op | 0 << 1, len(chunk)]) + chunk
                else:
                    out += bytes([op | 1 << 1]) + u16(len(chunk)) + chunk
                op = d  # the next pieces: same time
        elif kind == 'fin':
            out += bytes([op | 2 << 1])
        elif kind == 'rst':
            out += bytes([op | 3 << 1, arg])
        elif kind == 'syn':
            out += bytes([op | 6 << 1])
    return bytes(out)


def capture_raw(fls, cfg=0x00, max_packets=200):
    pk = sorted((p for fl in fls for p in fl.packets), key=lambda p: p[0])[:max_packets]
    lt = pk[0][4] if pk else 1
    out = bytearray([cfg, DLT_INDEX.get(lt, 0)])
    last = pk[0][0] if pk else 0
    for ts, _d, _s, frame, _lt in pk:
        dt = min(255, max(0, ts - last))
        last = ts
        out += bytes([0x80]) + u16(len(frame)) + bytes([dt]) + frame
    return bytes(out)


def capture_synth(fls, cfg=0x00, v6=False, max_packets=200, flow_base=0):
    """Harness-built segments (fuzz_capture ops 0/1) replaying the flows."""
    out = bytearray([cfg, 0])
    pk = sorted(((p[0], i, p) for i, fl in enumerate(fls) for p in fl.packets),
                key=lambda x: x[0])[:max_packets]
    last = pk[0][0] if pk else 0
    for ts, i, (t, d, s, _f, _lt) in pk:
        fl = fls[i]
        isn = [fl.isn[0] or 0, fl.isn[1] or 0]
        seq = (s.seq - isn[d]) & 0xFFFFFFFF
        ack = (s.ack - isn[1 - d]) & 0xFFFFFFFF if s.flags & 0x10 else 0
        if seq > 0xFFFF or ack > 0xFFFF:
            continue
        delta, step = max(0, t - last), 0
        while step < 7 and (8 ** step) - 1 < delta:
            step += 1
        last = t
        op = ((i + flow_base) & 3) | d << 2 | step << 3 | (0x40 if v6 else 0)
        flags = s.flags | (0x20 if (s.flags & 4 and s.ttl != (64 if d == 0 else 128)) else 0)
        out += bytes([op, flags]) + u16(seq) + u16(ack) + u16(len(s.payload)) + s.payload
    return bytes(out)


# fuzz_paths: time steps of the op byte's dt nibble (fuzz_paths.c step_us).
PATHS_STEPS = [0, 1, 50, 1000, 20000, 100000, 500000, 999999, 1000000, 1000001, 2999999,
               3000000, 3000001, 30000000, 61000000, 1200000000]


def paths_time(delta, max_ops=6):
    """dt nibbles (all but the last as time-only ops) adding up to about delta us."""
    out = []
    while delta > 0 and len(out) < max_ops:
        i = max(k for k in range(16) if PATHS_STEPS[k] <= delta)
        if i == 0:
            break
        out.append(i)
        delta -= PATHS_STEPS[i]
    return out or [0]


def paths_script(fl, params=(0, 0x0b, 0), hdr=0x00, extra=()):
    """A fuzz_paths script of a flow: header, then its data, FIN and RST events
    (the SYN gives the start, the SYN-ACK the connect time). params: rd, sg, mx
    of every data event; extra: more (dir, payload) data events at the end."""
    ev = fl.events
    t0 = ev[0][0] if ev else 1700000000000000
    synack = [t for t, d, k, _ in ev if k == 'syn' and d == 1]
    conn = synack[0] - t0 if synack else 0
    ci = min(range(4), key=lambda i: abs([0, 300, 20000, 3000000][i] - conn))
    out = bytearray([hdr | ci << 1]) + struct.pack('<I', t0 // 1000000) + b'\x00'
    ts = t0 + [0, 300, 20000, 3000000][ci]
    rd, sg, mx = params
    body = [(t, d, k, a) for t, d, k, a in ev if k != 'syn']
    body += [(body[-1][0] if body else ts, d, 'data', a) for d, a in extra]
    for t, d, kind, arg in body:
        steps = paths_time(max(0, t - ts))
        for st in steps[:-1]:
            out += bytes([st << 4 | d << 3 | 5])
            ts += PATHS_STEPS[st]
        ts += PATHS_STEPS[steps[-1]]
        op = steps[-1] << 4 | d << 3
        if kind == 'data':
            for i in range(0, len(arg), 0xFFFF):
                chunk = arg[i:i + 0xFFFF]
                if len(chunk) <= 255:
                    out += bytes([op | 0, len(chunk)])
                else:
                    out += bytes([op | 1]) + u16(len(chunk))
                out += bytes([rd, sg, mx]) + chunk
                op = d << 3
        elif kind == 'fin':
            out += bytes([op | 2])
        elif kind == 'rst':
            out += bytes([op | 3])
    return bytes(out)


def write(outdir, target, name, data, written):
    d = os.path.join(outdir, target)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, name)
    with open(path, 'wb') as f:
        f.write(data)
    written.setdefault(target, []).append((name, len(data)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--out', default=os.path.join(HERE, 'corpus'))
    ap.add_argument('pcaps', nargs='*')
    a = ap.parse_args()
    pcaps = a.pcaps or (sorted(glob.glob(os.path.join(ROOT, 'tests', 'data', '*.pcap'))) +
                        sorted(glob.glob(os.path.join(HERE, 'seed_pcaps', '*.pcap'))))
    written = {}
    W = lambda t, n, d: write(a.out, t, n, d, written)

    allflows = []
    seen = {t: set() for t in ('x224', 'hello', 'cert', 'der')}
    for path in pcaps:
        for fl in flows_of(path):
            allflows.append(fl)
            n = fl.name
            # X.224: every TPKT of the negotiation phase, each direction.
            for d, side in ((0, 'c'), (1, 's')):
                pk, _ = tpkts(fl.stream[d])
                for i, p in enumerate(pk[:3]):
                    if p not in seen['x224']:
                        seen['x224'].add(p)
                        W('fuzz_x224', '%s-%s%d' % (n, side, i), p)
            # TLS.
            for d, side in ((0, 'client'), (1, 'server')):
                tls = tls_part(fl.stream[d])
                if not tls:
                    continue
                W('fuzz_tls_stream', '%s-%s-whole' % (n, side),
                  bytes([0, 0x04, 0, 0, 0, 0]) + tls[:6000])
                W('fuzz_tls_stream', '%s-%s-split' % (n, side),
                  bytes([5, 0x06, 0x05, 0x11, 0x01, 0x43]) + tls[:6000])
                for k, (typ, body) in enumerate(handshakes(tls)):
                    if typ in (1, 2) and body not in seen['hello']:
                        seen['hello'].add(body)
                        kind = {1: 'client-hello', 2: 'server-hello'}[typ]
                        W('fuzz_tls_hello', '%s-%s-%d' % (n, kind, k), body)
                    elif typ == 11 and body not in seen['cert']:
                        seen['cert'].add(body)
                        W('fuzz_tls_cert', '%s-certificate-msg' % n, body)
                        for j, der in enumerate(cert_ders(body)):
                            if der not in seen['der']:
                                seen['der'].add(der)
                                W('fuzz_tls_cert', '%s-der-%d' % (n, j), der)
            # Whole connection as a session script; a split-checked copy
            # of the small ones.
            W('fuzz_session', n, session_script(fl))
            if len(fl.stream[0]) + len(fl.stream[1]) < 4000:
                W('fuzz_session', n + '-splitcheck', session_script(fl, cfg=0x20 | 0x40))
            # Frames: the first data packet of each direction, every link type.
            for d in (0, 1):
                pk = [p for p in fl.packets if p[1] == d and p[2].payload]
                if pk:
                    s = pk[0][2]
                    W('fuzz_decode', '%s-eth-%d' % (n, d), bytes([DLT_INDEX[pk[0][4]]]) + pk[0][3])
            W('fuzz_capture', n + '-raw', capture_raw([fl]))
            W('fuzz_capture', n + '-synth', capture_synth([fl]))

    # The proxy path against the packet path: every connection as the proxy
    # reads it whole and the capture sees 1460-byte segments, and again with
    # small reads cut in two iovecs against mixed sizes, reordering and
    # retransmissions.
    for fl in allflows:
        W('fuzz_paths', fl.name, paths_script(fl))
        W('fuzz_paths', fl.name + '-mixed', paths_script(fl, (0x1a, 0x52, 0x0f), hdr=0x09))
    fl_ok = next((f for f in allflows if f.name == 'tls_ok'), None)
    if fl_ok:
        # Ten server flights into the RDP phase (established; the proxy then
        # only counts bytes), then a 16 KiB record.
        bulk = [(1, tls_record(23, bytes(200))), (0, tls_record(23, bytes(60)))] * 10
        bulk.append((1, tls_record(23, bytes(16379))))
        W('fuzz_paths', 'tls_ok-bulk', paths_script(fl_ok, (0x07, 0x3c, 0x05), extra=bulk))
        W('fuzz_paths', 'tls_ok-bytewise', paths_script(fl_ok, (0x01, 0x00, 0x02), hdr=0x30))
    # The server's RST after its Confirm: only the capture knows the RST's TTL
    # (the proxy's record adds reset_injected as an alternative).
    cc_ssl = cc(neg_rsp(1))
    W('fuzz_paths', 'synthetic-cc-then-server-rst',
      b'\x00' + struct.pack('<I', 1700000000) + b'\x00' +
      bytes([0x30, len(CR_BRIEF), 0, 0x0b, 0]) + CR_BRIEF +
      bytes([0x38, len(cc_ssl), 0, 0x0b, 0]) + cc_ssl + bytes([0x3b]))

    # Synthetic sessions: a CR/CC/TLS exchange with FIN, RST, timeouts, gaps.
    fl_ok = next((f for f in allflows if f.name == 'tls_ok'), None)
    W('fuzz_session', 'synthetic-timeout-after-cr',
      bytes([0, 0]) + struct.pack('<QI', 1700000000000000, 0) + b'\x00\x00' +
      bytes([0x0c, 0x1d, 0x00, len(CR_BRIEF)]) + CR_BRIEF + bytes([0xf8, 0xf8, 0xf4]))
    W('fuzz_session', 'synthetic-refused',
      bytes([0, 0x05]) + struct.pack('<QI', 1700000000000000, 0) + b'\x00\x00' +
      bytes([0x0c, 0x1e, 0x00, 0x00]))
    v2body = (b'\x01\x03\x01' + struct.pack('>HHH', 6, 0, 16) + bytes.fromhex('01008000002f') +
              bytes(range(16)))
    sslv2 = struct.pack('>H', 0x8000 | len(v2body)) + v2body
    W('fuzz_session', 'synthetic-sslv2-hello',
      bytes([0, 0x0a]) + struct.pack('<QI', 1700000000000000, 0) + b'\x07\x00' +
      bytes([0x0c, 0x1d, 0x00, len(sslv2)]) + sslv2 + bytes([0x47, 0x40]))
    neg_fail = cc(neg_failure(5))
    W('fuzz_session', 'synthetic-neg-failure-rst',
      bytes([0xe8, 0x01]) + struct.pack('<QI', 1700000000000000, 1600000000) + b'\x03\x00' +
      bytes([0x0c, 0x1d, 0x00, len(CR_BRIEF)]) + CR_BRIEF +
      bytes([0x21, len(neg_fail)]) + neg_fail + bytes([0x37, 0x33, 0x1e, 0x05]))
    W('fuzz_session', 'synthetic-gap-and-stats',
      bytes([0x10, 0x00]) + struct.pack('<QI', 1700000000000000, 0) + b'\x00\x00' +
      bytes([0x0c, 0x1d, 0x00, len(CR_BRIEF)]) + CR_BRIEF +
      bytes([0x0b, 0x10, 0x00, 0x0e, 0x02, 5, 1, 0, 0xdc, 0x05, 1, 0x10, 0, 0, 0x0f, 0x01, 0x40]))
    if fl_ok:
        W('fuzz_session', 'tls_ok-small-maxmsg', session_script(fl_ok, cfg=0x03 | 0x80, fmt=0x02))
        W('fuzz_session', 'tls_ok-count-and-now',
          session_script(fl_ok, cfg=0x08 | 0x10, fmt=0x01, now=1900000000))

    for name, p in X224_SYNTH.items():
        W('fuzz_x224', 'synthetic-' + name, p)

    # TLS stream: SSLv2 hello, a fragmented handshake, an alert, heartbeats.
    ch = next((b for b in sorted(seen['hello']) if len(b) > 100), b'\x03\x03' + bytes(34))
    frag = b''.join(tls_record(22, handshake(1, ch)[i:i + 50]) for i in range(0, len(ch) + 4, 50))
    W('fuzz_tls_stream', 'synthetic-fragmented-hello', bytes([0, 4, 3, 7, 0, 0x41]) + frag)
    W('fuzz_tls_stream', 'synthetic-sslv2', bytes([0, 0, 0, 0, 0, 0]) + sslv2 + tls_record(21, b'\x02\x28'))
    W('fuzz_tls_stream', 'synthetic-alert-ccs-appdata',
      bytes([2, 2, 1, 2, 3, 4]) + tls_record(21, b'\x02\x46') + tls_record(20, b'\x01') +
      tls_record(23, bytes(40)) + tls_record(24, b'\x01\x00\x10' + bytes(16)) +
      tls_record(23, b''))
    W('fuzz_tls_stream', 'synthetic-coalesced-messages',
      bytes([1, 4, 9, 9, 9, 9]) + tls_record(22, handshake(2, b'\x03\x03' + bytes(32) +
                                                              b'\x00\x13\x01\x00\x00\x00') +
                                         handshake(11, b'\x00\x00\x00') + handshake(14, b'')))

    # Decode: every link type and encapsulation, IPv4 and IPv6, plus oddities.
    syn4 = ipv4(V4C, V4S, tcp(50000, 3389, 1000, 0, 0x02))
    data4 = ipv4(V4C, V4S, tcp(50000, 3389, 1001, 5001, 0x18, CR_BRIEF))
    data6 = ipv6(V6C, V6S, tcp(50000, 3389, 1001, 5001, 0x18, CR_BRIEF))
    for nm, (dlt, fr) in link_frames(data4, False).items():
        W('fuzz_decode', 'synthetic-v4-' + nm, bytes([DLT_INDEX[dlt]]) + fr)
    for nm, (dlt, fr) in link_frames(data6, True).items():
        W('fuzz_decode', 'synthetic-v6-' + nm, bytes([DLT_INDEX[dlt]]) + fr)
    ext = (bytes([43, 0]) + bytes(6) +           # hop-by-hop -> routing
           bytes([44, 0]) + bytes(6) +           # routing -> fragment
           bytes([51, 0, 0, 0, 0, 0, 0, 0]) +    # fragment (offset 0, M=0) -> AH
           bytes([60, 1]) + bytes(10) +          # AH (len 1: 12 bytes) -> dstopts
           bytes([6, 0]) + bytes(6))             # dstopts -> TCP
    v6ext = ipv6(V6C, V6S, ext + tcp(50000, 3389, 1, 1, 0x18, b'x'), nh=0)
    W('fuzz_decode', 'synthetic-v6-ext-headers', bytes([DLT_INDEX[101]]) + v6ext)
    W('fuzz_decode', 'synthetic-v4-first-fragment',
      bytes([DLT_INDEX[101]]) + ipv4(V4C, V4S, tcp(50000, 3389, 1, 1, 0x18, b'abc'), frag=0x2000))
    W('fuzz_decode', 'synthetic-v4-later-fragment',
      bytes([DLT_INDEX[101]]) + ipv4(V4C, V4S, b'abcdefgh', frag=0x0010))
    W('fuzz_decode', 'synthetic-v4-udp', bytes([DLT_INDEX[101]]) + ipv4(V4C, V4S, bytes(8), proto=17))
    W('fuzz_decode', 'synthetic-v4-syn-eth-padded', bytes([0]) + ETH + b'\x08\x00' + syn4 + bytes(6))
    W('fuzz_decode', 'synthetic-v4-snapped', bytes([DLT_INDEX[101]]) + data4[:60])
    W('fuzz_decode', 'synthetic-v4-tso-zero-length',
      bytes([DLT_INDEX[101]]) + data4[:2] + b'\x00\x00' + data4[4:])
    W('fuzz_decode', 'synthetic-arp', bytes([0]) + ETH + b'\x08\x06' + bytes(28))

    # Capture: two connections interleaved, IPv6 synth, tight limits.
    by = {f.name: f for f in allflows}
    two = [by[k] for k in ('tls_ok', 'tls_version_mismatch') if k in by]
    if len(two) == 2:
        W('fuzz_capture', 'synthetic-two-flows', capture_synth(two))
        W('fuzz_capture', 'synthetic-two-flows-v6-maxflows1', capture_synth(two, cfg=0x02, v6=True))
        W('fuzz_capture', 'synthetic-two-flows-idle1ms-ooo100',
          capture_synth(two, cfg=0x10 | 0x40) + bytes([0xc0, 0x10, 0x00]))
    if 'cert_rejected_tls12' in by:
        fl = by['cert_rejected_tls12']
        # Flow 3 uses server port 443: found only by detect_any_port.
        W('fuzz_capture', 'synthetic-port443-detect-any', capture_synth([fl], cfg=0x01, flow_base=3))
        W('fuzz_capture', 'synthetic-port443-ports-list', capture_synth([fl], cfg=0x80, flow_base=3))

    # JSON escaper.
    for nm, s in (('ascii', b'rdp.example.test'),
                  ('utf8', 'J\u00fcrgen \u65e5\u672c \U0001f600'.encode()),
                  ('invalid', b'\xff\xfe\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xc2'),
                  ('controls', bytes(range(0, 32)) + b'\x7f\xc2\x80\xc2\x9f\xe2\x80\xa8'),
                  ('backslashes', b'\\x41\\\\"quoted"\\u0000'),
                  ('nul', b'a\x00b')):
        W('fuzz_json', nm, s)

    total = 0
    for t in sorted(written):
        sz = sum(n for _, n in written[t])
        total += sz
        print('%-16s %4d files %8d bytes' % (t, len(written[t]), sz))
    print('%-16s %4s       %8d bytes' % ('total', '', total))


if __name__ == '__main__':
    main()
