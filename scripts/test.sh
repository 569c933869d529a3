#!/bin/sh
# The second README command: set up, build (normal and ASan+UBSan) and run
# every test. Exits non-zero on the first failing build or test run.
#
# A skipped test is not a passed one: ctest counts a test that exits 77
# (SKIP_RETURN_CODE) as passed, so each run writes a JUnit report and this
# script lists the tests that did not run (skipped, disabled) after it, and
# fails when there are any, unless the caller sets RDPWHY_ALLOW_SKIP=1 (a
# developer without root, say). CI never sets it: scripts/setup.sh --test
# installs everything the tests need, and CI runs as root.
#
# CI (.ci/run) sets RDPWHY_WERROR=ON: every build then treats warnings as
# errors, and a third build, Release (-O3, where GCC's -Wformat-truncation
# and other flow-based warnings see most), is made into build-release/ only
# to be warning-free, and the rdpwhy binary is built with clang into
# build-clang/ for clang's warnings; the tests run on neither. Without it (a user, a
# packager) warnings stay warnings (scripts/build.sh).
set -eu
cd "$(dirname "$0")/.."
./scripts/setup.sh --test
./scripts/build.sh
./scripts/build.sh --asan
if [ "${RDPWHY_WERROR:-OFF}" = ON ]; then
	echo "== Release build with -Werror (build-release/) =="
	./scripts/build.sh --release
	echo "== clang build with -Werror (build-clang/, the rdpwhy binary) =="
	./scripts/build.sh --clang
fi

# A version manager's python3 (pyenv's shim, say) is a shell script that runs
# a dozen processes before it starts the interpreter it picks: 0.36 s a call
# on a CI machine against 0.07 s for that interpreter itself, and the tests
# call python3 thousands of times (the failure lab's 01_healthy took 25 s
# with the shim, 13 s without). The tests get the same interpreter, named
# directly: a link to it, first in PATH.
py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || py=
shim=$(command -v python3 || true)
if [ -n "$py" ] && [ -x "$py" ] && [ "$py" != "$shim" ]; then
	mkdir -p build/python-direct
	ln -sf "$py" build/python-direct/python3
	PATH=$(pwd)/build/python-direct:$PATH
	export PATH
	echo "== tests run python3 as $py (not through $shim) =="
fi

skipped_total=0
# run_ctest LABEL BUILD_DIR: ctest with a JUnit report; prints the tests that
# did not run; fails (exit 1) when a test failed or, without
# RDPWHY_ALLOW_SKIP=1, when one was skipped.
run_ctest() {
	label=$1
	dir=$2
	junit=$dir/Testing/rdpwhy-junit.xml
	rm -f "$junit"
	echo "== tests ($label) =="
	rc=0
	ctest --test-dir "$dir" --output-on-failure --no-tests=error -j "$(nproc)" \
		--output-junit "$(pwd)/$junit" || rc=$?
	# One line per test that did not run: NAME<TAB>STATUS<TAB>why.
	skips=$(python3 - "$junit" <<'PY'
import sys
import xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError) as e:
    print("(no JUnit report)\terror\t%s" % e)
    sys.exit(0)
for tc in root.iter("testcase"):
    status = tc.get("status", "")
    if status in ("run", "fail"):
        continue
    why = ""
    for child in tc:
        if child.tag in ("skipped", "disabled"):
            why = child.get("message", "")
    out = (tc.findtext("system-out") or "").strip().splitlines()
    # The test's own last words usually say what it lacked.
    print("%s\t%s\t%s%s" % (tc.get("name"), status, why, (": " + out[-1][:200]) if out else ""))
PY
) || { echo "test.sh: cannot read the JUnit report $junit" >&2; exit 1; }
	if [ -n "$skips" ]; then
		n=$(printf '%s\n' "$skips" | wc -l)
		skipped_total=$((skipped_total + n))
		echo "== $n test(s) did not run ($label):"
		printf '%s\n' "$skips" | sed 's/^/   SKIPPED /'
	fi
	if [ "$rc" -ne 0 ]; then
		echo "test.sh: tests failed ($label)" >&2
		exit 1
	fi
	if [ -n "$skips" ] && [ "${RDPWHY_ALLOW_SKIP:-0}" != 1 ]; then
		echo "test.sh: FAILED: a skipped test is not a passed one ($label);" \
			"install what the tests need (scripts/setup.sh --test), run as root," \
			"or set RDPWHY_ALLOW_SKIP=1 to accept the skips" >&2
		exit 1
	fi
}

run_ctest "release build" build
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS UBSAN_OPTIONS
run_ctest "ASan + UBSan build" build-asan
if [ "$skipped_total" -ne 0 ]; then
	echo "all tests that ran passed; $skipped_total skipped (RDPWHY_ALLOW_SKIP=1)"
else
	echo "all tests passed"
fi
