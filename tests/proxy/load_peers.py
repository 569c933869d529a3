#!/usr/bin/env python3
"""load_peers.py ROLE ... — the peers of the proxy's load and fault tests
(tests/proxy/load_idle.sh, slowloris.sh, never_read.sh, out_of_fds.sh,
upstream_restart.sh, halfclose.sh; python3 stdlib only). Every role that
checks something prints "  ok   ..." / "  FAIL ..." lines on stderr and exits
1 when a check failed; the numbers go to a JSON file the script keeps.

The "RDP-ish" exchange used throughout: the client sends an X.224
Connection Request (TPKT, "Cookie: mstshash=NAME", RDP_NEG_REQ
PROTOCOL_RDP), the upstream answers a 19-byte Connection Confirm
(RDP_NEG_RSP PROTOCOL_RDP: the proxy's analyzer then only counts bytes), the
client sends a payload that the upstream echoes, the client half-closes and
the upstream closes after it (FIN both ways: a normal close).

  upstream ADDR PORT LOG [--reset-on-term]
      the upstream: one thread, epoll (thousands of connections). Per
      connection: reads the CR, logs "cr NAME", answers the CC (logs "cc
      NAME" once it is sent), echoes everything after it, and on the client's
      FIN closes and logs "done NAME". Prints "listening" once it listens.
      SIGTERM with --reset-on-term: accepts whatever waits in the accept
      queue, closes the listener, reads what already arrived, then closes
      every connection with an RST (SO_LINGER 0) logging "reset NAME STAGE
      TIME" (STAGE: cr = request read, no answer sent; cc = answered; eof =
      the client's FIN read; TIME: CLOCK_MONOTONIC) or "reset - nocr ..."
      (nothing read yet), and exits: a host that crashes. Without it, SIGTERM
      just exits.
  idle HOST PORT N TAG READY GO OUT
      opens N connections (100 connects in flight at a time), writes READY
      once all are connected, holds them idle until the file GO exists, then
      does the RDP-ish exchange on all of them at once (a 256-byte payload).
      OUT: {"opened", "ok", "failed", "problems", "ports", "open_s", "relay_s"}.
  slowloris HOST PORT N INTERVAL LIMIT OUT
      N connections, each sending its X.224 request one byte every INTERVAL
      seconds (never the last byte); notes when and how each was closed (eof
      / reset), for LIMIT seconds at most. Prints "connected" once all are.
      OUT: {"conns": [{"port", "sent", "end", "after"}]}.
  normal HOST PORT N WORKERS OUT
      N RDP-ish exchanges (600-byte payload), WORKERS at a time, each timed
      from connect to the upstream's FIN. OUT: {"ok", "problems", "ports",
      "latency": [seconds...]}.
  never_read HOST PORT UPADDR UPPORT PROXYPID MIB OUT
      the upstream is this process: it answers the CR, then stops reading.
      The client sends MIB MiB of random bytes as fast as it can, without
      blocking; the role checks that its writes stall (the proxy stops
      reading it) with the proxy's resident memory bounded, then lets the
      upstream read: every byte arrives (SHA-256), the close is a FIN both
      ways. OUT: the numbers.
  fds HOST PORT PROXYPID ERRLOG LIMIT N OUT
      out of descriptors: N clients at once against a proxy limited to LIMIT
      descriptors (out_of_fds.sh lists the assertions).
  restart HOST PORT UPADDR UPPORT LOG N WORKERS OUT
      restarts the upstream (this script's "upstream --reset-on-term", on
      UPADDR:UPPORT, log LOG) in a loop while WORKERS threads make N short
      RDP-ish connections through the proxy; writes what each client saw, and
      the times the upstream was surely down, to OUT (upstream_restart.sh
      compares them with the records).
  halfclose HOST PORT UPADDR UPPORT NCONN MIB SEED OUT
      NCONN connections, each carrying MIB MiB each way at the same time; the
      upstream is this process. Per connection a plan drawn from SEED: both
      sides send everything then FIN, or one side half-closes (FIN) after a
      random share of its bytes while the other keeps sending all of its own,
      or one side resets (SO_LINGER 0 close) at a random point. Checks that
      every byte sent before a FIN arrives (SHA-256 each way), that what
      arrived from a side that reset is a prefix of what it sent, that a FIN
      arrives as EOF and an RST as ECONNRESET. OUT: per connection its plan,
      ports and byte counts.

(Python, not C: keep clang-format away from this file.)
"""
import errno
import hashlib
import json
import os
import random
import re
import selectors
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

