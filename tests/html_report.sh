#!/bin/bash
# --format html in a real browser (Debian's chromium, headless): the page of
# every shipped capture parses with balanced tags, references nothing outside
# itself, has one table row per record (as many as --format json prints),
# renders to a non-blank screenshot, and Chromium loads nothing but the page
# (its --v=1 log, checked against a positive control that does fetch). A
# capture whose cookie is markup leaves no <script> element in the DOM.
# Checks: tests/html_report_check.py. Skips (77) only without chromium.
set -u
bin=$1
data=$2
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/rdpwhy_run.sh
. "$here/lib/rdpwhy_run.sh"
chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
	echo "skip: chromium is not installed (scripts/setup.sh --test installs it)"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { python3 "$here/html_report_check.py" "$@" || fail=1; }

# Headless, offline and quiet: no name resolves, a fresh profile, none of the
# browser's own background fetches that can be turned off; --v=1 logs every
# file and network request (FileURLLoader, NetworkDelegate).
browse() { # browse PAGE LOG ARGS...
	local page=$1 log=$2
	shift 2
	rm -rf "$tmp/profile"
	# As root, in a network namespace of its own (loopback only, down): the
	# browser's own services (the optimization guide's model download was
	# seen in the log) cannot send a packet anywhere, whatever their flags.
	local jail=()
	if [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then
		jail=(unshare -n)
	fi
	timeout 120 "${jail[@]}" "$chromium" --headless --no-sandbox --disable-gpu \
		--user-data-dir="$tmp/profile" --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync --disable-default-apps \
		--disable-features=OptimizationGuideModelDownloading,OptimizationHintsFetching,OptimizationTargetPrediction,OptimizationHints,MediaRouter \
		--disable-extensions --host-resolver-rules="MAP * ~NOTFOUND" \
		--enable-logging=stderr --v=1 "$@" "file://$page" 2>"$log"
}

pcaps=("$data"/*.pcap "$data"/lab/*.pcap)
if ! rw_run 0 "$tmp/report.html" "$tmp/replay.err" "$bin" replay --format html "${pcaps[@]}" ||
	! rw_run 0 "$tmp/records.json" "$tmp/json.err" "$bin" replay --format json "${pcaps[@]}"; then
	exit 1
fi
n=$(wc -l <"$tmp/records.json")
[ "$n" -gt 10 ] || { echo "FAIL: only $n records"; exit 1; }
check page "$tmp/report.html" "$n"
echo "page: $n connections, $(grep -c '<section id=' "$tmp/report.html") detailed"

# -o FILE writes the same page.
if rw_run 0 /dev/null "$tmp/o.err" "$bin" replay --format html -o "$tmp/o.html" "${pcaps[@]}"; then
	cmp -s "$tmp/o.html" "$tmp/report.html" || { echo "FAIL: -o FILE differs from stdout"; fail=1; }
else
	fail=1
fi
# A record output is not a page's destination.
rw_run 2 /dev/null "$tmp/tcp.err" "$bin" replay --format html -o tcp://127.0.0.1:9 "${pcaps[0]}" || fail=1

browse "$tmp/report.html" "$tmp/shot.log" --screenshot="$tmp/shot.png" --window-size=1280,4000 \
	>/dev/null || { echo "FAIL: chromium --screenshot exited $?"; tail -5 "$tmp/shot.log"; fail=1; }
check png "$tmp/shot.png" 1280 4000
check netlog "$tmp/shot.log" "file://$tmp/report.html"
browse "$tmp/report.html" "$tmp/dom.log" --dump-dom >"$tmp/report.dom" ||
	{ echo "FAIL: chromium --dump-dom exited $?"; fail=1; }
check dom "$tmp/report.dom" "$n"

# The positive control: the same page with an external image and no policy
# must show the request in the log, or the log proves nothing.
sed 's|<h1>|<img src="http://canary.invalid/x.png"><h1>|; s|<meta http-equiv="Content-Security-Policy"[^>]*>||' \
	"$tmp/report.html" >"$tmp/canary.html"
browse "$tmp/canary.html" "$tmp/canary.log" --dump-dom >/dev/null
check netlog "$tmp/canary.log" "file://$tmp/canary.html" http://canary.invalid/x.png

# A cookie that is markup: escaped in the page, no script in the DOM.
python3 "$here/html_hostile_pcap.py" "$tmp/hostile.pcap"
if rw_run 0 "$tmp/hostile.html" "$tmp/hostile.err" "$bin" replay --format html "$tmp/hostile.pcap"; then
	check page "$tmp/hostile.html" 1
	grep -q 'cookie <code>&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&gt;&lt;img' \
		"$tmp/hostile.html" || { echo "FAIL: the hostile cookie is not shown escaped"; fail=1; }
	browse "$tmp/hostile.html" "$tmp/hostile.log" --dump-dom >"$tmp/hostile.dom"
	check dom "$tmp/hostile.dom" 1
	check netlog "$tmp/hostile.log" "file://$tmp/hostile.html"
	grep -q 'alert(1)' "$tmp/hostile.dom" || { echo "FAIL: the cookie is missing from the DOM"; fail=1; }
else
	fail=1
fi

[ $fail = 0 ] && echo "html_report: ok"
exit $fail
