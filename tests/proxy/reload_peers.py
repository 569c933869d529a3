#!/usr/bin/env python3
"""reload_peers.py ROLE ... — the peers of tests/proxy/reload.sh and
reload_tproxy.sh (python3 stdlib only).

  echo ADDR PORT LOG
      an echo server (a thread per connection): sends back every byte it
      reads; on the client's FIN sends what is left and closes (FIN). LOG gets
      "accept" / "eof" / "error ..." lines.
  load HOST PORT STOP OUT [WORKERS [LONG]]
      WORKERS (8) threads open connection after connection until the file
      STOP exists: each sends 1 B-192 KiB of random bytes (the size random
      too), half-closes, reads the echo to EOF and compares SHA-256 of what
      it sent and what came back. LONG (4) more connections stay open the
      whole time, sending 2 KiB every 50 ms and checking each echo. Prints
      "running" once the first connection has been relayed. OUT: {"connections",
      "ok", "refused", "reset", "timeout", "mismatch", "error", "bytes" (each
      way), "long_ok", "long_chunks", "problems" (the first 20)}.
  burst HOST PORT N OUT
      opens N connections at once, each sending 4 KiB of random bytes and a
      FIN, prints "connected" once all are (the kernel completes them even
      while the proxy is stopped), then reads each echo to EOF (20 s).
      OUT: {"ok", "refused", "reset", "timeout", "mismatch", "problems"}.
  connect HOST PORT
      one echo round trip of 1 KiB; prints ok, refused, reset, timeout,
      mismatch or "error ...".
"""
import hashlib
import json
import os
import random
import select
import socket
import sys
import threading
import time


def log_line(path, lock):
    f = open(path, "a", buffering=1)

    def log(s):
        with lock:
            f.write(s + "\n")
    return log


def echo(addr, port, logp):
    log = log_line(logp, threading.Lock())
    srv = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(512)

    def handle(c):
        log("accept")
        try:
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
            c.shutdown(socket.SHUT_WR)
            log("eof")
        except OSError as e:
            log("error %s" % e)
        finally:
            c.close()
    while True:
        c, _ = srv.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()


def exchange(host, port, payload, timeout=15.0):
    """connect, send payload + FIN while reading; returns (outcome, echoed bytes)"""
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.settimeout(timeout)
    try:
        s.connect((host, port))
    except ConnectionRefusedError:
        s.close()
        return "refused", b""
    except ConnectionResetError:
        s.close()
        return "reset", b""
    except socket.timeout:
        s.close()
        return "timeout", b""
    except OSError as e:
        s.close()
        return "error %s" % e, b""
    s.setblocking(False)
    got = bytearray()
    off = 0
    shut = False
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout", bytes(got)
            want_w = [s] if not shut else []
            r, w, _ = select.select([s], want_w, [], left)
            if w and not shut:
                if off < len(payload):
                    try:
                        off += s.send(payload[off:off + 65536])
                    except BlockingIOError:
                        pass
                if off >= len(payload):
                    s.shutdown(socket.SHUT_WR)
                    shut = True
            if r:
                try:
                    d = s.recv(65536)
                except BlockingIOError:
                    continue
                if not d:
                    return ("ok" if shut else "eof-early"), bytes(got)
                got += d
    except ConnectionResetError:
        return "reset", bytes(got)
    except OSError as e:
        return "error %s" % e, bytes(got)
    finally:
        s.close()


