#!/bin/sh
# The second README command: set up, build (normal and ASan+UBSan) and run
# every test. Exits non-zero on the first failing build or test run.
set -eu
cd "$(dirname "$0")/.."
./scripts/setup.sh --test
./scripts/build.sh
./scripts/build.sh --asan
echo "== tests (release build) =="
ctest --test-dir build --output-on-failure -j "$(nproc)"
echo "== tests (ASan + UBSan build) =="
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --test-dir build-asan --output-on-failure -j "$(nproc)"
echo "all tests passed"