CC = bytes.fromhex("030000130ed000001234000200080000000000")
fails = []


def expect(cond, msg):
    print("  %s %s" % ("ok  " if cond else "FAIL", msg), file=sys.stderr, flush=True)
    if not cond:
        fails.append(msg)
    return cond


def note(msg):
    print("  ..   " + msg, file=sys.stderr, flush=True)


def cr_for(name):
    cookie = b"Cookie: mstshash=" + name.encode() + b"\r\n"
    neg = struct.pack("<BBHI", 1, 0, 8, 0)
    x224 = bytes([6 + len(cookie) + len(neg), 0xE0, 0, 0, 0, 0, 0]) + cookie + neg
    return struct.pack(">BBH", 3, 0, 4 + len(x224)) + x224


def cookie_of(cr):
    i = cr.find(b"mstshash=")
    if i < 0:
        return "?"
    j = cr.find(b"\r\n", i)
    return cr[i + 9:j].decode(errors="replace")


def rss_kib(pid):
    try:
        for line in open("/proc/%d/status" % pid):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return -1


def cpu_s(pid):
    rest = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def reset_close(s):
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    s.close()


# ---- upstream ---------------------------------------------------------------


class UpConn:
    __slots__ = ("s", "inbuf", "out", "name", "stage", "eof", "sent")

    def __init__(self, s):
        self.s, self.inbuf, self.out = s, b"", bytearray()
        self.name, self.stage, self.eof, self.sent = None, "nocr", False, 0


def upstream(addr, port, logp, reset_on_term):
    logf = open(logp, "a", buffering=1)
    srv = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(4096)
    srv.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(srv, selectors.EVENT_READ, None)
    conns = {}
    term = []
    signal.signal(signal.SIGTERM, lambda *_: term.append(1))
    print("listening", flush=True)

    def close(c, how):
        sel.unregister(c.s)
        del conns[c.s.fileno()]
        if how == "reset":
            reset_close(c.s)
        else:
            c.s.close()

    def want(c):
        sel.modify(c.s, selectors.EVENT_READ | (selectors.EVENT_WRITE if c.out else 0), c)

    def feed(c, d):
        if c.name is None:
            c.inbuf += d
            if len(c.inbuf) < 4:
                return
            n = struct.unpack(">H", c.inbuf[2:4])[0]
            if len(c.inbuf) < n:
                return
            c.name = cookie_of(c.inbuf[:n])
            c.stage = "cr"
            logf.write("cr %s\n" % c.name)
            rest = c.inbuf[n:]
            c.inbuf = b""
            c.out += CC
            d = rest
        c.out += d

    def flush(c):
        while c.out:
            try:
                k = c.s.send(c.out)
            except BlockingIOError:
                break
            except OSError:
                return False
            del c.out[:k]
            c.sent += k
            if c.stage == "cr" and c.sent >= len(CC):
                c.stage = "cc"  # the answer is on its way
                logf.write("cc %s\n" % c.name)
        return True

    def read(c):
        try:
            d = c.s.recv(262144)
        except BlockingIOError:
            return True
        except OSError:
            logf.write("error %s\n" % c.name)
            close(c, "close")
            return False
        if not d:
            c.eof = True
            return True
        feed(c, d)
        return True

    def accept_all():
        while True:
            try:
                s, _ = srv.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                if e.errno in (errno.EMFILE, errno.ENFILE):
                    return
                raise
            s.setblocking(False)
            c = UpConn(s)
            conns[s.fileno()] = c
            sel.register(s, selectors.EVENT_READ, c)

    while not term:
        for key, ev in sel.select(0.2):
            if key.data is None:
                accept_all()
                continue
            c = key.data
            if ev & selectors.EVENT_READ and not read(c):
                continue
            if not flush(c):
                close(c, "close")
                continue
            if c.eof and not c.out:
                logf.write("done %s\n" % c.name)
                close(c, "close")
                continue
            want(c)
    if reset_on_term:
        accept_all()
        # At once: a connection that completes in the kernel after the last
        # accept and before the close is reset unseen.
        sel.unregister(srv)
        srv.close()
        for c in list(conns.values()):
            while read(c) and c.s.fileno() in conns and not c.eof:
                try:
                    if not c.s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT):
                        break
                except OSError:
                    break
            if c.s.fileno() in conns:
                # eof: the client had closed first (its FIN read)
                logf.write("reset %s %s %.6f\n" % (c.name or "-", "eof" if c.eof else c.stage, time.monotonic()))
                close(c, "reset")
    logf.close()
    os._exit(0)


