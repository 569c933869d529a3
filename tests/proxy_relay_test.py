#!/usr/bin/env python3
"""rdpwhy proxy on loopback: byte-exact relay both ways with half-close in
both orders, RSTs passed on in both directions, back-pressure with a slow
reader, a refused upstream, the connect timeout, and config errors.

usage: proxy_relay_test.py RDPWHY_BINARY
Every case checks what each peer saw (bytes, FIN or RST) and the record."""

import hashlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import rdpwhy_run as rw  # noqa: E402
from records import loads, parse_lines  # noqa: E402

BIN = sys.argv[1]
TMP = tempfile.mkdtemp(prefix="rdpwhy-relay-")
MIB = 1024 * 1024
failures = []



class Proxy:
    def __init__(self, upstream_port, *extra, listen_host="127.0.0.1", upstream_host="127.0.0.1"):
        self.port = rw.free_port()
        self.out, self.errpath = rw.proxy_files(TMP, self.port)
        # ASan's quarantine keeps freed buffers; bound it so RSS shows the
        # proxy's own buffering in sanitizer builds too.
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=4").lstrip(":")
        self.proc = subprocess.Popen(
            [BIN, "proxy", "--listen", "%s:%d" % (listen_host, self.port),
             "--upstream", "%s:%d" % (upstream_host, upstream_port), "--format", "json",
             "--output", self.out, "-v", "-v", *extra,
             # RDPWHY_TEST_WORKERS=N: every case again with N event loops.
             *(["--workers", os.environ["RDPWHY_TEST_WORKERS"]]
               if os.environ.get("RDPWHY_TEST_WORKERS") else [])],
            stderr=open(self.errpath, "w"), env=env)
        # Ready once it logged its ready line (a probe connection would reach
        # the test's upstream and disturb the case). Bounded; the failure
        # says why, with the end of its stderr.
        try:
            rw.wait_ready(self.errpath, self.proc)
        except rw.RunFailed as e:
            self.proc.kill()
            self.proc.wait()
            raise SystemExit("proxy did not start: %s" % e)

    def records(self):
        try:
            with open(self.out) as f:
                return [loads(l) for l in f if l.strip()]
        except FileNotFoundError:
            return []

    def wait_records(self, n, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            recs = self.records()
            if len(recs) >= n:
                return recs
            time.sleep(0.05)
        raise AssertionError("expected %d records, got %d; log:\n%s" % (
            n, len(self.records()), open(self.errpath).read()[-3000:]))

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self, case):
        """SIGTERM; the proxy must exit 0 within 30 s with no sanitizer
        report on its stderr (a failed check of CASE otherwise)."""
        try:
            rw.stop(self.proc, "proxy", self.errpath, signal.SIGTERM, want=0, timeout=30)
            check("%s: proxy exits 0 on SIGTERM, no sanitizer report" % case, True)
        except rw.RunFailed as e:
            check("%s: proxy exits 0 on SIGTERM, no sanitizer report" % case, False, str(e))


def check(name, cond, detail=""):
    if cond:
        print("ok   %s" % name)
    else:
        print("FAIL %s %s" % (name, detail))
        failures.append(name)


def listener():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    return srv


def send_all_then(sock, data, then):
    sock.sendall(data)
    if then == "shut":
        sock.shutdown(socket.SHUT_WR)


def read_until_eof(sock, slow=False):
    h = hashlib.sha256()
    n = 0
    how = "fin"
    try:
        while True:
            b = sock.recv(65536 if not slow else 4096)
            if not b:
                break
            h.update(b)
            n += len(b)
            if slow:
                time.sleep(0.0005)
    except ConnectionResetError:
        how = "rst"
    return h.hexdigest(), n, how


def half_close_side(sock, data, first):
    """One side of exchange(): if `first`, send `data`, half-close, then read
    the peer's bytes until its FIN; otherwise read until the peer's FIN first,
    then send `data` and half-close. Returns what read_until_eof saw."""
    if first:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        return read_until_eof(sock)
    seen = read_until_eof(sock)  # the peer's FIN has arrived: now send our half
    sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
    return seen


