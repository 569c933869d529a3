#!/usr/bin/env python3
"""hostile_captures.py BIN DATA_DIR — `rdpwhy replay` on captures that are
cut short, damaged, absurd or enormous: it always finishes, never crashes
(no sanitizer report either: tests/lib/rdpwhy_run.py), exits with the
status README's "Exit status of replay" gives, says on stderr what it
skipped and why, and keeps its memory bounded.

Every file is written here, from DATA_DIR/tls_ok.pcap (a healthy TLS
session whose verdict DATA_DIR/index.tsv gives) or from nothing:

  * cut short: inside the file header (exit 1: not a capture), right after
    it (no packets: exit 0, "no RDP connection found"), inside the first
    record header, inside a packet in the middle, inside the last record
    header, inside the last packet (exit 0, a warning naming the byte where
    reading stopped and how many bytes were skipped, the records of what
    came before);
  * garbage: random bytes after a valid file header, and after the whole
    session (the session keeps its verdict);
  * snapshot length: every frame cut to 128 bytes (a warning counting them);
  * absurd record lengths: caplen > the header's snaplen, caplen 0xFFFFFFFF,
    wire length < caplen, caplen 0, a header with snaplen 0 and an unknown
    link type;
  * pcapng: the session as pcapng (the control), with unknown blocks between
    its packets, with an interface whose snaplen is 0xFFFFFFFF, with a block
    whose length is not a multiple of 4, one too short to be a block, one of
    2 GiB, a packet longer than its block, a packet on an interface never
    described;
  * a 0-byte file and a directory (exit 1, the message names them, and
    the other files of the run are still read);
  * MILLION flows: one data packet each on port 3389, from distinct
    addresses and ports, as a capture that started mid-stream on a busy
    farm would hold. Each becomes a session (an analysed port, data
    flowing); the table holds --max-flows of them and reports the oldest
    early when full. Checked: replay finishes, every flow gets its record
    (the early ones counted on stderr: exactly MILLION - max_flows), and
    peak RSS (getrusage of the child) stays under the bound below.

Memory bound. Unlike a SYN (a pending attempt, ~1 KiB: tests/scan_flood.py),
a flow with data has a session, and a session embeds its whole rw_record
(analyzers/record.h, 16.4 KiB: the certificate 5.3 KiB, the JA3 string
buffer 4 KiB, the ClientHello 3.3 KiB, the verdict's evidence 2 KiB), so
one costs about 17.8 KiB of RSS on x86-64 glibc (the MEASURE_N run below
measures it: (peak RSS - one-flow RSS) / MEASURE_N, and fails above
PER_FLOW_LIMIT_KIB). The table holds at most --max-flows of them: at the
default 65536 that is about 1.1 GiB, documented at --max-flows in the README
and in docs/robustness.md. The million-flow run uses --max-flows MAX_FLOWS
(16384: ~290 MiB) to keep the test reasonable on a small CI machine; its
bound is the one-flow RSS + 1.25 * MAX_FLOWS * PER_FLOW_LIMIT_KIB + 64 MiB
(libpcap's buffer, the output buffers, the allocator's slack). The ASan
build only has to finish (shadow memory and quarantine: 4 GiB).

RW_HOSTILE_FLOWS=N in the environment replaces the million (a quick run);
the ASan build (a path with "asan", or RW_ASAN=1) runs 250,000.
"""
import os
import random
import re
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
sys.path.insert(0, os.path.join(HERE, "captures"))
from rdpwhy_run import run, check_end  # noqa: E402
from records import loads  # noqa: E402
import pcapfile  # noqa: E402

ASAN = "asan" in sys.argv[1] or os.environ.get("RW_ASAN")
# The ASan build runs the same code paths on a quarter of the flows: a
# million took 95 s of CPU there (7.5 min on a loaded 2-core machine).
MILLION = int(os.environ.get("RW_HOSTILE_FLOWS", "250000" if ASAN else "1000000"))
MEASURE_N = 20000          # flows in the per-flow cost run (all held: no eviction)
PER_FLOW_LIMIT_KIB = 20    # what a mid-stream flow with its session may cost (17.7 measured)
MAX_FLOWS = 16384          # the table for the million-flow run (see the docstring)

fails = []
results = []  # (case, size, seconds, peak MiB or None)


