#!/usr/bin/env bash
# daemon.sh BIN — the daemon behaviour of `rdpwhy proxy` on loopback: signals,
# reload, logrotate, privilege drop, running out of descriptors, the
# connection limit and the counters.
#
# Peers are python3 (stdlib) programs: an upstream "tagged line echo" server
# that answers every line L with "TAG:L" (so a reply tells which upstream a
# connection reached) and logs each accept/close, and clients that send lines
# and read the replies. Every case runs in its own subshell with its own proxy;
# a failing case is reported and the others still run; the script fails if
# any case failed. CASES="a b" runs only some cases (letters below).
#
# Cases and what they assert:
#   a. SIGTERM/SIGINT (--set grace=2s):
#      a1. with one open connection: the "signal 15: not accepting; 1
#          connections open, grace 2000 ms" line is logged at once, a new
#          connect is refused, the open connection keeps relaying both ways
#          (a line sent 0.4, 0.9 and 1.4 s after the signal comes back from
#          the upstream), the proxy closes it 1.8-3.0 s after the signal
#          ("grace period over: closing 1 connections"), exits 0 within 3.5 s
#          of the signal, and its record is in the output: close_kind timeout,
#          closed_by proxy, the upstream as destination, source.bytes /
#          destination.bytes = what the client sent / received, including the
#          bytes relayed during the grace period.
#      a2. SIGTERM with no connection: exit 0 within 1 s.  a3. the same with
#          SIGINT.
#      a4. grace=30s, one open connection, SIGTERM, the connection still
#          relays; a second SIGTERM ("second signal 15: closing now") closes it
#          within 1 s and the proxy exits 0 within 1.5 s, with its record
#          (timeout, proxy).
#   b. SIGHUP: started with -c FILE only (listen A, upstream U1, format json,
#      output RECORDS). C1 opened on A. The file is rewritten to listen B,
#      upstream U2 and SIGHUP sent: "configuration reloaded"; a new connection
#      on B reaches U2; A refuses connections; C1 still relays to U1. Then a
#      file with an error on line 4: a log line "reload: FILE:4: ..." and
#      "keeping the running configuration"; B still reaches U2, A still
#      refuses, C1 still relays to U1. C1 then ends with a client FIN; its
#      record says destination U1, closed_by client, close_kind fin; the
#      records of the B connections say U2.
#      Logrotate: the good file is restored and reloaded, RECORDS is renamed to
#      RECORDS.1, SIGHUP: the next connection's record goes to a new RECORDS
#      (mode 0640, only that record), RECORDS.1 keeps the earlier ones.
#      Exit 0 on SIGTERM.
#   c. --user nobody, listening on a port >= 1024: "running as nobody"; the
#      process's real/effective/saved/fs uid and gid are nobody/nogroup, no
#      supplementary groups, no effective capabilities; a connection is
#      relayed (line echo) and recorded; exit 0 on SIGTERM.
#   d. Out of file descriptors, under `prlimit --nofile=L:L` with L = 32 (d32)
#      and 33 (d33), so that both parities of the free descriptors are covered
#      whatever the proxy inherits: accept() itself fails, or accept()
#      succeeds and the upstream socket() fails. 40 clients connect at once
#      and each sends a line; the upstream holds every connection. Asserts:
#      some but not all clients are served; "out of file descriptors ...
#      accepting paused" is logged exactly once, and "accepting connections
#      again" not at all, while the proxy sits at the limit for 2 s; no
#      waiting client gets anything (no data, EOF or RST); the served ones
#      still relay. Then the served clients close, five at a time:
#      "accepting connections again" is logged and every one of the 40
#      clients is served in the end (its first line echoed, then a second);
#      no client ever sees an RST; 40 records, each closed_by client,
#      close_kind fin; the upstream saw 40 connections; no crash or sanitizer
#      report; exit 0 on SIGTERM.
#   e. --set max_connections=3: three clients are served; "max_connections (3)
#      reached: accepting paused"; a 4th client connects (kernel backlog) and
#      sends a line that gets no answer for 1.5 s, and the upstream has seen
#      only 3 connections; when one of the three closes, the 4th gets its
#      answer within 3 s and the upstream sees its connection; 4 records;
#      exit 0 on SIGTERM.
#   f. SIGUSR1 with one closed and one open connection: "counters: accepted 2,
#      active 1, closed 1, upstream failures 0, loops refused 0" and the summary
#      of the records so far (one, under its cause; both at the stop); the proxy
#      keeps running and the open connection still relays; exit 0 on SIGTERM.
#
# Every proxy is used once its ready line is out, and must exit 0 on SIGTERM
# with no sanitizer report on stderr (reap, tests/lib/rdpwhy_run.sh).
#
# Needs root (case c starts as root and drops to nobody); exits 77 (skip)
# otherwise. Fails when python3/prlimit are missing (scripts/setup.sh --test
# installs them). Loopback only. KEEP_WORK=1 keeps the scratch directory.
# CASES="..." (a subset) exits 77 when those cases pass: a partial run.
# Runs in ~20 s.
set -euo pipefail

TEST_NAME=daemon
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$SCRIPT_DIR/common.sh"

