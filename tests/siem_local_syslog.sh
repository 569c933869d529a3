#!/bin/bash
# `rdpwhy proxy --output syslog` (syslog(3) to /dev/log) against a real
# rsyslogd, without touching the host's /dev.
#
# Everything runs in a private mount namespace (and a PID namespace, so that
# nothing outlives the test) where /dev is a fresh tmpfs holding only the
# device nodes the programs use (null, zero, full, random, urandom, bound from
# the real /dev) and the /dev/log socket that rsyslogd's imuxsock creates.
# rsyslogd (foreground, its own config, pid file and work directory) writes
# every message as "FACILITY.SEVERITY TAG MSG" to a file.
#
# A fake RDP host answers the X.224 Connection Request according to the
# cookie: "std*" gets a Connection Confirm selecting standard RDP security and
# the client then sends an MCS PDU and closes (normal_close: severity info);
# "cc*" gets a Connection Confirm selecting TLS and the host closes; "rst*"
# gets a reset (both not normal_close: severity warning). For each
# siem_format (json, rfc5424, cef) rdpwhy relays a batch of such connections
# and one with a 10 KB hostile cookie (quotes, backslashes, newline, control
# bytes, invalid UTF-8), then stops; the test checks that every record
# arrived exactly once in local0 with the right severity, that the message is
# well formed in its format (JSON object / [rdpwhy@32473 ...] summary / CEF),
# carries the cookie (the hostile one decodes back byte for byte), the cause
# and a unique record id, that rsyslog had nothing to escape, and that
# rdpwhy's "emitted" counter matches. One run also passes --syslog: rdpwhy's
# own log lines must arrive as daemon.*, the records still as local0.
#
# Each rdpwhy is used once its ready line is out and must exit 0 on SIGTERM
# with no sanitizer report on stderr (tests/lib/rdpwhy_run.sh).
#
# usage: siem_local_syslog.sh RDPWHY_BINARY
# exit: 0 pass, 1 fail (also when unshare/rsyslogd/python3 is missing:
# scripts/setup.sh --test installs them), 77 skipped (not root, or no mount
# namespace allowed). LS_N (default 20): connections of each kind per format.
# LS_KEEP=1 keeps the work directory.
set -eu
# shellcheck source=lib/rdpwhy_run.sh
. "$(cd "$(dirname "$0")/lib" && pwd)/rdpwhy_run.sh"

log() { echo "[siem_local_syslog] $*" >&2; }