def exchange(first_closer, size=8 * MIB):
    """Both sides send `size` random bytes; `first_closer` half-closes first,
    the other side keeps sending after it saw the FIN, then closes."""
    srv = listener()
    px = Proxy(srv.getsockname()[1])
    c_data, s_data = os.urandom(size), os.urandom(size)
    got = {}

    def server():
        conn, _ = srv.accept()
        got["server"] = half_close_side(conn, s_data, first_closer == "server")
        conn.close()

    st = threading.Thread(target=server)
    st.start()
    cl = socket.create_connection(("127.0.0.1", px.port))
    got["client"] = half_close_side(cl, c_data, first_closer == "client")
    st.join()
    cl.close()
    recs = px.wait_records(1)
    name = "half-close, %s first" % first_closer
    if size != 8 * MIB:
        name += ", %d bytes each way" % size
    px.stop(name)
    srv.close()
    r = recs[-1]
    check(name + ": server got the client's bytes",
          got["server"][:2] == (hashlib.sha256(c_data).hexdigest(), size), got["server"][1])
    check(name + ": client got the server's bytes",
          got["client"][:2] == (hashlib.sha256(s_data).hexdigest(), size), got["client"][1])
    check(name + ": both saw a FIN", got["server"][2] == "fin" and got["client"][2] == "fin")
    check(name + ": record", r["rdpwhy.closed_by"] == first_closer and
          r["rdpwhy.close_kind"] == "fin" and r["source.bytes"] == size and
          r["destination.bytes"] == size, {k: r[k] for k in r if k.startswith(("rdpwhy.c", "source.b", "destination.b"))})


def x224_cr(cookie, protocols):
    c = b"Cookie: mstshash=" + cookie + b"\r\n"
    neg = struct.pack("<BBHI", 1, 0, 8, protocols)
    x224 = bytes([6 + len(c) + len(neg), 0xE0, 0, 0, 0, 0, 0]) + c + neg
    return struct.pack(">BBH", 3, 0, 4 + len(x224)) + x224


# Connection Confirm selecting standard RDP security (MS-RDPBCGR 4.1.2).
X224_CC_RDP = bytes.fromhex("030000130ed000001234000200080000000000")


def reset_or_read(sock, resets, seen, key):
    """One side of reset(): if `resets`, abort the connection after 0.2 s (an
    RST: SO_LINGER 0); otherwise seen[key] = how the other side's end arrived
    (read_until_eof). Closes the socket."""
    if resets:
        time.sleep(0.2)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    else:
        seen[key] = read_until_eof(sock)[2]
    sock.close()


def reset(resetter):
    srv = listener()
    px = Proxy(srv.getsockname()[1])
    seen = {}
    ready = threading.Event()

    def server():
        conn, _ = srv.accept()
        conn.recv(len(x224_cr(b"rst", 0)))
        conn.sendall(X224_CC_RDP + b"x" * 1000)
        ready.wait(5)
        reset_or_read(conn, resetter == "server", seen, "server")

    st = threading.Thread(target=server)
    st.start()
    cl = socket.create_connection(("127.0.0.1", px.port))
    cl.sendall(x224_cr(b"rst", 0))
    cl.recv(len(X224_CC_RDP))
    cl.sendall(b"y" * MIB)
    ready.set()
    reset_or_read(cl, resetter == "client", seen, "client")
    st.join()
    recs = px.wait_records(1)
    px.stop("RST from the %s" % resetter)
    srv.close()
    r = recs[-1]
    other = "server" if resetter == "client" else "client"
    check("RST from the %s reaches the %s as an RST" % (resetter, other), seen[other] == "rst",
          seen)
    check("RST from the %s: record" % resetter,
          r["rdpwhy.closed_by"] == resetter and r["rdpwhy.close_kind"] == "rst" and
          r["rdpwhy.cause"] == "reset_by_" + resetter, r["rdpwhy.cause"])


def back_pressure():
    """A reader far slower than the writer: the proxy must not buffer it all."""
    srv = listener()
    px = Proxy(srv.getsockname()[1], "--set", "max_buffer=256k")
    size = 96 * MIB
    data = os.urandom(MIB) * 96
    got = {}
    peak = [0]

    def server():
        conn, _ = srv.accept()
        got["server"] = read_until_eof(conn, slow=False)
        conn.close()

    def sample():
        while "server" not in got:
            peak[0] = max(peak[0], px.rss_kib())
            time.sleep(0.05)

    rss0 = px.rss_kib()
    st = threading.Thread(target=server)
    cl = socket.create_connection(("127.0.0.1", px.port))
    sampler = threading.Thread(target=sample)
    sampler.start()
    # Let the proxy fill its buffers before the server starts reading.
    w = threading.Thread(target=lambda: (cl.sendall(data), cl.shutdown(socket.SHUT_WR)))
    w.start()
    time.sleep(1.0)
    st.start()
    w.join()
    st.join()
    sampler.join()
    cl.close()
    px.wait_records(1)
    px.stop("back-pressure")
    srv.close()
    check("back-pressure: all bytes relayed", got["server"][:2] ==
          (hashlib.sha256(data).hexdigest(), size))
    check("back-pressure: proxy memory stays bounded (peak RSS %d KiB, start %d KiB)" %
          (peak[0], rss0), peak[0] - rss0 < 16 * 1024)


