#!/usr/bin/env python3
"""Inline-proxy benchmark driver (called by bench/proxy_bench.sh).

Starts bench/loadgen's upstream server once, then for every run, proxy and
test starts a fresh proxy (rdpwhy proxy, HAProxy, socat, or none = direct),
drives it with loadgen, and reads the proxy's CPU time (utime+stime, plus
cutime+cstime for socat's forked children) from /proc/PID/stat before and
after, and its peak RSS (VmHWM) from /proc/PID/status before stopping it.
Runs are interleaved (run 1 of every proxy, then run 2, ...) so that a change
in the machine's load hits every proxy alike. Prints markdown tables of
medians, with ratios relative to rdpwhy, and keeps everything in --out.

Only the python3 standard library is used.
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
from records import flatten  # noqa: E402  records by dotted names, nested or flat

CLK = os.sysconf("SC_CLK_TCK")
GIB = 1 << 30


def log(msg):
    print("== " + msg, file=sys.stderr, flush=True)


# ---- /proc --------------------------------------------------------------------


def proc_stat(pid):
    """(utime+stime, cutime+cstime) in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    ut, st, cut, cst = (int(x) for x in rest[11:15])
    return (ut + st) / CLK, (cut + cst) / CLK


def proc_status_kb(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid):
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def listening(port):
    """True when something listens on TCP port `port` (IPv4)."""
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                parts = line.split()
                local, st = parts[1], parts[3]
                if st == "0A" and int(local.split(":")[1], 16) == port:
                    return True
    except OSError:
        pass
    return False


def wait_listening(port, proc, timeout=10.0):
    t = time.monotonic() + timeout
    while time.monotonic() < t:
        if listening(port):
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.01)
    return False


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


# ---- proxies ------------------------------------------------------------------


class Proxy:
    """One contender. start() returns a Popen, or None for `direct`."""

    def __init__(self, key, name, port, kind, args):
        self.key, self.name, self.port, self.kind, self.args = key, name, port, kind, args
        self.cmd = None

    def command(self, up, out, tag):
        a = self.args
        if self.kind == "direct":
            return None
        if self.kind == "rdpwhy":
            cmd = [a["rdpwhy"], "proxy", "--listen", f"127.0.0.1:{self.port}",
                   "--upstream", f"127.0.0.1:{up}", "--format", "json",
                   "--output", os.path.join(out, f"{tag}.records.json")]
            if a.get("pcap_dir"):
                cmd += ["--pcap-dir", a["pcap_dir"]]
            return cmd
        if self.kind == "haproxy":
            cfg = os.path.join(out, f"{self.key}.cfg")
            threads = f"    nbthread {a['nbthread']}\n" if a.get("nbthread") else ""
            with open(cfg, "w") as f:
                f.write(
                    "global\n"
                    + threads
                    + "    maxconn 4096\n"
                    "defaults\n"
                    "    mode tcp\n"
                    "    timeout connect 10s\n"
                    "    timeout client 60s\n"
                    "    timeout server 60s\n"
                    "frontend fe\n"
                    f"    bind 127.0.0.1:{self.port}\n"
                    "    default_backend be\n"
                    "backend be\n"
                    f"    server up 127.0.0.1:{up}\n")
            return ["haproxy", "-db", "-f", cfg]
        if self.kind == "socat":
            opts = a.get("listen_opts", "")
            return ["socat", f"TCP-LISTEN:{self.port},fork,reuseaddr{opts}",
                    f"TCP:127.0.0.1:{up}"]
        raise ValueError(self.kind)

    def start(self, up, out, tag):
        cmd = self.command(up, out, tag)
        self.cmd = cmd
        if cmd is None:
            return None
        if self.args.get("pcap_dir"):
            shutil.rmtree(self.args["pcap_dir"], ignore_errors=True)
            os.makedirs(self.args["pcap_dir"])
        err = open(os.path.join(out, f"{tag}.stderr"), "w")
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=err, start_new_session=True)
        err.close()
        if not wait_listening(self.port, p):
            stop(p)
            raise RuntimeError(f"{self.name} did not start: {' '.join(cmd)} "
                               f"(see {out}/{tag}.stderr)")
        return p


def stop(p, timeout=15.0):
    if p is None or p.poll() is not None:
        return
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