if [ "${RW_LS_INNER:-}" != 1 ]; then
	# ---- outside the namespaces ----------------------------------------
	[ $# -eq 1 ] || { echo "usage: $0 RDPWHY_BINARY" >&2; exit 2; }
	case "$1" in /*) bin=$1 ;; *) bin=$(pwd)/$1 ;; esac
	[ -x "$bin" ] || { log "not executable: $bin"; exit 2; }
	PATH=$PATH:/usr/sbin:/sbin
	export PATH
	if [ "$(id -u)" -ne 0 ]; then
		log "needs root (mount namespace): skipped"
		exit 77
	fi
	for tool in unshare rsyslogd python3; do
		command -v "$tool" >/dev/null 2>&1 ||
			{ log "FAIL: $tool missing (scripts/setup.sh --test installs it)"; exit 1; }
	done
	if ! unshare --mount --propagation private --pid --fork --kill-child --mount-proc \
		true 2>/dev/null; then
		log "cannot create mount/PID namespaces here: skipped"
		exit 77
	fi
	work=$(mktemp -d /tmp/rw_lsyslog.XXXXXX)
	inner=""
	# shellcheck disable=SC2317  # called by the trap
	outer_cleanup() {
		# Interrupted: the namespaces die with the unshare process
		# (--kill-child SIGKILLs their init, the kernel then kills
		# everything in them). unshare blocks SIGTERM while its child
		# runs, hence SIGKILL.
		if [ -n "$inner" ]; then
			kill -KILL "$inner" 2>/dev/null || true
			wait "$inner" 2>/dev/null || true
		fi
		# Only now, outside the namespace: nothing is mounted under $work.
		if [ "${LS_KEEP:-}" = 1 ]; then
			log "kept $work"
		else
			rm -rf --one-file-system "$work"
		fi
	}
	trap outer_cleanup EXIT
	trap 'exit 1' INT TERM HUP
	t0=$(date +%s)
	# The inner helper imports tests/lib/siem_formats.py from RW_TESTS_LIB.
	lib=$(cd "$(dirname "$0")/lib" && pwd) || exit 2
	[ -r "$lib/siem_formats.py" ] || { log "$lib/siem_formats.py missing"; exit 2; }
	RW_LS_INNER=1 RW_LS_WORK="$work" RW_TESTS_LIB="$lib" unshare --mount --propagation private \
		--pid --fork --kill-child --mount-proc /bin/bash "$0" "$bin" &
	inner=$!
	rc=0
	wait "$inner" || rc=$?
	inner=""
	log "finished in $(( $(date +%s) - t0 )) s (exit $rc)"
	exit "$rc"
fi

# ---- inside: private mount namespace, PID namespace (we are PID 1) -----------
# Never replace the host's /dev: refuse unless this is the namespaces' init.
[ "$$" = 1 ] || { log "RW_LS_INNER set outside the namespaces"; exit 2; }
bin=$1
work=$RW_LS_WORK
N=${LS_N:-20}
out=$work/syslog.log

rsys=""
host=""
px=""
cleanup() {
	for p in $px $host $rsys; do
		kill "$p" 2>/dev/null || true
	done
	for p in $px $host $rsys; do
		wait "$p" 2>/dev/null || true
	done
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail() {
	log "FAIL: $*"
	exit 1
}

# /dev: the real one is bound aside, a tmpfs replaces it, the nodes needed are
# bound back one by one, then the aside copy is unmounted again (so nothing
# under $work leads to the real /dev, even for an rm -rf).
mkdir "$work/realdev"
mount --bind /dev "$work/realdev"
mount -t tmpfs -o mode=0755,size=256k,nosuid,noexec tmpfs /dev
for n in null zero full random urandom; do
	: >"/dev/$n"
	mount --bind "$work/realdev/$n" "/dev/$n"
done
ln -s /proc/self/fd /dev/fd
ln -s fd/0 /dev/stdin
ln -s fd/1 /dev/stdout
ln -s fd/2 /dev/stderr
umount "$work/realdev"
[ ! -e /dev/log ] || fail "/dev/log exists in the fresh /dev"

# ---- rsyslogd -----------------------------------------------------------------
mkdir "$work/rsyswork"
cat >"$work/rsyslog.conf" <<EOF
# A record with the 10 KB hostile cookie is 21-24 KB: the 8 KB default would
# cut it (silently) into broken JSON / an unterminated SD value.
global(workDirectory="$work/rsyswork" maxMessageSize="256k")
module(load="imuxsock" SysSock.Name="/dev/log" SysSock.RateLimit.Interval="0")
template(name="raw" type="string"
         string="%syslogfacility-text%.%syslogseverity-text% %syslogtag%%msg%\\n")
*.* action(type="omfile" file="$out" template="raw")
EOF
rsyslogd -n -f "$work/rsyslog.conf" -i "$work/rsyslog.pid" \
	>"$work/rsyslog.out" 2>&1 &
rsys=$!
i=0
until [ -S /dev/log ]; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$rsys" 2>/dev/null; then
		cat "$work/rsyslog.out" >&2
		fail "rsyslogd did not create /dev/log"
	fi
	sleep 0.1
done
log "rsyslogd $(rsyslogd -v | head -n1 | awk '{print $2}') listening on /dev/log"

# ---- helper: fake RDP host, clients, checker ---------------------------------
cat >"$work/helper.py" <<'EOF'
import json, os, re, socket, struct, sys, threading, time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.environ["RW_TESTS_LIB"])
import siem_formats as F  # noqa: E402

F.PROG = "siem_local_syslog"
fail = F.fail

CC_TLS = bytes.fromhex("030000130ed000001234000201080001000000")  # selects TLS
CC_RDP = bytes.fromhex("030000130ed000001234000201080000000000")  # standard RDP
# X.224 Data TPDU carrying the start of an MCS Connect Initial.
MCS = bytes([3, 0, 0, 50, 2, 0xF0, 0x80, 0x7F, 0x65, 0x82]) + bytes(40)


def read_tpkt(c):
    data = b""
    while len(data) < 4 or len(data) < int.from_bytes(data[2:4], "big"):
        d = c.recv(65536)
        if not d:
            break
        data += d
    return data


def serve(c):
    try:
        c.settimeout(10)
        data = read_tpkt(c)
        if b"mstshash=rst" in data:
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif b"mstshash=std" in data:
            c.sendall(CC_RDP)
            while c.recv(65536):
                pass
        else:
            c.sendall(CC_TLS)
    except OSError:
        pass
    finally:
        c.close()


def host(portfile):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(128)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(s.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def cr(cookie, protocols):
    body = b"Cookie: mstshash=" + cookie + b"\r\n" + bytes([1, 0, 8, 0]) + \
        protocols.to_bytes(4, "little")
    # Length indicator as siem_rsyslog.py sends it (rdpwhy reads the TPKT length).
    x224 = bytes([min(6 + len(body), 255), 0xE0, 0, 0, 0, 0, 0]) + body
    return bytes([3, 0]) + (4 + len(x224)).to_bytes(2, "big") + x224


def connect(port, cookie):
    std = cookie.startswith(b"std")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(cr(cookie, 0 if std else 3))
        try:
            if std:
                got = b""
                while len(got) < len(CC_RDP):
                    d = s.recv(4096)
                    if not d:
                        fail(f"{cookie[:20]!r}: no Connection Confirm")
                    got += d
                s.sendall(MCS)
                s.shutdown(socket.SHUT_WR)
            while s.recv(65536):
                pass
        except ConnectionResetError:
            pass


def hostile(fmt):
    """The hostile cookie, 10 KB in all."""
    marker = f"hx-{fmt}-"
    return F.hostile_cookie(marker, 10 * 1024 - len(marker))


def drive(port, fmt, n, expect_file):
    cookies = [f"{kind}-{fmt}-{i}".encode() for i in range(n) for kind in ("std", "cc", "rst")]
    with ThreadPoolExecutor(8) as pool:
        for f in [pool.submit(connect, port, c) for c in cookies]:
            f.result()
    h = hostile(fmt)
    connect(port, h)
    with open(expect_file, "w") as f:
        json.dump([c.hex() for c in cookies + [h]], f)


def parse_json(body):
    rec = F.json_record(body)
    return rec.get("rdp.cookie"), rec.get("rdpwhy.cause"), rec.get("rdpwhy.record_id"), None


def parse_sd(body):
    """[rdpwhy@32473 name="value" ...] SUMMARY, strictly (RFC 5424 6.3)."""
    if not body.startswith("[rdpwhy@32473 "):
        fail(f"rfc5424: no [rdpwhy@32473 structured data: {body[:200]!r}")
    _, params, i = F.sd_element(body, strict=True)
    if body[i:i + 1] != " ":
        fail(f"rfc5424: SD element not closed by '] ': {body[i - 1:i + 60]!r}")
    summary = body[i + 1:]
    cause = params.get("cause")
    if not summary.startswith(f"rdp connection {cause} ") or "]" in summary:
        fail(f"rfc5424: summary {summary[:120]!r} does not match cause {cause!r}")
    return params.get("cookie"), cause, params.get("id"), None


def parse_cef(body):
    fields, pairs = F.cef_parse(body, strict=True)
    vendor, product, _version, sig, name, sev = fields
    if (vendor, product) != ("rdpwhy", "rdpwhy") or name != f"RDP connection: {sig}":
        fail(f"cef: header fields {fields!r}")
    if pairs.get("cs1Label") != "rdpCookie":
        fail(f"cef: cs1Label is {pairs.get('cs1Label')!r}")
    return pairs.get("cs1"), sig, pairs.get("externalId"), sev


LINE = re.compile(rb"([a-z0-9]+)\.([a-z]+) (rdpwhy(?:\[(\d+)\])?:|[^ ]*) ?(.*)", re.S)


def rdpwhy_lines(path, offset):
    try:
        with open(path, "rb") as f:
            lines = f.read().split(b"\n")[:-1]
    except FileNotFoundError:
        return []
    out = []
    for ln in lines[offset:]:
        m = LINE.fullmatch(ln)
        if not m:
            fail(f"line not as the template writes it: {ln[:200]!r}")
        if m.group(3).startswith(b"rdpwhy"):
            out.append(m)
    return out


def check(fmt, path, offset, expect_file, pid, own_log):
    want = [bytes.fromhex(c) for c in json.load(open(expect_file))]
    deadline = time.time() + 30
    while True:
        got = [m for m in rdpwhy_lines(path, offset) if m.group(1) == b"local0"]
        if len(got) >= len(want) or time.time() > deadline:
            break
        time.sleep(0.1)
    time.sleep(0.5)  # anything more (a duplicate) would arrive now
    lines = rdpwhy_lines(path, offset)
    recs = [m for m in lines if m.group(1) == b"local0"]
    others = [m for m in lines if m.group(1) != b"local0"]
    if own_log:
        if not any(m.group(1) == b"daemon" and b"listening on" in m.group(5) for m in others):
            fail(f"{fmt}: --syslog given but no daemon.* 'listening on' line from rdpwhy")
    for m in others:
        if not own_log or m.group(1) != b"daemon":
            fail(f"{fmt}: rdpwhy line in facility {m.group(1)!r}: {m.group(0)[:200]!r}")
    text = {c: F.as_text(c, fmt) for c in want}
    by_text = {t: c for c, t in text.items()}
    seen = {}
    ids = set()
    for m in recs:
        raw = m.group(0)
        if re.search(rb"#[0-3][0-7][0-7]", raw):
            fail(f"{fmt}: rsyslog escaped a control byte: {raw[:200]!r}")
        try:
            line = raw.decode("utf-8")  # strict: must be valid UTF-8
        except UnicodeDecodeError as e:
            fail(f"{fmt}: not UTF-8 ({e})")
        tag_pid = m.group(4)
        if own_log and (tag_pid is None or int(tag_pid) != pid):
            fail(f"{fmt}: tag {m.group(3)!r}, want rdpwhy[{pid}]: (openlog with LOG_PID)")
        if not own_log and tag_pid is not None:
            fail(f"{fmt}: tag {m.group(3)!r}, want rdpwhy: (no openlog)")
        body = m.group(5).decode("utf-8")
        if body.startswith(" "):
            body = body[1:]  # RFC 3164: rsyslog keeps the space after "TAG:"
        cookie, cause, rid, cef_sev = {"json": parse_json, "rfc5424": parse_sd,
                                       "cef": parse_cef}[fmt](body)
        if cookie not in by_text:
            fail(f"{fmt}: record with unexpected cookie {str(cookie)[:80]!r}")
        c = by_text[cookie]
        if c in seen:
            fail(f"{fmt}: record for cookie {c[:40]!r} arrived twice")
        seen[c] = True
        if not F.is_record_id(rid):
            fail(f"{fmt}: record id {rid!r}")
        if rid in ids:
            fail(f"{fmt}: record id {rid} used twice")
        ids.add(rid)
        sev = m.group(2).decode()
        normal = cause == "normal_close"
        if sev != ("info" if normal else "warning"):
            fail(f"{fmt}: cause {cause} with severity {sev}")
        if cef_sev is not None and cef_sev != ("1" if normal else "5"):
            fail(f"cef: cause {cause} with CEF severity {cef_sev}")
        if c.startswith(b"std") != normal:
            fail(f"{fmt}: cookie {c[:40]!r} got cause {cause}")
    missing = [c for c in want if c not in seen]
    if missing:
        fail(f"{fmt}: {len(missing)} of {len(want)} records never arrived, "
             f"e.g. {missing[0][:40]!r}")
    hostile_line = max(recs, key=lambda m: len(m.group(0)))
    print(f"{len(recs)} {len(hostile_line.group(0))}")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "host":
        host(sys.argv[2])
    elif cmd == "drive":
        drive(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5])
    elif cmd == "check":
        check(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], int(sys.argv[6]),
              sys.argv[7] == "1")
    elif cmd == "lines":
        try:
            print(sum(1 for _ in open(sys.argv[2], "rb")))
        except FileNotFoundError:
            print(0)
    elif cmd == "freeport":
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            print(s.getsockname()[1])
EOF
helper() { python3 "$work/helper.py" "$@"; }

helper host "$work/host.port" 2>"$work/host.err" &
host=$!
i=0
until [ -s "$work/host.port" ]; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$host" 2>/dev/null; then
		fail "fake host did not start: $(cat "$work/host.err")"
	fi
	sleep 0.1
done
hport=$(cat "$work/host.port")

# ---- one rdpwhy run per siem_format ------------------------------------------
run() { # FORMAT OWN_LOG(0/1)
	fmt=$1
	own=$2
	offset=$(helper lines "$out")
	err=$work/rdpwhy.$fmt.err
	extra=""
	[ "$own" = 1 ] && extra=--syslog
	tries=0
	while :; do
		# A free port can be taken between the probe and the bind: retry.
		port=$(helper freeport)
		"$bin" proxy --listen "127.0.0.1:$port" --upstream "127.0.0.1:$hport" \
			--output syslog --format json --set "siem_format=$fmt" $extra \
			>"$work/rdpwhy.$fmt.out" 2>"$err" &
		px=$!
		rw_wait_ready "$err" "$px" 2>/dev/null && break
		kill "$px" 2>/dev/null || true
		wait "$px" 2>/dev/null || true
		px=""
		tries=$((tries + 1))
		if [ $tries -ge 3 ] || ! grep -q "in use" "$err"; then
			cat "$err" >&2
			fail "$fmt: rdpwhy did not listen"
		fi
	done
	helper drive "$port" "$fmt" "$N" "$work/expect.$fmt" || fail "$fmt: connections failed"
	kill -TERM "$px" || fail "$fmt: rdpwhy had exited before SIGTERM"
	prc=0
	wait "$px" || prc=$?
	pid=$px
	px=""
	rw_check_end "$fmt: rdpwhy proxy (SIGTERM)" "$prc" 0 "$err" || fail "$fmt: rdpwhy did not exit 0 with a clean stderr"
	[ ! -s "$work/rdpwhy.$fmt.out" ] || fail "$fmt: rdpwhy wrote records to stdout too"
	total=$((3 * N + 1))
	grep -q "output syslog: emitted $total\$" "$err" ||
		fail "$fmt: no 'output syslog: emitted $total' in rdpwhy's log: $(grep emitted "$err")"
	res=$(helper check "$fmt" "$out" "$offset" "$work/expect.$fmt" "$pid" "$own") ||
		fail "$fmt: check failed (log: $out)"
	log "$fmt: ${res% *} records arrived once each in local0 (info/warning by cause)," \
		"well formed; hostile 10 KB cookie intact in a ${res#* }-byte line${extra:+ (with $extra)}"
}

run json 0
run rfc5424 1
run cef 0

# rsyslogd stops cleanly (and removes /dev/log).
kill -TERM "$rsys"
rrc=0
wait "$rsys" || rrc=$?
rsys=""
[ "$rrc" = 0 ] || fail "rsyslogd exited with $rrc: $(cat "$work/rsyslog.out")"
if grep -q -i -e error -e warning "$work/rsyslog.out"; then
	fail "rsyslogd complained: $(cat "$work/rsyslog.out")"
fi
log "PASS"
