#!/usr/bin/env python3
"""Outputs beyond the proxy's first SIEM stream, with real rsyslog receivers
on loopback (tests/siem_outputs.sh; helpers shared with siem_rsyslog.py).

1. replay -o tcp://: every record of the committed captures arrives, with
   the same record ids as `replay --format json` (ids derive from the
   connection); with the receiver down, replay exits 0 after
   siem_flush_timeout with the records spooled, and the next run sends them
   first; a second replay of the same file repeats its ids (one copy in a
   SIEM that de-duplicates).
2. capture -i lo -o tcp://: live records reach rsyslog too.
3. Per-output options and SIGHUP: a config file with a JSON stream; HUP
   adds a CEF stream to a second rsyslog and a JSON file (the first stream
   keeps its connection); HUP removes the first stream (it gets no more).
4. A stuck output (a FIFO nobody reads) does not hold up relaying: 300
   connections go through at full speed, SIGUSR1 shows the queue, and once
   the FIFO is read every record comes out.

rsyslogd missing is a failure (scripts/setup.sh --test installs it); exit 77
(skipped) only for a partial run (SIEM_ONLY=NAME). Every rdpwhy run must end
with the expected exit status (0; on SIGTERM/SIGINT for the daemons) and no
sanitizer report on stderr (tests/lib/rdpwhy_run.py); daemons are used once
their ready line is out, not after a sleep.
"""
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "lib")]
import siem_rsyslog as S  # noqa: E402
import siem_formats as F  # noqa: E402
from records import loads  # noqa: E402
import rdpwhy_run as rw  # noqa: E402

RDPWHY = S.RDPWHY
DATA = os.path.join(HERE, "data")


def log(msg):
    print(f"[siem_outputs] {msg}", file=sys.stderr, flush=True)


def fail(msg):
    log(f"FAIL: {msg}")
    sys.exit(1)


def ids_received(rs):
    out = []
    for ln in rs.lines():
        try:
            rec = loads(ln)
        except ValueError:
            fail(f"malformed line {ln[:200]!r}")
        out.append(rec["rdpwhy.record_id"])
    return out


def judged(name, cmd, **kw):
    """rw.run(cmd, want=0): exit 0 and no sanitizer report, or fail."""
    try:
        return rw.run(cmd, want=0, **kw)
    except rw.RunFailed as e:
        fail(str(e))


def ready(name, proc, errp):
    try:
        rw.wait_ready(errp, proc)
    except rw.RunFailed as e:
        fail(f"{name}: {e}")


def stopped(name, proc, errp, sig=signal.SIGTERM):
    """SIG; exit 0 within 30 s, no sanitizer report in ERRP, or fail."""
    try:
        rw.stop(proc, name, errp, sig, want=0, timeout=30)
    except rw.RunFailed as e:
        fail(str(e))


def wait_for(pred, timeout, what):
    deadline = time.time() + timeout
    while not pred():
        if time.time() > deadline:
            fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_replay(work):
    captures = sorted(glob.glob(os.path.join(DATA, "*.pcap*")))
    want = []
    for line in judged("replay --format json", [RDPWHY, "replay", "--format", "json", *captures]
                       ).stdout.splitlines():
        want.append(loads(line)["rdpwhy.record_id"])
    if len(want) < 10 or len(set(want)) != len(want):
        fail(f"replay gave {len(want)} records, {len(set(want))} distinct ids")
    rport = rw.free_port()
    rs = S.Rsyslog(work, rport)
    rs.start()
    spool = ["--set", f"siem_spool_dir={work}/spool", "--set", "siem_flush_timeout=2s"]
    r = judged("replay -o tcp://", [RDPWHY, "replay", "-o", f"tcp://127.0.0.1:{rport}", *spool,
                                    *captures], timeout=60)
    if r.stdout:
        fail(f"replay -o tcp://: stdout {r.stdout[:200]!r}, {r.stderr[-500:]}")
    wait_for(lambda: len(rs.lines()) >= len(want), 20, "replayed records at rsyslog")
    got = ids_received(rs)
    if sorted(got) != sorted(want):
        fail(f"rsyslog got {len(got)} ids, want the {len(want)} of replay --format json")
    log(f"replay: {len(want)} records delivered with the ids of --format json")

    # Receiver down: replay waits siem_flush_timeout, then leaves them spooled.
    rs.stop()
    one = captures[:3]
    t0 = time.time()
    r = judged("replay, receiver down", [RDPWHY, "replay", "-o", f"tcp://127.0.0.1:{rport}",
                                         *spool, *one], timeout=60)
    took = time.time() - t0
    # siem_flush_timeout=2s: not before ~2 s (1.5: clock granularity), and
    # up to 13 s late on a loaded 2-core machine under ASan.
    if "stay spooled" not in r.stderr or not 1.5 < took < 15:
        fail(f"replay with the receiver down: exit {r.returncode} in {took:.1f} s: {r.stderr[-800:]}")
    n = S.spool_count(work)
    if n != 3:
        fail(f"{n} records spooled, want 3")
    rs.start()
    before = len(rs.lines())
    r = judged("next replay", [RDPWHY, "replay", "-o", f"tcp://127.0.0.1:{rport}", *spool,
                               captures[5]], timeout=60)
    if "records left in the spool" not in r.stderr:
        fail(f"next replay: exit {r.returncode}: {r.stderr[-800:]}")
    wait_for(lambda: len(rs.lines()) >= before + 4, 20, "spooled records after the restart")
    new = ids_received(rs)[before:]
    first3 = want[:3]  # the first three captures hold one connection each
    if sorted(new[:3]) != sorted(first3) or S.spool_count(work) != 0:
        fail(f"spooled records not sent first: {new} vs {first3}")
    log("replay: receiver down -> spooled, exit 0; delivered first by the next run; "
        "the same connection keeps its id")
    rs.stop()


