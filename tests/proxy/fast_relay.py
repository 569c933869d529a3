#!/usr/bin/env python3
"""The proxy's fast relay (issue #14): once the X.224 Confirm has passed, a
connection leaves its bufferevents; its bytes move by splice(2) when nothing
needs them (no pcap_dir, the analyzers only count) and by large reads of
the proxy's own otherwise (pcap_dir on, or the analyzers still reading a
TLS handshake). Every case runs an X.224 CR/CC exchange first, so the
connection is on the fast relay, then checks what each peer saw:

  splice      CC selects standard RDP security, 8 MiB random each way,
              half-close in both orders: bytes byte-exact (SHA-256), both
              FINs, the record's byte counts (payload + CR + CC), and the
              proxy's counters say the connection was on the fast relay and
              that splice moved at least the 16 MiB of payload
  pcap        the same with pcap_dir: read/write, nothing spliced; the pcap
              replays to the same byte counts
  inspecting  CC selects SSL, then non-TLS bytes the analyzers keep reading
              (read/write path with inspection): byte-exact, nothing spliced
  rst         RST from the client and from the server after the fast relay
              took over: the other side gets an RST, the record says who
  pressure    a 96 MiB upload to a server that starts reading 1 s late:
              every byte arrives, the proxy's RSS grows by less than 16 MiB
  tiny        max_buffer = 4k (the smallest): 4 MiB each way byte-exact

usage: fast_relay.py RDPWHY_BINARY   (exit 1 on any failed check)"""

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import rdpwhy_run as rw  # noqa: E402
from records import loads, parse_lines  # noqa: E402
from echo_peer import Accept, linger0, listener, read_until_eof, recv_exact  # noqa: E402

BIN = sys.argv[1]
TMP = tempfile.mkdtemp(prefix="rdpwhy-fast-")
MIB = 1024 * 1024
failures = []

# MS-RDPBCGR 4.1.1 / 4.1.2: a CR with RDP_NEG_REQ, a CC with RDP_NEG_RSP
# selecting standard RDP security (0) or TLS (1). 19 bytes each.
CR = bytes.fromhex("030000130ee000000000000100080003000000")
CC_RDP = bytes.fromhex("030000130ed000001234000200080000000000")
CC_SSL = bytes.fromhex("030000130ed000001234000200080001000000")


def check(name, cond, detail=""):
    print(("ok   %s" if cond else "FAIL %s") % name + ("" if cond else " %s" % (detail,)))
    if not cond:
        failures.append(name)



class Proxy:
    def __init__(self, upstream_port, *extra):
        self.port = rw.free_port()
        self.out, self.errpath = rw.proxy_files(TMP, self.port)
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") + ":quarantine_size_mb=4").lstrip(":")
        self.proc = subprocess.Popen(
            [BIN, "proxy", "--listen", "127.0.0.1:%d" % self.port,
             "--upstream", "127.0.0.1:%d" % upstream_port, "--format", "json",
             "--output", self.out, "-v", *extra],
            stderr=open(self.errpath, "w"), env=env)
        rw.wait_ready(self.errpath, self.proc)

    def records(self):
        try:
            with open(self.out) as f:
                return [loads(l) for l in f if l.strip()]
        except FileNotFoundError:
            return []

    def wait_records(self, n, timeout=15):
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
        """SIGTERM: exit 0, no sanitizer report; returns the fast relay
        counters (connections, bytes spliced) from the final log line."""
        try:
            rw.stop(self.proc, "proxy", self.errpath, signal.SIGTERM, want=0, timeout=30)
            check("%s: proxy exits 0 on SIGTERM, no sanitizer report" % case, True)
        except rw.RunFailed as e:
            check("%s: proxy exits 0 on SIGTERM, no sanitizer report" % case, False, str(e))
        m = re.findall(r"fast relay: (\d+) connections, (\d+) bytes spliced",
                       open(self.errpath).read())
        return tuple(map(int, m[-1])) if m else (None, None)


