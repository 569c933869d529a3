#!/bin/sh
# Configures and builds rdpwhy into build/ (RelWithDebInfo), build-asan/ with
# --asan (Debug, ASan+UBSan), build-release/ with --release (Release: -O3) or
# build-clang/ with --clang (Release, the rdpwhy binary only, built with clang
# so that the product's code is checked by both compilers' warnings).
#
# Warnings are errors only when RDPWHY_WERROR=ON in the environment, as CI
# sets it (.ci/run): another compiler or flag set (a packager's, a user's)
# may warn where ours do not, and that must not stop their build. The value
# is passed on every run, so a build directory configured before follows it.
set -eu
cd "$(dirname "$0")/.."
werror=${RDPWHY_WERROR:-OFF}
case $werror in
ON | OFF) ;;
*)
	echo "build.sh: RDPWHY_WERROR must be ON or OFF, not '$werror'" >&2
	exit 2
	;;
esac
dir=build
opts="-DCMAKE_BUILD_TYPE=RelWithDebInfo"
case "${1:-}" in
"") ;;
--asan)
	dir=build-asan
	opts="-DCMAKE_BUILD_TYPE=Debug -DRDPWHY_SANITIZE=ON -DRDPWHY_LAB=OFF"
	;;
--release)
	dir=build-release
	opts="-DCMAKE_BUILD_TYPE=Release -DRDPWHY_LAB=OFF"
	;;
--clang)
	dir=build-clang
	opts="-DCMAKE_BUILD_TYPE=Release -DRDPWHY_LAB=OFF -DCMAKE_C_COMPILER=clang"
	target="--target rdpwhy"
	;;
*)
	echo "usage: $0 [--asan | --release | --clang]" >&2
	exit 2
	;;
esac
cmake -S . -B "$dir" $opts -DRDPWHY_WERROR="$werror" >/dev/null
cmake --build "$dir" -j "$(nproc)" ${target:-}
