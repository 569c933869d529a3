"""load_clients.py — load_peers.py's client roles that only load the proxy:
"idle" (many connections held open, then an exchange on all), "slowloris"
(one byte at a time) and "normal" (timed exchanges).

(Python, not C: keep clang-format away from this file.)
"""
import json
import os
import selectors
import socket
import threading
import time

from load_common import CC, cr_for, exchange


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
