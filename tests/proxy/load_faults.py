"""load_faults.py — load_peers.py's fault roles: "never_read" (a peer that
stops reading), "fds" (out of descriptors) and "restart" (an upstream
restarted under load).

(Python, not C: keep clang-format away from this file.)
"""
import hashlib
import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

from load_common import CC, expect, note, cr_for, rss_kib, cpu_s, exchange


# ---- a peer that never reads -------------------------------------------------


def never_read(host, port, upaddr, upport, pid, mib, out):
    total = mib << 20
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((upaddr, upport))
    srv.listen(1)
    result = {}
    go = threading.Event()

    def sink():
        u, _ = srv.accept()
        b = b""
        while len(b) < 4 or len(b) < struct.unpack(">H", b[2:4])[0]:
            b += u.recv(4096)
        n = struct.unpack(">H", b[2:4])[0]
        u.sendall(CC)
        go.wait()  # the upstream does not read
        h = hashlib.sha256()
        got = len(b) - n
        h.update(b[n:])
        while True:
            d = u.recv(1 << 20)
            if not d:
                break
            got += len(d)
            h.update(d)
        result["received"], result["received_sha256"] = got, h.hexdigest()
        u.close()  # FIN after the client's FIN
    th = threading.Thread(target=sink)
    th.start()
    rss0 = rss_kib(pid)
    c = socket.create_connection((host, port), timeout=10)
    c.sendall(cr_for("never-read"))
    b = b""
    while len(b) < len(CC):
        b += c.recv(64)
    expect(b == CC, "the upstream's answer came through")
    c.setblocking(False)
    block = random.Random(12).randbytes(1 << 20)
    h = hashlib.sha256()
    sent = 0
    progress = []  # (t, sent, proxy rss KiB)
    t0 = time.monotonic()
    stalled_at = None
    while time.monotonic() - t0 < 30:
        chunk = block[sent % len(block):] + block[:sent % len(block)]
        chunk = chunk[:min(len(chunk), total - sent)]
        if not chunk:
            break
        try:
            k = c.send(chunk)
            h.update(chunk[:k])
            sent += k
            continue
        except BlockingIOError:
            pass
        progress.append((round(time.monotonic() - t0, 2), sent, rss_kib(pid)))
        # stalled: nothing more accepted for 2 s
        if stalled_at is None or sent != stalled_at[1]:
            stalled_at = (time.monotonic(), sent)
        elif time.monotonic() - stalled_at[0] >= 2.0:
            break
        time.sleep(0.1)
    rss_stalled = rss_kib(pid)
    stall_bytes = sent
    expect(sent < total, "the client's writes block while the upstream does not read: %.1f MiB of %d MiB "
           "accepted (kernel buffers and the proxy's bounded buffer)" % (sent / 2**20, mib))
    expect(stalled_at is not None and sent == stalled_at[1], "and stay blocked (no byte accepted for 2 s)")
    grow = rss_stalled - rss0
    expect(grow < 16 * 1024, "the proxy's resident memory stays bounded: +%d KiB while %.1f MiB are held up "
           "(limit 16 MiB)" % (grow, sent / 2**20))
    go.set()
    c.setblocking(True)
    c.settimeout(30)
    t1 = time.monotonic()
    while sent < total:
        chunk = block[sent % len(block):] + block[:sent % len(block)]
        chunk = chunk[:total - sent]
        k = c.send(chunk)
        h.update(chunk[:k])
        sent += k
    c.shutdown(socket.SHUT_WR)
    tail = c.recv(1)
    th.join(30)
    expect(tail == b"", "the upstream's FIN arrives as EOF")
    expect(result.get("received") == total, "the upstream received every byte once it read (%s of %d)"
           % (result.get("received"), total))
    expect(result.get("received_sha256") == h.hexdigest(), "SHA-256 of what it received = of what was sent")
    c.close()
    json.dump({"sent": sent, "client_bytes": sent + len(cr_for("never-read")), "stalled_after_bytes": stall_bytes,
               "rss_before_kib": rss0, "rss_stalled_kib": rss_stalled, "drain_s": round(time.monotonic() - t1, 2),
               "progress": progress[-10:]}, open(out, "w"))


# ---- out of descriptors --------------------------------------------------------


def log_count(path, pat):
    try:
        return sum(1 for line in open(path, errors="replace") if re.search(pat, line))
    except OSError:
        return 0


class FdClient:
    def __init__(self, host, port, i):
        self.i = i
        self.s = socket.create_connection((host, port), timeout=5)
        self.port = self.s.getsockname()[1]
        self.s.sendall(cr_for("fd-%d" % i))
        self.served = False
        self.bad = None
        self.buf = b""

    def poll(self):
        """reads what arrived: the CC marks it served"""
        self.s.setblocking(False)
        try:
            while True:
                d = self.s.recv(4096)
                if not d:
                    self.bad = self.bad or ("EOF" if not self.served else None)
                    break
                self.buf += d
        except BlockingIOError:
            pass
        except ConnectionResetError:
            self.bad = "reset"
        finally:
            self.s.setblocking(True)
        if not self.served and len(self.buf) >= len(CC):
            self.served = self.buf[:len(CC)] == CC
            self.bad = self.bad or (None if self.served else "not the CC")
            self.buf = self.buf[len(CC):]

    def finish(self):
        """an echo round trip, then a FIN; True when it went as it should"""
        p = os.urandom(300)
        self.s.settimeout(5)
        try:
            self.s.sendall(p)
            b = self.buf
            while len(b) < len(p):
                d = self.s.recv(4096)
                if not d:
                    return False
                b += d
            self.s.shutdown(socket.SHUT_WR)
            return b == p and self.s.recv(1) == b""
        except OSError:
            return False
        finally:
            self.s.close()