init_test "--user nobody" "$@"
need_tools python3:python3 prlimit:util-linux timeout:coreutils
id nobody >/dev/null 2>&1 || die "no user 'nobody' on this system"
umask 022 # output files are created 0640 & ~umask: make the mode checkable

WORK=$(mktemp -d /tmp/rdpwhy-proxy-daemon.XXXXXX)
# Every background process any case starts: "PID" lines, for the final
# cleanup when a case's subshell could not stop its own (signal, crash).
ALLPIDS=$WORK/pids
: >"$ALLPIDS"
FAILED_CASES=()

CASE_PID=
ours() { # ours PID: still one of this script's processes (its command line names WORK or BIN)
    [[ -r /proc/$1/cmdline ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -e "$WORK" -e "$BIN"
}
cleanup() {
    local rc=$? pid sig
    exec 2>&9
    # A case interrupted by a signal: its subshell stops what it started.
    if [[ -n $CASE_PID ]] && kill -0 "$CASE_PID" 2>/dev/null; then
        kill -TERM "$CASE_PID" 2>/dev/null || true
        wait "$CASE_PID" 2>/dev/null || true
    fi
    # Whatever is left (a case killed outright): TERM (timeout passes it on
    # to its python), then KILL.
    for sig in TERM KILL; do
        while read -r pid; do
            if ours "$pid"; then kill "-$sig" "$pid" 2>/dev/null || true; fi
        done <"$ALLPIDS"
        [[ $sig == TERM ]] && sleep 0.3
    done
    if [[ -n ${KEEP_WORK:-} ]]; then
        log "scratch directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
    ((rc == 0)) || log "FAILED (exit $rc)"
    exit "$rc"
}
exec 9>&2
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ------------------------------------------------------------------ python peers
# The upstream: answers each line L with "TAG:L"; on the client's FIN it
# closes (FIN); logs "accept PORT" / "eof PORT" / "error PORT ..." per
# connection (PORT = the proxy's source port towards it).
cat >"$WORK/echo_server.py" <<'PY'
import socket, sys, threading
addr, port, tag, logp = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), sys.argv[4]
lock = threading.Lock()
logf = open(logp, "a", buffering=1)
def log(s):
    with lock:
        logf.write(s + "\n")
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((addr, port))
srv.listen(128)
def handle(c, peer):
    log("accept %d" % peer[1])
    buf = b""
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            buf += d
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                c.sendall(tag + b":" + line + b"\n")
        log("eof %d" % peer[1])
        c.shutdown(socket.SHUT_WR)
    except OSError as e:
        log("error %d %s" % (peer[1], e))
    finally:
        c.close()
while True:
    c, peer = srv.accept()
    threading.Thread(target=handle, args=(c, peer), daemon=True).start()
PY

# The clients' library: expect(), line clients, log and record helpers.
cat >"$WORK/dlib.py" <<'PY'
import errno, json, os, re, socket, sys, time
from records import loads  # tests/lib: a record by dotted names, nested or flat
NAME = os.environ.get("CASE", "?")
fails = []

def expect(cond, msg):
    print("  %s %s: %s" % ("ok  " if cond else "FAIL", NAME, msg), file=sys.stderr, flush=True)
    if not cond:
        fails.append(msg)
    return cond

def done(result=None, path=None):
    if path:
        json.dump(result, open(path, "w"))
    sys.exit(1 if fails else 0)

def try_connect(port, timeout=2.0):
    """'ok' (and closes), 'refused', 'reset', 'timeout' or the error"""
    s = socket.socket()
    s.settimeout(timeout)
    try:
        s.connect(("127.0.0.1", port))
        return "ok"
    except ConnectionRefusedError:
        return "refused"
    except ConnectionResetError:
        return "reset"
    except socket.timeout:
        return "timeout"
    except OSError as e:
        return "error %s" % e
    finally:
        s.close()

class Client:
    """A line client. ping() returns the reply line, or '<timeout>', '<eof>',
    '<reset>', '<error ...>'."""
    def __init__(self, port, timeout=5.0):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.port = self.s.getsockname()[1]
        self.buf = b""
        self.sent = 0
        self.received = 0
        self.ended = None   # how the connection ended, once it did

    def send(self, text):
        data = text.encode() + b"\n"
        try:
            self.s.sendall(data)
        except OSError as e:
            return "<error %s>" % e
        self.sent += len(data)
        return None

    def readline(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return "<timeout>"
            self.s.settimeout(left)
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                return "<timeout>"
            except ConnectionResetError:
                self.ended = "reset"
                return "<reset>"
            except OSError as e:
                return "<error %s>" % e
            if not d:
                self.ended = "eof"
                return "<eof>"
            self.received += len(d)
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode(errors="replace")

    def ping(self, text, timeout=2.0):
        return self.send(text) or self.readline(timeout)

    def poll_closed(self):
        """None while open and silent, else 'eof', 'reset' or 'data'"""
        self.s.setblocking(False)
        try:
            d = self.s.recv(65536, socket.MSG_PEEK)
            return "data" if d else "eof"
        except BlockingIOError:
            return None
        except ConnectionResetError:
            return "reset"
        finally:
            self.s.setblocking(True)

    def wait_close(self, timeout):
        """wait until the peer closes; returns (outcome, monotonic time)"""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout", time.monotonic()
            self.s.settimeout(left)
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                return "timeout", time.monotonic()
            except ConnectionResetError:
                return "reset", time.monotonic()
            if not d:
                return "eof", time.monotonic()
            self.received += len(d)

    def close_fin(self, timeout=3.0):
        """half-close, then wait for the upstream's FIN; returns the outcome"""
        try:
            self.s.shutdown(socket.SHUT_WR)
        except OSError as e:
            return "error %s" % e
        out, _ = self.wait_close(timeout)
        self.s.close()
        return out

def log_count(path, regex):
    try:
        return sum(1 for l in open(path, errors="replace") if re.search(regex, l))
    except OSError:
        return 0

def wait_log(path, regex, count=1, timeout=3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log_count(path, regex) >= count:
            return True
        time.sleep(0.02)
    return log_count(path, regex) >= count

def records(path):
    try:
        return [loads(l) for l in open(path) if l.strip()]
    except OSError:
        return []

def wait_records(path, n, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(records(path)) < n:
        time.sleep(0.05)
    return records(path)

def proc_exited(pid):
    """True once pid is gone or a zombie (it is the shell's child)"""
    try:
        st = open("/proc/%d/stat" % pid).read()
    except OSError:
        return True
    return st[st.rindex(")") + 2] in "ZX"

def wait_exit(pid, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc_exited(pid):
            return time.monotonic()
        time.sleep(0.02)
    return None

def sleep_until(t):
    d = t - time.monotonic()
    if d > 0:
        time.sleep(d)
PY

# ------------------------------------------------------------------ shell helpers
D= # the current case's directory (set by each case)

track() { # track PID: for the cleanup, in this (sub)shell and the final one
    PIDS+=("$1")
    echo "$1" >>"$ALLPIDS"
}

start_echo() { # start_echo PORT TAG -> ECHO_PID; logs in $D/upstream-TAG.log
    python3 "$WORK/echo_server.py" 127.0.0.1 "$1" "$2" "$D/upstream-$2.log" \
        >"$D/upstream-$2.out" 2>&1 9>&- &
    ECHO_PID=$!
    track "$ECHO_PID"
    wait_listening "$1" "$ECHO_PID" && return 0
    show_file "upstream $2" "$D/upstream-$2.out"
    die "$CASE: the upstream $2 did not start on port $1"
}

PROXY_PID=
start_proxy() { # start_proxy PORT [--prefix CMD...] -- ARGS... ; stderr in $D/proxy.stderr
    local port=$1 i
    shift
    local pre=()
    while [[ $1 != -- ]]; do pre+=("$1"); shift; done
    shift
    "${pre[@]}" "$BIN" proxy "$@" -v -v >"$D/proxy.stdout" 2>"$D/proxy.stderr" 9>&- &
    PROXY_PID=$!
    track "$PROXY_PID"
    # Ready once it logged its ready line: a probe connection would be a
    # connection (and a record) of its own.
    rw_wait_ready "$D/proxy.stderr" "$PROXY_PID" &&
        grep -q "ready: listening on 127.0.0.1:$port\$" "$D/proxy.stderr" && return 0
    show_file "proxy stderr" "$D/proxy.stderr"
    die "$CASE: rdpwhy proxy did not get ready on 127.0.0.1:$port"
}

# reap PID SECONDS: wait (no signal) for the process to exit; PROXY_RC = its
# exit status, or "timeout" (then it is killed), or "0, but a sanitizer
# report in proxy.stderr" (the case's $D/proxy.stderr).
PROXY_RC=
reap() {
    local pid=$1 secs=$2 i
    PROXY_RC=0
    for ((i = 0; i < secs * 20; i++)); do
        [[ $(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null || echo X) == [ZX] ]] && break
        sleep 0.05
    done
    if [[ $(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null || echo X) != [ZX] ]]; then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        PROXY_RC=timeout
    else
        wait "$pid" || PROXY_RC=$?
    fi
    if [[ $PROXY_RC == 0 ]] && rw_sanitizer_report "$D/proxy.stderr"; then
        PROXY_RC="0, but a sanitizer report in $D/proxy.stderr"
    fi
    forget_pid "$pid"
}

# term_and_reap: SIGTERM the case's proxy, wait up to 5 s, check exit 0.
term_and_reap() {
    kill -TERM "$PROXY_PID" 2>/dev/null || true
    reap "$PROXY_PID" 5
    [[ $PROXY_RC == 0 ]] || fail "rdpwhy proxy did not exit 0 after SIGTERM (got $PROXY_RC)"
    log "$CASE: proxy exited 0 after SIGTERM"
}

dump() {
    show_file "$CASE: proxy stderr (-v -v)" "$D/proxy.stderr" 80
    local f
    for f in "$D"/*.json "$D"/*.json.1; do
        [[ -f $f ]] && show_file "$CASE: $(basename "$f")" "$f" 3
    done
    for f in "$D"/upstream-*.log "$D"/*.out; do
        [[ -s $f ]] && show_file "$CASE: $(basename "$f")" "$f" 20
    done
    return 0
}
fail() { # fail MSG: dump the case's logs and end the case (subshell) with 1
    printf '[%s] FAIL: %s: %s\n' "$TEST_NAME" "$CASE" "$*" >&2
    dump
    exit 1
}

# py SCRIPT-ARGS... <<'PY' ... : run a python snippet (read from stdin) with
# dlib importable (environment CASE, D); a failing assertion fails the case.
# In the background, so that a signal to the case is handled at once.
py() {
    local code pid
    code=$(cat)
    CASE=$CASE D=$D PYTHONPATH=$WORK${PYTHONPATH:+:$PYTHONPATH} timeout 120 python3 -c "$code" "$@" "$WORK" &
    pid=$!
    track "$pid"
    wait "$pid" || fail "see the failed assertions above"
    forget_pid "$pid"
}

new_case() { # new_case NAME: scratch directory, cleanup of this subshell
    CASE=$1
    D=$WORK/$1
    mkdir -p "$D"
    PIDS=()
    trap 'stop_all_pids' EXIT
    trap 'exit 143' TERM INT HUP
    log "---- $CASE"
}

# ------------------------------------------------------------------ a. SIGTERM / SIGINT
case_a() {
    local port up
    read -r port up < <(free_ports 2)

    new_case a1_sigterm_grace
    start_echo "$up" U1
    start_proxy "$port" -- --listen "127.0.0.1:$port" --upstream "127.0.0.1:$up" \
        --format json --output "$D/records.json" --set grace=2s
    py "$PROXY_PID" "$port" "$D/proxy.stderr" <<'PY'
import os, signal, sys, time
from dlib import *
pid, port, errlog = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
c = Client(port)
expect(c.ping("before") == "U1:before", "relayed before SIGTERM")
t0 = time.monotonic()
os.kill(pid, signal.SIGTERM)
expect(wait_log(errlog, r"signal 15: not accepting; 1 connections open, grace 2000 ms", 1, 0.5),
       "logs 'signal 15: not accepting; 1 connections open, grace 2000 ms' within 0.5 s")
r = try_connect(port)
expect(r == "refused", "a new connection after SIGTERM is refused (got %s)" % r)
for i, at in enumerate((0.4, 0.9, 1.4)):
    sleep_until(t0 + at)
    got = c.ping("grace%d" % i, timeout=0.4)
    expect(got == "U1:grace%d" % i, "%.1f s after SIGTERM the open connection relays both ways (got %r)" % (at, got))
out, t = c.wait_close(5)
expect(out in ("eof", "reset"), "the proxy closes the connection (got %s)" % out)
expect(1.8 <= t - t0 <= 3.0, "closed when the 2 s grace period is over (%.2f s after SIGTERM)" % (t - t0))
te = wait_exit(pid, 3.5 - (time.monotonic() - t0))
expect(te is not None, "the proxy exits within 3.5 s of SIGTERM%s" % ("" if te is None else " (%.2f s)" % (te - t0)))
done({"client_port": c.port, "sent": c.sent, "received": c.received}, os.environ["D"] + "/client.json")
PY
    reap "$PROXY_PID" 5
    [[ $PROXY_RC == 0 ]] || fail "exit status after SIGTERM: $PROXY_RC (want 0)"
    py "$D" "$up" <<'PY'
import sys
from dlib import *
d, up = sys.argv[1], int(sys.argv[2])
c = json.load(open(d + "/client.json"))
recs = records(d + "/records.json")
expect(len(recs) == 1, "one record written before the exit (got %d)" % len(recs))
r = recs[0] if recs else {}
for k, want in (("rdpwhy.close_kind", "timeout"), ("rdpwhy.closed_by", "proxy"),
                ("destination.port", up), ("source.port", c["client_port"]),
                ("source.bytes", c["sent"]), ("destination.bytes", c["received"])):
    expect(r.get(k) == want, "record %s == %r (got %r)" % (k, want, r.get(k)))
err = open(d + "/proxy.stderr").read()
expect("grace period over: closing 1 connections" in err, "logs 'grace period over: closing 1 connections'")
i = err.find("grace period over")
expect(i >= 0 and "closed (shutdown grace period over)" in err[i:],
       "logs the connection's close after the grace line")
done()
PY
    stop_all_pids

    local sig
    for sig in TERM INT; do
        new_case "a_sig${sig,,}_idle"
        start_proxy "$port" -- --listen "127.0.0.1:$port" --upstream "127.0.0.1:$up" \
            --format json --output "$D/records.json" --set grace=2s
        local t0 t1 ms num
        num=$([[ $sig == TERM ]] && echo 15 || echo 2)
        t0=$(date +%s%N)
        kill "-$sig" "$PROXY_PID"
        reap "$PROXY_PID" 3
        t1=$(date +%s%N)
        ms=$(((t1 - t0) / 1000000))
        [[ $PROXY_RC == 0 ]] || fail "exit status after SIG$sig with no connection: $PROXY_RC (want 0)"
        ((ms <= 1000)) || fail "SIG$sig with no connection: exited after $ms ms (want <= 1000)"
        grep -q "signal $num: not accepting; 0 connections open" "$D/proxy.stderr" ||
            fail "no 'signal $num: not accepting; 0 connections open' line"
        log "  ok   $CASE: SIG$sig with no connection: exit 0 after $ms ms"
    done

    new_case a4_second_sigterm
    start_echo "$up" U1
    start_proxy "$port" -- --listen "127.0.0.1:$port" --upstream "127.0.0.1:$up" \
        --format json --output "$D/records.json" --set grace=30s
    py "$PROXY_PID" "$port" "$D/proxy.stderr" <<'PY'
import os, signal, sys, time
from dlib import *
pid, port, errlog = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
c = Client(port)
expect(c.ping("before") == "U1:before", "relayed before SIGTERM")
os.kill(pid, signal.SIGTERM)
expect(wait_log(errlog, r"signal 15: not accepting; 1 connections open, grace 30000 ms", 1, 0.5),
       "first SIGTERM: 'not accepting; 1 connections open, grace 30000 ms'")
time.sleep(0.3)
expect(c.ping("between") == "U1:between", "the connection relays after the first SIGTERM")
t0 = time.monotonic()
os.kill(pid, signal.SIGTERM)
out, t = c.wait_close(3)
expect(out in ("eof", "reset") and t - t0 <= 1.0,
       "the second SIGTERM closes the connection at once (%s after %.2f s)" % (out, t - t0))
te = wait_exit(pid, 3)
expect(te is not None and te - t0 <= 1.5, "the proxy exits within 1.5 s of the second SIGTERM")
expect(log_count(errlog, r"second signal 15: closing now") == 1, "logs 'second signal 15: closing now'")
done()
PY
    reap "$PROXY_PID" 5
    [[ $PROXY_RC == 0 ]] || fail "exit status after the second SIGTERM: $PROXY_RC (want 0)"
    py "$D" <<'PY'
import sys
from dlib import *
recs = records(sys.argv[1] + "/records.json")
expect(len(recs) == 1, "one record (got %d)" % len(recs))
r = recs[0] if recs else {}
expect(r.get("rdpwhy.close_kind") == "timeout" and r.get("rdpwhy.closed_by") == "proxy",
       "record: close_kind timeout, closed_by proxy (got %s, %s)" % (r.get("rdpwhy.close_kind"), r.get("rdpwhy.closed_by")))
done()
PY
}

# ------------------------------------------------------------------ b. SIGHUP
case_b() {
    new_case b_sighup
    local pa pb u1 u2
    read -r pa pb u1 u2 < <(free_ports 4)
    start_echo "$u1" U1
    start_echo "$u2" U2
    local conf=$D/rdpwhy.conf rec=$D/records.json
    cat >"$conf" <<EOF
# daemon.sh case b: first configuration
listen = 127.0.0.1:$pa
upstream = 127.0.0.1:$u1
format = json
output = $rec
EOF
    start_proxy "$pa" -- -c "$conf"
    py "$PROXY_PID" "$D/proxy.stderr" "$conf" "$rec" "$pa" "$pb" "$u1" "$u2" <<'PY'
import os, signal, stat, sys, time
from dlib import *
pid, errlog, conf, rec = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
pa, pb, u1, u2 = map(int, sys.argv[5:9])
def write(text):
    tmp = conf + ".tmp"
    open(tmp, "w").write(text)
    os.rename(tmp, conf)
good = ("# daemon.sh case b: second configuration\nlisten = 127.0.0.1:%d\n"
        "upstream = 127.0.0.1:%d\nformat = json\noutput = %s\n" % (pb, u2, rec))
ports = {}

c1 = Client(pa)
ports["c1"] = c1.port
expect(c1.ping("c1-0") == "U1:c1-0", "C1 on A reaches U1")

write(good)
os.kill(pid, signal.SIGHUP)
expect(wait_log(errlog, r"configuration reloaded", 1, 3), "SIGHUP: 'configuration reloaded'")
expect(log_count(errlog, r"listening on 127\.0\.0\.1:%d$" % pb) == 1, "SIGHUP: listening on B")
n1 = Client(pb)
ports["n1"] = n1.port
expect(n1.ping("n1") == "U2:n1", "a new connection on B reaches U2")
expect(n1.close_fin() == "eof", "it ends normally")
r = try_connect(pa)
expect(r == "refused", "A no longer accepts (got %s)" % r)
expect(c1.ping("c1-1") == "U1:c1-1", "C1 still relays to U1 after the reload")

# A file with an error on line 4.
write("# daemon.sh case b: broken\nlisten = 127.0.0.1:%d\nupstream = 127.0.0.1:%d\n"
      "connect_timeout = ten\nformat = json\noutput = %s\n" % (pa, u1, rec))
os.kill(pid, signal.SIGHUP)
bad = r"reload: %s:4: .*keeping the running configuration" % re.escape(conf)
expect(wait_log(errlog, bad, 1, 3), "a bad file is rejected with 'reload: %s:4: ...; keeping the running configuration'" % conf)
time.sleep(0.2)
expect(log_count(errlog, r"configuration reloaded") == 1, "no second 'configuration reloaded'")
n2 = Client(pb)
ports["n2"] = n2.port
expect(n2.ping("n2") == "U2:n2", "after the rejected reload B still reaches U2")
expect(n2.close_fin() == "eof", "it ends normally")
r = try_connect(pa)
expect(r == "refused", "after the rejected reload A still refuses (got %s)" % r)
expect(c1.ping("c1-2") == "U1:c1-2", "C1 still relays to U1 after the rejected reload")
expect(c1.close_fin() == "eof", "C1 ends normally (client FIN, then the upstream's)")

recs = wait_records(rec, 3)
expect(len(recs) == 3, "three records so far (got %d)" % len(recs))
by_port = {r.get("source.port"): r for r in recs}
r = by_port.get(ports["c1"], {})
expect(r.get("destination.port") == u1, "C1's record: destination U1 (got %r)" % r.get("destination.port"))
expect(r.get("rdpwhy.closed_by") == "client" and r.get("rdpwhy.close_kind") == "fin",
       "C1's record: closed_by client, close_kind fin (got %r, %r)" % (r.get("rdpwhy.closed_by"), r.get("rdpwhy.close_kind")))
for n in ("n1", "n2"):
    r = by_port.get(ports[n], {})
    expect(r.get("destination.port") == u2, "%s's record: destination U2 (got %r)" % (n, r.get("destination.port")))

# logrotate: good file back, rename the output, SIGHUP.
write(good)
os.kill(pid, signal.SIGHUP)
expect(wait_log(errlog, r"configuration reloaded", 2, 3), "the good file reloads again")
os.rename(rec, rec + ".1")
os.kill(pid, signal.SIGHUP)
expect(wait_log(errlog, r"configuration reloaded", 3, 3), "SIGHUP after the rename")
n3 = Client(pb)
ports["n3"] = n3.port
expect(n3.ping("n3") == "U2:n3", "after the reloads B reaches U2")
expect(n3.close_fin() == "eof", "it ends normally")
new = wait_records(rec, 1)
expect(os.path.exists(rec), "a new %s is created at the original path" % os.path.basename(rec))
if os.path.exists(rec):
    mode = stat.S_IMODE(os.stat(rec).st_mode)
    expect(mode == 0o640, "the new file is mode 0640 (got %04o)" % mode)
expect([r.get("source.port") for r in new] == [ports["n3"]], "the new file holds exactly the next record")
old = records(rec + ".1")
expect(sorted(r.get("source.port") for r in old) == sorted([ports["c1"], ports["n1"], ports["n2"]]),
       "the rotated file keeps the three earlier records and nothing more")
done()
PY
    term_and_reap
}

# ------------------------------------------------------------------ c. --user nobody
case_c() {
    new_case c_user_nobody
    local port up
    read -r port up < <(free_ports 2)
    start_echo "$up" U1
    start_proxy "$port" -- --listen "127.0.0.1:$port" --upstream "127.0.0.1:$up" \
        --format json --output "$D/records.json" --user nobody
    py "$PROXY_PID" "$port" "$D/proxy.stderr" "$D/records.json" <<'PY'
import pwd, grp, sys
from dlib import *
pid, port, errlog, rec = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
uid = pwd.getpwnam("nobody").pw_uid
gid = pwd.getpwnam("nobody").pw_gid
expect(wait_log(errlog, r"running as nobody", 1, 2), "logs 'running as nobody'")
st = {}
for line in open("/proc/%d/status" % pid):
    k, _, v = line.partition(":")
    st[k] = v.split()
expect(st.get("Uid") == [str(uid)] * 4, "real/effective/saved/fs uid are nobody's %d (Uid: %s)" % (uid, st.get("Uid")))
expect(st.get("Gid") == [str(gid)] * 4, "real/effective/saved/fs gid are %d (Gid: %s)" % (gid, st.get("Gid")))
expect(st.get("Groups") in ([], [str(gid)]), "no supplementary groups (Groups: %s)" % st.get("Groups"))
expect(st.get("CapEff") == ["0000000000000000"], "no effective capabilities (CapEff: %s)" % st.get("CapEff"))
c = Client(port)
expect(c.ping("as-nobody") == "U1:as-nobody", "a connection is relayed while running as nobody")
expect(c.ping("x" * 3000) == "U1:" + "x" * 3000, "and a longer line too")
expect(c.close_fin() == "eof", "it ends normally")
recs = wait_records(rec, 1)
expect(len(recs) == 1 and recs[0].get("source.port") == c.port, "its record is written")
r = recs[0] if recs else {}
expect(r.get("rdpwhy.closed_by") == "client" and r.get("rdpwhy.close_kind") == "fin",
       "record: closed_by client, close_kind fin")
done()
PY
    term_and_reap
}

# ------------------------------------------------------------------ d. out of descriptors
case_d() {
    local limit=$1 port up
    new_case "d${limit}_emfile"
    read -r port up < <(free_ports 2)
    start_echo "$up" U1
    start_proxy "$port" prlimit "--nofile=$limit:$limit" -- --listen "127.0.0.1:$port" \
        --upstream "127.0.0.1:$up" --format json --output "$D/records.json"
    grep -Eq "^Max open files +$limit +$limit " "/proc/$PROXY_PID/limits" ||
        fail "the proxy does not run with nofile $limit: $(grep 'open files' "/proc/$PROXY_PID/limits")"
    py "$PROXY_PID" "$port" "$D/proxy.stderr" "$D/records.json" "$D/upstream-U1.log" "$limit" <<'PY'
import select, sys, time
from dlib import *
pid, port, errlog, rec, uplog = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
limit = int(sys.argv[6])
N = 40
PAUSED = r"out of file descriptors with [0-9]+ connections open: accepting paused"
AGAIN = r"accepting connections again"
cs = []
for i in range(N):
    c = Client(port)          # completes in the kernel's backlog
    c.i = i
    c.served = False
    c.send("hello%d" % i)
    cs.append(c)
surprises = []  # (client, what it got instead of its first answer)
def collect(timeout):
    """read the first answer of every unserved client that has one"""
    waiting = [c for c in cs if not c.served and c.ended is None]
    if not waiting:
        return
    ready, _, _ = select.select([c.s for c in waiting], [], [], timeout)
    for c in waiting:
        if c.s in ready or c.buf:
            got = c.readline(0.5)
            if got == "U1:hello%d" % c.i:
                c.served = True
            else:
                surprises.append((c.i, got))
time.sleep(2.0)
collect(0.05)
served = [c for c in cs if c.served]
print("  ..   %d of %d clients served at the limit; the proxy uses %d of its %d descriptors"
      % (len(served), N, sum(1 for f in os.listdir("/proc/%d/fd" % pid) if int(f) < limit), limit),
      file=sys.stderr)
expect(0 < len(served) < N, "at the limit some but not all clients are served (%d of %d)" % (len(served), N))
expect(wait_log(errlog, PAUSED, 1, 1), "logs 'out of file descriptors ...: accepting paused'")
time.sleep(2.0)
collect(0.05)
n = log_count(errlog, PAUSED)
expect(n == 1, "the paused line is logged once while at the limit for 2 s (got %d)" % n)
n = log_count(errlog, AGAIN)
expect(n == 0, "no 'accepting connections again' while nothing closed (got %d)" % n)
expect(not surprises, "no waiting client got anything but its answer (got %s)" % surprises[:8])
waiting = [c for c in cs if not c.served]
bad = [(c.i, st) for c, st in ((c, c.poll_closed()) for c in waiting) if st in ("eof", "reset")]
expect(not bad, "no waiting client was closed or reset (%s)" % bad)
served = [c for c in cs if c.served]
ok = [c for c in served if c.ping("again%d" % c.i) == "U1:again%d" % c.i]
expect(len(ok) == len(served), "the %d connections it has keep relaying (%d answered)" % (len(served), len(ok)))

# Close the served clients five at a time; the waiting ones get served.
closed = set()
deadline = time.monotonic() + 40
while time.monotonic() < deadline and not all(c.i in closed or c.ended for c in cs):
    collect(0.2)
    for c in [c for c in cs if c.served and c.i not in closed][:5]:
        got = c.ping("bye%d" % c.i)
        if got != "U1:bye%d" % c.i:
            expect(False, "client %d: second line %r" % (c.i, got))
        out = c.close_fin()
        if out != "eof":
            expect(False, "client %d: close ended with %s" % (c.i, out))
        closed.add(c.i)
expect(log_count(errlog, AGAIN) >= 1, "logs 'accepting connections again'")
unserved = [c.i for c in cs if not c.served]
expect(not unserved, "every waiting client is served in the end (not served: %s)" % unserved)
ended = [(c.i, c.ended) for c in cs if c.ended not in (None, "eof")]
expect(not ended, "no client saw a reset (%s)" % ended)
recs = wait_records(rec, N, 5)
expect(len(recs) == N, "%d records (got %d)" % (N, len(recs)))
kinds = {}
for r in recs:
    k = (r.get("rdpwhy.closed_by"), r.get("rdpwhy.close_kind"))
    kinds[k] = kinds.get(k, 0) + 1
expect(list(kinds) == [("client", "fin")], "every record: closed_by client, close_kind fin (%s)" % kinds)
accepts = log_count(uplog, r"^accept ")
expect(accepts == N, "the upstream saw %d connections (got %d)" % (N, accepts))
print("  ..   paused %d time(s), resumed %d time(s)" % (log_count(errlog, PAUSED), log_count(errlog, AGAIN)), file=sys.stderr)
done()
PY
    term_and_reap
    if grep -Eq 'AddressSanitizer|runtime error|Segmentation|Aborted' "$D/proxy.stderr"; then
        fail "sanitizer or crash report in the proxy's stderr"
    fi
}

# ------------------------------------------------------------------ e. max_connections
case_e() {
    new_case e_max_connections
    local port up
    read -r port up < <(free_ports 2)
    start_echo "$up" U1
    start_proxy "$port" -- --listen "127.0.0.1:$port" --upstream "127.0.0.1:$up" \
        --format json --output "$D/records.json" --set max_connections=3
    py "$port" "$D/proxy.stderr" "$D/records.json" "$D/upstream-U1.log" <<'PY'
import sys, time
from dlib import *
port, errlog, rec, uplog = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
cs = [Client(port) for _ in range(3)]
for i, c in enumerate(cs):
    expect(c.ping("c%d" % i) == "U1:c%d" % i, "client %d is served" % (i + 1))
expect(wait_log(errlog, r"max_connections \(3\) reached: accepting paused", 1, 1),
       "logs 'max_connections (3) reached: accepting paused'")
c4 = Client(port)
got = c4.ping("c4", timeout=1.5)
expect(got == "<timeout>", "the 4th client's line is not relayed while 3 are open (got %r)" % got)
n = log_count(uplog, r"^accept ")
expect(n == 3, "the upstream has seen 3 connections (got %d)" % n)
expect(c4.poll_closed() is None, "the 4th client is waiting, not closed")
t0 = time.monotonic()
expect(cs[0].close_fin() == "eof", "client 1 closes")
got = c4.readline(3)
expect(got == "U1:c4", "then the 4th client is served (got %r after %.2f s)" % (got, time.monotonic() - t0))
expect(log_count(uplog, r"^accept ") == 4, "the upstream sees the 4th connection")
expect(c4.ping("c4b") == "U1:c4b", "the 4th client keeps relaying")
for c in cs[1:] + [c4]:
    expect(c.close_fin() == "eof", "client on port %d ends normally" % c.port)
recs = wait_records(rec, 4)
expect(len(recs) == 4, "4 records (got %d)" % len(recs))
done()
PY
    term_and_reap
}

# ------------------------------------------------------------------ f. SIGUSR1
case_f() {
    new_case f_sigusr1
    local port up
    read -r port up < <(free_ports 2)
    start_echo "$up" U1
    start_proxy "$port" -- --listen "127.0.0.1:$port" --upstream "127.0.0.1:$up" \
        --format json --output "$D/records.json"
    py "$PROXY_PID" "$port" "$D/proxy.stderr" "$D/records.json" <<'PY'
import os, signal, sys, time
from dlib import *
pid, port, errlog, rec = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
a = Client(port)
expect(a.ping("a") == "U1:a", "first connection relayed")
expect(a.close_fin() == "eof", "and closed")
expect(len(wait_records(rec, 1)) == 1, "its record is written")
b = Client(port)
expect(b.ping("b") == "U1:b", "second connection relayed (stays open)")
os.kill(pid, signal.SIGUSR1)
want = r"counters: accepted 2, active 1, closed 1, upstream failures 0, loops refused 0$"
expect(wait_log(errlog, want, 1, 2), "USR1 logs 'counters: accepted 2, active 1, closed 1, upstream failures 0, loops refused 0'")
# The summary of the records written so far: the closed connection's only
# (the open one has no record yet), counted under the cause its record names.
import re
cause = wait_records(rec, 1)[0]["rdpwhy.cause"]
expect(wait_log(errlog, r"summary \(SIGUSR1\) follows$", 1, 2), "USR1 logs the summary")
expect(wait_log(errlog, r"summary: summary +1 connection, ", 1, 2),
       "the summary counts the one record written")
expect(wait_log(errlog, r"summary: +1  " + re.escape(cause) + "$", 1, 2),
       f"the summary counts it under its record's cause ({cause})")
time.sleep(0.2)
expect(not proc_exited(pid), "the proxy keeps running after USR1")
expect(b.ping("b2") == "U1:b2", "the open connection still relays after USR1")
expect(b.close_fin() == "eof", "and closes normally")
done()
PY
    term_and_reap
    grep -q "counters: accepted 2, active 0, closed 2," "$D/proxy.stderr" ||
        fail "no final 'counters: accepted 2, active 0, closed 2' line at exit"
    grep -q "summary (stop) follows" "$D/proxy.stderr" || fail "no summary at the stop"
    grep -qE "summary: summary +2 connections, " "$D/proxy.stderr" ||
        fail "the summary at the stop does not count both records"
}

# ------------------------------------------------------------------ run
run_case() { # run_case NAME FUNC ARGS...: in a subshell, so that a failure ends only it
    local name=$1 rc
    shift
    if [[ -n ${CASES:-} && " $CASES " != *" ${name:0:1} "* ]]; then return 0; fi
    set +e
    (
        set -e
        "$@"
    ) &
    CASE_PID=$!
    wait "$CASE_PID"
    rc=$?
    CASE_PID=
    set -e
    if ((rc != 0)); then FAILED_CASES+=("$name"); fi
    return 0
}

run_case a case_a
run_case b case_b
run_case c case_c
run_case d32 case_d 32
run_case d33 case_d 33
run_case e case_e
run_case f case_f

if ((${#FAILED_CASES[@]})); then
    log "FAILED cases: ${FAILED_CASES[*]}"
    exit 1
fi
if [[ -n ${CASES:-} ]]; then
    log "PASS of CASES=\"$CASES\" only: a partial run (exit 77)"
    exit 77
fi
log "PASS: SIGTERM/SIGINT grace, SIGHUP reload and logrotate, --user, EMFILE, max_connections, USR1"