class Sampler(threading.Thread):
    """socat forks a process per connection: sample the total PSS of the
    parent and its children, and the largest RSS of any one of them."""

    def __init__(self, pid, period=0.1):
        super().__init__(daemon=True)
        self.pid, self.period = pid, period
        self.max_pss = 0
        self.max_rss = 0
        self.max_procs = 0
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            pids = [self.pid] + children(self.pid)
            self.max_pss = max(self.max_pss, sum(pss_kb(p) for p in pids))
            self.max_rss = max([self.max_rss] + [proc_status_kb(p, "VmHWM") for p in pids])
            self.max_procs = max(self.max_procs, len(pids))
            self.done.wait(self.period)


def settle(p, key, out, tag, expect_records, timeout=20.0):
    """Wait until the proxy has finished with every connection: socat's
    children are reaped; rdpwhy has written its records."""
    if p is None:
        return
    t = time.monotonic() + timeout
    path = os.path.join(out, f"{tag}.records.json")
    while time.monotonic() < t:
        if key.startswith("socat"):
            if not children(p.pid):
                time.sleep(0.05)  # the SIGCHLD handler reaps
                return
        elif key.startswith("rdpwhy"):
            try:
                with open(path, "rb") as f:
                    if f.read().count(b"\n") >= expect_records:
                        return
            except OSError:
                pass
        else:
            return
        time.sleep(0.02)
    log(f"{tag}: proxy still busy after {timeout:.0f} s")


def run_loadgen(args):
    r = subprocess.run(args, capture_output=True, text=True, timeout=900)
    line = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "{}"
    try:
        res = json.loads(line)
    except json.JSONDecodeError:
        res = {}
    res["rc"] = r.returncode
    if r.returncode != 0:
        res["stderr"] = r.stderr.strip()[-500:]
    return res


# ---- rdpwhy's records ------------------------------------------------------------


def check_records(path, expect, stderr_path, pcap_dir=None):
    """Exactly one record per connection, and what rdpwhy said about them."""
    recs, bad = [], 0
    try:
        with open(path) as f:
            for line in f:
                try:
                    recs.append(flatten(json.loads(line)))  # dotted names
                except json.JSONDecodeError:
                    bad += 1
    except OSError:
        pass
    ids = [r.get("event.id") for r in recs]
    ports = [r.get("source.port") for r in recs]
    verdicts = {}
    for r in recs:
        k = (r.get("rdpwhy.cause"), r.get("rdpwhy.closed_by"), r.get("rdpwhy.close_kind"),
             r.get("rdpwhy.phase"), r.get("source.bytes"), r.get("destination.bytes"))
        verdicts[k] = verdicts.get(k, 0) + 1
    log_lines = []
    try:
        with open(stderr_path) as f:
            for line in f:
                if any(s in line for s in ("listening on", "signal 15: not accepting",
                                           "counters: accepted")):
                    continue
                log_lines.append(line.rstrip())
    except OSError:
        pass
    res = {
        "records": len(recs), "expected": expect, "unparsable": bad,
        "unique_ids": len(set(ids)), "unique_client_ports": len(set(ports)),
        "verdicts": [list(k) + [v] for k, v in sorted(verdicts.items(), key=lambda x: -x[1])],
        "log_lines": log_lines[:20], "log_line_count": len(log_lines),
    }
    if pcap_dir:
        try:
            files = os.listdir(pcap_dir)
            res["pcap_files"] = len(files)
            res["pcap_bytes"] = sum(os.path.getsize(os.path.join(pcap_dir, x)) for x in files)
        except OSError:
            res["pcap_files"] = 0
    res["ok"] = (len(recs) == expect and bad == 0 and len(set(ids)) == expect
                 and (not pcap_dir or res.get("pcap_files") == expect))
    return res


# ---- one measurement ------------------------------------------------------------


