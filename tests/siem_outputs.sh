#!/bin/sh
# replay/capture outputs, per-output options, SIGHUP, a stuck output: see
# siem_outputs.py. usage: siem_outputs.sh RDPWHY_BINARY   (77 = skipped)
exec python3 "$(dirname "$0")/siem_outputs.py" "$@"