def fail(msg):
    fails.append(msg)
    print("FAIL: " + msg)


def replay(binary, name, files, want, extra=(), stdout_file=None):
    """Run replay on FILES; return (records as JSON lines, stderr, seconds)."""
    cmd = [binary, "replay", "--format", "json"] + list(extra) + list(files)
    t = time.monotonic()
    if stdout_file:
        with open(stdout_file, "wb") as out:
            p = subprocess.run(cmd, stdout=out, stderr=subprocess.PIPE, text=True)
        check_end(name, p.returncode, want, p.stderr)
        recs = []
    else:
        p = run(cmd, want=want)
        recs = [l for l in p.stdout.splitlines() if l.strip()]
    return recs, p.stderr, time.monotonic() - t


# ---- writers --------------------------------------------------------------

PCAP_HDR = struct.Struct("<IHHiIII")
REC = struct.Struct("<IIII")


def pcap_header(snaplen=262144, linktype=1):
    return PCAP_HDR.pack(0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype)


def pcap_bytes(hdr, recs):
    out = [hdr]
    for sec, usec, orig, pkt in recs:
        out.append(REC.pack(sec, usec, len(pkt), max(orig, len(pkt))) + pkt)
    return b"".join(out)


def pad4(b):
    return b + b"\0" * (-len(b) % 4)


def ng_block(btype, body, total=None, trailer=None):
    n = 12 + len(body)
    return struct.pack("<II", btype, n if total is None else total) + body + struct.pack(
        "<I", n if trailer is None else trailer)


def ng_shb():
    return ng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))


def ng_idb(snaplen=262144, linktype=1):
    return ng_block(1, struct.pack("<HHI", linktype, 0, snaplen))


def ng_epb(rec, iface=0, caplen=None):
    sec, usec, orig, pkt = rec
    ts = sec * 1000000 + usec
    body = struct.pack("<IIIII", iface, ts >> 32, ts & 0xFFFFFFFF,
                       len(pkt) if caplen is None else caplen, max(orig, len(pkt))) + pad4(pkt)
    return ng_block(6, body)


def pcapng_bytes(recs, idb=None, between=None):
    out = [ng_shb(), idb if idb is not None else ng_idb()]
    for i, r in enumerate(recs):
        if between:
            out.append(between(i))
        out.append(ng_epb(r))
    return b"".join(out)


def frame(src, dst, sport, dport, flags, seq, ack, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), 0, 0x4000, 64, 6, 0, src, dst)
    return b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + ip + tcp + payload