def refused():
    port = rw.free_port()  # nothing listens there
    px = Proxy(port)
    cl = socket.create_connection(("127.0.0.1", px.port))
    try:
        b = cl.recv(10)
        how = "fin" if b == b"" else "data"
    except ConnectionResetError:
        how = "rst"
    cl.close()
    recs = px.wait_records(1)
    px.stop("refused upstream")
    r = recs[-1]
    check("refused upstream: client sees an RST", how == "rst", how)
    check("refused upstream: record", r["rdpwhy.cause"] == "upstream_refused" and
          r["rdpwhy.closed_by"] == "server" and r["rdpwhy.close_kind"] == "refused" and
          r["rdpwhy.phase"] == "tcp_connect" and "rdpwhy.proxy.connect_ms" in r, r)


def x224_timeout():
    """A host that accepts and never answers the X.224 request."""
    srv = listener()
    px = Proxy(srv.getsockname()[1], "--set", "x224_timeout=1s")
    held = []
    threading.Thread(target=lambda: held.append(srv.accept()[0]), daemon=True).start()
    cl = socket.create_connection(("127.0.0.1", px.port))
    cl.sendall(x224_cr(b"hung", 1))
    t0 = time.time()
    cl.settimeout(10)
    b = cl.recv(10)
    waited = time.time() - t0
    cl.close()
    recs = px.wait_records(1)
    px.stop("x224 timeout")
    srv.close()
    r = recs[-1]
    # A 1 s timer: never early (0.8: clock granularity between the two
    # processes), up to 2 s late on a loaded 2-core machine under ASan.
    check("x224 timeout: client closed after ~1 s (%.2f s)" % waited, b == b"" and 0.8 < waited < 3)
    check("x224 timeout: record", r["rdpwhy.cause"] == "x224_no_response" and
          r["rdpwhy.closed_by"] == "proxy" and r["rdpwhy.close_kind"] == "timeout" and
          r["rdp.cookie"] == "hung", r)


def replay_pcap(case, pcap_dir, *opts):
    """The one pcap the proxy wrote for CASE, replayed: its record (or None)."""
    files = [f for f in os.listdir(pcap_dir) if f.endswith(".pcap")]
    check("%s: the proxy wrote one pcap" % case, len(files) == 1, files)
    if len(files) != 1:
        return None
    try:
        p = rw.run([BIN, "replay", "--format", "json", *opts, os.path.join(pcap_dir, files[0])],
                   want=0)
    except rw.RunFailed as e:
        check("%s: replay of the proxy's pcap" % case, False, str(e))
        return None
    recs = parse_lines(p.stdout)
    check("%s: the pcap replays to one record" % case, len(recs) == 1, recs)
    return recs[0] if recs else None


def own_closes_in_pcap():
    """The closes rdpwhy makes itself are in its pcap, so the file replays to
    the proxy's own verdict (seen from the client's side of the proxy)."""
    # A host that never answers: the proxy's x224 timeout (4 s, past the
    # 3 s a capture needs to call a silence a non-response).
    srv = listener()
    d = tempfile.mkdtemp(dir=TMP)
    px = Proxy(srv.getsockname()[1], "--set", "x224_timeout=4s", "--set", "pcap_dir=" + d)
    held = []
    threading.Thread(target=lambda: held.append(srv.accept()[0]), daemon=True).start()
    cl = socket.create_connection(("127.0.0.1", px.port))
    cl.sendall(x224_cr(b"silent", 1))
    cl.settimeout(15)
    cl.recv(10)
    cl.close()
    px.wait_records(1)
    px.stop("own close: x224 timeout")
    srv.close()
    r = replay_pcap("own close: x224 timeout", d)
    check("own close: x224 timeout pcap replays as x224_no_response, server side FIN after >= 4 s",
          r is not None and r["rdpwhy.cause"] == "x224_no_response" and
          r["rdpwhy.closed_by"] == "server" and r["rdpwhy.close_kind"] == "fin" and
          r["event.duration"] >= 4 * 10**9, r)
    # An upstream whose accept queue is full drops SYNs: the connect times out.
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    fillers = []
    for _ in range(4):
        f = socket.socket()
        f.setblocking(False)
        try:
            f.connect(("127.0.0.1", srv.getsockname()[1]))
        except BlockingIOError:
            pass
        fillers.append(f)
    time.sleep(0.2)
    d = tempfile.mkdtemp(dir=TMP)
    px = Proxy(srv.getsockname()[1], "--set", "connect_timeout=2500ms", "--set", "pcap_dir=" + d)
    cl = socket.create_connection(("127.0.0.1", px.port))
    cl.settimeout(15)
    try:
        cl.recv(10)
    except OSError:
        pass
    cl.close()
    recs = px.wait_records(1)
    px.stop("own close: connect timeout")
    for f in fillers:
        f.close()
    port = srv.getsockname()[1]
    srv.close()
    check("own close: connect timeout record", recs[-1]["rdpwhy.cause"] == "upstream_unreachable",
          recs[-1])
    # No X.224 request ever left the client: the server port must be named.
    r = replay_pcap("own close: connect timeout", d, "--port", str(port))
    check("own close: connect timeout pcap replays as upstream_unreachable (SYN retransmitted)",
          r is not None and r["rdpwhy.cause"] == "upstream_unreachable" and
          r["rdpwhy.phase"] == "tcp_connect", r)