def fds(host, port, pid, errlog, limit, n, out):
    PAUSED = r"out of file descriptors with [0-9]+ connections open: accepting paused"
    AGAIN = r"accepting connections again"
    cs = [FdClient(host, port, i) for i in range(n)]
    time.sleep(2.0)
    for c in cs:
        c.poll()
    served = sum(c.served for c in cs)
    nfd = len(os.listdir("/proc/%d/fd" % pid))
    note("%d of %d clients served at the limit; the proxy holds %d descriptors (limit %d)"
         % (served, n, nfd, limit))
    expect(0 < served < n, "at the limit some but not all clients are served (%d of %d)" % (served, n))
    expect(log_count(errlog, PAUSED) == 1, "'out of file descriptors ...: accepting paused' logged once")
    cpu0, t0 = cpu_s(pid), time.monotonic()
    time.sleep(3.0)
    cpu = cpu_s(pid) - cpu0
    note("proxy CPU while paused at the limit: %.2f s in %.1f s" % (cpu, time.monotonic() - t0))
    expect(cpu < 0.5, "accepting paused, not spinning: %.2f s CPU in 3 s at the limit" % cpu)
    for c in cs:
        c.poll()
    expect(log_count(errlog, PAUSED) == 1, "still logged once after 3 s more at the limit (%d)"
           % log_count(errlog, PAUSED))
    expect(log_count(errlog, AGAIN) == 0, "no 'accepting connections again' while nothing closed")
    bad = [(c.i, c.bad) for c in cs if c.bad]
    expect(not bad, "no client was dropped, reset or closed while waiting (%s)" % bad[:8])
    # Close the served ones in waves: the waiting ones get their turn.
    finished, good = set(), 0
    waves = 0
    deadline = time.monotonic() + 60
    while len(finished) < n and time.monotonic() < deadline:
        wave = [c for c in cs if c.served and c.i not in finished]
        if not wave:
            time.sleep(0.1)
        for c in wave:
            good += c.finish()
            finished.add(c.i)
        waves += 1
        time.sleep(0.3)
        for c in cs:
            if c.i not in finished:
                c.poll()
    note("all %d served in %d waves" % (len(finished), waves))
    expect(len(finished) == n, "every client is served in the end (%d of %d)" % (len(finished), n))
    expect(good == n, "every one relayed its echo and closed normally (%d of %d)" % (good, n))
    bad = [(c.i, c.bad) for c in cs if c.bad]
    expect(not bad, "no client was ever dropped or reset (%s)" % bad[:8])
    expect(log_count(errlog, AGAIN) >= 1, "'accepting connections again' logged")
    # After the clients closed: new connections are accepted at once.
    fresh = []
    for i in range(20):
        o, lport, _ = exchange(host, port, "fresh-%d" % i, os.urandom(100), timeout=5)
        fresh.append((o, lport))
    expect(all(o == "ok" for o, _ in fresh), "20 new connections after the storm: all served (%s)"
           % [o for o, _ in fresh if o != "ok"])
    json.dump({"served_at_limit": served, "fds_at_limit": nfd, "cpu_paused_s": round(cpu, 3),
               "waves": waves, "ports": [c.port for c in cs] + [p for _, p in fresh]}, open(out, "w"))


# ---- an upstream that restarts ---------------------------------------------------


def restart(host, port, upaddr, upport, logp, n, workers, out):
    me = os.path.join(os.path.dirname(os.path.abspath(__file__)), "load_peers.py")
    stop = threading.Event()
    down = []  # [t_exited, t_spawn] intervals: surely nothing listening
    ups = []

    def cycler():
        rng = random.Random(7)
        t_exit = None
        while not stop.is_set():
            t_spawn = time.monotonic()
            if t_exit is not None:
                down.append((t_exit, t_spawn))
            p = subprocess.Popen([sys.executable, me, "upstream", upaddr, str(upport), logp, "--reset-on-term"],
                                 stdout=subprocess.PIPE)
            p.stdout.readline()  # "listening"
            ups.append(p.pid)
            stop.wait(rng.uniform(0.15, 0.5))
            p.send_signal(signal.SIGTERM)
            p.wait()
            t_exit = time.monotonic()
            stop.wait(rng.uniform(0.05, 0.25))
    cyc = threading.Thread(target=cycler)
    cyc.start()
    time.sleep(0.3)
    res = []
    lock = threading.Lock()
    todo = list(range(n))

    def work(w):
        rng = random.Random(100 + w)
        while True:
            with lock:
                if not todo:
                    return
                i = todo.pop()
            t = time.monotonic()
            info = {}
            outcome, lport, got_cc = exchange(host, port, "rs-%d" % i, os.urandom(512), timeout=10,
                                              pause=rng.uniform(0, 0.03), info=info)
            with lock:
                res.append({"name": "rs-%d" % i, "port": lport, "outcome": outcome, "cc": got_cc,
                            "t0": t, "t1": time.monotonic(), "t_fin": info.get("t_fin")})
            time.sleep(max(0, t + 0.05 - time.monotonic()))  # 20 connections/s per worker at most
    th = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    t0 = time.monotonic()
    for t in th:
        t.start()
    for t in th:
        t.join()
    stop.set()
    cyc.join()
    json.dump({"conns": res, "down": down, "restarts": len(ups), "run_s": round(time.monotonic() - t0, 2)},
              open(out, "w"))