def write_million(path, n):
    """N flows, one 32-byte data packet each (ACK|PSH) to port 3389, from
    10.<a>.<b>.<c>:<port>: one template, patched in place."""
    payload = bytes([0x17, 0x03, 0x03, 0x00, 0x1b]) + bytes(27)  # a TLS application record
    tmpl = bytearray(REC.pack(0, 0, 86, 86) + frame(b"\x0a\0\0\0", b"\x0a\xff\0\x01", 1, 3389,
                                                    0x18, 1000, 2000, payload))
    ts0 = 1700000000 * 1000000
    ip_off, port_off = 16 + 14 + 12, 16 + 34
    pack_ts = struct.Struct("<II").pack_into
    pack_ep = struct.Struct("!H").pack_into
    pack_ip = struct.Struct("!I").pack_into
    with open(path, "wb", buffering=1 << 20) as f:
        f.write(pcap_header())
        w = f.write
        for i in range(n):
            t = ts0 + i * 5  # 5 us apart: 5 s in all, never idle-expired
            pack_ts(tmpl, 0, t // 1000000, t % 1000000)
            pack_ip(tmpl, ip_off, 0x0A000000 + (i // 50000) + 1)
            pack_ep(tmpl, port_off, 10000 + i % 50000)
            w(tmpl)


# ---- the checks -----------------------------------------------------------

SKIPPED = re.compile(r"stopped at byte (\d+) of (\d+): the last (\d+) bytes were skipped")


def want_skip(case, err, at, size):
    m = SKIPPED.search(err)
    if not m:
        fail("%s: stderr does not say where reading stopped and what was skipped:\n%s" % (case, err))
        return
    got = tuple(int(x) for x in m.groups())
    if got != (at, size, size - at):
        fail("%s: stopped at %s, want byte %d of %d (%d skipped)" % (case, got, at, size, size - at))


def verdict(line):
    r = loads(line)
    return [r["rdpwhy.cause"], r["rdpwhy.closed_by"], r["rdpwhy.close_kind"], r["rdpwhy.phase"]]


def main():
    binary, data = sys.argv[1], sys.argv[2]
    hdr, recs = pcapfile.read(os.path.join(data, "tls_ok.pcap"), ethernet=True, whole=True)
    want_v = None
    for line in open(os.path.join(data, "index.tsv")):
        f = line.rstrip("\n").split("\t")
        if f[0] == "tls_ok.pcap":
            want_v = f[1:5]
    assert want_v, "tls_ok.pcap is not in the index"
    whole = pcap_bytes(hdr, recs)
    # Where each record starts in the file.
    starts, off = [], 24
    for r in recs:
        starts.append(off)
        off += 16 + len(r[3])
    assert off == len(whole)
    mid = len(recs) // 2

    with tempfile.TemporaryDirectory() as d:
        def put(name, blob):
            p = os.path.join(d, name)
            with open(p, "wb") as fh:
                fh.write(blob)
            return p

        def case(name, blob, want, needs=(), n_min=None, same_verdict=False, skip_at=None,
                 extra=()):
            path = put(name, blob)
            t = time.monotonic()
            try:
                out, err, secs = replay(binary, name, [path], want, extra)
            except AssertionError as e:
                fail(str(e))
                return None
            results.append((name, len(blob), secs, None))
            for rx in needs:
                if not re.search(rx, err):
                    fail("%s: stderr lacks /%s/:\n%s" % (name, rx, err))
            if n_min is not None and len(out) < n_min:
                fail("%s: %d records, want at least %d" % (name, len(out), n_min))
            if same_verdict and (not out or verdict(out[0]) != want_v):
                fail("%s: want the session's verdict %s, got %s" % (
                    name, want_v, [verdict(l) for l in out]))
            if skip_at is not None:
                want_skip(name, err, skip_at, len(blob))
            return out, err, time.monotonic() - t

        # -- cut short --------------------------------------------------
        case("cut_in_file_header.pcap", whole[:10], 1, [r"cut_in_file_header\.pcap"])
        case("header_only.pcap", whole[:24], 0, [r"no RDP connection found.*: 0 packets"])
        case("cut_in_first_record_header.pcap", whole[:24 + 8], 0,
             [r"truncated", r"read 0 packets"], skip_at=24)
        case("cut_in_first_packet.pcap", whole[:24 + 16 + 20], 0, [r"read 0 packets"], skip_at=24)
        case("cut_in_middle_record_header.pcap", whole[:starts[mid] + 5], 0,
             [r"read %d packets" % mid], n_min=1, skip_at=starts[mid])
        case("cut_in_middle_packet.pcap", whole[:starts[mid] + 16 + 30], 0,
             [r"read %d packets" % mid], n_min=1, skip_at=starts[mid])
        case("cut_in_last_record_header.pcap", whole[:starts[-1] + 3], 0,
             [r"read %d packets" % (len(recs) - 1)], n_min=1, skip_at=starts[-1])
        case("cut_in_last_packet.pcap", whole[:-7], 0, [r"read %d packets" % (len(recs) - 1)],
             n_min=1, skip_at=starts[-1])

        # -- garbage ----------------------------------------------------
        rng = random.Random(12)
        junk = bytes(rng.randrange(256) for _ in range(8192))
        case("garbage_after_header.pcap", whole[:24] + junk, 0, [r"warning"])
        # A record header that no capture can hold, then random bytes.
        bad = REC.pack(1, 2, 0xFFFFFFF0, 0xFFFFFFF0) + junk
        case("garbage_after_session.pcap", whole + bad, 0,
             [r"invalid packet capture length|bigger than", r"read %d packets" % len(recs)],
             same_verdict=True, skip_at=len(whole))
        # Random junk after the session: read as records while it can be.
        case("random_after_session.pcap", whole + junk, 0, [r"warning"], n_min=1)

        # -- snapshot length --------------------------------------------
        cut = [[s, u, max(o, len(p)), p[:128]] for s, u, o, p in recs]
        n_cut = sum(1 for r in recs if len(r[3]) > 128)
        case("snaplen_128.pcap", pcap_bytes(pcap_header(snaplen=128), cut), 0,
             [r"%d packets were cut by the capture's snapshot length" % n_cut], n_min=1)

        # -- absurd record lengths --------------------------------------
        # caplen above the file's snaplen (but a real frame follows it).
        case("caplen_over_snaplen.pcap", pcap_bytes(pcap_header(snaplen=128), recs), 0, n_min=1)
        r0 = recs[0]
        case("caplen_ffffffff.pcap", whole[:starts[mid]] + REC.pack(r0[0], r0[1], 0xFFFFFFFF, 0xFFFFFFFF)
             + whole[starts[mid] + 16:], 0, [r"read %d packets" % mid], n_min=1, skip_at=starts[mid])
        short_len = b"".join([hdr] + [REC.pack(s, u, len(p), 10) + p for s, u, o, p in recs])
        case("wirelen_below_caplen.pcap", short_len, 0, n_min=1)
        empties = b"".join([hdr] + [REC.pack(r0[0], r0[1] + i, 0, 1500) for i in range(1000)])
        case("caplen_zero.pcap", empties, 0, [r"1000 undecodable|no RDP connection found"])
        case("snaplen0_unknown_dlt.pcap", pcap_bytes(pcap_header(snaplen=0, linktype=0xFFF0), recs),
             0, [r"%d packets, %d undecodable" % (len(recs), len(recs)),
                 r"none of its packets could be decoded"])

        # -- pcapng -----------------------------------------------------
        case("session.pcapng", pcapng_bytes(recs), 0, same_verdict=True)
        case("unknown_blocks.pcapng",
             pcapng_bytes(recs, between=lambda i: ng_block(0x0BAD0000 + i % 7, pad4(b"x" * (i % 13)))),
             0, same_verdict=True)
        case("idb_snaplen_ffffffff.pcapng", pcapng_bytes(recs, idb=ng_idb(snaplen=0xFFFFFFFF)), 0,
             same_verdict=True)
        ng = pcapng_bytes(recs[:mid])
        tail = pcapng_bytes(recs[mid:])[len(ng_shb()) + len(ng_idb()):]
        case("block_len_not_4.pcapng", ng + ng_block(0x0BAD, b"abcd", total=19) + tail, 0,
             [r"read %d packets" % mid], n_min=1, skip_at=len(ng))
        case("block_len_short.pcapng", ng + struct.pack("<II", 6, 8) + tail, 0,
             [r"read %d packets" % mid], n_min=1, skip_at=len(ng))
        case("block_len_2gib.pcapng", ng + struct.pack("<II", 6, 0x80000000) + tail, 0,
             [r"read %d packets" % mid], n_min=1, skip_at=len(ng))
        case("packet_longer_than_block.pcapng", ng + ng_epb(recs[mid], caplen=60000) + tail, 0,
             [r"read %d packets" % mid], n_min=1, skip_at=len(ng))
        case("undescribed_interface.pcapng", ng + ng_epb(recs[mid], iface=5) + tail, 0,
             [r"read %d packets" % mid], n_min=1, skip_at=len(ng))
        case("trailer_mismatch.pcapng", ng + ng_block(0x0BAD, b"abcd", trailer=1234) + tail, 0,
             [r"read %d packets" % mid], n_min=1, skip_at=len(ng))

        # -- not files at all -------------------------------------------
        empty = put("empty.pcap", b"")
        sub = os.path.join(d, "a_directory.pcap")
        os.mkdir(sub)
        good = put("good.pcap", whole)
        try:
            out, err, secs = replay(binary, "empty+dir", [empty, sub, good], 1)
            results.append(("empty.pcap, a_directory.pcap, good.pcap", 0, secs, None))
            for rx in (r"empty\.pcap: is empty \(0 bytes\)",
                       r"a_directory\.pcap: is a directory"):
                if not re.search(rx, err):
                    fail("0-byte file and directory: stderr lacks /%s/:\n%s" % (rx, err))
            if len(out) != 1 or verdict(out[0]) != want_v:
                fail("0-byte file and directory: the good file after them, want %s, got %s" % (
                    want_v, [verdict(l) for l in out]))
        except AssertionError as e:
            fail(str(e))

        # -- many flows -------------------------------------------------
        # The per-flow cost: MEASURE_N flows, all held until the end.
        one = os.path.join(d, "one_flow.pcap")
        meas = os.path.join(d, "measure.pcap")
        write_million(one, 1)
        write_million(meas, MEASURE_N)
        rss_base = child_run(binary, one)[0]
        rss_meas = child_run(binary, meas)[0]
        per_flow = (rss_meas - rss_base) / MEASURE_N
        print("hostile_captures: a mid-stream flow with its session costs %.1f KiB "
              "(%d flows: %d MiB, 1 flow: %d MiB)" % (per_flow, MEASURE_N, rss_meas // 1024,
                                                       rss_base // 1024))
        if not ASAN and per_flow > PER_FLOW_LIMIT_KIB:
            fail("a mid-stream flow with its session costs %.1f KiB, limit %d KiB" % (
                per_flow, PER_FLOW_LIMIT_KIB))

        big = os.path.join(d, "million.pcap")
        t = time.monotonic()
        write_million(big, MILLION)
        gen = time.monotonic() - t
        limit_kib = rss_base + int(1.25 * MAX_FLOWS * PER_FLOW_LIMIT_KIB) + 64 * 1024
        if ASAN:  # shadow memory, quarantine, redzones: judge only that it ends
            limit_kib = 4 * 1024 * 1024
        try:
            rss, err, secs, nrec = child_run(binary, big, ["--max-flows", str(MAX_FLOWS)])
            results.append(("million.pcap (%d flows, written in %.1f s)" % (MILLION, gen),
                            os.path.getsize(big), secs, rss // 1024))
            m = re.search(r"(\d+) packets, (\d+) undecodable, (\d+) connections reported early", err)
            if MILLION > MAX_FLOWS and (not m or int(m.group(1)) != MILLION
                                        or int(m.group(3)) != MILLION - MAX_FLOWS):
                fail("million flows: stderr should count %d packets and %d connections reported "
                     "early:\n%s" % (MILLION, MILLION - MAX_FLOWS, err))
            if nrec != MILLION:
                fail("million flows: %d records, want one per flow (%d)" % (nrec, MILLION))
            if rss > limit_kib:
                fail("million flows: peak RSS %d MiB, bound %d MiB" % (rss // 1024, limit_kib // 1024))
            print("hostile_captures: %d flows (%d MiB) replayed with --max-flows %d in %.1f s, "
                  "%d records, peak RSS %d MiB (bound %d MiB; at the default 65536 flows: about "
                  "%d MiB)" % (MILLION, os.path.getsize(big) >> 20, MAX_FLOWS, secs, nrec,
                               rss // 1024, limit_kib // 1024,
                               (rss_base + 65536 * per_flow) // 1024))
        except AssertionError as e:
            fail(str(e))

    for name, size, secs, rss in results:
        print("  %-52s %10d bytes %7.2f s%s" % (name, size, secs,
                                                "  peak %d MiB" % rss if rss is not None else ""))
    print("hostile_captures: %d cases; %s" % (len(results), "FAILED" if fails else "ok"))
    sys.exit(1 if fails else 0)


def child_run(binary, path, extra=()):
    """(peak RSS KiB, stderr, seconds, records) of `rdpwhy replay --format
    json PATH`, run by a python child of its own (so that RUSAGE_CHILDREN is
    that replay's alone) that counts the JSON lines through a pipe: a
    million records are about 1.3 GB, kept neither in memory nor on disk."""
    code = ("import resource,subprocess,sys,tempfile\n"
            "e=tempfile.TemporaryFile()\n"
            "p=subprocess.Popen(sys.argv[1:],stdout=subprocess.PIPE,stderr=e)\n"
            "n=0\n"
            "for b in iter(lambda: p.stdout.read(1<<20), b''):\n"
            "    n+=b.count(b'\\n')\n"
            "rc=p.wait()\n"
            "e.seek(0)\n"
            "sys.stderr.buffer.write(e.read())\n"
            "print(n, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
            "sys.exit(rc)\n")
    t = time.monotonic()
    p = subprocess.run([sys.executable, "-c", code, binary, "replay", "--format", "json"]
                       + list(extra) + [path], capture_output=True, text=True)
    secs = time.monotonic() - t
    check_end("replay " + os.path.basename(path), p.returncode, 0, p.stderr)
    n, rss = (int(x) for x in p.stdout.split()[-2:])
    return rss, p.stderr, secs, n


if __name__ == "__main__":
    main()
