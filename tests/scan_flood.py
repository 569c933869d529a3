#!/usr/bin/env python3
"""scan_flood.py BIN DATA_DIR — scans and floods in a capture cost little and
say what they are, and the real connections among them keep their records.

The capture is written here from a committed one (DATA_DIR/tls_ok.pcap, a
healthy TLS session, whose own verdict the index gives) and, around it,
attempts that never become connections — what the script made is the
expectation, never what rdpwhy printed:

  * a port scan: one source, SCAN_N SYNs to 3389 on SCAN_N hosts, each
    refused by an RST;
  * a SYN scan: another source, SYNSCAN_N SYNs answered by SYN-ACK and reset
    by the scanner;
  * a spoofed SYN flood: FLOOD_N SYNs to one host from FLOOD_N different
    sources, each answered by a SYN-ACK that nobody acknowledges;
  * one ordinary refused attempt from a quiet client (its own record:
    upstream_refused), the healthy session in the middle of the flood.

Checked: the healthy session's record is the index's verdict; the quiet
client's refusal is its own upstream_refused record; every other attempt is
in a scan_or_flood summary (the counts add up exactly: attempts reported on
their own + attempts in summaries = attempts made) with per-source counts
for the scanners and a per-target summary for the flood; there are at most a
few dozen records in all. In a second run, BIG_N never-answered SYNs (more
than the default flow table holds) around a quiet healthy session: every
attempt accounted for, the session's record still the index's verdict (the
attempts were evicted, not it), and replay's peak memory (wait4) at most one
session's replay plus 1 KiB per flow of the default table. bench/syn_flood.py
runs the same with a million SYNs.
"""
import json
import os
import random
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "captures"))
from rdpwhy_run import check_end, run  # noqa: E402
try:
    from records import parse_lines  # noqa: E402  (dotted names, nested or flat)
except ImportError:  # before tests/lib/records.py: flat records
    def parse_lines(text):
        return [json.loads(line) for line in text.splitlines() if line.strip()]
import pcapfile  # noqa: E402

SCAN_N, SYNSCAN_N, FLOOD_N, BIG_N = 3000, 2000, 5000, 200000
INDIVIDUAL_PER_SOURCE = 5  # capture/scan_tally.h: RW_SCAN_INDIVIDUAL_PER_SOURCE
MAX_FLOWS = 65536  # capture/flow_table.c: the default flow table
FLOW_KIB = 1  # issue #14: at most 1 KiB per half-open or never-answered flow


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(src, dst, sport, dport, flags, seq, ack, ttl):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0x4000, ttl, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    return b"\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00" + ip + tcp


SYN, RST, ACK = 0x02, 0x04, 0x10


def ip4(*b):
    return bytes(b)