def load(host, port, stop, out, workers=8, nlong=4):
    lock = threading.Lock()
    st = {"connections": 0, "ok": 0, "refused": 0, "reset": 0, "timeout": 0, "mismatch": 0,
          "error": 0, "bytes": 0, "long_ok": 0, "long_chunks": 0, "problems": []}
    first = threading.Event()

    def note(kind, what):
        with lock:
            st[kind] += 1
            if len(st["problems"]) < 20:
                st["problems"].append(what)

    def worker(seed):
        rnd = random.Random(seed)
        while not os.path.exists(stop):
            n = rnd.randint(1, 192 * 1024)
            payload = rnd.randbytes(n)
            outcome, echoed = exchange(host, port, payload)
            with lock:
                st["connections"] += 1
            if outcome == "ok" and hashlib.sha256(echoed).digest() == hashlib.sha256(payload).digest():
                with lock:
                    st["ok"] += 1
                    st["bytes"] += n
                first.set()
            elif outcome in ("ok", "eof-early"):
                note("mismatch", "%d bytes sent, %d echoed (%s)" % (n, len(echoed), outcome))
            elif outcome in ("refused", "reset", "timeout"):
                note(outcome, "%s after %d of %d bytes echoed" % (outcome, len(echoed), n))
            else:
                note("error", outcome)

    def long_conn(seed):
        rnd = random.Random(seed)
        try:
            s = socket.create_connection((host, port), timeout=10)
        except OSError as e:
            note("error", "long connection: %s" % e)
            return
        ok = True
        try:
            while not os.path.exists(stop):
                chunk = rnd.randbytes(2048)
                s.sendall(chunk)
                got = b""
                while len(got) < len(chunk):
                    d = s.recv(len(chunk) - len(got))
                    if not d:
                        raise ConnectionError("EOF")
                    got += d
                if got != chunk:
                    raise ValueError("echo differs")
                with lock:
                    st["long_chunks"] += 1
                time.sleep(0.05)
            s.shutdown(socket.SHUT_WR)
            if s.recv(1) != b"":
                raise ValueError("data after the FIN")
        except (OSError, ValueError) as e:
            ok = False
            note("error", "long connection: %s" % e)
        finally:
            s.close()
        if ok:
            with lock:
                st["long_ok"] += 1

    ts = [threading.Thread(target=long_conn, args=(1000 + i,)) for i in range(nlong)]
    ts += [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    for t in ts:
        t.start()
    if first.wait(10):
        print("running", flush=True)
    for t in ts:
        t.join()
    json.dump(st, open(out, "w"))


def burst(host, port, n, out):
    st = {"ok": 0, "refused": 0, "reset": 0, "timeout": 0, "mismatch": 0, "error": 0,
          "problems": []}
    socks = []
    for i in range(n):
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        s.settimeout(5)
        payload = os.urandom(4096)
        try:
            s.connect((host, port))
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
        except ConnectionRefusedError:
            st["refused"] += 1
            continue
        except OSError as e:
            st["error"] += 1
            st["problems"].append("connect %d: %s" % (i, e))
            continue
        socks.append((s, payload))
    print("connected", flush=True)
    deadline = time.monotonic() + 20
    for s, payload in socks:
        got = b""
        try:
            while True:
                s.settimeout(max(0.1, deadline - time.monotonic()))
                d = s.recv(65536)
                if not d:
                    break
                got += d
            kind = "ok" if got == payload else "mismatch"
        except ConnectionResetError:
            kind = "reset"
        except socket.timeout:
            kind = "timeout"
        except OSError:
            kind = "error"
        st[kind] += 1
        if kind != "ok" and len(st["problems"]) < 20:
            st["problems"].append("%s after %d of %d bytes" % (kind, len(got), len(payload)))
        s.close()
    json.dump(st, open(out, "w"))


def main():
    role = sys.argv[1]
    if role == "echo":
        echo(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif role == "load":
        a = sys.argv[2:]
        load(a[0], int(a[1]), a[2], a[3], int(a[4]) if len(a) > 4 else 8,
             int(a[5]) if len(a) > 5 else 4)
    elif role == "burst":
        burst(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    elif role == "connect":
        payload = os.urandom(1024)
        outcome, echoed = exchange(sys.argv[2], int(sys.argv[3]), payload, 5.0)
        print("mismatch" if outcome == "ok" and echoed != payload else outcome)
    else:
        sys.exit("unknown role " + role)


if __name__ == "__main__":
    main()
