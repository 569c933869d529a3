#!/usr/bin/env python3
"""Relay benchmark driver (issue #14; called by bench/relay_bench.sh).

Contenders, each a fresh process per measurement, on 127.0.0.1:
  direct       no proxy
  rdpwhy       rdpwhy proxy (this tree)
  rdpwhy-2w    the same with workers = 2 (two event loops, SO_REUSEPORT):
               compare with haproxy-2t
  rdpwhy-noan  rdpwhy with RDPWHY_BENCH_ANALYZERS=off, in bulk-tls only: the same
               read/write path with the analyzers not fed ("analyzers on vs off")
  rdpwhy-base  rdpwhy proxy built from --baseline (when given)
  haproxy-1t   HAProxy mode tcp, nbthread 1
  haproxy-2t   HAProxy mode tcp, nbthread 2
  socat        socat TCP-LISTEN:P,fork,reuseaddr,backlog=1024
Tests (each round runs every contender once, in turn, each round starting
with the next one; --runs rounds; the
tables show medians and ratios to HAProxy nbthread 1, and "same round":
the median over rounds of the ratio to HAProxy's run in that round, which
holds when the machine's speed changes during the run):
  iperf1 / iperf8  iperf3 -c through the contender, -P 1 / -P 8, --secs s:
                   received Gbit/s and the contender's CPU seconds
  bulk / bulk-tls  loadgen bulk c2s of --bulk-mib MiB after an X.224 CR/CC
                   (bulk: standard RDP security, rdpwhy only counts;
                   bulk-tls: the CC selects TLS and no handshake follows,
                   rdpwhy's analyzers read every byte)
  rate             loadgen rate: --conns connections, 50 at a time, X.224
                   CR/CC, close: conn/s, p50/p99 ms, p99 added over direct
  idle             --idle connections from 4 loadgen processes, each sent
                   a CR and got the CC, then held silent: the contender's
                   resident memory per connection ((VmRSS with them open,
                   8 s after the last connected - before) / N)
Only the python3 standard library."""
import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

CLK = os.sysconf("SC_CLK_TCK")


def log(m):
    print("== " + m, file=sys.stderr, flush=True)


def cpu_s(pids):
    t = 0.0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                rest = f.read().rsplit(")", 1)[1].split()
            t += sum(int(x) for x in rest[11:15]) / CLK
        except OSError:
            pass
    return t


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def wait_port(port, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def wait_listen(port, timeout=10):
    """Listening, without connecting (a probe connection would reach the
    upstream and disturb a test)."""
    end = time.time() + timeout
    while time.time() < end:
        out = subprocess.run(["ss", "-Hltn", "sport = :%d" % port], stdout=subprocess.PIPE,
                             text=True).stdout
        if "LISTEN" in out:
            return True
        time.sleep(0.05)
    return False


class Contender:
    def __init__(self, a, name, port, up):
        self.name, self.port, self.up, self.a = name, port, up, a
        self.proc = None

    def start(self):
        a, P, U = self.a, self.port, self.up
        if self.name == "direct":
            self.port = U
            return
        if self.name.startswith("rdpwhy"):
            binp = a.rdpwhy_base if self.name == "rdpwhy-base" else a.rdpwhy
            cmd = [binp, "proxy", "--listen", "127.0.0.1:%d" % P, "--upstream",
                   "127.0.0.1:%d" % U, "--format", "json", "--output",
                   os.path.join(a.out, "records-%s.json" % self.name),
                   "--set", "x224_timeout=5m"]
            if self.name == "rdpwhy-2w":
                cmd += ["--workers", "2"]
            env = dict(os.environ)
            if self.name == "rdpwhy-noan":
                # The same read/write path with the analyzers not fed (relay.c):
                # what the analyzers themselves cost on a stream they read.
                env["RDPWHY_BENCH_ANALYZERS"] = "off"
        elif self.name.startswith("haproxy"):
            cfg = os.path.join(a.out, "haproxy-%s.cfg" % self.name)
            with open(cfg, "w") as f:
                f.write("global\n    nbthread %s\n    maxconn 9800\n"
                        "defaults\n    mode tcp\n    timeout connect 10s\n"
                        "    timeout client 5m\n    timeout server 5m\n"
                        "frontend fe\n    bind 127.0.0.1:%d\n    default_backend be\n"
                        "backend be\n    server up 127.0.0.1:%d\n"
                        % (self.name[-2], P, U))
            cmd = ["haproxy", "-db", "-f", cfg]
        elif self.name == "socat":
            cmd = ["socat", "TCP-LISTEN:%d,fork,reuseaddr,backlog=1024" % P,
                   "TCP:127.0.0.1:%d" % U]
        self.cmd = cmd
        self.err = open(os.path.join(a.out, "stderr-%s.log" % self.name), "a")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.err,
                                     env=env if self.name.startswith("rdpwhy") else None)
        if not wait_listen(P):
            raise SystemExit("%s did not listen: %s" % (self.name, cmd))

    def pids(self):
        if not self.proc:
            return []
        out = [self.proc.pid]
        try:
            for tid in os.listdir("/proc/%d/task" % self.proc.pid):
                with open("/proc/%d/task/%s/children" % (self.proc.pid, tid)) as f:
                    out += [int(x) for x in f.read().split()]
        except OSError:
            pass
        return out

    def cpu(self):
        if not self.proc:
            return 0.0
        return cpu_s(self.pids())

    def stop(self):
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
            self.err.close()
            time.sleep(0.3)