def test_capture(work):
    host = S.FakeHost()
    host.start()
    rport = rw.free_port()
    rs = S.Rsyslog(work, rport)
    rs.start()
    err = open(os.path.join(work, "capture.err"), "w")
    cap = subprocess.Popen([RDPWHY, "capture", "-i", "lo", "-p", str(host.port), "--only-ports",
                            "-F", f"tcp port {host.port}", "-o", f"tcp://127.0.0.1:{rport}",
                            "--set", f"siem_spool_dir={work}/spool"],
                           stdout=subprocess.DEVNULL, stderr=err)
    S.RUNNING.append(cap)
    ready("capture", cap, err.name)  # the kernel delivers packets
    cookies = [f"cap{i}" for i in range(20)]
    for c in cookies:
        S.connect_once(host.port, c)
    # On SIGINT capture reads what the kernel still holds before it ends.
    stopped("capture (SIGINT)", cap, err.name, signal.SIGINT)
    try:
        S.check(rs, cookies, timeout=20)
    except SystemExit:
        log("capture's stderr: " + open(err.name).read()[-2000:])
        got = [loads(ln).get("rdp.cookie") for ln in rs.lines()]
        log(f"rsyslog has {len(got)} records: {got}")
        raise
    log("capture: live records delivered to rsyslog")
    rs.stop()


def test_reload(work):
    host = S.FakeHost()
    host.start()
    d1, d2 = os.path.join(work, "r1"), os.path.join(work, "r2")
    os.makedirs(d1)
    os.makedirs(d2)
    p1, p2 = rw.free_port(), rw.free_port()
    rs1 = S.Rsyslog(d1, p1)
    rs2 = S.Rsyslog(d2, p2, template="%msg%\\n")
    rs1.start()
    rs2.start()
    port = rw.free_port()
    conf = os.path.join(work, "rdpwhy.conf")
    jfile = os.path.join(work, "records.json")
    base = (f"listen = 127.0.0.1:{port}\nupstream = 127.0.0.1:{host.port}\n"
            f"siem_spool_dir = {work}/spool\nformat = text\n")
    out1 = f"output = tcp://127.0.0.1:{p1} format=json spool_max=8M\n"
    out2 = f"output = tcp://127.0.0.1:{p2} format=cef spool_dir={work}/cefspool\n"
    out3 = f"output = {jfile} format=json\n"
    with open(conf, "w") as f:
        f.write(base + out1)
    errp = os.path.join(work, "rdpwhy.err")
    px = subprocess.Popen([RDPWHY, "proxy", "-c", conf, "-v"], stdout=subprocess.DEVNULL,
                          stderr=open(errp, "w"))
    S.RUNNING.append(px)
    ready("proxy", px, errp)
    wait_for(lambda: f"127.0.0.1:{p1}: connected" in open(errp).read(), 10, "the first stream")
    a = [f"a{i}" for i in range(50)]
    S.drive(port, a)
    S.check(rs1, a, timeout=20)

    with open(conf, "w") as f:
        f.write(base + out1 + out2 + out3)
    px.send_signal(signal.SIGHUP)
    wait_for(lambda: "outputs reloaded: 3 open, 2 new, 0 removed" in open(errp).read(), 10, "the reload")
    b = [f"b{i}" for i in range(50)]
    S.drive(port, b)
    S.check(rs1, a + b, timeout=20)

    def cef_cookies():
        got = set()
        for ln in rs2.lines():
            msg = ln.decode()
            if not msg.startswith("CEF:0|rdpwhy|"):
                fail(f"second stream is not CEF: {msg[:120]!r}")
            _, pairs = F.cef_parse(msg)
            if "cs1" in pairs:
                got.add(pairs["cs1"])
        return got
    wait_for(lambda: set(b) <= cef_cookies(), 20, "CEF records at the second rsyslog")
    if set(a) & cef_cookies():
        fail("records from before the reload reached the new output")
    file_cookies = {loads(ln).get("rdp.cookie") for ln in open(jfile)}
    if not set(b) <= file_cookies or set(a) & file_cookies:
        fail("the file output added by the reload has the wrong records")
    connects = open(errp).read().count(f"output tcp://127.0.0.1:{p1}: connected")
    if connects != 1:
        fail(f"the unchanged stream reconnected on reload ({connects} connects)")

    with open(conf, "w") as f:
        f.write(base + out2)
    px.send_signal(signal.SIGHUP)
    wait_for(lambda: "outputs reloaded: 1 open, 0 new, 2 removed" in open(errp).read(), 10, "the second reload")
    n1 = len(rs1.lines())
    c = [f"c{i}" for i in range(30)]
    S.drive(port, c)
    wait_for(lambda: set(c) <= cef_cookies(), 20, "CEF records after the second reload")
    time.sleep(1)
    if len(rs1.lines()) != n1:
        fail("the removed output still gets records")
    # A broken config on HUP keeps everything running.
    with open(conf, "a") as f:
        f.write("output = tcp://127.0.0.1:1 colour=red\n")
    px.send_signal(signal.SIGHUP)
    wait_for(lambda: "unknown option 'colour'" in open(errp).read(), 10, "the refused reload")
    d = [f"d{i}" for i in range(10)]
    S.drive(port, d)
    wait_for(lambda: set(d) <= cef_cookies(), 20, "records after a refused reload")
    stopped("proxy (reload)", px, errp)
    log("per-output options and SIGHUP: stream added (CEF), file added, unchanged stream "
        "kept its connection, removed stream stopped, broken config refused")
    rs1.stop()
    rs2.stop()