def half_close_side(sock, data, first):
    if first:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        return read_until_eof(sock)
    seen = read_until_eof(sock)
    sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
    return seen


def x224(cl, conn, cc):
    """The CR from the client, the CC from the server, each checked."""
    cl.sendall(CR)
    ok = recv_exact(conn, len(CR)) == CR
    conn.sendall(cc)
    return ok and recv_exact(cl, len(cc)) == cc


def exchange(case, first_closer, cc, size, *extra, pcap=None):
    srv = listener()
    args = list(extra) + (["--set", "pcap_dir=" + pcap] if pcap else [])
    px = Proxy(srv.getsockname()[1], *args)
    c_data, s_data = os.urandom(size), os.urandom(size)
    got = {}
    acc = Accept(srv)
    cl = socket.create_connection(("127.0.0.1", px.port))
    conn = acc.conn()
    got["x224"] = x224(cl, conn, cc)

    def server_side():
        got["server"] = half_close_side(conn, s_data, first_closer == "server")
        conn.close()

    st = threading.Thread(target=server_side)
    st.start()
    got["client"] = half_close_side(cl, c_data, first_closer == "client")
    st.join()
    cl.close()
    recs = px.wait_records(1)
    name = "%s, %s closes first" % (case, first_closer)
    fast, spliced = px.stop(name)
    srv.close()
    r = recs[-1]
    check(name + ": X.224 CR and CC relayed", got["x224"])
    check(name + ": server got the client's bytes",
          got["server"][:2] == (hashlib.sha256(c_data).hexdigest(), size), got["server"][1])
    check(name + ": client got the server's bytes",
          got["client"][:2] == (hashlib.sha256(s_data).hexdigest(), size), got["client"][1])
    check(name + ": both saw a FIN", got["server"][2] == "fin" and got["client"][2] == "fin",
          got)
    check(name + ": record: closed by the %s with a FIN, bytes = payload + 19" % first_closer,
          r["rdpwhy.closed_by"] == first_closer and r["rdpwhy.close_kind"] == "fin" and
          r["source.bytes"] == size + len(CR) and r["destination.bytes"] == size + len(cc),
          {k: r[k] for k in r if k.startswith(("rdpwhy.c", "source.b", "destination.b"))})
    check(name + ": on the fast relay (counters: %s connections)" % fast, fast == 1)
    return spliced, r


def splice_cases():
    for first in ("client", "server"):
        spliced, _ = exchange("splice", first, CC_RDP, 8 * MIB)
        # What a peer sent while the CC was still being written went the
        # bufferevent way: at most max_buffer (256 KiB) and a read per side.
        check("splice, %s first: splice moved the payload (%s bytes spliced)" % (first, spliced),
              spliced is not None and 2 * 8 * MIB - MIB <= spliced <= 2 * 8 * MIB)


