"""rdpwhy_run.py — one way for Python tests to run rdpwhy and judge how it
ended. The shell twin is tests/lib/rdpwhy_run.sh; both apply the same rules:
the exit status is compared with the expected one (never ignored) and stderr
must hold no sanitizer report (the ASan build prints LeakSanitizer's at exit).

    from rdpwhy_run import run, check_end, sanitizer_report
    p = run([BIN, "replay", "x.pcap"], want=0)          # CompletedProcess; raises on failure
    check_end("proxy", proc.returncode, 0, stderr_text)  # for a process run by hand
    wait_ready(stderr_path, proc)                        # rdpwhy's ready line, bounded
    stop(proc, "proxy", stderr_path)                     # SIGTERM, exit 0, no sanitizer report
    port = free_port()                                   # a free TCP port on 127.0.0.1
    out, err = proxy_files(tmp, port)                    # a proxy's records and stderr paths
"""
import os
import re
import signal
import socket
import subprocess
import tempfile
import time

SANITIZER = re.compile(
    r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|WARNING: ThreadSanitizer"
    r"|SUMMARY: (Address|Leak|UndefinedBehavior|Thread)Sanitizer")


def free_port():
    """A TCP port nothing listens on at 127.0.0.1 now (the kernel's choice)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proxy_files(parent, port):
    """(records path, stderr path) for a proxy listening on port, in a new
    directory under parent. Not files named by the port: free_port() can give
    a port an earlier proxy of the same run had, whose records would then be
    in the file (and a wait for the first record would take the stale one)."""
    d = tempfile.mkdtemp(dir=parent, prefix="proxy-%d-" % port)
    return os.path.join(d, "records.json"), os.path.join(d, "stderr.log")


class RunFailed(AssertionError):
    pass


def sanitizer_report(text):
    """The first lines of a sanitizer report in text, or None."""
    if text is None:
        return None
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    lines = [l for l in text.splitlines() if SANITIZER.search(l)]
    return "\n".join(lines[:5]) if lines else None


def _want_ok(rc, want):
    if want == "any":
        return True
    if isinstance(want, int):
        return rc == want
    return rc in want


def check_end(name, rc, want, stderr_text):
    """Raise RunFailed unless rc is wanted (an int, a collection, or "any")
    and stderr_text holds no sanitizer report."""
    if isinstance(stderr_text, bytes):
        stderr_text = stderr_text.decode("utf-8", "replace")
    why = []
    if not _want_ok(rc, want):
        tail = "\n".join((stderr_text or "").splitlines()[-15:])
        why.append("exit status %s, expected %s\n%s" % (rc, want, tail))
    rep = sanitizer_report(stderr_text)
    if rep:
        why.append("sanitizer report on stderr:\n" + rep)
    if why:
        raise RunFailed("%s: %s" % (name, "; ".join(why)))


def run(cmd, want=0, **kw):
    """subprocess.run with captured output, then check_end. Returns the
    CompletedProcess (text mode unless text=False is given)."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    p = subprocess.run(cmd, **kw)
    check_end(" ".join(str(c) for c in cmd[:3]), p.returncode, want, p.stderr)
    return p


# rdpwhy's ready lines (stderr): the proxy's "rdpwhy[notice]: ready: listening
# on ADDR[, ADDR]" once its listeners accept and its signals are handled, and
# "rdpwhy capture: ready: capturing on IFACE" once the kernel delivers packets.
READY = re.compile(r"rdpwhy\[notice\]: ready: listening on |rdpwhy capture: ready: capturing on ")
# ASan start-up on a loaded 2-core machine: generous, but bounded.
READY_TIMEOUT = float(os.environ.get("RW_READY_TIMEOUT", "30"))


def _read(path, offset=0):
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def file_size(path):
    """The size of PATH (0 when missing): an offset for wait_line/wait_ready
    on a log file that a restarted process appends to."""
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def wait_line(path, pattern, proc=None, timeout=READY_TIMEOUT, what="a line", offset=0):
    """Wait until a line of the file PATH (from byte OFFSET on) matches
    PATTERN (a regex or a compiled one). Raises RunFailed, with the end of
    the file, when PROC (a Popen, optional) exits first or TIMEOUT seconds
    pass. Returns the text."""
    rx = re.compile(pattern) if isinstance(pattern, str) else pattern
    deadline = time.monotonic() + timeout
    while True:
        text = _read(path, offset)
        if rx.search(text):
            return text
        if proc is not None and proc.poll() is not None:
            text = _read(path, offset)
            if rx.search(text):
                return text
            raise RunFailed("%s: the process exited (status %s) before printing /%s/ in %s:\n%s" % (
                what, proc.returncode, rx.pattern, path, "\n".join(text.splitlines()[-15:])))
        if time.monotonic() > deadline:
            raise RunFailed("%s: no line /%s/ in %s after %.0f s:\n%s" % (
                what, rx.pattern, path, timeout, "\n".join(text.splitlines()[-15:])))
        time.sleep(0.05)


def wait_ready(stderr_path, proc=None, timeout=READY_TIMEOUT, offset=0):
    """rdpwhy's ready line in its stderr file (see READY), after OFFSET."""
    return wait_line(stderr_path, READY, proc, timeout, "rdpwhy ready line", offset)


def stop(proc, name, stderr_path=None, sig=signal.SIGTERM, want=0, timeout=30):
    """Send SIG to a daemon (proxy, capture) and judge how it ended with
    check_end: exit status WANT (0 on SIGTERM/SIGINT) and no sanitizer report
    in the file STDERR_PATH. Kills it and raises when it does not exit within
    TIMEOUT seconds, or when it had exited before the signal (a daemon that
    ends by itself did not pass "exits 0 on SIGTERM"). Returns the exit status."""
    if proc.poll() is not None:
        raise RunFailed("%s: exited (status %s) before signal %d:\n%s" % (
            name, proc.returncode, sig,
            "\n".join(_read(stderr_path).splitlines()[-15:]) if stderr_path else ""))
    proc.send_signal(sig)
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise RunFailed("%s: did not exit within %d s of signal %d" % (name, timeout, sig))
    check_end(name, rc, want, _read(stderr_path) if stderr_path else "")
    return rc
