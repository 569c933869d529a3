#!/bin/sh
# The first README command: set up, build, and diagnose the shipped captures.
set -eu
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
echo
echo "== rdpwhy replay of the shipped captures (tests/data/index.tsv says how each was made) =="
./scripts/summary.sh build/rdpwhy tests/data
echo
echo "== the failure lab's captures (tests/lab: real xrdp, FreeRDP, HAProxy, firewalls; tests/data/lab/index.tsv) =="
./scripts/summary.sh build/rdpwhy tests/data/lab
echo
echo "== rdpwhy replay --summary of all of them: counts per cause, server, client, cookie =="
build/rdpwhy replay --summary tests/data/*.pcap tests/data/lab/*.pcap
echo
echo "Full report of one connection:  build/rdpwhy replay tests/data/cert_rejected.pcap"
echo "JSON lines:                     build/rdpwhy replay --format json tests/data/*.pcap"
