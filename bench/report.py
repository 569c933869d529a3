#!/usr/bin/env python3
"""The results table of bench/run.sh, from the files it leaves in its output
directory (N.name, N.cmd, N.hf.json or N.times, N.rss).

usage: report.py OUTDIR BYTES PACKETS CONNECTIONS CHECK SURICATA_NOTE LOAD_BEFORE LOAD_AFTER
"""
import glob
import json
import os
import statistics
import sys

out, nbytes, packets, conns, check, suri_note, load0, load1 = sys.argv[1:9]
nbytes, packets = int(nbytes), int(packets)
rows = []
for namef in sorted(glob.glob(os.path.join(out, "*.name")), key=lambda p: int(os.path.basename(p).split(".")[0])):
    i = os.path.basename(namef).split(".")[0]
    name = open(namef).read().strip()
    cmd = open(os.path.join(out, i + ".cmd")).read().strip()
    times = []
    hf = os.path.join(out, i + ".hf.json")
    rss = []
    if os.path.exists(hf):
        r = json.load(open(hf))["results"][0]
        times = r["times"]
        cpu = r["user"] + r["system"]
        codes = r.get("exit_codes", [])
    else:
        codes = []
        cpus = []
        tf = os.path.join(out, i + ".times")
        for line in open(tf):
            f = line.split()
            if len(f) != 4 or not f[3].isdigit():
                continue
            times.append(float(f[0]))
            cpus.append(float(f[1]) + float(f[2]))
            rss.append(int(f[3]))
        cpu = statistics.mean(cpus) if cpus else float("nan")
    rf = os.path.join(out, i + ".rss")
    if os.path.exists(rf):
        for line in open(rf):
            line = line.strip()
            if line.isdigit():
                rss.append(int(line))
            elif line.startswith("Command exited with non-zero status") or line.startswith("Command terminated"):
                codes.append(1)
    bad = sum(1 for c in codes if c)
    rows.append(dict(name=name, cmd=cmd, times=times, cpu=cpu, rss=max(rss) if rss else None,
                     bad=bad))
if not rows:
    sys.exit("no results")
base = statistics.mean(rows[0]["times"])
base_cpu = rows[0]["cpu"]
mib = nbytes / (1 << 20)
print()
print(f"capture: {mib:.0f} MiB, {packets} packets, {conns} connections; rdpwhy check: {check}; "
      f"load average before/after timing: {load0} / {load1} on {os.cpu_count()} CPUs")
print()
print("| tool | runs | mean wall time (s) | median (s) | min (s) | wall ratio to rdpwhy | CPU user+sys (s) | CPU ratio to rdpwhy | peak RSS (MiB) | MiB/s | packets/s |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    t = r["times"]
    m = statistics.mean(t)
    sd = f" ± {statistics.stdev(t):.2f}" if len(t) > 1 else ""
    rss = f"{r['rss'] / 1024:.1f}" if r["rss"] else "?"
    flag = f" ({r['bad']} failed runs)" if r["bad"] else ""
    print(f"| {r['name']}{flag} | {len(t)} | {m:.2f}{sd} | {statistics.median(t):.3f} | {min(t):.2f} | {m / base:.2f}x "
          f"| {r['cpu']:.2f} | {r['cpu'] / base_cpu:.2f}x | {rss} | {mib / m:.0f} "
          f"| {packets / m / 1e6:.2f} M |")
print()
for r in rows:
    print(f"- {r['name']}: `{r['cmd']}`")
if suri_note:
    print(f"- {suri_note}")

# Issue #14's targets: >= 50x tshark and >= 70 % of the bare libpcap loop's
# speed (its time / rdpwhy's), by median wall time (rdpwhy and the floor
# come from the same interleaved rounds: bench/run.sh), and by CPU time.
by = {r["name"]: r for r in rows}
floor = by.get("pcap_next_ex loop (floor)")
tshark = next((r for r in rows if r["name"].startswith("tshark")), None)
ratios = []
for r in rows:
    if not r["name"].startswith("rdpwhy -j") or "max-flows" in r["name"]:
        continue
    m = statistics.median(r["times"])
    parts = []
    if tshark:
        parts.append(f"{statistics.median(tshark['times']) / m:.1f}x tshark "
                     f"(CPU {tshark['cpu'] / r['cpu']:.1f}x)")
    if floor:
        parts.append(f"{100 * statistics.median(floor['times']) / m:.0f} % of the pcap_next_ex "
                     f"floor's speed (CPU {100 * floor['cpu'] / r['cpu']:.0f} %)")
    if parts:
        ratios.append(f"- {r['name']}: " + ", ".join(parts))
if ratios:
    print()
    print("\n".join(ratios))