# ---- idle: many connections held open --------------------------------------


class Cl:
    __slots__ = ("s", "i", "st", "buf", "payload", "port", "err")


def idle(host, port, n, tag, ready, go, out):
    sel = selectors.DefaultSelector()
    t0 = time.monotonic()
    conns, pending, problems = [], {}, []
    i = 0
    while i < n or pending:
        while i < n and len(pending) < 100:
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex((host, port))
            c = Cl()
            c.s, c.i, c.st, c.buf, c.err = s, i, "connecting", b"", None
            pending[s.fileno()] = c
            sel.register(s, selectors.EVENT_WRITE, c)
            i += 1
        for key, _ in sel.select(5):
            c = key.data
            sel.unregister(c.s)
            del pending[c.s.fileno()]
            e = c.s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if e:
                problems.append("connect %d: %s" % (c.i, os.strerror(e)))
                c.s.close()
                continue
            c.port = c.s.getsockname()[1]
            conns.append(c)
    open_s = time.monotonic() - t0
    open(ready, "w").write("%d\n" % len(conns))
    while not os.path.exists(go):
        time.sleep(0.05)
    t1 = time.monotonic()
    for c in conns:
        c.payload = os.urandom(256)
        c.s.send(cr_for("%s-%d" % (tag, c.i)))
        c.st = "cc"
        sel.register(c.s, selectors.EVENT_READ, c)
    left = len(conns)
    ok = 0
    deadline = time.monotonic() + 120
    while left and time.monotonic() < deadline:
        for key, _ in sel.select(1):
            c = key.data
            try:
                d = c.s.recv(65536)
            except ConnectionResetError:
                d = None
            if d is None or (not d and c.st != "eof"):
                problems.append("conn %d: %s in state %s" % (c.i, "reset" if d is None else "EOF", c.st))
                sel.unregister(c.s)
                c.s.close()
                left -= 1
                continue
            c.buf += d
            if c.st == "cc" and len(c.buf) >= len(CC):
                if c.buf[:len(CC)] != CC:
                    problems.append("conn %d: not the CC" % c.i)
                c.buf = c.buf[len(CC):]
                c.st = "echo"
                c.s.sendall(c.payload)
            if c.st == "echo" and len(c.buf) >= len(c.payload):
                if c.buf != c.payload:
                    problems.append("conn %d: echo differs" % c.i)
                c.st = "eof"
                c.buf = b""
                c.s.shutdown(socket.SHUT_WR)
                continue
            if c.st == "eof" and not d:
                ok += 1
                sel.unregister(c.s)
                c.s.close()
                left -= 1
    if left:
        problems.append("%d connections unfinished after 120 s" % left)
    json.dump({"opened": len(conns), "ok": ok, "failed": len(conns) - ok, "problems": problems[:20],
               "n_problems": len(problems), "ports": [c.port for c in conns],
               "open_s": round(open_s, 2), "relay_s": round(time.monotonic() - t1, 2)}, open(out, "w"))


# ---- slowloris and normal clients -------------------------------------------


