#!/usr/bin/env python3
"""Peers for the pcap_dir disk tests (pcap_full.sh, pcap_stall.sh, pcap_caps.sh).

  pcap_peers.py server PORT
      echo server on 127.0.0.1:PORT, one thread per connection, until killed;
      a client's FIN is passed on once everything is echoed.
  pcap_peers.py bulk HOST PORT MIB OUT.json
      one connection: MIB MiB of random bytes sent while the echo is read back;
      writes {"bytes", "seconds", "mib_per_s", "sent_sha256", "echo_sha256",
      "exact"} (exact: the echo is the bytes sent, byte for byte).
  pcap_peers.py ping HOST PORT COUNT OUT.json
      one connection, COUNT request/response exchanges of 64 bytes, one at a
      time; writes the latencies' {"p50_ms", "p99_ms", "max_ms", "ok"}.
  pcap_peers.py conns HOST PORT N KIB
      N connections one after the other, each sending KIB KiB and reading the
      echo back; exit 1 if an echo differs.
"""
import hashlib
import json
import os
import socket
import sys
import threading
import time


def echo(conn):
    try:
        while True:
            b = conn.recv(1 << 18)
            if not b:
                break
            conn.sendall(b)
        conn.shutdown(socket.SHUT_WR)
        while conn.recv(1 << 16):
            pass
    except OSError:
        pass
    finally:
        conn.close()


def server(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(128)
    while True:
        c, _ = s.accept()
        threading.Thread(target=echo, args=(c,), daemon=True).start()


def connect(host, port):
    c = socket.create_connection((host, port), timeout=60)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return c


def bulk(host, port, mib, out):
    c = connect(host, port)
    total = mib << 20
    sent = hashlib.sha256()
    got = hashlib.sha256()
    block = os.urandom(1 << 20)

    def sender():
        for i in range(mib):
            # a different MiB each time, cheaply: the index in front
            chunk = i.to_bytes(8, "big") + block[8:]
            sent.update(chunk)
            c.sendall(chunk)
        c.shutdown(socket.SHUT_WR)

    t0 = time.monotonic()
    th = threading.Thread(target=sender)
    th.start()
    n = 0
    while True:
        b = c.recv(1 << 18)
        if not b:
            break
        got.update(b)
        n += len(b)
    th.join()
    secs = time.monotonic() - t0
    c.close()
    res = {"bytes": n, "seconds": secs, "mib_per_s": total / secs / 2**20,
           "sent_sha256": sent.hexdigest(), "echo_sha256": got.hexdigest(),
           "exact": n == total and sent.digest() == got.digest()}
    json.dump(res, open(out, "w"))
    return 0 if res["exact"] else 1


def ping(host, port, count, out):
    c = connect(host, port)
    msg = b"p" * 64
    lat = []
    ok = True
    for _ in range(count):
        t0 = time.monotonic()
        c.sendall(msg)
        b = b""
        while len(b) < len(msg):
            r = c.recv(len(msg) - len(b))
            if not r:
                break
            b += r
        lat.append((time.monotonic() - t0) * 1000)
        ok = ok and b == msg
    c.close()
    lat.sort()
    res = {"p50_ms": lat[len(lat) // 2], "p99_ms": lat[min(len(lat) - 1, len(lat) * 99 // 100)],
           "max_ms": lat[-1], "ok": ok, "count": count}
    json.dump(res, open(out, "w"))
    return 0 if ok else 1


def conns(host, port, n, kib):
    for i in range(n):
        c = connect(host, port)
        data = os.urandom(kib << 10)
        th = threading.Thread(target=lambda: (c.sendall(data), c.shutdown(socket.SHUT_WR)))
        th.start()
        b = bytearray()
        while True:
            r = c.recv(1 << 16)
            if not r:
                break
            b += r
        th.join()
        c.close()
        if bytes(b) != data:
            print("connection %d: echo differs (%d of %d bytes)" % (i, len(b), len(data)),
                  file=sys.stderr)
            return 1
        time.sleep(0.05)  # distinct open times: distinct, ordered file names
    return 0


def main(a):
    if a[:1] == ["server"] and len(a) == 2:
        return server(int(a[1]))
    if a[:1] == ["bulk"] and len(a) == 5:
        return bulk(a[1], int(a[2]), int(a[3]), a[4])
    if a[:1] == ["ping"] and len(a) == 5:
        return ping(a[1], int(a[2]), int(a[3]), a[4])
    if a[:1] == ["conns"] and len(a) == 5:
        return conns(a[1], int(a[2]), int(a[3]), int(a[4]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