def run_iperf(a, c, streams):
    c0 = c.cpu()
    r = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(c.port), "-t", str(a.secs),
                        "-P", str(streams), "-J"], stdout=subprocess.PIPE, text=True,
                       timeout=a.secs + 60)
    c1 = c.cpu()
    try:
        j = json.loads(r.stdout)
        gbit = j["end"]["sum_received"]["bits_per_second"] / 1e9
    except (ValueError, KeyError):
        return {"ok": False, "out": r.stdout[-500:]}
    return {"ok": True, "gbit_s": gbit, "cpu_s": c1 - c0}


def run_loadgen(a, c, args):
    c0 = c.cpu()
    r = subprocess.run([a.loadgen] + args, stdout=subprocess.PIPE, text=True, timeout=600)
    c1 = c.cpu()
    try:
        j = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"ok": False}
    j["cpu_s"] = c1 - c0
    return j


def run_idle(a, c):
    pid = c.proc.pid if c.proc else None
    r0 = rss_kib(pid) if pid else 0
    n, procs = a.idle, 4
    clients = []
    for i in range(procs):
        k = n // procs + (1 if i < n % procs else 0)
        clients.append(subprocess.Popen([a.loadgen, "idle", "--connect", "127.0.0.1:%d" % c.port,
                                         "--conns", str(k)], stdout=subprocess.PIPE, text=True))
    ready = 0
    for p in clients:
        line = p.stdout.readline()
        try:
            ready += json.loads(line)["ready"]
        except (ValueError, KeyError):
            pass
    # rdpwhy packs a session 2 s after its last event (sweep every second)
    time.sleep(8)
    r1 = rss_kib(pid) if pid else 0
    for p in clients:
        p.send_signal(signal.SIGTERM)
    for p in clients:
        p.wait(60)
    return {"ok": ready == n, "ready": ready, "rss0_kib": r0, "rss1_kib": r1,
            "bytes_per_conn": (r1 - r0) * 1024 / n if pid else None}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rdpwhy", required=True)
    ap.add_argument("--rdpwhy-base")
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--secs", type=int, default=5)
    ap.add_argument("--bulk-mib", type=int, default=1024)
    ap.add_argument("--conns", type=int, default=5000)
    ap.add_argument("--idle", type=int, default=9500)
    ap.add_argument("--tests", default="iperf1,iperf8,bulk,bulk-tls,rate,idle")
    ap.add_argument("--base-port", type=int, default=22389)
    ap.add_argument("--contenders", help="comma-separated subset of the contenders (default all)")
    a = ap.parse_args()
    names = ["direct", "rdpwhy", "rdpwhy-2w", "rdpwhy-noan"] + \
        (["rdpwhy-base"] if a.rdpwhy_base else []) + \
        ["haproxy-1t", "haproxy-2t", "socat"]
    if a.contenders:
        want = a.contenders.split(",")
        names = [n for n in names if n in want]
    up_iperf, up_lg = a.base_port, a.base_port + 1
    servers = [subprocess.Popen(["iperf3", "-s", "-p", str(up_iperf)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL),
               subprocess.Popen([a.loadgen, "server", "--listen", "127.0.0.1:%d" % up_lg],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    wait_listen(up_iperf)
    wait_listen(up_lg)
    results = []
    resf = open(os.path.join(a.out, "results.jsonl"), "a")
    tests = a.tests.split(",")
    try:
        for rnd in range(a.runs):
            # Each round starts with the next contender: the first of a
            # round tended to measure a little high in CPU.
            order = list(enumerate(names))
            order = order[rnd % len(order):] + order[:rnd % len(order)]
            for t in tests:
                for i, n in order:
                    if t == "idle" and n in ("direct", "socat", "haproxy-2t", "rdpwhy-2w"):
                        continue
                    if t == "bulk-tls" and not n.startswith("rdpwhy"):
                        continue
                    if n == "rdpwhy-noan" and t != "bulk-tls":
                        continue
                    up = up_iperf if t.startswith("iperf") else up_lg
                    c = Contender(a, n, a.base_port + 2 + i, up)
                    c.start()
                    try:
                        if t == "iperf1":
                            r = run_iperf(a, c, 1)
                        elif t == "iperf8":
                            r = run_iperf(a, c, 8)
                        elif t in ("bulk", "bulk-tls"):
                            r = run_loadgen(a, c, ["bulk", "--connect", "127.0.0.1:%d" % c.port,
                                                   "--dir", "c2s", "--bytes",
                                                   str(a.bulk_mib << 20)] +
                                            (["--tls"] if t == "bulk-tls" else []))
                            r["gbit_s"] = r.get("mib_s", 0) * 8 * 1048576 / 1e9
                        elif t == "rate":
                            r = run_loadgen(a, c, ["rate", "--connect", "127.0.0.1:%d" % c.port,
                                                   "--conns", str(a.conns), "--concurrency",
                                                   "50"])
                            r["ok"] = r.get("errors", 1) == 0
                        elif t == "idle":
                            r = run_idle(a, c)
                    finally:
                        c.stop()
                    r.update({"test": t, "name": n, "round": rnd,
                              "load": open("/proc/loadavg").read().split()[0]})
                    log("%s %s round %d: %s" % (t, n, rnd + 1, json.dumps(r)))
                    resf.write(json.dumps(r) + "\n")
                    resf.flush()
                    results.append(r)
    finally:
        for s in servers:
            s.terminate()
            s.wait()
    report(results, names, tests)


def med(results, t, n, key):
    v = [r[key] for r in results if r["test"] == t and r["name"] == n and r.get("ok") and
         r.get(key) is not None]
    return statistics.median(v) if v else None


def same_round(results, r, ref):
    """ref's run of r's test in r's round, None when it failed or is missing."""
    d = [x for x in results if x["test"] == r["test"] and x["name"] == ref and
         x["round"] == r["round"] and x.get("ok")]
    return d[0] if d else None


def round_ratio(results, t, n, key, ref="haproxy-1t"):
    """The median over rounds of n's key over ref's in the same round: on a
    machine whose speed changes during a run, each column's median may come
    from a slow round for one contender and a fast one for the other."""
    v = []
    for r in results:
        if r["test"] != t or r["name"] != n or not r.get("ok") or r.get(key) is None:
            continue
        d = same_round(results, r, ref)
        if d and d.get(key):
            v.append(r[key] / d[key])
    return "-" if not v else "%.2fx" % statistics.median(v)


def fmt(x, nd=2):
    return "-" if x is None else ("{:,.%df}" % nd).format(x)


def ratio(x, y):
    return "-" if x is None or not y else "%.2fx" % (x / y)


def report(results, names, tests):
    titles = {"iperf1": "iperf3, 1 stream", "iperf8": "iperf3, 8 streams",
              "bulk": "loadgen bulk c2s after X.224 (standard RDP security: rdpwhy counts)",
              "bulk-tls": "loadgen bulk c2s, CC selects TLS, no handshake (rdpwhy's analyzers "
                          "read every byte)"}
    for t in tests:
        if t in titles:
            print("#### %s\n" % titles[t])
            print("| contender | Gbit/s | vs HAProxy 1t | same round | CPU s | CPU vs HAProxy 1t |")
            print("|---|---:|---:|---:|---:|---:|")
            # only rdpwhy runs bulk-tls: HAProxy's bulk is the reference
            ref_t = "bulk" if t == "bulk-tls" else t
            hg = med(results, ref_t, "haproxy-1t", "gbit_s")
            hc = med(results, ref_t, "haproxy-1t", "cpu_s")
            for n in names:
                g, c = med(results, t, n, "gbit_s"), med(results, t, n, "cpu_s")
                if g is None:
                    continue
                same = round_ratio(results, t, n, "gbit_s") if ref_t == t else "-"
                print("| %s | %s | %s | %s | %s | %s |" % (n, fmt(g), ratio(g, hg), same,
                                                            fmt(c) if n != "direct" else "-",
                                                            ratio(c, hc) if n != "direct" else "-"))
            print()
            con, coff = med(results, t, "rdpwhy", "cpu_s"), med(results, t, "rdpwhy-noan", "cpu_s")
            if t == "bulk-tls" and con is not None and coff:
                print("analyzers on vs off (rdpwhy vs rdpwhy-noan, same read/write path): CPU %s, "
                      "Gbit/s %s\n" % (ratio(con, coff), ratio(med(results, t, "rdpwhy", "gbit_s"),
                                                             med(results, t, "rdpwhy-noan", "gbit_s"))))
            g2, h2 = med(results, t, "rdpwhy-2w", "gbit_s"), med(results, t, "haproxy-2t", "gbit_s")
            if g2 is not None and h2:
                print("rdpwhy-2w vs HAProxy nbthread 2: %s (Gbit/s), CPU %s\n" % (
                    ratio(g2, h2), ratio(med(results, t, "rdpwhy-2w", "cpu_s"),
                                         med(results, t, "haproxy-2t", "cpu_s"))))
        elif t == "rate":
            print("#### short connections: X.224 CR/CC, close (50 at a time)\n")
            print("| contender | conn/s | vs HAProxy 1t | same round | p50 ms | p99 ms | p99 added "
                  "over direct (ms) | CPU µs per conn |")
            print("|---|---:|---:|---:|---:|---:|---:|---:|")
            hr = med(results, t, "haproxy-1t", "conn_s")
            # added p99 per round (same round's direct), then the median
            for n in names:
                cs = med(results, t, n, "conn_s")
                if cs is None:
                    continue
                added = []
                for r in results:
                    if r["test"] == t and r["name"] == n and r.get("ok"):
                        d = same_round(results, r, "direct")
                        if d:
                            added.append(r["p99_ms"] - d["p99_ms"])
                cpu = med(results, t, n, "cpu_s")
                conns = [r["conns"] for r in results if r["test"] == t and r["name"] == n][0]
                print("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                    n, fmt(cs, 0), ratio(cs, hr), round_ratio(results, t, n, "conn_s"),
                    fmt(med(results, t, n, "p50_ms")),
                    fmt(med(results, t, n, "p99_ms")),
                    fmt(statistics.median(added)) if added and n != "direct" else "-",
                    fmt(cpu * 1e6 / conns, 0) if n != "direct" else "-"))
            print()
            c2, h2 = med(results, t, "rdpwhy-2w", "conn_s"), med(results, t, "haproxy-2t", "conn_s")
            if c2 is not None and h2:
                print("rdpwhy-2w vs HAProxy nbthread 2: %s (conn/s)\n" % ratio(c2, h2))
        elif t == "idle":
            print("#### idle connections (CR sent, CC received, silent)\n")
            print("| contender | connections | RSS before (KiB) | RSS with them (KiB) | "
                  "bytes per connection |")
            print("|---|---:|---:|---:|---:|")
            for n in names:
                v = med(results, t, n, "bytes_per_conn")
                if v is None:
                    continue
                print("| %s | %d | %s | %s | %s |" % (
                    n, med(results, t, n, "ready"), fmt(med(results, t, n, "rss0_kib"), 0),
                    fmt(med(results, t, n, "rss1_kib"), 0), fmt(v, 0)))
            print()


if __name__ == "__main__":
    main()
