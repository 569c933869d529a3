"""rdpwhy_run.py — one way for Python tests to run rdpwhy and judge how it
ended. The shell twin is tests/lib/rdpwhy_run.sh; both apply the same rules:
the exit status is compared with the expected one (never ignored) and stderr
must hold no sanitizer report (the ASan build prints LeakSanitizer's at exit).

    from rdpwhy_run import run, check_end, sanitizer_report
    p = run([BIN, "replay", "x.pcap"], want=0)          # CompletedProcess; raises on failure
    check_end("proxy", proc.returncode, 0, stderr_text)  # for a process run by hand
"""
import re
import subprocess

SANITIZER = re.compile(
    r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|WARNING: ThreadSanitizer"
    r"|SUMMARY: (Address|Leak|UndefinedBehavior|Thread)Sanitizer")


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