def pcap_case():
    d = os.path.join(TMP, "pcap")
    os.makedirs(d)
    spliced, r = exchange("pcap", "client", CC_RDP, 4 * MIB, pcap=d)
    check("pcap: nothing spliced when the bytes are captured (%s)" % spliced, spliced == 0)
    files = [f for f in os.listdir(d) if f.endswith(".pcap")]
    check("pcap: one file", len(files) == 1, files)
    if len(files) == 1:
        res = subprocess.run([BIN, "replay", "--format", "json", os.path.join(d, files[0])],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        recs = parse_lines(res.stdout.decode())
        check("pcap: the capture replays to the same byte counts",
              len(recs) == 1 and recs[0]["source.bytes"] == 4 * MIB + len(CR) and
              recs[0]["destination.bytes"] == 4 * MIB + len(CC_RDP),
              [(x.get("source.bytes"), x.get("destination.bytes")) for x in recs])


def inspecting_case():
    spliced, r = exchange("inspecting", "server", CC_SSL, 4 * MIB)
    check("inspecting: nothing spliced while the analyzers read (%s)" % spliced, spliced == 0)


def rst_case(resetter):
    srv = listener()
    px = Proxy(srv.getsockname()[1])
    seen = {}
    done = threading.Event()

    def server():
        conn, _ = srv.accept()
        seen["x224s"] = recv_exact(conn, len(CR)) == CR
        conn.sendall(CC_RDP)
        conn.sendall(b"s" * MIB)
        seen["s_got"] = len(recv_exact(conn, MIB))
        done.wait(10)
        if resetter == "server":
            time.sleep(0.2)
            linger0(conn)
        else:
            seen["server"] = read_until_eof(conn)[2]
        conn.close()

    st = threading.Thread(target=server)
    st.start()
    cl = socket.create_connection(("127.0.0.1", px.port))
    cl.sendall(CR)
    seen["x224c"] = recv_exact(cl, len(CC_RDP)) == CC_RDP
    cl.sendall(b"c" * MIB)
    seen["c_got"] = len(recv_exact(cl, MIB))
    done.set()
    if resetter == "client":
        time.sleep(0.2)
        linger0(cl)
    else:
        seen["client"] = read_until_eof(cl)[2]
    cl.close()
    st.join()
    recs = px.wait_records(1)
    fast, _ = px.stop("RST from the %s" % resetter)
    srv.close()
    r = recs[-1]
    other = "server" if resetter == "client" else "client"
    check("RST from the %s: 1 MiB each way relayed first" % resetter,
          seen.get("s_got") == MIB and seen.get("c_got") == MIB, seen)
    check("RST from the %s reaches the %s as an RST" % (resetter, other),
          seen.get(other) == "rst", seen)
    check("RST from the %s: record" % resetter,
          r["rdpwhy.closed_by"] == resetter and r["rdpwhy.close_kind"] == "rst" and
          r["rdpwhy.cause"] == "reset_by_" + resetter, r["rdpwhy.cause"])
    check("RST from the %s: on the fast relay" % resetter, fast == 1, fast)


def pressure_case():
    srv = listener()
    px = Proxy(srv.getsockname()[1], "--set", "max_buffer=256k")
    size = 96 * MIB
    data = os.urandom(MIB) * 96
    got = {}
    peak = [0]
    conns = {}

    def server():
        conn, _ = srv.accept()
        conns["s"] = conn
        recv_exact(conn, len(CR))
        conn.sendall(CC_RDP)
        got["server"] = read_until_eof(conn, delay=1.0)
        conn.close()

    def sample():
        while "server" not in got:
            peak[0] = max(peak[0], px.rss_kib())
            time.sleep(0.05)

    rss0 = px.rss_kib()
    st = threading.Thread(target=server)
    st.start()
    cl = socket.create_connection(("127.0.0.1", px.port))
    cl.sendall(CR)
    cc_ok = recv_exact(cl, len(CC_RDP)) == CC_RDP
    sampler = threading.Thread(target=sample)
    sampler.start()
    cl.sendall(data)
    cl.shutdown(socket.SHUT_WR)
    st.join()
    sampler.join()
    tail = cl.recv(10)
    cl.close()
    px.wait_records(1)
    px.stop("back-pressure")
    srv.close()
    check("back-pressure: all bytes relayed, then the FIN",
          cc_ok and got["server"] == (hashlib.sha256(data).hexdigest(), size, "fin") and
          tail == b"", got.get("server"))
    check("back-pressure: proxy memory stays bounded (peak RSS %d KiB, start %d KiB)" %
          (peak[0], rss0), peak[0] - rss0 < 16 * 1024)


def main():
    try:
        splice_cases()
        pcap_case()
        inspecting_case()
        rst_case("client")
        rst_case("server")
        pressure_case()
        exchange("tiny buffer", "server", CC_RDP, 4 * MIB, "--set", "max_buffer=4k")
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    print("all fast relay checks passed")


if __name__ == "__main__":
    main()