def slowloris(host, port, n, interval, limit, out):
    conns = []
    for i in range(n):
        s = socket.create_connection((host, port), timeout=5)
        s.setblocking(False)
        conns.append({"s": s, "port": s.getsockname()[1], "cr": cr_for("slow-%d" % i), "sent": 0,
                      "end": None, "after": None, "t0": time.monotonic()})
    start = time.monotonic()
    print("connected", flush=True)
    next_send = start
    while time.monotonic() - start < limit and any(c["end"] is None for c in conns):
        now = time.monotonic()
        if now >= next_send:
            for c in conns:
                if c["end"] is None and c["sent"] < len(c["cr"]) - 1:  # never the last byte
                    try:
                        c["s"].send(c["cr"][c["sent"]:c["sent"] + 1])
                        c["sent"] += 1
                    except OSError:
                        pass
            next_send += interval
        for c in conns:
            if c["end"] is not None:
                continue
            try:
                d = c["s"].recv(4096)
                c["end"] = "data" if d else "eof"
            except BlockingIOError:
                continue
            except ConnectionResetError:
                c["end"] = "reset"
            c["after"] = round(time.monotonic() - c["t0"], 3)
        time.sleep(0.02)
    for c in conns:
        c["s"].close()
        del c["s"], c["cr"]
    json.dump({"conns": conns}, open(out, "w"))


def exchange(host, port, name, payload, timeout=10, pause=0.0, info=None):
    """one RDP-ish exchange; returns (outcome, port, got_cc). outcome: ok, or
    reset / eof / timeout / refused / mismatch (where it ended). info (a
    dict) gets "t_fin": when the client half-closed (time.monotonic())."""
    s = socket.socket()
    s.settimeout(timeout)
    got_cc = False
    lport = None
    try:
        # Bound first: the port is known even when an RST beats connect()'s
        # return (the proxy passing on a refusal at once).
        s.bind((host, 0))
        lport = s.getsockname()[1]
        s.connect((host, port))
        s.sendall(cr_for(name))
        b = b""
        while len(b) < len(CC):
            d = s.recv(len(CC) - len(b))
            if not d:
                return "eof", lport, got_cc
            b += d
        if b != CC:
            return "mismatch", lport, got_cc
        got_cc = True
        if pause:
            time.sleep(pause)
        s.sendall(payload)
        b = b""
        while len(b) < len(payload):
            d = s.recv(65536)
            if not d:
                return "eof", lport, got_cc
            b += d
        if b != payload:
            return "mismatch", lport, got_cc
        if info is not None:
            info["t_fin"] = time.monotonic()
        s.shutdown(socket.SHUT_WR)
        if s.recv(1) != b"":
            return "mismatch", lport, got_cc
        return "ok", lport, got_cc
    except ConnectionRefusedError:
        return "refused", lport, got_cc
    except (ConnectionResetError, BrokenPipeError):
        return "reset", lport, got_cc
    except socket.timeout:
        return "timeout", lport, got_cc
    except OSError as e:
        if e.errno == errno.ENOTCONN:  # shutdown() after an RST had closed it
            return "reset", lport, got_cc
        return "error %s" % errno.errorcode.get(e.errno, e.errno), lport, got_cc
    finally:
        s.close()