def measure(px, test, run, a, up):
    tag = f"{test}-{px.key}-r{run}"
    p = px.start(up, a.out, tag)
    target = f"127.0.0.1:{px.port if p is not None else up}"
    sampler = None
    if p is not None and px.kind == "socat":
        sampler = Sampler(p.pid)
        sampler.start()
    cpu0 = proc_stat(p.pid) if p else (0, 0)
    la = loadavg()
    if test.startswith("bulk"):
        d = test.split("-")[1]
        lg = [a.loadgen, "bulk", "--connect", target, "--dir", d, "--bytes", str(a.bulk_bytes)]
        if px.args.get("tls_client"):
            lg.append("--tls")
        expect = 1
    else:
        lg = [a.loadgen, "rate", "--connect", target, "--conns", str(a.conns),
              "--concurrency", str(a.concurrency)]
        expect = a.conns
    res = run_loadgen(lg)
    settle(p, px.key, a.out, tag, expect)
    res.update(test=test, proxy=px.key, run=run, loadavg=la)
    if p is not None:
        cpu1 = proc_stat(p.pid)
        res["cpu_s"] = round((cpu1[0] - cpu0[0]) + (cpu1[1] - cpu0[1]), 3)
        res["peak_rss_kb"] = proc_status_kb(p.pid, "VmHWM")
        res["threads"] = proc_status_kb(p.pid, "Threads")
        if sampler:
            sampler.done.set()
            sampler.join()
            res["socat_max_pss_kb"] = sampler.max_pss
            res["socat_max_child_rss_kb"] = sampler.max_rss
            res["socat_max_procs"] = sampler.max_procs
        stop(p)
        res["proxy_cmd"] = " ".join(px.cmd)
        if px.kind == "rdpwhy":
            res["check"] = check_records(os.path.join(a.out, f"{tag}.records.json"), expect,
                                         os.path.join(a.out, f"{tag}.stderr"),
                                         px.args.get("pcap_dir"))
            if px.args.get("pcap_dir"):
                shutil.rmtree(px.args["pcap_dir"], ignore_errors=True)
    res["client_cmd"] = " ".join(lg)
    with open(os.path.join(a.out, "results.jsonl"), "a") as f:
        f.write(json.dumps(res) + "\n")
    short = {k: res.get(k) for k in ("mib_s", "conn_s", "p50_ms", "p99_ms", "cpu_s",
                                     "peak_rss_kb", "rc")}
    log(f"{tag}: {short}" + (f" check ok={res['check']['ok']}" if "check" in res else ""))
    return res


# ---- report -------------------------------------------------------------------------


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def fmt(v, nd=0):
    if v is None:
        return "n/a"
    return f"{v:,.{nd}f}"


def ratio(v, ref, nd=2):
    if v is None or not ref:
        return "n/a"
    return f"{v / ref:.{nd}f}x"


