#!/usr/bin/env python3
"""SIEM output against a real rsyslog on loopback (tests/siem_rsyslog.sh).

rdpwhy proxy --upstream to a fake RDP host that answers the X.224 Connection
Request with a Connection Confirm; clients make short connections, each with
its own cookie (the test's key for "this record arrived"); the proxy sends
every record to rsyslog over tcp:// (and tls:// with a test CA), with a spool.

1. TCP: 10,000 connections while rsyslog is stopped and started twice: every
   cookie arrives at least once, every line rsyslog wrote is a JSON object with
   a rdpwhy.record_id, duplicates (allowed) are the same record.
2. SIGKILL: rsyslog down, records spooled, rdpwhy killed with SIGKILL; after a
   restart of both, the spooled records arrive.
3. Hostile cookie (quotes, backslashes, newline, control bytes, invalid
   UTF-8, 10 KB) in each siem_format (json, rfc5424, cef), over tcp:// and
   udp://: exactly one well-formed line per transport, the cookie decodes back.
4. TLS: rsyslog's GnuTLS driver with a certificate from a test CA; first with
   the wrong CA configured in rdpwhy (refused, records stay spooled), then with
   the right one (delivered).

rsyslogd, rsyslog-gnutls's lmnsd_gtls.so or openssl missing is a failure
(scripts/setup.sh --test installs them); exit 77 (skipped) only for a partial
run (SIEM_ONLY=hostile). Every rdpwhy must exit 0 on SIGTERM with no sanitizer
report on stderr (tests/lib/rdpwhy_run.py), and is used once its ready line is
out (no probe connection).
"""
import atexit
import contextlib
import glob
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
import zlib
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import siem_formats as F  # noqa: E402
import rdpwhy_run as rw  # noqa: E402
from records import loads  # noqa: E402

F.PROG = "siem_rsyslog"
RDPWHY = os.path.abspath(sys.argv[1])
N_TCP = int(os.environ.get("SIEM_N", "10000"))
CC = bytes.fromhex("030000130ed000001234000201080001000000")


def log(msg):
    print(f"[siem_rsyslog] {msg}", file=sys.stderr, flush=True)


def fail(msg):
    log(f"FAIL: {msg}")
    sys.exit(1)



def cr(cookie):
    body = b"Cookie: mstshash=" + cookie.encode() + b"\r\n" + bytes.fromhex("0100080003000000")
    x224 = bytes([6 + len(body), 0xE0, 0, 0, 0, 0, 0]) + body
    return bytes([3, 0]) + (4 + len(x224)).to_bytes(2, "big") + x224