def normal(host, port, n, workers, out):
    res = []
    lock = threading.Lock()
    todo = list(range(n))

    def work():
        while True:
            with lock:
                if not todo:
                    return
                i = todo.pop()
            t = time.monotonic()
            outcome, lport, _ = exchange(host, port, "normal-%d" % i, os.urandom(600))
            with lock:
                res.append((outcome, lport, time.monotonic() - t))
    th = [threading.Thread(target=work) for _ in range(workers)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    json.dump({"ok": sum(1 for r in res if r[0] == "ok"),
               "problems": [r[0] for r in res if r[0] != "ok"][:20],
               "ports": [r[1] for r in res if r[0] == "ok"],
               "latency": [round(r[2], 4) for r in res]}, open(out, "w"))


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
    me = os.path.abspath(__file__)
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


# ---- many connections, half-closes and resets, byte-exact ------------------------


class End:
    """one end of one connection: what it sends, what it got, how it ended"""

    def __init__(self, conn, side, s, block, total, stop_at, how):
        self.conn, self.side, self.s = conn, side, s
        self.block, self.total = block, total
        self.stop_at, self.how = stop_at, how  # how: fin | rst, after stop_at bytes
        self.sent, self.h_sent = 0, hashlib.sha256()
        self.got, self.h_got = 0, hashlib.sha256()
        self.rd_end = None  # eof | reset | None (open)
        self.wr_done = False  # FIN sent or reset
        self.err = None
        self.closed = False


def stream_bytes(block, off, n):
    o = off % len(block)
    b = block[o:o + n]
    while len(b) < n:
        b += block[:n - len(b)]
    return b


def halfclose(host, port, upaddr, upport, nconn, mib, seed, out):
    rng = random.Random(seed)
    total = mib << 20
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((upaddr, upport))
    srv.listen(nconn)
    plans = []
    kinds = ["both_fin", "client_halfclose", "server_halfclose", "client_reset", "server_reset"]
    for i in range(nconn):
        kind = kinds[i] if i < len(kinds) else rng.choice(kinds + ["both_fin"])
        at = rng.randrange(total // 16, total)
        plans.append({"kind": kind, "at": at})
    sel = selectors.DefaultSelector()
    conns = []
    for i, p in enumerate(plans):
        c = socket.create_connection((host, port), timeout=10)
        s, _ = srv.accept()
        # The pair: the client's first 4 bytes are its index (relayed like
        # the rest, read here before the checked stream begins).
        c.sendall(struct.pack(">I", i))
        idx = b""
        while len(idx) < 4:
            idx += s.recv(4 - len(idx))
        j = struct.unpack(">I", idx)[0]
        assert j == i, (i, j)
        blk_c = random.Random(seed * 1000 + 2 * i).randbytes((1 << 20) + 7)
        blk_s = random.Random(seed * 1000 + 2 * i + 1).randbytes((1 << 20) + 7)
        kind, at = p["kind"], p["at"]
        ce = End(i, "client", c, blk_c, total, at if kind in ("client_halfclose", "client_reset") else total,
                 "rst" if kind == "client_reset" else "fin")
        se = End(i, "server", s, blk_s, total, at if kind in ("server_halfclose", "server_reset") else total,
                 "rst" if kind == "server_reset" else "fin")
        for e in (ce, se):
            e.s.setblocking(False)
            sel.register(e.s, selectors.EVENT_READ | selectors.EVENT_WRITE, e)
        p["client_port"] = c.getsockname()[1]
        conns.append((ce, se))
    t0 = time.monotonic()
    live = 2 * nconn

    def finish(e):
        nonlocal live
        if not e.closed:
            sel.unregister(e.s)
            e.s.close()
            e.closed = True
            live -= 1

    def failed(e, err):
        e.err = e.err or err
        if not e.rd_end:
            e.rd_end = "reset" if err == errno.ECONNRESET else "error %s" % errno.errorcode.get(err, err)
        finish(e)

    deadline = time.monotonic() + 600
    while live and time.monotonic() < deadline:
        for key, ev in sel.select(1):
            e = key.data
            if e.closed:
                continue
            if ev & selectors.EVENT_READ:
                try:
                    d = e.s.recv(1 << 18)
                    if d:
                        e.got += len(d)
                        e.h_got.update(d)
                    else:
                        e.rd_end = "eof"
                except BlockingIOError:
                    pass
                except OSError as x:
                    failed(e, x.errno)
                    continue
            if ev & selectors.EVENT_WRITE and not e.wr_done:
                n = min(1 << 18, e.stop_at - e.sent)
                if n > 0:
                    chunk = stream_bytes(e.block, e.sent, n)
                    try:
                        k = e.s.send(chunk)
                        e.h_sent.update(chunk[:k])
                        e.sent += k
                    except BlockingIOError:
                        pass
                    except OSError as x:
                        failed(e, x.errno)
                        continue
                if e.sent >= e.stop_at:
                    e.wr_done = True
                    if e.how == "rst":
                        sel.unregister(e.s)
                        reset_close(e.s)
                        e.closed = True
                        live -= 1
                        continue
                    e.s.shutdown(socket.SHUT_WR)
            if e.closed:
                continue
            if e.wr_done and e.rd_end:
                finish(e)
            elif e.wr_done:
                sel.modify(e.s, selectors.EVENT_READ, e)
            elif e.rd_end:
                sel.modify(e.s, selectors.EVENT_WRITE, e)
    elapsed = time.monotonic() - t0
    expect(live == 0, "every connection ended within the time limit (%d ends still open)" % live)
    report = []
    bad = []
    moved = 0
    for (ce, se), p in zip(conns, plans):
        kind = p["kind"]
        for a, b in ((ce, se), (se, ce)):
            # a sent, b received
            moved += b.got
            if a.how == "rst" and a.sent >= a.stop_at:
                exp = hashlib.sha256(stream_bytes(a.block, 0, b.got)).hexdigest() if b.got <= a.sent else "x"
                if b.got > a.sent or b.h_got.hexdigest() != exp:
                    bad.append("conn %d (%s): %s received %d bytes that are not a prefix of the %d the %s sent "
                               "before its reset" % (a.conn, kind, b.side, b.got, a.sent, a.side))
                if b.rd_end != "reset":
                    bad.append("conn %d (%s): the %s's reset reached the %s as %s, not ECONNRESET"
                               % (a.conn, kind, a.side, b.side, b.rd_end))
            elif b.how == "rst":
                pass  # b reset itself: whatever it had received is its business
            else:
                if b.got != a.sent or b.h_got.hexdigest() != a.h_sent.hexdigest():
                    bad.append("conn %d (%s): %s->%s: sent %d, received %d, SHA-256 %s" % (
                        a.conn, kind, a.side, b.side, a.sent, b.got,
                        "equal" if b.h_got.hexdigest() == a.h_sent.hexdigest() else "differs"))
                if a.sent != a.stop_at:
                    bad.append("conn %d (%s): the %s sent %d of %d bytes (%s)" % (a.conn, kind, a.side, a.sent,
                                                                               a.stop_at, a.err))
                if b.rd_end != "eof":
                    bad.append("conn %d (%s): the %s's FIN reached the %s as %s, not EOF"
                               % (a.conn, kind, a.side, b.side, b.rd_end))
        p.update({"client_sent": ce.sent, "server_sent": se.sent, "client_got": ce.got,
                  "server_got": se.got, "client_end": ce.rd_end, "server_end": se.rd_end})
        report.append(p)
    for m in bad[:20]:
        print("    " + m, file=sys.stderr)
    kinds_n = {k: sum(1 for p in plans if p["kind"] == k) for k in kinds}
    expect(not bad, "%d connections, %s: every byte sent before a FIN arrived (SHA-256 each way), what "
           "arrived from a side that reset is a prefix of what it sent, every FIN arrived as EOF and "
           "every RST as ECONNRESET (%d problems)" % (nconn, kinds_n, len(bad)))
    up = sum(se.got for _, se in conns)
    down = sum(ce.got for ce, _ in conns)
    note("delivered %.0f MiB client->server and %.0f MiB server->client in %.1f s (%.0f MiB/s through the "
         "proxy); %d half-closes, %d resets" % (up / 2**20, down / 2**20, elapsed, moved / 2**20 / elapsed,
                                                sum(1 for p in plans if "halfclose" in p["kind"]),
                                                sum(1 for p in plans if "reset" in p["kind"])))
    json.dump({"conns": report, "elapsed_s": round(elapsed, 2), "delivered_c2s": up, "delivered_s2c": down},
              open(out, "w"))


def main():
    a = sys.argv[1:]
    role = a[0] if a else ""
    if role == "upstream":
        upstream(a[1], int(a[2]), a[3], "--reset-on-term" in a[4:])
    elif role == "idle":
        idle(a[1], int(a[2]), int(a[3]), a[4], a[5], a[6], a[7])
    elif role == "slowloris":
        slowloris(a[1], int(a[2]), int(a[3]), float(a[4]), float(a[5]), a[6])
    elif role == "normal":
        normal(a[1], int(a[2]), int(a[3]), int(a[4]), a[5])
    elif role == "never_read":
        never_read(a[1], int(a[2]), a[3], int(a[4]), int(a[5]), int(a[6]), a[7])
    elif role == "fds":
        fds(a[1], int(a[2]), int(a[3]), a[4], int(a[5]), int(a[6]), a[7])
    elif role == "restart":
        restart(a[1], int(a[2]), a[3], int(a[4]), a[5], int(a[6]), int(a[7]), a[8])
    elif role == "halfclose":
        halfclose(a[1], int(a[2]), a[3], int(a[4]), int(a[5]), int(a[6]), int(a[7]), a[8])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
