#!/bin/sh
# Configures and builds rdpwhy into build/ (or build-asan/ with --asan).
set -eu
cd "$(dirname "$0")/.."
dir=build
opts="-DCMAKE_BUILD_TYPE=RelWithDebInfo"
if [ "${1:-}" = "--asan" ]; then
	dir=build-asan
	opts="-DCMAKE_BUILD_TYPE=Debug -DRDPWHY_SANITIZE=ON -DRDPWHY_LAB=OFF"
fi
cmake -S . -B "$dir" $opts >/dev/null
cmake --build "$dir" -j "$(nproc)"
