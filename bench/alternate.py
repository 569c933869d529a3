#!/usr/bin/env python3
"""Runs commands in turn, round after round, and prints each one's fastest and
median wall time and CPU (user + sys of the command and its children). On a
virtual machine whose speed drifts within minutes, only runs taken in
alternation rank two builds; a block of runs of one then a block of the other
measures the hour as much as the change.

usage: alternate.py ROUNDS LABEL 'COMMAND' [LABEL 'COMMAND' ...]
  e.g. bench/alternate.py 10 old 'old/rdpwhy replay -j 1 --format json c.pcap >/dev/null' \\
                             new 'build/rdpwhy replay -j 1 --format json c.pcap >/dev/null'
"""
import collections
import resource
import statistics
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 4 or len(sys.argv) % 2 != 0:
        sys.exit(__doc__)
    rounds = int(sys.argv[1])
    pairs = list(zip(sys.argv[2::2], sys.argv[3::2]))
    wall = collections.defaultdict(list)
    cpu = collections.defaultdict(list)
    for _ in range(rounds):
        for label, cmd in pairs:
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            rc = subprocess.run(cmd, shell=True, stdout=subprocess.DEVNULL).returncode
            t = time.perf_counter() - t
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            if rc != 0:
                sys.exit(f"alternate.py: {label} exited {rc}: {cmd}")
            wall[label].append(t * 1000)
            cpu[label].append((r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) * 1000)
    for label, _ in pairs:
        w, c = wall[label], cpu[label]
        print(f"{label:12s} wall min {min(w):7.1f} median {statistics.median(w):7.1f} ms"
              f" | CPU min {min(c):7.1f} median {statistics.median(c):7.1f} ms ({len(w)} runs)")


if __name__ == "__main__":
    main()