def test_stuck_output(work):
    host = S.FakeHost()
    host.start()
    fifo = os.path.join(work, "stuck.fifo")
    os.mkfifo(fifo)
    rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # open, not read
    port = rw.free_port()
    errp = os.path.join(work, "rdpwhy.err")
    px = subprocess.Popen([RDPWHY, "proxy", "--listen", f"127.0.0.1:{port}", "--upstream",
                           f"127.0.0.1:{host.port}", "--output", f"{fifo} format=json"],
                          stdout=subprocess.DEVNULL, stderr=open(errp, "w"))
    S.RUNNING.append(px)
    ready("proxy (stuck output)", px, errp)
    # Fill the pipe: each record is ~1 KB, a pipe holds 64 KiB.
    cookies = [f"x{i}" for i in range(300)]
    t0 = time.time()
    S.drive(port, cookies)
    took = time.time() - t0
    if took > 20:
        fail(f"300 connections took {took:.1f} s with the output stuck")
    px.send_signal(signal.SIGUSR1)
    wait_for(lambda: "waiting in the output queue" in open(errp).read(), 10, "the counters")
    line = [ln for ln in open(errp) if "waiting in the output queue" in ln][-1]
    waiting = int(line.split("waiting in the output queue ")[1].split()[0])
    if waiting < 100:
        fail(f"expected the queue to hold the records the stuck pipe did not take: {line}")
    log(f"stuck output: 300 connections relayed in {took:.1f} s, {waiting} records queued")
    os.set_blocking(rfd, True)
    got = []
    buf = b""

    def reader():
        nonlocal buf
        while True:
            chunk = os.read(rfd, 65536)
            if not chunk:
                return
            buf += chunk
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    stopped("proxy (stuck output)", px, errp)
    t.join(10)
    got = {loads(ln).get("rdp.cookie") for ln in buf.splitlines()}
    if not set(cookies) <= got:
        fail(f"{len(set(cookies) - got)} records lost behind the stuck output")
    log("stuck output: every record came out once the pipe was read")


def main():
    if not shutil.which("rsyslogd"):
        fail("rsyslogd missing (scripts/setup.sh --test installs rsyslog)")
    skipped = []
    with S.work_dir("rw_outputs_", log) as base:
        for name, fn in (("replay", test_replay), ("capture", test_capture),
                         ("reload", test_reload), ("stuck", test_stuck_output)):
            if os.environ.get("SIEM_ONLY") not in (None, name):
                skipped.append(name)
                continue
            d = os.path.join(base, name)
            os.makedirs(d)
            fn(d)
    if skipped:
        log(f"PASS of SIEM_ONLY={os.environ['SIEM_ONLY']}; skipped: {', '.join(skipped)} (exit 77)")
        sys.exit(77)
    log("PASS")


if __name__ == "__main__":
    main()
