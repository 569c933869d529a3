#!/usr/bin/env python3
"""syn_flood.py RDPWHY [N] — a SYN flood of N (default 1,000,000) spoofed,
never-answered SYNs around one quiet healthy session (tests/data/tls_ok.pcap:
its handshake before the flood, the rest after), replayed with the default
flow table; prints the peak RSS (wait4, for the rdpwhy process alone), the
time, the records, and whether the issue #14 bounds hold: at most 256 MiB,
every attempt accounted for, and the quiet session's record unchanged (the
flood's flows were evicted first). tests/scan_flood.py does the same with
200,000 SYNs in CI time; the capture is written by its flood_capture.
"""
import os
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
sys.path.insert(0, os.path.join(ROOT, "tests", "captures"))
import scan_flood  # noqa: E402


def main():
    binary = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    data = os.path.join(ROOT, "tests", "data")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "flood.pcap")
        t = time.time()
        subprocess.run([sys.executable, scan_flood.__file__, "--write-flood", path, str(n),
                        os.path.join(data, "tls_ok.pcap")], check=True)
        gen = time.time() - t
        t = time.time()
        recs, peak = scan_flood.peak_rss(binary, path)
        took = time.time() - t
        size = os.path.getsize(path)
    attempts = sum(r.get("rdpwhy.scan.attempts", 0) for r in recs
                   if r["rdpwhy.cause"] == "scan_or_flood")
    quiet = [r for r in recs if r["rdpwhy.cause"] != "scan_or_flood" and r.get("tls.established")]
    alone = len(recs) - len(quiet) - sum(1 for r in recs if r["rdpwhy.cause"] == "scan_or_flood")
    ok = (peak <= 256 * 1024 and attempts + alone == n and len(quiet) == 1
          and quiet[0]["rdpwhy.cause"] == "normal_close")
    print("syn_flood: %d SYNs (%.0f MiB capture, written in %.1f s): replay %.2f s wall, peak "
          "RSS %.1f MiB, %d records (%d attempts in summaries, %d on their own), quiet session: "
          "%s; %s" % (n, size / 2**20, gen, took, peak / 1024, len(recs), attempts, alone,
                      [r["rdpwhy.cause"] for r in quiet], "ok" if ok else "FAILED"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
