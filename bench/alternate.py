#!/usr/bin/env python3
"""Runs commands in turn, round after round, and prints each one's fastest and
median wall time and CPU (user + sys of the command and its children). On a
virtual machine whose speed drifts within minutes, only runs taken in
alternation rank two builds, or two tools; a block of runs of one then a
block of the other measures the hour as much as the difference.

usage: alternate.py [--warmup N] [--pause S] [--export DIR] ROUNDS LABEL 'COMMAND' [LABEL 'COMMAND' ...]
  e.g. bench/alternate.py 10 old 'old/rdpwhy replay -j 1 --format json c.pcap >/dev/null' \\
                             new 'build/rdpwhy replay -j 1 --format json c.pcap >/dev/null'

--warmup N: N untimed rounds first (page cache, the loader's caches).
--pause S: S seconds (a decimal) of sleep before each run. Back to back, a
run gets the memory the one before it just freed, still backed by the
hypervisor; a guest that reports its free pages to the host
(virtio-balloon) has it taken back within seconds, and a run after a pause,
as a user's is, may pay again to have it backed (bench/fresh_memory.c
measures by how much).
--export DIR: also writes DIR/LABEL.hf.json (hyperfine's --export-json shape:
results[0].times, user, system, exit_codes, in seconds) and DIR/LABEL.rss
(each run's peak RSS in KiB, one a line), as bench/run.sh's report reads
them; a failed run is recorded there rather than ending the rounds.
"""
import collections
import json
import os
import statistics
import subprocess
import sys
import time


def run(cmd):
    """(wall s, user s, sys s, peak RSS KiB, exit code) of one run. The
    rusage of the waited child covers its own children (the shell's
    command), its peak RSS too."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, shell=True, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    t = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    return t, ru.ru_utime, ru.ru_stime, ru.ru_maxrss, p.returncode


def main():
    args = sys.argv[1:]
    warmup, export, pause = 0, None, 0.0
    while args and args[0].startswith("--"):
        if args[0] == "--warmup" and len(args) > 1:
            warmup = int(args[1])
        elif args[0] == "--pause" and len(args) > 1:
            try:
                pause = float(args[1])
            except ValueError:
                sys.exit(f"alternate.py: --pause needs seconds, not {args[1]!r}")
        elif args[0] == "--export" and len(args) > 1:
            export = args[1]
        else:
            sys.exit(__doc__)
        args = args[2:]
    if len(args) < 3 or len(args) % 2 != 1:
        sys.exit(__doc__)
    rounds = int(args[0])
    pairs = list(zip(args[1::2], args[2::2]))
    res = collections.defaultdict(lambda: collections.defaultdict(list))
    for k in range(warmup + rounds):
        for label, cmd in pairs:
            if pause > 0:
                time.sleep(pause)
            wall, user, system, rss, rc = run(cmd)
            if rc != 0 and not export:
                sys.exit(f"alternate.py: {label} exited {rc}: {cmd}")
            if k < warmup:
                continue
            r = res[label]
            r["times"].append(wall)
            r["user"].append(user)
            r["system"].append(system)
            r["rss"].append(rss)
            r["exit_codes"].append(rc)
    for label, cmd in pairs:
        r = res[label]
        w = [x * 1000 for x in r["times"]]
        c = [(u + s) * 1000 for u, s in zip(r["user"], r["system"])]
        failed = sum(1 for x in r["exit_codes"] if x)
        print(f"{label:12s} wall min {min(w):7.1f} median {statistics.median(w):7.1f} ms"
              f" | CPU min {min(c):7.1f} median {statistics.median(c):7.1f} ms ({len(w)} runs"
              + (f", {failed} failed" if failed else "") + ")")
        if export:
            out = {"results": [{"command": cmd, "times": r["times"],
                                "mean": statistics.mean(r["times"]),
                                "median": statistics.median(r["times"]),
                                "user": statistics.mean(r["user"]),
                                "system": statistics.mean(r["system"]),
                                "exit_codes": r["exit_codes"]}]}
            with open(os.path.join(export, label + ".hf.json"), "w") as f:
                json.dump(out, f)
            with open(os.path.join(export, label + ".rss"), "w") as f:
                f.write("".join(f"{x}\n" for x in r["rss"]))


if __name__ == "__main__":
    main()