def attempts(t0, rng):
    """(records, quiet client): SYN/RST/SYN-ACK frames, 200 µs apart."""
    out, t = [], t0
    def put(pkt):
        nonlocal t
        t += 200
        out.append([t // 1000000, t % 1000000, len(pkt), pkt])
    scanner, synscanner, quiet = ip4(192, 0, 2, 66), ip4(192, 0, 2, 77), ip4(192, 0, 2, 9)
    for i in range(SCAN_N):
        host = ip4(10, 9, (i >> 8) & 255, i & 255)
        sp = 40000 + i % 20000
        put(frame(scanner, host, sp, 3389, SYN, 1000 + i, 0, 50))
        put(frame(host, scanner, 3389, sp, RST | ACK, 0, 1001 + i, 128))
    for i in range(SYNSCAN_N):
        host = ip4(10, 8, (i >> 8) & 255, i & 255)
        sp = 30000 + i % 20000
        put(frame(synscanner, host, sp, 3389, SYN, 5000 + i, 0, 50))
        put(frame(host, synscanner, 3389, sp, SYN | ACK, 9000, 5001 + i, 128))
        put(frame(synscanner, host, sp, 3389, RST, 5001 + i, 0, 50))
    target = ip4(10, 7, 0, 1)
    for i in range(FLOOD_N):
        src = ip4(100, 64 + (i >> 16) % 64, (i >> 8) & 255, i & 255)
        sp = rng.randrange(1024, 65535)
        put(frame(src, target, sp, 3389, SYN, rng.randrange(1 << 32), 0, 240))
        put(frame(target, src, 3389, sp, SYN | ACK, 7000, 0, 128))
    host = ip4(10, 6, 0, 1)
    put(frame(quiet, host, 50000, 3389, SYN, 1, 0, 64))
    put(frame(host, quiet, 3389, 50000, RST | ACK, 0, 2, 128))
    return out


def replay(binary, path):
    p = run([binary, "replay", "--format", "json", path], want=0)
    return parse_lines(p.stdout)  # dotted names, nested or flat


def peak_rss(binary, path, extra=()):
    """(records, peak RSS in KiB) of one replay, measured for that child alone."""
    args = [binary, "replay", "--format", "json", *extra, path]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, stdout=out, stderr=err)
        _, status, ru = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        check_end(" ".join(args), proc.returncode, 0, err.read().decode(errors="replace"))
        return parse_lines(out.read().decode()), ru.ru_maxrss


def flood_capture(path, n, hdr, healthy):
    """n spoofed SYNs to 10.7.0.1:3389 from n sources, 10 µs apart, never
    answered; the healthy session's first half before them, the rest after
    (its timestamps shifted past the flood)."""
    half = len(healthy) // 2
    t0 = healthy[half - 1][0] * 1000000 + healthy[half - 1][1]
    recs, t = [list(r) for r in healthy[:half]], t0
    for i in range(n):
        t += 10
        pkt = frame(ip4(100, 64 + (i >> 16) % 64, (i >> 8) & 255, i & 255), ip4(10, 7, 0, 1),
                    1024 + i % 60000, 3389, SYN, i, 0, 240)
        recs.append([t // 1000000, t % 1000000, len(pkt), pkt])
    shift = t + 1000 - t0
    for r in healthy[half:]:
        u = r[0] * 1000000 + r[1] + shift
        recs.append([u // 1000000, u % 1000000] + list(r[2:]))
    pcapfile.write(path, hdr, recs)


def main():
    binary, data = sys.argv[1], sys.argv[2]
    fails = []
    hdr, healthy = pcapfile.read(os.path.join(data, "tls_ok.pcap"), ethernet=True)
    want = None
    for line in open(os.path.join(data, "index.tsv")):
        f = line.rstrip("\n").split("\t")
        if f[0] == "tls_ok.pcap":
            want = f[1:5]
    assert want, "tls_ok.pcap is not in the index"
    t0 = healthy[0][0] * 1000000 + healthy[0][1] - 500000
    rng = random.Random(7)
    noise = attempts(t0, rng)
    # The healthy session in the middle of the noise, time-ordered.
    merged = sorted(noise + healthy, key=lambda r: r[0] * 1000000 + r[1])
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "noisy.pcap")
        pcapfile.write(path, hdr, merged)
        recs = replay(binary, path)
    scan = [r for r in recs if r["rdpwhy.cause"] == "scan_or_flood"]
    single = [r for r in recs if r["rdpwhy.cause"] != "scan_or_flood"]
    made = SCAN_N + SYNSCAN_N + FLOOD_N + 1
    counted = sum(r["rdpwhy.scan.attempts"] for r in scan)
    # The healthy session: its index verdict, once.
    ok = [r for r in single if r.get("destination.port") == 3389 and r.get("tls.established")]
    if len(ok) != 1 or [ok[0]["rdpwhy.cause"], ok[0]["rdpwhy.closed_by"], ok[0]["rdpwhy.close_kind"],
                        ok[0]["rdpwhy.phase"]] != want:
        fails.append("the healthy session: want one record %s, got %s" % (
            want, [[r["rdpwhy.cause"], r["rdpwhy.closed_by"]] for r in ok]))
    attempts_single = [r for r in single if r not in ok]
    if counted + len(attempts_single) != made:
        fails.append("attempts: %d in summaries + %d on their own != %d made" % (
            counted, len(attempts_single), made))
    quiet = [r for r in attempts_single if r["source.ip"] == "192.0.2.9"]
    if len(quiet) != 1 or quiet[0]["rdpwhy.cause"] != "upstream_refused":
        fails.append("the quiet client's refused attempt: want its own upstream_refused record, got %s"
                     % [r["rdpwhy.cause"] for r in quiet])
    by_src = {}
    for r in scan:
        by_src.setdefault(r["source.ip"], []).append(r)
    s66 = by_src.get("192.0.2.66", [])
    if sum(r["rdpwhy.scan.refused"] for r in s66) + INDIVIDUAL_PER_SOURCE != SCAN_N:
        fails.append("the port scanner: want %d refused in its summaries, got %s" % (
            SCAN_N - INDIVIDUAL_PER_SOURCE, [r["rdpwhy.scan.refused"] for r in s66]))
    s77 = by_src.get("192.0.2.77", [])
    if sum(r["rdpwhy.scan.client_reset"] for r in s77) + INDIVIDUAL_PER_SOURCE != SYNSCAN_N:
        fails.append("the SYN scanner: want %d reset by the client, got %s" % (
            SYNSCAN_N - INDIVIDUAL_PER_SOURCE, [r["rdpwhy.scan.client_reset"] for r in s77]))
    flood = [r for r in scan if r.get("destination.ip") == "10.7.0.1" and "rdpwhy.scan.sources" in r]
    fl = sum(r["rdpwhy.scan.half_open"] for r in flood)
    if not flood or fl < FLOOD_N - 200:  # the first ones of each minute go one by one
        fails.append("the flood: want a per-target summary of ~%d half-open attempts, got %d" % (FLOOD_N, fl))
    if flood and max(r["rdpwhy.scan.sources"] for r in flood) < 500:
        fails.append("the flood's distinct sources: want about a thousand or more, got %s"
                     % [r["rdpwhy.scan.sources"] for r in flood])
    if len(recs) > 150:
        fails.append("%d records for %d attempts: a summary should stand for them" % (len(recs), made))
    for r in scan:
        for k in ("rdpwhy.evidence", "rdpwhy.remediation", "rdpwhy.confidence"):
            if not r.get(k):
                fails.append("a summary record lacks %s" % k)

    # Memory: BIG_N spoofed SYNs, never answered, more than the default flow
    # table holds (65,536), around a quiet healthy session (handshake before
    # the flood, the rest after it). One session each would be ~16 KiB
    # (3 GiB); a pending flow must cost at most 1 KiB, the table is bounded,
    # and the attempts go before the quiet session when the table is full.
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "flood.pcap")
        # Written by a child: this process stays small, since a child's
        # peak RSS counts what it inherited before exec.
        subprocess.run([sys.executable, os.path.abspath(__file__), "--write-flood", path,
                        str(BIG_N), os.path.join(data, "tls_ok.pcap")], check=True)
        base_kib = peak_rss(binary, os.path.join(data, "tls_ok.pcap"))[1]
        big, peak_kib = peak_rss(binary, path)
        got = sum(r.get("rdpwhy.scan.attempts", 0) for r in big if r["rdpwhy.cause"] == "scan_or_flood")
        quiet = [r for r in big if r["rdpwhy.cause"] != "scan_or_flood" and r.get("tls.established")]
        alone = [r for r in big if r["rdpwhy.cause"] != "scan_or_flood" and r not in quiet]
        if got + len(alone) != BIG_N:
            fails.append("big flood: %d attempts accounted for, %d made" % (got + len(alone), BIG_N))
        if len(big) > 150:
            fails.append("big flood: %d records" % len(big))
        if len(quiet) != 1 or [quiet[0]["rdpwhy.cause"], quiet[0]["rdpwhy.closed_by"],
                               quiet[0]["rdpwhy.close_kind"], quiet[0]["rdpwhy.phase"]] != want:
            fails.append("big flood: the quiet session: want one record %s, got %s (evicted by "
                         "the flood?)" % (want, [[r["rdpwhy.cause"], r["rdpwhy.closed_by"]]
                                                 for r in quiet]))
        # At most 1 KiB per flow the table can hold, over a replay of one
        # session. Sanitizer builds carry shadow memory and quarantine: judge
        # the bound only where it means something.
        limit_kib = base_kib + MAX_FLOWS * FLOW_KIB
        if "asan" in binary:
            limit_kib = 4 * 1024 * 1024
        if peak_kib > limit_kib:
            fails.append("big flood: replay peaked at %d KiB, more than %d KiB (%d KiB for one "
                         "session + %d flows x %d KiB)" % (peak_kib, limit_kib, base_kib,
                                                            MAX_FLOWS, FLOW_KIB))
        print("scan_flood: %d SYNs replayed in %d records, peak RSS %d MiB (one session alone: "
              "%d MiB; limit %d MiB)" % (BIG_N, len(big), peak_kib // 1024, base_kib // 1024,
                                         limit_kib // 1024))
    for f in fails:
        print("FAIL: " + f)
    print("scan_flood: %d records for %d attempts and one session; %s" % (
        len(recs), made, "FAILED" if fails else "ok"))
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    if sys.argv[1] == "--write-flood":  # PATH N HEALTHY.pcap
        h, recs = pcapfile.read(sys.argv[4], ethernet=True)
        flood_capture(sys.argv[2], int(sys.argv[3]), h, recs)
    else:
        main()