class FakeHost(threading.Thread):
    """Reads the CR, answers a CC, closes."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    @staticmethod
    def serve(c):
        try:
            c.settimeout(10)
            c.recv(4096)
            c.sendall(CC)
        except OSError:
            pass
        finally:
            c.close()


def connect_once(port, cookie):
    for attempt in range(20):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(cr(cookie))
                while s.recv(4096):
                    pass
            return
        except OSError:
            time.sleep(0.05 * (attempt + 1))
    fail(f"connection for {cookie} failed")


def drive(port, cookies, workers=16, hooks=None):
    hooks = hooks or {}
    with ThreadPoolExecutor(workers) as pool:
        futs = []
        for i, c in enumerate(cookies):
            if i in hooks:
                for f in futs:
                    f.result()
                futs = []
                hooks[i]()
            futs.append(pool.submit(connect_once, port, c))
        for f in futs:
            f.result()


class Rsyslog:
    def __init__(self, work, port, tls=None, udp_port=None, template="%msg%\\n"):
        self.work = work
        self.port = port
        self.out = os.path.join(work, "received.log")
        self.conf = os.path.join(work, "rsyslog.conf")
        self.pidfile = os.path.join(work, "rsyslog.pid")
        os.makedirs(os.path.join(work, "rsyswork"), exist_ok=True)
        tls_global = ""
        tls_module = ""
        if tls:
            tls_global = (f'defaultNetstreamDriver="gtls" defaultNetstreamDriverCAFile="{tls["ca"]}" '
                          f'defaultNetstreamDriverCertFile="{tls["cert"]}" '
                          f'defaultNetstreamDriverKeyFile="{tls["key"]}"')
            auth = "x509/certvalid" if tls.get("client_auth") else "anon"
            tls_module = f' StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="{auth}"'
        udp = ""
        if udp_port:
            udp = (f'module(load="imudp")\n'
                   f'input(type="imudp" address="127.0.0.1" port="{udp_port}" ruleset="rdpwhy")')
        with open(self.conf, "w") as f:
            f.write(f'''
global(workDirectory="{work}/rsyswork" maxMessageSize="256k" {tls_global})
module(load="imtcp"{tls_module})
input(type="imtcp" address="127.0.0.1" port="{port}" ruleset="rdpwhy")
{udp}
template(name="msgonly" type="string" string="{template}")
ruleset(name="rdpwhy") {{
  action(type="omfile" file="{self.out}" template="msgonly")
}}
''')
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["rsyslogd", "-n", "-f", self.conf, "-i", self.pidfile],
                                     stdout=subprocess.DEVNULL, stderr=open(self.out + ".err", "a"))
        RUNNING.append(self.proc)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        fail("rsyslogd did not start: " + open(self.out + ".err").read())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def lines(self):
        try:
            with open(self.out, "rb") as f:
                return f.read().split(b"\n")[:-1]
        except FileNotFoundError:
            return []


class Proxy:
    def __init__(self, work, upstream, output, extra=()):
        self.port = rw.free_port()
        self.args = [RDPWHY, "proxy", "--listen", f"127.0.0.1:{self.port}",
                     "--upstream", f"127.0.0.1:{upstream}", "--output", output,
                     "--set", f"siem_spool_dir={work}/spool", *extra]
        self.err = os.path.join(work, "rdpwhy.err")
        self.proc = None

    def start(self):
        # The log is appended to across restarts: wait for this run's ready line.
        offset = rw.file_size(self.err)
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL,
                                     stderr=open(self.err, "a"))
        RUNNING.append(self.proc)
        try:
            rw.wait_ready(self.err, self.proc, offset=offset)
        except rw.RunFailed as e:
            fail(f"rdpwhy did not get ready: {e}")

    def stop(self, sig=signal.SIGTERM):
        """SIG (SIGTERM: must exit 0; SIGKILL: killed), then no sanitizer
        report in its log."""
        if not self.proc:
            return
        if self.proc.poll() is not None:
            fail(f"rdpwhy exited by itself with {self.proc.returncode}: "
                 f"{open(self.err).read()[-2000:]}")
        want = 0 if sig in (signal.SIGTERM, signal.SIGINT) else -sig
        try:
            rw.stop(self.proc, "rdpwhy proxy", self.err, sig, want=want)
        except rw.RunFailed as e:
            fail(str(e))
        self.proc = None


def check(rs, cookies, timeout=120):
    """Waits until every cookie arrived; checks every line. Returns (lines, ids)."""
    want = set(cookies)
    deadline = time.time() + timeout
    while True:
        seen = {}
        bad = []
        lines = rs.lines()
        for ln in lines:
            try:
                rec = loads(ln)
            except ValueError:
                bad.append(ln[:200])
                continue
            rid = rec.get("rdpwhy.record_id")
            ck = rec.get("rdp.cookie")
            if not rid or len(rid) != 32:
                bad.append(ln[:200])
                continue
            if rid in seen and seen[rid] != ck:
                fail(f"record id {rid} used for two records")
            seen[rid] = ck
        if bad:
            fail(f"{len(bad)} malformed lines, e.g. {bad[0]!r}")
        got = set(seen.values())
        missing = want - got
        if not missing:
            return len(lines), len(seen)
        if time.time() > deadline:
            fail(f"{len(missing)} of {len(want)} records never arrived, e.g. {sorted(missing)[:5]}")
        time.sleep(0.5)


def make_ca(work):
    """A test CA and a server certificate for 127.0.0.1; a second, unrelated CA."""
    d = os.path.join(work, "pki")
    os.makedirs(d)

    def run(*a):
        subprocess.run(a, check=True, cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    for ca in ("ca", "other"):
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", f"/CN=rdpwhy test {ca}", "-keyout", f"{ca}.key", "-out", f"{ca}.pem")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", "server.key", "-out", "server.csr")
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "ext.cnf", "-out", "server.pem")
    # A client certificate for rdpwhy, from the same CA.
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=rdpwhy-gw",
        "-keyout", "client.key", "-out", "client.csr")
    run("openssl", "x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-out", "client.pem")
    return {k: os.path.join(d, v) for k, v in
            (("ca", "ca.pem"), ("other", "other.pem"), ("cert", "server.pem"), ("key", "server.key"),
             ("client_cert", "client.pem"), ("client_key", "client.key"))}


def spool_records(d):
    """The records in spool directory d (not rejected/), as bytes: segment
    files (sink/spool_seg.h: "RWSPSEG1", then u32 len, u32 crc, u64 seq,
    payload; intact records only) above the "removed" mark, and files of
    the old one-file-per-record format."""
    try:
        names = os.listdir(d)
    except FileNotFoundError:
        return []
    removed = 0
    try:
        with open(os.path.join(d, "removed"), "rb") as fh:
            m = fh.read()
        if len(m) == 20 and m[:8] == b"RWSPACK1" and \
                struct.unpack("<I", m[16:])[0] == zlib.crc32(m[:16]):
            removed = struct.unpack("<Q", m[8:16])[0]
    except FileNotFoundError:
        pass
    out = {}
    for f in names:
        try:
            with open(os.path.join(d, f), "rb") as fh:
                data = fh.read()
        except (FileNotFoundError, IsADirectoryError):
            continue
        if f.isdigit() and len(f) == 20:
            if int(f) > removed:
                out[int(f)] = data
        elif f.endswith(".seg") and f[:-4].isdigit() and data[:8] == b"RWSPSEG1":
            off = 8
            while off + 16 <= len(data):
                ln, crc, seq = struct.unpack("<IIQ", data[off:off + 16])
                payload = data[off + 16:off + 16 + ln]
                if len(payload) != ln or \
                        zlib.crc32(data[off:off + 4] + data[off + 8:off + 16] + payload) != crc:
                    break
                if seq > removed:
                    out[seq] = payload
                off += 16 + ln
    return list(out.values())


def spool_count(work, cookie_prefix=None):
    """Records in the spool; with cookie_prefix, only those whose cookie
    starts with it."""
    n = 0
    for root, dirs, _ in os.walk(os.path.join(work, "spool")):
        if os.path.basename(root) == "rejected":
            continue
        for text in spool_records(root):
            # The cookie key as either json_style writes it: "rdp.cookie"
            # (flat) or "rdp":{"cookie" (nested, the default).
            if cookie_prefix is None or \
                    b'cookie":"' + cookie_prefix.encode() in text:
                n += 1
    return n


RUNNING = []


@contextlib.contextmanager
def work_dir(prefix, say=log):
    """A new temporary directory for a test's files (siem_rsyslog.py and
    siem_outputs.py), removed at the end unless SIEM_KEEP is set: then SAY
    tells where it is."""
    base = tempfile.mkdtemp(prefix=prefix)
    try:
        yield base
    finally:
        if os.environ.get("SIEM_KEEP"):
            say(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


def cleanup():
    for p in RUNNING:
        if p.poll() is None:
            p.kill()
            p.wait()


atexit.register(cleanup)


def test_tcp(work):
    host = FakeHost()
    host.start()
    rport = rw.free_port()
    rs = Rsyslog(work, rport)
    rs.start()
    px = Proxy(work, host.port, f"tcp://127.0.0.1:{rport}")
    px.start()

    def bounce():
        log(f"stopping rsyslog ({len(rs.lines())} lines so far)")
        rs.stop()
        time.sleep(1.5)
        rs.start()
        log("rsyslog started again")

    cookies = [f"t{i}" for i in range(N_TCP)]
    t0 = time.time()
    drive(px.port, cookies, hooks={N_TCP // 3: bounce, 2 * N_TCP // 3: bounce})
    log(f"{N_TCP} connections in {time.time() - t0:.1f} s")
    lines, ids = check(rs, cookies)
    log(f"TCP: all {N_TCP} records arrived ({lines} lines, {ids} distinct ids, "
        f"{lines - N_TCP} duplicates)")

    # SIGKILL with records spooled.
    rs.stop()
    kc = [f"k{i}" for i in range(300)]
    drive(px.port, kc)
    # The proxy writes a record once both sides closed, which can be just
    # after the client saw its EOF: wait until all 300 are spooled.
    for _ in range(100):
        if spool_count(work, "k") >= 300:
            break
        time.sleep(0.1)
    n = spool_count(work, "k")
    if n < 300:
        fail(f"only {n} of 300 records spooled while rsyslog was down")
    px.stop(signal.SIGKILL)
    log(f"rdpwhy killed with {n} records spooled")
    rs.start()
    px.start()
    check(rs, kc, timeout=60)
    log("SIGKILL: spooled records delivered after the restart")
    px.stop()
    rs.stop()
    err = open(px.err).read()
    if "records left in the spool" not in err:
        fail("no log line about the spool at restart")
    if "emitted" not in err:
        fail("no counters line at exit")
    if "not sent again" in err:
        fail("a record was set aside as refused, but rsyslog only restarted")


def hostile_connect(port, raw):
    body = b"Cookie: mstshash=" + raw + b"\r\n" + bytes.fromhex("0100080003000000")
    x224 = bytes([6, 0xE0, 0, 0, 0, 0, 0]) + body
    tpkt = bytes([3, 0]) + (4 + len(x224)).to_bytes(2, "big") + x224
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(tpkt)
        try:
            while s.recv(4096):
                pass
        except ConnectionResetError:
            pass  # the fake host closes with part of the long CR unread


def test_hostile(work):
    host = FakeHost()
    host.start()
    raw = F.hostile_cookie()
    for fmt in ("json", "rfc5424", "cef"):
        d = os.path.join(work, fmt)
        os.makedirs(d)
        rport, uport = rw.free_port(), rw.free_port()
        rs = Rsyslog(d, rport, udp_port=uport, template="%structured-data% %msg%\\n")
        rs.start()
        px = Proxy(d, host.port, f"tcp://127.0.0.1:{rport}",
                   extra=["--output", f"udp://127.0.0.1:{uport}", "--set", f"siem_format={fmt}"])
        px.start()
        hostile_connect(px.port, raw)
        deadline = time.time() + 20
        while True:
            lines = [ln for ln in rs.lines() if len(ln) > 10000]
            if len(lines) >= 2 or time.time() > deadline:
                break
            time.sleep(0.2)
        px.stop()
        rs.stop()
        if len(lines) != 2:
            fail(f"{fmt}: {len(lines)} long lines, want 2 (tcp and udp)")
        for ln in lines:
            if b"#0" in ln:
                fail(f"{fmt}: rsyslog had to escape a control byte")
            line = ln.decode("utf-8")  # strict: must be valid UTF-8
            if fmt == "json":
                sd, _, msg = line.partition("] ")
                rec = F.json_record(msg)
                if rec["rdp.cookie"] != F.as_text(raw, "json"):
                    fail(f"json: cookie decodes to {rec['rdp.cookie'][:80]!r}")
                if len(rec.get("rdpwhy.record_id", "")) != 32 or \
                        f'id="{rec["rdpwhy.record_id"]}"' not in sd:
                    fail("json: record id missing or not the SD id")
            elif fmt == "rfc5424":
                if not line.startswith("[rdpwhy@32473 "):
                    fail(f"rfc5424: {line[:100]!r}")
                val = F.sd_param(line, "cookie")
                if val != F.as_text(raw, "rfc5424"):
                    fail(f"rfc5424: cookie decodes to {val[:80]!r}")
            else:
                sd, _, msg = line.partition("] ")
                _, pairs = F.cef_parse(msg)
                if pairs.get("cs1") != F.as_text(raw, "cef"):
                    fail(f"cef: cookie decodes to {pairs.get('cs1', '')[:80]!r}")
                if pairs.get("cs1Label") != "rdpCookie" or len(pairs.get("externalId", "")) != 32:
                    fail("cef: labels or id missing")
        log(f"hostile cookie: one well-formed event per transport in format {fmt}")


def refused(rs, px, prefix, n, why):
    """Starts PX and makes N connections (cookies PREFIX0, PREFIX1, ...) that RS
    must refuse (it refuses PX's TLS): fails with WHY if any line arrived after
    2 s. Returns the cookies."""
    px.start()
    cookies = [f"{prefix}{i}" for i in range(n)]
    drive(px.port, cookies)
    time.sleep(2)
    if rs.lines():
        fail(why)
    return cookies


def test_tls(work, pki):
    host = FakeHost()
    host.start()
    rport = rw.free_port()
    rs = Rsyslog(work, rport, tls=pki)
    rs.start()
    # Wrong CA: refused, records stay spooled.
    px = Proxy(work, host.port, f"tls://127.0.0.1:{rport}",
               extra=["--set", f"siem_ca_file={pki['other']}"])
    cookies = refused(rs, px, "s", 500, "records delivered to a receiver with an untrusted "
                      "certificate")
    for _ in range(100):
        if spool_count(work, "s") >= 500:
            break
        time.sleep(0.1)
    n = spool_count(work, "s")
    if n < 500:
        fail(f"untrusted receiver: only {n} of 500 records spooled")
    px.stop()
    if "certificate" not in open(px.err).read():
        fail("no log line about the certificate")
    log(f"TLS: untrusted receiver refused, {n} records spooled")
    px = Proxy(work, host.port, f"tls://127.0.0.1:{rport}",
               extra=["--set", f"siem_ca_file={pki['ca']}"])
    px.start()
    more = [f"u{i}" for i in range(500)]
    drive(px.port, more)
    lines, ids = check(rs, cookies + more, timeout=60)
    log(f"TLS: all 1000 records arrived ({lines} lines)")
    px.stop()
    rs.stop()

    # A receiver that wants a client certificate: without one, refused (records
    # stay spooled); with cert_file=/key_file= on the output, delivered.
    d = os.path.join(work, "client_auth")
    os.makedirs(d)
    rs = Rsyslog(d, rport, tls=dict(pki, client_auth=True))
    rs.start()
    px = Proxy(d, host.port, f"tls://127.0.0.1:{rport} ca_file={pki['ca']}")
    nc = refused(rs, px, "n", 50, "a receiver that requires a client certificate took "
                 "records without one")
    px.stop()
    px = Proxy(d, host.port, f"tls://127.0.0.1:{rport} ca_file={pki['ca']} "
               f"cert_file={pki['client_cert']} key_file={pki['client_key']}")
    px.start()
    wc = [f"w{i}" for i in range(50)]
    drive(px.port, wc)
    check(rs, nc + wc, timeout=60)
    log("TLS: client certificate required: refused without one, all 100 delivered with "
        "cert_file=/key_file= on the output")
    px.stop()
    rs.stop()


def main():
    # Missing tools fail the test: a skipped tls:// check is not a passed one.
    missing = [t for t in ("rsyslogd", "openssl") if not shutil.which(t)]
    if not glob.glob("/usr/lib/*/rsyslog/lmnsd_gtls.so") and \
            not glob.glob("/usr/lib/rsyslog/lmnsd_gtls.so"):
        missing.append("rsyslog-gnutls (lmnsd_gtls.so, for tls://)")
    if missing:
        fail(f"missing: {', '.join(missing)} (scripts/setup.sh --test installs them)")
    only = os.environ.get("SIEM_ONLY")
    with work_dir("rw_siem_") as base:
        os.makedirs(os.path.join(base, "tcp"))
        if only != "hostile":
            test_tcp(os.path.join(base, "tcp"))
        os.makedirs(os.path.join(base, "hostile"))
        test_hostile(os.path.join(base, "hostile"))
        os.makedirs(os.path.join(base, "tls"))
        test_tls(os.path.join(base, "tls"), make_ca(os.path.join(base, "tls")))
    if only == "hostile":
        log("PASS without the TCP part (SIEM_ONLY=hostile): exit 77, a partial run")
        sys.exit(77)
    log("PASS")


if __name__ == "__main__":
    main()