def report(results, proxies, a, meta):
    by = {}
    for r in results:
        by.setdefault((r["test"], r["proxy"]), []).append(r)
    names = {p.key: p.name for p in proxies}
    L = []
    L.append(f"Runs per cell: {a.runs} (median shown). Bulk: {a.bulk_bytes / GIB:g} GiB per "
             f"direction on one connection. Connection rate: {a.conns} connections, "
             f"{a.concurrency} concurrent.")
    L.append(f"Load before: `{meta['uptime_before']}`; after: `{meta['uptime_after']}`.")
    L.append("")
    bulk_tests = [t for t in ("bulk-c2s", "bulk-s2c", "bulk-both") if (t, "rdpwhy") in by]
    if bulk_tests:
        L.append("Bulk throughput (MiB/s of payload; `both` counts both directions). "
                 "Proxy CPU = user+sys seconds of the proxy process for the whole transfer. "
                 "Ratios are relative to rdpwhy (throughput: >1 is faster than rdpwhy; "
                 "CPU: <1 is cheaper).")
        L.append("")
        L.append("| proxy | test | MiB/s | vs rdpwhy | proxy CPU (s) | CPU vs rdpwhy | "
                 "CPU s per GiB | peak RSS (MiB) | failed runs |")
        L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for t in bulk_tests:
            ref = by.get((t, "rdpwhy"), [])
            ref_mib = med([r.get("mib_s") for r in ref if r["rc"] == 0])
            ref_cpu = med([r.get("cpu_s") for r in ref if r["rc"] == 0])
            for p in proxies:
                rs = by.get((t, p.key))
                if not rs:
                    continue
                okr = [r for r in rs if r["rc"] == 0]
                mib = med([r.get("mib_s") for r in okr])
                cpu = med([r.get("cpu_s") for r in okr]) if p.kind != "direct" else None
                gib = a.bulk_bytes * (2 if t == "bulk-both" else 1) / GIB
                rss = med([r.get("peak_rss_kb") for r in okr]) if p.kind != "direct" else None
                L.append(f"| {names[p.key]} | {t[5:]} | {fmt(mib)} | {ratio(mib, ref_mib)} | "
                         f"{fmt(cpu, 2)} | {ratio(cpu, ref_cpu) if cpu is not None else 'n/a'} | "
                         f"{fmt(cpu / gib if cpu is not None else None, 2)} | "
                         f"{fmt(rss / 1024 if rss else None, 1)} | {len(rs) - len(okr)} |")
        L.append("")
    if ("rate", "rdpwhy") in by:
        L.append(f"Connection rate ({a.conns} x: connect, 19-byte X.224 CR, 19-byte CC back, "
                 f"close; {a.concurrency} at a time). Latency = connect() to the last CC "
                 "byte, per connection. Proxy CPU = user+sys seconds for the whole run.")
        L.append("")
        L.append("| proxy | conn/s | vs rdpwhy | p50 (ms) | p99 (ms) | max (ms) | proxy CPU (s) | "
                 "CPU vs rdpwhy | µs CPU per conn | peak RSS (MiB) | failed conns |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        ref = by[("rate", "rdpwhy")]
        ref_rate = med([r.get("conn_s") for r in ref])
        ref_cpu = med([r.get("cpu_s") for r in ref])
        for p in proxies:
            rs = by.get(("rate", p.key))
            if not rs:
                continue
            rate = med([r.get("conn_s") for r in rs])
            cpu = med([r.get("cpu_s") for r in rs]) if p.kind != "direct" else None
            rss = med([r.get("peak_rss_kb") for r in rs]) if p.kind != "direct" else None
            rss_s = fmt(rss / 1024 if rss else None, 1)
            if p.kind == "socat" and rs[0].get("socat_max_pss_kb") is not None:
                pss = med([r.get("socat_max_pss_kb") for r in rs])
                procs = med([r.get("socat_max_procs") for r in rs])
                rss_s += f" (parent; {procs:.0f} procs at most, {pss / 1024:.1f} MiB PSS in all)"
            errs = sum(r.get("errors", 0) or 0 for r in rs)
            L.append(f"| {names[p.key]} | {fmt(rate)} | {ratio(rate, ref_rate)} | "
                     f"{fmt(med([r.get('p50_ms') for r in rs]), 2)} | "
                     f"{fmt(med([r.get('p99_ms') for r in rs]), 2)} | "
                     f"{fmt(med([r.get('max_ms') for r in rs]), 1)} | {fmt(cpu, 2)} | "
                     f"{ratio(cpu, ref_cpu) if cpu is not None else 'n/a'} | "
                     f"{fmt(cpu / a.conns * 1e6 if cpu is not None else None)} | "
                     f"{rss_s} | {errs} |")
        L.append("")
    # rdpwhy's own records
    checks = [r for r in results if "check" in r]
    if checks:
        L.append("rdpwhy records (one per connection expected):")
        L.append("")
        L.append("| run | records / expected | unique ids | pcap files | verdicts "
                 "(cause, closed_by, close_kind, phase, client bytes, server bytes: count) | "
                 "log lines besides start/stop |")
        L.append("|---|---:|---:|---:|---|---:|")
        for r in checks:
            c = r["check"]
            v = "; ".join(f"{x[0]}, {x[1]}, {x[2]}, {x[3]}, {x[4]}, {x[5]}: {x[6]}"
                          for x in c["verdicts"][:3])
            if len(c["verdicts"]) > 3:
                v += f"; (+{len(c['verdicts']) - 3} more)"
            L.append(f"| {r['test']} {r['proxy']} r{r['run']} | {c['records']} / {c['expected']} | "
                     f"{c['unique_ids']} | {c.get('pcap_files', '-')} | {v} | "
                     f"{c['log_line_count']} |")
        L.append("")
        logs = [(r, l) for r in checks for l in r["check"]["log_lines"]]
        if logs:
            L.append("rdpwhy log lines (first ones):")
            L.append("")
            for r, l in logs[:10]:
                L.append(f"    {r['test']} {r['proxy']} r{r['run']}: {l}")
            L.append("")
    failed = [r for r in results if r.get("rc")]
    if failed:
        L.append("Failed client runs:")
        L.append("")
        for r in failed:
            L.append(f"- {r['test']} {r['proxy']} r{r['run']}: rc {r['rc']}, "
                     f"errors {r.get('errors')}, {r.get('first_error') or r.get('stderr', '')}")
        L.append("")
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rdpwhy", required=True)
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--bulk-bytes", type=int, default=2 * GIB)
    ap.add_argument("--conns", type=int, default=5000)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--pcap-dir", default="/dev/shm/rdpwhy-proxy-bench-pcap",
                    help="tmpfs directory for the rdpwhy --pcap-dir row ('' = skip the row)")
    ap.add_argument("--tests", default="bulk,rate", help="bulk, rate or both (comma)")
    ap.add_argument("--proxies", default="",
                    help="comma list of keys to run (default all): direct, rdpwhy, "
                         "rdpwhy-inspect, rdpwhy-pcap, haproxy-1t, haproxy, socat, socat-bl")
    ap.add_argument("--base-port", type=int, default=21389,
                    help="upstream port; proxies use the next 7 (keep below the "
                         "ephemeral range, 32768+)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    results_path = os.path.join(a.out, "results.jsonl")
    if os.path.exists(results_path):
        os.remove(results_path)

    up = a.base_port
    bp = a.base_port + 1
    R = {"rdpwhy": a.rdpwhy}
    all_px = [
        Proxy("direct", "direct (no proxy)", up, "direct", {}),
        Proxy("rdpwhy", "rdpwhy proxy", bp, "rdpwhy", R),
        Proxy("rdpwhy-inspect", "rdpwhy proxy, bytes inspected (TLS phase never ends)", bp + 1,
              "rdpwhy", dict(R, tls_client=True)),
        Proxy("rdpwhy-pcap", "rdpwhy proxy --pcap-dir (tmpfs)", bp + 2, "rdpwhy",
              dict(R, pcap_dir=a.pcap_dir)),
        Proxy("haproxy-1t", "HAProxy nbthread 1", bp + 3, "haproxy", {"nbthread": 1}),
        Proxy("haproxy", "HAProxy default threads", bp + 4, "haproxy", {}),
        Proxy("socat", "socat fork", bp + 5, "socat", {}),
        Proxy("socat-bl", "socat fork, backlog=1024", bp + 6, "socat",
              {"listen_opts": ",backlog=1024"}),
    ]
    want = set(x for x in a.proxies.split(",") if x) or None
    tests = []
    if "bulk" in a.tests:
        tests += ["bulk-c2s", "bulk-s2c", "bulk-both"]
    if "rate" in a.tests:
        tests += ["rate"]

    def applies(px, test):
        if want and px.key not in want:
            return False
        if px.key == "rdpwhy-pcap":
            return test == "rate" and bool(a.pcap_dir)
        if px.key == "rdpwhy-inspect":
            return test.startswith("bulk")
        if px.key == "socat-bl":
            return test == "rate"
        return True

    for px in all_px:
        if px.kind != "direct" and listening(px.port):
            sys.exit(f"proxy_load: port {px.port} is already in use (try --base-port)")
    if listening(up):
        sys.exit(f"proxy_load: port {up} is already in use (try --base-port)")

    meta = {"uptime_before": uptime()}
    log(f"load before: {meta['uptime_before']}")
    srv_err = open(os.path.join(a.out, "upstream.stderr"), "w")
    srv = subprocess.Popen([a.loadgen, "server", "--listen", f"127.0.0.1:{up}"],
                           stdout=subprocess.PIPE, stderr=srv_err, text=True,
                           start_new_session=True)
    if not wait_listening(up, srv):
        sys.exit("proxy_load: the upstream server did not start")
    results = []
    try:
        for test in tests:
            for run in range(1, a.runs + 1):
                for px in all_px:
                    if applies(px, test):
                        results.append(measure(px, test, run, a, up))
    finally:
        srv.send_signal(signal.SIGTERM)
        try:
            out, _ = srv.communicate(timeout=10)
            meta["upstream"] = json.loads(out.strip().splitlines()[-1])
        except Exception:  # noqa: BLE001 - report, whatever went wrong
            srv.kill()
            meta["upstream"] = {}
        srv_err.close()
    meta["uptime_after"] = uptime()
    log(f"load after: {meta['uptime_after']}")
    shown = [p for p in all_px if any(r["proxy"] == p.key for r in results)]
    md = report(results, shown, a, meta)
    md += (f"Upstream server: {meta['upstream'].get('server_connections')} connections, "
           f"{meta['upstream'].get('server_errors')} errors.\n")
    with open(os.path.join(a.out, "report.md"), "w") as f:
        f.write(md)
    with open(os.path.join(a.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(md)
    bad = [r for r in results if r.get("rc") or ("check" in r and not r["check"]["ok"])]
    return 1 if bad or meta["upstream"].get("server_errors") else 0


if __name__ == "__main__":
    sys.exit(main())