def ipv6_and_names():
    """An IPv6 listener and an upstream given by name (resolved at start)."""
    srv = listener()
    px = Proxy(srv.getsockname()[1], listen_host="[::1]", upstream_host="localhost")
    got = {}

    def server():
        conn, _ = srv.accept()
        got["server"] = conn.recv(100)
        conn.sendall(b"pong")
        conn.close()

    st = threading.Thread(target=server)
    st.start()
    cl = socket.create_connection(("::1", px.port))
    cl.sendall(b"ping")
    reply = read_all(cl)
    cl.close()
    st.join()
    recs = px.wait_records(1)
    px.stop("IPv6 listener")
    srv.close()
    r = recs[-1]
    check("IPv6 listener, upstream by name: bytes relayed",
          got["server"] == b"ping" and reply == b"pong", (got, reply))
    check("IPv6 listener: record has the client's IPv6 address",
          r["source.ip"] == "::1" and r["destination.ip"] == "127.0.0.1", r)


def read_all(sock):
    out = b""
    while True:
        b = sock.recv(65536)
        if not b:
            return out
        out += b


def config_errors():
    def judged(name, cmd, want):
        """rw.run: exit status WANT and no sanitizer report; a failed check
        otherwise. Returns the CompletedProcess (None when it failed)."""
        try:
            return rw.run(cmd, want=want)
        except rw.RunFailed as e:
            check(name, False, str(e))
            return None

    bad = os.path.join(TMP, "bad.conf")
    with open(bad, "w") as f:
        f.write("# a comment\nlisten = 127.0.0.1:3389\nupstream = 10.0.0.1:3389\n"
                "connect_timeout = ten\n")
    name = "bad config: exit 2 (a configuration error) and FILE:LINE message"
    p = judged(name, [BIN, "proxy", "-c", bad, "--check-config"], 2)
    if p:
        check(name, (bad + ":4:") in p.stderr, p.stderr)
    good = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "conf", "rdpwhy.conf")
    # --check-config does what start does first: the shipped example's
    # placeholder upstream does not resolve (exit 2, the name said); with a
    # real one it passes, and -v prints the effective configuration.
    name = "shipped conf/rdpwhy.conf: --check-config resolves its placeholder upstream and fails"
    p = judged(name, [BIN, "proxy", "-c", good, "--check-config"], 2)
    if p:
        check(name, "rdp-host.example.net" in p.stderr, p.stderr)
    name = "shipped conf/rdpwhy.conf with a real upstream passes --check-config -v"
    p = judged(name, [BIN, "proxy", "-c", good, "--set", "upstream=127.0.0.1:3390",
                      "--check-config", "-v"], 0)
    if p:
        check(name, "upstream = 127.0.0.1:3390" in p.stdout and
              "connect_timeout = " in p.stdout and "configuration ok" in p.stdout, p.stdout)
    name = "no upstream mode: exit 2, clear error"
    p = judged(name, [BIN, "proxy", "--listen", "127.0.0.1:1"], 2)
    if p:
        check(name, "upstream" in p.stderr, p.stderr)


def main():
    # A few bytes and the FIN right behind them: one edge for both on the
    # fast relay's edge-triggered set, and the FIN must still be read.
    exchange("client", size=1000)
    exchange("server", size=1000)
    exchange("client")
    exchange("server")
    reset("client")
    reset("server")
    back_pressure()
    refused()
    x224_timeout()
    own_closes_in_pcap()
    ipv6_and_names()
    config_errors()
    if failures:
        # The proxies' records and stderr stay for a look.
        print("%d failure(s); records and logs kept in %s" % (len(failures), TMP))
        sys.exit(1)
    shutil.rmtree(TMP, ignore_errors=True)


main()
